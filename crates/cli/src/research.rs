//! The researcher's commands: `council compare` (metrics over runs and
//! studies), `council outcome` (what became of a forecast, appended to
//! `outcomes.jsonl`) and `council score` (Brier, log loss, calibration).
//! This file finds and reads runs (never writing into one) and writes the
//! outputs; every number comes from `council-analysis`. Zero model calls.

use crate::cli::{
    CompareArgs, CompareBy, CompareFormat, OutcomeArgs, ScoreArgs, ScoreFormat, YesNo,
};
use crate::InputError;
use council_analysis::outcomes;
use council_analysis::tables::{self, Summary};
use council_analysis::{forecasts_in, RunInput, ScoreInput};
use council_core::outcome::{latest, Outcome, Resolution};
use council_core::synthesis::Answers;
use council_engine::store::{EVENTS_FILE, TRANSCRIPT_FILE};
use council_engine::study::{RUNS_DIR, STUDY_FILE};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The append-only file of forecast outcomes, beside the runs.
pub(crate) const OUTCOMES_FILE: &str = "outcomes.jsonl";

/// Whether `dir` is a run folder: it holds an event log or a transcript.
fn is_run(dir: &Path) -> bool {
    dir.join(EVENTS_FILE).is_file() || dir.join(TRANSCRIPT_FILE).is_file()
}

/// A run found under what the user gave.
struct Found {
    /// How tables name it: its folder relative to the folder given (for a
    /// run given directly: relative to that run's parent).
    label: String,
    /// Its folder, or its transcript file.
    path: PathBuf,
    /// Named on the command line (unreadable: an error), or found inside a
    /// folder (unreadable: skipped with a warning).
    named: bool,
}

/// Every run folder under `dir` at any depth, sorted; symbolic links and
/// hidden folders are not followed.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if is_run(dir) {
        out.push(dir.to_path_buf());
    }
    let mut subs: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    subs.sort();
    for s in subs {
        walk(&s, out)?;
    }
    Ok(())
}

fn label_of(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        path.display().to_string()
    } else {
        s
    }
}

/// The runs under `paths`: a run folder (with its variants and branches),
/// a transcript file, or any folder holding runs at any depth.
fn find(paths: &[PathBuf]) -> anyhow::Result<Vec<Found>> {
    let mut out: Vec<Found> = Vec::new();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut labels: BTreeSet<String> = BTreeSet::new();
    for p in paths {
        if !p.exists() {
            return Err(InputError(format!(
                "nothing at {}: give run folders (holding {EVENTS_FILE} or {TRANSCRIPT_FILE}), transcript files, or a folder of runs such as a study",
                p.display()
            ))
            .into());
        }
        let mut here: Vec<(PathBuf, bool)> = Vec::new();
        let base = if p.is_file() {
            here.push((p.clone(), true));
            p.parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new(""))
                .to_path_buf()
        } else {
            let mut dirs = Vec::new();
            walk(p, &mut dirs)
                .map_err(|e| InputError(format!("cannot read the folder {}: {e}", p.display())))?;
            if dirs.is_empty() {
                return Err(InputError(format!(
                    "no runs under {}: a run folder holds {EVENTS_FILE} or {TRANSCRIPT_FILE}, as `council ask` and `council batch` write them",
                    p.display()
                ))
                .into());
            }
            here.extend(dirs.into_iter().map(|d| {
                let named = d == *p;
                (d, named)
            }));
            if is_run(p) {
                p.parent().unwrap_or(Path::new("")).to_path_buf()
            } else if p.join(STUDY_FILE).is_file() && p.join(RUNS_DIR).is_dir() {
                // A study's runs are named by their folders under `runs/`.
                p.join(RUNS_DIR)
            } else {
                p.clone()
            }
        };
        for (path, named) in here {
            let key = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !seen.insert(key) {
                continue;
            }
            let mut label = label_of(&path, &base);
            if !labels.insert(label.clone()) {
                label = path.display().to_string();
                labels.insert(label.clone());
            }
            out.push(Found { label, path, named });
        }
    }
    Ok(out)
}

