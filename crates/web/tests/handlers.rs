//! Every route of `council serve`, called on the Router without sockets
//! (tower's `oneshot`): pages, live events, downloads, the forms that start
//! jobs (run by a stand-in executable that records its arguments), and
//! each refusal: CSRF, token, Host, Origin, sizes, run ids that try to
//! leave the runs folder.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use council_core::{Event, Transcript};
use council_engine::RunStore;
use council_web::{router, PersonaCard, ServeConfig};
use http_body_util::BodyExt;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tower::ServiceExt;

const HOST: &str = "127.0.0.1:8080";
const XSS: &str = "<script>window.__xss=1</script><img src=x onerror=alert(2)>";

struct Site {
    app: Router,
    runs: PathBuf,
    args: PathBuf,
    _dir: tempfile::TempDir,
}

/// A stand-in `council`: writes its arguments, one per line, to `args`
/// (appending a `---` line after each job).
fn stand_in(dir: &Path, args: &Path) -> PathBuf {
    let exe = dir.join("council-stand-in.sh");
    std::fs::write(
        &exe,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{}'; done\necho --- >> '{}'\necho 'error: stand-in stops here' >&2\nexit 4\n",
            args.display(),
            args.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    exe
}

fn site_with(token: Option<&str>) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let args = dir.path().join("args.txt");
    let mut config = ServeConfig::new(runs.clone(), stand_in(dir.path(), &args));
    config.child_args = vec!["--base-url".into(), "http://127.0.0.1:9/v1".into()];
    config.token = token.map(str::to_string);
    config.sub_args = vec!["--personas".into(), "/my/personas".into()];
    // As a run would seat them: here, two or three picks.
    config.panel_check = Some(council_web::PanelCheck(std::sync::Arc::new(
        |ids: &[String]| match ids.len() {
            2 | 3 => Ok(()),
            n => Err(format!("the panel has {n} members; a panel seats 2 to 3")),
        },
    )));
    config.personas = vec![
        card("cfo", "The CFO"),
        card("cto", "The CTO"),
        card("evil", XSS),
    ];
    config.models = vec!["model-a".into(), "model-b".into()];
    config.poll_ms = 20;
    Site {
        app: router(config).unwrap(),
        runs,
        args,
        _dir: dir,
    }
}

fn site() -> Site {
    site_with(None)
}

fn card(id: &str, name: &str) -> PersonaCard {
    PersonaCard {
        id: id.into(),
        name: name.into(),
        role: format!("role of {name}"),
        focus: vec!["pricing".into()],
        seated: id == "cto",
    }
}

fn get(uri: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header(header::HOST, HOST)
        .body(Body::empty())
        .unwrap()
}

fn post_form(uri: &str, fields: &[(&str, &str)]) -> Request<Body> {
    let body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

const BOUNDARY: &str = "XcouncilX";

fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .bytes(),
        );
    }
    for (k, name, bytes) in files {
        body.extend(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").bytes());
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{BOUNDARY}--\r\n").bytes());
    body
}

fn post_multipart(body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri("/runs")
        .header(header::HOST, HOST)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap()
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let r = app.clone().oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

async fn csrf(app: &Router) -> String {
    let (_, _, page) = send(app, get("/")).await;
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..at + 64].to_string()
}

fn event(v: serde_json::Value) -> Event {
    serde_json::from_value(v).unwrap()
}

fn header_event(question: &str, rounds: u32) -> Event {
    event(
        json!({"event": "started", "version": 3, "question": question, "date": "2026-11-28",
        "lang": "en", "seed": 1, "rounds": rounds,
        "panel": [{"id": "cfo", "name": "The CFO", "role": "finance"},
                  {"id": "cto", "name": "The CTO", "role": "technology"}],
        "notes": [], "sources": [], "library": []}),
    )
}

fn turn_event(round: u32, persona: &str, text: &str) -> Event {
    event(
        json!({"event": "turn", "round": round, "persona": persona, "status": "ok",
        "move": "CHALLENGE", "text": text, "responds_to": ["cto"], "confidence": 62,
        "citations": [], "flags": [],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "cached_tokens": 0, "calls": 1, "unreported_calls": 0},
        "backend": "fake", "model": "fake"}),
    )
}

fn summary_event(round: u32) -> Event {
    event(
        json!({"event": "summary", "round": round, "text": "The board split.", "absent": [],
        "fallback": false,
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "cached_tokens": 0, "calls": 1, "unreported_calls": 0},
        "backend": "fake", "model": "fake"}),
    )
}

/// A finished one-round run under `runs/id`, with its transcript and
/// reports rendered as the CLI writes them.
fn finished_run(runs: &Path, id: &str, question: &str, answer: &str) -> PathBuf {
    let dir = runs.join(id);
    let mut store = RunStore::create(&dir).unwrap();
    store.append(header_event(question, 1)).unwrap();
    store.append(turn_event(1, "cfo", answer)).unwrap();
    store
        .append(turn_event(1, "cto", "Raise it for new customers only."))
        .unwrap();
    store.append(summary_event(1)).unwrap();
    store.write_transcript().unwrap();
    let t: Transcript = store.transcript().unwrap();
    let report = council_engine::report::report_for(&t, None);
    for f in [
        council_render::Format::Markdown,
        council_render::Format::Html,
        council_render::Format::Json,
    ] {
        let text = council_render::render(&report, f).unwrap();
        std::fs::write(dir.join(format!("report.{}", f.extension())), text).unwrap();
    }
    dir
}

