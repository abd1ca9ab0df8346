//! Text helpers: cutting text to a length for prompts, logs and labels,
//! and normalisation for matching quotes against what was really said or
//! written.

use crate::lang::is_cjk;

/// Lower-cased words with punctuation and spacing dropped; each CJK
/// ideograph is a word of its own (those scripts put no spaces between
/// words), and "n't" / "cannot" become "not" / "can not", so a negation is
/// always a word of its own.
pub fn match_tokens(text: &str) -> Vec<String> {
    let text = text
        .to_lowercase()
        .replace("n't", " not")
        .replace("n’t", " not")
        .replace("cannot", "can not");
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
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

/// Words that turn a statement around.
const NEGATIONS: [&str; 20] = [
    "not", "no", "never", "none", "nor", "neither", "nobody", "nothing", "without", "hardly", "不",
    "没", "沒", "无", "無", "非", "未", "别", "勿", "莫",
];

/// Words that are numbers.
const NUMBER_WORDS: [&str; 37] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
    "hundred",
    "thousand",
    "million",
    "billion",
    "trillion",
    "half",
    "twice",
    "double",
    "triple",
];

/// Whether a word carries the meaning a quote must keep exactly: a
/// negation or a number.
fn is_critical(word: &str) -> bool {
    NEGATIONS.contains(&word)
        || NUMBER_WORDS.contains(&word)
        || word
            .chars()
            .any(|c| c.is_ascii_digit() || "〇零一二三四五六七八九十百千万萬亿億两兩".contains(c))
}

/// A cost too high for any allowance.
const NEVER: usize = usize::MAX / 4;

/// The smallest number of words changed, added or dropped to find `quote`
/// in `text` from word `from` on, and where that match ends; words that
/// are negations or numbers may not change. `None` when the cheapest match
/// costs more than `allowance`.
fn best_match(quote: &[String], text: &[String], from: usize, allowance: usize) -> Option<usize> {
    let text = &text[from.min(text.len())..];
    let edit = |w: &String| if is_critical(w) { NEVER } else { 1 };
    // prev[j]: cost of matching the quote so far ending just before text[j].
    let mut prev: Vec<usize> = vec![0; text.len() + 1];
    for q in quote {
        let mut cur = vec![prev[0].saturating_add(edit(q)); text.len() + 1];
        for (j, t) in text.iter().enumerate() {
            let same = if q == t {
                0
            } else if is_critical(q) || is_critical(t) {
                NEVER
            } else {
                1
            };
            cur[j + 1] = (prev[j].saturating_add(same))
                .min(prev[j + 1].saturating_add(edit(q)))
                .min(cur[j].saturating_add(edit(t)));
        }
        prev = cur;
    }
    prev.iter()
        .position(|&cost| cost <= allowance)
        .map(|end| from + end)
}

/// Whether `quote` appears in `text` as said: in order, ignoring case,
/// punctuation and spacing. A quote of six words or more may differ in one
/// word in six (a word changed, added or dropped), but never in a negation
/// or a number. An ellipsis ("…" or "...") in the quote stands for any text
/// between its pieces, which must still come in order.
pub fn quote_matches(quote: &str, text: &str) -> bool {
    let pieces: Vec<Vec<String>> = quote
        .replace("...", "…")
        .split('…')
        .map(match_tokens)
        .filter(|p| !p.is_empty())
        .collect();
    if pieces.is_empty() {
        return false;
    }
    let text = match_tokens(text);
    let mut at = 0;
    for piece in &pieces {
        match best_match(piece, &text, at, piece.len() / 6) {
            Some(end) => at = end,
            None => return false,
        }
    }
    true
}

