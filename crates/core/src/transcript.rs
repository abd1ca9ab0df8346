//! The transcript: every turn and summary of a run, and the event log it is
//! rebuilt from. This is a wire format: versioned, and documented by the
//! JSON Schema that [`transcript_schema`] returns.

use crate::synthesis::SynthesisKind;
use crate::variant::{Origin, VariantSpec};
use crate::{Move, PanelMember, Usage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The transcript format version this build writes. Version 3 adds
/// follow-up rounds, variants and branches (their origin, copied turns);
/// version 2 typed the synthesis parts (stances on the question, one call
/// per future path, milestones keyed by month). Versions 1 and 2 are still
/// read.
pub const TRANSCRIPT_VERSION: u32 = 3;

/// The oldest transcript format version this build reads.
pub const OLDEST_TRANSCRIPT_VERSION: u32 = 1;

/// The most rounds a run plans (`council ask --rounds` takes 1 to this).
/// A log or transcript planning more was damaged or edited by hand, and
/// is refused before anything counts or allocates by round.
pub const MAX_ROUNDS: u32 = 10;

/// The fix for an event log a reader refuses.
const LOG_FIX: &str = "the line is damaged: restore the log from a backup, or start the run again";

/// Whether a turn was spoken or its calls failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TurnStatus {
    /// The persona spoke.
    Ok,
    /// Every call failed; `error` says why.
    Failed,
}

/// One persona's contribution to one round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Turn {
    /// Round number, from 1.
    pub round: u32,
    /// Speaker's persona id.
    pub persona: String,
    /// Spoken or failed.
    pub status: TurnStatus,
    /// The move the turn makes; absent for failed turns.
    #[serde(rename = "move")]
    pub move_: Option<Move>,
    /// What was said.
    pub text: String,
    /// Persona ids this turn answers.
    #[serde(default)]
    pub responds_to: Vec<String>,
    /// Confidence in one's own position, 0–100.
    pub confidence: Option<u8>,
    /// The turn's stance on the question's proposition; absent for failed
    /// turns and in transcripts before version 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stance: Option<crate::answers::Stance>,
    /// Sources cited (citation numbers or names, as given).
    #[serde(default)]
    pub citations: Vec<String>,
    /// Round 4: the assumption under one's own position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assumption: Option<String>,
    /// Round 4: the peer whose assumption is targeted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_peer: Option<String>,
    /// Round 4: that peer's most dangerous assumption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_assumption: Option<String>,
    /// Round 5: the story under the situation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story: Option<String>,
    /// Round 5: the one systemic change it implies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemic_change: Option<String>,
    /// What was repaired or doubted in the model's answer.
    #[serde(default)]
    pub flags: Vec<String>,
    /// For failed turns, the error after retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a turn copied into a branch: the run folder it was spoken in
    /// (its usage was paid there, and is not counted again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
    /// Tokens spent on this turn.
    pub usage: Usage,
    /// Backend that produced it.
    pub backend: String,
    /// Model that produced it.
    pub model: String,
}

impl Turn {
    /// A spoken turn with nothing in it yet, to be filled from an answer.
    pub fn empty(round: u32, persona: &str) -> Turn {
        Turn {
            round,
            persona: persona.to_string(),
            status: TurnStatus::Ok,
            move_: None,
            text: String::new(),
            responds_to: Vec::new(),
            confidence: None,
            stance: None,
            citations: Vec::new(),
            assumption: None,
            target_peer: None,
            target_assumption: None,
            story: None,
            systemic_change: None,
            flags: Vec::new(),
            error: None,
            copied_from: None,
            usage: Usage::none(),
            backend: String::new(),
            model: String::new(),
        }
    }

    /// A turn whose calls failed after retries, with the error.
    pub fn failed(round: u32, persona: &str, error: String) -> Turn {
        Turn {
            status: TurnStatus::Failed,
            error: Some(error),
            ..Turn::empty(round, persona)
        }
    }
}

/// A round's moderator summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Round number.
    pub round: u32,
    /// The summary text, in the question's language.
    pub text: String,
    /// Persona ids absent from the round (failed turns).
    #[serde(default)]
    pub absent: Vec<String>,
    /// Whether the model's call failed and the text was assembled from the turns.
    #[serde(default)]
    pub fallback: bool,
    /// For a summary copied into a branch: the run folder it was written in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
    /// What is doubtful about the summary (written in another language…),
    /// for the report's flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Tokens spent.
    pub usage: Usage,
    /// Backend that produced it.
    pub backend: String,
    /// Model that produced it.
    pub model: String,
}

