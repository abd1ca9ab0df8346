//! The one error type of the model layer.
//!
//! An error's text may quote what a server sent, and a server may quote
//! back the API key it refused (or a proxy the headers it received). Every
//! key read from the environment is passed to [`never_show`], and every
//! text an error shows that came from outside Council goes through
//! [`scrub`], so a key reaches no log line, message or transcript.

use std::path::PathBuf;
use std::sync::RwLock;
use std::time::Duration;

/// The keys this process read; never shown in an error's text.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Shorter strings are not keys: hiding them would mangle messages.
const SHORTEST_SECRET: usize = 8;

/// Marks `secret` (an API key) as never to be shown: from now on every
/// error's text shows `<redacted>` in its place. Called where keys are read
/// from the environment ([`crate::config::resolve`], [`crate::pool::Pool::new`]).
pub fn never_show(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < SHORTEST_SECRET {
        return;
    }
    let mut all = SECRETS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !all.iter().any(|s| s == secret) {
        all.push(secret.to_string());
    }
}

/// `text` with every secret given to [`never_show`] replaced by `<redacted>`.
pub(crate) fn scrub(text: &str) -> String {
    let all = SECRETS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    all.iter()
        .fold(text.to_string(), |t, s| t.replace(s.as_str(), "<redacted>"))
}

/// What went wrong talking to a model, in the user's terms.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The caller's spending limit does not allow this call; it was not made.
    #[error("budget reached: {0}")]
    Budget(String),
    /// The server refused the credentials.
    #[error("{} answered HTTP {status}: the API key was refused; set a valid key in {key_var} ({})", scrub(.url), scrub(.body))]
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
    #[error("{} answered HTTP {status}: quota exhausted; check the account's billing or limits ({})", scrub(.url), scrub(.body))]
    QuotaExhausted {
        /// The endpoint.
        url: String,
        /// Usually 429.
        status: u16,
        /// The server's message, shortened.
        body: String,
    },
    /// Any other non-success HTTP status.
    #[error("{} answered HTTP {status}: {}", scrub(.url), scrub(.body))]
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
    #[error("could not connect to {}: {}; check --base-url / COUNCIL_BASE_URL and that the server is running", scrub(.url), scrub(.message))]
    Connect {
        /// The endpoint.
        url: String,
        /// The transport's description.
        message: String,
    },
    /// No complete answer arrived in time.
    #[error(
        "{} did not answer within {after:?} (raise COUNCIL_TIMEOUT_SECS if the model is slow)",
        scrub(.url)
    )]
    Timeout {
        /// The endpoint.
        url: String,
        /// The limit that was hit.
        after: Duration,
    },
    /// A streamed answer stopped arriving mid-way.
    #[error(
        "{} stopped streaming for {after:?} mid-answer (raise stream_idle_timeout_secs in the config if the model pauses that long)",
        scrub(.url)
    )]
    Stalled {
        /// The endpoint.
        url: String,
        /// The idle limit that was hit.
        after: Duration,
    },
    /// The server's answer could not be understood.
    #[error("{} sent a response Council cannot read: {}", scrub(.url), scrub(.message))]
    BadResponse {
        /// The endpoint.
        url: String,
        /// What was wrong with it.
        message: String,
    },
    /// The answer still did not satisfy the schema after the repair retry.
    #[error("the model's answer is not valid JSON for schema `{schema}` even after one repair retry: {}", scrub(.problem))]
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
            LlmError::Connect { .. } | LlmError::Timeout { .. } | LlmError::Stalled { .. } => true,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_quoted_by_the_server_is_never_shown() {
        let key = "sk-error-test-51d0c3a9";
        never_show(key);
        never_show("short"); // not a key: left alone
        let e = LlmError::Auth {
            url: "http://x/v1".into(),
            status: 401,
            key_var: "COUNCIL_API_KEY".into(),
            body: format!("Incorrect API key provided: {key}; a short word stays"),
        };
        let shown = e.to_string();
        assert!(!shown.contains(key), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("short word"));
        let e = LlmError::Http {
            url: format!("http://x/v1?key={key}"),
            status: 500,
            body: format!("upstream said Authorization: Bearer {key}"),
            retry_after: None,
        };
        assert!(!e.to_string().contains(key), "{e}");
    }
}
