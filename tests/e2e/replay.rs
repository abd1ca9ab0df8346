//! Cassettes: record through a real backend, then replay with no calls.

use council_llm::openai::{ApiKey, OpenAiCompatible, OpenAiSettings};
use council_llm::replay::CassetteModel;
use council_llm::{ChatModel, ChatRequest, LlmError};
use council_tests::{FakeServer, Reply};
use std::sync::Arc;

#[tokio::test]
async fn record_then_replay_gives_identical_answers_with_no_calls() {
    let server = FakeServer::start(vec![
        Reply::completion("first"),
        Reply::completion("second"),
        Reply::completion("{\"n\": 3}"),
    ])
    .await;
    let mut s = OpenAiSettings::new(&server.url, "fake");
    s.api_key = Some(ApiKey::new("sk-never-on-disk"));
    let inner: Arc<dyn ChatModel> = Arc::new(OpenAiCompatible::new(s).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cassette.json");
    let requests = vec![
        ChatRequest::prompt("one").with_seed(1),
        ChatRequest::prompt("two").with_seed(1),
        ChatRequest::prompt("three")
            .with_schema("n", serde_json::json!({"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]})),
    ];
    let recorder = CassetteModel::record(&path, inner).unwrap();
    let mut recorded = Vec::new();
    for r in &requests {
        recorded.push(recorder.chat(r).await.unwrap());
    }
    assert_eq!(server.hits(), 3);

    let replayer = CassetteModel::replay(&path).unwrap();
    for (r, expected) in requests.iter().zip(&recorded) {
        assert_eq!(&replayer.chat(r).await.unwrap(), expected);
    }
    assert_eq!(server.hits(), 3, "replay made a network call");
    assert_eq!(replayer.info().backend, "replay");

    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("sk-never-on-disk"),
        "a secret reached the cassette"
    );
    assert!(
        !text.contains(&server.url),
        "the server URL reached the cassette"
    );

    let miss = replayer
        .chat(&ChatRequest::prompt("four"))
        .await
        .unwrap_err();
    assert!(matches!(miss, LlmError::CassetteMiss { .. }));
    let msg = miss.to_string();
    assert!(
        msg.contains("\"four\"") && msg.contains("cassette.json"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_cassette_of_another_version_is_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.json");
    std::fs::write(
        &path,
        r#"{"version": 99, "recorded_from": null, "entries": {}}"#,
    )
    .unwrap();
    let err = CassetteModel::replay(&path).err().unwrap().to_string();
    assert!(
        err.contains("version 99") && err.contains("re-record"),
        "{err}"
    );
}
