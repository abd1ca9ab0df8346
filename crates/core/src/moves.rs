//! The move a turn makes: the one place the set is defined.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a turn does in the debate.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Move {
    /// Points out a danger.
    Warn,
    /// Offers information or experience.
    Share,
    /// Recasts the question.
    Reframe,
    /// Tests a claim against sources or the transcript.
    Factcheck,
    /// Disputes a peer's claim.
    Challenge,
    /// Grants a peer's point.
    Concede,
}

impl Move {
    /// Every move, in canonical order.
    pub const ALL: [Move; 6] = [
        Move::Warn,
        Move::Share,
        Move::Reframe,
        Move::Factcheck,
        Move::Challenge,
        Move::Concede,
    ];

    /// The wire name, e.g. `FACTCHECK`.
    pub fn as_str(self) -> &'static str {
        match self {
            Move::Warn => "WARN",
            Move::Share => "SHARE",
            Move::Reframe => "REFRAME",
            Move::Factcheck => "FACTCHECK",
            Move::Challenge => "CHALLENGE",
            Move::Concede => "CONCEDE",
        }
    }

    /// The wire names of every move.
    pub fn names() -> Vec<&'static str> {
        Move::ALL.iter().map(|m| m.as_str()).collect()
    }
}

impl fmt::Display for Move {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMove(pub String);

impl fmt::Display for UnknownMove {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown move {:?}; use one of {}",
            self.0,
            Move::names().join(", ")
        )
    }
}

impl std::error::Error for UnknownMove {}

impl FromStr for Move {
    type Err = UnknownMove;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase();
        Move::ALL
            .into_iter()
            .find(|m| m.as_str() == up || (up == "FACT-CHECK" && *m == Move::Factcheck))
            .ok_or_else(|| UnknownMove(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_rejects_others() {
        assert_eq!("factcheck".parse::<Move>().unwrap(), Move::Factcheck);
        assert_eq!(" Concede ".parse::<Move>().unwrap(), Move::Concede);
        let err = "AGREE".parse::<Move>().unwrap_err().to_string();
        assert!(err.contains("AGREE") && err.contains("CHALLENGE"), "{err}");
    }

    #[test]
    fn serialises_as_uppercase() {
        assert_eq!(
            serde_json::to_string(&Move::Reframe).unwrap(),
            "\"REFRAME\""
        );
    }
}
