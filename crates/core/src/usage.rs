//! Token usage per model call, keeping "not reported" apart from zero.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign};

/// Tokens spent by one or more model calls.
///
/// A server that omits `usage` yields `None` counts, never zeros: a sum of
/// usages counts how many calls did not report, so totals are never silently
/// understated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Usage {
    /// Prompt tokens, if the backend reported them.
    pub prompt_tokens: Option<u64>,
    /// Generated tokens, if the backend reported them.
    pub completion_tokens: Option<u64>,
    /// Of the prompt tokens, how many the provider served from its prompt
    /// cache (billed at the cached-input price), if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// How many calls this usage covers.
    #[serde(default = "one")]
    pub calls: u32,
    /// How many of those calls reported no usage at all.
    #[serde(default)]
    pub unreported_calls: u32,
}

fn one() -> u32 {
    1
}

impl Usage {
    /// Usage of one call that reported both counts.
    pub fn reported(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Usage {
            prompt_tokens: Some(prompt_tokens),
            completion_tokens: Some(completion_tokens),
            cached_tokens: None,
            calls: 1,
            unreported_calls: 0,
        }
    }

    /// Usage of one call whose backend reported nothing.
    pub fn unreported() -> Self {
        Usage {
            prompt_tokens: None,
            completion_tokens: None,
            cached_tokens: None,
            calls: 1,
            unreported_calls: 1,
        }
    }

    /// Usage of zero calls: the identity for addition.
    pub fn none() -> Self {
        Usage::default()
    }

    /// The same usage with `cached` of its prompt tokens served from cache.
    pub fn with_cached(mut self, cached: Option<u64>) -> Self {
        self.cached_tokens = cached;
        self
    }

    /// Whether every call in this sum reported its usage.
    pub fn is_complete(&self) -> bool {
        self.unreported_calls == 0
    }
}

fn add_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.saturating_add(y)),
        (Some(x), None) | (None, Some(x)) => Some(x),
        (None, None) => None,
    }
}

impl Add for Usage {
    type Output = Usage;
    fn add(self, rhs: Usage) -> Usage {
        Usage {
            prompt_tokens: add_opt(self.prompt_tokens, rhs.prompt_tokens),
            completion_tokens: add_opt(self.completion_tokens, rhs.completion_tokens),
            cached_tokens: add_opt(self.cached_tokens, rhs.cached_tokens),
            // Saturating: an edited log may claim any count.
            calls: self.calls.saturating_add(rhs.calls),
            unreported_calls: self.unreported_calls.saturating_add(rhs.unreported_calls),
        }
    }
}

impl AddAssign for Usage {
    fn add_assign(&mut self, rhs: Usage) {
        *self = *self + rhs;
    }
}

impl std::iter::Sum for Usage {
    fn sum<I: Iterator<Item = Usage>>(iter: I) -> Usage {
        iter.fold(Usage::none(), Add::add)
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: Option<u64>| v.map_or_else(|| "not reported".to_string(), |n| n.to_string());
        write!(
            f,
            "prompt tokens: {}, completion tokens: {}",
            show(self.prompt_tokens),
            show(self.completion_tokens)
        )?;
        if self.unreported_calls > 0 && self.unreported_calls < self.calls {
            write!(
                f,
                " ({} of {} calls reported no usage; totals are lower bounds)",
                self.unreported_calls, self.calls
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreported_stays_distinct_from_zero() {
        let u = Usage::unreported();
        assert_eq!(u.prompt_tokens, None);
        assert!(!u.is_complete());
        assert!(u.to_string().contains("not reported"));
        let z = Usage::reported(0, 0);
        assert_eq!(z.prompt_tokens, Some(0));
        assert!(z.is_complete());
    }

    #[test]
    fn sums_count_calls_and_flag_partial_totals() {
        let total: Usage = [
            Usage::reported(10, 5),
            Usage::unreported(),
            Usage::reported(1, 2),
        ]
        .into_iter()
        .sum();
        assert_eq!(total.prompt_tokens, Some(11));
        assert_eq!(total.completion_tokens, Some(7));
        assert_eq!(total.calls, 3);
        assert_eq!(total.unreported_calls, 1);
        assert!(total.to_string().contains("1 of 3 calls"));
    }

    #[test]
    fn serialises_missing_counts_as_null() {
        let json = serde_json::to_value(Usage::unreported()).unwrap();
        assert!(json["prompt_tokens"].is_null());
    }
}
