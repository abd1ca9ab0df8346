//! `council compare --by condition`: paired statistics over a study played
//! in two conditions (debate, vote) on a fake server whose answers vary
//! with the request, and an independent recomputation of an interval from
//! the transcripts (tests/paired_check.py, Python's standard library only).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_tests::{content_of, schema_answering, FakeServer, Reply};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

fn council(args: &[&str]) -> Output {
    council_tests::council_command(env!("CARGO_BIN_EXE_council"), args)
        .output()
        .expect("run council")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fnv(bytes: &[u8], salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Sets every `stance` and `confidence` in `v` from a hash of the request,
/// so that runs differ (the plain fake answers every call the same way).
fn vary(v: &mut serde_json::Value, body: &str, n: &mut u64) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                *n += 1;
                let h = fnv(body.as_bytes(), *n);
                if k == "stance" && x.is_string() {
                    *x = ["support", "mixed", "oppose"][(h % 3) as usize].into();
                } else if k == "confidence" && x.is_number() {
                    *x = (50 + h % 51).into();
                } else {
                    vary(x, body, n);
                }
            }
        }
        serde_json::Value::Array(xs) => xs.iter_mut().for_each(|x| vary(x, body, n)),
        _ => {}
    }
}

/// The schema-answering fake with stances, confidences and token counts
/// that depend on the request.
fn varied(body: &str) -> Reply {
    let content = content_of(&match schema_answering(body) {
        Reply::Respond { body, .. } => body,
        other => return other,
    });
    let content = match serde_json::from_str::<serde_json::Value>(&content) {
        Ok(mut v) => {
            vary(&mut v, body, &mut 0);
            v.to_string()
        }
        Err(_) => content,
    };
    let h = fnv(body.as_bytes(), 0);
    Reply::completion_with_usage(
        &content,
        (body.len() as u64).div_ceil(4),
        (content.len() as u64).div_ceil(4) + h % 200,
    )
}