async fn jobs_args(path: &Path, jobs: usize) -> Vec<Vec<String>> {
    for _ in 0..500 {
        if let Ok(text) = std::fs::read_to_string(path) {
            let done: Vec<Vec<String>> = text
                .split("---\n")
                .filter(|j| !j.is_empty())
                .map(|j| j.lines().map(str::to_string).collect())
                .collect();
            if done.len() >= jobs {
                return done;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the stand-in was not run {jobs} times");
}

#[tokio::test]
async fn the_new_question_page_offers_the_personas_escaped_under_the_security_headers() {
    let s = site();
    let (status, headers, page) = send(&s.app, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp
        .split(';')
        .any(|d| d.contains("script-src") && d.contains("unsafe-inline")));
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(page.contains("The CFO") && page.contains("role of The CTO"));
    assert!(
        page.contains("&lt;script&gt;window.__xss=1&lt;&#x2F;script&gt;"),
        "escaped persona name"
    );
    assert!(!page.contains(XSS));
    assert!(
        page.contains("<option value=\"model-b\""),
        "the configured models"
    );
    assert_eq!(page.matches("<script").count(), 1, "one script tag: app.js");
    assert!(page.contains("<script src=\"/static/app.js\"></script>"));
}

#[tokio::test]
async fn a_new_run_starts_a_job_with_the_forms_choices_and_lands_on_its_page() {
    let s = site();
    let token = csrf(&s.app).await;
    let q = "-15% or +15%? Should we raise list prices for new customers next quarter?";
    let body = multipart(
        &[
            ("csrf", &token),
            ("question", q),
            ("panel", "cfo"),
            ("panel", "cto"),
            ("rounds", "2"),
            ("lang", "de"),
            ("date", "2026-12-01"),
            ("seed", "7"),
            ("model", "model-b"),
        ],
        &[("sources", "../../notes.md", b"# Notes\nprice test")],
    );
    let (status, headers, _) = send(&s.app, post_multipart(body)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().unwrap().to_string();
    assert!(location.starts_with("/runs/2026-12-01-"), "{location}");
    let id = location.trim_start_matches("/runs/").to_string();
    let args = jobs_args(&s.args, 1).await.remove(0);
    let dir = s.runs.join(&id);
    let expected_head = [
        "--base-url",
        "http://127.0.0.1:9/v1",
        "ask",
        "--personas",
        "/my/personas",
        "--out",
    ];
    assert_eq!(&args[..6], &expected_head, "{args:?}");
    assert_eq!(args[6], dir.display().to_string());
    let pairs: Vec<(&str, &str)> = args
        .windows(2)
        .map(|w| (w[0].as_str(), w[1].as_str()))
        .collect();
    for want in [
        ("--rounds", "2"),
        ("--date", "2026-12-01"),
        ("--max-concurrency", "4"),
        ("--panel", "cfo,cto"),
        ("--lang", "de"),
        ("--seed", "7"),
        ("--model", "model-b"),
    ] {
        assert!(pairs.contains(&want), "{want:?} in {args:?}");
    }
    // A question beginning with a dash comes after `--`, last.
    assert_eq!(&args[args.len() - 2..], &["--".to_string(), q.to_string()]);
    // The upload is kept under the run, its name stripped of any path.
    let library = dir.join("sources");
    assert!(pairs.contains(&("--library", library.to_str().unwrap())));
    assert_eq!(
        std::fs::read_to_string(library.join("notes.md")).unwrap(),
        "# Notes\nprice test"
    );
    // The job ended before the run began: its page says why.
    for _ in 0..200 {
        let (_, _, page) = send(&s.app, get(&location)).await;
        if page.contains("badge-failed") {
            assert!(page.contains("stand-in stops here"), "{page}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the failed job never showed on its page");
}

#[tokio::test]
async fn bad_new_questions_are_refused_with_the_fix_and_start_nothing() {
    let s = site();
    let token = csrf(&s.app).await;
    let long = "x".repeat(4_001);
    type Case<'a> = (
        Vec<(&'a str, &'a str)>,
        Vec<(&'a str, &'a str, &'a [u8])>,
        StatusCode,
        &'a str,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            vec![("question", "Raise prices?")],
            vec![],
            StatusCode::FORBIDDEN,
            "CSRF token",
        ),
        (
            vec![("csrf", "0000"), ("question", "Raise prices?")],
            vec![],
            StatusCode::FORBIDDEN,
            "CSRF token",
        ),
        (
            vec![("csrf", &token), ("question", "  ")],
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "the question is empty",
        ),
        (
            vec![("csrf", &token), ("question", &long)],
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "the limit is 4000",
        ),
        (
            vec![("csrf", &token)],
            vec![("question_file", "q.bin", b"\x00\x01\x02")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "looks binary",
        ),
        (
            vec![("csrf", &token)],
            vec![("question_file", "q.txt", b"caf\xe9")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "not UTF-8",
        ),
        (
            vec![("csrf", &token), ("question", "Raise?"), ("rounds", "11")],
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "rounds must be",
        ),
        (
            vec![("csrf", &token), ("question", "Raise?"), ("lang", "xx")],
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "not a language",
        ),
        (
            vec![
                ("csrf", &token),
                ("question", "Raise?"),
                ("date", "tomorrow"),
            ],
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "YYYY-MM-DD",
        ),
        (
            vec![
                ("csrf", &token),
                ("question", "Raise?"),
                ("panel", "nobody"),
            ],
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "no persona",
        ),
        (
            vec![("csrf", &token), ("question", "Raise?"), ("panel", "cfo")],
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "the panel has 1 members; a panel seats 2 to 3 (or pick none",
        ),
        (
            vec![("csrf", &token), ("question", "Raise?"), ("model", "gpt-9")],
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "configured models",
        ),
        (
            vec![("csrf", &token), ("question", "Raise?"), ("seed", "seven")],
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "whole number",
        ),
    ];
    for (fields, files, status, says) in cases {
        let (got, _, page) = send(&s.app, post_multipart(multipart(&fields, &files))).await;
        assert_eq!(got, status, "{fields:?}: {page}");
        assert!(
            page.contains(says),
            "{fields:?} should say {says:?}: {page}"
        );
    }
    // The question the user typed is kept in the form shown again.
    let (_, _, page) = send(
        &s.app,
        post_multipart(multipart(
            &[
                ("csrf", &token),
                ("question", "Raise <b>now</b>?"),
                ("rounds", "0"),
            ],
            &[],
        )),
    )
    .await;
    assert!(
        page.contains("Raise &lt;b&gt;now&lt;&#x2F;b&gt;?"),
        "{page}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!s.args.exists(), "no job was started");
    assert!(!s.runs.exists() || std::fs::read_dir(&s.runs).unwrap().count() == 0);
}

#[tokio::test]
async fn request_bodies_past_the_limits_are_refused() {
    let s = site();
    let token = csrf(&s.app).await;
    let huge = vec![b'a'; council_web::UPLOAD_LIMIT + 1024];
    let (status, _, _) = send(
        &s.app,
        post_multipart(multipart(
            &[("csrf", &token), ("question", "Q?")],
            &[("sources", "big.txt", &huge)],
        )),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    finished_run(&s.runs, "r1", "Raise prices?", "Yes.");
    let big = "q".repeat(council_web::FORM_LIMIT + 10);
    let (status, _, _) = send(
        &s.app,
        post_form("/runs/r1/followup", &[("csrf", &token), ("question", &big)]),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!s.args.exists(), "no job was started");
}

#[tokio::test]
async fn run_ids_never_reach_outside_the_runs_folder() {
    let s = site();
    finished_run(&s.runs, "r1", "Raise prices?", "Yes.");
    // A secret beside the runs folder, and a link out of it.
    let outside = s.runs.parent().unwrap().join("secret");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("report.html"), "TOP SECRET").unwrap();
    std::fs::write(outside.join("events.jsonl"), "").unwrap();
    std::os::unix::fs::symlink(&outside, s.runs.join("link")).unwrap();
    let token = csrf(&s.app).await;
    for id in [
        "..%2Fsecret",
        "%2Fetc",
        "r1%2F..%2F..%2Fsecret",
        ".hidden",
        "link",
        "%2E%2E",
    ] {
        for (uri, post) in [
            (format!("/runs/{id}"), false),
            (format!("/runs/{id}/events"), false),
            (format!("/runs/{id}/report"), false),
            (format!("/runs/{id}/report.html"), false),
            (format!("/runs/{id}/download/md"), false),
            (format!("/runs/{id}/delete"), false),
            (format!("/studies/{id}"), false),
            (format!("/compare?a=r1&b={id}"), false),
            (format!("/runs/{id}/delete"), true),
            (format!("/runs/{id}/resume"), true),
            (format!("/runs/{id}/followup"), true),
        ] {
            let req = if post {
                post_form(&uri, &[("csrf", &token), ("question", "Why?")])
            } else {
                get(&uri)
            };
            let (status, _, page) = send(&s.app, req).await;
            assert!(
                status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
                "{uri}: {status}"
            );
            assert!(!page.contains("TOP SECRET"), "{uri}");
        }
    }
    assert!(
        outside.join("report.html").exists(),
        "nothing outside was deleted"
    );
    assert!(!s.args.exists(), "no job was started");
    let (status, _, page) = send(&s.app, get("/runs/..%2Fsecret")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("not a run id"), "{page}");
    let (status, _, _) = send(&s.app, get("/runs/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_runs_page_lists_searches_and_escapes() {
    let s = site();
    finished_run(&s.runs, "a", "Should we raise prices?", "Yes.");
    finished_run(&s.runs, "b", &format!("Hire a CRO? {XSS}"), "No.");
    finished_run(
        &s.runs,
        "a/variants/board-brief",
        "Should we raise prices?",
        "Yes.",
    );
    let dir = s.runs.join("c");
    let mut store = RunStore::create(&dir).unwrap();
    store
        .append(header_event("Open an office in Berlin?", 5))
        .unwrap();
    drop(store); // stopped without a transcript: interrupted
    let (status, _, page) = send(&s.app, get("/runs")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("1–4 of 4 runs, newest first"), "{page}");
    assert!(page.contains("Hire a CRO? &lt;script&gt;"));
    assert!(!page.contains(XSS));
    assert!(page.contains("href=\"/runs/a%2Fvariants%2Fboard-brief\""));
    let (_, _, page) = send(&s.app, get("/runs?q=RAISE")).await;
    assert!(
        page.contains("1–2 of 2 runs matching (4 in all)") && !page.contains("Berlin"),
        "{page}"
    );
    let (_, _, page) = send(&s.app, get("/runs?status=interrupted")).await;
    assert!(
        page.contains("1–1 of 1 run matching (4 in all)") && page.contains("Berlin"),
        "{page}"
    );
    let (_, _, page) = send(&s.app, get("/runs?date=2026-11")).await;
    assert!(page.contains("1–4 of 4 runs, newest first"), "{page}");
    let (_, _, page) = send(&s.app, get("/runs?date=2025")).await;
    assert!(page.contains("None of 4 runs matches"), "{page}");
}

#[tokio::test]
async fn a_run_page_shows_every_turn_escaped_and_offers_resume_when_interrupted() {
    let s = site();
    finished_run(&s.runs, "r1", "Raise prices?", XSS);
    let (status, _, page) = send(&s.app, get("/runs/r1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page.matches("class=\"ev ev-turn").count(), 2);
    assert!(page.contains("Round 1: Opening positions"));
    assert!(page.contains("&lt;img src=x onerror=alert(2)&gt;"));
    assert!(!page.contains("<img src=x"));
    assert!(page.contains("data-after=\"4\"") && page.contains("data-live=\"false\""));
    assert!(page.contains("Read the report") && !page.contains("resume-form"));
    let dir = s.runs.join("r2");
    let mut store = RunStore::create(&dir).unwrap();
    store.append(header_event("Open in Berlin?", 2)).unwrap();
    store.append(turn_event(1, "cfo", "No.")).unwrap();
    drop(store);
    let (_, _, page) = send(&s.app, get("/runs/r2")).await;
    assert!(
        page.contains("badge-interrupted") && page.contains("resume-form"),
        "{page}"
    );
}

fn sse_ids(body: &str) -> Vec<usize> {
    body.lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|n| n.parse().unwrap())
        .collect()
}

#[tokio::test]
async fn events_of_a_finished_run_come_once_in_order_from_after_the_last_id() {
    let s = site();
    finished_run(&s.runs, "r1", "Raise prices?", XSS);
    let (status, headers, body) = send(&s.app, get("/runs/r1/events")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
    assert_eq!(sse_ids(&body), vec![1, 2, 3, 4]);
    assert!(body.contains("event: end") && body.contains("The board has finished."));
    assert!(body.contains("&lt;script&gt;") && !body.contains("<script>"));
    let mut req = get("/runs/r1/events?after=1");
    req.headers_mut()
        .insert("last-event-id", "2".parse().unwrap());
    let (_, _, body) = send(&s.app, req).await;
    assert_eq!(sse_ids(&body), vec![3, 4], "Last-Event-ID wins over ?after");
    let (_, _, body) = send(&s.app, get("/runs/r1/events?after=3")).await;
    assert_eq!(sse_ids(&body), vec![4]);
}

#[tokio::test]
async fn a_live_run_is_followed_as_it_is_written_then_ends() {
    let s = site();
    let dir = s.runs.join("live");
    let mut store = RunStore::create(&dir).unwrap();
    store.append(header_event("Raise prices?", 1)).unwrap();
    let r = s
        .app
        .clone()
        .oneshot(get("/runs/live/events"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.into_body();
    let mut seen = String::new();
    let mut next = async |seen: &mut String, want: &str| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !seen.contains(want) {
            let frame = tokio::time::timeout_at(deadline, body.frame())
                .await
                .unwrap_or_else(|_| panic!("no {want:?} in {seen}"));
            match frame {
                Some(Ok(f)) => {
                    if let Some(d) = f.data_ref() {
                        seen.push_str(&String::from_utf8_lossy(d));
                    }
                }
                _ => break,
            }
        }
    };
    next(&mut seen, "id: 1").await;
    next(&mut seen, "event: status\ndata: running").await;
    store
        .append(turn_event(1, "cfo", "Only for new customers."))
        .unwrap();
    next(&mut seen, "id: 2").await;
    assert!(seen.contains("Only for new customers."));
    store.append(turn_event(1, "cto", "Agreed.")).unwrap();
    store.append(summary_event(1)).unwrap();
    store.write_transcript().unwrap();
    drop(store); // the writer is gone: the stream ends
    next(&mut seen, "event: end").await;
    assert_eq!(sse_ids(&seen), vec![1, 2, 3, 4]);
}

#[tokio::test]
async fn the_report_page_downloads_and_its_refusals() {
    let s = site();
    let dir = finished_run(&s.runs, "r1", "Raise prices?", "Yes.");
    let (status, _, page) = send(&s.app, get("/runs/r1/report")).await;
    assert_eq!(status, StatusCode::OK);
    for f in ["md", "html", "json", "pdf", "docx"] {
        assert!(page.contains(&format!("/runs/r1/download/{f}")), "{f}");
    }
    assert!(
        page.contains("id=\"followup-form\"")
            && page.contains("id=\"variant-form\"")
            && page.contains("id=\"branch-form\"")
    );
    assert!(page.contains("src=\"/runs/r1/report.html\""));
    let (status, _, html) = send(&s.app, get("/runs/r1/report.html")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        html,
        std::fs::read_to_string(dir.join("report.html")).unwrap()
    );
    let (status, headers, md) = send(&s.app, get("/runs/r1/download/md")).await;
    assert_eq!(status, StatusCode::OK);
    // Drawn from the transcript with the run's cost, as `council render`
    // draws it: the report written at the run's end, and the cost table.
    let (before_cost, cost) = md.split_once("## Cost of this run").expect("a cost table");
    let written = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(written.starts_with(before_cost), "{md}");
    assert!(cost.contains("| **Total** | 3 |"), "{cost}");
    assert!(headers[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"council-r1.md\""));
    // Written from the transcript when the file is not on disk.
    let r = s
        .app
        .clone()
        .oneshot(get("/runs/r1/download/docx"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..2], b"PK", "a DOCX is a zip");
    let (status, _, _) = send(&s.app, get("/runs/r1/download/exe")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = send(&s.app, get("/runs/r1/report.html/../events")).await;
    assert_ne!(status, StatusCode::OK);
}

#[tokio::test]
async fn both_forms_refuse_an_unknown_language_with_the_one_message() {
    let s = site();
    finished_run(&s.runs, "r1", "Raise prices?", "Yes.");
    let token = csrf(&s.app).await;
    // The message every front end gives, as the page escapes it.
    let says = council_core::lang::check("xx")
        .unwrap_err()
        .to_string()
        .replace('"', "&quot;");
    let (status, _, page) = send(
        &s.app,
        post_multipart(multipart(
            &[("csrf", &token), ("question", "Raise?"), ("lang", "xx")],
            &[],
        )),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(&says), "{page}");
    let (status, _, page) = send(
        &s.app,
        post_form(
            "/runs/r1/variant",
            &[
                ("csrf", &token),
                ("audience", "board"),
                ("length", "brief"),
                ("lang", "xx"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(&says), "{page}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!s.args.exists(), "no job was started");
}

#[tokio::test]
async fn follow_up_variant_branch_and_resume_start_the_right_jobs() {
    let s = site();
    let dir = finished_run(&s.runs, "r1", "Raise prices?", "Yes.");
    let token = csrf(&s.app).await;
    let d = dir.display().to_string();
    let (status, headers, _) = send(
        &s.app,
        post_form(
            "/runs/r1/followup",
            &[
                ("csrf", &token),
                ("question", "-What about existing customers?"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/runs/r1");
    let args = jobs_args(&s.args, 1).await;
    // The stand-in fails: the run's stream ends saying so, the run unharmed.
    let (_, _, body) = send(&s.app, get("/runs/r1/events")).await;
    assert!(
        body.contains("The follow-up stopped with an error: error: stand-in stops here"),
        "{body}"
    );
    assert_eq!(args[0][2], "followup");
    assert_eq!(
        &args[0][3..5],
        ["--personas", "/my/personas"],
        "after the subcommand"
    );
    assert_eq!(
        &args[0][5..],
        &[
            &d,
            "--max-concurrency",
            "4",
            "--",
            "-What about existing customers?"
        ]
        .map(String::from)
    );

    let (status, headers, _) = send(
        &s.app,
        post_form(
            "/runs/r1/variant",
            &[
                ("csrf", &token),
                ("audience", "investor"),
                ("length", "brief"),
                ("lang", "fr"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/runs/r1%2Fvariants%2Finvestor-brief-fr"
    );
    let args = jobs_args(&s.args, 2).await;
    assert_eq!(args[1][2], "variant");
    assert_eq!(
        &args[1][3..5],
        ["--personas", "/my/personas"],
        "after the subcommand"
    );
    assert_eq!(
        &args[1][5..],
        &[
            &d,
            "--audience",
            "investor",
            "--length",
            "brief",
            "--lang",
            "fr",
            "--name",
            "investor-brief-fr",
            "--max-concurrency",
            "4"
        ]
        .map(String::from)
    );

    let (status, headers, _) = send(
        &s.app,
        post_form(
            "/runs/r1/branch",
            &[
                ("csrf", &token),
                ("from_round", "1"),
                ("question", "What if we cut prices?"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/runs/r1%2Fbranches%2Ffrom-round-1-what-if-we-cut"
    );
    let args = jobs_args(&s.args, 3).await;
    let out = s
        .runs
        .join("r1/branches/from-round-1-what-if-we-cut")
        .display()
        .to_string();
    assert_eq!(args[2][2], "branch");
    assert_eq!(
        &args[2][3..5],
        ["--personas", "/my/personas"],
        "after the subcommand"
    );
    assert_eq!(
        &args[2][5..],
        &[
            &d,
            "--from-round",
            "1",
            "--out",
            &out,
            "--max-concurrency",
            "4",
            "--question=What if we cut prices?"
        ]
        .map(String::from)
    );

    // Resume: only a run that is not running and not finished well.
    let r2 = s.runs.join("r2");
    let mut store = RunStore::create(&r2).unwrap();
    store.append(header_event("Open in Berlin?", 2)).unwrap();
    let (status, _, page) = send(&s.app, post_form("/runs/r2/resume", &[("csrf", &token)])).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a live run is not resumed: {page}"
    );
    drop(store);
    let (status, _, _) = send(&s.app, post_form("/runs/r2/resume", &[("csrf", &token)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let args = jobs_args(&s.args, 4).await;
    assert_eq!(args[3][2], "ask");
    assert_eq!(
        &args[3][3..5],
        ["--personas", "/my/personas"],
        "after the subcommand"
    );
    assert_eq!(
        &args[3][5..],
        &["--resume", r2.to_str().unwrap(), "--max-concurrency", "4"].map(String::from)
    );

    // A run whose follow-up stopped half-way: resuming finishes the
    // follow-up (asking the debate again would do nothing).
    let r3 = finished_run(&s.runs, "r3", "Hire a COO?", "Yes.");
    let mut store = RunStore::open(&r3).unwrap();
    store
        .append(council_core::Event::Followup(council_core::FollowupAsked {
            number: 1,
            question: "And in 2028?".into(),
        }))
        .unwrap();
    drop(store);
    let (_, _, page) = send(&s.app, get("/runs/r3")).await;
    assert!(
        page.contains("badge-interrupted") && page.contains("resume-form"),
        "{page}"
    );
    let (status, _, _) = send(&s.app, post_form("/runs/r3/resume", &[("csrf", &token)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let args = jobs_args(&s.args, 5).await;
    assert_eq!(args[4][2], "followup");
    assert_eq!(
        &args[4][5..],
        &[r3.to_str().unwrap(), "--max-concurrency", "4", "--resume"].map(String::from)
    );

    // Refusals: no token, a bad choice, an empty question, a round out of range.
    for (uri, fields, status, says) in [
        (
            "/runs/r1/followup",
            vec![("question", "Why?")],
            StatusCode::FORBIDDEN,
            "CSRF",
        ),
        (
            "/runs/r1/followup",
            vec![("csrf", token.as_str()), ("question", " ")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "empty",
        ),
        (
            "/runs/r1/variant",
            vec![
                ("csrf", token.as_str()),
                ("audience", "martians"),
                ("length", "brief"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "choose an audience",
        ),
        (
            "/runs/r1/branch",
            vec![("csrf", token.as_str()), ("from_round", "9")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "from 1 to 1",
        ),
        (
            "/runs/r1/cancel",
            vec![("csrf", token.as_str())],
            StatusCode::CONFLICT,
            "Ctrl-C",
        ),
        ("/runs/r1/cancel", vec![], StatusCode::FORBIDDEN, "CSRF"),
    ] {
        let (got, _, page) = send(&s.app, post_form(uri, &fields)).await;
        assert_eq!(got, status, "{uri} {fields:?}: {page}");
        assert!(page.contains(says), "{uri}: {page}");
    }
    assert_eq!(jobs_args(&s.args, 5).await.len(), 5, "no other job started");
}

#[tokio::test]
async fn a_queued_job_is_cancelled_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let args = dir.path().join("args.txt");
    // One call in flight in all: a job holding it makes the next one wait.
    let slow = dir.path().join("slow.sh");
    std::fs::write(
        &slow,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec sleep 30\n",
            args.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut config = ServeConfig::new(runs.clone(), slow);
    config.max_calls = 1;
    config.calls_per_run = 1;
    let app = router(config).unwrap();
    finished_run(&runs, "a", "A?", "Yes.");
    finished_run(&runs, "b", "B?", "Yes.");
    let token = csrf(&app).await;
    for id in ["a", "b"] {
        let (status, _, _) = send(
            &app,
            post_form(
                &format!("/runs/{id}/followup"),
                &[("csrf", &token), ("question", "More?")],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    for _ in 0..500 {
        if std::fs::read_to_string(&args).is_ok_and(|t| t.lines().count() == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, _, page) = send(&app, get("/runs/b")).await;
    assert!(
        page.contains("badge-queued"),
        "the second waits for the bound: {page}"
    );
    let (_, _, page) = send(&app, get("/runs/a")).await;
    assert!(
        page.contains("badge-running") && page.contains("cancel-form"),
        "{page}"
    );
    for id in ["b", "a"] {
        let (status, _, _) = send(
            &app,
            post_form(&format!("/runs/{id}/cancel"), &[("csrf", &token)]),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
    }
    for _ in 0..1000 {
        let (_, _, a) = send(&app, get("/runs/a")).await;
        let (_, _, b) = send(&app, get("/runs/b")).await;
        if !a.contains("badge-running") && !b.contains("badge-queued") {
            let started = std::fs::read_to_string(&args).unwrap();
            assert_eq!(
                started.lines().count(),
                1,
                "the queued job never ran: {started}"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cancelled jobs still show as active");
}

#[tokio::test]
async fn delete_asks_first_then_removes_only_a_stopped_run() {
    let s = site();
    finished_run(&s.runs, "r1", "Raise prices?", "Yes.");
    let token = csrf(&s.app).await;
    let (status, _, page) = send(&s.app, get("/runs/r1/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Delete this run?") && page.contains("cannot be undone"));
    assert!(s.runs.join("r1").exists(), "asking deletes nothing");
    let (status, _, _) = send(&s.app, post_form("/runs/r1/delete", &[])).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, headers, _) =
        send(&s.app, post_form("/runs/r1/delete", &[("csrf", &token)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/runs");
    assert!(!s.runs.join("r1").exists());
    let mut store = RunStore::create(&s.runs.join("live")).unwrap();
    store.append(header_event("Q?", 1)).unwrap();
    let (status, _, _) = send(&s.app, post_form("/runs/live/delete", &[("csrf", &token)])).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(s.runs.join("live").exists());
    std::fs::create_dir_all(s.runs.join("plain")).unwrap();
    std::fs::write(s.runs.join("plain/notes.txt"), "mine").unwrap();
    let (status, _, _) = send(&s.app, post_form("/runs/plain/delete", &[("csrf", &token)])).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "a folder that is no run is kept"
    );
    assert!(s.runs.join("plain/notes.txt").exists());
}

#[tokio::test]
async fn side_by_side_and_a_studys_comparison() {
    let s = site();
    finished_run(&s.runs, "r1", "Raise prices?", "Yes.");
    finished_run(
        &s.runs,
        "r1/variants/board-brief",
        "Raise prices?",
        "Yes, briefly.",
    );
    let (status, _, page) = send(&s.app, get("/compare?a=r1&b=r1%2Fvariants%2Fboard-brief")).await;
    assert_eq!(status, StatusCode::OK);
    // Section beside section, in the report's order; the verdict's
    // section differs (the CFO's answer is the verdict's source here only
    // through the rounds), the question's does not.
    let headings: Vec<&str> = page
        .split("<section class=\"sbs-row")
        .skip(1)
        .map(|r| {
            let h = &r[r.find("<h3>").unwrap() + 4..];
            h[..h.find('<').unwrap()].trim()
        })
        .collect();
    assert!(headings.len() > 5, "{headings:?}");
    assert_eq!(headings[0], "The question");
    assert!(
        headings.contains(&"Verdict") && headings.contains(&"Forecasts"),
        "{headings:?}"
    );
    assert_eq!(
        page.matches("class=\"sbs-a\"").count(),
        page.matches("class=\"sbs-b\"").count(),
        "every row has an A and a B column"
    );
    let rounds_row = page
        .split("<section class=\"sbs-row")
        .find(|r| r.contains("<h3>The debate, round by round"))
        .unwrap_or_else(|| panic!("no rounds row in {headings:?}"));
    assert!(
        rounds_row.starts_with(" changed") && rounds_row.contains("Yes, briefly."),
        "the rounds differ (the CFO's answer) and are marked: {rounds_row}"
    );
    let question_row = page.split("<section class=\"sbs-row").nth(1).unwrap();
    assert!(!question_row.starts_with(" changed"), "{question_row}");
    assert!(page.contains("href=\"/diff?a=r1&amp;b=r1%2Fvariants%2Fboard-brief\""));
    let (status, _, _) = send(&s.app, get("/studies/r1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a run is not a study");
    let study = s.runs.join("s1");
    std::fs::create_dir_all(&study).unwrap();
    std::fs::write(study.join("study.json"), "{}").unwrap();
    finished_run(&s.runs, "s1/runs/q1-m1-r1", "Raise prices?", "Yes.");
    finished_run(&s.runs, "s1/runs/q1-m1-r2", "Raise prices?", "No.");
    let (status, _, page) = send(&s.app, get("/studies/s1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("2 runs read"), "{page}");
    let (status, _, html) = send(&s.app, get("/studies/s1/compare.html")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<table") && html.contains("q1-m1-r2"),
        "{html}"
    );
    let (_, _, page) = send(&s.app, get("/runs")).await;
    assert!(
        page.contains("href=\"/studies/s1\""),
        "the runs page lists the study"
    );
}

#[tokio::test]
async fn assets_and_unknown_addresses() {
    let s = site();
    let (status, headers, js) = send(&s.app, get("/static/app.js")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    assert!(js.contains("EventSource"));
    let (status, _, _) = send(&s.app, get("/static/..%2F..%2FCargo.toml")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, page) = send(&s.app, get("/no/such/page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("There is no page at this address."));
}

#[tokio::test]
async fn on_loopback_another_host_name_and_a_foreign_origin_are_refused() {
    let s = site();
    let mut req = get("/");
    req.headers_mut()
        .insert(header::HOST, "evil.example:8080".parse().unwrap());
    let (status, _, page) = send(&s.app, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "DNS rebinding");
    assert!(page.contains("--host"));
    for host in ["localhost:8080", "[::1]:8080", "127.0.0.1"] {
        let mut req = get("/");
        req.headers_mut()
            .insert(header::HOST, host.parse().unwrap());
        assert_eq!(send(&s.app, req).await.0, StatusCode::OK, "{host}");
    }
    finished_run(&s.runs, "r1", "Q?", "Yes.");
    let token = csrf(&s.app).await;
    let mut req = post_form(
        "/runs/r1/followup",
        &[("csrf", &token), ("question", "Why?")],
    );
    req.headers_mut()
        .insert(header::ORIGIN, "http://evil.example".parse().unwrap());
    let (status, _, _) = send(&s.app, req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!s.args.exists(), "no job was started");
}

#[tokio::test]
async fn with_a_token_every_request_needs_it_then_a_strict_http_only_session() {
    let token = "correct-horse-battery-staple-42";
    let s = site_with(Some(token));
    let mut req = get("/");
    req.headers_mut()
        .insert(header::HOST, "192.168.1.5:8080".parse().unwrap());
    let (status, _, page) = send(&s.app, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("?token="), "{page}");
    for uri in ["/runs", "/runs/x/events", "/static/app.js", "/?token=wrong"] {
        assert_eq!(
            send(&s.app, get(uri)).await.0,
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
    }
    let (status, headers, _) = send(&s.app, get(&format!("/runs?token={token}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/runs",
        "the token leaves the address"
    );
    let cookie = headers[header::SET_COOKIE].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains(token), "the cookie is not the token");
    let session = cookie.split(';').next().unwrap().to_string();
    let mut req = get("/runs");
    req.headers_mut()
        .insert(header::COOKIE, session.parse().unwrap());
    assert_eq!(send(&s.app, req).await.0, StatusCode::OK);
    let mut req = get("/runs");
    req.headers_mut()
        .insert(header::COOKIE, "council_session=forged".parse().unwrap());
    assert_eq!(send(&s.app, req).await.0, StatusCode::UNAUTHORIZED);
    let mut req = get("/runs");
    req.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    assert_eq!(send(&s.app, req).await.0, StatusCode::OK);
    // A page never shows the token.
    let mut req = get("/");
    req.headers_mut()
        .insert(header::COOKIE, session.parse().unwrap());
    let (_, _, page) = send(&s.app, req).await;
    assert!(page.contains("Ask the board") && !page.contains(token));
}

#[tokio::test]
async fn a_cancelled_run_offers_resume_as_soon_as_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let args = dir.path().join("args.txt");
    // A job that runs until it is interrupted (SIGINT ends the sleep).
    let slow = dir.path().join("slow.sh");
    std::fs::write(
        &slow,
        format!(
            "#!/bin/sh\necho \"$@\" >> '{}'\nexec sleep 30\n",
            args.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut config = ServeConfig::new(runs.clone(), slow);
    config.poll_ms = 20;
    let app = router(config).unwrap();
    // A debate stopped after its first turn.
    let mut store = RunStore::create(&runs.join("r")).unwrap();
    store.append(header_event("Raise prices?", 2)).unwrap();
    store.append(turn_event(1, "cfo", "Yes.")).unwrap();
    drop(store);
    let token = csrf(&app).await;
    let (status, _, _) = send(&app, post_form("/runs/r/resume", &[("csrf", &token)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    for _ in 0..500 {
        if args.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, _, page) = send(&app, get("/runs/r")).await;
    assert!(
        page.contains("badge-running") && !page.contains("resume-form"),
        "{page}"
    );
    let (status, _, _) = send(&app, post_form("/runs/r/cancel", &[("csrf", &token)])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // The page the browser is on keeps its stream: it ends with Resume.
    let (_, _, stream) = send(&app, get("/runs/r/events?after=2")).await;
    let end = stream
        .split("event: end")
        .nth(1)
        .unwrap_or_else(|| panic!("no end event: {stream}"));
    assert!(end.contains("cancelled"), "{end}");
    assert!(end.contains("action=\"/runs/r/resume\""), "{end}");
    let (_, _, page) = send(&app, get("/runs/r")).await;
    assert!(
        page.contains("resume-form"),
        "and on the page drawn again: {page}"
    );
}

/// A header with a start time, as runs write it now.
fn header_at(question: &str, date: &str, started: &str) -> Event {
    event(
        json!({"event": "started", "version": 3, "question": question, "date": date,
        "lang": "en", "seed": 1, "rounds": 2, "started": started,
        "panel": [{"id": "cfo", "name": "The CFO", "role": "finance"},
                  {"id": "cto", "name": "The CTO", "role": "technology"}],
        "notes": [], "sources": [], "library": []}),
    )
}

fn rows_of(page: &str) -> Vec<String> {
    page.split("<td class=\"nowrap began\">")
        .skip(1)
        .map(|r| r[..r.find('<').unwrap()].to_string())
        .collect()
}

#[tokio::test]
async fn runs_are_listed_newest_first_by_their_start_time_fifty_a_page_with_the_search_kept() {
    let s = site();
    // 120 runs whose folder names run against their start times (folder
    // r000 began last), half of them asking about "even" things.
    for i in 0..120u32 {
        let minute = 119 - i;
        let (h, m) = (minute / 60, minute % 60);
        let word = if i % 2 == 0 { "even" } else { "odd" };
        let mut store = RunStore::create(&s.runs.join(format!("r{i:03}"))).unwrap();
        store
            .append(header_at(
                &format!("Question {i} ({word})?"),
                "2026-12-01",
                &format!("2026-12-01T1{h}:{m:02}:00Z"),
            ))
            .unwrap();
    }
    // A run from before headers kept the time: by its date, older.
    let mut store = RunStore::create(&s.runs.join("a-old")).unwrap();
    store.append(header_event("Old question?", 1)).unwrap();
    drop(store);

    let (status, _, page) = send(&s.app, get("/runs")).await;
    assert_eq!(status, StatusCode::OK);
    let rows = rows_of(&page);
    assert_eq!(rows.len(), 50, "fifty a page");
    assert_eq!(
        rows[0], "2026-12-01 11:59 UTC",
        "newest first, with its time"
    );
    assert_eq!(rows[1], "2026-12-01 11:58 UTC");
    assert!(
        page.contains("href=\"/runs/r000\""),
        "r000 began last: first"
    );
    assert!(page.contains("1–50 of 121 runs, newest first"), "{page}");
    assert!(page.contains("Page 1 of 3"));
    assert!(
        page.contains("href=\"/runs?page=2\" rel=\"next\""),
        "{page}"
    );
    assert!(!page.contains("rel=\"prev\""));

    let (_, _, page) = send(&s.app, get("/runs?page=3")).await;
    let rows = rows_of(&page);
    assert_eq!(rows.len(), 21);
    assert_eq!(
        rows.last().unwrap(),
        "2026-11-28",
        "the untimed run last, by its date"
    );
    assert!(page.contains("101–121 of 121 runs"), "{page}");
    assert!(page.contains("href=\"/runs?page=2\" rel=\"prev\""));

    // The search holds across pages, and its links keep it.
    let (_, _, page) = send(&s.app, get("/runs?q=EVEN&page=2")).await;
    let rows = rows_of(&page);
    assert_eq!(rows.len(), 10, "60 even runs: 50, then 10");
    assert!(
        page.contains("51–60 of 60 runs matching (121 in all)"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/runs?page=1&amp;q=EVEN\" rel=\"prev\""),
        "{page}"
    );
    assert!(!page.contains("(odd)"));
    let (_, _, page) = send(&s.app, get("/runs?page=99&q=even")).await;
    assert!(
        page.contains("Page 2 of 2"),
        "a page past the last is the last"
    );
    // The compare form offers the page's runs, for the diff and side by side.
    assert!(page.contains("id=\"compare-form\"") && page.contains("action=\"/diff\""));
}

#[tokio::test]
async fn a_variant_takes_tone_emphasis_and_name_and_a_branch_a_swap_and_a_model() {
    let s = site();
    let dir = finished_run(&s.runs, "r1", "Raise prices?", "Yes.");
    let d = dir.display().to_string();
    let token = csrf(&s.app).await;
    let (status, headers, _) = send(
        &s.app,
        post_form(
            "/runs/r1/variant",
            &[
                ("csrf", &token),
                ("audience", "client"),
                ("length", "full"),
                ("lang", ""),
                ("tone", "warm, confident"),
                ("emphasis", "-cash runway"),
                ("name", "acme-brief"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/runs/r1%2Fvariants%2Facme-brief"
    );
    let args = jobs_args(&s.args, 1).await;
    assert_eq!(
        &args[0][5..],
        &[
            &d,
            "--audience",
            "client",
            "--length",
            "full",
            "--name",
            "acme-brief",
            "--max-concurrency",
            "4",
            "--tone=warm, confident",
            "--emphasis=-cash runway",
        ]
        .map(String::from)
    );
    // A name that is no folder name, or one taken, is refused.
    std::fs::create_dir_all(dir.join("variants/taken")).unwrap();
    for (name, says) in [
        ("../x", "cannot name a variant"),
        ("taken", "already has a variant named taken"),
    ] {
        let (status, _, page) = send(
            &s.app,
            post_form(
                "/runs/r1/variant",
                &[
                    ("csrf", &token),
                    ("audience", "client"),
                    ("length", "full"),
                    ("name", name),
                ],
            ),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(page.contains(says), "{name}: {page}");
    }

    // The branch: the CFO's seat to "evil", who speaks through model-b.
    let (status, headers, _) = send(
        &s.app,
        post_form(
            "/runs/r1/branch",
            &[
                ("csrf", &token),
                ("from_round", "1"),
                ("question", ""),
                ("swap_old", "cfo"),
                ("swap_new", "evil"),
                ("panel", ""),
                ("model_persona", "evil"),
                ("model", "model-b"),
            ],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/runs/r1%2Fbranches%2Ffrom-round-1-evil-for-cfo"
    );
    let args = jobs_args(&s.args, 2).await;
    let out = s
        .runs
        .join("r1/branches/from-round-1-evil-for-cfo")
        .display()
        .to_string();
    assert_eq!(
        &args[1][5..],
        &[
            &d,
            "--from-round",
            "1",
            "--swap",
            "cfo=evil",
            "--persona-model",
            "evil=model-b",
            "--out",
            &out,
            "--max-concurrency",
            "4",
        ]
        .map(String::from)
    );
    // Refusals, each naming the fix; no job started for any.
    for (fields, says) in [
        (
            vec![("swap_old", "cto"), ("swap_new", "")],
            "choose both who leaves and who takes the seat",
        ),
        (
            vec![("swap_old", "evil"), ("swap_new", "cfo")],
            "evil does not sit on this run",
        ),
        (
            vec![("swap_old", "cfo"), ("swap_new", "cto")],
            "cto cannot take the seat",
        ),
        (
            vec![
                ("swap_old", "cfo"),
                ("swap_new", "evil"),
                ("panel", "cfo,cto"),
            ],
            "not both",
        ),
        (vec![("panel", "cfo")], "a panel seats 2 to 3"),
        (
            vec![("model_persona", "evil"), ("model", "m")],
            "evil does not sit on the branch",
        ),
        (
            vec![("model_persona", "cfo"), ("model", "")],
            "choose both the advisor and the model",
        ),
    ] {
        let mut form = vec![("csrf", token.as_str()), ("from_round", "1")];
        form.extend(fields.iter().copied());
        let (status, _, page) = send(&s.app, post_form("/runs/r1/branch", &form)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(page.contains(says), "{fields:?}: {page}");
    }
    assert_eq!(
        jobs_args(&s.args, 2).await.len(),
        2,
        "no job for a refused form"
    );

    // The forms on the page: tone, emphasis, name; swap, panel, model;
    // the branch replays from the last round unless told otherwise.
    let mut store = RunStore::create(&s.runs.join("five")).unwrap();
    store.append(header_event("Five rounds?", 5)).unwrap();
    drop(store);
    let (_, _, page) = send(&s.app, get("/runs/five/report")).await;
    for field in [
        "name=\"tone\"",
        "name=\"emphasis\"",
        "name=\"name\"",
        "name=\"swap_old\"",
        "name=\"swap_new\"",
        "name=\"panel\"",
        "name=\"model_persona\"",
        "name=\"model\"",
    ] {
        assert!(page.contains(field), "{field}");
    }
    assert!(
        page.contains("<option value=\"5\" selected>5</option>"),
        "{page}"
    );
    assert!(!page.contains("<option value=\"1\" selected>"));
}

#[tokio::test]
async fn the_diff_page_shows_what_changed_and_is_linked_both_ways() {
    let s = site();
    finished_run(&s.runs, "r1", "Raise prices?", "Yes.");
    finished_run(&s.runs, "r1/variants/v", "Raise prices?", "Yes, briefly.");
    let (status, _, page) = send(&s.app, get("/diff?a=r1&b=r1%2Fvariants%2Fv")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<h1>What changed</h1>"));
    assert!(
        page.contains("href=\"/runs/r1/report\"")
            && page.contains("href=\"/runs/r1%2Fvariants%2Fv/report\"")
    );
    for section in ["Verdict", "Votes", "Forecasts", "Actions", "Risks"] {
        assert!(page.contains(section), "{section}");
    }
    assert!(page.contains("href=\"/compare?a=r1&amp;b=r1%2Fvariants%2Fv\""));
    assert!(
        !page.contains(&s.runs.display().to_string()),
        "no folder path on the page"
    );
    // The variant's report page links to its diff from its source; the
    // source's lists it with its diff.
    let (_, _, page) = send(&s.app, get("/runs/r1%2Fvariants%2Fv/report")).await;
    assert!(
        page.contains("id=\"diff-source\"")
            && page.contains("href=\"/diff?a=r1&amp;b=r1%2Fvariants%2Fv\""),
        "{page}"
    );
    let (_, _, page) = send(&s.app, get("/runs/r1/report")).await;
    assert!(page.contains("1 variant or branch"), "{page}");
    assert!(page.contains("class=\"diff-link\""));
    // A run that is not there.
    let (status, _, _) = send(&s.app, get("/diff?a=r1&b=nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn downloads_carry_the_brand_picked_and_a_brand_not_there_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let mut config = ServeConfig::new(runs.clone(), stand_in(dir.path(), &dir.path().join("args")));
    for name in ["Acme Advisory", "Beta Partners"] {
        let file = dir.path().join(format!("{}.toml", &name[..4]));
        std::fs::write(&file, format!("name = \"{name}\"\n")).unwrap();
        config
            .brands
            .push(council_render::Brand::load(&file).unwrap());
    }
    let app = router(config).unwrap();
    finished_run(&runs, "r1", "Raise prices?", "Yes.");
    let (_, _, page) = send(&app, get("/runs/r1/report")).await;
    assert!(
        page.contains("href=\"/runs/r1/download/pdf?brand=1\"") && page.contains("Acme Advisory"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/runs/r1/download/docx?brand=2\"") && page.contains("Beta Partners")
    );
    assert!(page.contains("href=\"/runs/r1/download/pdf?brand=none\""));
    // The HTML download is drawn under the brand picked (the default: the first).
    let (status, _, html) = send(&app, get("/runs/r1/download/html")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Acme Advisory"), "the first brand by default");
    let (_, _, html) = send(&app, get("/runs/r1/download/html?brand=2")).await;
    assert!(html.contains("Beta Partners") && !html.contains("Acme Advisory"));
    let (_, _, html) = send(&app, get("/runs/r1/download/html?brand=none")).await;
    assert!(!html.contains("Beta Partners") && !html.contains("Acme Advisory"));
    let (status, _, page) = send(&app, get("/runs/r1/download/pdf?brand=3")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        page.contains("this server has 2 brands (brand=1 to 2, or brand=none)"),
        "{page}"
    );
}

#[tokio::test]
async fn the_live_page_names_the_reports_parts_in_words() {
    let s = site();
    let dir = s.runs.join("r1");
    let mut store = RunStore::create(&dir).unwrap();
    store.append(header_event("Q?", 1)).unwrap();
    for part in ["vote:cfo", "path:works", "risks"] {
        store
            .append(event(json!({"event": "synthesis", "part": part, "value": null, "error": "no answer",
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "cached_tokens": 0, "calls": 1, "unreported_calls": 0},
                "backend": "fake", "model": "fake"})))
            .unwrap();
    }
    drop(store);
    let (_, _, page) = send(&s.app, get("/runs/r1")).await;
    for words in [
        "The CFO&#x27;s vote: failed",
        "The path if it works: failed",
        "The risks: failed",
    ] {
        assert!(page.contains(words), "{words}: {page}");
    }
    assert!(
        !page.contains("vote:cfo") && !page.contains("path:works"),
        "{page}"
    );
}
