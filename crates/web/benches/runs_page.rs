//! The runs page over a large runs folder: how long `GET /runs` (and a
//! later page, and a search) takes and how big the page is, for 3,000 and
//! 30,000 runs. Prints figures; asserts only that the page is the page.
//!
//! `cargo bench -p council-web --bench runs_page` (or with counts:
//! `-- 3000 30000`; `--profile dev` reuses the test build). Each run is a folder with a one-line event log (its
//! header), as the listing reads it: the page reads each run's first line
//! only, and each shown run's whole log for its status.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use council_web::{router, ServeConfig};
use http_body_util::BodyExt;
use std::time::Instant;
use tower::ServiceExt;

fn header(i: usize) -> String {
    let minute = i % (24 * 60);
    let day = 1 + (i / (24 * 60)) % 28;
    serde_json::json!({"event": "started", "version": 3,
        "question": format!("Should we open office number {i} in a new city, and what should it cost?"),
        "date": format!("2026-11-{day:02}"),
        "started": format!("2026-11-{day:02}T{:02}:{:02}:00Z", minute / 60, minute % 60),
        "lang": "en", "seed": i, "rounds": 5,
        "panel": [{"id": "cfo", "name": "The CFO", "role": "finance"},
                  {"id": "cto", "name": "The CTO", "role": "technology"},
                  {"id": "board-investor", "name": "The Board Investor", "role": "capital"}],
        "notes": [], "sources": [], "library": []})
    .to_string()
        + "\n"
}

async fn get(app: &axum::Router, uri: &str) -> (f64, usize) {
    let req = Request::builder()
        .uri(uri)
        .header("host", "127.0.0.1:8080")
        .body(Body::empty())
        .unwrap();
    let t = Instant::now();
    let r = app.clone().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{uri}");
    let body = r.into_body().collect().await.unwrap().to_bytes();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(
        std::str::from_utf8(&body).unwrap().contains("newest first"),
        "{uri}"
    );
    (ms, body.len())
}

#[tokio::main]
async fn main() {
    let counts: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let counts = if counts.is_empty() {
        vec![3_000, 30_000]
    } else {
        counts
    };
    println!(
        "runs page (50 a page), {} build, one request each after a warm-up",
        if cfg!(debug_assertions) {
            "unoptimised (dev)"
        } else {
            "release"
        }
    );
    println!("{:>7} {:>28} {:>10} {:>10}", "runs", "request", "ms", "KB");
    for n in counts {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        for i in 0..n {
            let d = runs.join(format!("run-{i:06}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("events.jsonl"), header(i)).unwrap();
        }
        let app = router(ServeConfig::new(runs, "/bin/false".into())).unwrap();
        get(&app, "/runs").await; // warm the page cache
        for uri in [
            "/runs",
            "/runs?page=30",
            "/runs?q=office+number+12",
            "/runs?status=interrupted&page=2",
        ] {
            let (ms, bytes) = get(&app, uri).await;
            println!(
                "{n:>7} {uri:>28} {ms:>10.0} {:>10.1}",
                bytes as f64 / 1024.0
            );
        }
    }
}
