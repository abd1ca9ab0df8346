//! The strong-model fixture (`tests/fixtures/strong/`), replayed through
//! the whole pipeline: a debate with the length and shape of a capable
//! model's answers, complete with no concern, and its report as Markdown
//! (a snapshot). Its exports are checked in `export.rs`.

use council_core::report::{Backing, ReportStatus};
use council_core::synthesis::SynthesisKind;
use council_core::{Report, Transcript, TurnStatus};
use council_engine::report::report_for;
use council_render::{render, Format};

/// The strong fixture's debate, replayed into a fresh folder.
pub(crate) async fn strong_transcript() -> Transcript {
    let dir = tempfile::tempdir().unwrap();
    council_tests::strong::replay_strong_debate(dir.path())
        .await
        .unwrap_or_else(|e| panic!("the strong fixture did not replay: {e}"))
}

/// Its report in English.
pub(crate) async fn strong_report() -> Report {
    report_for(&strong_transcript().await, Some("en"))
}

#[tokio::test]
async fn the_strong_debate_replays_whole_with_long_turns_and_no_flag() {
    let t = strong_transcript().await;
    assert_eq!(t.panel.len(), 5);
    assert_eq!(t.rounds.len(), 5);
    for round in &t.rounds {
        assert_eq!(round.turns.len(), 5, "round {}", round.number);
        let summary = round.summary.as_deref().unwrap_or_default();
        let words = summary.split_whitespace().count();
        assert!(
            (80..=150).contains(&words),
            "round {}'s summary has {words} words",
            round.number
        );
        for turn in &round.turns {
            let at = format!("round {} {}", turn.round, turn.persona);
            assert_eq!(turn.status, TurnStatus::Ok, "{at}");
            assert!(turn.flags.is_empty(), "{at}: {:?}", turn.flags);
            let words = turn.text.split_whitespace().count();
            assert!((120..=220).contains(&words), "{at}: {words} words");
            assert_eq!(turn.backend, "scripted", "{at}");
            assert!(turn.move_.is_some() && turn.stance.is_some(), "{at}");
        }
    }
    // The rounds' extra fields reached the transcript.
    assert!(t.rounds[3]
        .turns
        .iter()
        .all(|x| x.assumption.is_some() && x.target_peer.is_some()));
    assert!(t.rounds[4]
        .turns
        .iter()
        .all(|x| x.story.is_some() && x.systemic_change.is_some()));
    // Confidences vary between advisors and across rounds.
    let mut confidences: Vec<u8> = t
        .rounds
        .iter()
        .flat_map(|r| &r.turns)
        .filter_map(|x| x.confidence)
        .collect();
    confidences.sort_unstable();
    confidences.dedup();
    assert!(confidences.len() >= 15, "{confidences:?}");
    // Every synthesis part answered at the first try, unflagged.
    let ids: Vec<&str> = t.panel.iter().map(|p| p.id.as_str()).collect();
    for kind in SynthesisKind::all_for(&ids) {
        let part = t
            .synthesis
            .iter()
            .find(|p| p.part == kind)
            .unwrap_or_else(|| panic!("no `{kind}` part"));
        assert_eq!(part.error, None, "`{kind}`");
        assert!(part.flags.is_empty(), "`{kind}`: {:?}", part.flags);
        assert_eq!(part.usage.calls, 1, "`{kind}`");
    }
    // The library's three sources came with the run, by file name.
    assert_eq!(t.sources.len(), 3);
}

#[tokio::test]
async fn the_strong_report_is_complete_with_every_quote_verified() {
    let report = strong_report().await;
    assert_eq!(report.quality.status(), ReportStatus::Complete);
    assert!(report.concerns.is_empty(), "{:?}", report.concerns);
    assert!(report.flags.is_empty(), "{:#?}", report.flags);
    let v = &report.verification;
    assert!(
        v.quotes_checked >= 14,
        "{} quotes checked",
        v.quotes_checked
    );
    assert!(v.unverified_quotes.is_empty(), "{:?}", v.unverified_quotes);
    assert!(v.unknown_forecast_ids.is_empty());
    assert_eq!(v.verdict_contradictions, 0);

    assert_eq!(report.votes.len(), 5);
    assert_eq!(report.forecasts.len(), 5);
    for f in &report.forecasts {
        assert_eq!(f.probabilities.len(), 5, "{}", f.statement);
        assert!(f.median.is_some());
    }
    assert_eq!(report.actions.len(), 5);
    for a in &report.actions {
        assert!(!a.owner.is_empty() && a.when.starts_with("2027-"), "{a:?}");
    }
    assert!(
        report
            .actions
            .iter()
            .filter(|a| a.trigger.is_some())
            .count()
            >= 2
    );
    assert_eq!(report.paths.len(), 3);
    for p in &report.paths {
        assert_eq!(p.milestones.len(), 6, "{}", p.title);
        for m in &p.milestones {
            let backed = match &m.backing {
                Backing::Quote { verified, .. } => *verified,
                Backing::Forecast { valid, .. } => *valid,
                Backing::None => false,
            };
            assert!(backed, "{}: month {} is not backed", p.title, m.month);
            // A milestone is a sentence, not a word or two.
            assert!(m.event.split_whitespace().count() >= 12, "{:?}", m.event);
        }
    }
    assert_eq!(report.evidence.len(), 5);
    assert!(report.evidence.iter().all(|e| e.verified));
    assert!(
        report
            .evidence
            .iter()
            .filter(|e| e.source.is_some())
            .count()
            >= 3
    );
    assert_eq!(report.story.len(), 2);
    assert!(report.risks.len() >= 3);
    assert_eq!(report.sources_used.len(), 3, "{:?}", report.sources_unused);
}

#[tokio::test]
async fn the_strong_report_as_markdown_snapshot() {
    let md = render(&strong_report().await, Format::Markdown).unwrap();
    insta::assert_snapshot!("strong_report_en_md", md);
}

#[tokio::test]
async fn the_scripted_model_names_a_request_it_has_no_answer_for() {
    use council_llm::{ChatModel, ChatRequest, Message};
    let model = council_tests::strong::ScriptedModel::load(
        &council_tests::strong::fixture_dir(),
        vec![("cfo".into(), "The CFO".into())],
    )
    .unwrap();
    // Round 6 was never scripted.
    let turn = ChatRequest::new(vec![
        Message::system(
            "An executive advisory board meets.\n\nYou are The CFO, Chief financial officer.",
        ),
        Message::user("Round 6 of 6."),
    ])
    .with_schema("turn_round6", serde_json::json!({"type": "object"}));
    let err = model.chat(&turn).await.unwrap_err().to_string();
    assert!(
        err.contains("no answer for round 6, cfo's turn") && err.contains("tests/fixtures/strong/"),
        "{err}"
    );
    // An answer that breaks the request's schema is refused, not sent.
    let tight = ChatRequest::prompt("An executive advisory board has finished its debate.")
        .with_schema(
            "synthesis_verdict",
            serde_json::json!({"type": "object", "properties": {"answer": {"type": "string", "maxLength": 10}}}),
        );
    let err = model.chat(&tight).await.unwrap_err().to_string();
    assert!(
        err.contains("synthesis part `verdict` breaks its schema"),
        "{err}"
    );
}
