//! Follow-ups: after the debate, the same panel answers a new question in
//! one extra round (each advisor sees its own earlier turns in brief, the
//! round summaries and the earlier follow-ups), the moderator summarises,
//! and the chair writes a short synthesis (the answer, what changed, new
//! risks). Everything is appended to the run's event log as it arrives: a
//! follow-up stopped half-way resumes without asking anything twice.

use crate::rounds::{RoundExtra, RoundSpec, TurnAsk};
use crate::shown::shown_turn;
use crate::{Debate, EngineError, ProgressEvent, RunStore};
use council_core::answers::{token_budget, Bindings, FollowupAnswer};
use council_core::synthesis::{Answers, SynthesisKind};
use council_core::transcript::SynthesisPart;
use council_core::{
    excerpt, lang_name, Event, FollowupAsked, Persona, RunStatus, Transcript, Turn, TurnStatus,
};
use council_llm::{ChatRequest, Message};
use tera::Context;

/// What a follow-up round asks: a plain turn (no extra fields).
pub const FOLLOWUP: RoundSpec = RoundSpec {
    number: 0,
    title: "Follow-up",
    job: "answer the executive's follow-up question",
    template: "followup.tera",
    retrieval: "follow-up question",
    extra: RoundExtra::None,
    checks_claims: false,
};

/// Characters of each of an advisor's own earlier turns shown to it.
const OWN_TURN: usize = 220;
/// Characters of each follow-up answer the chair reads.
const ANSWER_EXCERPT: usize = 700;
/// The round number follow-up seeds are mixed with (past any real round
/// and the synthesis).
const SEED_BASE: u32 = 200;

/// Which follow-up a command works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// A new follow-up with this question (or the unfinished one, if it
    /// has the same question).
    New(String),
    /// The unfinished last follow-up.
    Resume,
}

/// The follow-up `ask` picks in `t`: its number and question, and whether
/// it still has to be announced in the log.
fn pick(t: &Transcript, ask: &Ask) -> Result<(u32, String, bool), EngineError> {
    let unfinished = t.unfinished_followup();
    match (ask, unfinished) {
        (Ask::Resume, Some(f)) => Ok((f.number, f.question.clone(), false)),
        (Ask::Resume, None) => Err(EngineError::Resume(
            "the run has no unfinished follow-up; ask one with `council followup RUN \"QUESTION\"`"
                .into(),
        )),
        (Ask::New(q), Some(f)) if f.question == *q => Ok((f.number, q.clone(), false)),
        (Ask::New(_), Some(f)) => Err(EngineError::Resume(format!(
            "follow-up {} (\"{}\") is unfinished; finish it first with `council followup RUN --resume`",
            f.number,
            excerpt(&f.question, 80)
        ))),
        (Ask::New(q), None) => Ok((t.followups.len() as u32 + 1, q.clone(), true)),
    }
}

/// Runs (or finishes) one follow-up of the finished run in `store` and
/// returns the transcript with it.
pub async fn followup(
    d: &Debate<'_>,
    store: &mut RunStore,
    ask: &Ask,
) -> Result<Transcript, EngineError> {
    let t = store.transcript()?;
    if t.status == RunStatus::Incomplete {
        return Err(EngineError::Resume(
            "the debate has not finished; finish it with `council ask --resume RUN` before asking a follow-up".into(),
        ));
    }
    let (number, question, announce) = pick(&t, ask)?;
    if announce {
        store.append(Event::Followup(FollowupAsked {
            number,
            question: question.clone(),
        }))?;
    }
    let t = store.transcript()?;
    let Some(f) = t.followups.iter().find(|f| f.number == number) else {
        return Err(EngineError::Store(format!(
            "follow-up {number} vanished from the log"
        )));
    };
    let pending: Vec<&Persona> = d
        .panel
        .iter()
        .filter(|p| !f.turns.iter().any(|x| x.persona == p.id))
        .collect();
    d.progress.event(ProgressEvent::RoundStarted {
        round: number,
        title: FOLLOWUP.title,
        pending: pending.iter().map(|p| p.id.clone()).collect(),
    });
    let earlier: Vec<serde_json::Value> = t
        .followups
        .iter()
        .filter(|e| e.number < number)
        .map(|e| {
            let answer = e
                .synthesis
                .as_ref()
                .and_then(|p| serde_json::from_value::<FollowupAnswer>(p.value.clone()).ok())
                .map_or_else(|| "(no answer)".to_string(), |a| excerpt(&a.answer, 300));
            serde_json::json!({"question": e.question, "answer": answer})
        })
        .collect();
    let calls = pending
        .iter()
        .map(|p| answer(d, p, number, &question, &t, &earlier));
    crate::rounds::keep_as_they_land(calls, d.settings.max_concurrency, |turn| {
        store.append(Event::FollowupTurn(Box::new(turn)))
    })
    .await?;

    let t = store.transcript()?;
    let f = t
        .followups
        .iter()
        .find(|f| f.number == number)
        .cloned()
        .ok_or_else(|| EngineError::Store(format!("follow-up {number} vanished from the log")))?;
    let summary = match &f.summary {
        Some(s) => s.clone(),
        None => {
            d.progress
                .event(ProgressEvent::SummaryStarted { round: number });
            let spec = RoundSpec {
                title: "Follow-up question",
                ..FOLLOWUP
            };
            let s =
                crate::moderator::summarize(d, number, SEED_BASE + number, &spec, &f.turns).await?;
            let text = s.text.clone();
            store.append(Event::FollowupSummary(s))?;
            text
        }
    };
    if f.synthesis.is_none() {
        let part = chair(d, &t, number, &question, &summary, &f.turns).await?;
        d.progress.event(ProgressEvent::SynthesisFinished {
            part: part.part.clone(),
            failed: part.error.is_some(),
            done: 1,
            total: 1,
        });
        store.append(Event::Synthesis(part))?;
    }
    d.progress
        .event(ProgressEvent::RoundFinished { round: number });
    store.write_transcript()?;
    store.transcript()
}

