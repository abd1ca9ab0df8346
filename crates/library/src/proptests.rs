//! Property tests of source ingestion (issue 12, item 4): files of any
//! bytes under every extension, bibliographies of any shape, and the
//! summary of skipped files. Never a panic: a file that cannot be used is
//! a [`Problem`] naming it and saying what to do.

use crate::ingest::{extract, Extractors};
use crate::{summarize_problems, Problem};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

#[path = "../../../tests/support/json_mutations.rs"]
mod json_mutations;
use json_mutations::{any_json, mutated};

const EXTENSIONS: [&str; 12] = [
    "md", "txt", "html", "htm", "pdf", "toml", "json", "docx", "pptx", "doc", "ppt", "",
];

fn valid_bibliography() -> Value {
    json!({"source": [
        {"title": "Price elasticity in B2B SaaS", "url": "https://example.com/p", "date": "2025-03", "excerpt": "Customers tolerate rises below 10%."},
        {"title": "Churn after price changes", "excerpt": "Churn rose 2 points after a 15% rise."}
    ]})
}

/// Bytes a source file may hold: anything, text, HTML-ish, PDF-ish,
/// zip-ish, OLE-ish, and real Word and PowerPoint files cut short or with
/// a byte changed.
fn contents() -> impl Strategy<Value = Vec<u8>> {
    let office = || {
        prop_oneof![
            Just(crate::office::tests::memo_docx()),
            Just(crate::office::tests::deck_pptx("Notes."))
        ]
    };
    prop_oneof![
        (office(), any::<prop::sample::Index>()).prop_map(|(b, i)| b[..i.index(b.len())].to_vec()),
        (office(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut b, i, x)| {
            let at = i.index(b.len());
            b[at] = x;
            b
        }),
        prop::collection::vec(any::<u8>(), 0..512)
            .prop_map(|b| [b"PK\x03\x04".to_vec(), b].concat()),
        prop::collection::vec(any::<u8>(), 0..1024).prop_map(|b| [
            vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
            b
        ]
        .concat()),
        prop::collection::vec(any::<u8>(), 0..512),
        "\\PC{0,300}".prop_map(String::into_bytes),
        "<(html|title|script|style|p)>\\PC{0,80}(</title>)?".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..512)
            .prop_map(|b| [b"%PDF-1.4\n".to_vec(), b].concat()),
    ]
}

/// The checks every extraction must pass.
fn check(path: &Path, got: Result<Vec<crate::ingest::Raw>, Problem>) -> Result<(), TestCaseError> {
    match got {
        Ok(raws) => {
            for r in raws {
                prop_assert!(!r.location.is_empty());
                let _ = (r.title, r.text);
            }
        }
        Err(p) => {
            prop_assert_eq!(p.path.as_path(), path);
            prop_assert!(!p.message.is_empty());
            prop_assert!(p.to_string().contains(&path.display().to_string()));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// A file of any bytes under any extension: its sources, or a problem
    /// naming it (binary, not UTF-8, not a PDF, not a bibliography…).
    #[test]
    fn a_file_of_any_bytes_is_read_or_a_named_problem(
        ext in prop::sample::select(EXTENSIONS.to_vec()),
        bytes in contents(),
    ) {
        let path = PathBuf::from(format!("library/source.{ext}"));
        check(&path, extract(&path, &bytes, &Extractors::default()))?;
    }

    /// A bibliography of any shape, in JSON or TOML: its entries, or a
    /// problem naming the file and the shape it should have.
    #[test]
    fn a_bibliography_of_any_shape_is_read_or_explained(
        v in prop_oneof![any_json(), mutated(valid_bibliography())],
        as_toml in any::<bool>(),
    ) {
        let (path, text) = if as_toml {
            match toml::to_string(&v) {
                Ok(t) => (PathBuf::from("refs.toml"), t),
                Err(_) => (PathBuf::from("refs.toml"), v.to_string()),
            }
        } else {
            (PathBuf::from("refs.json"), v.to_string())
        };
        let got = extract(&path, text.as_bytes(), &Extractors::default());
        if let Err(p) = &got {
            if p.message.starts_with("not a bibliography") {
                prop_assert!(p.message.contains("source"), "{}", p.message);
            }
        }
        check(&path, got)?;
    }

    /// However many files are skipped, the summary stays short and counts
    /// every one of them.
    #[test]
    fn any_problems_summarise_to_a_few_lines_that_count_them_all(
        problems in prop::collection::vec(("[a-c]{1,2}", prop::sample::select(vec!["empty", "binary", "not a PDF"])), 0..300),
        limit in 1..8usize,
    ) {
        let problems: Vec<Problem> = problems
            .into_iter()
            .map(|(p, m)| Problem { path: PathBuf::from(p), message: m.to_string() })
            .collect();
        let lines = summarize_problems(&problems, limit);
        prop_assert!(lines.len() <= limit + 1);
        let counted: usize = lines
            .iter()
            .map(|l| match l.split_once(" files: ").or_else(|| l.strip_prefix("and ").and_then(|r| r.split_once(" more"))) {
                Some((n, _)) => n.parse::<usize>().unwrap_or(1),
                None => 1,
            })
            .sum();
        prop_assert_eq!(counted, problems.len(), "{:?}", lines);
    }
}
