//! Reading sources from disk: text extraction per format, limits, and a
//! clear [`Problem`] for every file that cannot be used.

use crate::{office, Document};
use council_core::Source;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Largest file ingested; bigger ones are skipped with advice.
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// How long one PDF's text extraction may run before the file is skipped:
/// a crafted PDF can keep the extractor busy for minutes.
pub const DEFAULT_PDF_TIME_LIMIT: Duration = Duration::from_secs(30);

/// Extractions past their time limit that may still be running (each
/// keeps a core busy until it ends, see [`pdf_text`]); while this many
/// are, further PDFs are skipped at once.
pub const MAX_PDF_STRAGGLERS: usize = 2;

/// Extractions past their time limit, still running, in this process.
static STRAGGLERS: AtomicUsize = AtomicUsize::new(0);

/// How files are turned into text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extractors {
    /// How long one PDF's extraction may run.
    pub(crate) pdf_time_limit: Duration,
    /// The PDF extractor (a slow one is injected by tests).
    pub(crate) pdf: fn(&[u8]) -> Result<String, String>,
}

impl Extractors {
    /// pdf-extract under `pdf_time_limit`.
    pub(crate) fn with_limit(pdf_time_limit: Duration) -> Extractors {
        Extractors {
            pdf_time_limit,
            pdf: |bytes| pdf_extract::extract_text_from_mem(bytes).map_err(|e| e.to_string()),
        }
    }
}

impl Default for Extractors {
    fn default() -> Extractors {
        Extractors::with_limit(DEFAULT_PDF_TIME_LIMIT)
    }
}

/// What a folder's files are read for; .doc and .ppt only to say they
/// need saving as .docx and .pptx.
const EXTENSIONS: [&str; 12] = [
    "md", "markdown", "txt", "html", "htm", "pdf", "docx", "pptx", "doc", "ppt", "toml", "json",
];

/// An input that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file or folder.
    pub path: PathBuf,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

fn problem(path: &Path, message: impl Into<String>) -> Problem {
    Problem {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

#[derive(Deserialize)]
struct Bibliography {
    source: Vec<BibEntry>,
}

#[derive(Deserialize)]
struct BibEntry {
    title: String,
    url: Option<String>,
    date: Option<String>,
    excerpt: String,
}

pub(crate) struct Raw {
    pub(crate) title: String,
    pub(crate) location: String,
    pub(crate) text: String,
}

fn collect(input: &Path, files: &mut Vec<PathBuf>, problems: &mut Vec<Problem>) {
    if input.is_dir() {
        let before = files.len();
        let mut stack = vec![input.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) => {
                    problems.push(problem(&dir, format!("cannot read this folder ({e})")));
                    continue;
                }
            };
            let mut paths: Vec<PathBuf> =
                entries.filter_map(Result::ok).map(|e| e.path()).collect();
            paths.sort();
            for p in paths {
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
                {
                    files.push(p);
                }
            }
        }
        if files.len() == before {
            problems.push(problem(
                input,
                "this folder holds no .md, .txt, .html, .pdf, .docx, .pptx or bibliography (.toml/.json) files",
            ));
        }
    } else if input.exists() {
        files.push(input.to_path_buf());
    } else {
        problems.push(problem(input, "no such file or folder"));
    }
}

fn looks_binary(bytes: &[u8]) -> bool {
    bytes.iter().take(8192).any(|b| *b == 0) || std::str::from_utf8(bytes).is_err()
}

