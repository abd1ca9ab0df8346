//! Reading a persona's answer into a [`Turn`]: every doubtful thing is
//! repaired or flagged, so a weak model cannot make the transcript lie.
//! Pure functions: no model, no IO.

use crate::rounds::{RoundExtra, RoundSpec};
use council_core::answers::{AssumptionsAnswer, StoryTurnAnswer, TurnAnswer};
use council_core::{Persona, Turn};
use serde_json::Value;
use std::collections::HashMap;

/// What a turn's answer is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TurnContext<'a> {
    /// The round number.
    pub(crate) round: u32,
    /// What the round asks for.
    pub(crate) spec: &'a RoundSpec,
    /// The speaker.
    pub(crate) persona: &'a Persona,
    /// The ids the speaker may answer or target.
    pub(crate) peers: &'a [&'a str],
    /// The question (for the off-topic check).
    pub(crate) question: &'a str,
    /// The debate's language.
    pub(crate) lang: &'a str,
}

fn trimmed(s: String) -> Option<String> {
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Builds a turn from a model's JSON answer, read into the turn's types,
/// flagging everything doubtful (so weak models cannot make the transcript
/// lie) and keeping an answer that does not fit the types, flagged, rather
/// than losing it.
pub(crate) fn turn_from_answer(json: &Value, c: &TurnContext<'_>) -> Turn {
    let mut turn = Turn::empty(c.round, &c.persona.id);
    let answer = match serde_json::from_value::<TurnAnswer>(json.clone()) {
        Ok(a) => a,
        Err(e) => {
            turn.text = json
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .to_string();
            turn.flags.push(format!(
                "the answer does not fit the turn's form ({e}); kept as text only"
            ));
            return turn;
        }
    };
    let flags = &mut turn.flags;
    turn.move_ = Some(answer.move_);
    turn.stance = Some(answer.stance);
    turn.text = answer.text.trim().to_string();
    // Chinese and Japanese say in 15 characters what English says in 40.
    let short = if matches!(c.lang, "zh" | "ja") {
        15
    } else {
        40
    };
    if turn.text.is_empty() {
        flags.push("empty answer".into());
    } else if turn.text.chars().count() < short {
        flags.push("very short answer".into());
    }
    if matches!(answer.confidence, 0 | 100) {
        flags.push(format!("extreme confidence {}", answer.confidence));
    }
    turn.confidence = Some(answer.confidence.min(100));
    for id in answer.responds_to {
        if c.peers.contains(&id.as_str()) && !turn.responds_to.contains(&id) {
            turn.responds_to.push(id);
        } else if !turn.responds_to.contains(&id) {
            flags.push(format!("responds_to {id:?} is not a peer; dropped"));
        }
    }
    turn.citations = answer.citations.into_iter().filter_map(trimmed).collect();
    match c.spec.extra {
        RoundExtra::None => {}
        RoundExtra::Assumptions => {
            match serde_json::from_value::<AssumptionsAnswer>(json.clone()) {
                Ok(a) => {
                    turn.assumption = trimmed(a.assumption);
                    turn.target_assumption = trimmed(a.target_assumption);
                    if c.peers.contains(&a.target_peer.as_str()) {
                        turn.target_peer = Some(a.target_peer);
                    } else {
                        flags.push(format!(
                            "target_peer {:?} is not a peer; dropped",
                            a.target_peer
                        ));
                    }
                    if turn.assumption.is_none() || turn.target_assumption.is_none() {
                        flags.push("the answer lacks its own assumption or the peer's".into());
                    }
                }
                Err(_) => {
                    flags.push("the answer lacks its own assumption or a targeted peer".into())
                }
            }
        }
        RoundExtra::Story => match serde_json::from_value::<StoryTurnAnswer>(json.clone()) {
            Ok(a) => {
                turn.story = trimmed(a.story);
                turn.systemic_change = trimmed(a.systemic_change);
                if turn.story.is_none() || turn.systemic_change.is_none() {
                    flags.push("the answer lacks its story or systemic change".into());
                }
            }
            Err(_) => flags.push("the answer lacks its story or systemic change".into()),
        },
    }
    if is_repetitive(&turn.text) {
        flags.push("repetitive answer: the same sentence three or more times".into());
    }
    if !turn.text.is_empty() && c.lang != "zh" && looks_off_topic(c.question, &turn.text) {
        flags.push("may be off-topic: shares no key word with the question".into());
    }
    turn
}

const STOPWORDS: [&str; 24] = [
    "should", "would", "could", "about", "which", "their", "there", "these", "those", "where",
    "while", "being", "other", "after", "before", "under", "above", "between", "because",
    "whether", "still", "every", "quarter", "doing",
];

fn key_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 5 && !STOPWORDS.contains(&w.as_str()))
        .collect()
}

