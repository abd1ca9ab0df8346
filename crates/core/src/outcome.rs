//! Forecast outcomes: one line of the append-only `outcomes.jsonl` that
//! `council outcome` writes beside the runs and `council score` reads. A
//! wire format, documented by the JSON Schema [`outcome_schema`] returns.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether a forecast came true by its horizon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    /// It came true.
    Yes,
    /// It did not.
    No,
}

impl Resolution {
    /// 1.0 for yes, 0.0 for no: the outcome a probability is scored against.
    pub fn as_f64(self) -> f64 {
        match self {
            Resolution::Yes => 1.0,
            Resolution::No => 0.0,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Yes => "yes",
            Resolution::No => "no",
        }
    }
}

/// One line of `outcomes.jsonl`: what became of one forecast. The file is
/// append-only; a later line for the same id supersedes an earlier one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Outcome {
    /// The forecast's id, `F-xxxxxx`, as the report shows it.
    pub id: String,
    /// Whether it came true.
    pub outcome: Resolution,
    /// When it was settled, `YYYY-MM-DD`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// When this line was written (RFC 3339, UTC), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<String>,
}

/// The outcome in force for each id: the last line for an id wins.
pub fn latest(lines: &[Outcome]) -> BTreeMap<String, Outcome> {
    let mut out = BTreeMap::new();
    for o in lines {
        out.insert(o.id.clone(), o.clone());
    }
    out
}

/// The JSON Schema of one `outcomes.jsonl` line.
pub fn outcome_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Outcome)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, o: Resolution) -> Outcome {
        Outcome {
            id: id.into(),
            outcome: o,
            date: None,
            recorded: None,
        }
    }

    #[test]
    fn a_later_line_for_the_same_id_supersedes_an_earlier_one() {
        let got = latest(&[
            line("F-000001", Resolution::Yes),
            line("F-000002", Resolution::No),
            line("F-000001", Resolution::No),
        ]);
        assert_eq!(got.len(), 2);
        assert_eq!(got["F-000001"].outcome, Resolution::No);
        assert_eq!(got["F-000002"].outcome, Resolution::No);
    }

    #[test]
    fn lines_read_and_write_in_lowercase_with_optional_dates() {
        let o: Outcome = serde_json::from_str(r#"{"id":"F-0a0b0c","outcome":"yes"}"#).unwrap();
        assert_eq!(o.outcome, Resolution::Yes);
        assert_eq!(o.date, None);
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"id":"F-0a0b0c","outcome":"yes"}"#
        );
    }
}
