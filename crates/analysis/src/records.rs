//! The record tables researchers load (`council compare --table`): one row
//! per forecast probability, per vote and per turn, each carrying the run's
//! label, kind, study cell (question id, repeat, seed) and condition. Pure:
//! the runs are [`RunInput`]s as `compare` reads them, and each thing
//! counts once, in the run that spoke it, by `compare`'s rules: a
//! variant's turns, votes and probabilities are copies (it adds no row); a
//! branch adds the rounds from its branch point on and its own synthesis.

use crate::compare::RunInput;
use crate::tables::{num, opt, stance, Csv};
use council_core::answers::Stance;
use council_core::outcome::{Outcome, Resolution};
use council_core::study::Condition;
use council_core::synthesis::Answers;
use council_core::variant::RunKind;
use council_core::{Move, TurnStatus};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// The version of the record tables' JSON output.
pub const RECORDS_VERSION: u32 = 1;

/// Which record table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// One row per advisor probability of a forecast.
    Forecasts,
    /// One row per advisor's final vote.
    Votes,
    /// One row per turn.
    Turns,
}

impl Table {
    /// Its name, as `--table` and `council schema` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Forecasts => "forecasts",
            Table::Votes => "votes",
            Table::Turns => "turns",
        }
    }
}

/// Which run a record comes from.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct RecordRun {
    /// The run's label (as `compare` names it).
    pub run: String,
    /// A debate or a branch (a variant adds no records).
    pub kind: RunKind,
    /// For a study's run: the question's id in the study file.
    pub question_id: Option<String>,
    /// The study condition it was played in (`debate` outside a study).
    pub condition: Condition,
    /// For a study's run: the repeat, from 1.
    pub repeat: Option<u32>,
    /// The run's seed.
    pub seed: u64,
}

impl RecordRun {
    fn of(input: &RunInput) -> RecordRun {
        let t = &input.transcript;
        RecordRun {
            run: input.label.clone(),
            kind: RunKind::of(t.origin.as_ref()),
            question_id: input.study.as_ref().map(|s| s.question_id.clone()),
            condition: t.condition,
            repeat: input.study.as_ref().map(|s| s.repeat),
            seed: input.study.as_ref().map_or(t.seed, |s| s.seed),
        }
    }

    /// The CSV fields, in [`RUN_COLUMNS`] order, with `model` after the condition.
    fn fields(&self, model: &str) -> Vec<String> {
        vec![
            self.run.clone(),
            self.kind.as_str().to_string(),
            self.question_id.clone().unwrap_or_default(),
            self.condition.as_str().to_string(),
            model.to_string(),
            opt(self.repeat),
            self.seed.to_string(),
        ]
    }
}

/// The columns every record table starts with.
pub const RUN_COLUMNS: [&str; 7] = [
    "run",
    "kind",
    "question_id",
    "condition",
    "model",
    "repeat",
    "seed",
];

/// One advisor's probability for one forecast of one run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ForecastRecord {
    /// The run it comes from.
    #[serde(flatten)]
    pub id: RecordRun,
    /// The model that cast the vote giving the probability (empty if unknown).
    pub model: String,
    /// The forecast's id, `F-xxxxxx`.
    pub forecast_id: String,
    /// The statement.
    pub statement: String,
    /// Months from the run date to its horizon.
    pub horizon_months: u32,
    /// The advisor's persona id.
    pub persona: String,
    /// Its probability, 0–1.
    pub probability: f64,
    /// The panel median for this forecast in this run.
    pub panel_median: Option<f64>,
    /// What happened, when an outcome is recorded or given.
    pub outcome: Option<Resolution>,
}

/// One advisor's final vote in one run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct VoteRecord {
    /// The run it comes from.
    #[serde(flatten)]
    pub id: RecordRun,
    /// The model that cast the vote (empty if unknown).
    pub model: String,
    /// The advisor's persona id.
    pub persona: String,
    /// Its stance, if it gave one.
    pub stance: Option<Stance>,
    /// Its confidence, 0–100.
    pub confidence: u8,
    /// Its weight in the tally ([`council_core::report::recalibrate`]).
    pub weight: f64,
    /// Its reason, as given.
    pub reason: String,
}

