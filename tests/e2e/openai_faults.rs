//! The OpenAI-compatible backend against a scripted fake server: retries,
//! Retry-After, permanent errors, timeouts, repair retries, lenient decoding.

use council_llm::openai::{ApiKey, OpenAiCompatible, OpenAiSettings};
use council_llm::retry::RetryPolicy;
use council_llm::{ChatModel, ChatRequest, FinishReason, LlmError};
use council_tests::{FakeServer, Reply};
use serde_json::json;
use std::time::{Duration, Instant};

fn backend(server: &FakeServer) -> OpenAiCompatible {
    let mut s = OpenAiSettings::new(&server.url, "fake-model");
    s.api_key = Some(ApiKey::new("sk-test-secret"));
    s.key_var = "COUNCIL_API_KEY".into();
    s.request_timeout = Duration::from_secs(5);
    // Tiny backoff, so a test that waits long can only be waiting for Retry-After.
    s.retry = RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(10),
    };
    OpenAiCompatible::new(s).unwrap()
}

#[tokio::test]
async fn rate_limit_with_retry_after_waits_then_succeeds() {
    let server = FakeServer::start(vec![
        Reply::status(429, "slow down").with_header("Retry-After", "1"),
        Reply::completion("fine"),
    ])
    .await;
    let start = Instant::now();
    let r = backend(&server)
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap();
    assert_eq!(r.text, "fine");
    assert_eq!(server.hits(), 2);
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "Retry-After: 1 was not honoured ({:?})",
        start.elapsed()
    );
}

#[tokio::test]
async fn server_errors_are_retried() {
    let server = FakeServer::start(vec![
        Reply::status(500, "boom"),
        Reply::status(500, "boom"),
        Reply::completion("third time"),
    ])
    .await;
    let r = backend(&server)
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap();
    assert_eq!(r.text, "third time");
    assert_eq!(server.hits(), 3);
    assert_eq!(
        server.auth_headers()[0].as_deref(),
        Some("Bearer sk-test-secret")
    );
}

#[tokio::test]
async fn unauthorized_fails_at_once_naming_the_key_variable() {
    let server = FakeServer::start(vec![
        Reply::status(401, "invalid api key"),
        Reply::completion("never"),
    ])
    .await;
    let err = backend(&server)
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Auth { status: 401, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("COUNCIL_API_KEY"), "{msg}");
    assert!(
        !msg.contains("sk-test-secret"),
        "the key leaked into the error: {msg}"
    );
    assert_eq!(server.hits(), 1, "a 401 must not be retried");
}

#[tokio::test]
async fn exhausted_quota_is_not_retried() {
    let server = FakeServer::start(vec![Reply::status(
        429,
        "You exceeded your current quota (insufficient_quota)",
    )])
    .await;
    let err = backend(&server)
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::QuotaExhausted { .. }), "{err:?}");
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_hung_server_hits_the_timeout() {
    let server = FakeServer::start(vec![Reply::Hang]).await;
    let mut s = OpenAiSettings::new(&server.url, "m");
    s.request_timeout = Duration::from_millis(400);
    s.retry = RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(5),
    };
    let started = Instant::now();
    let err = OpenAiCompatible::new(s)
        .unwrap()
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("did not answer within"), "{err}");
    assert_eq!(server.hits(), 2, "a timeout is retried once, then reported");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn a_refused_connection_names_the_url() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut s = OpenAiSettings::new(format!("http://127.0.0.1:{port}/v1"), "m");
    s.retry = RetryPolicy::none();
    let err = OpenAiCompatible::new(s)
        .unwrap()
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains(&port.to_string()));
}

