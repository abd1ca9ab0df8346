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

/// Held by the test that times a study and by the one that runs two real
/// llama.cpp servers, so the servers' inference never shares the cores with
/// the timing (the tests of one file run in parallel).
static TIMED: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_study_of_48_runs_completes_near_the_speed_its_bound_allows() {
    let _alone = TIMED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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
    let _alone = TIMED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
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

/// The words of every message of a request, joined.
fn prompt_of(body: &str) -> String {
    let req: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let mut out = String::new();
    for m in req["messages"].as_array().into_iter().flatten() {
        match &m["content"] {
            serde_json::Value::String(s) => out.push_str(s),
            serde_json::Value::Array(parts) => {
                for p in parts {
                    out.push_str(p["text"].as_str().unwrap_or_default());
                }
            }
            _ => {}
        }
        out.push('\n');
    }
    out
}

/// The schema name a request answers with (`turn_round1`, `synthesis_vote`…;
/// empty for the free-text summaries).
fn schema_name(body: &str) -> String {
    let req: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    req.pointer("/response_format/json_schema/name")
        .and_then(|n| n.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Who a request's system message says is speaking ("You are NAME, …").
fn speaker(body: &str) -> Option<String> {
    let req: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let system = req["messages"]
        .as_array()?
        .iter()
        .find(|m| m["role"] == "system")?;
    let text = system["content"].as_str()?;
    Some(
        text.split("You are ")
            .nth(1)?
            .split(',')
            .next()?
            .to_string(),
    )
}

/// Answers every schema with text that names its speaker ("Speaker The CFO
/// says…"), so a prompt that shows a peer's turn can be caught; a summary
/// names no one. Usage as a real server reports it, at about four bytes a
/// token (as `schema_answering_measured`).
fn by_speaker(body: &str) -> council_tests::Reply {
    let req: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let who = speaker(body).unwrap_or_else(|| "the chair".into());
    let content = match req.pointer("/response_format/json_schema/schema") {
        Some(schema) => council_llm::schema::example_for(
            schema,
            &format!("Speaker {who} says we should open the office after testing demand for eight weeks."),
        )
        .to_string(),
        None => "The board split on the office: one side backs it, the other doubts demand.".into(),
    };
    council_tests::Reply::completion_with_usage(
        &content,
        (body.len() as u64).div_ceil(4),
        (content.len() as u64).div_ceil(4),
    )
}

/// One study of `conditions` on its own fake server: the study folder and
/// every request body the server received.
fn study_of(dir: &Path, conditions: &str) -> (std::path::PathBuf, Vec<String>) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(by_speaker),
        Duration::from_millis(1),
    ));
    let file = dir.join("questions.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"q1\", \"question\": \"Should we open an office in Lisbon next year?\", \"date\": \"2026-12-06\"}\n",
    )
    .unwrap();
    let out = dir.join(conditions.replace(',', "+"));
    let made = council(&[
        "--base-url",
        &server.url,
        "--model",
        "m",
        "-q",
        "batch",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--panel",
        PANEL,
        "--rounds",
        "2",
        "--seed",
        "42",
        "--conditions",
        conditions,
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    (out, server.bodies())
}

fn transcript(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("transcript.json")).unwrap()).unwrap()
}

#[test]
fn a_study_of_every_condition_completes_every_run_each_in_its_own_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (out, bodies) = study_of(dir.path(), "debate,vote,single,anonymous,no-persona");
    let recs = records(&out);
    let folders: Vec<&str> = recs.keys().map(String::as_str).collect();
    assert_eq!(
        folders,
        [
            "runs/q1--m--r1",
            "runs/q1--m--r1--anonymous",
            "runs/q1--m--r1--no-persona",
            "runs/q1--m--r1--single",
            "runs/q1--m--r1--vote"
        ]
    );
    assert!(
        recs.values().all(|r| r.state == RunState::Complete),
        "{recs:?}"
    );
    // Calls per run, as README's "Conditions" counts them for a panel of
    // P = 6 (four asked, the contrarian and fact-checker seated) and R = 2:
    // debate, anonymous, no-persona R(P + 1) + P + 9 = 29 (each round's
    // turns and summary, then the synthesis: P votes and 9 other parts);
    // vote (P + 1) + P + 9 = 22; single 1.
    let calls: BTreeMap<&str, u32> = recs.iter().map(|(f, r)| (f.as_str(), r.calls)).collect();
    assert_eq!(calls["runs/q1--m--r1"], 2 * 7 + 6 + 9, "{calls:?}");
    assert_eq!(calls["runs/q1--m--r1--anonymous"], 2 * 7 + 6 + 9);
    assert_eq!(calls["runs/q1--m--r1--no-persona"], 2 * 7 + 6 + 9);
    assert_eq!(calls["runs/q1--m--r1--vote"], 7 + 6 + 9);
    assert_eq!(calls["runs/q1--m--r1--single"], 1);
    assert_eq!(
        bodies.len() as u32,
        calls.values().sum::<u32>(),
        "every request is counted in one run"
    );
    // A pair shares its seed.
    let seeds: Vec<u64> = recs.values().map(|r| r.seed).collect();
    assert!(seeds.iter().all(|s| *s == seeds[0]), "{seeds:?}");
    // The tokens each condition took (README "Conditions" quotes them):
    // the transcript's usage is every request's, counted once.
    let mut all = 0;
    println!("condition   calls  prompt tokens  completion tokens");
    for (folder, r) in &recs {
        let u = &transcript(&out.join(folder))["usage"];
        let condition = folder.rsplit("--").next().unwrap();
        let condition = if condition == "r1" {
            "debate"
        } else {
            condition
        };
        println!(
            "{condition:<11} {:>5}  {:>13}  {:>17}",
            r.calls, u["prompt_tokens"], u["completion_tokens"]
        );
        assert_eq!(u["calls"], r.calls);
        all += u["prompt_tokens"].as_u64().unwrap();
    }
    let sent: u64 = bodies.iter().map(|b| (b.len() as u64).div_ceil(4)).sum();
    assert_eq!(all, sent, "every request's prompt counted once");
    // The research tables read every condition's run, single's included.
    let cmp = council(&["compare", out.to_str().unwrap(), "--format", "json"]);
    assert!(cmp.status.success(), "{}", text(&cmp.stderr));
    let c: serde_json::Value = serde_json::from_slice(&cmp.stdout).unwrap();
    let runs = c["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 5, "{c}");
    let single = runs
        .iter()
        .find(|r| r["run"].as_str().unwrap().ends_with("--single"))
        .unwrap();
    assert_eq!(single["status"], "complete", "{single}");
    assert_eq!(single["rounds"], 0, "{single}");
    assert_eq!(single["tally"]["counted"], 1, "its one vote: {single}");
}

