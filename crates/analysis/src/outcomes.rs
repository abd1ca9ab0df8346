//! Reading forecast outcomes from text: `outcomes.jsonl` (one
//! [`Outcome`] a line, as `council outcome` appends them) and the CSV a
//! researcher gives to `council outcome --file` (`id,outcome[,date]`).
//! Pure: the caller reads the file and names it; every error names that
//! file, the line and the fix.

use council_core::outcome::{Outcome, Resolution};

/// Reads `outcomes.jsonl` text: one outcome per non-blank line. A line that
/// is not an outcome is an error naming `file`, the line and its shape.
pub fn parse_jsonl(text: &str, file: &str) -> Result<Vec<Outcome>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<Outcome>(l).map_err(|e| {
                format!(
                    "{file} line {}: not an outcome ({e}); each line is {{\"id\": \"F-xxxxxx\", \"outcome\": \"yes\"|\"no\", \"date\": \"YYYY-MM-DD\"}} (see `council schema outcomes`): fix or remove it",
                    i + 1
                )
            })
        })
        .collect()
}

/// Reads outcomes CSV text: `id,outcome[,date]` per line (outcome `yes` or
/// `no` in any case), an optional header line starting `id`, blank lines
/// skipped. A line without a date takes `default_date`.
pub fn parse_csv(
    text: &str,
    file: &str,
    default_date: Option<&str>,
) -> Result<Vec<Outcome>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let rec = rec.map_err(|e| format!("{file}: {e}; write one id,outcome[,date] per line"))?;
        let line = rec.position().map_or(i + 1, |p| line_at(text, p.byte()));
        let id = rec.get(0).unwrap_or("");
        if i == 0 && id.eq_ignore_ascii_case("id") {
            continue;
        }
        if rec.iter().all(str::is_empty) {
            continue;
        }
        if rec.len() < 2 || rec.len() > 3 {
            return Err(format!(
                "{file} line {line}: expected id,outcome[,date], found {} fields",
                rec.len()
            ));
        }
        let date = match rec.get(2).filter(|d| !d.is_empty()) {
            Some(d) => Some(check_date(d, &format!("{file} line {line}"))?),
            None => default_date.map(String::from),
        };
        out.push(Outcome {
            id: id.to_string(),
            outcome: resolution(&rec[1], file, line)?,
            date,
            recorded: None,
        });
    }
    if out.is_empty() {
        return Err(format!(
            "{file} holds no outcomes: give one id,outcome[,date] per line"
        ));
    }
    Ok(out)
}

/// The line (from 1) of the record the csv crate places at `byte`. Its
/// position of a record after blank lines is that of the first blank line
/// (rust-csv issue 208, its line numbers likewise), so they are stepped over.
fn line_at(text: &str, byte: u64) -> usize {
    let bytes = text.as_bytes();
    let mut at = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
    while matches!(bytes.get(at), Some(b'\n' | b'\r')) {
        at += 1;
    }
    bytes[..at].iter().filter(|b| **b == b'\n').count() + 1
}

/// `date` trimmed, if it is a calendar date `YYYY-MM-DD`; else an error
/// naming `what` (a file and line, or a flag).
pub fn check_date(date: &str, what: &str) -> Result<String, String> {
    let d = date.trim();
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map(|_| d.to_string())
        .map_err(|_| format!("{what}: {date:?} is not a date; use YYYY-MM-DD"))
}

fn resolution(value: &str, file: &str, line: usize) -> Result<Resolution, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "yes" => Ok(Resolution::Yes),
        "no" => Ok(Resolution::No),
        _ => Err(format!(
            "{file} line {line}: outcome {value:?} is neither yes nor no"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jsonl_file_reads_line_by_line_and_a_bad_line_is_named() {
        let got = parse_jsonl(
            "{\"id\":\"F-000001\",\"outcome\":\"yes\",\"date\":\"2026-01-02\"}\n\n{\"id\":\"F-000002\",\"outcome\":\"no\"}\n",
            "o.jsonl",
        )
        .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].date.as_deref(), Some("2026-01-02"));
        assert_eq!(got[1].outcome, Resolution::No);
        assert_eq!(parse_jsonl("", "o.jsonl").unwrap(), Vec::new());
        let err = parse_jsonl(
            "{\"id\":\"F-000001\",\"outcome\":\"yes\"}\n{\"id\":\"F-000002\",\"outcome\":\"maybe\"}\n",
            "o.jsonl",
        )
        .unwrap_err();
        for s in ["o.jsonl line 2", "not an outcome", "fix or remove it"] {
            assert!(err.contains(s), "{err}");
        }
    }

    #[test]
    fn a_csv_file_reads_with_or_without_header_dates_and_case() {
        let got = parse_csv(
            "id,outcome,date\nF-000001, YES ,2026-01-02\n\nF-000002,no\n",
            "o.csv",
            Some("2026-03-04"),
        )
        .unwrap();
        assert_eq!(
            got.iter()
                .map(|o| (o.id.as_str(), o.outcome, o.date.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("F-000001", Resolution::Yes, Some("2026-01-02")),
                ("F-000002", Resolution::No, Some("2026-03-04")),
            ]
        );
        assert_eq!(parse_csv("F-1,no", "o.csv", None).unwrap()[0].date, None);
    }

    #[test]
    fn each_bad_csv_line_is_named_with_its_fix() {
        for (text, says) in [
            (
                "F-1,yes\nF-2,maybe\n",
                "o.csv line 2: outcome \"maybe\" is neither yes nor no",
            ),
            (
                "F-1\n",
                "o.csv line 1: expected id,outcome[,date], found 1 fields",
            ),
            ("F-1,yes,2026-01-02,x\n", "found 4 fields"),
            (
                "F-1,yes,2026-02-30\n",
                "o.csv line 1: \"2026-02-30\" is not a date; use YYYY-MM-DD",
            ),
            (
                "id,outcome\n\n",
                "o.csv holds no outcomes: give one id,outcome[,date] per line",
            ),
            ("", "holds no outcomes"),
            // Line numbers count blank lines, in either line ending.
            ("\nF-1,yes\n\n\nF-2,maybe\n", "o.csv line 5: outcome"),
            ("F-1,yes\r\n\r\nF-2,maybe\r\n", "o.csv line 3: outcome"),
            ("\"F-1\nx\",yes\nF-2\n", "o.csv line 3: expected"),
        ] {
            let err = parse_csv(text, "o.csv", None).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }
}
