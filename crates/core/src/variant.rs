//! What a report variant asks for (audience, length, tone, emphasis), and
//! where a derived run came from (a variant or a branch of another run).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Who reads the report: sets the wording of the re-asked synthesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// A board of directors: governance, risk, capital.
    #[default]
    Board,
    /// The executive who asked: the decision and the next moves.
    Executive,
    /// The team that carries it out: owners, dates, scripts.
    Team,
    /// Investors: returns, milestones, downside.
    Investor,
    /// A client of the firm: recommendations without internal politics.
    Client,
}

impl Audience {
    /// Every audience, in the order `--help` lists them.
    pub const ALL: [Audience; 5] = [
        Audience::Board,
        Audience::Executive,
        Audience::Team,
        Audience::Investor,
        Audience::Client,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Board => "board",
            Audience::Executive => "executive",
            Audience::Team => "team",
            Audience::Investor => "investor",
            Audience::Client => "client",
        }
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much of the report is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Length {
    /// One page: verdict, vote, forecasts, the first actions, the top risks.
    Brief,
    /// Everything but the rounds' full turns.
    Standard,
    /// Everything, every round included.
    #[default]
    Full,
}

impl Length {
    /// Every length, longest first (as a form offers them).
    pub const ALL: [Length; 3] = [Length::Full, Length::Standard, Length::Brief];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Length::Brief => "brief",
            Length::Standard => "standard",
            Length::Full => "full",
        }
    }

    /// Whether the rounds (every turn) are shown.
    pub fn shows_rounds(self) -> bool {
        self == Length::Full
    }

    /// Whether the long sections (paths, story, evidence, panel) are shown.
    pub fn shows_detail(self) -> bool {
        self != Length::Brief
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A variant's directions to the synthesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
pub struct VariantSpec {
    /// Who reads it.
    pub audience: Audience,
    /// How much is shown.
    pub length: Length,
    /// Free-text tone ("plain, no jargon"), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tone: Option<String>,
    /// What to stress ("cash runway"), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emphasis: Option<String>,
    /// The language of the fixed text (headings), when it differs from the
    /// synthesis's: a render, no calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headings: Option<String>,
    /// Whether the synthesis's wording was asked again (audience, tone,
    /// emphasis or language); when false the variant is a render.
    #[serde(default)]
    pub rewords: bool,
    /// The source's verdict text, which a reworded verdict restates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_verdict: Option<String>,
    /// The source verdict's stance, which a reworded verdict keeps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_stance: Option<crate::answers::Stance>,
}

impl VariantSpec {
    /// Whether the synthesis must be asked again for this variant: an
    /// audience other than the board (whom a run's report addresses), a
    /// tone or an emphasis. Length and headings alone are a render.
    pub fn changes_wording(&self) -> bool {
        self.audience != Audience::default() || self.tone.is_some() || self.emphasis.is_some()
    }

    /// The audience in words, for the prompts.
    pub fn audience_text(&self) -> &'static str {
        match self.audience {
            Audience::Board => "a board of directors: governance, capital, risk and what needs their approval",
            Audience::Executive => "the executive who asked: the decision, the first moves and who owns them",
            Audience::Team => "the team that will carry it out: owners, dates and the exact words to use",
            Audience::Investor => "investors: returns, milestones, the downside and how it is capped",
            Audience::Client => "a client of the firm: clear recommendations, without the advisors' internal disputes",
        }
    }
}

/// How a derived run relates to its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OriginKind {
    /// The same debate, its report re-worded.
    Variant,
    /// The same early rounds, later rounds played again with changes.
    Branch,
}

/// Where a derived run came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Origin {
    /// Variant or branch.
    pub kind: OriginKind,
    /// The source run's folder, as given.
    pub source: String,
    /// The source run's question, for the reader.
    pub source_question: String,
    /// For a branch: the first round played again (earlier rounds are copied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_round: Option<u32>,
    /// What differs from the source, one line each (`swap cfo=brand`…).
    #[serde(default)]
    pub changes: Vec<String>,
    /// For a branch: the source's panel, in its speaking order (the copied
    /// rounds keep it, and name advisors who have since left).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_panel: Vec<crate::PanelMember>,
    /// For a branch: the source's forecasts, which the branch's forecasts
    /// call may revise (a revised forecast keeps its source's id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_forecasts: Vec<SourceForecast>,
}

/// A forecast of the run a branch comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceForecast {
    /// Its id in the source run.
    pub id: String,
    /// Its statement there.
    pub statement: String,
    /// Months from the run date to its horizon.
    #[serde(default)]
    pub horizon_months: u32,
}

/// What a run is: a debate of its own, or derived from another run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A debate of its own (in a study or not).
    #[default]
    Debate,
    /// The same debate's report re-worded: its turns, votes and forecasts
    /// are copies, so it adds no data.
    Variant,
    /// The same early rounds, the rest played again: it adds what it spoke
    /// itself (the rounds from its branch point, its synthesis).
    Branch,
}

impl RunKind {
    /// The kind of a run whose header records `origin`.
    pub fn of(origin: Option<&Origin>) -> RunKind {
        match origin.map(|o| o.kind) {
            None => RunKind::Debate,
            Some(OriginKind::Variant) => RunKind::Variant,
            Some(OriginKind::Branch) => RunKind::Branch,
        }
    }

    /// The word tables and pages show.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Debate => "debate",
            RunKind::Variant => "variant",
            RunKind::Branch => "branch",
        }
    }

    /// The first round a run of this kind spoke itself (a branch: its
    /// branch point; a variant: none, `u32::MAX`): earlier rounds are copies.
    pub fn first_own_round(self, origin: Option<&Origin>) -> u32 {
        match self {
            RunKind::Debate => 1,
            RunKind::Branch => origin.and_then(|o| o.from_round).unwrap_or(1),
            RunKind::Variant => u32::MAX,
        }
    }
}
