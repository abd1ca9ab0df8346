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
    /// When it began: date and time of day (UTC), or its date alone.
    pub(crate) began: String,
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

/// One page of the runs page: its rows, newest first, and where it sits.
#[derive(Debug, Clone)]
pub(crate) struct RowsPage {
    /// The rows shown.
    pub(crate) rows: Vec<RunRow>,
    /// The page's number, from 1.
    pub(crate) page: usize,
    /// Pages in all.
    pub(crate) pages: usize,
    /// Runs that match the search.
    pub(crate) matched: usize,
    /// Runs in all.
    pub(crate) total: usize,
    /// Every study.
    pub(crate) studies: Vec<StudyRow>,
}

/// Page `page` of the runs under `runs` that match the search (question
/// words, date prefix, status word), newest first. A run's status (which
/// reads its whole log) is worked out only for the rows shown, or for every
/// candidate when the search names a status.
pub(crate) fn page(
    runs: &Path,
    jobs: &Jobs,
    filter: &council_app::runs::RunFilter,
    status: &str,
    page: usize,
) -> RowsPage {
    let p = council_app::runs::page(runs, filter, page, council_app::runs::PAGE_SIZE, |r| {
        ids::check(&r.id).is_ok()
            && (status.is_empty() || self::status(&r.dir, &r.id, jobs).word() == status)
    });
    let rows = p
        .runs
        .into_iter()
        .map(|r| RunRow {
            href: ids::href(&r.id),
            status: self::status(&r.dir, &r.id, jobs),
            question: r.header.question.clone(),
            began: council_app::runs::began(&r.header),
            kind: match (r.kind, &r.study) {
                (RunKind::Debate, Some(_)) => "study run",
                (k, _) => k.as_str(),
            },
            id: r.id,
        })
        .collect();
    let studies = p
        .studies
        .into_iter()
        .filter(|s| ids::check(&s.id).is_ok())
        .map(|s| StudyRow {
            href: ids::href(&s.id),
            id: s.id,
            runs: s.runs,
        })
        .collect();
    RowsPage {
        rows,
        page: p.page,
        pages: p.pages,
        matched: p.matched,
        total: p.total,
        studies,
    }
}
