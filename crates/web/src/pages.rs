//! The pages: new question, a run (live), its report with downloads and
//! the follow-up, variant and branch forms, runs with search and delete,
//! variants side by side, a study's comparison.

// A refusal is the Response the handler returns at once; boxing it would
// only add a step.
#![allow(clippy::result_large_err)]

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

/// The report's downloads: extension and label.
const FORMATS: [(&str, &str); 5] = [
    ("md", "Markdown"),
    ("html", "HTML"),
    ("json", "JSON"),
    ("pdf", "PDF"),
    ("docx", "Word"),
];

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
            include_str!("../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "app.css" => (include_str!("../static/app.css"), "text/css; charset=utf-8"),
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

/// What the new-question form was filled with, to draw it again.
#[derive(Debug, Default)]
struct Ask {
    csrf: String,
    question: String,
    file_question: Option<Vec<u8>>,
    panel: Vec<String>,
    rounds: u32,
    lang: String,
    date: String,
    model: String,
    seed: String,
    sources: Vec<(String, Vec<u8>)>,
}

fn new_page(app: &App, ask: &Ask, error: Option<&str>) -> Response {
    let personas: Vec<Value> = app
        .config
        .personas
        .iter()
        .map(|p| {
            json!({"id": p.id, "name": p.name, "role": p.role, "focus": p.focus,
                   "seated": p.seated, "checked": ask.panel.contains(&p.id)})
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    app.views.page(
        status,
        "new.html",
        &json!({
            "csrf": app.keys.csrf,
            "error": error,
            "question": ask.question,
            "personas": personas,
            "round_choices": (1..=10).collect::<Vec<u32>>(),
            "rounds": ask.rounds,
            "default_rounds": 5,
            "langs": council_core::lang::CODES,
            "lang": ask.lang,
            "date": ask.date,
            "models": app.config.models,
            "model": ask.model,
            "seed": ask.seed,
            "max_chars": MAX_QUESTION_CHARS,
        }),
    )
}

fn today() -> String {
    chrono::Local::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// `GET /`: the new-question form.
pub(crate) async fn new_question(State(app): State<Arc<App>>) -> Response {
    let ask = Ask {
        rounds: 5,
        date: today(),
        model: app.config.models.first().cloned().unwrap_or_default(),
        ..Ask::default()
    };
    new_page(&app, &ask, None)
}

/// A file name an upload may keep: its last part, in safe characters.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_string();
    if clean.is_empty() {
        "source".into()
    } else {
        clean
    }
}

async fn read_form(mut form: Multipart) -> Result<Ask, String> {
    let mut ask = Ask {
        rounds: 5,
        ..Ask::default()
    };
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| format!("the form could not be read: {e}"))?
    {
        let name = field.name().unwrap_or("").to_string();
        let file = field.file_name().map(str::to_string);
        let bytes = field.bytes().await.map_err(|e| {
            format!(
                "the form could not be read ({e}); uploads may be at most {} MB in all",
                crate::UPLOAD_LIMIT / 1024 / 1024
            )
        })?;
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "csrf" => ask.csrf = text(),
            "question" => ask.question = text(),
            "question_file" if !bytes.is_empty() => ask.file_question = Some(bytes.to_vec()),
            "panel" => ask.panel.push(text()),
            "rounds" => ask.rounds = text().parse().unwrap_or(0),
            "lang" => ask.lang = text(),
            "date" => ask.date = text(),
            "model" => ask.model = text(),
            "seed" => ask.seed = text(),
            "sources" if !bytes.is_empty() => {
                ask.sources.push((
                    safe_name(file.as_deref().unwrap_or("source")),
                    bytes.to_vec(),
                ));
            }
            _ => {}
        }
    }
    Ok(ask)
}

/// Checks a filled form; the first problem, in words naming the fix.
fn check_ask(app: &App, ask: &mut Ask) -> Result<(), String> {
    if ask.question.is_empty() {
        if let Some(bytes) = ask.file_question.take() {
            if bytes.contains(&0) {
                return Err("the question file looks binary (it holds NUL bytes), not text; give a UTF-8 text file, or type the question".into());
            }
            ask.question = String::from_utf8(bytes)
                .map_err(|e| format!("the question file is not UTF-8 text (invalid bytes at byte {}); save it as UTF-8, or type the question", e.utf8_error().valid_up_to()))?
                .trim()
                .to_string();
        }
    }
    if ask.question.is_empty() {
        return Err("the question is empty; write what the board should decide".into());
    }
    if let Some(p) = question_problem(&ask.question, "the question") {
        return Err(p);
    }
    if !(1..=10).contains(&ask.rounds) {
        return Err("rounds must be a number from 1 to 10".into());
    }
    if !ask.lang.is_empty() && !council_core::lang::is_known(&ask.lang) {
        return Err(format!(
            "{:?} is not a language Council writes; choose one of {}",
            ask.lang,
            council_core::lang::CODES.join(", ")
        ));
    }
    if ask.date.is_empty() {
        ask.date = today();
    }
    if chrono::NaiveDate::parse_from_str(&ask.date, "%Y-%m-%d").is_err() {
        return Err(format!(
            "{:?} is not a date; write it as YYYY-MM-DD",
            ask.date
        ));
    }
    for p in &ask.panel {
        if !app.config.personas.iter().any(|c| &c.id == p) {
            return Err(format!("there is no persona {p:?}; pick from the list"));
        }
    }
    if !ask.panel.is_empty() {
        if let Some(check) = &app.config.panel_check {
            (check.0)(&ask.panel).map_err(|e| {
                format!("{e} (or pick none and the board is cast for the question)")
            })?;
        }
    }
    if !ask.seed.is_empty() && ask.seed.parse::<u64>().is_err() {
        return Err(format!(
            "the seed {:?} is not a whole number; leave it empty for a random one",
            ask.seed
        ));
    }
    if !ask.model.is_empty()
        && !app.config.models.is_empty()
        && !app.config.models.contains(&ask.model)
    {
        return Err(format!(
            "{:?} is not one of the configured models",
            ask.model
        ));
    }
    Ok(())
}

/// A new run folder's id: date, time and the question's first words, made
/// unique.
fn new_id(app: &App, question: &str, date: &str) -> String {
    let time = chrono::Local::now().format("%H%M%S");
    let base = format!("{date}-{time}-{}", council_core::text::slug(question, 6));
    let mut id = base.clone();
    let mut k = 2;
    while app.config.runs.join(&id).exists() || app.jobs.view(&id).is_some() {
        id = format!("{base}-{k}");
        k += 1;
    }
    id
}

/// `POST /runs`: a new debate from the form; on to its live page.
pub(crate) async fn create_run(State(app): State<Arc<App>>, form: Multipart) -> Response {
    let mut ask = match read_form(form).await {
        Ok(a) => a,
        Err(e) => {
            return message(
                &app,
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form was refused",
                &e,
                Some("/"),
            )
        }
    };
    if !app.keys.csrf_ok(&ask.csrf) {
        return bad_csrf(&app);
    }
    if let Err(e) = check_ask(&app, &mut ask) {
        return new_page(&app, &ask, Some(&e));
    }
    let id = new_id(&app, &ask.question, &ask.date);
    let dir = app.config.runs.join(&id);
    let mut job = AskJob {
        question: ask.question.clone(),
        out: Some(dir.clone()),
        rounds: Some(ask.rounds),
        date: Some(ask.date.clone()),
        panel: ask.panel.clone(),
        lang: Some(ask.lang.clone()).filter(|l| !l.is_empty()),
        seed: ask.seed.parse().ok(),
        // The default model is the one every job is given already.
        model: Some(ask.model.clone())
            .filter(|m| !m.is_empty() && app.config.models.first() != Some(m)),
        library: Vec::new(),
        max_concurrency: Some(app.jobs.per_run()),
    };
    if !ask.sources.is_empty() {
        let src = dir.join("sources");
        if let Err(e) = std::fs::create_dir_all(&src) {
            return message(
                &app,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sources not saved",
                &format!("cannot create {}: {e}", src.display()),
                Some("/"),
            );
        }
        for (name, bytes) in &ask.sources {
            let mut path = src.join(name);
            let mut k = 2;
            while path.exists() {
                path = src.join(format!("{k}-{name}"));
                k += 1;
            }
            if let Err(e) = write_upload(&path, bytes) {
                return message(
                    &app,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sources not saved",
                    &e,
                    Some("/"),
                );
            }
        }
        job.library.push(src);
    }
    if let Err(e) = app.jobs.start(&id, Job::Ask(job)) {
        return message(&app, StatusCode::CONFLICT, "Not started", &e, Some("/"));
    }
    Redirect::to(&format!("/runs/{}", ids::href(&id))).into_response()
}

fn write_upload(path: &Path, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The runs page's search.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    status: String,
}

/// `GET /runs`: every run, newest first, with search; the studies.
pub(crate) async fn list_runs(State(app): State<Arc<App>>, Query(s): Query<Search>) -> Response {
    let (rows, studies) = runs::list(&app.config.runs, &app.jobs);
    let total = rows.len();
    let shown: Vec<_> = rows
        .into_iter()
        .filter(|r| runs::matches(r, &s.q, &s.date, &s.status))
        .collect();
    app.views.page(
        StatusCode::OK,
        "runs.html",
        &json!({
            "rows": shown, "total": total, "studies": studies,
            "q": s.q, "date": s.date, "status": s.status,
            "statuses": ["queued", "running", "complete", "partial", "interrupted", "failed"],
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
}

fn start(app: &Arc<App>, id: &str, job: Job, go_to: &str) -> Response {
    match app.jobs.start(id, job) {
        Ok(()) => Redirect::to(&format!("/runs/{}", ids::href(go_to))).into_response(),
        Err(e) => message(
            app,
            StatusCode::CONFLICT,
            "Not started",
            &e,
            Some(&format!("/runs/{}", ids::href(id))),
        ),
    }
}

/// `POST /runs/{id}/cancel`: interrupts the run's job; its answers stay.
pub(crate) async fn cancel(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<Action>,
) -> Response {
    if !app.keys.csrf_ok(&f.csrf) {
        return bad_csrf(&app);
    }
    if let Err(r) = ids::check(&id) {
        return refused(&app, r);
    }
    if app.jobs.cancel(&id) {
        Redirect::to(&format!("/runs/{}", ids::href(&id))).into_response()
    } else {
        message(&app, StatusCode::CONFLICT, "Nothing to cancel", "This run has no job of this server's in progress (a run started in a terminal is stopped there, with Ctrl-C).", Some(&format!("/runs/{}", ids::href(&id))))
    }
}

/// `POST /runs/{id}/resume`: continues an interrupted run where it stopped.
pub(crate) async fn resume(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<Action>,
) -> Response {
    let dir = match posted(&app, &id, &f) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let status = runs::status(&dir, &id, &app.jobs);
    if status.live() {
        return message(
            &app,
            StatusCode::CONFLICT,
            "Already running",
            "This run is being written now; wait for it to stop before resuming it.",
            Some(&format!("/runs/{}", ids::href(&id))),
        );
    }
    // A stopped follow-up is finished; a stopped debate continued.
    let job = council_app::jobs::resume_job(&dir, Some(app.jobs.per_run()));
    start(&app, &id, job, &id)
}

/// `POST /runs/{id}/followup`: the same panel answers one more question.
pub(crate) async fn followup(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<Action>,
) -> Response {
    let dir = match posted(&app, &id, &f) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let q = f.question.trim();
    let back = format!("/runs/{}/report", ids::href(&id));
    if q.is_empty() {
        return unprocessable(
            &app,
            "No question",
            "the follow-up question is empty; write what the panel should answer",
            &back,
        );
    }
    if let Some(p) = question_problem(q, "the follow-up question") {
        return unprocessable(&app, "Question refused", &p, &back);
    }
    let job = Job::Followup(FollowupJob {
        run: dir,
        question: Some(q.to_string()),
        max_concurrency: Some(app.jobs.per_run()),
    });
    start(&app, &id, job, &id)
}

/// `POST /runs/{id}/variant`: the report re-worded for another reader.
pub(crate) async fn variant(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<Action>,
) -> Response {
    let dir = match posted(&app, &id, &f) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let back = format!("/runs/{}/report", ids::href(&id));
    let audience = Audience::ALL.into_iter().find(|a| a.as_str() == f.audience);
    let length = Length::ALL.into_iter().find(|l| l.as_str() == f.length);
    let (Some(audience), Some(length)) = (audience, length) else {
        return unprocessable(
            &app,
            "Variant refused",
            &format!(
                "choose an audience ({}) and a length ({})",
                Audience::ALL.map(Audience::as_str).join(", "),
                Length::ALL.map(Length::as_str).join(", ")
            ),
            &back,
        );
    };
    if !f.lang.is_empty() && !council_core::lang::is_known(&f.lang) {
        return unprocessable(
            &app,
            "Variant refused",
            &format!(
                "choose a language from {}",
                council_core::lang::CODES.join(", ")
            ),
            &back,
        );
    }
    let mut name = format!("{audience}-{length}");
    if !f.lang.is_empty() {
        name = format!("{name}-{}", f.lang);
    }
    let name = unused(&dir.join("variants"), &name);
    let vid = format!("{id}/variants/{name}");
    let job = Job::Variant(VariantJob {
        run: dir,
        audience,
        length,
        lang: Some(f.lang.clone()).filter(|l| !l.is_empty()),
        name: Some(name),
        max_concurrency: Some(app.jobs.per_run()),
        ..VariantJob::default()
    });
    start(&app, &vid, job, &vid)
}

/// `POST /runs/{id}/branch`: the debate replayed from a round, with another question.
pub(crate) async fn branch(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<Action>,
) -> Response {
    let dir = match posted(&app, &id, &f) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let back = format!("/runs/{}/report", ids::href(&id));
    let rounds = runs::header(&dir).map_or(5, |h| h.rounds);
    let Some(from) = f
        .from_round
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|r| (1..=rounds).contains(r))
    else {
        return unprocessable(
            &app,
            "Branch refused",
            &format!("choose a round from 1 to {rounds} to replay from"),
            &back,
        );
    };
    let q = f.question.trim();
    if let Some(p) = question_problem(q, "the branch's question") {
        return unprocessable(&app, "Branch refused", &p, &back);
    }
    let mut name = format!("from-round-{from}");
    if !q.is_empty() {
        name = format!("{name}-{}", council_core::text::slug(q, 4));
    }
    let name = unused(&dir.join("branches"), &name);
    let bid = format!("{id}/branches/{name}");
    let job = Job::Branch(BranchJob {
        run: dir,
        from_round: from,
        question: Some(q.to_string()).filter(|q| !q.is_empty()),
        out: Some(app.config.runs.join(&bid)),
        max_concurrency: Some(app.jobs.per_run()),
        ..BranchJob::default()
    });
    start(&app, &bid, job, &bid)
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
                out.push(json!({"id": did, "href": ids::href(&did), "kind": kind,
                                 "status": runs::status(&dir, &did, &app.jobs).word()}));
            }
        }
    }
    out
}

