//! The report an executive reads: verdict and vote, forecasts, dated
//! actions, future paths, the deeper story, evidence, risks, the panel and
//! every round. A wire format: versioned, rendered by `council-render`.

pub use crate::answers::{Scenario, Stance};
use crate::{PanelMember, Round, Usage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The report format version this build writes (4: its status and quality,
/// who wrote what; 3: follow-ups, variants, origin, cost; 2: stances on the
/// question, future paths by scenario).
pub const REPORT_VERSION: u32 = 4;

/// One advisor's vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Vote {
    /// Persona id.
    pub persona: String,
    /// Display name.
    pub name: String,
    /// Stance on the question; absent if the vote call failed (or the
    /// transcript predates stances on the question).
    pub stance: Option<Stance>,
    /// Raw confidence 0–100.
    pub confidence: Option<u8>,
    /// Recalibrated weight (see [`recalibrate`]).
    pub weight: f64,
    /// One-sentence reason.
    pub reason: String,
}

/// Confidence-weighted shares of each stance, 0–1, summing to 1 when any vote counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tally {
    /// Weighted share supporting.
    pub support: f64,
    /// Weighted share supporting only if conditions hold.
    pub mixed: f64,
    /// Weighted share opposing.
    pub oppose: f64,
    /// Votes counted.
    pub counted: usize,
}

impl Tally {
    /// The weighted share of `stance`, 0–1.
    pub fn share(&self, stance: Stance) -> f64 {
        match stance {
            Stance::Support => self.support,
            Stance::Mixed => self.mixed,
            Stance::Oppose => self.oppose,
        }
    }

    /// The stance with the largest weighted share, if one leads (none when
    /// no vote counted or the top two tie).
    pub fn majority(&self) -> Option<Stance> {
        let mut shares = Stance::ALL.map(|s| (s, self.share(s)));
        shares.sort_by(|a, b| b.1.total_cmp(&a.1));
        (self.counted > 0 && shares[0].1 - shares[1].1 > 1e-9).then_some(shares[0].0)
    }
}

/// Maps a raw confidence (0–100) to a vote weight with ReConcile's bins:
/// ≤60 → 0.1, ≤80 → 0.3, ≤90 → 0.5, <100 → 0.8, 100 → 1.0. Models are
/// overconfident; the bins flatten the top so a "95" does not count ten
/// times a "55".
pub fn recalibrate(confidence: u8) -> f64 {
    match confidence {
        0..=60 => 0.1,
        61..=80 => 0.3,
        81..=90 => 0.5,
        91..=99 => 0.8,
        _ => 1.0,
    }
}

/// Tallies votes by recalibrated weight.
pub fn tally(votes: &[Vote]) -> Tally {
    let mut t = Tally::default();
    for v in votes {
        let Some(stance) = v.stance else { continue };
        t.counted += 1;
        match stance {
            Stance::Support => t.support += v.weight,
            Stance::Mixed => t.mixed += v.weight,
            Stance::Oppose => t.oppose += v.weight,
        }
    }
    let total = t.support + t.mixed + t.oppose;
    if total > 0.0 {
        t.support /= total;
        t.mixed /= total;
        t.oppose /= total;
    }
    t
}

/// A checkable statement with a horizon, and the panel's probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Forecast {
    /// Stable id (`F-xxxxxx`), derived from the statement and run date.
    pub id: String,
    /// What will be true.
    pub statement: String,
    /// By when, `YYYY-MM-DD`.
    pub horizon: String,
    /// (persona id, probability 0–1) for each advisor who answered.
    pub probabilities: Vec<(String, f64)>,
    /// Median probability.
    pub median: Option<f64>,
    /// Lowest and highest probability given.
    pub range: Option<(f64, f64)>,
}

/// One step of the action plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    /// What to do.
    pub action: String,
    /// Who does it.
    pub owner: String,
    /// Absolute date or window, `YYYY-MM-DD` or `YYYY-MM-DD – YYYY-MM-DD`.
    pub when: String,
    /// Exact words to use, where a conversation is involved.
    pub script: Option<String>,
    /// The condition that triggers it, where one applies.
    pub trigger: Option<String>,
}

