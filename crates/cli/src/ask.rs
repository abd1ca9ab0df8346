//! `council ask`: cast a panel, run the debate, keep every turn on disk.

use crate::cli::{AskArgs, Global};
use crate::progress::Drawer;
use crate::InputError;
use anyhow::{bail, Context as _};
use council_core::{detect_lang, RunStatus, Transcript};
use council_engine::{cast_panel, run, Debate, DebateSettings, RunStore};
use council_personas::Roster;
use std::path::{Path, PathBuf};

/// How an `ask` ended, for the exit code.
pub(crate) enum Outcome {
    /// Every turn was spoken.
    Complete,
    /// The run finished with failed turns.
    Partial,
}

/// How an `ask` begins.
enum Start {
    /// Continuing the run in this (opened) folder.
    Resume(RunStore),
    /// A new run.
    New(NewRun),
}

/// A new run's inputs, validated before anything slow happens.
struct NewRun {
    question: String,
    /// The panel given with `--panel`, seated and checked (none: cast it).
    panel: Option<Vec<council_core::Persona>>,
    date: String,
    lang: String,
    seed: u64,
    out: PathBuf,
    library: Vec<String>,
}

/// Checks a new run's question, date and language: a problem here is the
/// user's to fix (exit 4) and is reported before any model loads.
fn new_run(args: &AskArgs) -> Result<NewRun, InputError> {
    let question = match (&args.question, &args.question_file) {
        (Some(q), _) => q.clone(),
        (None, Some(f)) => read_question_file(f)?,
        (None, None) => {
            return Err(InputError(
                "give a question, --question-file FILE or --resume DIR".into(),
            ))
        }
    };
    let question = question.trim().to_string();
    if question.is_empty() {
        return Err(InputError(
            "the question is empty; write what the board should decide".into(),
        ));
    }
    check_question_text(&question, "the question")?;
    let date = match &args.date {
        Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| {
                InputError(format!(
                    "--date {d:?} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-26"
                ))
            })?
            .format("%Y-%m-%d")
            .to_string(),
        None => chrono::Local::now()
            .date_naive()
            .format("%Y-%m-%d")
            .to_string(),
    };
    let lang = match &args.lang {
        Some(l) => {
            council_core::lang::check(l).map_err(|e| InputError(format!("--lang {e}")))?;
            l.clone()
        }
        None => detect_lang(&question).to_string(),
    };
    Ok(NewRun {
        panel: None,
        seed: args.seed.unwrap_or_else(random_seed),
        out: args
            .out
            .clone()
            .unwrap_or_else(|| default_out(&question, &date)),
        library: args
            .library
            .iter()
            .chain(&args.source)
            .map(|p| p.display().to_string())
            .collect(),
        question,
        date,
        lang,
    })
}

/// Refuses a question that is binary data or longer than
/// [`council_core::text::MAX_QUESTION_CHARS`]; `what` names it in the message ("the question",
/// "--question", …). Emptiness is each caller's to check, in its own words.
pub(crate) fn check_question_text(question: &str, what: &str) -> Result<(), InputError> {
    match council_core::text::question_problem(question, what) {
        Some(problem) => Err(InputError(problem)),
        None => Ok(()),
    }
}

