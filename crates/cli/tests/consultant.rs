//! The consultant's workflow through the binary: report variants, branches
//! and `diff`, follow-ups, cost and budgets, against a fake
//! OpenAI-compatible server that counts every call.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_core::{Event, Transcript};
use council_tests::{schema_answering_measured, FakeServer, Handler, Reply};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn council(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_council"));
    cmd.args(args);
    for var in [
        "COUNCIL_BASE_URL",
        "OPENAI_BASE_URL",
        "COUNCIL_API_KEY",
        "OPENAI_API_KEY",
        "COUNCIL_MODEL",
        "COUNCIL_CONFIG",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().expect("run council")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Four chosen advisors; the fact-checker and the contrarian are seated too.
const PANEL: &str = "cfo,cto,brand-strategist,org-psychologist";

struct Fake {
    rt: tokio::runtime::Runtime,
    server: FakeServer,
}

impl Fake {
    fn start(handler: Handler, latency_ms: u64) -> Fake {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(FakeServer::start_with(
            handler,
            Duration::from_millis(latency_ms),
        ));
        Fake { rt, server }
    }

    fn measured() -> Fake {
        Fake::start(Arc::new(schema_answering_measured), 1)
    }

    /// The backend flags for this server.
    fn flags(&self) -> Vec<String> {
        vec![
            "--base-url".into(),
            self.server.url.clone(),
            "--model".into(),
            "fake".into(),
            "-q".into(),
        ]
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut all: Vec<String> = self.flags();
        all.extend(args.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let _guard = self.rt.enter();
        council(&refs)
    }

    fn hits(&self) -> usize {
        self.server.hits()
    }
}

/// A full run (5 rounds, 6 advisors, synthesis) in `out`; its calls.
fn full_run(fake: &Fake, out: &Path, extra: &[&str]) -> usize {
    let before = fake.hits();
    let mut args = vec![
        "ask",
        "Should we raise prices by 10% for new customers?",
        "--panel",
        PANEL,
        "--seed",
        "5",
        "--date",
        "2026-11-27",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let made = fake.run(&args);
    assert!(made.status.success(), "{}", text(&made.stderr));
    fake.hits() - before
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

fn report_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// Every file under `dir` and its bytes, to prove a folder untouched.
fn snapshot(dir: &Path) -> HashMap<PathBuf, Vec<u8>> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn a_content_variant_costs_at_most_four_tenths_of_the_run_and_a_render_variant_nothing() {
    let fake = Fake::measured();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let c = full_run(&fake, &run, &[]);
    assert_eq!(c, 30 + 5 + 15, "30 turns, 5 summaries, 15 synthesis parts");
    let source_events = std::fs::read(run.join("events.jsonl")).unwrap();

    // Audience and tone: the wording is asked again, the debate and vote are not.
    let before = fake.hits();
    let out = fake.run(&[
        "variant",
        run.to_str().unwrap(),
        "--audience",
        "team",
        "--tone",
        "plain, no jargon",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let calls = fake.hits() - before;
    assert!(
        calls as f64 <= 0.4 * c as f64,
        "a content variant made {calls} calls of a run's {c}"
    );
    // verdict, actions, three paths, story, evidence, risks, forecast wording.
    assert_eq!(calls, 9);
    let asked = fake.server.bodies();
    let asked = &asked[asked.len() - calls..];
    assert!(
        asked.iter().all(
            |b| b.contains("the team that will carry it out") && b.contains("plain, no jargon")
        ),
        "every re-asked part carries the variant's directions"
    );
    let v = run.join("variants/team-full");
    let vt = transcript(&v);
    let st = transcript(&run);
    assert_eq!(
        vt.rounds,
        st.rounds
            .iter()
            .map(|r| {
                let mut r = r.clone();
                for t in &mut r.turns {
                    t.copied_from = Some(run.display().to_string());
                }
                r.summary_call.as_mut().unwrap().copied_from = Some(run.display().to_string());
                r
            })
            .collect::<Vec<_>>(),
        "the debate is reused as it was"
    );
    let (vr, sr) = (report_json(&v), report_json(&run));
    assert_eq!(vr["tally"], sr["tally"], "the vote is reused");
    let probs = |r: &serde_json::Value| -> Vec<(serde_json::Value, serde_json::Value)> {
        r["forecasts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["id"].clone(), f["probabilities"].clone()))
            .collect()
    };
    assert_eq!(
        probs(&vr),
        probs(&sr),
        "forecast ids and probabilities are reused"
    );
    assert_eq!(vr["variant"]["audience"], "team");
    assert_eq!(
        vt.origin.as_ref().unwrap().source,
        run.display().to_string()
    );
    // The variant paid only for its own calls.
    assert_eq!(vt.usage.calls as usize, calls);

    // Length and headings only: a render, no call.
    let before = fake.hits();
    let out = fake.run(&[
        "variant",
        run.to_str().unwrap(),
        "--length",
        "brief",
        "--headings",
        "zh",
        "--name",
        "brief-zh-headings",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        fake.hits() - before,
        0,
        "a length/headings variant is a render"
    );
    let brief = report_json(&run.join("variants/brief-zh-headings"));
    assert_eq!(brief["lang"], "zh");
    assert_eq!(brief["verdict"], sr["verdict"]);

    // Running the same content variant again asks nothing more.
    let before = fake.hits();
    let again = fake.run(&[
        "variant",
        run.to_str().unwrap(),
        "--audience",
        "team",
        "--tone",
        "plain, no jargon",
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(
        fake.hits() - before,
        0,
        "a finished variant is not asked again"
    );

    // The same name with other settings is refused, not overwritten.
    let clash = fake.run(&[
        "variant",
        run.to_str().unwrap(),
        "--audience",
        "investor",
        "--name",
        "team-full",
    ]);
    assert_eq!(clash.status.code(), Some(4), "{}", text(&clash.stderr));
    assert!(text(&clash.stderr).contains("other settings"));

    assert_eq!(
        std::fs::read(run.join("events.jsonl")).unwrap(),
        source_events,
        "a variant never writes into the source's log"
    );
}

#[test]
fn a_chinese_variant_of_an_english_debate_rewords_forecasts_but_keeps_their_ids() {
    let fake = Fake::measured();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &[]);
    let before = fake.hits();
    let out = fake.run(&["variant", run.to_str().unwrap(), "--lang", "zh"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // verdict, actions, three paths, story, evidence, risks, forecast wording.
    assert_eq!(fake.hits() - before, 9);
    let v = run.join("variants/board-full-zh");
    let t = transcript(&v);
    assert_eq!(t.lang, "zh");
    assert!(t
        .synthesis
        .iter()
        .any(|p| p.part == council_core::synthesis::SynthesisKind::ForecastWording));
    let prompts = fake.server.bodies();
    assert!(
        prompts.iter().rev().take(9).all(|b| b.contains("Chinese")),
        "the variant's calls ask for Chinese"
    );
    let ids = |r: serde_json::Value| -> Vec<String> {
        r["forecasts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(report_json(&v)), ids(report_json(&run)));
}
