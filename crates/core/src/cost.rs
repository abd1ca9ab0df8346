//! Turning token usage into money: a price table (built in, dated, and
//! overridable from the config's `[prices."MODEL"]`), and a run's cost by
//! persona and round, moderator, synthesis and follow-up. A model without a
//! price is "not priced", never free.

use crate::{Transcript, Usage};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    const fn new(input: f64, cached_input: f64, output: f64) -> Price {
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

/// List prices of common hosted models, per million tokens, as published on
/// [`BUILTIN_PRICES_DATE`]. A model name matches the longest entry it starts
/// with (`gpt-4o-2024-08-06` is priced as `gpt-4o`).
const BUILTIN: &[(&str, Price)] = &[
    ("gpt-5", Price::new(1.25, 0.125, 10.0)),
    ("gpt-5-mini", Price::new(0.25, 0.025, 2.0)),
    ("gpt-5-nano", Price::new(0.05, 0.005, 0.4)),
    ("gpt-4.1", Price::new(2.0, 0.5, 8.0)),
    ("gpt-4.1-mini", Price::new(0.4, 0.1, 1.6)),
    ("gpt-4.1-nano", Price::new(0.1, 0.025, 0.4)),
    ("gpt-4o", Price::new(2.5, 1.25, 10.0)),
    ("gpt-4o-mini", Price::new(0.15, 0.075, 0.6)),
    ("o3", Price::new(2.0, 0.5, 8.0)),
    ("o4-mini", Price::new(1.1, 0.275, 4.4)),
    ("claude-opus-4", Price::new(15.0, 1.5, 75.0)),
    ("claude-sonnet-4", Price::new(3.0, 0.3, 15.0)),
    ("claude-3-7-sonnet", Price::new(3.0, 0.3, 15.0)),
    ("claude-3-5-haiku", Price::new(0.8, 0.08, 4.0)),
    ("gemini-2.5-pro", Price::new(1.25, 0.31, 10.0)),
    ("gemini-2.5-flash", Price::new(0.3, 0.075, 2.5)),
];

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

/// The prices a run is costed with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    configured: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The built-in table, overridden by `configured` (model name → price).
    pub fn new(configured: BTreeMap<String, Price>) -> Result<PriceTable, String> {
        for (model, p) in &configured {
            p.check().map_err(|e| format!("[prices.{model:?}]: {e}"))?;
        }
        Ok(PriceTable { configured })
    }

    /// The price of `model` served by `backend`, and where it came from;
    /// `None` when nothing prices it.
    pub fn price(&self, backend: &str, model: &str) -> Option<(Price, PriceSource)> {
        if let Some(p) = self.configured.get(model) {
            return Some((*p, PriceSource::Config));
        }
        if backend == "embedded" {
            return Some((Price::new(0.0, 0.0, 0.0), PriceSource::Local));
        }
        // Hosted names may carry a provider prefix (`openai/gpt-4o`).
        let bare = model.rsplit('/').next().unwrap_or(model);
        BUILTIN
            .iter()
            .filter(|(name, _)| {
                bare == *name
                    || bare
                        .strip_prefix(name)
                        .is_some_and(|rest| rest.starts_with('-'))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, p)| (*p, PriceSource::Builtin))
    }
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

impl CostLine {
    fn add(&mut self, usage: Usage, usd: Option<f64>) {
        self.usage += usage;
        match usd {
            Some(x) if self.unpriced_calls == 0 => *self.usd.get_or_insert(0.0) += x,
            Some(_) => {}
            None => {
                self.unpriced_calls += usage.calls.max(1);
                self.usd = None;
            }
        }
    }
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

/// Costs every call of `t` with `prices`.
pub fn cost_of(t: &Transcript, prices: &PriceTable) -> RunCost {
    let mut c = RunCost {
        total: line("total"),
        moderator: line("moderator"),
        synthesis: line("synthesis"),
        ..RunCost::default()
    };
    let mut unpriced: std::collections::BTreeSet<String> = Default::default();
    let mut builtin = false;
    let mut usd = |backend: &str, model: &str, u: &Usage| -> Option<f64> {
        if u.calls == 0 {
            return Some(0.0);
        }
        match prices.price(backend, model) {
            Some((p, src)) => {
                builtin |= src == PriceSource::Builtin;
                p.of(u)
            }
            None => {
                unpriced.insert(if model.is_empty() {
                    format!("({backend})")
                } else {
                    model.to_string()
                });
                None
            }
        }
    };
    let name = |id: &str| crate::name_of(&t.panel, id).to_string();
    let mut personas: BTreeMap<String, CostLine> = BTreeMap::new();
    for r in &t.rounds {
        let mut round = line(&format!("round {}", r.number));
        for turn in &r.turns {
            if turn.copied_from.is_some() {
                continue;
            }
            let x = usd(&turn.backend, &turn.model, &turn.usage);
            let mut l = line(&format!("round {} · {}", r.number, name(&turn.persona)));
            l.add(turn.usage, x);
            c.by_turn.push(l);
            personas
                .entry(turn.persona.clone())
                .or_insert_with(|| line(&name(&turn.persona)))
                .add(turn.usage, x);
            round.add(turn.usage, x);
            c.total.add(turn.usage, x);
        }
        if let Some(s) = r.summary_call.as_ref().filter(|s| s.copied_from.is_none()) {
            let x = usd(&s.backend, &s.model, &s.usage);
            c.moderator.add(s.usage, x);
            round.add(s.usage, x);
            c.total.add(s.usage, x);
        }
        c.by_round.push(round);
    }
    for p in &t.synthesis {
        if p.copied_from.is_some() {
            continue;
        }
        let x = usd(&p.backend, &p.model, &p.usage);
        c.synthesis.add(p.usage, x);
        c.total.add(p.usage, x);
    }
    for f in &t.followups {
        let mut l = line(&format!("follow-up {}", f.number));
        // A variant's copies of the source's follow-ups were paid there.
        let calls = f
            .turns
            .iter()
            .filter(|x| x.copied_from.is_none())
            .map(|x| (x.backend.as_str(), x.model.as_str(), x.usage))
            .chain(
                f.summary_call
                    .iter()
                    .filter(|m| m.copied_from.is_none())
                    .map(|m| (m.backend.as_str(), m.model.as_str(), m.usage)),
            )
            .chain(
                f.synthesis
                    .iter()
                    .filter(|p| p.copied_from.is_none())
                    .map(|p| (p.backend.as_str(), p.model.as_str(), p.usage)),
            );
        for (backend, model, u) in calls {
            let x = usd(backend, model, &u);
            l.add(u, x);
            c.total.add(u, x);
        }
        c.followups.push(l);
    }
    c.by_persona = t
        .panel
        .iter()
        .filter_map(|p| personas.remove(&p.id))
        .collect();
    c.unpriced_models = unpriced.into_iter().collect();
    c.builtin_date = builtin.then(|| BUILTIN_PRICES_DATE.to_string());
    c
}

fn line(label: &str) -> CostLine {
    CostLine {
        label: label.to_string(),
        ..CostLine::default()
    }
}

/// Dollars as a reader wants them: cents above a dollar, four decimals below.
pub fn format_usd(x: f64) -> String {
    if x >= 1.0 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, PanelMember, RunHeader, Turn, TRANSCRIPT_VERSION};

    #[test]
    fn a_price_counts_cached_prompt_tokens_at_the_cached_rate() {
        let p = Price::new(2.0, 0.5, 8.0);
        let u = Usage::reported(1_000_000, 500_000).with_cached(Some(400_000));
        // 600k × $2 + 400k × $0.5 + 500k × $8, per million.
        assert!((p.of(&u).unwrap() - (1.2 + 0.2 + 4.0)).abs() < 1e-9);
        assert_eq!(p.of(&Usage::unreported()), None, "unreported is not free");
        assert!(Price::new(-1.0, 0.0, 1.0).check().is_err());
    }

    #[test]
    fn names_match_the_longest_builtin_entry_and_config_wins() {
        let t = PriceTable::default();
        let input = |m: &str| t.price("openai", m).map(|(p, _)| p.input);
        assert_eq!(input("gpt-4o-mini-2024-07-18"), Some(0.15));
        assert_eq!(input("gpt-4o-2024-08-06"), Some(2.5));
        assert_eq!(input("openai/gpt-4o"), Some(2.5));
        assert_eq!(input("gpt-4"), None, "gpt-4 is not gpt-4o");
        assert_eq!(input("my-local-llama"), None);
        let configured = PriceTable::new(BTreeMap::from([(
            "gpt-4o".to_string(),
            Price::new(1.0, 1.0, 1.0),
        )]))
        .unwrap();
        assert_eq!(
            configured.price("openai", "gpt-4o"),
            Some((Price::new(1.0, 1.0, 1.0), PriceSource::Config))
        );
        assert_eq!(
            t.price("embedded", "smollm").map(|x| x.1),
            Some(PriceSource::Local)
        );
        let bad = BTreeMap::from([("x".to_string(), Price::new(f64::NAN, 0.0, 0.0))]);
        assert!(PriceTable::new(bad).unwrap_err().contains("[prices.\"x\"]"));
    }

    fn turn(round: u32, persona: &str, model: &str, u: Usage) -> Event {
        let mut t = Turn::empty(round, persona);
        t.model = model.into();
        t.backend = "openai".into();
        t.usage = u;
        Event::Turn(Box::new(t))
    }

    #[test]
    fn a_run_is_costed_by_persona_and_round_and_unknown_models_are_not_priced() {
        let member = |id: &str| PanelMember {
            id: id.into(),
            name: id.to_uppercase(),
            role: String::new(),
        };
        let header = Event::Started(RunHeader {
            version: TRANSCRIPT_VERSION,
            question: "q".into(),
            date: "2026-11-27".into(),
            lang: "en".into(),
            seed: 1,
            rounds: 1,
            panel: vec![member("a"), member("b")],
            notes: vec![],
            sources: vec![],
            library: vec![],
            origin: None,
            variant: None,
        });
        let events = vec![
            header.clone(),
            turn(1, "a", "gpt-4o", Usage::reported(1_000_000, 0)),
            turn(1, "b", "gpt-4o", Usage::reported(0, 1_000_000)),
        ];
        let t = Transcript::from_events(&events).unwrap();
        let c = cost_of(&t, &PriceTable::default());
        assert_eq!(c.total.usd, Some(12.5));
        assert_eq!(c.by_persona[0].usd, Some(2.5));
        assert_eq!(c.by_persona[1].label, "B");
        assert_eq!(c.by_round[0].usd, Some(12.5));
        assert_eq!(c.builtin_date.as_deref(), Some(BUILTIN_PRICES_DATE));

        let mut events = events;
        events.push(turn(1, "b", "house-model", Usage::reported(10, 10)));
        let t = Transcript::from_events(&events).unwrap();
        let c = cost_of(&t, &PriceTable::default());
        assert_eq!(
            c.total.usd, None,
            "one unpriced call makes the total unknown"
        );
        assert_eq!(c.total.unpriced_calls, 1);
        assert_eq!(c.unpriced_models, vec!["house-model".to_string()]);
    }
}
