//! Progress reporting: the engine says what happens; the CLI draws it.

use council_core::Usage;
use std::time::Duration;

/// Something that happened in a run.
#[derive(Debug, Clone)]
pub enum ProgressEvent {
    /// A round starts; `pending` personas still have to speak in it.
    RoundStarted {
        /// Round number.
        round: u32,
        /// Its title.
        title: &'static str,
        /// Persona ids still to speak.
        pending: Vec<String>,
    },
    /// A persona started speaking.
    TurnStarted {
        /// Round number.
        round: u32,
        /// Persona id.
        persona: String,
    },
    /// A persona's answer is arriving (streaming backends only).
    TurnText {
        /// Round number.
        round: u32,
        /// Persona id.
        persona: String,
        /// Characters received so far (0: the attempt started again).
        chars: usize,
        /// The last words received, readable (JSON punctuation removed).
        latest: String,
    },
    /// A persona finished (or failed).
    TurnFinished {
        /// Round number.
        round: u32,
        /// Persona id.
        persona: String,
        /// Whether the turn failed.
        failed: bool,
        /// Tokens spent.
        usage: Usage,
        /// Time taken.
        elapsed: Duration,
    },
    /// The moderator is summarising.
    SummaryStarted {
        /// Round number.
        round: u32,
    },
    /// The round is complete.
    RoundFinished {
        /// Round number.
        round: u32,
    },
    /// A synthesis part finished (or failed) after the last round.
    SynthesisFinished {
        /// Which part.
        part: council_core::synthesis::SynthesisKind,
        /// Whether its call failed.
        failed: bool,
        /// Parts finished so far.
        done: usize,
        /// Parts in all.
        total: usize,
    },
}

/// Receives progress events; must not block.
pub trait Progress: Send + Sync {
    /// Handles one event.
    fn event(&self, event: ProgressEvent);
}

/// Ignores progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _: ProgressEvent) {}
}

/// The last `n` characters of a partial answer, readable: JSON punctuation
/// and escapes removed, whitespace collapsed.
pub(crate) fn readable_tail(text: &str, n: usize) -> String {
    let cleaned: String = text
        .replace("\\n", " ")
        .chars()
        .map(|c| match c {
            '{' | '}' | '[' | ']' | '"' | '\\' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let words = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    let count = words.chars().count();
    words.chars().skip(count.saturating_sub(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_json_answer_reads_as_its_last_words() {
        let partial = "{\"text\": \"We should raise prices\\nby 8% in Q1 2027 and wa";
        assert_eq!(readable_tail(partial, 23), "by 8% in Q1 2027 and wa");
        assert_eq!(readable_tail("", 10), "");
        assert_eq!(readable_tail("{\"a\"", 10), "a");
    }
}