/// Who answered one call, what it cost in tokens, and what its answer was
/// flagged for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CallMeta {
    /// Tokens spent.
    pub usage: Usage,
    /// Backend that answered.
    pub backend: String,
    /// Model that answered.
    pub model: String,
    /// For a call copied from another run: that run's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
    /// What is doubtful about the answer (a summary's [`Summary::flags`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

impl From<&Summary> for CallMeta {
    fn from(s: &Summary) -> CallMeta {
        CallMeta {
            usage: s.usage,
            backend: s.backend.clone(),
            model: s.model.clone(),
            copied_from: s.copied_from.clone(),
            flags: s.flags.clone(),
        }
    }
}

/// One round of the debate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Round {
    /// Round number, from 1.
    pub number: u32,
    /// The moderator's summary, once written.
    pub summary: Option<String>,
    /// The summary's call (absent in transcripts before version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_call: Option<CallMeta>,
    /// Turns, in panel order.
    pub turns: Vec<Turn>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every turn was spoken.
    Complete,
    /// The run finished but some turns failed.
    Partial,
    /// The run stopped before its last round (resume it).
    Incomplete,
}

/// What a run was asked to do, written first to the event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunHeader {
    /// Transcript format version.
    pub version: u32,
    /// The question.
    pub question: String,
    /// The run date, `YYYY-MM-DD`.
    pub date: String,
    /// Report language (`en`, `zh`…).
    pub lang: String,
    /// Base sampling seed.
    pub seed: u64,
    /// Rounds planned.
    pub rounds: u32,
    /// The panel, in speaking order.
    pub panel: Vec<PanelMember>,
    /// Repairs made before the debate (casting), for the report.
    #[serde(default)]
    pub notes: Vec<String>,
    /// The research library's sources, by citation number.
    #[serde(default)]
    pub sources: Vec<crate::Source>,
    /// The library inputs (folders and files), so a resumed run reloads them.
    #[serde(default)]
    pub library: Vec<String>,
    /// For a variant or a branch: the run it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// For a variant: its audience, length, tone and emphasis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<VariantSpec>,
    /// Whether the synthesis (verdict, forecasts, votes, plan…) was asked
    /// for after the debate (`council ask --no-synthesis` asks for none).
    #[serde(default = "asked", skip_serializing_if = "is_asked")]
    pub synthesis: bool,
    /// When the run began, RFC 3339 in UTC (`2026-12-06T20:12:27Z`); runs
    /// written before the field have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<String>,
    /// The study condition the run was played in (left out for the full
    /// debate, which every run outside a study is).
    #[serde(default, skip_serializing_if = "crate::study::Condition::is_debate")]
    pub condition: crate::study::Condition,
}

/// Serde's default for [`RunHeader::synthesis`]: runs written before the
/// field asked for their synthesis unless told otherwise.
fn asked() -> bool {
    true
}

fn is_asked(b: &bool) -> bool {
    *b
}

/// A follow-up question put to the panel after the debate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FollowupAsked {
    /// 1 for the first follow-up, 2 for the next…
    pub number: u32,
    /// The question.
    pub question: String,
}

/// One follow-up: the question, each advisor's answer, the moderator's
/// summary and the short synthesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Followup {
    /// 1 for the first follow-up, 2 for the next…
    pub number: u32,
    /// The question.
    pub question: String,
    /// The panel's answers, in panel order (`round` holds the follow-up's number).
    pub turns: Vec<Turn>,
    /// The moderator's summary, once written.
    pub summary: Option<String>,
    /// The summary's call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_call: Option<CallMeta>,
    /// The short synthesis (answer, what changed, new risks), once written.
    pub synthesis: Option<SynthesisPart>,
}

/// One line of `events.jsonl`.
// The header is the large variant (a branch's source panel and forecasts);
// a run holds one, and events are read and written a line at a time, so
// boxing it would cost every match for no memory worth saving.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run began.
    Started(RunHeader),
    /// A turn was spoken (or failed).
    Turn(Box<Turn>),
    /// A round was summarised.
    Summary(Summary),
    /// One synthesis call finished (a follow-up's too: `followup:N`).
    Synthesis(SynthesisPart),
    /// A follow-up question was put to the panel.
    Followup(FollowupAsked),
    /// An advisor answered a follow-up (`round` holds its number).
    FollowupTurn(Box<Turn>),
    /// A follow-up was summarised (`round` holds its number).
    FollowupSummary(Summary),
}

