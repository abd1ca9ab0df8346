//! Failing fast on a server that is not there.
//!
//! Every HTTP backend holds one [`Circuit`] for its server. Each request's
//! outcome is recorded: a request that could not connect at all (refused,
//! no such host, a failed TLS handshake) counts; any answer from the server
//! (even an error status) starts the count again; a connect timeout
//! leaves it as it is. After [`UNREACHABLE_AFTER`] connection failures in
//! a row the circuit opens: the server counts as unreachable for the rest
//! of the process, every call in flight ends at once and every new one
//! fails before it is sent, all with [`LlmError::Unreachable`], which is
//! never retried. So a run pointed at a closed port stops within seconds
//! (the first three attempts, about two seconds of backoff) instead of
//! retrying every call for minutes. Timeouts and 5xx keep their retries:
//! the server is there, only slow or failing.

use crate::LlmError;
use std::sync::Mutex;
use tokio::sync::watch;

/// Connection failures in a row (no answer from the server between them)
/// after which a server counts as unreachable.
pub const UNREACHABLE_AFTER: u32 = 3;

/// The connection health of one server.
#[derive(Debug)]
pub struct Circuit {
    url: String,
    failures: Mutex<u32>,
    /// `Some(cause)` once open.
    open: watch::Sender<Option<String>>,
}

impl Circuit {
    /// A closed circuit for the server at `url` (named in the error).
    pub fn new(url: impl Into<String>) -> Self {
        Circuit {
            url: url.into(),
            failures: Mutex::new(0),
            open: watch::Sender::new(None),
        }
    }

    fn unreachable(&self, cause: &str) -> LlmError {
        LlmError::Unreachable {
            url: self.url.clone(),
            cause: cause.to_string(),
        }
    }

    /// Whether the circuit is open.
    pub fn is_open(&self) -> bool {
        self.open.borrow().is_some()
    }

    /// `Err(Unreachable)` once the circuit is open: the request is not sent.
    pub fn check(&self) -> Result<(), LlmError> {
        match self.open.borrow().as_deref() {
            Some(cause) => Err(self.unreachable(cause)),
            None => Ok(()),
        }
    }

    /// Records how a request ended (`None`: the server answered). Returns
    /// the [`LlmError::Unreachable`] to end the call with when this
    /// failure opened the circuit, or found it open.
    pub fn record(&self, failure: Option<&LlmError>) -> Option<LlmError> {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match failure {
            Some(e @ LlmError::Connect { message, .. }) if e.is_connect_failure() => {
                *failures += 1;
                if *failures >= UNREACHABLE_AFTER {
                    if !self.is_open() {
                        tracing::warn!(
                            "{}: {} connection failures in a row; asking it nothing more",
                            self.url,
                            *failures
                        );
                        self.open.send_replace(Some(message.clone()));
                    }
                    return self.check().err();
                }
            }
            // A connect timeout says nothing either way.
            Some(LlmError::Connect { .. }) => {}
            _ => *failures = 0,
        }
        None
    }

    /// Waits until the circuit opens, then returns its error (never, while
    /// the server is reachable).
    pub async fn opened(&self) -> LlmError {
        let mut rx = self.open.subscribe();
        let cause = rx
            .wait_for(Option::is_some)
            .await
            .map(|cause| cause.clone().unwrap_or_default());
        match cause {
            Ok(cause) => self.unreachable(&cause),
            // Never: the sender lives as long as `self`.
            Err(_) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> LlmError {
        LlmError::Connect {
            url: "http://127.0.0.1:9/v1/chat/completions".into(),
            message: "Connection refused (os error 111)".into(),
            connect_failed: true,
            spent: crate::Spent::NONE,
        }
    }

    fn connect_timeout() -> LlmError {
        LlmError::Connect {
            url: "u".into(),
            message: "no connection within 10s".into(),
            connect_failed: false,
            spent: crate::Spent::NONE,
        }
    }

    fn status(code: u16) -> LlmError {
        LlmError::Http {
            url: "u".into(),
            status: code,
            body: String::new(),
            retry_after: None,
            spent: crate::Spent::NONE,
        }
    }

    #[test]
    fn three_failed_connections_in_a_row_open_it_for_good() {
        let c = Circuit::new("http://127.0.0.1:9/v1");
        assert!(c.record(Some(&refused())).is_none());
        assert!(c.record(Some(&refused())).is_none());
        assert!(c.check().is_ok() && !c.is_open());
        let e = c.record(Some(&refused())).expect("the third opens it");
        let LlmError::Unreachable { url, cause } = &e else {
            panic!("{e:?}")
        };
        assert_eq!(url, "http://127.0.0.1:9/v1");
        assert!(cause.contains("refused"), "{cause}");
        assert!(!e.is_retryable());
        let shown = e.to_string();
        for words in ["http://127.0.0.1:9/v1", "--base-url", "council doctor"] {
            assert!(shown.contains(words), "{shown}");
        }
        // Open for good: an answer after it changes nothing.
        assert!(c.record(None).is_none());
        assert!(matches!(c.check(), Err(LlmError::Unreachable { .. })));
    }

    #[test]
    fn an_answer_between_failures_starts_the_count_again_and_timeouts_do_not_count() {
        let c = Circuit::new("u");
        for between in [None, Some(status(503)), Some(status(401))] {
            c.record(Some(&refused()));
            c.record(Some(&refused()));
            assert!(c.record(between.as_ref()).is_none());
        }
        c.record(Some(&refused()));
        c.record(Some(&refused()));
        for _ in 0..5 {
            assert!(c.record(Some(&connect_timeout())).is_none());
        }
        assert!(!c.is_open(), "timeouts are not refusals");
        assert!(c.record(Some(&refused())).is_some());
    }

    #[tokio::test]
    async fn a_call_waiting_on_it_ends_when_it_opens() {
        let c = std::sync::Arc::new(Circuit::new("u"));
        let waiter = tokio::spawn({
            let c = c.clone();
            async move { c.opened().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        for _ in 0..UNREACHABLE_AFTER {
            c.record(Some(&refused()));
        }
        let e = tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("woken at once")
            .expect("no panic");
        assert!(matches!(e, LlmError::Unreachable { .. }), "{e:?}");
        // A call that starts later finds it open at once.
        assert!(matches!(c.opened().await, LlmError::Unreachable { .. }));
    }
}
