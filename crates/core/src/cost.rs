//! Money: a [`Price`] per million tokens, and a run's cost as the report
//! carries it ([`RunCost`]). The price table and the costing itself live in
//! `council-analysis`. A model without a price is "not priced", never free.

use crate::Usage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The date the built-in prices were taken from the providers' price pages.
pub const BUILTIN_PRICES_DATE: &str = "2025-08-15";

/// Prices in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Prompt tokens.
    pub input: f64,
    /// Prompt tokens served from the provider's cache (defaults to `input`).
    #[serde(default)]
    pub cached_input: Option<f64>,
    /// Generated tokens.
    pub output: f64,
}

impl Price {
    /// A price: input, cached input and output dollars per million tokens.
    pub const fn new(input: f64, cached_input: f64, output: f64) -> Price {
        Price {
            input,
            cached_input: Some(cached_input),
            output,
        }
    }

    /// The dollars `usage` costs, or `None` if its tokens were not reported.
    pub fn of(&self, usage: &Usage) -> Option<f64> {
        if usage.calls == 0 {
            return Some(0.0);
        }
        if usage.unreported_calls > 0 {
            return None;
        }
        let prompt = usage.prompt_tokens? as f64;
        let cached = (usage.cached_tokens.unwrap_or(0) as f64).min(prompt);
        let completion = usage.completion_tokens? as f64;
        Some(
            ((prompt - cached) * self.input
                + cached * self.cached_input.unwrap_or(self.input)
                + completion * self.output)
                / 1e6,
        )
    }

    /// Checks the numbers are finite and not negative.
    pub fn check(&self) -> Result<(), String> {
        let all = [Some(self.input), self.cached_input, Some(self.output)];
        if all.into_iter().flatten().all(|x| x.is_finite() && x >= 0.0) {
            Ok(())
        } else {
            Err("prices must be numbers of dollars per million tokens, 0 or more".into())
        }
    }
}

/// Where a price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PriceSource {
    /// The config file's `[prices."MODEL"]`.
    Config,
    /// The built-in table of [`BUILTIN_PRICES_DATE`].
    Builtin,
    /// A model running in-process (the embedded backend): no charge.
    Local,
}

/// Tokens and dollars of one group of calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CostLine {
    /// What the calls were (`round 2 · The Auditor`, `synthesis`…).
    pub label: String,
    /// Tokens spent.
    pub usage: Usage,
    /// Dollars, when every call in the line is priced and reported its usage.
    pub usd: Option<f64>,
    /// Calls whose model has no price or whose usage was not reported.
    pub unpriced_calls: u32,
}

/// A run's cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunCost {
    /// The whole run (copied turns and parts excluded: they were paid for in their run).
    pub total: CostLine,
    /// By persona (every round together).
    pub by_persona: Vec<CostLine>,
    /// By round (every persona together, the summary included).
    pub by_round: Vec<CostLine>,
    /// Each persona in each round.
    pub by_turn: Vec<CostLine>,
    /// The moderator's summaries.
    pub moderator: CostLine,
    /// The synthesis calls.
    pub synthesis: CostLine,
    /// Each follow-up.
    pub followups: Vec<CostLine>,
    /// Models that have no price (add `[prices."MODEL"]` to the config).
    pub unpriced_models: Vec<String>,
    /// The built-in table's date, when any price came from it.
    pub builtin_date: Option<String>,
}

/// Dollars as a reader wants them: cents above a dollar, four decimals below.
pub fn format_usd(x: f64) -> String {
    if x >= 1.0 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}
