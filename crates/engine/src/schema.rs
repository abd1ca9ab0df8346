//! The JSON schema each turn answers with: [`council_core::answers`]'s
//! types, with the fields the round adds, bound to the speaker's peers.

use crate::rounds::{RoundExtra, RoundSpec};
use council_core::answers::{
    schema_of, turn_schema_with, AssumptionsAnswer, Bindings, ForecastsAnswer, Probability,
    StoryTurnAnswer, TurnAnswer, VerdictAnswer, VoteAnswer, PROSE, SENTENCES,
};
use serde_json::{Map, Value};

/// The schema of a turn in the round `spec`; `peers` are the ids it may answer or target.
pub fn turn_schema(spec: &RoundSpec, peers: &[&str]) -> Value {
    let b = Bindings {
        peers,
        ..Bindings::default()
    };
    match spec.extra {
        RoundExtra::None => schema_of::<TurnAnswer>(&b),
        RoundExtra::Assumptions => turn_schema_with::<AssumptionsAnswer>(&b),
        RoundExtra::Story => turn_schema_with::<StoryTurnAnswer>(&b),
    }
}

/// The schema of the `single` condition's one answer, composed from the
/// verdict's, the forecasts' and the vote's: `verdict` (a
/// [`VerdictAnswer`]), `forecasts` (the [`ForecastsAnswer`] list, each
/// forecast with the advisor's own `probability`, as a vote gives it) and
/// `vote` (a [`VoteAnswer`] without its probabilities, which the forecasts
/// carry: no forecast id exists before the answer).
pub fn single_schema() -> Value {
    let b = Bindings::default();
    let verdict = schema_of::<VerdictAnswer>(&b);
    let mut forecasts = schema_of::<ForecastsAnswer>(&b)["properties"]["forecasts"].clone();
    let probability = schema_of::<Probability>(&b)["properties"]["probability"].clone();
    if let Some(item) = forecasts.get_mut("items").and_then(Value::as_object_mut) {
        if let Some(props) = item.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("probability".into(), probability);
        }
        if let Some(required) = item.get_mut("required").and_then(Value::as_array_mut) {
            required.push(Value::from("probability"));
        }
    }
    let mut vote = schema_of::<VoteAnswer>(&b);
    if let Some(props) = vote.get_mut("properties").and_then(Value::as_object_mut) {
        props.remove("probabilities");
    }
    if let Some(required) = vote.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| r != "probabilities");
    }
    serde_json::json!({
        "type": "object",
        "properties": {"verdict": verdict, "forecasts": forecasts, "vote": vote},
        "required": ["verdict", "forecasts", "vote"],
        "additionalProperties": false,
    })
}

/// How a small model's string limits shrink: to `1/share` of the full
/// limit, kept between `least` and `most` characters.
#[derive(Debug, Clone, Copy)]
struct Shrink {
    share: u64,
    least: u64,
    most: u64,
}

/// For languages written in words: a quarter, 40 to 240 characters (240:
/// about the 40 words the longest small prompt asks for; a round waits for
/// its longest turn, and a small model whose sentence has not ended writes
/// on to its limit. At 300, three quick-start seeds ran 20% longer at the
/// median than before the prose pattern; at 240, 6% longer).
const WORDS_SHRINK: Shrink = Shrink {
    share: 4,
    least: 40,
    most: 240,
};

/// For Chinese and Japanese, where a character carries about what three
/// Latin letters do and costs a token to generate: a third of that. (A
/// Chinese run on the embedded model took twice as long with the quarter:
/// 300-character turns, each a token a character.)
const DENSE_SHRINK: Shrink = Shrink {
    share: 12,
    least: 20,
    most: 100,
};

/// What a small model's prose may not hold: JSON's structural punctuation
/// (`{ } [ ]`), the backslash (so no escape, hence no quote, can start),
/// the quote itself, control characters (which JSON cannot hold raw),
/// invisible format characters (zero-width spaces, direction marks), the
/// marks of markup a 135M model strews into text (`< > | * _ ~ ^ = @ #`
/// and the backtick), and `…`, which it copies from the excerpts it is
/// shown (`…` may only end a sentence: [`SENTENCE_END`]). In the
/// regex subset llama.cpp turns into a grammar (a class with
/// `\[ \] \\ \xNN \uNNNN` escapes).
const NOT_IN_PROSE: &str =
    r#"{}\[\]\\"\x00-\x1F\x7F<>|*_~^=@#`…\u200B-\u200F\u2028-\u202F\u2060-\u206F\uFEFF"#;

