//! Provider presets on the OpenAI wire format, against fakes that follow
//! each provider's documented requests: OpenAI's strict structured outputs
//! and streaming, Azure's deployment URL, `api-version` and `api-key`,
//! Gemini's compatible endpoint, OpenRouter's attribution headers, a local
//! Ollama without a key; a schema the provider refuses; streams that
//! pause, break off or carry an error.

use council_engine::{run, Prompts, RunStore};
use council_llm::config::{self, ConfigFile, Overrides};
use council_llm::{ChatModel, ChatRequest, LlmError};
use council_tests::{schema_answering_streamed, sse, FakeServer, Reply};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The backend a config file and environment resolve to.
async fn model_for(config: &str, env: &[(&str, &str)]) -> Result<Arc<dyn ChatModel>, LlmError> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let table: toml::Table = config.parse().unwrap();
    let file = ConfigFile::from_table(None, table)?;
    let resolved = config::resolve(&Overrides::default(), &|k| env.get(k).cloned(), &file)?;
    config::build(&resolved).await
}

fn body_json(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

/// Where `schema` breaks OpenAI's strict-mode rules, if anywhere.
fn strict_problem(schema: &Value, at: &str) -> Option<String> {
    let Value::Object(map) = schema else {
        return None;
    };
    for k in ["minLength", "maxLength", "uniqueItems", "default", "oneOf"] {
        if map.contains_key(k) {
            return Some(format!("{at}: keyword {k}"));
        }
    }
    if let Some(Value::Object(props)) = map.get("properties") {
        let required: Vec<&str> = map
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Some(format!("{at}: additionalProperties is not false"));
        }
        for (name, p) in props {
            if !required.contains(&name.as_str()) {
                return Some(format!("{at}.{name}: not required"));
            }
            if let Some(problem) = strict_problem(p, &format!("{at}.{name}")) {
                return Some(problem);
            }
        }
    }
    if let Some(items) = map.get("items") {
        return strict_problem(items, &format!("{at}[]"));
    }
    if let Some(Value::Array(any)) = map.get("anyOf") {
        return any
            .iter()
            .find_map(|s| strict_problem(s, &format!("{at}|")));
    }
    None
}

