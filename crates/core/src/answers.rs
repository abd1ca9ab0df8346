//! The model's answers, typed: one Rust type per kind of answer (a debate
//! turn, each synthesis part). Their JSON Schemas are derived from the
//! types and bound per run to the ids a model may use ([`Bindings`]), so
//! the schema a model answers with and the type its answer is read into
//! cannot drift apart.
//!
//! Doc comments on answer fields become the schema's descriptions: they
//! are written to the model. Limits (lengths, ranges, counts) are part of
//! each type; where a small model could break the structure (three paths
//! with six milestones each at "month 3"), the structure itself rules it
//! out: each path is its own call with a fixed [`Scenario`], and its
//! milestones are keyed by month ([`Milestones`]). Free prose fields are
//! marked ([`PROSE`]), so a small model's schema can keep JSON
//! punctuation out of them.

use crate::Move;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A position on the question's proposition: support (yes), oppose (no),
/// or mixed (yes, only if conditions hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Stance {
    /// Yes: do it.
    Support,
    /// No: do not.
    Oppose,
    /// Yes, only if conditions hold.
    Mixed,
}

impl Stance {
    /// Every stance, in display order.
    pub const ALL: [Stance; 3] = [Stance::Support, Stance::Mixed, Stance::Oppose];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Stance::Support => "support",
            Stance::Oppose => "oppose",
            Stance::Mixed => "mixed",
        }
    }
}

// ---------------------------------------------------------------- turns

/// What every debate turn answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TurnAnswer {
    /// The move this turn makes.
    #[serde(rename = "move")]
    pub move_: Move,
    /// Your position on the question now: support (yes), oppose (no) or mixed (yes, only if conditions hold).
    pub stance: Stance,
    /// What you say, in your own voice.
    #[schemars(length(min = 1, max = 1600), extend("x-prose" = "sentences"))]
    pub text: String,
    /// Ids of the peers you answer.
    #[schemars(length(max = 3), extend("x-bind" = "peers"))]
    pub responds_to: Vec<String>,
    /// Your confidence in your own position, 0–100.
    #[schemars(range(min = 0, max = 100))]
    pub confidence: u8,
    /// Library sources you rely on, by number, e.g. "[2]".
    #[schemars(length(max = 5), inner(length(max = 40)))]
    pub citations: Vec<String>,
}

/// What a turn of the assumptions round adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AssumptionsAnswer {
    /// The belief your own position rests on that would hurt most if false.
    #[schemars(length(min = 1, max = 400), extend("x-prose" = "sentences"))]
    pub assumption: String,
    /// The id of the peer whose assumption you target.
    #[schemars(extend("x-bind" = "peers"))]
    pub target_peer: String,
    /// That peer's most dangerous assumption.
    #[schemars(length(min = 1, max = 400), extend("x-prose" = "sentences"))]
    pub target_assumption: String,
}

/// What a turn of the hidden-story round adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StoryTurnAnswer {
    /// The story or metaphor underneath the situation.
    #[schemars(length(min = 1, max = 600), extend("x-prose" = "sentences"))]
    pub story: String,
    /// The one structural change it implies.
    #[schemars(length(min = 1, max = 400), extend("x-prose" = "sentences"))]
    pub systemic_change: String,
}

// ------------------------------------------------------------ synthesis

/// The chair's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerdictAnswer {
    /// The verdict's answer to the question: support (yes), oppose (no) or mixed (yes, if…).
    pub stance: Stance,
    /// The direct answer in 3–6 sentences, and what to do first.
    #[schemars(length(min = 1, max = 700), extend("x-prose" = "sentences"))]
    pub answer: String,
    /// Why: the advisors and arguments that decided it, and the strongest objection overruled.
    #[schemars(length(min = 1, max = 900), extend("x-prose" = "sentences"))]
    pub reasoning: String,
}

/// The forecasts' statements in another wording or language, by id: the
/// ids, horizons and probabilities stay those of the debate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForecastWordingAnswer {
    /// One entry per forecast.
    #[schemars(extend("x-bind" = "forecast-count"))]
    pub forecasts: Vec<ForecastWording>,
}

