//! Choosing and building a backend from flags, environment and config file.
//!
//! Precedence, highest first: command-line flags, Council's own environment
//! variables (`COUNCIL_*`), the OpenAI-standard ones (`OPENAI_*`), the config
//! file (`--config`, `COUNCIL_CONFIG`, or `council/config.toml` in the
//! user's config dir). API keys are read from the environment only, never
//! from flags or files, so they cannot land in shell history or on disk.
//!
//! The config file may hold tables that other layers own (which model each
//! persona speaks through, say): callers read the file with [`read_table`],
//! take their tables out, and hand the rest to [`ConfigFile::from_table`].
//! A caller that needs another model than the main one describes it with a
//! [`ModelSpec`] and gets its backend from [`Resolved::with_model`].
//!
//! `provider = "…"` (at the top level, in a persona's table or an
//! endpoint's entry) picks a [`Provider`](crate::provider::Provider) preset: its base URL, its key
//! variables, how the key is sent, strict schemas and streaming. Without
//! one, a base URL on a known host names its provider; any other server is
//! a plain OpenAI-compatible one (no strict schemas, no streaming unless
//! `stream = true`).
//!
//! Three parts: [`file`] (the config file's schema and reading it),
//! [`resolve`] (flags + environment + file → a [`Resolved`] backend) and
//! [`build`] (a [`Resolved`] backend → a [`ChatModel`](crate::ChatModel)).

mod build;
mod file;
mod resolve;

pub use build::{build, build_http};
pub use file::{locate, read_table, ConfigFile, EmbeddedConfig, ModelSpec};
pub use resolve::{find_key, http_choice, resolve, Choice, Common, Overrides, Resolved};