/// A model under strict mode: it sees no length limits, only their words
/// in each description ("At most 60 characters."), and keeps to them.
fn strict_answering(body: &str) -> Reply {
    let req: Value = serde_json::from_str(body).unwrap_or_default();
    let Some(schema) = req.pointer("/response_format/json_schema/schema") else {
        return Reply::streamed("The board split on pricing.", 5, Duration::ZERO);
    };
    fn fit(v: &mut Value, schema: &Value) {
        match v {
            Value::String(s) => {
                let said = schema
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let words: Vec<&str> = said.split_whitespace().collect();
                for w in words.windows(3) {
                    if let (["At", "most", _] | [_, "to", _], Ok(max)) = (w, w[2].parse::<usize>())
                    {
                        *s = s.chars().take(max).collect();
                    }
                }
            }
            Value::Object(map) => {
                for (k, x) in map.iter_mut() {
                    if let Some(s) = schema.pointer(&format!("/properties/{k}")) {
                        fit(x, s);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(s) = schema.get("items") {
                    items.iter_mut().for_each(|x| fit(x, s));
                }
            }
            _ => {}
        }
    }
    let mut answer = council_llm::schema::example_for(
        schema,
        "We should price by value and test it on new customers first, measuring win rates for eight weeks.",
    );
    fit(&mut answer, schema);
    Reply::streamed(&answer.to_string(), 20, Duration::ZERO)
}

#[tokio::test]
async fn openai_gets_strict_streamed_schemas_for_every_call_of_a_debate() {
    let server = FakeServer::start_with(Arc::new(strict_answering), Duration::from_millis(1)).await;
    let model = model_for(
        &format!(
            "provider = \"openai\"\nbase_url = \"{}\"\nmodel = \"gpt-4o-2024-08-06\"",
            server.url
        ),
        &[("OPENAI_API_KEY", "sk-openai-test-123456")],
    )
    .await
    .unwrap();
    let prompts = Prompts::builtin().unwrap();
    let d = council_tests::test_debate(
        "Should we move our mid-market plan to usage-based pricing in 2027?",
        &["cfo", "cto", "contrarian", "auditor"],
        2,
        model,
        &prompts,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut store = RunStore::create(&dir.path().join("run")).unwrap();
    let t = run(&d, &mut store).await.unwrap();
    assert_eq!(t.rounds.len(), 2);
    let repairs: Vec<String> = server
        .bodies()
        .iter()
        .filter(|b| b.contains("That answer is not valid"))
        .map(|b| {
            let at = b.find("That answer is not valid").unwrap();
            b[at..].chars().take(500).collect()
        })
        .collect();
    assert!(
        repairs.is_empty(),
        "{} repairs, e.g. {:?}",
        repairs.len(),
        repairs.first()
    );
    for r in &t.rounds {
        assert_eq!(r.turns.len(), d.panel.len(), "round {}", r.number);
        for turn in &r.turns {
            assert_eq!(
                turn.status,
                council_core::TurnStatus::Ok,
                "{:?}",
                turn.error
            );
            // Usage came from each stream's last chunk.
            assert_eq!(turn.usage.prompt_tokens, Some(11), "{:?}", turn.usage);
        }
    }
    assert!(
        t.synthesis.iter().all(|p| p.error.is_none()),
        "{:?}",
        t.synthesis
            .iter()
            .filter_map(|p| p.error.as_ref())
            .collect::<Vec<_>>()
    );

    let bodies = server.bodies();
    assert!(bodies.len() >= 12 + 2, "{} calls", bodies.len());
    let mut schemas = 0;
    for body in &bodies {
        let req = body_json(body);
        assert_eq!(req["model"], "gpt-4o-2024-08-06");
        assert_eq!(req["stream"], true, "every call streams");
        assert_eq!(req["stream_options"]["include_usage"], true);
        if let Some(rf) = req.get("response_format") {
            schemas += 1;
            assert_eq!(rf["type"], "json_schema");
            assert_eq!(rf["json_schema"]["strict"], true, "{rf}");
            let name = rf["json_schema"]["name"].as_str().unwrap();
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{name}"
            );
            if let Some(p) = strict_problem(&rf["json_schema"]["schema"], name) {
                panic!("schema {name} is not strict-compatible: {p}");
            }
        }
    }
    assert!(schemas >= 12, "{schemas} structured calls");
    for auth in server.auth_headers() {
        assert_eq!(auth.as_deref(), Some("Bearer sk-openai-test-123456"));
    }
    for head in server.heads() {
        assert!(
            head.starts_with("POST /v1/chat/completions HTTP/1.1"),
            "{head}"
        );
    }
}

#[tokio::test]
async fn azure_uses_the_deployment_url_api_version_and_api_key_header() {
    let server = FakeServer::start_with(
        Arc::new(schema_answering_streamed),
        Duration::from_millis(1),
    )
    .await;
    let resource = server.url.trim_end_matches("/v1");
    let model = model_for(
        &format!("provider = \"azure\"\nbase_url = \"{resource}\"\nmodel = \"prod-gpt4o\""),
        &[("AZURE_OPENAI_API_KEY", "azure-key-0123456789")],
    )
    .await
    .unwrap();
    let schema = json!({"type":"object","properties":{"verdict":{"type":"string"},"note":{"type":"string"}},"required":["verdict"]});
    let r = model
        .chat(&ChatRequest::prompt("Go or no go?").with_schema("verdict", schema))
        .await
        .unwrap();
    assert!(r.json.unwrap()["verdict"].is_string());
    let head = &server.heads()[0];
    assert!(
        head.starts_with(
            "POST /openai/deployments/prod-gpt4o/chat/completions?api-version=2024-10-21 HTTP/1.1"
        ),
        "{head}"
    );
    assert_eq!(
        server.header_values("api-key")[0].as_deref(),
        Some("azure-key-0123456789")
    );
    assert_eq!(
        server.auth_headers()[0],
        None,
        "Azure takes no bearer token"
    );
    let req = body_json(&server.bodies()[0]);
    assert_eq!(req["response_format"]["json_schema"]["strict"], true);
    assert_eq!(
        req["response_format"]["json_schema"]["schema"]["properties"]["note"]["type"],
        json!(["string", "null"])
    );

    // Azure without a base URL is a config error naming the fix.
    let err = model_for(
        "provider = \"azure\"\nmodel = \"m\"",
        &[("AZURE_OPENAI_API_KEY", "k-0123456789")],
    )
    .await
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("openai.azure.com"), "{err}");
}

#[tokio::test]
async fn gemini_openrouter_and_ollama_presets_send_what_each_documents() {
    let server = FakeServer::start_with(
        Arc::new(schema_answering_streamed),
        Duration::from_millis(1),
    )
    .await;
    let root = server.url.trim_end_matches("/v1").to_string();
    let schema =
        json!({"type":"object","properties":{"verdict":{"type":"string"}},"required":["verdict"]});
    let ask = ChatRequest::prompt("Go or no go?").with_schema("verdict", schema);

    // Gemini: its OpenAI-compatible path, a bearer key from GEMINI_API_KEY,
    // a schema without `strict`.
    let gemini = model_for(
        &format!("provider = \"gemini\"\nbase_url = \"{root}/v1beta/openai\"\nmodel = \"gemini-2.5-flash\""),
        &[("GEMINI_API_KEY", "gemini-key-0123456789")],
    )
    .await
    .unwrap();
    gemini.chat(&ask).await.unwrap();
    // OpenRouter: attribution headers, strict schemas.
    let openrouter = model_for(
        &format!("provider = \"openrouter\"\nbase_url = \"{root}/api/v1\"\nmodel = \"anthropic/claude-sonnet-4\"\napp_url = \"https://example.org/board\""),
        &[("OPENROUTER_API_KEY", "or-key-0123456789")],
    )
    .await
    .unwrap();
    openrouter.chat(&ask).await.unwrap();
    // Ollama: no key at all, and none asked for.
    let ollama = model_for(
        &format!("provider = \"ollama\"\nbase_url = \"{root}/v1\"\nmodel = \"llama3.1:8b\""),
        &[],
    )
    .await
    .unwrap();
    ollama.chat(&ask).await.unwrap();

    let heads = server.heads();
    let bodies: Vec<Value> = server.bodies().iter().map(|b| body_json(b)).collect();
    let auth = server.auth_headers();
    assert!(
        heads[0].starts_with("POST /v1beta/openai/chat/completions HTTP/1.1"),
        "{}",
        heads[0]
    );
    assert_eq!(auth[0].as_deref(), Some("Bearer gemini-key-0123456789"));
    assert_eq!(
        bodies[0]["response_format"]["json_schema"].get("strict"),
        None
    );
    assert_eq!(bodies[0]["stream"], true);

    assert!(
        heads[1].starts_with("POST /api/v1/chat/completions HTTP/1.1"),
        "{}",
        heads[1]
    );
    assert_eq!(auth[1].as_deref(), Some("Bearer or-key-0123456789"));
    assert_eq!(
        server.header_values("x-title")[1].as_deref(),
        Some("Council")
    );
    assert_eq!(
        server.header_values("http-referer")[1].as_deref(),
        Some("https://example.org/board")
    );
    assert_eq!(bodies[1]["response_format"]["json_schema"]["strict"], true);
    assert_eq!(bodies[1]["model"], "anthropic/claude-sonnet-4");

    assert_eq!(auth[2], None);
    assert_eq!(bodies[2]["model"], "llama3.1:8b");
    assert_eq!(
        bodies[2]["response_format"]["json_schema"].get("strict"),
        None
    );

    // A hosted provider without its key is refused before any call.
    let err = model_for("provider = \"openrouter\"\nmodel = \"x\"", &[])
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("OPENROUTER_API_KEY"), "{err}");
}

