//! Endpoint pools: several OpenAI-compatible servers serving one model
//! (vLLM or llama.cpp replicas, hosted APIs). Each call goes to the
//! least-loaded healthy endpoint (calls in flight over its weight), waits
//! for one of that endpoint's `max_concurrency` permits, and on a transient
//! failure moves to another endpoint. An endpoint that answers 429 is set
//! aside for as long as its `Retry-After` asks; one that fails
//! `SET_ASIDE_AFTER` times in a row is set aside for `set_aside_for`; one
//! whose client finds it unreachable ([`crate::circuit`]) is set aside for
//! good. The pool fails fast ([`LlmError::Unreachable`]) only when every
//! endpoint is unreachable.

use crate::openai::{OpenAiCompatible, OpenAiSettings};
use crate::retry::RetryPolicy;
use crate::{ChatModel, ChatRequest, ChatResponse, LlmError, ModelInfo};
use async_trait::async_trait;
use council_core::Usage;
use serde::Deserialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Consecutive failures after which an endpoint is set aside.
pub const SET_ASIDE_AFTER: u32 = 3;

/// One `[[endpoints]]` entry of the config file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Base URL up to and including `/v1`.
    pub base_url: String,
    /// The model it serves.
    pub model: String,
    /// The environment variable holding its key, if it needs one.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Its provider preset, when it is not the main endpoint's kind of
    /// server (`anthropic`, `azure`, …).
    #[serde(default)]
    pub provider: Option<crate::provider::Provider>,
    /// Calls it may hold at once (default 4).
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Its share of the load relative to the others (default 1).
    #[serde(default = "default_weight")]
    pub weight: f64,
}

fn default_concurrency() -> usize {
    4
}

fn default_weight() -> f64 {
    1.0
}

struct Endpoint {
    client: Arc<dyn ChatModel>,
    url: String,
    permits: Arc<Semaphore>,
    in_flight: AtomicUsize,
    weight: f64,
    health: Mutex<Health>,
}

#[derive(Default)]
struct Health {
    failures: u32,
    aside_until: Option<Instant>,
    /// Why the endpoint is unreachable, once it is: set aside for good.
    unreachable: Option<String>,
}

impl Endpoint {
    fn available(&self, now: Instant) -> bool {
        let h = self
            .health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        h.unreachable.is_none() && h.aside_until.is_none_or(|t| t <= now)
    }

    fn unreachable(&self) -> Option<String> {
        self.health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .unreachable
            .clone()
    }

    fn load(&self) -> f64 {
        (self.in_flight.load(Ordering::SeqCst) as f64 + 1.0) / self.weight
    }

    fn succeeded(&self) {
        let mut h = self
            .health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        h.failures = 0;
        h.aside_until = None;
    }

    /// Counts a transient failure; sets the endpoint aside when it asked
    /// for a pause (429) or keeps failing.
    fn failed(&self, err: &LlmError, set_aside_for: Duration) {
        let mut h = self
            .health
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        h.failures += 1;
        let pause = match err.retry_after() {
            Some(asked) => Some(asked),
            None if h.failures >= SET_ASIDE_AFTER => Some(set_aside_for),
            None => None,
        };
        if let Some(p) = pause {
            tracing::warn!(
                "{}: set aside for {:.1} s ({err})",
                self.url,
                p.as_secs_f32()
            );
            h.aside_until = Some(Instant::now() + p);
        }
    }
}

