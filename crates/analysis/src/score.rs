//! Scoring forecasts against their outcomes (`council score`): the Brier
//! score and log loss of each persona, each model, the panel median and a
//! 50% baseline, and a calibration table. Pure: the forecasts come from
//! [`crate::forecasts_in`], the outcomes from `outcomes.jsonl`
//! ([`council_core::outcome::latest`]).

use crate::forecasts::RunForecast;
use council_core::outcome::{Outcome, Resolution};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The version of `council score`'s JSON output (2: each open forecast
/// once, with every run that holds it).
pub const SCORE_VERSION: u32 = 2;

/// Log loss clips probabilities to `[CLIP_LOW, CLIP_HIGH]`, so a confident
/// miss costs ln 100 ≈ 4.6 rather than infinity.
pub const CLIP_LOW: f64 = 0.01;
/// The upper clip of log loss; see [`CLIP_LOW`].
pub const CLIP_HIGH: f64 = 0.99;

/// Calibration bins: ten of width 0.1.
pub const BINS: usize = 10;

/// A run's forecasts, as scored.
#[derive(Debug, Clone)]
pub struct ScoreInput {
    /// The run's label.
    pub run: String,
    /// Its forecasts ([`crate::forecasts_in`]).
    pub forecasts: Vec<RunForecast>,
}

/// Everything `council score` reports.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Scores {
    /// Output format version.
    pub version: u32,
    /// Forecasts (run × id) that have an outcome and were scored.
    pub resolved: usize,
    /// Forecasts (run × id, copies left out) with no outcome yet.
    pub unresolved: usize,
    /// Those forecasts, to record outcomes for (`council outcome`).
    pub open: Vec<OpenForecast>,
    /// Outcome ids that name no forecast of the runs scored.
    pub unmatched: Vec<String>,
    /// One line per persona id.
    pub personas: Vec<ScoreLine>,
    /// One line per model (of the vote that gave the probability).
    pub models: Vec<ScoreLine>,
    /// The panel median of each forecast.
    pub median: ScoreLine,
    /// A constant 50% for each forecast.
    pub baseline: ScoreLine,
    /// Calibration of every advisor probability pooled.
    pub calibration: Vec<CalibrationBin>,
    /// Calibration of the panel medians.
    pub median_calibration: Vec<CalibrationBin>,
    /// Each scored forecast.
    pub forecasts: Vec<ScoredForecast>,
}

/// A forecast with no outcome yet, named once however many runs hold it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct OpenForecast {
    /// The first run that gave it probabilities of its own.
    pub run: String,
    /// Every run that gave it probabilities of its own (a variant's copies
    /// are not listed: they were given in its source).
    pub runs: Vec<String>,
    /// Forecast id.
    pub id: String,
    /// The statement.
    pub statement: String,
    /// The panel median.
    pub median: Option<f64>,
}

/// The scores of one forecaster (a persona, a model, the median, the baseline).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScoreLine {
    /// Persona id, model name, `panel median` or `baseline 50%`.
    pub key: String,
    /// Probabilities scored.
    pub count: usize,
    /// Mean Brier score ([`brier`]); lower is better, 0.25 for always 50%.
    pub brier: Option<f64>,
    /// Mean log loss ([`log_loss`]); lower is better, ln 2 ≈ 0.693 for always 50%.
    pub log_loss: Option<f64>,
}

/// One bin of a calibration table.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CalibrationBin {
    /// Lowest probability in the bin.
    pub lower: f64,
    /// Highest (excluded, except 1.0 in the last bin).
    pub upper: f64,
    /// Probabilities in the bin.
    pub count: usize,
    /// Their mean.
    pub mean_predicted: Option<f64>,
    /// The share of them whose forecast came true.
    pub observed: Option<f64>,
}

/// One forecast with its outcome.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ScoredForecast {
    /// The run's label.
    pub run: String,
    /// Forecast id.
    pub id: String,
    /// The statement.
    pub statement: String,
    /// What happened.
    pub outcome: Resolution,
    /// The panel median.
    pub median: Option<f64>,
    /// Advisor probabilities scored (copied ones left out).
    pub probabilities: usize,
}

/// The mean Brier score of `(probability, outcome)` pairs: mean of
/// (p − o)², o being 1 for yes and 0 for no; `None` when empty.
pub fn brier(pairs: &[(f64, f64)]) -> Option<f64> {
    mean(pairs.iter().map(|(p, o)| (p - o) * (p - o)))
}

/// The mean log loss of `(probability, outcome)` pairs, natural log, each
/// p clipped to [0.01, 0.99] first: mean of −(o·ln p + (1 − o)·ln(1 − p));
/// `None` when empty.
pub fn log_loss(pairs: &[(f64, f64)]) -> Option<f64> {
    mean(pairs.iter().map(|(p, o)| {
        let p = p.clamp(CLIP_LOW, CLIP_HIGH);
        -(o * p.ln() + (1.0 - o) * (1.0 - p).ln())
    }))
}

/// The calibration bin of a probability: ⌊10·p⌋, with 1.0 in the last
/// bin (bin k holds [k/10, (k+1)/10)).
pub fn bin_of(p: f64) -> usize {
    // The epsilon keeps 0.3 (2.9999… × 10 in binary) in bin 3.
    ((p.clamp(0.0, 1.0) * BINS as f64 + 1e-9).floor() as usize).min(BINS - 1)
}