/// The answer to one synthesis call, kept as the model gave it so the
/// report can be rebuilt (and re-verified) from the transcript without any
/// model call; [`crate::synthesis::Answers`] reads it into types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SynthesisPart {
    /// Which part.
    pub part: SynthesisKind,
    /// The validated JSON answer; null if the call failed.
    pub value: serde_json::Value,
    /// The error, if the call failed after retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What was repaired in the answer (a variant's verdict held to the
    /// debate's stance…), for the report's flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// For a part copied into a variant: the run folder it was answered in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<String>,
    /// Tokens spent.
    pub usage: Usage,
    /// Backend that produced it.
    pub backend: String,
    /// Model that produced it.
    pub model: String,
}

/// A whole run: the question, the panel, and every round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transcript {
    /// Format version.
    pub version: u32,
    /// The question.
    pub question: String,
    /// The run date, `YYYY-MM-DD`.
    pub date: String,
    /// Report language.
    pub lang: String,
    /// Base sampling seed.
    pub seed: u64,
    /// The panel, in speaking order.
    pub panel: Vec<PanelMember>,
    /// Rounds, in order.
    pub rounds: Vec<Round>,
    /// Rounds planned.
    pub planned_rounds: u32,
    /// Repairs made before the debate (casting), for the report.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Synthesis answers, by part, once written.
    #[serde(default)]
    pub synthesis: Vec<SynthesisPart>,
    /// The research library's sources, by citation number.
    #[serde(default)]
    pub sources: Vec<crate::Source>,
    /// How the run ended.
    pub status: RunStatus,
    /// Follow-up questions and their answers, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub followups: Vec<Followup>,
    /// For a variant or a branch: the run it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// For a variant: its audience, length, tone and emphasis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<VariantSpec>,
    /// Tokens spent by every call (turns copied from another run excluded).
    pub usage: Usage,
    /// Whether the synthesis was asked for ([`RunHeader::synthesis`]).
    #[serde(default = "asked", skip_serializing_if = "is_asked")]
    pub synthesis_asked: bool,
    /// The study condition ([`RunHeader::condition`]).
    #[serde(default, skip_serializing_if = "crate::study::Condition::is_debate")]
    pub condition: crate::study::Condition,
}

impl RunHeader {
    /// Checks the numbers readers count with: the rounds planned are 1 to
    /// [`MAX_ROUNDS`] (0, and only 0, for the `single` condition, whose one
    /// call has no rounds). The error names the field.
    pub fn check(&self) -> Result<(), String> {
        if self.condition == crate::study::Condition::Single {
            if self.rounds != 0 {
                return Err(format!(
                    "the run plans {} rounds, but a run of the single condition plans 0 (`rounds` of the `started` event)",
                    self.rounds
                ));
            }
            return Ok(());
        }
        if !(1..=MAX_ROUNDS).contains(&self.rounds) {
            return Err(format!(
                "the run plans {} rounds, but a run plans 1 to {MAX_ROUNDS} (`rounds` of the `started` event)",
                self.rounds
            ));
        }
        Ok(())
    }
}

/// Checks an event log's order and numbers (event `i` is line `i + 1`): it
/// starts with the one `started` event, whose header plans 1 to
/// [`MAX_ROUNDS`] rounds; every turn and summary is of a planned round;
/// follow-ups are asked numbered 1, 2, 3… and answered, summarised and
/// synthesised after they are asked. The error names the line and the fix.
pub fn check_log(events: &[Event]) -> Result<(), String> {
    let Some(Event::Started(h)) = events.first() else {
        return Err(format!(
            "line 1: the event log does not start with a `started` event; {LOG_FIX}"
        ));
    };
    h.check().map_err(|e| format!("line 1: {e}; {LOG_FIX}"))?;
    let mut asked: u32 = 0;
    for (i, e) in events.iter().enumerate().skip(1) {
        let line = i + 1;
        let round = |what: &str, round: u32| {
            if (1..=h.rounds).contains(&round) {
                Ok(())
            } else {
                Err(format!(
                    "line {line}: a {what} of round {round}, but the run plans rounds 1 to {}; {LOG_FIX}",
                    h.rounds
                ))
            }
        };
        let followup = |what: &str, n: u32| {
            if (1..=asked).contains(&n) {
                Ok(())
            } else {
                Err(format!(
                    "line {line}: follow-up {n} is {what} before it is asked; {LOG_FIX}"
                ))
            }
        };
        match e {
            Event::Started(_) => {
                return Err(format!(
                    "line {line}: the event log has two `started` events; {LOG_FIX}"
                ))
            }
            Event::Turn(t) => round("turn", t.round)?,
            Event::Summary(s) => round("summary", s.round)?,
            Event::Synthesis(p) => {
                if let SynthesisKind::Followup(n) = p.part {
                    followup("answered", n)?;
                }
            }
            // Asking one again (a resumed follow-up) changes nothing.
            Event::Followup(f) if (1..=asked).contains(&f.number) => {}
            Event::Followup(f) => {
                if u64::from(f.number) != u64::from(asked) + 1 {
                    return Err(format!(
                        "line {line}: follow-up {} is asked after {asked} follow-ups (it would be number {}); {LOG_FIX}",
                        f.number,
                        u64::from(asked) + 1
                    ));
                }
                asked = f.number;
            }
            Event::FollowupTurn(t) => followup("answered", t.round)?,
            Event::FollowupSummary(s) => followup("summarised", s.round)?,
        }
    }
    Ok(())
}

