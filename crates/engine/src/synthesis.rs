//! Synthesis after the last round: several focused calls, each with its own
//! schema (verdict; forecasts; every advisor's vote and probabilities; the
//! action plan; three future paths; the deeper story; evidence; risks).
//! Each answer is appended to the event log as it arrives, so a resumed run
//! never pays for a part twice and `council render` needs no model.

use crate::Debate;
use crate::{EngineError, RunStore};
use council_core::hash::fnv1a;
use council_core::transcript::SynthesisPart;
use council_core::{excerpt, lang_name, Event, Transcript, TurnStatus, Usage};
use council_llm::{ChatModel, ChatRequest, Message};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tera::Context;

/// The months a milestone may sit at.
pub const MILESTONE_MONTHS: [u32; 7] = [3, 6, 9, 12, 15, 18, 24];

#[derive(Serialize)]
struct DigestTurn {
    round: u32,
    #[serde(rename = "move")]
    move_: String,
    confidence: String,
    text: String,
}

#[derive(Serialize)]
struct Digest {
    id: String,
    name: String,
    turns: Vec<DigestTurn>,
}

#[derive(Serialize)]
struct FullSummary {
    number: u32,
    text: String,
}

/// A forecast as prompts show it.
#[derive(Serialize, Clone)]
pub(crate) struct ShownForecast {
    pub id: String,
    pub statement: String,
    pub horizon: String,
}

/// A stable forecast id: a hash of the run date and the statement.
pub fn forecast_id(date: &str, statement: &str) -> String {
    let h = fnv1a(date.bytes().chain(statement.trim().bytes()));
    format!("F-{:06x}", h & 0xff_ffff)
}

/// Adds `months` to a `YYYY-MM-DD` date (clamping the day), or `None` if unparsable.
pub fn add_months(date: &str, months: u32) -> Option<String> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(
        d.checked_add_months(chrono::Months::new(months))?
            .format("%Y-%m-%d")
            .to_string(),
    )
}

/// Adds `days` to a `YYYY-MM-DD` date.
pub fn add_days(date: &str, days: u32) -> Option<String> {
    let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(
        (d + chrono::Days::new(u64::from(days)))
            .format("%Y-%m-%d")
            .to_string(),
    )
}

/// The forecasts of a transcript's `forecasts` part, with ids and horizon dates.
pub(crate) fn forecasts_of(t: &Transcript) -> Vec<ShownForecast> {
    let Some(part) = t.synthesis.iter().find(|p| p.part == "forecasts") else {
        return Vec::new();
    };
    part.value["forecasts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let statement = f["statement"].as_str()?.trim().to_string();
            if statement.is_empty() {
                return None;
            }
            let months = f["horizon_months"].as_u64().unwrap_or(12).clamp(1, 36) as u32;
            Some(ShownForecast {
                id: forecast_id(&t.date, &statement),
                horizon: add_months(&t.date, months).unwrap_or_else(|| format!("+{months} months")),
                statement,
            })
        })
        .collect()
}

fn s(max: usize) -> Value {
    json!({"type": "string", "maxLength": max})
}

fn text(max: usize) -> Value {
    json!({"type": "string", "minLength": 1, "maxLength": max})
}

