//! The Anthropic backend against a fake server speaking the Messages API:
//! headers and body on the wire, structured answers through the `answer`
//! tool, 529 overloaded, repair of an invalid answer, a refused key, and a
//! whole debate through the engine.

use council_core::TurnStatus;
use council_engine::{run, Prompts, RunStore};
use council_llm::anthropic::{Anthropic, AnthropicSettings};
use council_llm::openai::ApiKey;
use council_llm::retry::RetryPolicy;
use council_llm::{ChatModel, ChatRequest, FinishReason, LlmError, Message};
use council_tests::{test_debate, FakeServer, Reply};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const KEY: &str = "sk-ant-e2e-secret-7f3a91c2";

fn backend(server: &FakeServer) -> Anthropic {
    let mut s = AnthropicSettings::new(&server.url, "claude-fake");
    s.api_key = Some(ApiKey::new(KEY));
    s.request_timeout = Duration::from_secs(5);
    s.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(10),
    };
    Anthropic::new(s).unwrap()
}

/// A 200 Messages API answer with these content blocks.
fn message(content: Value, stop_reason: &str, usage: Value) -> Reply {
    Reply::Respond {
        status: 200,
        headers: vec![("request-id".into(), "req_fake".into())],
        body: json!({
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": "claude-fake-20260101",
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": null,
            "usage": usage,
        })
        .to_string(),
    }
}

/// A call of the `answer` tool with `input`.
fn tool_answer(input: Value) -> Reply {
    message(
        json!([{"type": "tool_use", "id": "toolu_fake", "name": "answer", "input": input}]),
        "tool_use",
        json!({"input_tokens": 40, "output_tokens": 12, "cache_read_input_tokens": 900, "cache_creation_input_tokens": 0}),
    )
}

/// An Anthropic error body under `status`.
fn error(status: u16, kind: &str, text: &str) -> Reply {
    Reply::Respond {
        status,
        headers: vec![],
        body: json!({"type": "error", "error": {"type": kind, "message": text}, "request_id": "req_err"})
            .to_string(),
    }
}

/// Answers like a cooperative Claude: a schema-valid call of the offered
/// tool, else text; the prefix marked for caching is reported as read
/// from the cache.
fn answering(body: &str) -> Reply {
    let req: Value = serde_json::from_str(body).unwrap_or_default();
    let cached = if body.contains("cache_control") {
        600
    } else {
        0
    };
    let usage = json!({
        "input_tokens": (body.len() as u64).div_ceil(4),
        "output_tokens": 80,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": 0,
    });
    match req.pointer("/tools/0/input_schema") {
        Some(schema) => message(
            json!([{"type": "tool_use", "id": "toolu_1", "name": "answer",
                "input": council_llm::schema::example_for(schema, "We should price by value and test it on new customers first, measuring win rates for eight weeks.")}]),
            "tool_use",
            usage,
        ),
        None => message(
            json!([{"type": "text", "text": "The board split on pricing: the CFO backs a rise; the Contrarian doubts demand."}]),
            "end_turn",
            usage,
        ),
    }
}

fn answer_schema() -> Value {
    json!({"type":"object","properties":{"verdict":{"type":"string"},"confidence":{"type":"integer","minimum":0,"maximum":100}},"required":["verdict","confidence"]})
}

fn bodies(server: &FakeServer) -> Vec<Value> {
    server
        .bodies()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect()
}

#[tokio::test]
async fn anthropic_structured_answer_round_trip() {
    let server = FakeServer::start(vec![tool_answer(
        json!({"verdict": "yes", "confidence": 70}),
    )])
    .await;
    let req = ChatRequest::new(vec![
        Message::system("You are the CFO."),
        Message::user("Raise prices?"),
    ])
    .with_schema("turn_round1", answer_schema())
    .with_max_tokens(300)
    .with_temperature(0.4)
    .with_seed(9);
    let r = backend(&server).chat(&req).await.unwrap();
    assert_eq!(r.json, Some(json!({"verdict": "yes", "confidence": 70})));
    assert_eq!(
        serde_json::from_str::<Value>(&r.text).unwrap(),
        json!({"verdict": "yes", "confidence": 70}),
        "the text is the answer's JSON"
    );
    assert_eq!(r.attempts, 1);
    assert_eq!(r.finish_reason, FinishReason::Stop);
    assert_eq!(r.model, "claude-fake-20260101");
    assert_eq!(r.usage.prompt_tokens, Some(940), "input + cache read");
    assert_eq!(r.usage.completion_tokens, Some(12));
    assert_eq!(r.usage.cached_tokens, Some(900));

    assert_eq!(server.hits(), 1);
    assert!(
        server.heads()[0].starts_with("POST /v1/messages "),
        "{}",
        server.heads()[0]
    );
    assert_eq!(server.header_values("x-api-key")[0].as_deref(), Some(KEY));
    assert_eq!(
        server.header_values("anthropic-version")[0].as_deref(),
        Some("2023-06-01")
    );
    assert_eq!(
        server.header_values("content-type")[0].as_deref(),
        Some("application/json")
    );
    assert_eq!(
        server.header_values("authorization")[0],
        None,
        "the key goes in x-api-key only"
    );
    let body = &bodies(&server)[0];
    assert_eq!(body["model"], "claude-fake");
    assert_eq!(body["max_tokens"], 300);
    assert!((body["temperature"].as_f64().unwrap() - 0.4).abs() < 1e-6);
    assert_eq!(
        body["system"],
        json!([{"type": "text", "text": "You are the CFO.", "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": [{"type": "text", "text": "Raise prices?"}]}])
    );
    assert_eq!(body["tools"][0]["name"], "answer", "not the schema's name");
    assert_eq!(body["tools"][0]["input_schema"], answer_schema());
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "answer"})
    );
    assert!(body.get("seed").is_none(), "Anthropic has no seed: {body}");
}

