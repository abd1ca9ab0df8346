//! Playing the rounds: concurrent turns, validation of every answer, the
//! moderator's summaries, and the event log as the single source of truth.

use crate::progress::ProgressEvent;
use crate::schema::turn_schema;
use crate::{EngineError, Progress, Prompts, RunStore};
use council_core::hash::fnv1a;
use council_core::{
    excerpt, lang_name, name_of, Event, Move, PanelMember, Persona, RunHeader, Summary, Transcript,
    Turn, TurnStatus, Usage, TRANSCRIPT_VERSION,
};
use council_llm::{ChatModel, ChatRequest, Message};
use futures::StreamExt;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tera::Context;

/// Round titles; rounds past the fifth continue the fifth's job.
pub(crate) const ROUND_TITLES: [&str; 5] = [
    "Opening positions",
    "Challenge the premise",
    "Deepen with evidence",
    "Expose assumptions",
    "The hidden story",
];

/// Characters of a peer's turn shown to a persona who must answer it.
const ANSWER_EXCERPT: usize = 320;
/// Turns of the previous round a persona is shown.
const ANSWER_TURNS: usize = 2;
/// Characters of each earlier summary carried into prompts.
const SUMMARY_EXCERPT: usize = 300;

/// The title of round `n`.
pub(crate) fn round_title(n: u32) -> &'static str {
    ROUND_TITLES[(n.clamp(1, 5) - 1) as usize]
}

/// How a debate runs.
#[derive(Debug, Clone, PartialEq)]
pub struct DebateSettings {
    /// Rounds to play (default 5).
    pub rounds: u32,
    /// Calls in flight at once.
    pub max_concurrency: usize,
    /// Base seed; each call's seed derives from it, the round and the persona.
    pub seed: u64,
    /// The run date, `YYYY-MM-DD`.
    pub date: String,
    /// Language code of the debate and report.
    pub lang: String,
    /// Generated-token limit per turn.
    pub max_tokens: u32,
    /// Whether to run the synthesis calls after the last round.
    pub synthesis: bool,
}

/// The model each persona speaks through.
#[derive(Clone)]
pub struct Models {
    default: Arc<dyn ChatModel>,
    per_persona: HashMap<String, Arc<dyn ChatModel>>,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("default", &self.default.info().model)
            .field("overridden", &self.per_persona.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Models {
    /// Every persona and the moderator use `default`.
    pub fn new(default: Arc<dyn ChatModel>) -> Self {
        Models {
            default,
            per_persona: HashMap::new(),
        }
    }

    /// `persona` speaks through `model` instead.
    pub fn with_override(mut self, persona: impl Into<String>, model: Arc<dyn ChatModel>) -> Self {
        self.per_persona.insert(persona.into(), model);
        self
    }

    /// The model for `persona`.
    pub fn for_persona(&self, persona: &str) -> &Arc<dyn ChatModel> {
        self.per_persona.get(persona).unwrap_or(&self.default)
    }

    /// The moderator's (and casting's) model.
    pub fn default_model(&self) -> &Arc<dyn ChatModel> {
        &self.default
    }
}

/// Everything a run needs.
pub struct Debate<'a> {
    /// The question.
    pub question: String,
    /// The panel, in speaking order.
    pub panel: Vec<Persona>,
    /// Rounds, seed, date, language, limits.
    pub settings: DebateSettings,
    /// Who speaks through which model.
    pub models: Models,
    /// The templates.
    pub prompts: &'a Prompts,
    /// Where progress goes.
    pub progress: &'a dyn Progress,
    /// Repairs made before the debate (casting).
    pub notes: Vec<String>,
    /// The research library the panel may cite, if any.
    pub library: Option<&'a council_library::Library>,
    /// The library's inputs as given, recorded so `--resume` can reload them.
    pub library_inputs: Vec<String>,
}

impl std::fmt::Debug for Debate<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Debate")
            .field("question", &self.question)
            .field(
                "panel",
                &self.panel.iter().map(|p| &p.id).collect::<Vec<_>>(),
            )
            .field("settings", &self.settings)
            .field("models", &self.models)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ShownPassage {
    number: u32,
    title: String,
    text: String,
}

/// Words that steer retrieval towards each round's job.
fn round_focus(round: u32) -> &'static str {
    match round {
        1 => "risk opportunity position",
        2 => "assumption premise evidence against",
        3 => "data numbers benchmark case study evidence",
        4 => "assumption risk failure",
        _ => "pattern cause system incentive",
    }
}

