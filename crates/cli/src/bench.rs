//! `council bench`: throughput figures of the embedded backend, measured in
//! one run so they can be compared as ratios; `--debate` times the quick
//! start's whole run.

use crate::cli::{BenchArgs, Global};

/// The quick start's question (`scripts/quickstart.sh` asks the same).
pub(crate) const QUICKSTART_QUESTION: &str =
    "We are a 40-person B2B analytics company. Should we raise prices 15% next quarter?";

#[cfg(feature = "embedded")]
pub(crate) async fn run(args: BenchArgs, global: &Global) -> anyhow::Result<()> {
    if args.debate {
        return debate(args, global).await;
    }
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

/// `council bench --debate`: the quick start's run on the embedded model,
/// timed in two parts (casting and rounds with their summaries; synthesis
/// and reports), with the
/// tokens it sent, evaluated, reused from the KV cache and generated.
#[cfg(feature = "embedded")]
async fn debate(args: BenchArgs, global: &Global) -> anyhow::Result<()> {
    use clap::Parser;
    use std::time::Instant;

    let question = args
        .question
        .clone()
        .unwrap_or_else(|| QUICKSTART_QUESTION.to_string());
    let tmp = tempfile::tempdir()?;
    let dir = args.out.clone().unwrap_or_else(|| tmp.path().join("run"));
    let mut base: Vec<String> = vec!["council".into(), "--embedded".into()];
    if let Some(config) = &global.config {
        base.extend(["--config".into(), config.display().to_string()]);
    }
    let ask = |extra: &[String]| -> anyhow::Result<crate::cli::AskArgs> {
        let mut argv = base.clone();
        argv.push("ask".into());
        argv.extend(extra.iter().cloned());
        match crate::cli::Cli::try_parse_from(argv)?.command {
            crate::cli::Command::Ask(a) => Ok(a),
            _ => anyhow::bail!("internal: not an ask"),
        }
    };
    let embedded = Global {
        embedded: true,
        config: global.config.clone(),
        quiet: global.quiet,
        verbose: global.verbose,
        ..Global::default()
    };
    let dir_s = dir.display().to_string();
    eprintln!(
        "bench: the debate on the embedded model (seed {}, {} rounds) in {dir_s}",
        args.seed, args.rounds
    );
    // One run in one process, as `ask` makes it (so each advisor's KV cache
    // lives on into its vote); the debate's end is seen in the event log.
    let started = Instant::now();
    let log = dir.join("events.jsonl");
    let rounds = args.rounds as usize;
    let watcher = tokio::spawn(async move {
        loop {
            let summaries = std::fs::read_to_string(&log)
                .map(|t| t.matches(r#""event":"summary""#).count())
                .unwrap_or(0);
            if summaries >= rounds {
                return started.elapsed();
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    crate::ask::ask(
        ask(&[
            question.clone(),
            "--seed".into(),
            args.seed.to_string(),
            "--rounds".into(),
            args.rounds.to_string(),
            "--out".into(),
            dir_s.clone(),
        ])?,
        &embedded,
    )
    .await?;
    let wall = started.elapsed();
    let debate_wall = if watcher.is_finished() {
        watcher.await?
    } else {
        watcher.abort();
        wall
    };
    let synthesis_wall = wall - debate_wall;

    let t = council_engine::read_transcript(&dir)?;
    let u = t.usage;
    let sent = u.prompt_tokens.unwrap_or(0);
    let reused = u.cached_tokens.unwrap_or(0);
    let evaluated = sent.saturating_sub(reused);
    let generated = u.completion_tokens.unwrap_or(0);
    let turns: usize = t.rounds.iter().map(|r| r.turns.len()).sum();
    let ok_turns: usize = t
        .rounds
        .iter()
        .flat_map(|r| r.turns.iter())
        .filter(|x| x.status == council_core::TurnStatus::Ok)
        .count();
    let ok_parts = t.synthesis.iter().filter(|p| p.error.is_none()).count();
    let panel = t.panel.len();
    println!("question: {question}");
    println!(
        "debate (casting, {} rounds, summaries): {:.1} s; synthesis and reports: {:.1} s; whole run: {:.1} s",
        args.rounds,
        debate_wall.as_secs_f64(),
        synthesis_wall.as_secs_f64(),
        wall.as_secs_f64()
    );
    println!(
        "calls: {} (and the casting); turns {ok_turns} of {} present ({turns} asked), synthesis parts {ok_parts} of {}",
        u.calls,
        panel * args.rounds as usize,
        t.synthesis.len()
    );
    println!(
        "prompt tokens: {sent} sent, {evaluated} evaluated, {reused} reused from the KV cache ({:.1}x fewer evaluated than sent)",
        sent as f64 / evaluated.max(1) as f64
    );
    println!(
        "generated tokens: {generated}; {:.1} generated tok/s and {:.1} evaluated prompt tok/s over the whole run",
        generated as f64 / wall.as_secs_f64(),
        evaluated as f64 / wall.as_secs_f64()
    );
    Ok(())
}

#[cfg(not(feature = "embedded"))]
pub async fn run(_args: BenchArgs, _global: &Global) -> anyhow::Result<()> {
    anyhow::bail!("this build has no embedded backend (built without the `embedded` feature)")
}