/// What backs a milestone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Backing {
    /// A quote from an advisor's turn.
    Quote {
        /// Persona id.
        persona: String,
        /// The quoted words.
        quote: String,
        /// Whether the quote was found in that advisor's turns.
        verified: bool,
    },
    /// A forecast of this report.
    Forecast {
        /// Forecast id.
        id: String,
        /// Its median probability, if the forecast exists.
        probability: Option<f64>,
        /// Whether the id exists.
        valid: bool,
    },
    /// Nothing usable was given.
    None,
}

/// A milestone on a future path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Milestone {
    /// Months after the run date.
    pub month: u32,
    /// What happens.
    pub event: String,
    /// What backs it.
    pub backing: Backing,
}

/// One of three divergent futures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FuturePath {
    /// Which future (unknown for transcripts of format version 1).
    pub scenario: Option<Scenario>,
    /// Short title.
    pub title: String,
    /// The decision taken.
    pub premise: String,
    /// Milestones by month.
    pub milestones: Vec<Milestone>,
}

/// A piece of evidence and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    /// The claim.
    pub claim: String,
    /// `[n]` library citation, if any.
    pub source: Option<u32>,
    /// The advisor cited, if any.
    pub persona: Option<String>,
    /// Words quoted from that advisor.
    pub quote: Option<String>,
    /// Whether the quote (or citation) checked out.
    pub verified: bool,
}

/// A strong case against the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Risk {
    /// The risk.
    pub risk: String,
    /// Why it could sink the verdict.
    pub why: String,
}

/// A panel member with their confidence over the rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PanelEntry {
    /// Id, name, role.
    #[serde(flatten)]
    pub member: PanelMember,
    /// Confidence per round.
    pub trajectory: Vec<Option<u8>>,
    /// The last confidence given.
    pub final_confidence: Option<u8>,
}

impl crate::Seat for PanelEntry {
    fn id(&self) -> &str {
        &self.member.id
    }
    fn name(&self) -> &str {
        &self.member.name
    }
}

/// A source from the research library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SourceRef {
    /// Citation number.
    pub number: u32,
    /// Title.
    pub title: String,
    /// Its URL, or for a local file its file name (the full path stays in
    /// the transcript).
    pub location: String,
    /// Times cited in the debate.
    pub cited: u32,
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verification {
    /// Quotes checked against the advisors' turns.
    pub quotes_checked: u32,
    /// Quotes that matched nothing: (where, persona, quote).
    pub unverified_quotes: Vec<(String, String, String)>,
    /// Forecast ids referenced that do not exist.
    pub unknown_forecast_ids: Vec<String>,
    /// Structured answers (turns and synthesis parts) the models gave.
    pub answers: u32,
    /// Of those, how many were valid at the first try (no repair or second draw).
    pub first_try: u32,
    /// Verdicts whose stance differs from the weighted vote's majority (0 or 1).
    pub verdict_contradictions: u32,
    /// When the verdict contradicts the vote: (the verdict's stance, the
    /// vote's majority stance, that majority's weighted share).
    pub verdict_vs_vote: Option<(Stance, Stance, f64)>,
}

/// How much a report holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    /// Every turn asked was spoken and every part asked is there.
    #[default]
    Complete,
    /// Some turns or parts are missing or failed; at least half the turns
    /// asked were spoken.
    Partial,
    /// Fewer than half the turns asked were spoken ([`HOLLOW_BELOW`]): no
    /// debate stands behind the verdict.
    Hollow,
}

impl ReportStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Complete => "complete",
            ReportStatus::Partial => "partial",
            ReportStatus::Hollow => "hollow",
        }
    }
}