/// What prose starts with: a digit or a letter (Latin, Greek, Cyrillic,
/// Chinese, Japanese or Korean), never punctuation or a symbol (a 135M
/// model opens strings with `, Support`, `.15%` or `+8.5; 3:06`).
const FIRST: &str = r#"0-9A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0370-\u03FF\u0400-\u04FF\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF"#;

/// The characters a sentence ends with: `. ! ?`, their CJK forms, and `…`
/// for one cut short (at its limit, or trailing off).
const SENTENCE_END: &str = ".!?。！？…";

/// The `pattern` of a small model's prose string of `min` to `max`
/// characters: none of them JSON punctuation or markup ([`NOT_IN_PROSE`]),
/// the first a letter or a digit ([`FIRST`]); for `sentences`, the last
/// ends a sentence ([`SENTENCE_END`]), so a string cannot stop
/// mid-sentence. It carries the lengths itself: beside a `pattern`,
/// llama.cpp's grammar converter ignores `minLength` and `maxLength`. One
/// run of one class, so the grammar follows one path at a time.
pub fn prose_pattern(min: u64, max: u64, sentences: bool) -> String {
    let first = format!("[{FIRST}]");
    let rest = format!("[^{NOT_IN_PROSE}]");
    let max = max.max(2);
    let body = if sentences {
        format!(
            "{first}{rest}{{{},{}}}[{SENTENCE_END}]",
            min.saturating_sub(2),
            max - 2
        )
    } else {
        format!("{first}{rest}{{{},{}}}", min.saturating_sub(1), max - 1)
    };
    if min == 0 {
        format!("^(?:{body})?$")
    } else {
        format!("^{body}$")
    }
}

