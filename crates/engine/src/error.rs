//! The engine's error type.

/// What stopped a debate.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A prompt template is missing, broken or failed to render.
    #[error("prompt template: {0}")]
    Prompt(String),
    /// The run folder or event log is unusable.
    #[error("{0}")]
    Store(String),
    /// Reading or writing a file failed.
    #[error("{context}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A run cannot be resumed as asked.
    #[error("cannot resume: {0}")]
    Resume(String),
    /// The spending limit stops the run before its next call; every answer
    /// so far is on disk.
    #[error("budget reached: {0}")]
    Budget(String),
    /// Casting the panel failed.
    #[error("casting the panel: {0}")]
    Casting(String),
    /// The model server cannot be reached: the run stops at once, every
    /// answer so far on disk, and nothing recorded for the calls it refused.
    #[error(transparent)]
    Unreachable(council_llm::LlmError),
}

impl EngineError {
    /// A model error that must stop the run rather than be recorded as a
    /// failed call: the budget's refusal, or a server that is not there.
    pub(crate) fn stops_run(e: &council_llm::LlmError) -> Option<EngineError> {
        match e {
            council_llm::LlmError::Budget(m) => Some(EngineError::Budget(m.clone())),
            council_llm::LlmError::Unreachable { url, cause } => Some(EngineError::Unreachable(
                council_llm::LlmError::Unreachable {
                    url: url.clone(),
                    cause: cause.clone(),
                },
            )),
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::Io {
            context: context.into(),
            source,
        }
    }
}