/// Passages for `persona` in `round`. The Auditor in round 3 gets the
/// passages most relevant to the claims made in round 2.
fn passages_for(
    d: &Debate<'_>,
    persona: &Persona,
    round: u32,
    previous: &[Turn],
) -> Vec<ShownPassage> {
    let Some(lib) = d.library else {
        return Vec::new();
    };
    let (query, k) = if persona.id == "auditor" && round == 3 {
        let claims: String = previous
            .iter()
            .map(|t| excerpt(&t.text, 300))
            .collect::<Vec<_>>()
            .join(" ");
        (format!("{} {claims}", d.question), 4)
    } else {
        (
            format!(
                "{} {} {}",
                d.question,
                persona.focus.join(" "),
                round_focus(round)
            ),
            3,
        )
    };
    lib.search(&query, k)
        .into_iter()
        .map(|p| ShownPassage {
            number: p.number,
            title: p.title,
            text: excerpt(&p.text, 600),
        })
        .collect()
}

/// Quoted spans of four words or more in a turn's text.
fn quotes_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [('"', '"'), ('“', '”')] {
        let mut rest = text;
        while let Some(i) = rest.find(open) {
            let after = &rest[i + open.len_utf8()..];
            let Some(j) = after.find(close) else { break };
            let q = after[..j].trim();
            if q.split_whitespace().count() >= 4 {
                out.push(q.to_string());
            }
            rest = &after[j + close.len_utf8()..];
        }
    }
    out
}

/// Checks a turn's citations against the library: each must resolve, and a
/// quoted passage must appear in one of the sources it cites.
fn check_citations(turn: &mut Turn, library: Option<&council_library::Library>) {
    let mut valid = Vec::new();
    for c in &turn.citations {
        match (library, council_core::citation_number(c)) {
            (None, _) => turn
                .flags
                .push(format!("cites {c:?} but the run has no research library")),
            (Some(lib), Some(n)) if (1..=lib.documents().len() as u32).contains(&n) => {
                valid.push(n)
            }
            (Some(lib), _) => turn.flags.push(format!(
                "citation {c:?} does not resolve to a library source (1–{})",
                lib.documents().len()
            )),
        }
    }
    if let (Some(lib), false) = (library, valid.is_empty()) {
        for q in quotes_in(&turn.text) {
            if !valid.iter().any(|n| lib.contains_passage(*n, &q)) {
                let cited = valid
                    .iter()
                    .map(|n| format!("[{n}]"))
                    .collect::<Vec<_>>()
                    .join(", ");
                turn.flags.push(format!(
                    "quoted passage not found in the cited source {cited}: “{q}”"
                ));
            }
        }
    }
}

#[derive(Serialize)]
struct Shown {
    id: String,
    name: String,
    #[serde(rename = "move")]
    move_: String,
    confidence: String,
    text: String,
}

#[derive(Serialize)]
struct ShownSummary {
    number: u32,
    text: String,
}

