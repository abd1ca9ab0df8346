//! The researcher's commands through the binary: `council compare` over a
//! study folder in every format, `council outcome` (append-only, unknown
//! ids refused) and `council score`, with their exit codes. The study is
//! the hand-made one of council-analysis's tests (its numbers were
//! computed by hand there); no model, no server.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

#[path = "../../analysis/tests/fixture/mod.rs"]
mod fixture;

use council_core::Transcript;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Output;

fn council(args: &[&str]) -> Output {
    council_tests::council_command(env!("CARGO_BIN_EXE_council"), args)
        .output()
        .expect("run council")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The hand-made study as `council batch` lays one out: `study.json`, and
/// each run under `runs/`; q1-m2-r1 also has its `transcript.json` (read
/// instead of the log), the others only their event logs.
fn study(root: &Path) -> PathBuf {
    let dir = root.join("study");
    std::fs::create_dir_all(dir.join("runs")).unwrap();
    std::fs::write(dir.join("study.json"), "{}").unwrap();
    for (label, events) in fixture::study() {
        let run = dir.join("runs").join(label);
        fixture::write_run(&run, &events);
        if label == "q1-m2-r1" {
            let t = Transcript::from_events(&events).unwrap();
            std::fs::write(
                run.join("transcript.json"),
                serde_json::to_string(&t).unwrap(),
            )
            .unwrap();
        }
    }
    dir
}

/// Every file under `dir` and its bytes, to prove the runs untouched.
fn snapshot(dir: &Path) -> HashMap<PathBuf, Vec<u8>> {
    let mut out = HashMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

fn csv_rows(text: &str) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let head = r.headers().unwrap().iter().map(String::from).collect();
    (head, r.records().map(Result::unwrap).collect())
}

#[test]
fn compare_reads_a_study_in_every_format_and_writes_nothing_into_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = study(tmp.path());
    let before = snapshot(&dir);

    let out = council(&["compare", p(&dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(
        table.starts_with("4 runs, 6 personas, 2 models, 2 questions"),
        "{table}"
    );
    for s in [
        "by persona",
        "by model",
        "by run",
        "by question",
        "q1-m1-r1",
    ] {
        assert!(table.contains(s), "{s} in\n{table}");
    }

    // JSON: everything, with the hand-computed numbers.
    let out = council(&["compare", p(&dir), "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["version"], 3);
    assert_eq!(json["runs"].as_array().unwrap().len(), 4);
    let run_a = &json["runs"][0];
    assert_eq!(run_a["run"], "q1-m1-r1", "named by its folder under runs/");
    assert_eq!(run_a["collapse_round"], 3);
    assert_eq!(run_a["agreement_rate"], 0.5);
    let b = json["personas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "b")
        .unwrap();
    assert_eq!(
        (b["flips"].as_u64(), b["flip_pairs"].as_u64()),
        (Some(3), Some(4))
    );
    assert_eq!(json["questions"][0]["verdicts"], 3);
    assert_eq!(
        json["runs"][2]["models"][0], "m2",
        "read from transcript.json"
    );

    // CSV on standard output: the long table, runs × personas × rounds.
    let out = council(&["compare", p(&dir), "--format", "csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (head, rows) = csv_rows(&text(&out.stdout));
    assert_eq!(
        head[..7],
        [
            "run",
            "kind",
            "source",
            "question_id",
            "repeat",
            "seed",
            "condition"
        ]
    );
    assert_eq!(head[7..11], ["question", "model", "persona", "round"]);
    assert_eq!(rows.len(), 26);
    // With --by, that summary instead.
    let out = council(&["compare", p(&dir), "--format", "csv", "--by", "question"]);
    let (head, rows) = csv_rows(&text(&out.stdout));
    assert_eq!(head[0], "question");
    assert_eq!(rows.len(), 2);

    // CSV to a file: the long table there, each summary beside it.
    let csv_out = tmp.path().join("out").join("cmp.csv");
    std::fs::create_dir_all(csv_out.parent().unwrap()).unwrap();
    let out = council(&["compare", p(&dir), "--format", "csv", "-o", p(&csv_out)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (name, rows_wanted) in [
        ("cmp.csv", 26),
        ("cmp.persona.csv", 6),
        ("cmp.model.csv", 2),
        ("cmp.run.csv", 4),
        ("cmp.question.csv", 2),
        ("cmp.agreement.csv", 11),
    ] {
        let file = tmp.path().join("out").join(name);
        let (_, rows) = csv_rows(&std::fs::read_to_string(&file).unwrap());
        assert_eq!(rows.len(), rows_wanted, "{name}");
        assert!(
            text(&out.stderr).contains(name),
            "{name} is named on stderr"
        );
    }

    // HTML: one self-contained page.
    let html_out = tmp.path().join("cmp.html");
    let out = council(&["compare", p(&dir), "--format", "html", "-o", p(&html_out)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let html = std::fs::read_to_string(&html_out).unwrap();
    assert!(html.contains("<svg") && html.contains("Advisor A"));
    assert!(!html.contains("<script") && !html.contains("src=\"http"));

    assert_eq!(snapshot(&dir), before, "compare never writes into the runs");
}

#[test]
fn compare_finds_variants_and_branches_and_names_runs_given_directly() {
    let tmp = tempfile::tempdir().unwrap();
    let runs = tmp.path().join("transcripts");
    fixture::write_run(&runs.join("a"), &fixture::run_a());
    fixture::write_run(&runs.join("a/variants/brief"), &fixture::run_a());
    fixture::write_run(&runs.join("a/branches/what-if"), &fixture::run_b());
    fixture::write_run(&runs.join("c"), &fixture::run_c());
    let out = council(&[
        "compare",
        p(&runs.join("a")),
        p(&runs.join("c")),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "a/branches/what-if", "a/variants/brief", "c"]);
}

#[test]
fn compare_refuses_what_holds_no_run_and_skips_a_damaged_one_inside_a_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nowhere");
    let out = council(&["compare", p(&missing)]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("nowhere"),
        "{}",
        text(&out.stderr)
    );

    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = council(&["compare", p(&empty)]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("no runs under"),
        "{}",
        text(&out.stderr)
    );

    let dir = study(tmp.path());
    let out = council(&[
        "compare",
        p(&dir),
        "--format",
        "csv",
        "-o",
        p(&tmp.path().join("no/such/folder/x.csv")),
    ]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("create it first"),
        "{}",
        text(&out.stderr)
    );

    let broken = dir.join("runs").join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("events.jsonl"), "{\"event\": \"nonsense\"}\n").unwrap();
    let out = council(&["compare", p(&dir), "--by", "run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("warning: skipped"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).starts_with("4 runs"));
    // Named on its own, the same run is an error.
    let out = council(&["compare", p(&broken)]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
}

#[test]
fn outcomes_are_appended_beside_the_runs_and_unknown_ids_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = study(tmp.path());
    let log = dir.join("outcomes.jsonl");
    let (f1, f2, f3) = (
        fixture::id(fixture::F1),
        fixture::id(fixture::F2),
        fixture::id(fixture::F3),
    );

    // Nothing to score yet: the open forecasts are listed, and how to record them.
    let out = council(&["score", p(&dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("council outcome"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains(&f1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("0 forecasts scored, 4 without an outcome yet"));

    let out = council(&["outcome", p(&dir), &f1, "yes", "--on", "2027-05-27"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["id"], f1.as_str());
    assert_eq!(lines[0]["outcome"], "yes");
    assert_eq!(lines[0]["date"], "2027-05-27");
    assert!(lines[0]["recorded"].is_string());

    // An id no run has: exit 4, named, and nothing appended.
    let out = council(&["outcome", p(&dir), "F-000000", "no"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("F-000000"),
        "{}",
        text(&out.stderr)
    );
    let out = council(&["outcome", p(&dir), &f2, "no", "--on", "2027-13-01"]);
    assert_eq!(out.status.code(), Some(4), "a month 13 is refused");
    let out = council(&["outcome", p(&dir), &f2, "maybe"]);
    assert_eq!(out.status.code(), Some(2), "yes or no only (usage)");

    // A CSV file: with unknown ids, all are named and none recorded.
    let csv = tmp.path().join("outcomes.csv");
    std::fs::write(
        &csv,
        format!("id,outcome,date\n{f2},no,\nF-00000a,yes,\nF-00000b,no,2027-01-01\n"),
    )
    .unwrap();
    let out = council(&["outcome", p(&dir), "--file", p(&csv)]);
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(
        err.contains("F-00000a") && err.contains("F-00000b"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);

    // Then right: F2 no, F3 yes; recorded on one run, F3 turns out no
    // (the run is inside the study: its outcomes go to the study's file).
    std::fs::write(&csv, format!("{f2},no\n{f3},YES,2027-06-01\n")).unwrap();
    let out = council(&["outcome", p(&dir), "--file", p(&csv)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = council(&["outcome", p(&dir.join("runs/q1-m1-r2")), &f3, "no"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("was yes"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 4);

    // Scored with the last line for F3: the hand-computed numbers.
    let svg = tmp.path().join("reliability.svg");
    let out = council(&["score", p(&dir), "--format", "json", "--svg", p(&svg)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (s["resolved"].as_u64(), s["unresolved"].as_u64()),
        (Some(3), Some(1))
    );
    let close = |v: &serde_json::Value, want: f64| {
        assert!((v.as_f64().unwrap() - want).abs() < 1e-9, "{v} ≠ {want}");
    };
    // Median .7 yes, .3 no, .5 no → (.09 + .09 + .25) / 3.
    close(&s["median"]["brier"], 0.43 / 3.0);
    close(&s["baseline"]["brier"], 0.25);
    let a = s["personas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "a")
        .unwrap();
    close(&a["brier"], 1.13 / 3.0);
    assert_eq!(s["calibration"][9]["count"], 2);
    assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));

    let out = council(&["score", p(&dir)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for s in [
        "panel median",
        "baseline 50%",
        "calibration",
        "open forecasts",
    ] {
        assert!(table.contains(s), "{s} in\n{table}");
    }
    let out = council(&["score", p(&dir), "--format", "html"]);
    assert!(text(&out.stdout).contains("reliability diagram"));

    // A damaged outcomes file is an input error naming the line.
    std::fs::write(&log, "{\"id\": \"F-1\"}\n").unwrap();
    let out = council(&["score", p(&dir)]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("line 1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn outside_a_study_a_runs_outcomes_go_to_the_folder_holding_it() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("transcripts").join("a");
    fixture::write_run(&run, &fixture::run_a());
    let f1 = fixture::id(fixture::F1);
    let out = council(&["outcome", p(&run), &f1, "no"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!run.join("outcomes.jsonl").exists(), "never inside the run");
    assert!(tmp.path().join("transcripts/outcomes.jsonl").exists());
    let out = council(&[
        "score",
        p(&tmp.path().join("transcripts")),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["resolved"], 1);
}

#[test]
fn schemas_of_the_research_files() {
    for (kind, title) in [
        ("study", "Study"),
        ("runs", "RunRecord"),
        ("outcomes", "Outcome"),
        ("compare", "Comparison"),
        ("score", "Scores"),
    ] {
        let out = council(&["schema", kind]);
        assert!(out.status.success(), "{kind}: {}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["title"], title, "{kind}");
    }
}

#[test]
fn a_forecast_the_report_leaves_out_is_neither_recorded_scored_nor_compared() {
    use council_core::synthesis::SynthesisKind;
    use council_core::Event;
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    // Run A with a third forecast of brackets only (no words: the report
    // leaves it out), and advisor a giving F1 two probabilities.
    let junk = "}}{{ ]] --";
    let mut events = fixture::run_a();
    for e in &mut events {
        let Event::Synthesis(p) = e else { continue };
        match &p.part {
            SynthesisKind::Forecasts => {
                p.value["forecasts"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({"statement": junk, "horizon_months": 6}));
            }
            SynthesisKind::Vote(who) if who == "a" => {
                let ps = p.value["probabilities"].as_array_mut().unwrap();
                ps.push(serde_json::json!({"id": fixture::id(junk), "probability": 70}));
                ps.push(serde_json::json!({"id": fixture::id(fixture::F1), "probability": 5}));
            }
            _ => {}
        }
    }
    fixture::write_run(&run, &events);
    let left_out = fixture::id(junk);

    let out = council(&["outcome", p(&run), &left_out, "yes"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&left_out) && err.contains("left out") && err.contains("no words"),
        "{err}"
    );
    assert!(
        !tmp.path().join("outcomes.jsonl").exists(),
        "nothing recorded"
    );

    let out = council(&["score", p(&run), "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let open: Vec<&str> = s["open"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(open, [fixture::id(fixture::F1), fixture::id(fixture::F2)]);

    let out = council(&["compare", p(&run), "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(c["runs"][0]["forecasts"], 2);
    assert_eq!(c["runs"][0]["repeated_probabilities"], 1);
    let a = c["personas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "a")
        .unwrap();
    assert_eq!(a["forecasts"], 2, "one probability per forecast, the first");
    // a: F1 80 (the first of 80 and 5), F2 30: extremity (0.3 + 0.2) / 2.
    assert!(
        (a["extremity"].as_f64().unwrap() - 0.25).abs() < 1e-9,
        "{a}"
    );

    let out = council(&["render", p(&run), "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let flags: Vec<&str> = r["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        flags
            .iter()
            .any(|f| f.contains(&left_out) && f.contains("left out")),
        "{flags:?}"
    );
    assert!(
        flags
            .iter()
            .any(|f| f.contains("2 probabilities (80%, 5%); the first counts")),
        "{flags:?}"
    );
    assert_eq!(r["forecasts"].as_array().unwrap().len(), 2);
}