/// A report is hollow when fewer than this share of the turns asked were spoken.
pub const HOLLOW_BELOW: f64 = 0.5;
/// Weak answers are a concern when more than this share of spoken turns is flagged.
pub const FLAGGED_ABOVE: f64 = 1.0 / 3.0;
/// Quotes are a concern when fewer than this share of those checked is verified.
pub const VERIFIED_BELOW: f64 = 0.5;
/// First tries are a concern when fewer than this share of answers was valid at once.
pub const FIRST_TRY_BELOW: f64 = 0.5;
/// Confidences at or below this are a concern (a vote drawn only from them says so).
pub const WEAK_CONFIDENCE: u8 = 10;

/// Turns spoken of turns asked in one round.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RoundQuality {
    /// The round.
    pub round: u32,
    /// Turns spoken (a failed call speaks no turn).
    pub spoken: u32,
    /// Turns asked: one per panel member.
    pub asked: u32,
}

/// What a report holds, counted: the numbers behind its status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Quality {
    /// Turns spoken of turns asked, per round of the debate (follow-ups apart).
    pub rounds: Vec<RoundQuality>,
    /// Turns spoken, all rounds.
    pub turns_spoken: u32,
    /// Turns asked, all rounds.
    pub turns_asked: u32,
    /// Spoken turns carrying at least one flag.
    pub turns_flagged: u32,
    /// Quotes found in the advisor's turns.
    pub quotes_verified: u32,
    /// Quotes checked.
    pub quotes_checked: u32,
    /// Synthesis parts present and answered.
    pub parts_present: u32,
    /// Synthesis parts asked (none for a run asked for no synthesis).
    pub parts_asked: u32,
    /// The names of the parts asked but missing or failed.
    pub parts_missing: Vec<String>,
    /// The mean of the advisors' last confidences (0–100).
    pub mean_final_confidence: Option<f64>,
    /// Structured answers valid at the first try.
    pub first_try: u32,
    /// Structured answers given.
    pub answers: u32,
    /// Turns, summaries and parts written in another language than the run's.
    #[serde(default)]
    pub off_language: u32,
    /// Votes counted in the tally.
    pub votes_counted: u32,
    /// Whether every counted vote's confidence is at most [`WEAK_CONFIDENCE`].
    pub weak_vote: bool,
    /// Turns whose model call failed.
    pub turns_failed: u32,
}

/// Something the reader of a report must know before its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Concern {
    /// Too few turns were spoken for the verdict to be the board's.
    Hollow {
        /// Turns spoken.
        spoken: u32,
        /// Turns asked.
        asked: u32,
    },
    /// Some turns were not spoken (their calls failed, or the run stopped).
    MissingTurns {
        /// Turns spoken.
        spoken: u32,
        /// Turns asked.
        asked: u32,
    },
    /// Some synthesis parts are missing or failed.
    MissingParts {
        /// Their names.
        parts: Vec<String>,
    },
    /// Many spoken turns were flagged as weak (off-topic, repetitive, extreme).
    WeakAnswers {
        /// Flagged turns.
        flagged: u32,
        /// Spoken turns.
        spoken: u32,
    },
    /// Many quotes attributed to advisors were not found in their turns.
    UnverifiedQuotes {
        /// Quotes verified.
        verified: u32,
        /// Quotes checked.
        checked: u32,
    },
    /// The vote is drawn only from confidences of 10 or less.
    WeakVote {
        /// Votes counted.
        counted: u32,
    },
    /// Few answers fitted their form at the first try.
    FirstTry {
        /// Valid at the first try.
        first_try: u32,
        /// Answers.
        answers: u32,
    },
    /// Answers written in another language than the run's.
    OffLanguage {
        /// How many.
        count: u32,
    },
}

/// The one thing to do about a report's concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Remedy {
    /// Calls failed: check the model server (`council doctor`), then resume
    /// the run (`council ask --resume`).
    ReachableServer,
    /// The run stopped or parts are missing: resume it (`council ask --resume`).
    Resume,
    /// The answers are weak: ask again on a larger model.
    LargerModel,
}