/// Reads `--question-file`: UTF-8 text, or an error saying how to make it so.
fn read_question_file(f: &Path) -> Result<String, InputError> {
    let bytes = std::fs::read(f).map_err(|e| {
        InputError(format!(
            "cannot read the question file {} ({e}); give a readable UTF-8 text file, or the question itself",
            f.display()
        ))
    })?;
    if bytes.contains(&0) {
        return Err(InputError(format!(
            "the question file {} looks binary (it holds NUL bytes), not text; give a UTF-8 text file, or the question itself",
            f.display()
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        InputError(format!(
            "the question file {} is not UTF-8 text (invalid bytes at byte {}); save it as UTF-8, or give the question itself",
            f.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Runs `council ask`.
pub(crate) async fn ask(args: AskArgs, global: &Global) -> anyhow::Result<Outcome> {
    let roster = args.sources.roster()?;
    let prompts = args.sources.templates()?;
    let backends = crate::settings::load(global, &crate::env_lookup)?;
    let start = match &args.resume {
        Some(dir) => Start::Resume(RunStore::open(dir).map_err(crate::unreadable_run)?),
        None => {
            let mut n = new_run(&args)?;
            // A given panel is input too: checked before any model loads.
            if !args.panel.is_empty() {
                let panel = roster.seat(roster.panel_from_ids(&args.panel)?);
                Roster::check_size(&panel)?;
                n.panel = Some(panel);
            }
            Start::New(n)
        }
    };
    // The library is input too: an unusable one stops the run before the model loads.
    let library = match &start {
        Start::New(n) => load_library(&n.library, None)?,
        Start::Resume(store) => match store.events().first() {
            Some(council_core::Event::Started(h)) => load_library(&h.library, Some(store))?,
            _ => None,
        },
    };
    let model = backends.main_model().await?;
    let models = backends.models(model.clone()).await?;

    let (mut store, question, panel, settings, notes, library_inputs) = match start {
        Start::Resume(store) => {
            let dir = store.dir().to_path_buf();
            let Some(council_core::Event::Started(h)) = store.events().first().cloned() else {
                return Err(InputError(format!(
                    "{} does not start with a run header; it cannot be resumed",
                    dir.display()
                ))
                .into());
            };
            let ids: Vec<String> = h.panel.iter().map(|p| p.id.clone()).collect();
            let panel = roster.panel_from_ids(&ids).with_context(|| {
                format!(
                    "the run in {} needs these personas: {}",
                    dir.display(),
                    ids.join(", ")
                )
            })?;
            let settings = DebateSettings {
                rounds: h.rounds,
                max_concurrency: args.max_concurrency as usize,
                seed: h.seed,
                date: h.date.clone(),
                lang: h.lang.clone(),
                max_tokens: args.max_tokens,
                synthesis: !args.no_synthesis,
                condition: Default::default(),
            };
            crate::say!(
                "resuming {} ({} events on disk)",
                dir.display(),
                store.events().len()
            );
            (store, h.question, panel, settings, h.notes, h.library)
        }
        Start::New(n) => {
            let (panel, notes) = match n.panel {
                Some(panel) => (panel, Vec::new()),
                None => {
                    crate::say!("casting the panel…");
                    cast_panel(
                        model.as_ref(),
                        &prompts,
                        &roster,
                        &n.question,
                        args.panel_size as usize,
                        n.seed,
                    )
                    .await
                    .map_err(|e| match e {
                        council_engine::EngineError::Unreachable(e) => {
                            anyhow::Error::new(ServerGone(format!(
                                "{e}; nothing was written (the panel was not cast): run the same command again once the server answers"
                            )))
                        }
                        other => other.into(),
                    })?
                }
            };
            for note in &notes {
                crate::say!("note: {note}");
            }
            // Only now, with a valid panel, does the run folder appear.
            let store = RunStore::create(&n.out)?;
            let settings = DebateSettings {
                rounds: args.rounds,
                max_concurrency: args.max_concurrency as usize,
                seed: n.seed,
                date: n.date,
                lang: n.lang,
                max_tokens: args.max_tokens,
                synthesis: !args.no_synthesis,
                condition: Default::default(),
            };
            (store, n.question, panel, settings, notes, n.library)
        }
    };

    let (models, budget) = crate::settings::metered(
        models,
        &args.budget,
        &backends.prices,
        store.transcript().ok().as_ref(),
    )?;
    let info = model.info();
    crate::say!(
        "run folder: {}\nmodel: {} {} | panel: {} | seed {}",
        store.dir().display(),
        info.backend,
        info.model,
        panel
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        settings.seed
    );
    let names = panel
        .iter()
        .map(|p| (p.id.clone(), p.name.clone()))
        .collect();
    let drawer = Drawer::new(names, settings.rounds, global.quiet);
    let debate = Debate {
        library: library.as_ref(),
        library_inputs,
        question,
        panel,
        settings,
        models,
        prompts: &prompts,
        progress: &drawer,
        notes,
    };
    let dir = store.dir().to_path_buf();
    let transcript = tokio::select! {
        t = run(&debate, &mut store) => t.map_err(|e| budget_stop(e, &dir, budget.as_deref(), &format!("council ask --resume {}", dir.display())))?,
        _ = tokio::signal::ctrl_c() => {
            bail!(Interrupted::ask(&dir));
        }
    };
    // Its counts are a status line (hidden by -q); a partial run's line
    // says why the exit code is 5, so it is printed always.
    summarize(&transcript);
    write_reports(
        &transcript,
        &dir,
        &backends.prices,
        &Default::default(),
        &[],
    )?;
    Ok(match transcript.status {
        RunStatus::Complete => Outcome::Complete,
        _ => Outcome::Partial,
    })
}

/// Loads the research library, if any; on resume, checks it still holds the
/// sources the run started with.
pub(crate) fn load_library(
    inputs: &[String],
    resumed: Option<&RunStore>,
) -> anyhow::Result<Option<council_library::Library>> {
    if inputs.is_empty() {
        return Ok(None);
    }
    let paths: Vec<PathBuf> = inputs.iter().map(PathBuf::from).collect();
    let started = std::time::Instant::now();
    let (library, problems) =
        council_library::Library::load(&paths, &council_llm::fetch::cache_dir())?;
    for line in council_library::summarize_problems(&problems, 10) {
        crate::say!("library: skipped {line}");
    }
    crate::say!(
        "library: {} sources ({} in {:.1} s)",
        library.documents().len(),
        if library.index_was_cached {
            "index reused"
        } else {
            "indexed"
        },
        started.elapsed().as_secs_f64()
    );
    if let Some(council_core::Event::Started(h)) = resumed.and_then(|s| s.events().first()) {
        if !h.sources.is_empty() && h.sources != library.sources() {
            bail!(
                "the research library changed since this run started ({} sources then, {} now); restore it or start a new run",
                h.sources.len(),
                library.documents().len()
            );
        }
    }
    Ok(Some(library))
}

/// A run stopped by its spending limit; every answer so far is on disk.
#[derive(Debug)]
pub(crate) struct BudgetStop(pub String);

impl std::fmt::Display for BudgetStop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BudgetStop {}

/// A run stopped because the model server cannot be reached; every answer
/// so far is on disk. Exit 3.
#[derive(Debug)]
pub(crate) struct ServerGone(pub String);

impl std::fmt::Display for ServerGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServerGone {}

/// Turns the engine's run-stopping errors into the message the user acts
/// on: the budget's stop (exit 5), an unreachable server (exit 3), each
/// with the command that continues the run; any other error passes through.
pub(crate) fn budget_stop(
    e: council_engine::EngineError,
    dir: &Path,
    budget: Option<&council_engine::Budget>,
    resume: &str,
) -> anyhow::Error {
    match e {
        council_engine::EngineError::Budget(why) => {
            let spent = budget.map_or_else(String::new, |b| {
                let (usd, tokens) = b.spent();
                format!(
                    " (this command spent {tokens} tokens, {})",
                    council_core::cost::format_usd(usd)
                )
            });
            anyhow::Error::new(BudgetStop(format!(
                "stopped before the budget was passed: {why}{spent}; every answer so far is saved in {}; finish it with: {resume} and a larger --budget-usd or --budget-tokens",
                dir.display(),
            )))
        }
        council_engine::EngineError::Unreachable(e) => anyhow::Error::new(ServerGone(format!(
            "{e}; every answer so far is saved in {}; once the server answers, continue with: {resume}",
            dir.display()
        ))),
        other => other.into(),
    }
}

/// A run stopped by Ctrl-C; every finished turn is on disk. Holds the
/// command that continues it.
#[derive(Debug)]
pub(crate) struct Interrupted(pub String);

impl Interrupted {
    /// An interrupted `ask`, continued with `--resume DIR`.
    pub(crate) fn ask(dir: &Path) -> Interrupted {
        Interrupted(format!("council ask --resume {}", dir.display()))
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "interrupted; every finished answer is saved; continue with: {}",
            self.0
        )
    }
}

impl std::error::Error for Interrupted {}

/// Writes the run's report files (Markdown, HTML, JSON, and each of
/// `exports`, rendered with `options`: brand, appendix), prints every file's path on stdout
/// (the transcript's first), then the report's status lines on stderr
/// (hidden by `-q`).
pub(crate) fn write_reports(
    t: &Transcript,
    dir: &Path,
    prices: &council_analysis::PriceTable,
    options: &council_render::RenderOptions<'_>,
    exports: &[crate::cli::ExportKind],
) -> anyhow::Result<()> {
    let report = council_app::report::full_report(t, prices, None);
    println!(
        "{}",
        dir.join(council_engine::store::TRANSCRIPT_FILE).display()
    );
    for path in council_app::report::write_run_reports(&report, dir, options)? {
        println!("{}", path.display());
    }
    for kind in exports {
        let format = match kind {
            crate::cli::ExportKind::Pdf => council_render::Format::Pdf,
            crate::cli::ExportKind::Docx => council_render::Format::Docx,
        };
        let path = dir.join(format!("report.{}", format.extension()));
        council_app::report::export(&report, format, options, &path)?;
        println!("{}", path.display());
    }
    for line in council_render::status_lines(&report) {
        crate::say!("{line}");
    }
    Ok(())
}

fn summarize(t: &Transcript) {
    let turns: Vec<_> = t.rounds.iter().flat_map(|r| &r.turns).collect();
    let failed = turns
        .iter()
        .filter(|t| t.status == council_core::TurnStatus::Failed)
        .count();
    let flagged = turns.iter().filter(|t| !t.flags.is_empty()).count();
    crate::say!(
        "{} rounds, {} turns ({failed} failed, {flagged} flagged); {}",
        t.rounds.len(),
        turns.len(),
        t.usage
    );
    if failed > 0 {
        eprintln!("partial run: {failed} turn(s) failed after retries; their errors are in the transcript");
    }
}

pub(crate) fn random_seed() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (nanos as u64) ^ (u64::from(std::process::id()) << 32)
}

fn default_out(question: &str, date: &str) -> PathBuf {
    let slug = council_core::text::slug(question, 6);
    let time = chrono::Local::now().format("%H%M%S");
    PathBuf::from("transcripts").join(format!("{date}-{time}-{slug}"))
}
