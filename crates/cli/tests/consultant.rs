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
    council_tests::council_command(env!("CARGO_BIN_EXE_council"), args)
        .output()
        .expect("run council")
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
                // Named from the variant's folder, wherever the command ran.
                for t in &mut r.turns {
                    t.copied_from = Some("../..".into());
                }
                r.summary_call.as_mut().unwrap().copied_from = Some("../..".into());
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

/// Answers like [`schema_answering_measured`], but every stance is
/// `oppose`: a branch against it plants a changed verdict and vote.
fn opposing() -> Handler {
    Arc::new(|body: &str| match schema_answering_measured(body) {
        Reply::Respond {
            status,
            headers,
            body,
        } => Reply::Respond {
            status,
            headers,
            body: body.replace(r#"\"stance\":\"support\""#, r#"\"stance\":\"oppose\""#),
        },
        other => other,
    })
}

#[test]
fn a_branch_from_round_3_keeps_rounds_1_and_2_and_diff_names_the_planted_changes() {
    let fake = Fake::measured();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &[]);
    let source = snapshot(&run);

    let other = Fake::start(opposing(), 1);
    let branch = dir.path().join("branch");
    let out = other.run(&[
        "branch",
        run.to_str().unwrap(),
        "--from-round",
        "3",
        "--swap",
        "brand-strategist=coo",
        "--persona-model",
        "coo=bigger-model",
        "--out",
        branch.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bodies = other.server.bodies();
    let coo_calls = bodies
        .iter()
        .filter(|b| b.contains("\"model\":\"bigger-model\""))
        .count();
    // The COO's turns in rounds 3–5 and its vote.
    assert_eq!(
        coo_calls, 4,
        "the swapped-in advisor speaks through its own model"
    );
    // Rounds 3–5 (6 turns and a summary each) and the 15 synthesis parts.
    assert_eq!(other.hits(), 3 * 7 + 15);
    assert_eq!(snapshot(&run), source, "the source run is only read");

    let (s, b) = (transcript(&run), transcript(&branch));
    let origin = b.origin.as_ref().unwrap();
    assert_eq!(origin.from_round, Some(3));
    assert_eq!(origin.source, run.display().to_string());
    assert!(origin
        .changes
        .iter()
        .any(|c| c == "swap brand-strategist=coo"));
    for n in 0..2 {
        let strip = |r: &council_core::Round| -> Vec<council_core::Turn> {
            r.turns
                .iter()
                .map(|t| council_core::Turn {
                    copied_from: None,
                    ..t.clone()
                })
                .collect()
        };
        assert_eq!(
            strip(&b.rounds[n]),
            strip(&s.rounds[n]),
            "round {} differs",
            n + 1
        );
        assert_eq!(b.rounds[n].summary, s.rounds[n].summary);
        assert!(
            b.rounds[n]
                .turns
                .iter()
                .all(|t| t.copied_from.as_deref() == Some("../run")),
            "copied_from is relative to the branch's folder"
        );
    }
    assert!(b.rounds[2].turns.iter().any(|t| t.persona == "coo"));
    assert!(!b.rounds[2]
        .turns
        .iter()
        .any(|t| t.persona == "brand-strategist"));
    assert!(b.rounds[2].turns.iter().all(|t| t.copied_from.is_none()));
    assert_eq!(b.status, council_core::RunStatus::Complete);
    let md = std::fs::read_to_string(branch.join("report.md")).unwrap();
    assert!(
        md.contains("The Brand Strategist"),
        "a copied round names the advisor who left by name"
    );

    let json = council(&[
        "diff",
        run.to_str().unwrap(),
        branch.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let d: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(d["verdict_stance"]["a"], "support");
    assert_eq!(d["verdict_stance"]["b"], "oppose");
    assert_eq!(d["verdict_stance"]["changed"], true);
    assert_eq!(d["majority"]["changed"], true);
    let changed_votes: Vec<&str> = d["votes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["stance"]["changed"] == true)
        .map(|v| v["persona"].as_str().unwrap())
        .collect();
    assert!(
        changed_votes.contains(&"cfo") && changed_votes.contains(&"coo"),
        "{changed_votes:?}"
    );
    let md = council(&["diff", run.to_str().unwrap(), branch.to_str().unwrap()]);
    let md = text(&md.stdout);
    assert!(
        md.contains("| stance | support | oppose | **changed** |"),
        "{md}"
    );
    let html = council(&[
        "diff",
        run.to_str().unwrap(),
        branch.to_str().unwrap(),
        "--format",
        "html",
    ]);
    assert!(text(&html.stdout).contains("<tr class=\"changed\"><td>stance</td>"));
}

#[test]
fn follow_ups_append_a_round_and_an_answer_and_stack_in_order() {
    let fake = Fake::measured();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &[]);
    let before_log = events(&run);
    for (n, q) in [
        "What if a competitor cuts prices first?",
        "Can we wait until Q3?",
    ]
    .iter()
    .enumerate()
    {
        let before = fake.hits();
        let out = fake.run(&["followup", run.to_str().unwrap(), q]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        // Six answers, a summary and the chair's answer.
        assert_eq!(fake.hits() - before, 8);
        let t = transcript(&run);
        assert_eq!(t.followups.len(), n + 1);
        let f = &t.followups[n];
        assert_eq!((f.number, f.question.as_str()), (n as u32 + 1, *q));
        assert_eq!(f.turns.len(), 6);
        assert!(f.summary.is_some() && f.synthesis.is_some());
        let r = report_json(&run);
        assert_eq!(r["followups"][n]["question"], *q);
        assert!(!r["followups"][n]["answer"].as_str().unwrap().is_empty());
        let md = std::fs::read_to_string(run.join("report.md")).unwrap();
        assert!(md.contains(q), "the re-rendered report shows the follow-up");
    }
    let after = events(&run);
    assert_eq!(
        &after[..before_log.len()],
        &before_log[..],
        "follow-ups only append"
    );
    // The second follow-up's advisors saw the first one's answer.
    let bodies = fake.server.bodies();
    assert!(bodies
        .iter()
        .rev()
        .take(8)
        .any(|b| b.contains("What if a competitor cuts prices first?")));
}

#[test]
fn a_follow_up_killed_half_way_resumes_without_asking_twice() {
    let fake = Fake::start(Arc::new(schema_answering_measured), 1);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &[]);
    let slow = Fake::start(Arc::new(schema_answering_measured), 200);
    let mut args = slow.flags();
    args.extend(
        [
            "followup",
            run.to_str().unwrap(),
            "Should we pilot in one region first?",
            "--max-concurrency",
            "2",
        ]
        .map(String::from),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_council"))
        .args(&args)
        .env_remove("COUNCIL_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let answered = |dir: &Path| {
        events(dir)
            .iter()
            .filter(|e| matches!(e, Event::FollowupTurn(_)))
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered(&run) < 2 {
        assert!(Instant::now() < deadline, "the follow-up never started");
        assert!(
            child.try_wait().unwrap().is_none(),
            "it ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before = answered(&run);
    assert!(done_before < 6, "killed too late");

    let out = fake.run(&["followup", run.to_str().unwrap(), "--resume"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in events(&run) {
        if let Event::FollowupTurn(t) = e {
            *seen.entry(t.persona.clone()).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 6);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    assert_eq!(transcript(&run).followups.len(), 1);
}

fn priced_config(dir: &Path) -> PathBuf {
    let p = dir.join("config.toml");
    std::fs::write(&p, "[prices.\"fake\"]\ninput = 1.0\noutput = 2.0\n").unwrap();
    p
}

fn cost_usd(config: &Path, run: &Path) -> f64 {
    let out = council(&[
        "--config",
        config.to_str().unwrap(),
        "cost",
        run.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["run"]["total"]["usd"]
        .as_f64()
        .expect("the run is priced")
}

#[test]
fn a_half_budget_stops_under_it_with_exit_5_and_a_resume_finishes_with_exactly_c_calls() {
    let dir = tempfile::tempdir().unwrap();
    let config = priced_config(dir.path());
    let fake = Fake::measured();
    let reference = dir.path().join("reference");
    let cfg = ["--config", config.to_str().unwrap()];
    let c = full_run(&fake, &reference, &cfg);
    let full = cost_usd(&config, &reference);
    assert!(full > 0.0);

    let run = dir.path().join("run");
    let before = fake.hits();
    let half = format!("{}", full / 2.0);
    let stopped = fake.run(&[
        "--config",
        config.to_str().unwrap(),
        "ask",
        "Should we raise prices by 10% for new customers?",
        "--panel",
        PANEL,
        "--seed",
        "5",
        "--date",
        "2026-11-27",
        "--out",
        run.to_str().unwrap(),
        "--budget-usd",
        &half,
    ]);
    assert_eq!(stopped.status.code(), Some(5), "{}", text(&stopped.stderr));
    let err = text(&stopped.stderr);
    assert!(err.contains("budget") && err.contains("--resume"), "{err}");
    let first = fake.hits() - before;
    assert!(first > 0 && first < c, "stopped after {first} of {c} calls");
    let spent = cost_usd(&config, &run);
    println!("a run costs ${full:.6} in {c} calls; a budget of ${half} stopped it after {first} calls, ${spent:.6} spent");
    assert!(spent <= full / 2.0, "spent {spent} of a {half} budget");

    // The worst case of each call is held before it is made, so a budget
    // of exactly the measured cost may stop just short; twice it finishes.
    let twice = format!("{}", full * 2.0);
    let resumed = fake.run(&[
        "--config",
        config.to_str().unwrap(),
        "ask",
        "--resume",
        run.to_str().unwrap(),
        "--budget-usd",
        &twice,
    ]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert_eq!(fake.hits() - before, c, "no call was asked twice");
    assert_eq!(transcript(&run).status, council_core::RunStatus::Complete);
    assert!((cost_usd(&config, &run) - full).abs() < 1e-9);

    // A token budget works the same way, without prices.
    let tokens = dir.path().join("tokens");
    let t = fake.run(&[
        "ask",
        "Q?",
        "--panel",
        PANEL,
        "--rounds",
        "1",
        "--out",
        tokens.to_str().unwrap(),
        "--budget-tokens",
        "2000",
    ]);
    assert_eq!(t.status.code(), Some(5), "{}", text(&t.stderr));
    let used = transcript_or_events_usage(&tokens);
    assert!(used <= 2000, "{used} tokens spent of 2000");
}

/// Prompt plus generated tokens of a run folder, finished or not.
fn transcript_or_events_usage(dir: &Path) -> u64 {
    let t = Transcript::from_events(&events(dir)).unwrap();
    t.usage.prompt_tokens.unwrap_or(0) + t.usage.completion_tokens.unwrap_or(0)
}

#[test]
fn bad_inputs_get_clear_errors_and_leave_the_source_run_untouched() {
    let fake = Fake::measured();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &["--rounds", "3"]);
    let source = snapshot(&run);
    let r = run.to_str().unwrap();
    let missing = dir.path().join("nothing-here");
    let m = missing.to_str().unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["variant", m], 4, "no run folder"),
        (vec!["branch", m, "--from-round", "2"], 4, "no run folder"),
        (vec!["followup", m, "Q?"], 4, "no run folder"),
        (vec!["cost", m], 4, "no run at"),
        (vec!["diff", r, m], 4, "no run at"),
        (
            vec![
                "branch",
                r,
                "--from-round",
                "2",
                "--swap",
                "brand-strategist=nobody",
            ],
            4,
            "nobody",
        ),
        (
            vec!["branch", r, "--from-round", "2", "--swap", "ceo=coo"],
            4,
            "does not sit on the panel",
        ),
        (
            vec!["branch", r, "--from-round", "2", "--swap", "cfo"],
            4,
            "OLD=NEW",
        ),
        (vec!["branch", r, "--from-round", "4"], 4, "out of range"),
        (
            vec![
                "branch",
                r,
                "--from-round",
                "2",
                "--persona-model",
                "ceo=big",
            ],
            4,
            "does not sit on the branch's panel",
        ),
        (vec!["branch", r, "--from-round", "0"], 4, "out of range"),
        (vec!["variant", r, "--lang", "xx"], 4, "--lang"),
        (vec!["variant", r, "--name", "../escape"], 4, "--name"),
        (vec!["followup", r, "  "], 4, "empty"),
        (
            vec!["followup", r, "--resume"],
            4,
            "no unfinished follow-up",
        ),
        (vec!["ask", "Q?", "--budget-usd", "-1"], 2, "not a budget"),
        (
            vec!["variant", r, "--budget-usd", "ten"],
            2,
            "not a number of dollars",
        ),
    ];
    for (args, code, needle) in cases {
        let out = fake.run(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    assert_eq!(
        snapshot(&run),
        source,
        "a refused command changed the source run"
    );

    // A run whose debate stopped half-way gets no variant (and no follow-up).
    let log = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    let half = dir.path().join("half");
    std::fs::create_dir(&half).unwrap();
    let first_lines: Vec<&str> = log.lines().take(5).collect();
    std::fs::write(half.join("events.jsonl"), first_lines.join("\n") + "\n").unwrap();
    for args in [
        vec!["variant", half.to_str().unwrap()],
        vec!["followup", half.to_str().unwrap(), "Q?"],
    ] {
        let out = fake.run(&args);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("has not finished"),
            "{}",
            text(&out.stderr)
        );
    }
    // While another process resumes it, the message says so and to wait.
    let resuming = council_engine::store::RunStore::open(&half).unwrap();
    let out = fake.run(&["variant", half.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(
        err.contains("being resumed by another Council process")
            && err.contains("try making a variant again when it ends")
            && !err.contains("--resume"),
        "{err}"
    );
    drop(resuming);
    assert!(!half.join("variants").exists());
}

#[test]
fn a_branded_pdf_and_docx_variant_costs_no_call_and_a_bad_brand_is_refused_first() {
    let fake = Fake::measured();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &["--rounds", "2"]);
    let source = snapshot(&run);
    let brand = dir.path().join("brand.toml");
    std::fs::write(
        &brand,
        "name = \"Acme Advisory\"\naccent = \"#0a7f6f\"\nfooter = \"Acme Advisory LLP\"\nconfidentiality = \"Confidential: prepared for the board\"\n",
    )
    .unwrap();
    let before = fake.hits();
    let out = fake.run(&[
        "variant",
        run.to_str().unwrap(),
        "--length",
        "standard",
        "--format",
        "pdf",
        "--format",
        "docx",
        "--brand",
        brand.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fake.hits() - before, 0, "format and brand are a render");
    let v = run.join("variants/board-standard");
    assert!(std::fs::read(v.join("report.pdf"))
        .unwrap()
        .starts_with(b"%PDF"));
    assert!(std::fs::read(v.join("report.docx"))
        .unwrap()
        .starts_with(b"PK"));
    let html = std::fs::read_to_string(v.join("report.html")).unwrap();
    assert!(html.contains("Acme Advisory") && html.contains("#0a7f6f"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"Acme\"\naccent = \"teal\"\n").unwrap();
    let before = fake.hits();
    let out = fake.run(&[
        "variant",
        run.to_str().unwrap(),
        "--audience",
        "investor",
        "--brand",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("teal"), "{}", text(&out.stderr));
    assert_eq!(
        fake.hits() - before,
        0,
        "the brand is checked before any call"
    );
    assert!(!run.join("variants/investor-full").exists());
    let missing = fake.run(&[
        "branch",
        run.to_str().unwrap(),
        "--from-round",
        "2",
        "--brand",
        dir.path().join("nope.toml").to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(4), "{}", text(&missing.stderr));
    let mut after = snapshot(&run);
    after.retain(|p, _| !p.starts_with(run.join("variants")));
    assert_eq!(after, source, "the source run is untouched");
}

/// The text of a PDF, through poppler's pdftotext, on one line.
fn pdf_text(pdf: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian: poppler-utils) runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_client_pdf_holds_no_path_origin_tone_cost_or_flags_unless_the_appendix_asks() {
    let fake = Fake::measured();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &["--rounds", "2"]);
    let out = fake.run(&[
        "variant",
        run.to_str().unwrap(),
        "--audience",
        "client",
        "--tone",
        "warm, confident",
        "--format",
        "pdf",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let variant = std::fs::read_dir(run.join("variants"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let internal = [
        "Variant of",
        "Variant for",
        "warm, confident",
        "not priced",
        "Cost of this run",
        "What was flagged",
        "Internal appendix",
    ];
    let folder = dir.path().to_str().unwrap();
    for file in ["report.pdf", "report.md", "report.html"] {
        let path = variant.join(file);
        let body = if file.ends_with("pdf") {
            pdf_text(&path)
        } else {
            std::fs::read_to_string(&path).unwrap()
        };
        assert!(!body.contains(folder), "{file} names the folder {folder}");
        for marker in internal {
            assert!(!body.contains(marker), "{file} holds {marker:?}");
        }
    }
    // Asked for, the internal parts come back in an appendix after the report.
    let pdf = dir.path().join("with-appendix.pdf");
    let out = council(&[
        "render",
        variant.to_str().unwrap(),
        "--format",
        "pdf",
        "--appendix",
        "origin,cost,flags",
        "-o",
        pdf.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let body = pdf_text(&pdf);
    let appendix = body.find("Internal appendix").expect("an appendix");
    for marker in [
        "Variant of run",
        "warm, confident",
        "Cost of this run",
        "What was flagged",
    ] {
        let at = body
            .find(marker)
            .unwrap_or_else(|| panic!("lacks {marker:?}"));
        assert!(at > appendix, "{marker:?} before the appendix");
    }
    assert!(
        !body.contains(folder),
        "the appendix names the run, not its folder"
    );
    let bad = council(&["render", variant.to_str().unwrap(), "--appendix", "costs"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("origin, cost, flags"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn cost_lists_personas_rounds_parts_follow_ups_and_variants_and_never_calls_unknown_prices_free() {
    let fake = Fake::measured();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &["--rounds", "2"]);
    let fu = fake.run(&["followup", run.to_str().unwrap(), "And in Asia?"]);
    assert!(fu.status.success(), "{}", text(&fu.stderr));
    let v = fake.run(&["variant", run.to_str().unwrap(), "--audience", "client"]);
    assert!(v.status.success(), "{}", text(&v.stderr));

    let unpriced = council(&["cost", run.to_str().unwrap()]);
    assert!(unpriced.status.success(), "{}", text(&unpriced.stderr));
    let table = text(&unpriced.stdout);
    for needle in [
        "THE CFO",
        "round 2",
        "moderator",
        "synthesis",
        "follow-up 1",
        "variant client-full",
        "not priced: fake",
    ] {
        assert!(
            table.to_uppercase().contains(&needle.to_uppercase()),
            "{needle} missing:\n{table}"
        );
    }
    assert!(
        !table.contains('$'),
        "an unknown price is not zero:\n{table}"
    );

    let config = priced_config(dir.path());
    let priced = council(&[
        "--config",
        config.to_str().unwrap(),
        "cost",
        run.to_str().unwrap(),
    ]);
    let table = text(&priced.stdout);
    assert!(
        table.contains('$') && !table.contains("not priced"),
        "{table}"
    );
    // The report's appendix carries the cost too.
    let report = report_json(&run);
    assert!(report["cost"]["total"]["usage"]["calls"].as_u64().unwrap() > 0);
}

/// Answers like [`schema_answering_measured`], but each stance is drawn
/// from a hash of the request (support, mixed or oppose), so advisors flip
/// between rounds and disagree, as a real panel does.
fn varied() -> Handler {
    Arc::new(|body: &str| {
        let h = body.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let stance = ["support", "mixed", "oppose"][(h % 3) as usize];
        match schema_answering_measured(body) {
            Reply::Respond {
                status,
                headers,
                body,
            } => Reply::Respond {
                status,
                headers,
                body: body.replace(
                    r#"\"stance\":\"support\""#,
                    &format!(r#"\"stance\":\"{stance}\""#),
                ),
            },
            other => other,
        }
    })
}

/// A persona's turns, flip pairs, flips and conforming flips in one
/// transcript, counted by hand over the rounds it spoke itself (from
/// `first_own` on: a branch's earlier rounds are copies): a pair is two
/// consecutive rounds with both stances known and the later one its own; it
/// flips when they differ, and conforms when the new stance is the strict
/// plurality of the other advisors' stances in the round before.
fn by_hand(t: &Transcript, persona: &str, first_own: u32) -> (usize, usize, usize, usize) {
    use council_core::answers::Stance;
    let stance = |round: u32, who: &str| -> Option<Stance> {
        t.rounds
            .iter()
            .find(|r| r.number == round)?
            .turns
            .iter()
            .find(|x| x.persona == who)?
            .stance
    };
    let (mut turns, mut pairs, mut flips, mut conforming) = (0, 0, 0, 0);
    for r in &t.rounds {
        if r.number < first_own || !r.turns.iter().any(|x| x.persona == persona) {
            continue;
        }
        turns += 1;
        let (Some(before), Some(now)) = (stance(r.number - 1, persona), stance(r.number, persona))
        else {
            continue;
        };
        pairs += 1;
        if before == now {
            continue;
        }
        flips += 1;
        let others: Vec<Stance> = t
            .panel
            .iter()
            .filter(|p| p.id != persona)
            .filter_map(|p| stance(r.number - 1, &p.id))
            .collect();
        let count = |s: Stance| others.iter().filter(|x| **x == s).count();
        let top = Stance::ALL.iter().map(|s| count(*s)).max().unwrap_or(0);
        let leaders: Vec<Stance> = Stance::ALL
            .into_iter()
            .filter(|s| top > 0 && count(*s) == top)
            .collect();
        if leaders == [now] {
            conforming += 1;
        }
    }
    (turns, pairs, flips, conforming)
}

/// Each persona's final stance over the rounds a transcript spoke itself.
fn finals(t: &Transcript, first_own: u32) -> Vec<(String, council_core::answers::Stance)> {
    t.panel
        .iter()
        .filter_map(|p| {
            let s = t
                .rounds
                .iter()
                .rev()
                .filter(|r| r.number >= first_own)
                .find_map(|r| r.turns.iter().find(|x| x.persona == p.id)?.stance)?;
            Some((p.id.clone(), s))
        })
        .collect()
}

#[test]
fn compare_counts_each_turn_once_a_variant_adds_nothing_and_a_branch_its_own_rounds() {
    let fake = Fake::start(varied(), 1);
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &[]);
    let rp = run.to_str().unwrap();
    let alone = council(&["compare", rp, "--format", "json"]);
    assert!(alone.status.success(), "{}", text(&alone.stderr));
    let alone: serde_json::Value = serde_json::from_slice(&alone.stdout).unwrap();

    let out = fake.run(&["variant", rp, "--audience", "team"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let branch = run.join("branches").join("b3");
    let out = fake.run(&[
        "branch",
        rp,
        "--from-round",
        "3",
        "--out",
        branch.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = council(&["compare", rp, "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<(&str, &str)> = all["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["run"].as_str().unwrap(), r["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("run", "debate"),
            ("run/branches/b3", "branch"),
            ("run/variants/team-full", "variant")
        ],
        "every run is listed with its kind"
    );

    let t = transcript(&run);
    let b = transcript(&branch);
    let persona = |c: &serde_json::Value, id: &str| -> serde_json::Value {
        c["personas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["key"] == id)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    };
    let mut flips_seen = 0;
    for p in &t.panel {
        let (turns, pairs, flips, conforming) = by_hand(&t, &p.id, 1);
        let (bt, bp, bf, bc) = by_hand(&b, &p.id, 3);
        assert_eq!(bt, 3, "{}: the branch spoke rounds 3–5 itself", p.id);
        let one = persona(&alone, &p.id);
        let got = persona(&all, &p.id);
        let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap() as usize;
        assert_eq!(
            (n(&one, "turns"), n(&one, "flip_pairs"), n(&one, "flips")),
            (turns, pairs, flips),
            "{}: the run alone, by hand",
            p.id
        );
        assert_eq!(
            (
                n(&got, "turns"),
                n(&got, "flip_pairs"),
                n(&got, "flips"),
                n(&got, "conforming_flips")
            ),
            (turns + bt, pairs + bp, flips + bf, conforming + bc),
            "{}: the run, plus exactly the branch's own rounds, the variant nothing",
            p.id
        );
        flips_seen += flips + bf;
    }
    assert!(flips_seen > 0, "the varied model makes advisors flip");

    // Pooled agreement: the run's and the branch's final stances, by hand.
    let ids: Vec<String> = all["agreement"]["personas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    let (fa, fb) = (finals(&t, 1), finals(&b, 3));
    for (i, x) in ids.iter().enumerate() {
        for (j, y) in ids.iter().enumerate() {
            let mut pairs = 0;
            let mut agree = 0;
            for f in [&fa, &fb] {
                let sx = f.iter().find(|(id, _)| id == x).map(|s| s.1);
                let sy = f.iter().find(|(id, _)| id == y).map(|s| s.1);
                if let (Some(sx), Some(sy)) = (sx, sy) {
                    pairs += 1;
                    agree += usize::from(sx == sy);
                }
            }
            assert_eq!(all["agreement"]["pairs"][i][j], pairs, "{x}/{y}");
            assert_eq!(all["agreement"]["agree"][i][j], agree, "{x}/{y}");
        }
    }

    // The question's statistics pool debates only, unless asked.
    let q = &all["questions"][0];
    assert_eq!(q["runs"], 1, "variants and branches are not repeats");
    assert_eq!(q, &alone["questions"][0]);
    let out = council(&["compare", rp, "--format", "json", "--include-derived"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pooled: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let q = &pooled["questions"][0];
    assert_eq!(q["runs"], 3);
    assert_eq!(
        q["verdicts"], 2,
        "the run's and the branch's verdicts; the variant's is a copy"
    );

    // The long table: no copied row; each row says its run's kind.
    let out = council(&["compare", rp, "--format", "csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut r = csv::Reader::from_reader(out.stdout.as_slice());
    let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        head[..6],
        ["run", "kind", "source", "question_id", "repeat", "seed"]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let of = |run: &str| rows.iter().filter(|x| &x[0] == run).count();
    assert_eq!(of("run"), t.panel.len() * 5);
    assert_eq!(of("run/branches/b3"), b.panel.len() * 3);
    assert_eq!(of("run/variants/team-full"), 0);
    assert!(rows
        .iter()
        .filter(|x| &x[0] == "run/branches/b3")
        .all(|x| &x[1] == "branch" && !x[2].is_empty()));
}

#[test]
fn a_follow_up_is_asked_through_the_rounds_machinery_streamed_and_sized() {
    use council_tests::schema_answering_streamed;
    let fake = Fake::start(Arc::new(schema_answering_streamed), 1);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("stream.toml");
    std::fs::write(&config, "stream = true\n").unwrap();
    let cfg = config.to_str().unwrap();
    let run = dir.path().join("run");
    let out = fake.run(&[
        "--config",
        cfg,
        "ask",
        "Should we raise prices by 10% for new customers?",
        "--panel",
        PANEL,
        "--rounds",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let before = fake.server.bodies().len();
    let out = fake.run(&[
        "--config",
        cfg,
        "followup",
        run.to_str().unwrap(),
        "What if a competitor cuts prices first?",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let asked: Vec<serde_json::Value> = fake.server.bodies()[before..]
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .filter(|b: &serde_json::Value| {
            b.pointer("/response_format/json_schema/name") == Some(&"turn_followup".into())
        })
        .collect();
    assert_eq!(asked.len(), 6, "one answer per advisor");
    for b in &asked {
        assert_eq!(b["stream"], true, "streamed, as a round's turn is");
        assert_eq!(
            b.pointer("/response_format/json_schema/schema/properties/citations/maxItems"),
            Some(&0.into()),
            "no library: nothing to cite, as in a round"
        );
    }
    let t = transcript(&run);
    assert_eq!(t.followups[0].turns.len(), 6);
}

/// The part of a Markdown report under the heading `title` (any level),
/// up to the next top-level heading.
fn section<'a>(md: &'a str, title: &str) -> &'a str {
    let start = md
        .lines()
        .find(|l| l.starts_with('#') && l.trim_start_matches('#').trim() == title)
        .and_then(|l| md.find(l))
        .unwrap_or_else(|| panic!("no heading {title:?}"));
    let rest = &md[start + 1..];
    &md[start..start + 1 + rest.find("\n## ").unwrap_or(rest.len())]
}

#[test]
fn a_chinese_render_of_a_recorded_run_names_advisors_and_moves_in_chinese() {
    // Recorded before persona files had Chinese names: the built-in
    // personas' names are used for it.
    let v2 = council_tests::workspace_root().join("tests/fixtures/transcript-v2.json");
    let out = council(&["render", v2.to_str().unwrap(), "--lang", "zh"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    let roster = council_personas::Roster::builtin().unwrap();
    let t: Transcript = serde_json::from_str(&std::fs::read_to_string(&v2).unwrap()).unwrap();
    let english: Vec<&str> = roster.all().iter().map(|p| p.name.as_str()).collect();
    let tags = council_core::Move::names();
    // Where the report's own words name advisors and moves: the panel, the
    // vote table, and each turn's line (the models' own text may say anything).
    let panel = section(&md, "委员会成员");
    let votes = section(&md, "委员会投票");
    let turns: Vec<&str> = section(&md, "辩论全过程")
        .lines()
        .filter(|l| l.starts_with("- **"))
        .collect();
    assert_eq!(
        turns.len(),
        t.rounds.iter().map(|r| r.turns.len()).sum::<usize>()
    );
    for m in &t.panel {
        let zh = &roster.get(&m.id).unwrap().i18n["zh"];
        assert!(
            panel.contains(&format!("| {} | {} |", zh.name, zh.role)),
            "{panel}"
        );
        assert!(votes.contains(&format!("| {} |", zh.name)), "{votes}");
    }
    for (part, text) in [
        ("panel", panel),
        ("votes", votes),
        ("turns", &turns.join("\n")),
    ] {
        for e in &english {
            assert!(!text.contains(e), "{part} holds {e:?}: {text}");
        }
        for tag in &tags {
            assert!(!text.contains(tag), "{part} holds {tag:?}: {text}");
        }
    }
    let moves = ["警示", "分享", "重新界定", "事实核查", "质疑", "认同"];
    for line in &turns {
        assert!(
            moves.iter().any(|m| line.contains(&format!(" · {m} · "))),
            "{line}"
        );
    }
    // No "月 3" anywhere, and no "(依据 –)".
    let month = month_in_old_order(&md);
    assert!(month.is_none(), "{month:?}");
    assert!(!md.contains("依据 –") && !md.contains("(依据"), "{md}");
    // The HTML's move tags too.
    let out = council(&[
        "render",
        v2.to_str().unwrap(),
        "--lang",
        "zh",
        "--format",
        "html",
    ]);
    let html = text(&out.stdout);
    for tag in &tags {
        assert!(
            !html.contains(&format!("<span class=\"tag\">{tag}</span>")),
            "{tag}"
        );
    }
    // The run's older v1 transcript has milestones: they read 第N个月.
    let v1 = council_tests::workspace_root().join("tests/fixtures/transcript-v1.json");
    let md = text(&council(&["render", v1.to_str().unwrap(), "--lang", "zh"]).stdout);
    assert!(md.contains("- **第6个月** – "), "{md}");
    assert!(month_in_old_order(&md).is_none());
}

/// The first "月 N" (a month label in the old, English word order) in `text`.
fn month_in_old_order(text: &str) -> Option<String> {
    text.match_indices("月 ")
        .map(|(i, m)| &text[i + m.len()..])
        .find(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .map(|rest| format!("月 {}", rest.chars().take(3).collect::<String>()))
}

/// One rule for languages: `ask`, `render` and `variant` refuse a language
/// Council does not write with core's one message (exit 4, no call, nothing
/// written), and each takes German with its own fixed text.
#[test]
fn ask_render_and_variant_refuse_an_unknown_language_alike_and_take_german() {
    let fake = Fake::measured();
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    full_run(&fake, &run, &[]);
    let r = run.to_str().unwrap();
    let other = dir.path().join("other");
    let says = council_core::lang::check("xx").unwrap_err().to_string();
    let before = fake.hits();
    let untouched = snapshot(&run);
    for (args, flag) in [
        (
            vec![
                "ask",
                "Raise prices?",
                "--lang",
                "xx",
                "--out",
                other.to_str().unwrap(),
            ],
            "--lang",
        ),
        (vec!["render", r, "--lang", "xx"], "--lang"),
        (vec!["variant", r, "--lang", "xx"], "--lang"),
        (vec!["variant", r, "--headings", "xx"], "--headings"),
    ] {
        let out = fake.run(&args);
        assert_eq!(
            out.status.code(),
            Some(4),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let err = text(&out.stderr);
        assert!(err.contains(&format!("{flag} {says}")), "{args:?}: {err}");
    }
    assert_eq!(fake.hits(), before, "a refused language asks no model");
    assert!(!other.exists());
    assert_eq!(snapshot(&run), untouched, "the run is untouched");

    let out = fake.run(&["render", r, "--lang", "de"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let md = text(&out.stdout);
    assert!(
        md.starts_with("# Bericht des Beirats") && md.contains("## Urteil"),
        "{md}"
    );
    let out = fake.run(&["variant", r, "--headings", "de", "--name", "de"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fake.hits(), before, "a headings variant is a render");
    let md = std::fs::read_to_string(run.join("variants/de/report.md")).unwrap();
    assert!(md.contains("Bericht des Beirats"), "{md}");
    let out = fake.run(&[
        "ask",
        "Sollen wir die Preise erhöhen?",
        "--lang",
        "de",
        "--panel",
        PANEL,
        "--rounds",
        "1",
        "--out",
        other.to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let md = std::fs::read_to_string(other.join("report.md")).unwrap();
    assert!(md.starts_with("# Bericht des Beirats"), "{md}");
}
