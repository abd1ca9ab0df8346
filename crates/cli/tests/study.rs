//! `council batch`: a study over questions × models × repeats against fake
//! OpenAI-compatible servers with a fixed latency — concurrency under one
//! bound, a kill and a resume that asks nothing twice, and an endpoint pool
//! that loses a server.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_core::study::{RunRecord, RunState};
use council_tests::{schema_answering, FakeServer};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn council(args: &[&str]) -> Output {
    base(args).output().expect("run council")
}

fn base(args: &[&str]) -> Command {
    council_tests::council_command(env!("CARGO_BIN_EXE_council"), args)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Twelve questions, one a line, as JSONL.
fn questions(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("questions.jsonl");
    let lines: Vec<String> = (1..=12)
        .map(|i| {
            format!(
                "{{\"id\": \"q{i:02}\", \"question\": \"Should we open office number {i} next year?\", \"date\": \"2026-11-27\"}}"
            )
        })
        .collect();
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn records(dir: &Path) -> BTreeMap<String, RunRecord> {
    std::fs::read_to_string(dir.join("runs.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<RunRecord>(l).ok())
        .map(|r| (r.folder.clone(), r))
        .collect()
}

fn run_folders(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const PANEL: &str = "cfo,cto,brand-strategist,org-psychologist";
/// Calls per run: two rounds of six turns and a summary, no synthesis.
const CALLS_PER_RUN: usize = 14;

fn batch_args<'a>(file: &'a str, out: &'a str, url: &'a str, max_calls: &'a str) -> Vec<&'a str> {
    vec![
        "--base-url",
        url,
        "--model",
        "small",
        "-q",
        "batch",
        file,
        "--out",
        out,
        "--models",
        "small,large",
        "--repeat",
        "2",
        "--panel",
        PANEL,
        "--rounds",
        "2",
        "--no-synthesis",
        "--seed",
        "42",
        "--max-calls",
        max_calls,
        // The calls alone: these tests time and count them.
        "--no-reports",
    ]
}

#[test]
fn a_study_of_48_runs_completes_near_the_speed_its_bound_allows() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let latency = Duration::from_millis(150);
    let server = rt.block_on(FakeServer::start_with(Arc::new(schema_answering), latency));
    let dir = tempfile::tempdir().unwrap();
    let file = questions(dir.path());
    let out = dir.path().join("study");
    let started = Instant::now();
    let made = council(&batch_args(
        file.to_str().unwrap(),
        out.to_str().unwrap(),
        &server.url,
        "16",
    ));
    let wall = started.elapsed();
    assert!(made.status.success(), "{}", text(&made.stderr));
    let recs = records(&out);
    assert_eq!(recs.len(), 48, "12 questions x 2 models x 2 repeats");
    assert!(
        recs.values().all(|r| r.state == RunState::Complete),
        "{recs:?}"
    );
    assert_eq!(run_folders(&out).len(), 48);
    let calls = server.hits();
    assert_eq!(calls, 48 * CALLS_PER_RUN);
    assert!(
        server.max_in_flight() <= 16,
        "{} in flight",
        server.max_in_flight()
    );
    // With 16 calls in flight at once, each taking `latency`, the calls alone take this long.
    let ideal = latency.as_secs_f64() * calls as f64 / 16.0;
    println!(
        "study wall time {:.2} s; the bound allows {ideal:.2} s ({:.2}x)",
        wall.as_secs_f64(),
        wall.as_secs_f64() / ideal
    );
    assert!(
        wall.as_secs_f64() <= 1.5 * ideal,
        "{:.2} s is more than 1.5x the {ideal:.2} s the bound allows",
        wall.as_secs_f64()
    );
    let study: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("study.json")).unwrap()).unwrap();
    assert_eq!(study["questions"].as_array().unwrap().len(), 12);
    assert_eq!(study["models"], serde_json::json!(["small", "large"]));

    // The same command again: every run is finished, nothing is asked.
    let again = council(&batch_args(
        file.to_str().unwrap(),
        out.to_str().unwrap(),
        &server.url,
        "16",
    ));
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(server.hits(), calls, "a finished study asks nothing");
}

#[test]
fn a_study_killed_mid_way_resumes_and_asks_no_answered_call_again() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(schema_answering),
        Duration::from_millis(100),
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = questions(dir.path());
    let out = dir.path().join("study");
    let args = batch_args(
        file.to_str().unwrap(),
        out.to_str().unwrap(),
        &server.url,
        "8",
    );
    let mut child = base(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while records(&out)
        .values()
        .filter(|r| r.state == RunState::Complete)
        .count()
        < 5
    {
        assert!(Instant::now() < deadline, "the study never got going");
        assert!(
            child.try_wait().unwrap().is_none(),
            "it ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before: Vec<String> = server.bodies();
    assert!(before.len() < 48 * CALLS_PER_RUN, "killed too late");

    let resumed = council(&args);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    let all = server.bodies();
    let after = &all[before.len()..];
    let mut asked_before: HashMap<&str, usize> = HashMap::new();
    for b in &before {
        *asked_before.entry(b.as_str()).or_default() += 1;
    }
    let repeated = after
        .iter()
        .filter(|b| asked_before.contains_key(b.as_str()))
        .count();
    println!(
        "{} calls before the kill, {} after; {repeated} asked again",
        before.len(),
        after.len()
    );
    // Only the calls in flight at the kill (at most the bound, 8) may repeat.
    assert!(repeated <= 8, "{repeated} calls were asked twice");
    assert_eq!(all.len(), 48 * CALLS_PER_RUN + repeated);
    assert_eq!(run_folders(&out).len(), 48, "every run exists exactly once");
    let recs = records(&out);
    assert_eq!(recs.len(), 48);
    assert!(recs.values().all(|r| r.state == RunState::Complete));
    for r in recs.values() {
        let t: council_core::Transcript = serde_json::from_str(
            &std::fs::read_to_string(out.join(&r.folder).join("transcript.json")).unwrap(),
        )
        .unwrap();
        let turns: usize = t.rounds.iter().map(|r| r.turns.len()).sum();
        assert_eq!(turns, 12, "{}: every turn once", r.folder);
    }
}

#[test]
fn a_pool_loses_an_endpoint_mid_study_and_never_passes_an_endpoints_bound() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let a = rt.block_on(FakeServer::start_with(
        Arc::new(schema_answering),
        Duration::from_millis(60),
    ));
    let b = rt.block_on(FakeServer::start_with(
        Arc::new(schema_answering),
        Duration::from_millis(60),
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[endpoints]]\nbase_url = \"{}\"\nmodel = \"shared\"\nmax_concurrency = 3\n\n[[endpoints]]\nbase_url = \"{}\"\nmodel = \"shared\"\nmax_concurrency = 3\nweight = 2\n",
            a.url, b.url
        ),
    )
    .unwrap();
    let file = dir.path().join("q.csv");
    std::fs::write(
        &file,
        "id,question,date\nq1,\"Should we hire a CFO, or a controller?\",2026-11-27\nq2,Should we sell the Berlin office?,2026-11-27\n",
    )
    .unwrap();
    let out = dir.path().join("study");
    let child = base(&[
        "--config",
        config.to_str().unwrap(),
        "-q",
        "batch",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--repeat",
        "3",
        "--panel",
        PANEL,
        "--rounds",
        "2",
        "--no-synthesis",
        "--max-calls",
        "12",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while b.hits() < 10 {
        assert!(Instant::now() < deadline, "endpoint B never got calls");
        std::thread::sleep(Duration::from_millis(10));
    }
    b.kill();
    let b_hits = b.hits();
    let out_put = child.wait_with_output().unwrap();
    assert!(out_put.status.success(), "{}", text(&out_put.stderr));
    let recs = records(&out);
    assert_eq!(recs.len(), 6);
    assert!(
        recs.values().all(|r| r.state == RunState::Complete),
        "{recs:?}"
    );
    assert!(a.hits() + b_hits >= 6 * CALLS_PER_RUN);
    assert!(a.max_in_flight() <= 3, "A held {}", a.max_in_flight());
    assert!(b.max_in_flight() <= 3, "B held {}", b.max_in_flight());
    assert!(a.max_in_flight() >= 2, "the pool should use A's room");
    println!(
        "A: {} calls (at most {} at once); B: {b_hits} calls before it died (at most {} at once)",
        a.hits(),
        a.max_in_flight(),
        b.max_in_flight()
    );
}

#[test]
fn bad_study_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let cases: Vec<(&str, &str, &str)> = vec![
        ("empty.jsonl", "", "holds no questions"),
        ("bad.jsonl", "{\"question\": \"Q?\", \"colour\": 1}\n", "unknown field"),
        ("nopanel.jsonl", "{\"question\": \"Q?\"}\n", "has no panel"),
        ("cols.csv", "q,when\nQ?,now\n", "`question` column"),
        ("dup.jsonl", "{\"id\":\"a\",\"question\":\"Q?\",\"panel\":\"cfo,cto\"}\n{\"id\":\"a\",\"question\":\"R?\",\"panel\":\"cfo,cto\"}\n", "used twice"),
        ("date.jsonl", "{\"question\":\"Q?\",\"panel\":[\"cfo\"],\"date\":\"soon\"}\n", "not YYYY-MM-DD"),
        ("who.jsonl", "{\"question\":\"Q?\",\"panel\":[\"nobody\"]}\n", "nobody"),
    ];
    for (name, body, needle) in cases {
        let f = dir.path().join(name);
        std::fs::write(&f, body).unwrap();
        let o = council(&[
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "batch",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(4), "{name}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(needle),
            "{name}: {}",
            text(&o.stderr)
        );
    }
    assert!(
        !out.join("study.json").exists(),
        "a refused study writes nothing"
    );
}

#[test]
fn a_study_that_names_its_models_needs_no_model_flag_and_compare_knows_each_cell() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(schema_answering),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("questions.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"q1\", \"question\": \"Should we open an office in Lisbon next year?\"}\n",
    )
    .unwrap();
    let out = dir.path().join("s");
    let made = council(&[
        "--base-url",
        &server.url,
        "-q",
        "batch",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--models",
        "a,b",
        "--panel",
        PANEL,
        "--rounds",
        "1",
        "--no-synthesis",
        "--seed",
        "9",
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let asked: Vec<String> = server
        .bodies()
        .iter()
        .filter_map(|b| serde_json::from_str::<serde_json::Value>(b).ok())
        .filter_map(|b| b["model"].as_str().map(String::from))
        .collect();
    for m in ["a", "b"] {
        assert!(
            asked.iter().any(|x| x == m),
            "model {m} was asked: {asked:?}"
        );
    }
    let recs = records(&out);
    assert_eq!(recs.len(), 2);

    // compare names each run's question id, repeat and seed, as runs.jsonl has them.
    let cmp = council(&["compare", out.to_str().unwrap(), "--format", "json"]);
    assert!(cmp.status.success(), "{}", text(&cmp.stderr));
    let c: serde_json::Value = serde_json::from_slice(&cmp.stdout).unwrap();
    for r in c["runs"].as_array().unwrap() {
        let rec = &recs[&format!("runs/{}", r["run"].as_str().unwrap())];
        assert_eq!(r["question_id"], "q1");
        assert_eq!(r["repeat"], 1);
        assert_eq!(r["seed"], rec.seed, "{r}");
        assert_eq!(r["kind"], "debate");
    }
    assert!(c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["question_id"] == "q1" && row["repeat"] == 1));
}

/// Two real llama.cpp servers (xllamacpp, the embedded default model, two
/// slots each) behind one `[[endpoints]]` pool, each seen through a proxy
/// that counts its requests; one is stopped half-way through the study.
#[test]
fn a_pool_of_two_real_llama_cpp_servers_loses_one_half_way_and_the_study_completes() {
    use council_tests::{CountingProxy, LlamaServer};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (a_server, b_server) = std::thread::scope(|s| {
        let a = s.spawn(LlamaServer::start);
        let b = s.spawn(LlamaServer::start);
        (a.join().unwrap(), b.join().unwrap())
    });
    let a = rt.block_on(CountingProxy::start(&a_server.url));
    let b = rt.block_on(CountingProxy::start(&b_server.url));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[endpoints]]\nbase_url = \"{}\"\nmodel = \"smollm2\"\nmax_concurrency = 2\n\n[[endpoints]]\nbase_url = \"{}\"\nmodel = \"smollm2\"\nmax_concurrency = 2\n",
            a.url, b.url
        ),
    )
    .unwrap();
    let file = dir.path().join("q.csv");
    std::fs::write(
        &file,
        "id,question,date\nq1,Should we raise prices by 10% next quarter?,2026-11-27\n",
    )
    .unwrap();
    let out = dir.path().join("study");
    // One question × two repeats, one round of four advisors and its
    // summary: 10 calls, four at a time across the two servers.
    let calls = 2 * 5;
    let child = base(&[
        "--config",
        config.to_str().unwrap(),
        "-q",
        "batch",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--repeat",
        "2",
        "--panel",
        "cfo,cto",
        "--rounds",
        "1",
        "--no-synthesis",
        "--max-tokens",
        "120",
        "--seed",
        "5",
        "--max-calls",
        "4",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // Generous: a loaded 2-core machine took 150 s to get half-way.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut said = Instant::now();
    while a.hits() + b.hits() < calls / 2 || b.hits() == 0 {
        assert!(
            Instant::now() < deadline,
            "the study never got half-way: A {} requests ({} now), B {} ({} now)",
            a.hits(),
            a.in_flight(),
            b.hits(),
            b.in_flight()
        );
        if said.elapsed() > Duration::from_secs(10) {
            eprintln!("A {} requests, B {}", a.hits(), b.hits());
            said = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Server B stops: its process ends, its port refuses connections.
    b.kill();
    drop(b_server);
    let (a_at_stop, b_at_stop) = (a.hits(), b.hits());
    let done = child.wait_with_output().unwrap();
    let err = text(&done.stderr);
    let recs = records(&out);
    assert_eq!(recs.len(), 2, "{err}");
    // A weak model may leave a turn failed (a partial run); no run may stop.
    assert!(
        recs.values()
            .all(|r| matches!(r.state, RunState::Complete | RunState::Partial)),
        "{recs:?}\n{err}"
    );
    assert!(matches!(done.status.code(), Some(0 | 5)), "{err}");
    for r in recs.values() {
        let t: council_core::Transcript = serde_json::from_str(
            &std::fs::read_to_string(out.join(&r.folder).join("transcript.json")).unwrap(),
        )
        .unwrap();
        let turns: usize = t.rounds.iter().map(|r| r.turns.len()).sum();
        assert_eq!(turns, 4, "{}: every advisor spoke", r.folder);
        assert!(
            t.rounds[0]
                .turns
                .iter()
                .any(|x| x.status == council_core::TurnStatus::Ok),
            "{}: the real model answered",
            r.folder
        );
    }
    assert!(a.max_in_flight() <= 2, "A held {}", a.max_in_flight());
    assert!(b.max_in_flight() <= 2, "B held {}", b.max_in_flight());
    assert_eq!(b.hits(), b_at_stop, "nothing reached B after it stopped");
    assert!(
        a.hits() > a_at_stop,
        "A took the calls left after B stopped ({a_at_stop} before)"
    );
    assert!(a.hits() + b.hits() >= calls);
    println!(
        "A: {} requests (at most {} at once); B: {} before it stopped (at most {} at once)",
        a.hits(),
        a.max_in_flight(),
        b.hits(),
        b.max_in_flight()
    );
}
