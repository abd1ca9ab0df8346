//! Text helpers: cutting text to a length for prompts, logs and labels,
//! and normalisation for matching quotes against what was really said or
//! written.

use crate::lang::is_cjk;

/// Lower-cased words with punctuation and spacing dropped; each CJK
/// ideograph is a word of its own (those scripts put no spaces between words).
pub fn match_tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        let cjk = is_cjk(c);
        if c.is_alphanumeric() && !cjk {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if cjk {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Whether `quote` occurs word for word in `text`, ignoring case, punctuation and spacing.
pub fn contains_quote(text: &str, quote: &str) -> bool {
    let q = match_tokens(quote);
    !q.is_empty()
        && match_tokens(text)
            .windows(q.len())
            .any(|w| w == q.as_slice())
}

/// At most `limit` characters of `text` (trimmed), cut at a sentence end
/// when one falls in the second half, else at a word boundary, with "…"
/// marking the cut. The one truncation helper of Council.
pub fn excerpt(text: &str, limit: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= limit {
        return text.to_string();
    }
    let cut: String = text.chars().take(limit).collect();
    let sentence_end = cut
        .char_indices()
        .filter(|(_, c)| matches!(c, '.' | '!' | '?' | '。' | '！' | '？'))
        .map(|(i, c)| i + c.len_utf8())
        .rfind(|&end| cut[..end].chars().count() > limit / 2);
    let at = sentence_end
        .or_else(|| cut.rfind(char::is_whitespace))
        .filter(|&i| i > 0)
        .unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_at_sentence_ends_then_words_then_characters() {
        let s = "First sentence is here. Second sentence is much longer and goes on and on.";
        assert_eq!(excerpt(s, 40), "First sentence is here.…");
        assert_eq!(excerpt("  short  ", 40), "short");
        assert_eq!(excerpt("one two three four", 10), "one two…");
        // Chinese has no spaces: a sentence end, else a plain cut.
        assert_eq!(
            excerpt("公司更加失衡。而非构成战略优势", 10),
            "公司更加失衡。…"
        );
        assert_eq!(excerpt("公司更加失衡而非构成战略优势", 5), "公司更加失…");
        assert_eq!(excerpt("x", 0), "…");
    }

    #[test]
    fn quotes_match_whole_words_only() {
        assert!(contains_quote(
            "Churn was 2.1% a month, up from 1.8%.",
            "churn was 2 1 a month"
        ));
        assert!(!contains_quote("The price rose.", "rice rose"));
        assert!(contains_quote("公司更加失衡。", "更加失衡"));
        assert!(!contains_quote("anything", ""));
    }
}
