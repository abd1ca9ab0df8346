//! Synthesis after the last round: one focused call per
//! [`SynthesisKind`], each answering with its type's derived schema (the
//! verdict; the forecasts; every advisor's vote and probabilities; the
//! action plan; one call per future path; the deeper story; the evidence;
//! the risks). Each answer is appended to the event log as it arrives, so a
//! resumed run never pays for a part twice and `council render` needs no
//! model.

use crate::{Debate, EngineError, RunStore};
use council_core::answers::{token_budget, Bindings, Stance};
use council_core::study::Condition;
use council_core::synthesis::{Answers, SynthesisKind};
use council_core::transcript::SynthesisPart;
use council_core::variant::VariantSpec;
use council_core::{excerpt, lang_name, Event, Transcript, TurnStatus};
use council_llm::{ChatModel, ChatRequest, Message};
use futures::StreamExt;
use serde::Serialize;
use std::sync::Arc;
use tera::Context;

/// Characters of each turn in the digest every synthesis prompt carries.
const DIGEST_TURN: usize = 160;
/// [`DIGEST_TURN`] when the chair's model is small.
const DIGEST_TURN_SMALL: usize = 70;
/// Characters of each round summary in that digest.
const DIGEST_SUMMARY: usize = 400;
/// [`DIGEST_SUMMARY`] when the chair's model is small.
const DIGEST_SUMMARY_SMALL: usize = 150;
/// Characters of an advisor's last turn shown when it votes.
const OWN_LAST: usize = 400;
/// The round number synthesis seeds are mixed with (past any real round).
const SEED_ROUND: u32 = 100;

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
struct DigestSummary {
    number: u32,
    text: String,
}

/// A forecast as prompts and the report show it.
#[derive(Debug, Serialize, Clone, PartialEq)]
pub struct ShownForecast {
    /// Stable id, `F-xxxxxx`.
    pub id: String,
    /// What will be true.
    pub statement: String,
    /// By when, `YYYY-MM-DD`.
    pub horizon: String,
}

/// A stable forecast id; its one home is core, where analysis reads it too.
pub use council_core::synthesis::forecast_id;

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

/// The run's forecasts, with ids and horizon dates; a statement given twice
/// is kept once.
pub fn forecasts_of(date: &str, answers: &Answers) -> Vec<ShownForecast> {
    answers
        .distinct_forecasts(date)
        .into_iter()
        .map(|(id, f)| {
            let months = u32::from(f.horizon_months.clamp(1, 36));
            ShownForecast {
                horizon: add_months(date, months).unwrap_or_else(|| format!("+{months} months")),
                id,
                statement: f.statement.trim().to_string(),
            }
        })
        .collect()
}

/// The prompt template of each kind.
fn template(kind: &SynthesisKind) -> &'static str {
    match kind {
        SynthesisKind::Verdict => "synth_verdict.tera",
        SynthesisKind::Forecasts => "synth_forecasts.tera",
        SynthesisKind::Vote(_) => "synth_vote.tera",
        SynthesisKind::Actions => "synth_actions.tera",
        SynthesisKind::Path(_) | SynthesisKind::LegacyPaths => "synth_path.tera",
        SynthesisKind::Story => "synth_story.tera",
        SynthesisKind::Evidence => "synth_evidence.tera",
        SynthesisKind::Risks => "synth_risks.tera",
        SynthesisKind::ForecastWording => "synth_forecast_wording.tera",
        SynthesisKind::Followup(_) => "followup_synthesis.tera",
    }
}

/// Characters a token holds, at the least, in the run's language: budgets
/// are sized from the schema's longest valid answer in tokens. English
/// prose runs near 4 characters a token, but the ids, numbers and broken
/// words a weak model writes run nearer 2.
pub(crate) fn chars_per_token(lang: &str) -> f64 {
    match lang {
        "zh" | "ja" => 1.0,
        _ => 2.5,
    }
}

