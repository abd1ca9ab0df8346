//! The model thread: slots, continuous batching and prefix reuse.

use super::{EmbeddedSettings, GenerateParams, Generation};
use crate::{FinishReason, LlmError, Message, Role};
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;
use llama_cpp_2::token::LlamaToken;
use std::num::NonZeroU32;
use std::sync::mpsc;
use std::time::Instant;

/// Shared prompt tokens that make a slot's cache worth choosing it for.
const MIN_REUSE: usize = 32;

/// Prompt tokens another slot must hold beyond a request's own slot to be
/// copied from (a copy moves a whole KV stream, so a few tokens are not
/// worth it), and that a request waits for another slot to evaluate
/// rather than evaluating them itself.
const MIN_SHARE: usize = 128;

/// A request handed to the model thread.
pub(super) struct Job {
    pub params: GenerateParams,
    pub reply: tokio::sync::oneshot::Sender<Result<Generation, LlmError>>,
}

/// What the thread reports once the model is loaded.
pub(super) struct Loaded {
    pub n_ctx_train: u32,
    pub n_params: u64,
    /// Why the model's own chat template is not used (ChatML instead).
    pub template_fallback: Option<String>,
    /// The settings in force, sized from the model and the machine.
    pub settings: EmbeddedSettings,
    /// Why each was chosen, a line each.
    pub sizing: Vec<String>,
    /// KV cache bytes a token (f16 keys and values).
    pub kv_per_token: u64,
}

/// The model's chat template if llama.cpp can apply it (tried on a short
/// system-and-user chat), else why not.
fn usable_template(model: &LlamaModel) -> Result<llama_cpp_2::model::LlamaChatTemplate, String> {
    let tmpl = model
        .chat_template(None)
        .map_err(|e| format!("the GGUF has no chat template ({e})"))?;
    let chat = [
        LlamaChatMessage::new("system".into(), "Be brief.".into()),
        LlamaChatMessage::new("user".into(), "Hello".into()),
    ]
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .map_err(|e| e.to_string())?;
    model
        .apply_chat_template(&tmpl, &chat, true)
        .map_err(|e| format!("llama.cpp cannot apply the GGUF's chat template ({e})"))?;
    Ok(tmpl)
}

struct Active {
    reply: tokio::sync::oneshot::Sender<Result<Generation, LlmError>>,
    sampler: LlamaSampler,
    /// Applied by rejection (see `sample`), not in the chain.
    grammar: Option<LlamaSampler>,
    prompt: Vec<LlamaToken>,
    /// Prompt tokens already in the KV cache.
    evaluated: usize,
    reused: usize,
    generated: Vec<LlamaToken>,
    /// Sampled but not yet decoded.
    pending: Option<LlamaToken>,
    max_tokens: usize,
    ignore_eos: bool,
    admitted: Instant,
    first_token: Option<Instant>,
    /// Where this slot's logits sit in the current batch.
    logits_at: Option<i32>,
}

struct Slot {
    seq: i32,
    /// Token ids whose KV entries this sequence holds, in order.
    cached: Vec<LlamaToken>,
    last_used: u64,
    active: Option<Active>,
}

