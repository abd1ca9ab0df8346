//! The embedded backend: llama.cpp in-process on a GGUF file.
//!
//! One worker thread owns the model and a single context. Concurrent
//! requests each take a *slot* (a llama.cpp sequence id) and are decoded
//! together in one continuous batch, as llama.cpp's server does with parallel
//! slots: six concurrent requests share every decode step. A slot
//! keeps the token ids whose KV entries it holds, so a request whose prompt
//! starts with those tokens only evaluates the new tail (prefix reuse).
//!
//! Structured answers are constrained by a GBNF grammar derived from the
//! request's JSON schema, then checked by the answer loop every backend
//! shares (`answer.rs`).

mod worker;

use crate::answer::{self, Answered, Attempt};
use crate::retry::RetryPolicy;
use crate::schema::Validator;
use crate::{
    Capabilities, ChatModel, ChatRequest, ChatResponse, FinishReason, LlmError, Message, ModelInfo,
};
use async_trait::async_trait;
use council_core::Usage;
use llama_cpp_2::llama_backend::LlamaBackend;
use std::path::PathBuf;
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

/// How to run the embedded model.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedSettings {
    /// The GGUF file.
    pub model_path: PathBuf,
    /// CPU threads for decoding; never more than the machine's cores.
    pub threads: usize,
    /// Requests decoded together (llama.cpp sequences).
    pub slots: usize,
    /// Context tokens available to each slot.
    pub ctx_per_slot: u32,
    /// Tokens per decode step across all slots.
    pub batch: u32,
    /// Whether a request may copy a long shared prefix from another slot's
    /// cache (and wait for a slot evaluating one) instead of evaluating it.
    pub share_prefixes: bool,
    /// Whether llama.cpp may use flash attention. Off by default: on CPU
    /// its kernel walks the KV cache one entry at a time, and a debate's
    /// turns sit on 800–1,400 tokens of context, where generation steps
    /// took 20–45% longer with it on (median step times over whole
    /// debates, 2 cores, the default model); prompt evaluation took about
    /// the same either way.
    pub flash_attention: bool,
    /// Bytes the KV cache may take: fewer slots (never under two) when
    /// `slots` of `ctx_per_slot` tokens would need more, as the model's
    /// layers and KV heads say. `None`: no limit.
    pub kv_budget: Option<u64>,
    /// Which of threads, slots and context the user chose; the others are
    /// sized from the model and the machine when it loads ([`size_for`]).
    pub chosen: Chosen,
}

/// Which embedded settings the user chose (config or flags).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chosen {
    /// `[embedded] threads` was set.
    pub threads: bool,
    /// `[embedded] slots` was set.
    pub slots: bool,
    /// `[embedded] ctx_per_slot` was set.
    pub ctx: bool,
}

/// What sizing reads from a loaded model and the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFacts {
    /// Parameters, from the GGUF.
    pub n_params: u64,
    /// The context the model was trained on, in tokens.
    pub n_ctx_train: u32,
    /// KV cache bytes a token.
    pub kv_per_token: u64,
    /// CPU cores this process may use.
    pub cores: usize,
}

/// Context a slot gets, unless chosen, for a small model: its prompts and
/// answers are kept short, and a debate's turns sit on 800–1,400 tokens.
pub const SMALL_CONTEXT: u32 = 4096;

/// Context a slot gets, unless chosen, for a larger model: it is shown the
/// debate so far and writes full answers (a round-5 prompt of a seven-advisor
/// panel runs past 4,096 tokens).
pub const LARGE_CONTEXT: u32 = 8192;

