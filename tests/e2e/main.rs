//! End-to-end tests: every backend against real or scripted peers.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod anthropic;
mod debate;
mod embedded;
mod export;
mod injection;
mod library;
mod openai_faults;
mod openai_real;
mod pool;
mod providers;
mod replay;
mod report;
mod soak;
mod strong;
