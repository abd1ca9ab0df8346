//! Council's model layer: one trait, three backends, one retry loop.
//!
//! [`ChatModel`] is the only thing the rest of Council sees: chat messages in
//! ([`ChatRequest`]), text or a schema-validated JSON value out
//! ([`ChatResponse`]), with declared [`Capabilities`] and per-call
//! [`council_core::Usage`]. Backends:
//!
//! - [`openai::OpenAiCompatible`]: any OpenAI-compatible HTTP server (OpenAI,
//!   Ollama, vLLM, llama.cpp's server, OpenRouter…), with the one retry loop
//!   in [`retry`].
//! - [`anthropic::Anthropic`]: Anthropic's native Messages API, structured
//!   answers through a forced tool call, prompt caching of the stable prefix.
//! - `embedded::EmbeddedModel` (cargo feature `embedded`, on by default):
//!   llama.cpp in-process on a GGUF file, continuous batching across
//!   concurrent requests, prefix reuse, grammar-constrained JSON.
//! - [`replay::CassetteModel`]: record any backend's answers to a cassette,
//!   or replay them with zero model calls.
//!
//! Every backend's calls go through one answer loop (`answer.rs`: repairs,
//! cut-off answers asked with more room, a shared retry budget, what a
//! failed call spent), and every HTTP backend stops asking a server that
//! refuses its connections ([`circuit`]).
//!
//! [`config`] turns flags, environment and the config file into a backend;
//! [`fetch`] finds model files, [`catalog`] lists the local models Council
//! can download, and [`download`] fetches and verifies them; [`doctor`] checks a
//! configured endpoint step by step (`council doctor`).

mod answer;
pub mod anthropic;
pub mod catalog;
pub mod circuit;
pub mod config;
pub mod doctor;
pub mod download;
#[cfg(feature = "embedded")]
pub mod embedded;
mod error;
pub mod fetch;
mod http;
mod model;
pub mod openai;
pub mod pool;
pub mod provider;
pub mod replay;
pub mod retry;
pub mod schema;
mod types;

#[cfg(test)]
mod proptests;

pub use error::{never_show, LlmError, Spent};
pub use model::{ChatModel, TextSink};
pub use types::{
    Capabilities, ChatRequest, ChatResponse, FinishReason, Message, ModelInfo, Role, SchemaSpec,
};
