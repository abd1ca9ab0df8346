//! Costing a run: the dated built-in price table, the config's overrides,
//! and a transcript's cost by persona and round, moderator, synthesis and
//! follow-up.

use council_core::cost::{CostLine, Price, PriceSource, RunCost, BUILTIN_PRICES_DATE};
use council_core::{Transcript, Usage};
use std::collections::BTreeMap;

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

/// Adds one group of calls (and its dollars, if priced) to a line.
fn add(l: &mut CostLine, usage: Usage, usd: Option<f64>) {
    l.usage += usage;
    match usd {
        Some(x) if l.unpriced_calls == 0 => *l.usd.get_or_insert(0.0) += x,
        Some(_) => {}
        None => {
            l.unpriced_calls += usage.calls.max(1);
            l.usd = None;
        }
    }
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
    let name = |id: &str| t.name_of(id).to_string();
    let mut personas: BTreeMap<String, CostLine> = BTreeMap::new();
    for r in &t.rounds {
        let mut round = line(&format!("round {}", r.number));
        for turn in &r.turns {
            if turn.copied_from.is_some() {
                continue;
            }
            let x = usd(&turn.backend, &turn.model, &turn.usage);
            let mut l = line(&format!("round {} · {}", r.number, name(&turn.persona)));
            add(&mut l, turn.usage, x);
            c.by_turn.push(l);
            add(
                personas
                    .entry(turn.persona.clone())
                    .or_insert_with(|| line(&name(&turn.persona))),
                turn.usage,
                x,
            );
            add(&mut round, turn.usage, x);
            add(&mut c.total, turn.usage, x);
        }
        if let Some(s) = r.summary_call.as_ref().filter(|s| s.copied_from.is_none()) {
            let x = usd(&s.backend, &s.model, &s.usage);
            add(&mut c.moderator, s.usage, x);
            add(&mut round, s.usage, x);
            add(&mut c.total, s.usage, x);
        }
        c.by_round.push(round);
    }
    for p in &t.synthesis {
        if p.copied_from.is_some() {
            continue;
        }
        let x = usd(&p.backend, &p.model, &p.usage);
        add(&mut c.synthesis, p.usage, x);
        add(&mut c.total, p.usage, x);
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
            add(&mut l, u, x);
            add(&mut c.total, u, x);
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

#[cfg(test)]
mod tests {
    use super::*;
    use council_core::cost::PriceSource;
    use council_core::{Event, PanelMember, RunHeader, Turn, TRANSCRIPT_VERSION};

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
            i18n: Default::default(),
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
            synthesis: true,
            started: None,
            condition: Default::default(),
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
