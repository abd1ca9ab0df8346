//! A recorded six-persona, five-round debate, replayed: deterministic, valid,
//! complete. Re-record with `bash scripts/record-fixtures.sh`.

use council_core::synthesis::{Answers, SynthesisKind};
use council_core::{transcript_schema, Transcript, TurnStatus};
use council_engine::Prompts;
use council_llm::schema::Validator;
use council_llm::SchemaSpec;
use std::sync::Arc;

/// Replays the recorded debate with the settings it was recorded with
/// (those of scripts/record-fixtures.sh and `council ask`'s defaults).
pub(crate) async fn replay_debate() -> Transcript {
    let dir = tempfile::tempdir().unwrap();
    council_tests::replay_fixture_debate(&dir.path().join("run"))
        .await
        .unwrap_or_else(|e| {
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
            assert!(
                t.move_.is_some(),
                "round {} {} has no move",
                t.round,
                t.persona
            );
            assert!(
                t.stance.is_some(),
                "round {} {} states no stance",
                t.round,
                t.persona
            );
            assert!(
                t.confidence.is_some(),
                "round {} {} has no confidence",
                t.round,
                t.persona
            );
            assert!(!t.text.trim().is_empty());
            assert_eq!(t.backend, "replay");
        }
    }
    // Every persona has a confidence in every round.
    for (persona, track) in first.confidence_trajectories() {
        assert!(track.iter().all(Option::is_some), "{persona}: {track:?}");
    }
    // Every synthesis part was answered, on the embedded model, and reads
    // into its type: the fixture is complete.
    let ids: Vec<&str> = first.panel.iter().map(|p| p.id.as_str()).collect();
    for kind in SynthesisKind::all_for(&ids) {
        let part = first
            .synthesis
            .iter()
            .find(|p| p.part == kind)
            .unwrap_or_else(|| panic!("no `{kind}` part"));
        assert_eq!(part.error, None, "`{kind}` failed");
    }
    // Every part reads into its type. The embedded model may answer in
    // another language: that is flagged (and counted in the report's
    // quality block), not a broken part.
    let answers = Answers::from_transcript(&first);
    let (language, broken): (Vec<_>, Vec<_>) = answers
        .problems
        .iter()
        .partition(|p| council_core::lang::is_language_flag(p));
    assert!(broken.is_empty(), "{broken:?}");
    let flagged_parts = first
        .synthesis
        .iter()
        .filter(|p| {
            p.flags
                .iter()
                .any(|f| council_core::lang::is_language_flag(f))
        })
        .count();
    assert_eq!(language.len(), flagged_parts);
    let report = council_engine::report::build_report(&first, &answers, Some("en"));
    assert!(report.quality.off_language as usize >= flagged_parts);
    assert!(answers.verdict.is_some() && answers.verdict.as_ref().unwrap().stance.is_some());
    assert_eq!(answers.votes.len(), ids.len());
    assert_eq!(answers.paths.len(), 3);
    assert!(!answers.forecasts.is_empty() && !answers.actions.is_empty());
    assert!(!answers.story.is_empty() && !answers.evidence.is_empty() && !answers.risks.is_empty());
}

#[tokio::test]
async fn the_model_casts_the_panel_through_the_casting_schema() {
    use council_llm::openai::{OpenAiCompatible, OpenAiSettings};
    let server = council_tests::FakeServer::start_with(
        Arc::new(council_tests::schema_answering),
        std::time::Duration::from_millis(1),
    )
    .await;
    let model = OpenAiCompatible::new(OpenAiSettings::new(&server.url, "fake")).unwrap();
    let roster = council_personas::Roster::builtin().unwrap();
    let prompts = Prompts::builtin().unwrap();
    let (panel, notes) = council_engine::cast_panel(
        &model,
        &prompts,
        &roster,
        "Should we move the sales team to usage-based commission?",
        6,
        5,
    )
    .await
    .unwrap();
    let body: serde_json::Value = serde_json::from_str(&server.bodies()[0]).unwrap();
    let schema = &body["response_format"]["json_schema"]["schema"]["properties"]["panel"];
    assert_eq!(
        schema["minItems"], 4,
        "six seats less the two held by trait"
    );
    let offered: Vec<&str> = schema["items"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!offered.contains(&"auditor") && !offered.contains(&"contrarian"));
    let prompt = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        prompt.contains("The Contrarian and The Auditor always sit"),
        "{prompt}"
    );
    // The fake answers with the first four offered: the model's picks are kept, in order.
    let ids: Vec<&str> = panel.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(&ids[..4], &offered[..4]);
    assert_eq!(&ids[4..], ["contrarian", "auditor"]);
    assert!(
        notes.is_empty(),
        "a valid casting needs no repair: {notes:?}"
    );
}

