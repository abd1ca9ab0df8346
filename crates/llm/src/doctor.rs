//! `council doctor`: checks one configured HTTP endpoint step by step and
//! says, for each step that fails, what to change.
//!
//! The steps, in order: the server is **reachable** (its model list,
//! `GET {base}/models`, answers at all), the **key** is accepted (no 401 or
//! 403), the **model** exists (the list's `data[].id` holds it), a small
//! **structured** answer comes back valid against a schema (through the
//! real backend, so the same fallbacks apply), **streaming** delivers
//! pieces before the end (only where the settings stream), and the
//! structured call's wall time (**latency**). A failure that makes later
//! steps meaningless (no server, a refused key, a missing model) skips
//! them. Azure's deployment URL has no model list: there the chat call is
//! the reachability test. A model missing from the list is still asked
//! once: some servers (llama.cpp's) answer for any name, and then the
//! model counts as present.
//!
//! Keys are sent, never shown: every text taken from a server goes through
//! the same scrubbing as an error's.

use crate::anthropic::AnthropicSettings;
use crate::config::{build_http, Choice};
use crate::openai::OpenAiSettings;
use crate::provider::{KeyHeader, Provider};
use crate::retry::RetryPolicy;
use crate::{ChatModel, ChatRequest, LlmError, Message};
use serde::Serialize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest a doctor's chat call may take, whatever the config allows.
const CHAT_LIMIT: Duration = Duration::from_secs(120);

/// The longest the model-list call may take.
const LIST_LIMIT: Duration = Duration::from_secs(30);

/// How many of the server's model names a fix lists.
const MODELS_SHOWN: usize = 5;

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Check {
    /// It works.
    Pass {
        /// How it works, briefly (may be empty).
        detail: String,
    },
    /// It does not work.
    Fail {
        /// What went wrong.
        problem: String,
        /// What to change.
        fix: String,
    },
    /// It was not checked.
    Skipped {
        /// Why not.
        why: String,
    },
}

impl Check {
    fn pass(detail: impl Into<String>) -> Check {
        Check::Pass {
            detail: detail.into(),
        }
    }

    fn fail(problem: impl Into<String>, fix: impl Into<String>) -> Check {
        Check::Fail {
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    fn skipped(why: impl Into<String>) -> Check {
        Check::Skipped { why: why.into() }
    }

    /// Whether the check failed.
    pub fn failed(&self) -> bool {
        matches!(self, Check::Fail { .. })
    }

    /// A short table cell: `ok (detail)`, `FAIL`, or `-` with a short reason.
    pub fn cell(&self) -> String {
        match self {
            Check::Pass { detail } if detail.is_empty() => "ok".into(),
            Check::Pass { detail } => format!("ok ({detail})"),
            Check::Fail { .. } => "FAIL".into(),
            Check::Skipped { why } if why.chars().count() <= 16 => format!("- ({why})"),
            Check::Skipped { .. } => "-".into(),
        }
    }
}

/// What `council doctor` found out about one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndpointReport {
    /// Which endpoint of the config this is (`main`, `persona cfo`, …).
    pub name: String,
    /// Its provider preset, or `openai-compatible` for a plain server.
    pub provider: String,
    /// Its base URL.
    pub base_url: String,
    /// The model asked for.
    pub model: String,
    /// The server answers at all.
    pub reachable: Check,
    /// The key is accepted.
    pub key: Check,
    /// The server lists the model.
    pub model_exists: Check,
    /// A schema-valid answer comes back.
    pub structured: Check,
    /// A streamed answer arrives in pieces.
    pub streaming: Check,
    /// The structured call's wall time in milliseconds, when it answered.
    pub latency_ms: Option<u64>,
}

impl EndpointReport {
    /// A report on `name` with every check still to do.
    pub fn new(name: &str, provider: &str, base_url: &str, model: &str) -> EndpointReport {
        let todo = || Check::skipped("not checked");
        EndpointReport {
            name: name.into(),
            provider: provider.into(),
            base_url: base_url.into(),
            model: model.into(),
            reachable: todo(),
            key: todo(),
            model_exists: todo(),
            structured: todo(),
            streaming: todo(),
            latency_ms: None,
        }
    }

