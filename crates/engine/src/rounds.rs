//! The rounds: [`ROUNDS`] is the one home of what a round is (title, job,
//! template, the extra answer fields it asks for and checks), and
//! [`play`] plays one round: every pending persona speaks concurrently,
//! each answer is validated and appended as it lands, then the moderator
//! summarises.

use crate::citations::check_citations;
use crate::progress::ProgressEvent;
use crate::schema::turn_schema;
use crate::shown::{answer_turns, passages_for, summaries_before};
use crate::validate::{turn_from_answer, TurnContext};
use crate::{Debate, EngineError, RunStore};
use council_core::{lang_name, Event, PanelMember, Persona, Turn, TurnStatus};
use council_llm::{ChatRequest, Message};
use futures::StreamExt;
use std::time::Instant;
use tera::Context;

/// Extra fields a round's answer carries beyond move, text, peers,
/// confidence and citations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundExtra {
    /// Nothing more.
    None,
    /// The speaker's own load-bearing assumption, and a named peer's most
    /// dangerous one.
    Assumptions,
    /// The story under the situation and the one systemic change it implies.
    Story,
}

/// What one round asks of the panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundSpec {
    /// Round number, 1–5.
    pub number: u32,
    /// Title, as progress and prompts show it.
    pub title: &'static str,
    /// The round's job, in a line.
    pub job: &'static str,
    /// The prompt template (in `prompts/`).
    pub template: &'static str,
    /// Words that steer library retrieval towards the job.
    pub retrieval: &'static str,
    /// Extra answer fields, required by the schema and checked on the answer.
    pub extra: RoundExtra,
    /// Whether the fact-checker checks the previous round's claims against
    /// the library (it is shown the passages those claims bear on).
    pub checks_claims: bool,
}

/// The five rounds. Rounds past the fifth continue the fifth's job.
pub const ROUNDS: [RoundSpec; 5] = [
    RoundSpec {
        number: 1,
        title: "Opening positions",
        job: "each advisor's first answer and what worries them",
        template: "round1.tera",
        retrieval: "risk opportunity position",
        extra: RoundExtra::None,
        checks_claims: false,
    },
    RoundSpec {
        number: 2,
        title: "Challenge the premise",
        job: "test what the question and the others take for granted",
        template: "round2.tera",
        retrieval: "assumption premise evidence against",
        extra: RoundExtra::None,
        checks_claims: false,
    },
    RoundSpec {
        number: 3,
        title: "Deepen with evidence",
        job: "evidence, cases and numbers; the fact-checker checks the claims",
        template: "round3.tera",
        retrieval: "data numbers benchmark case study evidence",
        extra: RoundExtra::None,
        checks_claims: true,
    },
    RoundSpec {
        number: 4,
        title: "Expose assumptions",
        job: "one's own load-bearing belief, then a named peer's most dangerous one",
        template: "round4.tera",
        retrieval: "assumption risk failure",
        extra: RoundExtra::Assumptions,
        checks_claims: false,
    },
    RoundSpec {
        number: 5,
        title: "The hidden story",
        job: "the story under the situation and the one systemic change it implies",
        template: "round5.tera",
        retrieval: "pattern cause system incentive",
        extra: RoundExtra::Story,
        checks_claims: false,
    },
];

/// The spec of round `n` (rounds past the fifth reuse the fifth's).
pub fn spec(n: u32) -> &'static RoundSpec {
    &ROUNDS[(n.clamp(1, 5) - 1) as usize]
}