#[tokio::test]
async fn a_server_that_never_accepts_hits_the_connect_timeout() {
    // A listener whose accept queue is full: the kernel drops further SYNs,
    // so a new connection hangs until the client's connect timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let _listener = socket.listen(0).unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let mut s = OpenAiSettings::new(format!("http://{addr}/v1"), "m");
    s.connect_timeout = Duration::from_millis(300);
    s.request_timeout = Duration::from_secs(30);
    s.retry = RetryPolicy {
        max_retries: 1,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(5),
    };
    let started = Instant::now();
    let err = OpenAiCompatible::new(s)
        .unwrap()
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, LlmError::Connect { .. }), "{err:?}");
    assert!(err.to_string().contains("connect timeout"), "{err}");
    // Two attempts of 300 ms each, far below the 30 s request timeout.
    assert!(
        took >= Duration::from_millis(550) && took < Duration::from_secs(10),
        "{took:?}"
    );
}

fn answer_schema() -> serde_json::Value {
    json!({"type":"object","properties":{"verdict":{"type":"string"},"confidence":{"type":"integer","minimum":0,"maximum":100}},"required":["verdict","confidence"]})
}

#[tokio::test]
async fn malformed_json_triggers_one_repair_retry() {
    let server = FakeServer::start(vec![
        Reply::completion("{\"verdict\": \"yes\", \"confidence\": "),
        Reply::completion("{\"verdict\": \"yes\", \"confidence\": 70}"),
    ])
    .await;
    let req = ChatRequest::prompt("decide").with_schema("answer", answer_schema());
    let r = backend(&server).chat(&req).await.unwrap();
    assert_eq!(r.json, Some(json!({"verdict":"yes","confidence":70})));
    assert_eq!(server.hits(), 2);
    let second: serde_json::Value = serde_json::from_str(&server.bodies()[1]).unwrap();
    let last = second["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        last.contains("not valid"),
        "the repair request must say what was wrong: {last}"
    );
    assert_eq!(r.usage.calls, 2, "usage covers both calls");
    assert_eq!(r.attempts, 2, "the answer took a repair");
    assert_eq!(r.usage.prompt_tokens, Some(22));
}