/// The settings a model runs with, sized from the model and the machine
/// where the user chose nothing, and a line for each choice saying why
/// (shown by `council models`).
pub fn size_for(s: &EmbeddedSettings, m: &ModelFacts) -> (EmbeddedSettings, Vec<String>) {
    let mut out = s.clone();
    let mut why = Vec::new();
    let small = m.n_params < SMALL_MODEL_PARAMS;
    let params = if m.n_params >= 1_000_000_000 {
        format!("{:.1}B", m.n_params as f64 / 1e9)
    } else {
        format!("{}M", m.n_params / 1_000_000)
    };
    why.push(format!(
        "parameters: {params}, so {}",
        if small {
            "a small model: short prompts, short answers and strict repairs"
        } else {
            "the prompts and schemas of a real model (1B parameters or more)"
        }
    ));
    let trained = m.n_ctx_train.max(512);
    let (wanted, reason) = if s.chosen.ctx {
        (s.ctx_per_slot, "[embedded] ctx_per_slot".to_string())
    } else if small {
        (
            SMALL_CONTEXT,
            "a small model's prompts and answers are kept short".to_string(),
        )
    } else {
        (
            LARGE_CONTEXT,
            "a larger model is shown the debate so far and writes full answers".to_string(),
        )
    };
    out.ctx_per_slot = wanted.min(trained);
    why.push(if out.ctx_per_slot < wanted {
        format!(
            "context: {} tokens a slot, the most the model was trained on ({reason} asked for {wanted})",
            out.ctx_per_slot
        )
    } else {
        format!("context: {} tokens a slot ({reason})", out.ctx_per_slot)
    });
    out.batch = s.batch.clamp(1, out.ctx_per_slot);
    why.push(format!("batch: {} tokens a decode step", out.batch));
    out.threads = s.threads.clamp(1, m.cores.max(1));
    why.push(if s.chosen.threads {
        format!(
            "threads: {} ([embedded] threads{})",
            out.threads,
            if out.threads < s.threads {
                format!(" asked for {}, more than the {} cores", s.threads, m.cores)
            } else {
                String::new()
            }
        )
    } else {
        format!("threads: {}, the cores this process may use", out.threads)
    });
    // Unless chosen, slots keep the cache's tokens: a longer context a slot
    // means fewer slots (16 of 4,096 tokens, or 8 of 8,192), so the memory the
    // catalogue lists holds whatever the model.
    let wanted_slots = if s.chosen.slots || s.chosen.ctx {
        s.slots
    } else {
        let tokens = s.slots as u64 * u64::from(SMALL_CONTEXT);
        ((tokens / u64::from(out.ctx_per_slot.max(1))) as usize).clamp(2, s.slots.max(2))
    };
    out.slots = if s.chosen.slots {
        s.slots.max(1)
    } else {
        slots_within(wanted_slots, out.ctx_per_slot, m.kv_per_token, s.kv_budget)
    };
    why.push(match (s.chosen.slots, s.kv_budget) {
        (true, _) => format!("slots: {} requests decoded together ([embedded] slots)", out.slots),
        (false, Some(budget)) => format!(
            "slots: {} requests decoded together (of {} wanted: the KV cache takes {} KB a token, {:.1} GB for {} slots of {} tokens, within the {:.1} GB this machine spares for it)",
            out.slots,
            wanted_slots,
            m.kv_per_token / 1000,
            (m.kv_per_token * out.slots as u64 * u64::from(out.ctx_per_slot)) as f64 / 1e9,
            out.slots,
            out.ctx_per_slot,
            budget as f64 / 1e9
        ),
        (false, None) => format!("slots: {} requests decoded together", out.slots),
    });
    (out, why)
}

impl EmbeddedSettings {
    /// Defaults for `model_path`: all cores, sixteen slots of 4,096 tokens.
    /// Twelve: a seven-advisor panel and the moderator each keep a slot
    /// through the debate, so an advisor's next turn finds its system
    /// prompt and the debate so far still in the KV cache, and most of
    /// them survive synthesis's first wave for their votes (a newcomer
    /// takes an empty slot, else the least recently used one). The KV
    /// cache of the default model costs about 23 KB a token: 1.1 GB here.
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        EmbeddedSettings {
            model_path: model_path.into(),
            threads: cores(),
            slots: 16,
            ctx_per_slot: 4096,
            batch: 512,
            share_prefixes: true,
            flash_attention: false,
            kv_budget: None,
            chosen: Chosen::default(),
        }
    }
}

/// Models with fewer parameters than this are small: callers keep their
/// prompts and answers short (the default SmolLM2-135M is one).
pub const SMALL_MODEL_PARAMS: u64 = 1_000_000_000;

/// The slots of `ctx_per_slot` tokens whose KV cache, at `kv_per_token`
/// bytes a token, fits `budget`: at most `slots`, at least two.
pub fn slots_within(
    slots: usize,
    ctx_per_slot: u32,
    kv_per_token: u64,
    budget: Option<u64>,
) -> usize {
    let Some(budget) = budget else {
        return slots;
    };
    let per_slot = kv_per_token.saturating_mul(ctx_per_slot as u64).max(1);
    slots.min(((budget / per_slot) as usize).max(2))
}