    /// The checks in order, each with its column name.
    pub fn checks(&self) -> [(&'static str, &Check); 5] {
        [
            ("reachable", &self.reachable),
            ("key", &self.key),
            ("model", &self.model_exists),
            ("structured", &self.structured),
            ("streaming", &self.streaming),
        ]
    }

    /// Whether every check passed or was skipped.
    pub fn passed(&self) -> bool {
        self.checks().iter().all(|(_, c)| !c.failed())
    }
}

/// Checks the HTTP endpoint `choice` (OpenAI-compatible or Anthropic) as
/// `name`; any other backend is reported with every check skipped.
pub async fn check(name: &str, choice: &Choice) -> EndpointReport {
    match choice {
        Choice::OpenAi(s) => run(openai_target(name, s)).await,
        Choice::Anthropic(s) => run(anthropic_target(name, s)).await,
        Choice::Embedded { source, .. } => {
            let mut r = EndpointReport::new(name, "embedded", "", &source.name());
            skip_all(&mut r, "not an HTTP endpoint");
            r
        }
        Choice::Replay(p) => {
            let mut r = EndpointReport::new(name, "replay", &p.display().to_string(), "cassette");
            skip_all(&mut r, "not an HTTP endpoint");
            r
        }
    }
}

fn skip_all(r: &mut EndpointReport, why: &str) {
    for c in [
        &mut r.reachable,
        &mut r.key,
        &mut r.model_exists,
        &mut r.structured,
        &mut r.streaming,
    ] {
        *c = Check::skipped(why);
    }
}

/// One endpoint, ready to check.
struct Target {
    report: EndpointReport,
    /// The model-list request, or why there is none.
    list: Result<reqwest::RequestBuilder, String>,
    /// Where the key comes from (or should), for the fix.
    key_var: String,
    /// Whether a key is sent.
    has_key: bool,
    /// The backend for the structured call (not streaming, quick retries).
    structured: Result<Arc<dyn ChatModel>, LlmError>,
    /// Names how the schema was held to, from the backend's schema support after the call.
    how: Box<dyn Fn(bool) -> String + Send + Sync>,
    /// The fix when answers break the schema.
    schema_fix: String,
    /// The streaming backend, or why streaming is not checked.
    stream: Result<Arc<dyn ChatModel>, String>,
}

/// Retries a doctor can afford: none of its own (a structured answer
/// still gets its one repair).
fn quick() -> RetryPolicy {
    RetryPolicy {
        max_retries: 0,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(2),
    }
}

fn list_client(connect: Duration, whole: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(whole.min(LIST_LIMIT))
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

fn openai_target(name: &str, s: &OpenAiSettings) -> Target {
    let provider = s.provider.map_or("openai-compatible", Provider::as_str);
    let base = s.base_url.trim_end_matches('/');
    let list = if s.provider == Some(Provider::Azure) {
        Err("Azure lists no deployments".to_string())
    } else {
        list_client(s.connect_timeout, s.request_timeout).map(|http| {
            let mut req = http.get(format!("{base}/models"));
            if let Some(key) = &s.api_key {
                req = match s.key_header {
                    KeyHeader::Bearer => req.bearer_auth(key.expose()),
                    KeyHeader::ApiKey => req.header("api-key", key.expose()),
                };
            }
            for (k, v) in &s.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            req
        })
    };
    let mut quiet = s.clone();
    quiet.retry = quick();
    quiet.request_timeout = s.request_timeout.min(CHAT_LIMIT);
    quiet.stream = false;
    let mut streamed = quiet.clone();
    streamed.stream = true;
    let (configured, strict) = (s.native_json_schema, s.strict);
    let how = move |native: bool| match (native, strict, configured) {
        (true, true, _) => "strict schema".to_string(),
        (true, false, _) => "native schema".to_string(),
        (false, _, true) => "schema in prompt: response_format refused".to_string(),
        (false, _, false) => "schema in prompt".to_string(),
    };
    let schema_fix = match (configured, strict) {
        (true, true) => "set strict = false (or native_json_schema = false to put the schema in the prompt), or use a model that follows JSON schemas",
        (true, false) => "set native_json_schema = false to put the schema in the prompt, or use a model that follows JSON schemas",
        (false, _) => "use a model that follows instructions to answer in JSON (a larger or instruction-tuned one)",
    };
    Target {
        report: EndpointReport::new(name, provider, &s.base_url, &s.model),
        list,
        key_var: s.key_var.clone(),
        has_key: s.api_key.is_some(),
        structured: build_http(&Choice::OpenAi(quiet)),
        how: Box::new(how),
        schema_fix: schema_fix.into(),
        stream: if s.stream {
            build_http(&Choice::OpenAi(streamed)).map_err(|e| e.to_string())
        } else {
            Err("stream = false".into())
        },
    }
}

fn anthropic_target(name: &str, s: &AnthropicSettings) -> Target {
    let base = s.base_url.trim_end_matches('/');
    let list = list_client(s.connect_timeout, s.request_timeout).map(|http| {
        let mut req = http
            .get(format!("{base}/models"))
            .header("anthropic-version", &s.version);
        if let Some(key) = &s.api_key {
            req = req.header("x-api-key", key.expose());
        }
        req
    });
    let mut quiet = s.clone();
    quiet.retry = quick();
    quiet.request_timeout = s.request_timeout.min(CHAT_LIMIT);
    Target {
        report: EndpointReport::new(name, Provider::Anthropic.as_str(), &s.base_url, &s.model),
        list,
        key_var: s.key_var.clone(),
        has_key: s.api_key.is_some(),
        structured: build_http(&Choice::Anthropic(quiet)),
        how: Box::new(|_| "tool call".to_string()),
        schema_fix: "use a model that calls tools reliably (a larger Claude model)".into(),
        stream: Err("Anthropic backend does not stream".into()),
    }
}

/// What the model-list call found.
#[derive(Debug, PartialEq)]
enum Listing {
    /// No answer at all: the problem.
    Unreachable(String),
    /// A failure status and the body, shortened.
    Status(u16, String),
    /// The model ids listed.
    Ids(Vec<String>),
    /// A 2xx body that is not a model list.
    NotAList,
}

async fn fetch_list(req: reqwest::RequestBuilder) -> Listing {
    let url = req
        .try_clone()
        .and_then(|r| r.build().ok())
        .map(|r| r.url().to_string())
        .unwrap_or_default();
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            let why = if e.is_timeout() {
                "no answer in time".to_string()
            } else {
                crate::http::root_cause(&e)
            };
            return Listing::Unreachable(crate::error::scrub(&format!(
                "could not reach {url}: {why}"
            )));
        }
    };
    let status = resp.status().as_u16();
    let text = match resp.text().await {
        Ok(t) => t,
        Err(e) => {
            return Listing::Unreachable(crate::error::scrub(&format!(
                "{url} broke off its answer: {}",
                council_core::error_chain(&e)
            )))
        }
    };
    if !(200..300).contains(&status) {
        return Listing::Status(
            status,
            crate::error::scrub(&council_core::excerpt(&text, 200)),
        );
    }
    ids_of(&text).map_or(Listing::NotAList, Listing::Ids)
}

/// The model ids of an OpenAI- or Anthropic-shaped list (`{"data":[{"id":…}]}`).
fn ids_of(body: &str) -> Option<Vec<String>> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let data = v.get("data")?.as_array()?;
    Some(
        data.iter()
            .filter_map(|m| m.get("id").and_then(|i| i.as_str()).map(str::to_string))
            .collect(),
    )
}

