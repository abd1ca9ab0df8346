//! `council serve` as a process: a token made and printed once off
//! loopback; a run started in a terminal watched live from the server; a
//! server stopped mid-run, then started again, offers "resume" and the
//! resumed run ends with every turn once.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_tests::{schema_answering, FakeServer};
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A `council serve` process, stopped (SIGINT, then kill) when dropped.
struct Served {
    child: Child,
    url: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        interrupt(&self.child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn interrupt(child: &Child) {
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
}

fn serve(global: &[&str], args: &[&str]) -> Served {
    serve_env(global, args, &[])
}

fn serve_env(global: &[&str], args: &[&str], env: &[(&str, &str)]) -> Served {
    let mut all: Vec<&str> = global.to_vec();
    all.push("serve");
    all.extend(["--port", "0"]);
    all.extend(args);
    let mut cmd = council_tests::council_command(env!("CARGO_BIN_EXE_council"), &all);
    cmd.envs(env.iter().copied());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("Council is serving ")
        .unwrap_or_else(|| panic!("no address line: {line:?}"))
        .to_string();
    Served { child, url }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..at + 64].to_string()
}

/// The `id:` lines of an event stream, read to its end.
fn stream_ids(url: &str) -> (Vec<usize>, String) {
    let body = client().get(url).send().unwrap().text().unwrap();
    let ids = body
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|n| n.parse().unwrap())
        .collect();
    (ids, body)
}

fn turn_lines(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("{\"event\":\"turn\""))
        .map(str::to_string)
        .collect()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn slow_fake(rt: &tokio::runtime::Runtime, latency_ms: u64) -> FakeServer {
    rt.block_on(FakeServer::start_with(
        Arc::new(|body: &str| schema_answering(body)),
        Duration::from_millis(latency_ms),
    ))
}

