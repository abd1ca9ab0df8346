//! Pure functions over transcripts and reports, no IO, no models.
//!
//! [`cost_of`] prices a run's usage with a [`PriceTable`]; [`diff`] sets two
//! reports side by side. For research, [`compare()`] computes every metric of
//! `council compare` over many transcripts (per persona, model, run and
//! question, and the long table) into a [`Comparison`];
//! [`forecasts_in`] reads a run's forecasts with each advisor's probability
//! and the panel median, and [`score()`] scores them against their outcomes
//! into [`Scores`] (Brier, log loss, calibration), their outcomes read
//! from text by [`outcomes`]. [`paired()`] compares study conditions
//! pairwise with seeded bootstrap intervals into a [`Paired`]. [`tables`] writes both
//! as CSV and text, [`html`] as self-contained HTML pages with SVG charts;
//! [`records`] lists every forecast probability, vote and turn as tables.

pub mod compare;
pub mod cost;
pub mod diff;
pub mod forecasts;
pub mod html;
pub mod outcomes;
pub mod paired;
pub mod records;
pub mod score;
pub mod tables;

pub use compare::{compare, compare_with, CompareOptions, Comparison, RunInput, StudyCell};
pub use cost::{cost_of, PriceTable};
pub use diff::diff;
pub use forecasts::{forecasts_in, RunForecast};
pub use paired::{paired, Paired, PairedOptions};
pub use score::{score, ScoreInput, Scores};

#[cfg(test)]
mod proptests;