/// Whether the listed `id` names `model`: the same, or Gemini's
/// `models/NAME`, or Ollama's `NAME:latest` for a name without a tag.
fn same_model(id: &str, model: &str) -> bool {
    id == model
        || id.strip_prefix("models/") == Some(model)
        || (!model.contains(':') && id.strip_suffix(":latest") == Some(model))
}

/// The fix for a model the server does not list: up to five it does.
fn missing_model_fix(ids: &[String]) -> String {
    if ids.is_empty() {
        return "the server lists no models: load one into it, or check that base_url is the right server".into();
    }
    let shown: Vec<&str> = ids.iter().take(MODELS_SHOWN).map(String::as_str).collect();
    let more = match ids.len().saturating_sub(MODELS_SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    format!(
        "set model = \"NAME\" to one the server has: {}{more}",
        shown.join(", ")
    )
}

const UNREACHABLE_FIX: &str =
    "check base_url (config file, --base-url or COUNCIL_BASE_URL) and that the server is running there";

fn key_fix(key_var: &str, has_key: bool) -> String {
    if has_key {
        format!("the key in {key_var} was refused: set a valid key in {key_var} (or name another variable with api_key_env = \"NAME\")")
    } else {
        format!(
            "no key was sent: set {key_var} (or name another variable with api_key_env = \"NAME\")"
        )
    }
}

fn key_passed(has_key: bool) -> Check {
    Check::pass(if has_key { "" } else { "no key" })
}

/// The one structured question.
fn structured_request() -> ChatRequest {
    ChatRequest::new(vec![
        Message::system("You check that a server works. Answer with JSON only."),
        Message::user("Reply with {\"ok\": true}."),
    ])
    .with_max_tokens(50)
    .with_temperature(0.0)
    .with_schema(
        "doctor",
        serde_json::json!({
            "type": "object",
            "properties": {"ok": {"type": "boolean"}},
            "required": ["ok"],
            "additionalProperties": false
        }),
    )
}

/// The fix for a structured call that failed with `e`.
fn structured_fix(e: &LlmError, schema_fix: &str) -> String {
    match e {
        LlmError::SchemaViolation { .. } => schema_fix.into(),
        LlmError::Http { status: 400, .. } => format!(
            "the server refused the request; if it names response_format, json_schema or strict: {schema_fix}"
        ),
        LlmError::Http { status: 429, .. } | LlmError::QuotaExhausted { .. } => {
            "the account is rate-limited or out of quota: check its billing and limits, then run doctor again".into()
        }
        LlmError::Http { status, .. } if *status >= 500 => {
            "the server failed: look at its logs (is the model loaded?) and run doctor again".into()
        }
        LlmError::Timeout { .. } | LlmError::Stalled { .. } => {
            "the model is slow or stuck: check the server's load, or raise timeout_secs".into()
        }
        LlmError::BadResponse { .. } => {
            "the server does not answer like a chat-completions endpoint: check that base_url ends in /v1 and that provider names the right kind of server".into()
        }
        LlmError::Connect { .. } => UNREACHABLE_FIX.into(),
        _ => "see the problem: it names the setting to change".into(),
    }
}

/// What the steps found so far; a step that settles a check sets it.
#[derive(Default)]
struct Found {
    reachable: Option<Check>,
    key: Option<Check>,
    model: Option<Check>,
    /// The ids listed, when the model is not among them.
    unlisted: Option<Vec<String>>,
}

async fn run(t: Target) -> EndpointReport {
    let Target {
        mut report,
        list,
        key_var,
        has_key,
        structured,
        how,
        schema_fix,
        stream,
    } = t;
    let Some(mut found) = list_step(list, &mut report, &key_var, has_key).await else {
        return report;
    };
    let go_on = match structured {
        Err(e) => {
            report.structured = Check::fail(
                e.to_string(),
                "fix the endpoint's settings as the problem says",
            );
            false
        }
        Ok(backend) => {
            let ask = Ask {
                how: &how,
                schema_fix: &schema_fix,
                key_var: &key_var,
                has_key,
            };
            structured_step(backend.as_ref(), &ask, &mut report, &mut found).await
        }
    };
    report.streaming = match stream {
        Err(why) => Check::skipped(why),
        Ok(_) if !go_on => Check::skipped("an earlier check failed"),
        Ok(backend) => check_stream(backend.as_ref()).await,
    };
    report.reachable = found
        .reachable
        .unwrap_or_else(|| Check::skipped("not checked"));
    report.key = found.key.unwrap_or_else(|| Check::skipped("no verdict"));
    report.model_exists = found.model.unwrap_or_else(|| Check::skipped("not checked"));
    report
}

/// The model-list step: whether the server answers, takes the key and
/// lists the model. `None` when it settled the whole report (no server,
/// a refused key): the later steps are skipped.
async fn list_step(
    list: Result<reqwest::RequestBuilder, String>,
    report: &mut EndpointReport,
    key_var: &str,
    has_key: bool,
) -> Option<Found> {
    let mut found = Found::default();
    let req = match list {
        Err(why) => {
            found.model = Some(Check::skipped(why));
            return Some(found);
        }
        Ok(req) => req,
    };
    match fetch_list(req).await {
        Listing::Unreachable(problem) => {
            report.reachable = Check::fail(problem, UNREACHABLE_FIX);
            for c in [
                &mut report.key,
                &mut report.model_exists,
                &mut report.structured,
                &mut report.streaming,
            ] {
                *c = Check::skipped("server unreachable");
            }
            return None;
        }
        Listing::Status(status @ (401 | 403), body) => {
            report.reachable = Check::pass("");
            report.key = Check::fail(
                format!(
                    "{}/models answered HTTP {status}: {body}",
                    report.base_url.trim_end_matches('/')
                ),
                key_fix(key_var, has_key),
            );
            for c in [
                &mut report.model_exists,
                &mut report.structured,
                &mut report.streaming,
            ] {
                *c = Check::skipped("key refused");
            }
            return None;
        }
        Listing::Status(status, _) => {
            found.reachable = Some(Check::pass(""));
            found.model = Some(Check::skipped(format!(
                "the model list answered HTTP {status}"
            )));
        }
        Listing::NotAList => {
            found.reachable = Some(Check::pass(""));
            found.key = Some(key_passed(has_key));
            found.model = Some(Check::skipped("the model list is not in OpenAI's shape"));
        }
        Listing::Ids(ids) => {
            found.reachable = Some(Check::pass(""));
            found.key = Some(key_passed(has_key));
            if ids.iter().any(|id| same_model(id, &report.model)) {
                found.model = Some(Check::pass(""));
            } else {
                found.unlisted = Some(ids);
            }
        }
    }
    Some(found)
}

/// What the structured step needs to judge its answer.
struct Ask<'a> {
    how: &'a (dyn Fn(bool) -> String + Send + Sync),
    schema_fix: &'a str,
    key_var: &'a str,
    has_key: bool,
}

