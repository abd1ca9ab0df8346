//! Research-library sources as a run records them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A source the panel may cite, numbered for the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Source {
    /// Citation number, from 1.
    pub number: u32,
    /// Stable id: a hash of the source's text.
    pub id: String,
    /// Title.
    pub title: String,
    /// File path or URL.
    pub location: String,
}

/// The citation number a citation string names (`"[3]"`, `"3"`, `"source 3"`), if any.
pub fn citation_number(citation: &str) -> Option<u32> {
    let digits: String = citation
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citation_numbers_are_read_leniently() {
        assert_eq!(citation_number("[3]"), Some(3));
        assert_eq!(citation_number("source 12"), Some(12));
        assert_eq!(citation_number("the CFO"), None);
    }
}
