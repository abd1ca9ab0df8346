//! Council's domain types, free of IO, clocks, randomness and LLMs.
//!
//! For now this holds [`Usage`], the token accounting that every model call
//! reports and every transcript turn records. The debate types (personas,
//! turns, rounds, transcripts, reports) join it as the debate is built.

pub mod usage;

pub use usage::Usage;
