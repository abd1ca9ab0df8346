//! Test support shared by Council's end-to-end tests and benchmarks: a
//! scripted fake OpenAI-compatible server, the real llama.cpp server from
//! PyPI, the embedded model's location, the recorded fixture debate, the
//! strong-model fixture ([`strong`]) and a fake Hugging Face hub for model
//! downloads ([`hub`]).

pub mod hub;
pub mod strong;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One scripted answer of the fake server.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Answer with this status, extra headers and body.
    Respond {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body text.
        body: String,
    },
    /// Accept the request and never answer.
    Hang,
    /// Close the connection without a word (a connection reset).
    Reset,
    /// Send the headers of this answer and only the first half of its body.
    CutOff(Box<Reply>),
    /// A streamed answer (`text/event-stream`, no length, closed at the
    /// end): each piece is written after its pause.
    Stream {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// (pause before, bytes to write), in order.
        pieces: Vec<(Duration, String)>,
    },
}

impl Reply {
    /// A 200 chat completion with this content, `usage` and `finish_reason: stop`.
    pub fn completion(content: &str) -> Reply {
        let body = format!(
            r#"{{"id":"x","object":"chat.completion","model":"fake","choices":[{{"index":0,"message":{{"role":"assistant","content":{}}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}}}"#,
            json_string(content)
        );
        Reply::Respond {
            status: 200,
            headers: vec![],
            body,
        }
    }

    /// A 200 chat completion with this content and these token counts.
    pub fn completion_with_usage(
        content: &str,
        prompt_tokens: u64,
        completion_tokens: u64,
    ) -> Reply {
        let body = format!(
            r#"{{"id":"x","object":"chat.completion","model":"fake","choices":[{{"index":0,"message":{{"role":"assistant","content":{}}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{prompt_tokens},"completion_tokens":{completion_tokens},"total_tokens":{}}}}}"#,
            json_string(content),
            prompt_tokens + completion_tokens
        );
        Reply::Respond {
            status: 200,
            headers: vec![],
            body,
        }
    }

