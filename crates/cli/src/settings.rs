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
        embedded: g.embedded,
        config: g.config.clone(),
        record: g.record.clone(),
        replay: g.replay.clone(),
    }
}

/// Reads flags, environment and the config file.
pub(crate) fn load(g: &Global, env: &dyn Fn(&str) -> Option<String>) -> Result<Backends, LlmError> {
    let over = overrides(g);
    let path = config::locate(&over, env);
    let mut table = match &path {
        Some(p) => config::read_table(p)?,
        None => toml::Table::new(),
    };
    let personas = match table.remove("personas") {
        None => BTreeMap::new(),
        Some(v) => v.try_into().map_err(|e| {
            LlmError::Config(format!(
                "config file {}: the [personas.ID] tables are invalid: {e}; each takes model = \"NAME\" and optionally base_url = \"http://…/v1\"",
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
    let file = ConfigFile::from_table(path.as_deref(), table)?;
    let mut personas = personas;
    for (persona, model) in persona_model_flags(g)? {
        personas.insert(
            persona,
            ModelSpec {
                model,
                base_url: None,
            },
        );
    }
    Ok(Backends {
        main: config::resolve(&over, env, &file)?,
        personas,
        prices,
    })
}

impl Backends {
    /// The main model, built (and loaded, if embedded).
    pub(crate) async fn main_model(&self) -> Result<Arc<dyn ChatModel>, LlmError> {
        config::build(&self.main).await
    }

    /// Who speaks through which model, around an already built main model.
    pub(crate) async fn models(&self, main: Arc<dyn ChatModel>) -> Result<Models, LlmError> {
        let mut models = Models::new(main);
        for (id, spec) in &self.personas {
            let resolved = self.main.with_model(spec).map_err(|e| match e {
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
        let Choice::OpenAi(s) = b.main.with_model(&b.personas["cfo"]).unwrap().choice else {
            panic!("expected HTTP")
        };
        assert_eq!(
            (s.model.as_str(), s.base_url.as_str()),
            ("big", "http://main/v1")
        );
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