/// One forecast re-worded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForecastWording {
    /// The forecast's id, as given.
    #[schemars(extend("x-bind" = "forecast-ids"))]
    pub id: String,
    /// The same statement, same numbers and dates, in the requested wording and language.
    #[schemars(length(min = 1, max = 200), extend("x-prose" = "sentences"))]
    pub statement: String,
}

/// The panel's short answer to a follow-up question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FollowupAnswer {
    /// The direct answer to the follow-up in 2–5 sentences, with numbers and dates where the advisors gave them.
    #[schemars(length(min = 1, max = 700), extend("x-prose" = "sentences"))]
    pub answer: String,
    /// What the follow-up changes in the original verdict, or why it changes nothing.
    #[schemars(length(min = 1, max = 400), extend("x-prose" = "sentences"))]
    pub what_changed: String,
    /// New risks the follow-up brought up (none if none).
    #[schemars(length(max = 3), inner(length(min = 1, max = 200)), extend("x-prose" = "sentences"))]
    pub new_risks: Vec<String>,
}

/// Checkable forecasts that will show whether the verdict was right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForecastsAnswer {
    /// The forecasts.
    #[schemars(length(min = 3, max = 5))]
    pub forecasts: Vec<ForecastDraft>,
}

/// One forecast as the model states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ForecastDraft {
    /// A concrete statement an outsider can call true or false on the horizon date.
    #[schemars(length(min = 1, max = 200), extend("x-prose" = "sentences"))]
    pub statement: String,
    /// Months from today when it can be checked.
    #[schemars(range(min = 1, max = 36))]
    pub horizon_months: u8,
    /// The id of the source run's forecast that checks the same claim, numbers and horizon, in other words or not (blank for any other).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(extend("x-bind" = "revises"))]
    pub revises: String,
}

/// One advisor's final vote and forecast probabilities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VoteAnswer {
    /// Your final answer to the question: support (yes), oppose (no) or mixed (yes, if…).
    pub stance: Stance,
    /// Your confidence in that stance, 0–100.
    #[schemars(range(min = 0, max = 100))]
    pub confidence: u8,
    /// One sentence of reason.
    #[schemars(length(min = 1, max = 240), extend("x-prose" = "sentences"))]
    pub reason: String,
    /// Your probability for each forecast, by id.
    #[schemars(extend("x-bind" = "forecast-count"))]
    pub probabilities: Vec<Probability>,
}

/// A probability for one forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Probability {
    /// The forecast's id.
    #[schemars(extend("x-bind" = "forecast-ids"))]
    pub id: String,
    /// The chance, 0–100, that it comes true by its horizon date.
    #[schemars(range(min = 0, max = 100))]
    pub probability: u8,
}

/// The dated action plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ActionsAnswer {
    /// The actions, in the order they should happen.
    #[schemars(length(min = 4, max = 6))]
    pub actions: Vec<ActionDraft>,
}

/// One action as the model states it; days count from the run date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ActionDraft {
    /// What exactly to do.
    #[schemars(length(min = 1, max = 200), extend("x-prose" = "sentences"))]
    pub action: String,
    /// Who does it: a role, e.g. "CEO".
    #[schemars(length(min = 1, max = 60), extend("x-prose" = "words"))]
    pub owner: String,
    /// First day of the window, counted from today.
    #[schemars(range(min = 0, max = 365))]
    pub start_day: u16,
    /// Last day of the window, counted from today.
    #[schemars(range(min = 0, max = 365))]
    pub end_day: u16,
    /// The exact words to say, when the action is a conversation; else empty.
    #[schemars(length(max = 200), extend("x-prose" = "words"))]
    pub script: String,
    /// The condition that starts it, when it is conditional; else empty.
    #[schemars(length(max = 140), extend("x-prose" = "words"))]
    pub trigger: String,
}

/// Which future a path call sketches; fixed by the call, so three paths
/// can never be the same future.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// The verdict is followed and works.
    Works,
    /// The verdict is followed and fails.
    Fails,
    /// The opposite decision is taken.
    Opposite,
}

