//! What `council compare` costs over a study of 1,000 transcripts (the
//! issue's bound: under 5 s on 2 cores). Synthetic runs, 6 advisors × 5
//! rounds with ~120-word turns, a verdict, 4 forecasts and 6 votes each,
//! are built in memory and timed through `compare` and its outputs; then
//! written to a temporary study folder (half as `transcript.json`, half as
//! `events.jsonl` only, which must be folded) and timed through the path
//! the CLI takes: find, read and parse every run, compare, write CSV and
//! JSON. Prints figures; asserts nothing about time.
//!
//! `cargo bench -p council-analysis --bench compare [-- RUNS]`; set
//! `COUNCIL_BENCH_KEEP=DIR` to keep the study folder (to time the binary:
//! `council compare DIR --format csv -o out.csv`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use council_analysis::{compare, tables, RunInput};
use council_core::answers::Stance;
use council_core::synthesis::{forecast_id, SynthesisKind};
use council_core::transcript::SynthesisPart;
use council_core::{Event, Move, PanelMember, RunHeader, Summary, Transcript, Turn, Usage};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

const PANEL: [&str; 6] = [
    "cfo",
    "cto",
    "brand-strategist",
    "org-psychologist",
    "contrarian",
    "auditor",
];
const ROUNDS: u32 = 5;

/// A tiny deterministic generator (no dependency, same runs every time).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const WORDS: [&str; 16] = [
    "pricing",
    "churn",
    "margin",
    "customers",
    "risk",
    "the",
    "we",
    "should",
    "because",
    "evidence",
    "quarter",
    "team",
    "market",
    "cost",
    "growth",
    "plan",
];

