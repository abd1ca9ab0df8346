//! `council doctor` through the binary (issue 13, item 6): one good fake
//! endpoint and broken ones, each checked in turn, a table, a fix for
//! each failure, and the exit code.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_tests::{schema_answering_streamed, FakeServer, Reply};
use std::path::Path;
use std::process::Output;
use std::sync::Arc;

/// The good fake's key, sent by the main endpoint.
const GOOD_KEY: &str = "sk-doctor-good-5f1c2e9a";

/// A refused key: it must never show.
const BAD_KEY: &str = "sk-doctor-refused-8d3b7c41";

/// A server that lists model `fake`, wants `GOOD_KEY`, and answers chats
/// schema-valid (streamed when asked).
async fn good() -> FakeServer {
    FakeServer::start_routed(Arc::new(|head: &str, body: &str| {
        let authorised = head
            .lines()
            .any(|l| l.eq_ignore_ascii_case(&format!("authorization: Bearer {GOOD_KEY}")));
        if !authorised {
            return Reply::status(401, "Incorrect API key provided");
        }
        if head.starts_with("GET /v1/models") {
            return Reply::Respond {
                status: 200,
                headers: vec![],
                body: r#"{"object":"list","data":[{"id":"fake","object":"model"}]}"#.into(),
            };
        }
        schema_answering_streamed(body)
    }))
    .await
}

/// A vLLM-like server without the model asked for.
async fn without_the_model() -> FakeServer {
    FakeServer::start_routed(Arc::new(|head: &str, _body: &str| {
        if head.starts_with("GET /v1/models") {
            return Reply::Respond {
                status: 200,
                headers: vec![],
                body: r#"{"object":"list","data":[{"id":"Qwen/Qwen2.5-7B-Instruct"},{"id":"meta-llama/Llama-3.1-8B-Instruct"}]}"#.into(),
            };
        }
        Reply::status(404, "The model `missing-model` does not exist.")
    }))
    .await
}

/// A server that refuses every key.
async fn refusing() -> FakeServer {
    FakeServer::start_routed(Arc::new(|_: &str, _: &str| {
        Reply::status(401, &format!("Incorrect API key provided: {BAD_KEY}"))
    }))
    .await
}

fn doctor(config: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["doctor", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    council_tests::council_command(env!("CARGO_BIN_EXE_council"), &args)
        .env_remove("VLLM_API_KEY")
        .env("OPENAI_API_KEY", GOOD_KEY)
        .env("CTO_KEY", BAD_KEY)
        .output()
        .expect("run council")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The table row of `name`.
fn row<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(&format!("{name}  ")))
        .unwrap_or_else(|| panic!("no row for {name}:\n{out}"))
}

fn main_table(url: &str) -> String {
    format!("provider = \"openai\"\nbase_url = \"{url}\"\nmodel = \"fake\"\n")
}

#[test]
fn doctor_shows_a_good_and_a_broken_endpoint() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (good, broken) = rt.block_on(async { (good().await, without_the_model().await) });
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[personas.cfo]\nprovider = \"vllm\"\nbase_url = \"{}\"\nmodel = \"missing-model\"\n",
            main_table(&good.url),
            broken.url
        ),
    )
    .unwrap();
    let out = doctor(&config, &[]);
    let stdout = text(&out.stdout);
    println!("$ council doctor --config config.toml\n{stdout}");
    println!("stderr:\n{}", text(&out.stderr));
    println!("exit code: {:?}", out.status.code());

    let main = row(&stdout, "main");
    assert!(
        main.contains(&good.url) && main.contains("openai"),
        "{main}"
    );
    // reachable, key and exists pass; the schema went out strict; the
    // answer streamed in pieces; the latency was measured.
    assert!(main.contains("ok (strict schema)"), "{main}");
    assert!(main.contains("pieces)") && main.contains(" ms"), "{main}");
    assert!(!main.contains("FAIL"), "{main}");

    let cfo = row(&stdout, "persona cfo");
    assert!(
        cfo.contains("vllm") && cfo.contains("missing-model"),
        "{cfo}"
    );
    assert!(cfo.contains("FAIL"), "{cfo}");
    assert!(
        stdout.contains("persona cfo, model: ")
            && stdout.contains("does not list model \"missing-model\""),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "fix: set model = \"NAME\" to one the server has: Qwen/Qwen2.5-7B-Instruct, meta-llama/Llama-3.1-8B-Instruct"
        ),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("1 of 2 endpoints failed"));
    // The good server saw the key; the broken one was asked once for the
    // model anyway (some servers answer for any name), then no more.
    assert!(good.hits() >= 3, "list, structured call, streamed call");
    assert_eq!(broken.hits(), 2, "the list and one chat");
}