fn read_one(path: &Path, with: &Extractors) -> Result<Vec<Raw>, Problem> {
    let meta =
        std::fs::metadata(path).map_err(|e| problem(path, format!("cannot read it ({e})")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(problem(
            path,
            format!(
                "it is {:.1} MB; the limit is {} MB per file: split it or pass an excerpt",
                meta.len() as f64 / 1_048_576.0,
                MAX_FILE_BYTES / 1_048_576
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| problem(path, format!("cannot read it ({e})")))?;
    extract(path, &bytes, with)
}

/// The sources in one file's `bytes`, by the extension of `path` (which
/// names it in the problem).
pub(crate) fn extract(path: &Path, bytes: &[u8], with: &Extractors) -> Result<Vec<Raw>, Problem> {
    let ext = path
        .extension()
        .and_then(|x| x.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("untitled")
        .to_string();
    let location = path.display().to_string();
    let text_of = |bytes: &[u8]| -> Result<String, Problem> {
        if looks_binary(bytes) {
            return Err(problem(
                path,
                "it looks binary, not text; convert it to .txt or .md",
            ));
        }
        Ok(String::from_utf8_lossy(bytes).into_owned())
    };
    let one = |title: String, text: String| {
        Ok(vec![Raw {
            title,
            location: location.clone(),
            text,
        }])
    };
    match ext.as_str() {
        "md" | "markdown" | "txt" => {
            let text = text_of(bytes)?;
            let title = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .map(|l| l.trim_start_matches('#').trim().to_string())
                .filter(|t| !t.is_empty() && t.chars().count() <= 120)
                .unwrap_or(stem);
            one(title, text)
        }
        "html" | "htm" => {
            let html = text_of(bytes)?;
            let title = html_title(&html).unwrap_or(stem);
            let text = html2text::from_read(html.as_bytes(), 100)
                .map_err(|e| problem(path, format!("cannot extract text from this HTML ({e})")))?;
            one(title, text)
        }
        "pdf" => {
            if !bytes[..bytes.len().min(1024)]
                .windows(5)
                .any(|w| w == b"%PDF-")
            {
                return Err(problem(
                    path,
                    "not a PDF (it does not start with %PDF-); export it as text, or give it the extension of what it is",
                ));
            }
            match pdf_text(bytes, with) {
                Ok(text) => one(stem, text),
                Err(PdfFailure::Unreadable(e)) => Err(problem(
                    path,
                    format!("not a readable PDF ({e}); export it as text"),
                )),
                Err(PdfFailure::TooSlow) => Err(problem(
                    path,
                    format!(
                        "its text took longer than {} to extract, so it was skipped (the PDF may be damaged); export it as text",
                        seconds(with.pdf_time_limit)
                    ),
                )),
                Err(PdfFailure::Busy) => Err(problem(
                    path,
                    format!(
                        "skipped: {MAX_PDF_STRAGGLERS} earlier PDFs are still being extracted past their time limit; export it as text, or leave out the PDFs that took too long"
                    ),
                )),
            }
        }
        "docx" | "pptx" => {
            let kind = if ext == "docx" {
                office::Kind::Word
            } else {
                office::Kind::PowerPoint
            };
            let doc = office::read(bytes, kind).map_err(|m| problem(path, m))?;
            one(doc.title.unwrap_or(stem), doc.text)
        }
        "doc" => Err(problem(path, office::legacy_message(office::Kind::Word))),
        "ppt" => Err(problem(
            path,
            office::legacy_message(office::Kind::PowerPoint),
        )),
        "toml" | "json" => {
            let text = text_of(bytes)?;
            let bib: Bibliography = if ext == "toml" {
                toml::from_str(&text).map_err(|e| problem(path, format!("not a bibliography ({}); write [[source]] entries with title, url, date, excerpt", e.message())))?
            } else {
                serde_json::from_str(&text).map_err(|e| problem(path, format!("not a bibliography ({e}); write {{\"source\": [{{\"title\", \"url\", \"date\", \"excerpt\"}}]}}")))?
            };
            Ok(bib
                .source
                .into_iter()
                .map(|b| Raw {
                    title: match &b.date {
                        Some(d) => format!("{} ({d})", b.title.trim()),
                        None => b.title.trim().to_string(),
                    },
                    location: b.url.unwrap_or_else(|| location.clone()),
                    text: b.excerpt,
                })
                .collect())
        }
        _ => Err(problem(
            path,
            "unsupported file type; use .md, .txt, .html, .pdf, .docx, .pptx, or a .toml/.json bibliography",
        )),
    }
}

/// The name of the threads that run the PDF extractor.
const PDF_THREAD: &str = "council-pdf-extract";

/// Why a PDF gave no text.
#[derive(Debug, PartialEq, Eq)]
enum PdfFailure {
    /// The extractor failed (or panicked) on it.
    Unreadable(String),
    /// It ran past the time limit.
    TooSlow,
    /// [`MAX_PDF_STRAGGLERS`] earlier extractions are still running.
    Busy,
}

/// A time limit in words: "30 s", "0.05 s".
fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s} s")
    }
}

/// An extraction's state, set once by whichever side is first: the
/// extractor finishing, or the caller giving up on it.
const RUNNING: u8 = 0;
const DONE: u8 = 1;
const ABANDONED: u8 = 2;

/// The text of a PDF, by `with.pdf` on a thread of its own, waited for at
/// most `with.pdf_time_limit`.
///
/// pdf-extract panics on some malformed files: the panic is caught on its
/// thread and, by a hook installed once, not printed, so a broken PDF is a
/// problem and nothing on stderr. It can also run for minutes on a crafted
/// file, and it cannot be told to stop. Past the limit the caller stops
/// waiting and the thread is left to finish on its own, still using a core
/// (and its memory) meanwhile. Running it in a child process instead would
/// let it be killed, but needs a binary to run it in (the library is a
/// library: `council` would need a hidden helper command, and tests a
/// helper binary) and a copy of the file's bytes to it per PDF, and forking
/// this multi-threaded process without exec is unsafe. A stopped thread's
/// cost is bounded instead: at most [`MAX_PDF_STRAGGLERS`] may run at
/// once, and further PDFs are skipped at once while they do; every run of
/// Council (a web job included) is its own process, which ends them.
fn pdf_text(bytes: &[u8], with: &Extractors) -> Result<String, PdfFailure> {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(PDF_THREAD) {
                previous(info);
            }
        }));
    });
    if STRAGGLERS.load(Ordering::SeqCst) >= MAX_PDF_STRAGGLERS {
        return Err(PdfFailure::Busy);
    }
    let state = Arc::new(AtomicU8::new(RUNNING));
    let (tx, rx) = mpsc::channel();
    let (owned, extract, theirs) = (bytes.to_vec(), with.pdf, Arc::clone(&state));
    std::thread::Builder::new()
        .name(PDF_THREAD.into())
        .spawn(move || {
            let text = std::panic::catch_unwind(|| extract(&owned))
                .unwrap_or_else(|_| Err("the extractor failed on it".into()));
            // The caller may have stopped waiting (the send then fails).
            let _ = tx.send(text);
            if theirs
                .compare_exchange(RUNNING, DONE, Ordering::SeqCst, Ordering::SeqCst)
                .is_err()
            {
                STRAGGLERS.fetch_sub(1, Ordering::SeqCst);
            }
        })
        .map_err(|e| PdfFailure::Unreadable(format!("cannot start the extractor: {e}")))?;
    match rx.recv_timeout(with.pdf_time_limit) {
        Ok(text) => text.map_err(PdfFailure::Unreadable),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err(PdfFailure::Unreadable("the extractor failed on it".into()))
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // Counted before it is marked, so the thread's uncount follows.
            STRAGGLERS.fetch_add(1, Ordering::SeqCst);
            match state.compare_exchange(RUNNING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => Err(PdfFailure::TooSlow),
                // It finished just now: its text is in the channel.
                Err(_) => {
                    STRAGGLERS.fetch_sub(1, Ordering::SeqCst);
                    rx.recv()
                        .unwrap_or_else(|_| Err("the extractor failed on it".into()))
                        .map_err(PdfFailure::Unreadable)
                }
            }
        }
    }
}