    /// A 200 streamed chat completion (server-sent events) of `content`
    /// cut into `pieces` chunks, each sent after `pause`, then a
    /// `finish_reason: stop` chunk, a usage chunk and `[DONE]`.
    pub fn streamed(content: &str, pieces: usize, pause: Duration) -> Reply {
        let chars: Vec<char> = content.chars().collect();
        let per = chars.len().div_ceil(pieces.max(1)).max(1);
        let mut out = vec![(
            Duration::ZERO,
            sse(
                r#"{"id":"x","object":"chat.completion.chunk","model":"fake","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            ),
        )];
        for part in chars.chunks(per) {
            let piece: String = part.iter().collect();
            out.push((
                pause,
                sse(&format!(
                    r#"{{"id":"x","object":"chat.completion.chunk","model":"fake","choices":[{{"index":0,"delta":{{"content":{}}},"finish_reason":null}}]}}"#,
                    json_string(&piece)
                )),
            ));
        }
        out.push((
            Duration::ZERO,
            sse(r#"{"id":"x","object":"chat.completion.chunk","model":"fake","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#),
        ));
        out.push((
            Duration::ZERO,
            sse(r#"{"id":"x","object":"chat.completion.chunk","model":"fake","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}"#),
        ));
        out.push((Duration::ZERO, sse("[DONE]")));
        Reply::Stream {
            status: 200,
            headers: vec![],
            pieces: out,
        }
    }

    /// An error status with a JSON error body.
    pub fn status(status: u16, message: &str) -> Reply {
        Reply::Respond {
            status,
            headers: vec![],
            body: format!(
                r#"{{"error":{{"message":{},"type":"x"}}}}"#,
                json_string(message)
            ),
        }
    }

    /// Adds a header.
    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Respond {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Respond {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

/// One server-sent event carrying `data`.
pub fn sse(data: &str) -> String {
    format!("data: {data}\n\n")
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Computes a reply from a request body.
pub type Handler = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

/// Computes a reply from a request's head (request line and headers) and body.
pub type Router = Arc<dyn Fn(&str, &str) -> Reply + Send + Sync>;

/// An in-process HTTP server that answers from a script, in order (the
/// last reply repeats once the script runs out), or from a handler.
#[derive(Debug)]
pub struct FakeServer {
    /// Base URL including `/v1`.
    pub url: String,
    hits: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<String>>>,
    heads: Arc<Mutex<Vec<String>>>,
    auth: Arc<Mutex<Vec<Option<String>>>>,
    answered: Arc<Mutex<Vec<String>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    killed: Arc<std::sync::atomic::AtomicBool>,
    forget: Arc<std::sync::atomic::AtomicBool>,
    accept: tokio::task::JoinHandle<()>,
}

impl FakeServer {
    /// Starts a server whose every answer is `handler(body)`, sent after `latency`.
    pub async fn start_with(handler: Handler, latency: Duration) -> FakeServer {
        Self::serve(Source::Handler(handler, latency)).await
    }

    /// Starts a server whose every answer is `router(head, body)`: a fake
    /// that answers by path (`GET /v1/models`, `POST /v1/chat/completions`).
    pub async fn start_routed(router: Router) -> FakeServer {
        Self::serve(Source::Router(router)).await
    }

    /// Starts the server on 127.0.0.1 and a free port.
    pub async fn start(script: Vec<Reply>) -> FakeServer {
        Self::serve(Source::Script(script)).await
    }

    async fn serve(source: Source) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let auth = Arc::new(Mutex::new(Vec::new()));
        let source = Arc::new(source);
        let answered = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let forget = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let shared = (
            hits.clone(),
            (bodies.clone(), heads.clone()),
            auth.clone(),
            answered.clone(),
            in_flight.clone(),
            max_in_flight.clone(),
            (killed.clone(), forget.clone()),
        );
        let accept = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (h, (b, heads), a, done, flying, most, (killed, forget)) = shared.clone();
                let source = source.clone();
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut sock).await else {
                        return;
                    };
                    let now = flying.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let n = h.fetch_add(1, Ordering::SeqCst);
                    let keep = !forget.load(Ordering::SeqCst);
                    if keep {
                        b.lock().expect("lock").push(body.clone());
                        heads.lock().expect("lock").push(head.clone());
                        let bearer = head
                            .lines()
                            .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                            .map(|l| l.split_once(':').map_or("", |x| x.1).trim().to_string());
                        a.lock().expect("lock").push(bearer);
                    }
                    let reply = match source.as_ref() {
                        Source::Script(script) => script
                            .get(n)
                            .or(script.last())
                            .cloned()
                            .unwrap_or(Reply::Hang),
                        Source::Handler(handler, latency) => {
                            tokio::time::sleep(*latency).await;
                            handler(&body)
                        }
                        Source::Router(router) => router(&head, &body),
                    };
                    if killed.load(Ordering::SeqCst) {
                        // A killed server answers nothing: the socket just closes.
                        flying.fetch_sub(1, Ordering::SeqCst);
                        return;
                    }
                    let (reply, cut) = match reply {
                        Reply::CutOff(whole) => (*whole, true),
                        other => (other, false),
                    };
                    match reply {
                        Reply::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
                        Reply::Stream {
                            status,
                            headers,
                            pieces,
                        } => {
                            let mut resp = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n"
                            );
                            for (k, v) in headers {
                                resp.push_str(&format!("{k}: {v}\r\n"));
                            }
                            resp.push_str("\r\n");
                            let mut ok = sock.write_all(resp.as_bytes()).await.is_ok();
                            for (pause, piece) in pieces {
                                if !ok {
                                    break;
                                }
                                tokio::time::sleep(pause).await;
                                ok = sock.write_all(piece.as_bytes()).await.is_ok()
                                    && sock.flush().await.is_ok();
                            }
                            flying.fetch_sub(1, Ordering::SeqCst);
                            if ok && !cut && keep {
                                done.lock().expect("lock").push(body);
                            }
                            let _ = sock.shutdown().await;
                        }
                        Reply::Reset | Reply::CutOff(_) => {
                            flying.fetch_sub(1, Ordering::SeqCst);
                            drop(sock);
                        }
                        Reply::Respond {
                            status,
                            headers,
                            body: reply,
                        } => {
                            let mut resp = format!(
                                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                                reply.len()
                            );
                            for (k, v) in headers {
                                resp.push_str(&format!("{k}: {v}\r\n"));
                            }
                            resp.push_str("\r\n");
                            if cut {
                                // The promised length, half the bytes, then the end.
                                let half = reply.len() / 2;
                                resp.push_str(reply.get(..half).unwrap_or_default());
                                flying.fetch_sub(1, Ordering::SeqCst);
                                let _ = sock.write_all(resp.as_bytes()).await;
                                let _ = sock.shutdown().await;
                                return;
                            }
                            resp.push_str(&reply);
                            // Counted out before the answer leaves, so a client
                            // never sees more in flight than the server did.
                            flying.fetch_sub(1, Ordering::SeqCst);
                            if sock.write_all(resp.as_bytes()).await.is_ok() && keep {
                                done.lock().expect("lock").push(body);
                            }
                            let _ = sock.shutdown().await;
                        }
                    }
                });
            }
        });
        FakeServer {
            url: format!("http://{addr}/v1"),
            hits,
            bodies,
            heads,
            auth,
            answered,
            in_flight,
            max_in_flight,
            killed,
            forget,
            accept,
        }
    }

    /// Stops keeping the requests' bodies, heads and keys (only counts stay):
    /// for long runs of many calls, whose bodies would fill memory.
    pub fn forget_requests(&self) {
        self.forget.store(true, Ordering::SeqCst);
    }

    /// Bodies of the requests whose answer was sent in full.
    pub fn answered(&self) -> Vec<String> {
        self.answered.lock().expect("lock").clone()
    }

    /// Requests read and not yet answered (or dropped) now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests this server held at once (read to answer).
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Kills the server: new connections are refused and requests it holds
    /// are dropped unanswered.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.accept.abort();
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Bodies of the requests received so far.
    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().expect("lock").clone()
    }

    /// Heads (request line and headers) of the requests received so far.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("lock").clone()
    }

    /// The value of header `name` (any case) in each request received so far.
    pub fn header_values(&self, name: &str) -> Vec<Option<String>> {
        self.heads()
            .iter()
            .map(|h| {
                h.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case(name)
                        .then(|| v.trim().to_string())
                })
            })
            .collect()
    }

    /// `Authorization` header values received so far.
    pub fn auth_headers(&self) -> Vec<Option<String>> {
        self.auth.lock().expect("lock").clone()
    }
}

