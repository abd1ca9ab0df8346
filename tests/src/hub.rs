//! A local server that behaves like the Hugging Face hub for downloads:
//! `HEAD` and `GET /OWNER/REPO/resolve/main/FILE` answer with a redirect to
//! the bytes and the `X-Linked-Etag` (SHA-256) and `X-Linked-Size` headers;
//! the bytes honour `Range`. It can cut a download half-way, refuse one
//! without a token (a gated model) or report another hash.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the fake hub behaves.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// Cut the first download of the bytes half-way (the promised length,
    /// half the bytes, then the connection closes).
    pub cut_first: bool,
    /// Answer 401 unless `Authorization: Bearer TOKEN` carries this token.
    pub gated_token: Option<String>,
    /// Report this in `X-Linked-Etag` instead of the bytes' SHA-256.
    pub etag: Option<String>,
}

/// The fake hub, serving one file.
#[derive(Debug)]
pub struct FakeHub {
    /// Its address, `http://127.0.0.1:PORT` (what HF_ENDPOINT takes).
    pub endpoint: String,
    requests: Arc<Mutex<Vec<String>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

struct State {
    repo: String,
    file: String,
    bytes: Vec<u8>,
    sha256: String,
    options: HubOptions,
    cut_done: AtomicBool,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeHub {
    /// Serves `bytes` as `FILE` of `repo` (`owner/name`) on a free port.
    pub async fn start(repo: &str, file: &str, bytes: Vec<u8>, options: HubOptions) -> FakeHub {
        use sha2::Digest;
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            repo: repo.into(),
            file: file.into(),
            sha256: hex_of(&sha2::Sha256::digest(&bytes)),
            bytes,
            options,
            cut_done: AtomicBool::new(false),
            requests: requests.clone(),
        });
        let accept = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, state.clone()));
            }
        });
        FakeHub {
            endpoint: format!("http://{addr}"),
            requests,
            accept,
        }
    }

    /// Every request's head so far (request line and headers, lowercase names).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("lock").clone()
    }

    /// The `Range` headers of the byte downloads, in order (None: no range).
    pub fn ranges(&self) -> Vec<Option<String>> {
        self.requests()
            .iter()
            .filter(|r| r.starts_with("GET /cdn/"))
            .map(|r| {
                r.lines()
                    .find_map(|l| l.strip_prefix("range:"))
                    .map(|v| v.trim().to_string())
            })
            .collect()
    }
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn serve(mut sock: TcpStream, s: Arc<State>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let recorded = std::iter::once(request_line.clone())
        .chain(headers.iter().map(|(k, v)| format!("{k}: {v}")))
        .collect::<Vec<_>>()
        .join("\n");
    s.requests.lock().expect("lock").push(recorded);
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let resolve = format!("/{}/resolve/main/{}", s.repo, s.file);
    let cdn = format!("/cdn/{}", s.file);
    let reply = if path == resolve {
        let allowed = match &s.options.gated_token {
            None => true,
            Some(t) => find("authorization") == Some(format!("Bearer {t}").as_str()),
        };
        if !allowed {
            respond(
                401,
                &[("x-error-code", "GatedRepo")],
                b"Access to model is restricted.",
            )
        } else {
            let etag = s.options.etag.clone().unwrap_or_else(|| s.sha256.clone());
            respond(
                302,
                &[
                    ("location", &cdn),
                    ("x-linked-etag", &format!("\"{etag}\"")),
                    ("x-linked-size", &s.bytes.len().to_string()),
                ],
                b"",
            )
        }
    } else if path == cdn && method == "GET" {
        let start = find("range")
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
        let total = s.bytes.len();
        match start {
            Some(from) if from >= total => respond(416, &[], b""),
            Some(from) => {
                let range = format!("bytes {from}-{}/{total}", total - 1);
                respond(206, &[("content-range", &range)], &s.bytes[from..])
            }
            None if s.options.cut_first && !s.cut_done.swap(true, Ordering::SeqCst) => {
                // The whole length promised, half the bytes sent, then the end.
                let mut r = respond(200, &[], &s.bytes);
                let head_len = r.len() - total;
                r.truncate(head_len + total / 2);
                let _ = sock.write_all(&r).await;
                let _ = sock.shutdown().await;
                return;
            }
            None => respond(200, &[], &s.bytes),
        }
    } else {
        respond(
            404,
            &[("x-error-code", "EntryNotFound")],
            b"Entry not found",
        )
    };
    let body_allowed = method != "HEAD";
    let reply = if body_allowed {
        reply
    } else {
        // A HEAD answer: the same head, no body.
        let end = reply
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(reply.len(), |p| p + 4);
        reply[..end].to_vec()
    };
    let _ = sock.write_all(&reply).await;
    let _ = sock.shutdown().await;
}

fn respond(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}
