//! The debate engine: a panel argues a question in rounds through a
//! [`council_llm::ChatModel`], and every word lands on disk as it arrives.
//!
//! [`Debate`] holds what a run needs (question, panel, [`DebateSettings`],
//! the [`Models`] each persona speaks through, the [`Prompts`]); [`run`]
//! plays each round of [`rounds::ROUNDS`] in order (every persona of a
//! round concurrently, then the moderator's summary), then the synthesis,
//! one call per [`council_core::synthesis::SynthesisKind`], appending each
//! [`council_core::Event`] to a [`RunStore`]. A run reopened with
//! [`RunStore::open`] continues where it stopped: nothing already on disk
//! is asked for again. [`report::build_report`] turns a transcript and its
//! typed answers into a [`council_core::Report`] with no model call.
//! [`cast_panel`] picks the panel; [`Progress`] reports what is happening.

pub mod budget;
mod casting;
mod citations;
pub mod conditions;
mod debate;
pub mod derive;
mod error;
pub mod followup;
mod language;
mod moderator;
mod pipeline;
mod progress;
pub mod prompts;
pub mod report;
pub mod rounds;
pub mod schema;
mod shown;
mod single;
pub mod store;
pub mod study;
pub mod synthesis;
mod validate;

#[cfg(test)]
mod proptests;

pub use budget::Budget;
pub use casting::cast_panel;
pub use debate::{Debate, DebateSettings, Models};
pub use error::EngineError;
pub use pipeline::run;
pub use progress::{NoProgress, Progress, ProgressEvent};
pub use prompts::Prompts;
pub use store::{read_transcript, RunStore};