/// The schema a model answers with in a run in `lang`, with the [`PROSE`]
/// marks removed. For a small model every string limit is cut to a quarter
/// (40 to 240 characters; for Chinese and Japanese a twelfth, 20 to 100)
/// and every list to its fewest items (or two, when it may be empty), so
/// the grammar keeps its answers short (a small model tends to write to
/// the limit); the limits only shrink, so a short answer stays valid. A small model's prose strings also get a [`prose_pattern`]:
/// a grammar that only forces valid JSON lets a 135M model write JSON of
/// its own inside a string (`"FinishED} };*{#},{"`), markup (`<pre><code>`),
/// open with a comma, and stop mid-sentence (`"premise": "to"`). Ids, enums and
/// citations (`"[2]"`) are not prose and keep their form. A model that is
/// not small answers with the schema as derived.
pub fn sized_for(mut schema: Value, small: bool, lang: &str) -> Value {
    fn string_pattern(s: &mut Map<String, Value>, sentences: bool) {
        let len = |k: &str| s.get(k).and_then(Value::as_u64);
        let (min, max) = (len("minLength").unwrap_or(0), len("maxLength"));
        if let Some(max) = max {
            let pattern = prose_pattern(min, max, sentences);
            s.insert("pattern".into(), Value::from(pattern));
        }
    }
    fn walk(v: &mut Value, small: Option<Shrink>) {
        match v {
            Value::Object(map) => {
                if let Some(to) = small {
                    if let Some(n) = map.get("maxLength").and_then(Value::as_u64) {
                        let shrunk = (n / to.share).clamp(to.least, to.most);
                        map.insert("maxLength".into(), Value::from(n.min(shrunk)));
                    }
                    if let Some(n) = map.get("maxItems").and_then(Value::as_u64) {
                        let fewest = map.get("minItems").and_then(Value::as_u64).unwrap_or(0);
                        map.insert("maxItems".into(), Value::from(n.min(fewest.max(2))));
                    }
                }
                map.values_mut().for_each(|c| walk(c, small));
                let prose = map.remove(PROSE);
                if let (Some(kind), true) = (prose, small.is_some()) {
                    let sentences = kind == SENTENCES;
                    match map.get_mut("items").and_then(Value::as_object_mut) {
                        Some(items) => string_pattern(items, sentences),
                        None => string_pattern(map, sentences),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|c| walk(c, small)),
            _ => {}
        }
    }
    let shrink = match lang {
        "zh" | "ja" => DENSE_SHRINK,
        _ => WORDS_SHRINK,
    };
    walk(&mut schema, small.then_some(shrink));
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::spec;

    /// `schema` with every [`PROSE`] mark removed, nothing else changed.
    fn unmarked(mut schema: Value) -> Value {
        fn strip(v: &mut Value) {
            match v {
                Value::Object(map) => {
                    map.remove(PROSE);
                    map.values_mut().for_each(strip);
                }
                Value::Array(items) => items.iter_mut().for_each(strip),
                _ => {}
            }
        }
        strip(&mut schema);
        schema
    }

    #[test]
    fn a_small_model_gets_shorter_limits_and_plain_prose() {
        let full = turn_schema(spec(4), &["cfo"]);
        assert_eq!(full["properties"]["text"][PROSE], SENTENCES);
        let small = sized_for(full.clone(), true, "en");
        // A model that is not small answers with the schema as derived.
        assert_eq!(sized_for(full.clone(), false, "en"), unmarked(full.clone()));
        for s in [&small, &sized_for(full.clone(), false, "en")] {
            assert!(!s.to_string().contains(PROSE), "{s}");
        }
        let p = &small["properties"];
        assert_eq!(p["text"]["maxLength"], 240);
        assert_eq!(p["assumption"]["maxLength"], 100);
        assert_eq!(p["text"]["pattern"], prose_pattern(1, 240, true));
        assert_eq!(p["assumption"]["pattern"], prose_pattern(1, 100, true));
        assert_eq!(
            p["target_assumption"]["pattern"],
            prose_pattern(1, 100, true)
        );
        // Ids, enums and citations keep their form.
        for not_prose in [
            &p["move"],
            &p["stance"],
            &p["target_peer"],
            &p["responds_to"]["items"],
            &p["citations"]["items"],
        ] {
            assert!(not_prose.get("pattern").is_none(), "{not_prose}");
        }
        // Lists: at most their fewest items, or two when they may be empty.
        assert_eq!(full["properties"]["citations"]["maxItems"], 5);
        assert_eq!(p["citations"]["maxItems"], 2);
        let actions = sized_for(
            serde_json::json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "string"}}),
            true,
            "en",
        );
        assert_eq!(actions["maxItems"], 4);
        assert_eq!(small["required"], full["required"]);
        assert_eq!(p["confidence"], full["properties"]["confidence"]);
    }

    #[test]
    fn a_small_model_writing_chinese_or_japanese_gets_a_third_of_the_characters() {
        let full = turn_schema(spec(4), &["cfo"]);
        for lang in ["zh", "ja"] {
            let p = sized_for(full.clone(), true, lang)["properties"].clone();
            assert_eq!(p["text"]["maxLength"], 100, "{lang}");
            assert_eq!(p["assumption"]["maxLength"], 33, "{lang}");
            assert_eq!(p["text"]["pattern"], prose_pattern(1, 100, true));
        }
        let risks = council_core::synthesis::SynthesisKind::Risks
            .schema(&Bindings::default())
            .unwrap();
        let p = &sized_for(risks, true, "zh")["properties"]["risks"]["items"]["properties"];
        // 140 / 12 = 11: at least 20.
        assert_eq!(p["risk"]["maxLength"], 20);
        // Every other language keeps the quarter.
        assert_eq!(
            sized_for(full.clone(), true, "de")["properties"]["text"]["maxLength"],
            240
        );
        // A model that is not small is not sized in any language.
        assert_eq!(sized_for(full.clone(), false, "zh"), unmarked(full));
    }

    #[test]
    fn every_prose_string_a_small_model_writes_has_the_pattern_and_nothing_else_does() {
        use council_core::synthesis::SynthesisKind;
        let panel = ["cfo", "cto", "auditor"];
        let b = Bindings {
            panel: &panel,
            peers: &panel[1..],
            forecast_ids: &["F-000001", "F-000002", "F-000003"],
        };
        let mut schemas: Vec<Value> = SynthesisKind::all_for(&panel)
            .iter()
            .chain([&SynthesisKind::ForecastWording, &SynthesisKind::Followup(1)])
            .map(|k| k.schema(&b).unwrap())
            .collect();
        schemas.extend(
            crate::rounds::ROUNDS
                .iter()
                .map(|r| turn_schema(r, &panel[1..])),
        );
        // (JSON pointer, patterned) of every string schema.
        fn strings(v: &Value, at: &str, out: &mut Vec<(String, bool)>) {
            let Some(map) = v.as_object() else { return };
            if map.get("type") == Some(&Value::from("string")) {
                out.push((at.to_string(), map.contains_key("pattern")));
            }
            if let Some(props) = map.get("properties").and_then(Value::as_object) {
                for (k, p) in props {
                    strings(p, &format!("{at}/properties/{k}"), out);
                }
            }
            if let Some(items) = map.get("items") {
                strings(items, &format!("{at}/items"), out);
            }
        }
        let mut prose = 0;
        for schema in schemas {
            let mut found = Vec::new();
            strings(&sized_for(schema.clone(), true, "en"), "", &mut found);
            for (at, patterned) in found {
                let derived = schema.pointer(&at).unwrap();
                let is_id = derived.get("enum").is_some();
                let is_citation = at.starts_with("/properties/citations");
                assert_eq!(patterned, !is_id && !is_citation, "{at}: {derived}");
                prose += usize::from(patterned);
            }
        }
        assert!(prose > 30, "{prose} prose strings");
    }

    #[test]
    fn a_small_model_answer_with_json_punctuation_in_its_prose_is_refused_and_plain_prose_is_not() {
        use council_core::synthesis::SynthesisKind;
        use council_llm::schema::Validator;
        use council_llm::SchemaSpec;
        let full = SynthesisKind::Risks.schema(&Bindings::default()).unwrap();
        let answer = |small: bool, risk: &str, why: &str| {
            let spec = SchemaSpec {
                name: "risks".into(),
                schema: sized_for(full.clone(), small, "en"),
            };
            let answer = serde_json::json!({"risks": [
                {"risk": risk, "why": why},
                {"risk": "Renewals slip.", "why": "Budgets shrink."},
                {"risk": "Rivals undercut.", "why": "Price war."}]});
            Validator::new(&spec).unwrap().check(&answer.to_string())
        };
        let check = |small: bool, risk: &str| answer(small, risk, "Churn rises.");
        for plain in [
            "Churn rises 5% if we raise prices; watch Q3 renewals.",
            "The CFO's 15% rise (not 10%) may cost 3 of 40 clients, e.g. retailers.",
            "提价百分之十五可能导致客户流失。",
        ] {
            let said = answer(true, "Churn", plain);
            assert!(said.is_ok(), "{plain}: {said:?}");
        }
        for junk in [
            "FinishED} };*{#},{",
            "[Persona_n] Event",
            "a \\ backslash",
            "a \"quoted\" word",
            "two\nlines",
            "<pre><code>Churn",
            "| table | row |",
            ", Support (yes)",
            ".15% of the world",
            "+8.5; 3:06 -+14",
            "We are a B… (by…",
            "The Board of\u{200f}\u{200b}DJ",
        ] {
            let refused = check(true, junk).expect_err(junk);
            assert!(refused.contains("/risks/0/risk"), "{junk}: {refused}");
            // A model that is not small keeps today's schema, which takes it.
            assert!(check(false, junk).is_ok(), "{junk}");
        }
        // A sentence ends as one; a field of words (the risk's line) need not.
        for ended in ["Churn rises.", "Will churn rise?", "客户流失会上升。"] {
            assert!(answer(true, "Churn", ended).is_ok(), "{ended}");
        }
        let cut = answer(true, "Churn", "Churn rises as the").expect_err("cut");
        assert!(cut.contains("/risks/0/why"), "{cut}");
        assert!(answer(false, "Churn", "Churn rises as the").is_ok());
        // A sentence cut short ends with `…`; the limit (75) holds.
        let at_limit = format!(
            "{}…",
            "Churn rises. "
                .repeat(6)
                .chars()
                .take(74)
                .collect::<String>()
        );
        assert_eq!(at_limit.chars().count(), 75);
        assert!(answer(true, "Churn", &at_limit).is_ok(), "{at_limit}");
        assert!(answer(true, "Churn", &format!("C{at_limit}")).is_err());
    }

    #[test]
    fn each_round_asks_for_its_own_fields() {
        let required = |s: &Value| -> Vec<String> {
            s["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        let r1 = required(&turn_schema(spec(1), &["cfo"]));
        let r4 = required(&turn_schema(spec(4), &["cfo"]));
        let r5 = required(&turn_schema(spec(5), &["cfo"]));
        assert!(!r1.contains(&"target_peer".to_string()) && !r1.contains(&"story".to_string()));
        assert!(r4.contains(&"target_peer".to_string()) && r4.contains(&"assumption".to_string()));
        assert!(r5.contains(&"story".to_string()) && r5.contains(&"systemic_change".to_string()));
        for r in [&r1, &r4, &r5] {
            assert!(r.contains(&"move".to_string()) && r.contains(&"confidence".to_string()));
        }
    }
}