impl Scenario {
    /// The three scenarios, in report order.
    pub const ALL: [Scenario; 3] = [Scenario::Works, Scenario::Fails, Scenario::Opposite];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::Works => "works",
            Scenario::Fails => "fails",
            Scenario::Opposite => "opposite",
        }
    }
}

/// One future path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PathAnswer {
    /// A short title naming this future.
    #[schemars(length(min = 1, max = 60), extend("x-prose" = "words"))]
    pub title: String,
    /// The decision taken, in a sentence.
    #[schemars(length(min = 1, max = 240), extend("x-prose" = "sentences"))]
    pub premise: String,
    /// One milestone at each month.
    pub milestones: Milestones,
}

/// A path's milestones, one per month: six, and never two at one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Milestones {
    /// Three months from today.
    pub month_3: MilestoneDraft,
    /// Six months from today.
    pub month_6: MilestoneDraft,
    /// Nine months from today.
    pub month_9: MilestoneDraft,
    /// Twelve months from today.
    pub month_12: MilestoneDraft,
    /// Eighteen months from today.
    pub month_18: MilestoneDraft,
    /// Twenty-four months from today.
    pub month_24: MilestoneDraft,
}

impl Milestones {
    /// The months a path's milestones sit at.
    pub const MONTHS: [u32; 6] = [3, 6, 9, 12, 18, 24];

    /// (month, milestone), in month order.
    pub fn by_month(&self) -> [(u32, &MilestoneDraft); 6] {
        [
            (3, &self.month_3),
            (6, &self.month_6),
            (9, &self.month_9),
            (12, &self.month_12),
            (18, &self.month_18),
            (24, &self.month_24),
        ]
    }
}

/// One milestone, backed by an advisor's quote or by a forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MilestoneDraft {
    /// What happens by then.
    #[schemars(length(min = 1, max = 140), extend("x-prose" = "words"))]
    pub event: String,
    /// The id of the advisor quoted, or empty when a forecast backs it.
    #[schemars(extend("x-bind" = "panel-or-none"))]
    pub persona: String,
    /// Their words, copied exactly; empty when a forecast backs it.
    #[schemars(length(max = 120), extend("x-prose" = "words"))]
    pub quote: String,
    /// The id of the forecast that backs it, or empty.
    #[schemars(extend("x-bind" = "forecast-ids-or-none"))]
    pub forecast_id: String,
}

/// The deeper story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StoryAnswer {
    /// Two paragraphs: what is really going on; what it means for the executive.
    #[schemars(length(min = 2, max = 2), inner(length(min = 1, max = 800)), extend("x-prose" = "sentences"))]
    pub paragraphs: Vec<String>,
}

/// The evidence behind the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceAnswer {
    /// Evidence items, for or against.
    #[schemars(length(min = 3, max = 5))]
    pub items: Vec<EvidenceDraft>,
}

/// One evidence item as the model states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EvidenceDraft {
    /// The claim.
    #[schemars(length(min = 1, max = 200), extend("x-prose" = "sentences"))]
    pub claim: String,
    /// The id of the advisor it comes from.
    #[schemars(extend("x-bind" = "panel"))]
    pub persona: String,
    /// Their words, copied exactly.
    #[schemars(length(max = 140), extend("x-prose" = "words"))]
    pub quote: String,
    /// The number of the library source it rests on, or 0 for none.
    #[schemars(range(min = 0, max = 999))]
    pub source: u16,
}

/// The strongest cases against the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RisksAnswer {
    /// The risks.
    #[schemars(length(min = 3, max = 5))]
    pub risks: Vec<RiskDraft>,
}

/// One risk as the model states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RiskDraft {
    /// The risk, in one line.
    #[schemars(length(min = 1, max = 140), extend("x-prose" = "words"))]
    pub risk: String,
    /// Why it could make the verdict wrong, and the early signal to watch.
    #[schemars(length(min = 1, max = 300), extend("x-prose" = "sentences"))]
    pub why: String,
}

// -------------------------------------------------------------- schemas

