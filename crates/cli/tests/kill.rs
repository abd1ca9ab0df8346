//! Kill soak (issue 12, item 3): full debates (6 advisors, 5 rounds with
//! summaries, synthesis) against the fake OpenAI-compatible server, each
//! sent `SIGKILL` at a moment drawn from a seeded RNG over the run's length
//! or the instant a final file appears, then resumed with `--resume`, some
//! resumes killed again. Every run must end with exit 0 and every turn,
//! summary and synthesis part exactly once, and no call may be paid twice.
//!
//! While the runs go, a watcher thread reads the run folder every 2 ms and
//! parses every file as it stands: `transcript.json` as a transcript,
//! `report.json` as a report, `report.md` and `report.html` whole, and
//! every complete (newline-terminated) line of `events.jsonl` as an event.
//! An unterminated last line of the log is a write in progress or cut short
//! by a kill; it is the only part of any file allowed not to parse (see the
//! `council-fs` crate, which states both rules).
//!
//! The calls: a clean run makes `C` calls, one per answer it keeps. Each
//! process then makes `hits` calls and keeps `kept` new answers; the
//! difference is what its kill lost. The test asserts that a process that
//! finishes loses nothing (nothing kept is asked again, nothing asked is
//! thrown away), that a kill loses at most the calls in flight at that
//! moment (at most `--max-concurrency`), and so that a run's calls over all
//! its processes are exactly `C` plus what its kills lost.
//!
//! Reproduce a failure with `COUNCIL_KILL_SEED=N` (the seed is printed).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_core::{Event, Report, Transcript};
use council_tests::{schema_answering, FakeServer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Runs in the soak.
const RUNS: usize = 20;
/// The fake server's answer time: a run lasts about 15 of these.
const LATENCY: Duration = Duration::from_millis(40);
/// `--max-concurrency`: the most calls a kill can catch in flight.
const CONCURRENCY: usize = 6;
/// Four advisors; the contrarian and the fact-checker are seated too.
const PANEL: &str = "cfo,cto,coo,brand-strategist";
/// The most kills one run's resumes receive.
const MAX_RESUME_KILLS: usize = 2;

/// splitmix64: a small seeded generator, so every kill moment is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// When to kill a process.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// This long after it starts.
    After(Duration),
    /// The instant this holds of the run folder (polled every millisecond).
    When(Trigger),
    /// Never: let it finish.
    Never,
}

/// A moment a run reaches at its very end.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// Every answer is in the log: the transcript is being built and written.
    AllAnswers,
    /// `transcript.json` appeared: the reports are being rendered and written.
    Transcript,
    /// `report.md` appeared.
    ReportMd,
    /// `report.html` appeared: `report.json` is next.
    ReportHtml,
}

impl Trigger {
    fn holds(self, dir: &Path, answers: usize) -> bool {
        match self {
            Trigger::AllAnswers => std::fs::read(dir.join("events.jsonl"))
                .is_ok_and(|b| b.iter().filter(|&&c| c == b'\n').count() > answers),
            Trigger::Transcript => dir.join("transcript.json").exists(),
            Trigger::ReportMd => dir.join("report.md").exists(),
            Trigger::ReportHtml => dir.join("report.html").exists(),
        }
    }
}

/// The complete lines of `events.jsonl`, parsed; the unterminated tail left out.
fn events(dir: &Path) -> Vec<Event> {
    let bytes = std::fs::read(dir.join("events.jsonl")).unwrap_or_default();
    let complete = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&[][..], |i| &bytes[..=i]);
    complete
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// Answers kept in the log: turns, summaries and synthesis parts.
fn answers(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Turn(_) | Event::Summary(_) | Event::Synthesis(_)))
        .count()
}

/// What a run folder shows of how far its run got.
fn phase(dir: &Path, total: usize) -> &'static str {
    let evs = events(dir);
    if evs.is_empty() {
        return "before the header";
    }
    let summaries = evs
        .iter()
        .filter(|e| matches!(e, Event::Summary(_)))
        .count();
    let synthesis = evs
        .iter()
        .filter(|e| matches!(e, Event::Synthesis(_)))
        .count();
    if synthesis == 0 && summaries < 5 {
        let round = summaries as u32 + 1;
        let spoken = evs
            .iter()
            .filter(|e| matches!(e, Event::Turn(t) if t.round == round))
            .count();
        return if spoken == 6 { "a summary" } else { "a round" };
    }
    if answers(&evs) < total {
        return "the synthesis";
    }
    if !dir.join("transcript.json").exists() {
        return "transcript.json";
    }
    if ["report.md", "report.html", "report.json"]
        .iter()
        .any(|f| !dir.join(f).exists())
    {
        return "the reports";
    }
    "after the last file"
}