pub(super) fn run(
    backend: &'static LlamaBackend,
    settings: EmbeddedSettings,
    jobs: mpsc::Receiver<Job>,
    ready: mpsc::Sender<Result<Loaded, LlmError>>,
) {
    let model = match LlamaModel::load_from_file(
        backend,
        &settings.model_path,
        &LlamaModelParams::default(),
    ) {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(LlmError::Embedded(format!(
                "cannot load {}: {e} (is it a GGUF file?)",
                settings.model_path.display()
            ))));
            return;
        }
    };
    let head_dim = (model.n_embd().max(1) as u64) / u64::from(model.n_head().max(1));
    let kv_per_token = 2 * u64::from(model.n_layer()) * u64::from(model.n_head_kv()) * head_dim * 2;
    let (settings, sizing) = super::size_for(
        &settings,
        &super::ModelFacts {
            n_params: model.n_params(),
            n_ctx_train: model.n_ctx_train(),
            kv_per_token,
            cores: super::cores(),
        },
    );
    let slots_n = settings.slots as u32;
    let n_ctx = settings.ctx_per_slot.saturating_mul(slots_n);
    let threads = settings.threads as i32;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(settings.batch)
        .with_n_ubatch(settings.batch)
        .with_n_seq_max(slots_n)
        .with_n_threads(threads)
        .with_n_threads_batch(threads)
        // llama.cpp's enum: -1 auto (on where supported), 0 off.
        .with_flash_attention_policy(if settings.flash_attention { -1 } else { 0 });
    let mut ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(LlmError::Embedded(format!(
                "cannot create a llama.cpp context of {n_ctx} tokens: {e}"
            ))));
            return;
        }
    };
    let template = usable_template(&model);
    if ready
        .send(Ok(Loaded {
            n_ctx_train: model.n_ctx_train(),
            n_params: model.n_params(),
            template_fallback: template.as_ref().err().cloned(),
            settings: settings.clone(),
            sizing,
            kv_per_token,
        }))
        .is_err()
    {
        return;
    }
    let mut engine = Engine {
        model: &model,
        settings: &settings,
        slots: (0..settings.slots)
            .map(|i| Slot {
                seq: i as i32,
                cached: Vec::new(),
                last_used: 0,
                active: None,
            })
            .collect(),
        clock: 0,
        template: template.ok(),
        waiting: Vec::new(),
    };
    let mut batch = LlamaBatch::new(settings.batch as usize, slots_n as i32);
    loop {
        // Take new requests: block only when nothing is running or waiting.
        let busy = engine.slots.iter().any(|s| s.active.is_some());
        if !busy && engine.waiting.is_empty() {
            match jobs.recv() {
                Ok(job) => engine.enqueue(job),
                Err(_) => return, // every sender dropped: shut down
            }
        }
        while let Ok(job) = jobs.try_recv() {
            engine.enqueue(job);
        }
        engine.admit_waiting(&mut ctx);
        engine.step(&mut ctx, &mut batch);
    }
}

struct Engine<'m> {
    model: &'m LlamaModel,
    settings: &'m EmbeddedSettings,
    slots: Vec<Slot>,
    clock: u64,
    template: Option<llama_cpp_2::model::LlamaChatTemplate>,
    /// Requests not yet in a slot, with their prompts' tokens.
    waiting: Vec<(Job, Vec<LlamaToken>)>,
}