enum Source {
    Script(Vec<Reply>),
    Handler(Handler, Duration),
    Router(Router),
}

/// A handler that answers like a cooperative model: a schema-valid JSON
/// instance when the request carries `response_format`, else plain text.
pub fn schema_answering(body: &str) -> Reply {
    let req: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    match req.pointer("/response_format/json_schema/schema") {
        Some(schema) => Reply::completion(
            &council_llm::schema::example_for(schema, "We should price by value and test it on new customers first, measuring win rates for eight weeks.").to_string(),
        ),
        None => Reply::completion("The board split on pricing: the CFO backs a rise; the Contrarian doubts demand."),
    }
}

/// [`schema_answering`], streamed when the request asks for a stream
/// (in 20 pieces, no pauses).
pub fn schema_answering_streamed(body: &str) -> Reply {
    let asks_stream = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("stream").and_then(serde_json::Value::as_bool))
        .unwrap_or(false);
    match schema_answering(body) {
        Reply::Respond { body: reply, .. } if asks_stream => {
            Reply::streamed(&content_of(&reply), 20, Duration::ZERO)
        }
        other => other,
    }
}

/// The answer text of a chat completion body.
pub fn content_of(completion: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(completion).unwrap_or_default();
    v.pointer("/choices/0/message/content")
        .and_then(|c| c.as_str())
        .unwrap_or_default()
        .to_string()
}

