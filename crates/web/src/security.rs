//! The guards every request passes: the access token (then a session
//! cookie), the Host check that stops DNS rebinding on loopback, CSRF
//! tokens on every form, and the headers every response carries (a
//! Content-Security-Policy that forbids inline script, no sniffing, no
//! framing by others, no referrer).

use crate::{App, WebError};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// The session cookie's name.
pub(crate) const SESSION_COOKIE: &str = "council_session";

/// The policy every page is served under: scripts only from this server's
/// files (never inline), styles from here or inline (the reports carry
/// their own), images from here or data URLs, frames only of itself.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'";

/// The server's secrets, made at start and never written anywhere.
#[derive(Debug)]
pub(crate) struct Keys {
    /// The access token, when one is needed.
    pub(crate) token: Option<String>,
    /// The session cookie's value once the token was shown.
    session: String,
    /// The token every form carries.
    pub(crate) csrf: String,
}

impl Keys {
    /// Fresh session and CSRF secrets; `token` as given.
    pub(crate) fn new(token: Option<String>) -> Result<Keys, WebError> {
        if let Some(t) = &token {
            if t.len() < 16 || !t.chars().all(|c| c.is_ascii_graphic()) {
                return Err(WebError(
                    "--token must be at least 16 printable characters (or leave it out and one is made for you)".into(),
                ));
            }
        }
        Ok(Keys {
            token,
            session: new_token()?,
            csrf: new_token()?,
        })
    }

    /// Whether `given` is this server's CSRF token.
    pub(crate) fn csrf_ok(&self, given: &str) -> bool {
        same(given.as_bytes(), self.csrf.as_bytes())
    }
}

/// A new random token: 32 bytes from the OS, as hex.
pub fn new_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| WebError(format!("no random numbers from the OS: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `host` (a name or address, no port) is this machine only.
pub fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Compares secrets in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cookie<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.uri()
        .query()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Council: {}</title></head><body><main><h1>{}</h1><p>{}</p></main></body></html>",
        status.as_u16(),
        status.canonical_reason().unwrap_or("refused"),
        crate::views::escape(message)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Checks the token (or session), the Host, and a POST's origin; then adds
/// the security headers to whatever the handler answered.
pub(crate) async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let keys = &app.keys;
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_string();
    match &keys.token {
        None => {
            // Loopback only: a page elsewhere that makes its own name point
            // at 127.0.0.1 (DNS rebinding) is refused by its Host.
            let name = host.rsplit_once(':').map_or(host.as_str(), |(h, p)| {
                if p.chars().all(|c| c.is_ascii_digit()) {
                    h
                } else {
                    host.as_str()
                }
            });
            if !is_loopback(name) {
                return with_headers(refuse(
                    StatusCode::FORBIDDEN,
                    "this Council server answers only on this machine (127.0.0.1 or localhost); to serve other machines start it with --host ADDRESS, which needs a token",
                ));
            }
        }
        Some(token) => {
            let by_cookie = cookie(&req, SESSION_COOKIE)
                .is_some_and(|c| same(c.as_bytes(), keys.session.as_bytes()));
            let by_header = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .is_some_and(|t| same(t.as_bytes(), token.as_bytes()));
            let by_query =
                query_param(&req, "token").is_some_and(|t| same(t.as_bytes(), token.as_bytes()));
            if by_query && !by_cookie {
                // The token leaves the address bar at once: a session
                // cookie carries the visit from here.
                let path = req.uri().path().to_string();
                let cookie = format!(
                    "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
                    keys.session
                );
                let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, path)]).into_response();
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    r.headers_mut().insert(header::SET_COOKIE, v);
                }
                return with_headers(r);
            }
            if !(by_cookie || by_header || by_query) {
                return with_headers(refuse(
                    StatusCode::UNAUTHORIZED,
                    "this Council server needs its access token: open the address it printed when it started (it ends in ?token=…), or send Authorization: Bearer TOKEN",
                ));
            }
        }
    }
    if req.method() == Method::POST {
        // A form from another site is refused before its body is read; the
        // CSRF token in the body is checked by each handler.
        if let Some(origin) = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
        {
            let origin_host = origin.split("://").nth(1).unwrap_or("");
            if origin != "null" && origin_host != host {
                return with_headers(refuse(
                    StatusCode::FORBIDDEN,
                    "a form from another site was refused (its Origin is not this server)",
                ));
            }
        }
    }
    with_headers(next.run(req).await)
}

fn with_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_addresses() {
        for h in ["127.0.0.1", "localhost", "[::1]", "::1", "127.0.0.2"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "0.0.0.0",
            "192.168.1.4",
            "evil.example",
            "localhost.evil.example",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn tokens_are_random_and_secret_comparison_is_exact() {
        let (a, b) = (
            new_token().unwrap_or_default(),
            new_token().unwrap_or_default(),
        );
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(same(a.as_bytes(), a.clone().as_bytes()));
        assert!(!same(a.as_bytes(), b.as_bytes()));
        assert!(!same(b"abc", b"abcd"));
    }
}
