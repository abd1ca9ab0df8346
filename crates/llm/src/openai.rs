//! The OpenAI-compatible HTTP backend (OpenAI, Ollama, vLLM, llama.cpp's
//! server, OpenRouter…).
//!
//! Requests are built with `async-openai`'s types; the transport is a plain
//! `reqwest` client with no retries of its own, so [`RetryPolicy`] is the one
//! retry loop and sees every status code and `Retry-After` header. Responses
//! are decoded leniently: a missing `usage` is "not reported", an unknown
//! `finish_reason` is kept verbatim, and an `error` object inside a 200 body
//! is an error.
//!
//! Providers differ in small ways, set by [`crate::provider`]'s presets:
//! Azure's deployment URL, `api-version` and `api-key` header, OpenRouter's
//! attribution headers, `strict: true` schemas where the provider takes
//! them (made strict-compatible by [`schema::strict`]), and streaming:
//! with `stream` on, the answer arrives as server-sent events, each piece
//! goes to the caller's sink, the usage comes in the last chunk
//! (`stream_options.include_usage`), a pause longer than `idle_timeout`
//! or a stream that ends before its finish is a transient fault, and an
//! `error` event inside the stream is an error with the provider's words.

use crate::answer::{self, Answered, Attempt};
use crate::circuit::Circuit;
use crate::http::shorten;
use crate::provider::{KeyHeader, Provider};
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::schema::{self, Validator};
use crate::{
    Capabilities, ChatModel, ChatRequest, ChatResponse, FinishReason, LlmError, Message, ModelInfo,
    Role, TextSink,
};
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestMessage,
    ChatCompletionRequestSystemMessage, ChatCompletionRequestUserMessage,
    ChatCompletionStreamOptions, CreateChatCompletionRequest, ResponseFormat,
    ResponseFormatJsonSchema,
};
use async_trait::async_trait;
use council_core::Usage;
use serde::Deserialize;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// An API key that never prints.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Settings for one OpenAI-compatible endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// Base URL up to and including `/v1`.
    pub base_url: String,
    /// Model name the server knows.
    pub model: String,
    /// The key, if the server needs one.
    pub api_key: Option<ApiKey>,
    /// The environment variable the key came from (named in auth errors).
    pub key_var: String,
    /// Whether to send `response_format: json_schema`.
    pub native_json_schema: bool,
    /// Limit for one whole HTTP exchange.
    pub request_timeout: Duration,
    /// Limit for establishing the connection.
    pub connect_timeout: Duration,
    /// Retry behaviour for transient failures.
    pub retry: RetryPolicy,
    /// The provider this endpoint belongs to, if known (named in messages).
    pub provider: Option<Provider>,
    /// How the key is sent.
    pub key_header: KeyHeader,
    /// Azure's `api-version` query parameter.
    pub api_version: Option<String>,
    /// Extra headers sent with every request (OpenRouter's attribution).
    pub headers: Vec<(String, String)>,
    /// Whether schemas go out as `strict: true` (made strict-compatible).
    pub strict: bool,
    /// Whether answers are streamed.
    pub stream: bool,
    /// Longest pause between two streamed chunks before the attempt counts as failed.
    pub idle_timeout: Duration,
}

impl OpenAiSettings {
    /// Settings with Council's defaults for the given endpoint and model.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiSettings {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            key_var: "OPENAI_API_KEY".into(),
            native_json_schema: true,
            request_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            provider: None,
            key_header: KeyHeader::Bearer,
            api_version: None,
            headers: Vec::new(),
            strict: false,
            stream: false,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// A chat model behind an OpenAI-compatible `/chat/completions` endpoint.
pub struct OpenAiCompatible {
    settings: OpenAiSettings,
    http: reqwest::Client,
    url: String,
    /// Cleared when the server rejects `response_format: json_schema`.
    schema_supported: AtomicBool,
    /// Whether the server is still there.
    circuit: Circuit,
}

impl fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("settings", &self.settings)
            .finish()
    }
}

impl OpenAiCompatible {
    /// Builds the client; fails only on an unusable TLS setup or URL.
    pub fn new(settings: OpenAiSettings) -> Result<Self, LlmError> {
        let http = crate::http::client(settings.connect_timeout, settings.request_timeout)?;
        let base = crate::http::base(&settings.base_url, "http://127.0.0.1:8080/v1")?;
        let url = match &settings.api_version {
            Some(v) => format!("{base}/chat/completions?api-version={v}"),
            None => format!("{base}/chat/completions"),
        };
        let schema_supported = AtomicBool::new(settings.native_json_schema);
        Ok(OpenAiCompatible {
            circuit: Circuit::new(&base),
            settings,
            http,
            url,
            schema_supported,
        })
    }

