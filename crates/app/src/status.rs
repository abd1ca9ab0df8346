//! Where a run stands, from the writer's lock and the event log alone:
//! never from file times, so a finished run copied with `cp -r` (new times,
//! in any order) reads as finished, and one stopped half-way as stopped.

use council_core::synthesis::SynthesisKind;
use council_core::{RunStatus, Transcript, TurnStatus};
use council_engine::store::{is_live, read_events, EVENTS_FILE, TRANSCRIPT_FILE};
use serde::Serialize;
use std::path::Path;

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// A process is writing it now (it holds the event log's lock).
    Live,
    /// Stopped before its end (cancelled, killed, crashed, or a follow-up
    /// left unfinished): resume it.
    Interrupted,
    /// Finished, with failed turns or synthesis parts.
    Partial,
    /// Every turn and part is there.
    Complete,
}

/// Where the run in `dir` stands; `None` when it has not started (no
/// complete header line) or cannot be read.
pub fn state(dir: &Path) -> Option<RunState> {
    if is_live(dir) {
        return Some(RunState::Live);
    }
    if !dir.join(EVENTS_FILE).is_file() {
        // A transcript without its log (a copied `transcript.json`): as it says.
        let t = council_engine::store::read_transcript(&dir.join(TRANSCRIPT_FILE)).ok()?;
        return Some(state_of(&t, true));
    }
    let t = folded(dir)?;
    Some(state_of(&t, dir.join(TRANSCRIPT_FILE).is_file()))
}

/// Why nothing can be made from the unfinished run in `dir` yet (`what`:
/// "making a variant"), naming what to do: while another process is
/// writing it (a resume or a follow-up), wait for it to end; else resume it.
pub fn unfinished_source(dir: &Path, what: &str) -> String {
    if is_live(dir) {
        format!(
            "the run in {} is being resumed by another Council process now; try {what} again when it ends",
            dir.display()
        )
    } else {
        format!(
            "the debate in {} has not finished; finish it with `council ask --resume {}` before {what}",
            dir.display(),
            dir.display()
        )
    }
}

/// The run in `dir` as its event log holds it now (not `transcript.json`,
/// which is written at the end of each command and can lag behind a
/// follow-up appended since); `None` when it cannot be read.
pub fn folded(dir: &Path) -> Option<Transcript> {
    let log = read_events(dir).ok()?;
    Transcript::from_events(&log.events).ok()
}

/// Where a transcript folded from its log stands. `closed` says whether the
/// run wrote its `transcript.json` (it does at its end): it tells a run
/// asked for no synthesis from one stopped before its synthesis began.
pub fn state_of(t: &Transcript, closed: bool) -> RunState {
    if t.status == RunStatus::Incomplete {
        return RunState::Interrupted;
    }
    let panel: Vec<&str> = t.panel.iter().map(|p| p.id.as_str()).collect();
    let asked = SynthesisKind::all_for(&panel);
    let present = asked
        .iter()
        .filter(|k| t.synthesis.iter().any(|p| &p.part == *k))
        .count();
    // A version 1 transcript has its paths in one legacy part.
    let legacy = t
        .synthesis
        .iter()
        .any(|p| p.part == SynthesisKind::LegacyPaths);
    let synthesis_done = present == asked.len() || legacy && !t.synthesis.is_empty();
    let synthesis_started = present > 0 || legacy;
    // No part at all: finished when none was asked for, or (a run from
    // before the header said so) when it closed with its transcript.
    let none_wanted = !t.synthesis_asked || closed;
    if t.unfinished_followup().is_some()
        || (synthesis_started && !synthesis_done)
        || (!synthesis_started && !none_wanted)
    {
        return RunState::Interrupted;
    }
    let failed = t.status == RunStatus::Partial
        || t.synthesis.iter().any(|p| p.error.is_some())
        || t.followups.iter().any(|f| {
            f.synthesis.as_ref().is_some_and(|p| p.error.is_some())
                || f.turns.iter().any(|x| x.status == TurnStatus::Failed)
        });
    if failed {
        RunState::Partial
    } else {
        RunState::Complete
    }
}

/// Whether `dir`, or any run inside it (its variants and branches, a
/// study's runs), is being written now: the live ones, relative to `dir`.
pub fn live_inside(dir: &Path) -> Vec<String> {
    crate::runs::walk(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|d| is_live(d))
        .map(|d| {
            let rel = d.strip_prefix(dir).unwrap_or(&d);
            let s = rel.to_string_lossy().replace('\\', "/");
            if s.is_empty() {
                ".".to_string()
            } else {
                s
            }
        })
        .collect()
}
