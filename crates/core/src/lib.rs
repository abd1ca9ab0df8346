//! Council's domain types, free of IO, clocks, randomness and LLMs.
//!
//! [`Persona`] describes an advisor; [`Move`] is the closed set of moves a
//! turn can make; [`Turn`], [`Round`] and [`Transcript`] record a debate,
//! which is written as a log of [`Event`]s and rebuilt with
//! [`Transcript::from_events`]. [`answers`] types what models answer (a
//! turn, each synthesis part) and derives the schemas they answer with;
//! [`synthesis::Answers`] reads a transcript's synthesis back into those
//! types, and a [`Report`] is what an executive reads. [`Usage`] is the
//! token accounting every model call reports.

pub mod answers;
pub mod cost;
pub mod diff;
pub mod errors;
pub mod forecasts;
pub mod hash;
pub mod lang;
pub mod moves;
pub mod outcome;
pub mod persona;
pub mod report;
pub mod source;
pub mod study;
pub mod synthesis;
pub mod text;
pub mod transcript;
pub mod usage;
pub mod variant;

#[cfg(test)]
mod proptests;

pub use errors::error_chain;
pub use lang::{detect_lang, lang_name};
pub use moves::Move;
pub use persona::{name_of, Localised, PanelMember, Persona, Seat, Trait};
pub use report::{report_schema, Report, REPORT_VERSION};
pub use source::{citation_number, Source};
pub use text::{contains_quote, escape_markup, excerpt, match_tokens, quote_matches};
pub use transcript::{
    check_log, event_schema, transcript_schema, CallMeta, Event, Followup, FollowupAsked, Round,
    RunHeader, RunStatus, Summary, Transcript, Turn, TurnStatus, MAX_ROUNDS,
    OLDEST_TRANSCRIPT_VERSION, TRANSCRIPT_VERSION,
};
pub use usage::Usage;
