//! The `council` binary: thin glue from the command line to the libraries.

mod bench;
mod cli;

use clap::Parser;
use cli::{Cli, Command};
use council_llm::config::{self, Overrides};
use council_llm::{ChatModel, ChatRequest, LlmError, Message};
use std::io::Write;
use std::process::ExitCode;

/// Exit codes, documented in the README.
mod exit {
    /// A model or server call failed.
    pub const BACKEND: u8 = 3;
    /// Configuration or input is wrong; the message says how to fix it.
    pub const CONFIG: u8 = 4;
    /// Any other failure.
    pub const OTHER: u8 = 1;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.global.verbose, cli.global.quiet);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::OTHER);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

fn exit_code(err: &anyhow::Error) -> u8 {
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
        .with_target(false)
        .init();
}

fn overrides(g: &cli::Global) -> Overrides {
    Overrides {
        base_url: g.base_url.clone(),
        model: g.model.clone(),
        embedded: g.embedded,
        config: g.config.clone(),
        record: g.record.clone(),
        replay: g.replay.clone(),
    }
}

fn env_lookup(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Chat(args) => {
            let resolved = config::resolve(&overrides(&cli.global), &env_lookup)?;
            let model = config::build(&resolved).await?;
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
            Ok(())
        }
        Command::Models => {
            let resolved = config::resolve(&overrides(&cli.global), &env_lookup)?;
            let model = config::build(&resolved).await?;
            let info = model.info();
            let c = info.capabilities;
            println!("backend:   {}", info.backend);
            println!("model:     {}", info.model);
            println!("location:  {}", info.location);
            println!(
                "json schema enforced by the backend: {}",
                yes(c.native_json_schema)
            );
            println!("seeded sampling: {}", yes(c.seeded));
            println!("concurrent requests batched: {}", yes(c.concurrent));
            println!("works offline: {}", yes(c.offline));
            match c.context_tokens {
                Some(n) => println!("context per request: {n} tokens"),
                None => println!("context per request: not reported"),
            }
            Ok(())
        }
        Command::FetchModel(args) => {
            let python = args.python;
            let path = tokio::task::spawn_blocking(move || {
                council_llm::fetch::fetch_default_model(&python)
            })
            .await??;
            println!("{}", path.display());
            eprintln!(
                "verified sha256 {}",
                council_llm::fetch::DEFAULT_MODEL_SHA256
            );
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
    }
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