/// What the watcher saw.
#[derive(Debug, Default)]
struct Seen {
    polls: usize,
    /// Files read and parsed, by name.
    parsed: BTreeMap<&'static str, usize>,
    failures: Vec<String>,
}

/// A thread reading the current run folder every 2 ms.
struct Watcher {
    stop: Arc<AtomicBool>,
    dir: Arc<Mutex<Option<PathBuf>>>,
    seen: Arc<Mutex<Seen>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A file's identity and version: it is parsed again only when this changes.
type Stamp = (u64, Option<SystemTime>);

impl Watcher {
    fn start() -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let dir: Arc<Mutex<Option<PathBuf>>> = Arc::new(Mutex::new(None));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (s, d, n) = (stop.clone(), dir.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let mut stamps: BTreeMap<&'static str, Stamp> = BTreeMap::new();
            while !s.load(Ordering::SeqCst) {
                let current = d.lock().unwrap().clone();
                if let Some(dir) = current {
                    let mut seen = n.lock().unwrap();
                    seen.polls += 1;
                    check_folder(&dir, &mut stamps, &mut seen);
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        });
        Watcher {
            stop,
            dir,
            seen,
            thread: Some(thread),
        }
    }

    fn watch(&self, dir: &Path) {
        *self.dir.lock().unwrap() = Some(dir.to_path_buf());
    }

