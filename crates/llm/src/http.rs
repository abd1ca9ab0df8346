//! What the HTTP backends (`openai.rs`, `anthropic.rs`) share: the client,
//! the check of a base URL, and transport failures in Council's terms.

use crate::LlmError;
use std::time::Duration;

/// A `reqwest` client with these limits and no retries of its own.
pub(crate) fn client(connect: Duration, request: Duration) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(request)
        .build()
        .map_err(|e| LlmError::Config(format!("cannot build HTTP client: {e}")))
}

/// `base_url` without its trailing slashes, refused unless it is http(s);
/// `example` shows a good one in the message.
pub(crate) fn base(base_url: &str, example: &str) -> Result<String, LlmError> {
    let base = base_url.trim_end_matches('/');
    if base.starts_with("http://") || base.starts_with("https://") {
        Ok(base.to_string())
    } else {
        Err(LlmError::Config(format!(
            "base URL {base:?} must start with http:// or https:// (for example {example})"
        )))
    }
}

/// A transport failure talking to `url`, in Council's terms.
pub(crate) fn transport_error(
    e: reqwest::Error,
    url: &str,
    connect: Duration,
    request: Duration,
) -> LlmError {
    let url = url.to_string();
    let spent = crate::Spent::NONE;
    if e.is_connect() && e.is_timeout() {
        LlmError::Connect {
            url,
            message: format!("no connection within {connect:?} (the connect timeout)"),
            connect_failed: false,
            spent,
        }
    } else if e.is_timeout() {
        LlmError::Timeout {
            url,
            after: request,
            spent,
        }
    } else if e.is_decode() || e.is_body() {
        LlmError::BadResponse {
            url,
            message: council_core::error_chain(&e),
            spent,
        }
    } else {
        // Refused, no such host, a failed TLS handshake: no connection at
        // all (a connection that broke mid-exchange was made). Its
        // innermost cause is the part a user can act on.
        let connect_failed = e.is_connect();
        LlmError::Connect {
            url,
            message: if connect_failed {
                root_cause(&e)
            } else {
                council_core::error_chain(&e)
            },
            connect_failed,
            spent,
        }
    }
}

/// The innermost cause of an error ("Connection refused (os error 111)").
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// A server's message, cut for an error line.
pub(crate) fn shorten(s: &str) -> String {
    council_core::excerpt(s, 300)
}
