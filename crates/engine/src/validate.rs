//! Reading a persona's answer into a [`Turn`]: every doubtful thing is
//! repaired or flagged, so a weak model cannot make the transcript lie.
//! Pure functions: no model, no IO.

use crate::rounds::{RoundExtra, RoundSpec};
use council_core::{Move, Persona, Turn, TurnStatus, Usage};
use std::collections::HashMap;

fn str_field(json: &serde_json::Value, key: &str) -> Option<String> {
    json.get(key)
        .and_then(|v| v.as_str())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Builds a turn from a model's JSON answer, repairing what it can and
/// flagging everything doubtful, so weak models cannot make the transcript lie.
pub(crate) fn turn_from_answer(
    json: &serde_json::Value,
    round: u32,
    spec: &RoundSpec,
    persona: &Persona,
    others: &[&str],
    question: &str,
    lang: &str,
) -> Turn {
    let mut flags = Vec::new();
    let move_ = match json.get("move").and_then(|v| v.as_str()) {
        Some(m) => match m.parse::<Move>() {
            Ok(m) => Some(m),
            Err(_) => {
                flags.push(format!("invalid move {m:?} dropped"));
                None
            }
        },
        None => {
            flags.push("no move given".into());
            None
        }
    };
    let text = str_field(json, "text").unwrap_or_default();
    if text.is_empty() {
        flags.push("empty answer".into());
    } else if text.chars().count() < 40 {
        flags.push("very short answer".into());
    }
    let confidence = match json.get("confidence").and_then(|v| v.as_f64()) {
        Some(c) if (0.0..=100.0).contains(&c) => Some(c.round() as u8),
        Some(c) => {
            flags.push(format!("confidence {c} out of 0–100, clamped"));
            Some(c.clamp(0.0, 100.0).round() as u8)
        }
        None => {
            flags.push("no confidence given".into());
            None
        }
    };
    if let Some(c @ (0 | 100)) = confidence {
        flags.push(format!("extreme confidence {c}"));
    }
    let mut responds_to = Vec::new();
    for v in json
        .get("responds_to")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        match v.as_str() {
            Some(id) if others.contains(&id) && !responds_to.iter().any(|r| r == id) => {
                responds_to.push(id.to_string())
            }
            Some(id) => flags.push(format!("responds_to {id:?} is not a peer; dropped")),
            None => flags.push("responds_to holds a non-string; dropped".into()),
        }
    }
    let citations = json
        .get("citations")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(|s| s.trim().to_string()))
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let (mut assumption, mut target_peer, mut target_assumption, mut story, mut systemic_change) =
        (None, None, None, None, None);
    if spec.extra == RoundExtra::Assumptions {
        assumption = str_field(json, "assumption");
        target_assumption = str_field(json, "target_assumption");
        target_peer = str_field(json, "target_peer");
        if let Some(p) = &target_peer {
            if !others.contains(&p.as_str()) {
                flags.push(format!("target_peer {p:?} is not a peer; dropped"));
                target_peer = None;
            }
        }
        if assumption.is_none() || target_peer.is_none() || target_assumption.is_none() {
            flags.push("the answer lacks its own assumption or a targeted peer".into());
        }
    }
    if spec.extra == RoundExtra::Story {
        story = str_field(json, "story");
        systemic_change = str_field(json, "systemic_change");
        if story.is_none() || systemic_change.is_none() {
            flags.push("the answer lacks its story or systemic change".into());
        }
    }
    if is_repetitive(&text) {
        flags.push("repetitive answer: the same sentence three or more times".into());
    }
    if !text.is_empty() && lang != "zh" && looks_off_topic(question, &text) {
        flags.push("may be off-topic: shares no key word with the question".into());
    }
    Turn {
        round,
        persona: persona.id.clone(),
        status: TurnStatus::Ok,
        move_,
        text,
        responds_to,
        confidence,
        citations,
        assumption,
        target_peer,
        target_assumption,
        story,
        systemic_change,
        flags,
        error: None,
        usage: Usage::none(),
        backend: String::new(),
        model: String::new(),
    }
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

fn is_repetitive(text: &str) -> bool {
    let mut counts: HashMap<String, usize> = HashMap::new();
    text.split(['.', '!', '?', '\n', '。'])
        .map(|s| s.trim().to_lowercase())
        .filter(|s| s.chars().count() >= 8)
        .any(|s| {
            let n = counts.entry(s).or_default();
            *n += 1;
            *n >= 3
        })
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

    #[test]
    fn weak_answers_are_repaired_and_flagged() {
        let answer = json!({"move": "AGREE", "text": "ok", "confidence": 100, "responds_to": ["cfo", "ghost", "cto"], "citations": []});
        let t = turn_from_answer(
            &answer,
            2,
            spec(2),
            &persona(),
            &["cto", "auditor"],
            "Should we raise prices?",
            "en",
        );
        assert_eq!(t.move_, None);
        assert_eq!(t.confidence, Some(100));
        assert_eq!(t.responds_to, vec!["cto"]);
        let flags = t.flags.join(" | ");
        for expected in [
            "invalid move",
            "extreme confidence 100",
            "very short",
            "\"ghost\" is not a peer",
            "\"cfo\" is not a peer",
        ] {
            assert!(flags.contains(expected), "missing {expected:?} in {flags}");
        }
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
        let answer = json!({"move": "CHALLENGE", "text": "A long enough answer about pricing and margins.", "confidence": 60,
            "responds_to": [], "citations": [], "assumption": "a", "target_peer": "nobody", "target_assumption": "b"});
        let t = turn_from_answer(&answer, 4, spec(4), &persona(), &["cto"], "pricing?", "en");
        assert_eq!(t.target_peer, None);
        assert!(
            t.flags.iter().any(|f| f.contains("target_peer")),
            "{:?}",
            t.flags
        );
    }

    #[test]
    fn loops_are_flagged_as_repetitive() {
        assert!(is_repetitive("The auditor is expected to prove it. The auditor is expected to prove it. The auditor is expected to prove it."));
        assert!(!is_repetitive(
            "Raise prices. Protect renewals. Measure churn weekly."
        ));
    }
}
