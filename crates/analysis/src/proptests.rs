//! Property tests of the outcome readers: `outcomes.jsonl` and outcomes
//! CSV of any text, and valid files with a few values changed, give the
//! outcomes or an error naming the file, the line and the fix. Never a
//! panic.

use crate::outcomes::{check_date, parse_csv, parse_jsonl};
use council_core::outcome::Resolution;
use proptest::prelude::*;
use serde_json::json;

#[path = "../../../tests/support/json_mutations.rs"]
mod json_mutations;
use json_mutations::{any_json, mutated};

const FILE: &str = "study/outcomes.jsonl";
const CSV: &str = "given/outcomes.csv";

/// Text of any kind: any characters, lossy bytes, CSV-ish and JSON-ish
/// lines.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,300}",
        prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        prop::collection::vec("[A-Za-z0-9 ,\"\\-]{0,30}", 0..8).prop_map(|l| l.join("\n")),
        prop::collection::vec(any_json(), 0..6).prop_map(|l| l
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n")),
    ]
}

/// An `outcomes.jsonl` as `council outcome` writes it, with a few values
/// changed or removed on each line, blank lines among them.
fn jsonl_files() -> impl Strategy<Value = String> {
    let line = json!({"id": "F-0a0b0c", "outcome": "yes", "date": "2026-01-02", "recorded": "2026-01-03T10:00:00Z"});
    prop::collection::vec(
        prop_oneof![
            3 => mutated(line.clone()).prop_map(|v| v.to_string()),
            1 => Just(line.to_string()),
            1 => Just("  ".to_string()),
        ],
        0..8,
    )
    .prop_map(|l| l.join("\n"))
}

/// The line number an error names after `file line `.
fn line_named(message: &str, file: &str) -> Option<usize> {
    let rest = message.strip_prefix(&format!("{file} line "))?;
    rest[..rest.find(':')?].parse().ok()
}

/// One row of an outcomes CSV, each field valid or not.
#[derive(Debug, Clone)]
enum Row {
    Blank,
    Fields {
        id: String,
        outcome: &'static str,
        date: Option<&'static str>,
        extra: bool,
    },
}

impl Row {
    fn text(&self) -> String {
        match self {
            Row::Blank => String::new(),
            Row::Fields {
                id,
                outcome,
                date,
                extra,
            } => {
                let mut f = vec![id.clone(), (*outcome).to_string()];
                f.extend(date.map(String::from));
                if *extra {
                    f.push("x".into());
                }
                f.join(",")
            }
        }
    }

    /// The outcome this row stands for: `None` for a blank row, an error for
    /// a bad one.
    fn expected(&self) -> Option<Result<Resolution, ()>> {
        let Row::Fields {
            outcome,
            date,
            extra,
            ..
        } = self
        else {
            return None;
        };
        let date_ok = date.is_none_or(|d| d.trim().is_empty() || check_date(d, "").is_ok());
        let outcome = match outcome.trim().to_ascii_lowercase().as_str() {
            "yes" => Ok(Resolution::Yes),
            "no" => Ok(Resolution::No),
            _ => Err(()),
        };
        Some(if *extra || !date_ok { Err(()) } else { outcome })
    }
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    let row = prop_oneof![
        1 => Just(Row::Blank),
        6 => (
            "F-[0-9a-f]{0,6}",
            prop::sample::select(vec!["yes", "no", "YES", " No ", "maybe", "", "1"]),
            proptest::option::of(prop::sample::select(vec![
                "2026-01-02", " 2026-12-31 ", "", "2026-02-30", "soon", "2026-1-2x",
            ])),
            proptest::bool::weighted(0.1),
        )
            .prop_map(|(id, outcome, date, extra)| Row::Fields { id, outcome, date, extra }),
    ];
    prop::collection::vec(row, 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// `outcomes.jsonl` of any text, or a written one with values changed:
    /// one outcome per non-blank line, or an error naming the file, a
    /// non-blank line and the line's shape.
    #[test]
    fn an_outcomes_jsonl_of_any_text_is_read_or_names_file_and_line(
        text in prop_oneof![any_text(), jsonl_files()],
    ) {
        let lines: Vec<&str> = text.lines().collect();
        match parse_jsonl(&text, FILE) {
            Ok(v) => prop_assert_eq!(v.len(), lines.iter().filter(|l| !l.trim().is_empty()).count()),
            Err(m) => {
                let n = line_named(&m, FILE);
                prop_assert!(n.is_some_and(|n| (1..=lines.len()).contains(&n)), "{m}");
                prop_assert!(!lines[n.unwrap_or(1) - 1].trim().is_empty(), "{m}");
                prop_assert!(m.contains("fix or remove it") && m.contains("council schema outcomes"), "{m}");
            }
        }
    }

    /// An outcomes CSV of any text: outcomes, each with a real date or
    /// none, or an error naming the file and saying what a line holds.
    #[test]
    fn an_outcomes_csv_of_any_text_is_read_or_explained(
        text in any_text(),
        default in proptest::option::of(Just("2026-05-06")),
    ) {
        match parse_csv(&text, CSV, default) {
            Ok(v) => {
                prop_assert!(!v.is_empty());
                for o in v {
                    prop_assert!(o.date.as_deref().is_none_or(|d| check_date(d, "").is_ok()), "{o:?}");
                }
            }
            Err(m) => {
                prop_assert!(m.starts_with(CSV), "{m}");
                let said = [
                    "is neither yes nor no",
                    "expected id,outcome[,date]",
                    "use YYYY-MM-DD",
                    "give one id,outcome[,date] per line",
                    "write one id,outcome[,date] per line",
                ];
                prop_assert!(said.iter().any(|s| m.contains(s)), "{m}");
            }
        }
    }

    /// A CSV of rows each right or wrong in one field: every right row's
    /// outcome in order, or an error naming the line of the first wrong row.
    #[test]
    fn an_outcomes_csv_gives_every_row_or_names_the_first_bad_line(
        header in any::<bool>(),
        rows in rows(),
    ) {
        let text = header
            .then(|| "id,outcome,date".to_string())
            .into_iter()
            .chain(rows.iter().map(Row::text))
            .collect::<Vec<_>>()
            .join("\n");
        let first = usize::from(header) + 1;
        let bad = rows
            .iter()
            .enumerate()
            .find(|(_, r)| matches!(r.expected(), Some(Err(()))))
            .map(|(i, _)| i + first);
        let good: Vec<Resolution> = rows.iter().filter_map(|r| r.expected()?.ok()).collect();
        match (parse_csv(&text, CSV, None), bad) {
            (Err(m), Some(line)) => prop_assert_eq!(line_named(&m, CSV), Some(line), "{}", m),
            (Err(m), None) => {
                prop_assert!(good.is_empty(), "{m}");
                prop_assert!(m.contains("holds no outcomes"), "{m}");
            }
            (Ok(v), None) => prop_assert_eq!(v.iter().map(|o| o.outcome).collect::<Vec<_>>(), good),
            (Ok(v), Some(line)) => prop_assert!(false, "line {line} is wrong, yet read: {v:?}"),
        }
    }
}