/// Number of CPU cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Generation parameters beyond a [`ChatRequest`] (used by benchmarks).
#[derive(Debug, Clone)]
pub struct GenerateParams {
    /// The conversation.
    pub messages: Vec<Message>,
    /// Generated-token limit.
    pub max_tokens: u32,
    /// Sampling temperature (0 = greedy).
    pub temperature: f32,
    /// Sampling seed.
    pub seed: u32,
    /// GBNF grammar constraining the output.
    pub grammar: Option<String>,
    /// Keep generating past end-of-generation tokens (for throughput tests).
    pub ignore_eos: bool,
}

/// What one generation produced and how long it took.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The generated text.
    pub text: String,
    /// Tokens in the rendered prompt.
    pub prompt_tokens: usize,
    /// Of those, how many were already in the slot's KV cache.
    pub reused_tokens: usize,
    /// Tokens generated.
    pub generated_tokens: usize,
    /// Why it stopped.
    pub finish_reason: FinishReason,
    /// From admission to the first generated token.
    pub prompt_time: Duration,
    /// From the first generated token to the last.
    pub generation_time: Duration,
}

/// The llama.cpp backend, initialised once per process (a second init fails).
fn backend() -> Result<&'static LlamaBackend, LlmError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            // Route llama.cpp's logs to `tracing` (target `llama_cpp_2`), where
            // the CLI's default filter keeps them silent unless -vv.
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LlmError::Embedded(format!("cannot initialise llama.cpp: {e}")))
}

/// A GGUF model served in-process.
pub struct EmbeddedModel {
    jobs: mpsc::Sender<worker::Job>,
    settings: EmbeddedSettings,
    model_name: String,
    n_ctx_train: u32,
    n_params: u64,
    template_fallback: Option<String>,
    sizing: Vec<String>,
}

impl std::fmt::Debug for EmbeddedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedModel")
            .field("settings", &self.settings)
            .finish()
    }
}

