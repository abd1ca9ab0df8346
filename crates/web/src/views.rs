//! The pages' templates (tera, HTML-escaped by default: every model and
//! user text is shown as text) and the one place pages are rendered.

use crate::WebError;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tera::{Context, Tera};

/// Every template, embedded in the binary.
const TEMPLATES: [(&str, &str); 11] = [
    ("base.html", include_str!("../templates/base.html")),
    ("new.html", include_str!("../templates/new.html")),
    ("run.html", include_str!("../templates/run.html")),
    ("event.html", include_str!("../templates/event.html")),
    ("runs.html", include_str!("../templates/runs.html")),
    ("report.html", include_str!("../templates/report.html")),
    ("compare.html", include_str!("../templates/compare.html")),
    ("diff.html", include_str!("../templates/diff.html")),
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
        tera.register_filter("plural", plural_filter);
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

/// `count` with its noun: "1 run", "2 runs", "0 runs".
pub(crate) fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// The templates' `plural` filter: `{{ n | plural(one="run", many="runs") }}`
/// (a list counts its items).
fn plural_filter(
    value: &tera::Value,
    args: &std::collections::HashMap<String, tera::Value>,
) -> tera::Result<tera::Value> {
    let count = match value {
        tera::Value::Array(a) => a.len() as u64,
        v => v
            .as_u64()
            .ok_or_else(|| tera::Error::msg(format!("plural: {v} is not a count")))?,
    };
    let word = |k: &str| {
        args.get(k)
            .and_then(tera::Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| tera::Error::msg(format!("plural needs {k}=\"…\"")))
    };
    Ok(tera::Value::String(plural(
        count,
        &word("one")?,
        &word("many")?,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_take_the_noun_they_need() {
        assert_eq!(
            plural(1, "variant or branch", "variants and branches"),
            "1 variant or branch"
        );
        assert_eq!(
            plural(2, "variant or branch", "variants and branches"),
            "2 variants and branches"
        );
        assert_eq!(plural(0, "run", "runs"), "0 runs");
        let views = Views::new().unwrap();
        let mut t = views.tera.clone();
        t.add_raw_template("p", "{{ xs | plural(one=\"run\", many=\"runs\") }}/{{ n | plural(one=\"run\", many=\"runs\") }}").unwrap();
        let ctx = Context::from_value(serde_json::json!({"xs": [1], "n": 3})).unwrap();
        assert_eq!(t.render("p", &ctx).unwrap(), "1 run/3 runs");
    }
}