impl Quality {
    /// The report's status: hollow below [`HOLLOW_BELOW`] of the turns
    /// asked spoken; partial when any turn or part asked is missing;
    /// complete otherwise.
    pub fn status(&self) -> ReportStatus {
        let spoken = f64::from(self.turns_spoken);
        let asked = f64::from(self.turns_asked);
        if self.turns_asked > 0 && spoken < HOLLOW_BELOW * asked {
            ReportStatus::Hollow
        } else if self.turns_spoken < self.turns_asked || !self.parts_missing.is_empty() {
            ReportStatus::Partial
        } else {
            ReportStatus::Complete
        }
    }

    /// What the reader must know, most serious first (empty: all is well).
    pub fn concerns(&self) -> Vec<Concern> {
        let mut out = Vec::new();
        match self.status() {
            ReportStatus::Hollow => out.push(Concern::Hollow {
                spoken: self.turns_spoken,
                asked: self.turns_asked,
            }),
            _ if self.turns_spoken < self.turns_asked => out.push(Concern::MissingTurns {
                spoken: self.turns_spoken,
                asked: self.turns_asked,
            }),
            _ => {}
        }
        if !self.parts_missing.is_empty() {
            out.push(Concern::MissingParts {
                parts: self.parts_missing.clone(),
            });
        }
        let share = |a: u32, b: u32| f64::from(a) / f64::from(b.max(1));
        if self.turns_spoken > 0 && share(self.turns_flagged, self.turns_spoken) > FLAGGED_ABOVE {
            out.push(Concern::WeakAnswers {
                flagged: self.turns_flagged,
                spoken: self.turns_spoken,
            });
        }
        if self.weak_vote {
            out.push(Concern::WeakVote {
                counted: self.votes_counted,
            });
        }
        if self.quotes_checked > 0
            && share(self.quotes_verified, self.quotes_checked) < VERIFIED_BELOW
        {
            out.push(Concern::UnverifiedQuotes {
                verified: self.quotes_verified,
                checked: self.quotes_checked,
            });
        }
        if self.answers > 0 && share(self.first_try, self.answers) < FIRST_TRY_BELOW {
            out.push(Concern::FirstTry {
                first_try: self.first_try,
                answers: self.answers,
            });
        }
        if self.off_language > 0 {
            out.push(Concern::OffLanguage {
                count: self.off_language,
            });
        }
        out
    }

    /// The one thing to do, if anything is of concern: a reachable server
    /// when calls failed, a resume when the run stopped or parts are
    /// missing, else a larger model for weak answers.
    pub fn remedy(&self) -> Option<Remedy> {
        if self.turns_failed > 0 {
            Some(Remedy::ReachableServer)
        } else if self.turns_spoken < self.turns_asked || !self.parts_missing.is_empty() {
            Some(Remedy::Resume)
        } else if self.concerns().is_empty() {
            None
        } else {
            Some(Remedy::LargerModel)
        }
    }
}

