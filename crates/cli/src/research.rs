//! The researcher's commands: `council compare` (metrics over runs and
//! studies), `council outcome` (what became of a forecast, appended to
//! `outcomes.jsonl`) and `council score` (Brier, log loss, calibration).
//! This file finds and reads runs (never writing into one) and writes the
//! outputs; every number comes from `council-analysis`. Zero model calls.

use crate::cli::{
    By, CompareArgs, CompareBy, CompareFormat, OutcomeArgs, RecordTable, ScoreArgs, ScoreFormat,
    YesNo,
};
use crate::InputError;
use council_analysis::outcomes;
use council_analysis::paired::{self, PairedOptions, Strata};
use council_analysis::records;
use council_analysis::tables::{self, Summary};
use council_analysis::PriceTable;
use council_analysis::{forecasts_in, CompareOptions, RunInput, ScoreInput};
use council_app::research::{outcomes_file, read_outcomes, read_runs, record_outcomes};
use council_core::outcome::{latest, Outcome, Resolution};
use council_core::study::{Condition, Study};
use council_core::synthesis::Answers;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Reads the runs under `paths`, a warning on stderr for each one skipped
/// (unless `-q`).
fn read(paths: &[PathBuf]) -> anyhow::Result<Vec<RunInput>> {
    let read = read_runs(paths)?;
    for (path, why) in &read.skipped {
        crate::say!("warning: skipped {}: {why}", path.display());
    }
    Ok(read.runs)
}

/// Writes `text` to `out`, or to standard output; a written file's path goes to stderr.
fn emit(text: &str, out: Option<&Path>) -> anyhow::Result<()> {
    match out {
        Some(p) => {
            write_file(p, text)?;
            crate::say!("{}", p.display());
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
            {
                // A reader that stopped early (`| head`) is not a failure.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
    }
    Ok(())
}

fn write_file(p: &Path, text: &str) -> anyhow::Result<()> {
    council_fs::write_atomic(p, text).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            InputError(format!(
                "cannot write {}: its folder does not exist; create it first or choose another -o",
                p.display()
            ))
            .into()
        } else {
            anyhow::anyhow!("cannot write {}: {e}", p.display())
        }
    })
}

/// Refuses an output file whose folder does not exist, before any run is read.
fn check_output(out: Option<&Path>) -> anyhow::Result<()> {
    let Some(p) = out else { return Ok(()) };
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty());
    if dir.is_some_and(|d| !d.is_dir()) {
        return Err(InputError(format!(
            "cannot write {}: its folder does not exist; create it first or choose another -o",
            p.display()
        ))
        .into());
    }
    Ok(())
}

/// Where `-o FILE.csv`'s summaries go: `FILE.persona.csv`, `FILE.run.csv`…
fn beside(long: &Path, suffix: &str) -> PathBuf {
    let name = long
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let stem = name.strip_suffix(".csv").unwrap_or(&name);
    long.with_file_name(format!("{stem}.{suffix}.csv"))
}

/// The outcomes in force for the runs under `paths` (each path's outcomes file, once).
fn outcomes_of(paths: &[PathBuf]) -> anyhow::Result<BTreeMap<String, Outcome>> {
    let files: std::collections::BTreeSet<PathBuf> =
        paths.iter().map(|p| outcomes_file(p)).collect();
    let mut all = Vec::new();
    for f in &files {
        all.extend(read_outcomes(f)?);
    }
    Ok(latest(&all))
}

/// Each study's conditions in its order, read from its `study.json`.
fn study_orders(runs: &[RunInput]) -> BTreeMap<String, Vec<Condition>> {
    let mut out = BTreeMap::new();
    for cell in runs.iter().filter_map(|r| r.study.as_ref()) {
        if out.contains_key(&cell.study) {
            continue;
        }
        let file = Path::new(&cell.study).join(council_engine::study::STUDY_FILE);
        let conditions = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| serde_json::from_str::<Study>(&t).ok())
            .map(|s| s.conditions)
            .unwrap_or_default();
        out.insert(cell.study.clone(), conditions);
    }
    out
}

/// Runs `council compare --by condition` (and its breakdowns): paired statistics.
fn compare_paired(
    args: &CompareArgs,
    runs: &[RunInput],
    strata: Strata,
    prices: &PriceTable,
) -> anyhow::Result<()> {
    let options = PairedOptions {
        strata,
        baseline: args.baseline,
        resamples: args.resamples.unwrap_or(paired::DEFAULT_RESAMPLES),
        seed: args.seed.unwrap_or(paired::DEFAULT_SEED),
        pool: args.pool,
        orders: study_orders(runs),
        outcomes: outcomes_of(&args.paths)?,
        prices: prices.clone(),
    };
    let p = council_analysis::paired(runs, &options).map_err(InputError)?;
    let text = match args.format {
        CompareFormat::Table => paired::paired_text(&p),
        CompareFormat::Json => serde_json::to_string_pretty(&p)? + "\n",
        CompareFormat::Csv => paired::paired_csv(&p),
        CompareFormat::Html => {
            return Err(InputError(
                "--format html has no paired statistics yet: use table, json or csv with --by condition".into(),
            )
            .into())
        }
    };
    emit(&text, args.output.as_deref())
}

