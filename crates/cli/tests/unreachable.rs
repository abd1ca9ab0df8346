//! A model server that is not there: every command that calls models
//! stops within seconds with exit 3, the message naming the URL, what to
//! check and the command that continues, and whatever was written stays
//! (`council ask --resume` then finishes the run). And a call that fails
//! after retries records the requests it made.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_core::{Event, Transcript, TurnStatus};
use council_tests::{schema_answering, FakeServer, Handler, Reply};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn council(args: &[&str]) -> Output {
    council_tests::council_command(env!("CARGO_BIN_EXE_council"), args)
        .output()
        .expect("run council")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A base URL on which nothing listens.
fn closed_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/v1")
}

fn events(dir: &Path) -> Vec<Event> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn transcript(dir: &Path) -> Transcript {
    serde_json::from_str(&std::fs::read_to_string(dir.join("transcript.json")).unwrap()).unwrap()
}

/// Runs `args` against the closed `url`; checks it stopped with exit 3,
/// well within a minute, naming the URL, what to check and `resume`.
fn stops(what: &str, url: &str, args: &[&str], resume: &str) -> Output {
    let mut all = vec!["--base-url", url, "--model", "fake", "-q"];
    all.extend_from_slice(args);
    let started = Instant::now();
    let out = council(&all);
    let took = started.elapsed();
    eprintln!(
        "{what} against a closed port: exit {:?} after {:.1} s",
        out.status.code(),
        took.as_secs_f64()
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{what}: {err}");
    assert!(took < Duration::from_secs(60), "{what} took {took:?}");
    for words in [url, "is it running", "--base-url", "council doctor", resume] {
        assert!(err.contains(words), "{what}: {words:?} not in {err}");
    }
    out
}

#[test]
fn an_unreachable_server_stops_the_run_in_seconds_and_resume_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let url = closed_url();
    let run_s = run.to_str().unwrap();
    stops(
        "council ask",
        &url,
        &[
            "ask",
            "Should we raise prices by 10% for new customers?",
            "--panel",
            "cfo,cto,brand-strategist,org-psychologist",
            "--seed",
            "5",
            "--date",
            "2026-11-27",
            "--out",
            run_s,
        ],
        &format!("council ask --resume {run_s}"),
    );
    // What was written stays: the header, and no turn recorded as failed
    // for calls the server never received.
    let written = events(&run);
    assert!(
        matches!(written.first(), Some(Event::Started(_))),
        "{written:?}"
    );
    assert!(
        !written.iter().any(|e| matches!(e, Event::Turn(_))),
        "no turn for a call that was never answered: {written:?}"
    );
    assert!(!run.join("transcript.json").exists());

    // The server comes up: the same run finishes.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(schema_answering),
        Duration::ZERO,
    ));
    let _guard = rt.enter();
    let out = council(&[
        "--base-url",
        &server.url,
        "--model",
        "fake",
        "-q",
        "ask",
        "--resume",
        run_s,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = transcript(&run);
    assert!(!t.rounds.is_empty());
    assert!(t
        .rounds
        .iter()
        .flat_map(|r| &r.turns)
        .all(|x| x.status == TurnStatus::Ok));

    // Every command that starts from this run stops the same way.
    let url = closed_url();
    stops(
        "council followup",
        &url,
        &["followup", run_s, "And for existing customers?"],
        &format!("council followup {run_s} --resume"),
    );
    stops(
        "council variant",
        &url,
        &["variant", run_s, "--audience", "team", "--name", "team"],
        &format!("council variant {run_s} --name team"),
    );
    let branch = dir.path().join("branch");
    stops(
        "council branch",
        &url,
        &[
            "branch",
            run_s,
            "--from-round",
            "3",
            "--question",
            "Should we raise prices by 20%?",
            "--out",
            branch.to_str().unwrap(),
        ],
        &format!("council branch {run_s} --from-round 3"),
    );
}

#[test]
fn a_panel_left_to_casting_is_not_picked_by_keyword_when_the_server_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let url = closed_url();
    let started = Instant::now();
    let out = council(&[
        "--base-url",
        &url,
        "--model",
        "fake",
        "ask",
        "Should we raise prices by 10% for new customers?",
        "--out",
        run.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    let err = text(&out.stderr);
    eprintln!(
        "casting against a closed port: exit {:?} after {:.1} s",
        out.status.code(),
        took.as_secs_f64()
    );
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
    for words in [
        url.as_str(),
        "council doctor",
        "nothing was written",
        "run the same command again",
    ] {
        assert!(err.contains(words), "{words:?} not in {err}");
    }
    // No keyword panel kept for a later resume, and no folder to resume.
    assert!(!err.contains("keyword match"), "{err}");
    assert!(!run.exists());
}

#[test]
fn a_study_against_an_unreachable_server_stops_at_once_and_stays_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("questions.jsonl");
    let lines: Vec<String> = (1..=6)
        .map(|i| format!("{{\"id\": \"q{i}\", \"question\": \"Should we open office {i}?\", \"date\": \"2026-11-27\"}}"))
        .collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out_dir = dir.path().join("study");
    let url = closed_url();
    stops(
        "council batch",
        &url,
        &[
            "batch",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--panel",
            "cfo,cto,brand-strategist,org-psychologist",
            "--rounds",
            "1",
            "--no-synthesis",
        ],
        "the same council batch command",
    );
    let runs = std::fs::read_to_string(out_dir.join("runs.jsonl")).unwrap();
    assert!(runs.contains("\"failed\""), "{runs}");
    assert!(runs.contains("cannot reach the model server"), "{runs}");
}

/// Answers every call like a cooperative model, except the CFO's turns,
/// which are never valid.
fn all_but_the_cfo() -> Handler {
    Arc::new(|body: &str| {
        let req: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let system = req
            .pointer("/messages/0/content")
            .and_then(|c| c.as_str())
            .unwrap_or_default();
        if system.contains("You are The CFO,") && req.get("response_format").is_some() {
            Reply::completion("{\"not\": \"a turn\"}")
        } else {
            schema_answering(body)
        }
    })
}

#[test]
fn a_turn_that_failed_after_three_requests_records_three_calls() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    // Two retries, no waiting: three requests for a call that never succeeds.
    std::fs::write(
        &config,
        "max_retries = 2\nretry_base_delay_ms = 1\nretry_max_delay_ms = 2\n",
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(all_but_the_cfo(), Duration::ZERO));
    let _guard = rt.enter();
    let run = dir.path().join("run");
    let out = council(&[
        "--config",
        config.to_str().unwrap(),
        "--base-url",
        &server.url,
        "--model",
        "fake",
        "-q",
        "ask",
        "Should we raise prices by 10%?",
        "--panel",
        "cfo,cto,brand-strategist,org-psychologist",
        "--rounds",
        "1",
        "--no-synthesis",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let cfo_requests = server
        .bodies()
        .iter()
        .filter(|b| {
            let v: serde_json::Value = serde_json::from_str(b).unwrap();
            v.get("response_format").is_some()
                && v.pointer("/messages/0/content")
                    .and_then(|c| c.as_str())
                    .is_some_and(|s| s.contains("You are The CFO,"))
        })
        .count();
    assert_eq!(cfo_requests, 3, "the first ask and two retries");
    let t = transcript(&run);
    let cfo = t.rounds[0]
        .turns
        .iter()
        .find(|x| x.persona == "cfo")
        .unwrap();
    assert_eq!(cfo.status, TurnStatus::Failed);
    assert_eq!(cfo.usage.calls, 3, "{:?}", cfo.usage);
    // The fake server reports usage on every answer: the failed answers' tokens count.
    assert!(cfo.usage.prompt_tokens.unwrap_or(0) > 0, "{:?}", cfo.usage);
}
