//! Two reports side by side (`council diff`), as data: the verdicts, the
//! vote shares, each advisor's vote, the forecasts' probabilities by id,
//! the actions and the risks, each marked where it changed and how
//! ([`Change`]: added, removed, moved). A forecast keeps its id across a
//! variant and, where the branch's forecasts call says it `revises` it,
//! across a branch, so its probability can be followed. Computed by
//! `council-analysis`; rendered by `council-render`.

use crate::report::Stance;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One value in run A and in run B.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Pair<T> {
    /// In run A.
    pub a: T,
    /// In run B.
    pub b: T,
    /// Whether they differ.
    pub changed: bool,
}

impl<T: PartialEq> Pair<T> {
    /// The two values, marked changed when they differ.
    pub fn new(a: T, b: T) -> Self {
        let changed = a != b;
        Pair { a, b, changed }
    }
}

/// How one thing differs from run A to run B.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// The same in both.
    #[default]
    Same,
    /// Only in run B.
    Added,
    /// Only in run A.
    Removed,
    /// In both, with another value in B.
    Moved,
}

impl Change {
    /// The word a diff shows ("" when the same).
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Same => "",
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Moved => "moved",
        }
    }
}

impl<T> Pair<Option<T>> {
    /// Added (only in B), removed (only in A), moved (another value) or the same.
    pub fn change(&self) -> Change {
        match (&self.a, &self.b) {
            _ if !self.changed => Change::Same,
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            _ => Change::Moved,
        }
    }
}

/// An advisor's vote in each run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VoteDiff {
    /// Persona id.
    pub persona: String,
    /// Display name.
    pub name: String,
    /// Stance in each run (absent where the advisor did not sit or vote).
    pub stance: Pair<Option<Stance>>,
    /// Confidence in each run.
    pub confidence: Pair<Option<u8>>,
    /// How the vote changed: added or removed with the advisor, moved when
    /// its stance or confidence did.
    #[serde(default)]
    pub change: Change,
}

/// A forecast's median probability in each run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForecastDiff {
    /// Forecast id.
    pub id: String,
    /// The statement (run A's where A has it, else B's).
    pub statement: String,
    /// Run B's statement where B words the same forecast differently (a
    /// branch's revision, a variant's wording).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reworded: Option<String>,
    /// Median probability in each run (absent where the run lacks the forecast).
    pub median: Pair<Option<f64>>,
    /// Added (only in B), removed (only in A), moved (another median) or the same.
    #[serde(default)]
    pub change: Change,
}

/// Lines only in A, only in B, and in both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListDiff {
    /// Only in run A.
    pub removed: Vec<String>,
    /// Only in run B.
    pub added: Vec<String>,
    /// In both.
    pub kept: Vec<String>,
}

/// Two runs compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunDiff {
    /// Run A, as given.
    pub a: String,
    /// Run B, as given.
    pub b: String,
    /// The questions.
    pub question: Pair<String>,
    /// The verdicts' stances.
    pub verdict_stance: Pair<Option<Stance>>,
    /// The verdicts' text.
    pub verdict: Pair<String>,
    /// Weighted vote shares (support, mixed, oppose), rounded to whole percents.
    pub shares: Vec<(Stance, Pair<u32>)>,
    /// The majority stance of the vote.
    pub majority: Pair<Option<Stance>>,
    /// Each advisor who sat in either run.
    pub votes: Vec<VoteDiff>,
    /// Each forecast id of either run.
    pub forecasts: Vec<ForecastDiff>,
    /// The actions, by their text.
    pub actions: ListDiff,
    /// The risks, by their text.
    pub risks: ListDiff,
    /// How many things changed in all.
    pub changes: usize,
}
