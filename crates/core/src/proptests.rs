//! Property tests of the event-line, event-log, transcript and synthesis
//! answer readers (issue 12, item 4): arbitrary bytes and mutated valid
//! values never panic, and what cannot be read is an error that says what
//! is wrong.

use crate::synthesis::Answers;
use crate::{Event, FollowupAsked, RunHeader, Summary, Transcript, Turn, Usage, MAX_ROUNDS};
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../tests/support/json_mutations.rs"]
mod json_mutations;
use json_mutations::{any_json, mutated};

const V1: &str = include_str!("../../../tests/fixtures/transcript-v1.json");
const V2: &str = include_str!("../../../tests/fixtures/transcript-v2.json");

fn fixture(text: &str) -> Transcript {
    serde_json::from_str(text).expect("the transcript fixtures parse")
}

fn summary(round: u32, text: &str) -> Summary {
    Summary {
        round,
        text: text.into(),
        absent: Vec::new(),
        fallback: false,
        copied_from: None,
        flags: Vec::new(),
        usage: Usage::reported(10, 5),
        backend: "fake".into(),
        model: "m".into(),
    }
}

/// The event log of a finished five-round run with its synthesis and a
/// follow-up (the version 2 fixture's debate), one JSON value per line.
fn valid_log() -> Vec<Value> {
    let t = fixture(V2);
    let header = RunHeader {
        version: crate::TRANSCRIPT_VERSION,
        question: t.question.clone(),
        date: t.date.clone(),
        lang: t.lang.clone(),
        seed: t.seed,
        rounds: t.planned_rounds,
        panel: t.panel.clone(),
        notes: t.notes.clone(),
        sources: t.sources.clone(),
        library: Vec::new(),
        origin: None,
        variant: None,
        synthesis: true,
        started: None,
        condition: Default::default(),
    };
    let mut events = vec![Event::Started(header)];
    for r in &t.rounds {
        events.extend(r.turns.iter().map(|x| Event::Turn(Box::new(x.clone()))));
        if let Some(s) = &r.summary {
            events.push(Event::Summary(summary(r.number, s)));
        }
    }
    events.extend(t.synthesis.iter().cloned().map(Event::Synthesis));
    events.push(Event::Followup(FollowupAsked {
        number: 1,
        question: "And if we wait a quarter?".into(),
    }));
    let mut answer = Turn::empty(1, &t.panel[0].id);
    answer.text = "Waiting costs us the renewal season.".into();
    events.push(Event::FollowupTurn(Box::new(answer)));
    events.push(Event::FollowupSummary(summary(1, "Most would not wait.")));
    events
        .iter()
        .map(|e| serde_json::to_value(e).expect("events serialise"))
        .collect()
}

/// A log's lines after edits: a line replaced by a mutated copy, removed,
/// repeated at the end, or moved to the front.
fn edited_log() -> impl Strategy<Value = Vec<Value>> {
    let log = valid_log();
    let n = log.len();
    let edit =
        (0..n, 0..4u8).prop_flat_map(move |(i, how)| (Just(i), Just(how), mutated(log[i].clone())));
    prop::collection::vec(edit, 1..6).prop_map(|edits| {
        let mut lines = valid_log();
        for (i, how, changed) in edits {
            let i = i % lines.len().max(1);
            match how {
                0 => lines[i] = changed,
                1 if lines.len() > 1 => {
                    lines.remove(i);
                }
                2 => lines.push(lines[i].clone()),
                _ => {
                    let line = lines.remove(i);
                    lines.insert(0, line);
                }
            }
        }
        lines
    })
}

/// Round numbers: small ones, the edges of the plan, the largest.
fn numbers() -> impl Strategy<Value = u32> {
    prop_oneof![0..12u32, Just(MAX_ROUNDS + 1), Just(u32::MAX), any::<u32>()]
}