fn looks_off_topic(question: &str, text: &str) -> bool {
    let q = key_words(question);
    if q.len() < 2 {
        return false;
    }
    let t = text.to_lowercase();
    // A shared stem (first five letters) counts: "pricing" matches "prices".
    !q.iter().any(|w| {
        let stem: String = w.chars().take(5).collect();
        t.contains(&stem)
    })
}

/// Whether `text` loops: a sentence said three times, or a short phrase
/// between commas said five times ("yes, yes, yes, …").
pub(crate) fn is_repetitive(text: &str) -> bool {
    let repeats = |parts: Vec<String>, min_chars: usize, times: usize| {
        let mut counts: HashMap<String, usize> = HashMap::new();
        parts
            .into_iter()
            .filter(|s| s.chars().count() >= min_chars)
            .any(|s| {
                let n = counts.entry(s).or_default();
                *n += 1;
                *n >= times
            })
    };
    let split = |seps: &[char]| -> Vec<String> {
        text.split(seps).map(|s| s.trim().to_lowercase()).collect()
    };
    repeats(split(&['.', '!', '?', '\n', '。']), 8, 3)
        || repeats(
            split(&['.', '!', '?', '\n', '。', ',', ';', '，', '；']),
            2,
            5,
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::spec;
    use serde_json::json;

    fn persona() -> Persona {
        council_personas::Roster::builtin()
            .unwrap()
            .get("cfo")
            .unwrap()
            .clone()
    }

    fn read(answer: Value, round: u32, peers: &[&str], question: &str) -> Turn {
        let p = persona();
        turn_from_answer(
            &answer,
            &TurnContext {
                round,
                spec: spec(round),
                persona: &p,
                peers,
                question,
                lang: "en",
            },
        )
    }

    #[test]
    fn weak_answers_are_repaired_and_flagged() {
        let answer = json!({"move": "SHARE", "stance": "support", "text": "ok", "confidence": 100, "responds_to": ["cfo", "ghost", "cto"], "citations": [" [2] ", ""]});
        let t = read(answer, 2, &["cto", "auditor"], "Should we raise prices?");
        assert_eq!(t.confidence, Some(100));
        assert_eq!(t.stance, Some(council_core::answers::Stance::Support));
        assert_eq!(t.responds_to, vec!["cto"]);
        assert_eq!(t.citations, vec!["[2]"]);
        let flags = t.flags.join(" | ");
        for expected in [
            "extreme confidence 100",
            "very short",
            "\"ghost\" is not a peer",
            "\"cfo\" is not a peer",
        ] {
            assert!(flags.contains(expected), "missing {expected:?} in {flags}");
        }
    }

    #[test]
    fn an_answer_that_does_not_fit_the_form_is_kept_and_flagged() {
        let t = read(
            json!({"move": "AGREE", "stance": "mixed", "text": "Raise prices for new customers only.", "confidence": 70}),
            1,
            &["cto"],
            "Should we raise prices?",
        );
        assert_eq!(t.status, council_core::TurnStatus::Ok);
        assert_eq!(t.text, "Raise prices for new customers only.");
        assert_eq!((t.move_, t.confidence), (None, None));
        assert!(
            t.flags[0].contains("does not fit the turn's form"),
            "{:?}",
            t.flags
        );
    }

    #[test]
    fn off_topic_text_is_flagged_and_on_topic_text_is_not() {
        let q = "Should we raise subscription prices for enterprise customers next year?";
        assert!(looks_off_topic(
            q,
            "The weather in spring is lovely and birds sing."
        ));
        assert!(!looks_off_topic(
            q,
            "Enterprise buyers will accept a 10% increase if support improves."
        ));
    }

    #[test]
    fn round_four_needs_a_real_peer() {
        let answer = json!({"move": "CHALLENGE", "stance": "oppose", "text": "A long enough answer about pricing and margins.", "confidence": 60,
            "responds_to": [], "citations": [], "assumption": "a", "target_peer": "nobody", "target_assumption": "b"});
        let t = read(answer, 4, &["cto"], "pricing?");
        assert_eq!(t.target_peer, None);
        assert!(
            t.flags.iter().any(|f| f.contains("target_peer")),
            "{:?}",
            t.flags
        );
    }

    #[test]
    fn a_phrase_said_again_and_again_between_commas_is_repetitive() {
        assert!(is_repetitive(
            "support, yes, in support, yes, yes, yes, yes, yes, yes,"
        ));
        assert!(!is_repetitive(
            "Raise prices for new logos, hold them for renewals, and test the rise on two segments."
        ));
    }

    #[test]
    fn loops_are_flagged_as_repetitive() {
        assert!(is_repetitive("The auditor is expected to prove it. The auditor is expected to prove it. The auditor is expected to prove it."));
        assert!(!is_repetitive(
            "Raise prices. Protect renewals. Measure churn weekly."
        ));
    }
}
