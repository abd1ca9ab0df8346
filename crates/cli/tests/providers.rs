//! Providers through the binary: a panel split over two endpoints records
//! which model spoke each turn (and `council compare --by model` reads it);
//! a streaming provider shows each advisor's answer growing before it ends.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_core::Transcript;
use council_tests::{schema_answering, schema_answering_streamed, FakeServer, Reply};
use std::io::BufRead;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `reply` as a server serving `model` sends it (the fakes say "fake").
fn answering_as(model: &'static str, reply: Reply) -> Reply {
    let named = |s: String| s.replace("\"model\":\"fake\"", &format!("\"model\":\"{model}\""));
    match reply {
        Reply::Respond {
            status,
            headers,
            body,
        } => Reply::Respond {
            status,
            headers,
            body: named(body),
        },
        Reply::Stream {
            status,
            headers,
            pieces,
        } => Reply::Stream {
            status,
            headers,
            pieces: pieces.into_iter().map(|(p, s)| (p, named(s))).collect(),
        },
        other => other,
    }
}

fn transcript(dir: &Path) -> Transcript {
    serde_json::from_str(&std::fs::read_to_string(dir.join("transcript.json")).unwrap()).unwrap()
}

#[test]
fn a_panel_on_two_endpoints_records_each_turns_model_and_compare_groups_by_it() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let a = rt.block_on(FakeServer::start_with(
        Arc::new(|body: &str| answering_as("model-a", schema_answering(body))),
        Duration::from_millis(1),
    ));
    let b = rt.block_on(FakeServer::start_with(
        Arc::new(|body: &str| answering_as("model-b", schema_answering_streamed(body))),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let mut toml = format!("base_url = \"{}\"\nmodel = \"model-a\"\n", a.url);
    for id in ["cfo", "cto", "brand-strategist"] {
        toml.push_str(&format!(
            "\n[personas.{id}]\nprovider = \"vllm\"\nbase_url = \"{}\"\nmodel = \"model-b\"\n",
            b.url
        ));
    }
    std::fs::write(&config, toml).unwrap();
    let run = dir.path().join("run");
    let _guard = rt.enter();
    let out = council_tests::council_command(
        env!("CARGO_BIN_EXE_council"),
        &[
            "--config",
            config.to_str().unwrap(),
            "-q",
            "ask",
            "Should we open a second office in Lisbon in 2027?",
            "--panel",
            "cfo,cto,brand-strategist,org-psychologist",
            "--rounds",
            "2",
            "--date",
            "2026-11-27",
            "--out",
            run.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));

    let t = transcript(&run);
    let mut on_b = 0;
    for r in &t.rounds {
        assert_eq!(r.turns.len(), 6);
        for turn in &r.turns {
            let expected = if ["cfo", "cto", "brand-strategist"].contains(&turn.persona.as_str()) {
                on_b += 1;
                "model-b"
            } else {
                "model-a"
            };
            assert_eq!(
                turn.model, expected,
                "{} in round {}",
                turn.persona, r.number
            );
        }
    }
    assert_eq!(on_b, 6, "three advisors on B, two rounds");
    // Each server heard only its own advisors (plus, for A, the moderator
    // and the synthesis), and B streamed.
    for body in b.bodies() {
        let req: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(req["model"], "model-b");
        assert_eq!(req["stream"], true);
    }
    // B: each of its advisors' two turns and synthesis vote.
    let mut asked: Vec<String> = b
        .bodies()
        .iter()
        .map(|body| {
            let req: serde_json::Value = serde_json::from_str(body).unwrap();
            req["response_format"]["json_schema"]["name"]
                .as_str()
                .unwrap_or("free text")
                .to_string()
        })
        .collect();
    asked.sort();
    assert_eq!(
        asked,
        [
            "synthesis_vote",
            "synthesis_vote",
            "synthesis_vote",
            "turn_round1",
            "turn_round1",
            "turn_round1",
            "turn_round2",
            "turn_round2",
            "turn_round2"
        ],
    );
    assert!(a
        .bodies()
        .iter()
        .all(|body| body.contains("\"model\":\"model-a\"")));

    let compared = council_tests::council_command(
        env!("CARGO_BIN_EXE_council"),
        &[
            "compare",
            run.to_str().unwrap(),
            "--by",
            "model",
            "--format",
            "csv",
        ],
    )
    .output()
    .unwrap();
    assert!(compared.status.success(), "{}", text(&compared.stderr));
    let csv = text(&compared.stdout);
    println!("council compare --by model:\n{csv}");
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows.iter().any(|r| r.starts_with("model-a,")), "{csv}");
    assert!(rows.iter().any(|r| r.starts_with("model-b,")), "{csv}");
}

