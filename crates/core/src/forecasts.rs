//! A run's forecasts with the panel's probabilities: the one home of which
//! forecasts exist, each advisor's probability for each, and the panel
//! median. The report shows exactly [`ForecastTable::kept`]; `council
//! compare`, `score` and `outcome` read the same table, so a forecast the
//! report leaves out is neither compared, scored nor given an outcome.
//!
//! The rules, in order:
//! - a statement given twice is kept once (its id is the run date and the
//!   statement hashed: [`crate::synthesis::forecast_id`]);
//! - a statement without a single word (a weak model's brackets) is left
//!   out: nobody could call it true or false;
//! - when one vote gives the same forecast several probabilities, the first
//!   one counts (the order the model wrote them), and the repeat is listed
//!   in [`ForecastTable::several`] so the report and the research tables
//!   can say so.

use crate::synthesis::{Answers, SynthesisKind};
use crate::text::has_words;
use crate::Transcript;
use std::collections::HashMap;

/// One advisor's probability for one forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelProbability {
    /// Persona id.
    pub persona: String,
    /// The probability, 0–1 (the vote gives 0–100).
    pub probability: f64,
    /// The model that cast the vote (empty if unknown).
    pub model: String,
    /// Whether the vote was copied from another run (a variant's): it
    /// counts where it was given, not here.
    pub copied: bool,
}

/// A forecast the report shows, with the panel's probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelForecast {
    /// Stable id, `F-xxxxxx`.
    pub id: String,
    /// What will be true, as the forecasts call stated it.
    pub statement: String,
    /// Months from the run date to its horizon.
    pub horizon_months: u32,
    /// Each panel member's probability, in panel order (those who gave one).
    pub probabilities: Vec<PanelProbability>,
    /// The panel median ([`median`]); `None` when nobody gave one.
    pub median: Option<f64>,
    /// The lowest and highest probability given.
    pub range: Option<(f64, f64)>,
}

/// A forecast the report leaves out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LeftOut {
    /// Its id.
    pub id: String,
    /// Its statement as given.
    pub statement: String,
    /// Why it is left out, in words.
    pub why: String,
}

/// One vote that gave one forecast several probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct Several {
    /// Persona id.
    pub persona: String,
    /// The forecast's id.
    pub id: String,
    /// Every probability given, 0–100, in order; the first counts.
    pub given: Vec<u8>,
}

/// A run's forecasts as its report shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForecastTable {
    /// The forecasts shown, in the order stated.
    pub kept: Vec<PanelForecast>,
    /// The forecasts left out (no words).
    pub left_out: Vec<LeftOut>,
    /// Statements given again and kept once.
    pub repeated: usize,
    /// Votes that gave a kept forecast several probabilities.
    pub several: Vec<Several>,
}

impl ForecastTable {
    /// What the report flags about its forecasts; `name_of` names a persona.
    pub fn flags(&self, name_of: impl Fn(&str) -> String) -> Vec<String> {
        let mut out = Vec::new();
        if self.repeated > 0 {
            out.push(format!(
                "forecasts: {} repeated forecast(s) dropped",
                self.repeated
            ));
        }
        for f in &self.left_out {
            out.push(format!(
                "forecasts: {} {} (\"{}\"); left out",
                f.id,
                f.why,
                crate::excerpt(&f.statement, 40)
            ));
        }
        for s in &self.several {
            out.push(format!(
                "vote: {} gave {} {} probabilities ({}); the first counts",
                name_of(&s.persona),
                s.id,
                s.given.len(),
                s.given
                    .iter()
                    .map(|p| format!("{p}%"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out
    }
}

/// The median of `xs`: the middle value, or the mean of the two middle
/// values for an even count; `None` when empty.
pub fn median(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// The forecasts of `t`, its synthesis read with [`Answers::from_transcript`].
pub fn panel_forecasts(t: &Transcript) -> ForecastTable {
    panel_forecasts_with(t, &Answers::from_transcript(t))
}

/// Each advisor's vote part in `t`: the model that answered it and whether
/// it was copied from another run (a variant's), by persona id.
pub fn vote_parts(t: &Transcript) -> HashMap<&str, (&str, bool)> {
    t.synthesis
        .iter()
        .filter_map(|p| match &p.part {
            SynthesisKind::Vote(id) => {
                Some((id.as_str(), (p.model.as_str(), p.copied_from.is_some())))
            }
            _ => None,
        })
        .collect()
}

/// The forecasts of `t`, whose synthesis answers are `a`.
pub fn panel_forecasts_with(t: &Transcript, a: &Answers) -> ForecastTable {
    let stated = a
        .forecasts
        .iter()
        .filter(|f| !f.statement.trim().is_empty())
        .count();
    let distinct = a.distinct_forecasts(&t.date);
    let repeated = stated - distinct.len();
    let votes = vote_parts(t);
    let mut table = ForecastTable {
        repeated,
        ..ForecastTable::default()
    };
    for (id, f) in distinct {
        if !has_words(&f.statement) {
            table.left_out.push(LeftOut {
                id,
                statement: f.statement.trim().to_string(),
                why: "has no words".into(),
            });
            continue;
        }
        let mut probabilities = Vec::new();
        for p in &t.panel {
            let Some(vote) = a.votes.get(&p.id) else {
                continue;
            };
            let given: Vec<u8> = vote
                .probabilities
                .iter()
                .filter(|x| x.id == id)
                .map(|x| x.probability)
                .collect();
            let Some(first) = given.first() else { continue };
            if given.len() > 1 {
                table.several.push(Several {
                    persona: p.id.clone(),
                    id: id.clone(),
                    given: given.clone(),
                });
            }
            let (model, copied) = votes.get(p.id.as_str()).copied().unwrap_or(("", false));
            probabilities.push(PanelProbability {
                persona: p.id.clone(),
                probability: (f64::from(*first) / 100.0).clamp(0.0, 1.0),
                model: model.to_string(),
                copied,
            });
        }
        let mut ps: Vec<f64> = probabilities.iter().map(|x| x.probability).collect();
        ps.sort_by(f64::total_cmp);
        table.kept.push(PanelForecast {
            statement: f.statement.trim().to_string(),
            horizon_months: u32::from(f.horizon_months.clamp(1, 36)),
            median: median(&ps),
            range: ps.first().zip(ps.last()).map(|(a, b)| (*a, *b)),
            id,
            probabilities,
        });
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_two_middles() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[0.7, 0.1, 0.4]), Some(0.4));
        let even = median(&[0.9, 0.1, 0.4, 0.2]).unwrap();
        assert!((even - 0.3).abs() < 1e-12, "{even}");
    }
}
