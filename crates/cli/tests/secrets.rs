//! Secrets (issue 12, item 5): a run with a distinctive API key, at `-vv`,
//! recording a cassette, with its cache and home folders inside a temporary
//! tree; the key reaches the server but no file Council writes, nor its
//! output.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_tests::{schema_answering, FakeServer, Reply};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A key no other text holds by chance.
const KEY: &str = "sk-council-test-7f3a9c1e5b";

/// Standard base64 (RFC 4648, padded): a key sent as Basic credentials or
/// stored encoded would show this way.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every file under `dir`, at any depth.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                todo.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

/// The forms of the key a leak could take.
fn needles() -> Vec<(&'static str, Vec<u8>)> {
    // Base64 shifts with the offset: look for the key at each of the three.
    let mut forms = vec![("the key", KEY.as_bytes().to_vec())];
    for (what, pad) in [("base64", ""), ("base64+1", "x"), ("base64+2", "xy")] {
        let enc = base64(format!("{pad}{KEY}").as_bytes());
        // Leave out the characters that depend on the neighbours.
        let skip = if pad.is_empty() { 0 } else { 4 };
        let body = &enc[skip..enc.len() - 4];
        forms.push((what, body.as_bytes().to_vec()));
    }
    forms.push((
        "hex",
        KEY.bytes()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes(),
    ));
    forms
}

/// Where in `haystack` a form of the key appears, if anywhere.
fn leak(haystack: &[u8]) -> Option<&'static str> {
    needles()
        .into_iter()
        .find(|(_, n)| haystack.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)))
        .map(|(what, _)| what)
}

/// Runs `council` with the key in `var`, `HOME` and the cache inside
/// `root`; its stdout and stderr are written under `root/logs/NAME.*`.
fn council(root: &Path, name: &str, var: &str, args: &[&str]) -> std::process::Output {
    let mut cmd = council_tests::council_command(env!("CARGO_BIN_EXE_council"), args);
    cmd.env(var, KEY)
        .env("HOME", root.join("home"))
        .env("XDG_CACHE_HOME", root.join("home/.cache"))
        .env("COUNCIL_CACHE_DIR", root.join("cache"))
        .env_remove("COUNCIL_LOG")
        .env_remove("NO_COLOR");
    let out = cmd.output().expect("run council");
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join(format!("{name}.stdout")), &out.stdout).unwrap();
    std::fs::write(logs.join(format!("{name}.stderr")), &out.stderr).unwrap();
    out
}

#[test]
fn the_api_key_reaches_the_server_and_no_file_output_or_log() {
    assert!(leak(KEY.as_bytes()) == Some("the key"));
    assert!(leak(base64(format!("Bearer {KEY}").as_bytes()).as_bytes()).is_some());
    assert!(leak(base64(format!("u:{KEY}").as_bytes()).as_bytes()).is_some());

    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(schema_answering),
        Duration::from_millis(1),
    ));
    // A server that quotes the key back: first in a 500 (retried, so
    // logged as a warning), then refusing it.
    let refusing = rt.block_on(FakeServer::start(vec![
        Reply::status(
            500,
            &format!("proxy error; request headers: Authorization: Bearer {KEY}"),
        ),
        Reply::status(
            401,
            &format!("Incorrect API key provided: {KEY}. You can find your API key at https://example.com."),
        ),
    ]));
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("home")).unwrap();
    let run = root.path().join("run");
    let cassette = root.path().join("cassette.json");
    let library = council_tests::workspace_root().join("tests/fixtures/library");
    let ran = council(
        root.path(),
        "ask",
        "COUNCIL_API_KEY",
        &[
            "-vv",
            "--base-url",
            &server.url,
            "--model",
            "fake",
            "--record",
            cassette.to_str().unwrap(),
            "ask",
            "Should we raise prices by 10%?",
            "--panel",
            "cfo,cto,coo,brand-strategist",
            "--rounds",
            "2",
            "--library",
            library.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&ran.stderr);
    assert!(ran.status.success(), "{err}");
    assert!(err.contains("DEBUG"), "-vv logs at debug level: {err}");

    // The other ways a key reaches Council: OPENAI_API_KEY; and a server
    // quoting it in a retried error and in a refusal.
    let config = root.path().join("council.toml");
    std::fs::write(
        &config,
        "retry_base_delay_ms = 10\nretry_max_delay_ms = 20\n",
    )
    .unwrap();
    let refused = council(
        root.path(),
        "refused",
        "OPENAI_API_KEY",
        &[
            "-vv",
            "--config",
            config.to_str().unwrap(),
            "--base-url",
            &refusing.url,
            "--model",
            "fake",
            "chat",
            "Hello?",
        ],
    );
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(
        refused.status.code(),
        Some(4),
        "a refused key exits 4: {said}"
    );
    assert!(
        said.contains("retrying") && said.contains("Incorrect API key provided: <redacted>"),
        "the server's words are kept, the key hidden: {said}"
    );

    // The key did leave: in the Authorization header, and only there.
    let bearer = Some(format!("Bearer {KEY}"));
    let sent = server.auth_headers();
    assert!(
        !sent.is_empty() && sent.iter().all(|h| *h == bearer),
        "{sent:?}"
    );
    assert_eq!(refusing.auth_headers(), [bearer.clone(), bearer]);
    assert!(server.bodies().iter().all(|b| leak(b.as_bytes()).is_none()));

    // Council wrote what it should: a run, a cassette, a cached index, logs.
    let written = files(root.path());
    let under = |d: &Path| written.iter().filter(|f| f.starts_with(d)).count();
    assert!(under(&run) >= 5, "events, transcript and three reports");
    assert!(cassette.is_file());
    assert!(
        under(&root.path().join("cache")) > 0,
        "the library's index is cached"
    );
    let mut bytes = 0;
    let mut leaks = Vec::new();
    for f in &written {
        let content = std::fs::read(f).unwrap();
        bytes += content.len();
        if let Some(what) = leak(&content) {
            leaks.push(format!("{what} in {}", f.display()));
        }
    }
    assert!(leaks.is_empty(), "the key leaked: {leaks:#?}");
    eprintln!(
        "secrets: {} files ({bytes} bytes: run {}, cassette 1, cache {}, logs {}) hold no form of the key (raw, base64 at 3 offsets, hex); {} requests carried it",
        written.len(),
        under(&run),
        under(&root.path().join("cache")),
        under(&root.path().join("logs")),
        sent.len() + 2
    );
}