/// The structured step: one schema-bound question through the real
/// backend, timed. Returns whether streaming is still worth checking.
async fn structured_step(
    backend: &dyn ChatModel,
    ask: &Ask<'_>,
    report: &mut EndpointReport,
    found: &mut Found,
) -> bool {
    let started = Instant::now();
    let answer = backend.chat(&structured_request()).await;
    let took = started.elapsed();
    match answer {
        Ok(resp) if resp.json.is_some() => {
            report.latency_ms = Some(u64::try_from(took.as_millis()).unwrap_or(u64::MAX));
            found.reachable.get_or_insert_with(|| Check::pass(""));
            found.key.get_or_insert_with(|| key_passed(ask.has_key));
            if found.unlisted.is_some() {
                found.model = Some(Check::pass("unlisted, answers"));
            }
            let mut detail = (ask.how)(backend.info().capabilities.native_json_schema);
            if resp.attempts > 1 {
                detail.push_str(", after a repair");
            }
            report.structured = Check::pass(detail);
            true
        }
        Ok(_) => {
            report.structured = Check::fail("the answer came back without JSON", ask.schema_fix);
            true
        }
        Err(e) => structured_failed(&e, ask, report, found),
    }
}

/// Which check a failed structured call fails, and whether streaming is
/// still worth checking.
fn structured_failed(
    e: &LlmError,
    ask: &Ask<'_>,
    report: &mut EndpointReport,
    found: &mut Found,
) -> bool {
    match (e, &found.unlisted) {
        (LlmError::Auth { .. }, _) => {
            found.reachable.get_or_insert_with(|| Check::pass(""));
            found.key = Some(Check::fail(
                e.to_string(),
                key_fix(ask.key_var, ask.has_key),
            ));
            found
                .model
                .get_or_insert_with(|| Check::skipped("key refused"));
            report.structured = Check::skipped("key refused");
            false
        }
        (LlmError::Connect { .. } | LlmError::Timeout { .. }, _) if found.reachable.is_none() => {
            found.reachable = Some(Check::fail(e.to_string(), UNREACHABLE_FIX));
            found.key = Some(Check::skipped("server unreachable"));
            found.model = Some(Check::skipped("server unreachable"));
            report.structured = Check::skipped("server unreachable");
            false
        }
        (_, Some(ids)) => {
            found.model = Some(Check::fail(
                format!(
                    "{} does not list model {:?}",
                    report.base_url.trim_end_matches('/'),
                    report.model
                ),
                missing_model_fix(ids),
            ));
            report.structured = Check::skipped("model missing");
            false
        }
        (LlmError::Http { status: 404, .. }, None) => {
            found.reachable.get_or_insert_with(|| Check::pass(""));
            found.model = Some(Check::fail(
                e.to_string(),
                "check the model name (model = \"NAME\"; on Azure, the deployment's name)",
            ));
            report.structured = Check::skipped("model missing");
            false
        }
        _ => {
            found.reachable.get_or_insert_with(|| Check::pass(""));
            report.structured = Check::fail(e.to_string(), structured_fix(e, ask.schema_fix));
            // A model that fails on a schema may still stream.
            matches!(
                e,
                LlmError::SchemaViolation { .. } | LlmError::Http { status: 400, .. }
            )
        }
    }
}