/// Every number of a transcript that counts rounds: `planned_rounds`, each
/// round's `number` and each turn's `round`.
fn number_slots(t: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    let Value::Object(o) = t else { return out };
    for (k, v) in o.iter_mut() {
        match (k.as_str(), v) {
            ("planned_rounds", v) => out.push(v),
            ("rounds", Value::Array(rounds)) => {
                for r in rounds {
                    let Value::Object(r) = r else { continue };
                    for (k, v) in r.iter_mut() {
                        match (k.as_str(), v) {
                            ("number", v) => out.push(v),
                            ("turns", Value::Array(turns)) => {
                                out.extend(turns.iter_mut().filter_map(|x| x.get_mut("round")));
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Reads a transcript's answers and checks every problem names its part.
fn answers_are_named(t: &Transcript) {
    let a = Answers::from_transcript(t);
    for p in &a.problems {
        assert!(
            p.starts_with("synthesis part `") || p.starts_with("votes:"),
            "an unnamed problem: {p}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// One line of `events.jsonl` from arbitrary bytes: an event or serde's
    /// message, which names the line's column.
    #[test]
    fn an_event_line_of_any_bytes_is_an_event_or_a_message(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = serde_json::from_slice::<Event>(&bytes) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// A valid event line with a few of its fields changed or removed.
    #[test]
    fn a_mutated_event_line_is_an_event_or_a_message(
        line in (0..valid_log().len()).prop_flat_map(|i| mutated(valid_log()[i].clone()))
    ) {
        if let Err(e) = serde_json::from_value::<Event>(line) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// A whole log with lines changed, lost, repeated or out of order folds
    /// into a transcript whose answers read without a panic, or is refused
    /// with a message naming what is wrong.
    #[test]
    fn an_edited_event_log_folds_or_is_refused_by_name(lines in edited_log()) {
        let events: Vec<Event> = lines
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
        match Transcript::from_events(&events) {
            Ok(t) => {
                prop_assert!(t.rounds.len() as u64 <= u64::from(t.planned_rounds));
                answers_are_named(&t);
            }
            Err(e) => prop_assert!(
                ["event", "follow-up", "round"].iter().any(|w| e.contains(w)),
                "an unnamed error: {e}"
            ),
        }
    }

    /// Lines of a damaged log (the header included) claiming any round,
    /// rounds planned or follow-up number (a flipped bit, a hand edit): a
    /// transcript whose every number is in bounds, or an error naming one
    /// of the log's lines and the fix; never billions of rounds.
    #[test]
    fn lines_of_any_round_numbers_are_placed_or_refused_by_line(
        edits in prop::collection::vec((prop_oneof![Just(0), any::<usize>()], numbers()), 1..4),
    ) {
        let mut lines = valid_log();
        let n = lines.len();
        for (which, number) in edits {
            let line = &mut lines[which % n];
            for key in ["round", "rounds", "number"] {
                if let Some(slot) = line.get_mut(key) {
                    *slot = number.into();
                }
            }
        }
        let events: Vec<Event> = lines
            .into_iter()
            .map(|v| serde_json::from_value(v).expect("still an event"))
            .collect();
        match Transcript::from_events(&events) {
            Ok(t) => {
                prop_assert!(t.planned_rounds <= MAX_ROUNDS);
                // What the log folds into passes the transcript file's check.
                prop_assert_eq!(t.check_numbers(), Ok(()));
            }
            Err(e) => {
                let line: Option<usize> = e
                    .strip_prefix("line ")
                    .and_then(|r| r.split(':').next())
                    .and_then(|x| x.parse().ok());
                prop_assert!(line.is_some_and(|l| (1..=n).contains(&l)), "{e}");
                prop_assert!(e.contains("restore the log from a backup, or start the run again"), "{e}");
            }
        }
    }

    /// A transcript file whose round, rounds-planned or follow-up numbers
    /// are any numbers: passed only when every one is in bounds (what the
    /// readers count, loop and allocate by), else refused naming the field.
    #[test]
    fn a_transcript_of_any_round_numbers_is_in_bounds_or_refused_by_field(
        v in prop_oneof![
            Just(serde_json::from_str::<Value>(V1).expect("v1 is JSON")),
            Just(serde_json::from_str::<Value>(V2).expect("v2 is JSON")),
        ],
        edits in prop::collection::vec((any::<usize>(), numbers()), 1..4),
    ) {
        let mut v = v;
        let mut slots = number_slots(&mut v);
        let total = slots.len();
        for (which, number) in edits {
            *slots[which % total] = number.into();
        }
        let t: Transcript = serde_json::from_value(v).expect("still a transcript");
        match t.check_numbers() {
            Ok(()) => {
                prop_assert!((1..=MAX_ROUNDS).contains(&t.planned_rounds));
                prop_assert!(t.rounds.len() as u64 <= u64::from(t.planned_rounds));
                for (i, r) in t.rounds.iter().enumerate() {
                    prop_assert_eq!(r.number as usize, i + 1);
                    prop_assert!(r.turns.iter().all(|x| x.round == r.number));
                }
            }
            Err(e) => prop_assert!(
                ["planned_rounds ", "rounds ", "rounds[", "followups["].iter().any(|f| e.starts_with(f)),
                "{e}"
            ),
        }
    }

    /// `transcript.json` from arbitrary bytes.
    #[test]
    fn a_transcript_of_any_bytes_is_refused_with_a_message(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        if let Err(e) = serde_json::from_slice::<Transcript>(&bytes) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// Either fixture transcript (versions 1 and 2) with a few nodes
    /// changed or removed: read, its answers read, or refused by serde.
    #[test]
    fn a_mutated_transcript_reads_or_is_refused(
        v in prop_oneof![
            mutated(serde_json::from_str(V1).expect("v1 is JSON")),
            mutated(serde_json::from_str(V2).expect("v2 is JSON")),
        ]
    ) {
        match serde_json::from_value::<Transcript>(v) {
            Ok(t) => answers_are_named(&t),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// Model answers as a transcript keeps them: any JSON value as any
    /// synthesis part's answer is read or becomes a problem naming the part.
    #[test]
    fn any_synthesis_answer_is_read_or_named(
        which in any::<usize>(),
        value in prop_oneof![any_json(), mutated(serde_json::from_str::<Value>(V2).expect("v2 is JSON")["synthesis"][0]["value"].clone())],
        old in any::<bool>(),
    ) {
        let mut t = fixture(if old { V1 } else { V2 });
        let n = t.synthesis.len();
        let part = &mut t.synthesis[which % n];
        let scalar = !(value.is_object() || value.is_array());
        part.value = value;
        let named = format!("synthesis part `{}`", part.part);
        let a = Answers::from_transcript(&t);
        for p in &a.problems {
            prop_assert!(p.starts_with("synthesis part `") || p.starts_with("votes:"), "{p}");
        }
        if scalar {
            prop_assert!(a.problems.iter().any(|p| p.starts_with(&named)), "{named} not in {:?}", a.problems);
        }
    }
}
