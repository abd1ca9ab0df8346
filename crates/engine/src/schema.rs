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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::spec;

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