impl Transcript {
    /// Rebuilds a transcript from its event log, refused as [`check_log`]
    /// says. The last event for a (round, persona) pair wins; turns keep
    /// panel order.
    pub fn from_events(events: &[Event]) -> Result<Transcript, String> {
        check_log(events)?;
        let Some(Event::Started(h)) = events.first() else {
            return Err("the event log does not start with a `started` event".into());
        };
        let mut turns: BTreeMap<(u32, String), Turn> = BTreeMap::new();
        let mut summaries: BTreeMap<u32, Summary> = BTreeMap::new();
        let mut synthesis: BTreeMap<SynthesisKind, SynthesisPart> = BTreeMap::new();
        let mut followups: BTreeMap<u32, Followup> = BTreeMap::new();
        let mut followup_turns: BTreeMap<(u32, String), Turn> = BTreeMap::new();
        let mut followup_summaries: BTreeMap<u32, Summary> = BTreeMap::new();
        // Every number below was checked by check_log.
        for e in &events[1..] {
            match e {
                Event::Started(_) => {}
                Event::Turn(t) => {
                    turns.insert((t.round, t.persona.clone()), (**t).clone());
                }
                Event::Summary(s) => {
                    summaries.insert(s.round, s.clone());
                }
                Event::Synthesis(p) => match p.part {
                    SynthesisKind::Followup(n) => {
                        if let Some(f) = followups.get_mut(&n) {
                            f.synthesis = Some(p.clone());
                        }
                    }
                    _ => {
                        synthesis.insert(p.part.clone(), p.clone());
                    }
                },
                Event::Followup(f) => {
                    followups.entry(f.number).or_insert_with(|| Followup {
                        number: f.number,
                        question: f.question.clone(),
                        turns: Vec::new(),
                        summary: None,
                        summary_call: None,
                        synthesis: None,
                    });
                }
                Event::FollowupTurn(t) => {
                    followup_turns.insert((t.round, t.persona.clone()), (**t).clone());
                }
                Event::FollowupSummary(s) => {
                    followup_summaries.insert(s.round, s.clone());
                }
            }
        }
        // At most MAX_ROUNDS: every round number was checked against the plan.
        let max_round = turns
            .keys()
            .map(|k| k.0)
            .chain(summaries.keys().copied())
            .max()
            .unwrap_or(0);
        let mut rounds = Vec::new();
        let mut usage = Usage::none();
        // A branch's rounds before its branch point are copied as they were
        // (with the panel of then); from there on every member speaks.
        let first = h.origin.as_ref().and_then(|o| o.from_round).unwrap_or(1);
        for n in 1..=max_round {
            let mut round_turns = Vec::new();
            // A branch's copied rounds keep the source's speaking order.
            let order = match &h.origin {
                Some(o) if n < first && !o.source_panel.is_empty() => &o.source_panel,
                _ => &h.panel,
            };
            for p in order {
                if let Some(t) = turns.get(&(n, p.id.clone())) {
                    if t.copied_from.is_none() {
                        usage += t.usage;
                    }
                    round_turns.push(t.clone());
                }
            }
            // Any other copied turn (an advisor a branch took off the
            // panel) stays in its round, after the rest.
            round_turns.extend(
                turns
                    .range((n, String::new())..)
                    .take_while(|((r, _), _)| *r == n)
                    .filter(|(_, t)| {
                        t.copied_from.is_some() && !order.iter().any(|p| p.id == t.persona)
                    })
                    .map(|(_, t)| t.clone()),
            );
            let summary = summaries.get(&n).map(|s| {
                if s.copied_from.is_none() {
                    usage += s.usage;
                }
                s.text.clone()
            });
            rounds.push(Round {
                number: n,
                summary,
                summary_call: summaries.get(&n).map(CallMeta::from),
                turns: round_turns,
            });
        }
        let single = h.condition == crate::study::Condition::Single;
        let finished = rounds.len() as u32 == h.rounds
            // The single condition's run is its one answer.
            && (!single || !synthesis.is_empty())
            && rounds.iter().all(|r| {
                r.summary.is_some()
                    && (r.number < first
                        || h.panel
                            .iter()
                            .all(|p| r.turns.iter().any(|t| t.persona == p.id)))
            });
        let any_failed = rounds
            .iter()
            .flat_map(|r| &r.turns)
            .any(|t| t.status == TurnStatus::Failed)
            || (single && synthesis.values().any(|p| p.error.is_some()));
        let status = match (finished, any_failed) {
            (false, _) => RunStatus::Incomplete,
            (true, true) => RunStatus::Partial,
            (true, false) => RunStatus::Complete,
        };
        for f in followups.values_mut() {
            for p in &h.panel {
                if let Some(t) = followup_turns.get(&(f.number, p.id.clone())) {
                    if t.copied_from.is_none() {
                        usage += t.usage;
                    }
                    f.turns.push(t.clone());
                }
            }
            f.summary = followup_summaries.get(&f.number).map(|s| {
                if s.copied_from.is_none() {
                    usage += s.usage;
                }
                s.text.clone()
            });
            f.summary_call = followup_summaries.get(&f.number).map(CallMeta::from);
            if let Some(p) = f.synthesis.as_ref().filter(|p| p.copied_from.is_none()) {
                usage += p.usage;
            }
        }
        Ok(Transcript {
            version: h.version,
            question: h.question.clone(),
            date: h.date.clone(),
            lang: h.lang.clone(),
            seed: h.seed,
            panel: h.panel.clone(),
            rounds,
            planned_rounds: h.rounds,
            notes: h.notes.clone(),
            sources: h.sources.clone(),
            synthesis: synthesis
                .into_values()
                .inspect(|p| {
                    if p.copied_from.is_none() {
                        usage += p.usage;
                    }
                })
                .collect(),
            status,
            followups: followups.into_values().collect(),
            origin: h.origin.clone(),
            variant: h.variant.clone(),
            usage,
            synthesis_asked: h.synthesis,
            condition: h.condition,
        })
    }