#[tokio::test]
async fn an_answer_that_stays_invalid_uses_up_the_retry_budget_then_is_an_error_with_the_text() {
    let server = FakeServer::start(vec![Reply::completion("{\"verdict\": 3}")]).await;
    let req = ChatRequest::prompt("decide")
        .with_schema("answer", answer_schema())
        .with_seed(7);
    let err = backend(&server).chat(&req).await.unwrap_err();
    let LlmError::SchemaViolation { schema, text, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(schema, "answer");
    assert_eq!(text, "{\"verdict\": 3}");
    assert_eq!(server.hits(), 4, "the first answer and three retries");
    let bodies: Vec<serde_json::Value> = server
        .bodies()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let turns = |b: &serde_json::Value| b["messages"].as_array().unwrap().len();
    assert_eq!(
        turns(&bodies[1]),
        turns(&bodies[0]) + 2,
        "the second is the repair"
    );
    for later in &bodies[2..] {
        assert_eq!(turns(later), turns(&bodies[0]), "later ones ask afresh");
        assert_ne!(later["seed"], bodies[0]["seed"], "with a new seed");
    }
}

#[tokio::test]
async fn malformed_answers_are_transient_like_a_5xx() {
    let server = FakeServer::start(vec![
        Reply::completion("{\"verdict\": \"yes\", \"conf"),
        Reply::status(503, "busy"),
        Reply::completion("not json at all"),
        Reply::completion("{\"verdict\": \"yes\", \"confidence\": 70}"),
    ])
    .await;
    let req = ChatRequest::prompt("decide").with_schema("answer", answer_schema());
    let r = backend(&server).chat(&req).await.unwrap();
    assert_eq!(r.json, Some(json!({"verdict":"yes","confidence":70})));
    assert_eq!(server.hits(), 4);
    assert_eq!(r.attempts, 3, "three answers arrived; the 503 carried none");
}

#[tokio::test]
async fn an_answer_cut_off_by_the_token_limit_is_asked_again_with_twice_the_limit() {
    let cut = r#"{"id":"x","object":"chat.completion","model":"fake","choices":[{"index":0,"message":{"role":"assistant","content":"{\"verdict\": \"yes, because the"},"finish_reason":"length"}],"usage":{"prompt_tokens":11,"completion_tokens":40,"total_tokens":51}}"#;
    let server = FakeServer::start(vec![
        Reply::Respond {
            status: 200,
            headers: vec![],
            body: cut.into(),
        },
        Reply::completion("{\"verdict\": \"yes\", \"confidence\": 70}"),
    ])
    .await;
    let req = ChatRequest::prompt("decide")
        .with_schema("answer", answer_schema())
        .with_max_tokens(40);
    let r = backend(&server).chat(&req).await.unwrap();
    assert_eq!(r.json, Some(json!({"verdict":"yes","confidence":70})));
    let bodies: Vec<serde_json::Value> = server
        .bodies()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(bodies[0]["max_tokens"], 40);
    assert_eq!(bodies[1]["max_tokens"], 80, "the limit doubles");
    assert_eq!(
        bodies[1]["messages"], bodies[0]["messages"],
        "the same question, not a repair of a cut-off answer"
    );
    assert_eq!(
        r.usage.completion_tokens,
        Some(47),
        "both answers are paid for"
    );
}

#[tokio::test]
async fn the_schema_goes_out_as_response_format() {
    let server = FakeServer::start(vec![Reply::completion(
        "{\"verdict\":\"no\",\"confidence\":5}",
    )])
    .await;
    let req = ChatRequest::prompt("decide").with_schema("answer", answer_schema());
    let r = backend(&server).chat(&req).await.unwrap();
    assert_eq!(r.attempts, 1, "valid at the first try");
    let body: serde_json::Value = serde_json::from_str(&server.bodies()[0]).unwrap();
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(
        body["response_format"]["json_schema"]["schema"],
        answer_schema()
    );
}

#[tokio::test]
async fn a_server_rejecting_response_format_gets_the_schema_in_the_prompt() {
    let server = FakeServer::start(vec![
        Reply::status(400, "unsupported parameter: response_format"),
        Reply::completion("{\"verdict\":\"no\",\"confidence\":5}"),
    ])
    .await;
    let model = backend(&server);
    let req = ChatRequest::prompt("decide").with_schema("answer", answer_schema());
    let r = model.chat(&req).await.unwrap();
    assert_eq!(r.json.unwrap()["confidence"], 5);
    let body: serde_json::Value = serde_json::from_str(&server.bodies()[1]).unwrap();
    assert!(body.get("response_format").is_none());
    assert!(body["messages"].to_string().contains("JSON Schema"));
    assert!(
        !model.info().capabilities.native_json_schema,
        "the fallback is remembered"
    );
}

#[tokio::test]
async fn missing_usage_and_an_odd_finish_reason_are_tolerated() {
    let body = r#"{"choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"eos_token_reached"}]}"#;
    let server = FakeServer::start(vec![Reply::Respond {
        status: 200,
        headers: vec![],
        body: body.into(),
    }])
    .await;
    let r = backend(&server)
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap();
    assert_eq!(r.text, "ok");
    assert_eq!(
        r.finish_reason,
        FinishReason::Other("eos_token_reached".into())
    );
    assert_eq!(
        r.usage.prompt_tokens, None,
        "missing usage is 'not reported', not zero"
    );
    assert_eq!(r.usage.unreported_calls, 1);
    assert_eq!(r.model, "fake-model");
}

#[tokio::test]
async fn an_error_inside_a_200_body_is_an_error() {
    let body = r#"{"error":{"message":"model overloaded","code":503}}"#;
    let server = FakeServer::start(vec![
        Reply::Respond {
            status: 200,
            headers: vec![],
            body: body.into(),
        },
        Reply::completion("recovered"),
    ])
    .await;
    let r = backend(&server)
        .chat(&ChatRequest::prompt("hi"))
        .await
        .unwrap();
    assert_eq!(r.text, "recovered");
    assert_eq!(server.hits(), 2);
}
