//! Resolution: command-line flags, environment and the config file's
//! backend keys → a [`Resolved`] backend, and another model's backend from
//! a [`ModelSpec`].

use super::{ConfigFile, EmbeddedConfig, ModelSpec};
use crate::anthropic::AnthropicSettings;
use crate::openai::{ApiKey, OpenAiSettings};
use crate::provider::Provider;
use crate::retry::RetryPolicy;
use crate::LlmError;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Anthropic's Messages API.
    Anthropic(AnthropicSettings),
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
    /// What every HTTP endpoint shares, for [`Resolved::with_model`].
    common: Common,
}

/// What every HTTP endpoint shares: the config file's top-level limits
/// and choices.
#[derive(Debug, Clone)]
pub struct Common {
    /// Limit for one whole HTTP exchange.
    pub request_timeout: Duration,
    /// Limit for establishing the connection.
    pub connect_timeout: Duration,
    /// Retry behaviour for transient failures.
    pub retry: RetryPolicy,
    /// `native_json_schema`, when the config sets it.
    pub native_json_schema: Option<bool>,
    /// `strict`, when the config sets it.
    pub strict: Option<bool>,
    /// `stream`, when the config sets it.
    pub stream: Option<bool>,
    /// Longest pause between streamed chunks.
    pub idle_timeout: Duration,
    /// Azure's `api-version`.
    pub api_version: Option<String>,
    /// OpenRouter's `HTTP-Referer`.
    pub app_url: Option<String>,
    /// OpenRouter's `X-Title`.
    pub app_name: Option<String>,
}

impl Default for Common {
    fn default() -> Self {
        let s = OpenAiSettings::new("", "");
        Common {
            request_timeout: s.request_timeout,
            connect_timeout: s.connect_timeout,
            retry: s.retry,
            native_json_schema: None,
            strict: None,
            stream: None,
            idle_timeout: s.idle_timeout,
            api_version: None,
            app_url: None,
            app_name: None,
        }
    }
}

/// The HTTP backend for `model` at `base_url` under `provider` (or the
/// provider its host names), with the key and the shared settings.
pub fn http_choice(
    provider: Option<Provider>,
    base_url: &str,
    model: &str,
    key: (String, Option<ApiKey>),
    c: &Common,
) -> Choice {
    let provider = provider.or_else(|| Provider::infer(base_url));
    if provider == Some(Provider::Anthropic) {
        let mut s = AnthropicSettings::new(base_url, model);
        s.key_var = key.0;
        s.api_key = key.1;
        s.request_timeout = c.request_timeout;
        s.connect_timeout = c.connect_timeout;
        s.retry = c.retry;
        return Choice::Anthropic(s);
    }
    let url = match provider {
        Some(Provider::Azure) => Provider::azure_deployment_url(base_url, model),
        _ => base_url.to_string(),
    };
    let mut s = OpenAiSettings::new(url, model);
    s.key_var = key.0;
    s.api_key = key.1;
    s.provider = provider;
    s.request_timeout = c.request_timeout;
    s.connect_timeout = c.connect_timeout;
    s.retry = c.retry;
    s.idle_timeout = c.idle_timeout;
    if let Some(b) = c.native_json_schema {
        s.native_json_schema = b;
    }
    s.strict = c
        .strict
        .unwrap_or_else(|| provider.is_some_and(Provider::strict_schemas));
    s.stream = c.stream.unwrap_or(provider.is_some());
    if let Some(p) = provider {
        s.key_header = p.key_header();
    }
    if provider == Some(Provider::Azure) {
        s.api_version = Some(
            c.api_version
                .clone()
                .unwrap_or_else(|| crate::provider::AZURE_API_VERSION.into()),
        );
    }
    if provider == Some(Provider::OpenRouter) {
        if let Some(u) = &c.app_url {
            s.headers.push(("HTTP-Referer".into(), u.clone()));
        }
        s.headers.push((
            "X-Title".into(),
            c.app_name.clone().unwrap_or_else(|| "Council".into()),
        ));
    }
    Choice::OpenAi(s)
}