/// The schema keyword that marks a field of free prose (a string, or an
/// array of strings), as opposed to an id, an enum or a citation: its
/// value is [`SENTENCES`] (whole sentences) or [`WORDS`] (a title, a role,
/// copied words). It is not sent to a model: `council_engine::schema::sized_for`
/// removes it, and for a small model gives each prose string a `pattern`
/// that keeps JSON punctuation out of it (and makes sentences end as one).
pub const PROSE: &str = "x-prose";

/// [`PROSE`]'s value for a field written in whole sentences.
pub const SENTENCES: &str = "sentences";

/// [`PROSE`]'s value for a field of words that need not be a sentence.
pub const WORDS: &str = "words";

/// The run's values a schema is bound to: which ids a model may name.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bindings<'a> {
    /// Every panel member's id.
    pub panel: &'a [&'a str],
    /// The ids a turn may answer or target (the panel less the speaker).
    pub peers: &'a [&'a str],
    /// The run's forecast ids; in a branch's forecasts call, its source's
    /// (what a forecast's `revises` may name; without them it has no `revises`).
    pub forecast_ids: &'a [&'a str],
}

/// The JSON Schema of `T`, derived, inlined (no `$ref`s, which some
/// grammar converters do not follow), stripped of keywords that only
/// document (`$schema`, `title`, `format`), and bound to `b`.
pub fn schema_of<T: JsonSchema>(b: &Bindings<'_>) -> Value {
    let generator = schemars::generate::SchemaSettings::draft07()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut v = generator.into_root_schema_for::<T>().to_value();
    tidy(&mut v, b);
    v
}

/// The schema of a turn that adds `E`'s fields to [`TurnAnswer`]'s.
pub fn turn_schema_with<E: JsonSchema>(b: &Bindings<'_>) -> Value {
    let mut base = schema_of::<TurnAnswer>(b);
    merge_object(&mut base, schema_of::<E>(b));
    base
}

/// An upper bound on the tokens an answer valid against `schema` can take,
/// for a text of `chars_per_token` characters a token (about 3.5 for
/// English, 1 for Chinese): every string at its longest, every array at its
/// most items, plus the JSON around them. A generation limit below it could
/// cut a valid answer short.
pub fn token_budget(schema: &Value, chars_per_token: f64) -> u32 {
    fn walk(v: &Value, cpt: f64) -> f64 {
        if let Some(values) = v.get("enum").and_then(Value::as_array) {
            let longest = values
                .iter()
                .map(|e| e.to_string().chars().count())
                .max()
                .unwrap_or(0);
            return longest as f64 / 2.0 + 2.0;
        }
        match v.get("type").and_then(Value::as_str) {
            Some("object") => v
                .get("properties")
                .and_then(Value::as_object)
                .map_or(2.0, |props| {
                    props
                        .iter()
                        .map(|(k, p)| k.len() as f64 / 3.0 + 3.0 + walk(p, cpt))
                        .sum::<f64>()
                        + 2.0
                }),
            Some("array") => {
                let n = v.get("maxItems").and_then(Value::as_u64).unwrap_or(8) as f64;
                let item = v.get("items").map_or(4.0, |i| walk(i, cpt));
                n * (item + 1.0) + 2.0
            }
            Some("string") => {
                let max = v.get("maxLength").and_then(Value::as_u64).unwrap_or(400) as f64;
                max / cpt + 2.0
            }
            _ => 4.0,
        }
    }
    walk(schema, chars_per_token.max(0.5)).ceil() as u32
}

/// Adds `extra`'s properties and required names to the object schema `base`.
fn merge_object(base: &mut Value, extra: Value) {
    if let (Some(props), Some(more)) = (
        base.get_mut("properties").and_then(Value::as_object_mut),
        extra.get("properties").and_then(Value::as_object),
    ) {
        for (k, v) in more {
            props.insert(k.clone(), v.clone());
        }
    }
    if let (Some(req), Some(more)) = (
        base.get_mut("required").and_then(Value::as_array_mut),
        extra.get("required").and_then(Value::as_array),
    ) {
        req.extend(more.iter().cloned());
    }
}