/// Runs `council compare`.
pub(crate) fn compare(args: &CompareArgs, prices: &PriceTable) -> anyhow::Result<()> {
    check_output(args.output.as_deref())?;
    let paired_asked = matches!(args.by, Some(By::Paired(_)));
    let paired_flags = [
        ("--baseline", args.baseline.is_some()),
        ("--resamples", args.resamples.is_some()),
        ("--seed", args.seed.is_some()),
        ("--pool", args.pool),
    ];
    if let Some((flag, _)) = paired_flags.iter().find(|f| f.1 && !paired_asked) {
        return Err(InputError(format!(
            "{flag} applies to paired statistics only: add --by condition (or condition,model or question,model)"
        ))
        .into());
    }
    if paired_asked && args.include_derived {
        return Err(InputError(
            "--include-derived does not apply to paired statistics: only a study's own runs are paired (variants and branches are left out and counted); drop it".into(),
        )
        .into());
    }
    if let Some(table) = args.table {
        return record_table(args, table);
    }
    let runs = read(&args.paths)?;
    if let Some(By::Paired(strata)) = args.by {
        return compare_paired(args, &runs, strata, prices);
    }
    let c = council_analysis::compare_with(
        &runs,
        CompareOptions {
            include_derived: args.include_derived,
        },
    );
    let by = args.by.and_then(|b| match b {
        By::Summary(s) => Some(s),
        By::Paired(_) => None,
    });
    let by = by.map(|b| match b {
        CompareBy::Persona => Summary::Persona,
        CompareBy::Model => Summary::Model,
        CompareBy::Question => Summary::Question,
        CompareBy::Run => Summary::Run,
    });
    match args.format {
        CompareFormat::Table => emit(&tables::compare_text(&c, by), args.output.as_deref()),
        CompareFormat::Json => emit(
            &(serde_json::to_string_pretty(&c)? + "\n"),
            args.output.as_deref(),
        ),
        CompareFormat::Html => emit(
            &council_analysis::html::compare_html(&c),
            args.output.as_deref(),
        ),
        CompareFormat::Csv => match (&args.output, by) {
            (None, None) => emit(&tables::long_csv(&c), None),
            (None, Some(s)) => emit(&tables::summary_csv(&c, s), None),
            (Some(long), _) => {
                write_file(long, &tables::long_csv(&c))?;
                crate::say!("{}", long.display());
                for s in Summary::ALL {
                    let p = beside(long, s.as_str());
                    write_file(&p, &tables::summary_csv(&c, s))?;
                    crate::say!("{}", p.display());
                }
                let p = beside(long, "agreement");
                write_file(&p, &tables::agreement_csv(&c))?;
                crate::say!("{}", p.display());
                Ok(())
            }
        },
    }
}

/// Runs `council compare --table`: one row per forecast probability, vote
/// or turn, as CSV (the default) or JSON.
fn record_table(args: &CompareArgs, table: RecordTable) -> anyhow::Result<()> {
    let json = match args.format {
        CompareFormat::Csv | CompareFormat::Table => false,
        CompareFormat::Json => true,
        CompareFormat::Html => {
            return Err(InputError(
                "--table writes CSV or JSON, not html: leave out --format, or give --format csv or json".into(),
            )
            .into())
        }
    };
    if args.outcomes.is_some() && !matches!(table, RecordTable::Forecasts) {
        return Err(InputError(
            "--outcomes fills the outcome column of --table forecasts only: leave it out, or give --table forecasts".into(),
        )
        .into());
    }
    // The given outcomes file is read before any run, so a bad one costs nothing.
    let given = match &args.outcomes {
        Some(file)
            if file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("csv")) =>
        {
            outcomes_csv(file, None)?
        }
        Some(file) => {
            if !file.is_file() {
                return Err(InputError(format!(
                    "cannot read the outcomes file {}: no such file; give an outcomes.jsonl or a CSV of id,outcome[,date]",
                    file.display()
                ))
                .into());
            }
            read_outcomes(file)?
        }
        None => Vec::new(),
    };
    let runs = read(&args.paths)?;
    let text = match table {
        RecordTable::Forecasts => {
            // Those recorded beside the runs, each file once, then the given ones (the later wins).
            let mut lines = Vec::new();
            let mut files: Vec<PathBuf> = Vec::new();
            for p in &args.paths {
                let f = outcomes_file(p);
                if !files.contains(&f) {
                    lines.extend(read_outcomes(&f)?);
                    files.push(f);
                }
            }
            lines.extend(given);
            let r = records::forecast_records(&runs, &latest(&lines));
            if json {
                serde_json::to_string_pretty(&r)? + "\n"
            } else {
                records::forecasts_csv(&r)
            }
        }
        RecordTable::Votes => {
            let r = records::vote_records(&runs);
            if json {
                serde_json::to_string_pretty(&r)? + "\n"
            } else {
                records::votes_csv(&r)
            }
        }
        RecordTable::Turns => {
            let r = records::turn_records(&runs);
            if json {
                serde_json::to_string_pretty(&r)? + "\n"
            } else {
                records::turns_csv(&r)
            }
        }
    };
    emit(&text, args.output.as_deref())
}