/// [`schema_answering`], reporting usage the way a real server would:
/// about four bytes a token for the request and the answer.
pub fn schema_answering_measured(body: &str) -> Reply {
    match schema_answering(body) {
        Reply::Respond { body: reply, .. } => {
            let v: serde_json::Value = serde_json::from_str(&reply).unwrap_or_default();
            let content = v
                .pointer("/choices/0/message/content")
                .and_then(|c| c.as_str())
                .unwrap_or_default()
                .to_string();
            Reply::completion_with_usage(
                &content,
                (body.len() as u64).div_ceil(4),
                (content.len() as u64).div_ceil(4),
            )
        }
        other => other,
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let len = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = sock.read(&mut chunk).await.ok()?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..]).into_owned();
            return Some((head, body));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The variables through which a user's own backend settings reach
/// `council`; tests remove them so only what a test passes counts.
pub const USER_SETTINGS: [&str; 6] = [
    "COUNCIL_BASE_URL",
    "OPENAI_BASE_URL",
    "COUNCIL_API_KEY",
    "OPENAI_API_KEY",
    "COUNCIL_MODEL",
    "COUNCIL_CONFIG",
];

/// A command running the `council` binary at `bin` with `args`, the
/// user's backend settings removed from its environment.
pub fn council_command(bin: &str, args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args);
    for var in USER_SETTINGS {
        cmd.env_remove(var);
    }
    cmd
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The embedded model's GGUF file; panics with the fix if it is absent.
pub fn model_path() -> PathBuf {
    let p = std::env::var("COUNCIL_MODEL_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|_| council_llm::fetch::default_model_path());
    assert!(
        p.is_file(),
        "the embedded model is missing at {}: run `bash scripts/test.sh` (or `cargo run -p council-cli -- fetch-model`)",
        p.display()
    );
    p
}

/// The llama.cpp server from PyPI (`xllamacpp`), started for one test run.
#[derive(Debug)]
pub struct LlamaServer {
    child: std::process::Child,
    /// Base URL including `/v1`.
    pub url: String,
}

impl LlamaServer {
    /// Starts it on a free loopback port and waits until it listens.
    pub fn start() -> LlamaServer {
        use std::io::BufRead;
        let python = std::env::var("COUNCIL_TEST_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|_| workspace_root().join(".venv/bin/python"));
        assert!(
            python.exists(),
            "no Python with xllamacpp at {}: run `bash scripts/test.sh`, which creates .venv with it, or set COUNCIL_TEST_PYTHON",
            python.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut child = std::process::Command::new(&python)
            .arg(workspace_root().join("tests/fixtures/llama_server.py"))
            .arg(model_path())
            .arg(port.to_string())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the llama.cpp server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read server output");
        assert!(
            line.starts_with("READY"),
            "the llama.cpp server did not start: {line:?}"
        );
        LlamaServer {
            child,
            url: format!("http://127.0.0.1:{port}/v1"),
        }
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A proxy in front of a real server that counts its requests: each is
/// forwarded on its own connection (`Connection: close` both ways), so the
/// requests it holds at once are the requests the server holds. Killing it
/// refuses new connections, as a stopped server does.
#[derive(Debug)]
pub struct CountingProxy {
    /// Base URL including `/v1`.
    pub url: String,
    hits: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    accept: tokio::task::JoinHandle<()>,
}

impl CountingProxy {
    /// Starts it on a free loopback port, forwarding to `upstream` (a base
    /// URL such as `http://127.0.0.1:8080/v1`).
    pub async fn start(upstream: &str) -> CountingProxy {
        let to = upstream
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let shared = (hits.clone(), in_flight.clone(), max_in_flight.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (h, flying, most) = shared.clone();
                let to = to.clone();
                tokio::spawn(async move {
                    let Some((head, body)) = read_request(&mut sock).await else {
                        return;
                    };
                    h.fetch_add(1, Ordering::SeqCst);
                    let now = flying.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    forward(&mut sock, &to, &head, &body).await;
                    flying.fetch_sub(1, Ordering::SeqCst);
                    let _ = sock.shutdown().await;
                });
            }
        });
        CountingProxy {
            url: format!(
                "http://{addr}{}",
                upstream.find("/v1").map_or("/v1", |i| &upstream[i..])
            ),
            hits,
            in_flight,
            max_in_flight,
            accept,
        }
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// Requests forwarded and not yet answered, now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests it held at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Refuses new connections from now on.
    pub fn kill(&self) {
        self.accept.abort();
    }
}

/// `head` with its `Connection` header replaced by `Connection: close`.
fn closing(head: &str) -> String {
    let mut out: Vec<&str> = head
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    out.push("Connection: close");
    out.join("\r\n") + "\r\n\r\n"
}

/// Sends one request to `to` and copies its answer back to `sock`; a
/// server that cannot be reached closes the client's connection unanswered.
async fn forward(sock: &mut tokio::net::TcpStream, to: &str, head: &str, body: &str) {
    let Ok(mut up) = tokio::net::TcpStream::connect(to).await else {
        return;
    };
    if up.write_all(closing(head).as_bytes()).await.is_err()
        || up.write_all(body.as_bytes()).await.is_err()
    {
        return;
    }
    // The answer's head, rewritten so the client does not keep the
    // connection; the rest is copied as it comes (streams included).
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        match up.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            break end;
        }
    };
    let answer_head = String::from_utf8_lossy(&buf[..end]).into_owned();
    if sock
        .write_all(closing(&answer_head).as_bytes())
        .await
        .is_err()
        || sock.write_all(&buf[end + 4..]).await.is_err()
    {
        return;
    }
    let _ = tokio::io::copy(&mut up, sock).await;
}

/// Replays the recorded fixture debate (`tests/fixtures/debate.cassette.json`)
/// into the run folder `dir`, with the settings it was recorded with (those
/// of `scripts/record-fixtures.sh`), and returns its transcript.
pub async fn replay_fixture_debate(
    dir: &std::path::Path,
) -> Result<council_core::Transcript, council_engine::EngineError> {
    use council_engine::{run, Prompts, RunStore};
    let fixtures = workspace_root().join("tests/fixtures");
    let model = std::sync::Arc::new(
        council_llm::replay::CassetteModel::replay(fixtures.join("debate.cassette.json"))
            .expect("the recorded cassette"),
    );
    let prompts = Prompts::builtin()?;
    let question = std::fs::read_to_string(fixtures.join("debate-question.txt"))
        .expect("the recorded question")
        .trim()
        .to_string();
    let mut debate = test_debate(
        &question,
        &["cfo", "cto", "brand-strategist", "org-psychologist"],
        5,
        model,
        &prompts,
    );
    debate.settings.seed = 11;
    debate.settings.date = "2026-11-26".into();
    debate.settings.max_tokens = 700;
    let mut store = RunStore::create(dir)?;
    run(&debate, &mut store).await
}

/// A debate for tests: `panel` seated (the fact-checker and the contrarian
/// added when missing), `rounds` rounds and the synthesis, in English on
/// 2026-11-27, seed 3, up to ten calls at once, no library; change any
/// field after.
pub fn test_debate<'a>(
    question: &str,
    panel: &[&str],
    rounds: u32,
    model: Arc<dyn council_llm::ChatModel>,
    prompts: &'a council_engine::Prompts,
) -> council_engine::Debate<'a> {
    let roster = council_personas::Roster::builtin().expect("the built-in roster");
    let ids: Vec<String> = panel.iter().map(|s| s.to_string()).collect();
    council_engine::Debate {
        question: question.into(),
        panel: roster.seat(roster.panel_from_ids(&ids).expect("known personas")),
        settings: council_engine::DebateSettings {
            rounds,
            max_concurrency: 10,
            seed: 3,
            date: "2026-11-27".into(),
            lang: "en".into(),
            max_tokens: 600,
            synthesis: true,
            condition: Default::default(),
        },
        models: council_engine::Models::new(model),
        prompts,
        progress: &council_engine::NoProgress,
        notes: Vec::new(),
        library: None,
        library_inputs: Vec::new(),
    }
}
