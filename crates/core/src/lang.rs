//! Report and debate languages: detection from the question, names, and
//! whether an answer is written in the run's language.

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

/// The codes of the languages Council writes: a debate can be held and a
/// report written in each (the one list every front end reads).
pub const CODES: [&str; 6] = ["en", "zh", "de", "fr", "es", "ja"];

/// Whether a debate can be held in `code`.
pub fn is_known(code: &str) -> bool {
    CODES.contains(&code)
}

/// A language code outside [`CODES`]: the one message every front end
/// (`ask`, `render`, `variant`, the web forms) gives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLang(pub String);

impl std::fmt::Display for UnknownLang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} is not a language Council writes; use one of {}",
            self.0,
            CODES.join(", ")
        )
    }
}

impl std::error::Error for UnknownLang {}

/// `Ok` when Council writes `code`, else the one error every front end gives.
pub fn check(code: &str) -> Result<(), UnknownLang> {
    if is_known(code) {
        Ok(())
    } else {
        Err(UnknownLang(code.to_string()))
    }
}

/// The language's name as prompts state it ("Write in …").
pub fn lang_name(code: &str) -> &'static str {
    LANGUAGES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("the language of the question", |(_, name)| name)
}

// ------------------------------------------------------ answer language

/// A text with fewer letters than this is too short to judge: a name, a
/// number, a word or two. Its language is never flagged.
pub const MIN_LETTERS: usize = 16;

/// The words every language flag contains, so a report can count them
/// ([`is_language_flag`]).
const LANGUAGE_FLAG: &str = "in the wrong language";

/// Letters of a text by script; digits, punctuation and spaces are not letters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Letters {
    latin: usize,
    han: usize,
    kana: usize,
    other: usize,
}

impl Letters {
    fn of(text: &str) -> Letters {
        let mut l = Letters::default();
        for c in text.chars().filter(|c| c.is_alphabetic()) {
            if is_cjk(c) {
                l.han += 1;
            } else if is_kana(c) {
                l.kana += 1;
            } else if is_latin(c) {
                l.latin += 1;
            } else {
                l.other += 1;
            }
        }
        l
    }

    fn all(self) -> usize {
        self.latin + self.han + self.kana + self.other
    }

    /// Ideographs and kana: the letters of Chinese and Japanese.
    fn cjk(self) -> usize {
        self.han + self.kana
    }
}

/// Whether `c` is hiragana or katakana (full or half width).
pub fn is_kana(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x309F | 0x30A0..=0x30FF | 0x31F0..=0x31FF | 0xFF66..=0xFF9F)
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic()
        || matches!(c as u32, 0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x24F | 0x1E00..=0x1EFF)
}

/// Common words of each Latin-script language, none of them in two lists:
/// how an answer in English is told from one in German, French or Spanish.
const FUNCTION_WORDS: [(&str, &[&str]); 4] = [
    (
        "en",
        &[
            "the", "and", "of", "to", "is", "that", "we", "with", "for", "this", "are", "it", "be",
            "should", "our", "have",
        ],
    ),
    (
        "de",
        &[
            "der", "die", "das", "und", "ist", "nicht", "wir", "mit", "für", "ein", "eine", "sich",
            "auf", "werden", "auch", "den", "dem", "zu", "von",
        ],
    ),
    (
        "fr",
        &[
            "le", "les", "et", "est", "nous", "une", "pour", "pas", "dans", "qui", "sur", "au",
            "sont", "ce", "il", "avec",
        ],
    ),
    (
        "es",
        &[
            "el", "los", "las", "y", "una", "para", "por", "con", "del", "lo", "su", "está",
            "como", "pero", "al", "más",
        ],
    ),
];

/// How many of each Latin-script language's common words `text` holds.
fn function_words(text: &str) -> [(&'static str, usize); 4] {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    FUNCTION_WORDS.map(|(code, list)| {
        (
            code,
            words.iter().filter(|w| list.contains(&w.as_str())).count(),
        )
    })
}

