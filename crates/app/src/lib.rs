//! Council's application layer: what the command line (`council`) and the
//! web app (`council serve`) both do with runs, decided once.
//!
//! - [`runs`]: finding runs under any folder, each with its kind (debate,
//!   variant, branch), its source and, in a study, its question, model,
//!   repeat and seed;
//! - [`status`]: where a run stands (live, interrupted, partial, complete),
//!   from the writer's lock and the event log, never from file times;
//! - [`report`]: a run's full report (the report, its cost, a brand) in
//!   every format;
//! - [`remove`]: the rules for removing a run (never while it, or anything
//!   inside it, is being written).
//!
//! Neither front end decides what a run is, what counts or what a report
//! holds: they parse what the user gave, call this crate and present.

pub mod jobs;
pub mod remove;
pub mod report;
pub mod research;
pub mod runs;
pub mod status;

/// A problem with what the user gave (a flag's value, a file, a folder, a
/// form field); the message names the fix. The command line exits with 4.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl InputError {
    /// An input error from a message.
    pub fn new(message: impl Into<String>) -> InputError {
        InputError(message.into())
    }
}

/// A run folder the engine cannot read (no such folder, no event log) is the
/// user's to fix: its IO error becomes an [`InputError`]; any other engine
/// error passes through.
pub fn unreadable_run(e: council_engine::EngineError) -> anyhow::Error {
    match e {
        council_engine::EngineError::Io { .. } => {
            anyhow::Error::new(InputError(council_core::error_chain(&e)))
        }
        other => other.into(),
    }
}
