//! A run as it happens: its event log read line by line, each complete line
//! drawn as one fragment of the run page and sent as one Server-Sent Event
//! whose id is its line number. A client that reconnects sends the last id
//! it saw (`Last-Event-ID`) and gets the lines after it: nothing lost,
//! nothing twice. Runs started from a terminal are followed the same way.

use crate::ids;
use crate::jobs::JobState;
use crate::runs::{self, Status};
use crate::views::Views;
use crate::App;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as Sse, KeepAlive};
use axum::response::{IntoResponse, Response};
use council_core::{Event, Turn, TurnStatus};
use council_engine::rounds::ROUNDS;
use council_engine::store::EVENTS_FILE;
use serde::Deserialize;
use serde_json::json;
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// What a fragment needs to know of the events before it.
#[derive(Debug, Default)]
pub(crate) struct Story {
    names: HashMap<String, String>,
    seats: HashMap<String, usize>,
    round: Option<u32>,
    followup: Option<u32>,
    parts: usize,
}

fn round_heading(round: u32) -> String {
    let title = ROUNDS
        .iter()
        .find(|r| r.number == round)
        .map_or("The hidden story, continued", |r| r.title);
    format!("Round {round}: {title}")
}

impl Story {
    fn name(&self, id: &str) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }

    fn turn(&mut self, n: usize, t: &Turn, followup: bool) -> serde_json::Value {
        let heading = if followup || self.round == Some(t.round) {
            None
        } else {
            self.round = Some(t.round);
            Some(round_heading(t.round))
        };
        let answers: Vec<String> = t.responds_to.iter().map(|p| self.name(p)).collect();
        json!({
            "kind": "turn",
            "n": n,
            "heading": heading,
            "name": self.name(&t.persona),
            "seat": self.seats.get(&t.persona).copied().unwrap_or(0),
            "move": t.move_.map(|m| m.to_string()),
            "confidence": t.confidence,
            "answers": answers.join(", "),
            "text": t.text,
            "failed": t.status == TurnStatus::Failed,
            "error": t.error.clone().unwrap_or_default(),
            "flags": t.flags.join("; "),
        })
    }

    /// The fragment's data for event number `n` (from 1).
    pub(crate) fn data(&mut self, n: usize, ev: &Event) -> serde_json::Value {
        match ev {
            Event::Started(h) => {
                for (i, p) in h.panel.iter().enumerate() {
                    self.names.insert(p.id.clone(), p.name.clone());
                    self.seats.insert(p.id.clone(), i % 8);
                }
                // A branch's copied rounds name advisors who have left.
                for p in h.origin.iter().flat_map(|o| &o.source_panel) {
                    self.names
                        .entry(p.id.clone())
                        .or_insert_with(|| p.name.clone());
                }
                json!({"kind": "started", "n": n, "panel": h.panel, "notes": h.notes,
                       "question": h.question, "date": h.date})
            }
            Event::Turn(t) => self.turn(n, t, false),
            Event::FollowupTurn(t) => self.turn(n, t, true),
            Event::Summary(s) => json!({
                "kind": "summary", "n": n,
                "heading": format!("Round {} summary", s.round),
                "text": s.text,
            }),
            Event::FollowupSummary(s) => json!({
                "kind": "summary", "n": n,
                "heading": format!("Follow-up {} summary", s.round),
                "text": s.text,
            }),
            Event::Synthesis(p) => {
                self.parts += 1;
                let heading = (self.parts == 1 && self.followup.is_none())
                    .then(|| "Writing the report".to_string());
                json!({
                    "kind": "part", "n": n, "heading": heading,
                    "part": p.part.to_string(),
                    "label": p.part.describe(|id| self.name(id)),
                    "error": p.error,
                })
            }
            Event::Followup(f) => {
                self.followup = Some(f.number);
                json!({"kind": "followup", "n": n, "number": f.number, "question": f.question})
            }
        }
    }
}

/// The fragments of every complete line of `dir`'s event log, drawn in
/// order; returns them and how many lines there were.
pub(crate) fn fragments(views: &Views, dir: &Path) -> (Vec<String>, usize) {
    let mut tail = Tail::new(dir.to_path_buf());
    let mut out = Vec::new();
    for (_, html) in tail.read_new(views) {
        out.push(html);
    }
    (out, tail.lines)
}

/// A reader of one event log that remembers how far it got.
#[derive(Debug)]
struct Tail {
    path: PathBuf,
    offset: u64,
    lines: usize,
    story: Story,
}

impl Tail {
    fn new(dir: PathBuf) -> Tail {
        Tail {
            path: dir.join(EVENTS_FILE),
            offset: 0,
            lines: 0,
            story: Story::default(),
        }
    }