    fn wire_request(
        &self,
        request: &ChatRequest,
        messages: &[Message],
        native_schema: bool,
    ) -> CreateChatCompletionRequest {
        let messages = messages.iter().map(to_wire).collect();
        let response_format = match (&request.schema, native_schema) {
            (Some(spec), true) if self.settings.strict => Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: None,
                    name: spec.name.clone(),
                    schema: schema::strict(&spec.schema),
                    strict: Some(true),
                },
            }),
            (Some(spec), true) => Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    description: None,
                    name: spec.name.clone(),
                    schema: spec.schema.clone(),
                    strict: None,
                },
            }),
            _ => None,
        };
        CreateChatCompletionRequest {
            model: self.settings.model.clone(),
            messages,
            max_completion_tokens: None,
            // `max_tokens` is what every compatible server understands.
            #[allow(deprecated)]
            max_tokens: request.max_tokens,
            temperature: request.temperature,
            // Deprecated by OpenAI, still honoured by llama.cpp, vLLM and Ollama.
            #[allow(deprecated)]
            seed: request.seed.map(|s| (s & 0x7fff_ffff_ffff_ffff) as i64),
            response_format,
            stream: self.settings.stream.then_some(true),
            stream_options: self.settings.stream.then_some(ChatCompletionStreamOptions {
                include_usage: Some(true),
                include_obfuscation: None,
            }),
            ..Default::default()
        }
    }

    /// One HTTP exchange, no retries; a streamed answer's pieces go to `sink`.
    async fn send_once(
        &self,
        body: &CreateChatCompletionRequest,
        sink: &TextSink<'_>,
    ) -> Result<Completion, LlmError> {
        let mut req = self.http.post(&self.url).json(body);
        if let Some(key) = &self.settings.api_key {
            req = match self.settings.key_header {
                KeyHeader::Bearer => req.bearer_auth(key.expose()),
                KeyHeader::ApiKey => req.header("api-key", key.expose()),
            };
        }
        for (k, v) in &self.settings.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.map_err(|e| self.transport_error(e))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let streamed = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if streamed && (200..300).contains(&status) {
            return self.read_stream(resp, sink).await;
        }
        let text = resp.text().await.map_err(|e| self.transport_error(e))?;
        if !(200..300).contains(&status) {
            return Err(self.status_error(status, &text, retry_after));
        }
        let wire: WireResponse =
            serde_json::from_str(&text).map_err(|e| LlmError::BadResponse {
                url: self.url.clone(),
                message: format!("not a chat completion ({e}): {}", shorten(&text)),
                spent: crate::Spent::NONE,
            })?;
        if let Some(err) = wire.error {
            // Some servers report failures inside a 200 body.
            return Err(self.error_object(err));
        }
        let choice = wire
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::BadResponse {
                url: self.url.clone(),
                message: "the response has no choices".into(),
                spent: crate::Spent::NONE,
            })?;
        let text = choice.message.and_then(|m| m.content).unwrap_or_default();
        sink(&text);
        Ok(Completion {
            text,
            finish_reason: FinishReason::from_wire(choice.finish_reason.as_deref()),
            usage: usage_of(wire.usage),
            model: wire.model.unwrap_or_else(|| self.settings.model.clone()),
        })
    }

    /// Reads a streamed completion: content deltas to `sink`, the usage
    /// from the last chunk; a pause past the idle limit, an `error` event
    /// or an end before any `finish_reason` fails the attempt.
    async fn read_stream(
        &self,
        resp: reqwest::Response,
        sink: &TextSink<'_>,
    ) -> Result<Completion, LlmError> {
        use eventsource_stream::Eventsource;
        use futures::StreamExt;
        let mut events = resp.bytes_stream().eventsource();
        let mut text = String::new();
        let mut finish: Option<String> = None;
        let mut usage = None;
        let mut model = None;
        loop {
            let next = tokio::time::timeout(self.settings.idle_timeout, events.next())
                .await
                .map_err(|_| LlmError::Stalled {
                    url: self.url.clone(),
                    after: self.settings.idle_timeout,
                    spent: crate::Spent::NONE,
                })?;
            let Some(event) = next else { break };
            let event = event.map_err(|e| LlmError::BadResponse {
                url: self.url.clone(),
                message: format!("the stream broke off mid-answer: {e}"),
                spent: crate::Spent::NONE,
            })?;
            let data = event.data.trim();
            if data == "[DONE]" {
                break;
            }
            if data.is_empty() {
                continue;
            }
            let chunk: WireChunk =
                serde_json::from_str(data).map_err(|e| LlmError::BadResponse {
                    url: self.url.clone(),
                    message: format!("a streamed chunk is not JSON ({e}): {}", shorten(data)),
                    spent: crate::Spent::NONE,
                })?;
            if let Some(err) = chunk.error {
                return Err(self.error_object(err));
            }
            if chunk.model.is_some() {
                model = chunk.model;
            }
            if chunk.usage.is_some() {
                usage = chunk.usage;
            }
            for choice in chunk.choices {
                if let Some(piece) = choice.delta.and_then(|d| d.content) {
                    if !piece.is_empty() {
                        sink(&piece);
                        text.push_str(&piece);
                    }
                }
                if choice.finish_reason.is_some() {
                    finish = choice.finish_reason;
                }
            }
        }
        if finish.is_none() {
            return Err(LlmError::BadResponse {
                url: self.url.clone(),
                message: format!(
                    "the stream ended before the answer did ({} characters received)",
                    text.chars().count()
                ),
                spent: crate::Spent::NONE,
            });
        }
        Ok(Completion {
            text,
            finish_reason: FinishReason::from_wire(finish.as_deref()),
            usage: usage_of(usage),
            model: model.unwrap_or_else(|| self.settings.model.clone()),
        })
    }

    /// An `error` object a server sent in a 200 body or a stream.
    fn error_object(&self, err: WireError) -> LlmError {
        let status = err
            .code
            .as_ref()
            .and_then(|c| {
                c.as_u64()
                    .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
            })
            .filter(|c| (400..600).contains(c))
            .unwrap_or(500) as u16;
        let message = match (err.message, err.kind) {
            (Some(m), Some(k)) => format!("{k}: {m}"),
            (Some(m), None) => m,
            (None, Some(k)) => k,
            (None, None) => "an error without a message".into(),
        };
        self.status_error(status, &message, None)
    }

    fn transport_error(&self, e: reqwest::Error) -> LlmError {
        crate::http::transport_error(
            e,
            &self.url,
            self.settings.connect_timeout,
            self.settings.request_timeout,
        )
    }

    fn status_error(&self, status: u16, body: &str, retry_after: Option<Duration>) -> LlmError {
        let url = self.url.clone();
        let body = shorten(body);
        let lower = body.to_ascii_lowercase();
        match status {
            401 | 403 => LlmError::Auth {
                url,
                status,
                key_var: self.settings.key_var.clone(),
                body,
                spent: crate::Spent::NONE,
            },
            429 if lower.contains("insufficient_quota")
                || lower.contains("quota exceeded")
                || lower.contains("exceeded your current quota") =>
            {
                LlmError::QuotaExhausted {
                    url,
                    status,
                    body,
                    spent: crate::Spent::NONE,
                }
            }
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
impl ChatModel for OpenAiCompatible {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            backend: "openai-compatible".into(),
            model: self.settings.model.clone(),
            location: self.settings.base_url.clone(),
            capabilities: Capabilities {
                native_json_schema: self.schema_supported.load(Ordering::Relaxed),
                seeded: true,
                concurrent: true,
                offline: false,
                context_tokens: None,
                small: false,
            },
        }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.chat_streaming(request, &|_| {}).await
    }

    async fn chat_streaming(
        &self,
        request: &ChatRequest,
        sink: &TextSink<'_>,
    ) -> Result<ChatResponse, LlmError> {
        if request.messages.is_empty() {
            return Err(LlmError::InvalidRequest(
                "a chat request needs at least one message".into(),
            ));
        }
        let Some(spec) = &request.schema else {
            return self.ask(request, None, false, sink).await;
        };
        let validator = Validator::new(spec)?;
        let native = self.schema_supported.load(Ordering::Relaxed);
        match self.ask(request, Some(&validator), native, sink).await {
            Err(e)
                if native
                    && matches!(&e, LlmError::Http { status: 400, body, .. }
                        if body.to_ascii_lowercase().contains("response_format")) =>
            {
                tracing::warn!("{} rejects response_format json_schema; putting the schema in the prompt instead", self.url);
                self.schema_supported.store(false, Ordering::Relaxed);
                let refused = e.spent();
                self.ask(request, Some(&validator), false, sink)
                    .await
                    .map_err(|e| {
                        let spent = e.spent() + refused;
                        e.with_spent(spent)
                    })
            }
            other => other,
        }
    }
}