/// The first of `vars` set in the environment: (the variable, or the
/// variables looked at joined by "or"; the key, marked never to show).
pub fn find_key(vars: &[String], env: &dyn Fn(&str) -> Option<String>) -> (String, Option<ApiKey>) {
    match vars.iter().find_map(|v| {
        env(v)
            .filter(|k| !k.trim().is_empty())
            .map(|k| (v.clone(), k))
    }) {
        Some((var, k)) => {
            crate::error::never_show(&k);
            (var, Some(ApiKey::new(k)))
        }
        None => (vars.join(" or "), None),
    }
}

/// The error for a provider that needs a key when none was found.
fn missing_key(provider: Provider, vars: &str, whose: &str) -> LlmError {
    LlmError::Config(format!(
        "{whose}: provider {provider} needs an API key; set {vars} (or name another variable with api_key_env = \"NAME\")"
    ))
}

impl Resolved {
    /// The backend for another model, on the main server unless `spec`
    /// names another; it keeps the main backend's key and limits. With a
    /// replayed cassette the cassette answers for every model.
    pub fn with_model(
        &self,
        spec: &ModelSpec,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved, LlmError> {
        if self.record.is_some() {
            // One cassette must answer every request on replay; two
            // recorders would overwrite each other's file.
            return Err(LlmError::Config(format!(
                "--record cannot be combined with a second model ({:?}); record with one model",
                spec.model
            )));
        }
        let same = |choice: Choice| Resolved {
            choice,
            record: None,
            key: self.key.clone(),
            common: self.common.clone(),
        };
        if let Choice::Replay(p) = &self.choice {
            return Ok(same(Choice::Replay(p.clone())));
        }
        let main_provider = self.provider();
        if spec.provider.is_none() && spec.api_key_env.is_none() {
            match &self.choice {
                Choice::OpenAi(main)
                    if main.provider != Some(Provider::Azure) || spec.base_url.is_some() =>
                {
                    let mut s = main.clone();
                    s.model = spec.model.clone();
                    if let Some(u) = &spec.base_url {
                        s.base_url = u.clone();
                    }
                    return Ok(same(Choice::OpenAi(s)));
                }
                Choice::Anthropic(main) => {
                    let mut s = main.clone();
                    s.model = spec.model.clone();
                    if let Some(u) = &spec.base_url {
                        s.base_url = u.clone();
                    }
                    return Ok(same(Choice::Anthropic(s)));
                }
                _ => {}
            }
        }
        let provider = spec.provider.or(main_provider);
        let same_provider =
            provider == main_provider && !matches!(self.choice, Choice::Embedded { .. });
        let base_url = match (&spec.base_url, provider) {
            (Some(u), _) => u.clone(),
            (None, _) if same_provider => self.main_base_url().unwrap_or_default(),
            (None, Some(p)) => p.default_base_url().map(str::to_string).ok_or_else(|| {
                LlmError::Config(format!(
                    "model {:?} with provider {p} needs base_url = \"https://RESOURCE.openai.azure.com\" (the resource's endpoint)",
                    spec.model
                ))
            })?,
            (None, None) => {
                return Err(LlmError::Config(format!(
                    "model {:?} needs a server, but the main backend is the embedded model; give its base_url = \"http://…/v1\" or a provider",
                    spec.model
                )))
            }
        };
        let key = match (&spec.api_key_env, provider) {
            (Some(var), _) => {
                let key = find_key(std::slice::from_ref(var), env);
                if key.1.is_none() {
                    return Err(LlmError::Config(format!(
                        "model {:?}: its key variable {var} is not set",
                        spec.model
                    )));
                }
                key
            }
            (None, _) if same_provider => self.key.clone(),
            (None, Some(p)) => {
                let vars: Vec<String> = p.key_vars().iter().map(|v| v.to_string()).collect();
                let key = find_key(&vars, env);
                if key.1.is_none() && p.needs_key() {
                    return Err(missing_key(p, &key.0, &format!("model {:?}", spec.model)));
                }
                key
            }
            (None, None) => self.key.clone(),
        };
        let base_url = match (provider, base_url.split_once("/openai/deployments/")) {
            // Another deployment on the same Azure resource.
            (Some(Provider::Azure), Some((resource, _))) if spec.base_url.is_none() => {
                resource.to_string()
            }
            _ => base_url,
        };
        Ok(same(http_choice(
            provider,
            &base_url,
            &spec.model,
            key,
            &self.common,
        )))
    }

    /// The main endpoint's provider: named, or known from its host.
    pub fn provider(&self) -> Option<Provider> {
        match &self.choice {
            Choice::OpenAi(s) => s.provider,
            Choice::Anthropic(_) => Some(Provider::Anthropic),
            _ => None,
        }
    }

    /// The main endpoint's base URL, for an HTTP backend.
    pub fn main_base_url(&self) -> Option<String> {
        match &self.choice {
            Choice::OpenAi(s) => Some(s.base_url.clone()),
            Choice::Anthropic(s) => Some(s.base_url.clone()),
            _ => None,
        }
    }

    /// What every HTTP endpoint shares.
    pub fn common(&self) -> &Common {
        &self.common
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
    let common = common_of(env_timeout(&env)?, file);
    if let Some(path) = &over.replay {
        return Ok(Resolved {
            choice: Choice::Replay(path.clone()),
            record: None,
            key: (String::new(), None),
            common,
        });
    }
    let record = over.record.clone();
    let base_url = over
        .base_url
        .clone()
        .or_else(|| env("COUNCIL_BASE_URL"))
        .or_else(|| env("OPENAI_BASE_URL"))
        .or_else(|| file.base_url.clone());
    let provider = file
        .provider
        .or_else(|| base_url.as_deref().and_then(Provider::infer));
    let key_vars: Vec<String> = match (&file.api_key_env, provider) {
        (Some(v), _) => vec![v.clone()],
        (None, Some(p)) => std::iter::once("COUNCIL_API_KEY")
            .chain(p.key_vars().iter().copied())
            .map(str::to_string)
            .collect(),
        (None, None) => vec!["COUNCIL_API_KEY".into(), "OPENAI_API_KEY".into()],
    };
    let key = find_key(&key_vars, &env);
    let use_http =
        !over.embedded && (base_url.is_some() || key.1.is_some() || file.provider.is_some());
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
            key,
            common,
        });
    }
    let base_url = match (base_url, provider) {
        (Some(u), _) => u,
        (None, Some(p)) => p.default_base_url().map(str::to_string).ok_or_else(|| {
            LlmError::Config(format!(
                "provider {p} needs base_url = \"https://RESOURCE.openai.azure.com\" in the config (or --base-url)"
            ))
        })?,
        (None, None) => "https://api.openai.com/v1".into(),
    };
    let provider = provider.or_else(|| Provider::infer(&base_url));
    if let (Some(p), None) = (provider, &key.1) {
        if p.needs_key() {
            return Err(missing_key(p, &key.0, &base_url));
        }
    }
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
    Ok(Resolved {
        choice: http_choice(provider, &base_url, &model, key.clone(), &common),
        record,
        key,
        common,
    })
}

