//! Choosing and building a backend from flags, environment and config file.
//!
//! Precedence, highest first: command-line flags, Council's own environment
//! variables (`COUNCIL_*`), the OpenAI-standard ones (`OPENAI_*`), the config
//! file (`--config`, `COUNCIL_CONFIG`, or `council/config.toml` in the
//! user's config dir). API keys are read from the environment only, never
//! from flags or files, so they cannot land in shell history or on disk.

use crate::openai::{ApiKey, OpenAiCompatible, OpenAiSettings};
use crate::replay::CassetteModel;
use crate::retry::RetryPolicy;
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
    /// Retries after the first attempt (default 4).
    pub max_retries: Option<usize>,
    /// Embedded backend settings.
    #[serde(default)]
    pub embedded: EmbeddedConfig,
    /// Per-persona model overrides: `[personas.cfo] model = "gpt-4o"`.
    #[serde(default)]
    pub personas: std::collections::BTreeMap<String, PersonaModel>,
}

/// A `[personas.ID]` table: the model one persona speaks through.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PersonaModel {
    /// Model name on the server.
    pub model: String,
    /// Another server for this persona (default: the main one).
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
    /// Reads a config file; the error names the file and the problem.
    pub fn load(path: &Path) -> Result<Self, LlmError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LlmError::io(format!("cannot read config file {}", path.display()), e))?;
        toml::from_str(&text).map_err(|e| {
            LlmError::Config(format!("config file {} is invalid: {e}", path.display()))
        })
    }

    /// The default config file location.
    pub fn default_path() -> Option<PathBuf> {
        directories::ProjectDirs::from("", "", "council")
            .map(|d| d.config_dir().join("config.toml"))
    }
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
    /// Persona id → the HTTP backend that persona speaks through instead.
    pub persona_overrides: Vec<(String, OpenAiSettings)>,
}

/// Resolves the backend from overrides, an environment lookup and the config file.
pub fn resolve(
    over: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Resolved, LlmError> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let config_path = over
        .config
        .clone()
        .or_else(|| env("COUNCIL_CONFIG").map(PathBuf::from));
    let file = match &config_path {
        Some(p) => ConfigFile::load(p)?,
        None => match ConfigFile::default_path().filter(|p| p.is_file()) {
            Some(p) => ConfigFile::load(&p)?,
            None => ConfigFile::default(),
        },
    };
    if over.record.is_some() && over.replay.is_some() {
        return Err(LlmError::Config(
            "--record and --replay cannot be used together".into(),
        ));
    }
    if let Some(path) = &over.replay {
        return Ok(Resolved {
            choice: Choice::Replay(path.clone()),
            record: None,
            persona_overrides: Vec::new(),
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
    if !use_http {
        let spec = env("COUNCIL_MODEL_PATH")
            .or_else(|| file.embedded.model.clone())
            .unwrap_or_else(|| crate::fetch::default_model_path().display().to_string());
        let persona_overrides = file
            .personas
            .iter()
            .map(|(id, pm)| {
                let url = pm.base_url.clone().ok_or_else(|| {
                    LlmError::Config(format!(
                        "[personas.{id}] names model {:?} but the main backend is the embedded model; add base_url = \"http://…/v1\" to that table",
                        pm.model
                    ))
                })?;
                let mut s = OpenAiSettings::new(url, pm.model.clone());
                s.key_var = key.as_ref().map_or_else(|| key_vars.join(" or "), |(v, _)| v.clone());
                s.api_key = key.as_ref().map(|(_, k)| ApiKey::new(k.clone()));
                Ok((id.clone(), s))
            })
            .collect::<Result<Vec<_>, LlmError>>()?;
        return Ok(Resolved {
            choice: Choice::Embedded {
                source: crate::fetch::ModelSource::parse(&spec)?,
                config: file.embedded.clone(),
            },
            record,
            persona_overrides,
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
    s.key_var = key
        .as_ref()
        .map_or_else(|| key_vars.join(" or "), |(v, _)| v.clone());
    s.api_key = key.map(|(_, k)| ApiKey::new(k));
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
        s.retry = RetryPolicy {
            max_retries: n,
            ..s.retry
        };
    }
    let persona_overrides = file
        .personas
        .iter()
        .map(|(id, pm)| {
            let mut o = s.clone();
            o.model = pm.model.clone();
            if let Some(u) = &pm.base_url {
                o.base_url = u.clone();
            }
            (id.clone(), o)
        })
        .collect();
    Ok(Resolved {
        choice: Choice::OpenAi(s),
        record,
        persona_overrides,
    })
}

/// Persona id → the model it speaks through.
pub type PersonaModels = Vec<(String, Arc<dyn ChatModel>)>;

/// Builds the per-persona override backends (none when replaying).
pub fn build_persona_models(resolved: &Resolved) -> Result<PersonaModels, LlmError> {
    if resolved.record.is_some() && !resolved.persona_overrides.is_empty() {
        // One cassette must answer every request on replay; separate
        // recorders would overwrite each other's file.
        return Err(LlmError::Config(
            "--record cannot be combined with [personas.*] model overrides in the config file; record with one model".into(),
        ));
    }
    resolved
        .persona_overrides
        .iter()
        .map(|(id, s)| {
            Ok((
                id.clone(),
                Arc::new(OpenAiCompatible::new(s.clone())?) as Arc<dyn ChatModel>,
            ))
        })
        .collect()
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
        // Point at an empty file so the user's own config does not leak in.
        let dir = std::env::temp_dir().join(format!("council-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("empty.toml");
        std::fs::write(&p, "").unwrap();
        Overrides {
            config: Some(p),
            ..Default::default()
        }
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
    fn persona_overrides_reuse_the_main_server() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "base_url = \"http://main/v1\"\nmodel = \"small\"\n[personas.cfo]\nmodel = \"big\"\n",
        )
        .unwrap();
        let r = resolve(
            &Overrides {
                config: Some(p),
                ..Default::default()
            },
            &env_of(&[]),
        )
        .unwrap();
        assert_eq!(r.persona_overrides.len(), 1);
        let (id, s) = &r.persona_overrides[0];
        assert_eq!(
            (id.as_str(), s.model.as_str(), s.base_url.as_str()),
            ("cfo", "big", "http://main/v1")
        );
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
