//! Two reports side by side (`council diff`), as data: the verdicts, the
//! vote shares, each advisor's vote, the forecasts' probabilities by id,
//! the actions and the risks, each marked where it changed. Computed by
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
}

/// A forecast's median probability in each run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForecastDiff {
    /// Forecast id.
    pub id: String,
    /// The statement (from whichever run has it).
    pub statement: String,
    /// Median probability in each run (absent where the run lacks the forecast).
    pub median: Pair<Option<f64>>,
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
