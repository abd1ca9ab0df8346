//! The pages' templates (tera, HTML-escaped by default: every model and
//! user text is shown as text) and the one place pages are rendered.

use crate::WebError;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tera::{Context, Tera};

/// Every template, embedded in the binary.
const TEMPLATES: [(&str, &str); 10] = [
    ("base.html", include_str!("../templates/base.html")),
    ("new.html", include_str!("../templates/new.html")),
    ("run.html", include_str!("../templates/run.html")),
    ("event.html", include_str!("../templates/event.html")),
    ("runs.html", include_str!("../templates/runs.html")),
    ("report.html", include_str!("../templates/report.html")),
    ("compare.html", include_str!("../templates/compare.html")),
    ("study.html", include_str!("../templates/study.html")),
    ("delete.html", include_str!("../templates/delete.html")),
    ("message.html", include_str!("../templates/message.html")),
];

/// The parsed templates.
#[derive(Debug)]
pub(crate) struct Views {
    tera: Tera,
}

impl Views {
    /// Parses every template (a broken one fails the server's start).
    pub(crate) fn new() -> Result<Views, WebError> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.to_vec())
            .map_err(|e| WebError(format!("web templates: {}", council_core::error_chain(&e))))?;
        Ok(Views { tera })
    }

    /// Renders template `name` with `ctx`.
    pub(crate) fn render(&self, name: &str, ctx: &serde_json::Value) -> Result<String, String> {
        let ctx = Context::from_value(ctx.clone()).map_err(|e| e.to_string())?;
        self.tera
            .render(name, &ctx)
            .map_err(|e| council_core::error_chain(&e))
    }

    /// A whole page with `status`; a template error becomes a 500 page.
    pub(crate) fn page(&self, status: StatusCode, name: &str, ctx: &serde_json::Value) -> Response {
        match self.render(name, ctx) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!("page {name}: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html(format!(
                        "<!doctype html><title>Council: error</title><p>This page could not be drawn: {}</p>",
                        escape(&e)
                    )),
                )
                    .into_response()
            }
        }
    }
}

/// `text` with HTML's special characters escaped.
pub(crate) fn escape(text: &str) -> String {
    tera::escape_html(text)
}