#[tokio::test]
async fn a_refused_strict_schema_falls_back_to_the_prompt_once_and_is_remembered() {
    let refused = Arc::new(Mutex::new(false));
    let seen = refused.clone();
    let server = FakeServer::start_with(
        Arc::new(move |body: &str| {
            let req: Value = serde_json::from_str(body).unwrap_or_default();
            if req.get("response_format").is_some() {
                *seen.lock().unwrap() = true;
                return Reply::status(
                    400,
                    "Invalid schema for response_format 'verdict': In context=(), 'minItems' is not permitted.",
                );
            }
            Reply::completion(r#"{"verdict": "go"}"#)
        }),
        Duration::from_millis(1),
    )
    .await;
    let model = model_for(
        &format!(
            "provider = \"openai\"\nbase_url = \"{}\"\nmodel = \"m\"\nstream = false",
            server.url
        ),
        &[("OPENAI_API_KEY", "sk-openai-test-123456")],
    )
    .await
    .unwrap();
    let schema =
        json!({"type":"object","properties":{"verdict":{"type":"string"}},"required":["verdict"]});
    let ask = ChatRequest::prompt("Go?").with_schema("verdict", schema);
    assert_eq!(
        model.chat(&ask).await.unwrap().json.unwrap()["verdict"],
        "go"
    );
    assert_eq!(
        model.chat(&ask).await.unwrap().json.unwrap()["verdict"],
        "go"
    );
    let bodies: Vec<Value> = server.bodies().iter().map(|b| body_json(b)).collect();
    assert_eq!(
        bodies.len(),
        3,
        "one refusal, then two answers on the prompt path"
    );
    assert!(
        bodies[1].get("response_format").is_none() && bodies[2].get("response_format").is_none()
    );
    let last = bodies[2]["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        last.contains("\"verdict\""),
        "the schema went into the prompt: {last}"
    );
    assert!(*refused.lock().unwrap());
}