/// `COUNCIL_TIMEOUT_SECS`, checked.
fn env_timeout(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<u64>, LlmError> {
    env("COUNCIL_TIMEOUT_SECS")
        .map(|v| {
            v.parse::<u64>().map_err(|_| {
                LlmError::Config(format!(
                    "COUNCIL_TIMEOUT_SECS={v:?} is not a whole number of seconds"
                ))
            })
        })
        .transpose()
}

/// The shared HTTP settings from the file (and the timeout from the environment).
fn common_of(timeout: Option<u64>, file: &ConfigFile) -> Common {
    let mut c = Common::default();
    if let Some(t) = timeout.or(file.timeout_secs) {
        c.request_timeout = Duration::from_secs(t.max(1));
    }
    if let Some(t) = file.connect_timeout_secs {
        c.connect_timeout = Duration::from_secs(t.max(1));
    }
    if let Some(n) = file.max_retries {
        c.retry.max_retries = n;
    }
    if let Some(ms) = file.retry_base_delay_ms {
        c.retry.base_delay = Duration::from_millis(ms);
    }
    if let Some(ms) = file.retry_max_delay_ms {
        c.retry.max_delay = Duration::from_millis(ms.max(c.retry.base_delay.as_millis() as u64));
    }
    if let Some(t) = file.stream_idle_timeout_secs {
        c.idle_timeout = Duration::from_secs(t.max(1));
    }
    c.native_json_schema = file.native_json_schema;
    c.strict = file.strict;
    c.stream = file.stream;
    c.api_version = file.api_version.clone();
    c.app_url = file.app_url.clone();
    c.app_name = file.app_name.clone();
    c
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
            .with_model(
                &ModelSpec {
                    model: "big".into(),
                    ..Default::default()
                },
                &env,
            )
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
            .with_model(
                &ModelSpec {
                    model: "big".into(),
                    ..Default::default()
                },
                &env,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("base_url"), "{err}");
    }

    fn resolve_toml(
        toml: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved, LlmError> {
        let file = ConfigFile::from_table(None, toml.parse().unwrap())?;
        super::resolve(&no_file(), env, &file)
    }

    #[test]
    fn a_provider_line_is_enough_for_a_hosted_provider() {
        let env = env_of(&[("ANTHROPIC_API_KEY", "sk-ant-0123456789")]);
        let r = resolve_toml(
            "provider = \"anthropic\"\nmodel = \"claude-sonnet-4-5\"",
            &env,
        )
        .unwrap();
        let Choice::Anthropic(s) = &r.choice else {
            panic!("expected Anthropic, got {:?}", r.choice)
        };
        assert_eq!(s.base_url, "https://api.anthropic.com/v1");
        assert_eq!(s.key_var, "ANTHROPIC_API_KEY");
        assert!(s.api_key.is_some());
        // Without the key: refused, naming the variables.
        let err = resolve_toml("provider = \"anthropic\"\nmodel = \"m\"", &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("COUNCIL_API_KEY or ANTHROPIC_API_KEY"),
            "{err}"
        );
        // A local provider needs none and is HTTP even without a URL or key.
        let r = resolve_toml(
            "provider = \"ollama\"\nmodel = \"qwen2.5:7b\"",
            &env_of(&[]),
        )
        .unwrap();
        let Choice::OpenAi(s) = &r.choice else {
            panic!("expected HTTP")
        };
        assert_eq!(s.base_url, "http://127.0.0.1:11434/v1");
        assert!(s.stream && !s.strict && s.api_key.is_none());
        // A plain server: no preset, no streaming, no strict schemas.
        let r = resolve_toml(
            "base_url = \"http://10.0.0.5:9000/v1\"\nmodel = \"m\"",
            &env_of(&[]),
        )
        .unwrap();
        let Choice::OpenAi(s) = &r.choice else {
            panic!("expected HTTP")
        };
        assert!(!s.stream && !s.strict && s.provider.is_none());
    }

    #[test]
    fn a_persona_on_another_provider_gets_that_providers_key_and_url() {
        let env = env_of(&[
            ("OPENAI_API_KEY", "sk-openai-0123456789"),
            ("ANTHROPIC_API_KEY", "sk-ant-0123456789"),
        ]);
        let main = resolve_toml("provider = \"openai\"\nmodel = \"gpt-4o\"", &env).unwrap();
        let spec = ModelSpec {
            model: "claude-sonnet-4-5".into(),
            provider: Some(Provider::Anthropic),
            ..Default::default()
        };
        let other = main.with_model(&spec, &env).unwrap();
        let Choice::Anthropic(s) = &other.choice else {
            panic!("expected Anthropic")
        };
        assert_eq!(
            s.key_var, "ANTHROPIC_API_KEY",
            "never the main endpoint's key"
        );
        // Its own key variable, when named, must be set.
        let spec = ModelSpec {
            model: "qwen".into(),
            provider: Some(Provider::Vllm),
            base_url: Some("http://gpu-box:8000/v1".into()),
            api_key_env: Some("GPU_BOX_KEY".into()),
        };
        let err = main.with_model(&spec, &env).unwrap_err().to_string();
        assert!(err.contains("GPU_BOX_KEY"), "{err}");
        // Another deployment on the main Azure resource.
        let env = env_of(&[("AZURE_OPENAI_API_KEY", "azure-0123456789")]);
        let main = resolve_toml(
            "provider = \"azure\"\nbase_url = \"https://r.openai.azure.com\"\nmodel = \"prod-4o\"",
            &env,
        )
        .unwrap();
        let other = main
            .with_model(
                &ModelSpec {
                    model: "prod-mini".into(),
                    ..Default::default()
                },
                &env,
            )
            .unwrap();
        let Choice::OpenAi(s) = &other.choice else {
            panic!("expected HTTP")
        };
        assert_eq!(
            s.base_url,
            "https://r.openai.azure.com/openai/deployments/prod-mini"
        );
        assert_eq!(s.api_version.as_deref(), Some("2024-10-21"));
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
