//! A recorded six-persona, five-round debate, replayed: deterministic, valid,
//! complete. Re-record with `bash scripts/record-fixtures.sh`.

use council_core::{transcript_schema, Move, Transcript, TurnStatus};
use council_engine::{run, Debate, DebateSettings, Models, NoProgress, Prompts, RunStore};
use council_llm::replay::CassetteModel;
use council_llm::schema::Validator;
use council_llm::SchemaSpec;
use std::sync::Arc;

fn fixture(name: &str) -> std::path::PathBuf {
    council_tests::workspace_root()
        .join("tests/fixtures")
        .join(name)
}

/// Replays the recorded debate with the settings it was recorded with
/// (those of scripts/record-fixtures.sh and `council ask`'s defaults).
pub(crate) async fn replay_debate() -> Transcript {
    let model = Arc::new(CassetteModel::replay(fixture("debate.cassette.json")).unwrap());
    let roster = council_personas::Roster::builtin().unwrap();
    let ids: Vec<String> = [
        "cfo",
        "cto",
        "brand-strategist",
        "org-psychologist",
        "contrarian",
        "auditor",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let prompts = Prompts::builtin().unwrap();
    let question = std::fs::read_to_string(fixture("debate-question.txt"))
        .unwrap()
        .trim()
        .to_string();
    let debate = Debate {
        question,
        panel: roster.panel_from_ids(&ids).unwrap(),
        settings: DebateSettings {
            rounds: 5,
            max_concurrency: 6,
            seed: 11,
            date: "2026-11-26".into(),
            lang: "en".into(),
            max_tokens: 700,
            synthesis: true,
        },
        models: Models::new(model),
        prompts: &prompts,
        progress: &NoProgress,
        notes: Vec::new(),
        library: None,
        library_inputs: Vec::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut store = RunStore::create(&dir.path().join("run")).unwrap();
    run(&debate, &mut store).await.unwrap_or_else(|e| {
        panic!(
            "{e}\nIf prompts or schemas changed, re-record with: bash scripts/record-fixtures.sh"
        )
    })
}

#[tokio::test]
async fn a_replayed_debate_is_deterministic_and_complete() {
    let first = replay_debate().await;
    let second = replay_debate().await;
    assert_eq!(
        first, second,
        "replaying the same cassette gave different transcripts"
    );

    assert_eq!(first.panel.len(), 6);
    assert_eq!(first.rounds.len(), 5);
    let validator = Validator::new(&SchemaSpec {
        name: "transcript".into(),
        schema: transcript_schema(),
    })
    .unwrap();
    validator
        .check(&serde_json::to_string(&first).unwrap())
        .unwrap();
    for round in &first.rounds {
        assert!(
            round
                .summary
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty()),
            "round {} has no summary",
            round.number
        );
        assert_eq!(round.turns.len(), 6, "round {}", round.number);
        for t in &round.turns {
            assert_eq!(t.status, TurnStatus::Ok, "{t:?}");
            let m = t
                .move_
                .unwrap_or_else(|| panic!("round {} {} has no move", t.round, t.persona));
            assert!(Move::ALL.contains(&m));
            assert!(
                t.confidence.is_some_and(|c| c <= 100),
                "round {} {}: {:?}",
                t.round,
                t.persona,
                t.confidence
            );
            assert!(!t.text.trim().is_empty());
            assert_eq!(t.backend, "replay");
        }
    }
    // Every persona has a confidence in every round.
    for (persona, track) in first.confidence_trajectories() {
        assert!(track.iter().all(Option::is_some), "{persona}: {track:?}");
    }
}
