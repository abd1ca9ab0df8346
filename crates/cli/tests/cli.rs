//! The `council` binary as a user runs it: output, errors and exit codes.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_llm::replay::{Cassette, Entry, CASSETTE_VERSION};
use council_llm::{ChatRequest, ChatResponse, FinishReason};
use std::process::Output;

fn council(args: &[&str], envs: &[(&str, &str)]) -> Output {
    // Keep the user's own settings out of the test.
    let mut cmd = council_tests::council_command(env!("CARGO_BIN_EXE_council"), args);
    cmd.envs(envs.iter().copied());
    cmd.output().expect("run council")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A cassette answering the request `council chat PROMPT` sends.
fn cassette_for(prompt: &str, answer: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let request = ChatRequest::prompt(prompt).with_max_tokens(256);
    let mut cassette = Cassette {
        version: CASSETTE_VERSION,
        recorded_from: None,
        entries: Default::default(),
    };
    cassette.entries.insert(
        council_llm::replay::request_key(&request),
        Entry {
            summary: prompt.into(),
            response: ChatResponse {
                text: answer.into(),
                json: None,
                finish_reason: FinishReason::Stop,
                usage: council_core::Usage::reported(9, 4),
                model: "recorded".into(),
                attempts: 1,
            },
        },
    );
    std::fs::write(
        dir.path().join("c.json"),
        serde_json::to_string(&cassette).unwrap(),
    )
    .unwrap();
    dir
}

#[test]
fn chat_prints_the_answer_and_usage_on_stderr() {
    let dir = cassette_for("Should we hire a CFO?", "Not yet: hire a controller first.");
    let cassette = dir.path().join("c.json");
    let out = council(
        &[
            "--replay",
            cassette.to_str().unwrap(),
            "chat",
            "Should we hire a CFO?",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "Not yet: hire a controller first."
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("prompt tokens: 9") && err.contains("completion tokens: 4"),
        "{err}"
    );
}

#[test]
fn a_cassette_miss_exits_4_and_names_the_request() {
    let dir = cassette_for("known question", "answer");
    let cassette = dir.path().join("c.json");
    let out = council(
        &[
            "--replay",
            cassette.to_str().unwrap(),
            "chat",
            "unknown question",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown question") && err.contains("--record"),
        "{err}"
    );
}

#[test]
fn a_missing_model_exits_4_with_the_command_that_fixes_it() {
    let out = council(
        &["chat", "hello"],
        &[("COUNCIL_MODEL_PATH", "/nonexistent/model.gguf")],
    );
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(err.contains("/nonexistent/model.gguf"), "{err}");
    assert!(err.contains("council fetch-model"), "{err}");
}

#[test]
fn a_refused_key_exits_4_naming_the_variable() {
    // A server that always answers 401.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 65536];
            let _ = s.read(&mut buf);
            let body = r#"{"error":{"message":"bad key"}}"#;
            let _ = write!(s, "HTTP/1.1 401 Unauthorized\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        }
    });
    let out = council(
        &["--base-url", &url, "--model", "m", "chat", "hi"],
        &[("OPENAI_API_KEY", "sk-cli-secret")],
    );
    assert_eq!(out.status.code(), Some(4));
    let err = text(&out.stderr);
    assert!(
        err.contains("OPENAI_API_KEY") && err.contains("401"),
        "{err}"
    );
    assert!(!err.contains("sk-cli-secret"), "the key leaked: {err}");
}

#[test]
fn a_bad_schema_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    std::fs::write(&schema, "{not json").unwrap();
    let c = cassette_for("x", "y");
    let out = council(
        &[
            "--replay",
            c.path().join("c.json").to_str().unwrap(),
            "chat",
            "--schema",
            schema.to_str().unwrap(),
            "x",
        ],
        &[],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("schema.json"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn models_describes_the_embedded_default() {
    let model = council_llm::fetch::default_model_path();
    let path = std::env::var("COUNCIL_MODEL_PATH").unwrap_or_else(|_| model.display().to_string());
    let out = council(&["models"], &[("COUNCIL_MODEL_PATH", &path)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.contains("backend:   embedded") && s.contains("works offline: yes"),
        "{s}"
    );
}

#[test]
fn chat_answers_from_the_embedded_model_offline() {
    let model = council_llm::fetch::default_model_path();
    let path = std::env::var("COUNCIL_MODEL_PATH").unwrap_or_else(|_| model.display().to_string());
    let out = council(
        &[
            "--embedded",
            "chat",
            "--seed",
            "1",
            "--max-tokens",
            "30",
            "Name one risk of a price rise.",
        ],
        &[
            ("COUNCIL_MODEL_PATH", &path),
            ("COUNCIL_BASE_URL", "http://127.0.0.1:9/v1"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).trim().is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("embedded") && err.contains("completion tokens:"),
        "{err}"
    );
    assert!(
        !err.contains("llama_model_loader"),
        "llama.cpp logs must be silent by default: {err}"
    );
}

mod debate {
    use super::{council, text};
    use council_core::{Event, Transcript, TurnStatus};
    use council_tests::{schema_answering, FakeServer, Reply};
    use std::collections::HashMap;
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn events(dir: &std::path::Path) -> Vec<Event> {
        std::fs::read_to_string(dir.join("events.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    const PANEL: &str = "cfo,cto,coo,brand-strategist";

    /// A finished one-round run in `out`, against a cooperative fake
    /// server; the runtime returned keeps the server alive.
    fn one_round_run(out: &std::path::Path, extra: &[&str]) -> tokio::runtime::Runtime {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(FakeServer::start_with(
            Arc::new(schema_answering),
            Duration::from_millis(1),
        ));
        let mut args = vec![
            "--base-url",
            &server.url,
            "--model",
            "fake",
            "-q",
            "ask",
            "Q?",
            "--panel",
            PANEL,
            "--rounds",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let made = council(&args, &[]);
        assert!(made.status.success(), "{}", text(&made.stderr));
        rt
    }

    #[test]
    fn a_run_killed_mid_round_resumes_with_every_turn_exactly_once() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(FakeServer::start_with(
            Arc::new(schema_answering),
            Duration::from_millis(150),
        ));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let mut child = Command::new(env!("CARGO_BIN_EXE_council"))
            .args([
                "--base-url",
                &server.url,
                "--model",
                "fake",
                "-q",
                "ask",
                "Should we raise prices by 10%?",
            ])
            .args([
                "--panel",
                PANEL,
                "--seed",
                "7",
                "--date",
                "2026-11-26",
                "--max-concurrency",
                "2",
            ])
            .arg("--out")
            .arg(&out)
            .env_remove("COUNCIL_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Header + six round-1 turns + summary + two round-2 turns: mid round 2.
        let deadline = Instant::now() + Duration::from_secs(60);
        while events(&out).len() < 10 {
            assert!(Instant::now() < deadline, "the run never reached round 2");
            assert!(
                child.try_wait().unwrap().is_none(),
                "the run ended before it was killed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let before = events(&out);
        assert!(before.len() < 36, "killed too late to test resuming");

        let resumed = council(
            &[
                "--base-url",
                &server.url,
                "--model",
                "fake",
                "-q",
                "ask",
                "--resume",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert!(resumed.status.success(), "{}", text(&resumed.stderr));
        let after = events(&out);
        assert_eq!(
            &after[..before.len()],
            &before[..],
            "resuming rewrote earlier events"
        );
        let mut turns: HashMap<(u32, String), usize> = HashMap::new();
        let mut summaries: HashMap<u32, usize> = HashMap::new();
        let mut synthesis: HashMap<String, usize> = HashMap::new();
        for e in &after {
            match e {
                Event::Turn(t) => *turns.entry((t.round, t.persona.clone())).or_default() += 1,
                Event::Summary(s) => *summaries.entry(s.round).or_default() += 1,
                Event::Synthesis(p) => *synthesis.entry(p.part.to_string()).or_default() += 1,
                Event::Started(_)
                | Event::Followup(_)
                | Event::FollowupTurn(_)
                | Event::FollowupSummary(_) => {}
            }
        }
        assert_eq!(turns.len(), 30, "6 personas x 5 rounds");
        assert!(
            turns.values().all(|&n| n == 1),
            "a turn was recorded twice: {turns:?}"
        );
        assert_eq!(summaries.len(), 5);
        // verdict, forecasts, six votes, actions, three paths, story, evidence, risks.
        assert_eq!(synthesis.len(), 15, "{synthesis:?}");
        assert!(
            synthesis.values().all(|&n| n == 1),
            "a synthesis part was paid for twice: {synthesis:?}"
        );
        assert!(summaries.values().all(|&n| n == 1));
        let t: Transcript =
            serde_json::from_str(&std::fs::read_to_string(out.join("transcript.json")).unwrap())
                .unwrap();
        assert_eq!(t.status, council_core::RunStatus::Complete);
        assert_eq!(t.rounds.len(), 5);
    }

    #[test]
    fn a_persona_that_keeps_failing_is_recorded_and_the_run_is_partial() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let handler = |body: &str| {
            if body.contains("You are The CFO") {
                Reply::status(400, "context length exceeded for this persona")
            } else {
                schema_answering(body)
            }
        };
        let server = rt.block_on(FakeServer::start_with(
            Arc::new(handler),
            Duration::from_millis(5),
        ));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let result = council(
            &[
                "--base-url",
                &server.url,
                "--model",
                "fake",
                "-q",
                "ask",
                "Should we raise prices?",
                "--panel",
                PANEL,
                "--rounds",
                "2",
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(
            result.status.code(),
            Some(5),
            "partial runs exit 5: {}",
            text(&result.stderr)
        );
        assert!(
            text(&result.stderr).contains("partial run"),
            "{}",
            text(&result.stderr)
        );
        let t: Transcript =
            serde_json::from_str(&std::fs::read_to_string(out.join("transcript.json")).unwrap())
                .unwrap();
        assert_eq!(t.status, council_core::RunStatus::Partial);
        for r in &t.rounds {
            let cfo = r.turns.iter().find(|t| t.persona == "cfo").unwrap();
            assert_eq!(cfo.status, TurnStatus::Failed);
            assert!(
                cfo.error.as_deref().unwrap().contains("400"),
                "{:?}",
                cfo.error
            );
            assert_eq!(
                r.turns
                    .iter()
                    .filter(|t| t.status == TurnStatus::Ok)
                    .count(),
                5
            );
            assert!(
                r.summary
                    .as_deref()
                    .unwrap()
                    .contains("Absent this round: The CFO"),
                "{:?}",
                r.summary
            );
        }
    }

    #[test]
    fn render_makes_no_model_call() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let rt = one_round_run(&out, &[]);
        // Every configured backend now fails on any call.
        let failing = rt.block_on(FakeServer::start(vec![Reply::status(
            500,
            "no calls allowed",
        )]));
        let html = dir.path().join("again.html");
        let rendered = council(
            &[
                "render",
                out.to_str().unwrap(),
                "--format",
                "html",
                "--lang",
                "zh",
                "-o",
                html.to_str().unwrap(),
            ],
            &[("COUNCIL_BASE_URL", &failing.url), ("COUNCIL_MODEL", "x")],
        );
        assert!(rendered.status.success(), "{}", text(&rendered.stderr));
        assert_eq!(failing.hits(), 0, "render called a model");
        let page = std::fs::read_to_string(&html).unwrap();
        assert!(
            page.contains("顾问委员会报告") && page.contains("<svg"),
            "zh headings and charts expected"
        );
        let md = council(
            &["render", out.join("transcript.json").to_str().unwrap()],
            &[],
        );
        assert!(
            text(&md.stdout).starts_with("# Advisory board report"),
            "{}",
            text(&md.stdout)
        );
    }

    #[test]
    fn render_never_writes_to_a_run_another_process_is_writing() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let _rt = one_round_run(&out, &["--no-synthesis"]);
        // A run still going: no transcript.json yet, and its log growing.
        std::fs::remove_file(out.join("transcript.json")).unwrap();
        let log = out.join("events.jsonl");
        let original = std::fs::read_to_string(&log).unwrap();
        let line = original.lines().nth(1).unwrap().to_string();
        let files_before: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let writer = {
            let log = log.clone();
            let line = line.clone();
            std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
                for _ in 0..8 {
                    // Each event lands in two writes, as a slow disk may show it.
                    let (a, b) = line.split_at(line.len() / 2);
                    f.write_all(a.as_bytes()).unwrap();
                    f.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(60));
                    f.write_all(format!("{b}\n").as_bytes()).unwrap();
                    f.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
        };
        for _ in 0..6 {
            let r = council(&["render", out.to_str().unwrap(), "--format", "md"], &[]);
            assert!(r.status.success(), "{}", text(&r.stderr));
            assert!(text(&r.stdout).starts_with("# Advisory board report"));
            std::thread::sleep(Duration::from_millis(35));
        }
        writer.join().unwrap();
        let after = std::fs::read_to_string(&log).unwrap();
        assert_eq!(
            after,
            format!("{original}{}", format!("{line}\n").repeat(8)),
            "the log was changed"
        );
        for (i, l) in after.lines().enumerate() {
            serde_json::from_str::<Event>(l).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        }
        let files_after: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(files_before, files_after, "render created or removed files");
    }

    #[test]
    fn ask_with_a_library_reports_skipped_files_and_lists_the_sources() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(FakeServer::start_with(
            Arc::new(schema_answering),
            Duration::from_millis(1),
        ));
        let dir = tempfile::tempdir().unwrap();
        let broken = dir.path().join("broken.pdf");
        std::fs::write(&broken, b"%PDF-1.4 not really").unwrap();
        let out = dir.path().join("run");
        let library = council_tests::workspace_root().join("tests/fixtures/library");
        let result = council(
            &[
                "--base-url",
                &server.url,
                "--model",
                "fake",
                "ask",
                "Should we raise prices?",
                "--panel",
                PANEL,
                "--rounds",
                "1",
                "--library",
                library.to_str().unwrap(),
                "--source",
                broken.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &[(
                "COUNCIL_CACHE_DIR",
                dir.path().join("cache").to_str().unwrap(),
            )],
        );
        assert!(result.status.success(), "{}", text(&result.stderr));
        let err = text(&result.stderr);
        assert!(
            err.contains("library: skipped")
                && err.contains("broken.pdf")
                && err.contains("not a readable PDF"),
            "{err}"
        );
        assert!(err.contains("library: 12 sources"), "{err}");
        let md = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(md.contains("**Not cited**") && md.contains("[12] "), "{md}");
    }

    #[test]
    fn a_bad_panel_leaves_no_run_folder_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let result = council(
            &[
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--model",
                "m",
                "ask",
                "Q?",
                "--panel",
                "cfo",
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert!(!result.status.success());
        assert!(
            text(&result.stderr).contains("a panel has 5 to 7 members"),
            "{}",
            text(&result.stderr)
        );
        assert!(
            !out.exists(),
            "a failed start left {} behind",
            out.display()
        );
    }

    #[test]
    fn a_bad_persona_folder_exits_4_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("coach.toml"),
            "id = \"coach\"\nname = \"C\"\n",
        )
        .unwrap();
        let out = council(
            &["ask", "Q?", "--personas", dir.path().to_str().unwrap()],
            &[],
        );
        assert_eq!(out.status.code(), Some(4));
        let err = text(&out.stderr);
        assert!(
            err.contains("coach.toml") && err.contains("missing field `role`"),
            "{err}"
        );
    }

    #[test]
    fn the_transcript_schema_is_printed() {
        let out = council(&["schema", "transcript"], &[]);
        assert!(out.status.success());
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(schema["properties"]["rounds"].is_object(), "{schema}");
    }
}

/// The README's exit-code table, row by row, as a user meets each code.
mod exit_codes {
    use super::{council, text};
    use council_tests::{schema_answering, FakeServer, Reply};
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// One row: what is run, the exit code, words the message must hold.
    struct Row {
        what: &'static str,
        args: Vec<String>,
        code: i32,
        says: &'static [&'static str],
    }

    fn row(what: &'static str, args: &[&str], code: i32, says: &'static [&'static str]) -> Row {
        Row {
            what,
            args: args.iter().map(|s| s.to_string()).collect(),
            code,
            says,
        }
    }

    #[test]
    fn every_row_of_the_readme_table() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let failing = rt.block_on(FakeServer::start(vec![Reply::status(500, "overloaded")]));
        let partial = rt.block_on(FakeServer::start_with(
            Arc::new(|body: &str| {
                if body.contains("You are The CFO") {
                    Reply::status(400, "context length exceeded")
                } else {
                    schema_answering(body)
                }
            }),
            Duration::from_millis(1),
        ));
        let dir = tempfile::tempdir().unwrap();
        let p = |name: &str| dir.path().join(name).display().to_string();
        let no_retries = p("no-retries.toml");
        std::fs::write(&no_retries, "max_retries = 0\n").unwrap();
        std::fs::create_dir(p("empty-library")).unwrap();
        std::fs::write(p("empty-question.md"), "  \n").unwrap();
        std::fs::write(p("bad.toml"), "name = \"Acme\"\naccent = \"teal\"\n").unwrap();
        let v1 = council_tests::workspace_root()
            .join("tests/fixtures/transcript-v1.json")
            .display()
            .to_string();
        let rows = vec![
            row("success", &["schema", "report"], 0, &[]),
            row(
                "a full disk",
                &["render", &v1, "-o", "/dev/full"],
                1,
                &["cannot write /dev/full"],
            ),
            row(
                "bad command line",
                &["ask", "Q?", "--rounds", "99"],
                2,
                &["--rounds"],
            ),
            row(
                "the server keeps failing",
                &[
                    "--config",
                    &no_retries,
                    "--base-url",
                    &failing.url,
                    "--model",
                    "m",
                    "chat",
                    "hi",
                ],
                3,
                &["HTTP 500", "overloaded"],
            ),
            row(
                "bad --date",
                &["ask", "Q?", "--date", "2026-13-45"],
                4,
                &["--date", "YYYY-MM-DD"],
            ),
            row(
                "invalid --lang for a debate",
                &["ask", "Q?", "--lang", "xx"],
                4,
                &["--lang \"xx\"", "use one of en, zh, de, fr, es, ja"],
            ),
            row(
                "invalid --lang for a report",
                &["render", &v1, "--lang", "xx"],
                4,
                &["--lang \"xx\"", "use one of en, zh, de, fr, es, ja"],
            ),
            row(
                "unreadable question file",
                &["ask", "--question-file", &p("missing.md")],
                4,
                &["cannot read the question file", "missing.md"],
            ),
            row(
                "empty question",
                &["ask", "--question-file", &p("empty-question.md")],
                4,
                &["question is empty"],
            ),
            row(
                "a bad brand file",
                &[
                    "render",
                    &v1,
                    "--format",
                    "docx",
                    "--brand",
                    &p("bad.toml"),
                    "-o",
                    &p("report.docx"),
                ],
                4,
                &[
                    "bad.toml",
                    "accent \"teal\" is not a colour; write #rrggbb, e.g. #0a7f6f",
                ],
            ),
            row(
                "no run at the render path",
                &["render", &p("no-such-run")],
                4,
                &["no run at", "no-such-run", "run folder"],
            ),
            row(
                "no run to resume",
                &["ask", "--resume", &p("empty-library")],
                4,
                &["events.jsonl", "a run folder?"],
            ),
            row(
                "unusable library",
                &["ask", "Q?", "--library", &p("empty-library")],
                4,
                &["research library is empty", "holds no .md"],
            ),
            row(
                "some turns failed",
                &[
                    "--base-url",
                    &partial.url,
                    "--model",
                    "fake",
                    "-q",
                    "ask",
                    "Q?",
                    "--panel",
                    "cfo,cto,coo,brand-strategist",
                    "--rounds",
                    "1",
                    "--no-synthesis",
                    "--out",
                    &p("partial-run"),
                ],
                5,
                &["partial run"],
            ),
        ];
        for r in rows {
            // A missing model would also exit 4: input problems must be found first.
            let out = council(
                &r.args.iter().map(String::as_str).collect::<Vec<_>>(),
                &[("COUNCIL_MODEL_PATH", "/nonexistent/model.gguf")],
            );
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(r.code), "{}: {err}", r.what);
            for words in r.says {
                assert!(err.contains(words), "{}: {words:?} not in {err}", r.what);
            }
            if r.code == 4 {
                assert!(!err.contains("model file not found"), "{}: {err}", r.what);
            }
        }
    }

    #[test]
    fn ctrl_c_exits_130_and_says_how_to_resume() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(FakeServer::start_with(
            Arc::new(schema_answering),
            Duration::from_millis(300),
        ));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let child = Command::new(env!("CARGO_BIN_EXE_council"))
            .args([
                "--base-url",
                &server.url,
                "--model",
                "fake",
                "-q",
                "ask",
                "Q?",
            ])
            .args([
                "--panel",
                "cfo,cto,coo,brand-strategist",
                "--max-concurrency",
                "1",
            ])
            .arg("--out")
            .arg(&out)
            .env_remove("COUNCIL_CONFIG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::fs::read_to_string(out.join("events.jsonl")).map_or(0, |t| t.lines().count()) < 2
        {
            assert!(Instant::now() < deadline, "the run never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = Command::new("sh")
            .args(["-c", &format!("kill -INT {}", child.id())])
            .status()
            .unwrap();
        assert!(status.success());
        let done = child.wait_with_output().unwrap();
        let err = text(&done.stderr);
        assert_eq!(done.status.code(), Some(130), "{err}");
        assert!(
            err.contains("interrupted") && err.contains("--resume"),
            "{err}"
        );
        assert!(
            std::fs::read_to_string(out.join("events.jsonl"))
                .unwrap()
                .lines()
                .count()
                >= 2
        );
    }
}

/// Colour codes appear only on a terminal, and never with NO_COLOR set.
mod colour {
    use super::text;
    use council_tests::{FakeServer, Reply};
    use std::process::Command;

    /// Whether `s` holds an SGR (colour or style) escape sequence.
    fn has_sgr(s: &str) -> bool {
        s.match_indices("\u{1b}[").any(|(i, _)| {
            s[i + 2..]
                .chars()
                .find(|c| !c.is_ascii_digit() && *c != ';')
                == Some('m')
        })
    }

    /// `council chat` against a server that fails once, so a retry
    /// warning is logged; `pty` runs it on a pseudo-terminal (util-linux
    /// `script`). Returns everything written to stderr (and the terminal).
    fn warn_once(pty: bool, no_color: bool) -> String {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(FakeServer::start(vec![
            Reply::status(503, "busy"),
            Reply::completion("fine"),
        ]));
        let bin = env!("CARGO_BIN_EXE_council");
        let args = format!("--base-url {} --model m chat hi", server.url);
        let mut cmd = if pty {
            let mut c = Command::new("script");
            c.args(["-qec", &format!("{bin} {args}"), "/dev/null"]);
            c
        } else {
            let mut c = Command::new(bin);
            c.args(args.split(' '));
            c
        };
        for var in [
            "COUNCIL_CONFIG",
            "NO_COLOR",
            "OPENAI_API_KEY",
            "COUNCIL_API_KEY",
        ] {
            cmd.env_remove(var);
        }
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(all.contains("retrying in"), "no warning was logged: {all}");
        all
    }

    #[test]
    fn no_colour_codes_off_a_terminal_or_with_no_color() {
        let piped = warn_once(false, false);
        assert!(!has_sgr(&piped), "colour codes on a pipe: {piped:?}");
        let terminal_no_color = warn_once(true, true);
        assert!(
            !has_sgr(&terminal_no_color),
            "colour codes despite NO_COLOR: {terminal_no_color:?}"
        );
        // On a terminal without NO_COLOR the warning is coloured: the check above can fail.
        let terminal = warn_once(true, false);
        assert!(
            has_sgr(&terminal),
            "expected colour on a terminal: {terminal:?}"
        );
    }
}
