//! The tables researchers load: a study with the debate and vote conditions
//! on a fake server writes each run's report files (and a resumed study
//! writes missing ones); `council compare --table forecasts|votes|turns`
//! and `council score --format csv` load in Python with explicit column
//! types (tests/tables_check.py), their rows matching the transcripts and
//! reports.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_tests::{FakeServer, Reply};
use std::path::Path;
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

/// Text a CSV must quote: a comma, a double quote and a line break.
const AWKWARD: &str =
    "We should price by value, as the \"Berlin\" pilot showed;\nthen test it on new customers.";

/// Answers every structured call with a schema-valid instance whose text
/// fields hold [`AWKWARD`], and the summary in plain text.
fn awkward(body: &str) -> Reply {
    let req: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    match req.pointer("/response_format/json_schema/schema") {
        Some(schema) => {
            Reply::completion(&council_llm::schema::example_for(schema, AWKWARD).to_string())
        }
        None => Reply::completion("The board split, as \"usual\",\non pricing."),
    }
}

const REPORTS: [&str; 3] = ["report.md", "report.html", "report.json"];

fn run_folders(study: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(study.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn a_studys_tables_load_with_their_types_and_match_its_transcripts() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(awkward),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("questions.jsonl");
    std::fs::write(
        &file,
        "{\"id\": \"q1\", \"question\": \"Should we raise prices, or not?\", \"date\": \"2026-11-27\"}\n\
         {\"id\": \"q2\", \"question\": \"Should we open in Berlin?\", \"date\": \"2026-11-27\"}\n",
    )
    .unwrap();
    let study = dir.path().join("study");
    let s = study.to_str().unwrap();
    let batch = [
        "--base-url",
        &server.url,
        "--model",
        "small",
        "-q",
        "batch",
        file.to_str().unwrap(),
        "--out",
        s,
        "--repeat",
        "2",
        "--panel",
        "cfo,cto,brand-strategist",
        "--rounds",
        "2",
        "--conditions",
        "debate,vote",
        "--seed",
        "7",
    ];
    // First without report files: the study's calls alone.
    let made = council(&[&batch[..], &["--no-reports"]].concat());
    assert!(made.status.success(), "{}", text(&made.stderr));
    let runs = run_folders(&study);
    for run in &runs {
        for f in REPORTS {
            assert!(!run.join(f).exists(), "--no-reports wrote {f}");
        }
    }
    // The same command again writes every run's report files, as `ask`
    // does, and asks nothing.
    let calls = server.hits();
    let made = council(&batch);
    assert!(made.status.success(), "{}", text(&made.stderr));
    assert_eq!(server.hits(), calls, "a finished study asks nothing again");
    assert_eq!(runs.len(), 8, "2 questions x 2 repeats x 2 conditions");
    assert_eq!(
        runs.iter()
            .filter(|r| r.to_string_lossy().ends_with("--vote"))
            .count(),
        4
    );
    for run in &runs {
        for f in REPORTS {
            assert!(run.join(f).is_file(), "{} has no {f}", run.display());
        }
    }
    let md = std::fs::read_to_string(runs[0].join("report.md")).unwrap();
    assert!(md.contains("Should we"), "the report names its question");
    // Once more: only the runs lacking a report file get theirs again.
    let kept = runs[1].join("report.html");
    let stamp = std::fs::metadata(&kept).unwrap().modified().unwrap();
    std::fs::remove_file(runs[0].join("report.md")).unwrap();
    std::fs::remove_file(runs[3].join("report.json")).unwrap();
    let again = council(&batch);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(runs[0].join("report.md").is_file());
    assert!(runs[3].join("report.json").is_file());
    assert_eq!(
        std::fs::metadata(&kept).unwrap().modified().unwrap(),
        stamp,
        "a run with all its report files is left as it is"
    );
    assert_eq!(server.hits(), calls, "a finished study asks nothing again");

    // An outcome for one forecast, so the outcome column and the scores fill.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs[0].join("report.json")).unwrap())
            .unwrap();
    let id = report["forecasts"][0]["id"].as_str().unwrap().to_string();
    let rec = council(&["outcome", s, &id, "yes", "--on", "2027-01-01"]);
    assert!(rec.status.success(), "{}", text(&rec.stderr));

    let csv = |name: &str| dir.path().join(format!("{name}.csv"));
    for table in ["forecasts", "votes", "turns"] {
        let out = council(&[
            "compare",
            s,
            "--table",
            table,
            "-o",
            csv(table).to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{table}: {}", text(&out.stderr));
        // The JSON holds the same rows as the CSV.
        let json = council(&["compare", s, "--table", table, "--format", "json"]);
        assert!(json.status.success(), "{}", text(&json.stderr));
        let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(v["table"], table);
        let lines = csv::Reader::from_path(csv(table))
            .unwrap()
            .records()
            .count();
        assert_eq!(v["rows"].as_array().unwrap().len(), lines, "{table}");
    }
    let score = council(&[
        "score",
        s,
        "--format",
        "csv",
        "-o",
        csv("score").to_str().unwrap(),
    ]);
    assert!(score.status.success(), "{}", text(&score.stderr));

    let python = std::env::var("COUNCIL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tables_check.py");
    let checked = std::process::Command::new(&python)
        .arg(&script)
        .arg(&study)
        .args(["forecasts", "votes", "turns", "score"].map(csv))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}): install python3 (scripts/deps.sh names it) or set COUNCIL_TEST_PYTHON"));
    assert!(
        checked.status.success(),
        "the tables do not load as documented: {}",
        text(&checked.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    println!("{summary}");
    // The panel: three advisors plus the fact-checker and contrarian seats.
    // Debate: 2 rounds of 5 turns; vote: round 1 only.
    assert_eq!(summary["per_condition"]["debate"]["turns"], 4 * 2 * 5);
    assert_eq!(summary["per_condition"]["debate"]["max_round"], 2);
    assert_eq!(summary["per_condition"]["vote"]["turns"], 4 * 5);
    assert_eq!(summary["per_condition"]["vote"]["max_round"], 1);
    assert_eq!(summary["runs"], 8);
    // Every run votes, each of its five advisors once (both conditions vote).
    assert_eq!(summary["votes"], 8 * 5, "{summary}");
    // The fake model states one forecast a run, the same statement on the
    // same date, so one id: five probabilities a run, every one with the
    // outcome recorded, and the median scored once per run.
    assert_eq!(summary["forecasts"], 8 * 5, "{summary}");
    assert_eq!(summary["outcomes"], 8 * 5, "{summary}");
    assert_eq!(summary["scored_median"], 8, "{summary}");
    assert_eq!(
        summary["texts_with_comma_quote_newline"], 60,
        "every turn's text, comma, quotes and line break, survives the CSV: {summary}"
    );
}

#[test]
fn a_record_table_refuses_what_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let html = council(&["compare", d, "--table", "turns", "--format", "html"]);
    assert_eq!(html.status.code(), Some(4), "{}", text(&html.stderr));
    assert!(
        text(&html.stderr).contains("--table writes CSV or JSON"),
        "{}",
        text(&html.stderr)
    );
    let outcomes = council(&["compare", d, "--table", "votes", "--outcomes", "x.jsonl"]);
    assert_eq!(outcomes.status.code(), Some(4));
    assert!(text(&outcomes.stderr).contains("--table forecasts only"));
    let missing = council(&[
        "compare",
        d,
        "--table",
        "forecasts",
        "--outcomes",
        dir.path().join("nope.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(4));
    assert!(
        text(&missing.stderr).contains("no such file"),
        "{}",
        text(&missing.stderr)
    );
}
