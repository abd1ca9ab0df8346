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

/// The `llamacpp` preset streams: the real server's server-sent events
/// arrive piece by piece, a schema-constrained answer among them, with the
/// usage from the last chunk.
#[tokio::test]
async fn llama_cpp_server_streams_plain_and_structured_answers() {
    let server = tokio::task::spawn_blocking(LlamaServer::start)
        .await
        .unwrap();
    let table: toml::Table = format!(
        "provider = \"llamacpp\"\nbase_url = \"{}\"\nmodel = \"smollm2\"",
        server.url
    )
    .parse()
    .unwrap();
    let file = council_llm::config::ConfigFile::from_table(None, table).unwrap();
    let resolved = council_llm::config::resolve(&Default::default(), &|_| None, &file).unwrap();
    let model = council_llm::config::build(&resolved).await.unwrap();
    for request in [
        ChatRequest::prompt("Name three risks of raising prices, one line each.")
            .with_max_tokens(60)
            .with_seed(4),
        ChatRequest::prompt("Name one risk of raising prices, with your confidence.")
            .with_schema(
                "risk",
                json!({
                    "type": "object",
                    "properties": {
                        "risk": {"type": "string", "maxLength": 100},
                        "confidence": {"type": "integer", "minimum": 0, "maximum": 100}
                    },
                    "required": ["risk", "confidence"]
                }),
            )
            .with_max_tokens(120)
            .with_seed(5),
    ] {
        let pieces = std::sync::Mutex::new(Vec::<String>::new());
        let sink = |p: &str| pieces.lock().unwrap().push(p.to_string());
        let r = model.chat_streaming(&request, &sink).await.unwrap();
        let pieces = pieces.into_inner().unwrap();
        let joined: String = pieces.concat();
        assert!(
            pieces.iter().filter(|p| !p.is_empty()).count() > 3,
            "streamed in pieces: {pieces:?}"
        );
        assert!(joined.ends_with(&r.text), "{joined:?} vs {:?}", r.text);
        assert!(
            r.usage.prompt_tokens.unwrap_or(0) > 5 && r.usage.completion_tokens.unwrap_or(0) > 0,
            "usage from the stream's last chunk: {:?}",
            r.usage
        );
        if request.schema.is_some() {
            assert!(r.json.expect("validated JSON")["risk"].is_string());
        }
    }
}

/// A debate with synthesis on the real server (two rounds keep the suite
/// quick): every turn and every synthesis part must be present. A real
/// server stops an answer at `max_tokens` (`finish_reason: length`); such an
/// answer is asked again with a larger limit, so none is lost to it.
#[tokio::test]
async fn a_debate_with_synthesis_on_llama_cpp_server_keeps_every_turn_and_part() {
    use council_engine::{run, Prompts, RunStore};
    use std::sync::Arc;

    let server = tokio::task::spawn_blocking(LlamaServer::start)
        .await
        .unwrap();
    let model =
        Arc::new(OpenAiCompatible::new(OpenAiSettings::new(&server.url, "smollm2")).unwrap());
    let prompts = Prompts::builtin().unwrap();
    let mut d = council_tests::test_debate(
        "We are a 40-person B2B analytics company. Should we raise prices 15% next quarter?",
        &["cfo", "cto", "brand-strategist", "org-psychologist"],
        2,
        model,
        &prompts,
    );
    d.settings.seed = 5;
    d.settings.max_tokens = 700;
    let dir = tempfile::tempdir().unwrap();
    let mut store = RunStore::create(dir.path()).unwrap();
    let t = run(&d, &mut store).await.unwrap();
    let panel = t.panel.len();
    let mut missing = Vec::new();
    for r in &t.rounds {
        for turn in &r.turns {
            if turn.status != council_core::TurnStatus::Ok {
                missing.push(format!(
                    "round {} {}: {:?}",
                    r.number, turn.persona, turn.error
                ));
            }
        }
        if r.turns.len() != panel {
            missing.push(format!(
                "round {}: {} of {panel} turns",
                r.number,
                r.turns.len()
            ));
        }
    }
    for p in t.synthesis.iter().filter(|p| p.error.is_some()) {
        missing.push(format!("part {}: {:?}", p.part, p.error));
    }
    // Verdict, forecasts, a vote per advisor, actions, three paths, story, evidence, risks.
    let parts = 2 + panel + 1 + 3 + 3;
    if t.synthesis.len() != parts {
        missing.push(format!("{} of {parts} synthesis parts", t.synthesis.len()));
    }
    let retried: u32 = t
        .rounds
        .iter()
        .flat_map(|r| r.turns.iter().map(|x| x.usage.calls))
        .chain(t.synthesis.iter().map(|p| p.usage.calls))
        .map(|c| c.saturating_sub(1))
        .sum();
    println!(
        "llama.cpp server debate: {} turns, {} parts, {retried} answers asked again (cut off or invalid)",
        t.rounds.iter().map(|r| r.turns.len()).sum::<usize>(),
        t.synthesis.len()
    );
    assert!(
        missing.is_empty(),
        "lost on the real server:\n{}",
        missing.join("\n")
    );
}