    /// The last follow-up, if it is unfinished: a panel member has not
    /// answered it, or its summary or short synthesis is missing.
    pub fn unfinished_followup(&self) -> Option<&Followup> {
        self.followups.last().filter(|f| {
            f.synthesis.is_none()
                || f.summary.is_none()
                || self
                    .panel
                    .iter()
                    .any(|p| !f.turns.iter().any(|x| x.persona == p.id))
        })
    }

    /// Checks the numbers readers count and index with, in a transcript
    /// read from a file: 1 to [`MAX_ROUNDS`] rounds planned, no more rounds
    /// than planned, rounds and follow-ups numbered 1, 2, 3… in order, each
    /// turn in the round (or follow-up) it names. The error names the field.
    pub fn check_numbers(&self) -> Result<(), String> {
        let single = self.condition == crate::study::Condition::Single;
        if single && self.planned_rounds != 0 {
            return Err(format!(
                "planned_rounds is {}, but a run of the single condition plans 0 rounds",
                self.planned_rounds
            ));
        }
        if !single && !(1..=MAX_ROUNDS).contains(&self.planned_rounds) {
            return Err(format!(
                "planned_rounds is {}, but a run plans 1 to {MAX_ROUNDS} rounds",
                self.planned_rounds
            ));
        }
        if self.rounds.len() as u64 > u64::from(self.planned_rounds) {
            return Err(format!(
                "rounds holds {} rounds, but planned_rounds is {}",
                self.rounds.len(),
                self.planned_rounds
            ));
        }
        let numbered = |field: &str, i: usize, number: u32, turns: &[Turn]| {
            if u64::from(number) != i as u64 + 1 {
                return Err(format!(
                    "{field}[{i}].number is {number}, but {field} are numbered 1, 2, 3… in order (it would be {})",
                    i + 1
                ));
            }
            match turns.iter().position(|t| t.round != number) {
                Some(j) => Err(format!(
                    "{field}[{i}].turns[{j}].round is {}, but the turn is in number {number}",
                    turns[j].round
                )),
                None => Ok(()),
            }
        };
        for (i, r) in self.rounds.iter().enumerate() {
            numbered("rounds", i, r.number, &r.turns)?;
        }
        for (i, f) in self.followups.iter().enumerate() {
            numbered("followups", i, f.number, &f.turns)?;
        }
        Ok(())
    }

