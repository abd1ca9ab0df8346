//! Runs made from another run: a report variant (the same debate, its
//! synthesis re-worded for another reader) and a branch (the same early
//! rounds, later rounds played again with a changed panel, model or
//! question). Each is a run folder of its own, with its own event log: the
//! source's events it reuses are copied in first, marked with the folder
//! they came from, so the new run resumes like any other and never pays
//! twice for what the source already has. The source folder is only read.

use crate::store::read_events;
use crate::{EngineError, RunStore};
use council_core::answers::VerdictAnswer;
use council_core::synthesis::SynthesisKind;
use council_core::variant::{Origin, OriginKind, SourceForecast, VariantSpec};
use council_core::{Event, PanelMember, RunHeader, Transcript};
use std::path::Path;

/// The synthesis parts a re-worded variant reuses as they are: the
/// forecasts (their ids and probabilities) and every vote.
fn reused_by_rewording(kind: &SynthesisKind) -> bool {
    matches!(kind, SynthesisKind::Forecasts | SynthesisKind::Vote(_))
}

/// Where `source` is seen from the run folder `dest`: a path relative to
/// it (`../..` for a variant inside its run), whatever folder the command
/// ran in; the path as given when there is no relative one.
fn seen_from(dest: &Path, source: &Path) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    pathdiff::diff_paths(abs(source), abs(dest))
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| source.display().to_string(), |p| p.display().to_string())
}

/// Marks a copied event with the folder it came from.
fn copied(e: &Event, from: &str) -> Event {
    let mark = Some(from.to_string());
    match e {
        Event::Turn(t) => Event::Turn(Box::new(council_core::Turn {
            copied_from: t.copied_from.clone().or(mark),
            ..(**t).clone()
        })),
        Event::FollowupTurn(t) => Event::FollowupTurn(Box::new(council_core::Turn {
            copied_from: t.copied_from.clone().or(mark),
            ..(**t).clone()
        })),
        Event::Summary(s) => Event::Summary(council_core::Summary {
            copied_from: s.copied_from.clone().or(mark),
            ..s.clone()
        }),
        Event::FollowupSummary(s) => Event::FollowupSummary(council_core::Summary {
            copied_from: s.copied_from.clone().or(mark),
            ..s.clone()
        }),
        Event::Synthesis(p) => Event::Synthesis(council_core::transcript::SynthesisPart {
            copied_from: p.copied_from.clone().or(mark),
            ..p.clone()
        }),
        other => other.clone(),
    }
}

fn header_of(events: &[Event], dir: &Path) -> Result<RunHeader, EngineError> {
    match events.first() {
        Some(Event::Started(h)) if h.version < 2 => Err(EngineError::Store(format!(
            "{} was made by an older Council (transcript format {}); `council render` reads it, but variants and branches need format 2 or later: run the question again",
            dir.display(),
            h.version
        ))),
        Some(Event::Started(h)) => Ok(h.clone()),
        _ => Err(EngineError::Store(format!(
            "{} does not start with a run header",
            dir.display()
        ))),
    }
}

/// Opens `dest` to continue a derived run if it holds one made with the
/// same header as `wanted` would have; creates it with `events` otherwise.
fn create_or_continue(
    dest: &Path,
    events: Vec<Event>,
    same: impl Fn(&RunHeader) -> bool,
    what: &str,
) -> Result<(RunStore, bool), EngineError> {
    if crate::store::started(dest) {
        let store = RunStore::open(dest)?;
        let h = header_of(store.events(), dest)?;
        if !same(&h) {
            return Err(EngineError::Store(format!(
                "{} already holds a {what} made with other settings; choose another name or folder",
                dest.display()
            )));
        }
        return Ok((store, true));
    }
    let mut store = RunStore::create(dest)?;
    for e in events {
        store.append(e)?;
    }
    Ok((store, false))
}

