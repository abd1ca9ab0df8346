//! Text normalisation for matching quotes against what was really said or written.

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

#[cfg(test)]
mod tests {
    use super::*;

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