fn text(rng: &mut Lcg, words: usize) -> String {
    (0..words)
        .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

fn stance(rng: &mut Lcg) -> Stance {
    Stance::ALL[rng.below(3) as usize]
}

fn part(kind: SynthesisKind, model: &str, value: serde_json::Value) -> Event {
    Event::Synthesis(SynthesisPart {
        part: kind,
        value,
        error: None,
        flags: vec![],
        copied_from: None,
        usage: Usage::reported(1500, 300),
        backend: "openai".into(),
        model: model.into(),
    })
}

/// Run `k` of the study: question k % 12, model k % 2.
fn run_events(k: u64) -> Vec<Event> {
    let mut rng = Lcg(k.wrapping_mul(2_654_435_761) ^ 0x5eed);
    let model = if k.is_multiple_of(2) {
        "model-a"
    } else {
        "model-b"
    };
    let date = "2026-11-27";
    let mut out = vec![Event::Started(RunHeader {
        version: council_core::TRANSCRIPT_VERSION,
        question: format!(
            "Question {}: should we raise prices by {}%?",
            k % 12,
            k % 12 + 5
        ),
        date: date.into(),
        lang: "en".into(),
        seed: k,
        rounds: ROUNDS,
        panel: PANEL
            .iter()
            .map(|p| PanelMember {
                id: p.to_string(),
                name: p.to_uppercase(),
                role: "advisor".into(),
                i18n: Default::default(),
            })
            .collect(),
        notes: vec![],
        sources: vec![],
        library: vec![],
        origin: None,
        variant: None,
        synthesis: true,
        started: None,
        condition: Default::default(),
    })];
    let mut stances: Vec<Stance> = PANEL.iter().map(|_| stance(&mut rng)).collect();
    for round in 1..=ROUNDS {
        for (i, p) in PANEL.iter().enumerate() {
            if rng.below(5) == 0 {
                stances[i] = stance(&mut rng);
            }
            let mut t = Turn::empty(round, p);
            t.move_ = Some(Move::ALL[rng.below(6) as usize]);
            let words = 90 + rng.below(60) as usize;
            t.text = text(&mut rng, words);
            t.responds_to = vec![PANEL[(i + 1 + rng.below(5) as usize) % 6].to_string()];
            t.confidence = Some(40 + rng.below(60) as u8);
            t.stance = Some(stances[i]);
            if rng.below(10) == 0 {
                t.flags = vec!["repetitive".into()];
            }
            t.usage = Usage::reported(900 + rng.below(400), 200 + rng.below(100));
            t.backend = "openai".into();
            t.model = model.into();
            out.push(Event::Turn(Box::new(t)));
        }
        out.push(Event::Summary(Summary {
            round,
            text: text(&mut rng, 80),
            absent: vec![],
            fallback: false,
            copied_from: None,
            flags: Vec::new(),
            usage: Usage::reported(2000, 200),
            backend: "openai".into(),
            model: model.into(),
        }));
    }
    let statements: Vec<String> = (0..4)
        .map(|i| format!("Forecast {i} of run {k}: churn stays under {}%", 3 + i))
        .collect();
    out.push(part(
        SynthesisKind::Verdict,
        model,
        json!({"stance": stance(&mut rng), "answer": text(&mut rng, 60), "reasoning": text(&mut rng, 80)}),
    ));
    out.push(part(
        SynthesisKind::Forecasts,
        model,
        json!({"forecasts": statements.iter().map(|s| json!({"statement": s, "horizon_months": 6})).collect::<Vec<_>>()}),
    ));
    for p in PANEL {
        let probabilities: Vec<serde_json::Value> = statements
            .iter()
            .map(|s| json!({"id": forecast_id(date, s), "probability": rng.below(101)}))
            .collect();
        out.push(part(
            SynthesisKind::Vote(p.to_string()),
            model,
            json!({"stance": stance(&mut rng), "confidence": 40 + rng.below(60), "reason": text(&mut rng, 20), "probabilities": probabilities}),
        ));
    }
    out
}

/// Every folder under `dir` holding a run, as the CLI finds them.
fn find_runs(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("events.jsonl").exists() || dir.join("transcript.json").exists() {
        out.push(dir.to_path_buf());
    }
    let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subs.sort();
    for s in subs {
        find_runs(&s, out);
    }
}

/// Reads a run as `council_engine::read_transcript` does: the transcript
/// if written, else the event log folded.
fn read_run(dir: &Path) -> Transcript {
    let file = dir.join("transcript.json");
    if file.exists() {
        return serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    }
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let events: Vec<Event> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    Transcript::from_events(&events).unwrap()
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    println!("compare over {n} synthetic runs (6 advisors × {ROUNDS} rounds), {cores} cores");

    let t = Instant::now();
    let logs: Vec<Vec<Event>> = (0..n).map(run_events).collect();
    let runs: Vec<RunInput> = logs
        .iter()
        .enumerate()
        .map(|(i, events)| RunInput {
            label: format!("q{:02}/run-{i:04}", i % 12),
            transcript: Transcript::from_events(events).unwrap(),
            study: None,
        })
        .collect();
    println!("  generate in memory:            {:>7.3} s", secs(t));

    let t = Instant::now();
    let c = compare(&runs);
    let compute = secs(t);
    println!(
        "  compare (in memory):           {compute:>7.3} s  ({} rows, {} personas, {} questions)",
        c.rows.len(),
        c.personas.len(),
        c.questions.len()
    );
    let t = Instant::now();
    let long = tables::long_csv(&c);
    let json = serde_json::to_string(&c).unwrap();
    let html = council_analysis::html::compare_html(&c);
    println!(
        "  CSV + JSON + HTML:             {:>7.3} s  (CSV {:.1} MB, JSON {:.1} MB, HTML {:.2} MB)",
        secs(t),
        long.len() as f64 / 1e6,
        json.len() as f64 / 1e6,
        html.len() as f64 / 1e6
    );

    let keep = std::env::var_os("COUNCIL_BENCH_KEEP").map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let root = keep.clone().unwrap_or_else(|| tmp.path().join("study"));
    let t = Instant::now();
    let mut bytes = 0usize;
    for (i, (r, events)) in runs.iter().zip(&logs).enumerate() {
        let dir = root.join(&r.label);
        std::fs::create_dir_all(&dir).unwrap();
        let log: String = events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap() + "\n")
            .collect();
        bytes += log.len();
        std::fs::write(dir.join("events.jsonl"), log).unwrap();
        if i % 2 == 0 {
            let t = serde_json::to_string(&r.transcript).unwrap();
            bytes += t.len();
            std::fs::write(dir.join("transcript.json"), t).unwrap();
        }
    }
    println!(
        "  write the study folder:        {:>7.3} s  ({:.0} MB at {})",
        secs(t),
        bytes as f64 / 1e6,
        root.display()
    );
    drop(runs);
    drop(logs);

    let total = Instant::now();
    let t = Instant::now();
    let mut found = Vec::new();
    find_runs(&root, &mut found);
    let find = secs(t);
    let t = Instant::now();
    let chunk = found.len().div_ceil(cores).max(1);
    let read: Vec<RunInput> = std::thread::scope(|s| {
        let handles: Vec<_> = found
            .chunks(chunk)
            .map(|part| {
                s.spawn(|| {
                    part.iter()
                        .map(|d| RunInput {
                            label: d.strip_prefix(&root).unwrap().display().to_string(),
                            transcript: read_run(d),
                            study: None,
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let reading = secs(t);
    let t = Instant::now();
    let c = compare(&read);
    let compute = secs(t);
    let t = Instant::now();
    let out = tmp.path().join("out.csv");
    std::fs::write(&out, tables::long_csv(&c)).unwrap();
    for s in tables::Summary::ALL {
        std::fs::write(
            tmp.path().join(format!("out.{}.csv", s.as_str())),
            tables::summary_csv(&c, s),
        )
        .unwrap();
    }
    std::fs::write(
        tmp.path().join("out.json"),
        serde_json::to_string(&c).unwrap(),
    )
    .unwrap();
    let writing = secs(t);
    println!("  the CLI's path, from disk ({} runs found):", read.len());
    println!("    find run folders:            {find:>7.3} s");
    println!("    read and parse ({cores} threads):   {reading:>7.3} s");
    println!("    compare:                     {compute:>7.3} s");
    println!("    write 5 CSV files + JSON:    {writing:>7.3} s");
    println!(
        "    total:                       {:>7.3} s  (bound: 5 s)",
        secs(total)
    );
    if keep.is_some() {
        println!("  kept {}", root.display());
    }
}