fn schema_for(part: &str, panel: &[&str], forecast_ids: &[String]) -> Value {
    let persona = json!({"type": "string", "enum": panel});
    let mut with_blank: Vec<String> = forecast_ids.to_vec();
    with_blank.push(String::new());
    match part {
        "verdict" => {
            json!({"type": "object", "properties": {"answer": text(900), "reasoning": text(1200)}, "required": ["answer", "reasoning"]})
        }
        "forecasts" => {
            json!({"type": "object", "properties": {"forecasts": {"type": "array", "minItems": 3, "maxItems": 6, "items": {
            "type": "object", "properties": {"statement": text(240), "horizon_months": {"type": "integer", "minimum": 1, "maximum": 36}},
            "required": ["statement", "horizon_months"]}}}, "required": ["forecasts"]})
        }
        "vote" => json!({"type": "object", "properties": {
            "stance": {"type": "string", "enum": ["agree", "partly", "disagree"]},
            "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
            "reason": text(300),
            "probabilities": {"type": "array", "minItems": forecast_ids.len(), "maxItems": forecast_ids.len(), "items": {
                "type": "object", "properties": {"id": {"type": "string", "enum": forecast_ids}, "probability": {"type": "integer", "minimum": 0, "maximum": 100}},
                "required": ["id", "probability"]}}},
            "required": ["stance", "confidence", "reason", "probabilities"]}),
        "actions" => {
            json!({"type": "object", "properties": {"actions": {"type": "array", "minItems": 4, "maxItems": 7, "items": {
            "type": "object", "properties": {"action": text(300), "owner": text(80),
                "start_day": {"type": "integer", "minimum": 0, "maximum": 365}, "end_day": {"type": "integer", "minimum": 0, "maximum": 365},
                "script": s(400), "trigger": s(200)},
            "required": ["action", "owner", "start_day", "end_day", "script", "trigger"]}}}, "required": ["actions"]})
        }
        "paths" => {
            json!({"type": "object", "properties": {"paths": {"type": "array", "minItems": 3, "maxItems": 3, "items": {
            "type": "object", "properties": {"name": text(60), "premise": text(300), "milestones": {"type": "array", "minItems": 4, "maxItems": 6, "items": {
                "type": "object", "properties": {"month": {"type": "integer", "enum": MILESTONE_MONTHS}, "event": text(240),
                    "persona": {"type": "string", "enum": panel.iter().copied().chain([""]).collect::<Vec<_>>()}, "quote": s(200),
                    "forecast_id": {"type": "string", "enum": with_blank}},
                "required": ["month", "event", "persona", "quote", "forecast_id"]}}},
            "required": ["name", "premise", "milestones"]}}}, "required": ["paths"]})
        }
        "story" => {
            json!({"type": "object", "properties": {"paragraphs": {"type": "array", "minItems": 2, "maxItems": 2, "items": text(1200)}}, "required": ["paragraphs"]})
        }
        "evidence" => {
            json!({"type": "object", "properties": {"items": {"type": "array", "minItems": 5, "maxItems": 8, "items": {
            "type": "object", "properties": {"claim": text(300), "persona": persona, "quote": s(240), "source": {"type": "integer", "minimum": 0, "maximum": 999}},
            "required": ["claim", "persona", "quote", "source"]}}}, "required": ["items"]})
        }
        _ => {
            json!({"type": "object", "properties": {"risks": {"type": "array", "minItems": 3, "maxItems": 5, "items": {
            "type": "object", "properties": {"risk": text(200), "why": text(400)}, "required": ["risk", "why"]}}}, "required": ["risks"]})
        }
    }
}

/// Runs every synthesis part not yet in `store`.
pub(crate) async fn synthesize(d: &Debate<'_>, store: &mut RunStore) -> Result<(), EngineError> {
    let t = store.transcript()?;
    let total = 7 + d.panel.len();
    let mut finished_parts = t.synthesis.len();
    let mut report = |p: &SynthesisPart| {
        finished_parts += 1;
        d.progress.event(crate::ProgressEvent::SynthesisFinished {
            part: p.part.clone(),
            failed: p.error.is_some(),
            done: finished_parts,
            total,
        });
    };
    let mut ctx = base_context(d, &t);
    let done = |t: &Transcript, part: &str| t.synthesis.iter().any(|p| p.part == part);
    let moderator = d.models.default_model().clone();
    let panel_ids: Vec<&str> = d.panel.iter().map(|p| p.id.as_str()).collect();

    if !done(&t, "verdict") {
        let p = call(
            d,
            "verdict",
            &moderator,
            None,
            "synth_verdict.tera",
            &ctx,
            schema_for("verdict", &panel_ids, &[]),
        )
        .await?;
        report(&p);
        store.append(Event::Synthesis(p))?;
    }
    let t = store.transcript()?;
    let verdict = t
        .synthesis
        .iter()
        .find(|p| p.part == "verdict")
        .and_then(|p| p.value["answer"].as_str())
        .unwrap_or("(no verdict: the call failed)")
        .to_string();
    ctx.insert("verdict", &verdict);
    if !done(&t, "forecasts") {
        let p = call(
            d,
            "forecasts",
            &moderator,
            None,
            "synth_forecasts.tera",
            &ctx,
            schema_for("forecasts", &panel_ids, &[]),
        )
        .await?;
        report(&p);
        store.append(Event::Synthesis(p))?;
    }
    let t = store.transcript()?;
    let forecasts = forecasts_of(&t);
    let ids: Vec<String> = forecasts.iter().map(|f| f.id.clone()).collect();
    ctx.insert("forecasts", &forecasts);

    let mut jobs = Vec::new();
    for persona in &d.panel {
        let part = format!("vote:{}", persona.id);
        if done(&t, &part) {
            continue;
        }
        let own_last = t
            .rounds
            .iter()
            .rev()
            .flat_map(|r| r.turns.iter())
            .find(|x| x.persona == persona.id && x.status == TurnStatus::Ok)
            .map(|x| excerpt(&x.text, 400))
            .unwrap_or_else(|| "(you did not speak)".into());
        let mut c = ctx.clone();
        c.insert("own_last", &own_last);
        c.insert("persona", persona);
        c.insert(
            "peers",
            &d.panel
                .iter()
                .map(council_core::PanelMember::from)
                .collect::<Vec<_>>(),
        );
        let model = d.models.for_persona(&persona.id).clone();
        let schema = schema_for("vote", &panel_ids, &ids);
        jobs.push((
            part,
            model,
            Some(persona.id.clone()),
            "synth_vote.tera",
            c,
            schema,
        ));
    }
    for (part, template) in [
        ("actions", "synth_actions.tera"),
        ("paths", "synth_paths.tera"),
        ("story", "synth_story.tera"),
        ("evidence", "synth_evidence.tera"),
        ("risks", "synth_risks.tera"),
    ] {
        if !done(&t, part) {
            jobs.push((
                part.to_string(),
                moderator.clone(),
                None,
                template,
                ctx.clone(),
                schema_for(part, &panel_ids, &ids),
            ));
        }
    }
    let calls = jobs
        .iter()
        .map(|(part, model, persona, template, c, schema)| {
            call(
                d,
                part,
                model,
                persona.as_deref(),
                template,
                c,
                schema.clone(),
            )
        });
    let mut finished =
        futures::stream::iter(calls).buffer_unordered(d.settings.max_concurrency.max(1));
    while let Some(p) = finished.next().await {
        let p = p?;
        report(&p);
        store.append(Event::Synthesis(p))?;
    }
    Ok(())
}

