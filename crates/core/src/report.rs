//! The report an executive reads: verdict and vote, forecasts, dated
//! actions, future paths, the deeper story, evidence, risks, the panel and
//! every round. A wire format: versioned, rendered by `council-render`.

pub use crate::answers::{Scenario, Stance};
use crate::{PanelMember, Round, Usage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The report format version this build writes (3: follow-ups, variants,
/// origin, cost; 2: stances on the question, future paths by scenario).
pub const REPORT_VERSION: u32 = 3;

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

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Format version.
    pub version: u32,
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
    /// Model and backend that produced the run.
    pub produced_by: String,
    /// Tokens spent on the whole run.
    pub usage: Usage,
    /// What the run cost, when the command that wrote the report had a price table.
    #[serde(default)]
    pub cost: Option<crate::cost::RunCost>,
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
}
