//! The `council` binary: thin glue from the command line to the libraries.

mod ask;
mod batch;
mod bench;
mod cli;
mod cost;
mod derived;
mod doctor;
mod export;
mod fetch_model;
mod manual;
mod progress;
mod research;
mod serve;
mod settings;

use clap::Parser;
use cli::{Cli, Command};
use council_llm::{ChatModel, ChatRequest, LlmError, Message};
use std::io::Write;
use std::process::ExitCode;

/// Exit codes, documented in the README.
mod exit {
    /// A model or server call failed, or the server cannot be reached.
    pub(crate) const BACKEND: u8 = 3;
    /// Configuration or input is wrong; the message says how to fix it.
    pub(crate) const CONFIG: u8 = 4;
    /// Any other failure.
    pub(crate) const OTHER: u8 = 1;
    /// The run finished but some turns failed after retries, or it stopped
    /// at its budget; resume it.
    pub(crate) const PARTIAL: u8 = 5;
    /// Interrupted with Ctrl-C; resume the run.
    pub(crate) const INTERRUPTED: u8 = 130;
}

/// Whether `-q` was given: only errors (and warnings) reach stderr.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Prints a status line on stderr (where the run folder is, what was
/// written, how much a report holds), unless `-q` was given.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        if !$crate::quiet() {
            eprintln!($($arg)*);
        }
    };
}