/// Plays the debate into `store`, skipping every turn and summary already
/// there, and writes `transcript.json` at the end.
pub async fn run(d: &Debate<'_>, store: &mut RunStore) -> Result<Transcript, EngineError> {
    let panel_members: Vec<PanelMember> = d.panel.iter().map(PanelMember::from).collect();
    match store.events().first() {
        None => store.append(Event::Started(RunHeader {
            version: TRANSCRIPT_VERSION,
            question: d.question.clone(),
            date: d.settings.date.clone(),
            lang: d.settings.lang.clone(),
            seed: d.settings.seed,
            rounds: d.settings.rounds,
            panel: panel_members.clone(),
            notes: d.notes.clone(),
            sources: d
                .library
                .map(council_library::Library::sources)
                .unwrap_or_default(),
            library: d.library_inputs.clone(),
        }))?,
        Some(Event::Started(h)) => {
            if h.question != d.question
                || h.panel
                    .iter()
                    .map(|p| &p.id)
                    .ne(panel_members.iter().map(|p| &p.id))
            {
                return Err(EngineError::Resume(
                    "the run folder holds a different question or panel".into(),
                ));
            }
        }
        Some(_) => {
            return Err(EngineError::Resume(
                "the event log does not start with `started`".into(),
            ))
        }
    }
    for round in 1..=d.settings.rounds {
        let so_far = store.transcript()?;
        let done: Vec<String> = so_far
            .rounds
            .iter()
            .filter(|r| r.number == round)
            .flat_map(|r| r.turns.iter().map(|t| t.persona.clone()))
            .collect();
        let pending: Vec<&Persona> = d.panel.iter().filter(|p| !done.contains(&p.id)).collect();
        d.progress.event(ProgressEvent::RoundStarted {
            round,
            title: round_title(round),
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
        let summaries: Vec<ShownSummary> = so_far
            .rounds
            .iter()
            .filter(|r| r.number < round)
            .filter_map(|r| {
                r.summary.as_ref().map(|s| ShownSummary {
                    number: r.number,
                    text: excerpt(s, SUMMARY_EXCERPT),
                })
            })
            .collect();
        let calls = pending
            .iter()
            .map(|p| speak(d, p, round, &previous, &summaries));
        let mut finished =
            futures::stream::iter(calls).buffer_unordered(d.settings.max_concurrency.max(1));
        while let Some(turn) = finished.next().await {
            store.append(Event::Turn(Box::new(turn?)))?;
        }
        drop(finished);
        let has_summary = store
            .transcript()?
            .rounds
            .iter()
            .any(|r| r.number == round && r.summary.is_some());
        if !has_summary {
            d.progress.event(ProgressEvent::SummaryStarted { round });
            let t = store.transcript()?;
            let turns = t
                .rounds
                .iter()
                .find(|r| r.number == round)
                .map(|r| r.turns.clone())
                .unwrap_or_default();
            let summary = summarize(d, round, &turns).await?;
            store.append(Event::Summary(summary))?;
        }
        d.progress.event(ProgressEvent::RoundFinished { round });
    }
    if d.settings.synthesis {
        crate::synthesis::synthesize(d, store).await?;
    }
    store.write_transcript()?;
    store.transcript()
}

/// The seed of one call: the base seed mixed with the persona (a stable
/// hash of its id) and the round, so every call differs and reruns repeat.
pub(crate) fn seed_for(base: u64, round: u32, persona: &str) -> u64 {
    base ^ fnv1a(persona.bytes()) ^ u64::from(round).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

fn shown(panel: &[Persona], t: &Turn, limit: usize) -> Shown {
    Shown {
        id: t.persona.clone(),
        name: name_of(panel, &t.persona).to_string(),
        move_: t.move_.map_or_else(|| "?".into(), |m| m.to_string()),
        confidence: t.confidence.map_or_else(|| "?".into(), |c| c.to_string()),
        text: excerpt(&t.text, limit),
    }
}

/// The turns of the previous round `persona` must answer: those that
/// answered or targeted it first, then the next speakers in panel order.
fn to_answer<'t>(panel: &[Persona], persona: &str, previous: &'t [Turn]) -> Vec<&'t Turn> {
    let mut chosen: Vec<&Turn> = previous
        .iter()
        .filter(|t| t.persona != persona)
        .filter(|t| {
            t.responds_to.iter().any(|r| r == persona) || t.target_peer.as_deref() == Some(persona)
        })
        .take(ANSWER_TURNS)
        .collect();
    let pos = panel.iter().position(|p| p.id == persona).unwrap_or(0);
    for k in 1..panel.len() {
        if chosen.len() >= ANSWER_TURNS {
            break;
        }
        let id = &panel[(pos + k) % panel.len()].id;
        if let Some(t) = previous.iter().find(|t| &t.persona == id) {
            if !chosen.iter().any(|c| c.persona == t.persona) {
                chosen.push(t);
            }
        }
    }
    chosen
}

async fn speak(
    d: &Debate<'_>,
    persona: &Persona,
    round: u32,
    previous: &[Turn],
    summaries: &[ShownSummary],
) -> Result<Turn, EngineError> {
    let started = Instant::now();
    d.progress.event(ProgressEvent::TurnStarted {
        round,
        persona: persona.id.clone(),
    });
    let peers: Vec<PanelMember> = d.panel.iter().map(PanelMember::from).collect();
    let others: Vec<&str> = d
        .panel
        .iter()
        .filter(|p| p.id != persona.id)
        .map(|p| p.id.as_str())
        .collect();
    let answer: Vec<Shown> = to_answer(&d.panel, &persona.id, previous)
        .into_iter()
        .map(|t| shown(&d.panel, t, ANSWER_EXCERPT))
        .collect();
    let mut ctx = Context::new();
    ctx.insert("persona", persona);
    ctx.insert("peers", &peers);
    ctx.insert("date", &d.settings.date);
    ctx.insert("lang_name", lang_name(&d.settings.lang));
    ctx.insert("question", &d.question);
    ctx.insert("round", &round);
    ctx.insert("rounds_total", &d.settings.rounds);
    ctx.insert("summaries", summaries);
    ctx.insert("to_answer", &answer);
    ctx.insert("sources", &passages_for(d, persona, round, previous));
    let system = d.prompts.render("system.tera", &ctx)?;
    let template = format!("round{}.tera", round.clamp(1, 5));
    let user = d.prompts.render(&template, &ctx)?;
    let request = ChatRequest::new(vec![Message::system(system), Message::user(user)])
        .with_schema(
            format!("turn_round{}", round.clamp(1, 5)),
            turn_schema(round, &others),
        )
        .with_seed(seed_for(d.settings.seed, round, &persona.id))
        .with_max_tokens(d.settings.max_tokens);
    let model = d.models.for_persona(&persona.id);
    let info = model.info();
    let result = model.chat(&request).await;
    let turn = match result {
        Ok(resp) => {
            let json = resp.json.unwrap_or_default();
            let mut t = turn_from_answer(
                &json,
                round,
                persona,
                &others,
                &d.question,
                &d.settings.lang,
            );
            check_citations(&mut t, d.library);
            t.usage = resp.usage;
            t.backend = info.backend;
            t.model = if resp.model.is_empty() {
                info.model
            } else {
                resp.model
            };
            t
        }
        Err(e) => Turn {
            round,
            persona: persona.id.clone(),
            status: TurnStatus::Failed,
            move_: None,
            text: String::new(),
            responds_to: Vec::new(),
            confidence: None,
            citations: Vec::new(),
            assumption: None,
            target_peer: None,
            target_assumption: None,
            story: None,
            systemic_change: None,
            flags: Vec::new(),
            error: Some(council_core::error_chain(&e)),
            usage: Usage::none(),
            backend: info.backend,
            model: info.model,
        },
    };
    d.progress.event(ProgressEvent::TurnFinished {
        round,
        persona: persona.id.clone(),
        failed: turn.status == TurnStatus::Failed,
        usage: turn.usage,
        elapsed: started.elapsed(),
    });
    Ok(turn)
}

fn str_field(json: &serde_json::Value, key: &str) -> Option<String> {
    json.get(key)
        .and_then(|v| v.as_str())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Builds a turn from a model's JSON answer, repairing what it can and
/// flagging everything doubtful, so weak models cannot make the transcript lie.
pub(crate) fn turn_from_answer(
    json: &serde_json::Value,
    round: u32,
    persona: &Persona,
    others: &[&str],
    question: &str,
    lang: &str,
) -> Turn {
    let mut flags = Vec::new();
    let move_ = match json.get("move").and_then(|v| v.as_str()) {
        Some(m) => match m.parse::<Move>() {
            Ok(m) => Some(m),
            Err(_) => {
                flags.push(format!("invalid move {m:?} dropped"));
                None
            }
        },
        None => {
            flags.push("no move given".into());
            None
        }
    };
    let text = str_field(json, "text").unwrap_or_default();
    if text.is_empty() {
        flags.push("empty answer".into());
    } else if text.chars().count() < 40 {
        flags.push("very short answer".into());
    }
    let confidence = match json.get("confidence").and_then(|v| v.as_f64()) {
        Some(c) if (0.0..=100.0).contains(&c) => Some(c.round() as u8),
        Some(c) => {
            flags.push(format!("confidence {c} out of 0–100, clamped"));
            Some(c.clamp(0.0, 100.0).round() as u8)
        }
        None => {
            flags.push("no confidence given".into());
            None
        }
    };
    if let Some(c @ (0 | 100)) = confidence {
        flags.push(format!("extreme confidence {c}"));
    }
    let mut responds_to = Vec::new();
    for v in json
        .get("responds_to")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        match v.as_str() {
            Some(id) if others.contains(&id) && !responds_to.iter().any(|r| r == id) => {
                responds_to.push(id.to_string())
            }
            Some(id) => flags.push(format!("responds_to {id:?} is not a peer; dropped")),
            None => flags.push("responds_to holds a non-string; dropped".into()),
        }
    }
    let citations = json
        .get("citations")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(|s| s.trim().to_string()))
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let (mut assumption, mut target_peer, mut target_assumption, mut story, mut systemic_change) =
        (None, None, None, None, None);
    if round == 4 {
        assumption = str_field(json, "assumption");
        target_assumption = str_field(json, "target_assumption");
        target_peer = str_field(json, "target_peer");
        if let Some(p) = &target_peer {
            if !others.contains(&p.as_str()) {
                flags.push(format!("target_peer {p:?} is not a peer; dropped"));
                target_peer = None;
            }
        }
        if assumption.is_none() || target_peer.is_none() || target_assumption.is_none() {
            flags.push("round 4 answer lacks its own assumption or a targeted peer".into());
        }
    }
    if round >= 5 {
        story = str_field(json, "story");
        systemic_change = str_field(json, "systemic_change");
        if story.is_none() || systemic_change.is_none() {
            flags.push("round 5 answer lacks its story or systemic change".into());
        }
    }
    if is_repetitive(&text) {
        flags.push("repetitive answer: the same sentence three or more times".into());
    }
    if !text.is_empty() && lang != "zh" && looks_off_topic(question, &text) {
        flags.push("may be off-topic: shares no key word with the question".into());
    }
    Turn {
        round,
        persona: persona.id.clone(),
        status: TurnStatus::Ok,
        move_,
        text,
        responds_to,
        confidence,
        citations,
        assumption,
        target_peer,
        target_assumption,
        story,
        systemic_change,
        flags,
        error: None,
        usage: Usage::none(),
        backend: String::new(),
        model: String::new(),
    }
}

