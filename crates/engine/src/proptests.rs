//! Property tests of the engine's readers (issue 12, item 4): a persona's
//! answer into a turn, a run folder's files of any bytes, and a report
//! built from any transcript that parses. Never a panic; what cannot be
//! read is an error naming the file.

use crate::rounds::spec;
use crate::validate::{turn_from_answer, TurnContext};
use council_core::answers::TurnAnswer;
use council_core::{Event, RunHeader, Transcript};
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../tests/support/json_mutations.rs"]
mod json_mutations;
use json_mutations::{any_json, mutated};

const V1: &str = include_str!("../../../tests/fixtures/transcript-v1.json");
const V2: &str = include_str!("../../../tests/fixtures/transcript-v2.json");

const PEERS: [&str; 3] = ["cto", "coo", "auditor"];

/// An answer valid against round `round`'s turn schema.
fn valid_answer(round: u32) -> Value {
    council_llm::schema::example_for(
        &crate::schema::turn_schema(spec(round), &PEERS),
        "Before raising prices we should check churn by segment.",
    )
}

/// Any answer: arbitrary JSON, or a valid answer of any round with a few
/// fields changed or removed.
fn answers() -> impl Strategy<Value = Value> {
    prop_oneof![
        any_json(),
        (1..=5u32).prop_flat_map(|r| mutated(valid_answer(r))),
    ]
}

/// The lines of a small valid event log: the version 2 fixture's header
/// and its turns.
fn valid_log() -> Vec<String> {
    let t: Transcript = serde_json::from_str(V2).expect("the fixture parses");
    let header = RunHeader {
        version: council_core::TRANSCRIPT_VERSION,
        question: t.question.clone(),
        date: t.date.clone(),
        lang: t.lang.clone(),
        seed: t.seed,
        rounds: t.planned_rounds,
        panel: t.panel.clone(),
        notes: Vec::new(),
        sources: t.sources.clone(),
        library: Vec::new(),
        origin: None,
        variant: None,
        synthesis: true,
        started: None,
        condition: Default::default(),
    };
    std::iter::once(Event::Started(header))
        .chain(
            t.rounds
                .iter()
                .flat_map(|r| r.turns.iter().map(|x| Event::Turn(Box::new(x.clone())))),
        )
        .map(|e| serde_json::to_string(&e).expect("events serialise"))
        .collect()
}

/// An `events.jsonl`: the valid log with one line replaced by a mutated
/// copy or by arbitrary bytes, cut at any byte.
fn log_files() -> impl Strategy<Value = Vec<u8>> {
    let n = valid_log().len();
    (
        0..n,
        prop_oneof![
            (0..n).prop_flat_map(|i| {
                let line: Value = serde_json::from_str(&valid_log()[i]).expect("a line is JSON");
                mutated(line).prop_map(|v| v.to_string().into_bytes())
            }),
            prop::collection::vec(any::<u8>(), 0..64),
        ],
        any::<usize>(),
    )
        .prop_map(|(at, line, cut)| {
            let mut lines: Vec<Vec<u8>> = valid_log().into_iter().map(String::into_bytes).collect();
            lines[at] = line;
            let mut file = lines.join(&b'\n');
            file.push(b'\n');
            file.truncate(cut % (file.len() + 1));
            file
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any model answer becomes a turn of its round and speaker: an answer
    /// that does not fit the turn's form is kept as text and flagged so;
    /// what it claims is held to the rules (peers, confidence).
    #[test]
    fn any_answer_becomes_a_turn_flagged_when_it_does_not_fit(
        round in 1..=5u32,
        answer in answers(),
        off in any::<bool>(),
    ) {
        let persona = council_personas::Roster::builtin()
            .expect("the built-in roster loads")
            .get("cfo")
            .expect("the cfo is built in")
            .clone();
        let c = TurnContext {
            round,
            spec: spec(round),
            persona: &persona,
            peers: &PEERS,
            question: "Should we raise list prices 15% in Q1?",
            lang: if off { "zh" } else { "en" },
        };
        let turn = turn_from_answer(&answer, &c);
        prop_assert_eq!(turn.round, round);
        prop_assert_eq!(turn.persona.as_str(), "cfo");
        prop_assert!(turn.responds_to.iter().all(|p| PEERS.contains(&p.as_str())));
        prop_assert!(turn.confidence.is_none_or(|x| x <= 100));
        if serde_json::from_value::<TurnAnswer>(answer).is_err() {
            prop_assert!(
                turn.flags.iter().any(|f| f.contains("does not fit the turn's form")),
                "{:?}", turn.flags
            );
        }
    }

    /// A run folder's `events.jsonl` of any bytes: its complete events, or
    /// an error naming the file (and the line, when a line is damaged).
    #[test]
    fn an_event_log_of_any_bytes_is_read_or_named(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..512), log_files()]
    ) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join(crate::store::EVENTS_FILE), &bytes).expect("written");
        match crate::store::read_events(dir.path()) {
            Ok(log) => {
                if let Ok(t) = Transcript::from_events(&log.events) {
                    let _ = crate::report::report_for(&t, None);
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("events.jsonl"), "{e}"),
        }
        // Reading never writes.
        prop_assert_eq!(std::fs::read(dir.path().join(crate::store::EVENTS_FILE)).expect("read"), bytes);
    }

    /// A `transcript.json` of any bytes is refused naming the file.
    #[test]
    fn a_transcript_file_of_any_bytes_is_refused_by_name(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let file = dir.path().join(crate::store::TRANSCRIPT_FILE);
        std::fs::write(&file, &bytes).expect("written");
        if let Err(e) = crate::store::read_transcript(&file) {
            prop_assert!(e.to_string().contains("transcript.json"), "{e}");
        }
    }
}

proptest! {
    // A report of a whole debate takes ~40 ms in a debug build.
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any transcript that parses (a fixture with a few nodes changed or
    /// removed) gets its report, in English and in Chinese, with no panic.
    #[test]
    fn a_report_is_built_from_any_transcript_that_parses(
        v in prop_oneof![
            mutated(serde_json::from_str::<Value>(V1).expect("v1 is JSON")),
            mutated(serde_json::from_str::<Value>(V2).expect("v2 is JSON")),
        ],
        zh in any::<bool>(),
    ) {
        if let Ok(t) = serde_json::from_value::<Transcript>(v) {
            let report = crate::report::report_for(&t, zh.then_some("zh"));
            prop_assert!(serde_json::to_string(&report).is_ok());
        }
    }
}

#[test]
fn the_answers_the_properties_start_from_are_valid() {
    for round in 1..=5 {
        let answer = valid_answer(round);
        assert!(
            serde_json::from_value::<TurnAnswer>(answer).is_ok(),
            "round {round}"
        );
    }
}
