//! A run's forecasts with each advisor's probability and the panel median,
//! read straight from the transcript's synthesis (the same ids and median
//! the report shows), for `compare` and `score`.

use council_core::synthesis::{Answers, SynthesisKind};
use council_core::Transcript;
use std::collections::HashMap;

/// One advisor's probability for one forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastProbability {
    /// Persona id.
    pub persona: String,
    /// The model that cast the vote holding it (empty if unknown).
    pub model: String,
    /// The probability, 0–1.
    pub probability: f64,
    /// Whether the vote was copied from another run (a variant's): it was
    /// given there.
    pub copied: bool,
}

/// One forecast of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunForecast {
    /// Stable id, `F-xxxxxx`.
    pub id: String,
    /// What will be true.
    pub statement: String,
    /// Each panel member's probability, in panel order (those who gave one).
    pub probabilities: Vec<ForecastProbability>,
    /// The panel median (the report's): the middle probability, or the
    /// mean of the two middle ones; `None` when nobody gave one.
    pub median: Option<f64>,
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

/// The forecasts of `t` (whose answers are `a`) with the probabilities the
/// panel gave them: ids as the report makes them
/// ([`Answers::distinct_forecasts`]), probabilities 0–100 read as 0–1.
pub fn forecasts_in(t: &Transcript, a: &Answers) -> Vec<RunForecast> {
    let parts: HashMap<&str, (&str, bool)> = t
        .synthesis
        .iter()
        .filter_map(|p| match &p.part {
            SynthesisKind::Vote(id) => {
                Some((id.as_str(), (p.model.as_str(), p.copied_from.is_some())))
            }
            _ => None,
        })
        .collect();
    a.distinct_forecasts(&t.date)
        .into_iter()
        .map(|(id, f)| {
            let probabilities: Vec<ForecastProbability> = t
                .panel
                .iter()
                .filter_map(|p| {
                    let prob = a
                        .votes
                        .get(&p.id)?
                        .probabilities
                        .iter()
                        .find(|x| x.id == id)?
                        .probability;
                    let (model, copied) = parts.get(p.id.as_str()).copied().unwrap_or(("", false));
                    Some(ForecastProbability {
                        persona: p.id.clone(),
                        model: model.to_string(),
                        probability: (f64::from(prob) / 100.0).clamp(0.0, 1.0),
                        copied,
                    })
                })
                .collect();
            let ps: Vec<f64> = probabilities.iter().map(|x| x.probability).collect();
            RunForecast {
                statement: f.statement.trim().to_string(),
                median: median(&ps),
                id,
                probabilities,
            }
        })
        .collect()
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
