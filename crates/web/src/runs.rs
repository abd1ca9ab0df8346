//! The runs folder as the pages see it: which runs there are, what each
//! asked and where it stands. Reads only; never writes into a run.

use crate::ids;
use crate::jobs::{JobState, JobView, Jobs};
use council_core::{Event, RunHeader, RunStatus, Transcript};
use council_engine::store::{is_live, EVENTS_FILE, TRANSCRIPT_FILE};
use council_engine::study::{RUNS_DIR, STUDY_FILE};
use serde::Serialize;
use std::io::BufRead;
use std::path::Path;

/// Where a run stands, as its badge says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// Waiting for its share of the bound on model calls.
    Queued,
    /// A process is writing it now (this server's or a terminal's).
    Running,
    /// Every turn and part is there.
    Complete,
    /// Finished with failed turns or parts.
    Partial,
    /// Stopped before its end (cancelled, killed, crashed): resume it.
    Interrupted,
    /// Its job ended before the run began (the message says why).
    Failed,
}

impl Status {
    /// Whether the run may still change.
    pub(crate) fn live(self) -> bool {
        matches!(self, Status::Queued | Status::Running)
    }

    /// The word its badge shows.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Complete => "complete",
            Status::Partial => "partial",
            Status::Interrupted => "interrupted",
            Status::Failed => "failed",
        }
    }
}

/// The run's header: the first line of its event log.
pub(crate) fn header(dir: &Path) -> Option<RunHeader> {
    let file = std::fs::File::open(dir.join(EVENTS_FILE)).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file).read_line(&mut line).ok()?;
    if !line.ends_with('\n') {
        return None;
    }
    match serde_json::from_str::<Event>(&line).ok()? {
        Event::Started(h) => Some(h),
        _ => None,
    }
}

/// The run's transcript as written at its end, if it is newer than its log.
pub(crate) fn final_transcript(dir: &Path) -> Option<Transcript> {
    let t = dir.join(TRANSCRIPT_FILE);
    let written = std::fs::metadata(&t).and_then(|m| m.modified()).ok()?;
    let logged = std::fs::metadata(dir.join(EVENTS_FILE))
        .and_then(|m| m.modified())
        .ok()?;
    if written < logged {
        return None;
    }
    council_engine::store::read_transcript(&t).ok()
}

/// Where run `id` in `dir` stands, from its job (if this server started
/// one), its lock and its files.
pub(crate) fn status(dir: &Path, id: &str, jobs: &Jobs) -> Status {
    status_of(dir, jobs.view(id).as_ref())
}

/// Where the run in `dir` stands, given its job as read once (so a page
/// draws its badge and its job's messages from the same moment).
pub(crate) fn status_of(dir: &Path, job: Option<&JobView>) -> Status {
    if let Some(j) = job {
        match j.state {
            JobState::Queued => return Status::Queued,
            JobState::Running => return Status::Running,
            _ => {}
        }
    }
    if is_live(dir) {
        return Status::Running;
    }
    if let Some(t) = final_transcript(dir) {
        return match t.status {
            RunStatus::Complete => Status::Complete,
            RunStatus::Partial => Status::Partial,
            RunStatus::Incomplete => Status::Interrupted,
        };
    }
    if header(dir).is_some() {
        return Status::Interrupted;
    }
    Status::Failed
}

/// One row of the runs page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunRow {
    /// The run id.
    pub(crate) id: String,
    /// The id as a URL segment.
    pub(crate) href: String,
    /// The question asked.
    pub(crate) question: String,
    /// The run date.
    pub(crate) date: String,
    /// Where it stands.
    pub(crate) status: Status,
    /// "debate", "variant", "branch" or "study run".
    pub(crate) kind: &'static str,
}

/// A study folder, for the runs page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StudyRow {
    /// The study id (its folder under the runs folder).
    pub(crate) id: String,
    /// The id as a URL segment.
    pub(crate) href: String,
    /// Runs in it.
    pub(crate) runs: usize,
}

/// Every run and study under `runs`, newest first; runs this server is
/// starting but that have no folder yet are not listed.
pub(crate) fn list(runs: &Path, jobs: &Jobs) -> (Vec<RunRow>, Vec<StudyRow>) {
    let mut rows = Vec::new();
    let mut studies = Vec::new();
    walk(runs, runs, 0, jobs, &mut rows, &mut studies);
    rows.sort_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
    studies.sort_by(|a, b| a.id.cmp(&b.id));
    (rows, studies)
}

fn walk(
    base: &Path,
    dir: &Path,
    depth: usize,
    jobs: &Jobs,
    rows: &mut Vec<RunRow>,
    studies: &mut Vec<StudyRow>,
) {
    if depth > 5 {
        return;
    }
    let id = dir
        .strip_prefix(base)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    if depth > 0 && ids::check(&id).is_err() {
        return;
    }
    if depth > 0 && dir.join(STUDY_FILE).is_file() {
        let inner = dir.join(RUNS_DIR);
        let count = std::fs::read_dir(&inner).map_or(0, |d| d.count());
        studies.push(StudyRow {
            href: ids::href(&id),
            id: id.clone(),
            runs: count,
        });
    }
    if depth > 0 && dir.join(EVENTS_FILE).is_file() {
        if let Some(h) = header(dir) {
            let kind = if id.contains("/variants/") {
                "variant"
            } else if id.contains("/branches/") {
                "branch"
            } else if id.contains(&format!("/{RUNS_DIR}/")) {
                "study run"
            } else {
                "debate"
            };
            rows.push(RunRow {
                href: ids::href(&id),
                status: status(dir, &id, jobs),
                question: h.question,
                date: h.date,
                id: id.clone(),
                kind,
            });
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subs: Vec<_> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    subs.sort();
    for s in subs {
        walk(base, &s, depth + 1, jobs, rows, studies);
    }
}

/// Whether `row` passes the runs page's search: `q` in its question (any
/// case), `date` a prefix of its date, `status` its status word.
pub(crate) fn matches(row: &RunRow, q: &str, date: &str, status: &str) -> bool {
    let q = q.trim().to_lowercase();
    (q.is_empty() || row.question.to_lowercase().contains(&q))
        && (date.trim().is_empty() || row.date.starts_with(date.trim()))
        && (status.is_empty() || row.status.word() == status)
}