/// Reads every run found, on every core; a run named on the command line
/// that cannot be read is an error, one found inside a folder is skipped
/// with a warning naming it and why.
fn read(found: Vec<Found>) -> anyhow::Result<Vec<RunInput>> {
    type Read = (
        Found,
        Result<council_core::Transcript, council_engine::EngineError>,
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = found.len().div_ceil(cores).max(1);
    let mut parts: Vec<Vec<Found>> = Vec::new();
    let mut rest = found.into_iter().peekable();
    while rest.peek().is_some() {
        parts.push(rest.by_ref().take(chunk).collect());
    }
    let results: Vec<Read> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                s.spawn(move || {
                    part.into_iter()
                        .map(|f| {
                            let r = council_engine::read_transcript(&f.path);
                            (f, r)
                        })
                        .collect::<Vec<Read>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a thread reading runs stopped unexpectedly"))
            })
            .collect::<anyhow::Result<Vec<Vec<Read>>>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    let mut runs = Vec::new();
    for (f, r) in results {
        match r {
            Ok(transcript) => runs.push(RunInput {
                label: f.label,
                transcript,
            }),
            Err(e) if f.named => return Err(crate::unreadable_run(e)),
            Err(e) => eprintln!(
                "warning: skipped {}: {}",
                f.path.display(),
                council_core::error_chain(&e)
            ),
        }
    }
    if runs.is_empty() {
        return Err(InputError(
            "none of the runs found could be read (see the warnings above)".into(),
        )
        .into());
    }
    Ok(runs)
}

/// Writes `text` to `out`, or to standard output; a written file's path goes to stderr.
fn emit(text: &str, out: Option<&Path>) -> anyhow::Result<()> {
    match out {
        Some(p) => {
            write_file(p, text)?;
            eprintln!("{}", p.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                // A reader that stopped early (`| head`) is not a failure.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
    }
    Ok(())
}

fn write_file(p: &Path, text: &str) -> anyhow::Result<()> {
    council_fs::write_atomic(p, text).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            InputError(format!(
                "cannot write {}: its folder does not exist; create it first or choose another -o",
                p.display()
            ))
            .into()
        } else {
            anyhow::anyhow!("cannot write {}: {e}", p.display())
        }
    })
}

/// Refuses an output file whose folder does not exist, before any run is read.
fn check_output(out: Option<&Path>) -> anyhow::Result<()> {
    let Some(p) = out else { return Ok(()) };
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
    if dir.is_some_and(|d| !d.is_dir()) {
        return Err(InputError(format!(
            "cannot write {}: its folder does not exist; create it first or choose another -o",
            p.display()
        ))
        .into());
    }
    Ok(())
}

/// Where `-o FILE.csv`'s summaries go: `FILE.persona.csv`, `FILE.run.csv`…
fn beside(long: &Path, suffix: &str) -> PathBuf {
    let name = long
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let stem = name.strip_suffix(".csv").unwrap_or(&name);
    long.with_file_name(format!("{stem}.{suffix}.csv"))
}

/// Runs `council compare`.
pub(crate) fn compare(args: &CompareArgs) -> anyhow::Result<()> {
    check_output(args.output.as_deref())?;
    let runs = read(find(&args.paths)?)?;
    let c = council_analysis::compare(&runs);
    let by = args.by.map(|b| match b {
        CompareBy::Persona => Summary::Persona,
        CompareBy::Model => Summary::Model,
        CompareBy::Question => Summary::Question,
        CompareBy::Run => Summary::Run,
    });
    match args.format {
        CompareFormat::Table => emit(&tables::compare_text(&c, by), args.output.as_deref()),
        CompareFormat::Json => emit(
            &(serde_json::to_string_pretty(&c)? + "\n"),
            args.output.as_deref(),
        ),
        CompareFormat::Html => emit(
            &council_analysis::html::compare_html(&c),
            args.output.as_deref(),
        ),
        CompareFormat::Csv => match (&args.output, by) {
            (None, None) => emit(&tables::long_csv(&c), None),
            (None, Some(s)) => emit(&tables::summary_csv(&c, s), None),
            (Some(long), _) => {
                write_file(long, &tables::long_csv(&c))?;
                eprintln!("{}", long.display());
                for s in Summary::ALL {
                    let p = beside(long, s.as_str());
                    write_file(&p, &tables::summary_csv(&c, s))?;
                    eprintln!("{}", p.display());
                }
                let p = beside(long, "agreement");
                write_file(&p, &tables::agreement_csv(&c))?;
                eprintln!("{}", p.display());
                Ok(())
            }
        },
    }
}

/// The outcomes file for `path`: that of the study it belongs to (the
/// nearest folder at or above it holding `study.json`); outside a study,
/// `DIR/outcomes.jsonl` for a folder of runs, and for a run folder (or its
/// transcript file) the one in the folder holding the run, since only the
/// process that owns a run writes into it.
fn outcomes_file(path: &Path) -> PathBuf {
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(study) = abs.ancestors().find(|d| d.join(STUDY_FILE).is_file()) {
        return study.join(OUTCOMES_FILE);
    }
    let dir = if path.is_file() {
        path.parent().and_then(Path::parent)
    } else if is_run(path) {
        path.parent()
    } else {
        Some(path)
    };
    dir.filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(OUTCOMES_FILE)
}

/// Reads `outcomes.jsonl` (none yet: empty). A line that is not an outcome
/// is an input error naming the file and line.
fn read_outcomes(file: &Path) -> anyhow::Result<Vec<Outcome>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", file.display())),
    };
    Ok(outcomes::parse_jsonl(&text, &file.display().to_string()).map_err(InputError)?)
}

fn check_date(date: &str, what: &str) -> anyhow::Result<String> {
    Ok(outcomes::check_date(date, what).map_err(InputError)?)
}