#[test]
fn a_streaming_provider_shows_each_answer_growing_before_it_ends() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Turns stream in 200 pieces 5 ms apart (a second each); everything
    // else answers at once.
    let fake = rt.block_on(FakeServer::start_with(
        Arc::new(|body: &str| {
            let slow = body.contains("\"name\":\"turn_round");
            match schema_answering(body) {
                Reply::Respond { body: reply, .. } if slow => Reply::streamed(
                    &council_tests::content_of(&reply),
                    200,
                    Duration::from_millis(5),
                ),
                Reply::Respond { body: reply, .. } => {
                    Reply::streamed(&council_tests::content_of(&reply), 3, Duration::ZERO)
                }
                other => other,
            }
        }),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "provider = \"vllm\"\nbase_url = \"{}\"\nmodel = \"qwen3-32b\"\n",
            fake.url
        ),
    )
    .unwrap();
    let run = dir.path().join("run");
    let _guard = rt.enter();
    let mut child = council_tests::council_command(
        env!("CARGO_BIN_EXE_council"),
        &[
            "--config",
            config.to_str().unwrap(),
            "ask",
            "Should we sunset the legacy plan by June 2027?",
            "--panel",
            "cfo,cto,brand-strategist",
            "--rounds",
            "1",
            "--date",
            "2026-11-27",
            "--out",
            run.to_str().unwrap(),
        ],
    )
    .env("VLLM_API_KEY", "sk-stream-test-0123456789")
    .stderr(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    let started = Instant::now();
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
        lines.push((started.elapsed(), line.unwrap()));
    }
    assert!(child.wait().unwrap().success(), "{lines:#?}");
    let shown: Vec<&str> = lines.iter().map(|(_, l)| l.as_str()).collect();
    println!("{}", shown.join("\n"));
    // The CFO's answer was shown growing, and the first sign of it came
    // at least half a second (of the stream's pauses) before it was done.
    let first = lines
        .iter()
        .find(|(_, l)| l.contains("The CFO: answering (streaming)"))
        .unwrap_or_else(|| panic!("no growing answer shown:\n{}", shown.join("\n")));
    let done = lines
        .iter()
        .find(|(_, l)| l.contains("The CFO: done"))
        .unwrap_or_else(|| panic!("no finished turn shown:\n{}", shown.join("\n")));
    assert!(
        done.0.saturating_sub(first.0) >= Duration::from_millis(500),
        "shown at {:?}, done at {:?}",
        first.0,
        done.0
    );
    for name in [
        "The CFO",
        "The CTO",
        "The Brand Strategist",
        "The Contrarian",
        "The Auditor",
    ] {
        let answering = format!("{name}: answering (streaming)");
        assert!(
            shown.iter().filter(|l| l.contains(&answering)).count() == 1,
            "{name} not shown answering once:\n{}",
            shown.join("\n")
        );
    }
    assert!(
        !shown.iter().any(|l| l.contains("sk-stream-test")),
        "the key reached the terminal"
    );
    assert!(fake
        .auth_headers()
        .iter()
        .all(|h| h.as_deref() == Some("Bearer sk-stream-test-0123456789")));
    assert!(transcript(&run)
        .rounds
        .iter()
        .all(|r| r.turns.iter().all(|t| !t.text.is_empty())));
}
