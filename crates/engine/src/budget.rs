//! Spending limits: before each model call the engine knows what the run
//! has spent and what the call could cost at most (its prompt, estimated
//! generously, plus its `max_tokens`); a call that could pass the limit is
//! not made, and the run stops cleanly with [`crate::EngineError::Budget`].
//! Calls in flight hold their worst case until they finish, so concurrent
//! calls cannot pass the limit together.

use async_trait::async_trait;
use council_core::cost::Price;
use council_core::Usage;
use council_llm::{ChatModel, ChatRequest, ChatResponse, LlmError, ModelInfo};
use std::sync::{Arc, Mutex};

/// Prompt bytes a token holds at the least: English runs near 4, Chinese
/// characters take 3 bytes and about one token each.
const BYTES_PER_TOKEN: u64 = 3;

/// A run's spending limits and what it has spent.
#[derive(Debug)]
pub struct Budget {
    usd: Option<f64>,
    tokens: Option<u64>,
    state: Mutex<Spent>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Spent {
    usd: f64,
    tokens: u64,
    held_usd: f64,
    held_tokens: u64,
}

impl Budget {
    /// Limits in dollars and in tokens (prompt plus generated); `None` is no
    /// limit. `spent_usd` and `spent_tokens` are what the run spent before
    /// (a resumed run counts what it already paid).
    pub fn new(usd: Option<f64>, tokens: Option<u64>, spent_usd: f64, spent_tokens: u64) -> Self {
        Budget {
            usd,
            tokens,
            state: Mutex::new(Spent {
                usd: spent_usd,
                tokens: spent_tokens,
                ..Spent::default()
            }),
        }
    }

    /// Whether a dollar limit is set (every model then needs a price).
    pub fn limits_usd(&self) -> bool {
        self.usd.is_some()
    }

    /// Dollars and tokens spent so far (finished calls only).
    pub fn spent(&self) -> (f64, u64) {
        let s = self.lock();
        (s.usd, s.tokens)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Spent> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Holds `tokens` and `usd` for a call about to start, or says why it may not.
    fn hold(&self, tokens: u64, usd: f64) -> Result<(), String> {
        let mut s = self.lock();
        if let Some(limit) = self.tokens {
            let worst = s.tokens + s.held_tokens + tokens;
            if worst > limit {
                return Err(format!(
                    "the token budget is {limit}; {} spent, and the next call could take up to {tokens} more",
                    s.tokens
                ));
            }
        }
        if let Some(limit) = self.usd {
            let worst = s.usd + s.held_usd + usd;
            if worst > limit + 1e-12 {
                return Err(format!(
                    "the budget is {}; {} spent, and the next call could cost up to {} more",
                    council_core::cost::format_usd(limit),
                    council_core::cost::format_usd(s.usd),
                    council_core::cost::format_usd(usd)
                ));
            }
        }
        s.held_tokens += tokens;
        s.held_usd += usd;
        Ok(())
    }

    /// Releases a hold and counts what the call really spent.
    fn settle(&self, held_tokens: u64, held_usd: f64, tokens: u64, usd: f64) {
        let mut s = self.lock();
        s.held_tokens -= held_tokens.min(s.held_tokens);
        s.held_usd = (s.held_usd - held_usd).max(0.0);
        s.tokens += tokens;
        s.usd += usd;
    }
}

/// A model whose calls are checked against a [`Budget`] first.
pub struct Metered {
    inner: Arc<dyn ChatModel>,
    price: Option<Price>,
    budget: Arc<Budget>,
}

impl std::fmt::Debug for Metered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metered")
            .field("model", &self.inner.info().model)
            .field("price", &self.price)
            .finish_non_exhaustive()
    }
}

impl Metered {
    /// Wraps `inner`; `price` is needed when the budget limits dollars.
    pub fn new(
        inner: Arc<dyn ChatModel>,
        price: Option<Price>,
        budget: Arc<Budget>,
    ) -> Result<Metered, String> {
        if budget.limits_usd() && price.is_none() {
            let info = inner.info();
            return Err(format!(
                "--budget-usd needs a price for model {:?} ({}); add [prices.\"{}\"] with input and output dollars per million tokens to the config, or use --budget-tokens",
                info.model, info.backend, info.model
            ));
        }
        Ok(Metered {
            inner,
            price,
            budget,
        })
    }
}

/// The most tokens a request could use: its prompt, estimated generously,
/// and its generation limit.
pub fn worst_case_tokens(request: &ChatRequest) -> (u64, u64) {
    let prompt_bytes: usize = request
        .messages
        .iter()
        .map(|m| m.content.len())
        .sum::<usize>()
        + request
            .schema
            .as_ref()
            .map_or(0, |s| s.schema.to_string().len());
    let prompt = (prompt_bytes as u64).div_ceil(BYTES_PER_TOKEN);
    (prompt, u64::from(request.max_tokens.unwrap_or(1024)))
}

fn usd_of(price: Option<Price>, u: &Usage) -> Option<f64> {
    price.and_then(|p| p.of(u))
}

#[async_trait]
impl ChatModel for Metered {
    fn info(&self) -> ModelInfo {
        self.inner.info()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.chat_streaming(request, &|_| {}).await
    }

    async fn chat_streaming(
        &self,
        request: &ChatRequest,
        sink: &council_llm::TextSink<'_>,
    ) -> Result<ChatResponse, LlmError> {
        let (prompt, completion) = worst_case_tokens(request);
        let worst_tokens = prompt + completion;
        let worst_usd = usd_of(self.price, &Usage::reported(prompt, completion)).unwrap_or(0.0);
        self.budget
            .hold(worst_tokens, worst_usd)
            .map_err(LlmError::Budget)?;
        let result = self.inner.chat_streaming(request, sink).await;
        let (tokens, usd) = match &result {
            Ok(r) if r.usage.is_complete() => (
                r.usage.prompt_tokens.unwrap_or(0) + r.usage.completion_tokens.unwrap_or(0),
                usd_of(self.price, &r.usage).unwrap_or(worst_usd),
            ),
            // Usage not reported: count the worst case rather than nothing.
            Ok(_) => (worst_tokens, worst_usd),
            Err(_) => (0, 0.0),
        };
        self.budget.settle(worst_tokens, worst_usd, tokens, usd);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_in_flight_hold_their_worst_case_and_the_limit_is_never_passed() {
        let b = Budget::new(None, Some(1000), 0.0, 100);
        assert!(b.hold(400, 0.0).is_ok());
        assert!(b.hold(400, 0.0).is_ok());
        let err = b.hold(200, 0.0).unwrap_err();
        assert!(err.contains("1000") && err.contains("100 spent"), "{err}");
        b.settle(400, 0.0, 50, 0.0);
        assert_eq!(b.spent(), (0.0, 150));
        assert!(b.hold(200, 0.0).is_ok(), "the hold was released");

        let d = Budget::new(Some(1.0), None, 0.9, 0);
        assert!(d.hold(0, 0.2).unwrap_err().contains("$1.00"));
        assert!(d.hold(0, 0.1).is_ok());
    }
}