/// Plays round `round` into `store`: the personas who have not spoken in it
/// yet speak (concurrently, bounded by `max_concurrency`), then the
/// moderator summarises if the round has no summary yet.
pub(crate) async fn play(
    d: &Debate<'_>,
    store: &mut RunStore,
    round: u32,
) -> Result<(), EngineError> {
    let spec = spec(round);
    let so_far = store.transcript()?;
    let done: Vec<&str> = so_far
        .rounds
        .iter()
        .filter(|r| r.number == round)
        .flat_map(|r| r.turns.iter().map(|t| t.persona.as_str()))
        .collect();
    let pending: Vec<&Persona> = d
        .panel
        .iter()
        .filter(|p| !done.contains(&p.id.as_str()))
        .collect();
    d.progress.event(ProgressEvent::RoundStarted {
        round,
        title: spec.title,
        pending: pending.iter().map(|p| p.id.clone()).collect(),
    });
    let previous: Vec<Turn> = so_far
        .rounds
        .iter()
        .find(|r| r.number + 1 == round)
        .map(|r| {
            r.turns
                .iter()
                .filter(|t| t.status == TurnStatus::Ok)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let ask = TurnAsk {
        number: round,
        spec,
        previous: &previous,
        so_far: &so_far,
        summaries_before: round,
        seed_round: round,
        schema_name: format!("turn_round{}", spec.number),
        extra: Vec::new(),
    };
    let calls = pending.iter().map(|p| speak(d, p, &ask));
    keep_as_they_land(calls, d.settings.max_concurrency, |turn| {
        store.append(Event::Turn(Box::new(turn)))
    })
    .await?;
    let t = store.transcript()?;
    let this = t.rounds.iter().find(|r| r.number == round);
    if this.is_none_or(|r| r.summary.is_none()) {
        d.progress.event(ProgressEvent::SummaryStarted { round });
        let turns = this.map(|r| r.turns.clone()).unwrap_or_default();
        let summary = crate::moderator::summarize(d, round, round, spec, &turns).await?;
        store.append(Event::Summary(summary))?;
    }
    d.progress.event(ProgressEvent::RoundFinished { round });
    Ok(())
}

/// What one turn asks, beyond what every turn is told (who speaks, the
/// board, the date, the language, the question): a round's turn and a
/// follow-up's answer are asked through the same [`speak`], so both get
/// the small-model sizing, the citation check, streaming progress and the
/// prompt-cache points.
pub(crate) struct TurnAsk<'a> {
    /// The number the turn is recorded under: its round, or its follow-up's number.
    pub(crate) number: u32,
    /// The round's spec: template, answer fields, retrieval words.
    pub(crate) spec: &'a RoundSpec,
    /// The turns the speaker may have to answer (the round before).
    pub(crate) previous: &'a [Turn],
    /// The run so far, whose summaries are shown.
    pub(crate) so_far: &'a council_core::Transcript,
    /// Summaries of the rounds before this number are shown.
    pub(crate) summaries_before: u32,
    /// The round the seed is mixed with.
    pub(crate) seed_round: u32,
    /// The answer schema's name.
    pub(crate) schema_name: String,
    /// More for the template (a follow-up's question, the speaker's own turns…).
    pub(crate) extra: Vec<(&'static str, serde_json::Value)>,
}

/// One persona's turn: the prompt, the call, the validated answer (or the
/// failure, recorded as such).
pub(crate) async fn speak(
    d: &Debate<'_>,
    persona: &Persona,
    ask: &TurnAsk<'_>,
) -> Result<Turn, EngineError> {
    let (round, spec, previous, so_far) = (ask.number, ask.spec, ask.previous, ask.so_far);
    let started = Instant::now();
    d.progress.event(ProgressEvent::TurnStarted {
        round,
        persona: persona.id.clone(),
    });
    // An anonymous run shows every peer by its label only.
    let shown = crate::conditions::Shown::new(&d.panel, d.settings.condition);
    let peers: Vec<PanelMember> = shown.board(&persona.id);
    let others: Vec<&str> = d
        .panel
        .iter()
        .filter(|p| p.id != persona.id)
        .map(|p| p.id.as_str())
        .collect();
    let others_shown: Vec<String> = others.iter().map(|id| shown.id(id)).collect();
    let others_shown: Vec<&str> = others_shown.iter().map(String::as_str).collect();
    let mut ctx = Context::new();
    ctx.insert("persona", persona);
    ctx.insert("peers", &peers);
    ctx.insert("date", &d.settings.date);
    ctx.insert("lang_name", lang_name(&d.settings.lang));
    ctx.insert("question", &d.question);
    ctx.insert("round", &round);
    ctx.insert("rounds_total", &d.settings.rounds);
    let model = d.models.for_persona(&persona.id);
    let info = model.info();
    let small = info.capabilities.small;
    ctx.insert("small", &small);
    ctx.insert(
        "summaries",
        &summaries_before(so_far, ask.summaries_before, small),
    );
    ctx.insert(
        "to_answer",
        &answer_turns(&shown, &d.panel, &persona.id, previous, small),
    );
    ctx.insert("sources", &passages_for(d, persona, spec, previous));
    for (key, value) in &ask.extra {
        ctx.insert(*key, value);
    }
    let system = d.prompts.render("system.tera", &ctx)?;
    let user = d.prompts.render(spec.template, &ctx)?;
    let points = shared_prefix_points(&user, &d.question, round, d.settings.rounds);
    let request = ChatRequest::new(vec![Message::system(system), Message::user(user)])
        .with_cache_points(points)
        .with_schema(
            ask.schema_name.clone(),
            without_citations_unless(
                d.library.is_some(),
                crate::schema::sized_for(turn_schema(spec, &others_shown), small, &d.settings.lang),
            ),
        )
        .with_seed(d.settings.seed_for(ask.seed_round, &persona.id))
        .with_max_tokens(d.settings.max_tokens);
    let answered = {
        let so_far = std::sync::Mutex::new(String::new());
        let sink = |piece: &str| {
            let mut text = so_far.lock().unwrap_or_else(|p| p.into_inner());
            if piece.is_empty() {
                text.clear();
            } else {
                text.push_str(piece);
            }
            d.progress.event(ProgressEvent::TurnText {
                round,
                persona: persona.id.clone(),
                chars: text.chars().count(),
                latest: crate::progress::readable_tail(&text, 48),
            });
        };
        crate::language::ask_in_language(
            model.as_ref(),
            &request,
            &d.settings.lang,
            small,
            Some(&sink),
        )
        .await
    };
    let (answered, language) = answered;
    let mut turn = asked_turn(answered, info, round, &persona.id, |json| {
        // Labels an anonymous run's answer names are read back to ids.
        let json = if shown.anonymous() {
            read_back_peers(json, &shown)
        } else {
            json.clone()
        };
        turn_from_answer(
            &json,
            &TurnContext {
                round,
                spec,
                persona,
                peers: &others,
                question: &d.question,
                lang: &d.settings.lang,
            },
        )
    })?;
    turn.flags.extend(language);
    check_citations(&mut turn, d.library);
    d.progress.event(ProgressEvent::TurnFinished {
        round,
        persona: persona.id.clone(),
        failed: turn.status == TurnStatus::Failed,
        usage: turn.usage,
        elapsed: started.elapsed(),
    });
    Ok(turn)
}

/// An anonymous run's answer with the labels its `responds_to` and
/// `target_peer` name read back to persona ids, so conformity metrics
/// count the persona answered; anything else is kept for the checks to flag.
fn read_back_peers(
    json: &serde_json::Value,
    shown: &crate::conditions::Shown<'_>,
) -> serde_json::Value {
    let mut json = json.clone();
    if let Some(list) = json
        .get_mut("responds_to")
        .and_then(serde_json::Value::as_array_mut)
    {
        for v in list.iter_mut() {
            if let Some(said) = v.as_str() {
                *v = serde_json::Value::from(shown.read_back(said));
            }
        }
    }
    if let Some(v) = json.get_mut("target_peer") {
        if let Some(said) = v.as_str() {
            *v = serde_json::Value::from(shown.read_back(said));
        }
    }
    json
}

/// Runs `calls` at most `concurrency` at a time and hands each answer to
/// `keep` as it lands (which appends it to the log). A budget stop lets the
/// calls in flight finish, keeps their answers, then ends the run.
pub(crate) async fn keep_as_they_land<T>(
    calls: impl Iterator<Item = impl std::future::Future<Output = Result<T, EngineError>>>,
    concurrency: usize,
    mut keep: impl FnMut(T) -> Result<(), EngineError>,
) -> Result<(), EngineError> {
    let mut finished = futures::stream::iter(calls).buffer_unordered(concurrency.max(1));
    let mut stopped = None;
    while let Some(answer) = finished.next().await {
        match answer {
            Ok(a) => keep(a)?,
            Err(e @ EngineError::Budget(_)) => {
                stopped.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    stopped.map_or(Ok(()), Err)
}

/// A model's reply as a turn: the answer read by `read`, with its usage and
/// who answered; a failed call becomes a failed turn with what it spent,
/// except a run-stopping error (the budget, an unreachable server), which
/// ends the run.
pub(crate) fn asked_turn(
    reply: Result<council_llm::ChatResponse, council_llm::LlmError>,
    info: council_llm::ModelInfo,
    round: u32,
    persona: &str,
    read: impl FnOnce(&serde_json::Value) -> Turn,
) -> Result<Turn, EngineError> {
    Ok(match reply {
        Ok(resp) => {
            let mut t = read(&resp.json.unwrap_or_default());
            t.usage = resp.usage;
            t.backend = info.backend;
            t.model = if resp.model.is_empty() {
                info.model
            } else {
                resp.model
            };
            t
        }
        Err(e) => {
            if let Some(stop) = EngineError::stops_run(&e) {
                return Err(stop);
            }
            let mut t = Turn::failed(round, persona, council_core::error_chain(&e));
            // Every request the call sent, and the tokens its answers used.
            t.usage = e.spent();
            t.backend = info.backend;
            t.model = info.model;
            t
        }
    })
}

/// A turn's schema: with no research library there is nothing to cite,
/// so `citations` must stay empty (a model otherwise fills it with
/// invented names, each flagged in the report).
fn without_citations_unless(library: bool, mut schema: serde_json::Value) -> serde_json::Value {
    if !library {
        if let Some(c) = schema.pointer_mut("/properties/citations") {
            c["maxItems"] = serde_json::Value::from(0);
        }
    }
    schema
}

/// Where a turn's prompt stops being the same as the advisor's next
/// round's: after the quoted question, and after the summaries so far
/// (just before "Round N of M"). Empty when a custom template places them
/// otherwise: the points are only a caching hint.
pub(crate) fn shared_prefix_points(
    prompt: &str,
    question: &str,
    round: u32,
    rounds: u32,
) -> Vec<usize> {
    let quoted = format!("\"\"\"{question}\"\"\"");
    let Some(q) = prompt.find(&quoted).map(|i| i + quoted.len()) else {
        return Vec::new();
    };
    let mut points = vec![q];
    if let Some(r) = prompt[q..].find(&format!("\nRound {round} of {rounds}")) {
        if r > 1 {
            points.push(q + r);
        }
    }
    points
}

#[cfg(test)]
mod tests {
    #[test]
    fn without_a_library_a_turn_may_cite_nothing() {
        let schema = crate::schema::turn_schema(super::spec(2), &["cfo"]);
        assert_eq!(schema["properties"]["citations"]["maxItems"], 5);
        let none = super::without_citations_unless(false, schema.clone());
        assert_eq!(none["properties"]["citations"]["maxItems"], 0);
        assert_eq!(
            super::without_citations_unless(true, schema.clone()),
            schema
        );
    }
    #[test]
    fn the_shared_prefix_ends_after_the_question_and_after_the_summaries() {
        let prompt = "The question from the executive:\n\"\"\"Raise prices?\"\"\"\n\nWhat the board has said so far:\nRound 1: yes.\n\nRound 2 of 5 – CHALLENGE.\nYour job";
        let p = super::shared_prefix_points(prompt, "Raise prices?", 2, 5);
        assert_eq!(p.len(), 2);
        assert!(prompt[..p[0]].ends_with("Raise prices?\"\"\""));
        assert!(prompt[p[1]..].starts_with("\nRound 2 of 5"));
        assert!(prompt[p[0]..p[1]].contains("Round 1: yes."));
        // Round 1: nothing between the question and the round line.
        let first = "Q:\n\"\"\"Raise prices?\"\"\"\nRound 1 of 5 – OPENING";
        assert_eq!(
            super::shared_prefix_points(first, "Raise prices?", 1, 5).len(),
            1
        );
        // A template that does not quote the question: no hint.
        assert!(super::shared_prefix_points("Raise prices?", "Raise prices?", 1, 5).is_empty());
    }

    use super::*;

    #[test]
    fn every_round_has_its_own_template_and_later_rounds_continue_the_fifth() {
        for (i, s) in ROUNDS.iter().enumerate() {
            assert_eq!(s.number as usize, i + 1);
            assert_eq!(s.template, format!("round{}.tera", i + 1));
            assert!(crate::prompts::REQUIRED.contains(&s.template));
        }
        assert_eq!(spec(7), spec(5));
        assert_eq!(spec(0), spec(1));
        assert_eq!(spec(4).extra, RoundExtra::Assumptions);
        assert_eq!(spec(5).extra, RoundExtra::Story);
        assert!(ROUNDS.iter().filter(|s| s.checks_claims).count() == 1);
    }
}

#[cfg(test)]
mod anonymous {
    use council_core::study::Condition;

    #[test]
    fn labels_an_answer_names_are_read_back_to_the_personas_they_stand_for() {
        let panel = council_personas::Roster::builtin()
            .unwrap()
            .panel_from_ids(&["cfo".into(), "cto".into(), "auditor".into()])
            .unwrap();
        let shown = crate::conditions::Shown::new(&panel, Condition::Anonymous);
        let answer = serde_json::json!({"responds_to": ["A", "c", "ghost"], "target_peer": "B", "text": "t"});
        let read = super::read_back_peers(&answer, &shown);
        assert_eq!(
            read["responds_to"],
            serde_json::json!(["cfo", "auditor", "ghost"])
        );
        assert_eq!(read["target_peer"], "cto");
        assert_eq!(read["text"], "t");
    }
}

#[cfg(test)]
mod asked {
    use super::asked_turn;
    use crate::EngineError;
    use council_core::{TurnStatus, Usage};
    use council_llm::{Capabilities, LlmError, ModelInfo};

    fn info() -> ModelInfo {
        ModelInfo {
            backend: "openai-compatible".into(),
            model: "m".into(),
            location: "http://127.0.0.1:9/v1".into(),
            capabilities: Capabilities::in_process(),
        }
    }

    #[test]
    fn a_call_that_failed_after_three_requests_records_three_calls_and_their_tokens() {
        // Two invalid answers and a 502, as the answer loop counts them.
        let spent = Usage::reported(40, 10) + Usage::reported(0, 0) + Usage::reported(35, 9);
        let e = LlmError::SchemaViolation {
            schema: "turn_round2".into(),
            problem: "missing `move`".into(),
            text: "{}".into(),
            spent: spent.into(),
        };
        let t = asked_turn(Err(e), info(), 2, "cfo", |_| unreachable!()).unwrap();
        assert_eq!(t.status, TurnStatus::Failed);
        assert_eq!(t.usage.calls, 3);
        assert_eq!(t.usage.prompt_tokens, Some(75));
        assert_eq!(t.usage.completion_tokens, Some(19));
        assert!(t.error.unwrap().contains("missing `move`"));
        assert_eq!(
            (t.backend.as_str(), t.model.as_str()),
            ("openai-compatible", "m")
        );
    }

    #[test]
    fn an_unreachable_server_stops_the_run_instead_of_failing_the_turn() {
        let e = LlmError::Unreachable {
            url: "http://127.0.0.1:9/v1".into(),
            cause: "Connection refused".into(),
        };
        let stop = asked_turn(Err(e), info(), 1, "cfo", |_| unreachable!()).unwrap_err();
        assert!(matches!(stop, EngineError::Unreachable(_)), "{stop:?}");
        assert!(stop.to_string().contains("http://127.0.0.1:9/v1"), "{stop}");
    }
}