/// Whether `-q` was given.
pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    QUIET.store(cli.global.quiet, std::sync::atomic::Ordering::Relaxed);
    init_logging(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(Done::Ok) => ExitCode::SUCCESS,
        Ok(Done::Partial) => ExitCode::from(exit::PARTIAL),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

/// A problem with what the user gave: exit code 4, and the message names the fix.
pub(crate) use council_app::InputError;

/// A run folder that cannot be read is the user's to fix (exit 4).
pub(crate) use council_app::unreadable_run;

/// How a successful command ended.
enum Done {
    Ok,
    Partial,
}

fn exit_code(err: &anyhow::Error) -> u8 {
    if err
        .chain()
        .any(|e| e.downcast_ref::<ask::Interrupted>().is_some())
    {
        return exit::INTERRUPTED;
    }
    if err
        .chain()
        .any(|e| e.downcast_ref::<ask::BudgetStop>().is_some())
    {
        return exit::PARTIAL;
    }
    if err.chain().any(|e| {
        e.downcast_ref::<ask::ServerGone>().is_some()
            || matches!(
                e.downcast_ref::<council_engine::EngineError>(),
                Some(council_engine::EngineError::Unreachable(_))
            )
    }) {
        return exit::BACKEND;
    }
    let input_error = err.chain().any(|e| {
        e.downcast_ref::<InputError>().is_some()
            || e.downcast_ref::<council_personas::PersonaError>().is_some()
            || e.downcast_ref::<council_library::LibraryError>().is_some()
            || matches!(
                e.downcast_ref::<council_engine::EngineError>(),
                Some(
                    council_engine::EngineError::Prompt(_)
                        | council_engine::EngineError::Resume(_)
                        | council_engine::EngineError::Store(_)
                )
            )
    });
    if input_error {
        return exit::CONFIG;
    }
    match err.chain().find_map(|e| e.downcast_ref::<LlmError>()) {
        Some(
            LlmError::Config(_)
            | LlmError::ModelMissing { .. }
            | LlmError::InvalidRequest(_)
            | LlmError::CassetteMiss { .. }
            | LlmError::Auth { .. },
        ) => exit::CONFIG,
        Some(_) => exit::BACKEND,
        None => exit::OTHER,
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    // llama.cpp's own logs arrive under the `llama_cpp_2` target: silent
    // unless -vv.
    let filter = match (quiet, verbose) {
        (true, _) => "error,llama_cpp_2=off",
        (false, 0) => "warn,llama_cpp_2=off",
        (false, 1) => "info,llama_cpp_2=off",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("COUNCIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour())
        .with_target(false)
        .init();
}

/// Whether stderr may carry colour codes: only on a terminal, and never
/// when `NO_COLOR` is set to anything (no-color.org).
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub(crate) fn env_lookup(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

async fn run(cli: Cli) -> anyhow::Result<Done> {
    match cli.command {
        Command::Ask(args) => Ok(match ask::ask(args, &cli.global).await? {
            ask::Outcome::Complete => Done::Ok,
            ask::Outcome::Partial => Done::Partial,
        }),
        Command::Render(args) => {
            if let Some(l) = args.lang.as_deref() {
                council_core::lang::check(l).map_err(|e| InputError(format!("--lang {e}")))?;
            }
            let brand = args.brand.as_deref().map(export::load_brand).transpose()?;
            let report = council_app::report::read_report(
                &args.path,
                &settings::prices_or_builtin(&cli.global),
                args.lang.as_deref(),
            )?;
            let options = council_render::RenderOptions {
                brand: brand.as_ref(),
                appendix: args.appendix,
            };
            export::render_output(&report, args.format, &options, args.output.as_deref())?;
            Ok(Done::Ok)
        }
        Command::Variant(args) => Ok(done_of(&derived::variant(args, &cli.global).await?)),
        Command::Branch(args) => Ok(done_of(&derived::branch(args, &cli.global).await?)),
        Command::Followup(args) => {
            let t = derived::followup(args, &cli.global).await?;
            let failed = t.followups.last().is_some_and(|f| {
                f.synthesis.as_ref().is_none_or(|p| p.error.is_some())
                    || f.turns
                        .iter()
                        .any(|x| x.status == council_core::TurnStatus::Failed)
            });
            Ok(if failed { Done::Partial } else { Done::Ok })
        }
        Command::Batch(args) => Ok(if batch::batch(args, &cli.global).await? {
            Done::Ok
        } else {
            Done::Partial
        }),
        Command::Diff(args) => derived::diff(&args, &cli.global).map(|()| Done::Ok),
        Command::Cost(args) => {
            if !args.path.exists() {
                return Err(InputError(format!(
                    "no run at {}: give a run folder (as `council ask` printed it) or its transcript.json",
                    args.path.display()
                ))
                .into());
            }
            cost::cost(&args, &settings::prices_or_builtin(&cli.global))?;
            Ok(Done::Ok)
        }
        Command::Compare(args) => {
            research::compare(&args, &settings::prices_or_builtin(&cli.global)).map(|()| Done::Ok)
        }
        Command::Outcome(args) => research::outcome(&args).map(|()| Done::Ok),
        Command::Score(args) => research::score(&args).map(|()| Done::Ok),
        Command::Personas(args) => {
            let roster = match &args.personas {
                Some(d) => council_personas::Roster::with_dir(d)?,
                None => council_personas::Roster::builtin()?,
            };
            for p in roster.all() {
                let seat = match p.traits.as_slice() {
                    [] => String::new(),
                    ts => format!(
                        " (seat: {}; sits on every panel)",
                        ts.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                };
                println!("{:<18} {} – {}{seat}", p.id, p.name, p.role);
            }
            Ok(Done::Ok)
        }
        Command::Schema(args) => {
            let schema = match args.which {
                cli::SchemaKind::Transcript => council_core::transcript_schema(),
                cli::SchemaKind::Events => council_core::event_schema(),
                cli::SchemaKind::Report => council_core::report_schema(),
                cli::SchemaKind::Study => council_core::study::study_schema(),
                cli::SchemaKind::Runs => council_core::study::run_record_schema(),
                cli::SchemaKind::Outcomes => council_core::outcome::outcome_schema(),
                cli::SchemaKind::Compare => council_analysis::compare::compare_schema(),
                cli::SchemaKind::Paired => council_analysis::paired::paired_schema(),
                cli::SchemaKind::Score => council_analysis::score::score_schema(),
                cli::SchemaKind::Forecasts => council_analysis::records::forecasts_schema(),
                cli::SchemaKind::Votes => council_analysis::records::votes_schema(),
                cli::SchemaKind::Turns => council_analysis::records::turns_schema(),
            };
            println!("{}", serde_json::to_string_pretty(&schema)?);
            Ok(Done::Ok)
        }
        Command::Chat(args) => {
            let model = settings::load(&cli.global, &env_lookup)?
                .main_model()
                .await?;
            let mut messages = Vec::new();
            if let Some(s) = args.system {
                messages.push(Message::system(s));
            }
            messages.push(Message::user(args.prompt));
            let mut request = ChatRequest::new(messages);
            request.max_tokens = Some(args.max_tokens);
            request.seed = args.seed;
            request.temperature = args.temperature;
            if let Some(path) = &args.schema {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    anyhow::anyhow!("cannot read schema file {}: {e}", path.display())
                })?;
                let schema: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
                    anyhow::anyhow!("schema file {} is not JSON: {e}", path.display())
                })?;
                request.schema = Some(council_llm::SchemaSpec {
                    name: "answer".into(),
                    schema,
                });
            }
            let response = model.chat(&request).await?;
            let mut out = std::io::stdout().lock();
            match &response.json {
                Some(json) => writeln!(out, "{}", serde_json::to_string_pretty(json)?)?,
                None => writeln!(out, "{}", response.text.trim())?,
            }
            out.flush()?;
            if !cli.global.quiet {
                let info = model.info();
                eprintln!(
                    "[{} {} | {} | finish: {:?}]",
                    info.backend, info.model, response.usage, response.finish_reason
                );
            }
            Ok(Done::Ok)
        }
        Command::Models => {
            let backends = settings::load(&cli.global, &env_lookup)?;
            let model = backends.main_model().await?;
            let info = model.info();
            let c = info.capabilities;
            println!("backend:   {}", info.backend);
            println!("model:     {}", info.model);
            println!("location:  {}", info.location);
            println!("chosen by: {}", backends.main.chosen_by);
            println!(
                "json schema enforced by the backend: {}",
                yes(c.native_json_schema)
            );
            println!("seeded sampling: {}", yes(c.seeded));
            println!("concurrent requests batched: {}", yes(c.concurrent));
            println!("works offline: {}", yes(c.offline));
            println!(
                "small model (short prompts and answers; embedded: under 1B parameters, from its GGUF): {}",
                yes(c.small)
            );
            match c.context_tokens {
                Some(n) => println!("context per request: {n} tokens"),
                None => println!("context per request: not reported"),
            }
            let loaded = model.loaded();
            if !loaded.is_empty() {
                println!("loaded, and why:");
                for line in loaded {
                    println!("  {line}");
                }
            }
            Ok(Done::Ok)
        }
        Command::Doctor(args) => doctor::doctor(&args, &cli.global).await.map(|()| Done::Ok),
        Command::Serve(args) => serve::serve(args, &cli.global).await.map(|()| Done::Ok),
        Command::FetchModel(args) => fetch_model::run(args).await.map(|()| Done::Ok),
        Command::Bench(args) => bench::run(args, &cli.global).await.map(|()| Done::Ok),
        Command::Completions(args) => manual::completions(&args).map(|()| Done::Ok),
        Command::Man(args) => manual::man(&args).map(|()| Done::Ok),
    }
}

/// A derived run ends like `ask`: partial when a turn failed.
fn done_of(t: &council_core::Transcript) -> Done {
    match t.status {
        council_core::RunStatus::Complete => Done::Ok,
        _ => Done::Partial,
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
