//! Fault soak: full debates (six advisors, five rounds, synthesis) against a
//! fake OpenAI-compatible server that injects a fault into one call in
//! five — 429 with `Retry-After`, 500, 503, a connection reset, malformed
//! JSON, a body cut off mid-way, a hang past the timeout. Every run must
//! finish with every turn and every synthesis part. The retry policy's
//! count is Council's default; only its delays and the timeout are shrunk,
//! so the test waits milliseconds where a user waits seconds.

use council_core::{Transcript, TurnStatus};
use council_engine::{run, Prompts, RunStore};
use council_llm::openai::{OpenAiCompatible, OpenAiSettings};
use council_llm::retry::RetryPolicy;
use council_tests::{schema_answering, test_debate, FakeServer, Reply};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RUNS: usize = 20;
/// Debates in flight at once (each asks up to six calls at a time).
const AT_ONCE: usize = 5;
const FAULT_KINDS: [&str; 7] = [
    "429 + Retry-After",
    "500",
    "503",
    "connection reset",
    "malformed JSON",
    "body cut off",
    "hang past the timeout",
];

/// Decides each request's fate from a seeded generator: one in five faults.
struct Injector {
    state: AtomicU64,
    counts: Mutex<[usize; FAULT_KINDS.len() + 1]>,
}

impl Injector {
    fn next(&self) -> u64 {
        // splitmix64 over a shared counter: a fixed sequence of fates,
        // handed to the requests in the order they arrive.
        let mut z = self
            .state
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn reply(&self, body: &str) -> Reply {
        let roll = self.next();
        let fault = (roll % 100 < 20).then(|| (roll / 100) as usize % FAULT_KINDS.len());
        self.counts.lock().unwrap()[fault.map_or(FAULT_KINDS.len(), |f| f)] += 1;
        match fault {
            None => schema_answering(body),
            Some(0) => Reply::status(429, "rate limited").with_header("Retry-After", "1"),
            Some(1) => Reply::status(500, "internal error"),
            Some(2) => Reply::status(503, "overloaded"),
            Some(3) => Reply::Reset,
            Some(4) => Reply::completion(r#"{"move": "WARN", "text": "We should"#),
            Some(5) => Reply::CutOff(Box::new(schema_answering(body))),
            Some(_) => Reply::Hang,
        }
    }
}

async fn debate(url: &str, dir: &std::path::Path) -> Transcript {
    let mut s = OpenAiSettings::new(url, "fake-model");
    s.request_timeout = Duration::from_millis(400);
    s.retry = RetryPolicy {
        base_delay: Duration::from_millis(2),
        // Also caps the 429's `Retry-After: 1`.
        max_delay: Duration::from_millis(40),
        ..RetryPolicy::default()
    };
    let model = Arc::new(OpenAiCompatible::new(s).unwrap());
    let prompts = Prompts::builtin().unwrap();
    let d = test_debate(
        "Should we raise enterprise prices by 10% next quarter?",
        &[
            "cfo",
            "cto",
            "brand-strategist",
            "org-psychologist",
            "contrarian",
            "auditor",
        ],
        5,
        model,
        &prompts,
    );
    let mut store = RunStore::create(dir).unwrap();
    run(&d, &mut store).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_debates_finish_whole_through_one_fault_in_five_calls() {
    let injector = Arc::new(Injector {
        state: AtomicU64::new(20261127),
        counts: Mutex::new([0; FAULT_KINDS.len() + 1]),
    });
    let i = injector.clone();
    let server = FakeServer::start_with(
        Arc::new(move |body: &str| i.reply(body)),
        Duration::from_millis(2),
    )
    .await;
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut transcripts = Vec::new();
    for batch in (0..RUNS).collect::<Vec<_>>().chunks(AT_ONCE) {
        let runs = batch.iter().map(|n| {
            let dir = tmp.path().join(format!("run-{n}"));
            let url = server.url.clone();
            async move { debate(&url, &dir).await }
        });
        transcripts.extend(futures::future::join_all(runs).await);
    }
    let wall = started.elapsed();

    let mut problems = Vec::new();
    for (n, t) in transcripts.iter().enumerate() {
        for r in &t.rounds {
            if r.turns.len() != 6 {
                problems.push(format!(
                    "run {n} round {}: {} turns",
                    r.number,
                    r.turns.len()
                ));
            }
            for turn in r.turns.iter().filter(|x| x.status != TurnStatus::Ok) {
                problems.push(format!(
                    "run {n} round {} {}: {:?}",
                    r.number, turn.persona, turn.error
                ));
            }
            if r.summary.is_none() {
                problems.push(format!("run {n} round {}: no summary", r.number));
            }
        }
        if t.rounds.len() != 5 {
            problems.push(format!("run {n}: {} rounds", t.rounds.len()));
        }
        // Verdict, forecasts, six votes, actions, three paths, story, evidence, risks.
        if t.synthesis.len() != 15 {
            problems.push(format!("run {n}: {} synthesis parts", t.synthesis.len()));
        }
        for p in t.synthesis.iter().filter(|p| p.error.is_some()) {
            problems.push(format!("run {n} part {}: {:?}", p.part, p.error));
        }
    }
    let counts = *injector.counts.lock().unwrap();
    let faults: usize = counts[..FAULT_KINDS.len()].iter().sum();
    let requests = server.hits();
    println!(
        "fault soak: {RUNS} debates in {:.1} s; {requests} requests, {faults} faults injected ({:.1}%)",
        wall.as_secs_f64(),
        100.0 * faults as f64 / requests as f64
    );
    for (kind, n) in FAULT_KINDS.iter().zip(counts) {
        println!("  {kind}: {n}");
    }
    println!(
        "  complete runs: {} of {RUNS}",
        RUNS - problems
            .iter()
            .filter_map(|p| p.split_whitespace().nth(1))
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    assert!(
        problems.is_empty(),
        "runs lost work:\n{}",
        problems.join("\n")
    );
    assert!(
        counts[..FAULT_KINDS.len()].iter().all(|&n| n > 0),
        "every kind of fault must be injected at least once: {counts:?}"
    );
}
