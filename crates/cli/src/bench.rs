//! `council bench`: throughput figures of the embedded backend, measured in
//! one run so they can be compared as ratios; `--debate` times the quick
//! start's whole run.

use crate::cli::{BenchArgs, Global};

/// The quick start's question (`scripts/quickstart.sh` asks the same).
pub(crate) const QUICKSTART_QUESTION: &str =
    "We are a 40-person B2B analytics company. Should we raise prices 15% next quarter?";

/// Characters that do not belong in prose: JSON's brackets and the
/// backslash, which a small model writes inside strings when nothing stops it.
const JSON_PUNCTUATION: [char; 5] = ['{', '}', '[', ']', '\\'];

/// What a report's prose looks like: its model-written strings, which of
/// them hold JSON punctuation, and how many turns were flagged.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ProseCount {
    /// The synthesis's prose strings in the report (verdict, reasoning,
    /// vote reasons, forecasts, actions with their owners, scripts and
    /// triggers, path titles, premises and milestones, story, evidence
    /// claims, risks); quotes, copied from the advisors, are not counted.
    pub strings: usize,
    /// Of those, (where, text) of each that holds `{ } [ ]` or a backslash.
    pub with_json: Vec<(String, String)>,
    /// The turns' prose strings (text, assumptions, story, systemic change).
    pub turn_strings: usize,
    /// Of those, (where, text) of each that holds JSON punctuation.
    pub turns_with_json: Vec<(String, String)>,
    /// Turns in the report.
    pub turns: usize,
    /// Turns that carry at least one flag.
    pub turns_flagged: usize,
    /// The report's flags about an answer's language.
    pub language_flags: usize,
}

/// Counts `report`'s prose: any report, this build's or an older run's.
pub(crate) fn count_prose(report: &council_core::Report) -> ProseCount {
    let mut synthesis: Vec<(String, &str)> = vec![
        ("verdict".into(), report.verdict.as_str()),
        ("reasoning".into(), report.reasoning.as_str()),
    ];
    for v in &report.votes {
        synthesis.push((format!("vote {}", v.persona), &v.reason));
    }
    for (i, f) in report.forecasts.iter().enumerate() {
        synthesis.push((format!("forecast {}", i + 1), &f.statement));
    }
    for (i, a) in report.actions.iter().enumerate() {
        synthesis.push((format!("action {}", i + 1), &a.action));
        synthesis.push((format!("action {} owner", i + 1), &a.owner));
        for (what, s) in [("script", &a.script), ("trigger", &a.trigger)] {
            if let Some(s) = s {
                synthesis.push((format!("action {} {what}", i + 1), s));
            }
        }
    }
    for (i, p) in report.paths.iter().enumerate() {
        synthesis.push((format!("path {} title", i + 1), &p.title));
        synthesis.push((format!("path {} premise", i + 1), &p.premise));
        for m in &p.milestones {
            synthesis.push((format!("path {} month {}", i + 1, m.month), &m.event));
        }
    }
    for (i, s) in report.story.iter().enumerate() {
        synthesis.push((format!("story {}", i + 1), s));
    }
    for (i, e) in report.evidence.iter().enumerate() {
        synthesis.push((format!("evidence {}", i + 1), &e.claim));
    }
    for (i, r) in report.risks.iter().enumerate() {
        synthesis.push((format!("risk {}", i + 1), &r.risk));
        synthesis.push((format!("risk {} why", i + 1), &r.why));
    }
    let turns: Vec<&council_core::Turn> = report.rounds.iter().flat_map(|r| &r.turns).collect();
    let mut spoken: Vec<(String, &str)> = Vec::new();
    for t in &turns {
        let at = |what: &str| format!("round {} {} {what}", t.round, t.persona);
        spoken.push((at("text"), &t.text));
        for (what, s) in [
            ("assumption", &t.assumption),
            ("target assumption", &t.target_assumption),
            ("story", &t.story),
            ("systemic change", &t.systemic_change),
        ] {
            if let Some(s) = s {
                spoken.push((at(what), s));
            }
        }
    }
    let holding = |strings: &[(String, &str)]| -> Vec<(String, String)> {
        strings
            .iter()
            .filter(|(_, s)| s.contains(JSON_PUNCTUATION))
            .map(|(at, s)| (at.clone(), s.to_string()))
            .collect()
    };
    let non_empty = |v: &mut Vec<(String, &str)>| v.retain(|(_, s)| !s.trim().is_empty());
    non_empty(&mut synthesis);
    non_empty(&mut spoken);
    ProseCount {
        strings: synthesis.len(),
        with_json: holding(&synthesis),
        turn_strings: spoken.len(),
        turns_with_json: holding(&spoken),
        turns: turns.len(),
        turns_flagged: turns.iter().filter(|t| !t.flags.is_empty()).count(),
        language_flags: report
            .flags
            .iter()
            .filter(|f| council_core::lang::is_language_flag(f))
            .count(),
    }
}

