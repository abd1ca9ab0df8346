//! Every report accounts for itself: a debate in which no advisor spoke
//! is named hollow before its verdict, in every format and on the command
//! line; `-q` prints only errors.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_tests::{schema_answering, FakeServer, Reply};
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

/// A config that retries once, at once: a wrong answer fails fast.
fn quick_config(dir: &Path) -> String {
    let p = dir.join("config.toml");
    std::fs::write(&p, "max_retries = 1\nretry_base_delay_ms = 1\n").unwrap();
    p.display().to_string()
}

/// Answers every synthesis part and summary well, and every advisor's turn
/// in a shape its schema refuses.
fn turns_always_wrong(body: &str) -> Reply {
    if body.contains("\"name\":\"turn_round") {
        Reply::completion("{\"nothing\": \"like a turn\"}")
    } else {
        schema_answering(body)
    }
}

#[test]
fn a_debate_in_which_no_advisor_spoke_is_named_hollow_before_its_verdict() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeServer::start_with(
        Arc::new(turns_always_wrong),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let config = quick_config(dir.path());
    let out = council(&[
        "--config",
        &config,
        "--base-url",
        &fake.url,
        "--model",
        "fake",
        "ask",
        "Should we raise prices by 10% for new customers?",
        "--panel",
        "cfo,cto,brand-strategist,org-psychologist",
        "--rounds",
        "2",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("report: Hollow report")
            && err.contains("None of the 12 advisor turns was spoken"),
        "the command line's last lines say so: {err}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["status"], "hollow");
    assert_eq!(json["quality"]["turns_spoken"], 0);
    assert_eq!(json["quality"]["turns_asked"], 12);
    assert_eq!(json["quality"]["turns_failed"], 12);
    assert_eq!(json["remedy"], "reachable_server");
    assert!(
        json["verdict"].as_str().is_some_and(|v| !v.is_empty()),
        "the chair still answered: the report must not pass it off as the board's"
    );

    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    let warning = md.find("Hollow report").expect("a warning in Markdown");
    let verdict = md.find("## Verdict").unwrap();
    assert!(
        warning < verdict,
        "the warning comes before the verdict:\n{md}"
    );
    assert!(
        md[verdict..].contains("Not the board's verdict: only 0 of 12 advisor turns were spoken.")
    );
    assert!(md.contains("council doctor"), "it names what to do");

    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    let warning = html
        .find("class=\"status-box hollow\"")
        .expect("a warning box in HTML");
    let verdict = html.find("<h2>Verdict</h2>").unwrap();
    assert!(warning < verdict);
    assert!(html[verdict..].contains("Not the board&#x27;s verdict"));
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(FakeServer::start_with(
        Arc::new(schema_answering),
        Duration::from_millis(1),
    ));
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = council(&[
        "--base-url",
        &fake.url,
        "--model",
        "fake",
        "-q",
        "ask",
        "Should we raise prices by 10% for new customers?",
        "--panel",
        "cfo,cto,brand-strategist,org-psychologist",
        "--rounds",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "-q: nothing on stderr");
    assert!(
        text(&out.stdout).contains("report.md"),
        "the paths still go to stdout"
    );
    // Without -q, the same run says where it is and how much its report holds.
    let again = council(&[
        "--base-url",
        &fake.url,
        "--model",
        "fake",
        "ask",
        "Should we raise prices by 10% for new customers?",
        "--panel",
        "cfo,cto,brand-strategist,org-psychologist",
        "--rounds",
        "1",
        "--out",
        dir.path().join("run2").to_str().unwrap(),
    ]);
    assert!(again.status.success());
    let err = text(&again.stderr);
    assert!(
        err.contains("run folder:") && err.contains("report: "),
        "{err}"
    );
}