/// One turn of one run.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TurnRecord {
    /// The run it comes from.
    #[serde(flatten)]
    pub id: RecordRun,
    /// The model that produced the turn (empty if unknown).
    pub model: String,
    /// Round number, from 1.
    pub round: u32,
    /// The speaker's persona id.
    pub persona: String,
    /// Spoken, or its calls failed.
    pub status: TurnStatus,
    /// Its stance on the question, if known.
    pub stance: Option<Stance>,
    /// Its move, if spoken.
    #[serde(rename = "move")]
    pub move_: Option<Move>,
    /// Its confidence 0–100, if given.
    pub confidence: Option<u8>,
    /// What it said.
    pub text: String,
    /// The persona ids it answers.
    pub responds_to: Vec<String>,
    /// The sources it cites, as given.
    pub citations: Vec<String>,
}

/// A record table as JSON: `council compare --table NAME --format json`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Records<R> {
    /// Output format version.
    pub version: u32,
    /// Which table: forecasts, votes or turns.
    pub table: String,
    /// The rows, runs in the order given.
    pub rows: Vec<R>,
}

impl<R> Records<R> {
    fn new(table: Table, rows: Vec<R>) -> Records<R> {
        Records {
            version: RECORDS_VERSION,
            table: table.as_str().to_string(),
            rows,
        }
    }
}

/// Every advisor probability of every forecast of `runs`, with the outcome
/// in force in `outcomes` (by forecast id). A probability copied from
/// another run (a variant's) is left out: it is listed in the run that gave it.
pub fn forecast_records(
    runs: &[RunInput],
    outcomes: &BTreeMap<String, Outcome>,
) -> Records<ForecastRecord> {
    let mut rows = Vec::new();
    for input in runs {
        let t = &input.transcript;
        let run = RecordRun::of(input);
        let table = council_core::forecasts::panel_forecasts(t);
        for f in table.kept {
            for p in f.probabilities.iter().filter(|p| !p.copied) {
                rows.push(ForecastRecord {
                    id: run.clone(),
                    model: p.model.clone(),
                    forecast_id: f.id.clone(),
                    statement: f.statement.clone(),
                    horizon_months: f.horizon_months,
                    persona: p.persona.clone(),
                    probability: p.probability,
                    panel_median: f.median,
                    outcome: outcomes.get(&f.id).map(|o| o.outcome),
                });
            }
        }
    }
    Records::new(Table::Forecasts, rows)
}

/// Every vote of `runs`, in panel order; a vote copied from another run (a
/// variant's) is left out.
pub fn vote_records(runs: &[RunInput]) -> Records<VoteRecord> {
    let mut rows = Vec::new();
    for input in runs {
        let t = &input.transcript;
        let run = RecordRun::of(input);
        let answers = Answers::from_transcript(t);
        let parts = council_core::forecasts::vote_parts(t);
        for v in answers.report_votes(&t.panel) {
            let Some(confidence) = v.confidence else {
                continue; // no vote from this member
            };
            let (model, copied) = parts
                .get(v.persona.as_str())
                .copied()
                .unwrap_or(("", false));
            if copied {
                continue;
            }
            rows.push(VoteRecord {
                id: run.clone(),
                model: model.to_string(),
                persona: v.persona,
                stance: v.stance,
                confidence,
                weight: v.weight,
                reason: v.reason,
            });
        }
    }
    Records::new(Table::Votes, rows)
}

/// Every turn of `runs` the run spoke itself, round by round: a copied turn
/// (a variant's, or a branch's rounds before its branch point) is left out.
pub fn turn_records(runs: &[RunInput]) -> Records<TurnRecord> {
    let mut rows = Vec::new();
    for input in runs {
        let t = &input.transcript;
        let run = RecordRun::of(input);
        let first_own = run.kind.first_own_round(t.origin.as_ref());
        for round in t.rounds.iter().filter(|r| r.number >= first_own) {
            for turn in round.turns.iter().filter(|x| x.copied_from.is_none()) {
                rows.push(TurnRecord {
                    id: run.clone(),
                    model: turn.model.clone(),
                    round: round.number,
                    persona: turn.persona.clone(),
                    status: turn.status,
                    stance: turn.stance,
                    move_: turn.move_,
                    confidence: turn.confidence,
                    text: turn.text.clone(),
                    responds_to: turn.responds_to.clone(),
                    citations: turn.citations.clone(),
                });
            }
        }
    }
    Records::new(Table::Turns, rows)
}

