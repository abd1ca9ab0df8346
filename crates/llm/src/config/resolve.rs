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
    /// `--provider`: a provider preset (its base URL, key variable and settings).
    pub provider: Option<Provider>,
    /// `--embedded`: use the in-process model even if a server is configured.
    pub embedded: bool,
    /// `--embedded-model NAME|PATH`: the in-process model, a catalogue name
    /// or a GGUF file (implies `--embedded`).
    pub embedded_model: Option<String>,
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
    /// Which setting chose the backend (`--base-url`, `config file PATH
    /// (model)`, `nothing configured (embedded default)`…), for `council
    /// models` and messages.
    pub chosen_by: String,
    /// Whether nothing was configured and the embedded default was taken.
    by_default: bool,
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
            chosen_by: self.chosen_by.clone(),
            by_default: false,
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

    /// The one line to show when nothing was configured and the embedded
    /// default model was taken (it is not an error); `None` otherwise.
    pub fn default_notice(&self) -> Option<String> {
        let Choice::Embedded { source, .. } = &self.choice else {
            return None;
        };
        self.by_default.then(|| {
            format!(
                "using the embedded model {}: no model server is configured (give --base-url http://HOST:PORT/v1 --model NAME, or --model NAME with OPENAI_API_KEY set, or a config file; --embedded picks this model without this note)",
                source.name()
            )
        })
    }
}

