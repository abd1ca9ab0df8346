//! The one error type of the model layer.
//!
//! An error's text may quote what a server sent, and a server may quote
//! back the API key it refused (or a proxy the headers it received). Every
//! key read from the environment is passed to [`never_show`], and every
//! text an error shows that came from outside Council goes through
//! [`scrub`], so a key reaches no log line, message or transcript.

use council_core::Usage;
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

/// What a failed call had used (see [`LlmError::spent`]), boxed so that
/// an error stays small; nothing until a call says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spent(Option<Box<Usage>>);

impl Spent {
    /// Nothing spent (yet).
    pub const NONE: Spent = Spent(None);

    /// The usage, zero calls when nothing was spent.
    pub fn usage(&self) -> Usage {
        self.0.as_deref().copied().unwrap_or_default()
    }
}

impl From<Usage> for Spent {
    fn from(usage: Usage) -> Self {
        Spent(Some(Box::new(usage)))
    }
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
        /// What the call had used when it gave up (see [`LlmError::spent`]).
        spent: Spent,
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
        /// What the call had used when it gave up (see [`LlmError::spent`]).
        spent: Spent,
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
        /// What the call had used when it gave up (see [`LlmError::spent`]).
        spent: Spent,
    },
    /// The server could not be reached, or the connection broke.
    #[error("could not connect to {}: {}; check --base-url / COUNCIL_BASE_URL and that the server is running", scrub(.url), scrub(.message))]
    Connect {
        /// The endpoint.
        url: String,
        /// The transport's description.
        message: String,
        /// No connection could be made at all (refused, no such host, a
        /// failed TLS handshake): what counts towards
        /// [`LlmError::Unreachable`]. False for a connect timeout and for a
        /// connection that broke mid-exchange.
        connect_failed: bool,
        /// What the call had used when it gave up (see [`LlmError::spent`]).
        spent: Spent,
    },
    /// The server refused every connection, or its name or TLS failed,
    /// several times in a row with no answer between: the backend asks it
    /// nothing more, and every call fails at once with this error.
    #[error("cannot reach the model server at {}: {}; is it running, on that host and port? Check --base-url (or COUNCIL_BASE_URL, or base_url in the config file), then run `council doctor`", scrub(.url), scrub(.cause))]
    Unreachable {
        /// The server's base URL (or a pool's endpoints).
        url: String,
        /// The last connection failure, in the transport's words.
        cause: String,
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
        /// What the call had used when it gave up (see [`LlmError::spent`]).
        spent: Spent,
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
        /// What the call had used when it gave up (see [`LlmError::spent`]).
        spent: Spent,
    },
    /// The server's answer could not be understood.
    #[error("{} sent a response Council cannot read: {}", scrub(.url), scrub(.message))]
    BadResponse {
        /// The endpoint.
        url: String,
        /// What was wrong with it.
        message: String,
        /// What the call had used when it gave up (see [`LlmError::spent`]).
        spent: Spent,
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
        /// What the call had used when it gave up (see [`LlmError::spent`]).
        spent: Spent,
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

    /// What a failed call had used when it gave up: one call per request
    /// it sent (so `calls` counts the attempts), with the tokens its
    /// answers reported. A request the server refused or never received
    /// counts no tokens; one that may have generated before it failed (a
    /// timeout, a stall, a broken body) counts as not reported. Zero for an
    /// error raised before any request.
    pub fn spent(&self) -> Usage {
        match self {
            LlmError::Auth { spent, .. }
            | LlmError::QuotaExhausted { spent, .. }
            | LlmError::Http { spent, .. }
            | LlmError::Connect { spent, .. }
            | LlmError::Timeout { spent, .. }
            | LlmError::Stalled { spent, .. }
            | LlmError::BadResponse { spent, .. }
            | LlmError::SchemaViolation { spent, .. } => spent.usage(),
            _ => Usage::none(),
        }
    }

    /// The same error saying it spent `usage` (kept only by the errors a
    /// request can end in).
    pub(crate) fn with_spent(mut self, usage: Usage) -> Self {
        match &mut self {
            LlmError::Auth { spent, .. }
            | LlmError::QuotaExhausted { spent, .. }
            | LlmError::Http { spent, .. }
            | LlmError::Connect { spent, .. }
            | LlmError::Timeout { spent, .. }
            | LlmError::Stalled { spent, .. }
            | LlmError::BadResponse { spent, .. }
            | LlmError::SchemaViolation { spent, .. } => *spent = usage.into(),
            _ => {}
        }
        self
    }

    /// What one request that ended in this error used: a call, with no
    /// tokens where the server refused it or never received it, and
    /// tokens not reported where it may have generated some; nothing for
    /// an error raised before the request went out.
    pub(crate) fn request_usage(&self) -> Usage {
        match self {
            LlmError::Auth { .. }
            | LlmError::QuotaExhausted { .. }
            | LlmError::Http { .. }
            | LlmError::Connect { .. } => Usage::reported(0, 0),
            LlmError::Timeout { .. }
            | LlmError::Stalled { .. }
            | LlmError::BadResponse { .. }
            | LlmError::Embedded(_) => Usage::unreported(),
            // Refused before anything was sent.
            _ => Usage::none(),
        }
    }

    /// Whether no connection could be made at all (the `connect_failed`
    /// of [`LlmError::Connect`]).
    pub fn is_connect_failure(&self) -> bool {
        matches!(
            self,
            LlmError::Connect {
                connect_failed: true,
                ..
            }
        )
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
            spent: crate::Spent::NONE,
        };
        let shown = e.to_string();
        assert!(!shown.contains(key), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("short word"));
        let e = LlmError::Http {
            url: format!("http://x/v1?key={key}"),
            status: 500,
            body: format!("upstream said Authorization: Bearer {key}"),
            retry_after: None,
            spent: crate::Spent::NONE,
        };
        assert!(!e.to_string().contains(key), "{e}");
    }
}