impl OpenAiCompatible {
    /// Runs one call through the answer loop ([`crate::answer`]): with a
    /// `validator`, an answer valid for the request's schema, sent as
    /// `response_format` when `native` (strict where the provider takes
    /// it), else as an instruction in the prompt.
    async fn ask(
        &self,
        request: &ChatRequest,
        validator: Option<&Validator>,
        native: bool,
        sink: &TextSink<'_>,
    ) -> Result<ChatResponse, LlmError> {
        let strict = native && self.settings.strict;
        let mut messages = request.messages.clone();
        let spec = request.schema.as_ref().filter(|_| validator.is_some());
        if let (Some(spec), false) = (spec, native) {
            messages.push(Message::user(schema::instruction(spec)));
        }
        let first = Attempt {
            messages,
            max_tokens: request.max_tokens,
            seed: request.seed,
        };
        let send = |a: Attempt| async move {
            let mut shaped = request.clone();
            shaped.max_tokens = a.max_tokens;
            shaped.seed = a.seed;
            let body = self.wire_request(&shaped, &a.messages, native && spec.is_some());
            // A retried attempt starts its text again.
            sink("");
            let done = self.send_once(&body, sink).await?;
            let checked = validator.map(|v| {
                if strict {
                    v.check_strict(&done.text)
                } else {
                    v.check(&done.text)
                }
            });
            Ok(Answered {
                text: done.text,
                checked,
                finish_reason: done.finish_reason,
                usage: done.usage,
                model: done.model,
            })
        };
        answer::ask(
            &self.settings.retry,
            Some(&self.circuit),
            spec.map(|s| s.name.as_str()),
            first,
            send,
        )
        .await
    }
}

