//! Checking a turn's citations against the research library: every
//! citation must resolve to a source, and a passage quoted in the turn must
//! appear in one of the sources it cites. Pure: the library is read, never
//! changed.

use council_core::Turn;
use council_library::Library;

/// Quoted spans of four words or more in a turn's text.
pub(crate) fn quotes_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (open, close) in [('"', '"'), ('“', '”')] {
        let mut rest = text;
        while let Some(i) = rest.find(open) {
            let after = &rest[i + open.len_utf8()..];
            let Some(j) = after.find(close) else { break };
            let q = after[..j].trim();
            if q.split_whitespace().count() >= 4 {
                out.push(q.to_string());
            }
            rest = &after[j + close.len_utf8()..];
        }
    }
    out
}

/// Flags every citation of `turn` that does not resolve, and every quoted
/// passage not found in a source the turn cites.
pub(crate) fn check_citations(turn: &mut Turn, library: Option<&Library>) {
    let mut valid = Vec::new();
    for c in &turn.citations {
        match (library, council_core::citation_number(c)) {
            (None, _) => turn
                .flags
                .push(format!("cites {c:?} but the run has no research library")),
            (Some(lib), Some(n)) if (1..=lib.documents().len() as u32).contains(&n) => {
                valid.push(n)
            }
            (Some(lib), _) => turn.flags.push(format!(
                "citation {c:?} does not resolve to a library source (1–{})",
                lib.documents().len()
            )),
        }
    }
    if let (Some(lib), false) = (library, valid.is_empty()) {
        for q in quotes_in(&turn.text) {
            if !valid.iter().any(|n| lib.contains_passage(*n, &q)) {
                let cited = valid
                    .iter()
                    .map(|n| format!("[{n}]"))
                    .collect::<Vec<_>>()
                    .join(", ");
                turn.flags.push(format!(
                    "quoted passage not found in the cited source {cited}: “{q}”"
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(text: &str, citations: &[&str]) -> Turn {
        let mut t = Turn::empty(1, "cfo");
        t.text = text.into();
        t.citations = citations.iter().map(|s| s.to_string()).collect();
        t
    }

    #[test]
    fn quoted_spans_are_found() {
        let q = quotes_in("As the survey says, \"61% would accept a 10% rise\" and “churn stays below three percent” — \"short\".");
        assert_eq!(
            q,
            vec![
                "61% would accept a 10% rise",
                "churn stays below three percent"
            ]
        );
    }

    #[test]
    fn citations_without_a_library_are_flagged() {
        let mut t = turn("x", &["[1]"]);
        check_citations(&mut t, None);
        assert!(
            t.flags.iter().any(|f| f.contains("no research library")),
            "{:?}",
            t.flags
        );
    }
}