const STOPWORDS: [&str; 24] = [
    "should", "would", "could", "about", "which", "their", "there", "these", "those", "where",
    "while", "being", "other", "after", "before", "under", "above", "between", "because",
    "whether", "still", "every", "quarter", "doing",
];

fn key_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 5 && !STOPWORDS.contains(&w.as_str()))
        .collect()
}

fn looks_off_topic(question: &str, text: &str) -> bool {
    let q = key_words(question);
    if q.len() < 2 {
        return false;
    }
    let t = text.to_lowercase();
    // A shared stem (first five letters) counts: "pricing" matches "prices".
    !q.iter().any(|w| {
        let stem: String = w.chars().take(5).collect();
        t.contains(&stem)
    })
}

fn is_repetitive(text: &str) -> bool {
    let mut counts: HashMap<String, usize> = HashMap::new();
    text.split(['.', '!', '?', '\n', '。'])
        .map(|s| s.trim().to_lowercase())
        .filter(|s| s.chars().count() >= 8)
        .any(|s| {
            let n = counts.entry(s).or_default();
            *n += 1;
            *n >= 3
        })
}

async fn summarize(d: &Debate<'_>, round: u32, turns: &[Turn]) -> Result<Summary, EngineError> {
    let model = d.models.default_model();
    let info = model.info();
    let absent: Vec<String> = turns
        .iter()
        .filter(|t| t.status == TurnStatus::Failed)
        .map(|t| name_of(&d.panel, &t.persona).to_string())
        .collect();
    let spoken: Vec<Shown> = turns
        .iter()
        .filter(|t| t.status == TurnStatus::Ok)
        .map(|t| shown(&d.panel, t, 900))
        .collect();
    let mut ctx = Context::new();
    ctx.insert("question", &d.question);
    ctx.insert("round", &round);
    ctx.insert("round_title", round_title(round));
    ctx.insert("turns", &spoken);
    ctx.insert("absent", &absent);
    ctx.insert("lang_name", lang_name(&d.settings.lang));
    let prompt = d.prompts.render("summary.tera", &ctx)?;
    let request = ChatRequest::new(vec![Message::user(prompt)])
        .with_seed(seed_for(d.settings.seed, round, "moderator"))
        .with_max_tokens(400);
    let (mut text, fallback, usage) = match model.chat(&request).await {
        Ok(r) if !r.text.trim().is_empty() => (r.text.trim().to_string(), false, r.usage),
        Ok(r) => (fallback_summary(&spoken), true, r.usage),
        Err(e) => {
            tracing::warn!("round {round} summary call failed: {e}; summarising from the turns");
            (fallback_summary(&spoken), true, Usage::none())
        }
    };
    let missing: Vec<&String> = absent
        .iter()
        .filter(|n| !text.contains(n.as_str()))
        .collect();
    if !missing.is_empty() {
        let names = missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        if d.settings.lang == "zh" {
            text.push_str(&format!("（本轮缺席：{names}——模型调用失败。）"));
        } else {
            text.push_str(&format!(
                " (Absent this round: {names}; their model calls failed.)"
            ));
        }
    }
    Ok(Summary {
        round,
        text,
        absent: turns
            .iter()
            .filter(|t| t.status == TurnStatus::Failed)
            .map(|t| t.persona.clone())
            .collect(),
        fallback,
        usage,
        backend: info.backend,
        model: info.model,
    })
}

