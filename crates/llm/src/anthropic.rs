//! The Anthropic backend, on its native Messages API (`POST {base}/messages`).
//!
//! Like [`crate::openai`], the transport is a plain `reqwest` client with no
//! retries of its own, so [`RetryPolicy`] is the one retry loop, and
//! responses are decoded leniently: a missing `usage` is "not reported", an
//! unknown `stop_reason` is kept verbatim, and an error object inside a 200
//! body is an error.
//!
//! **Structured answers.** A request with a schema offers one tool, named
//! `answer`, whose `input_schema` is the schema, and forces it with
//! `tool_choice`; the answer is the `input` of the `tool_use` block,
//! validated again here. Anthropic wants an object there, so a schema whose
//! top level is not `"type": "object"` is wrapped as the property `answer`
//! of one (and unwrapped from the input). An invalid answer or a missing
//! tool call shares the retry budget with transport faults, gets one
//! repair (shown its problem), then fresh asks; an answer cut off by the
//! token limit is asked again with twice the limit.
//!
//! **Prompt caching** (when [`AnthropicSettings::prompt_cache`] is on).
//! Anthropic caches a request's prefix in the order tools → system →
//! messages, up to a block marked `cache_control`. Marked: the last system
//! block (a persona's system prompt: the same in every round of a debate);
//! in a conversation of more than one message, the last block of the
//! message before the final one (the earlier exchange a follow-up
//! repeats); and the request's [`ChatRequest::cache_points`] in its last
//! message, which is cut into blocks there (a debate turn marks the end of
//! the question and the end of the round summaries so far: the next round
//! reads both from the cache). At most four marks, Anthropic's limit. The
//! tool is part of the prefix: rounds that answer to the same schema
//! (rounds 1–3) share it; rounds 4 and 5 ask for other fields and pay
//! for their prefix once each. The tool is always named `answer`, with one fixed
//! description, never after the schema's name, so two requests with the
//! same schema and system prompt share their cached prefix even when
//! Council names their schemas apart (`turn_round1`, `turn_round2`…). A
//! prefix shorter than the model's minimum (1024 tokens or more) is simply
//! not cached; cached tokens show in [`Usage::cached_tokens`].

use crate::answer::{self, Answered, Attempt};
use crate::circuit::Circuit;
use crate::http::shorten;
use crate::openai::ApiKey;
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::schema::Validator;
use crate::{
    Capabilities, ChatModel, ChatRequest, ChatResponse, FinishReason, LlmError, Message, ModelInfo,
    Role,
};
use async_trait::async_trait;
use council_core::Usage;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::fmt;
use std::time::{Duration, SystemTime};

/// Anthropic's API, up to and including `/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com/v1";

/// The API version Council speaks (the `anthropic-version` header).
const DEFAULT_VERSION: &str = "2023-06-01";

/// The generated-token limit when a request sets none (Anthropic needs one).
const DEFAULT_MAX_TOKENS: u32 = 4096;

/// The one tool of a structured request. Constant, so that requests with the
/// same schema share a cacheable prefix whatever their schema is called.
const TOOL_NAME: &str = "answer";

/// The tool's description: constant for the same reason.
const TOOL_DESCRIPTION: &str = "Give your complete answer. Call this tool exactly once; its input is the answer, valid against the input schema.";

/// Stands first when a conversation opens with the model's message
/// (Anthropic's conversations start with the user).
const OPENING: &str = "Continue the conversation.";

/// Settings for the Anthropic Messages API.
#[derive(Debug, Clone)]
pub struct AnthropicSettings {
    /// Base URL up to and including `/v1`; requests go to `{base_url}/messages`.
    pub base_url: String,
    /// Model name, e.g. `claude-sonnet-4-5`.
    pub model: String,
    /// The key, sent as `x-api-key`.
    pub api_key: Option<ApiKey>,
    /// The environment variable the key came from (named in auth errors).
    pub key_var: String,
    /// The `anthropic-version` header.
    pub version: String,
    /// Limit for one whole HTTP exchange.
    pub request_timeout: Duration,
    /// Limit for establishing the connection.
    pub connect_timeout: Duration,
    /// Retry behaviour for transient failures.
    pub retry: RetryPolicy,
    /// Whether to mark the stable prefix of each request for Anthropic's prompt cache.
    pub prompt_cache: bool,
}

impl AnthropicSettings {
    /// Settings with Council's defaults for the given endpoint and model.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        AnthropicSettings {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            key_var: "ANTHROPIC_API_KEY".into(),
            version: DEFAULT_VERSION.into(),
            request_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            prompt_cache: true,
        }
    }
}

/// A Claude model behind Anthropic's `/messages` endpoint.
pub struct Anthropic {
    settings: AnthropicSettings,
    http: reqwest::Client,
    url: String,
    /// Whether the server is still there.
    circuit: Circuit,
}

impl fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anthropic")
            .field("settings", &self.settings)
            .finish()
    }
}

/// The `answer` tool offered for one schema.
struct AnswerTool {
    /// What is sent as `input_schema`: always an object schema.
    input_schema: Value,
    /// Whether the schema was wrapped as the property `answer`.
    wrapped: bool,
}

