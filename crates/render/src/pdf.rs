//! The PDF: the report's HTML printed by headless Chromium, in a throwaway
//! profile with everything that phones home turned off, under a time limit.

use crate::RenderError;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long Chromium may take to print one report.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Program names tried on the PATH, in order.
const NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// Where macOS keeps Chrome when it is not on the PATH.
const MACOS_CHROME: &str = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome";

/// The Chromium to print with: `COUNCIL_CHROMIUM` if set (it must exist),
/// else the first of [`NAMES`] on the PATH, else Chrome's macOS location.
fn find_engine() -> Result<PathBuf, RenderError> {
    if let Some(p) = std::env::var_os("COUNCIL_CHROMIUM").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(RenderError::NoPdfEngine {
                looked: format!("COUNCIL_CHROMIUM={} does not exist", p.display()),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in NAMES {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    if Path::new(MACOS_CHROME).is_file() {
        return Ok(MACOS_CHROME.into());
    }
    Err(RenderError::NoPdfEngine {
        looked: format!("none of {} on the PATH", NAMES.join(", ")),
    })
}

/// The last lines of Chromium's stderr: its own diagnostics end there.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(12);
    let text = lines[start..].join("\n");
    if text.is_empty() {
        "(nothing on stderr)".into()
    } else {
        text
    }
}

/// Prints `html` to the PDF file `out`.
pub(crate) fn print(html: &str, out: &Path) -> Result<(), RenderError> {
    let engine = find_engine()?;
    let io = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| RenderError::Io { what, path, source }
    };
    let dir = tempfile::Builder::new()
        .prefix("council-pdf-")
        .tempdir()
        .map_err(io(
            "cannot create a temporary folder in",
            &std::env::temp_dir(),
        ))?;
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).map_err(io("cannot write", &page))?;
    let pdf = dir.path().join("report.pdf");
    let profile = dir.path().join("profile");
    let mut child = Command::new(&engine)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-pdf-header-footer",
            // Nothing leaves the machine: no updates, sync, crash reports or metrics.
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-breakpad",
            "--disable-domain-reliability",
            "--disable-extensions",
            "--disable-default-apps",
            "--metrics-recording-only",
            "--no-first-run",
            "--no-default-browser-check",
            "--mute-audio",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                RenderError::NoPdfEngine {
                    looked: format!("{} cannot be run", engine.display()),
                }
            } else {
                RenderError::Io {
                    what: "cannot run",
                    path: engine.clone(),
                    source: e,
                }
            }
        })?;
    // Read stderr on a thread so a chatty Chromium never blocks on a full pipe.
    let mut stderr_pipe = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(p) = stderr_pipe.as_mut() {
            let _ = p.read_to_string(&mut s);
        }
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < TIMEOUT => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stderr = tail(&reader.join().unwrap_or_default());
    let Some(status) = status else {
        return Err(RenderError::PdfTimeout {
            engine,
            secs: TIMEOUT.as_secs(),
            stderr,
        });
    };
    let made = std::fs::read(&pdf).ok().filter(|b| b.starts_with(b"%PDF"));
    match made {
        Some(bytes) if status.success() => {
            council_fs::write_atomic(out, bytes).map_err(io("cannot write", out))
        }
        _ => Err(RenderError::PdfEngine {
            engine,
            status: status.to_string(),
            stderr,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_cut_to_its_last_lines() {
        let long: String = (0..30).map(|i| format!("line {i}\n\n")).collect();
        let t = tail(&long);
        assert!(t.starts_with("line 18") && t.ends_with("line 29"), "{t}");
        assert_eq!(tail("  \n"), "(nothing on stderr)");
    }
}