/// The calibration table of `(probability, outcome)` pairs: for each of
/// ten bins of width 0.1 ([`bin_of`]), how many probabilities fell in
/// it, their mean, and the share that came true.
pub fn calibration(pairs: &[(f64, f64)]) -> Vec<CalibrationBin> {
    let mut sums = [(0usize, 0.0f64, 0.0f64); BINS];
    for (p, o) in pairs {
        let b = &mut sums[bin_of(*p)];
        b.0 += 1;
        b.1 += p;
        b.2 += o;
    }
    sums.iter()
        .enumerate()
        .map(|(k, (n, ps, os))| CalibrationBin {
            lower: k as f64 / BINS as f64,
            upper: (k + 1) as f64 / BINS as f64,
            count: *n,
            mean_predicted: (*n > 0).then(|| ps / *n as f64),
            observed: (*n > 0).then(|| os / *n as f64),
        })
        .collect()
}

fn mean(xs: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f64)
}

fn line(key: &str, pairs: &[(f64, f64)]) -> ScoreLine {
    ScoreLine {
        key: key.to_string(),
        count: pairs.len(),
        brier: brier(pairs),
        log_loss: log_loss(pairs),
    }
}

/// Scores the forecasts of `runs` against `outcomes` (the outcome in force
/// per id). A probability from a vote copied from another run (a
/// variant's) is scored where it was given, not again; a forecast whose
/// every probability was copied is left out of the median and baseline
/// too. Personas and models are listed in the order first met.
pub fn score(runs: &[ScoreInput], outcomes: &BTreeMap<String, Outcome>) -> Scores {
    let mut personas: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let mut models: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    let push =
        |groups: &mut Vec<(String, Vec<(f64, f64)>)>, key: &str, pair: (f64, f64)| match groups
            .iter_mut()
            .find(|(k, _)| k == key)
        {
            Some((_, v)) => v.push(pair),
            None => groups.push((key.to_string(), vec![pair])),
        };
    let mut advisors: Vec<(f64, f64)> = Vec::new();
    let mut medians: Vec<(f64, f64)> = Vec::new();
    let mut forecasts = Vec::new();
    let mut open = Vec::new();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut unresolved = 0;
    for run in runs {
        for f in &run.forecasts {
            seen.insert(&f.id);
            let own: Vec<_> = f.probabilities.iter().filter(|p| !p.copied).collect();
            if own.is_empty() {
                // Every probability was given in another run (a variant's
                // copies): it is scored, or open, there.
                continue;
            }
            let Some(outcome) = outcomes.get(&f.id) else {
                unresolved += 1;
                match open.iter_mut().find(|o: &&mut OpenForecast| o.id == f.id) {
                    Some(o) => o.runs.push(run.run.clone()),
                    None => open.push(OpenForecast {
                        run: run.run.clone(),
                        runs: vec![run.run.clone()],
                        id: f.id.clone(),
                        statement: f.statement.clone(),
                        median: f.median,
                    }),
                }
                continue;
            };
            let o = outcome.outcome.as_f64();
            for p in &own {
                push(&mut personas, &p.persona, (p.probability, o));
                let model = if p.model.is_empty() {
                    "(unknown)"
                } else {
                    &p.model
                };
                push(&mut models, model, (p.probability, o));
                advisors.push((p.probability, o));
            }
            if let Some(m) = f.median {
                medians.push((m, o));
            }
            forecasts.push(ScoredForecast {
                run: run.run.clone(),
                id: f.id.clone(),
                statement: f.statement.clone(),
                outcome: outcome.outcome,
                median: f.median,
                probabilities: own.len(),
            });
        }
    }
    let baseline: Vec<(f64, f64)> = medians.iter().map(|(_, o)| (0.5, *o)).collect();
    let unmatched = outcomes
        .keys()
        .filter(|id| !seen.contains(id.as_str()))
        .cloned()
        .collect();
    Scores {
        version: SCORE_VERSION,
        resolved: forecasts.len(),
        unresolved,
        open,
        unmatched,
        personas: personas.iter().map(|(k, v)| line(k, v)).collect(),
        models: models.iter().map(|(k, v)| line(k, v)).collect(),
        median: line("panel median", &medians),
        baseline: line("baseline 50%", &baseline),
        calibration: calibration(&advisors),
        median_calibration: calibration(&medians),
        forecasts,
    }
}

/// The JSON Schema of `council score --format json`'s output.
pub fn score_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scores)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brier_and_log_loss_of_a_coin_flip() {
        let pairs = [(0.5, 1.0), (0.5, 0.0)];
        assert_eq!(brier(&pairs), Some(0.25));
        let ll = log_loss(&pairs).unwrap();
        assert!((ll - 2f64.ln()).abs() < 1e-12);
        assert_eq!(brier(&[]), None);
    }

    #[test]
    fn log_loss_clips_certainty() {
        // p = 1.0 on a "no" is clipped to 0.99: −ln(0.01) = ln 100.
        let ll = log_loss(&[(1.0, 0.0)]).unwrap();
        assert!((ll - 100f64.ln()).abs() < 1e-12, "{ll}");
    }

    #[test]
    fn bins_are_tenths_with_one_in_the_last() {
        assert_eq!(bin_of(0.0), 0);
        assert_eq!(bin_of(0.09), 0);
        assert_eq!(bin_of(0.1), 1);
        assert_eq!(bin_of(0.3), 3);
        assert_eq!(bin_of(0.595), 5);
        assert_eq!(bin_of(0.99), 9);
        assert_eq!(bin_of(1.0), 9);
    }
}
