//! The config file's schema (its backend keys and the `[embedded]` table),
//! where it is found, and reading it.

use super::Overrides;
use crate::provider::Provider;
use crate::LlmError;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The config file's contents.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The file these settings were read from (none for a default or
    /// in-memory config); named in messages and by `council models`.
    #[serde(skip)]
    pub path: Option<PathBuf>,
    /// OpenAI-compatible base URL, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: Option<String>,
    /// Model name for the HTTP backend.
    pub model: Option<String>,
    /// The provider preset (`openai`, `anthropic`, `azure`, `gemini`,
    /// `openrouter`, `ollama`, `vllm`, `llamacpp`).
    pub provider: Option<Provider>,
    /// Name of the environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Whether the server honours `response_format: json_schema` (default true).
    pub native_json_schema: Option<bool>,
    /// Whole-request timeout in seconds (default 300).
    pub timeout_secs: Option<u64>,
    /// Connect timeout in seconds (default 10).
    pub connect_timeout_secs: Option<u64>,
    /// Retries after the first attempt (default 6).
    pub max_retries: Option<usize>,
    /// First backoff delay in milliseconds (default 500).
    pub retry_base_delay_ms: Option<u64>,
    /// Longest single backoff delay, also for `Retry-After`, in milliseconds (default 60000).
    pub retry_max_delay_ms: Option<u64>,
    /// Send schemas as `strict: true` (default: where the provider takes them).
    pub strict: Option<bool>,
    /// Stream answers (default: on for a named provider, off for a plain server).
    pub stream: Option<bool>,
    /// Longest pause between streamed chunks, in seconds (default 60).
    pub stream_idle_timeout_secs: Option<u64>,
    /// Azure's `api-version` (default 2024-10-21).
    pub api_version: Option<String>,
    /// OpenRouter attribution: the site URL sent as `HTTP-Referer`.
    pub app_url: Option<String>,
    /// OpenRouter attribution: the name sent as `X-Title` (default "Council").
    pub app_name: Option<String>,
    /// Embedded backend settings.
    #[serde(default)]
    pub embedded: EmbeddedConfig,
}

/// Another model than the main one: a name, on the main server or another.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Model name on the server.
    pub model: String,
    /// Another server (default: the main one, or the provider's own).
    pub base_url: Option<String>,
    /// Another provider than the main one's.
    pub provider: Option<Provider>,
    /// The environment variable holding this model's key.
    pub api_key_env: Option<String>,
}

/// The `[embedded]` table of the config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedConfig {
    /// A GGUF path or `hf:owner/repo/file.gguf`.
    pub model: Option<String>,
    /// Decode threads (capped at the core count).
    pub threads: Option<usize>,
    /// Concurrent sequences.
    pub slots: Option<usize>,
    /// Context tokens per sequence.
    pub ctx_per_slot: Option<u32>,
    /// Copy long shared prefixes between slots (default true; false to measure without).
    pub share_prefixes: Option<bool>,
    /// Let llama.cpp use flash attention (default false: slower on CPU here).
    pub flash_attention: Option<bool>,
}

impl ConfigFile {
    /// Reads a config file that holds backend settings only; the error
    /// names the file and the problem.
    pub fn load(path: &Path) -> Result<Self, LlmError> {
        Self::from_table(Some(path), read_table(path)?)
    }

    /// The backend settings in `table` (what is left of a config file once
    /// other layers took their tables); `path` names the file in errors.
    pub fn from_table(path: Option<&Path>, table: toml::Table) -> Result<Self, LlmError> {
        let mut file: ConfigFile = table.try_into().map_err(|e| {
            let file = path.map_or_else(|| "the config file".into(), |p| p.display().to_string());
            LlmError::Config(format!("config file {file} is invalid: {e}"))
        })?;
        file.path = path.map(Path::to_path_buf);
        Ok(file)
    }

    /// The default config file location.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "council")
            .map(|d| d.config_dir().join("config.toml"))
    }
}

/// The config file in force: `--config`, else `COUNCIL_CONFIG`, else the
/// default location if a file is there.
pub fn locate(over: &Overrides, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    over.config
        .clone()
        .or_else(|| {
            env("COUNCIL_CONFIG")
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| ConfigFile::default_path().filter(|p| p.is_file()))
}

/// Reads a config file as a TOML table; the error names the file and the
/// fix. A file that is absent, unreadable or not UTF-8 text is the user's
/// to fix, like one that is not TOML.
pub fn read_table(path: &Path) -> Result<toml::Table, LlmError> {
    let bytes = std::fs::read(path).map_err(|e| {
        LlmError::Config(format!(
            "cannot read config file {} ({e}); give an existing file to --config (or COUNCIL_CONFIG), or leave it out",
            path.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        LlmError::Config(format!(
            "config file {} is not UTF-8 text; write it as a TOML file (see the README's config section)",
            path.display()
        ))
    })?;
    text.parse::<toml::Table>().map_err(|e| {
        LlmError::Config(format!(
            "config file {} is not valid TOML; fix the place shown: {}",
            path.display(),
            e.to_string().trim_end()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_reads_its_tuning_keys() {
        let table: toml::Table =
            toml::from_str("[embedded]\nslots = 8\nflash_attention = true\n").unwrap();
        let file = ConfigFile::from_table(None, table).unwrap();
        let embedded = file.embedded;
        assert_eq!(embedded.slots, Some(8));
        assert_eq!(embedded.flash_attention, Some(true));
        let table: toml::Table = toml::from_str("[embedded]\nflash_atention = true\n").unwrap();
        let err = ConfigFile::from_table(None, table).unwrap_err().to_string();
        assert!(err.contains("flash_atention"), "{err}");
    }
}