/// Whether `quote` occurs in `text` (the same rules as [`quote_matches`]).
pub fn contains_quote(text: &str, quote: &str) -> bool {
    quote_matches(quote, text)
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

/// Whether `s` holds at least one word (a run of two letters, or one
/// letter of a script without spaces): a weak model's brackets, digits and
/// timestamps do not, nor does a lone field name it echoed from the schema
/// (`start_day`, `trigger_nextday`).
pub fn has_words(s: &str) -> bool {
    let t = s.trim();
    let identifier = t.contains('_')
        && t.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    !identifier
        && s.split(|c: char| !c.is_alphabetic())
            .any(|w| w.chars().count() >= 2 || !w.is_ascii())
}

/// Escapes text for HTML and SVG (`&`, `<`, `>`, `"` and `'`): the one
/// escaper of the markup Council writes by hand.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The longest question Council takes, in characters. The question goes
/// into every prompt of every advisor, so background material belongs in
/// the research library, not in the question.
pub const MAX_QUESTION_CHARS: usize = 4_000;

/// Why `question` cannot be put to the board (binary data, or longer than
/// [`MAX_QUESTION_CHARS`]), in words naming the fix; `what` names it
/// ("the question", "--question", …). Emptiness is each caller's to check.
pub fn question_problem(question: &str, what: &str) -> Option<String> {
    if let Some((at, c)) = question
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Some(format!(
            "{what} holds a control character (U+{:04X} at character {}): it looks like binary data, not text; give the question as plain UTF-8 text",
            u32::from(c),
            at + 1
        ));
    }
    let chars = question.chars().count();
    (chars > MAX_QUESTION_CHARS).then(|| format!(
        "{what} is {chars} characters long; the limit is {MAX_QUESTION_CHARS} (about a page), as it goes into every prompt of every advisor: keep the decision and its key facts, and give background documents as sources (--source FILE or --library DIR)"
    ))
}

/// A folder name from free text: its first `words` words, lower-case
/// ASCII letters and digits joined by `-` ("run" when none is left).
pub fn slug(text: &str, words: usize) -> String {
    let s = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|w| !w.is_empty())
        .take(words)
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() {
        "run".into()
    } else {
        s
    }
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

    /// (what was said, the quote, whether it matches)
    const QUOTES: [(&str, &str, bool); 22] = [
        (
            "We should raise prices for new customers.",
            "we should raise prices",
            true,
        ),
        (
            "We should raise prices for new customers.",
            "We should RAISE prices!",
            true,
        ),
        (
            "We should raise prices.",
            "we should not raise prices",
            false,
        ),
        (
            "We should not raise prices.",
            "we should raise prices",
            false,
        ),
        (
            "We shouldn't raise prices yet.",
            "we should raise prices yet",
            false,
        ),
        (
            "We shouldn't raise prices yet.",
            "we should not raise prices yet",
            true,
        ),
        (
            "Churn was 2.1% a month, up from 1.8%.",
            "churn was 2.1% a month",
            true,
        ),
        (
            "Churn was 2.1% a month, up from 1.8%.",
            "churn was 2.4% a month",
            false,
        ),
        (
            "It will cost us two of our five largest renewals this year.",
            "it will cost us three of our five largest renewals this year",
            false,
        ),
        (
            "Raising list prices by 15% will cost us two of our five largest renewals.",
            "Raising list prices by 15 percent will cost us two of our five largest renewals",
            true,
        ),
        (
            "Raising list prices by 15% will cost us two of our five largest renewals.",
            "Raising list prices by 20% will cost us two of our five largest renewals",
            false,
        ),
        (
            "The board agrees that prices rise and churn follows.",
            "churn follows and prices rise",
            false,
        ),
        (
            "Our renewal data shows the rise holds, and the CFO's model ignores churn.",
            "renewal data shows … the CFO's model ignores churn",
            true,
        ),
        (
            "Our renewal data shows the rise holds, and the CFO's model ignores churn.",
            "the CFO's model ignores churn ... renewal data shows",
            false,
        ),
        (
            "Our renewal data shows the rise holds.",
            "renewal data shows...the rise holds",
            true,
        ),
        ("The price rose.", "rice rose", false),
        ("anything at all", "", false),
        ("anything at all", "…", false),
        ("公司更加失衡，而非构成战略优势。", "公司更加失衡", true),
        ("公司更加失衡。", "公司不更加失衡", false),
        (
            "我们应该在第三季度提价百分之十五。",
            "我们应该在第三季度提价百分之二十",
            false,
        ),
        (
            "我们应该在第三季度提价，客户会接受。",
            "我们应该在第三季度提价…客户会接受",
            true,
        ),
    ];

    #[test]
    fn quotes_match_in_order_and_keep_negations_and_numbers() {
        for (said, quote, expected) in QUOTES {
            assert_eq!(
                quote_matches(quote, said),
                expected,
                "quote {quote:?} in {said:?}"
            );
        }
    }

    #[test]
    fn a_long_quote_may_differ_in_one_word_in_six_but_no_more() {
        let said =
            "We will lose the two largest accounts if the rise lands before renewal season starts";
        assert!(quote_matches(
            "we will lose the two biggest accounts if the rise lands before renewal",
            said
        ));
        assert!(!quote_matches(
            "we will keep the two biggest accounts if the rise lands after renewal",
            said
        ));
    }
}