    /// An advisor's display name: from the panel, else (in a branch) from
    /// the source's panel, else the id.
    pub fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        if self.panel.iter().any(|p| p.id == id) {
            return crate::name_of(&self.panel, id);
        }
        self.origin
            .as_ref()
            .map_or(id, |o| crate::name_of(&o.source_panel, id))
    }

    /// Each persona's confidence per round (`None` where absent), in panel order.
    pub fn confidence_trajectories(&self) -> Vec<(String, Vec<Option<u8>>)> {
        self.panel
            .iter()
            .map(|p| {
                let track = self
                    .rounds
                    .iter()
                    .map(|r| {
                        r.turns
                            .iter()
                            .find(|t| t.persona == p.id)
                            .and_then(|t| t.confidence)
                    })
                    .collect();
                (p.id.clone(), track)
            })
            .collect()
    }

    /// Every flag raised on a turn, with its round and persona.
    pub fn flags(&self) -> Vec<(u32, String, String)> {
        self.rounds
            .iter()
            .flat_map(|r| &r.turns)
            .flat_map(|t| {
                t.flags
                    .iter()
                    .map(move |f| (t.round, t.persona.clone(), f.clone()))
            })
            .collect()
    }
}

/// The JSON Schema of [`Transcript`], as `council schema transcript` prints it.
pub fn transcript_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Transcript)).unwrap_or_default()
}

