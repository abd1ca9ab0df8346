//! Build-script helper shared by the crates that carry top-level text files
//! in their binary: `personas/*.toml` (council-personas) and
//! `prompts/*.tera` (council-engine).
//!
//! [`embed_dir`] writes a Rust file declaring
//! `pub(crate) static BUILTIN: &[(&str, &str)]`, one `(file name, include_str!(…))`
//! per file, sorted by name, and tells Cargo to rebuild when the folder or
//! any file in it changes. The crate then `include!`s it from `OUT_DIR`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What can go wrong while embedding; build scripts panic with it.
#[derive(Debug)]
pub struct EmbedError(String);

impl std::fmt::Display for EmbedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EmbedError {}

/// The files in `dir` whose extension is `extension`, sorted by name.
pub fn files_in(dir: &Path, extension: &str) -> Result<Vec<PathBuf>, EmbedError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| EmbedError(format!("cannot read {}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == extension))
        .collect();
    files.sort();
    Ok(files)
}

/// The Rust source declaring `BUILTIN` for `files`.
pub fn source_for(files: &[PathBuf]) -> Result<String, EmbedError> {
    let mut out = String::from(
        "/// The built-in files: (file name, contents).\npub(crate) static BUILTIN: &[(&str, &str)] = &[\n",
    );
    for f in files {
        let name = f
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| EmbedError(format!("{} has no UTF-8 file name", f.display())))?;
        let abs = f
            .canonicalize()
            .map_err(|e| EmbedError(format!("cannot resolve {}: {e}", f.display())))?;
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            abs.display().to_string()
        );
    }
    out.push_str("];\n");
    Ok(out)
}

/// Embeds every `*.extension` file of `dir` into `$OUT_DIR/out_file`, and
/// prints the `rerun-if-changed` lines that keep it fresh.
pub fn embed_dir(dir: &Path, extension: &str, out_file: &str) -> Result<(), EmbedError> {
    println!("cargo:rerun-if-changed={}", dir.display());
    let files = files_in(dir, extension)?;
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let out_dir = std::env::var_os("OUT_DIR").ok_or_else(|| {
        EmbedError("OUT_DIR is not set: call embed_dir from a build script".into())
    })?;
    let dest = Path::new(&out_dir).join(out_file);
    std::fs::write(&dest, source_for(&files)?)
        .map_err(|e| EmbedError(format!("cannot write {}: {e}", dest.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_matching_files_are_embedded_in_name_order() {
        let dir = std::env::temp_dir().join(format!("council-embed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in [("b.tera", "B"), ("a.tera", "A"), ("notes.md", "no")] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let files = files_in(&dir, "tera").unwrap();
        let src = source_for(&files).unwrap();
        let a = src.find("(\"a.tera\"").unwrap();
        let b = src.find("(\"b.tera\"").unwrap();
        assert!(a < b, "{src}");
        assert!(!src.contains("notes.md"), "{src}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