/// Runs every synthesis part not yet in `store`, in two dependent waves:
/// first every part that builds on the debate alone (the verdict, the
/// forecasts, the plan, the story, the evidence, the risks), all at once;
/// then the parts that need the forecasts' ids and the verdict (each
/// advisor's vote, the three paths, a variant's forecast wording), all at
/// once, as soon as those two have landed: the rest of the first wave goes
/// on beside them. The first wave sees where the board stands (each
/// advisor's last stance), not the verdict written beside it, so nothing
/// waits that need not.
pub(crate) async fn synthesize(d: &Debate<'_>, store: &mut RunStore) -> Result<(), EngineError> {
    let panel_ids: Vec<&str> = d.panel.iter().map(|p| p.id.as_str()).collect();
    // A re-worded variant asks for its own wording of the forecasts too.
    let variant = match store.events().first() {
        Some(Event::Started(h)) => h.variant.clone().filter(|v| v.rewords),
        _ => None,
    };
    let mut kinds = SynthesisKind::all_for(&panel_ids);
    if variant.is_some() {
        kinds.push(SynthesisKind::ForecastWording);
    }
    let total = kinds.len();
    let t = store.transcript()?;
    let mut finished_parts = t.synthesis.len();
    let mut note = |p: &SynthesisPart| {
        finished_parts += 1;
        d.progress.event(crate::ProgressEvent::SynthesisFinished {
            part: p.part.clone(),
            failed: p.error.is_some(),
            done: finished_parts,
            total,
        });
    };
    let done = |t: &Transcript, k: &SynthesisKind| t.synthesis.iter().any(|p| &p.part == k);
    let moderator = d.models.default_model().clone();
    let mut ctx = base_context(d, &t);
    ctx.insert("variant", &variant.as_ref().map(directions));
    ctx.insert("leaning", &leaning(d, &t));

    // A branch's forecasts may revise its source's, keeping their ids.
    let source_forecasts = match store.events().first() {
        Some(Event::Started(h)) => h
            .origin
            .as_ref()
            .map(|o| o.source_forecasts.clone())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let source_ids: Vec<&str> = source_forecasts.iter().map(|f| f.id.as_str()).collect();
    ctx.insert("source_forecasts", &source_forecasts);
    let first = Bindings {
        panel: &panel_ids,
        ..Bindings::default()
    };
    let revising = Bindings {
        panel: &panel_ids,
        peers: &[],
        forecast_ids: &source_ids,
    };
    let mut waiting: std::collections::VecDeque<PartCall<'_>> = kinds
        .iter()
        .filter(|k| !k.needs_forecasts() && !done(&t, k))
        .map(|k| {
            let b = if *k == SynthesisKind::Forecasts {
                &revising
            } else {
                &first
            };
            Box::pin(call(d, k, &moderator, &ctx, b)) as PartCall<'_>
        })
        .collect();
    let second: Vec<&SynthesisKind> = kinds
        .iter()
        .filter(|k| k.needs_forecasts() && !done(&t, k))
        .collect();
    // What the second wave reads: once both have landed (answered or
    // failed), it starts.
    let mut read_first = [SynthesisKind::Verdict, SynthesisKind::Forecasts]
        .into_iter()
        .filter(|k| !done(&t, k))
        .collect::<Vec<_>>();
    let mut second_started = false;
    let keep_stance = variant.as_ref().and_then(|v| v.keep_stance);
    let mut running = futures::stream::FuturesUnordered::new();
    let mut stopped = None;
    let limit = d.settings.max_concurrency.max(1);
    loop {
        if read_first.is_empty() && !second_started && stopped.is_none() {
            second_started = true;
            let t = store.transcript()?;
            waiting.extend(second_wave(d, &t, &ctx, &panel_ids, &second, &moderator));
        }
        while running.len() < limit {
            let Some(next) = waiting.pop_front() else {
                break;
            };
            running.push(next);
        }
        let Some(answer) = running.next().await else {
            break;
        };
        match answer {
            Ok(mut p) => {
                if let (Some(keep), SynthesisKind::Verdict) = (keep_stance, &p.part) {
                    hold_stance(&mut p, keep);
                }
                read_first.retain(|k| k != &p.part);
                note(&p);
                store.append(Event::Synthesis(p))?;
            }
            Err(e @ EngineError::Budget(_)) => {
                // A budget stop: the calls in flight finish and are kept;
                // nothing new starts.
                waiting.clear();
                stopped.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    stopped.map_or(Ok(()), Err)
}

/// One synthesis call in flight.
type PartCall<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<SynthesisPart, EngineError>> + Send + 'a>,
>;

/// The second wave's calls, bound to the forecasts' ids and shown the
/// verdict, as `t` (the log so far) holds them.
fn second_wave<'a>(
    d: &'a Debate<'_>,
    t: &Transcript,
    ctx: &Context,
    panel_ids: &'a [&'a str],
    kinds: &[&SynthesisKind],
    moderator: &Arc<dyn ChatModel>,
) -> Vec<PartCall<'a>> {
    let answers = Answers::from_transcript(t);
    let mut ctx = ctx.clone();
    add_answers_so_far(&mut ctx, t, &answers);
    let ids: Vec<String> = forecasts_of(&t.date, &answers)
        .into_iter()
        .map(|f| f.id)
        .collect();
    let mut calls: Vec<PartCall<'a>> = Vec::new();
    // How the votes' prompts show the panel (by label in an anonymous run).
    let shown = crate::conditions::Shown::new(&d.panel, d.settings.condition);
    for &kind in kinds {
        let (model, c) = match kind {
            SynthesisKind::Vote(id) => {
                let Some(persona) = d.panel.iter().find(|p| &p.id == id) else {
                    continue;
                };
                let own_last = t
                    .rounds
                    .iter()
                    .rev()
                    .flat_map(|r| r.turns.iter())
                    .find(|x| x.persona == persona.id && x.status == TurnStatus::Ok)
                    .map(|x| excerpt(&x.text, OWN_LAST))
                    .unwrap_or_else(|| "(you did not speak)".into());
                let mut c = ctx.clone();
                c.insert("own_last", &own_last);
                c.insert("persona", persona);
                c.insert("peers", &shown.board(&persona.id));
                match d.settings.condition {
                    // A vote without debate is independent: the advisor
                    // sees its own opening, the question and the
                    // forecasts, never a peer's turn or the verdict that
                    // aggregates them.
                    Condition::Vote => {
                        c.insert("verdict", "");
                        c.insert("digest", &Vec::<Digest>::new());
                        c.insert("summaries", &Vec::<DigestSummary>::new());
                        c.insert("leaning", "");
                    }
                    // The verdict and forecasts a peer reads name no one.
                    Condition::Anonymous => {
                        let verdict = c
                            .get("verdict")
                            .and_then(|v| v.as_str())
                            .map(|v| shown.scrub(v))
                            .unwrap_or_default();
                        c.insert("verdict", &verdict);
                        let mut forecasts = c.get("forecasts").cloned().unwrap_or_default();
                        for f in forecasts.as_array_mut().into_iter().flatten() {
                            if let Some(said) = f["statement"].as_str() {
                                f["statement"] = serde_json::Value::from(shown.scrub(said));
                            }
                        }
                        c.insert("forecasts", &forecasts);
                    }
                    _ => {}
                }
                (d.models.for_persona(&persona.id).clone(), c)
            }
            SynthesisKind::Path(scenario) => {
                let mut c = ctx.clone();
                c.insert("scenario", scenario.as_str());
                (moderator.clone(), c)
            }
            _ => (moderator.clone(), ctx.clone()),
        };
        let kind = kind.clone();
        let ids = ids.clone();
        calls.push(Box::pin(async move {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let b = Bindings {
                panel: panel_ids,
                peers: &[],
                forecast_ids: &ids,
            };
            call(d, &kind, &model, &c, &b).await
        }));
    }
    calls
}

/// A variant's directions as the templates read them (`variant`).
fn directions(v: &VariantSpec) -> serde_json::Value {
    serde_json::json!({
        "audience": v.audience_text(),
        "tone": v.tone,
        "emphasis": v.emphasis,
        "brief": v.length == council_core::variant::Length::Brief,
        "source_verdict": v.source_verdict,
        "keep_stance": v.keep_stance.map(|s| s.as_str()),
    })
}

/// A variant restates the debate's verdict: a different stance in its
/// answer is put back, and flagged.
fn hold_stance(p: &mut SynthesisPart, keep: Stance) {
    let Some(said) = p
        .value
        .get("stance")
        .and_then(|s| s.as_str())
        .map(str::to_string)
    else {
        return;
    };
    if said != keep.as_str() {
        p.value["stance"] = serde_json::Value::from(keep.as_str());
        p.flags.push(format!(
            "the variant's verdict said {said}; it restates the debate's verdict, so its stance stays {}",
            keep.as_str()
        ));
    }
}

/// What every synthesis prompt shows: the question, the date, the round
/// summaries and each advisor's turns, in excerpts, and the library.
fn base_context(d: &Debate<'_>, t: &Transcript) -> Context {
    let small = d.models.default_model().info().capabilities.small;
    let (turn_chars, summary_chars) = if small {
        (DIGEST_TURN_SMALL, DIGEST_SUMMARY_SMALL)
    } else {
        (DIGEST_TURN, DIGEST_SUMMARY)
    };
    let mut ctx = Context::new();
    ctx.insert("question", &d.question);
    ctx.insert("date", &d.settings.date);
    ctx.insert("lang_name", lang_name(&d.settings.lang));
    // A `no-persona` run's risks are not written in a persona's voice.
    ctx.insert(
        "no_persona",
        &(d.settings.condition == Condition::NoPersona),
    );
    let summaries: Vec<DigestSummary> = t
        .rounds
        .iter()
        .filter_map(|r| {
            r.summary.as_ref().map(|s| DigestSummary {
                number: r.number,
                text: excerpt(s, summary_chars),
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
                    text: excerpt(&x.text, turn_chars),
                })
                .collect(),
        })
        .collect();
    ctx.insert("digest", &digest);
    let sources: Vec<serde_json::Value> = t
        .sources
        .iter()
        .map(|s| serde_json::json!({"number": s.number, "title": s.title}))
        .collect();
    ctx.insert("sources", &sources);
    ctx
}

/// Where the board stands at the end of the debate, for the first wave's
/// prompts: how many advisors' last stated stance is each stance, and whose.
fn leaning(d: &Debate<'_>, t: &Transcript) -> String {
    let last: Vec<(&str, Option<Stance>)> = d
        .panel
        .iter()
        .map(|p| {
            let stance = t
                .rounds
                .iter()
                .rev()
                .flat_map(|r| r.turns.iter())
                .filter(|x| x.persona == p.id && x.status == TurnStatus::Ok)
                .find_map(|x| x.stance);
            (p.name.as_str(), stance)
        })
        .collect();
    let count = |s: Stance| last.iter().filter(|(_, x)| *x == Some(s)).count();
    let mut out = format!(
        "support {}, mixed {}, oppose {} of {} advisors (each one's last stated stance:",
        count(Stance::Support),
        count(Stance::Mixed),
        count(Stance::Oppose),
        last.len()
    );
    for (i, (name, stance)) in last.iter().enumerate() {
        let sep = if i == 0 { " " } else { "; " };
        let said = stance.map_or("none stated", |s| s.as_str());
        out.push_str(&format!("{sep}{name}: {said}"));
    }
    out.push(')');
    out
}

/// Adds the verdict and the forecasts, once answered, to the context.
fn add_answers_so_far(ctx: &mut Context, t: &Transcript, a: &Answers) {
    let verdict = a.verdict.as_ref().map_or_else(
        || "(no verdict: the call failed)".to_string(),
        |v| v.answer.clone(),
    );
    ctx.insert("verdict", &verdict);
    ctx.insert("forecasts", &forecasts_of(&t.date, a));
}

async fn call(
    d: &Debate<'_>,
    kind: &SynthesisKind,
    model: &Arc<dyn ChatModel>,
    ctx: &Context,
    b: &Bindings<'_>,
) -> Result<SynthesisPart, EngineError> {
    let Some(schema) = kind.schema(b) else {
        return Err(EngineError::Store(format!(
            "synthesis part `{kind}` is read from old transcripts only"
        )));
    };
    let info = model.info();
    let mut ctx = ctx.clone();
    ctx.insert("small", &info.capabilities.small);
    let user = d.prompts.render(template(kind), &ctx)?;
    let mut messages = Vec::new();
    if let SynthesisKind::Vote(_) = kind {
        // The advisor votes in its own voice.
        messages.push(Message::system(d.prompts.render("system.tera", &ctx)?));
    }
    messages.push(Message::user(user));
    let schema = crate::schema::sized_for(schema, info.capabilities.small, &d.settings.lang);
    let budget = token_budget(&schema, chars_per_token(&d.settings.lang));
    let request = ChatRequest::new(messages)
        .with_schema(format!("synthesis_{}", kind.name()), schema)
        .with_seed(d.settings.seed_for(SEED_ROUND, &kind.to_string()))
        .with_max_tokens(budget);
    let (reply, language) = crate::language::ask_in_language(
        model.as_ref(),
        &request,
        &d.settings.lang,
        info.capabilities.small,
        None,
    )
    .await;
    let mut part = asked_part(kind.clone(), reply, info)?;
    part.flags.extend(language);
    Ok(part)
}

/// A model's reply as a synthesis part (or the part's failure, recorded
/// with what it spent); a run-stopping error ends the run instead.
pub(crate) fn asked_part(
    kind: SynthesisKind,
    reply: Result<council_llm::ChatResponse, council_llm::LlmError>,
    info: council_llm::ModelInfo,
) -> Result<SynthesisPart, EngineError> {
    Ok(match reply {
        Ok(r) => SynthesisPart {
            part: kind,
            value: r.json.unwrap_or(serde_json::Value::Null),
            error: None,
            flags: Vec::new(),
            copied_from: None,
            usage: r.usage,
            backend: info.backend,
            model: if r.model.is_empty() {
                info.model
            } else {
                r.model
            },
        },
        Err(e) => {
            if let Some(stop) = EngineError::stops_run(&e) {
                return Err(stop);
            }
            SynthesisPart {
                part: kind,
                value: serde_json::Value::Null,
                error: Some(council_core::error_chain(&e)),
                flags: Vec::new(),
                copied_from: None,
                usage: e.spent(),
                backend: info.backend,
                model: info.model,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use council_core::answers::ForecastDraft;

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
        // The id of a version 1 transcript's forecast must not change.
        assert_eq!(a, "F-7dd6cb");
    }

    #[test]
    fn a_forecast_given_twice_is_kept_once() {
        let f = |s: &str| ForecastDraft {
            statement: s.into(),
            horizon_months: 6,
            revises: String::new(),
        };
        let a = Answers {
            forecasts: vec![
                f("Churn stays under 5%"),
                f(" Churn stays under 5%"),
                f("NRR tops 110%"),
            ],
            ..Answers::default()
        };
        let shown = forecasts_of("2026-11-26", &a);
        assert_eq!(shown.len(), 2);
        assert_eq!(shown[0].horizon, "2027-05-26");
    }
}