/// Asks a short free-text answer streamed; passes when a piece arrived.
async fn check_stream(backend: &dyn ChatModel) -> Check {
    let pieces = AtomicUsize::new(0);
    let sink = |piece: &str| {
        if !piece.is_empty() {
            pieces.fetch_add(1, Ordering::Relaxed);
        }
    };
    let request =
        ChatRequest::prompt("Count from 1 to 5, separated by spaces.").with_max_tokens(30);
    match backend.chat_streaming(&request, &sink).await {
        Ok(_) => match pieces.load(Ordering::Relaxed) {
            0 => Check::fail(
                "the streamed answer ended without a single piece of text",
                "set stream = false in the config (this server's streaming does not work)",
            ),
            1 => Check::pass("1 piece"),
            n => Check::pass(format!("{n} pieces")),
        },
        Err(e @ LlmError::Stalled { .. }) => Check::fail(
            e.to_string(),
            "raise stream_idle_timeout_secs, or set stream = false in the config",
        ),
        Err(e) => Check::fail(
            e.to_string(),
            "set stream = false in the config (this server's streaming does not work)",
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{find_key, http_choice, Common};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A server answering `reply(request line)` as (status, body), JSON.
    async fn serve(reply: fn(&str) -> (u16, String)) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16384];
                    let mut got = Vec::new();
                    // Enough for a head and a small body.
                    loop {
                        let n = sock.read(&mut buf).await.unwrap_or(0);
                        got.extend_from_slice(&buf[..n]);
                        let text = String::from_utf8_lossy(&got);
                        let done = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
                            let len = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse::<usize>().ok())?
                                })
                                .unwrap_or(0);
                            body.len() >= len
                        });
                        if n == 0 || done {
                            break;
                        }
                    }
                    let text = String::from_utf8_lossy(&got).into_owned();
                    let (status, body) = reply(text.lines().next().unwrap_or(""));
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        format!("http://{addr}/v1")
    }

    fn choice(provider: Option<Provider>, url: &str, model: &str) -> Choice {
        let key = find_key(&["DOCTOR_TEST_KEY".into()], &|_| {
            Some("sk-doctor-test-0123456789".into())
        });
        http_choice(provider, url, model, key, &Common::default())
    }

    fn completion() -> String {
        r#"{"choices":[{"message":{"content":"{\"ok\":true}"},"finish_reason":"stop"}]}"#.into()
    }

    #[test]
    fn listed_names_match_leniently_and_fixes_list_five() {
        assert!(same_model("gpt-4o", "gpt-4o"));
        assert!(same_model("models/gemini-2.0-flash", "gemini-2.0-flash"));
        assert!(same_model("llama3:latest", "llama3"));
        assert!(!same_model("llama3:8b", "llama3"));
        assert!(!same_model("gpt-4o-mini", "gpt-4o"));
        let ids: Vec<String> = (1..=7).map(|i| format!("m{i}")).collect();
        let fix = missing_model_fix(&ids);
        assert!(fix.contains("m1, m2, m3, m4, m5 and 2 more"), "{fix}");
        assert!(!fix.contains("m6"), "{fix}");
        assert_eq!(
            ids_of(r#"{"object":"list","data":[{"id":"a"},{"id":"b"}]}"#),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(ids_of(r#"{"models":[]}"#), None);
    }

    #[test]
    fn cells_are_short() {
        assert_eq!(Check::pass("").cell(), "ok");
        assert_eq!(Check::pass("strict schema").cell(), "ok (strict schema)");
        assert_eq!(Check::fail("x", "y").cell(), "FAIL");
        assert_eq!(
            Check::skipped("stream = false").cell(),
            "- (stream = false)"
        );
        assert_eq!(
            Check::skipped("a long reason why it did not run").cell(),
            "-"
        );
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable_and_skips_the_rest() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/v1");
        let r = check("main", &choice(Some(Provider::Vllm), &url, "m")).await;
        assert!(r.reachable.failed(), "{r:?}");
        let Check::Fail { fix, .. } = &r.reachable else {
            unreachable!()
        };
        assert!(fix.contains("base_url"), "{fix}");
        assert!(matches!(r.structured, Check::Skipped { .. }), "{r:?}");
        assert_eq!(r.latency_ms, None);
    }

    #[tokio::test]
    async fn a_refused_key_names_its_variable_and_never_shows_the_key() {
        let url = serve(|_| {
            (
                401,
                r#"{"error":{"message":"bad key sk-doctor-test-0123456789"}}"#.into(),
            )
        })
        .await;
        let r = check("main", &choice(Some(Provider::OpenAi), &url, "m")).await;
        assert_eq!(r.reachable, Check::pass(""));
        let Check::Fail { problem, fix } = &r.key else {
            panic!("{r:?}")
        };
        assert!(fix.contains("DOCTOR_TEST_KEY"), "{fix}");
        assert!(!format!("{r:?}").contains("sk-doctor-test"), "{problem}");
        assert!(!r.passed());
    }

    #[tokio::test]
    async fn a_good_server_passes_and_a_missing_model_lists_what_is_there() {
        let url = serve(|line| {
            if line.starts_with("GET") {
                (200, r#"{"data":[{"id":"good"},{"id":"other"}]}"#.into())
            } else {
                (200, completion())
            }
        })
        .await;
        let r = check("main", &choice(None, &url, "good")).await;
        assert!(r.passed(), "{r:?}");
        assert_eq!(r.model_exists, Check::pass(""));
        assert_eq!(r.structured, Check::pass("native schema"));
        assert_eq!(r.streaming, Check::skipped("stream = false"));
        assert!(r.latency_ms.is_some());

        let url = serve(|line| {
            if line.starts_with("GET") {
                (200, r#"{"data":[{"id":"good"},{"id":"other"}]}"#.into())
            } else {
                (
                    404,
                    r#"{"error":{"message":"The model `nope` does not exist."}}"#.into(),
                )
            }
        })
        .await;
        let r = check("persona cfo", &choice(Some(Provider::Vllm), &url, "nope")).await;
        let Check::Fail { fix, .. } = &r.model_exists else {
            panic!("{r:?}")
        };
        assert!(fix.contains("good, other"), "{fix}");
        assert_eq!(r.structured, Check::skipped("model missing"));
        assert_eq!(r.streaming, Check::skipped("an earlier check failed"));
    }

    #[tokio::test]
    async fn an_unlisted_model_that_answers_is_present() {
        let url = serve(|line| {
            if line.starts_with("GET") {
                (200, r#"{"data":[{"id":"model.gguf"}]}"#.into())
            } else {
                (200, completion())
            }
        })
        .await;
        let r = check("main", &choice(None, &url, "anything")).await;
        assert_eq!(r.model_exists, Check::pass("unlisted, answers"));
        assert!(r.passed(), "{r:?}");
    }
}

/// Ollama's address: `OLLAMA_HOST` (`HOST`, `HOST:PORT` or a URL), else
/// 127.0.0.1:11434, as `http://HOST:PORT`.
pub fn ollama_base(env: &dyn Fn(&str) -> Option<String>) -> String {
    let host = env("OLLAMA_HOST")
        .map(|h| h.trim().trim_end_matches('/').to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "127.0.0.1:11434".into());
    let (scheme, rest) = match host.split_once("://") {
        Some((s, r)) => (s.to_string(), r.to_string()),
        None => ("http".to_string(), host),
    };
    // Ollama listens on every address for 0.0.0.0; ask it on loopback.
    let rest = rest.replace("0.0.0.0", "127.0.0.1");
    let has_port = rest
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if has_port {
        format!("{scheme}://{rest}")
    } else {
        format!("{scheme}://{rest}:11434")
    }
}

/// The models a local Ollama at `base` serves (`GET /api/tags`), or why
/// none could be listed.
pub async fn ollama_models(base: &str, timeout: Duration) -> Result<Vec<String>, String> {
    #[derive(serde::Deserialize)]
    struct Tags {
        #[serde(default)]
        models: Vec<Tag>,
    }
    #[derive(serde::Deserialize)]
    struct Tag {
        name: String,
    }
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .get(format!("{base}/api/tags"))
        .send()
        .await
        .map_err(|_| format!("no Ollama answers at {base}"))?;
    if !resp.status().is_success() {
        return Err(format!("{base}/api/tags answered {}", resp.status()));
    }
    let tags: Tags = resp
        .json()
        .await
        .map_err(|e| format!("{base}/api/tags is not Ollama's model list: {e}"))?;
    Ok(tags.models.into_iter().map(|t| t.name).collect())
}

/// The command line that runs a debate on `model` served by Ollama at `base`
/// (its OpenAI-compatible API at `/v1`).
pub fn ollama_command(base: &str, model: &str) -> String {
    if base == "http://127.0.0.1:11434" {
        format!("council --provider ollama --model {model} ask \"…\"")
    } else {
        format!("council --provider ollama --base-url {base}/v1 --model {model} ask \"…\"")
    }
}

/// What `council doctor` and the first-run hint say about a local Ollama:
/// its models and how to use one, or that none was found.
pub async fn ollama_note(
    env: &dyn Fn(&str) -> Option<String>,
    timeout: Duration,
) -> (bool, String) {
    let base = ollama_base(env);
    match ollama_models(&base, timeout).await {
        Ok(models) if models.is_empty() => (
            true,
            format!(
                "ollama: running at {base} with no models; `ollama pull qwen2.5:7b`, then {}",
                ollama_command(&base, "qwen2.5:7b")
            ),
        ),
        Ok(models) => (
            true,
            format!(
                "ollama: running at {base} with {} model(s): {}; use one: {}",
                models.len(),
                models.join(", "),
                ollama_command(&base, &models[0])
            ),
        ),
        Err(why) => (
            false,
            format!("ollama: {why} (optional: OLLAMA_HOST names another address)"),
        ),
    }
}

/// The OpenAI-compatible API root of a server the user names: the URL as
/// given when it ends in `/v1` (or another path), else with `/v1` added
/// (llama.cpp's server, vLLM, LM Studio and Ollama all serve it there).
pub fn server_base(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = if url.contains("://") {
        url.to_string()
    } else {
        format!("http://{url}")
    };
    let path = url.splitn(4, '/').nth(3).unwrap_or("");
    if path.is_empty() {
        format!("{url}/v1")
    } else {
        url
    }
}

/// The command line that runs a debate on `model` served at `base` (an
/// OpenAI-compatible API root).
pub fn server_command(base: &str, model: &str) -> String {
    format!("council --provider openai --base-url {base} --model {model} ask \"…\"")
}

/// What `council doctor --server URL` says about a server the user names:
/// the models it lists (`GET BASE/models`) and the command line to use
/// one, or why none could be listed and what to do. `key` is sent as a
/// bearer token and never printed.
pub async fn server_note(url: &str, key: Option<&str>, timeout: Duration) -> (bool, String) {
    let base = server_base(url);
    let client = match list_client(timeout.min(Duration::from_secs(3)), timeout) {
        Ok(c) => c,
        Err(e) => return (false, format!("server {base}: {e}")),
    };
    let mut req = client.get(format!("{base}/models"));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    match fetch_list(req).await {
        Listing::Ids(ids) if ids.is_empty() => (
            false,
            format!("server {base}: answers, but lists no models; load one into it, then run `council doctor --server {url}` again"),
        ),
        Listing::Ids(ids) => (
            true,
            format!(
                "server {base}: {} model(s): {}; use one: {}",
                ids.len(),
                ids.join(", "),
                server_command(&base, &ids[0])
            ),
        ),
        Listing::Unreachable(why) => (
            false,
            format!("server {base}: {why}; start it, or check the address"),
        ),
        Listing::Status(401 | 403, _) => (
            false,
            format!("server {base}: the model list needs a key; set OPENAI_API_KEY (it is sent, never shown) and run again"),
        ),
        Listing::Status(code, body) => (
            false,
            format!("server {base}: GET {base}/models answered {code} ({body}); is it an OpenAI-compatible server? Give its API root, e.g. http://HOST:PORT/v1"),
        ),
        Listing::NotAList => (
            false,
            format!("server {base}: {base}/models is not an OpenAI model list; give the server's API root, e.g. http://HOST:PORT/v1"),
        ),
    }
}

#[cfg(test)]
mod ollama_tests {
    use super::*;

    #[test]
    fn ollama_host_takes_every_form_ollama_accepts() {
        let at = |v: &'static str| move |k: &str| (k == "OLLAMA_HOST").then(|| v.to_string());
        assert_eq!(ollama_base(&|_| None), "http://127.0.0.1:11434");
        assert_eq!(ollama_base(&at("0.0.0.0")), "http://127.0.0.1:11434");
        assert_eq!(ollama_base(&at("10.0.0.5:8080")), "http://10.0.0.5:8080");
        assert_eq!(
            ollama_base(&at("https://gpu.lan:443/")),
            "https://gpu.lan:443"
        );
        assert_eq!(
            ollama_command("http://10.0.0.5:8080", "llama3.2:3b"),
            "council --provider ollama --base-url http://10.0.0.5:8080/v1 --model llama3.2:3b ask \"…\""
        );
    }

    #[test]
    fn a_named_server_gets_its_api_root() {
        assert_eq!(server_base("127.0.0.1:8080"), "http://127.0.0.1:8080/v1");
        assert_eq!(
            server_base("http://gpu.lan:8000/"),
            "http://gpu.lan:8000/v1"
        );
        assert_eq!(
            server_base("https://x.example/api/v1"),
            "https://x.example/api/v1"
        );
    }

    async fn serve(status: u16, body: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            loop {
                let Ok((mut s, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let (status, body) = if head.starts_with("GET /v1/models ") {
                    (status, body)
                } else {
                    (404, "{}")
                };
                let reply = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        format!("127.0.0.1:{port}")
    }

    #[tokio::test]
    async fn a_named_server_lists_its_models_and_the_command_to_use_one() {
        let at = serve(
            200,
            r#"{"object":"list","data":[{"id":"qwen2.5-7b-instruct"},{"id":"llama-3.2-3b"}]}"#,
        )
        .await;
        let (found, note) = server_note(&at, None, Duration::from_secs(5)).await;
        assert!(found, "{note}");
        assert!(
            note.contains("2 model(s): qwen2.5-7b-instruct, llama-3.2-3b"),
            "{note}"
        );
        assert!(
            note.contains(&format!("council --provider openai --base-url http://{at}/v1 --model qwen2.5-7b-instruct ask")),
            "{note}"
        );
    }

    #[tokio::test]
    async fn a_named_server_that_refuses_or_is_absent_says_what_to_do() {
        let at = serve(401, r#"{"error":"no key"}"#).await;
        let (found, note) = server_note(&at, Some("sk-secret-1"), Duration::from_secs(5)).await;
        assert!(!found);
        assert!(note.contains("OPENAI_API_KEY"), "{note}");
        assert!(!note.contains("sk-secret-1"), "{note}");
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let (found, note) =
            server_note(&format!("127.0.0.1:{closed}"), None, Duration::from_secs(2)).await;
        assert!(!found);
        assert!(note.contains("start it, or check the address"), "{note}");
    }
}