fn fallback_summary(spoken: &[Shown]) -> String {
    spoken
        .iter()
        .map(|s| format!("{} ({}): {}", s.name, s.move_, excerpt(&s.text, 160)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn persona() -> Persona {
        council_personas::Roster::builtin()
            .unwrap()
            .get("cfo")
            .unwrap()
            .clone()
    }

    #[test]
    fn weak_answers_are_repaired_and_flagged() {
        let answer = json!({"move": "AGREE", "text": "ok", "confidence": 100, "responds_to": ["cfo", "ghost", "cto"], "citations": []});
        let t = turn_from_answer(
            &answer,
            2,
            &persona(),
            &["cto", "auditor"],
            "Should we raise prices?",
            "en",
        );
        assert_eq!(t.move_, None);
        assert_eq!(t.confidence, Some(100));
        assert_eq!(t.responds_to, vec!["cto"]);
        let flags = t.flags.join(" | ");
        for expected in [
            "invalid move",
            "extreme confidence 100",
            "very short",
            "\"ghost\" is not a peer",
            "\"cfo\" is not a peer",
        ] {
            assert!(flags.contains(expected), "missing {expected:?} in {flags}");
        }
    }

    #[test]
    fn off_topic_text_is_flagged_and_on_topic_text_is_not() {
        let q = "Should we raise subscription prices for enterprise customers next year?";
        assert!(looks_off_topic(
            q,
            "The weather in spring is lovely and birds sing."
        ));
        assert!(!looks_off_topic(
            q,
            "Enterprise buyers will accept a 10% increase if support improves."
        ));
    }

    #[test]
    fn round_four_needs_a_real_peer() {
        let answer = json!({"move": "CHALLENGE", "text": "A long enough answer about pricing and margins.", "confidence": 60,
            "responds_to": [], "citations": [], "assumption": "a", "target_peer": "nobody", "target_assumption": "b"});
        let t = turn_from_answer(&answer, 4, &persona(), &["cto"], "pricing?", "en");
        assert_eq!(t.target_peer, None);
        assert!(
            t.flags.iter().any(|f| f.contains("target_peer")),
            "{:?}",
            t.flags
        );
    }

    #[test]
    fn loops_are_flagged_as_repetitive() {
        assert!(is_repetitive("The auditor is expected to prove it. The auditor is expected to prove it. The auditor is expected to prove it."));
        assert!(!is_repetitive(
            "Raise prices. Protect renewals. Measure churn weekly."
        ));
    }

    #[test]
    fn quoted_spans_are_found() {
        let q = quotes_in("As the survey says, \"61% would accept a 10% rise\" and “churn stays below three percent” — \"short\".");
        assert_eq!(
            q,
            vec![
                "61% would accept a 10% rise",
                "churn stays below three percent"
            ]
        );
    }

    #[test]
    fn citations_without_a_library_are_flagged() {
        let mut t = turn_from_answer(
            &json!({"text": "x", "citations": ["[1]"]}),
            1,
            &persona(),
            &[],
            "q",
            "en",
        );
        check_citations(&mut t, None);
        assert!(
            t.flags.iter().any(|f| f.contains("no research library")),
            "{:?}",
            t.flags
        );
    }

    #[test]
    fn a_persona_answers_those_who_addressed_it_first() {
        let roster = council_personas::Roster::builtin().unwrap();
        let panel = roster
            .panel_from_ids(&["cfo".into(), "cto".into(), "coo".into(), "auditor".into()])
            .unwrap();
        let mk = |id: &str, to: &[&str]| {
            let mut t = turn_from_answer(
                &json!({"text": "x"}),
                1,
                roster.get(id).unwrap(),
                &[],
                "q",
                "en",
            );
            t.responds_to = to.iter().map(|s| s.to_string()).collect();
            t
        };
        let prev = vec![
            mk("cfo", &[]),
            mk("cto", &[]),
            mk("coo", &[]),
            mk("auditor", &["cfo"]),
        ];
        let chosen: Vec<&str> = to_answer(&panel, "cfo", &prev)
            .iter()
            .map(|t| t.persona.as_str())
            .collect();
        assert_eq!(chosen, ["auditor", "cto"]);
    }
}
