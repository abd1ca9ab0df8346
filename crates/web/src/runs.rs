//! The runs folder as the pages see it: which runs there are, what each
//! asked and where it stands. Reads only; never writes into a run.

use crate::ids;
use crate::jobs::{JobState, JobView, Jobs};
use council_app::runs::RunKind;
use council_app::status::RunState;
use serde::Serialize;
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

    /// Whether resuming it would ask for what is missing: it stopped
    /// before its end, or finished with failed turns or parts.
    pub(crate) fn resumable(self) -> bool {
        matches!(self, Status::Interrupted | Status::Partial)
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
pub(crate) use council_app::runs::header;

/// Where run `id` in `dir` stands, from its job (if this server started
/// one), then from the run itself (its lock and its log).
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
    match council_app::status::state(dir) {
        Some(RunState::Live) => Status::Running,
        Some(RunState::Interrupted) => Status::Interrupted,
        Some(RunState::Partial) => Status::Partial,
        Some(RunState::Complete) => Status::Complete,
        None => Status::Failed,
    }
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
    let (found, found_studies) = council_app::runs::list(runs);
    let mut rows: Vec<RunRow> = found
        .into_iter()
        .filter(|r| ids::check(&r.id).is_ok())
        .map(|r| RunRow {
            href: ids::href(&r.id),
            status: status(&r.dir, &r.id, jobs),
            question: r.header.question,
            date: r.header.date,
            kind: match (r.kind, &r.study) {
                (RunKind::Debate, Some(_)) => "study run",
                (k, _) => k.as_str(),
            },
            id: r.id,
        })
        .collect();
    rows.sort_by(|a, b| b.date.cmp(&a.date).then(b.id.cmp(&a.id)));
    let studies = found_studies
        .into_iter()
        .filter(|s| ids::check(&s.id).is_ok())
        .map(|s| StudyRow {
            href: ids::href(&s.id),
            id: s.id,
            runs: s.runs,
        })
        .collect();
    (rows, studies)
}

/// Whether `row` passes the runs page's search: `q` in its question (any
/// case), `date` a prefix of its date, `status` its status word.
pub(crate) fn matches(row: &RunRow, q: &str, date: &str, status: &str) -> bool {
    let q = q.trim().to_lowercase();
    (q.is_empty() || row.question.to_lowercase().contains(&q))
        && (date.trim().is_empty() || row.date.starts_with(date.trim()))
        && (status.is_empty() || row.status.word() == status)
}
