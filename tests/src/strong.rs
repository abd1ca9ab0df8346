//! The strong-model fixture: a debate written to read like a capable
//! model's (long turns in distinct voices, sentence-long milestones, dated
//! actions with owners and triggers, quotes that verify), kept as data under
//! `tests/fixtures/strong/` and replayed by [`ScriptedModel`], which answers
//! each request by its kind (round N's turn for persona X, the summary of
//! round N, synthesis part Y) rather than by a hash of the prompt, so a
//! re-worded prompt does not break it.

use council_llm::schema::Validator;
use council_llm::{
    Capabilities, ChatModel, ChatRequest, ChatResponse, FinishReason, LlmError, ModelInfo, Role,
};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The fixture's folder: `tests/fixtures/strong`.
pub fn fixture_dir() -> PathBuf {
    crate::workspace_root().join("tests/fixtures/strong")
}

/// The debate's settings and every spoken word: `debate.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebateScript {
    /// The executive's question.
    pub question: String,
    /// The run date (YYYY-MM-DD).
    pub date: String,
    /// The advisors asked for, by id, in speaking order (the roster seats
    /// the contrarian and the fact-checker when missing).
    pub panel: Vec<String>,
    /// Every turn of every round.
    pub turns: Vec<Value>,
    /// The moderator's summary of each round.
    pub summaries: Vec<ScriptedSummary>,
}

/// One round's summary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedSummary {
    /// The round it summarises.
    pub round: u32,
    /// What the moderator says.
    pub text: String,
}

/// A model that answers the strong fixture's requests from its files: a
/// turn by its schema's round and the persona its system prompt seats, a
/// round summary by the round its prompt names, a synthesis part by its
/// schema name (and a path by the future its prompt asks for, a vote by
/// the voter). Forecast ids (hashes of the statements) are written `F1`…
/// in the files and replaced with the ids the request's schema allows, in
/// order. Every answer is checked against the request's schema, so a fixture
/// that outgrows a limit fails with the field named.
#[derive(Debug)]
pub struct ScriptedModel {
    /// (round, persona id) → turn answer.
    turns: BTreeMap<(u32, String), Value>,
    /// Round → summary.
    summaries: BTreeMap<u32, String>,
    /// Synthesis answers by kind: `verdict`, `vote:cfo`, `path:works`…
    synthesis: BTreeMap<String, Value>,
    /// (persona id, name) of the seated panel.
    names: Vec<(String, String)>,
}

impl ScriptedModel {
    /// Loads `debate.toml` and `synthesis.toml` from `dir`; `names` are the
    /// seated panel's (id, name) pairs, by which a prompt's speaker is found.
    pub fn load(dir: &Path, names: Vec<(String, String)>) -> Result<ScriptedModel, LlmError> {
        let debate: DebateScript = read_toml(&dir.join("debate.toml"))?;
        let synthesis: BTreeMap<String, Value> = read_toml(&dir.join("synthesis.toml"))?;
        let mut turns = BTreeMap::new();
        for t in debate.turns {
            let round = t.get("round").and_then(Value::as_u64);
            let persona = t.get("persona").and_then(Value::as_str).map(String::from);
            let (Some(round), Some(persona)) = (round, persona) else {
                return Err(LlmError::Config(format!(
                    "{}: a turn lacks its `round` or `persona`: {t}",
                    dir.join("debate.toml").display()
                )));
            };
            let mut answer = t.as_object().cloned().unwrap_or_default();
            answer.remove("round");
            answer.remove("persona");
            if turns
                .insert((round as u32, persona.clone()), Value::Object(answer))
                .is_some()
            {
                return Err(LlmError::Config(format!(
                    "{}: round {round} has two turns for {persona}",
                    dir.join("debate.toml").display()
                )));
            }
        }
        let summaries = debate
            .summaries
            .into_iter()
            .map(|s| (s.round, s.text))
            .collect();
        Ok(ScriptedModel {
            turns,
            summaries,
            synthesis,
            names,
        })
    }

    /// The seated persona a system prompt speaks as ("You are NAME, …").
    fn speaker(&self, request: &ChatRequest) -> Option<&str> {
        let system = request.messages.iter().find(|m| m.role == Role::System)?;
        self.names
            .iter()
            .find(|(_, name)| system.content.contains(&format!("You are {name},")))
            .map(|(id, _)| id.as_str())
    }

    /// What `request` asks for, as the fixture names it, and the answer.
    fn answer_for(&self, request: &ChatRequest) -> Result<(String, Option<Value>, String), String> {
        let prompt = request
            .messages
            .last()
            .map(|m| m.content.as_str())
            .unwrap_or("");
        let Some(schema) = &request.schema else {
            // The moderator's summary: "Round N (title) has ended."
            let round = prompt
                .split("Round ")
                .skip(1)
                .find_map(|s| {
                    let (n, rest) = s.split_once(' ')?;
                    (rest.starts_with('(') && rest.contains("has ended")).then(|| n.parse().ok())?
                })
                .ok_or("a free-text request that names no ended round")?;
            let text = self
                .summaries
                .get(&round)
                .ok_or(format!("no summary of round {round}"))?;
            return Ok((format!("summary of round {round}"), None, text.clone()));
        };
        let name = schema.name.as_str();
        let (what, value) = if let Some(round) = name.strip_prefix("turn_round") {
            let round: u32 = round.parse().map_err(|_| format!("schema {name}"))?;
            let who = self.speaker(request).ok_or(format!(
                "round {round}: no seated persona in the system prompt"
            ))?;
            let what = format!("round {round}, {who}'s turn");
            let v = self.turns.get(&(round, who.to_string())).cloned();
            (what, v)
        } else if let Some(kind) = name.strip_prefix("synthesis_") {
            let key = match kind {
                "vote" => format!(
                    "vote:{}",
                    self.speaker(request)
                        .ok_or("a vote with no seated persona in the system prompt")?
                ),
                "path" => {
                    let scenario = if prompt.contains("followed and works") {
                        "works"
                    } else if prompt.contains("followed and fails") {
                        "fails"
                    } else if prompt.contains("opposite decision") {
                        "opposite"
                    } else {
                        return Err("a path request that names no future".into());
                    };
                    format!("path:{scenario}")
                }
                other => other.to_string(),
            };
            let v = self.synthesis.get(&key).cloned();
            (format!("synthesis part `{key}`"), v)
        } else {
            return Err(format!("a request with the unknown schema {name}"));
        };
        let mut value = value.ok_or(format!("no answer for {what}"))?;
        let ids = forecast_ids(&schema.schema);
        bind_forecasts(&mut value, &ids).map_err(|e| format!("{what}: {e}"))?;
        let text = value.to_string();
        let validator = Validator::new(schema).map_err(|e| e.to_string())?;
        validator
            .check(&text)
            .map_err(|e| format!("the fixture's answer for {what} breaks its schema: {e}"))?;
        Ok((what, Some(value), text))
    }
}