impl AnswerTool {
    fn for_schema(schema: &Value) -> Self {
        if schema.get("type").and_then(Value::as_str) == Some("object") {
            return AnswerTool {
                input_schema: schema.clone(),
                wrapped: false,
            };
        }
        let mut inner = schema.clone();
        let mut wrapper = Map::new();
        wrapper.insert("type".into(), json!("object"));
        // Definitions move to the new root, where `#/$defs/…` now points.
        if let Some(obj) = inner.as_object_mut() {
            for key in ["$defs", "definitions"] {
                if let Some(defs) = obj.remove(key) {
                    wrapper.insert(key.into(), defs);
                }
            }
        }
        wrapper.insert("properties".into(), json!({ TOOL_NAME: inner }));
        wrapper.insert("required".into(), json!([TOOL_NAME]));
        AnswerTool {
            input_schema: Value::Object(wrapper),
            wrapped: true,
        }
    }

    fn wire(&self) -> Value {
        json!({
            "name": TOOL_NAME,
            "description": TOOL_DESCRIPTION,
            "input_schema": self.input_schema,
        })
    }
}

impl Anthropic {
    /// Builds the client; fails only on an unusable TLS setup or URL.
    pub fn new(settings: AnthropicSettings) -> Result<Self, LlmError> {
        let http = crate::http::client(settings.connect_timeout, settings.request_timeout)?;
        let base = crate::http::base(&settings.base_url, DEFAULT_BASE_URL)?;
        if let Some(key) = &settings.api_key {
            // However the key arrived, no error may show it.
            crate::never_show(key.expose());
        }
        let url = format!("{base}/messages");
        Ok(Anthropic {
            circuit: Circuit::new(&base),
            settings,
            http,
            url,
        })
    }

    /// The request body for `messages`, offering `tool` when set; `points`
    /// are the request's cache points in the text of message `at`.
    fn wire_request(
        &self,
        messages: &[Message],
        (at, points): (usize, &[usize]),
        max_tokens: u32,
        temperature: Option<f32>,
        tool: Option<&AnswerTool>,
    ) -> Result<Value, LlmError> {
        let cache = self.settings.prompt_cache;
        let points = if cache { points } else { &[] };
        let (system, conversation) = wire_messages(messages, cache, (at, points))?;
        let mut body = Map::new();
        body.insert("model".into(), json!(self.settings.model));
        body.insert("max_tokens".into(), json!(max_tokens.max(1)));
        if let Some(t) = temperature.filter(|t| t.is_finite()) {
            body.insert("temperature".into(), json!(t.clamp(0.0, 1.0)));
        }
        if !system.is_empty() {
            body.insert("system".into(), Value::Array(system));
        }
        body.insert("messages".into(), Value::Array(conversation));
        if let Some(tool) = tool {
            body.insert("tools".into(), json!([tool.wire()]));
            body.insert(
                "tool_choice".into(),
                json!({"type": "tool", "name": TOOL_NAME}),
            );
        }
        Ok(Value::Object(body))
    }