fn strings(ids: &[&str], with_blank: bool) -> Vec<Value> {
    let mut out: Vec<Value> = ids.iter().map(|s| Value::from(*s)).collect();
    if with_blank || out.is_empty() {
        // An empty enum is not a valid schema; a blank is the honest "none".
        out.push(Value::from(""));
    }
    out
}

/// Tidies one schema: drops the keywords that only document, binds the
/// run's ids, and recurses into subschemas. Property names are data, not
/// keywords: a property called `title` stays.
fn tidy(v: &mut Value, b: &Bindings<'_>) {
    match v {
        Value::Object(map) => {
            map.remove("$schema");
            map.remove("title");
            map.remove("format");
            if let Some(Value::String(bind)) = map.remove("x-bind") {
                bind_one(map, &bind, b);
            }
            collapse_const_alternatives(map);
            link_revisions(map, b);
            for (key, child) in map.iter_mut() {
                match (key.as_str(), child) {
                    ("properties", Value::Object(props)) => {
                        props.values_mut().for_each(|p| tidy(p, b));
                    }
                    (_, child) => tidy(child, b),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| tidy(c, b)),
        _ => {}
    }
}

/// A `revises` property (bound `revises`) is asked only where there are
/// forecasts to revise: without ids it is dropped; with them it is required
/// (an id, or blank for a new forecast).
fn link_revisions(map: &mut Map<String, Value>, b: &Bindings<'_>) {
    let Some(Value::Object(props)) = map.get_mut("properties") else {
        return;
    };
    let bound: Vec<String> = props
        .iter()
        .filter(|(_, p)| p.get("x-bind").and_then(Value::as_str) == Some("revises"))
        .map(|(k, _)| k.clone())
        .collect();
    if bound.is_empty() {
        return;
    }
    if b.forecast_ids.is_empty() {
        for k in &bound {
            props.remove(k);
        }
        if let Some(Value::Array(req)) = map.get_mut("required") {
            req.retain(|r| !bound.iter().any(|k| r == k));
        }
        return;
    }
    let req = map
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(req) = req {
        for k in bound {
            if !req.iter().any(|r| *r == k) {
                req.push(Value::from(k));
            }
        }
    }
}

fn bind_one(map: &mut Map<String, Value>, bind: &str, b: &Bindings<'_>) {
    let values = match bind {
        "revises" => strings(b.forecast_ids, true),
        "panel" => strings(b.panel, false),
        "panel-or-none" => strings(b.panel, true),
        "peers" => strings(b.peers, false),
        "forecast-ids" => strings(b.forecast_ids, false),
        "forecast-ids-or-none" => strings(b.forecast_ids, true),
        "forecast-count" => {
            let n = b.forecast_ids.len();
            map.insert("minItems".into(), n.into());
            map.insert("maxItems".into(), n.into());
            return;
        }
        _ => return,
    };
    let target = if map.get("type").and_then(Value::as_str) == Some("array") {
        map.entry("items")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
    } else {
        Some(map)
    };
    if let Some(t) = target {
        t.insert("type".into(), "string".into());
        t.insert("enum".into(), Value::Array(values));
    }
}

/// A documented unit enum derives as `oneOf: [{const, description}…]`;
/// a plain `enum` says the same in fewer tokens and suits every grammar
/// converter.
fn collapse_const_alternatives(map: &mut Map<String, Value>) {
    let Some(Value::Array(alts)) = map.get("oneOf") else {
        return;
    };
    let consts: Option<Vec<Value>> = alts.iter().map(|a| a.get("const").cloned()).collect();
    if let Some(consts) = consts {
        map.remove("oneOf");
        map.insert("type".into(), "string".into());
        map.insert("enum".into(), Value::Array(consts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings() -> Bindings<'static> {
        Bindings {
            panel: &["cfo", "cto", "auditor"],
            peers: &["cto", "auditor"],
            forecast_ids: &["F-000001", "F-000002", "F-000003"],
        }
    }

    fn print(v: &Value) -> String {
        serde_json::to_string(v).unwrap()
    }

    #[test]
    fn schemas_are_inlined_and_free_of_documentation_only_keywords() {
        let s = print(&schema_of::<PathAnswer>(&bindings()));
        for absent in [
            "$ref",
            "$defs",
            "definitions",
            "$schema",
            "\"title\":{\"title\"",
            "format",
            "x-bind",
            "oneOf",
        ] {
            assert!(!s.contains(absent), "{absent} in {s}");
        }
    }

    #[test]
    fn a_forecast_asks_for_revises_only_where_there_are_forecasts_to_revise() {
        let plain = schema_of::<ForecastsAnswer>(&Bindings::default());
        let item = &plain["properties"]["forecasts"]["items"];
        assert!(item["properties"].get("revises").is_none(), "{item}");
        assert!(!print(item).contains("revises"), "{item}");
        let branch = schema_of::<ForecastsAnswer>(&Bindings {
            forecast_ids: &["F-000001", "F-000002"],
            ..Bindings::default()
        });
        let item = &branch["properties"]["forecasts"]["items"];
        assert_eq!(
            item["properties"]["revises"]["enum"],
            serde_json::json!(["F-000001", "F-000002", ""])
        );
        assert!(item["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "revises"));
        let old: ForecastDraft =
            serde_json::from_str(r#"{"statement":"NPS rises","horizon_months":6}"#).unwrap();
        assert_eq!(old.revises, "", "an answer without the field still reads");
    }

    #[test]
    fn ids_are_bound_to_the_run() {
        let b = bindings();
        let turn = turn_schema_with::<AssumptionsAnswer>(&b);
        assert_eq!(
            turn["properties"]["responds_to"]["items"]["enum"],
            serde_json::json!(["cto", "auditor"])
        );
        assert_eq!(
            turn["properties"]["target_peer"]["enum"],
            serde_json::json!(["cto", "auditor"])
        );
        assert!(turn["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r == "target_assumption"));
        assert_eq!(
            turn["properties"]["move"]["enum"].as_array().unwrap().len(),
            Move::ALL.len()
        );
        let vote = schema_of::<VoteAnswer>(&b);
        assert_eq!(vote["properties"]["probabilities"]["minItems"], 3);
        assert_eq!(vote["properties"]["probabilities"]["maxItems"], 3);
        assert_eq!(
            vote["properties"]["probabilities"]["items"]["properties"]["id"]["enum"],
            serde_json::json!(["F-000001", "F-000002", "F-000003"])
        );
        let path = schema_of::<PathAnswer>(&b);
        let m = &path["properties"]["milestones"]["properties"]["month_3"]["properties"];
        assert_eq!(
            m["persona"]["enum"],
            serde_json::json!(["cfo", "cto", "auditor", ""])
        );
        assert_eq!(m["forecast_id"]["enum"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn budgets_cover_the_longest_valid_answer_and_grow_for_chinese() {
        let b = bindings();
        let story = schema_of::<StoryAnswer>(&b);
        let en = token_budget(&story, 3.5);
        // Two paragraphs of 800 characters: at least 1,600 / 3.5 tokens.
        assert!((458..600).contains(&en), "{en}");
        assert!(token_budget(&story, 1.0) > 3 * en, "Chinese needs room");
        let path = token_budget(&schema_of::<PathAnswer>(&b), 3.5);
        let risks = token_budget(&schema_of::<RisksAnswer>(&b), 3.5);
        assert!(path > risks / 2 && path < 1200, "{path} {risks}");
    }

    #[test]
    fn six_milestones_at_one_month_cannot_be_read() {
        let m = serde_json::json!({"event": "e", "persona": "", "quote": "", "forecast_id": ""});
        let keyed = serde_json::json!({"title": "t", "premise": "p", "milestones": {
            "month_3": m, "month_6": m, "month_9": m, "month_12": m, "month_18": m, "month_24": m}});
        let p: PathAnswer = serde_json::from_value(keyed).unwrap();
        assert_eq!(
            p.milestones.by_month().map(|(month, _)| month),
            Milestones::MONTHS
        );
        // The old shape, six milestones all at month 3, is not a path.
        let listed = serde_json::json!({"title": "t", "premise": "p", "milestones": [
            {"month": 3, "event": "e"}, {"month": 3, "event": "e"}]});
        assert!(serde_json::from_value::<PathAnswer>(listed).is_err());
    }
}
