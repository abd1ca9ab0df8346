//! The OpenAI-compatible backend against a real server: llama.cpp's own,
//! from the PyPI package xllamacpp, on the embedded default model.

use council_llm::openai::{OpenAiCompatible, OpenAiSettings};
use council_llm::{ChatModel, ChatRequest};
use council_tests::LlamaServer;
use serde_json::json;

#[tokio::test]
async fn plain_and_json_schema_answers_from_llama_cpp_server() {
    let server = tokio::task::spawn_blocking(LlamaServer::start)
        .await
        .unwrap();
    let model = OpenAiCompatible::new(OpenAiSettings::new(&server.url, "smollm2")).unwrap();

    let plain = model
        .chat(
            &ChatRequest::prompt("Name one risk of raising prices.")
                .with_max_tokens(40)
                .with_seed(1),
        )
        .await
        .unwrap();
    assert!(!plain.text.trim().is_empty());
    assert!(
        plain.usage.prompt_tokens.unwrap() > 5,
        "llama.cpp reports usage: {:?}",
        plain.usage
    );
    assert!(plain.usage.completion_tokens.unwrap() <= 40);

    let schema = json!({
        "type": "object",
        "properties": {
            "risk": {"type": "string", "maxLength": 100},
            "confidence": {"type": "integer", "minimum": 0, "maximum": 100}
        },
        "required": ["risk", "confidence"]
    });
    let structured = model
        .chat(
            &ChatRequest::prompt("Name one risk of raising prices, with your confidence.")
                .with_schema("risk", schema)
                .with_max_tokens(120)
                .with_seed(2),
        )
        .await
        .unwrap();
    let v = structured.json.expect("validated JSON");
    assert!(v["risk"].is_string());
    let c = v["confidence"].as_i64().unwrap();
    assert!((0..=100).contains(&c));
    assert!(
        model.info().capabilities.native_json_schema,
        "llama.cpp honours response_format"
    );
}