/// `GET /runs/{id}/report`: the report, its downloads, and what to do next.
pub(crate) async fn report_page(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let dir = match run_dir(&app, &id) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let status = runs::status(&dir, &id, &app.jobs);
    let header = runs::header(&dir);
    let question = header
        .as_ref()
        .map(|h| h.question.clone())
        .unwrap_or_default();
    let rounds = header.as_ref().map_or(5, |h| h.rounds);
    let formats: Vec<Value> = FORMATS
        .iter()
        .map(|(e, l)| json!({"ext": e, "label": l}))
        .collect();
    app.views.page(
        StatusCode::OK,
        "report.html",
        &json!({
            "id": id, "href": ids::href(&id), "csrf": app.keys.csrf,
            "title": short(&question), "question": question,
            "status": status.word(),
            "has_report": dir.join("report.html").is_file(),
            "formats": formats,
            "audiences": Audience::ALL.map(Audience::as_str),
            "lengths": Length::ALL.map(Length::as_str),
            "langs": council_core::lang::CODES,
            "branch_rounds": (1..=rounds).collect::<Vec<u32>>(),
            "derived": derived(&app, &id), "max_chars": MAX_QUESTION_CHARS,
        }),
    )
}

/// `GET /runs/{id}/report.html`: the report itself, for the page's frame.
pub(crate) async fn report_html(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let dir = match run_dir(&app, &id) {
        Ok(d) => d,
        Err(r) => return r,
    };
    match std::fs::read_to_string(dir.join("report.html")) {
        Ok(html) => Html(html).into_response(),
        Err(_) => message(
            &app,
            StatusCode::NOT_FOUND,
            "No report yet",
            "This run has no report yet.",
            None,
        ),
    }
}