fn base_context(d: &Debate<'_>, t: &Transcript) -> Context {
    let mut ctx = Context::new();
    ctx.insert("question", &d.question);
    ctx.insert("date", &d.settings.date);
    ctx.insert("lang_name", lang_name(&d.settings.lang));
    let summaries: Vec<FullSummary> = t
        .rounds
        .iter()
        .filter_map(|r| {
            r.summary.as_ref().map(|s| FullSummary {
                number: r.number,
                text: excerpt(s, 700),
            })
        })
        .collect();
    ctx.insert("summaries", &summaries);
    let digest: Vec<Digest> = d
        .panel
        .iter()
        .map(|p| Digest {
            id: p.id.clone(),
            name: p.name.clone(),
            turns: t
                .rounds
                .iter()
                .flat_map(|r| r.turns.iter())
                .filter(|x| x.persona == p.id && x.status == TurnStatus::Ok)
                .map(|x| DigestTurn {
                    round: x.round,
                    move_: x.move_.map_or_else(|| "?".into(), |m| m.to_string()),
                    confidence: x.confidence.map_or_else(|| "?".into(), |c| c.to_string()),
                    text: excerpt(&x.text, 220),
                })
                .collect(),
        })
        .collect();
    ctx.insert("digest", &digest);
    let sources: Vec<Value> = t
        .sources
        .iter()
        .map(|s| json!({"number": s.number, "title": s.title}))
        .collect();
    ctx.insert("sources", &sources);
    ctx
}

async fn call(
    d: &Debate<'_>,
    part: &str,
    model: &Arc<dyn ChatModel>,
    persona: Option<&str>,
    template: &str,
    ctx: &Context,
    schema: Value,
) -> Result<SynthesisPart, EngineError> {
    let user = d.prompts.render(template, ctx)?;
    let mut messages = Vec::new();
    if persona.is_some() {
        messages.push(Message::system(d.prompts.render("system.tera", ctx)?));
    }
    messages.push(Message::user(user));
    let name = part.split(':').next().unwrap_or(part).to_string();
    let request = ChatRequest::new(messages)
        .with_schema(format!("synthesis_{name}"), schema)
        .with_seed(d.settings.seed_for(100, part))
        .with_max_tokens(d.settings.max_tokens.max(900));
    let info = model.info();
    Ok(match model.chat(&request).await {
        Ok(r) => SynthesisPart {
            part: part.to_string(),
            value: r.json.unwrap_or(Value::Null),
            error: None,
            usage: r.usage,
            backend: info.backend,
            model: if r.model.is_empty() {
                info.model
            } else {
                r.model
            },
        },
        Err(e) => SynthesisPart {
            part: part.to_string(),
            value: Value::Null,
            error: Some(council_core::error_chain(&e)),
            usage: Usage::none(),
            backend: info.backend,
            model: info.model,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_computed_from_the_run_date() {
        assert_eq!(add_months("2026-11-30", 3).unwrap(), "2027-02-28");
        assert_eq!(add_days("2026-12-28", 7).unwrap(), "2027-01-04");
        assert_eq!(add_months("not a date", 3), None);
    }

    #[test]
    fn forecast_ids_are_stable_and_distinct() {
        let a = forecast_id("2026-11-26", "Churn stays under 5%");
        assert_eq!(a, forecast_id("2026-11-26", " Churn stays under 5% "));
        assert_ne!(a, forecast_id("2026-11-26", "Churn rises above 5%"));
        assert!(a.starts_with("F-") && a.len() == 8);
    }
}
