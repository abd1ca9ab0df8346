//! The `single` condition's run: one call, no panel. A generalist advisor
//! answers the verdict, the forecasts (each with its probability) and its
//! own vote in one answer ([`crate::schema::single_schema`]), recorded as
//! the synthesis parts every reader knows: the verdict, the forecasts and
//! the generalist's vote, the call's usage counted once (on the verdict).

use crate::conditions::GENERALIST;
use crate::{Debate, EngineError, RunStore};
use council_core::answers::token_budget;
use council_core::synthesis::{forecast_id, SynthesisKind};
use council_core::transcript::SynthesisPart;
use council_core::{lang_name, Event, Usage};
use council_llm::{ChatRequest, Message};
use serde_json::{json, Value};
use tera::Context;

/// The round number the call's seed is mixed with (as synthesis's).
const SEED_ROUND: u32 = 100;

/// Asks the one question, unless its answer is already in `store`.
pub(crate) async fn answer(d: &Debate<'_>, store: &mut RunStore) -> Result<(), EngineError> {
    if !store.transcript()?.synthesis.is_empty() {
        return Ok(());
    }
    let model = d.models.default_model();
    let info = model.info();
    let small = info.capabilities.small;
    let mut ctx = Context::new();
    ctx.insert("question", &d.question);
    ctx.insert("date", &d.settings.date);
    ctx.insert("lang_name", lang_name(&d.settings.lang));
    ctx.insert("small", &small);
    let user = d.prompts.render("single.tera", &ctx)?;
    let schema = crate::schema::sized_for(crate::schema::single_schema(), small, &d.settings.lang);
    let budget = token_budget(&schema, crate::synthesis::chars_per_token(&d.settings.lang));
    let request = ChatRequest::new(vec![Message::user(user)])
        .with_schema("single", schema)
        .with_seed(d.settings.seed_for(SEED_ROUND, "single"))
        .with_max_tokens(budget);
    let (reply, language) =
        crate::language::ask_in_language(model.as_ref(), &request, &d.settings.lang, small, None)
            .await;
    let verdict = crate::synthesis::asked_part(SynthesisKind::Verdict, reply, info)?;
    for mut part in split(verdict, &d.settings.date) {
        if part.part == SynthesisKind::Verdict {
            part.flags.extend(language.clone());
        }
        store.append(Event::Synthesis(part))?;
    }
    Ok(())
}

/// The one answer (recorded in `asked` as if it were the verdict's) split
/// into the verdict, the forecasts and the generalist's vote. The usage
/// stays on the verdict alone; a failed call fails all three.
fn split(asked: SynthesisPart, date: &str) -> Vec<SynthesisPart> {
    let part = |kind: SynthesisKind, value: Value, usage: Usage| SynthesisPart {
        part: kind,
        value,
        usage,
        ..asked.clone()
    };
    let kinds = [
        SynthesisKind::Verdict,
        SynthesisKind::Forecasts,
        SynthesisKind::Vote(GENERALIST.into()),
    ];
    if asked.error.is_some() {
        return kinds
            .into_iter()
            .enumerate()
            .map(|(i, k)| {
                let usage = if i == 0 { asked.usage } else { Usage::none() };
                part(k, Value::Null, usage)
            })
            .collect();
    }
    let v = &asked.value;
    let forecasts: Vec<&Value> = v["forecasts"]
        .as_array()
        .map(|f| f.iter().collect())
        .unwrap_or_default();
    let statements: Vec<Value> = forecasts
        .iter()
        .map(|f| json!({"statement": f["statement"], "horizon_months": f["horizon_months"]}))
        .collect();
    let probabilities: Vec<Value> = forecasts
        .iter()
        .filter_map(|f| {
            let statement = f["statement"].as_str()?;
            Some(json!({"id": forecast_id(date, statement), "probability": f["probability"]}))
        })
        .collect();
    let mut vote = v["vote"].clone();
    if let Some(o) = vote.as_object_mut() {
        o.insert("probabilities".into(), Value::from(probabilities));
    }
    vec![
        part(kinds[0].clone(), v["verdict"].clone(), asked.usage),
        part(
            kinds[1].clone(),
            json!({ "forecasts": statements }),
            Usage::none(),
        ),
        part(kinds[2].clone(), vote, Usage::none()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use council_core::synthesis::Answers;

    fn asked(value: Value, error: Option<&str>) -> SynthesisPart {
        SynthesisPart {
            part: SynthesisKind::Verdict,
            value,
            error: error.map(String::from),
            flags: Vec::new(),
            copied_from: None,
            usage: Usage::reported(300, 200),
            backend: "openai-compatible".into(),
            model: "m".into(),
        }
    }

    #[test]
    fn one_answer_splits_into_a_verdict_forecasts_and_a_vote_counting_its_usage_once() {
        let answer = json!({
            "verdict": {"stance": "support", "answer": "Yes, open Lisbon.", "reasoning": "Demand is there."},
            "forecasts": [
                {"statement": "Lisbon has 20 staff by June.", "horizon_months": 6, "probability": 70},
                {"statement": "Revenue tops 2M euros.", "horizon_months": 12, "probability": 40},
                {"statement": "Churn stays under 5%.", "horizon_months": 12, "probability": 55}
            ],
            "vote": {"stance": "support", "confidence": 72, "reason": "The numbers hold."}
        });
        let parts = split(asked(answer, None), "2026-12-06");
        assert_eq!(parts.len(), 3);
        let calls: u32 = parts.iter().map(|p| p.usage.calls).sum();
        assert_eq!(calls, 1, "one call, counted once");
        let header = council_core::RunHeader {
            version: council_core::TRANSCRIPT_VERSION,
            question: "Q?".into(),
            date: "2026-12-06".into(),
            lang: "en".into(),
            seed: 1,
            rounds: 0,
            panel: vec![council_core::PanelMember::from(
                &crate::conditions::generalist(),
            )],
            notes: Vec::new(),
            sources: Vec::new(),
            library: Vec::new(),
            origin: None,
            variant: None,
            synthesis: true,
            started: None,
            condition: council_core::study::Condition::Single,
        };
        let events: Vec<Event> = std::iter::once(Event::Started(header))
            .chain(parts.into_iter().map(Event::Synthesis))
            .collect();
        let t = council_core::Transcript::from_events(&events).unwrap();
        assert_eq!(t.status, council_core::RunStatus::Complete);
        assert_eq!(t.usage.calls, 1);
        assert_eq!(t.usage.prompt_tokens, Some(300));
        let a = Answers::from_transcript(&t);
        assert!(a.problems.is_empty(), "{:?}", a.problems);
        assert_eq!(a.forecasts.len(), 3);
        let vote = &a.votes[GENERALIST];
        assert_eq!(vote.confidence, 72);
        assert_eq!(vote.probabilities.len(), 3);
        assert_eq!(
            vote.probabilities[1].id,
            forecast_id("2026-12-06", "Revenue tops 2M euros.")
        );
        assert_eq!(vote.probabilities[1].probability, 40);
        assert_eq!(a.verdict.unwrap().answer, "Yes, open Lisbon.");
    }

    #[test]
    fn a_failed_call_fails_all_three_parts_and_spends_once() {
        let parts = split(asked(Value::Null, Some("model said no")), "2026-12-06");
        assert!(parts
            .iter()
            .all(|p| p.error.as_deref() == Some("model said no")));
        assert_eq!(parts.iter().map(|p| p.usage.calls).sum::<u32>(), 1);
    }
}
