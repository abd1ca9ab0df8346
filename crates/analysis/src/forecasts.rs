//! A run's forecasts with each advisor's probability and the panel median,
//! for `compare` and `score`: exactly the forecasts the report shows, read
//! from their one home, [`council_core::forecasts`].

use council_core::forecasts::panel_forecasts_with;
pub use council_core::forecasts::{median, PanelForecast as RunForecast, PanelProbability};
use council_core::synthesis::Answers;
use council_core::Transcript;

/// The forecasts of `t` (whose answers are `a`) as its report shows them,
/// with the probabilities the panel gave them (0–1) and the panel median.
pub fn forecasts_in(t: &Transcript, a: &Answers) -> Vec<RunForecast> {
    panel_forecasts_with(t, a).kept
}
