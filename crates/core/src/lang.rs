//! Report and debate languages: detection from the question, and names.

/// The language a question is written in: `zh` when CJK ideographs make up
/// a fair share of its letters, else `en`.
pub fn detect_lang(text: &str) -> &'static str {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let cjk = text.chars().filter(|c| is_cjk(*c)).count();
    if cjk > 0 && cjk * 5 >= letters {
        "zh"
    } else {
        "en"
    }
}

/// Whether `c` is a CJK ideograph.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF)
}

/// The languages a debate can be held in: (code, name as prompts state it).
const LANGUAGES: [(&str, &str); 6] = [
    ("en", "English"),
    ("zh", "Simplified Chinese (简体中文)"),
    ("de", "German"),
    ("fr", "French"),
    ("es", "Spanish"),
    ("ja", "Japanese"),
];

/// The codes of the languages a debate can be held in.
pub const CODES: [&str; 6] = ["en", "zh", "de", "fr", "es", "ja"];

/// Whether a debate can be held in `code`.
pub fn is_known(code: &str) -> bool {
    CODES.contains(&code)
}

/// The language's name as prompts state it ("Write in …").
pub fn lang_name(code: &str) -> &'static str {
    LANGUAGES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("the language of the question", |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_name() {
        assert_eq!(LANGUAGES.map(|(c, _)| c), CODES);
        assert_eq!(lang_name("zh"), "Simplified Chinese (简体中文)");
        assert!(is_known("de") && !is_known("xx"));
    }

    #[test]
    fn detects_chinese_even_with_latin_acronyms() {
        assert_eq!(
            detect_lang("我们在工程领域已初见 AI 成效,但在 GTM 方面尚未显现?"),
            "zh"
        );
        assert_eq!(detect_lang("Should we raise prices by 15%?"), "en");
        assert_eq!(detect_lang("Should we enter the 中国 market?"), "en");
    }
}
