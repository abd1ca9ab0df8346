//! Bench: 50 browsers' worth of Server-Sent-Event clients (plain HTTP
//! clients) follow one live run on a real socket while it is written;
//! every client must receive every event exactly once, in order, then the
//! end. Prints the figures (events, clients, delivery delay from the
//! line's write to its receipt: median and worst); asserts only delivery.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use council_core::Event;
use council_engine::RunStore;
use council_web::{router, ServeConfig};
use serde_json::json;
use std::time::{Duration, Instant};

const CLIENTS: usize = 50;
const TURNS: usize = 120;

fn turn(n: usize) -> Event {
    serde_json::from_value(json!({"event": "turn", "round": 1 + n as u32 / 12, "persona": "cfo",
        "status": "ok", "move": "SHARE", "text": format!("turn {n}"), "responds_to": [],
        "confidence": 60, "citations": [], "flags": [],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "cached_tokens": 0, "calls": 1, "unreported_calls": 0},
        "backend": "fake", "model": "fake"}))
    .unwrap()
}

/// What one client saw: event ids in arrival order, with arrival times,
/// and whether the end came.
struct Seen {
    ids: Vec<(usize, Instant)>,
    ended: bool,
}

async fn follow(url: String) -> Seen {
    let client = reqwest::Client::new();
    let mut r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut buf = String::new();
    let mut seen = Seen {
        ids: Vec::new(),
        ended: false,
    };
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(60), r.chunk())
        .await
        .expect("the stream went quiet for a minute")
        .unwrap()
    {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(at) = buf.find("\n\n") {
            let block: String = buf[..at].to_string();
            buf.drain(..at + 2);
            for line in block.lines() {
                if let Some(id) = line.strip_prefix("id: ") {
                    seen.ids.push((id.parse().unwrap(), Instant::now()));
                }
                if line == "event: end" {
                    seen.ended = true;
                }
            }
        }
        if seen.ended {
            break;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_follow_one_live_run_and_each_gets_every_event_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let mut config = ServeConfig::new(runs.clone(), "/bin/false".into());
    config.poll_ms = 50;
    let app = router(config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut store = RunStore::create(&runs.join("live")).unwrap();
    let header: Event = serde_json::from_value(json!({"event": "started", "version": 3,
        "question": "Raise prices?", "date": "2026-11-28", "lang": "en", "seed": 1, "rounds": 10,
        "panel": [{"id": "cfo", "name": "The CFO", "role": "finance"}],
        "notes": [], "sources": [], "library": []}))
    .unwrap();
    store.append(header).unwrap();

    let url = format!("http://127.0.0.1:{port}/runs/live/events");
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(follow(url.clone())))
        .collect();
    let started = Instant::now();
    // The writer: one event every 10 ms, each write's time kept.
    let mut written = vec![Instant::now()]; // event 1, the header
    for n in 0..TURNS {
        store.append(turn(n)).unwrap();
        written.push(Instant::now());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    store.write_transcript().unwrap();
    drop(store);
    let mut delays = Vec::new();
    let total = TURNS + 1;
    for (c, h) in clients.into_iter().enumerate() {
        let seen = h.await.unwrap();
        let ids: Vec<usize> = seen.ids.iter().map(|(i, _)| *i).collect();
        assert_eq!(
            ids,
            (1..=total).collect::<Vec<_>>(),
            "client {c} did not get every event exactly once in order"
        );
        assert!(seen.ended, "client {c} got no end");
        for (id, at) in &seen.ids[1..] {
            delays.push(at.saturating_duration_since(written[id - 1]));
        }
    }
    delays.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "sse fan-out: {CLIENTS} clients x {total} events = {} deliveries, all exactly once in order, in {:.2} s; delay from write to receipt: median {:.0} ms, p95 {:.0} ms, worst {:.0} ms (poll every 50 ms)",
        CLIENTS * total,
        started.elapsed().as_secs_f64(),
        ms(delays[delays.len() / 2]),
        ms(delays[delays.len() * 95 / 100]),
        ms(delays[delays.len() - 1]),
    );
}