impl Engine<'_> {
    fn render(&self, messages: &[Message]) -> Result<String, LlmError> {
        if let Some(tmpl) = &self.template {
            let chat: Result<Vec<_>, _> = messages
                .iter()
                .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
                .collect();
            let chat = chat.map_err(|e| {
                LlmError::InvalidRequest(format!("message contains a NUL byte: {e}"))
            })?;
            if let Ok(s) = self.model.apply_chat_template(tmpl, &chat, true) {
                return Ok(s);
            }
        }
        // No usable template in the GGUF: ChatML is the most common format.
        let mut s = String::new();
        for m in messages {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            s.push_str(&format!("<|im_start|>{role}\n{}<|im_end|>\n", m.content));
        }
        s.push_str("<|im_start|>assistant\n");
        Ok(s)
    }

    fn grammar(&self, p: &GenerateParams) -> Result<Option<LlamaSampler>, LlmError> {
        p.grammar
            .as_ref()
            .map(|g| {
                LlamaSampler::grammar(self.model, g, "root").map_err(|e| {
                    LlmError::InvalidRequest(format!("llama.cpp rejected the grammar: {e}"))
                })
            })
            .transpose()
    }

    fn sampler(&self, p: &GenerateParams) -> LlamaSampler {
        let mut chain = Vec::new();
        if p.ignore_eos {
            let vocab = self.model.vocab();
            let biases: Vec<LlamaLogitBias> = vocab
                .tokens()
                .filter(|t| vocab.is_eog(*t))
                .map(|t| LlamaLogitBias::new(t, f32::NEG_INFINITY))
                .collect();
            chain.push(LlamaSampler::logit_bias(self.model.n_vocab(), &biases));
        }
        if self.model.n_params() < super::SMALL_MODEL_PARAMS {
            // A small model falls into loops (a date, a number or a letter
            // repeated to the field's length limit): each loop costs the
            // longest answer of its wave, and the looped text is shown to
            // every peer next round. The grammar still decides wherever
            // only one token fits (JSON keys and punctuation).
            chain.push(LlamaSampler::penalties(
                self.model.n_vocab(),
                REPEAT_WINDOW,
                REPEAT_PENALTY,
                0.0,
                0.0,
            ));
        }
        if p.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            chain.push(LlamaSampler::top_k(40));
            chain.push(LlamaSampler::top_p(0.95, 1));
            chain.push(LlamaSampler::temp(p.temperature));
            chain.push(LlamaSampler::dist(p.seed));
        }
        LlamaSampler::chain_simple(chain)
    }

    /// Renders and tokenizes a new request and puts it in the queue (or
    /// answers at once with why it cannot run).
    fn enqueue(&mut self, job: Job) {
        match self.tokens_of(&job.params) {
            Ok(prompt) => self.waiting.push((job, prompt)),
            Err(e) => {
                let _ = job.reply.send(Err(e));
            }
        }
    }

    /// Puts waiting requests into free slots, the one that finds the longest
    /// cached prefix first: in a burst (six advisors' turns, or their votes)
    /// each takes back its own slot before a request that matches no cache
    /// takes the least recently used one.
    fn admit_waiting(&mut self, ctx: &mut LlamaContext<'_>) {
        while !self.waiting.is_empty() && self.slots.iter().any(|s| s.active.is_none()) {
            let best = |prompt: &[LlamaToken]| {
                self.slots
                    .iter()
                    .filter(|s| s.active.is_none())
                    .map(|s| common_prefix(&s.cached, prompt))
                    .max()
                    .unwrap_or(0)
            };
            let Some(next) = self
                .waiting
                .iter()
                .enumerate()
                .filter(|(_, (_, prompt))| !self.worth_waiting(prompt))
                .max_by_key(|(i, (_, prompt))| (best(prompt), usize::MAX - i))
                .map(|(i, _)| i)
            else {
                // Every request waits for a prompt being evaluated now.
                break;
            };
            let (job, prompt) = self.waiting.remove(next);
            match self.prepare(ctx, &job.params, prompt) {
                Ok((slot, active)) => {
                    self.slots[slot].active = Some(Active {
                        reply: job.reply,
                        ..active
                    });
                }
                Err(e) => {
                    let _ = job.reply.send(Err(e));
                }
            }
        }
    }

    /// Whether `prompt` should wait for a slot now evaluating a prompt that
    /// shares [`MIN_SHARE`] more of its tokens than any other cache holds:
    /// it waits until that slot holds the whole shared part, then is
    /// admitted and copies it (see `prepare`). Admitted any earlier, it
    /// would evaluate the shared tokens still missing (up to a batch of
    /// 512) again itself.
    fn worth_waiting(&self, prompt: &[LlamaToken]) -> bool {
        if !self.settings.share_prefixes {
            return false;
        }
        self.slots.iter().enumerate().any(|(i, s)| {
            s.active.as_ref().is_some_and(|a| {
                let shared = common_prefix(&a.prompt, prompt);
                if a.evaluated >= shared {
                    return false;
                }
                let elsewhere = self
                    .slots
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, o)| common_prefix(&o.cached, prompt))
                    .max()
                    .unwrap_or(0);
                shared >= elsewhere + MIN_SHARE
            })
        })
    }

    /// The prompt's tokens, checked to fit a slot.
    fn tokens_of(&self, p: &GenerateParams) -> Result<Vec<LlamaToken>, LlmError> {
        let text = self.render(&p.messages)?;
        let prompt = self.model.vocab().tokenize(text.as_bytes(), false, true);
        let room = self.settings.ctx_per_slot as usize;
        if prompt.is_empty() {
            return Err(LlmError::InvalidRequest(
                "the prompt rendered to no tokens".into(),
            ));
        }
        if prompt.len() + 16 > room {
            return Err(LlmError::InvalidRequest(format!(
                "the prompt has {} tokens but each embedded slot holds {room}; shorten it or raise ctx_per_slot in the config file",
                prompt.len()
            )));
        }
        Ok(prompt)
    }

    /// The free slot for `prompt`: the one whose cache shares the longest
    /// prefix with it, if that is worth keeping ([`MIN_REUSE`] tokens);
    /// else an empty slot, else the least recently used one. A few shared
    /// tokens (a chat template's opening) never outrank a cache another
    /// caller will come back for: that would push each advisor out of its
    /// slot in turn, and no one would find their cache the next round.
    fn choose_slot(&self, prompt: &[LlamaToken]) -> Option<usize> {
        let free = || {
            self.slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.active.is_none())
        };
        let (best, shared) = free()
            .map(|(i, s)| (i, common_prefix(&s.cached, prompt)))
            .max_by_key(|&(i, shared)| (shared, u64::MAX - self.slots[i].last_used))?;
        if shared >= MIN_REUSE {
            return Some(best);
        }
        free()
            .min_by_key(|(_, s)| (!s.cached.is_empty(), s.last_used))
            .map(|(i, _)| i)
    }

    fn prepare(
        &mut self,
        ctx: &mut LlamaContext<'_>,
        p: &GenerateParams,
        prompt: Vec<LlamaToken>,
    ) -> Result<(usize, Active), LlmError> {
        let room = self.settings.ctx_per_slot as usize;
        let max_tokens = (p.max_tokens as usize).min(room - prompt.len()).max(1);
        let slot = self
            .choose_slot(&prompt)
            .ok_or_else(|| LlmError::Embedded("no free slot (internal error)".into()))?;
        self.clock += 1;
        self.slots[slot].last_used = self.clock;
        // Another slot may hold more of this prompt (the debate that every
        // synthesis part opens with): its cache is copied in and cut to the
        // shared prefix, instead of evaluating those tokens again.
        let own = common_prefix(&self.slots[slot].cached, &prompt);
        let donor = self
            .slots
            .iter()
            .filter(|d| d.seq != self.slots[slot].seq)
            .map(|d| (d.seq, common_prefix(&d.cached, &prompt)))
            .max_by_key(|&(_, shared)| shared)
            .filter(|&(_, shared)| self.settings.share_prefixes && shared >= own + MIN_SHARE);
        let s = &mut self.slots[slot];
        if let Some((from, shared)) = donor {
            // Streams are separate (no unified KV): a copy takes the whole
            // stream, then everything past the shared prefix is dropped.
            let copied = ctx.copy_kv_cache_seq(from, s.seq, None, None).is_ok()
                && ctx
                    .kv_cache_seq_rm(s.seq, Some(shared as u32), None)
                    .is_ok();
            if copied {
                s.cached = prompt[..shared].to_vec();
            } else {
                let _ = ctx.clear_kv_cache_seq(Some(s.seq as u32), None, None);
                s.cached.clear();
            }
        }
        // Keep at least one prompt token to evaluate: its logits start generation.
        let keep = common_prefix(&s.cached, &prompt).min(prompt.len() - 1);
        if ctx.kv_cache_seq_rm(s.seq, Some(keep as u32), None).is_err() {
            ctx.clear_kv_cache_seq(Some(s.seq as u32), None, None)
                .map_err(|e| LlmError::Embedded(format!("cannot clear a KV sequence: {e}")))?;
            s.cached.clear();
        } else {
            s.cached.truncate(keep);
        }
        let reused = s.cached.len();
        let sampler = self.sampler(p);
        let grammar = self.grammar(p)?;
        // The reply channel is filled in by `admit_waiting`.
        let (placeholder, _) = tokio::sync::oneshot::channel();
        Ok((
            slot,
            Active {
                reply: placeholder,
                sampler,
                grammar,
                evaluated: reused,
                reused,
                prompt,
                generated: Vec::new(),
                pending: None,
                max_tokens,
                ignore_eos: p.ignore_eos,
                admitted: Instant::now(),
                first_token: None,
                logits_at: None,
            },
        ))
    }

    /// One decode step over every active slot, then one sample per slot
    /// whose logits are ready.
    fn step(&mut self, ctx: &mut LlamaContext<'_>, batch: &mut LlamaBatch<'_>) {
        batch.clear();
        let capacity = self.settings.batch as usize;
        let mut used = 0usize;
        // Generating slots first: each needs one token per step.
        for s in &mut self.slots {
            let Some(a) = &mut s.active else { continue };
            a.logits_at = None;
            if let Some(tok) = a.pending.take() {
                if batch
                    .add(tok, s.cached.len() as i32, &[s.seq], true)
                    .is_ok()
                {
                    a.logits_at = Some(used as i32);
                    s.cached.push(tok);
                    used += 1;
                } else {
                    a.pending = Some(tok);
                }
            }
        }
        // Then prompt chunks, filling the rest of the batch.
        for s in &mut self.slots {
            let Some(a) = &mut s.active else { continue };
            if a.evaluated >= a.prompt.len() || a.logits_at.is_some() {
                continue;
            }
            let room = capacity.saturating_sub(used);
            if room == 0 {
                break;
            }
            let end = (a.evaluated + room).min(a.prompt.len());
            for i in a.evaluated..end {
                let last = i + 1 == a.prompt.len();
                if batch.add(a.prompt[i], i as i32, &[s.seq], last).is_err() {
                    break;
                }
                s.cached.push(a.prompt[i]);
                if last {
                    a.logits_at = Some(used as i32);
                }
                used += 1;
                a.evaluated = i + 1;
            }
        }
        if used == 0 {
            return;
        }
        if let Err(e) = ctx.decode(batch) {
            let msg = format!("llama.cpp decode failed: {e}");
            for s in &mut self.slots {
                if let Some(a) = s.active.take() {
                    let _ = ctx.clear_kv_cache_seq(Some(s.seq as u32), None, None);
                    s.cached.clear();
                    let _ = a.reply.send(Err(LlmError::Embedded(msg.clone())));
                }
            }
            return;
        }
        let vocab = self.model.vocab();
        for s in &mut self.slots {
            let Some(a) = &mut s.active else { continue };
            let Some(idx) = a.logits_at else { continue };
            let tok = sample(ctx, idx, &mut a.sampler, a.grammar.as_mut());
            let now = Instant::now();
            a.first_token.get_or_insert(now);
            let finish = if vocab.is_eog(tok) && !a.ignore_eos {
                Some(FinishReason::Stop)
            } else {
                a.generated.push(tok);
                if a.generated.len() >= a.max_tokens {
                    Some(FinishReason::Length)
                } else {
                    a.pending = Some(tok);
                    None
                }
            };
            if let Some(reason) = finish {
                let Some(a) = s.active.take() else { continue };
                let text = String::from_utf8_lossy(&vocab.detokenize(&a.generated, true, false))
                    .into_owned();
                let first = a.first_token.unwrap_or(now);
                let _ = a.reply.send(Ok(Generation {
                    text,
                    prompt_tokens: a.prompt.len(),
                    reused_tokens: a.reused,
                    generated_tokens: a.generated.len(),
                    finish_reason: reason,
                    prompt_time: first - a.admitted,
                    generation_time: now - first,
                }));
            }
        }
    }
}