/// Resolves the backend from overrides, an environment lookup and the
/// config file's backend settings, in this order:
///
/// 1. `--replay FILE`: the cassette.
/// 2. `--embedded-model NAME|PATH`: that model in-process; `--embedded`:
///    the embedded model.
/// 3. A server, provider or model named anywhere (`--base-url`,
///    `COUNCIL_BASE_URL`, `OPENAI_BASE_URL`, `--provider`, `--model`,
///    `COUNCIL_MODEL`, the file's `base_url`, `provider` or `model`): that
///    server; a model with no server and no provider is OpenAI's. What it
///    lacks (a key its provider needs, a base URL where there is no
///    default, a model name) is an error naming the setting and the
///    alternatives; it never falls back to the embedded model.
/// 4. `COUNCIL_MODEL_PATH` or the file's `[embedded] model`: that model.
/// 5. Only a key in the environment: OpenAI's server (asking for a model).
/// 6. Nothing at all: the embedded default, with [`Resolved::default_notice`].
///
/// No model is loaded and nothing is sent: a refusal comes at once.
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
    let resolved = |choice: Choice, key: (String, Option<ApiKey>), chosen_by: String| Resolved {
        choice,
        record: over.record.clone(),
        key,
        common: common.clone(),
        chosen_by,
        by_default: false,
    };
    if let Some(path) = &over.replay {
        return Ok(Resolved {
            record: None,
            ..resolved(
                Choice::Replay(path.clone()),
                (String::new(), None),
                "--replay".into(),
            )
        });
    }
    let in_file = |key: &str| match &file.path {
        Some(p) => format!("config file {} ({key})", p.display()),
        None => format!("the config file ({key})"),
    };
    let base = first_of(vec![
        (over.base_url.clone(), "--base-url".to_string()),
        (env("COUNCIL_BASE_URL"), "COUNCIL_BASE_URL".into()),
        (env("OPENAI_BASE_URL"), "OPENAI_BASE_URL".into()),
        (file.base_url.clone(), in_file("base_url")),
    ]);
    let named_provider = first_of(vec![
        (over.provider, "--provider".to_string()),
        (file.provider, in_file("provider")),
    ]);
    let model = first_of(vec![
        (over.model.clone(), "--model".to_string()),
        (env("COUNCIL_MODEL"), "COUNCIL_MODEL".into()),
        (file.model.clone(), in_file("model")),
    ]);
    let provider = named_provider
        .as_ref()
        .map(|(p, _)| *p)
        .or_else(|| base.as_ref().and_then(|(u, _)| Provider::infer(u)));
    let key_vars: Vec<String> = match (&file.api_key_env, provider) {
        (Some(v), _) => vec![v.clone()],
        (None, Some(p)) => std::iter::once("COUNCIL_API_KEY")
            .chain(p.key_vars().iter().copied())
            .map(str::to_string)
            .collect(),
        (None, None) => vec!["COUNCIL_API_KEY".into(), "OPENAI_API_KEY".into()],
    };
    let key = find_key(&key_vars, &env);
    let embedded = |spec: String, chosen_by: String, key| -> Result<Resolved, LlmError> {
        Ok(resolved(
            Choice::Embedded {
                source: crate::fetch::ModelSource::parse(&spec)?,
                config: file.embedded.clone(),
            },
            key,
            chosen_by,
        ))
    };
    let named = base
        .as_ref()
        .map(|(_, from)| from)
        .or(named_provider.as_ref().map(|(_, from)| from))
        .or(model.as_ref().map(|(_, from)| from))
        .cloned();
    let embedded_model = first_of(vec![
        (env("COUNCIL_MODEL_PATH"), "COUNCIL_MODEL_PATH".to_string()),
        (file.embedded.model.clone(), in_file("[embedded] model")),
    ]);
    if let Some(spec) = over.embedded_model.clone().filter(|s| !s.trim().is_empty()) {
        return embedded(spec, "--embedded-model".into(), key);
    }
    let chosen_by = match (named, embedded_model) {
        _ if over.embedded => {
            let spec = env("COUNCIL_MODEL_PATH")
                .or_else(|| file.embedded.model.clone())
                .unwrap_or_else(|| crate::fetch::default_model_path().display().to_string());
            return embedded(spec, "--embedded".into(), key);
        }
        (Some(from), _) => from,
        (None, Some((spec, from))) => return embedded(spec, from, key),
        (None, None) if key.1.is_some() => format!("{} (an API key alone)", key.0),
        (None, None) => {
            let spec = crate::fetch::default_model_path().display().to_string();
            let mut r = embedded(spec, "nothing configured (embedded default)".into(), key)?;
            r.by_default = true;
            return Ok(r);
        }
    };
    let base_url = match (base, provider) {
        (Some((u, _)), _) => u,
        (None, Some(p)) => p.default_base_url().map(str::to_string).ok_or_else(|| {
            LlmError::Config(format!(
                "{chosen_by}: provider {p} needs base_url = \"https://RESOURCE.openai.azure.com\" in the config (or --base-url)"
            ))
        })?,
        (None, None) => "https://api.openai.com/v1".into(),
    };
    let provider = provider.or_else(|| Provider::infer(&base_url));
    if let (Some(p), None) = (provider, &key.1) {
        if p.needs_key() {
            let for_model = model
                .as_ref()
                .map_or_else(String::new, |(m, _)| format!(" for model {m:?}"));
            return Err(LlmError::Config(format!(
                "{chosen_by} chose provider {p} at {base_url}{for_model}, which needs an API key: set {} (or name another variable with api_key_env = \"NAME\" in the config file). For a model server on your machine or network give --base-url http://HOST:PORT/v1; for the built-in model, --embedded",
                key.0
            )));
        }
    }
    let Some((model, _)) = model else {
        return Err(LlmError::Config(format!(
            "{chosen_by} chose {base_url}, but no model is named; pass --model NAME, set COUNCIL_MODEL, or put model = \"NAME\" in the config file (or use the built-in model with --embedded)"
        )));
    };
    Ok(resolved(
        http_choice(provider, &base_url, &model, key.clone(), &common),
        key,
        chosen_by,
    ))
}

