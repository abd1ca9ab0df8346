//! The run, end to end: the header, every round in order, then the
//! synthesis, then `transcript.json`. The event log is the single source of
//! truth: whatever is already in it (a resumed run) is never asked again.

use crate::{Debate, EngineError, RunStore};
use council_core::{Event, PanelMember, RunHeader, Transcript, TRANSCRIPT_VERSION};

/// Plays the debate into `store`, skipping every turn, summary and
/// synthesis part already there, and writes `transcript.json` at the end.
pub async fn run(d: &Debate<'_>, store: &mut RunStore) -> Result<Transcript, EngineError> {
    let panel_members: Vec<PanelMember> = d.panel.iter().map(PanelMember::from).collect();
    match store.events().first() {
        None => store.append(Event::Started(RunHeader {
            version: TRANSCRIPT_VERSION,
            question: d.question.clone(),
            date: d.settings.date.clone(),
            lang: d.settings.lang.clone(),
            seed: d.settings.seed,
            rounds: d.settings.rounds,
            panel: panel_members.clone(),
            notes: d.notes.clone(),
            sources: d
                .library
                .map(council_library::Library::sources)
                .unwrap_or_default(),
            library: d.library_inputs.clone(),
            origin: None,
            variant: None,
            synthesis: d.settings.synthesis,
            started: Some(crate::store::now_utc()),
            condition: d.settings.condition,
        }))?,
        Some(Event::Started(h)) => {
            if h.version != TRANSCRIPT_VERSION {
                return Err(EngineError::Resume(format!(
                    "the run was made by another version of Council (transcript format {}, this one writes {TRANSCRIPT_VERSION}); `council render` still reads it, but continue it as a new run",
                    h.version
                )));
            }
            if h.condition != d.settings.condition {
                return Err(EngineError::Resume(format!(
                    "the run folder holds a run of the {} condition, not {}",
                    h.condition, d.settings.condition
                )));
            }
            if h.question != d.question
                || h.panel
                    .iter()
                    .map(|p| &p.id)
                    .ne(panel_members.iter().map(|p| &p.id))
            {
                return Err(EngineError::Resume(
                    "the run folder holds a different question or panel".into(),
                ));
            }
        }
        Some(_) => {
            return Err(EngineError::Resume(
                "the event log does not start with `started`".into(),
            ))
        }
    }
    // A branch plays from its branch point; earlier rounds were copied in.
    let first = match store.events().first() {
        Some(Event::Started(h)) => h.origin.as_ref().and_then(|o| o.from_round).unwrap_or(1),
        _ => 1,
    };
    for round in first..=d.settings.rounds {
        crate::rounds::play(d, store, round).await?;
    }
    if d.settings.condition == council_core::study::Condition::Single {
        // No rounds: the one call is the whole run.
        crate::single::answer(d, store).await?;
    } else if d.settings.synthesis {
        crate::synthesis::synthesize(d, store).await?;
    }
    store.write_transcript()?;
    store.transcript()
}
