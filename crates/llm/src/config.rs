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

use crate::openai::{ApiKey, OpenAiCompatible, OpenAiSettings};
use crate::replay::CassetteModel;
use crate::{ChatModel, LlmError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The config file's contents.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// OpenAI-compatible base URL, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: Option<String>,
    /// Model name for the HTTP backend.
    pub model: Option<String>,
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
    /// Another server (default: the main one).
    pub base_url: Option<String>,
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
        table.try_into().map_err(|e| {
            let file = path.map_or_else(|| "the config file".into(), |p| p.display().to_string());
            LlmError::Config(format!("config file {file} is invalid: {e}"))
        })
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

/// What the command line says about the backend.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--model`.
    pub model: Option<String>,
    /// `--embedded`: use the in-process model even if a server is configured.
    pub embedded: bool,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--record FILE`: record answers into a cassette.
    pub record: Option<PathBuf>,
    /// `--replay FILE`: answer only from a cassette.
    pub replay: Option<PathBuf>,
}

/// Which backend to build, fully resolved.
#[derive(Debug, Clone)]
pub enum Choice {
    /// An OpenAI-compatible server.
    OpenAi(OpenAiSettings),
    /// The in-process model, from a file path or `hf:` spec.
    Embedded {
        /// Where the GGUF comes from.
        source: crate::fetch::ModelSource,
        /// Threads, slots and context.
        config: EmbeddedConfig,
    },
    /// A cassette, replayed with no model behind it.
    Replay(PathBuf),
}

/// A resolved backend plus an optional recorder around it.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The backend.
    pub choice: Choice,
    /// Record its answers into this cassette.
    pub record: Option<PathBuf>,
    /// The key found for HTTP backends (and the variable it came from, or
    /// the variables looked at), reused by [`Resolved::with_model`].
    key: (String, Option<ApiKey>),
}

impl Resolved {
    /// The backend for another model, on the main server unless `spec`
    /// names another; it keeps the main backend's key and limits. With a
    /// replayed cassette the cassette answers for every model.
    pub fn with_model(&self, spec: &ModelSpec) -> Result<Resolved, LlmError> {
        if self.record.is_some() {
            // One cassette must answer every request on replay; two
            // recorders would overwrite each other's file.
            return Err(LlmError::Config(format!(
                "--record cannot be combined with a second model ({:?}); record with one model",
                spec.model
            )));
        }
        let choice = match &self.choice {
            Choice::Replay(p) => Choice::Replay(p.clone()),
            Choice::OpenAi(main) => {
                let mut s = main.clone();
                s.model = spec.model.clone();
                if let Some(u) = &spec.base_url {
                    s.base_url = u.clone();
                }
                Choice::OpenAi(s)
            }
            Choice::Embedded { .. } => {
                let url = spec.base_url.clone().ok_or_else(|| {
                    LlmError::Config(format!(
                        "model {:?} needs a server, but the main backend is the embedded model; give its base_url = \"http://…/v1\"",
                        spec.model
                    ))
                })?;
                let mut s = OpenAiSettings::new(url, spec.model.clone());
                s.key_var = self.key.0.clone();
                s.api_key = self.key.1.clone();
                Choice::OpenAi(s)
            }
        };
        Ok(Resolved {
            choice,
            record: None,
            key: self.key.clone(),
        })
    }
}

/// Resolves the backend from overrides, an environment lookup and the
/// config file's backend settings.
pub fn resolve(
    over: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
    file: &ConfigFile,
) -> Result<Resolved, LlmError> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if over.record.is_some() && over.replay.is_some() {
        return Err(LlmError::Config(
            "--record and --replay cannot be used together".into(),
        ));
    }
    if let Some(path) = &over.replay {
        return Ok(Resolved {
            choice: Choice::Replay(path.clone()),
            record: None,
            key: (String::new(), None),
        });
    }
    let record = over.record.clone();
    let base_url = over
        .base_url
        .clone()
        .or_else(|| env("COUNCIL_BASE_URL"))
        .or_else(|| env("OPENAI_BASE_URL"))
        .or_else(|| file.base_url.clone());
    let key_vars: Vec<String> = match &file.api_key_env {
        Some(v) => vec![v.clone()],
        None => vec!["COUNCIL_API_KEY".into(), "OPENAI_API_KEY".into()],
    };
    let key = key_vars.iter().find_map(|v| env(v).map(|k| (v.clone(), k)));
    let use_http = !over.embedded && (base_url.is_some() || key.is_some());
    let key_var = key
        .as_ref()
        .map_or_else(|| key_vars.join(" or "), |(v, _)| v.clone());
    let api_key = key.map(|(_, k)| {
        crate::error::never_show(&k);
        ApiKey::new(k)
    });
    if !use_http {
        let spec = env("COUNCIL_MODEL_PATH")
            .or_else(|| file.embedded.model.clone())
            .unwrap_or_else(|| crate::fetch::default_model_path().display().to_string());
        return Ok(Resolved {
            choice: Choice::Embedded {
                source: crate::fetch::ModelSource::parse(&spec)?,
                config: file.embedded.clone(),
            },
            record,
            key: (key_var, api_key),
        });
    }
    let base_url = base_url.unwrap_or_else(|| "https://api.openai.com/v1".into());
    let model = over
        .model
        .clone()
        .or_else(|| env("COUNCIL_MODEL"))
        .or_else(|| file.model.clone())
        .ok_or_else(|| {
            LlmError::Config(format!(
                "no model named for {base_url}; pass --model NAME, set COUNCIL_MODEL, or put model = \"NAME\" in the config file"
            ))
        })?;
    let mut s = OpenAiSettings::new(base_url, model);
    s.key_var = key_var.clone();
    s.api_key = api_key.clone();
    if let Some(b) = file.native_json_schema {
        s.native_json_schema = b;
    }
    let timeout = env("COUNCIL_TIMEOUT_SECS")
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                LlmError::Config(format!(
                    "COUNCIL_TIMEOUT_SECS={v:?} is not a whole number of seconds"
                ))
            })
        })
        .transpose()?
        .or(file.timeout_secs);
    if let Some(t) = timeout {
        s.request_timeout = Duration::from_secs(t.max(1));
    }
    if let Some(t) = file.connect_timeout_secs {
        s.connect_timeout = Duration::from_secs(t.max(1));
    }
    if let Some(n) = file.max_retries {
        s.retry.max_retries = n;
    }
    if let Some(ms) = file.retry_base_delay_ms {
        s.retry.base_delay = Duration::from_millis(ms);
    }
    if let Some(ms) = file.retry_max_delay_ms {
        s.retry.max_delay = Duration::from_millis(ms.max(s.retry.base_delay.as_millis() as u64));
    }
    Ok(Resolved {
        choice: Choice::OpenAi(s),
        record,
        key: (key_var, api_key),
    })
}

/// Builds the resolved backend (loading the embedded model if chosen).
pub async fn build(resolved: &Resolved) -> Result<Arc<dyn ChatModel>, LlmError> {
    let model: Arc<dyn ChatModel> = match &resolved.choice {
        Choice::OpenAi(s) => Arc::new(OpenAiCompatible::new(s.clone())?),
        Choice::Replay(p) => return Ok(Arc::new(CassetteModel::replay(p.clone())?)),
        Choice::Embedded { source, config } => build_embedded(source, config).await?,
    };
    match &resolved.record {
        Some(p) => Ok(Arc::new(CassetteModel::record(p.clone(), model)?)),
        None => Ok(model),
    }
}

#[cfg(feature = "embedded")]
async fn build_embedded(
    source: &crate::fetch::ModelSource,
    config: &EmbeddedConfig,
) -> Result<Arc<dyn ChatModel>, LlmError> {
    use crate::embedded::{EmbeddedModel, EmbeddedSettings};
    let path = source.resolve().await?;
    let mut s = EmbeddedSettings::new(path);
    if let Some(t) = config.threads {
        s.threads = t;
    }
    if let Some(n) = config.slots {
        s.slots = n;
    }
    if let Some(c) = config.ctx_per_slot {
        s.ctx_per_slot = c;
    }
    let model = tokio::task::spawn_blocking(move || EmbeddedModel::load(s))
        .await
        .map_err(|e| LlmError::Embedded(format!("model loading panicked: {e}")))??;
    Ok(Arc::new(model))
}

#[cfg(not(feature = "embedded"))]
async fn build_embedded(
    _source: &crate::fetch::ModelSource,
    _config: &EmbeddedConfig,
) -> Result<Arc<dyn ChatModel>, LlmError> {
    Err(LlmError::Config(
        "this build has no embedded backend (built without the `embedded` feature); set --base-url to a server".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn no_file() -> Overrides {
        Overrides::default()
    }

    fn resolve(
        over: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved, LlmError> {
        let file = match &over.config {
            Some(p) => ConfigFile::load(p)?,
            None => ConfigFile::default(),
        };
        super::resolve(over, env, &file)
    }

    #[test]
    fn nothing_configured_means_embedded() {
        let r = resolve(&no_file(), &env_of(&[])).unwrap();
        assert!(matches!(r.choice, Choice::Embedded { .. }));
    }

    #[test]
    fn council_vars_beat_openai_vars_and_flags_beat_both() {
        let env = env_of(&[
            ("OPENAI_BASE_URL", "http://a/v1"),
            ("COUNCIL_BASE_URL", "http://b/v1"),
            ("COUNCIL_MODEL", "m"),
            ("OPENAI_API_KEY", "sk-secret"),
        ]);
        let r = resolve(&no_file(), &env).unwrap();
        let Choice::OpenAi(s) = &r.choice else {
            panic!("expected HTTP")
        };
        assert_eq!(s.base_url, "http://b/v1");
        assert_eq!(s.key_var, "OPENAI_API_KEY");
        assert!(
            !format!("{s:?}").contains("sk-secret"),
            "the key must never print"
        );
        let over = Overrides {
            base_url: Some("http://c/v1".into()),
            ..no_file()
        };
        let Choice::OpenAi(s) = resolve(&over, &env).unwrap().choice else {
            panic!()
        };
        assert_eq!(s.base_url, "http://c/v1");
        let over = Overrides {
            embedded: true,
            ..no_file()
        };
        assert!(matches!(
            resolve(&over, &env).unwrap().choice,
            Choice::Embedded { .. }
        ));
    }

    #[test]
    fn a_server_without_a_model_name_says_how_to_name_one() {
        let err = resolve(&no_file(), &env_of(&[("COUNCIL_BASE_URL", "http://x/v1")])).unwrap_err();
        assert!(err.to_string().contains("--model"), "{err}");
    }

    #[test]
    fn another_model_reuses_the_main_server_and_key() {
        let env = env_of(&[
            ("COUNCIL_BASE_URL", "http://main/v1"),
            ("COUNCIL_MODEL", "small"),
            ("OPENAI_API_KEY", "sk-x"),
        ]);
        let main = resolve(&no_file(), &env).unwrap();
        let other = main
            .with_model(&ModelSpec {
                model: "big".into(),
                base_url: None,
            })
            .unwrap();
        let Choice::OpenAi(s) = &other.choice else {
            panic!("expected HTTP")
        };
        assert_eq!(
            (s.model.as_str(), s.base_url.as_str()),
            ("big", "http://main/v1")
        );
        assert!(s.api_key.is_some());
        let embedded = resolve(
            &Overrides {
                embedded: true,
                ..no_file()
            },
            &env,
        )
        .unwrap();
        let err = embedded
            .with_model(&ModelSpec {
                model: "big".into(),
                base_url: None,
            })
            .unwrap_err()
            .to_string();
        assert!(err.contains("base_url"), "{err}");
    }

    #[test]
    fn a_bad_config_file_names_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "base_urll = \"x\"\n").unwrap();
        let over = Overrides {
            config: Some(p.clone()),
            ..Default::default()
        };
        let err = resolve(&over, &env_of(&[])).unwrap_err().to_string();
        assert!(err.contains("c.toml") && err.contains("base_urll"), "{err}");
    }
}
