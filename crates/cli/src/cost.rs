//! `council cost RUN`: tokens and dollars of a run by persona and round,
//! the moderator, the synthesis, each follow-up, and each variant and
//! branch kept inside the run folder. Zero model calls.

use crate::cli::{CostArgs, CostFormat};
use council_analysis::{cost_of, PriceTable};
use council_core::cost::{format_usd, CostLine, RunCost};

/// Runs `council cost`.
pub(crate) fn cost(args: &CostArgs, prices: &PriceTable) -> anyhow::Result<()> {
    let t = council_engine::read_transcript(&args.path).map_err(crate::unreadable_run)?;
    let run = cost_of(&t, prices);
    let mut derived = Vec::new();
    if args.path.is_dir() {
        for (kind, dir) in council_app::runs::derived(&args.path) {
            let d = council_engine::read_transcript(&dir).map_err(crate::unreadable_run)?;
            let mut c = cost_of(&d, prices).total;
            let name = dir
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            c.label = format!("{} {name}", kind.as_str());
            derived.push(c);
        }
    }
    match args.format {
        CostFormat::Json => {
            let v = serde_json::json!({ "run": run, "derived": derived });
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        CostFormat::Table => print!("{}", table(&run, &derived)),
    }
    Ok(())
}

fn row(l: &CostLine) -> String {
    let n = |v: Option<u64>| v.map_or_else(|| "–".into(), |x| x.to_string());
    let usd = match (l.usd, l.usage.calls) {
        (_, 0) => "–".to_string(),
        (Some(x), _) => format_usd(x),
        (None, _) => "not priced".to_string(),
    };
    format!(
        "{:<44} {:>5} {:>10} {:>9} {:>10} {:>12}\n",
        council_core::excerpt(&l.label, 44),
        l.usage.calls,
        n(l.usage.prompt_tokens),
        n(l.usage.cached_tokens),
        n(l.usage.completion_tokens),
        usd
    )
}

/// The cost as a plain-text table.
pub(crate) fn table(run: &RunCost, derived: &[CostLine]) -> String {
    let mut out = format!(
        "{:<44} {:>5} {:>10} {:>9} {:>10} {:>12}\n",
        "", "calls", "prompt", "cached", "generated", "cost"
    );
    let section = |out: &mut String, title: &str, lines: &[CostLine]| {
        if lines.iter().any(|l| l.usage.calls > 0) {
            out.push_str(&format!("{title}\n"));
            for l in lines.iter().filter(|l| l.usage.calls > 0) {
                out.push_str(&format!("  {}", row(l)));
            }
        }
    };
    section(&mut out, "by persona", &run.by_persona);
    section(&mut out, "by round (summaries included)", &run.by_round);
    section(
        &mut out,
        "moderator and synthesis",
        &[run.moderator.clone(), run.synthesis.clone()],
    );
    section(&mut out, "follow-ups", &run.followups);
    out.push_str(&row(&run.total));
    section(
        &mut out,
        "variants and branches (each its own run)",
        derived,
    );
    if !run.unpriced_models.is_empty() {
        out.push_str(&format!(
            "not priced: {} (add [prices.\"MODEL\"] with input, cached_input and output dollars per million tokens to the config)\n",
            run.unpriced_models.join(", ")
        ));
    }
    if let Some(d) = &run.builtin_date {
        out.push_str(&format!(
            "built-in list prices as of {d}; override them in the config\n"
        ));
    }
    out
}