#[test]
fn a_single_run_makes_one_call_and_its_report_has_a_verdict_a_vote_and_forecasts() {
    let dir = tempfile::tempdir().unwrap();
    let (out, bodies) = study_of(dir.path(), "single");
    assert_eq!(bodies.len(), 1, "one call, no panel");
    assert_eq!(schema_name(&bodies[0]), "single");
    let run = out.join("runs/q1--m--r1--single");
    let t = transcript(&run);
    assert_eq!(t["condition"], "single");
    assert_eq!(t["planned_rounds"], 0);
    assert_eq!(t["rounds"], serde_json::json!([]));
    assert_eq!(t["usage"]["calls"], 1, "the call's usage is counted once");
    assert_eq!(t["panel"][0]["id"], "generalist");
    let r = council(&["render", run.to_str().unwrap(), "--format", "json"]);
    assert!(r.status.success(), "{}", text(&r.stderr));
    let report: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(report["status"], "complete", "{}", report["concerns"]);
    assert_eq!(report["condition"], "single");
    assert!(!report["verdict"].as_str().unwrap().is_empty());
    assert!(report["verdict_stance"].is_string());
    let votes = report["votes"].as_array().unwrap();
    assert_eq!(votes.len(), 1);
    assert_eq!(votes[0]["persona"], "generalist");
    assert!(votes[0]["stance"].is_string(), "{}", votes[0]);
    let forecasts = report["forecasts"].as_array().unwrap();
    assert!(!forecasts.is_empty());
    assert!(
        forecasts.iter().all(|f| f["median"].is_number()),
        "each forecast has the advisor's probability: {forecasts:?}"
    );
    // The Markdown report says what the run was and shows no empty rounds section.
    let md = council(&["render", run.to_str().unwrap()]);
    let md = text(&md.stdout);
    assert!(md.contains("Study condition: single"), "{md}");
    assert!(!md.contains("The debate, round by round"), "{md}");
}

#[test]
fn a_vote_runs_votes_see_no_peers_opening_and_no_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bodies) = study_of(dir.path(), "vote");
    let openings: Vec<&String> = bodies
        .iter()
        .filter(|b| schema_name(b) == "turn_round1")
        .collect();
    let speakers: Vec<String> = openings.iter().filter_map(|b| speaker(b)).collect();
    assert_eq!(speakers.len(), 6, "{speakers:?}");
    assert!(
        !bodies.iter().any(|b| schema_name(b) == "turn_round2"),
        "no later round"
    );
    // Round 1 shows no peer either.
    for b in &openings {
        let me = speaker(b).unwrap();
        let p = prompt_of(b);
        for other in speakers.iter().filter(|s| **s != me) {
            assert!(!p.contains(&format!("Speaker {other} says")), "{p}");
        }
    }
    let votes: Vec<&String> = bodies
        .iter()
        .filter(|b| schema_name(b) == "synthesis_vote")
        .collect();
    assert_eq!(votes.len(), 6);
    for b in votes {
        let me = speaker(b).unwrap();
        let p = prompt_of(b);
        assert!(
            p.contains(&format!("Speaker {me} says")),
            "its own opening: {p}"
        );
        for other in speakers.iter().filter(|s| **s != me) {
            assert!(
                !p.contains(&format!("Speaker {other} says")),
                "{me}'s vote shows {other}'s opening: {p}"
            );
        }
        assert!(!p.contains("The board's verdict"), "{p}");
        assert!(
            p.contains("F-"),
            "the forecasts to give probabilities for: {p}"
        );
    }
    // The same study's debate shows its voters the verdict (the check can fail).
    let dir = tempfile::tempdir().unwrap();
    let (_, bodies) = study_of(dir.path(), "debate");
    assert!(bodies
        .iter()
        .filter(|b| schema_name(b) == "synthesis_vote")
        .all(|b| prompt_of(b).contains("The board's verdict")));
}