    /// One HTTP exchange, no retries.
    async fn send_once(&self, body: &Value) -> Result<Completion, LlmError> {
        let mut req = self
            .http
            .post(&self.url)
            .header("anthropic-version", &self.settings.version)
            .json(body);
        if let Some(key) = &self.settings.api_key {
            req = req.header("x-api-key", key.expose());
        }
        let resp = req.send().await.map_err(|e| self.transport_error(e))?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let retry_after =
            header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now()));
        let request_id = header("request-id");
        let text = resp.text().await.map_err(|e| self.transport_error(e))?;
        self.decode(status, &text, retry_after, request_id.as_deref())
    }

    /// Reads one HTTP answer: an error for a failure status or an error
    /// body, else the message.
    fn decode(
        &self,
        status: u16,
        text: &str,
        retry_after: Option<Duration>,
        request_id: Option<&str>,
    ) -> Result<Completion, LlmError> {
        if !(200..300).contains(&status) {
            return Err(self.status_error(status, text, retry_after, request_id));
        }
        let wire: WireResponse = serde_json::from_str(text).map_err(|e| LlmError::BadResponse {
            url: self.url.clone(),
            message: format!("not a Messages API response ({e}): {}", shorten(text)),
            spent: crate::Spent::NONE,
        })?;
        if wire.kind.as_deref() == Some("error") || wire.error.is_some() {
            // An error reported inside a 200 body: its type says which.
            let kind = wire.error.as_ref().and_then(|e| e.kind.as_deref());
            return Err(self.status_error(status_of(kind), text, retry_after, request_id));
        }
        let mut answer = String::new();
        let mut tool_input = None;
        for block in &wire.content {
            match block.get("type").and_then(Value::as_str) {
                Some("text") => {
                    answer.push_str(block.get("text").and_then(Value::as_str).unwrap_or(""));
                }
                Some("tool_use")
                    if tool_input.is_none()
                        && block.get("name").and_then(Value::as_str) == Some(TOOL_NAME) =>
                {
                    tool_input = Some(block.get("input").cloned().unwrap_or(Value::Null));
                }
                _ => {}
            }
        }
        Ok(Completion {
            text: answer,
            tool_input,
            finish_reason: finish_reason(wire.stop_reason.as_deref()),
            usage: usage_of(wire.usage),
            model: wire.model.unwrap_or_else(|| self.settings.model.clone()),
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> LlmError {
        crate::http::transport_error(
            e,
            &self.url,
            self.settings.connect_timeout,
            self.settings.request_timeout,
        )
    }

    /// The error for a failure `status` (or an error body) with body `text`.
    fn status_error(
        &self,
        status: u16,
        text: &str,
        retry_after: Option<Duration>,
        request_id: Option<&str>,
    ) -> LlmError {
        let url = self.url.clone();
        let parsed: Option<WireErrorBody> = serde_json::from_str(text).ok();
        let error = parsed.as_ref().and_then(|p| p.error.as_ref());
        let kind = error.and_then(|e| e.kind.clone());
        let request_id = request_id.or(parsed.as_ref().and_then(|p| p.request_id.as_deref()));
        let mut body = match (error, &kind) {
            (
                Some(WireError {
                    message: Some(m), ..
                }),
                Some(k),
            ) => format!("{k}: {}", shorten(m)),
            (
                Some(WireError {
                    message: Some(m), ..
                }),
                None,
            ) => shorten(m),
            _ => shorten(text),
        };
        if let Some(id) = request_id {
            body.push_str(&format!(" (request-id {id})"));
        }
        // Scrubbed already here, so not even the error's Debug shows a key.
        let body = crate::error::scrub(&body);
        let lower = text.to_ascii_lowercase();
        let quota = lower.contains("enforced_spend_limit_reached")
            || lower.contains("credit balance is too low")
            || lower.contains("insufficient_quota")
            || lower.contains("exceeded your current quota");
        match status {
            401 | 403 => LlmError::Auth {
                url,
                status,
                key_var: self.settings.key_var.clone(),
                body,
                spent: crate::Spent::NONE,
            },
            402 => LlmError::QuotaExhausted {
                url,
                status,
                body,
                spent: crate::Spent::NONE,
            },
            400 | 429 if quota => LlmError::QuotaExhausted {
                url,
                status,
                body,
                spent: crate::Spent::NONE,
            },
            // Overloaded is transient whatever status carried it.
            _ if kind.as_deref() == Some("overloaded_error") => LlmError::Http {
                url,
                status: 529,
                body,
                retry_after,
                spent: crate::Spent::NONE,
            },
            _ => LlmError::Http {
                url,
                status,
                body,
                retry_after,
                spent: crate::Spent::NONE,
            },
        }
    }
}

#[async_trait]
impl ChatModel for Anthropic {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            backend: "anthropic".into(),
            model: self.settings.model.clone(),
            location: self.settings.base_url.clone(),
            capabilities: Capabilities {
                native_json_schema: true,
                seeded: false,
                concurrent: true,
                offline: false,
                context_tokens: None,
                small: false,
            },
        }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        if request.messages.is_empty() {
            return Err(LlmError::InvalidRequest(
                "a chat request needs at least one message".into(),
            ));
        }
        let max_tokens = request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS).max(1);
        // Checked once: an unusable conversation is refused before any request.
        self.wire_request(
            &request.messages,
            points_of(request),
            max_tokens,
            None,
            None,
        )?;
        let Some(spec) = &request.schema else {
            return self.ask(request, None, max_tokens).await;
        };
        let validator = Validator::new(spec)?;
        let tool = AnswerTool::for_schema(&spec.schema);
        self.ask(request, Some((&tool, &validator)), max_tokens)
            .await
    }
}

impl Anthropic {
    /// Runs one call through the answer loop ([`crate::answer`]); with a
    /// tool, the answer is the `answer` tool's input, checked by the
    /// validator (a JSON answer written as text also counts).
    async fn ask(
        &self,
        request: &ChatRequest,
        tool: Option<(&AnswerTool, &Validator)>,
        max_tokens: u32,
    ) -> Result<ChatResponse, LlmError> {
        let first = Attempt {
            messages: request.messages.clone(),
            max_tokens: Some(max_tokens),
            seed: None,
        };
        let send = |a: Attempt| async move {
            let body = self.wire_request(
                &a.messages,
                points_of(request),
                a.max_tokens.unwrap_or(max_tokens),
                request.temperature,
                tool.map(|(t, _)| t),
            )?;
            let done = self.send_once(&body).await?;
            let (text, checked) = match tool {
                None => (done.text.clone(), None),
                Some((tool, validator)) => match structured(&done, tool, validator) {
                    Ok((text, json)) => (text, Some(Ok(json))),
                    Err((text, problem)) => (text, Some(Err(problem))),
                },
            };
            Ok(Answered {
                text,
                checked,
                finish_reason: done.finish_reason,
                usage: done.usage,
                model: done.model,
            })
        };
        answer::ask(
            &self.settings.retry,
            Some(&self.circuit),
            request
                .schema
                .as_ref()
                .filter(|_| tool.is_some())
                .map(|s| s.name.as_str()),
            first,
            send,
        )
        .await
    }
}

