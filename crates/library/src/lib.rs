//! The research library: sources the panel can cite.
//!
//! [`Library::load`] ingests `.md`, `.txt`, `.html`, `.pdf`, Word `.docx`
//! and PowerPoint `.pptx` files and bibliography files (TOML or JSON lists
//! of title, url, date, excerpt) from folders and single files. Each source
//! gets a stable id (a hash of its text) and a citation number for the run.
//! Bad inputs (unreadable, binary, too large, broken PDF, a PDF whose text
//! takes longer than its time limit to extract, a damaged,
//! password-protected or Office 97–2003 Word or PowerPoint file, empty
//! folder) are reported as [`Problem`]s and skipped; the rest loads. A Word
//! document's headings and a presentation's slides start sections, and no
//! passage spans two. Passages are indexed with tantivy (BM25) in an
//! index cached by content hash, so a second run over the same library does
//! not index again. [`Library::search`] returns the best passages for a
//! query; [`Library::contains_passage`] checks a quote against a source.

mod ingest;
mod office;
mod search;

#[cfg(test)]
mod proptests;

pub use ingest::{Problem, DEFAULT_PDF_TIME_LIMIT, MAX_FILE_BYTES, MAX_PDF_STRAGGLERS};
pub use search::Passage;

use council_core::Source;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A library that cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    /// Nothing usable was found in any input.
    #[error("the research library is empty: {0}")]
    Empty(String),
    /// The index could not be built or opened.
    #[error("full-text index at {path}: {message}")]
    Index {
        /// The index folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Problems for a person to read: those with the same message as one
/// line naming the count and the first few files, at most `limit` lines
/// and then how many more (a folder of 10,000 empty files is one line).
pub fn summarize_problems(problems: &[Problem], limit: usize) -> Vec<String> {
    let mut groups: Vec<(&str, Vec<&Path>)> = Vec::new();
    for p in problems {
        match groups.iter_mut().find(|(m, _)| *m == p.message) {
            Some((_, paths)) => paths.push(&p.path),
            None => groups.push((&p.message, vec![&p.path])),
        }
    }
    let mut lines: Vec<String> = groups
        .iter()
        .take(limit)
        .map(|(message, paths)| match paths.as_slice() {
            [one] => format!("{}: {message}", one.display()),
            many => {
                let shown: Vec<String> = many
                    .iter()
                    .take(3)
                    .map(|p| p.display().to_string())
                    .collect();
                let more = if many.len() > 3 { ", …" } else { "" };
                format!(
                    "{} files: {message} ({}{more})",
                    many.len(),
                    shown.join(", ")
                )
            }
        })
        .collect();
    if groups.len() > limit {
        let rest: usize = groups[limit..].iter().map(|(_, p)| p.len()).sum();
        lines.push(format!("and {rest} more skipped"));
    }
    lines
}

/// One ingested source with its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Number, id, title, location.
    pub source: Source,
    /// The extracted text.
    pub text: String,
}

/// The loaded, indexed library.
pub struct Library {
    docs: Vec<Document>,
    index: search::Indexed,
    /// Whether the index came from the cache.
    pub index_was_cached: bool,
}

impl std::fmt::Debug for Library {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Library")
            .field("documents", &self.docs.len())
            .finish()
    }
}

/// How a library is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// How long one PDF's text extraction may run; past it the file is
    /// skipped as a [`Problem`] ([`DEFAULT_PDF_TIME_LIMIT`]: 30 s).
    pub pdf_time_limit: Duration,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            pdf_time_limit: DEFAULT_PDF_TIME_LIMIT,
        }
    }
}

impl Library {
    /// Loads every input (folders are searched recursively), skipping bad
    /// files with a [`Problem`] each, and opens or builds the index under
    /// `cache_dir`, with the default [`LoadOptions`].
    pub fn load(
        inputs: &[PathBuf],
        cache_dir: &Path,
    ) -> Result<(Library, Vec<Problem>), LibraryError> {
        Library::load_with(inputs, cache_dir, &LoadOptions::default())
    }