    /// The lines completed since the last read, numbered and drawn.
    fn read_new(&mut self, views: &Views) -> Vec<(usize, String)> {
        let mut bytes = Vec::new();
        let read = std::fs::File::open(&self.path).and_then(|mut f| {
            f.seek(SeekFrom::Start(self.offset))?;
            f.read_to_end(&mut bytes)
        });
        if read.is_err() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut start = 0;
        while let Some(end) = bytes[start..].iter().position(|b| *b == b'\n') {
            let line = &bytes[start..start + end];
            start += end + 1;
            self.lines += 1;
            let n = self.lines;
            let data = match serde_json::from_slice::<Event>(line) {
                Ok(ev) => self.story.data(n, &ev),
                Err(e) => {
                    json!({"kind": "end", "text": format!("line {n} of the event log is not an event ({e})")})
                }
            };
            let html = views
                .render("event.html", &data)
                .unwrap_or_else(|e| format!("<li class=\"ev\">{}</li>", crate::views::escape(&e)));
            out.push((n, html));
        }
        self.offset += start as u64;
        out
    }
}

/// The query `?after=N`: the last event the page already shows.
#[derive(Debug, Deserialize)]
pub(crate) struct After {
    after: Option<usize>,
}

/// The end of a stream: how the run ended, drawn for the page.
fn ending(views: &Views, app: &App, id: &str, status: Status) -> Sse {
    let job = app.jobs.view(id);
    let last_error = || {
        job.as_ref()
            .and_then(|j| j.log.iter().rev().find(|l| l.starts_with("error")))
            .cloned()
            .unwrap_or_else(|| "no message".into())
    };
    // A follow-up or resume that failed leaves the run as it was: say so.
    let failed_job = job.as_ref().filter(|j| {
        !j.cancelled
            && matches!(j.state, JobState::Ended { code: Some(c) } if c != 0 && c != 5 && c != 130)
    });
    let text = match status {
        Status::Complete | Status::Partial if failed_job.is_some() => format!(
            "The {} stopped with an error: {}",
            failed_job.map(|j| j.what.as_str()).unwrap_or("job"),
            last_error()
        ),
        Status::Complete => "The board has finished.".to_string(),
        Status::Partial => {
            "The board has finished, with some answers missing (see the flags in the report)."
                .to_string()
        }
        Status::Interrupted if job.as_ref().is_some_and(|j| j.cancelled) => {
            "The run was cancelled; every finished answer is kept. Resume it to finish.".to_string()
        }
        Status::Interrupted => {
            "The run stopped before its end; every finished answer is kept. Resume it to finish."
                .to_string()
        }
        _ => match job.as_ref().map(|j| &j.state) {
            Some(JobState::Failed { error }) => format!("The run could not start: {error}"),
            _ => format!("The run ended before it began: {}", last_error()),
        },
    };
    let report = matches!(status, Status::Complete | Status::Partial)
        .then(|| format!("/runs/{}/report", ids::href(id)));
    let resume = status.resumable().then(|| ids::href(id));
    let html = views
        .render(
            "event.html",
            &json!({"kind": "end", "text": text, "report": report,
                    "resume": resume, "csrf": app.keys.csrf}),
        )
        .unwrap_or_default();
    Sse::default().event("end").data(html)
}

/// `GET /runs/{id}/events`: the run's events from after the last one the
/// client has (`Last-Event-ID`, else `?after=N`, else from the start), then
/// each new one as it lands, then an `end` event when the run stops.
pub(crate) async fn events(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    Query(after): Query<After>,
    headers: HeaderMap,
) -> Response {
    // A run this server is starting may have no folder yet.
    let dir = match ids::resolve(&app.config.runs, &id) {
        Ok(dir) => dir,
        Err(ids::Refusal::Missing(_)) if app.jobs.view(&id).is_some() => app.config.runs.join(&id),
        Err(r) => return crate::pages::refused(&app, r),
    };
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
        .or(after.after)
        .unwrap_or(0);
    let poll = Duration::from_millis(app.config.poll_ms.max(10));
    struct S {
        app: Arc<App>,
        id: String,
        dir: PathBuf,
        tail: Tail,
        last: usize,
        queue: VecDeque<Sse>,
        status: Option<Status>,
        done: bool,
    }
    let state = S {
        tail: Tail::new(dir.clone()),
        app,
        id,
        dir,
        last,
        queue: VecDeque::new(),
        status: None,
        done: false,
    };
    let stream = futures::stream::unfold(state, move |mut s| async move {
        loop {
            if let Some(ev) = s.queue.pop_front() {
                return Some((Ok::<_, Infallible>(ev), s));
            }
            if s.done {
                return None;
            }
            // The status first, then the lines: a run seen stopped has
            // written its last line already, so none is missed.
            let status = runs::status(&s.dir, &s.id, &s.app.jobs);
            for (n, html) in s.tail.read_new(&s.app.views) {
                if n > s.last {
                    s.queue
                        .push_back(Sse::default().id(n.to_string()).event("ev").data(html));
                }
            }
            if s.status != Some(status) {
                s.status = Some(status);
                s.queue
                    .push_back(Sse::default().event("status").data(status.word()));
            }
            if !status.live() {
                let end = ending(&s.app.views, &s.app, &s.id, status);
                s.queue.push_back(end);
                s.done = true;
                continue;
            }
            if s.queue.is_empty() {
                tokio::time::sleep(poll).await;
            }
        }
    });
    let mut r = axum::response::sse::Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}
