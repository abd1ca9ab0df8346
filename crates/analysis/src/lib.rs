//! Pure functions over transcripts and reports: what a run cost, and how
//! two runs differ. No IO, no models.

pub mod cost;
pub mod diff;

pub use cost::{cost_of, PriceTable};
pub use diff::diff;