/// Prints [`ProseCount`]'s figures, each string holding JSON punctuation
/// on its own line.
fn print_prose(c: &ProseCount) {
    let share = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
    println!(
        "prose: {} of {} report strings hold {{ }} [ ] or \\ ({:.0}%); turns: {} of {} strings",
        c.with_json.len(),
        c.strings,
        share(c.with_json.len(), c.strings),
        c.turns_with_json.len(),
        c.turn_strings
    );
    println!(
        "turns flagged: {} of {} ({:.0}%); language flags in the report: {}",
        c.turns_flagged,
        c.turns,
        share(c.turns_flagged, c.turns),
        c.language_flags
    );
    for (at, s) in c.with_json.iter().chain(&c.turns_with_json) {
        println!("  {at}: {:?}", council_core::excerpt(s, 100));
    }
}

/// `council bench --report FILE`: [`count_prose`] of a report already written.
fn count_report(path: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the report {}", path.display()))?;
    let report: council_core::Report = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a report.json (give the report.json of a run folder)",
            path.display()
        )
    })?;
    println!("report: {}", path.display());
    print_prose(&count_prose(&report));
    Ok(())
}

#[cfg(feature = "embedded")]
pub(crate) async fn run(args: BenchArgs, global: &Global) -> anyhow::Result<()> {
    if let Some(path) = &args.report {
        return count_report(path);
    }
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
    settings.chosen.slots = true;
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
        embedded_model: global.embedded_model.clone(),
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
    let report: council_core::Report =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json"))?)?;
    print_prose(&count_prose(&report));
    Ok(())
}

#[cfg(not(feature = "embedded"))]
pub async fn run(args: BenchArgs, _global: &Global) -> anyhow::Result<()> {
    if let Some(path) = &args.report {
        return count_report(path);
    }
    anyhow::bail!("this build has no embedded backend (built without the `embedded` feature)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report of the version 2 fixture's run.
    fn report() -> council_core::Report {
        let t: council_core::Transcript =
            serde_json::from_str(include_str!("../../../tests/fixtures/transcript-v2.json"))
                .unwrap();
        let a = council_core::synthesis::Answers::from_transcript(&t);
        council_engine::report::build_report(&t, &a, None)
    }

    #[test]
    fn prose_holding_json_punctuation_is_counted_where_it_is() {
        let mut r = report();
        let clean = count_prose(&r);
        assert!(clean.strings > 20, "{clean:?}");
        // The fixture's own risks hold a bracket ("… 10% of [").
        let at = |c: &ProseCount| -> Vec<String> {
            c.with_json.iter().map(|(at, _)| at.clone()).collect()
        };
        assert_eq!(at(&clean), ["risk 1", "risk 2"]);
        assert_eq!(
            clean.turns,
            r.rounds.iter().map(|x| x.turns.len()).sum::<usize>()
        );
        r.verdict = "[Persona_n] {Event, fracionnaire(".into();
        r.risks[0].why = "a \\ b".into();
        r.forecasts[0].statement = "#MENU{#1.4*} },{".into();
        r.rounds[0].turns[0].text = "FinishED} };*{#}".into();
        r.rounds[0].turns[0].flags = vec!["very short answer".into()];
        r.rounds[0].turns[1].flags.clear();
        r.flags
            .push(council_core::lang::language_flag("en", "Chinese", true));
        let c = count_prose(&r);
        assert_eq!(c.strings, clean.strings);
        assert_eq!(
            at(&c),
            ["verdict", "forecast 1", "risk 1", "risk 1 why", "risk 2"]
        );
        let first = format!("round 1 {} text", r.rounds[0].turns[0].persona);
        assert!(!clean.turns_with_json.iter().any(|(at, _)| *at == first));
        assert!(c.turns_with_json.iter().any(|(at, _)| *at == first));
        assert_eq!(c.turns_with_json.len(), clean.turns_with_json.len() + 1);
        let was = |c: &ProseCount| c.turns_flagged;
        let (first_flagged, second_flagged) = (
            !report().rounds[0].turns[0].flags.is_empty(),
            !report().rounds[0].turns[1].flags.is_empty(),
        );
        assert_eq!(
            was(&c) as i64,
            was(&clean) as i64 + i64::from(!first_flagged) - i64::from(second_flagged)
        );
        assert_eq!(c.language_flags, clean.language_flags + 1);
    }
}