/// Reads `--file outcomes.csv`: `id,outcome[,date]` per line, with an
/// optional header line starting `id`.
fn outcomes_csv(file: &Path, default_date: Option<&str>) -> anyhow::Result<Vec<Outcome>> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        InputError(format!(
            "cannot read the outcomes file {}: {e}",
            file.display()
        ))
    })?;
    Ok(
        outcomes::parse_csv(&text, &file.display().to_string(), default_date)
            .map_err(InputError)?,
    )
}

/// Every forecast id of `runs`.
fn forecast_ids(runs: &[RunInput]) -> BTreeSet<String> {
    runs.iter()
        .flat_map(|r| {
            Answers::from_transcript(&r.transcript)
                .distinct_forecasts(&r.transcript.date)
                .into_iter()
                .map(|(id, _)| id)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Runs `council outcome`.
pub(crate) fn outcome(args: &OutcomeArgs) -> anyhow::Result<()> {
    let default_date = args
        .on
        .as_deref()
        .map(|d| check_date(d, "--on"))
        .transpose()?;
    let mut lines = match (&args.file, &args.id, args.outcome) {
        (Some(file), _, _) => outcomes_csv(file, default_date.as_deref())?,
        (None, Some(id), Some(o)) => vec![Outcome {
            id: id.trim().to_string(),
            outcome: match o {
                YesNo::Yes => Resolution::Yes,
                YesNo::No => Resolution::No,
            },
            date: default_date,
            recorded: None,
        }],
        // clap requires an id and an outcome without --file.
        _ => {
            return Err(InputError(
                "give a forecast id and yes or no, or --file outcomes.csv".into(),
            )
            .into())
        }
    };
    let runs = read(find(std::slice::from_ref(&args.path))?)?;
    let known = forecast_ids(&runs);
    let unknown: BTreeSet<&str> = lines
        .iter()
        .map(|l| l.id.as_str())
        .filter(|id| !known.contains(*id))
        .collect();
    if !unknown.is_empty() {
        return Err(InputError(format!(
            "unknown forecast id{} {}: no run under {} has {}; the ids are in each report's forecasts, and `council score {}` lists the open ones (nothing was recorded)",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.into_iter().collect::<Vec<_>>().join(", "),
            args.path.display(),
            if lines.len() == 1 { "it" } else { "them" },
            args.path.display()
        ))
        .into());
    }
    let file = outcomes_file(&args.path);
    let before = latest(&read_outcomes(&file)?);
    let recorded = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut text = String::new();
    // A last line without its newline (typed by hand, or cut short by a
    // kill) must not run into the first line appended now.
    if std::fs::read(&file).is_ok_and(|b| !b.is_empty() && !b.ends_with(b"\n")) {
        text.push('\n');
    }
    for l in &mut lines {
        l.recorded = Some(recorded.clone());
        text.push_str(&serde_json::to_string(l)?);
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .map_err(|e| anyhow::anyhow!("cannot open {} to append: {e}", file.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| anyhow::anyhow!("cannot append to {}: {e}", file.display()))?;
    for l in &lines {
        let was = match before.get(&l.id) {
            Some(b) if b.outcome != l.outcome => {
                format!(" (was {}; the later line wins)", b.outcome.as_str())
            }
            _ => String::new(),
        };
        let on = l
            .date
            .as_deref()
            .map_or_else(String::new, |d| format!(" on {d}"));
        println!("{} {}{on}{was}", l.id, l.outcome.as_str());
    }
    eprintln!("{}", file.display());
    Ok(())
}

/// Runs `council score`.
pub(crate) fn score(args: &ScoreArgs) -> anyhow::Result<()> {
    check_output(args.output.as_deref())?;
    check_output(args.svg.as_deref())?;
    let file = outcomes_file(&args.path);
    let runs = read(find(std::slice::from_ref(&args.path))?)?;
    let outcomes = read_outcomes(&file)?;
    if outcomes.is_empty() {
        // Not an error: the open forecasts are listed, to record outcomes for.
        eprintln!(
            "note: no outcomes recorded yet ({} is missing or empty): record them with `council outcome {} F-xxxxxx yes|no` or `--file outcomes.csv`",
            file.display(),
            args.path.display()
        );
    }
    let inputs: Vec<ScoreInput> = runs
        .iter()
        .map(|r| ScoreInput {
            run: r.label.clone(),
            forecasts: forecasts_in(&r.transcript, &Answers::from_transcript(&r.transcript)),
        })
        .collect();
    let in_force: BTreeMap<String, Outcome> = latest(&outcomes);
    let s = council_analysis::score(&inputs, &in_force);
    if let Some(svg) = &args.svg {
        write_file(svg, &council_analysis::html::reliability_svg(&s))?;
        eprintln!("{}", svg.display());
    }
    let text = match args.format {
        ScoreFormat::Table => tables::score_text(&s),
        ScoreFormat::Json => serde_json::to_string_pretty(&s)? + "\n",
        ScoreFormat::Html => council_analysis::html::score_html(&s),
    };
    emit(&text, args.output.as_deref())
}
