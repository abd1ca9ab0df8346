//! The JSON schemas each turn answers with, built per round from the one
//! move set in `core`.

use crate::rounds::{RoundExtra, RoundSpec};
use council_core::Move;
use serde_json::{json, Value};

/// Longest `text` a turn may have, in characters.
pub const MAX_TEXT: usize = 1600;

/// The schema of a turn in the round `spec`; `peers` are the ids it may answer or target.
pub fn turn_schema(spec: &RoundSpec, peers: &[&str]) -> Value {
    let peer_ids = json!({"type": "string", "enum": peers});
    let mut properties = json!({
        "move": {"type": "string", "enum": Move::names()},
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT},
        "responds_to": {"type": "array", "items": peer_ids.clone(), "maxItems": 3},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 100},
        "citations": {"type": "array", "items": {"type": "string", "maxLength": 40}, "maxItems": 5}
    });
    let mut required = vec!["move", "text", "responds_to", "confidence", "citations"];
    let extra: &[(&str, Value)] = match spec.extra {
        RoundExtra::Assumptions => &[
            (
                "assumption",
                json!({"type": "string", "minLength": 1, "maxLength": 400}),
            ),
            ("target_peer", peer_ids),
            (
                "target_assumption",
                json!({"type": "string", "minLength": 1, "maxLength": 400}),
            ),
        ],
        RoundExtra::Story => &[
            (
                "story",
                json!({"type": "string", "minLength": 1, "maxLength": 600}),
            ),
            (
                "systemic_change",
                json!({"type": "string", "minLength": 1, "maxLength": 400}),
            ),
        ],
        RoundExtra::None => &[],
    };
    for (k, v) in extra {
        properties[*k] = v.clone();
        required.push(k);
    }
    json!({"type": "object", "properties": properties, "required": required})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_come_from_the_one_set_and_rounds_add_their_fields() {
        let s = turn_schema(crate::rounds::spec(4), &["cfo", "cto"]);
        assert_eq!(
            s["properties"]["move"]["enum"].as_array().unwrap().len(),
            Move::ALL.len()
        );
        assert!(s["required"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v == "target_peer"));
        assert_eq!(
            s["properties"]["target_peer"]["enum"],
            json!(["cfo", "cto"])
        );
        let s5 = turn_schema(crate::rounds::spec(5), &["cfo"]);
        assert!(s5["properties"]["story"].is_object());
        assert!(turn_schema(crate::rounds::spec(1), &["cfo"])["properties"]
            .get("story")
            .is_none());
    }
}