#[test]
fn doctor_names_the_key_variable_and_the_unreachable_server_and_never_the_key() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (good, refusing) = rt.block_on(async { (good().await, refusing().await) });
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "{}\n[personas.cto]\nprovider = \"vllm\"\nbase_url = \"{}\"\nmodel = \"m\"\napi_key_env = \"CTO_KEY\"\n\n[[endpoints]]\nbase_url = \"http://127.0.0.1:{closed}/v1\"\nmodel = \"fake\"\n",
            main_table(&good.url),
            refusing.url
        ),
    )
    .unwrap();
    let table = doctor(&config, &[]);
    let stdout = text(&table.stdout);
    println!("$ council doctor --config config.toml\n{stdout}");
    assert!(!stdout.contains(BAD_KEY) && !text(&table.stderr).contains(BAD_KEY));
    assert!(
        stdout.contains("fix: the key in CTO_KEY was refused: set a valid key in CTO_KEY"),
        "{stdout}"
    );
    assert!(
        stdout.contains("endpoint 1, reachable: could not reach")
            && stdout.contains("fix: check base_url"),
        "{stdout}"
    );
    assert_eq!(table.status.code(), Some(4));

    let json = doctor(&config, &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let endpoints = v["endpoints"].as_array().unwrap();
    let names: Vec<&str> = endpoints
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["main", "persona cto", "endpoint 1"]);
    assert_eq!(endpoints[0]["structured"]["status"], "pass");
    assert_eq!(endpoints[1]["key"]["status"], "fail");
    assert_eq!(endpoints[1]["structured"]["status"], "skipped");
    assert_eq!(endpoints[2]["reachable"]["status"], "fail");
    assert!(!text(&json.stdout).contains(BAD_KEY));
    assert_eq!(json.status.code(), Some(4));
}

#[test]
fn doctor_exits_zero_when_every_check_passes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let good = rt.block_on(good());
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    // A plain server: no strict schemas, no streaming unless asked.
    std::fs::write(
        &config,
        format!("base_url = \"{}\"\nmodel = \"fake\"\n", good.url),
    )
    .unwrap();
    let out = doctor(&config, &["-q"]);
    let stdout = text(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let main = row(&stdout, "main");
    assert!(main.contains("ok (native schema)"), "{main}");
    assert!(main.contains("- (stream = false)"), "{main}");
    assert!(!stdout.contains("fix:"), "{stdout}");
}

#[test]
fn doctor_lists_a_local_ollamas_models_with_the_command_to_use_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ollama = rt.block_on(FakeServer::start_routed(Arc::new(|head: &str, _: &str| {
        if head.starts_with("GET /api/tags") {
            return Reply::Respond {
                status: 200,
                headers: vec![],
                body:
                    r#"{"models":[{"name":"qwen2.5:7b","size":4683087332},{"name":"llama3.2:3b"}]}"#
                        .into(),
            };
        }
        Reply::status(404, "not found")
    })));
    let host = ollama.url.trim_end_matches("/v1").to_string();
    let replay = tempfile::tempdir().unwrap();
    let cassette = replay.path().join("c.json");
    std::fs::write(&cassette, r#"{"version":1,"entries":{}}"#).unwrap();
    let mut cmd = council_tests::council_command(
        env!("CARGO_BIN_EXE_council"),
        &["--replay", cassette.to_str().unwrap(), "doctor"],
    );
    cmd.env("OLLAMA_HOST", &host);
    let out = cmd.output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        s.contains("running at") && s.contains("qwen2.5:7b, llama3.2:3b"),
        "{s}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        s.contains(&format!(
            "council --provider ollama --base-url {host}/v1 --model qwen2.5:7b"
        )),
        "{s}"
    );
    assert!(ollama
        .heads()
        .iter()
        .any(|h| h.starts_with("GET /api/tags")));
    // Nothing at OLLAMA_HOST: said plainly, and not a failure.
    let mut cmd = council_tests::council_command(
        env!("CARGO_BIN_EXE_council"),
        &["--replay", cassette.to_str().unwrap(), "doctor"],
    );
    cmd.env("OLLAMA_HOST", "127.0.0.1:9");
    let out = cmd.output().unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{s}");
    assert!(s.contains("no Ollama answers at http://127.0.0.1:9"), "{s}");
}

#[test]
fn doctor_lists_the_models_of_a_server_the_user_names() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(without_the_model());
    let host = server.url.trim_end_matches("/v1").to_string();
    let replay = tempfile::tempdir().unwrap();
    let cassette = replay.path().join("c.json");
    std::fs::write(&cassette, r#"{"version":1,"entries":{}}"#).unwrap();
    let run = |url: &str| {
        let mut cmd = council_tests::council_command(
            env!("CARGO_BIN_EXE_council"),
            &[
                "--replay",
                cassette.to_str().unwrap(),
                "doctor",
                "--server",
                url,
            ],
        );
        cmd.env("OLLAMA_HOST", "127.0.0.1:9");
        cmd.output().unwrap()
    };
    // The host alone: the API root /v1 is found.
    let out = run(&host);
    let s = text(&out.stdout);
    assert!(out.status.success(), "{s}{}", text(&out.stderr));
    assert!(
        s.contains("2 model(s): Qwen/Qwen2.5-7B-Instruct, meta-llama/Llama-3.1-8B-Instruct"),
        "{s}"
    );
    assert!(
        s.contains(&format!(
            "council --provider openai --base-url {host}/v1 --model Qwen/Qwen2.5-7B-Instruct ask"
        )),
        "{s}"
    );
    // Nothing there: a failure, with the fix, and exit 4.
    let out = run("127.0.0.1:9");
    let s = text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{s}");
    assert!(s.contains("start it, or check the address"), "{s}");
}