#[tokio::test]
async fn anthropic_overloaded_529_is_retried() {
    let server = FakeServer::start(vec![
        error(529, "overloaded_error", "Overloaded"),
        tool_answer(json!({"verdict": "no", "confidence": 20})),
    ])
    .await;
    let req = ChatRequest::prompt("decide").with_schema("answer", answer_schema());
    let r = backend(&server).chat(&req).await.unwrap();
    assert_eq!(r.json, Some(json!({"verdict": "no", "confidence": 20})));
    assert_eq!(server.hits(), 2);
    assert_eq!(r.attempts, 1, "the 529 carried no answer");
    assert_eq!(r.usage.calls, 1);
}

#[tokio::test]
async fn anthropic_overloaded_inside_a_200_body_is_retried_for_free_text() {
    let server = FakeServer::start(vec![
        Reply::Respond {
            status: 200,
            headers: vec![],
            body: r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
                .into(),
        },
        message(
            json!([{"type": "text", "text": "Hold "}, {"type": "text", "text": "prices."}]),
            "end_turn",
            json!({"input_tokens": 5, "output_tokens": 2}),
        ),
    ])
    .await;
    let r = backend(&server)
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap();
    assert_eq!(r.text, "Hold prices.");
    assert_eq!(r.json, None);
    assert_eq!(server.hits(), 2);
    let body = &bodies(&server)[1];
    assert_eq!(body["max_tokens"], 4096, "Anthropic needs a limit");
    assert!(body.get("tools").is_none() && body.get("system").is_none());
}

#[tokio::test]
async fn anthropic_invalid_tool_input_gets_one_repair() {
    let server = FakeServer::start(vec![
        tool_answer(json!({"verdict": "yes"})),
        tool_answer(json!({"verdict": "yes", "confidence": 65})),
    ])
    .await;
    let req = ChatRequest::new(vec![Message::system("Persona."), Message::user("decide")])
        .with_schema("answer", answer_schema());
    let r = backend(&server).chat(&req).await.unwrap();
    assert_eq!(r.json, Some(json!({"verdict": "yes", "confidence": 65})));
    assert_eq!(r.attempts, 2, "the answer took a repair");
    assert_eq!(r.usage.calls, 2, "usage covers both calls");
    assert_eq!(r.usage.completion_tokens, Some(24));
    let sent = bodies(&server);
    assert_eq!(sent.len(), 2);
    let repair = sent[1]["messages"].as_array().unwrap();
    assert_eq!(repair.len(), 3, "the question, the bad answer, the problem");
    assert_eq!(repair[1]["role"], "assistant");
    assert!(
        repair[1]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\"verdict\""),
        "the bad answer is shown: {}",
        repair[1]
    );
    let last = repair[2]["content"][0]["text"].as_str().unwrap();
    assert!(
        last.contains("not valid") && last.contains("confidence"),
        "the repair request must say what was wrong: {last}"
    );
    assert_eq!(
        repair[1]["content"][0]["cache_control"],
        json!({"type": "ephemeral"}),
        "the message before the last one is a cache breakpoint"
    );
    assert_eq!(sent[1]["tools"], sent[0]["tools"]);
}

