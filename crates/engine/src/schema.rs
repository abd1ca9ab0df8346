//! The JSON schema each turn answers with: [`council_core::answers`]'s
//! types, with the fields the round adds, bound to the speaker's peers.

use crate::rounds::{RoundExtra, RoundSpec};
use council_core::answers::{
    schema_of, turn_schema_with, AssumptionsAnswer, Bindings, StoryTurnAnswer, TurnAnswer,
};
use serde_json::Value;

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

/// The schema a model answers with: for a small model every string limit
/// is cut to a quarter (at least 40 characters) and every list to its fewest
/// items (or two, when it may be empty), so the grammar keeps its answers
/// short (a small model tends to write to the limit); the limits only
/// shrink, so a short answer stays valid.
pub fn sized_for(mut schema: Value, small: bool) -> Value {
    fn shorten(v: &mut Value) {
        match v {
            Value::Object(map) => {
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
                map.values_mut().for_each(shorten);
            }
            Value::Array(items) => items.iter_mut().for_each(shorten),
            _ => {}
        }
    }
    if small {
        shorten(&mut schema);
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::spec;

    #[test]
    fn a_small_model_gets_shorter_limits_and_nothing_else_changes() {
        let full = turn_schema(spec(4), &["cfo"]);
        let small = sized_for(full.clone(), true);
        assert_eq!(sized_for(full.clone(), false), full);
        assert_eq!(small["properties"]["text"]["maxLength"], 400);
        assert_eq!(small["properties"]["assumption"]["maxLength"], 100);
        // Lists: at most their fewest items, or two when they may be empty.
        assert_eq!(full["properties"]["citations"]["maxItems"], 5);
        assert_eq!(small["properties"]["citations"]["maxItems"], 2);
        let actions = sized_for(
            serde_json::json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "string"}}),
            true,
        );
        assert_eq!(actions["maxItems"], 4);
        assert_eq!(small["required"], full["required"]);
        assert_eq!(
            small["properties"]["confidence"],
            full["properties"]["confidence"]
        );
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