/// `GET /runs/{id}/download/{format}`: the report as a file, drawn from
/// the run's transcript with its cost (every format alike).
pub(crate) async fn download(
    State(app): State<Arc<App>>,
    UrlPath((id, ext)): UrlPath<(String, String)>,
) -> Response {
    let dir = match run_dir(&app, &id) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(format) = [
        Format::Markdown,
        Format::Html,
        Format::Json,
        Format::Pdf,
        Format::Docx,
    ]
    .into_iter()
    .find(|f| f.extension() == ext) else {
        return message(
            &app,
            StatusCode::NOT_FOUND,
            "No such format",
            "Reports download as md, html, json, pdf or docx.",
            None,
        );
    };
    let kind = match format {
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Html => "text/html; charset=utf-8",
        Format::Json => "application/json",
        Format::Pdf => "application/pdf",
        Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    };
    // Every format is drawn from the transcript with the run's cost, as
    // `council render` draws it, so a download holds what the command
    // line's export holds.
    let prices = app.config.prices.clone();
    let made = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let report =
            council_app::report::read_report(&dir, &prices, None).map_err(|e| format!("{e:#}"))?;
        council_app::report::bytes(&report, format, None).map_err(|e| format!("{e:#}"))
    })
    .await;
    let bytes = match made {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            return message(
                &app,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Not available",
                &e,
                None,
            )
        }
        Err(e) => {
            return message(
                &app,
                StatusCode::INTERNAL_SERVER_ERROR,
                "Not available",
                &e.to_string(),
                None,
            )
        }
    };
    let file = format!(
        "council-{}.{ext}",
        council_core::text::slug(&id.replace('/', "-"), 12)
    );
    (
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /runs/{id}/delete`: asks before deleting.
pub(crate) async fn confirm_delete(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let dir = match run_dir(&app, &id) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let nested = derived(&app, &id).len();
    app.views.page(
        StatusCode::OK,
        "delete.html",
        &json!({
            "id": id, "href": ids::href(&id), "csrf": app.keys.csrf, "nested": nested,
            "question": runs::header(&dir).map(|h| h.question).unwrap_or_default(),
        }),
    )
}

/// `POST /runs/{id}/delete`: removes a run when nothing in it is running:
/// neither the run, nor a variant or branch being written inside it, nor a
/// job of this server's for any of them (one may not have its folder yet).
pub(crate) async fn delete(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
    Form(f): Form<Action>,
) -> Response {
    let dir = match posted(&app, &id, &f) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let back = format!("/runs/{}", ids::href(&id));
    let mut live: Vec<String> = app.jobs.active_within(&id);
    if let Err(council_app::remove::RemoveError::Live { live: inside, .. }) =
        council_app::remove::check(&dir)
    {
        for l in inside {
            let l = if l == "." {
                id.clone()
            } else {
                format!("{id}/{l}")
            };
            if !live.contains(&l) {
                live.push(l);
            }
        }
    }
    if !live.is_empty() {
        live.sort();
        return message(
            &app,
            StatusCode::CONFLICT,
            "Still running",
            &format!(
                "This run cannot be deleted while something in it is running: {}. Cancel it, or wait for it to finish, then delete.",
                live.join(", ")
            ),
            Some(&back),
        );
    }
    match council_app::remove::remove(&dir) {
        Ok(()) => Redirect::to("/runs").into_response(),
        Err(council_app::remove::RemoveError::NotARun(_)) => message(
            &app,
            StatusCode::BAD_REQUEST,
            "Not a run",
            "This folder holds no run; only run folders are deleted from here.",
            Some("/runs"),
        ),
        Err(e @ council_app::remove::RemoveError::Live { .. }) => message(
            &app,
            StatusCode::CONFLICT,
            "Still running",
            &e.to_string(),
            Some(&back),
        ),
        Err(e) => message(
            &app,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not deleted",
            &e.to_string(),
            Some("/runs"),
        ),
    }
}

/// Two runs to show side by side.
#[derive(Debug, Deserialize)]
pub(crate) struct Pair {
    a: String,
    b: String,
}

/// `GET /compare?a=ID&b=ID`: two reports side by side.
pub(crate) async fn side_by_side(State(app): State<Arc<App>>, Query(p): Query<Pair>) -> Response {
    let mut shown = Vec::new();
    for id in [&p.a, &p.b] {
        let dir = match run_dir(&app, id) {
            Ok(d) => d,
            Err(r) => return r,
        };
        shown.push(json!({"id": id, "href": ids::href(id), "has_report": dir.join("report.html").is_file()}));
    }
    app.views
        .page(StatusCode::OK, "compare.html", &json!({"runs": shown}))
}

/// The runs of a study folder, read as `council compare` reads that
/// folder (its runs, their variants and branches); and how many could not be.
fn study_runs(dir: &Path) -> (Vec<council_analysis::RunInput>, usize) {
    match council_app::research::read_runs(&[dir.to_path_buf()]) {
        Ok(read) => (read.runs, read.skipped.len()),
        Err(_) => (Vec::new(), 0),
    }
}

fn study_dir(app: &App, id: &str) -> Result<PathBuf, Response> {
    let dir = run_dir(app, id)?;
    if !dir.join(council_engine::study::STUDY_FILE).is_file() {
        return Err(message(
            app,
            StatusCode::NOT_FOUND,
            "No such study",
            "This folder holds no study.json; studies are made with `council batch`.",
            Some("/runs"),
        ));
    }
    Ok(dir)
}

/// `GET /studies/{id}`: a study's comparison tables and charts.
pub(crate) async fn study_page(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let dir = match study_dir(&app, &id) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (inputs, skipped) = study_runs(&dir);
    app.views.page(
        StatusCode::OK,
        "study.html",
        &json!({"id": id, "href": ids::href(&id), "runs": inputs.len(), "skipped": skipped}),
    )
}

/// `GET /studies/{id}/compare.html`: the comparison, as `council compare --format html` draws it.
pub(crate) async fn study_html(
    State(app): State<Arc<App>>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let dir = match study_dir(&app, &id) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let (inputs, _) = study_runs(&dir);
    let c = council_analysis::compare(&inputs);
    Html(council_analysis::html::compare_html(&c)).into_response()
}