#[test]
fn off_loopback_a_token_is_made_printed_once_and_required() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let s = serve(
        &["--base-url", "http://127.0.0.1:9/v1", "--model", "m"],
        &["--host", "0.0.0.0", "--runs", runs.to_str().unwrap()],
    );
    let (base, token) = s.url.split_once("?token=").expect("a token in the address");
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()));
    let c = client();
    let r = c.get(base).send().unwrap();
    assert_eq!(r.status(), 401);
    let r = c.get(&s.url).send().unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    let r = c
        .get(base)
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        !r.text().unwrap().contains(token),
        "no page shows the token"
    );
    // A token too short to be safe is refused before anything listens.
    let out = council_tests::council_command(
        env!("CARGO_BIN_EXE_council"),
        &[
            "serve",
            "--port",
            "0",
            "--token",
            "short",
            "--runs",
            runs.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 16"));
}

#[test]
fn a_run_started_in_a_terminal_is_watched_live_from_the_server() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = slow_fake(&rt, 120);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    let global = ["--base-url", fake.url.as_str(), "--model", "fake"];
    let s = serve(&global, &["--runs", runs.to_str().unwrap()]);
    let run = runs.join("from-terminal");
    let mut args: Vec<&str> = global.to_vec();
    args.extend([
        "-q",
        "ask",
        "Should we open a second office in Lisbon in 2027?",
        "--panel",
        "cfo,cto,brand-strategist,org-psychologist",
        "--rounds",
        "2",
        "--seed",
        "3",
        "--out",
        run.to_str().unwrap(),
    ]);
    let mut ask = council_tests::council_command(env!("CARGO_BIN_EXE_council"), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the run's first line", || run.join("events.jsonl").exists());
    let events = format!("{}runs/from-terminal/events", s.url);
    let page = client()
        .get(format!("{}runs", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("badge-running"), "{page}");
    let (ids, body) = stream_ids(&events);
    assert!(ask.wait().unwrap().success());
    let lines = std::fs::read_to_string(run.join("events.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(
        ids,
        (1..=lines).collect::<Vec<_>>(),
        "every event once, in order"
    );
    assert!(body.contains("data: running"), "followed while it ran");
    assert!(body.contains("event: end") && body.contains("The board has finished."));
    drop(s);
}

/// A key no page may ever show.
const KEY: &str = "sk-council-test-4f9a2c7e81d3b6";

#[test]
fn a_server_stopped_mid_run_leaves_it_resumable_and_the_resumed_run_is_whole() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = slow_fake(&rt, 150);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let global = ["--base-url", fake.url.as_str(), "--model", "fake", "-v"];
    let env = [("COUNCIL_API_KEY", KEY)];
    let s = serve_env(&global, &["--runs", runs.to_str().unwrap()], &env);
    let c = client();
    let page = c.get(&s.url).send().unwrap().text().unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .text("csrf", csrf(&page))
        .text(
            "question",
            "Should we open a second office in Lisbon in 2027?",
        )
        .text("panel", "cfo")
        .text("panel", "cto")
        .text("panel", "brand-strategist")
        .text("panel", "org-psychologist")
        .text("rounds", "2")
        .text("seed", "5");
    let r = c
        .post(format!("{}runs", s.url))
        .multipart(form)
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let id = location.trim_start_matches("/runs/").to_string();
    let run = runs.join(&id);
    wait_for("a turn on disk", || !turn_lines(&run).is_empty());
    // The server stops (Ctrl-C): its run is interrupted, every turn kept.
    drop(s);
    let kept = turn_lines(&run).len();
    assert!(kept >= 1);
    assert!(
        !run.join("transcript.json").exists(),
        "the run was stopped before its end"
    );
    let s = serve_env(&global, &["--runs", runs.to_str().unwrap()], &env);
    let page = c
        .get(format!("{}{}", s.url, location.trim_start_matches('/')))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        page.contains("badge-interrupted") && page.contains("resume-form"),
        "{page}"
    );
    assert_eq!(page.matches("class=\"ev ev-turn").count(), kept);
    let r = c
        .post(format!("{}runs/{id}/resume", s.url))
        .form(&[("csrf", csrf(&page))])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let (ids, body) = stream_ids(&format!("{}runs/{id}/events", s.url));
    assert!(body.contains("The board has finished."), "{body}");
    let turns = turn_lines(&run);
    // Six advisors (four picked, two seats), two rounds, each turn once.
    assert_eq!(turns.len(), 12, "{turns:#?}");
    let mut keys: Vec<(String, String)> = turns
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["round"].to_string(), v["persona"].to_string())
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 12, "no turn twice");
    let lines = std::fs::read_to_string(run.join("events.jsonl"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(ids, (1..=lines).collect::<Vec<_>>());
    assert!(run.join("report.html").exists());
    // The key reached the model server, and no page.
    assert!(fake
        .auth_headers()
        .iter()
        .flatten()
        .any(|h| h.contains(KEY)));
    for page in [
        "",
        "runs",
        &format!("runs/{id}"),
        &format!("runs/{id}/report"),
        &format!("runs/{id}/report.html"),
        &format!("runs/{id}/download/md"),
        &format!("runs/{id}/download/json"),
    ] {
        let body = c
            .get(format!("{}{page}", s.url))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(!body.contains(KEY), "/{page} shows the key");
        assert!(
            !body.contains("sk-council-test"),
            "/{page} shows part of the key"
        );
    }
    assert!(!body.contains(KEY), "the event stream shows the key");
}

#[test]
fn a_run_is_not_deleted_while_a_variant_inside_it_is_being_written() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Answers at once until `hold` is set; then every answer hangs, so the
    // variant's first call is held while the delete is tried.
    let hold = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let held = hold.clone();
    let fake = rt.block_on(FakeServer::start_with(
        Arc::new(move |body: &str| {
            if held.load(std::sync::atomic::Ordering::SeqCst) {
                council_tests::Reply::Hang
            } else {
                schema_answering(body)
            }
        }),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let run = runs.join("pricing");
    let global = ["--base-url", fake.url.as_str(), "--model", "fake"];
    let mut args: Vec<&str> = global.to_vec();
    args.extend([
        "-q",
        "ask",
        "Should we raise prices by 10% for new customers?",
        "--panel",
        "cfo,cto,brand-strategist,org-psychologist",
        "--rounds",
        "2",
        "--seed",
        "3",
        "--out",
        run.to_str().unwrap(),
    ]);
    let done = council_tests::council_command(env!("CARGO_BIN_EXE_council"), &args)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );

    let s = serve(&global, &["--runs", runs.to_str().unwrap()]);
    let c = client();
    let page = c
        .get(format!("{}runs/pricing/report", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let token = csrf(&page);
    hold.store(true, std::sync::atomic::Ordering::SeqCst);
    let r = c
        .post(format!("{}runs/pricing/variant", s.url))
        .form(&[
            ("csrf", token.as_str()),
            ("audience", "team"),
            ("length", "brief"),
            ("lang", "zh"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let variant = run.join("variants").join("team-brief-zh");
    // The variant's process holds its log (it copied the debate in) and
    // waits for its first answer.
    wait_for("the variant's held call", || {
        variant.join("events.jsonl").exists() && fake.in_flight() > 0
    });
    let r = c
        .post(format!("{}runs/pricing/delete", s.url))
        .form(&[("csrf", token.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 409, "a live variant inside stops the delete");
    // Tera escapes the slashes of text it places: read them back.
    let page = r.text().unwrap().replace("&#x2F;", "/");
    assert!(
        page.contains("pricing/variants/team-brief-zh"),
        "the page says which: {page}"
    );
    assert!(run.join("events.jsonl").is_file(), "the run survives");
    assert!(
        variant.join("events.jsonl").is_file(),
        "the variant survives"
    );

    // Cancelled, the variant stops; then the run can go, variant and all.
    let r = c
        .post(format!(
            "{}runs/pricing%2Fvariants%2Fteam-brief-zh/cancel",
            s.url
        ))
        .form(&[("csrf", token.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    wait_for("the variant to stop", || {
        !council_engine::store::is_live(&variant)
            && !c
                .get(format!("{}runs/pricing%2Fvariants%2Fteam-brief-zh", s.url))
                .send()
                .unwrap()
                .text()
                .unwrap()
                .contains("badge-running")
    });
    let r = c
        .post(format!("{}runs/pricing/delete", s.url))
        .form(&[("csrf", token.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(!run.exists());
    drop(s);
}

#[test]
fn a_finished_run_copied_without_its_file_times_still_reads_as_finished() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = slow_fake(&rt, 1);
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let run = dir.path().join("made");
    let global = ["--base-url", fake.url.as_str(), "--model", "fake"];
    let mut args: Vec<&str> = global.to_vec();
    args.extend([
        "-q",
        "ask",
        "Should we open a second office in Lisbon in 2027?",
        "--panel",
        "cfo,cto,brand-strategist,org-psychologist",
        "--rounds",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]);
    let done = council_tests::council_command(env!("CARGO_BIN_EXE_council"), &args)
        .output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    // As `cp -r` would: the transcript first, the log a moment later, so
    // the log is newer than the transcript written at the run's end.
    let copy = runs.join("copied");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["transcript.json", "report.md", "report.html", "report.json"] {
        std::fs::copy(run.join(f), copy.join(f)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::copy(run.join("events.jsonl"), copy.join("events.jsonl")).unwrap();
    let s = serve(&global, &["--runs", runs.to_str().unwrap()]);
    let page = client()
        .get(format!("{}runs/copied", s.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("badge-complete"), "{page}");
    assert!(!page.contains("resume-form"), "nothing to resume: {page}");
    drop(s);
}
