//! A run's report page, its downloads in every format, variants side by side.

// A refusal is the Response the handler returns at once; boxing it would
// only add a step.
#![allow(clippy::result_large_err)]

use super::*;

/// The report's downloads: extension and label.
const FORMATS: [(&str, &str); 5] = [
    ("md", "Markdown"),
    ("html", "HTML"),
    ("json", "JSON"),
    ("pdf", "PDF"),
    ("docx", "Word"),
];

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
        council_app::report::bytes(&report, format, &Default::default())
            .map_err(|e| format!("{e:#}"))
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