/// The structured answer in `done`: its JSON text and validated value, or
/// the text to show the model and what is wrong with it.
fn structured(
    done: &Completion,
    tool: &AnswerTool,
    validator: &Validator,
) -> Result<(String, Value), (String, String)> {
    let Some(input) = &done.tool_input else {
        // No tool call: a JSON answer written as text still counts.
        if done.text.trim().is_empty() {
            return Err((
                String::new(),
                format!("the answer is empty; call the `{TOOL_NAME}` tool with the answer"),
            ));
        }
        return match validator.check(&done.text) {
            Ok(json) => Ok((json.to_string(), json)),
            Err(problem) => Err((
                done.text.clone(),
                format!("the answer did not call the `{TOOL_NAME}` tool ({problem})"),
            )),
        };
    };
    let value = if tool.wrapped {
        match input.get(TOOL_NAME) {
            Some(v) => v.clone(),
            None => {
                return Err((
                    input.to_string(),
                    format!("the tool input has no `{TOOL_NAME}` property"),
                ))
            }
        }
    } else {
        input.clone()
    };
    let text = value.to_string();
    match validator.check(&text) {
        Ok(json) => Ok((text, json)),
        Err(problem) => Err((text, problem)),
    }
}

/// The system blocks and the conversation of `messages` on the wire, with
/// the cache breakpoints when `cache`.
/// Where the request's cache points lie: its last message, at these offsets.
fn points_of(request: &ChatRequest) -> (usize, &[usize]) {
    (
        request.messages.len().saturating_sub(1),
        &request.cache_points,
    )
}

/// At most this many `cache_control` marks per request (Anthropic's limit).
const MAX_CACHE_MARKS: usize = 4;

/// `text` cut at `points` (byte offsets on char boundaries, strictly
/// inside it), as text blocks; every block but the last is marked cached.
fn split_blocks(text: &str, points: &[usize], marks_left: usize) -> Vec<Value> {
    let mut cuts: Vec<usize> = points
        .iter()
        .copied()
        .filter(|&p| p > 0 && p < text.len() && text.is_char_boundary(p))
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    // The latest points matter most: they cover the longest shared prefix.
    let cuts = &cuts[cuts.len().saturating_sub(marks_left)..];
    let mut blocks = Vec::new();
    let mut from = 0;
    for &cut in cuts {
        let piece = &text[from..cut];
        if !piece.trim().is_empty() {
            let mut block = json!({"type": "text", "text": piece});
            mark_cached(&mut block);
            blocks.push(block);
        }
        from = cut;
    }
    let rest = &text[from..];
    if !rest.trim().is_empty() || blocks.is_empty() {
        blocks.push(json!({"type": "text", "text": rest}));
    }
    blocks
}

fn wire_messages(
    messages: &[Message],
    cache: bool,
    (at, points): (usize, &[usize]),
) -> Result<(Vec<Value>, Vec<Value>), LlmError> {
    // Anthropic refuses empty text blocks: blank messages are left out.
    let text_block = |m: &Message| {
        (!m.content.trim().is_empty()).then(|| json!({"type": "text", "text": m.content}))
    };
    // The system block and the previous message's may hold a mark each.
    let marks_left = MAX_CACHE_MARKS - 2;
    let mut system: Vec<Value> = messages
        .iter()
        .filter(|m| m.role == Role::System)
        .filter_map(text_block)
        .collect();
    let mut conversation: Vec<Value> = Vec::new();
    for (i, m) in messages
        .iter()
        .enumerate()
        .filter(|(_, m)| m.role != Role::System)
    {
        let Some(block) = text_block(m) else { continue };
        let blocks = if i == at && !points.is_empty() && m.role == Role::User {
            split_blocks(&m.content, points, marks_left)
        } else {
            vec![block]
        };
        let role = m.role.as_str();
        match conversation.last_mut() {
            // Two messages in a row from one side are one turn.
            Some(last) if last["role"] == role => {
                if let Some(all) = last["content"].as_array_mut() {
                    all.extend(blocks);
                }
            }
            _ => conversation.push(json!({"role": role, "content": blocks})),
        }
    }
    if conversation.is_empty() {
        return Err(LlmError::InvalidRequest(
            "an Anthropic request needs at least one user or assistant message with text".into(),
        ));
    }
    if conversation[0]["role"] == Role::Assistant.as_str() {
        conversation.insert(
            0,
            json!({"role": "user", "content": [{"type": "text", "text": OPENING}]}),
        );
    }
    if let Some(last) = conversation.last_mut() {
        if last["role"] == Role::Assistant.as_str() {
            // A final assistant message is a prefill, which may not end in whitespace.
            if let Some(Value::Object(block)) =
                last["content"].as_array_mut().and_then(|b| b.last_mut())
            {
                if let Some(text) = block.get("text").and_then(Value::as_str) {
                    let trimmed = text.trim_end().to_string();
                    block.insert("text".into(), Value::String(trimmed));
                }
            }
        }
    }
    if cache {
        if let Some(last) = system.last_mut() {
            mark_cached(last);
        }
        let n = conversation.len();
        if n > 1 {
            if let Some(block) = conversation[n - 2]["content"]
                .as_array_mut()
                .and_then(|b| b.last_mut())
            {
                mark_cached(block);
            }
        }
    }
    Ok((system, conversation))
}