#[async_trait::async_trait]
impl ChatModel for ScriptedModel {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            backend: "scripted".into(),
            model: "strong-fixture".into(),
            location: "tests/fixtures/strong".into(),
            capabilities: Capabilities::in_process(),
        }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let (_, json, text) = self.answer_for(request).map_err(|e| {
            LlmError::Config(format!(
                "the strong fixture cannot answer: {e}; add it to tests/fixtures/strong/ (debate.toml or synthesis.toml)"
            ))
        })?;
        // About four characters a token, as an English-writing model counts.
        let prompt_chars: usize = request.messages.iter().map(|m| m.content.len()).sum();
        Ok(ChatResponse {
            usage: council_core::Usage::reported(
                (prompt_chars / 4) as u64,
                (text.len() / 4).max(1) as u64,
            ),
            text,
            json,
            finish_reason: FinishReason::Stop,
            model: "strong-fixture".into(),
            attempts: 1,
        })
    }
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, LlmError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| LlmError::Config(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| LlmError::Config(format!("{}: {e}", path.display())))
}

/// The forecast ids a schema allows, in the order it lists them.
fn forecast_ids(schema: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Array(items)) = m.get("enum") {
                    for id in items.iter().filter_map(Value::as_str) {
                        if id.starts_with("F-") && !out.iter().any(|x| x == id) {
                            out.push(id.to_string());
                        }
                    }
                }
                m.values().for_each(|c| walk(c, out));
            }
            Value::Array(items) => items.iter().for_each(|c| walk(c, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(schema, &mut out);
    out
}

/// Replaces each `id` / `forecast_id` written `F<n>` with the n-th id.
fn bind_forecasts(v: &mut Value, ids: &[String]) -> Result<(), String> {
    match v {
        Value::Object(m) => {
            for key in ["id", "forecast_id"] {
                bind_one(m, key, ids)?;
            }
            for c in m.values_mut() {
                bind_forecasts(c, ids)?;
            }
        }
        Value::Array(items) => {
            for c in items {
                bind_forecasts(c, ids)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn bind_one(m: &mut Map<String, Value>, key: &str, ids: &[String]) -> Result<(), String> {
    let Some(Value::String(s)) = m.get(key) else {
        return Ok(());
    };
    let Some(n) = s.strip_prefix('F').and_then(|n| n.parse::<usize>().ok()) else {
        return Ok(());
    };
    let id = ids.get(n.wrapping_sub(1)).ok_or(format!(
        "{key} F{n}, but the request offers {} forecasts",
        ids.len()
    ))?;
    m.insert(key.into(), Value::String(id.clone()));
    Ok(())
}

/// Replays the strong fixture's debate into `work/run`, with its research
/// library (`tests/fixtures/strong/library`, indexed into
/// `work/library-cache`), and returns the transcript.
pub async fn replay_strong_debate(
    work: &Path,
) -> Result<council_core::Transcript, council_engine::EngineError> {
    use council_engine::{run, Prompts, RunStore};
    let dir = fixture_dir();
    let script: DebateScript = read_toml(&dir.join("debate.toml"))
        .map_err(|e| council_engine::EngineError::Store(e.to_string()))?;
    let (library, problems) =
        council_library::Library::load(&[dir.join("library")], &work.join("library-cache"))
            .map_err(|e| council_engine::EngineError::Store(e.to_string()))?;
    if !problems.is_empty() {
        return Err(council_engine::EngineError::Store(format!(
            "the strong fixture's library has problems: {problems:?}"
        )));
    }
    let prompts = Prompts::builtin()?;
    let panel: Vec<&str> = script.panel.iter().map(String::as_str).collect();
    // Seated as `test_debate` seats it, for the names the prompts call
    // each advisor by.
    let roster = council_personas::Roster::builtin().expect("the built-in roster");
    let names = roster
        .seat(
            roster
                .panel_from_ids(&script.panel)
                .expect("known personas"),
        )
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect();
    let model = std::sync::Arc::new(
        ScriptedModel::load(&dir, names)
            .map_err(|e| council_engine::EngineError::Store(e.to_string()))?,
    );
    let mut debate = crate::test_debate(&script.question, &panel, 5, model, &prompts);
    debate.settings.date = script.date.clone();
    debate.settings.max_tokens = 1200;
    debate.library = Some(&library);
    debate.library_inputs = vec!["library".into()];
    let mut store = RunStore::create(&work.join("run"))?;
    run(&debate, &mut store).await
}