/// One model and what it wrote in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Producer {
    /// The backend (`openai`, `embedded`…).
    pub backend: String,
    /// The model's name.
    pub model: String,
    /// Turns it spoke (follow-ups included).
    pub turns: u32,
    /// Round summaries it wrote.
    pub summaries: u32,
    /// Synthesis parts it wrote.
    pub parts: u32,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Format version.
    pub version: u32,
    /// How much it holds: complete, partial or hollow ([`Quality::status`]).
    #[serde(default)]
    pub status: ReportStatus,
    /// The numbers behind its status.
    #[serde(default)]
    pub quality: Quality,
    /// What the reader must know before the verdict ([`Quality::concerns`]).
    #[serde(default)]
    pub concerns: Vec<Concern>,
    /// The one thing to do about them ([`Quality::remedy`]).
    #[serde(default)]
    pub remedy: Option<Remedy>,
    /// The question.
    pub question: String,
    /// The run date.
    pub date: String,
    /// Report language.
    pub lang: String,
    /// The verdict's stance on the question (unknown for transcripts of
    /// format version 1).
    pub verdict_stance: Option<Stance>,
    /// The direct answer.
    pub verdict: String,
    /// Its reasoning.
    pub reasoning: String,
    /// Each advisor's vote.
    pub votes: Vec<Vote>,
    /// The weighted tally.
    pub tally: Tally,
    /// Forecasts.
    pub forecasts: Vec<Forecast>,
    /// The action plan.
    pub actions: Vec<Action>,
    /// Three future paths.
    pub paths: Vec<FuturePath>,
    /// The deeper story, in paragraphs.
    pub story: Vec<String>,
    /// Evidence items.
    pub evidence: Vec<Evidence>,
    /// Risks to the verdict.
    pub risks: Vec<Risk>,
    /// The panel.
    pub panel: Vec<PanelEntry>,
    /// Every round.
    pub rounds: Vec<Round>,
    /// Sources cited.
    pub sources_used: Vec<SourceRef>,
    /// Sources not cited.
    pub sources_unused: Vec<SourceRef>,
    /// Verification results.
    pub verification: Verification,
    /// Everything flagged along the way (weak answers, repairs, failures).
    pub flags: Vec<String>,
    /// Follow-up questions and the panel's answers, in order.
    #[serde(default)]
    pub followups: Vec<FollowupSection>,
    /// For a variant or a branch: the run it came from.
    #[serde(default)]
    pub origin: Option<crate::variant::Origin>,
    /// For a variant: its audience, length, tone and emphasis.
    #[serde(default)]
    pub variant: Option<crate::variant::VariantSpec>,
    /// Model and backend that produced the run, in words.
    pub produced_by: String,
    /// Every model that wrote any part of the report, with what it wrote.
    #[serde(default)]
    pub producers: Vec<Producer>,
    /// Tokens spent on the whole run.
    pub usage: Usage,
    /// What the run cost, when the command that wrote the report had a price table.
    #[serde(default)]
    pub cost: Option<crate::cost::RunCost>,
    /// The study condition the run was played in (left out for the full debate).
    #[serde(default, skip_serializing_if = "crate::study::Condition::is_debate")]
    pub condition: crate::study::Condition,
}

impl Report {
    /// An advisor's display name: from the panel, else (in a branch) from
    /// the source's panel, else the id.
    pub fn name_of<'a>(&'a self, id: &'a str) -> &'a str {
        if self.panel.iter().any(|p| p.member.id == id) {
            return crate::name_of(&self.panel, id);
        }
        self.origin
            .as_ref()
            .map_or(id, |o| crate::name_of(&o.source_panel, id))
    }

    /// An advisor's display name in the report's language ([`Report::name_of`],
    /// localised where the persona has a name in that language).
    pub fn local_name<'a>(&'a self, id: &'a str) -> &'a str {
        let source = self.origin.iter().flat_map(|o| o.source_panel.iter());
        self.panel
            .iter()
            .map(|p| &p.member)
            .chain(source)
            .find(|m| m.id == id)
            .map_or(id, |m| m.name_in(&self.lang))
    }

    /// How much of the report to show (all of it unless a variant says otherwise).
    pub fn length(&self) -> crate::variant::Length {
        self.variant.as_ref().map(|v| v.length).unwrap_or_default()
    }
}

/// A follow-up question and the panel's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FollowupSection {
    /// 1 for the first follow-up, 2 for the next…
    pub number: u32,
    /// The question.
    pub question: String,
    /// The direct answer (empty if its synthesis failed or is missing).
    pub answer: String,
    /// What it changes in the verdict.
    pub what_changed: String,
    /// New risks it brought up.
    pub new_risks: Vec<String>,
    /// The moderator's summary of the advisors' answers.
    pub summary: Option<String>,
    /// Each advisor's answer.
    pub turns: Vec<crate::Turn>,
}

