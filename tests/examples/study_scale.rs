//! What a large study costs: runs `council batch` (2 rounds, 4 advisors
//! plus the two the panel adds, no synthesis: 14 calls a run) against the
//! in-process fake OpenAI-compatible server with a fixed latency, for each
//! size given, and prints the wall time, calls a second, calls in flight
//! (sampled at the server, every 20 ms) against the `--max-calls` bound,
//! the `council` process's resident memory and open file descriptors
//! (from /proc, Linux only), and the memory after each tenth of the runs,
//! to see whether it stays flat. Checks every run is complete and every
//! call was asked once; prints figures, asserts nothing about time.
//!
//! `cargo run -p council-tests --example study_scale -- COUNCIL_BIN [RUNS…]
//! [--max-calls N] [--latency-ms MS]` (defaults: 1000 10000, 256, 500), or
//! `bash scripts/study-scale.sh`, which builds the binary first.

use council_tests::{schema_answering, FakeServer};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Calls a run makes: two rounds of six turns and a summary each.
const CALLS_PER_RUN: usize = 14;
const MODELS: [&str; 2] = ["small", "large"];
const REPEATS: usize = 5;

/// A field of /proc/PID/status in kB.
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Questions enough for `runs` runs (two models, five repeats each).
fn questions(dir: &Path, runs: usize) -> PathBuf {
    let n = runs.div_ceil(MODELS.len() * REPEATS);
    let p = dir.join("questions.jsonl");
    let lines: String = (1..=n)
        .map(|i| {
            format!(
                "{{\"id\": \"q{i:05}\", \"question\": \"Should we open office number {i} next year?\", \"date\": \"2026-11-27\"}}\n"
            )
        })
        .collect();
    std::fs::write(&p, lines).expect("write the questions");
    p
}

struct Figures {
    runs: usize,
    complete: usize,
    calls: usize,
    wall: f64,
    mean_in_flight: f64,
    peak_in_flight: usize,
    peak_rss_mb: f64,
    peak_fds: usize,
    /// RSS (MB) after each tenth of the calls.
    rss_by_tenth: Vec<f64>,
}

