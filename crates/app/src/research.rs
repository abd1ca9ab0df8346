//! The researcher's reading: the runs under any folders read on every core
//! (for `compare`, `score`, the web app's study page alike), the outcomes
//! file a run or study belongs to, recording outcomes, and which forecasts
//! exist. Every number comes from `council-analysis`; nothing here writes
//! into a run.

use crate::runs::{find, is_run, FoundRun};
use crate::InputError;
use council_analysis::RunInput;
use council_core::outcome::{latest, Outcome};
use council_engine::study::STUDY_FILE;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The append-only file of forecast outcomes, beside the runs.
pub const OUTCOMES_FILE: &str = "outcomes.jsonl";

/// Runs read, and the ones skipped.
#[derive(Debug)]
pub struct Read {
    /// Every run read, in the order found.
    pub runs: Vec<RunInput>,
    /// Runs found inside a folder that could not be read: (path, why).
    pub skipped: Vec<(PathBuf, String)>,
}

/// Reads every run under `paths` ([`find`]) on every core. A run named
/// directly that cannot be read is an error; one found inside a folder is
/// skipped and listed in [`Read::skipped`]. No run read at all is an
/// [`InputError`].
pub fn read_runs(paths: &[PathBuf]) -> anyhow::Result<Read> {
    let found = find(paths)?;
    read_found(found)
}

fn read_found(found: Vec<FoundRun>) -> anyhow::Result<Read> {
    type One = (
        FoundRun,
        Result<council_core::Transcript, council_engine::EngineError>,
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = found.len().div_ceil(cores).max(1);
    let mut parts: Vec<Vec<FoundRun>> = Vec::new();
    let mut rest = found.into_iter().peekable();
    while rest.peek().is_some() {
        parts.push(rest.by_ref().take(chunk).collect());
    }
    let results: Vec<One> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                s.spawn(move || {
                    part.into_iter()
                        .map(|f| {
                            let r = council_engine::read_transcript(&f.path);
                            (f, r)
                        })
                        .collect::<Vec<One>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("a thread reading runs stopped unexpectedly"))
            })
            .collect::<anyhow::Result<Vec<Vec<One>>>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    let mut runs = Vec::new();
    let mut skipped = Vec::new();
    for (f, r) in results {
        match r {
            Ok(transcript) => {
                runs.push(RunInput::new(f.label, transcript, f.study.map(into_study)))
            }
            Err(e) if f.named => return Err(crate::unreadable_run(e)),
            Err(e) => skipped.push((f.path, council_core::error_chain(&e))),
        }
    }
    if runs.is_empty() {
        return Err(InputError(
            "none of the runs found could be read (see the warnings above)".into(),
        )
        .into());
    }
    Ok(Read { runs, skipped })
}

fn into_study(s: crate::runs::StudyRun) -> council_analysis::StudyCell {
    council_analysis::StudyCell {
        question_id: s.question_id,
        repeat: s.repeat,
        seed: s.seed,
        model: s.model,
        condition: s.condition,
        study: s.study.display().to_string(),
    }
}

/// The outcomes file for `path`: that of the study it belongs to (the
/// nearest folder at or above it holding `study.json`); outside a study,
/// `DIR/outcomes.jsonl` for a folder of runs, and for a run folder (or its
/// transcript file) the one in the folder holding the run, since only the
/// process that owns a run writes into it.
pub fn outcomes_file(path: &Path) -> PathBuf {
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
/// is an [`InputError`] naming the file and line.
pub fn read_outcomes(file: &Path) -> anyhow::Result<Vec<Outcome>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::anyhow!("cannot read {}: {e}", file.display())),
    };
    Ok(
        council_analysis::outcomes::parse_jsonl(&text, &file.display().to_string())
            .map_err(InputError)?,
    )
}

/// What became of recording outcomes.
#[derive(Debug)]
pub struct Recorded {
    /// The file appended to.
    pub file: PathBuf,
    /// Each line recorded, with the outcome it replaced when that differed.
    pub lines: Vec<(Outcome, Option<Outcome>)>,
}

/// Records `lines` (each checked against the forecasts of the runs under
/// `path`) in the outcomes file `path` belongs to, stamped `recorded`. An
/// id no run has, or one whose forecast its report left out, is an
/// [`InputError`] and nothing is written.
pub fn record_outcomes(
    path: &Path,
    mut lines: Vec<Outcome>,
    recorded: &str,
) -> anyhow::Result<Recorded> {
    let read = read_runs(std::slice::from_ref(&path.to_path_buf()))?;
    let mut known = BTreeSet::new();
    let mut left_out = BTreeMap::new();
    for r in &read.runs {
        let table = council_core::forecasts::panel_forecasts(&r.transcript);
        known.extend(table.kept.iter().map(|f| f.id.clone()));
        for f in table.left_out {
            left_out.insert(f.id, f.why);
        }
    }
    let unknown: Vec<&Outcome> = lines.iter().filter(|l| !known.contains(&l.id)).collect();
    if let Some(l) = unknown.iter().find(|l| left_out.contains_key(&l.id)) {
        return Err(InputError(format!(
            "forecast {} was left out of its report ({}): it cannot be scored, so no outcome is recorded for it (nothing was recorded)",
            l.id, left_out[&l.id]
        ))
        .into());
    }
    if !unknown.is_empty() {
        let ids: BTreeSet<&str> = unknown.iter().map(|l| l.id.as_str()).collect();
        return Err(InputError(format!(
            "unknown forecast id{} {}: no run under {} has {}; the ids are in each report's forecasts, and `council score {}` lists the open ones (nothing was recorded)",
            if ids.len() == 1 { "" } else { "s" },
            ids.into_iter().collect::<Vec<_>>().join(", "),
            path.display(),
            if lines.len() == 1 { "it" } else { "them" },
            path.display()
        ))
        .into());
    }
    let file = outcomes_file(path);
    let before = latest(&read_outcomes(&file)?);
    let mut text = String::new();
    // A last line without its newline (typed by hand, or cut short by a
    // kill) must not run into the first line appended now.
    if std::fs::read(&file).is_ok_and(|b| !b.is_empty() && !b.ends_with(b"\n")) {
        text.push('\n');
    }
    for l in &mut lines {
        l.recorded = Some(recorded.to_string());
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
    let lines = lines
        .into_iter()
        .map(|l| {
            let was = before
                .get(&l.id)
                .filter(|b| b.outcome != l.outcome)
                .cloned();
            (l, was)
        })
        .collect();
    Ok(Recorded { file, lines })
}