#[tokio::test]
async fn anthropic_refused_key_is_an_auth_error_that_never_shows_the_key() {
    let server = FakeServer::start(vec![
        error(
            401,
            "authentication_error",
            &format!("invalid x-api-key {KEY}"),
        ),
        tool_answer(json!({"verdict": "never", "confidence": 1})),
    ])
    .await;
    let err = backend(&server)
        .chat(&ChatRequest::prompt("hi").with_schema("answer", answer_schema()))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Auth { status: 401, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("ANTHROPIC_API_KEY"), "{msg}");
    assert!(!msg.contains(KEY), "the key leaked into the error: {msg}");
    assert!(!format!("{err:?}").contains(KEY), "{err:?}");
    assert_eq!(server.hits(), 1, "a 401 must not be retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_runs_a_whole_debate() {
    let server = FakeServer::start_with(Arc::new(answering), Duration::from_millis(1)).await;
    let model = Arc::new(backend(&server));
    let prompts = Prompts::builtin().unwrap();
    let mut d = test_debate(
        "Should we raise list prices by 15% for new customers next quarter?",
        &["cfo", "cto", "contrarian", "auditor"],
        2,
        model,
        &prompts,
    );
    d.settings.max_concurrency = 4;
    let run_dir = tempfile::tempdir().unwrap();
    let mut store = RunStore::create(&run_dir.path().join("run")).unwrap();
    let t = run(&d, &mut store).await.unwrap();

    assert_eq!(t.rounds.len(), 2);
    let mut cached_turns = 0;
    for r in &t.rounds {
        assert_eq!(r.turns.len(), d.panel.len(), "round {}", r.number);
        for turn in &r.turns {
            assert_eq!(turn.status, TurnStatus::Ok, "{:?}", turn.error);
            assert!(!turn.text.trim().is_empty());
            assert!(turn.move_.is_some() && turn.confidence.is_some());
            assert_eq!(turn.backend, "anthropic");
            if turn.usage.cached_tokens.unwrap_or(0) > 0 {
                cached_turns += 1;
            }
        }
        let summary = r.summary.as_deref().expect("a summary");
        assert!(
            summary.contains("The board split on pricing"),
            "round {}: the model's summary, not one assembled from the turns: {summary}",
            r.number
        );
        assert_eq!(r.summary_call.as_ref().unwrap().backend, "anthropic");
    }
    assert_eq!(
        cached_turns,
        2 * d.panel.len(),
        "every turn sent a system prompt marked for the cache"
    );
    assert!(!t.synthesis.is_empty());
    for p in &t.synthesis {
        assert!(
            p.error.is_none() && !p.value.is_null(),
            "part {}: {:?}",
            p.part,
            p.error
        );
    }
    // Every request spoke Anthropic's protocol.
    assert!(server
        .header_values("x-api-key")
        .iter()
        .all(|k| k.as_deref() == Some(KEY)));
    assert!(server
        .header_values("anthropic-version")
        .iter()
        .all(|v| v.as_deref() == Some("2023-06-01")));
    for body in bodies(&server) {
        assert!(body.get("seed").is_none());
        assert!(body["max_tokens"].as_u64().unwrap() > 0);
        assert_eq!(body["messages"][0]["role"], "user");
        if let Some(tool) = body.get("tools") {
            assert_eq!(tool[0]["name"], "answer");
            assert_eq!(tool[0]["input_schema"]["type"], "object");
        }
    }
    // A second-round turn: the system prompt, the question and the
    // summaries so far are marked for the cache, the round's own job not.
    let second: Vec<serde_json::Value> = bodies(&server)
        .into_iter()
        .filter(|b| {
            b["messages"][0]["content"][0]["text"]
                .as_str()
                .is_some_and(|t| t.contains("\"\"\""))
                && b.to_string().contains("Round 2 of 2")
                && b.get("system").is_some()
        })
        .collect();
    assert!(!second.is_empty(), "no second-round turn found");
    for b in &second {
        let blocks = b["messages"][0]["content"].as_array().unwrap();
        assert_eq!(blocks.len(), 3, "{blocks:?}");
        assert!(blocks[0]["text"].as_str().unwrap().ends_with("\"\"\""));
        assert!(blocks[1]["text"].as_str().unwrap().contains("Round 1:"));
        assert!(blocks[2]["text"]
            .as_str()
            .unwrap()
            .starts_with("\nRound 2 of 2"));
        let marks: Vec<bool> = blocks
            .iter()
            .map(|x| x.get("cache_control").is_some())
            .collect();
        assert_eq!(marks, [true, true, false]);
        assert!(b["system"].as_array().unwrap().last().unwrap()["cache_control"].is_object());
    }
    println!(
        "anthropic debate: {} requests, {} turns, {} synthesis parts",
        server.hits(),
        t.rounds.iter().map(|r| r.turns.len()).sum::<usize>(),
        t.synthesis.len()
    );
}