/// Samples one token. With a grammar, the token is first drawn freely and
/// only checked against the grammar (llama.cpp's own common_sampler
/// strategy: a grammar over 49k candidates per slot per step would
/// dominate the decode time). When the check fails, the grammar is applied
/// to the [`FALLBACK_CANDIDATES`] likeliest tokens and the token drawn from
/// those it allows; only when it allows none of them is it applied to the
/// whole vocabulary. Greedy decoding picks the same token either way (the
/// likeliest allowed one); sampling differs only in leaving out allowed
/// tokens less likely than the first [`FALLBACK_CANDIDATES`], which top-p
/// would almost always drop anyway. A small model's first draw fails the
/// check about one time in four, and the whole-vocabulary pass costs
/// about 3 ms each time.
fn sample(
    ctx: &LlamaContext<'_>,
    idx: i32,
    chain: &mut LlamaSampler,
    grammar: Option<&mut LlamaSampler>,
) -> LlamaToken {
    let tok = chain.sample(ctx, idx);
    let Some(grammar) = grammar else { return tok };
    let mut single = LlamaTokenDataArray::new(vec![LlamaTokenData::new(tok, 1.0, 0.0)], false);
    grammar.apply(&mut single);
    let tok = if single.data[0].logit().is_finite() {
        tok
    } else {
        let mut likeliest = ctx.token_data_array_ith(idx);
        LlamaSampler::top_k(FALLBACK_CANDIDATES).apply(&mut likeliest);
        grammar.apply(&mut likeliest);
        let tok = if likeliest.data.iter().any(|d| d.logit().is_finite()) {
            // The grammar masked some of the sorted candidates in place:
            // the order no longer holds.
            likeliest.sorted = false;
            chain.apply(&mut likeliest);
            likeliest.selected_token().unwrap_or(tok)
        } else {
            let mut all = ctx.token_data_array_ith(idx);
            grammar.apply(&mut all);
            chain.apply(&mut all);
            all.selected_token().unwrap_or(tok)
        };
        // `sample` recorded the rejected draw; the repetition penalty
        // must also see the token actually written.
        chain.accept(tok);
        tok
    };
    grammar.accept(tok);
    tok
}

/// Recent tokens a small model's repetition penalty looks back over.
const REPEAT_WINDOW: i32 = 64;
/// Logit divisor for a token repeated within [`REPEAT_WINDOW`].
const REPEAT_PENALTY: f32 = 1.15;

/// Candidates a rejected draw is retried among before the whole vocabulary.
const FALLBACK_CANDIDATES: i32 = 64;

fn common_prefix(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}