/// The columns of the forecasts CSV after [`RUN_COLUMNS`], in order.
pub const FORECAST_COLUMNS: [&str; 7] = [
    "forecast_id",
    "statement",
    "horizon_months",
    "persona",
    "probability",
    "panel_median",
    "outcome",
];

fn header(rest: &[&str]) -> Vec<String> {
    RUN_COLUMNS
        .iter()
        .chain(rest)
        .map(|c| c.to_string())
        .collect()
}

/// The forecasts table as CSV: [`RUN_COLUMNS`] then [`FORECAST_COLUMNS`];
/// unknowns empty, the outcome `yes` or `no`.
pub fn forecasts_csv(r: &Records<ForecastRecord>) -> String {
    let mut w = Csv::new();
    w.row(header(&FORECAST_COLUMNS));
    for f in &r.rows {
        let mut row = f.id.fields(&f.model);
        row.extend([
            f.forecast_id.clone(),
            f.statement.clone(),
            f.horizon_months.to_string(),
            f.persona.clone(),
            num(Some(f.probability)),
            num(f.panel_median),
            f.outcome
                .map(|o| o.as_str().to_string())
                .unwrap_or_default(),
        ]);
        w.row(row);
    }
    w.finish()
}

/// The columns of the votes CSV after [`RUN_COLUMNS`], in order.
pub const VOTE_COLUMNS: [&str; 5] = ["persona", "stance", "confidence", "weight", "reason"];

/// The votes table as CSV: [`RUN_COLUMNS`] then [`VOTE_COLUMNS`].
pub fn votes_csv(r: &Records<VoteRecord>) -> String {
    let mut w = Csv::new();
    w.row(header(&VOTE_COLUMNS));
    for v in &r.rows {
        let mut row = v.id.fields(&v.model);
        row.extend([
            v.persona.clone(),
            stance(v.stance),
            v.confidence.to_string(),
            num(Some(v.weight)),
            v.reason.clone(),
        ]);
        w.row(row);
    }
    w.finish()
}

/// The columns of the turns CSV after [`RUN_COLUMNS`], in order.
pub const TURN_COLUMNS: [&str; 9] = [
    "round",
    "persona",
    "status",
    "stance",
    "move",
    "confidence",
    "text",
    "responds_to",
    "citations",
];

/// The turns table as CSV: [`RUN_COLUMNS`] then [`TURN_COLUMNS`]; the
/// persona ids answered and the citations each joined with `;`.
pub fn turns_csv(r: &Records<TurnRecord>) -> String {
    let mut w = Csv::new();
    w.row(header(&TURN_COLUMNS));
    for x in &r.rows {
        let mut row = x.id.fields(&x.model);
        row.extend([
            x.round.to_string(),
            x.persona.clone(),
            match x.status {
                TurnStatus::Ok => "ok",
                TurnStatus::Failed => "failed",
            }
            .to_string(),
            stance(x.stance),
            opt(x.move_),
            opt(x.confidence),
            x.text.clone(),
            x.responds_to.join(";"),
            x.citations.join(";"),
        ]);
        w.row(row);
    }
    w.finish()
}

/// The JSON Schema of `council compare --table forecasts --format json`.
pub fn forecasts_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Records<ForecastRecord>)).unwrap_or_default()
}

/// The JSON Schema of `council compare --table votes --format json`.
pub fn votes_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Records<VoteRecord>)).unwrap_or_default()
}

/// The JSON Schema of `council compare --table turns --format json`.
pub fn turns_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Records<TurnRecord>)).unwrap_or_default()
}
