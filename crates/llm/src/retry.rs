//! The one retry loop of Council: jittered exponential backoff that honours
//! `Retry-After`, never retries permanent errors, and gives up after a
//! bounded number of attempts. Lower layers (the HTTP client) never retry.

use crate::LlmError;
use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use std::future::Future;
use std::time::{Duration, SystemTime};

/// How persistently to retry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: usize,
    /// First backoff delay.
    pub base_delay: Duration,
    /// Longest single delay, including one asked for by `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The delays before each retry: exponential from `base_delay`, each
    /// with random jitter of up to its own length added (so concurrent
    /// callers do not retry in step), and never more than `max_delay`.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + Sync + Unpin {
        let max_delay = self.max_delay;
        ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_retries)
            .with_jitter()
            .build()
            // backon's jitter is added after its own cap.
            .map(move |d| d.min(max_delay))
    }

    /// Runs `op` until it succeeds, fails permanently, or retries run out.
    pub async fn run<T, F, Fut>(&self, what: &str, op: F) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        self.run_when(what, op, LlmError::is_retryable).await
    }

    /// [`RetryPolicy::run`], retrying the errors `transient` accepts.
    pub async fn run_when<T, F, Fut>(
        &self,
        what: &str,
        op: F,
        transient: impl FnMut(&LlmError) -> bool,
    ) -> Result<T, LlmError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let max_delay = self.max_delay;
        op.retry(self.delays())
            .sleep(tokio::time::sleep)
            .when(transient)
            .adjust(
                move |err: &LlmError, planned| match (err.retry_after(), planned) {
                    // Out of retries: keep stopping.
                    (_, None) => None,
                    (Some(asked), Some(_)) => Some(asked.min(max_delay)),
                    (None, planned) => planned,
                },
            )
            .notify(|err: &LlmError, delay| {
                tracing::warn!("{what}: {err}; retrying in {:.1}s", delay.as_secs_f32());
            })
            .await
    }
}

/// Parses a `Retry-After` value: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = value.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs));
        }
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        // 2015-10-21 07:28:00 GMT is `now`; 07:28:30 is 30 s later.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    fn http(status: u16) -> LlmError {
        LlmError::Http {
            url: "u".into(),
            status,
            body: String::new(),
            retry_after: None,
            spent: crate::Spent::NONE,
        }
    }

    #[test]
    fn jittered_delays_grow_vary_and_stay_within_the_cap() {
        let policy = RetryPolicy {
            max_retries: 6,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(700),
        };
        let runs: Vec<Vec<Duration>> = (0..200).map(|_| policy.delays().collect()).collect();
        for delays in &runs {
            assert_eq!(delays.len(), 6, "one delay per retry");
            for (i, d) in delays.iter().enumerate() {
                // Nominal 100, 200, 400, 700, 700, 700 ms; jitter adds up to as much again.
                let nominal = Duration::from_millis(100 << i).min(policy.max_delay);
                assert!(*d >= nominal, "retry {i}: {d:?} < {nominal:?}");
                assert!(*d <= policy.max_delay, "retry {i}: {d:?} over the cap");
                assert!(*d <= nominal * 2);
            }
        }
        let firsts: std::collections::BTreeSet<_> = runs.iter().map(|r| r[0]).collect();
        assert!(firsts.len() > 20, "no jitter: {firsts:?}");
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicUsize::new(0);
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(1),
            ..Default::default()
        };
        let result: Result<(), _> = policy
            .run("t", || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(http(404)) }
            })
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_the_limit() {
        let calls = AtomicUsize::new(0);
        let policy = RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        };
        let result: Result<(), _> = policy
            .run("t", || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(http(503)) }
            })
            .await;
        assert!(matches!(result, Err(LlmError::Http { status: 503, .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
