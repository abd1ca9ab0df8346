//! The JSON schema each turn answers with: [`council_core::answers`]'s
//! types, with the fields the round adds, bound to the speaker's peers.

use crate::rounds::{RoundExtra, RoundSpec};
use council_core::answers::{
    schema_of, turn_schema_with, AssumptionsAnswer, Bindings, StoryTurnAnswer, TurnAnswer, PROSE,
    SENTENCES,
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

/// A small model's string limits are this fraction of the full ones.
const SMALL_SHARE: u64 = 4;

/// What a small model's prose may not hold: JSON's structural punctuation
/// (`{ } [ ]`), the backslash (so no escape, hence no quote, can start),
/// the quote itself, and control characters (which JSON cannot hold raw).
/// In the regex subset llama.cpp turns into a grammar (a class with
/// `\[ \] \\ \xNN` escapes).
const NOT_IN_PROSE: &str = r#"{}\[\]\\"\x00-\x1F\x7F"#;

/// The characters a sentence may end with.
const SENTENCE_END: &str = ".!?。！？…";

/// The `pattern` of a small model's prose string of `min` to `max`
/// characters, none of them JSON punctuation ([`NOT_IN_PROSE`]); for
/// `sentences` (and `min` ≥ 1), the last one ends a sentence, so the
/// string cannot stop mid-sentence (only at its length limit is a sentence
/// cut, and then it ends with a full stop). It carries the lengths itself:
/// beside a `pattern`, llama.cpp's grammar converter ignores `minLength`
/// and `maxLength`.
pub fn prose_pattern(min: u64, max: u64, sentences: bool) -> String {
    if sentences && min >= 1 && max >= 1 {
        format!(
            "^[^{NOT_IN_PROSE}]{{{},{}}}[{SENTENCE_END}]$",
            min - 1,
            max - 1
        )
    } else {
        format!("^[^{NOT_IN_PROSE}]{{{min},{max}}}$")
    }
}

/// The schema a model answers with, with the [`PROSE`] marks removed. For
/// a small model every string limit is cut to a quarter (at least 40
/// characters) and every list to its fewest items (or two, when it may be
/// empty), so the grammar keeps its answers short (a small model tends to
/// write to the limit); the limits only shrink, so a short answer stays
/// valid. A small model's prose strings also get a [`prose_pattern`]:
/// a grammar that only forces valid JSON lets a 135M model write JSON of
/// its own inside a string (`"FinishED} };*{#},{"`), and stop one
/// mid-sentence (`"premise": "to"`). Ids, enums and
/// citations (`"[2]"`) are not prose and keep their form. A model that is
/// not small answers with the schema as derived.
pub fn sized_for(mut schema: Value, small: bool) -> Value {
    fn string_pattern(s: &mut Map<String, Value>, sentences: bool) {
        let len = |k: &str| s.get(k).and_then(Value::as_u64);
        let (min, max) = (len("minLength").unwrap_or(0), len("maxLength"));
        if let Some(max) = max {
            let pattern = prose_pattern(min, max, sentences);
            s.insert("pattern".into(), Value::from(pattern));
        }
    }
    fn walk(v: &mut Value, small: bool) {
        match v {
            Value::Object(map) => {
                if small {
                    if let Some(n) = map.get("maxLength").and_then(Value::as_u64) {
                        map.insert(
                            "maxLength".into(),
                            Value::from(n.min((n / SMALL_SHARE).max(40))),
                        );
                    }
                    if let Some(n) = map.get("maxItems").and_then(Value::as_u64) {
                        let fewest = map.get("minItems").and_then(Value::as_u64).unwrap_or(0);
                        map.insert("maxItems".into(), Value::from(n.min(fewest.max(2))));
                    }
                }
                map.values_mut().for_each(|c| walk(c, small));
                let prose = map.remove(PROSE);
                if let (Some(kind), true) = (prose, small) {
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
    walk(&mut schema, small);
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
        let small = sized_for(full.clone(), true);
        // A model that is not small answers with the schema as derived.
        assert_eq!(sized_for(full.clone(), false), unmarked(full.clone()));
        for s in [&small, &sized_for(full.clone(), false)] {
            assert!(!s.to_string().contains(PROSE), "{s}");
        }
        let p = &small["properties"];
        assert_eq!(p["text"]["maxLength"], 400);
        assert_eq!(p["assumption"]["maxLength"], 100);
        assert_eq!(p["text"]["pattern"], prose_pattern(1, 400, true));
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
        );
        assert_eq!(actions["maxItems"], 4);
        assert_eq!(small["required"], full["required"]);
        assert_eq!(p["confidence"], full["properties"]["confidence"]);
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
            strings(&sized_for(schema.clone(), true), "", &mut found);
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
                schema: sized_for(full.clone(), small),
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