/// One advisor's answer to the follow-up, asked through the round's own
/// turn machinery ([`crate::rounds::speak`]): sized for a small model,
/// citations checked against the library, streamed, with cache points.
async fn answer(
    d: &Debate<'_>,
    persona: &Persona,
    number: u32,
    question: &str,
    t: &Transcript,
    earlier: &[serde_json::Value],
) -> Result<Turn, EngineError> {
    let own: Vec<serde_json::Value> = t
        .rounds
        .iter()
        .flat_map(|r| &r.turns)
        .filter(|x| x.persona == persona.id && x.status == TurnStatus::Ok)
        .map(|x| {
            serde_json::json!({
                "round": x.round,
                "move": x.move_.map_or_else(|| "?".into(), |m| m.to_string()),
                "confidence": x.confidence.map_or_else(|| "?".into(), |c| c.to_string()),
                "text": excerpt(&x.text, OWN_TURN),
            })
        })
        .collect();
    let ask = TurnAsk {
        number,
        spec: &FOLLOWUP,
        previous: &[],
        so_far: t,
        // Every round's summary: the follow-up comes after the debate.
        summaries_before: u32::MAX,
        seed_round: SEED_BASE + number,
        schema_name: "turn_followup".into(),
        extra: vec![
            ("own", serde_json::Value::from(own)),
            ("earlier", serde_json::Value::from(earlier.to_vec())),
            ("followup", serde_json::Value::from(question)),
        ],
    };
    crate::rounds::speak(d, persona, &ask).await
}

/// The chair's short synthesis of follow-up `number`.
async fn chair(
    d: &Debate<'_>,
    t: &Transcript,
    number: u32,
    question: &str,
    summary: &str,
    turns: &[Turn],
) -> Result<SynthesisPart, EngineError> {
    let kind = SynthesisKind::Followup(number);
    let answers: Vec<_> = turns
        .iter()
        .filter(|x| x.status == TurnStatus::Ok)
        .map(|x| shown_turn(&d.panel, x, ANSWER_EXCERPT))
        .collect();
    let verdict = Answers::from_transcript(t)
        .verdict
        .map_or_else(|| "(no verdict)".to_string(), |v| v.answer);
    let mut ctx = Context::new();
    ctx.insert("question", &d.question);
    ctx.insert("date", &d.settings.date);
    ctx.insert("lang_name", lang_name(&d.settings.lang));
    ctx.insert("verdict", &verdict);
    ctx.insert("followup", question);
    ctx.insert("followup_summary", summary);
    ctx.insert("answers", &answers);
    let user = d.prompts.render("followup_synthesis.tera", &ctx)?;
    let model = d.models.default_model();
    let schema = kind
        .schema(&Bindings::default())
        .ok_or_else(|| EngineError::Store("the follow-up answer has no schema".into()))?;
    let schema =
        crate::schema::sized_for(schema, model.info().capabilities.small, &d.settings.lang);
    let budget = token_budget(
        &schema,
        if matches!(d.settings.lang.as_str(), "zh" | "ja") {
            1.0
        } else {
            2.5
        },
    );
    let request = ChatRequest::new(vec![Message::user(user)])
        .with_schema("synthesis_followup", schema)
        .with_seed(d.settings.seed_for(SEED_BASE + number, "chair"))
        .with_max_tokens(budget);
    let info = model.info();
    crate::synthesis::asked_part(kind, model.chat(&request).await, info)
}
