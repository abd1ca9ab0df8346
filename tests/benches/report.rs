//! What a user waits for when a report is rendered again: a five-round,
//! six-advisor transcript file read and parsed, its answers typed, the
//! report built and verified, then written as Markdown and as HTML. The
//! transcript is the recorded fixture debate, replayed once into a run
//! folder. Prints the median of each step over repeated runs.
//!
//! `cargo bench -p council-tests --bench report`

use council_core::synthesis::Answers;
use council_engine::read_transcript;
use council_engine::report::build_report;
use council_render::{render, Format};
use std::path::Path;
use std::time::{Duration, Instant};

/// Replays the recorded debate into `dir` (its transcript.json is the input).
fn record_input(dir: &Path) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(council_tests::replay_fixture_debate(dir))
        .expect("replay");
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let tmp = std::env::temp_dir().join(format!("council-report-bench-{}", std::process::id()));
    let dir = tmp.join("run");
    record_input(&dir);
    let bytes = std::fs::metadata(dir.join("transcript.json"))
        .expect("transcript")
        .len();
    let n = 30;
    let mut steps: [Vec<Duration>; 5] = Default::default();
    let mut sizes = (0, 0);
    for _ in 0..n {
        let t0 = Instant::now();
        let t = read_transcript(&dir).expect("read");
        let t1 = Instant::now();
        let report = build_report(&t, &Answers::from_transcript(&t), None);
        let t2 = Instant::now();
        let md = render(&report, Format::Markdown).expect("md");
        let t3 = Instant::now();
        let html = render(&report, Format::Html).expect("html");
        let t4 = Instant::now();
        sizes = (md.len(), html.len());
        for (i, d) in [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0]
            .into_iter()
            .enumerate()
        {
            steps[i].push(d);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("transcript.json: {bytes} bytes, 5 rounds, 6 advisors; median of {n} runs");
    for (name, v) in [
        "read and parse",
        "answers + report + verification",
        "markdown",
        "html",
        "total",
    ]
    .iter()
    .zip(steps)
    {
        println!("{name:>32}: {:7.2} ms", ms(median(v)));
    }
    println!(
        "{:>32}: {} bytes markdown, {} bytes html",
        "output", sizes.0, sizes.1
    );
}