/// A model served by several endpoints.
pub struct Pool {
    model: String,
    endpoints: Vec<Endpoint>,
    retry: RetryPolicy,
    set_aside_for: Duration,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("model", &self.model)
            .field(
                "endpoints",
                &self.endpoints.iter().map(|e| &e.url).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Pool {
    /// A pool of `endpoints` (all serving `model`), each client built from
    /// `template` (timeouts, schema support) with the endpoint's URL and
    /// key; `env` looks keys up. `retry` bounds the attempts of one call
    /// across the pool.
    pub fn new(
        model: &str,
        endpoints: &[EndpointConfig],
        template: &OpenAiSettings,
        env: &dyn Fn(&str) -> Option<String>,
        retry: RetryPolicy,
        set_aside_for: Duration,
    ) -> Result<Pool, LlmError> {
        let mut out = Vec::new();
        for e in endpoints.iter().filter(|e| e.model == model) {
            if e.max_concurrency == 0 || !(e.weight.is_finite() && e.weight > 0.0) {
                return Err(LlmError::Config(format!(
                    "[[endpoints]] {}: max_concurrency must be 1 or more and weight above 0",
                    e.base_url
                )));
            }
            let key = match &e.api_key_env {
                Some(var) => {
                    let key = crate::config::find_key(std::slice::from_ref(var), env);
                    if key.1.is_none() {
                        return Err(LlmError::Config(format!(
                            "[[endpoints]] {}: the key variable {var} is not set",
                            e.base_url
                        )));
                    }
                    Some(key)
                }
                None => None,
            };
            let client: Arc<dyn ChatModel> = match e.provider {
                None => {
                    let mut s = template.clone();
                    s.base_url = e.base_url.clone();
                    s.model = e.model.clone();
                    // The pool retries across endpoints; each client tries once.
                    s.retry = RetryPolicy::none();
                    if let Some((var, key)) = key {
                        s.key_var = var;
                        s.api_key = key;
                    }
                    Arc::new(OpenAiCompatible::new(s)?)
                }
                Some(p) => {
                    let key = key.unwrap_or_else(|| {
                        let vars: Vec<String> =
                            p.key_vars().iter().map(|v| v.to_string()).collect();
                        crate::config::find_key(&vars, env)
                    });
                    if key.1.is_none() && p.needs_key() {
                        return Err(LlmError::Config(format!(
                            "[[endpoints]] {}: provider {p} needs an API key; set {} (or api_key_env = \"NAME\")",
                            e.base_url, key.0
                        )));
                    }
                    let common = crate::config::Common {
                        request_timeout: template.request_timeout,
                        connect_timeout: template.connect_timeout,
                        retry: RetryPolicy::none(),
                        idle_timeout: template.idle_timeout,
                        ..Default::default()
                    };
                    crate::config::build_http(&crate::config::http_choice(
                        Some(p),
                        &e.base_url,
                        &e.model,
                        key,
                        &common,
                    ))?
                }
            };
            out.push(Endpoint {
                url: e.base_url.clone(),
                client,
                permits: Arc::new(Semaphore::new(e.max_concurrency)),
                in_flight: AtomicUsize::new(0),
                weight: e.weight,
                health: Mutex::new(Health::default()),
            });
        }
        if out.is_empty() {
            return Err(LlmError::Config(format!(
                "no [[endpoints]] entry serves model {model:?}"
            )));
        }
        Ok(Pool {
            model: model.to_string(),
            endpoints: out,
            retry,
            set_aside_for,
        })
    }

    /// The endpoint to try next: the least loaded of those not set aside
    /// (or, if all are, the one back soonest, after waiting for it); `None`
    /// when every endpoint is unreachable.
    async fn pick(&self) -> Option<&Endpoint> {
        loop {
            let now = Instant::now();
            let best = self
                .endpoints
                .iter()
                .filter(|e| e.available(now))
                .min_by(|a, b| a.load().total_cmp(&b.load()));
            if let Some(e) = best {
                return Some(e);
            }
            let soonest = self
                .endpoints
                .iter()
                .filter_map(|e| {
                    let h = e
                        .health
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    h.unreachable.is_none().then_some(h.aside_until).flatten()
                })
                .min();
            let Some(soonest) = soonest else {
                // Every endpoint is unreachable (none is merely set aside).
                return None;
            };
            tokio::time::sleep(
                soonest
                    .saturating_duration_since(now)
                    .min(Duration::from_secs(5)),
            )
            .await;
        }
    }

    /// The pool's error once every endpoint is unreachable.
    fn all_unreachable(&self) -> LlmError {
        let cause = self
            .endpoints
            .iter()
            .filter_map(|e| e.unreachable().map(|why| format!("{}: {why}", e.url)))
            .collect::<Vec<_>>()
            .join("; ");
        LlmError::Unreachable {
            url: format!(
                "every endpoint of the pool for {} ({})",
                self.model,
                self.endpoints
                    .iter()
                    .map(|e| e.url.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            cause,
        }
    }
}

#[async_trait]
impl ChatModel for Pool {
    fn info(&self) -> ModelInfo {
        let mut info = self.endpoints[0].client.info();
        info.location = format!(
            "a pool of {} endpoints: {}",
            self.endpoints.len(),
            self.endpoints
                .iter()
                .map(|e| e.url.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        info
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.chat_streaming(request, &|_| {}).await
    }

    async fn chat_streaming(
        &self,
        request: &ChatRequest,
        sink: &crate::TextSink<'_>,
    ) -> Result<ChatResponse, LlmError> {
        // The one retry loop (`retry.rs`) drives the attempts; each attempt
        // goes to the endpoint that is least loaded at that moment. An
        // endpoint found unreachable is another endpoint's turn.
        let spent = Mutex::new(Usage::none());
        self.retry
            .run_when(
                &format!("pool {}", self.model),
                || self.attempt(request, sink, &spent),
                |e| {
                    e.is_retryable()
                        || (matches!(e, LlmError::Unreachable { .. })
                            && self.endpoints.iter().any(|o| o.unreachable().is_none()))
                },
            )
            .await
            .map_err(|e| {
                let total = *spent
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                e.with_spent(total)
            })
    }
}

impl Pool {
    /// One attempt on the best endpoint now, adding what it spent to
    /// `spent`. A transient failure counts against that endpoint; a 429's
    /// `Retry-After` sets it aside, and when another endpoint can answer,
    /// the retry need not wait that long; an unreachable endpoint is set
    /// aside for good.
    async fn attempt(
        &self,
        request: &ChatRequest,
        sink: &crate::TextSink<'_>,
        spent: &Mutex<Usage>,
    ) -> Result<ChatResponse, LlmError> {
        let Some(e) = self.pick().await else {
            return Err(self.all_unreachable());
        };
        e.in_flight.fetch_add(1, Ordering::SeqCst);
        let result = match e.permits.acquire().await {
            Ok(_permit) => e.client.chat_streaming(request, sink).await,
            Err(_) => Err(LlmError::Config("an endpoint's permits were closed".into())),
        };
        e.in_flight.fetch_sub(1, Ordering::SeqCst);
        if let Err(err) = &result {
            *spent
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) += err.spent();
        }
        match result {
            Ok(r) => {
                e.succeeded();
                Ok(r)
            }
            Err(LlmError::Unreachable { cause, .. }) => {
                tracing::warn!("{}: unreachable, set aside for good ({cause})", e.url);
                e.health
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .unreachable = Some(cause);
                Err(self.all_unreachable())
            }
            Err(err) if err.is_retryable() => {
                e.failed(&err, self.set_aside_for);
                let now = Instant::now();
                let others = self
                    .endpoints
                    .iter()
                    .any(|o| !std::ptr::eq(o, e) && o.available(now));
                Err(match err {
                    LlmError::Http {
                        url,
                        status,
                        body,
                        retry_after: Some(_),
                        spent,
                    } if others => LlmError::Http {
                        url,
                        status,
                        body,
                        retry_after: None,
                        spent,
                    },
                    other => other,
                })
            }
            Err(err) => Err(err),
        }
    }
}