    /// [`Library::load`] with `options` (a PDF's time limit).
    pub fn load_with(
        inputs: &[PathBuf],
        cache_dir: &Path,
        options: &LoadOptions,
    ) -> Result<(Library, Vec<Problem>), LibraryError> {
        let extractors = ingest::Extractors::with_limit(options.pdf_time_limit);
        let (docs, problems) = ingest::load(inputs, &extractors);
        if docs.is_empty() {
            let why = summarize_problems(&problems, 5).join("; ");
            return Err(LibraryError::Empty(format!(
                "{}; give files with text (.md, .txt, .html, .pdf, .docx, .pptx) or a bibliography (.toml/.json), or leave out --library and --source",
                if why.is_empty() { "no inputs" } else { &why }
            )));
        }
        let (index, cached) = search::Indexed::open_or_build(&docs, cache_dir)?;
        Ok((
            Library {
                docs,
                index,
                index_was_cached: cached,
            },
            problems,
        ))
    }

    /// Every source, by citation number.
    pub fn documents(&self) -> &[Document] {
        &self.docs
    }

    /// The sources' metadata, by citation number.
    pub fn sources(&self) -> Vec<Source> {
        self.docs.iter().map(|d| d.source.clone()).collect()
    }

    /// The `k` best passages for a free-text query (BM25).
    pub fn search(&self, query: &str, k: usize) -> Vec<Passage> {
        self.index.search(query, k, &self.docs)
    }

    /// Whether source `number` contains `quote` word for word (ignoring case, punctuation and spacing).
    pub fn contains_passage(&self, number: u32, quote: &str) -> bool {
        let Some(doc) = self.docs.iter().find(|d| d.source.number == number) else {
            return false;
        };
        council_core::contains_quote(&doc.text, quote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::office::tests::{deck_pptx, memo_docx};

    #[test]
    fn word_and_powerpoint_files_load_search_and_cite_by_slide() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("research");
        std::fs::create_dir(&lib).unwrap();
        std::fs::write(lib.join("memo.docx"), memo_docx()).unwrap();
        let notes = (0..25)
            .map(|i| {
                format!("Point {i}: the margin gain holds when churn stays under five percent.")
            })
            .collect::<Vec<_>>()
            .join(" ");
        std::fs::write(lib.join("board deck.PPTX"), deck_pptx(&notes)).unwrap();
        std::fs::write(lib.join("old.doc"), b"\xD0\xCF\x11\xE0").unwrap();
        let cache = dir.path().join("cache");
        let (library, problems) = Library::load(std::slice::from_ref(&lib), &cache).unwrap();
        let titles: Vec<&str> = library
            .documents()
            .iter()
            .map(|d| d.source.title.as_str())
            .collect();
        // The deck's properties have no title: its file name stands in.
        assert_eq!(titles, ["board deck", "Pricing memo & risks"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, lib.join("old.doc"));
        assert!(problems[0]
            .message
            .starts_with("an old Word 97–2003 file (.doc)"));

        let deck = library.documents()[0].source.number;
        let found = library.search("margin gain churn point 24", 3);
        let hit = found
            .iter()
            .find(|p| p.number == deck)
            .expect("a deck passage");
        assert!(hit.text.starts_with("Slide 2: Options\n\n"), "{}", hit.text);
        assert!(hit.text.contains("Point 24"), "{}", hit.text);
        assert!(library.contains_passage(deck, "Point 24: the margin gain holds"));
        let memo = library.documents()[1].source.number;
        let found = library.search("SMB churn segment", 1);
        assert_eq!(found[0].number, memo);
        assert!(
            found[0].text.contains("SMB | 4% (was 3%)"),
            "{}",
            found[0].text
        );

        let (again, _) = Library::load(&[lib], &cache).unwrap();
        assert!(again.index_was_cached);
    }
}