fn mark_cached(block: &mut Value) {
    if let Some(obj) = block.as_object_mut() {
        obj.insert("cache_control".into(), json!({"type": "ephemeral"}));
    }
}

/// Anthropic's `stop_reason` as Council's finish reason.
fn finish_reason(stop: Option<&str>) -> FinishReason {
    match stop {
        None => FinishReason::Unknown,
        Some("end_turn" | "stop_sequence" | "tool_use") => FinishReason::Stop,
        Some("max_tokens") => FinishReason::Length,
        Some(other) => FinishReason::Other(other.to_string()),
    }
}

/// The HTTP status an error type stands for, for errors inside a 200 body.
fn status_of(kind: Option<&str>) -> u16 {
    match kind {
        Some("invalid_request_error") => 400,
        Some("authentication_error") => 401,
        Some("billing_error") => 402,
        Some("permission_error") => 403,
        Some("not_found_error") => 404,
        Some("request_too_large") => 413,
        Some("rate_limit_error") => 429,
        Some("timeout_error") => 504,
        Some("overloaded_error") => 529,
        _ => 500,
    }
}

/// Anthropic's usage as Council's: its `input_tokens` leave out the tokens
/// read from or written to the cache, so the prompt is all three.
fn usage_of(usage: Option<WireUsage>) -> Usage {
    let Some(u) = usage else {
        return Usage::unreported();
    };
    let read = u.cache_read_input_tokens;
    let prompt = u
        .input_tokens
        .map(|i| i + read.unwrap_or(0) + u.cache_creation_input_tokens.unwrap_or(0));
    match (prompt, u.output_tokens) {
        (Some(p), Some(c)) => Usage::reported(p, c).with_cached(read),
        (None, None) => Usage::unreported(),
        (prompt_tokens, completion_tokens) => Usage {
            prompt_tokens,
            completion_tokens,
            cached_tokens: read,
            calls: 1,
            unreported_calls: 0,
        },
    }
}