/// A model whose deeper-story answer waits until a vote has been asked
/// (or 30 s): it shows whether the second synthesis wave starts before the
/// first wave's slowest part is done.
struct StoryWaitsForAVote {
    vote_asked: tokio::sync::Notify,
    released_by_a_vote: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl council_llm::ChatModel for StoryWaitsForAVote {
    fn info(&self) -> council_llm::ModelInfo {
        council_llm::ModelInfo {
            backend: "fake".into(),
            model: "story-waits".into(),
            location: "memory".into(),
            capabilities: council_llm::Capabilities::in_process(),
        }
    }

    async fn chat(
        &self,
        request: &council_llm::ChatRequest,
    ) -> Result<council_llm::ChatResponse, council_llm::LlmError> {
        let name = request.schema.as_ref().map_or("", |s| s.name.as_str());
        if name == "synthesis_vote" {
            // Stores a permit when the story is not waiting yet.
            self.vote_asked.notify_one();
        }
        if name == "synthesis_story" {
            let waited = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                self.vote_asked.notified(),
            )
            .await;
            self.released_by_a_vote
                .store(waited.is_ok(), std::sync::atomic::Ordering::SeqCst);
        }
        let filler = "Raise list prices 15% for new logos from 1 March 2027 and measure win rates for eight weeks. ";
        let (text, json) = match &request.schema {
            Some(s) => {
                let v = council_llm::schema::example_for(&s.schema, &filler.repeat(4));
                (v.to_string(), Some(v))
            }
            None => (filler.repeat(2), None),
        };
        Ok(council_llm::ChatResponse {
            text,
            json,
            finish_reason: council_llm::FinishReason::Stop,
            usage: council_core::Usage::reported(100, 50),
            model: "story-waits".into(),
            attempts: 1,
        })
    }
}

#[tokio::test]
async fn the_second_synthesis_wave_starts_once_the_verdict_and_forecasts_land() {
    let model = Arc::new(StoryWaitsForAVote {
        vote_asked: tokio::sync::Notify::new(),
        released_by_a_vote: false.into(),
    });
    let prompts = Prompts::builtin().unwrap();
    let debate = council_tests::test_debate(
        "Should we raise prices 15% next quarter?",
        &["cfo", "cto"],
        1,
        model.clone(),
        &prompts,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut store = council_engine::RunStore::create(&dir.path().join("run")).unwrap();
    let t = council_engine::run(&debate, &mut store).await.unwrap();
    assert!(
        model
            .released_by_a_vote
            .load(std::sync::atomic::Ordering::SeqCst),
        "the votes waited for the whole first wave (the story) instead of the verdict and forecasts"
    );
    // Every part is there, and each vote and path was logged after both
    // parts it reads.
    let parts: Vec<&SynthesisKind> = t.synthesis.iter().map(|p| &p.part).collect();
    assert_eq!(parts.len(), 6 + 4 + 3, "{parts:?}");
    assert!(t.synthesis.iter().all(|p| p.error.is_none()));
    let at = |k: &SynthesisKind| parts.iter().position(|p| *p == k).unwrap();
    let read_first = at(&SynthesisKind::Verdict).max(at(&SynthesisKind::Forecasts));
    for (i, p) in parts.iter().enumerate() {
        if p.needs_forecasts() {
            assert!(
                i > read_first,
                "{p} logged before the verdict and forecasts: {parts:?}"
            );
        }
    }
    assert!(at(&SynthesisKind::Story) > read_first);
}