/// The JSON Schema of one `events.jsonl` line.
pub fn event_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Event)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::variant::OriginKind;

    fn member(id: &str) -> PanelMember {
        PanelMember {
            id: id.into(),
            name: id.to_uppercase(),
            role: String::new(),
            i18n: Default::default(),
        }
    }

    fn header(panel: &[&str], rounds: u32) -> RunHeader {
        RunHeader {
            version: TRANSCRIPT_VERSION,
            question: "q".into(),
            date: "2026-11-27".into(),
            lang: "en".into(),
            seed: 1,
            rounds,
            panel: panel.iter().map(|p| member(p)).collect(),
            notes: vec![],
            sources: vec![],
            library: vec![],
            origin: None,
            variant: None,
            synthesis: true,
            started: None,
            condition: Default::default(),
        }
    }

    fn turn(round: u32, persona: &str, copied: bool) -> Event {
        let mut t = Turn::empty(round, persona);
        t.usage = Usage::reported(10, 5);
        t.copied_from = copied.then(|| "src".to_string());
        Event::Turn(Box::new(t))
    }

    fn summary(round: u32, copied: bool) -> Summary {
        Summary {
            round,
            text: format!("r{round}"),
            absent: vec![],
            fallback: false,
            copied_from: copied.then(|| "src".to_string()),
            flags: Vec::new(),
            usage: Usage::reported(1, 1),
            backend: "b".into(),
            model: "m".into(),
        }
    }

    #[test]
    fn a_branch_keeps_its_copied_rounds_in_the_source_order_and_counts_only_its_own_calls() {
        let mut h = header(&["a", "c"], 2);
        h.origin = Some(crate::variant::Origin {
            kind: OriginKind::Branch,
            source: "src".into(),
            source_question: "q".into(),
            from_round: Some(2),
            changes: vec!["swap b=c".into()],
            source_panel: vec![member("a"), member("b")],
            source_forecasts: Vec::new(),
        });
        let events = vec![
            Event::Started(h),
            turn(1, "b", true),
            turn(1, "a", true),
            Event::Summary(summary(1, true)),
            turn(2, "a", false),
            turn(2, "c", false),
            Event::Summary(summary(2, false)),
        ];
        let t = Transcript::from_events(&events).unwrap();
        let ids = |n: usize| -> Vec<&str> {
            t.rounds[n]
                .turns
                .iter()
                .map(|x| x.persona.as_str())
                .collect()
        };
        assert_eq!(
            ids(0),
            ["a", "b"],
            "the copied round keeps the source's speaker who left"
        );
        assert_eq!(ids(1), ["a", "c"]);
        assert_eq!(t.status, RunStatus::Complete);
        // Two own turns (15 each) and one own summary (2).
        assert_eq!(t.usage.calls, 3);
        assert_eq!(t.usage.prompt_tokens, Some(21));
    }

    #[test]
    fn follow_ups_are_rebuilt_from_their_events_and_must_be_asked_first() {
        let mut ft = Turn::empty(1, "a");
        ft.usage = Usage::reported(3, 3);
        let events = vec![
            Event::Started(header(&["a"], 1)),
            turn(1, "a", false),
            Event::Summary(summary(1, false)),
            Event::Followup(FollowupAsked {
                number: 1,
                question: "and then?".into(),
            }),
            Event::FollowupTurn(Box::new(ft.clone())),
            Event::FollowupSummary(summary(1, false)),
            Event::Synthesis(SynthesisPart {
                part: SynthesisKind::Followup(1),
                value: serde_json::json!({"answer": "x", "what_changed": "y", "new_risks": []}),
                error: None,
                flags: vec![],
                copied_from: None,
                usage: Usage::reported(2, 2),
                backend: "b".into(),
                model: "m".into(),
            }),
        ];
        let t = Transcript::from_events(&events).unwrap();
        assert_eq!(t.followups.len(), 1);
        let f = &t.followups[0];
        assert_eq!((f.number, f.question.as_str()), (1, "and then?"));
        assert_eq!(f.turns.len(), 1);
        assert_eq!(f.summary.as_deref(), Some("r1"));
        assert!(f.synthesis.is_some());
        assert!(
            t.synthesis.is_empty(),
            "a follow-up's answer is not the report's synthesis"
        );
        assert_eq!(t.usage.calls, 5);

        let early = vec![
            Event::Started(header(&["a"], 1)),
            Event::FollowupTurn(Box::new(ft)),
        ];
        assert!(Transcript::from_events(&early)
            .unwrap_err()
            .contains("before it is asked"));
    }

    fn asked(number: u32) -> Event {
        Event::Followup(FollowupAsked {
            number,
            question: "and then?".into(),
        })
    }

    fn followup_turn(number: u32) -> Event {
        Event::FollowupTurn(Box::new(Turn::empty(number, "a")))
    }

    /// A finished five-round run of one advisor with `extra` events after.
    fn log(extra: Vec<Event>) -> Vec<Event> {
        let mut events = vec![Event::Started(header(&["a"], 5))];
        for n in 1..=5 {
            events.extend([turn(n, "a", false), Event::Summary(summary(n, false))]);
        }
        events.extend(extra);
        events
    }

    #[test]
    fn only_a_single_condition_run_plans_no_rounds_and_its_answer_is_the_run() {
        use crate::study::Condition;
        let single = |rounds: u32| {
            let mut h = header(&["generalist"], rounds);
            h.condition = Condition::Single;
            h
        };
        // No round may be played in it, and it plans none.
        let e = Transcript::from_events(&[Event::Started(single(0)), turn(1, "generalist", false)])
            .unwrap_err();
        assert!(e.contains("a turn of round 1"), "{e}");
        let e = Transcript::from_events(&[Event::Started(single(5))]).unwrap_err();
        assert!(e.contains("single condition plans 0"), "{e}");
        // Asked nothing yet: incomplete; its answer failed: partial.
        let t = Transcript::from_events(&[Event::Started(single(0))]).unwrap();
        assert_eq!(t.status, RunStatus::Incomplete);
        assert!(t.check_numbers().is_ok());
        let failed = SynthesisPart {
            part: SynthesisKind::Verdict,
            value: serde_json::Value::Null,
            error: Some("timed out".into()),
            flags: Vec::new(),
            copied_from: None,
            usage: Usage::reported(1, 0),
            backend: "b".into(),
            model: "m".into(),
        };
        let t =
            Transcript::from_events(&[Event::Started(single(0)), Event::Synthesis(failed.clone())])
                .unwrap();
        assert_eq!(t.status, RunStatus::Partial);
        let answered = SynthesisPart {
            error: None,
            ..failed
        };
        let t = Transcript::from_events(&[Event::Started(single(0)), Event::Synthesis(answered)])
            .unwrap();
        assert_eq!(t.status, RunStatus::Complete);
        // A debate's run still plans 1 to MAX_ROUNDS.
        let mut debate = t.clone();
        debate.condition = Condition::Debate;
        assert!(debate
            .check_numbers()
            .unwrap_err()
            .contains("planned_rounds is 0"));
    }

    #[test]
    fn absurd_round_and_follow_up_numbers_are_refused_naming_the_line_and_fix() {
        assert!(Transcript::from_events(&log(vec![asked(1), followup_turn(1), asked(2)])).is_ok());
        let max = u32::MAX;
        let with_header = |rounds: u32| vec![Event::Started(header(&["a"], rounds))];
        let cases: Vec<(Vec<Event>, &[&str])> = vec![
            (
                with_header(0),
                &["line 1: the run plans 0 rounds, but a run plans 1 to 10"],
            ),
            (
                with_header(max),
                &["line 1: the run plans 4294967295 rounds"],
            ),
            (with_header(11), &["line 1: the run plans 11 rounds"]),
            (
                log(vec![turn(0, "a", false)]),
                &["line 12: a turn of round 0, but the run plans rounds 1 to 5"],
            ),
            (
                log(vec![turn(max, "a", false)]),
                &["line 12: a turn of round 4294967295"],
            ),
            (
                log(vec![turn(6, "a", false)]),
                &["line 12: a turn of round 6"],
            ),
            (
                log(vec![Event::Summary(summary(0, false))]),
                &["line 12: a summary of round 0"],
            ),
            (
                log(vec![Event::Summary(summary(max, false))]),
                &["line 12: a summary of round 4294967295"],
            ),
            (
                log(vec![asked(0)]),
                &["line 12: follow-up 0 is asked after 0 follow-ups (it would be number 1)"],
            ),
            (
                log(vec![asked(max)]),
                &["follow-up 4294967295 is asked after 0 follow-ups"],
            ),
            (
                log(vec![asked(1), asked(3)]),
                &["line 13: follow-up 3 is asked after 1 follow-ups (it would be number 2)"],
            ),
            (
                log(vec![asked(1), followup_turn(max)]),
                &["line 13: follow-up 4294967295 is answered before it is asked"],
            ),
            (
                log(vec![asked(1), followup_turn(0)]),
                &["follow-up 0 is answered before it is asked"],
            ),
            (
                log(vec![asked(1), Event::FollowupSummary(summary(2, false))]),
                &["line 13: follow-up 2 is summarised before it is asked"],
            ),
            (
                log(vec![Event::Started(header(&["a"], 5))]),
                &["line 12: the event log has two `started` events"],
            ),
        ];
        for (events, says) in cases {
            let err = Transcript::from_events(&events).unwrap_err();
            for s in says
                .iter()
                .chain(&["restore the log from a backup, or start the run again"])
            {
                assert!(err.contains(s), "{err:?} lacks {s:?}");
            }
            assert_eq!(check_log(&events), Err(err));
        }
    }

    #[test]
    fn a_transcript_with_absurd_numbers_is_refused_naming_the_field() {
        let good = Transcript::from_events(&log(vec![asked(1), followup_turn(1)])).unwrap();
        assert_eq!(good.check_numbers(), Ok(()));
        type Edit = fn(&mut Transcript);
        let cases: [(Edit, &str); 9] = [
            (
                |t| t.planned_rounds = 0,
                "planned_rounds is 0, but a run plans 1 to 10 rounds",
            ),
            (
                |t| t.planned_rounds = u32::MAX,
                "planned_rounds is 4294967295",
            ),
            (
                |t| t.planned_rounds = 4,
                "rounds holds 5 rounds, but planned_rounds is 4",
            ),
            (
                |t| t.rounds[0].number = 0,
                "rounds[0].number is 0, but rounds are numbered 1, 2, 3… in order (it would be 1)",
            ),
            (
                |t| t.rounds[2].number = u32::MAX,
                "rounds[2].number is 4294967295",
            ),
            (|t| t.rounds.swap(1, 2), "rounds[1].number is 3"),
            (
                |t| t.rounds[4].turns[0].round = u32::MAX,
                "rounds[4].turns[0].round is 4294967295, but the turn is in number 5",
            ),
            (
                |t| t.followups[0].number = u32::MAX,
                "followups[0].number is 4294967295",
            ),
            (
                |t| t.followups[0].turns[0].round = 0,
                "followups[0].turns[0].round is 0",
            ),
        ];
        for (edit, says) in cases {
            let mut t = good.clone();
            edit(&mut t);
            let err = t.check_numbers().unwrap_err();
            assert!(err.contains(says), "{err:?} lacks {says:?}");
        }
    }
}
