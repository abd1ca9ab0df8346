//! A study: a set of questions run across models and repeats
//! (`council batch`). `study.json` says what was asked; `runs.jsonl` logs
//! each run's state, one line per change (the last line of a run wins).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The study format version this build writes.
pub const STUDY_VERSION: u32 = 1;

/// What kind of run a study plays for each question × model × repeat: the
/// full debate, or a control that leaves part of it out. Each is defined in
/// README ("Debate or vote?") precisely enough to replicate.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// The full debate: every round, peers shown by name and role.
    #[default]
    Debate,
    /// The same panel answers round 1 independently (no peer seen), then
    /// votes and forecasts; no later rounds.
    Vote,
    /// One call, no panel: a generalist advisor answers the verdict, its
    /// vote and the forecasts.
    Single,
    /// The full debate with peers shown as A, B, C… without names or roles.
    Anonymous,
    /// The full debate with the same number of advisors, each a plain
    /// advisor with no persona.
    NoPersona,
}

impl Condition {
    /// Every condition, in the order tables list them.
    pub const ALL: [Condition; 5] = [
        Condition::Debate,
        Condition::Vote,
        Condition::Single,
        Condition::Anonymous,
        Condition::NoPersona,
    ];

    /// The name used on the command line, in files and in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Debate => "debate",
            Condition::Vote => "vote",
            Condition::Single => "single",
            Condition::Anonymous => "anonymous",
            Condition::NoPersona => "no-persona",
        }
    }

    /// The condition named `name`, or a message listing the names.
    pub fn parse(name: &str) -> Result<Condition, String> {
        let name = name.trim();
        Condition::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "unknown condition {name:?}: use one or more of {}",
                    Condition::ALL.map(Condition::as_str).join(", ")
                )
            })
    }

    /// Whether this is the full debate (the default, left out of files).
    pub fn is_debate(&self) -> bool {
        *self == Condition::Debate
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serde's default for [`Study::conditions`]: studies written before the
/// field played the full debate only.
fn debate_only() -> Vec<Condition> {
    vec![Condition::Debate]
}

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
    /// The conditions each question × model × repeat is played in.
    #[serde(default = "debate_only")]
    pub conditions: Vec<Condition>,
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
    /// The condition (left out of files for the full debate).
    #[serde(default, skip_serializing_if = "Condition::is_debate")]
    pub condition: Condition,
}

impl StudyRunId {
    /// The run's folder name under `DIR/runs/`: question, model and repeat
    /// (and the condition, when it is not the full debate), with anything
    /// but letters, digits, `.` and `-` made `_`.
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
        let mut folder = format!(
            "{}--{}--r{}",
            clean(&self.question),
            clean(&self.model),
            self.repeat
        );
        if !self.condition.is_debate() {
            folder.push_str("--");
            folder.push_str(self.condition.as_str());
        }
        folder
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