/// The first value given, with where it came from.
fn first_of<T>(candidates: Vec<(Option<T>, String)>) -> Option<(T, String)> {
    candidates
        .into_iter()
        .find_map(|(value, from)| value.map(|v| (v, from)))
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
    fn nothing_configured_means_the_embedded_default_with_a_note() {
        let r = resolve(&no_file(), &env_of(&[])).unwrap();
        assert!(matches!(r.choice, Choice::Embedded { .. }));
        assert_eq!(r.chosen_by, "nothing configured (embedded default)");
        let note = r.default_notice().expect("a note");
        assert!(note.starts_with("using the embedded model "), "{note}");
        for words in ["--base-url", "--model", "OPENAI_API_KEY", "--embedded"] {
            assert!(note.contains(words), "{words}: {note}");
        }
        assert!(!note.contains('\n'), "one line: {note}");
    }

    #[test]
    fn embedded_model_takes_a_catalogue_name_or_a_path_over_any_server() {
        let over = Overrides {
            embedded_model: Some("qwen2.5-3b".into()),
            base_url: Some("http://127.0.0.1:9/v1".into()),
            ..no_file()
        };
        let r = resolve(&over, &env_of(&[("COUNCIL_MODEL_PATH", "/m/x.gguf")])).unwrap();
        assert_eq!(r.chosen_by, "--embedded-model");
        match r.choice {
            Choice::Embedded { source, .. } => {
                assert_eq!(
                    source,
                    crate::fetch::ModelSource::Catalog("qwen2.5-3b".into())
                )
            }
            other => panic!("{other:?}"),
        }
        let over = Overrides {
            embedded_model: Some("/models/mine.gguf".into()),
            ..no_file()
        };
        match resolve(&over, &env_of(&[])).unwrap().choice {
            Choice::Embedded { source, .. } => assert_eq!(
                source,
                crate::fetch::ModelSource::File("/models/mine.gguf".into())
            ),
            other => panic!("{other:?}"),
        }
    }

    fn config_error(r: Result<Resolved, LlmError>) -> String {
        match r {
            Err(LlmError::Config(m)) => m,
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    fn flags(model: Option<&str>, provider: Option<Provider>) -> Overrides {
        Overrides {
            model: model.map(str::to_string),
            provider,
            ..no_file()
        }
    }

    #[test]
    fn a_model_name_alone_means_openai_and_needs_its_key() {
        let m = config_error(resolve(&flags(Some("gpt-4o-mini"), None), &env_of(&[])));
        for words in [
            "--model",
            "gpt-4o-mini",
            "https://api.openai.com/v1",
            "OPENAI_API_KEY",
            "--base-url http://HOST:PORT/v1",
            "--embedded",
        ] {
            assert!(m.contains(words), "{words}: {m}");
        }
        let env = env_of(&[("OPENAI_API_KEY", "sk-test-0123456789")]);
        let r = resolve(&flags(Some("gpt-4o-mini"), None), &env).unwrap();
        let Choice::OpenAi(s) = &r.choice else {
            panic!("{:?}", r.choice)
        };
        assert_eq!(s.base_url, "https://api.openai.com/v1");
        assert_eq!(s.provider, Some(Provider::OpenAi));
        assert_eq!(r.chosen_by, "--model");
        assert!(r.default_notice().is_none());
    }

    #[test]
    fn a_model_named_in_the_environment_or_the_file_is_refused_alike_without_a_key() {
        let m = config_error(resolve(&no_file(), &env_of(&[("COUNCIL_MODEL", "gpt-4o")])));
        assert!(
            m.starts_with("COUNCIL_MODEL chose") && m.contains("OPENAI_API_KEY"),
            "{m}"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "model = \"gpt-4o\"\n").unwrap();
        let over = Overrides {
            config: Some(p.clone()),
            ..no_file()
        };
        let m = config_error(resolve(&over, &env_of(&[])));
        assert!(
            m.contains(&format!("config file {} (model)", p.display())),
            "{m}"
        );
    }

    #[test]
    fn a_provider_flag_picks_its_preset_and_its_key() {
        let anthropic = flags(Some("claude-sonnet-4-5"), Some(Provider::Anthropic));
        let m = config_error(resolve(&anthropic, &env_of(&[])));
        assert!(
            m.starts_with("--provider chose provider anthropic at https://api.anthropic.com/v1"),
            "{m}"
        );
        assert!(m.contains("ANTHROPIC_API_KEY"), "{m}");
        let env = env_of(&[("ANTHROPIC_API_KEY", "sk-ant-0123456789")]);
        let r = resolve(&anthropic, &env).unwrap();
        assert!(matches!(r.choice, Choice::Anthropic(_)), "{:?}", r.choice);
        assert_eq!(r.chosen_by, "--provider");
        // A local provider needs no key; it beats the file's provider.
        let r = resolve(
            &flags(Some("qwen2.5:7b"), Some(Provider::Ollama)),
            &env_of(&[]),
        )
        .unwrap();
        let Choice::OpenAi(s) = &r.choice else {
            panic!("{:?}", r.choice)
        };
        assert_eq!(s.base_url, "http://127.0.0.1:11434/v1");
        // Azure has no default server.
        let m = config_error(resolve(
            &flags(Some("prod-4o"), Some(Provider::Azure)),
            &env_of(&[("AZURE_OPENAI_API_KEY", "azure-0123456789")]),
        ));
        assert!(m.contains("base_url") && m.contains("--base-url"), "{m}");
    }

    #[test]
    fn a_named_server_says_which_setting_named_it() {
        let local = Overrides {
            base_url: Some("http://127.0.0.1:8080/v1".into()),
            ..flags(Some("local"), None)
        };
        let r = resolve(&local, &env_of(&[])).unwrap();
        assert_eq!(r.chosen_by, "--base-url");
        assert!(matches!(r.choice, Choice::OpenAi(_)));
        let r = resolve(
            &flags(Some("local"), None),
            &env_of(&[("COUNCIL_BASE_URL", "http://127.0.0.1:8080/v1")]),
        )
        .unwrap();
        assert_eq!(r.chosen_by, "COUNCIL_BASE_URL");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "base_url = \"http://127.0.0.1:8080/v1\"\nmodel = \"m\"\n",
        )
        .unwrap();
        let r = resolve(
            &Overrides {
                config: Some(p.clone()),
                ..no_file()
            },
            &env_of(&[]),
        )
        .unwrap();
        assert_eq!(
            r.chosen_by,
            format!("config file {} (base_url)", p.display())
        );
    }

    #[test]
    fn the_embedded_model_runs_when_asked_for() {
        // --embedded wins over a named server, without a note.
        let r = resolve(
            &Overrides {
                embedded: true,
                ..flags(Some("gpt-4o"), None)
            },
            &env_of(&[]),
        )
        .unwrap();
        assert!(matches!(r.choice, Choice::Embedded { .. }));
        assert_eq!(r.chosen_by, "--embedded");
        assert!(r.default_notice().is_none());
        // A model file named in the environment or the file.
        let r = resolve(
            &no_file(),
            &env_of(&[("COUNCIL_MODEL_PATH", "/models/x.gguf")]),
        )
        .unwrap();
        let Choice::Embedded { source, .. } = &r.choice else {
            panic!("{:?}", r.choice)
        };
        assert_eq!(source.name(), "x.gguf");
        assert_eq!(r.chosen_by, "COUNCIL_MODEL_PATH");
        assert!(r.default_notice().is_none());
        let file =
            ConfigFile::from_table(None, "[embedded]\nmodel = \"/m/y.gguf\"".parse().unwrap())
                .unwrap();
        let r = super::resolve(&no_file(), &env_of(&[]), &file).unwrap();
        assert_eq!(r.chosen_by, "the config file ([embedded] model)");
        // A named model beats an embedded model file in the environment.
        let env = env_of(&[
            ("COUNCIL_MODEL_PATH", "/models/x.gguf"),
            ("OPENAI_API_KEY", "sk-test-0123456789"),
        ]);
        let r = resolve(&flags(Some("gpt-4o"), None), &env).unwrap();
        assert!(matches!(r.choice, Choice::OpenAi(_)));
    }

    #[test]
    fn a_key_alone_asks_for_a_model() {
        let m = config_error(resolve(
            &no_file(),
            &env_of(&[("OPENAI_API_KEY", "sk-test-0123456789")]),
        ));
        assert!(m.starts_with("OPENAI_API_KEY (an API key alone)"), "{m}");
        assert!(
            m.contains("--model NAME") && m.contains("--embedded"),
            "{m}"
        );
    }

    #[test]
    fn a_cassette_answers_whatever_else_is_named() {
        let r = resolve(
            &Overrides {
                replay: Some("c.json".into()),
                ..flags(Some("gpt-4o"), None)
            },
            &env_of(&[]),
        )
        .unwrap();
        assert!(matches!(r.choice, Choice::Replay(_)));
        assert_eq!(r.chosen_by, "--replay");
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
