//! A study: a set of questions run across models and repeats
//! (`council batch`). `study.json` says what was asked; `runs.jsonl` logs
//! each run's state, one line per change (the last line of a run wins).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The study format version this build writes.
pub const STUDY_VERSION: u32 = 1;

/// One question of a study.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StudyQuestion {
    /// Stable id (given, or `q1`, `q2`… by line).
    pub id: String,
    /// The question.
    pub question: String,
    /// The run date, `YYYY-MM-DD`.
    pub date: String,
    /// Language of the debate.
    pub lang: String,
    /// The panel as persona ids (before the fact-checker and contrarian seats are added).
    pub panel: Vec<String>,
    /// Models to ask it with (empty: the study's models).
    #[serde(default)]
    pub models: Vec<String>,
}

/// What a study asked: `study.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Study {
    /// Format version.
    pub version: u32,
    /// The questions, in file order.
    pub questions: Vec<StudyQuestion>,
    /// Models every question is asked with, unless the question names its own.
    pub models: Vec<String>,
    /// Repeats of each question × model, each with its own seed.
    pub repeats: u32,
    /// Rounds per run.
    pub rounds: u32,
    /// The base seed; repeat k of a run uses a seed derived from it, the question and the model.
    pub seed: u64,
    /// Whether the synthesis runs after the debate.
    pub synthesis: bool,
    /// The most model calls in flight at once, across the whole study.
    pub max_calls: u32,
}

/// One run of a study: which question, model and repeat.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Hash, PartialOrd, Ord,
)]
pub struct StudyRunId {
    /// The question's id.
    pub question: String,
    /// The model.
    pub model: String,
    /// The repeat, from 1.
    pub repeat: u32,
}

impl StudyRunId {
    /// The run's folder name under `DIR/runs/`: question, model and repeat,
    /// with anything but letters, digits, `.` and `-` made `_`.
    pub fn folder(&self) -> String {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        format!(
            "{}--{}--r{}",
            clean(&self.question),
            clean(&self.model),
            self.repeat
        )
    }
}

/// Where a study's run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Not started.
    Pending,
    /// Started (or stopped part-way; running the study again resumes it).
    Running,
    /// Every turn and part is in.
    Complete,
    /// Finished with failed turns.
    Partial,
    /// Stopped by an error (running the study again resumes it).
    Failed,
}

/// One line of `runs.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunRecord {
    /// Which run.
    #[serde(flatten)]
    pub id: StudyRunId,
    /// Its seed.
    pub seed: u64,
    /// Its folder, relative to the study folder.
    pub folder: String,
    /// Its state now.
    pub state: RunState,
    /// Model calls it has made so far (all sessions).
    pub calls: u32,
    /// Why it failed, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The JSON Schema of `study.json`.
pub fn study_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Study)).unwrap_or_default()
}

/// The JSON Schema of one `runs.jsonl` line.
pub fn run_record_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RunRecord)).unwrap_or_default()
}