#[test]
fn an_anonymous_runs_advisors_see_no_peers_name_or_role() {
    let dir = tempfile::tempdir().unwrap();
    let (out, bodies) = study_of(dir.path(), "anonymous,debate");
    let t = transcript(&out.join("runs/q1--m--r1--anonymous"));
    assert_eq!(t["condition"], "anonymous");
    let panel: Vec<(String, String, String)> = t["panel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
                p["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(panel.len(), 6);
    // The advisors' prompts (turns and votes) and the moderator's summaries:
    // the speaker is itself, every peer a label.
    let mut anonymous = 0;
    let mut named = 0;
    for b in &bodies {
        let name = schema_name(b);
        if !(name.starts_with("turn_round") || name == "synthesis_vote" || name.is_empty()) {
            continue;
        }
        let me = speaker(b);
        let p = prompt_of(b);
        let shows_peer = panel
            .iter()
            .filter(|(_, n, _)| Some(n) != me.as_ref())
            .any(|(_, n, role)| p.contains(&format!("{n} [")) || p.contains(role.as_str()));
        // An advisor's prompt lists the board ("Advisor A [A]"); a summary's
        // the turns ("- Advisor A (SHARE, …").
        if p.contains("[A]") || p.contains("- Advisor A (") {
            anonymous += 1;
            assert!(!shows_peer, "an anonymous prompt names a peer: {p}");
            if name == "turn_round2" {
                assert!(p.contains("Advisor "), "peers by label: {p}");
            }
        } else {
            named += 1;
        }
    }
    // Each run's 6 + 6 turns, 2 summaries and 6 votes; the debate's name everyone.
    assert_eq!(anonymous, 20, "anonymous prompts");
    assert_eq!(named, 20, "named prompts");
}

#[test]
fn a_no_persona_runs_prompts_hold_no_persona_text() {
    let dir = tempfile::tempdir().unwrap();
    let (out, bodies) = study_of(dir.path(), "no-persona");
    let t = transcript(&out.join("runs/q1--m--r1--no-persona"));
    let ids: Vec<&str> = t["panel"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "advisor-1",
            "advisor-2",
            "advisor-3",
            "advisor-4",
            "advisor-5",
            "advisor-6"
        ],
        "as many as the seated panel"
    );
    // Every persona's voice and what it notices first, from the roster's files.
    let personas = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../personas");
    let mut texts: Vec<String> = Vec::new();
    for e in std::fs::read_dir(personas).unwrap() {
        let toml = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for line in toml.lines() {
            for key in ["voice = \"", "notices_first = \"", "name = \""] {
                if let Some(v) = line.strip_prefix(key) {
                    texts.push(v.trim_end_matches('"').to_string());
                }
            }
        }
    }
    assert!(texts.len() >= 30, "{texts:?}");
    let all: String = bodies.iter().map(|b| prompt_of(b)).collect();
    assert!(all.contains("You are Advisor 1, advisor"), "{all}");
    for x in &texts {
        assert!(!all.contains(x.as_str()), "persona text {x:?} in a prompt");
    }
    // The debate's prompts do hold them (the check can fail).
    let dir = tempfile::tempdir().unwrap();
    let (_, bodies) = study_of(dir.path(), "debate");
    let all: String = bodies.iter().map(|b| prompt_of(b)).collect();
    assert!(texts.iter().any(|x| all.contains(x.as_str())));
}

#[test]
fn a_single_run_whose_answer_fails_is_partial_and_its_report_says_why() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(|_: &str| council_tests::Reply::Respond {
            status: 400,
            headers: vec![],
            body: r#"{"error":{"message":"the prompt is too long for this model"}}"#.into(),
        }),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"q1\", \"question\": \"Should we open an office in Lisbon next year?\"}\n",
    )
    .unwrap();
    let out = dir.path().join("s");
    let made = council(&[
        "--base-url",
        &server.url,
        "--model",
        "m",
        "-q",
        "batch",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--panel",
        PANEL,
        "--conditions",
        "single",
    ]);
    assert_eq!(made.status.code(), Some(5), "{}", text(&made.stderr));
    let recs = records(&out);
    let rec = &recs["runs/q1--m--r1--single"];
    assert_eq!(rec.state, RunState::Partial);
    assert_eq!(rec.calls as usize, server.hits(), "every request counted");
    let run = out.join("runs/q1--m--r1--single");
    let r = council(&["render", run.to_str().unwrap(), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(report["status"], "partial");
    let flags = report["flags"].to_string();
    assert!(flags.contains("synthesis part `verdict` failed"), "{flags}");
}
