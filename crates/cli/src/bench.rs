//! `council bench`: throughput figures of the embedded backend, measured in
//! one run so they can be compared as ratios.

use crate::cli::BenchArgs;

#[cfg(feature = "embedded")]
pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    use council_llm::embedded::{EmbeddedModel, EmbeddedSettings, GenerateParams};
    use council_llm::Message;
    use std::time::Instant;

    let path = std::env::var("COUNCIL_MODEL_PATH")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| council_llm::fetch::default_model_path());
    let mut settings = EmbeddedSettings::new(path);
    settings.slots = args.concurrent.max(2);
    let model = tokio::task::spawn_blocking(move || EmbeddedModel::load(settings)).await??;
    let s = model.settings();
    println!(
        "model: {} | threads: {} | slots: {} | ctx/slot: {}",
        s.model_path.display(),
        s.threads,
        s.slots,
        s.ctx_per_slot
    );

    let params = |prompt: String, seed: u32| GenerateParams {
        messages: vec![
            Message::system("You are a concise strategy advisor."),
            Message::user(prompt),
        ],
        max_tokens: args.tokens,
        temperature: 0.7,
        seed,
        grammar: None,
        ignore_eos: true,
    };
    let long_context = "Our company sells analytics software to mid-sized retailers. ".repeat(40);

    // Warm-up: first decode allocates buffers.
    model
        .generate(GenerateParams {
            max_tokens: 8,
            ..params("Hello".into(), 1)
        })
        .await?;

    // 1. One request: prompt and generation speed.
    let g = model
        .generate(params(
            format!("{long_context}\nWhat should we do first?"),
            7,
        ))
        .await?;
    let evaluated = g.prompt_tokens - g.reused_tokens;
    let prompt_tps = evaluated as f64 / g.prompt_time.as_secs_f64();
    let single_gen_tps = g.generated_tokens as f64 / g.generation_time.as_secs_f64();
    println!("single request: prompt {evaluated} tokens at {prompt_tps:.0} tok/s; generation {} tokens at {single_gen_tps:.1} tok/s", g.generated_tokens);

    // 2. N concurrent requests: aggregate generation throughput.
    let start = Instant::now();
    let jobs = (0..args.concurrent).map(|i| {
        model.generate(params(
            format!("Advisor {i}: name one risk of expanding into a new market."),
            100 + i as u32,
        ))
    });
    let results = futures::future::try_join_all(jobs).await?;
    let wall = start.elapsed().as_secs_f64();
    let total: usize = results.iter().map(|g| g.generated_tokens).sum();
    let agg = total as f64 / wall;
    println!(
        "{} concurrent requests: {total} tokens in {wall:.2} s = {agg:.1} tok/s aggregate ({:.2}x the single request)",
        args.concurrent,
        agg / single_gen_tps
    );

    // 3. Prefix reuse: the same long prefix with a new tail.
    // A system message no earlier request used, so the first call is cold.
    let prefixed = |tail: &str| GenerateParams {
        messages: vec![
            Message::system("You are the board's careful CFO."),
            Message::user(format!("{long_context}{long_context}\n{tail}")),
        ],
        max_tokens: 1,
        ..params(String::new(), 3)
    };
    let cold = model.generate(prefixed("Question A: pricing?")).await?;
    let warm = model.generate(prefixed("Question B: hiring?")).await?;
    println!(
        "prefix reuse: {} prompt tokens cold in {:.3} s; {} of {} reused, tail in {:.3} s = {:.1}x faster",
        cold.prompt_tokens - cold.reused_tokens,
        cold.prompt_time.as_secs_f64(),
        warm.reused_tokens,
        warm.prompt_tokens,
        warm.prompt_time.as_secs_f64(),
        cold.prompt_time.as_secs_f64() / warm.prompt_time.as_secs_f64()
    );
    Ok(())
}

#[cfg(not(feature = "embedded"))]
pub async fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("this build has no embedded backend (built without the `embedded` feature)")
}