    fn finish(mut self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap();
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Parses every file of `dir` that changed since it was last parsed.
fn check_folder(dir: &Path, stamps: &mut BTreeMap<&'static str, Stamp>, seen: &mut Seen) {
    type Check = fn(&[u8]) -> Result<(), String>;
    let checks: [(&'static str, Check); 5] = [
        ("events.jsonl", |b| {
            let complete = b
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(&[][..], |i| &b[..=i]);
            for (i, line) in complete.split_inclusive(|&c| c == b'\n').enumerate() {
                serde_json::from_slice::<Event>(line)
                    .map_err(|e| format!("line {}: {e}", i + 1))?;
            }
            Ok(())
        }),
        ("transcript.json", |b| {
            serde_json::from_slice::<Transcript>(b)
                .map(drop)
                .map_err(|e| e.to_string())
        }),
        ("report.json", |b| {
            serde_json::from_slice::<Report>(b)
                .map(drop)
                .map_err(|e| e.to_string())
        }),
        ("report.md", |b| {
            let t = std::str::from_utf8(b).map_err(|e| e.to_string())?;
            (t.starts_with("# ") && t.ends_with('\n'))
                .then_some(())
                .ok_or_else(|| format!("not a whole report ({} bytes)", b.len()))
        }),
        ("report.html", |b| {
            let t = std::str::from_utf8(b).map_err(|e| e.to_string())?;
            (t.starts_with("<!DOCTYPE html>") && t.trim_end().ends_with("</html>"))
                .then_some(())
                .ok_or_else(|| format!("not a whole page ({} bytes)", b.len()))
        }),
    ];
    for (name, check) in checks {
        let path = dir.join(name);
        let Ok(meta) = std::fs::metadata(&path) else {
            stamps.remove(name);
            continue;
        };
        let stamp = (meta.len(), meta.modified().ok());
        if stamps.get(name) == Some(&stamp) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue; // removed between the two reads
        };
        *seen.parsed.entry(name).or_default() += 1;
        match check(&bytes) {
            Ok(()) => {
                stamps.insert(name, stamp);
            }
            Err(e) => seen.failures.push(format!("{}: {e}", path.display())),
        }
    }
}

/// Starts `council ask` on the run folder `out`: a new run, or `--resume`.
fn spawn(url: &str, out: &Path, resume: bool, log: &Path) -> Child {
    let out_s = out.to_str().unwrap();
    let k = CONCURRENCY.to_string();
    let mut args = vec!["--base-url", url, "--model", "fake", "-q", "ask"];
    if resume {
        args.extend(["--resume", out_s]);
    } else {
        args.extend([
            "Should we raise prices by 10%?",
            "--panel",
            PANEL,
            "--seed",
            "7",
            "--date",
            "2026-11-26",
            "--out",
            out_s,
        ]);
    }
    args.extend(["--max-concurrency", &k]);
    council_tests::council_command(env!("CARGO_BIN_EXE_council"), &args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// How a process ended.
enum End {
    Killed(Duration),
    Exited(ExitStatus, Duration),
}

/// Waits for `child`, killing it (SIGKILL) as `kill` says.
fn drive(mut child: Child, kill: Kill, dir: &Path, total: usize) -> End {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return End::Exited(status, start.elapsed());
        }
        let now = start.elapsed();
        assert!(now < Duration::from_secs(60), "a run took over a minute");
        let fire = match kill {
            Kill::After(at) => now >= at,
            Kill::When(t) => t.holds(dir, total),
            Kill::Never => false,
        };
        if fire {
            child.kill().unwrap(); // SIGKILL on Unix
            child.wait().unwrap();
            return End::Killed(now);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn killed_runs_resume_with_every_answer_once_and_files_always_parse() {
    let started = Instant::now();
    let seed = std::env::var("COUNCIL_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let mut rng = Rng(seed);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(FakeServer::start_with(Arc::new(schema_answering), LATENCY));
    let root = tempfile::tempdir().unwrap();
    let logs = root.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    // After a kill the server may still hold (or not yet have read) the
    // dead process's requests: wait until it holds none and its count is
    // still, so they are counted against that process.
    let settle = || {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = usize::MAX;
        while server.in_flight() > 0 || server.hits() != last {
            assert!(Instant::now() < deadline, "the server never settled");
            last = server.hits();
            std::thread::sleep(Duration::from_millis(25));
        }
    };

    // A clean run: its length spreads the kill moments, its calls and
    // answers are what every soak run must end with.
    let clean = root.path().join("clean");
    let watcher = Watcher::start();
    watcher.watch(&clean);
    let End::Exited(status, clean_time) = drive(
        spawn(&server.url, &clean, false, &logs.join("clean.txt")),
        Kill::Never,
        &clean,
        0,
    ) else {
        unreachable!()
    };
    let log = |name: &str| std::fs::read_to_string(logs.join(name)).unwrap_or_default();
    assert!(status.success(), "{}", log("clean.txt"));
    let clean_events = events(&clean);
    let total = answers(&clean_events);
    let clean_calls = server.hits();
    assert_eq!(
        clean_calls, total,
        "a clean run makes one call per answer it keeps"
    );
    let shape = |evs: &[Event]| {
        let mut keys: BTreeMap<String, usize> = BTreeMap::new();
        for e in evs {
            let key = match e {
                Event::Turn(t) => format!("turn {} {}", t.round, t.persona),
                Event::Summary(s) => format!("summary {}", s.round),
                Event::Synthesis(p) => format!("part {}", p.part),
                _ => continue,
            };
            *keys.entry(key).or_default() += 1;
        }
        keys
    };
    let clean_shape = shape(&clean_events);
    assert_eq!(
        clean_shape.keys().filter(|k| k.starts_with("turn")).count(),
        30,
        "6 advisors x 5 rounds"
    );

    let mut kills = 0;
    let mut resume_kills = 0;
    let mut restarts = 0;
    let mut lost_most = 0;
    let mut lost_total = 0;
    let mut moments: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut processes = 0;
    let mut too_late = 0;
    let mut discarded = 0;
    for i in 0..RUNS {
        let dir = root.path().join(format!("run-{i:02}"));
        watcher.watch(&dir);
        // The first run is killed as it starts; every fourth the instant it
        // reaches one of its last steps; the others at a moment drawn over
        // the clean run's length.
        let targets = [
            Trigger::AllAnswers,
            Trigger::Transcript,
            Trigger::ReportMd,
            Trigger::ReportHtml,
            Trigger::AllAnswers,
        ];
        let mut kill = if i == 0 {
            Kill::After(Duration::ZERO) // before the run folder exists
        } else if i % 4 == 3 {
            Kill::When(targets[i / 4])
        } else {
            Kill::After(clean_time.mul_f64(0.95 * rng.unit()))
        };
        let mut resume = false;
        let mut killed_here = 0;
        let mut run_calls_before = server.hits();
        loop {
            let calls_before = server.hits();
            let kept_before = answers(&events(&dir));
            let log_name = format!("run-{i:02}-{processes}.txt");
            processes += 1;
            let child = spawn(&server.url, &dir, resume, &logs.join(&log_name));
            let end = drive(child, kill, &dir, total);
            if matches!(end, End::Killed(_)) {
                settle();
            }
            let calls = server.hits() - calls_before;
            let kept = answers(&events(&dir)) - kept_before;
            let lost = calls
                .checked_sub(kept)
                .unwrap_or_else(|| panic!("run {i}: {kept} answers kept from {calls} calls"));
            match end {
                End::Exited(status, took) => {
                    assert!(status.success(), "run {i}: {status}: {}", log(&log_name));
                    assert_eq!(
                        lost, 0,
                        "run {i}: a process that finished made {calls} calls for {kept} answers"
                    );
                    if killed_here > 0 {
                        break;
                    }
                    // It finished before its first kill: start it again and
                    // kill it within the time it took.
                    too_late += 1;
                    assert!(too_late <= RUNS, "runs keep finishing before their kill");
                    discarded += calls;
                    std::fs::remove_dir_all(&dir).unwrap();
                    run_calls_before = server.hits();
                    kill = Kill::After(took.mul_f64(0.9 * rng.unit()));
                    continue;
                }
                End::Killed(at) => {
                    kills += 1;
                    killed_here += 1;
                    if resume {
                        resume_kills += 1;
                    }
                    *moments.entry(phase(&dir, total)).or_default() += 1;
                    assert!(
                        lost <= CONCURRENCY,
                        "run {i}: a kill at {at:?} lost {lost} calls, more than can be in flight"
                    );
                    lost_most = lost_most.max(lost);
                    lost_total += lost;
                }
            }
            // A run killed before its header reached disk is started again
            // with the same command, as a user would; any other is resumed.
            resume = !events(&dir).is_empty();
            if !resume {
                restarts += 1;
            }
            let left = 1.0 - answers(&events(&dir)) as f64 / total as f64;
            kill = if killed_here <= MAX_RESUME_KILLS && rng.unit() < 0.5 {
                Kill::After(clean_time.mul_f64((left + 0.05) * rng.unit()))
            } else {
                Kill::Never
            };
        }
        // Nothing missing, nothing twice.
        let evs = events(&dir);
        let got = shape(&evs);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            clean_shape.keys().collect::<Vec<_>>(),
            "run {i}: an answer is missing"
        );
        let twice: Vec<_> = got.iter().filter(|(_, &n)| n != 1).collect();
        assert!(twice.is_empty(), "run {i}: present twice: {twice:?}");
        let calls = server.hits() - run_calls_before;
        assert!(
            calls >= total && calls - total <= killed_here * CONCURRENCY,
            "run {i}: {calls} calls for {total} answers over {killed_here} kills"
        );
        let t: Transcript =
            serde_json::from_slice(&std::fs::read(dir.join("transcript.json")).unwrap()).unwrap();
        assert_eq!(t.status, council_core::RunStatus::Complete, "run {i}");
        for f in ["report.md", "report.html", "report.json"] {
            assert!(dir.join(f).is_file(), "run {i}: no {f}");
        }
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "run {i}: temporary files left: {left:?}");
    }
    let seen = watcher.finish();
    assert!(
        seen.failures.is_empty(),
        "a file did not parse while runs were killed: {:#?}",
        seen.failures
    );
    let calls = server.hits() - clean_calls;
    assert_eq!(calls, RUNS * total + lost_total + discarded);
    assert!(
        server.max_in_flight() <= CONCURRENCY,
        "{} calls in flight at once",
        server.max_in_flight()
    );
    assert!(resume_kills > 0, "no resume was killed");
    let parsed: usize = seen.parsed.values().sum();
    eprintln!(
        "kill soak (seed {seed}): {RUNS} runs of {total} answers complete; {kills} kills ({resume_kills} while resuming, {restarts} before the header, so started again); \
         moments: {moments:?}; files parsed {parsed} times in {} polls ({:?}), none failed; \
         calls {calls} = {RUNS} x {total} + {lost_total} lost in flight at kills (at most {lost_most} per kill, limit {CONCURRENCY}) + {discarded} of {too_late} runs that finished before their first kill and were run again; \
         clean run {:.2} s, soak {:.1} s",
        seen.polls,
        seen.parsed,
        clean_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