fn study(bin: &str, server: &FakeServer, runs: usize, max_calls: u32) -> Result<Figures, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = questions(dir.path(), runs);
    let out = dir.path().join("study");
    let before = server.hits();
    let max = max_calls.to_string();
    let started = Instant::now();
    let mut child = council_tests::council_command(
        bin,
        &[
            "--base-url",
            &server.url,
            "-q",
            "batch",
            file.to_str().unwrap_or_default(),
            "--out",
            out.to_str().unwrap_or_default(),
            "--models",
            &MODELS.join(","),
            "--repeat",
            &REPEATS.to_string(),
            "--panel",
            "cfo,cto,brand-strategist,org-psychologist",
            "--rounds",
            "2",
            "--no-synthesis",
            "--seed",
            "42",
            "--max-calls",
            &max,
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .map_err(|e| format!("cannot start {bin}: {e}"))?;
    let pid = child.id();
    let total_calls = runs * CALLS_PER_RUN;
    let (mut samples, mut in_flight_sum, mut peak_in_flight) = (0usize, 0usize, 0usize);
    let (mut peak_rss, mut peak_fds) = (0u64, 0usize);
    let mut rss_by_tenth = Vec::new();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        let rss = status_kb(pid, "VmRSS:").unwrap_or(0);
        peak_rss = peak_rss.max(rss);
        peak_fds = peak_fds.max(open_fds(pid).unwrap_or(0));
        let flying = server.in_flight();
        // Sampled once the study is under way (its first call asked).
        if server.hits() > before {
            samples += 1;
            in_flight_sum += flying;
            peak_in_flight = peak_in_flight.max(flying);
        }
        let done = server.hits() - before;
        while rss_by_tenth.len() < 10 && done * 10 >= total_calls * (rss_by_tenth.len() + 1) {
            rss_by_tenth.push(rss as f64 / 1024.0);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let wall = started.elapsed().as_secs_f64();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    if !status.success() {
        return Err(format!("council batch failed ({status}): {err}"));
    }
    let complete = std::fs::read_to_string(out.join("runs.jsonl"))
        .map_err(|e| e.to_string())?
        .lines()
        .filter(|l| l.contains("\"state\":\"complete\""))
        .count();
    Ok(Figures {
        runs,
        complete,
        calls: server.hits() - before,
        wall,
        mean_in_flight: in_flight_sum as f64 / samples.max(1) as f64,
        peak_in_flight,
        peak_rss_mb: peak_rss as f64 / 1024.0,
        peak_fds,
        rss_by_tenth,
    })
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(bin) = args.next() else {
        eprintln!("usage: study_scale COUNCIL_BIN [RUNS…] [--max-calls N] [--latency-ms MS] (COUNCIL_BIN: a built `council`, e.g. target/release/council)");
        return ExitCode::from(2);
    };
    let (mut sizes, mut max_calls, mut latency_ms) = (Vec::new(), 256u32, 500u64);
    while let Some(a) = args.next() {
        let value = |v: Option<String>| v.and_then(|v| v.parse::<u64>().ok());
        match a.as_str() {
            "--max-calls" => match value(args.next()) {
                Some(v) => max_calls = v as u32,
                None => return bad("--max-calls takes a number"),
            },
            "--latency-ms" => match value(args.next()) {
                Some(v) => latency_ms = v,
                None => return bad("--latency-ms takes a number"),
            },
            n => match n.parse::<usize>() {
                Ok(n) if n > 0 => sizes.push(n),
                _ => return bad(&format!("{n:?} is not a number of runs")),
            },
        }
    }
    if sizes.is_empty() {
        sizes = vec![1000, 10_000];
    }
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let server = rt.block_on(FakeServer::start_with(
        Arc::new(schema_answering),
        Duration::from_millis(latency_ms),
    ));
    server.forget_requests();
    println!(
        "council batch on the fake server ({latency_ms} ms a call), 2 rounds, 6 advisors, no synthesis, --max-calls {max_calls}; {bin}"
    );
    let mut ok = true;
    for runs in sizes {
        let runs = runs.div_ceil(MODELS.len() * REPEATS) * MODELS.len() * REPEATS;
        match study(&bin, &server, runs, max_calls) {
            Ok(f) => {
                let ideal = f.calls as f64 * latency_ms as f64 / 1000.0 / f64::from(max_calls);
                println!(
                    "{} runs: {} complete, {} calls ({} expected)",
                    f.runs,
                    f.complete,
                    f.calls,
                    f.runs * CALLS_PER_RUN
                );
                println!(
                    "  wall {:.1} s ({:.0} calls/s; the bound alone allows {ideal:.1} s)",
                    f.wall,
                    f.calls as f64 / f.wall
                );
                println!(
                    "  calls in flight: {:.0} on average, {} at most, of {max_calls} allowed",
                    f.mean_in_flight, f.peak_in_flight
                );
                println!(
                    "  council process: peak RSS {:.0} MB, peak open file descriptors {}",
                    f.peak_rss_mb, f.peak_fds
                );
                let tenths: Vec<String> =
                    f.rss_by_tenth.iter().map(|m| format!("{m:.0}")).collect();
                println!(
                    "  RSS (MB) after each tenth of the calls: {}",
                    tenths.join(" ")
                );
                ok &= f.complete == f.runs && f.calls == f.runs * CALLS_PER_RUN;
            }
            Err(e) => {
                eprintln!("{runs} runs: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("study_scale: some run was not complete or some call was asked twice");
        ExitCode::FAILURE
    }
}

fn bad(why: &str) -> ExitCode {
    eprintln!("study_scale: {why}");
    ExitCode::from(2)
}
