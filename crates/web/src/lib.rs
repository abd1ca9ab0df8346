//! `council serve`: the board in a browser.
//!
//! Server-rendered pages (tera, escaped as the reports are) over the same
//! run folders as the command line. The server never writes a run itself:
//! every debate, resume, follow-up, variant and branch is a `council`
//! process it starts (a job), so a page shows exactly what the command
//! line would do, a crashed run cannot take the server down, and a server
//! restart leaves every run resumable. A run is followed by reading its
//! append-only `events.jsonl` (whoever writes it, server or terminal): each
//! complete line is one Server-Sent Event whose id is its line number, so a
//! reconnect resumes after the last id with nothing lost or shown twice.
//!
//! Jobs share one bound on model calls in flight: each job is started with
//! `--max-concurrency` of [`ServeConfig::calls_per_run`] and holds that
//! many permits of [`ServeConfig::max_calls`] while it runs; the rest wait
//! in a queue.

mod ids;
mod jobs;
mod live;
mod pages;
mod runs;
mod security;
mod views;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

pub use axum::Router;
pub use security::{is_loopback, new_token};

/// Serves `app` on `listener` until `shutdown` completes. Live event
/// streams are cut then, not waited for (they would never end); runs in
/// progress are their own processes and stop on their own signal.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tokio::select! {
        r = axum::serve(listener, app) => r,
        () = shutdown => Ok(()),
    }
}

/// A persona as the new-question page offers it.
#[derive(Debug, Clone, Serialize)]
pub struct PersonaCard {
    /// Stable id, as `--panel` takes it.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One-line role.
    pub role: String,
    /// Keywords that match them to questions.
    pub focus: Vec<String>,
    /// Whether they are seated on every panel that lacks their seat (the
    /// fact-checker, the contrarian).
    pub seated: bool,
}

/// Checks the persona ids picked for a panel as a run would seat them:
/// `Err` holds the message naming the fix.
#[derive(Clone)]
pub struct PanelCheck(pub Arc<PanelCheckFn>);

/// The function a [`PanelCheck`] holds.
pub type PanelCheckFn = dyn Fn(&[String]) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for PanelCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PanelCheck")
    }
}

/// What `council serve` is given.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The folder of runs the pages list and new runs are written to.
    pub runs: PathBuf,
    /// The `council` executable that runs each job.
    pub exe: PathBuf,
    /// Flags every job is given before its subcommand (backend, config…).
    pub child_args: Vec<String>,
    /// Flags every job is given right after its subcommand (`--personas`,
    /// `--prompts`: every job's subcommand takes them).
    pub sub_args: Vec<String>,
    /// Checks a picked panel as a run would seat it (none: the run checks).
    pub panel_check: Option<PanelCheck>,
    /// The access token every request must carry (none: loopback only).
    pub token: Option<String>,
    /// The personas a panel can be picked from.
    pub personas: Vec<PersonaCard>,
    /// The models a run can be asked on; the first is the default.
    pub models: Vec<String>,
    /// Model calls in flight across every job at once.
    pub max_calls: u32,
    /// Model calls in flight within one job (`--max-concurrency`).
    pub calls_per_run: u32,
    /// How often a live run's event log is read for new lines, in ms.
    pub poll_ms: u64,
    /// The prices a report's cost table is drawn with (the config's, over
    /// the built-in list).
    pub prices: council_analysis::PriceTable,
    /// The brands PDF and Word downloads can carry; the first is the
    /// default (none: downloads are unbranded).
    pub brands: Vec<council_render::Brand>,
}

impl ServeConfig {
    /// A configuration with the defaults for everything but the folders.
    pub fn new(runs: PathBuf, exe: PathBuf) -> ServeConfig {
        ServeConfig {
            runs,
            exe,
            child_args: Vec::new(),
            sub_args: Vec::new(),
            panel_check: None,
            token: None,
            personas: Vec::new(),
            models: Vec::new(),
            max_calls: 8,
            calls_per_run: 4,
            poll_ms: 200,
            prices: council_analysis::PriceTable::default(),
            brands: Vec::new(),
        }
    }
}

/// The largest request body but an upload: forms are small.
pub const FORM_LIMIT: usize = 64 * 1024;
/// The largest new-question request: the question file and the sources.
pub const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;

/// Everything a handler can reach.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) config: ServeConfig,
    pub(crate) views: views::Views,
    pub(crate) jobs: Arc<jobs::Jobs>,
    pub(crate) keys: security::Keys,
}

/// A setting `council serve` cannot start with.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct WebError(pub String);

/// The whole app as an axum Router: every page, the live events, the
/// guards (token, CSRF, size limits, Content-Security-Policy).
pub fn router(config: ServeConfig) -> Result<Router, WebError> {
    Ok(build(config)?.router)
}

/// The app and a handle on its jobs.
#[derive(Debug)]
pub struct Web {
    /// Every page, as [`router`] gives it.
    pub router: Router,
    jobs: Arc<jobs::Jobs>,
}

impl Web {
    /// Interrupts every job in progress as Ctrl-C would and waits (up to
    /// ten seconds each) for them to save and stop: each can be resumed
    /// from its page when the server is back.
    pub async fn stop_jobs(&self) -> usize {
        self.jobs.stop_all().await
    }
}

/// Builds the app (see [`router`]), keeping a handle on its jobs.
pub fn build(config: ServeConfig) -> Result<Web, WebError> {
    if config.calls_per_run == 0 || config.calls_per_run > config.max_calls {
        return Err(WebError(format!(
            "calls per run ({}) must be between 1 and the bound on calls ({})",
            config.calls_per_run, config.max_calls
        )));
    }
    std::fs::create_dir_all(&config.runs).map_err(|e| {
        WebError(format!(
            "cannot create the runs folder {} ({e}); give another with --runs DIR",
            config.runs.display()
        ))
    })?;
    let keys = security::Keys::new(config.token.clone())?;
    let jobs = Arc::new(jobs::Jobs::new(&config));
    let app = Arc::new(App {
        views: views::Views::new()?,
        jobs: jobs.clone(),
        keys,
        config,
    });
    let uploads = Router::new()
        .route("/runs", post(pages::create_run))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT));
    let rest = Router::new()
        .route("/", get(pages::new_question))
        .route("/runs", get(pages::list_runs))
        .route("/runs/{id}", get(pages::run_page))
        .route("/runs/{id}/events", get(live::events))
        .route("/runs/{id}/report", get(pages::report_page))
        .route("/runs/{id}/report.html", get(pages::report_html))
        .route("/runs/{id}/download/{format}", get(pages::download))
        .route("/runs/{id}/cancel", post(pages::cancel))
        .route("/runs/{id}/resume", post(pages::resume))
        .route("/runs/{id}/followup", post(pages::followup))
        .route("/runs/{id}/variant", post(pages::variant))
        .route("/runs/{id}/branch", post(pages::branch))
        .route(
            "/runs/{id}/delete",
            get(pages::confirm_delete).post(pages::delete),
        )
        .route("/compare", get(pages::side_by_side))
        .route("/diff", get(pages::diff_page))
        .route("/studies/{id}", get(pages::study_page))
        .route("/studies/{id}/compare.html", get(pages::study_html))
        .route("/static/{file}", get(pages::asset))
        .layer(DefaultBodyLimit::max(FORM_LIMIT));
    let router = uploads
        .merge(rest)
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            security::guard,
        ))
        .with_state(app);
    Ok(Web { router, jobs })
}