fn questions(dir: &Path, n: usize) -> PathBuf {
    let p = dir.join("questions.jsonl");
    let lines: Vec<String> = (1..=n)
        .map(|i| {
            format!(
                "{{\"id\": \"q{i}\", \"question\": \"Should we open office number {i} next year?\", \"date\": \"2026-11-27\"}}"
            )
        })
        .collect();
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

/// A study of `n` questions × 2 models × 2 repeats × (debate, vote).
fn study(url: &str, dir: &Path, name: &str, n: usize, seed: &str) -> PathBuf {
    study_of(url, dir, name, n, seed, "debate,vote")
}

/// A study of `n` questions × 2 models × 2 repeats × `conditions`.
fn study_of(url: &str, dir: &Path, name: &str, n: usize, seed: &str, conditions: &str) -> PathBuf {
    let file = questions(dir, n);
    let out = dir.join(name);
    let made = council(&[
        "--base-url",
        url,
        "-q",
        "batch",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--models",
        "small,large",
        "--repeat",
        "2",
        "--panel",
        "cfo,cto,brand-strategist",
        "--rounds",
        "2",
        "--conditions",
        conditions,
        "--seed",
        seed,
        "--max-calls",
        "16",
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    out
}

/// `compare STUDY --by condition --format json --seed SEED`.
fn paired_json(study: &str, seed: &str) -> serde_json::Value {
    json(&[
        "compare",
        study,
        "--by",
        "condition",
        "--format",
        "json",
        "--seed",
        seed,
    ])
}

/// Runs the independent recomputation (`paired_check.py`) of each of
/// `metrics` against the output `p`, failing with what it printed.
fn recomputed(dir: &Path, study: &str, p: &serde_json::Value, metrics: &[&str]) {
    let out_json = dir.join("paired-output.json");
    std::fs::write(&out_json, serde_json::to_string(p).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/paired_check.py");
    for m in metrics {
        let check = std::process::Command::new("python3")
            .arg(&script)
            .args([study, out_json.to_str().unwrap(), m])
            .output()
            .expect("python3 runs");
        assert!(
            check.status.success() && text(&check.stdout).contains("match"),
            "{m}: {}{}",
            text(&check.stdout),
            text(&check.stderr)
        );
    }
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = council(args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn paired_statistics_match_an_independent_recomputation_from_the_transcripts() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(varied),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let s = study(&server.url, dir.path(), "study", 4, "42");
    let s_arg = s.to_str().unwrap();

    let p = paired_json(s_arg, "7");
    assert_eq!(p["seed"], 7);
    assert_eq!(p["resamples"], 2000, "the default resamples");
    let studies = p["studies"].as_array().unwrap();
    assert_eq!(studies.len(), 1);
    let st = &studies[0];
    assert_eq!(st["conditions"], serde_json::json!(["debate", "vote"]));
    assert_eq!(st["baseline"], "debate", "the study's first condition");
    assert_eq!(st["baseline_choice"], "first_of_study");
    assert_eq!(
        st["runs"], 32,
        "4 questions x 2 models x 2 repeats x 2 conditions"
    );
    let metrics = st["strata"][0]["metrics"].as_array().unwrap();
    let names: Vec<&str> = metrics
        .iter()
        .map(|m| m["metric"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "support_share",
            "verdict_agreement",
            "flip_rate",
            "conformity",
            "collapse_rate",
            "tokens",
            "cost_usd"
        ],
        "Brier and log loss appear only with outcomes"
    );
    let metric = |name: &str| metrics.iter().find(|m| m["metric"] == name).unwrap();
    // Every run has tokens; each of the 16 question x model x repeat cells pairs.
    let tokens = metric("tokens");
    assert_eq!(tokens["values"][0]["n"], 16);
    let d = &tokens["differences"][0];
    assert_eq!(
        (d["condition"].as_str(), d["baseline"].as_str()),
        (Some("vote"), Some("debate"))
    );
    assert_eq!(d["n_pairs"], 16);
    let (lo, mean, hi) = (
        d["lower"].as_f64().unwrap(),
        d["mean"].as_f64().unwrap(),
        d["upper"].as_f64().unwrap(),
    );
    assert!(
        mean < 0.0,
        "a vote (one round) spends fewer tokens than a debate: {d}"
    );
    assert!(lo <= mean && mean <= hi && lo < hi, "{d}");
    // A vote has one round: no flip pair, so no paired flip rate (and it says so).
    let flips = &metric("flip_rate")["differences"][0];
    assert_eq!(flips["n_pairs"], 0);
    assert!(flips["lower"].is_null());
    assert_eq!(flips["dropped"], 32, "{flips}");
    // Verdict agreement pairs question x model cells (over their repeats).
    let va = metric("verdict_agreement");
    assert_eq!(va["unit"], "question_model");
    assert_eq!(va["differences"][0]["n_pairs"], 8);

    // The independent recomputation: Python reads the transcripts and runs.jsonl,
    // recomputes the per-run values, the pairs, SplitMix64 and the bootstrap.
    recomputed(
        dir.path(),
        s_arg,
        &p,
        &["collapse_rate", "tokens", "support_share"],
    );

    // The same seed gives the same output; another seed other intervals.
    let again = paired_json(s_arg, "7");
    assert_eq!(again, p);
    let other = paired_json(s_arg, "8");
    assert_ne!(
        other["studies"][0]["strata"][0]["metrics"],
        p["studies"][0]["strata"][0]["metrics"]
    );

    // --baseline vote turns the difference around.
    let v = json(&[
        "compare",
        s_arg,
        "--by",
        "condition",
        "--baseline",
        "vote",
        "--format",
        "json",
        "--seed",
        "7",
    ]);
    let vt = &v["studies"][0]["strata"][0]["metrics"][5];
    assert_eq!(vt["metric"], "tokens");
    assert_eq!(v["studies"][0]["baseline_choice"], "given");
    let dv = vt["differences"][0]["mean"].as_f64().unwrap();
    assert!((dv + mean).abs() < 1e-9, "{dv} vs {mean}");

    // Breakdowns: per model (2 strata) and per question x model (8).
    let bm = json(&[
        "compare",
        s_arg,
        "--by",
        "condition,model",
        "--format",
        "json",
    ]);
    assert_eq!(bm["studies"][0]["strata"].as_array().unwrap().len(), 2);
    let models: Vec<&str> = bm["studies"][0]["strata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["model"].as_str().unwrap())
        .collect();
    assert_eq!(
        models,
        ["large", "small"],
        "in the order of the runs' folders"
    );
    let bqm = json(&[
        "compare",
        s_arg,
        "--by",
        "model,question",
        "--format",
        "json",
    ]);
    let strata = bqm["studies"][0]["strata"].as_array().unwrap();
    assert_eq!(strata.len(), 8);
    assert!(strata.iter().all(|s| s["question_id"].is_string()));
    // Each stratum pairs its 2 repeats.
    assert_eq!(strata[0]["metrics"][5]["differences"][0]["n_pairs"], 2);

    // The table and CSV print the seed.
    let table = council(&["compare", s_arg, "--by", "condition", "--seed", "7"]);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let t = text(&table.stdout);
    assert!(t.contains("seed 7") && t.contains("2000 resamples"), "{t}");
    assert!(t.contains("baseline debate"), "{t}");
    let csv = council(&[
        "compare",
        s_arg,
        "--by",
        "condition",
        "--format",
        "csv",
        "--seed",
        "7",
    ]);
    assert!(csv.status.success());
    let c = text(&csv.stdout);
    let mut lines = c.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let seed_col = header.iter().position(|h| *h == "seed").unwrap();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 7 * 2, "7 metrics x 2 conditions");
    assert!(rows.iter().all(|r| r[seed_col] == "7"));

    // The old summaries still work.
    let by_model = council(&["compare", s_arg, "--by", "model"]);
    assert!(by_model.status.success(), "{}", text(&by_model.stderr));
    assert!(!text(&by_model.stdout).contains("Paired"));
}

/// The study: debate, vote and a single answer, every run complete,
/// each metric per condition and both controls paired against the debate,
/// with intervals a script recomputes from the transcripts.
#[test]
fn a_study_of_debate_vote_and_single_pairs_both_controls_against_the_debate() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(varied),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let s = study_of(&server.url, dir.path(), "dvs", 3, "5", "debate,vote,single");
    let s_arg = s.to_str().unwrap();
    // Every run complete: 3 questions x 2 models x 2 repeats x 3 conditions.
    let log = std::fs::read_to_string(s.join("runs.jsonl")).unwrap();
    let mut last = std::collections::BTreeMap::new();
    for line in log.lines() {
        let r: serde_json::Value = serde_json::from_str(line).unwrap();
        last.insert(
            r["folder"].as_str().unwrap().to_string(),
            r["state"].clone(),
        );
    }
    assert_eq!(last.len(), 36, "{log}");
    assert!(last.values().all(|s| s == "complete"), "{last:?}");

    let p = paired_json(s_arg, "11");
    assert_eq!(p["seed"], 11);
    let st = &p["studies"][0];
    assert_eq!(
        st["conditions"],
        serde_json::json!(["debate", "vote", "single"])
    );
    assert_eq!(st["baseline"], "debate");
    let metrics = st["strata"][0]["metrics"].as_array().unwrap();
    let metric = |name: &str| metrics.iter().find(|m| m["metric"] == name).unwrap();
    for name in ["support_share", "tokens"] {
        let m = metric(name);
        let values = m["values"].as_array().unwrap();
        assert_eq!(values.len(), 3, "{name}: a value per condition: {m}");
        assert!(values.iter().all(|v| v["n"] == 12), "{name}: {m}");
        let diffs = m["differences"].as_array().unwrap();
        let against: Vec<&str> = diffs
            .iter()
            .map(|d| d["condition"].as_str().unwrap())
            .collect();
        assert_eq!(against, ["vote", "single"], "{name}");
        for d in diffs {
            assert_eq!(d["n_pairs"], 12, "{name}: {d}");
            let (lo, mean, hi) = (
                d["lower"].as_f64().unwrap(),
                d["mean"].as_f64().unwrap(),
                d["upper"].as_f64().unwrap(),
            );
            assert!(lo <= mean && mean <= hi, "{name}: {d}");
        }
    }
    // One call against a debate's many: far fewer tokens, all 12 pairs.
    let single_tokens = &metric("tokens")["differences"][1];
    assert!(
        single_tokens["upper"].as_f64().unwrap() < 0.0,
        "{single_tokens}"
    );
    // A single answer spoke no round: its collapse is undefined, not 0.
    let collapse = metric("collapse_rate");
    assert_eq!(collapse["values"][2]["condition"], "single");
    assert_eq!(collapse["values"][2]["n"], 0, "{collapse}");
    assert_eq!(collapse["differences"][1]["n_pairs"], 0, "{collapse}");
    recomputed(
        dir.path(),
        s_arg,
        &p,
        &["tokens", "support_share", "collapse_rate"],
    );
}

#[test]
fn two_studies_stay_apart_unless_pooled_and_bad_requests_are_named() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(varied),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let a = study(&server.url, dir.path(), "a", 2, "1");
    let b = study(&server.url, dir.path(), "b", 2, "2");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let apart = json(&["compare", a, b, "--by", "condition", "--format", "json"]);
    let studies = apart["studies"].as_array().unwrap();
    assert_eq!(studies.len(), 2);
    assert_eq!(apart["seed"], 1, "the default seed is printed");
    for s in studies {
        assert_eq!(s["runs"], 16);
        assert_eq!(s["strata"][0]["metrics"][5]["differences"][0]["n_pairs"], 8);
    }
    let pooled = json(&[
        "compare",
        a,
        b,
        "--by",
        "condition",
        "--pool",
        "--format",
        "json",
    ]);
    let ps = pooled["studies"].as_array().unwrap();
    assert_eq!(ps.len(), 1);
    assert_eq!(ps[0]["study"], "(pooled)");
    assert_eq!(ps[0]["runs"], 32);
    assert_eq!(ps[0]["folders"].as_array().unwrap().len(), 2);
    // Same question ids in both studies: pairs never cross studies.
    assert_eq!(
        ps[0]["strata"][0]["metrics"][5]["differences"][0]["n_pairs"],
        16
    );

    // Its JSON Schema is documented.
    let schema = json(&["schema", "paired"]);
    assert!(schema["properties"]["studies"].is_object(), "{schema}");
    assert!(schema["properties"]["seed"].is_object(), "{schema}");

    let bad = council(&["compare", a, "--by", "condition", "--baseline", "single"]);
    assert_eq!(bad.status.code(), Some(4), "{}", text(&bad.stderr));
    let e = text(&bad.stderr);
    assert!(
        e.contains("no run in condition single") && e.contains("debate, vote"),
        "{e}"
    );
    let bad = council(&["compare", a, "--by", "persona,condition"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("not a breakdown"),
        "{}",
        text(&bad.stderr)
    );
    let bad = council(&["compare", a, "--by", "model", "--baseline", "vote"]);
    assert!(!bad.status.success());
    assert!(
        text(&bad.stderr).contains("add --by condition"),
        "{}",
        text(&bad.stderr)
    );
    let bad = council(&["compare", a, "--by", "condition", "--include-derived"]);
    assert_eq!(bad.status.code(), Some(4));
    assert!(
        text(&bad.stderr).contains("does not apply to paired"),
        "{}",
        text(&bad.stderr)
    );
    let bad = council(&["compare", a, "--by", "condition", "--format", "html"]);
    assert_eq!(bad.status.code(), Some(4));
    assert!(
        text(&bad.stderr).contains("use table, json or csv"),
        "{}",
        text(&bad.stderr)
    );
    let bad = council(&["compare", a, "--by", "condition", "--resamples", "0"]);
    assert!(!bad.status.success());
}

#[test]
fn outcomes_add_brier_and_log_loss_and_prices_add_the_cost_per_run() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(varied),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let s = study(&server.url, dir.path(), "s", 2, "5");
    let s_arg = s.to_str().unwrap();
    // Every forecast comes true.
    let score = json(&["score", s_arg, "--format", "json"]);
    let ids: std::collections::BTreeSet<&str> = score["open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert!(!ids.is_empty());
    for id in &ids {
        let rec = council(&["outcome", s_arg, id, "yes", "--on", "2027-01-01"]);
        assert!(rec.status.success(), "{}", text(&rec.stderr));
    }
    // The fake server answers as model "fake" (a summary records the model asked): price them.
    let config = dir.path().join("config.toml");
    let prices: String = ["fake", "small", "large"]
        .iter()
        .map(|m| format!("[prices.\"{m}\"]\ninput = 1.0\ncached_input = 0.5\noutput = 2.0\n"))
        .collect();
    std::fs::write(&config, prices).unwrap();
    let p = json(&[
        "--config",
        config.to_str().unwrap(),
        "compare",
        s_arg,
        "--by",
        "condition",
        "--format",
        "json",
    ]);
    let metrics = p["studies"][0]["strata"][0]["metrics"].as_array().unwrap();
    let metric = |name: &str| metrics.iter().find(|m| m["metric"] == name).unwrap();
    // Every advisor gave 70%, so each panel median is 0.7 and the outcome yes:
    // Brier (0.7 − 1)² = 0.09 and log loss −ln 0.7 in both conditions.
    for (name, want) in [("brier", 0.09), ("log_loss", -(0.7f64.ln()))] {
        let m = metric(name);
        for v in m["values"].as_array().unwrap() {
            assert_eq!(v["n"], 8, "{name}: {v}");
            assert!(
                (v["mean"].as_f64().unwrap() - want).abs() < 1e-9,
                "{name}: {v}"
            );
        }
        let d = &m["differences"][0];
        assert_eq!(d["n_pairs"], 8);
        assert!(d["mean"].as_f64().unwrap().abs() < 1e-12, "{d}");
    }
    // Cost: tokens at $1 in and $2 out per million, so a run costs well under a dollar.
    let cost = metric("cost_usd");
    assert_eq!(cost["differences"][0]["n_pairs"], 8, "{cost}");
    let debate = cost["values"][0]["mean"].as_f64().unwrap();
    let tokens = metric("tokens")["values"][0]["mean"].as_f64().unwrap();
    assert!(
        debate > tokens * 1e-6 && debate < tokens * 2e-6,
        "{debate} for {tokens} tokens"
    );
    assert!(cost["differences"][0]["mean"].as_f64().unwrap() < 0.0);
}