fn to_wire(m: &Message) -> ChatCompletionRequestMessage {
    match m.role {
        Role::System => ChatCompletionRequestSystemMessage::from(
            async_openai::types::chat::ChatCompletionRequestSystemMessageContent::from(
                m.content.as_str(),
            ),
        )
        .into(),
        Role::User => ChatCompletionRequestUserMessage::from(
            async_openai::types::chat::ChatCompletionRequestUserMessageContent::from(
                m.content.as_str(),
            ),
        )
        .into(),
        Role::Assistant => ChatCompletionRequestAssistantMessage {
            content: Some(
                async_openai::types::chat::ChatCompletionRequestAssistantMessageContent::Text(
                    m.content.clone(),
                ),
            ),
            ..Default::default()
        }
        .into(),
    }
}

struct Completion {
    text: String,
    finish_reason: FinishReason,
    usage: Usage,
    model: String,
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    choices: Vec<WireChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    /// OpenAI's breakdown: `cached_tokens` of the prompt were served from its cache.
    #[serde(default)]
    prompt_tokens_details: Option<WireTokenDetails>,
}

#[derive(Deserialize)]
struct WireTokenDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    code: Option<serde_json::Value>,
}

/// One streamed chunk (`chat.completion.chunk`).
#[derive(Deserialize)]
struct WireChunk {
    #[serde(default)]
    choices: Vec<WireChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct WireChunkChoice {
    #[serde(default)]
    delta: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

/// A wire usage block in Council's terms.
fn usage_of(usage: Option<WireUsage>) -> Usage {
    match usage {
        Some(WireUsage {
            prompt_tokens: Some(p),
            completion_tokens: Some(c),
            prompt_tokens_details,
        }) => {
            Usage::reported(p, c).with_cached(prompt_tokens_details.and_then(|d| d.cached_tokens))
        }
        Some(WireUsage {
            prompt_tokens,
            completion_tokens,
            prompt_tokens_details,
        }) => Usage {
            prompt_tokens,
            completion_tokens,
            cached_tokens: prompt_tokens_details.and_then(|d| d.cached_tokens),
            calls: 1,
            unreported_calls: u32::from(prompt_tokens.is_none() && completion_tokens.is_none()),
        },
        None => Usage::unreported(),
    }
}
