//! Bad input through the `council` binary (issue 12, item 4): one table,
//! one row per input, each with the exit code a user gets and the words of
//! the message that names the fix. Every row runs, failures are collected
//! and reported together by case name, and no row may panic, print more
//! than a screenful or load a model (the model path points nowhere, so a
//! row that reached the model would say "model file not found").

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_tests::{schema_answering, FakeServer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One bad input: what is run, the exit code, and words the message must hold.
struct Case {
    name: &'static str,
    args: Vec<String>,
    code: i32,
    must_contain: &'static [&'static str],
}

fn case(
    name: &'static str,
    args: &[&str],
    code: i32,
    must_contain: &'static [&'static str],
) -> Case {
    Case {
        name,
        args: args.iter().map(|s| s.to_string()).collect(),
        code,
        must_contain,
    }
}

/// A message a person reads whole: longer than this is a wall of text.
const MAX_STDERR_BYTES: usize = 4096;

/// The longest a row may take (the 10,000-file library included).
const MAX_CASE_TIME: Duration = Duration::from_secs(10);

/// What a panic prints, in any of its forms.
const PANIC_MARKS: [&str; 3] = ["panicked", "RUST_BACKTRACE", "stack backtrace"];

/// Runs `council` with the user's settings, config and cache kept out.
fn council(home: &Path, args: &[String]) -> std::process::Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = council_tests::council_command(env!("CARGO_BIN_EXE_council"), &args);
    cmd.env("COUNCIL_MODEL_PATH", "/nonexistent/model.gguf")
        .env("COUNCIL_CACHE_DIR", home.join("cache"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("COUNCIL_LOG")
        .current_dir(home);
    cmd.output().unwrap()
}

/// A one-page PDF whose font is `font` (a Type0 font without its
/// descendant fonts makes the PDF extractor panic).
fn pdf(font: &str) -> Vec<u8> {
    let content = "BT /F1 12 Tf 72 720 Td (Hello) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        format!("<< /Type /Font /Subtype /{font} /BaseFont /Helvetica >>"),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for o in offsets {
        out.push_str(&format!("{o:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

const PERSONA: &str = r#"id = "coach"
name = "The Coach"
role = "Executive coach"
background = "Coached founders for ten years."
notices_first = "Who is tired."
blind_spot = "Underrates numbers."
voice = "Warm, brief."
favoured_moves = ["SHARE", "REFRAME"]
"#;

const PANEL: &str = "cfo,cto,coo,brand-strategist";

/// Every file and folder the rows use, under `home`.
fn lay_out(home: &Path) {
    let w = |name: &str, bytes: &[u8]| {
        let path = home.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    w("big-question.md", "x".repeat(100 * 1024).as_bytes());
    w(
        "binary-question.md",
        &(0..=255u8).cycle().take(4096).collect::<Vec<_>>(),
    );
    w(
        "latin1-question.md",
        b"Should we open a caf\xe9 in Z\xfcrich?",
    );
    w("nul-question.md", b"Should we\0 hire?");
    std::fs::create_dir_all(home.join("a-folder")).unwrap();
    // Config files.
    w(
        "config/broken.toml",
        b"base_url = \"http://127.0.0.1:9/v1\nmodel =",
    );
    w("config/unknown-key.toml", b"modle = \"qwen2.5:7b\"\n");
    w("config/binary.toml", &[0xff, 0xfe, 0x00, 0x81, 0x00]);
    w(
        "config/bad-persona-table.toml",
        b"[personas.cfo]\nmodel = 5\n",
    );
    // Cassettes.
    w("cassettes/not-json.json", b"this is not JSON");
    w(
        "cassettes/wrong-shape.json",
        br#"{"version": 1, "entries": [1, 2, 3]}"#,
    );
    w(
        "cassettes/newer.json",
        br#"{"version": 7, "recorded_from": null, "entries": {}}"#,
    );
    // Run folders that are not (or no longer) runs.
    w("someone-else/notes.txt", b"minutes of the board meeting\n");
    w("someone-else/photo.jpg", &[0xff, 0xd8, 0xff, 0xe0, 0, 16]);
    w("empty-log/events.jsonl", b"");
    w("cut-header/events.jsonl", br#"{"event":"started","que"#);
    w("binary-log/events.jsonl", &[0xff, 0xfe, b'\n', 0x81, b'\n']);
    w(
        "not-json-transcript/transcript.json",
        b"<html>not a transcript</html>",
    );
    let v1 = council_tests::workspace_root().join("tests/fixtures/transcript-v1.json");
    let mut t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(v1).unwrap()).unwrap();
    t["version"] = 99.into();
    w("newer-run/transcript.json", t.to_string().as_bytes());
    // A newer Council's transcript in a shape this build does not know.
    w(
        "newer-shape-run/transcript.json",
        br#"{"version": 99, "board": {"sessions": [{"minutes": "a new shape"}]}}"#,
    );
    // Libraries and sources.
    std::fs::create_dir_all(home.join("library-10k")).unwrap();
    for i in 0..10_000 {
        std::fs::write(home.join(format!("library-10k/note-{i:05}.md")), b"").unwrap();
    }
    w("sources/memo.pdf", b"Board memo: prices rise 15% in Q1.\n");
    w("sources/broken-font.pdf", &pdf("Type0"));
    w(
        "sources/bibliography.json",
        br#"{"source": [{"title": 5}]}"#,
    );
    // Persona and prompt folders.
    w(
        "personas-broken/coach.toml",
        b"id = \"coach\"\nname = \"The Coach\n",
    );
    w("personas-binary/coach.toml", &[0xff, 0xfe, 0x00, 0x01]);
    w(
        "personas-missing-field/coach.toml",
        PERSONA.replace("voice = \"Warm, brief.\"\n", "").as_bytes(),
    );
    w("prompts-broken/round1.tera", b"{{ question }}\n{% if %}\n");
    w("prompts-unknown/round9.tera", b"{{ question }}");
    // A study whose one question is 100 KB.
    w(
        "study-big.jsonl",
        format!(
            "{}\n",
            serde_json::json!({ "question": "y".repeat(100 * 1024) })
        )
        .as_bytes(),
    );
}

/// A finished one-round run in `home/NAME`, then made to look killed:
/// no transcript or reports, and its last event line cut in half.
fn killed_run(home: &Path, server: &str, name: &str) -> PathBuf {
    let dir = home.join(name);
    let args: Vec<String> = [
        "--base-url",
        server,
        "--model",
        "fake",
        "-q",
        "ask",
        "Should we raise prices 15% in Q1?",
        "--panel",
        PANEL,
        "--rounds",
        "1",
        "--no-synthesis",
        "--out",
        dir.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let made = council(home, &args);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    for f in ["transcript.json", "report.md", "report.html", "report.json"] {
        let _ = std::fs::remove_file(dir.join(f));
    }
    let log = dir.join("events.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let last_start = text.trim_end().rfind('\n').unwrap() + 1;
    let cut = last_start + (text.len() - last_start) / 2;
    std::fs::write(&log, &text[..cut]).unwrap();
    dir
}

/// A copy of the run `from` in `home/NAME` whose complete log lines (as
/// JSON values) were changed by `edit`, as a hand edit would.
fn edited_run(home: &Path, from: &str, name: &str, edit: impl Fn(&mut Vec<serde_json::Value>)) {
    let text = std::fs::read_to_string(home.join(from).join("events.jsonl")).unwrap();
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    edit(&mut lines);
    let out: String = lines.iter().map(|v| format!("{v}\n")).collect();
    std::fs::create_dir_all(home.join(name)).unwrap();
    std::fs::write(home.join(name).join("events.jsonl"), out).unwrap();
}

/// The version 1 fixture transcript with `edit` made, as `home/NAME/transcript.json`.
fn edited_transcript(home: &Path, name: &str, edit: impl Fn(&mut serde_json::Value)) {
    let v1 = council_tests::workspace_root().join("tests/fixtures/transcript-v1.json");
    let mut t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(v1).unwrap()).unwrap();
    edit(&mut t);
    std::fs::create_dir_all(home.join(name)).unwrap();
    std::fs::write(home.join(name).join("transcript.json"), t.to_string()).unwrap();
}

#[test]
fn every_bad_input_gets_its_exit_code_and_a_message_naming_the_fix() {
    let started = Instant::now();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    lay_out(home);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(schema_answering),
        Duration::from_millis(1),
    ));
    let url = server.url.as_str();
    killed_run(home, url, "killed");
    // The same run with a line in the middle of its log damaged.
    let damaged = killed_run(home, url, "damaged");
    let log = std::fs::read_to_string(damaged.join("events.jsonl")).unwrap();
    let mut lines: Vec<&str> = log.lines().collect();
    lines.insert(1, "{\"event\": \"turn\", \"round\": ");
    std::fs::write(damaged.join("events.jsonl"), lines.join("\n") + "\n").unwrap();
    // Hand-edited logs and transcripts with absurd round numbers.
    let turn_round = |n: u64| {
        move |l: &mut Vec<serde_json::Value>| {
            let turn = l.iter_mut().find(|v| v["event"] == "turn").unwrap();
            turn["round"] = n.into();
        }
    };
    edited_run(home, "killed", "round-zero", turn_round(0));
    edited_run(
        home,
        "killed",
        "round-huge",
        turn_round(u64::from(u32::MAX)),
    );
    edited_run(home, "killed", "round-beyond-plan", turn_round(6));
    edited_run(home, "killed", "plans-huge", |l| {
        l[0]["rounds"] = u32::MAX.into();
    });
    edited_run(home, "killed", "followup-huge", |l| {
        l.push(
            serde_json::json!({"event": "followup", "number": u32::MAX, "question": "And then?"}),
        );
    });
    edited_transcript(home, "transcript-round-huge", |t| {
        t["rounds"][1]["number"] = u32::MAX.into();
    });
    edited_transcript(home, "transcript-plans-zero", |t| {
        t["planned_rounds"] = 0.into();
    });
    let big = "x".repeat(100 * 1024);
    let q = "Should we raise prices?";

    let cases = vec![
        // The question.
        case(
            "empty question",
            &["ask", ""],
            4,
            &["question is empty", "write what the board should decide"],
        ),
        case(
            "whitespace question",
            &["ask", " \n\t "],
            4,
            &["question is empty"],
        ),
        case(
            "100 KB question",
            &["ask", &big],
            4,
            &[
                "102400 characters",
                "limit is 4000",
                "--source FILE or --library DIR",
            ],
        ),
        case(
            "100 KB question file",
            &["ask", "--question-file", "big-question.md"],
            4,
            &["limit is 4000", "--source FILE"],
        ),
        case(
            "binary question file",
            &["ask", "--question-file", "binary-question.md"],
            4,
            &[
                "binary-question.md",
                "looks binary",
                "give a UTF-8 text file",
            ],
        ),
        case(
            "question file in Latin-1",
            &["ask", "--question-file", "latin1-question.md"],
            4,
            &["not UTF-8 text", "save it as UTF-8"],
        ),
        case(
            "question file with a NUL byte",
            &["ask", "--question-file", "nul-question.md"],
            4,
            &["looks binary", "give a UTF-8 text file"],
        ),
        case(
            "missing question file",
            &["ask", "--question-file", "no-such.md"],
            4,
            &[
                "cannot read the question file",
                "no-such.md",
                "give a readable UTF-8 text file",
            ],
        ),
        case(
            "a folder as the question file",
            &["ask", "--question-file", "a-folder"],
            4,
            &["cannot read the question file", "a-folder"],
        ),
        case(
            "escape codes in the question",
            &["ask", "Should we \u{1b}[31mhire\u{1b}[0m?"],
            4,
            &["control character (U+001B", "plain UTF-8 text"],
        ),
        case("no question at all", &["ask"], 2, &["<QUESTION>", "--help"]),
        case(
            "100 KB follow-up question",
            &["followup", "killed", &big],
            4,
            &["follow-up question is 102400 characters", "limit is 4000"],
        ),
        case(
            "100 KB question in a study file",
            &[
                "batch",
                "study-big.jsonl",
                "--out",
                "study",
                "--panel",
                PANEL,
            ],
            4,
            &["study-big.jsonl question 1", "limit is 4000"],
        ),
        // Flags' values.
        case(
            "--lang xx",
            &["ask", q, "--lang", "xx"],
            4,
            &["--lang \"xx\"", "use one of en, zh, de, fr, es, ja"],
        ),
        case(
            "--rounds 0",
            &["ask", q, "--rounds", "0"],
            2,
            &["--rounds", "1..=10"],
        ),
        case(
            "--rounds 99",
            &["ask", q, "--rounds", "99"],
            2,
            &["--rounds", "1..=10"],
        ),
        case(
            "--panel-size 3",
            &["ask", q, "--panel-size", "3"],
            2,
            &["--panel-size", "5..=7"],
        ),
        case(
            "--panel with an unknown persona",
            &["ask", q, "--panel", "cfo,unknown-persona"],
            4,
            &[
                "no persona has id `unknown-persona`",
                "known ids: ai-founder",
            ],
        ),
        case(
            "--panel too small",
            &["ask", q, "--panel", "cfo"],
            4,
            &["a panel has 5 to 7 members", "council personas"],
        ),
        case(
            "--date not-a-date",
            &["ask", q, "--date", "not-a-date"],
            4,
            &["--date \"not-a-date\"", "YYYY-MM-DD"],
        ),
        case(
            "--date 30 February",
            &["ask", q, "--date", "2026-02-30"],
            4,
            &["--date \"2026-02-30\"", "YYYY-MM-DD"],
        ),
        case(
            "--max-concurrency 0",
            &["ask", q, "--max-concurrency", "0"],
            2,
            &["--max-concurrency", "1..=65535"],
        ),
        case(
            "--budget-usd not a number",
            &["ask", q, "--budget-usd", "lots"],
            2,
            &["--budget-usd", "write e.g. 2.50"],
        ),
        case(
            "--persona-model without a model",
            &["ask", q, "--persona-model", "cfo"],
            4,
            &["--persona-model \"cfo\"", "write PERSONA=MODEL"],
        ),
        case(
            "render --format bogus",
            &["render", "newer-run", "--format", "bogus"],
            2,
            &["'bogus'", "possible values: md, html, json, pdf, docx"],
        ),
        case(
            "render --lang xx",
            &["render", "killed", "--lang", "xx"],
            4,
            &["--lang \"xx\"", "use one of"],
        ),
        // The config file.
        case(
            "config that is not TOML",
            &["--config", "config/broken.toml", "ask", q],
            4,
            &[
                "broken.toml is not valid TOML",
                "fix the place shown",
                "line 1",
            ],
        ),
        case(
            "config with an unknown key",
            &["--config", "config/unknown-key.toml", "ask", q],
            4,
            &[
                "unknown-key.toml",
                "unknown field `modle`",
                "expected one of `base_url`, `model`",
            ],
        ),
        case(
            "config that is binary",
            &["--config", "config/binary.toml", "ask", q],
            4,
            &["binary.toml is not UTF-8 text", "write it as a TOML file"],
        ),
        case(
            "config that does not exist",
            &["--config", "config/none.toml", "ask", q],
            4,
            &[
                "cannot read config file",
                "give an existing file to --config",
            ],
        ),
        case(
            "config with a bad [personas.ID] table",
            &["--config", "config/bad-persona-table.toml", "ask", q],
            4,
            &["[personas.ID] tables are invalid", "model = \"NAME\""],
        ),
        // Cassettes.
        case(
            "cassette that is not JSON",
            &["--replay", "cassettes/not-json.json", "chat", "hi"],
            4,
            &[
                "not-json.json is not a valid cassette file",
                "written by --record FILE",
            ],
        ),
        case(
            "cassette of the wrong shape",
            &[
                "--replay",
                "cassettes/wrong-shape.json",
                "ask",
                q,
                "--panel",
                PANEL,
                "--out",
                "replayed",
            ],
            4,
            &[
                "wrong-shape.json is not a valid cassette file",
                "record it again",
            ],
        ),
        case(
            "cassette of a newer format",
            &["--replay", "cassettes/newer.json", "chat", "hi"],
            4,
            &["format version 7", "re-record it"],
        ),
        case(
            "cassette that does not exist",
            &["--replay", "cassettes/none.json", "chat", "hi"],
            4,
            &["cannot read cassette", "written by --record FILE"],
        ),
        // Run folders and their files.
        case(
            "render a run whose log was cut mid-line",
            &["render", "killed", "--format", "json"],
            0,
            &[],
        ),
        case(
            "resume a run whose log was cut mid-line",
            &[
                "--base-url",
                url,
                "--model",
                "fake",
                "ask",
                "--resume",
                "killed",
                "--no-synthesis",
            ],
            0,
            &["resuming", "dropping the unfinished last line"],
        ),
        case(
            "render a run with a damaged log line",
            &["render", "damaged"],
            4,
            &[
                "events.jsonl line 2",
                "not a Council event",
                "restore the file from a backup",
            ],
        ),
        case(
            "resume a run with a damaged log line",
            &["ask", "--resume", "damaged"],
            4,
            &["events.jsonl line 2", "not a Council event"],
        ),
        case(
            "render a log with a turn of round 0",
            &["render", "round-zero"],
            4,
            &[
                "round-zero/events.jsonl line 2",
                "a turn of round 0",
                "plans rounds 1 to 1",
                "restore the log from a backup",
            ],
        ),
        case(
            "render a log with a turn of round 4294967295",
            &["render", "round-huge"],
            4,
            &["line 2", "a turn of round 4294967295", "restore the log"],
        ),
        case(
            "render a log with a turn beyond the rounds planned",
            &["render", "round-beyond-plan"],
            4,
            &["line 2", "a turn of round 6", "plans rounds 1 to 1"],
        ),
        case(
            "render a log whose header plans 4294967295 rounds",
            &["render", "plans-huge"],
            4,
            &[
                "plans-huge/events.jsonl line 1",
                "the run plans 4294967295 rounds, but a run plans 1 to 10",
                "restore the log from a backup, or start the run again",
            ],
        ),
        case(
            "resume a log whose header plans 4294967295 rounds",
            &["ask", "--resume", "plans-huge"],
            4,
            &["events.jsonl line 1", "plans 4294967295 rounds"],
        ),
        case(
            "render a log asking follow-up 4294967295 first",
            &["render", "followup-huge"],
            4,
            &[
                "follow-up 4294967295 is asked after 0 follow-ups (it would be number 1)",
                "restore the log",
            ],
        ),
        case(
            "render a transcript whose round 2 is numbered 4294967295",
            &["render", "transcript-round-huge"],
            4,
            &[
                "transcript-round-huge/transcript.json",
                "rounds[1].number is 4294967295",
                "restore it from a backup",
            ],
        ),
        case(
            "render a transcript that plans 0 rounds",
            &["render", "transcript-plans-zero"],
            4,
            &[
                "planned_rounds is 0, but a run plans 1 to 10 rounds",
                "restore it",
            ],
        ),
        case(
            "render an empty log",
            &["render", "empty-log"],
            4,
            &["holds no events", "start"],
        ),
        case(
            "resume a log cut inside its header",
            &["ask", "--resume", "cut-header"],
            4,
            &["holds no events", "start"],
        ),
        case(
            "render a log that is binary",
            &["render", "binary-log"],
            4,
            &["binary-log/events.jsonl"],
        ),
        case(
            "render a transcript of a newer version",
            &["render", "newer-run"],
            4,
            &[
                "transcript version 99",
                "reads versions 1 to 3",
                "use a newer Council",
            ],
        ),
        case(
            "render a transcript of a newer version and an unknown shape",
            &["render", "newer-shape-run"],
            4,
            &[
                "transcript version 99",
                "written by a newer Council",
                "use a newer Council",
            ],
        ),
        case(
            "render a transcript that is not JSON",
            &["render", "not-json-transcript"],
            4,
            &["transcript.json is not a Council transcript"],
        ),
        case(
            "render a folder of someone else's files",
            &["render", "someone-else"],
            4,
            &[
                "someone-else/transcript.json",
                "give a run folder or its transcript.json",
            ],
        ),
        case(
            "resume a folder of someone else's files",
            &["ask", "--resume", "someone-else"],
            4,
            &["someone-else/events.jsonl", "is someone-else a run folder?"],
        ),
        case(
            "cost of a folder of someone else's files",
            &["cost", "someone-else"],
            4,
            &["give a run folder or its transcript.json"],
        ),
        case(
            "render a run that does not exist",
            &["render", "no-such-run"],
            4,
            &["no run at no-such-run", "give a run folder"],
        ),
        case(
            "resume a run that does not exist",
            &["ask", "--resume", "no-such-run"],
            4,
            &["no-such-run/events.jsonl", "a run folder?"],
        ),
        // The research library.
        case(
            "a library of 10,000 empty files",
            &["ask", q, "--library", "library-10k"],
            4,
            &[
                "research library is empty",
                "10000 files: no text could be extracted",
                "give files with text",
            ],
        ),
        case(
            "a .pdf that is not a PDF",
            &["ask", q, "--source", "sources/memo.pdf"],
            4,
            &["memo.pdf: not a PDF", "export it as text"],
        ),
        case(
            "a PDF that breaks the extractor",
            &["ask", q, "--source", "sources/broken-font.pdf"],
            4,
            &["broken-font.pdf: not a readable PDF", "export it as text"],
        ),
        case(
            "a bibliography of the wrong shape",
            &["ask", q, "--source", "sources/bibliography.json"],
            4,
            &["not a bibliography", "{\"source\": [{\"title\""],
        ),
        case(
            "a library that does not exist",
            &["ask", q, "--library", "no-such-library"],
            4,
            &[
                "no-such-library: no such file or folder",
                "give files with text",
            ],
        ),
        // Persona and prompt folders.
        case(
            "a persona file that is not TOML",
            &["ask", q, "--personas", "personas-broken"],
            4,
            &[
                "coach.toml: not a valid persona file",
                "fix the place shown",
                "line 2",
            ],
        ),
        case(
            "a persona file that is binary",
            &["ask", q, "--personas", "personas-binary"],
            4,
            &[
                "coach.toml: not a valid persona file",
                "save it as UTF-8 TOML",
            ],
        ),
        case(
            "a persona file without a voice",
            &["personas", "--personas", "personas-missing-field"],
            4,
            &["missing field `voice`", "add voice = "],
        ),
        case(
            "a persona folder that does not exist",
            &["ask", q, "--personas", "no-such-personas"],
            4,
            &[
                "persona folder no-such-personas",
                "give a folder of persona .toml files",
            ],
        ),
        case(
            "a prompt template that does not parse",
            &["ask", q, "--prompts", "prompts-broken"],
            4,
            &[
                "prompts-broken/round1.tera",
                "fix the place shown",
                "remove the file to use the built-in template",
            ],
        ),
        case(
            "a prompt template of an unknown name",
            &["ask", q, "--prompts", "prompts-unknown"],
            4,
            &["round9.tera: unknown template name", "the templates are"],
        ),
        case(
            "a prompt folder that does not exist",
            &["ask", q, "--prompts", "no-such-prompts"],
            4,
            &[
                "cannot read prompt folder",
                "give a folder of .tera templates",
            ],
        ),
    ];
    assert!(cases.len() >= 25, "the table must hold at least 25 inputs");

    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, "");
    for c in &cases {
        let t0 = Instant::now();
        let out = council(home, &c.args);
        let took = t0.elapsed();
        slowest = slowest.max((took, c.name));
        let err = String::from_utf8_lossy(&out.stderr);
        let all = format!("{err}{}", String::from_utf8_lossy(&out.stdout));
        let mut problems = Vec::new();
        if out.status.code() != Some(c.code) {
            problems.push(format!("exit {:?}, expected {}", out.status.code(), c.code));
        }
        for words in c.must_contain {
            if !err.contains(words) {
                problems.push(format!("stderr lacks {words:?}"));
            }
        }
        for mark in PANIC_MARKS {
            if all.contains(mark) {
                problems.push(format!("output holds {mark:?}"));
            }
        }
        if err.contains("model file not found") {
            problems.push("it reached the model: the input must be checked first".into());
        }
        if err.len() > MAX_STDERR_BYTES {
            problems.push(format!(
                "stderr is {} bytes, more than a person reads",
                err.len()
            ));
        }
        if took > MAX_CASE_TIME {
            problems.push(format!("took {took:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n    council {}\n    stderr: {}",
                c.name,
                problems.join("; "),
                c.args
                    .iter()
                    .map(|a| if a.len() > 60 {
                        format!("<{} bytes>", a.len())
                    } else {
                        a.clone()
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                council_core::excerpt(err.trim(), 600)
            ));
        }
    }
    eprintln!(
        "{} bad inputs tried in {:.1} s (slowest: {} in {:.2} s)",
        cases.len(),
        started.elapsed().as_secs_f64(),
        slowest.1,
        slowest.0.as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} bad inputs were handled wrongly:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