/// Starts (or continues) the variant `spec` of the run in `source`, in
/// `dest`, writing its synthesis in `lang`. A variant that does not change
/// the wording (`spec.changes_wording()` false and the same language)
/// copies every synthesis part: it costs no call. Returns the store and
/// whether it was continued.
pub fn start_variant(
    source: &Path,
    dest: &Path,
    mut spec: VariantSpec,
    lang: &str,
) -> Result<(RunStore, bool), EngineError> {
    let log = read_events(source)?;
    let h = header_of(&log.events, source)?;
    let t = Transcript::from_events(&log.events)
        .map_err(|e| EngineError::Store(format!("{}: {e}", source.display())))?;
    spec.rewords = spec.changes_wording() || lang != h.lang;
    if spec.rewords {
        let verdict = t
            .synthesis
            .iter()
            .find(|p| p.part == SynthesisKind::Verdict && p.error.is_none())
            .and_then(|p| serde_json::from_value::<VerdictAnswer>(p.value.clone()).ok());
        spec.keep_stance = verdict.as_ref().map(|v| v.stance);
        spec.source_verdict = verdict.map(|v| v.answer);
    }
    let from = source.display().to_string();
    // Audience and length show on the report's variant line; the origin
    // names what else differs.
    let mut changes = Vec::new();
    if lang != h.lang {
        changes.push(format!("language {} (the debate's: {})", lang, h.lang));
    }
    changes.extend(spec.tone.iter().map(|x| format!("tone: {x}")));
    changes.extend(spec.emphasis.iter().map(|x| format!("emphasis: {x}")));
    let header = RunHeader {
        version: council_core::TRANSCRIPT_VERSION,
        lang: lang.to_string(),
        origin: Some(Origin {
            kind: OriginKind::Variant,
            source: from.clone(),
            source_question: h.question.clone(),
            from_round: None,
            changes,
            source_panel: Vec::new(),
            source_forecasts: Vec::new(),
        }),
        variant: Some(spec.clone()),
        // A variant writes its synthesis, whatever its source asked.
        synthesis: true,
        started: Some(crate::store::now_utc()),
        ..h.clone()
    };
    let mark = seen_from(dest, source);
    let mut events = vec![Event::Started(header.clone())];
    for e in &log.events[1..] {
        let keep = match e {
            Event::Synthesis(p) => match p.part {
                SynthesisKind::Followup(_) => true,
                ref k => !spec.rewords || reused_by_rewording(k),
            },
            Event::Started(_) => false,
            _ => true,
        };
        if keep {
            events.push(copied(e, &mark));
        }
    }
    create_or_continue(
        dest,
        events,
        |old| old.variant.as_ref() == Some(&spec) && old.lang == lang,
        "variant",
    )
}

/// What a branch changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BranchPlan {
    /// The first round played again; rounds before it are copied.
    pub from_round: u32,
    /// The new panel, in speaking order.
    pub panel: Vec<PanelMember>,
    /// The new question, if it changes.
    pub question: Option<String>,
    /// What differs, one line each, for the record.
    pub changes: Vec<String>,
}

/// The source's forecasts as its report shows them (ids and statements,
/// in its own words): what a branch's forecasts may revise, keeping the id.
fn revisable_forecasts(t: &Transcript) -> Vec<SourceForecast> {
    council_core::forecasts::panel_forecasts(t)
        .kept
        .into_iter()
        .map(|f| SourceForecast {
            id: f.id,
            statement: f.statement,
            horizon_months: f.horizon_months,
        })
        .collect()
}

/// Starts (or continues) a branch of the run in `source` in `dest`: rounds
/// before `plan.from_round` are copied (turns and summaries, marked with
/// their origin); the branch then plays the rest and its own synthesis.
pub fn start_branch(
    source: &Path,
    dest: &Path,
    plan: &BranchPlan,
) -> Result<(RunStore, bool), EngineError> {
    let log = read_events(source)?;
    let h = header_of(&log.events, source)?;
    if plan.from_round < 1 || plan.from_round > h.rounds {
        return Err(EngineError::Store(format!(
            "--from-round {} is out of range: the run has rounds 1 to {}",
            plan.from_round, h.rounds
        )));
    }
    let t = Transcript::from_events(&log.events)
        .map_err(|e| EngineError::Store(format!("{}: {e}", source.display())))?;
    let before = plan.from_round - 1;
    let have = t
        .rounds
        .iter()
        .filter(|r| r.number <= before && r.summary.is_some())
        .count() as u32;
    if have < before {
        return Err(EngineError::Store(format!(
            "the run has finished only {have} round(s); a branch from round {} needs rounds 1 to {before}; resume the run first",
            plan.from_round
        )));
    }
    let from = source.display().to_string();
    let header = RunHeader {
        version: council_core::TRANSCRIPT_VERSION,
        question: plan.question.clone().unwrap_or_else(|| h.question.clone()),
        panel: plan.panel.clone(),
        origin: Some(Origin {
            kind: OriginKind::Branch,
            source: from.clone(),
            source_question: h.question.clone(),
            from_round: Some(plan.from_round),
            changes: plan.changes.clone(),
            source_panel: h.panel.clone(),
            source_forecasts: revisable_forecasts(&t),
        }),
        variant: None,
        synthesis: true,
        started: Some(crate::store::now_utc()),
        ..h.clone()
    };
    let mark = seen_from(dest, source);
    let mut events = vec![Event::Started(header.clone())];
    for e in &log.events[1..] {
        let keep = match e {
            Event::Turn(x) => x.round <= before,
            Event::Summary(s) => s.round <= before,
            _ => false,
        };
        if keep {
            events.push(copied(e, &mark));
        }
    }
    create_or_continue(
        dest,
        events,
        |old| {
            // A branch begun before forecasts were carried over continues
            // as it began, its forecasts with ids of their own.
            let plan = |o: &Option<Origin>| {
                o.clone().map(|o| Origin {
                    source_forecasts: Vec::new(),
                    ..o
                })
            };
            plan(&old.origin) == plan(&header.origin)
                && old.panel == header.panel
                && old.question == header.question
        },
        "branch",
    )
}