fn check_date(date: &str, what: &str) -> anyhow::Result<String> {
    Ok(outcomes::check_date(date, what).map_err(InputError)?)
}

/// Reads `--file outcomes.csv`: `id,outcome[,date]` per line, with an
/// optional header line starting `id`.
fn outcomes_csv(file: &Path, default_date: Option<&str>) -> anyhow::Result<Vec<Outcome>> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        InputError(format!(
            "cannot read the outcomes file {}: {e}",
            file.display()
        ))
    })?;
    Ok(
        outcomes::parse_csv(&text, &file.display().to_string(), default_date)
            .map_err(InputError)?,
    )
}

/// Runs `council outcome`.
pub(crate) fn outcome(args: &OutcomeArgs) -> anyhow::Result<()> {
    let default_date = args
        .on
        .as_deref()
        .map(|d| check_date(d, "--on"))
        .transpose()?;
    let lines = match (&args.file, &args.id, args.outcome) {
        (Some(file), _, _) => outcomes_csv(file, default_date.as_deref())?,
        (None, Some(id), Some(o)) => vec![Outcome {
            id: id.trim().to_string(),
            outcome: match o {
                YesNo::Yes => Resolution::Yes,
                YesNo::No => Resolution::No,
            },
            date: default_date,
            recorded: None,
        }],
        // clap requires an id and an outcome without --file.
        _ => {
            return Err(InputError(
                "give a forecast id and yes or no, or --file outcomes.csv".into(),
            )
            .into())
        }
    };
    let recorded = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let done = record_outcomes(&args.path, lines, &recorded)?;
    for (l, before) in &done.lines {
        let was = match before {
            Some(b) => format!(" (was {}; the later line wins)", b.outcome.as_str()),
            None => String::new(),
        };
        let on = l
            .date
            .as_deref()
            .map_or_else(String::new, |d| format!(" on {d}"));
        println!("{} {}{on}{was}", l.id, l.outcome.as_str());
    }
    crate::say!("{}", done.file.display());
    Ok(())
}

/// Runs `council score`.
pub(crate) fn score(args: &ScoreArgs) -> anyhow::Result<()> {
    check_output(args.output.as_deref())?;
    check_output(args.svg.as_deref())?;
    let file = outcomes_file(&args.path);
    let runs = read(std::slice::from_ref(&args.path))?;
    let outcomes = read_outcomes(&file)?;
    if outcomes.is_empty() {
        // Not an error: the open forecasts are listed, to record outcomes for.
        crate::say!(
            "note: no outcomes recorded yet ({} is missing or empty): record them with `council outcome {} F-xxxxxx yes|no` or `--file outcomes.csv`",
            file.display(),
            args.path.display()
        );
    }
    let inputs: Vec<ScoreInput> = runs
        .iter()
        .map(|r| ScoreInput {
            run: r.label.clone(),
            forecasts: forecasts_in(&r.transcript, &Answers::from_transcript(&r.transcript)),
        })
        .collect();
    let in_force: BTreeMap<String, Outcome> = latest(&outcomes);
    let s = council_analysis::score(&inputs, &in_force);
    if let Some(svg) = &args.svg {
        write_file(svg, &council_analysis::html::reliability_svg(&s))?;
        crate::say!("{}", svg.display());
    }
    let text = match args.format {
        ScoreFormat::Table => tables::score_text(&s),
        ScoreFormat::Json => serde_json::to_string_pretty(&s)? + "\n",
        ScoreFormat::Csv => tables::score_csv(&s),
        ScoreFormat::Html => council_analysis::html::score_html(&s),
    };
    emit(&text, args.output.as_deref())
}