struct Completion {
    /// The text blocks, concatenated.
    text: String,
    /// The input of the `answer` tool call, if the model made one.
    tool_input: Option<Value>,
    finish_reason: FinishReason,
    usage: Usage,
    model: String,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    /// Content blocks, kept as values: unknown block types are skipped.
    #[serde(default)]
    content: Vec<Value>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireErrorBody {
    #[serde(default)]
    error: Option<WireError>,
    #[serde(default)]
    request_id: Option<String>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(cache: bool) -> Anthropic {
        let mut s = AnthropicSettings::new("http://127.0.0.1:9/v1/", "claude-test");
        s.api_key = Some(ApiKey::new("sk-ant-unit-test-key-0001"));
        s.prompt_cache = cache;
        Anthropic::new(s).unwrap()
    }

    fn object_schema() -> Value {
        json!({"type":"object","properties":{"verdict":{"type":"string"},"confidence":{"type":"integer","minimum":0,"maximum":100}},"required":["verdict","confidence"]})
    }

    fn validator(schema: &Value) -> Validator {
        Validator::new(&crate::SchemaSpec {
            name: "t".into(),
            schema: schema.clone(),
        })
        .unwrap()
    }

    #[test]
    fn the_request_body_is_anthropics_field_by_field() {
        let m = model(true);
        assert_eq!(m.url, "http://127.0.0.1:9/v1/messages");
        let tool = AnswerTool::for_schema(&object_schema());
        let body = m
            .wire_request(
                &[
                    Message::system("You are the CFO."),
                    Message::user("Raise prices?"),
                ],
                (1, &[]),
                600,
                Some(1.7),
                Some(&tool),
            )
            .unwrap();
        assert_eq!(body["model"], "claude-test");
        assert_eq!(body["max_tokens"], 600);
        assert_eq!(body["temperature"], 1.0, "clamped to Anthropic's range");
        assert_eq!(
            body["system"],
            json!([{"type":"text","text":"You are the CFO.","cache_control":{"type":"ephemeral"}}])
        );
        assert_eq!(
            body["messages"],
            json!([{"role":"user","content":[{"type":"text","text":"Raise prices?"}]}]),
            "one message: no breakpoint in the conversation"
        );
        assert_eq!(body["tools"].as_array().unwrap().len(), 1);
        assert_eq!(body["tools"][0]["name"], "answer");
        assert_eq!(body["tools"][0]["input_schema"], object_schema());
        assert_eq!(body["tool_choice"], json!({"type":"tool","name":"answer"}));
        for absent in ["seed", "response_format", "Authorization", "stream"] {
            assert!(body.get(absent).is_none(), "{absent} in {body}");
        }
        let mut fields: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "max_tokens",
                "messages",
                "model",
                "system",
                "temperature",
                "tool_choice",
                "tools"
            ],
            "nothing else: no seed, no response_format"
        );
        // No temperature, no schema: neither field.
        let plain = m
            .wire_request(&[Message::user("hi")], (0, &[]), 10, None, None)
            .unwrap();
        assert!(plain.get("temperature").is_none() && plain.get("tools").is_none());
        assert!(plain.get("system").is_none() && plain.get("tool_choice").is_none());
        let low = m
            .wire_request(&[Message::user("hi")], (0, &[]), 10, Some(-0.5), None)
            .unwrap();
        assert_eq!(low["temperature"], 0.0);
    }

    #[test]
    fn a_follow_up_caches_the_earlier_exchange_and_the_system_prompt() {
        let messages = [
            Message::system("Persona."),
            Message::system("The board."),
            Message::user("Q1"),
            Message::assistant("A1"),
            Message::user("Q2"),
        ];
        let body = model(true)
            .wire_request(&messages, (0, &[]), 100, None, None)
            .unwrap();
        let system = body["system"].as_array().unwrap();
        assert_eq!(system.len(), 2);
        assert!(system[0].get("cache_control").is_none());
        assert_eq!(system[1]["cache_control"], json!({"type":"ephemeral"}));
        let conv = body["messages"].as_array().unwrap();
        assert_eq!(conv.len(), 3);
        assert_eq!(conv[1]["role"], "assistant");
        assert_eq!(
            conv[1]["content"][0],
            json!({"type":"text","text":"A1","cache_control":{"type":"ephemeral"}})
        );
        assert!(conv[0]["content"][0].get("cache_control").is_none());
        assert!(conv[2]["content"][0].get("cache_control").is_none());

        let uncached = model(false)
            .wire_request(&messages, (0, &[]), 100, None, None)
            .unwrap();
        assert!(
            !uncached.to_string().contains("cache_control"),
            "{uncached}"
        );
    }

    #[test]
    fn cache_points_cut_the_last_message_into_marked_blocks() {
        let question = "The question: \"\"\"Raise prices?\"\"\"\n";
        let summaries = "So far: round 1 said yes.\n";
        let rest = "Round 2 of 5: challenge the premise.";
        let text = format!("{question}{summaries}{rest}");
        let points = [
            question.len(),
            question.len() + summaries.len(),
            0,
            text.len(),
        ];
        let body = model(true)
            .wire_request(
                &[
                    Message::system("You are the CFO."),
                    Message::user(text.clone()),
                ],
                (1, &points),
                100,
                None,
                None,
            )
            .unwrap();
        let blocks = body["messages"][0]["content"].as_array().unwrap();
        let texts: Vec<&str> = blocks.iter().map(|b| b["text"].as_str().unwrap()).collect();
        assert_eq!(
            texts,
            [question, summaries, rest],
            "cut at the points inside the text only"
        );
        let marked: Vec<bool> = blocks
            .iter()
            .map(|b| b.get("cache_control").is_some())
            .collect();
        assert_eq!(marked, [true, true, false]);
        assert_eq!(body["system"][0]["cache_control"]["type"], "ephemeral");
        assert!(body.to_string().matches("cache_control").count() <= MAX_CACHE_MARKS);
        // Without caching the message stays whole.
        let plain = model(false)
            .wire_request(
                &[Message::user(text.clone())],
                (0, &points),
                100,
                None,
                None,
            )
            .unwrap();
        assert_eq!(plain["messages"][0]["content"][0]["text"], text.as_str());
        assert_eq!(plain["messages"][0]["content"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn the_conversation_opens_with_the_user_and_merges_runs() {
        let body = model(false)
            .wire_request(
                &[
                    Message::assistant("Earlier I said A. "),
                    Message::user("Why?"),
                    Message::user("Be brief."),
                    Message::user("   "),
                    Message::assistant("Because "),
                ],
                (0, &[]),
                100,
                None,
                None,
            )
            .unwrap();
        let conv = body["messages"].as_array().unwrap();
        assert_eq!(conv.len(), 4);
        assert_eq!(conv[0]["role"], "user");
        assert_eq!(conv[0]["content"][0]["text"], OPENING);
        assert_eq!(conv[1]["content"][0]["text"], "Earlier I said A. ");
        assert_eq!(
            conv[2]["content"],
            json!([{"type":"text","text":"Why?"},{"type":"text","text":"Be brief."}])
        );
        assert_eq!(
            conv[3]["content"][0]["text"], "Because",
            "a prefill ends without whitespace"
        );
        let err = model(false)
            .wire_request(&[Message::system("only rules")], (0, &[]), 10, None, None)
            .unwrap_err();
        assert!(matches!(err, LlmError::InvalidRequest(_)), "{err:?}");
    }

    #[test]
    fn a_schema_that_is_not_an_object_is_wrapped_and_unwrapped() {
        let schema = json!({"type":"array","items":{"$ref":"#/$defs/id"},"minItems":1,"$defs":{"id":{"type":"string"}}});
        let tool = AnswerTool::for_schema(&schema);
        assert!(tool.wrapped);
        assert_eq!(tool.input_schema["type"], "object");
        assert_eq!(tool.input_schema["required"], json!(["answer"]));
        assert_eq!(
            tool.input_schema["$defs"],
            json!({"id":{"type":"string"}}),
            "definitions move to the root their references point at"
        );
        assert!(tool.input_schema["properties"]["answer"]
            .get("$defs")
            .is_none());
        jsonschema::validator_for(&tool.input_schema).unwrap();
        let done = Completion {
            text: String::new(),
            tool_input: Some(json!({"answer": ["cfo", "cto"]})),
            finish_reason: FinishReason::Stop,
            usage: Usage::none(),
            model: "m".into(),
        };
        let (text, value) = structured(&done, &tool, &validator(&schema)).unwrap();
        assert_eq!(value, json!(["cfo", "cto"]));
        assert_eq!(text, r#"["cfo","cto"]"#);
        let bad = Completion {
            tool_input: Some(json!({"answer": []})),
            ..done
        };
        let (text, problem) = structured(&bad, &tool, &validator(&schema)).unwrap_err();
        assert_eq!(text, "[]");
        assert!(problem.contains("less than 1 item"), "{problem}");
    }

    fn decode(body: &str) -> Result<Completion, LlmError> {
        model(true).decode(200, body, None, None)
    }

    #[test]
    fn a_tool_use_answer_is_read_with_its_usage() {
        let body = r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-test-20250101",
            "content":[{"type":"text","text":"Here it is."},{"type":"tool_use","id":"toolu_1","name":"answer","input":{"verdict":"yes","confidence":70}}],
            "stop_reason":"tool_use","stop_sequence":null,
            "usage":{"input_tokens":50,"output_tokens":20,"cache_read_input_tokens":1000,"cache_creation_input_tokens":30}}"#;
        let done = decode(body).unwrap();
        assert_eq!(done.finish_reason, FinishReason::Stop);
        assert_eq!(done.model, "claude-test-20250101");
        assert_eq!(done.text, "Here it is.");
        assert_eq!(
            done.usage.prompt_tokens,
            Some(1080),
            "input + cache read + cache write"
        );
        assert_eq!(done.usage.completion_tokens, Some(20));
        assert_eq!(done.usage.cached_tokens, Some(1000));
        assert!(done.usage.is_complete());
        let schema = object_schema();
        let tool = AnswerTool::for_schema(&schema);
        assert!(!tool.wrapped);
        let (text, json) = structured(&done, &tool, &validator(&schema)).unwrap();
        assert_eq!(json, json!({"verdict":"yes","confidence":70}));
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json);
    }

    #[test]
    fn text_blocks_are_joined_and_missing_usage_is_unreported() {
        let body = r#"{"type":"message","content":[{"type":"text","text":"The board "},{"type":"thinking","thinking":"…"},{"type":"text","text":"split."}],"stop_reason":"end_turn"}"#;
        let done = decode(body).unwrap();
        assert_eq!(done.text, "The board split.");
        assert!(done.tool_input.is_none());
        assert_eq!(
            done.model, "claude-test",
            "the configured name when none is sent"
        );
        assert_eq!(done.usage.prompt_tokens, None);
        assert_eq!(done.usage.unreported_calls, 1);
        // Without a cache, the prompt is `input_tokens` alone.
        let body =
            r#"{"type":"message","content":[],"usage":{"input_tokens":12,"output_tokens":3}}"#;
        let done = decode(body).unwrap();
        assert_eq!(done.usage.prompt_tokens, Some(12));
        assert_eq!(done.usage.cached_tokens, None);
        assert_eq!(done.finish_reason, FinishReason::Unknown);
    }

    #[test]
    fn stop_reasons_map_to_finish_reasons() {
        assert_eq!(finish_reason(Some("end_turn")), FinishReason::Stop);
        assert_eq!(finish_reason(Some("stop_sequence")), FinishReason::Stop);
        assert_eq!(finish_reason(Some("tool_use")), FinishReason::Stop);
        assert_eq!(finish_reason(Some("max_tokens")), FinishReason::Length);
        assert_eq!(
            finish_reason(Some("refusal")),
            FinishReason::Other("refusal".into())
        );
        assert_eq!(finish_reason(None), FinishReason::Unknown);
    }

    #[test]
    fn a_missing_tool_call_is_a_problem_unless_the_text_is_a_valid_answer() {
        let schema = object_schema();
        let tool = AnswerTool::for_schema(&schema);
        let v = validator(&schema);
        let mut done = Completion {
            text: "I would rather not.".into(),
            tool_input: None,
            finish_reason: FinishReason::Stop,
            usage: Usage::none(),
            model: "m".into(),
        };
        let (text, problem) = structured(&done, &tool, &v).unwrap_err();
        assert_eq!(text, "I would rather not.");
        assert!(
            problem.contains("did not call the `answer` tool"),
            "{problem}"
        );
        done.text = r#"{"verdict":"no","confidence":5}"#.into();
        assert_eq!(
            structured(&done, &tool, &v).unwrap().1,
            json!({"verdict":"no","confidence":5})
        );
        done.text = String::new();
        let (_, problem) = structured(&done, &tool, &v).unwrap_err();
        assert!(problem.contains("empty"), "{problem}");
    }

    fn error_body(kind: &str, message: &str) -> String {
        json!({"type":"error","error":{"type":kind,"message":message},"request_id":"req_011"})
            .to_string()
    }

    #[test]
    fn error_shapes_map_to_council_errors() {
        let m = model(true);
        let overloaded = error_body("overloaded_error", "Overloaded");
        let e = m.decode(529, &overloaded, None, None).err().unwrap();
        assert!(matches!(e, LlmError::Http { status: 529, .. }), "{e:?}");
        assert!(e.is_retryable());
        assert!(
            e.to_string().contains("overloaded_error: Overloaded"),
            "{e}"
        );
        assert!(e.to_string().contains("req_011"), "{e}");
        // Overloaded under another status, and inside a 200 body.
        for status in [200, 500] {
            let e = m.decode(status, &overloaded, None, None).err().unwrap();
            assert!(matches!(e, LlmError::Http { status: 529, .. }), "{e:?}");
            assert!(e.is_retryable());
        }

        let e = m
            .decode(
                401,
                &error_body("authentication_error", "invalid x-api-key"),
                None,
                Some("req_head"),
            )
            .err()
            .unwrap();
        assert!(matches!(e, LlmError::Auth { status: 401, .. }), "{e:?}");
        assert!(e.to_string().contains("ANTHROPIC_API_KEY"), "{e}");
        assert!(
            e.to_string().contains("req_head"),
            "the header's id first: {e}"
        );
        assert!(!e.is_retryable());
        let e = m
            .decode(403, &error_body("permission_error", "no"), None, None)
            .err()
            .unwrap();
        assert!(matches!(e, LlmError::Auth { status: 403, .. }), "{e:?}");

        let e = m
            .decode(
                429,
                &error_body(
                    "rate_limit_error",
                    "Number of request tokens has exceeded your per-minute rate limit",
                ),
                Some(Duration::from_secs(7)),
                None,
            )
            .err()
            .unwrap();
        assert!(matches!(e, LlmError::Http { status: 429, .. }), "{e:?}");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(e.is_retryable());
        let spend = json!({"type":"error","error":{"type":"rate_limit_error","message":"spend limit","details":{"error_code":"enforced_spend_limit_reached"}}}).to_string();
        let e = m.decode(429, &spend, None, None).err().unwrap();
        assert!(matches!(e, LlmError::QuotaExhausted { .. }), "{e:?}");
        let e = m
            .decode(
                400,
                &error_body(
                    "invalid_request_error",
                    "Your credit balance is too low to access the Anthropic API.",
                ),
                None,
                None,
            )
            .err()
            .unwrap();
        assert!(matches!(e, LlmError::QuotaExhausted { .. }), "{e:?}");

        let e = m
            .decode(
                400,
                &error_body(
                    "invalid_request_error",
                    "max_tokens: 99999 > 64000, the maximum",
                ),
                None,
                None,
            )
            .err()
            .unwrap();
        assert!(matches!(e, LlmError::Http { status: 400, .. }), "{e:?}");
        assert!(e.to_string().contains("max_tokens: 99999 > 64000"), "{e}");
        assert!(!e.is_retryable());

        let e = m
            .decode(500, &error_body("api_error", "Internal"), None, None)
            .err()
            .unwrap();
        assert!(matches!(e, LlmError::Http { status: 500, .. }) && e.is_retryable());
        let e = m
            .decode(502, "<html>bad gateway</html>", None, None)
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("bad gateway") && e.is_retryable(),
            "{e}"
        );
        let e = m.decode(200, "not json", None, None).err().unwrap();
        assert!(
            matches!(e, LlmError::BadResponse { .. }) && e.is_retryable(),
            "{e:?}"
        );
        let e = m
            .decode(200, &error_body("invalid_request_error", "bad"), None, None)
            .err()
            .unwrap();
        assert!(matches!(e, LlmError::Http { status: 400, .. }), "{e:?}");
    }

    #[test]
    fn the_key_never_shows() {
        let m = model(true);
        let debug = format!("{m:?}");
        assert!(!debug.contains("sk-ant-unit-test-key-0001"), "{debug}");
        let e = m
            .decode(
                401,
                &error_body("authentication_error", "bad key sk-ant-unit-test-key-0001"),
                None,
                None,
            )
            .err()
            .unwrap();
        assert!(!e.to_string().contains("sk-ant-unit-test-key-0001"), "{e}");
        assert!(
            !format!("{e:?}").contains("sk-ant-unit-test-key-0001"),
            "{e:?}"
        );
        let info = m.info();
        assert_eq!(info.backend, "anthropic");
        assert!(info.capabilities.native_json_schema && !info.capabilities.seeded);
        assert!(info.capabilities.concurrent && !info.capabilities.offline);
        assert!(!info.capabilities.small);
    }

    #[test]
    fn a_base_url_without_a_scheme_is_refused() {
        let e = Anthropic::new(AnthropicSettings::new("api.anthropic.com/v1", "m")).unwrap_err();
        assert!(matches!(e, LlmError::Config(_)), "{e:?}");
        let d = AnthropicSettings::new(DEFAULT_BASE_URL, "m");
        assert_eq!(d.version, "2023-06-01");
        assert_eq!(d.key_var, "ANTHROPIC_API_KEY");
        assert!(d.prompt_cache);
        assert_eq!(d.request_timeout, Duration::from_secs(300));
        assert_eq!(d.connect_timeout, Duration::from_secs(10));
    }
}
