//! The backends a command uses: the main model from flags, environment and
//! the config file (resolved by `council-llm`), and the model each persona
//! speaks through (the config file's `[personas.ID]` tables, resolved here:
//! `council-llm` knows nothing of personas).

use crate::cli::Global;
use council_analysis::PriceTable;
use council_engine::Models;
use council_llm::config::{self, ConfigFile, ModelSpec, Overrides, Resolved};
use council_llm::{ChatModel, LlmError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The main backend and the per-persona model specs.
#[derive(Debug)]
pub(crate) struct Backends {
    /// The main backend (moderator, synthesis, every persona without its own).
    pub(crate) main: Resolved,
    /// Persona id → the model it speaks through instead.
    pub(crate) personas: BTreeMap<String, ModelSpec>,
    /// Prices per model: the built-in table and the config's `[prices."MODEL"]`.
    pub(crate) prices: PriceTable,
    /// The config's `[[endpoints]]`: models served by a pool of servers.
    pub(crate) endpoints: Vec<council_llm::pool::EndpointConfig>,
    /// `-q`: no note when the embedded default is taken.
    quiet: bool,
}

/// `--persona-model PERSONA=MODEL` pairs: persona id → model on the main server.
fn persona_model_flags(g: &Global) -> Result<Vec<(String, String)>, LlmError> {
    g.persona_model
        .iter()
        .map(|pm| {
            let (p, m) = pm.split_once('=').unwrap_or((pm.as_str(), ""));
            let (p, m) = (p.trim(), m.trim());
            if p.is_empty() || m.is_empty() {
                Err(LlmError::Config(format!(
                    "--persona-model {pm:?}: write PERSONA=MODEL, e.g. --persona-model cfo=gpt-4o"
                )))
            } else {
                Ok((p.to_string(), m.to_string()))
            }
        })
        .collect()
}

/// The command line's backend flags.
pub(crate) fn overrides(g: &Global) -> Overrides {
    Overrides {
        base_url: g.base_url.clone(),
        model: g.model.clone(),
        provider: g.provider,
        embedded: g.embedded,
        embedded_model: g.embedded_model.clone(),
        config: g.config.clone(),
        record: g.record.clone(),
        replay: g.replay.clone(),
    }
}

/// Reads flags, environment and the config file.
pub(crate) fn load(g: &Global, env: &dyn Fn(&str) -> Option<String>) -> Result<Backends, LlmError> {
    let mut over = overrides(g);
    let path = config::locate(&over, env);
    let mut table = match &path {
        Some(p) => config::read_table(p)?,
        None => toml::Table::new(),
    };
    let personas = match table.remove("personas") {
        None => BTreeMap::new(),
        Some(v) => v.try_into().map_err(|e| {
            LlmError::Config(format!(
                "config file {}: the [personas.ID] tables are invalid: {e}; each takes model = \"NAME\" and optionally base_url = \"http://…/v1\", provider = \"anthropic\" (or openai, azure, gemini, openrouter, ollama, vllm, llamacpp) and api_key_env = \"VAR\"",
                path.as_ref().map_or_else(String::new, |p| p.display().to_string())
            ))
        })?,
    };
    let prices = match table.remove("prices") {
        None => BTreeMap::new(),
        Some(v) => v.try_into().map_err(|e| {
            LlmError::Config(format!(
                "config file {}: the [prices.\"MODEL\"] tables are invalid: {e}; each takes input, output and optionally cached_input, in dollars per million tokens",
                path.as_ref().map_or_else(String::new, |p| p.display().to_string())
            ))
        })?,
    };
    let prices = PriceTable::new(prices).map_err(|e| {
        LlmError::Config(format!(
            "config file {}: {e}",
            path.as_ref()
                .map_or_else(String::new, |p| p.display().to_string())
        ))
    })?;
    let endpoints: Vec<council_llm::pool::EndpointConfig> = match table.remove("endpoints") {
        None => Vec::new(),
        Some(v) => v.try_into().map_err(|e| {
            LlmError::Config(format!(
                "config file {}: the [[endpoints]] entries are invalid: {e}; each takes base_url, model, and optionally provider, api_key_env, max_concurrency, weight",
                path.as_ref().map_or_else(String::new, |p| p.display().to_string())
            ))
        })?,
    };
    let file = ConfigFile::from_table(path.as_deref(), table)?;
    // With only endpoints configured, the main backend is their server.
    let no_server = over.base_url.is_none()
        && file.base_url.is_none()
        && env("COUNCIL_BASE_URL").is_none()
        && env("OPENAI_BASE_URL").is_none();
    let by_endpoints = match (no_server, g.embedded, endpoints.first()) {
        (true, false, Some(first)) => {
            over.base_url = Some(first.base_url.clone());
            if over.model.is_none() && file.model.is_none() && env("COUNCIL_MODEL").is_none() {
                over.model = Some(first.model.clone());
            }
            true
        }
        _ => false,
    };
    let mut personas = personas;
    for (persona, model) in persona_model_flags(g)? {
        personas.insert(
            persona,
            ModelSpec {
                model,
                ..Default::default()
            },
        );
    }
    let mut main = config::resolve(&over, env, &file)?;
    if by_endpoints && over.replay.is_none() {
        main.chosen_by = format!(
            "config file {} ([[endpoints]])",
            path.as_ref()
                .map_or_else(String::new, |p| p.display().to_string())
        );
    }
    Ok(Backends {
        main,
        personas,
        prices,
        endpoints,
        quiet: g.quiet,
    })
}

impl Backends {
    /// The main model's name (for the embedded backend, its file's name).
    pub(crate) fn default_model_name(&self) -> String {
        match &self.main.choice {
            config::Choice::OpenAi(s) => s.model.clone(),
            config::Choice::Anthropic(s) => s.model.clone(),
            config::Choice::Embedded { source, .. } => source.name(),
            config::Choice::Replay(p) => format!("replay:{}", p.display()),
        }
    }

    /// The main backend's kind, as usage records name it.
    pub(crate) fn backend_name(&self) -> String {
        match &self.main.choice {
            config::Choice::OpenAi(_) => "openai".into(),
            config::Choice::Anthropic(_) => "anthropic".into(),
            config::Choice::Embedded { .. } => "embedded".into(),
            config::Choice::Replay(_) => "replay".into(),
        }
    }

    /// The model called `name`: the main backend's when it is its model,
    /// else that model on the main server.
    pub(crate) async fn model_named(&self, name: &str) -> Result<Arc<dyn ChatModel>, LlmError> {
        if name == self.default_model_name() {
            return self.main_model().await;
        }
        if let Some(pool) = self.pool_for(name)? {
            return Ok(pool);
        }
        if let config::Choice::Embedded { .. } = self.main.choice {
            return Err(LlmError::Config(format!(
                "model {name:?}: the embedded backend serves one model ({}); a study over several models needs a server (--base-url) or [[endpoints]]",
                self.default_model_name()
            )));
        }
        let resolved = self.main.with_model(
            &ModelSpec {
                model: name.to_string(),
                ..Default::default()
            },
            &crate::env_lookup,
        )?;
        config::build(&resolved).await
    }

    /// The main model, built (and loaded, if embedded); a pool when
    /// `[[endpoints]]` serve it. When nothing was configured and the
    /// embedded default is taken, says so on stderr first (unless `-q`).
    pub(crate) async fn main_model(&self) -> Result<Arc<dyn ChatModel>, LlmError> {
        if let (Some(note), false) = (self.main.default_notice(), self.quiet) {
            eprintln!("{note}");
            let (found, ollama) = council_llm::doctor::ollama_note(
                &crate::env_lookup,
                std::time::Duration::from_millis(500),
            )
            .await;
            if found {
                eprintln!("{ollama}");
            }
        }
        match self.pool_for(&self.default_model_name())? {
            Some(pool) => Ok(pool),
            None => config::build(&self.main).await,
        }
    }

    /// The pool of `[[endpoints]]` serving `model`, if any serve it.
    fn pool_for(&self, model: &str) -> Result<Option<Arc<dyn ChatModel>>, LlmError> {
        if !self.endpoints.iter().any(|e| e.model == model) {
            return Ok(None);
        }
        let config::Choice::OpenAi(template) = &self.main.choice else {
            return Ok(None);
        };
        if self.main.record.is_some() {
            return Err(LlmError::Config(
                "--record records one server; it cannot be combined with [[endpoints]]".into(),
            ));
        }
        let pool = council_llm::pool::Pool::new(
            model,
            &self.endpoints,
            template,
            &crate::env_lookup,
            template.retry,
            std::time::Duration::from_secs(30),
        )?;
        Ok(Some(Arc::new(pool)))
    }

    /// Who speaks through which model, around an already built main model.
    pub(crate) async fn models(&self, main: Arc<dyn ChatModel>) -> Result<Models, LlmError> {
        let mut models = Models::new(main);
        for (id, spec) in &self.personas {
            if spec.base_url.is_none() {
                if let Some(pool) = self.pool_for(&spec.model)? {
                    models = models.with_override(id.clone(), pool);
                    continue;
                }
            }
            let resolved = self
                .main
                .with_model(spec, &crate::env_lookup)
                .map_err(|e| match e {
                    LlmError::Config(m) => LlmError::Config(format!("[personas.{id}]: {m}")),
                    other => other,
                })?;
            models = models.with_override(id.clone(), config::build(&resolved).await?);
        }
        Ok(models)
    }
}

/// Wraps `models` in the spending limits of `args`, counting what `spent`
/// (the run so far, if any) already cost; unchanged when no limit is set.
pub(crate) fn metered(
    models: council_engine::Models,
    args: &crate::cli::BudgetArgs,
    prices: &PriceTable,
    spent: Option<&council_core::Transcript>,
) -> anyhow::Result<(council_engine::Models, Option<Arc<council_engine::Budget>>)> {
    if args.budget_usd.is_none() && args.budget_tokens.is_none() {
        return Ok((models, None));
    }
    let cost = spent
        .map(|t| council_analysis::cost_of(t, prices))
        .unwrap_or_default();
    let cost = council_core::cost::RunCost {
        total: council_core::cost::CostLine {
            usd: cost.total.usd.or(spent.is_none().then_some(0.0)),
            ..cost.total
        },
        ..cost
    };
    let spent_usd = match (args.budget_usd, cost.total.usd) {
        (Some(_), None) => {
            return Err(crate::InputError(format!(
                "--budget-usd: the run so far used models without a price ({}); add [prices.\"MODEL\"] to the config or use --budget-tokens",
                cost.unpriced_models.join(", ")
            ))
            .into())
        }
        (_, usd) => usd.unwrap_or(0.0),
    };
    let u = cost.total.usage;
    let spent_tokens = u.prompt_tokens.unwrap_or(0) + u.completion_tokens.unwrap_or(0);
    let budget = Arc::new(council_engine::Budget::new(
        args.budget_usd,
        args.budget_tokens,
        spent_usd,
        spent_tokens,
    ));
    let models = models
        .metered(&budget, |info| {
            prices.price(&info.backend, &info.model).map(|(p, _)| p)
        })
        .map_err(crate::InputError)?;
    Ok((models, Some(budget)))
}

/// The price table of the config, or the built-in one when the config
/// cannot be read (a render must not fail for a broken backend setting).
pub(crate) fn prices_or_builtin(g: &Global) -> PriceTable {
    load(g, &crate::env_lookup).map_or_else(|_| PriceTable::default(), |b| b.prices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use council_llm::config::Choice;

    #[test]
    fn persona_tables_become_models_on_the_main_server() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "base_url = \"http://main/v1\"\nmodel = \"small\"\n[personas.cfo]\nmodel = \"big\"\n",
        )
        .unwrap();
        let g = Global {
            config: Some(p),
            ..Global::default()
        };
        let b = load(&g, &|_| None).unwrap();
        assert_eq!(b.personas["cfo"].model, "big");
        let Choice::OpenAi(s) = b
            .main
            .with_model(&b.personas["cfo"], &|_| None)
            .unwrap()
            .choice
        else {
            panic!("expected HTTP")
        };
        assert_eq!(
            (s.model.as_str(), s.base_url.as_str()),
            ("big", "http://main/v1")
        );
    }

    mod properties {
        //! Property tests of the whole config file as the CLI reads it
        //! (issue 12, item 4): the backend keys, `[personas.ID]`,
        //! `[prices."MODEL"]` and `[[endpoints]]` with any values.
        use super::*;
        use proptest::prelude::*;

        const VALID: &str = r#"
base_url = "http://127.0.0.1:11434/v1"
model = "qwen2.5:7b"
max_retries = 2
[personas.cfo]
model = "big"
[prices."qwen2.5:7b"]
input = 0.1
output = 0.2
[[endpoints]]
base_url = "http://127.0.0.1:8001/v1"
model = "qwen2.5:7b"
max_concurrency = 4
weight = 1.0
[embedded]
threads = 2
"#;

        /// Any TOML value, tables and lists two levels deep.
        fn any_toml() -> impl Strategy<Value = toml::Value> {
            let leaf = prop_oneof![
                "\\PC{0,20}".prop_map(toml::Value::from),
                prop::sample::select(vec!["big", "qwen2.5:7b", "http://127.0.0.1:1/v1", ""])
                    .prop_map(toml::Value::from),
                any::<i64>().prop_map(toml::Value::from),
                any::<f64>().prop_map(toml::Value::from),
                any::<bool>().prop_map(toml::Value::from),
            ];
            let keys = prop::sample::select(vec![
                "model",
                "base_url",
                "input",
                "output",
                "cached_input",
                "max_concurrency",
                "weight",
                "cfo",
                "qwen2.5:7b",
                "threads",
                "nonsense",
            ]);
            leaf.prop_recursive(2, 16, 4, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..3).prop_map(toml::Value::Array),
                    prop::collection::btree_map(keys.clone(), inner, 0..4).prop_map(|m| {
                        toml::Value::Table(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                    }),
                ]
            })
        }

        /// The valid config with a few of its top-level entries replaced
        /// or dropped.
        fn configs() -> impl Strategy<Value = String> {
            let valid: toml::Table = VALID.parse().expect("the valid config parses");
            let top = prop::sample::select(vec![
                "base_url",
                "model",
                "max_retries",
                "personas",
                "prices",
                "endpoints",
                "embedded",
                "timeout_secs",
                "modle",
            ]);
            prop::collection::vec((top, any_toml(), any::<bool>()), 1..4).prop_map(move |edits| {
                let mut t = valid.clone();
                for (k, v, drop) in edits {
                    if drop {
                        t.remove(k);
                    } else {
                        t.insert(k.to_string(), v);
                    }
                }
                toml::to_string(&t).unwrap_or_default()
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

            /// A config file of any bytes or shape: backends, or a
            /// configuration error (exit 4) naming the file or the fix.
            #[test]
            fn any_config_file_loads_or_names_the_file(text in prop_oneof![
                configs().prop_map(String::into_bytes),
                prop::collection::vec(any::<u8>(), 0..200),
            ]) {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let p = dir.path().join("c.toml");
                std::fs::write(&p, &text).expect("written");
                let g = Global { config: Some(p), ..Global::default() };
                if let Err(e) = load(&g, &|_| None) {
                    prop_assert!(matches!(e, LlmError::Config(_)), "{e:?}");
                    // A file's error names it; a setting missing from
                    // flags, environment and file alike says where to add it.
                    let m = e.to_string();
                    prop_assert!(m.contains("c.toml") || m.contains("the config file"), "{m}");
                }
            }
        }

        #[test]
        fn the_valid_config_loads() {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let p = dir.path().join("c.toml");
            std::fs::write(&p, VALID).expect("written");
            let g = Global {
                config: Some(p),
                ..Global::default()
            };
            assert!(load(&g, &|_| None).is_ok());
        }
    }

    #[test]
    fn a_misspelt_backend_key_is_still_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "base_urll = \"x\"\n[personas.cfo]\nmodel = \"big\"\n").unwrap();
        let g = Global {
            config: Some(p),
            ..Global::default()
        };
        let err = load(&g, &|_| None).unwrap_err().to_string();
        assert!(err.contains("c.toml") && err.contains("base_urll"), "{err}");
    }
}