/// The JSON Schema of [`Report`].
pub fn report_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(stance: Stance, c: u8) -> Vote {
        Vote {
            persona: "p".into(),
            name: "P".into(),
            stance: Some(stance),
            confidence: Some(c),
            weight: recalibrate(c),
            reason: String::new(),
        }
    }

    #[test]
    fn recalibration_follows_the_published_bins() {
        assert_eq!(
            [0, 60, 61, 80, 81, 90, 91, 99, 100].map(recalibrate),
            [0.1, 0.1, 0.3, 0.3, 0.5, 0.5, 0.8, 0.8, 1.0]
        );
    }

    #[test]
    fn the_tally_weights_confident_votes_more() {
        let t = tally(&[
            vote(Stance::Support, 95),
            vote(Stance::Oppose, 50),
            vote(Stance::Oppose, 55),
        ]);
        assert_eq!(t.counted, 3);
        assert!((t.support - 0.8).abs() < 1e-9, "{t:?}");
        assert!((t.oppose - 0.2).abs() < 1e-9);
        assert_eq!(t.majority(), Some(Stance::Support));
        assert_eq!(Tally::default().majority(), None);
        let tie = tally(&[vote(Stance::Support, 50), vote(Stance::Oppose, 50)]);
        assert_eq!(tie.majority(), None);
    }

    fn quality(spoken: u32, asked: u32) -> Quality {
        Quality {
            turns_spoken: spoken,
            turns_asked: asked,
            parts_present: 15,
            parts_asked: 15,
            first_try: 40,
            answers: 45,
            quotes_verified: 3,
            quotes_checked: 3,
            ..Quality::default()
        }
    }

    #[test]
    fn a_report_is_hollow_below_half_its_turns_partial_with_any_gap_complete_otherwise() {
        assert_eq!(quality(30, 30).status(), ReportStatus::Complete);
        assert!(quality(30, 30).concerns().is_empty());
        assert_eq!(quality(30, 30).remedy(), None);
        assert_eq!(
            quality(15, 30).status(),
            ReportStatus::Partial,
            "half is enough"
        );
        assert_eq!(quality(14, 30).status(), ReportStatus::Hollow);
        assert_eq!(quality(0, 30).status(), ReportStatus::Hollow);
        assert_eq!(
            quality(0, 30).concerns(),
            vec![Concern::Hollow {
                spoken: 0,
                asked: 30
            }]
        );
        let mut failed = quality(0, 30);
        failed.turns_failed = 30;
        assert_eq!(failed.remedy(), Some(Remedy::ReachableServer));
        assert_eq!(
            quality(14, 30).remedy(),
            Some(Remedy::Resume),
            "a run that stopped"
        );
        let mut missing = quality(30, 30);
        missing.parts_missing = vec!["verdict".into()];
        missing.parts_present = 14;
        assert_eq!(missing.status(), ReportStatus::Partial);
        assert_eq!(
            missing.concerns(),
            vec![Concern::MissingParts {
                parts: vec!["verdict".into()]
            }]
        );
    }

    #[test]
    fn weak_answers_a_weak_vote_lost_quotes_and_late_answers_are_concerns_of_a_complete_report() {
        let mut q = quality(30, 30);
        q.turns_flagged = 10;
        assert!(
            q.concerns().is_empty(),
            "a third flagged is not yet a concern"
        );
        q.turns_flagged = 11;
        q.weak_vote = true;
        q.votes_counted = 6;
        q.quotes_verified = 1;
        q.first_try = 22;
        q.off_language = 2;
        assert_eq!(q.status(), ReportStatus::Complete);
        assert_eq!(
            q.concerns(),
            vec![
                Concern::WeakAnswers {
                    flagged: 11,
                    spoken: 30
                },
                Concern::WeakVote { counted: 6 },
                Concern::UnverifiedQuotes {
                    verified: 1,
                    checked: 3
                },
                Concern::FirstTry {
                    first_try: 22,
                    answers: 45
                },
                Concern::OffLanguage { count: 2 },
            ]
        );
        assert_eq!(q.remedy(), Some(Remedy::LargerModel));
    }
}