/// The language `text` reads as, when it is clearly not `lang` (a code of
/// [`CODES`]); `None` when it is in `lang`, mixed, too short to judge, or
/// `lang` is unknown. The rule, by letters (digits and punctuation do not
/// count), lenient so that names, acronyms and numbers never trip it:
/// - fewer than [`MIN_LETTERS`] letters: not judged;
/// - `zh`: wrong when fewer than a tenth of the letters are ideographs or
///   kana (an ideograph carries about what three Latin letters do, so a
///   Chinese answer full of English terms still passes), or when kana make
///   up a quarter of them (Japanese);
/// - `ja`: wrong when fewer than a tenth are ideographs or kana, or when
///   the ideographs come with almost no kana (under a tenth: Chinese);
/// - `en`, `de`, `fr`, `es`: wrong when fewer than a quarter of the letters
///   are Latin; else, when another of these languages' common words
///   ([`FUNCTION_WORDS`]) appear at least four times and three times as
///   often as the run's own (an English answer in a German run).
///
/// Between those bounds a text is mixed, and not flagged.
pub fn wrong_language(lang: &str, text: &str) -> Option<&'static str> {
    let l = Letters::of(text);
    if l.all() < MIN_LETTERS || !is_known(lang) {
        return None;
    }
    let mostly_cjk = l.latin * 4 < l.all();
    let little_cjk = l.cjk() * 10 < l.all();
    // What the text reads as, when it is not the run's language.
    let cjk_reading = || {
        if l.kana * 4 > l.cjk() {
            "Japanese"
        } else {
            "Chinese"
        }
    };
    let latin_reading = || {
        let hits = function_words(text);
        let (code, n) = hits
            .iter()
            .copied()
            .max_by_key(|(_, n)| *n)
            .unwrap_or(("en", 0));
        if n == 0 {
            "Latin letters"
        } else {
            short_name(code)
        }
    };
    match lang {
        "zh" | "ja" => {
            if little_cjk {
                return Some(if l.latin >= l.other {
                    latin_reading()
                } else {
                    "another script"
                });
            }
            match (lang, cjk_reading()) {
                ("zh", "Japanese") => Some("Japanese"),
                ("ja", _) if l.kana * 10 < l.cjk() => Some("Chinese"),
                _ => None,
            }
        }
        _ => {
            if mostly_cjk {
                return Some(if l.cjk() >= l.other {
                    cjk_reading()
                } else {
                    "another script"
                });
            }
            let hits = function_words(text);
            let own = hits.iter().find(|(c, _)| *c == lang).map_or(0, |h| h.1);
            hits.iter()
                .filter(|(c, n)| *c != lang && *n >= 4 && *n >= 3 * own)
                .max_by_key(|(_, n)| *n)
                .map(|(c, _)| short_name(c))
        }
    }
}

/// A language's name in a flag ("English", "Chinese").
fn short_name(code: &str) -> &'static str {
    match code {
        "en" => "English",
        "zh" => "Chinese",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        "ja" => "Japanese",
        _ => "another language",
    }
}

/// The flag an answer in the wrong language carries: what it reads as,
/// what the run is in, and whether it was asked again.
pub fn language_flag(lang: &str, reads_as: &str, asked_again: bool) -> String {
    let again = if asked_again {
        "; asked once more with the language restated, the second answer too"
    } else {
        ""
    };
    format!(
        "{LANGUAGE_FLAG}: reads as {reads_as}, the run is in {}{again}",
        short_name(lang)
    )
}

