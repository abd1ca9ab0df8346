//! Model downloads from Hugging Face (or a mirror, or any URL): a progress
//! bar, resumption of a cut download with HTTP `Range` into a `.part` file,
//! a free-disk check first, and a SHA-256 check (pinned, else the hub's
//! `X-Linked-Etag`) before the file takes its name, so a partial or
//! mismatched file is never where a model is looked for.
//!
//! This replaced the hf-hub crate: hf-hub 0.4 neither resumes a cut
//! download nor checks the file's SHA-256, cannot be pointed at a local
//! server for tests except through `HF_ENDPOINT` with its own cache layout,
//! and its errors do not say which licence page to accept.

use crate::LlmError;
use indicatif::ProgressBar;
use reqwest::header::{HeaderMap, AUTHORIZATION, CONTENT_LENGTH, LOCATION, RANGE};
use reqwest::StatusCode;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The hub's address: `HF_ENDPOINT` (a mirror), else huggingface.co.
pub fn hf_endpoint(env: &dyn Fn(&str) -> Option<String>) -> String {
    env("HF_ENDPOINT")
        .filter(|v| !v.trim().is_empty())
        .map_or_else(
            || "https://huggingface.co".to_string(),
            |v| v.trim().trim_end_matches('/').to_string(),
        )
}

/// The URL of `file` in `repo` on the hub at `endpoint`.
pub fn hub_url(endpoint: &str, repo: &str, file: &str) -> String {
    format!(
        "{}/{repo}/resolve/main/{file}",
        endpoint.trim_end_matches('/')
    )
}

/// A progress bar for downloading `file`, drawn on stderr (hidden when it
/// is not a terminal).
pub fn progress_bar(file: &str) -> ProgressBar {
    let bar = ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(file.to_string());
    bar
}

/// Attempts at one download before giving up (each resumes the last).
const ATTEMPTS: usize = 3;

/// Free space kept beyond the file itself.
const DISK_MARGIN: u64 = 64 << 20;

/// One file to download.
#[derive(Clone)]
pub struct Download {
    /// Where it comes from.
    pub url: String,
    /// Where it goes once verified.
    pub dest: PathBuf,
    /// Its SHA-256, if pinned (lowercase hex).
    pub sha256: Option<String>,
    /// A bearer token (`HF_TOKEN`), sent to the hub only.
    pub token: Option<String>,
    /// The page where a gated model's licence is accepted.
    pub licence_page: Option<String>,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("url", &self.url)
            .field("dest", &self.dest)
            .field("sha256", &self.sha256)
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// How a downloaded file's content was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Against the SHA-256 pinned in the catalogue or given with --sha256.
    Pinned,
    /// Against the SHA-256 the hub reported (`X-Linked-Etag`).
    Hub,
    /// Not at all: no SHA-256 was known.
    Unverified,
}

/// A file in place.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// Its path.
    pub path: PathBuf,
    /// Its SHA-256.
    pub sha256: String,
    /// How that was checked.
    pub verified: Verified,
    /// Bytes already on disk from an earlier, cut download.
    pub resumed_from: u64,
    /// Bytes transferred by this call.
    pub transferred: u64,
    /// True when the file was already there, verified, and nothing was sent.
    pub already: bool,
}

/// The path of the partial download of `dest`.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

/// What the hub says about a file before it is downloaded.
struct Meta {
    size: Option<u64>,
    sha256: Option<String>,
    /// Where the bytes are (the hub redirects large files to a CDN).
    location: String,
}

fn header<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// The SHA-256 in an ETag such as `"b179…"` or `W/"b179…"`, if it is one.
fn sha_of_etag(etag: &str) -> Option<String> {
    let v = etag
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_ascii_lowercase();
    (v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())).then_some(v)
}

/// The error for a refused request, naming the fix.
fn refused(d: &Download, status: StatusCode) -> LlmError {
    let url = &d.url;
    match status.as_u16() {
        401 | 403 => {
            let page = d
                .licence_page
                .clone()
                .unwrap_or_else(|| "the model's page on the hub".into());
            let token = if d.token.is_some() {
                "HF_TOKEN is set, but its account has not been granted access"
            } else {
                "no HF_TOKEN is set"
            };
            LlmError::Config(format!(
                "{url} refused the download ({status}): the model is gated or private and {token}. \
                 Accept its licence at {page} while logged in, create a read token at \
                 https://huggingface.co/settings/tokens, set HF_TOKEN to it, and run the same command again"
            ))
        }
        404 => LlmError::Config(format!(
            "{url} was not found (404): check the repository and file name \
             (`council fetch-model --list` shows the catalogue's), or HF_ENDPOINT if you use a mirror"
        )),
        _ => LlmError::Config(format!(
            "{url} answered {status}; try again later, or download the file elsewhere and pass its path to --embedded-model (or COUNCIL_MODEL_PATH)"
        )),
    }
}

