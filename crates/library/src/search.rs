//! The BM25 index over passages, cached on disk by content hash.

use crate::{Document, LibraryError};
use sha2::{Digest, Sha256};
use std::path::Path;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{Field, Schema, Value, INDEXED, STORED, TEXT};
use tantivy::{doc, Index, IndexReader, TantivyDocument};

/// Passage length target, in characters.
pub(crate) const PASSAGE_CHARS: usize = 800;
/// Bumped whenever passage splitting or the schema changes (v2: sections
/// of Word and PowerPoint files are never merged, and keep their heading).
const INDEX_FORMAT: &str = "council-passages-v2";

/// A passage found by search.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// Citation number of its source.
    pub number: u32,
    /// The source's title.
    pub title: String,
    /// The passage text.
    pub text: String,
    /// BM25 score.
    pub score: f32,
}

pub(crate) struct Indexed {
    reader: IndexReader,
    parser: QueryParser,
    number: Field,
    text: Field,
}

/// A document's passages: its sections' (see [`crate::office::SECTION`])
/// cut apart, never merged across a section's start; a section's passages
/// after its first begin with its heading again, so a passage from the
/// middle of slide 7 still says it is slide 7.
fn passages(text: &str) -> Vec<String> {
    let mut sections = text.split(crate::office::SECTION);
    let mut out = paragraphs(sections.next().unwrap_or(""));
    for section in sections {
        let heading = section.split("\n\n").next().unwrap_or("").trim();
        for (i, p) in paragraphs(section).into_iter().enumerate() {
            if i > 0 && !heading.is_empty() && !p.starts_with(heading) {
                out.push(format!("{heading}\n\n{p}"));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Paragraphs joined into passages of about [`PASSAGE_CHARS`].
fn paragraphs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if !cur.is_empty() && cur.len() + para.len() > PASSAGE_CHARS {
            out.push(std::mem::take(&mut cur));
        }
        if para.len() > PASSAGE_CHARS * 2 {
            // A huge paragraph: cut it at sentence ends near the target.
            let mut rest = para;
            while rest.len() > PASSAGE_CHARS {
                let mut cut = PASSAGE_CHARS;
                while !rest.is_char_boundary(cut) {
                    cut -= 1;
                }
                let at = rest[..cut].rfind(". ").map_or(cut, |i| i + 1);
                out.push(rest[..at].trim().to_string());
                rest = rest[at..].trim_start();
            }
            cur.push_str(rest);
            continue;
        }
        if !cur.is_empty() {
            cur.push_str("\n\n");
        }
        cur.push_str(para);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

impl Indexed {
    pub(crate) fn open_or_build(
        docs: &[Document],
        cache_dir: &Path,
    ) -> Result<(Indexed, bool), LibraryError> {
        let mut h = Sha256::new();
        h.update(INDEX_FORMAT);
        for d in docs {
            h.update(d.source.number.to_le_bytes());
            h.update(&d.source.id);
        }
        let key = hex::encode(h.finalize())[..20].to_string();
        let dir = cache_dir.join("index").join(&key);
        let err = |m: String| LibraryError::Index {
            path: dir.clone(),
            message: m,
        };
        let mut schema = Schema::builder();
        let number = schema.add_u64_field("number", INDEXED | STORED);
        let text = schema.add_text_field("text", TEXT | STORED);
        let schema = schema.build();
        let cached = dir.join("meta.json").is_file();
        let index = if cached {
            Index::open_in_dir(&dir).map_err(|e| err(e.to_string()))?
        } else {
            let tmp = cache_dir
                .join("index")
                .join(format!(".{key}.{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            std::fs::create_dir_all(&tmp)
                .map_err(|e| err(format!("cannot create {}: {e}", tmp.display())))?;
            let index =
                Index::create_in_dir(&tmp, schema.clone()).map_err(|e| err(e.to_string()))?;
            let mut writer = index
                .writer_with_num_threads(1, 50_000_000)
                .map_err(|e| err(e.to_string()))?;
            for d in docs {
                for p in passages(&d.text) {
                    writer
                        .add_document(doc!(number => u64::from(d.source.number), text => p))
                        .map_err(|e| err(e.to_string()))?;
                }
            }
            writer.commit().map_err(|e| err(e.to_string()))?;
            drop(index);
            // Publish atomically; a concurrent run may have won the race.
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
            Index::open_in_dir(&dir).map_err(|e| err(e.to_string()))?
        };
        let reader = index.reader().map_err(|e| err(e.to_string()))?;
        let parser = QueryParser::for_index(&index, vec![text]);
        Ok((
            Indexed {
                reader,
                parser,
                number,
                text,
            },
            cached,
        ))
    }

    pub(crate) fn search(&self, query: &str, k: usize, docs: &[Document]) -> Vec<Passage> {
        // Free text, not query syntax: keep words only.
        let cleaned: String = query
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        let (q, _errors) = self.parser.parse_query_lenient(&cleaned);
        let searcher = self.reader.searcher();
        let Ok(top) = searcher.search(&q, &TopDocs::with_limit(k).order_by_score()) else {
            return Vec::new();
        };
        top.into_iter()
            .filter_map(|(score, addr)| {
                let d: TantivyDocument = searcher.doc(addr).ok()?;
                let number = d.get_first(self.number)?.as_u64()? as u32;
                let text = d.get_first(self.text)?.as_str()?.to_string();
                let title = docs
                    .iter()
                    .find(|x| x.source.number == number)
                    .map(|x| x.source.title.clone())
                    .unwrap_or_default();
                Some(Passage {
                    number,
                    title,
                    text,
                    score,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::passages;

    #[test]
    fn sections_are_never_merged_and_each_passage_keeps_its_heading() {
        let notes = (0..30)
            .map(|i| format!("Note {i} on the margin gain and the churn risk."))
            .collect::<Vec<_>>()
            .join("\n\n");
        let text = format!(
            "Intro line.\n\n\u{c}Slide 1: Pricing\n\nShort.\n\n\u{c}Slide 2: Options\n\n{notes}\n\n\u{c}Slide 3\n\nEnd."
        );
        let ps = passages(&text);
        assert_eq!(ps[0], "Intro line.");
        assert_eq!(ps[1], "Slide 1: Pricing\n\nShort.");
        let options: Vec<&String> = ps.iter().filter(|p| p.contains("Note ")).collect();
        assert!(options.len() > 1, "{ps:?}");
        for p in &options {
            assert!(p.starts_with("Slide 2: Options\n\nNote "), "{p}");
            assert!(p.len() <= 900, "{}", p.len());
        }
        assert_eq!(ps.last().map(String::as_str), Some("Slide 3\n\nEnd."));
        // Every note is in exactly one passage.
        for i in 0..30 {
            let n = format!("Note {i} on");
            assert_eq!(ps.iter().filter(|p| p.contains(&n)).count(), 1, "{n}");
        }
    }

    #[test]
    fn passages_respect_the_target_length() {
        let text = (0..40)
            .map(|i| format!("Paragraph {i} talks about churn and pricing at some length."))
            .collect::<Vec<_>>()
            .join("\n\n");
        let ps = passages(&text);
        assert!(ps.len() > 1);
        assert!(
            ps.iter().all(|p| p.len() <= 900),
            "{:?}",
            ps.iter().map(String::len).collect::<Vec<_>>()
        );
        assert_eq!(ps.join("\n\n"), text);
    }
}
