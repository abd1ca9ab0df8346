//! The pages: new question, a run (live), its report with downloads and
//! the follow-up, variant and branch forms, runs with search and delete,
//! variants side by side, a study's comparison.

// A refusal is the Response the handler returns at once; boxing it would
// only add a step.
#![allow(clippy::result_large_err)]

mod actions;
mod delete;
mod new_run;
mod reports;
mod studies;

pub(crate) use actions::{branch, cancel, followup, resume, variant};
pub(crate) use delete::{confirm_delete, delete};
pub(crate) use new_run::{create_run, new_question};
pub(crate) use reports::{diff_page, download, report_html, report_page, side_by_side};
pub(crate) use studies::{study_html, study_page};

use crate::ids::{self, Refusal};
use crate::jobs::JobState;
use crate::runs::{self, Status};
use crate::{live, App};
use axum::extract::{Multipart, Path as UrlPath, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use council_app::jobs::{AskJob, BranchJob, FollowupJob, Job, VariantJob};
use council_core::text::{question_problem, MAX_QUESTION_CHARS};
use council_core::variant::{Audience, Length};
use council_engine::store::EVENTS_FILE;
use council_render::Format;
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn message(
    app: &App,
    status: StatusCode,
    heading: &str,
    text: &str,
    back: Option<&str>,
) -> Response {
    app.views.page(
        status,
        "message.html",
        &json!({"heading": heading, "message": text, "back": back}),
    )
}

/// A page that could not be made (500), saying why.
fn not_available(app: &App, why: &str) -> Response {
    message(
        app,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Not available",
        why,
        None,
    )
}

/// A form refused for what it holds (422), with the way back to it.
fn unprocessable(app: &App, heading: &str, text: &str, back: &str) -> Response {
    message(
        app,
        StatusCode::UNPROCESSABLE_ENTITY,
        heading,
        text,
        Some(back),
    )
}

/// The page for a refused run id: 400 for one that is not an id, 404 for
/// one with no run behind it.
pub(crate) fn refused(app: &App, r: Refusal) -> Response {
    match r {
        Refusal::Invalid(m) => {
            message(app, StatusCode::BAD_REQUEST, "Not a run", &m, Some("/runs"))
        }
        Refusal::Missing(m) => {
            message(app, StatusCode::NOT_FOUND, "No such run", &m, Some("/runs"))
        }
    }
}

/// Any address the app does not have.
pub(crate) async fn not_found(State(app): State<Arc<App>>) -> Response {
    message(
        &app,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
        Some("/"),
    )
}

fn bad_csrf(app: &App) -> Response {
    message(
        app,
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form was not sent from this server's current pages (its CSRF token is missing or old); reload the page and send it again.",
        None,
    )
}

fn short(text: &str) -> String {
    council_core::text::excerpt(text, 60)
}

/// A form posted about run `id`: its CSRF token checked, then the run's folder.
fn posted(app: &App, id: &str, f: &Action) -> Result<PathBuf, Response> {
    if !app.keys.csrf_ok(&f.csrf) {
        return Err(bad_csrf(app));
    }
    run_dir(app, id)
}

/// `base`, or `base-2`, `base-3`… : the first name not yet taken in `dir`.
fn unused(dir: &Path, base: &str) -> String {
    let mut name = base.to_string();
    let mut k = 2;
    while dir.join(&name).exists() {
        name = format!("{base}-{k}");
        k += 1;
    }
    name
}

fn run_dir(app: &App, id: &str) -> Result<PathBuf, Response> {
    ids::resolve(&app.config.runs, id).map_err(|r| refused(app, r))
}

/// `GET /static/{file}`: the one script and the one stylesheet.
pub(crate) async fn asset(UrlPath(file): UrlPath<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (
            include_str!("../../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "app.css" => (
            include_str!("../../static/app.css"),
            "text/css; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// The runs page's search and page.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    page: Option<String>,
}

/// The statuses the runs page can search for.
const STATUSES: [&str; 6] = [
    "queued",
    "running",
    "complete",
    "partial",
    "interrupted",
    "failed",
];

/// `GET /runs`: the runs, newest first, 50 a page, with search; the studies.
pub(crate) async fn list_runs(State(app): State<Arc<App>>, Query(s): Query<Search>) -> Response {
    let status = if STATUSES.contains(&s.status.as_str()) {
        s.status.as_str()
    } else {
        ""
    };
    let page_no = s
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<usize>().ok())
        .unwrap_or(1);
    let filter = council_app::runs::RunFilter {
        q: s.q.clone(),
        date: s.date.clone(),
    };
    let p = runs::page(&app.config.runs, &app.jobs, &filter, status, page_no);
    // The links to other pages keep the search (written as HTML: every
    // value percent-encoded, `&` as `&amp;`).
    let link = |n: usize| {
        let mut url = format!("/runs?page={n}");
        for (k, v) in [("q", &s.q), ("date", &s.date), ("status", &s.status)] {
            if !v.is_empty() {
                url.push_str(&format!("&amp;{k}={}", ids::encode(v)));
            }
        }
        url
    };
    let first = (p.page - 1) * council_app::runs::PAGE_SIZE + 1;
    let shown = if p.rows.is_empty() {
        String::new()
    } else {
        format!(
            "{}–{} of {}",
            first,
            first + p.rows.len() - 1,
            crate::views::plural(p.matched as u64, "run", "runs")
        )
    };
    app.views.page(
        StatusCode::OK,
        "runs.html",
        &json!({
            "rows": p.rows, "total": p.total, "matched": p.matched, "shown": shown,
            "page": p.page, "pages": p.pages,
            "prev": (p.page > 1).then(|| link(p.page - 1)),
            "next": (p.page < p.pages).then(|| link(p.page + 1)),
            "studies": p.studies,
            "q": s.q, "date": s.date, "status": s.status,
            "statuses": STATUSES,
        }),
    )
}

fn status_text(status: Status, job: Option<&crate::jobs::JobView>, dir: &Path) -> String {
    match (status, job) {
        (Status::Queued, _) => "queued: waiting for a free share of the model".into(),
        (Status::Running, _) if !dir.join(EVENTS_FILE).exists() => {
            "starting: casting the panel".into()
        }
        (Status::Running, Some(j)) => format!("running ({})", j.what),
        (Status::Running, None) => "running (started elsewhere)".into(),
        (s, _) => s.word().into(),
    }
}

/// `GET /runs/{id}`: the run as it stands, then live.
pub(crate) async fn run_page(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    if let Err(r) = ids::check(&id) {
        return refused(&app, r);
    }
    let job = app.jobs.view(&id);
    let dir = match ids::resolve(&app.config.runs, &id) {
        Ok(d) => d,
        Err(Refusal::Missing(_)) if job.is_some() => app.config.runs.join(&id),
        Err(r) => return refused(&app, r),
    };
    let status = runs::status_of(&dir, job.as_ref());
    let header = runs::header(&dir);
    let (fragments, after) = live::fragments(&app.views, &dir);
    let question = header
        .as_ref()
        .map(|h| h.question.clone())
        .unwrap_or_else(|| "(the run is starting)".into());
    let job_error = match job.as_ref().map(|j| &j.state) {
        Some(JobState::Failed { error }) => Some(error.clone()),
        Some(JobState::Ended { code: Some(c) }) if *c != 0 && status == Status::Failed => {
            Some(format!(
                "the run ended with exit code {c} before it began: {}",
                job.as_ref()
                    .and_then(|j| j.log.iter().rev().find(|l| l.starts_with("error")))
                    .cloned()
                    .unwrap_or_else(|| "see the messages below".into())
            ))
        }
        _ => None,
    };
    app.views.page(
        StatusCode::OK,
        "run.html",
        &json!({
            "id": id, "href": ids::href(&id), "csrf": app.keys.csrf,
            "title": short(&question), "question": question,
            "date": header.as_ref().map(|h| h.date.clone()).unwrap_or_default(),
            "status": status.word(), "status_text": status_text(status, job.as_ref(), &dir),
            "live": status.live(), "after": after, "fragments": fragments,
            "has_report": dir.join("report.html").is_file() && !status.live(),
            "can_cancel": job.as_ref().is_some_and(|j| j.active()),
            "can_resume": status.resumable(),
            "job_error": job_error,
            "job_log": job.map(|j| j.log).unwrap_or_default(),
        }),
    )
}

/// A form's CSRF token, and its other fields.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct Action {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    question: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    length: String,
    #[serde(default)]
    lang: String,
    #[serde(default)]
    from_round: String,
    #[serde(default)]
    tone: String,
    #[serde(default)]
    emphasis: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    swap_old: String,
    #[serde(default)]
    swap_new: String,
    #[serde(default)]
    panel: String,
    #[serde(default)]
    model_persona: String,
    #[serde(default)]
    model: String,
}

/// The variants and branches under a run, for its report page.
fn derived(app: &App, id: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (sub, kind) in [("variants", "variant"), ("branches", "branch")] {
        let Ok(entries) = std::fs::read_dir(app.config.runs.join(id).join(sub)) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            let did = format!("{id}/{sub}/{n}");
            if ids::check(&did).is_ok() {
                let dir = app.config.runs.join(&did);
                out.push(
                    json!({"id": did, "href": ids::href(&did), "q": ids::encode(&did), "kind": kind,
                                 "status": runs::status(&dir, &did, &app.jobs).word()}),
                );
            }
        }
    }
    out
}
