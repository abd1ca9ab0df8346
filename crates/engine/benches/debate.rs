//! Scheduling benchmark: a whole run (casting a six-persona panel, five
//! rounds with their summaries, the synthesis) against a fake backend that
//! answers every call after a fixed latency L with realistic-length text.
//! Prints the wall time over the critical path (1 L casting + 5 L turns + 5
//! L summaries + 2 L for synthesis's two waves = 13 L), the synthesis's own
//! share, and the prompt tokens per turn in each round.
//!
//! `cargo bench -p council-engine --bench debate [-- LATENCY_MS]`

use async_trait::async_trait;
use council_core::Usage;
use council_engine::{
    cast_panel, run, Debate, DebateSettings, Models, Progress, ProgressEvent, Prompts, RunStore,
};
use council_llm::{
    Capabilities, ChatModel, ChatRequest, ChatResponse, FinishReason, LlmError, ModelInfo,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FILLER: &str = "Pricing power depends on how much of the customer's workflow we own. \
Our renewal data shows enterprise accounts absorb a ten percent increase when support response times improve, \
while smaller accounts churn within two quarters. I would test the increase on new logos first, \
measure win rates for eight weeks, and only then touch the installed base with a grandfathering window. ";

struct LatencyModel {
    latency: Duration,
    calls: AtomicUsize,
}

#[async_trait]
impl ChatModel for LatencyModel {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            backend: "fake".into(),
            model: "fixed-latency".into(),
            location: "memory".into(),
            capabilities: Capabilities::in_process(),
        }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.latency).await;
        let prompt_chars: usize = request
            .messages
            .iter()
            .map(|m| m.content.chars().count())
            .sum();
        let long = FILLER.repeat(4);
        let (text, json) = match &request.schema {
            Some(s) => {
                let v = council_llm::schema::example_for(&s.schema, &long);
                (v.to_string(), Some(v))
            }
            None => (FILLER.repeat(2), None),
        };
        Ok(ChatResponse {
            usage: Usage::reported((prompt_chars / 4) as u64, (text.len() / 4) as u64),
            text,
            json,
            finish_reason: FinishReason::Stop,
            model: "fixed-latency".into(),
            attempts: 1,
        })
    }
}

fn main() {
    let latency_ms: u64 = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(200);
    let latency = Duration::from_millis(latency_ms);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let roster = council_personas::Roster::builtin().expect("roster");
    let prompts = Prompts::builtin().expect("prompts");
    let model = Arc::new(LatencyModel {
        latency,
        calls: AtomicUsize::new(0),
    });
    let question =
        "Should we raise enterprise prices by 10% next quarter, and how do we protect renewals?";
    let start = Instant::now();
    let (panel, _notes) = rt
        .block_on(cast_panel(
            model.as_ref(),
            &prompts,
            &roster,
            question,
            6,
            1,
        ))
        .expect("casting");
    let rounds = 5u32;
    let marks = Marks::default();
    let debate = Debate {
        question: question.into(),
        panel: panel.clone(),
        settings: DebateSettings {
            rounds,
            // The CLI's default bound.
            max_concurrency: 10,
            seed: 1,
            date: "2026-11-26".into(),
            lang: "en".into(),
            max_tokens: 600,
            synthesis: true,
            condition: Default::default(),
        },
        models: Models::new(model.clone()),
        prompts: &prompts,
        progress: &marks,
        notes: Vec::new(),
        library: None,
        library_inputs: Vec::new(),
    };
    let dir = std::env::temp_dir().join(format!("council-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut store = RunStore::create(&dir).expect("run folder");
    let transcript = rt.block_on(run(&debate, &mut store)).expect("debate");
    let wall = start.elapsed();
    let _ = std::fs::remove_dir_all(&dir);

    // Casting, each round's turns and summary, synthesis's two waves.
    let critical = latency * (1 + 2 * rounds + 2);
    let turns = panel.len() as u32 * rounds;
    let sequential = latency * (1 + turns + rounds + transcript.synthesis.len() as u32);
    println!(
        "run: casting, {} personas x {rounds} rounds, {} synthesis parts; fake latency L = {latency_ms} ms; {} calls",
        panel.len(),
        transcript.synthesis.len(),
        model.calls.load(Ordering::SeqCst)
    );
    println!(
        "wall {:.2} s; critical path (1 + {rounds} + {rounds} + 2) L = {:.2} s; ratio {:.2} (target <= 1.10; a sequential engine: {:.2})",
        wall.as_secs_f64(),
        critical.as_secs_f64(),
        wall.as_secs_f64() / critical.as_secs_f64(),
        sequential.as_secs_f64() / critical.as_secs_f64()
    );
    if let Some(synth_start) = *marks.synthesis_started.lock().expect("marks") {
        let synth = start + wall - synth_start;
        println!(
            "synthesis: {:.2} s = {:.2} L (two dependent waves = 2 L)",
            synth.as_secs_f64(),
            synth.as_secs_f64() / latency.as_secs_f64()
        );
    }
    let mut first = 0.0;
    for r in &transcript.rounds {
        let tokens: Vec<u64> = r
            .turns
            .iter()
            .filter_map(|t| t.usage.prompt_tokens)
            .collect();
        let mean = tokens.iter().sum::<u64>() as f64 / tokens.len().max(1) as f64;
        if r.number == 1 {
            first = mean;
        }
        println!(
            "round {}: prompt tokens per turn {:.0} (estimated as chars/4), {:.2}x round 1",
            r.number,
            mean,
            mean / first
        );
    }
}

/// Notes when the synthesis starts (the first part lands one wave later).
#[derive(Default)]
struct Marks {
    last_round: Mutex<Option<Instant>>,
    synthesis_started: Mutex<Option<Instant>>,
}

impl Progress for Marks {
    fn event(&self, event: ProgressEvent) {
        match event {
            ProgressEvent::RoundFinished { .. } => {
                *self.last_round.lock().expect("marks") = Some(Instant::now());
            }
            ProgressEvent::SynthesisFinished { .. } => {
                let mut s = self.synthesis_started.lock().expect("marks");
                if s.is_none() {
                    *s = *self.last_round.lock().expect("marks");
                }
            }
            _ => {}
        }
    }
}