fn client(redirects: bool) -> Result<reqwest::Client, LlmError> {
    let policy = if redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .redirect(policy)
        .connect_timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(60))
        .user_agent(concat!("council/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LlmError::Config(format!("cannot set up downloads: {e}")))
}

fn unreachable(url: &str, e: &reqwest::Error) -> LlmError {
    LlmError::Config(format!(
        "cannot reach {url}: {e}; check the network (or HF_ENDPOINT for a mirror), \
         or download the file elsewhere and pass its path to --embedded-model (or COUNCIL_MODEL_PATH)"
    ))
}

/// Asks the hub about the file without following its redirect, where the
/// `X-Linked-Etag` (SHA-256) and `X-Linked-Size` headers are.
async fn metadata(d: &Download) -> Result<Meta, LlmError> {
    let mut req = client(false)?.head(&d.url);
    if let Some(t) = &d.token {
        req = req.header(AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = req.send().await.map_err(|e| unreachable(&d.url, &e))?;
    let status = resp.status();
    let h = resp.headers();
    if !(status.is_success() || status.is_redirection()) {
        return Err(refused(d, status));
    }
    let location = match header(h, LOCATION.as_str()) {
        Some(l) if status.is_redirection() => reqwest::Url::parse(&d.url)
            .and_then(|base| base.join(l))
            .map(|u| u.to_string())
            .map_err(|e| LlmError::Config(format!("{} redirected to {l:?}: {e}", d.url)))?,
        _ => d.url.clone(),
    };
    let size = header(h, "x-linked-size")
        .or_else(|| {
            (!status.is_redirection())
                .then(|| header(h, CONTENT_LENGTH.as_str()))
                .flatten()
        })
        .and_then(|v| v.trim().parse().ok());
    Ok(Meta {
        size,
        sha256: header(h, "x-linked-etag").and_then(sha_of_etag),
        location,
    })
}

/// Downloads `d`, resuming a `.part` file left by an earlier attempt, and
/// puts it at `d.dest` only once its SHA-256 matches.
pub async fn download(d: &Download, progress: &ProgressBar) -> Result<Downloaded, LlmError> {
    let dir = d.dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| LlmError::io(format!("cannot create {}", dir.display()), e))?;
    let meta = metadata(d).await?;
    let (expected, verified) = match (&d.sha256, &meta.sha256) {
        (Some(p), _) => (Some(p.to_ascii_lowercase()), Verified::Pinned),
        (None, Some(h)) => (Some(h.clone()), Verified::Hub),
        (None, None) => (None, Verified::Unverified),
    };
    if d.dest.is_file() {
        if let Some(want) = &expected {
            if hash(&d.dest).await? == *want {
                return Ok(Downloaded {
                    path: d.dest.clone(),
                    sha256: want.clone(),
                    verified,
                    resumed_from: 0,
                    transferred: 0,
                    already: true,
                });
            }
        }
    }
    let part = part_path(&d.dest);
    let mut have = std::fs::metadata(&part).map_or(0, |m| m.len());
    if let Some(size) = meta.size {
        if have > size {
            have = 0;
        }
        let need = size - have + DISK_MARGIN;
        let free = fs4::available_space(dir).map_err(|e| {
            LlmError::io(
                format!("cannot read the free space of {}", dir.display()),
                e,
            )
        })?;
        if free < need {
            return Err(LlmError::Config(format!(
                "{} needs {} free in {} but only {} is: free some space, or set COUNCIL_CACHE_DIR to a folder on a larger disk",
                d.dest.file_name().unwrap_or_default().to_string_lossy(),
                crate::catalog::gb(need as f64 / 1e9),
                dir.display(),
                crate::catalog::gb(free as f64 / 1e9)
            )));
        }
    }
    let resumed_from = have;
    progress.set_length(meta.size.unwrap_or(0));
    progress.set_position(have);
    let get = client(true)?;
    let mut transferred = 0u64;
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        if meta.size.is_some_and(|s| have == s) {
            break;
        }
        match fetch_into(d, &get, &meta.location, &part, &mut have, progress).await {
            Ok(n) => {
                transferred += n;
                if meta.size.is_none_or(|s| have >= s) {
                    last_error.clear();
                    break;
                }
                last_error = format!("the server closed the download at {have} bytes");
            }
            Err(Step::Fatal(e)) => return Err(e),
            Err(Step::Cut(n, why)) => {
                transferred += n;
                last_error = why;
            }
        }
    }
    if !last_error.is_empty() {
        return Err(LlmError::Config(format!(
            "the download of {} was cut ({last_error}); {have} bytes are kept in {}: run the same command again to resume",
            d.url,
            part.display()
        )));
    }
    progress.finish_and_clear();
    let got = hash(&part).await?;
    if let Some(want) = &expected {
        if got != *want {
            let _ = std::fs::remove_file(&part);
            let from = match verified {
                Verified::Pinned => "pinned",
                _ => "reported by the hub",
            };
            return Err(LlmError::Config(format!(
                "the file downloaded from {} has sha256 {got}, but {want} is {from}; refusing to use it (nothing was kept). \
                 Check the URL and --sha256, or the mirror in HF_ENDPOINT",
                d.url
            )));
        }
    }
    std::fs::rename(&part, &d.dest)
        .map_err(|e| LlmError::io(format!("cannot move the model to {}", d.dest.display()), e))?;
    Ok(Downloaded {
        path: d.dest.clone(),
        sha256: got,
        verified,
        resumed_from,
        transferred,
        already: false,
    })
}

/// Why one request ended early.
enum Step {
    /// Stop: the server refused, or the disk failed.
    Fatal(LlmError),
    /// Cut after this many bytes: resume.
    Cut(u64, String),
}

/// One GET from `have` on, appended to `part`; returns the bytes received.
async fn fetch_into(
    d: &Download,
    client: &reqwest::Client,
    url: &str,
    part: &Path,
    have: &mut u64,
    progress: &ProgressBar,
) -> Result<u64, Step> {
    let mut req = client.get(url);
    if *have > 0 {
        req = req.header(RANGE, format!("bytes={have}-"));
    }
    // The token goes to the hub only: a redirect to another host drops it.
    if let Some(t) = &d.token {
        if url == d.url {
            req = req.header(AUTHORIZATION, format!("Bearer {t}"));
        }
    }
    let mut resp = req
        .send()
        .await
        .map_err(|e| Step::Cut(0, format!("cannot reach {url}: {e}")))?;
    let status = resp.status();
    let append = match status {
        StatusCode::PARTIAL_CONTENT => true,
        StatusCode::OK => false,
        StatusCode::RANGE_NOT_SATISFIABLE => {
            // The part is as long as the server's file or longer: start over.
            let _ = std::fs::remove_file(part);
            *have = 0;
            return Err(Step::Cut(
                0,
                "the server refused the resumption range".into(),
            ));
        }
        s => return Err(Step::Fatal(refused(d, s))),
    };
    if !append {
        *have = 0;
        progress.set_position(0);
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .map_err(|e| Step::Fatal(LlmError::io(format!("cannot write {}", part.display()), e)))?;
    let mut got = 0u64;
    loop {
        match resp.chunk().await {
            Ok(Some(bytes)) => {
                file.write_all(&bytes).map_err(|e| {
                    Step::Fatal(LlmError::io(format!("cannot write {}", part.display()), e))
                })?;
                got += bytes.len() as u64;
                *have += bytes.len() as u64;
                progress.set_position(*have);
            }
            Ok(None) => break,
            Err(e) => {
                let _ = file.flush();
                return Err(Step::Cut(got, e.to_string()));
            }
        }
    }
    file.sync_all()
        .map_err(|e| Step::Fatal(LlmError::io(format!("cannot sync {}", part.display()), e)))?;
    Ok(got)
}

async fn hash(path: &Path) -> Result<String, LlmError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || crate::fetch::sha256_file(&path))
        .await
        .map_err(|e| LlmError::Config(format!("hashing panicked: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_holding_a_sha256_are_read_and_others_ignored() {
        let sha = crate::fetch::DEFAULT_MODEL_SHA256;
        assert_eq!(sha_of_etag(&format!("\"{sha}\"")).as_deref(), Some(sha));
        assert_eq!(
            sha_of_etag(&format!("W/\"{}\"", sha.to_uppercase())).as_deref(),
            Some(sha)
        );
        // A git blob id (40 hex) is what the hub sends for small files: not a SHA-256.
        assert_eq!(
            sha_of_etag("\"4b825dc642cb6eb9a060e54bf8d69288fbee4904\""),
            None
        );
    }

    #[test]
    fn the_hub_address_honours_hf_endpoint() {
        let none = |_: &str| None;
        assert_eq!(
            hub_url(&hf_endpoint(&none), "o/r", "f.gguf"),
            "https://huggingface.co/o/r/resolve/main/f.gguf"
        );
        let mirror = |k: &str| (k == "HF_ENDPOINT").then(|| "http://127.0.0.1:9/".to_string());
        assert_eq!(
            hub_url(&hf_endpoint(&mirror), "o/r", "f.gguf"),
            "http://127.0.0.1:9/o/r/resolve/main/f.gguf"
        );
        assert_eq!(
            part_path(Path::new("/m/x.gguf")),
            Path::new("/m/x.gguf.part")
        );
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let d = Download {
            url: "u".into(),
            dest: "d".into(),
            sha256: None,
            token: Some("hf_secret".into()),
            licence_page: None,
        };
        assert!(!format!("{d:?}").contains("hf_secret"));
    }
}