/// A config for a streaming server with quick retries and this idle limit.
fn streaming_config(url: &str, idle_secs: u64, retries: u32) -> String {
    format!(
        "base_url = \"{url}\"\nmodel = \"m\"\nstream = true\nstream_idle_timeout_secs = {idle_secs}\nmax_retries = {retries}\nretry_base_delay_ms = 1\nretry_max_delay_ms = 10"
    )
}

#[tokio::test]
async fn a_long_stream_reaches_the_caller_piece_by_piece_before_it_ends() {
    let answer = "The board backs a staged rise: 6% for new customers from 1 March 2027, \
        reviewed after eight weeks of win-rate data, with the CFO and the Contrarian \
        agreeing on the measure if not the outcome. "
        .repeat(4);
    let script = vec![Reply::streamed(&answer, 200, Duration::from_millis(5))];
    let server = FakeServer::start(script).await;
    let model = model_for(&streaming_config(&server.url, 5, 0), &[])
        .await
        .unwrap();
    let started = Instant::now();
    let pieces = Mutex::new(Vec::<(Duration, String)>::new());
    let sink = |p: &str| {
        pieces
            .lock()
            .unwrap()
            .push((started.elapsed(), p.to_string()))
    };
    let r = model
        .chat_streaming(&ChatRequest::prompt("What did the board decide?"), &sink)
        .await
        .unwrap();
    let ended = started.elapsed();
    let pieces = pieces.into_inner().unwrap();
    let text: String = pieces.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(text, answer);
    assert_eq!(r.text, answer);
    let nonempty: Vec<&(Duration, String)> = pieces.iter().filter(|(_, p)| !p.is_empty()).collect();
    assert!(nonempty.len() >= 150, "{} pieces", nonempty.len());
    // 200 pauses of 5 ms: the first piece arrived at least ~half a second
    // before the answer was complete.
    let first = nonempty[0].0;
    assert!(
        ended.saturating_sub(first) >= Duration::from_millis(500),
        "first piece at {first:?}, answer complete at {ended:?}"
    );
    assert_eq!(r.usage.completion_tokens, Some(7));
}

#[tokio::test]
async fn a_stream_that_pauses_past_the_idle_limit_or_breaks_off_is_asked_again() {
    let whole = Reply::streamed("All six advisors agree on a pilot.", 10, Duration::ZERO);
    let Reply::Stream { pieces, .. } = whole.clone() else {
        unreachable!()
    };
    // First: half the answer, then silence for 3 s (the idle limit is 1 s).
    let mut paused = pieces[..4].to_vec();
    paused.push((Duration::from_secs(3), pieces[4].1.clone()));
    // Second: half the answer, then the connection closes.
    let broken = pieces[..5].to_vec();
    let script = vec![
        Reply::Stream {
            status: 200,
            headers: vec![],
            pieces: paused,
        },
        Reply::Stream {
            status: 200,
            headers: vec![],
            pieces: broken,
        },
        whole,
    ];
    let server = FakeServer::start(script).await;
    let model = model_for(&streaming_config(&server.url, 1, 3), &[])
        .await
        .unwrap();
    let restarts = Mutex::new(0);
    let sink = |p: &str| {
        if p.is_empty() {
            *restarts.lock().unwrap() += 1;
        }
    };
    let started = Instant::now();
    let r = model
        .chat_streaming(&ChatRequest::prompt("Verdict?"), &sink)
        .await
        .unwrap();
    assert_eq!(r.text, "All six advisors agree on a pilot.");
    assert_eq!(server.hits(), 3);
    assert_eq!(
        *restarts.lock().unwrap(),
        3,
        "each attempt tells the caller to start again"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the stall was not cut at the idle limit"
    );
}

#[tokio::test]
async fn an_error_inside_a_stream_is_reported_with_the_providers_message() {
    let error = sse(
        r#"{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","code":null}}"#,
    );
    let script = vec![Reply::Stream {
        status: 200,
        headers: vec![],
        pieces: vec![
            (
                Duration::ZERO,
                sse(r#"{"choices":[{"index":0,"delta":{"content":"We sh"}}]}"#),
            ),
            (Duration::from_millis(20), error),
        ],
    }];
    let server = FakeServer::start(script).await;
    let model = model_for(&streaming_config(&server.url, 5, 1), &[])
        .await
        .unwrap();
    let err = model
        .chat(&ChatRequest::prompt("Verdict?"))
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("server_error: The server had an error while processing your request"),
        "{shown}"
    );
    assert!(
        err.is_retryable(),
        "a server error in a stream is transient"
    );
    assert_eq!(server.hits(), 2, "retried once, as configured");
}