/// Whether `flag` (alone, or as a report shows it, after where it was
/// raised) is a language flag ([`language_flag`]).
pub fn is_language_flag(flag: &str) -> bool {
    flag.contains(LANGUAGE_FLAG)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_accepts_every_code_and_names_the_set_for_others() {
        for code in CODES {
            assert!(check(code).is_ok(), "{code}");
        }
        assert_eq!(
            check("xx").unwrap_err().to_string(),
            "\"xx\" is not a language Council writes; use one of en, zh, de, fr, es, ja"
        );
        assert!(check("EN").is_err(), "codes are lowercase");
    }

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

    const EN: &str =
        "Raise prices for new customers first and hold renewals until churn is measured.";
    const ZH: &str = "我们应该先对新客户提价，续约客户的价格在流失率明确之前保持不变。";

    #[test]
    fn an_answer_in_the_run_language_passes_and_one_in_another_is_caught() {
        assert_eq!(wrong_language("en", EN), None);
        assert_eq!(wrong_language("zh", ZH), None);
        assert_eq!(wrong_language("zh", EN), Some("English"));
        assert_eq!(wrong_language("en", ZH), Some("Chinese"));
        assert_eq!(wrong_language("fr", ZH), Some("Chinese"));
        // Japanese is told from Chinese by its kana.
        let ja = "新しい顧客から値上げを始めて、解約率が分かるまで更新の価格は据え置くべきです。";
        assert_eq!(wrong_language("ja", ja), None);
        assert_eq!(wrong_language("zh", ja), Some("Japanese"));
        assert_eq!(wrong_language("ja", ZH), Some("Chinese"));
        assert_eq!(wrong_language("en", ja), Some("Japanese"));
    }

    #[test]
    fn latin_languages_are_told_apart_by_their_common_words() {
        let de = "Wir sollten die Preise für neue Kunden erhöhen und die Verlängerungen nicht anfassen, bis die Abwanderung gemessen ist.";
        assert_eq!(wrong_language("de", de), None);
        let en = "We should raise the price for new customers and keep the renewals as they are, because churn is the risk.";
        assert_eq!(wrong_language("de", en), Some("English"));
        assert_eq!(wrong_language("en", en), None);
        assert_eq!(wrong_language("en", de), Some("German"));
        let es = "Deberíamos subir los precios para los clientes nuevos y mantener las renovaciones con el precio actual por un año.";
        assert_eq!(wrong_language("es", es), None);
        assert_eq!(wrong_language("fr", es), Some("Spanish"));
        // A German answer quoting a few English words is still German.
        let quoting =
            "Der CFO sagt \"the price is right\", aber wir müssen die Abwanderung erst messen.";
        assert_eq!(wrong_language("de", quoting), None);
        // English words in a Chinese run read as English, junk as Latin letters.
        assert_eq!(
            wrong_language("zh", "Xkcd qwerty zxcvb asdfgh lorem ipsum"),
            Some("Latin letters")
        );
    }

    #[test]
    fn mixed_text_names_and_numbers_are_not_flagged() {
        // Chinese full of English terms and acronyms is still Chinese.
        let jargon = "建议第三季度提价，先在 enterprise 和 mid-market 客户中测试 pricing elasticity，再决定。";
        assert_eq!(wrong_language("zh", jargon), None);
        // An English answer naming a Chinese city is still English.
        let named = "We should open the 深圳 office only after the pricing test shows churn below five percent.";
        assert_eq!(wrong_language("en", named), None);
        // Half and half: mixed, flagged in neither language.
        let half = "董事会同意提价百分之十五 but the CFO wants a pilot first";
        assert_eq!(wrong_language("zh", half), None);
        assert_eq!(wrong_language("en", half), None);
    }

    #[test]
    fn short_texts_numbers_and_unknown_languages_are_never_judged() {
        for short in [
            "OK.",
            "Yes, 15%.",
            "CFO 同意",
            "2026-11-26: 40%, 55%, 80%",
            "同意。",
            "",
        ] {
            for lang in CODES {
                assert_eq!(wrong_language(lang, short), None, "{lang}: {short:?}");
            }
        }
        assert_eq!(wrong_language("xx", ZH), None);
        assert_eq!(wrong_language("", EN), None);
    }

    #[test]
    fn a_language_flag_says_what_it_saw_and_is_recognised_where_the_report_puts_it() {
        let flag = language_flag("zh", "English", true);
        assert!(
            flag.contains("reads as English, the run is in Chinese"),
            "{flag}"
        );
        assert!(flag.contains("asked once more"), "{flag}");
        assert!(!language_flag("en", "Chinese", false).contains("asked"));
        assert!(is_language_flag(&flag));
        assert!(is_language_flag(&format!("round 2, The CFO: {flag}")));
        assert!(is_language_flag(&format!(
            "synthesis part `verdict`: {flag}"
        )));
        for other in [
            "very short answer",
            "extreme confidence 100",
            "may be off-topic: shares no key word with the question",
        ] {
            assert!(!is_language_flag(other));
        }
    }
}
