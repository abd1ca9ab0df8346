//! The one error type of the model layer.

use std::path::PathBuf;
use std::time::Duration;

/// What went wrong talking to a model, in the user's terms.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The caller's spending limit does not allow this call; it was not made.
    #[error("budget reached: {0}")]
    Budget(String),
    /// The server refused the credentials.
    #[error("{url} answered HTTP {status}: the API key was refused; set a valid key in {key_var} ({body})")]
    Auth {
        /// The endpoint.
        url: String,
        /// 401 or 403.
        status: u16,
        /// The environment variable the key came from (or should).
        key_var: String,
        /// The server's message, shortened.
        body: String,
    },
    /// The account's quota is used up; retrying will not help.
    #[error("{url} answered HTTP {status}: quota exhausted; check the account's billing or limits ({body})")]
    QuotaExhausted {
        /// The endpoint.
        url: String,
        /// Usually 429.
        status: u16,
        /// The server's message, shortened.
        body: String,
    },
    /// Any other non-success HTTP status.
    #[error("{url} answered HTTP {status}: {body}")]
    Http {
        /// The endpoint.
        url: String,
        /// The status code.
        status: u16,
        /// The server's message, shortened.
        body: String,
        /// What the server's `Retry-After` asked for, if anything.
        retry_after: Option<Duration>,
    },
    /// The server could not be reached.
    #[error("could not connect to {url}: {message}; check --base-url / COUNCIL_BASE_URL and that the server is running")]
    Connect {
        /// The endpoint.
        url: String,
        /// The transport's description.
        message: String,
    },
    /// No complete answer arrived in time.
    #[error(
        "{url} did not answer within {after:?} (raise COUNCIL_TIMEOUT_SECS if the model is slow)"
    )]
    Timeout {
        /// The endpoint.
        url: String,
        /// The limit that was hit.
        after: Duration,
    },
    /// The server's answer could not be understood.
    #[error("{url} sent a response Council cannot read: {message}")]
    BadResponse {
        /// The endpoint.
        url: String,
        /// What was wrong with it.
        message: String,
    },
    /// The answer still did not satisfy the schema after the repair retry.
    #[error("the model's answer is not valid JSON for schema `{schema}` even after one repair retry: {problem}")]
    SchemaViolation {
        /// The schema's name.
        schema: String,
        /// The validation or parse error.
        problem: String,
        /// The offending answer, for the transcript.
        text: String,
    },
    /// The request itself is unusable (bad schema, empty messages…).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The embedded llama.cpp backend failed.
    #[error("embedded model: {0}")]
    Embedded(String),
    /// A model file is absent.
    #[error("model file not found at {path}; {fix}")]
    ModelMissing {
        /// Where it was looked for.
        path: PathBuf,
        /// The exact command or setting that fixes it.
        fix: String,
    },
    /// A replay cassette has no answer for this request.
    #[error("cassette {cassette} has no recorded answer for request {key} ({summary}); re-record with --record {cassette}")]
    CassetteMiss {
        /// The cassette file.
        cassette: PathBuf,
        /// The request's hash.
        key: String,
        /// A short, secret-free description of the request.
        summary: String,
    },
    /// Reading or writing a cassette or model file failed.
    #[error("{context}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Configuration is missing or contradictory.
    #[error("configuration: {0}")]
    Config(String),
}

impl LlmError {
    /// Whether trying the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            LlmError::Http { status, .. } => {
                matches!(status, 408 | 409 | 425 | 429) || (500..=599).contains(status)
            }
            LlmError::Connect { .. } | LlmError::Timeout { .. } => true,
            LlmError::BadResponse { .. } => true,
            _ => false,
        }
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            LlmError::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        LlmError::Io {
            context: context.into(),
            source,
        }
    }
}