/// Collects the text of a document's first `<title>`, as the HTML
/// tokenizer reads it (entities such as `&mdash;` decoded).
#[derive(Default)]
struct TitleSink {
    inside: Cell<bool>,
    done: Cell<bool>,
    text: RefCell<String>,
}

impl TokenSink for TitleSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::TagToken(Tag {
                kind: TagKind::StartTag,
                name,
                ..
            }) => match &*name {
                "title" if !self.done.get() => {
                    self.inside.set(true);
                    return TokenSinkResult::RawData(RawKind::Rcdata);
                }
                // As a browser's tree builder would: no tags inside these.
                "script" => return TokenSinkResult::RawData(RawKind::ScriptData),
                "style" => return TokenSinkResult::RawData(RawKind::Rawtext),
                _ => {}
            },
            Token::TagToken(Tag {
                kind: TagKind::EndTag,
                name,
                ..
            }) if &*name == "title" && self.inside.get() => {
                self.inside.set(false);
                self.done.set(true);
            }
            Token::CharacterTokens(t) if self.inside.get() => self.text.borrow_mut().push_str(&t),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

/// The document's title, decoded, with its spacing collapsed; `None` when
/// it has no (or an empty) `<title>`.
pub(crate) fn html_title(html: &str) -> Option<String> {
    let tokenizer = Tokenizer::new(TitleSink::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    let title = tokenizer
        .sink
        .text
        .borrow()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Some(title).filter(|t| !t.is_empty())
}

/// Loads every input into numbered documents, with a problem per skipped input.
pub(crate) fn load(inputs: &[PathBuf], with: &Extractors) -> (Vec<Document>, Vec<Problem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for input in inputs {
        collect(input, &mut files, &mut problems);
    }
    let mut raws = Vec::new();
    for f in &files {
        match read_one(f, with) {
            Ok(r) => raws.extend(r.into_iter().filter_map(|r| {
                if r.text.trim().is_empty() {
                    problems.push(problem(f, "no text could be extracted"));
                    None
                } else {
                    Some(r)
                }
            })),
            Err(p) => problems.push(p),
        }
    }
    raws.sort_by(|a, b| a.location.cmp(&b.location).then(a.title.cmp(&b.title)));
    let mut docs: Vec<Document> = Vec::new();
    for r in raws {
        let id = hex::encode(Sha256::digest(r.text.as_bytes()))[..12].to_string();
        if docs.iter().any(|d| d.source.id == id) {
            continue;
        }
        let number = docs.len() as u32 + 1;
        docs.push(Document {
            source: Source {
                number,
                id,
                // One line wherever a title goes: a prompt's source list,
                // a report (a file name or bibliography entry may hold breaks).
                title: r.title.split_whitespace().collect::<Vec<_>>().join(" "),
                location: r.location,
            },
            text: r.text,
        });
    }
    (docs, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Instant;

    /// Set to let [`stuck`] finish.
    static RELEASE: AtomicBool = AtomicBool::new(false);

    /// An extractor that runs until [`RELEASE`] is set, as on a crafted PDF.
    fn stuck(_: &[u8]) -> Result<String, String> {
        while !RELEASE.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok("late".into())
    }

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\n";

    #[test]
    fn a_pdf_past_its_time_limit_is_skipped_and_the_library_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.pdf", "b.pdf", "c.pdf"] {
            std::fs::write(dir.path().join(name), PDF).unwrap();
        }
        std::fs::write(
            dir.path().join("note.md"),
            "# Pricing note\nPrices rise 15%.",
        )
        .unwrap();
        let with = Extractors {
            pdf_time_limit: Duration::from_millis(50),
            pdf: stuck,
        };
        let (docs, problems) = load(&[dir.path().to_path_buf()], &with);
        assert_eq!(docs.len(), 1, "{problems:?}");
        assert_eq!(docs[0].source.title, "Pricing note");
        let said = |name: &str| {
            problems
                .iter()
                .find(|p| p.path == dir.path().join(name))
                .unwrap_or_else(|| panic!("no problem for {name}: {problems:?}"))
                .message
                .clone()
        };
        for name in ["a.pdf", "b.pdf"] {
            assert_eq!(
                said(name),
                "its text took longer than 0.05 s to extract, so it was skipped (the PDF may be damaged); export it as text"
            );
        }
        // Two extractions still run: the next PDF is not started.
        assert_eq!(
            said("c.pdf"),
            "skipped: 2 earlier PDFs are still being extracted past their time limit; export it as text, or leave out the PDFs that took too long"
        );

        // Once they end, PDFs are extracted again.
        RELEASE.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(10);
        while STRAGGLERS.load(Ordering::SeqCst) > 0 {
            assert!(
                Instant::now() < deadline,
                "the stuck extractions never ended"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let quick = Extractors {
            pdf: |_| Ok("Quarterly revenue rose.".into()),
            ..with
        };
        let raws = extract(Path::new("d.pdf"), PDF, &quick).unwrap();
        assert_eq!(raws[0].text, "Quarterly revenue rose.");
    }

    #[test]
    fn an_extractor_that_panics_or_fails_makes_a_problem_not_a_crash() {
        let panics = Extractors {
            pdf_time_limit: DEFAULT_PDF_TIME_LIMIT,
            pdf: |_| panic!("broken font"),
        };
        let fails = Extractors {
            pdf: |_| Err("no pages".into()),
            ..panics
        };
        for (with, says) in [
            (
                panics,
                "not a readable PDF (the extractor failed on it); export it as text",
            ),
            (fails, "not a readable PDF (no pages); export it as text"),
        ] {
            let p = extract(Path::new("x.pdf"), PDF, &with).err().unwrap();
            assert_eq!(p.message, says);
        }
    }

    #[test]
    fn titles_are_decoded_as_a_browser_reads_them() {
        assert_eq!(
            html_title("<html><head><TITLE lang=en>QEMU disk image utility &mdash; QEMU\n  documentation</TITLE></head></html>").as_deref(),
            Some("QEMU disk image utility — QEMU documentation")
        );
        assert_eq!(
            html_title("<title>R&amp;D &lt;2026&gt; &#8212; plan</title>").as_deref(),
            Some("R&D <2026> — plan")
        );
        // A "<title>" inside a script is not the title.
        assert_eq!(
            html_title("<script>var t = '<title>fake</title>';</script><title>Real</title>")
                .as_deref(),
            Some("Real")
        );
        assert_eq!(html_title("<p>no title</p>"), None);
        assert_eq!(html_title("<title>  </title>"), None);
    }
}
