//! Provider-neutral request and response types.

use council_core::Usage;
use serde::{Deserialize, Serialize};

/// Who speaks a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The asker.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The role's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: Role,
    /// What they say.
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A JSON schema the answer must satisfy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaSpec {
    /// A short identifier (letters, digits, `_`, `-`), sent as the schema's name.
    pub name: String,
    /// The JSON Schema itself.
    pub schema: serde_json::Value,
}

/// One chat completion request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Upper bound on generated tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature; backend default when absent.
    pub temperature: Option<f32>,
    /// Sampling seed, for backends that honour one.
    pub seed: Option<u64>,
    /// When set, the answer must be JSON valid against this schema.
    pub schema: Option<SchemaSpec>,
    /// Byte offsets into the last message's text after which related
    /// requests (the same advisor's next round) stop sharing it: a backend
    /// with explicit prompt caching (Anthropic) marks them. A hint only:
    /// never sent as such, recorded or part of a cassette's key.
    #[serde(skip)]
    pub cache_points: Vec<usize>,
}

impl ChatRequest {
    /// A request for a free-text answer to one user prompt.
    pub fn prompt(text: impl Into<String>) -> Self {
        ChatRequest {
            messages: vec![Message::user(text)],
            max_tokens: None,
            temperature: None,
            seed: None,
            schema: None,
            cache_points: Vec::new(),
        }
    }

    /// A request with the given messages and nothing else set.
    pub fn new(messages: Vec<Message>) -> Self {
        ChatRequest {
            messages,
            max_tokens: None,
            temperature: None,
            seed: None,
            schema: None,
            cache_points: Vec::new(),
        }
    }

    /// Sets the generated-token limit.
    pub fn with_max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }

    /// Sets the sampling seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the temperature.
    pub fn with_temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }

    /// Marks where the last message's text stops being shared with related
    /// requests (see [`ChatRequest::cache_points`]).
    pub fn with_cache_points(mut self, points: Vec<usize>) -> Self {
        self.cache_points = points;
        self
    }

    /// Asks for JSON valid against `schema`.
    pub fn with_schema(mut self, name: impl Into<String>, schema: serde_json::Value) -> Self {
        self.schema = Some(SchemaSpec {
            name: name.into(),
            schema,
        });
        self
    }
}

/// Why generation stopped, as the backend said it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end or a stop sequence.
    Stop,
    /// The token limit was reached.
    Length,
    /// The server filtered the content.
    ContentFilter,
    /// The model asked for a tool.
    ToolCalls,
    /// Anything else a server sent, kept verbatim.
    Other(String),
    /// The server sent none.
    Unknown,
}

impl FinishReason {
    /// Maps a wire value leniently: unknown strings are kept, not rejected.
    pub fn from_wire(s: Option<&str>) -> Self {
        match s {
            None => FinishReason::Unknown,
            Some("stop") | Some("eos") | Some("end_turn") | Some("stop_sequence") => {
                FinishReason::Stop
            }
            Some("length") | Some("max_tokens") => FinishReason::Length,
            Some("content_filter") => FinishReason::ContentFilter,
            Some("tool_calls") | Some("function_call") => FinishReason::ToolCalls,
            Some(other) => FinishReason::Other(other.to_string()),
        }
    }
}

/// A completed chat call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer text as generated.
    pub text: String,
    /// The answer parsed and validated, when the request carried a schema.
    pub json: Option<serde_json::Value>,
    /// Why generation stopped.
    pub finish_reason: FinishReason,
    /// Tokens spent, including any repair retry.
    pub usage: Usage,
    /// The model that answered, as the backend names it.
    pub model: String,
    /// Answers the model generated for this call: 1 when the first was
    /// valid, 2 when a repair (or, embedded, a second draw) was needed.
    /// Transport retries of a failed exchange are not answers.
    #[serde(default = "one")]
    pub attempts: u32,
}

fn one() -> u32 {
    1
}

/// What a backend can do, declared rather than guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The server itself constrains output to a JSON schema.
    pub native_json_schema: bool,
    /// Sampling can be seeded for repeatable answers.
    pub seeded: bool,
    /// Requests run concurrently share the backend efficiently.
    pub concurrent: bool,
    /// Needs no network.
    pub offline: bool,
    /// Context window in tokens, if known.
    pub context_tokens: Option<u32>,
    /// A small model (under a billion parameters): callers ask for short
    /// answers and show it short prompts.
    #[serde(default)]
    pub small: bool,
}

impl Capabilities {
    /// A model in this process that can do everything a run asks (fakes,
    /// replays): schema-constrained, seeded, concurrent, offline, not small.
    pub fn in_process() -> Self {
        Capabilities {
            native_json_schema: true,
            seeded: true,
            concurrent: true,
            offline: true,
            context_tokens: None,
            small: false,
        }
    }
}

/// Which backend and model would answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Backend name: `openai-compatible`, `embedded`, `replay`, `record`.
    pub backend: String,
    /// Model name or file.
    pub model: String,
    /// Where it lives: a base URL, a file path or a cassette path.
    pub location: String,
    /// Its capabilities.
    pub capabilities: Capabilities,
}