impl EmbeddedModel {
    /// Loads the model and starts its worker thread.
    pub fn load(settings: EmbeddedSettings) -> Result<Self, LlmError> {
        if !settings.model_path.is_file() {
            return Err(LlmError::ModelMissing {
                path: settings.model_path.clone(),
                fix: crate::fetch::missing_model_fix(),
            });
        }
        let mut settings = settings;
        settings.threads = settings.threads.clamp(1, cores());
        settings.slots = settings.slots.max(1);
        let backend = backend()?;
        let (jobs, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let worker_settings = settings.clone();
        std::thread::Builder::new()
            .name("council-llama".into())
            .spawn(move || worker::run(backend, worker_settings, rx, ready_tx))
            .map_err(|e| LlmError::Embedded(format!("cannot start the model thread: {e}")))?;
        let loaded = ready_rx
            .recv()
            .map_err(|_| LlmError::Embedded("the model thread stopped while loading".into()))??;
        if !settings.chosen.slots && loaded.settings.slots < settings.slots {
            tracing::warn!(
                "{}: its KV cache takes {} KB a token, so {} slots of {} tokens would need {:.1} GB, more than the {:.1} GB this machine can spare; running {} slots (set [embedded] slots to choose)",
                settings.model_path.display(),
                loaded.kv_per_token / 1000,
                settings.slots,
                settings.ctx_per_slot,
                (loaded.kv_per_token * settings.slots as u64 * settings.ctx_per_slot as u64) as f64 / 1e9,
                settings.kv_budget.unwrap_or(0) as f64 / 1e9,
                loaded.settings.slots
            );
        }
        let settings = loaded.settings;
        if let Some(why) = &loaded.template_fallback {
            tracing::warn!(
                "{}: {why}; its prompts are written in the ChatML format instead, which it may not follow (answers may be poor)",
                settings.model_path.display()
            );
        }
        let model_name = settings
            .model_path
            .file_name()
            .map_or_else(|| "model.gguf".into(), |n| n.to_string_lossy().into_owned());
        let mut sizing = loaded.sizing;
        sizing.push(match &loaded.template_fallback {
            None => "chat template: the model's own, from its GGUF".to_string(),
            Some(why) => format!("chat template: ChatML, because {why}"),
        });
        Ok(EmbeddedModel {
            jobs,
            settings,
            model_name,
            n_ctx_train: loaded.n_ctx_train,
            n_params: loaded.n_params,
            template_fallback: loaded.template_fallback,
            sizing,
        })
    }

    /// Why the model's own chat template is not used (ChatML instead), if it is not.
    pub fn template_fallback(&self) -> Option<&str> {
        self.template_fallback.as_deref()
    }

    /// The model's parameter count, from its GGUF.
    pub fn n_params(&self) -> u64 {
        self.n_params
    }

    /// The settings in force (threads clamped to the cores).
    pub fn settings(&self) -> &EmbeddedSettings {
        &self.settings
    }

    /// Runs one generation with full control over its parameters.
    pub async fn generate(&self, params: GenerateParams) -> Result<Generation, LlmError> {
        let (reply, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(worker::Job { params, reply })
            .map_err(|_| LlmError::Embedded("the model thread has stopped".into()))?;
        let g = rx
            .await
            .map_err(|_| LlmError::Embedded("the model thread dropped a request".into()))??;
        tracing::debug!(
            "embedded: {} prompt tokens ({} reused) in {:.2} s, {} generated in {:.2} s ({:?})",
            g.prompt_tokens,
            g.reused_tokens,
            g.prompt_time.as_secs_f64(),
            g.generated_tokens,
            g.generation_time.as_secs_f64(),
            g.finish_reason
        );
        Ok(g)
    }

    /// Converts a JSON schema to the GBNF grammar llama.cpp samples with.
    /// The JSON is kept compact: between tokens the grammar allows one
    /// space at most, where llama.cpp's own rule allows newlines and twenty
    /// spaces of indent, on which a small model spends its token budget.
    pub fn grammar_for(schema: &serde_json::Value) -> Result<String, LlmError> {
        let grammar = llama_cpp_2::json_schema_to_grammar(&schema.to_string()).map_err(|e| {
            LlmError::InvalidRequest(format!(
                "llama.cpp cannot turn this schema into a grammar: {e}"
            ))
        })?;
        Ok(grammar
            .lines()
            .map(|l| {
                if l.starts_with("space ::=") {
                    "space ::= \" \"?"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// The generation limit for an answer to `schema`: at least the longest
    /// answer the schema allows, counted at one character a token (digits
    /// and rare words tokenise that finely), so a valid answer is never cut
    /// short by the limit.
    fn limit_for(schema: &serde_json::Value, asked: u32) -> u32 {
        let longest = council_core::answers::token_budget(schema, 1.0);
        asked.max(longest + longest / 10 + 16)
    }
}

/// The sampler's seed for a request's.
fn seed_of(seed: Option<u64>) -> u32 {
    seed.map_or(0x5eed, |s| (s ^ (s >> 32)) as u32)
}

#[async_trait]
impl ChatModel for EmbeddedModel {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            backend: "embedded".into(),
            model: self.model_name.clone(),
            location: self.settings.model_path.display().to_string(),
            capabilities: Capabilities {
                native_json_schema: true,
                seeded: true,
                concurrent: true,
                offline: true,
                context_tokens: Some(self.settings.ctx_per_slot.min(self.n_ctx_train)),
                small: self.n_params < SMALL_MODEL_PARAMS,
            },
        }
    }

    fn loaded(&self) -> Vec<String> {
        self.sizing.clone()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        if request.messages.is_empty() {
            return Err(LlmError::InvalidRequest(
                "a chat request needs at least one message".into(),
            ));
        }
        let (grammar, max_tokens) = match &request.schema {
            Some(spec) => (
                Some(Self::grammar_for(&spec.schema)?),
                Self::limit_for(&spec.schema, request.max_tokens.unwrap_or(512)),
            ),
            None => (None, request.max_tokens.unwrap_or(512)),
        };
        let validator = request.schema.as_ref().map(Validator::new).transpose()?;
        let first = Attempt {
            messages: request.messages.clone(),
            max_tokens: Some(max_tokens),
            seed: request.seed,
        };
        let send = |a: Attempt| {
            let params = GenerateParams {
                messages: a.messages,
                max_tokens: a.max_tokens.unwrap_or(max_tokens),
                temperature: request.temperature.unwrap_or(0.7),
                seed: seed_of(a.seed),
                grammar: grammar.clone(),
                ignore_eos: false,
            };
            let validator = validator.as_ref();
            async move {
                let g = self.generate(params).await?;
                Ok(Answered {
                    checked: validator.map(|v| v.check(&g.text)),
                    usage: usage_of(&g),
                    text: g.text,
                    finish_reason: g.finish_reason,
                    model: self.model_name.clone(),
                })
            }
        };
        // The grammar holds the answer to its schema's shape, so an invalid
        // one was nearly always cut off by the limit: one more draw (with
        // twice the room when cut), at once.
        let policy = RetryPolicy {
            max_retries: 1,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        };
        answer::ask(
            &policy,
            None,
            request.schema.as_ref().map(|s| s.name.as_str()),
            first,
            send,
        )
        .await
    }
}

/// Tokens of the call; `cached_tokens` counts the prompt tokens reused from
/// the slot's KV cache (not evaluated again).
fn usage_of(g: &Generation) -> Usage {
    Usage::reported(g.prompt_tokens as u64, g.generated_tokens as u64)
        .with_cached(Some(g.reused_tokens as u64))
}

#[cfg(test)]
mod tests {
    use super::slots_within;

    #[test]
    fn slots_shrink_to_the_kv_budget_but_never_below_two() {
        // Llama 3.1 8B: 128 KB a token; 4,096-token slots cost 537 MB each.
        let kv = 131_072;
        assert_eq!(slots_within(16, 4096, kv, None), 16);
        assert_eq!(slots_within(16, 4096, kv, Some(5_390_000_000)), 10);
        assert_eq!(slots_within(16, 4096, kv, Some(100_000_000_000)), 16);
        assert_eq!(slots_within(16, 4096, kv, Some(0)), 2);
        // The default model (23 KB a token) keeps its sixteen on 8 GB.
        assert_eq!(slots_within(16, 4096, 23_040, Some(4_800_000_000)), 16);
    }
}

#[cfg(test)]
mod sizing_tests {
    use super::*;

    fn facts(n_params: u64, n_ctx_train: u32) -> ModelFacts {
        ModelFacts {
            n_params,
            n_ctx_train,
            kv_per_token: 100_000,
            cores: 4,
        }
    }

    #[test]
    fn a_larger_model_gets_a_longer_context_within_what_it_was_trained_on() {
        let s = EmbeddedSettings::new("m.gguf");
        let (small, why) = size_for(&s, &facts(135_000_000, 8192));
        assert_eq!(small.ctx_per_slot, SMALL_CONTEXT);
        assert!(why[0].contains("135M, so a small model"), "{why:?}");
        let (large, why) = size_for(&s, &facts(3_200_000_000, 131_072));
        assert_eq!(large.ctx_per_slot, LARGE_CONTEXT);
        // The same tokens of cache: half the slots of twice the context.
        assert_eq!(
            large.slots * large.ctx_per_slot as usize,
            small.slots * small.ctx_per_slot as usize
        );
        assert!(why[0].contains("3.2B"), "{why:?}");
        // Never more than the model was trained on, and said so.
        let (short, why) = size_for(&s, &facts(3_200_000_000, 2048));
        assert_eq!(short.ctx_per_slot, 2048);
        assert!(
            why.iter()
                .any(|l| l.contains("the most the model was trained on")),
            "{why:?}"
        );
        assert!(short.batch <= short.ctx_per_slot);
    }

    #[test]
    fn chosen_settings_stand_and_the_rest_fit_the_machine() {
        let mut s = EmbeddedSettings::new("m.gguf");
        s.threads = 64;
        s.kv_budget = Some(100_000 * 4096 * 3);
        let (out, why) = size_for(&s, &facts(135_000_000, 8192));
        assert_eq!(out.threads, 4, "no more threads than cores");
        assert_eq!(out.slots, 3, "slots fit the memory spared for the cache");
        assert!(
            why.iter()
                .any(|l| l.starts_with("slots: 3 requests decoded together (of 16 wanted")),
            "{why:?}"
        );
        s.chosen = Chosen {
            threads: true,
            slots: true,
            ctx: true,
        };
        s.slots = 5;
        s.ctx_per_slot = 1024;
        let (out, why) = size_for(&s, &facts(3_200_000_000, 8192));
        assert_eq!((out.slots, out.ctx_per_slot, out.threads), (5, 1024, 4));
        assert!(
            why.iter()
                .any(|l| l.contains("asked for 64, more than the 4 cores")),
            "{why:?}"
        );
    }
}
