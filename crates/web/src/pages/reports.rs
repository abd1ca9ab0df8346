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
    // With several brands, each branded format is offered under each.
    let brands: Vec<Value> = app
        .config
        .brands
        .iter()
        .enumerate()
        .map(|(i, b)| json!({"n": i + 1, "name": b.name}))
        .collect();
    let panel: Vec<Value> = header
        .as_ref()
        .map(|h| {
            h.panel
                .iter()
                .map(|p| json!({"id": p.id, "name": p.name}))
                .collect()
        })
        .unwrap_or_default();
    let seated: Vec<&str> = header
        .as_ref()
        .map(|h| h.panel.iter().map(|p| p.id.as_str()).collect())
        .unwrap_or_default();
    let others: Vec<Value> = app
        .config
        .personas
        .iter()
        .filter(|p| !seated.contains(&p.id.as_str()))
        .map(|p| json!({"id": p.id, "name": p.name}))
        .collect();
    let source = source_of(&id).filter(|s| ids::resolve(&app.config.runs, s).is_ok());
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
            "last_round": rounds,
            "brands": brands, "panel": panel, "others": others,
            "models": app.config.models,
            "source": source.as_ref().map(|s| json!({"id": s, "href": ids::href(s), "q": ids::encode(s)})),
            "qid": ids::encode(&id),
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
    Query(pick): Query<BrandPick>,
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
    let brand = match pick.brand(&app.config.brands) {
        Ok(b) => b.cloned(),
        Err(e) => {
            return message(
                &app,
                StatusCode::NOT_FOUND,
                "No such brand",
                &e,
                Some(&format!("/runs/{}/report", ids::href(&id))),
            )
        }
    };
    let prices = app.config.prices.clone();
    let made = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let report =
            council_app::report::read_report(&dir, &prices, None).map_err(|e| format!("{e:#}"))?;
        let options = council_render::RenderOptions::branded(brand.as_ref());
        council_app::report::bytes(&report, format, &options).map_err(|e| format!("{e:#}"))
    })
    .await;
    let bytes = match made {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => return not_available(&app, &e),
        Err(e) => return not_available(&app, &e.to_string()),
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

/// Which brand a download carries: `?brand=N` (from 1) or `?brand=none`;
/// by default the first brand configured.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct BrandPick {
    #[serde(default)]
    brand: Option<String>,
}

impl BrandPick {
    /// The brand picked from `brands`; `Err` names the ones there are.
    fn brand<'a>(
        &self,
        brands: &'a [council_render::Brand],
    ) -> Result<Option<&'a council_render::Brand>, String> {
        match self.brand.as_deref().map(str::trim) {
            None | Some("") => Ok(brands.first()),
            Some("none") => Ok(None),
            Some(n) => n
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| brands.get(i))
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "this server has {} (brand=1 to {}, or brand=none); pick one from the report page's downloads",
                        crate::views::plural(brands.len() as u64, "brand", "brands"),
                        brands.len()
                    )
                }),
        }
    }
}

/// The run a variant or branch made from the pages came from: the id
/// without its last `variants/NAME` or `branches/NAME`.
fn source_of(id: &str) -> Option<String> {
    let mut parts: Vec<&str> = id.split('/').collect();
    if parts.len() < 3 {
        return None;
    }
    let kind = parts[parts.len() - 2];
    if kind != "variants" && kind != "branches" {
        return None;
    }
    parts.truncate(parts.len() - 2);
    Some(parts.join("/"))
}

/// Two runs to compare.
#[derive(Debug, Deserialize)]
pub(crate) struct Pair {
    a: String,
    b: String,
}

/// The full reports of runs `a` and `b` (headings in `lang` when given),
/// read off the async threads; `Err` is the page to show.
async fn two_reports(
    app: &Arc<App>,
    p: &Pair,
    lang: Option<String>,
) -> Result<(council_core::Report, council_core::Report), Response> {
    let mut dirs = Vec::new();
    for id in [&p.a, &p.b] {
        dirs.push(run_dir(app, id)?);
    }
    let prices = app.config.prices.clone();
    let read = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for d in dirs {
            out.push(
                council_app::report::read_report(&d, &prices, lang.as_deref())
                    .map_err(|e| format!("{e:#}"))?,
            );
        }
        Ok::<_, String>(out)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    match read.map(|mut v| (v.pop(), v.pop())) {
        Ok((Some(b), Some(a))) => Ok((a, b)),
        Ok(_) => Err(message(
            app,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Not available",
            "two reports were asked for",
            Some("/runs"),
        )),
        Err(e) => Err(message(
            app,
            StatusCode::UNPROCESSABLE_ENTITY,
            "No report to compare",
            &format!("{e}; compare runs that have finished their debate"),
            Some("/runs"),
        )),
    }
}

/// The part of an HTML page between `<body>` and `</body>`.
fn body_of(html: &str) -> &str {
    let start = html
        .find("<body")
        .and_then(|i| html[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let end = html.rfind("</body>").unwrap_or(html.len()).max(start);
    &html[start..end]
}

/// Text without its tags, its white space folded: what a reader sees.
fn seen_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A rendered report cut at its `<h2>` headings: (heading as HTML, the
/// section's HTML); the part before the first heading is "The question".
fn sections(html: &str) -> Vec<(String, String)> {
    let body = body_of(html);
    let starts: Vec<usize> = body.match_indices("<h2").map(|(i, _)| i).collect();
    let mut out = Vec::new();
    let first = starts.first().copied().unwrap_or(body.len());
    if !body[..first].trim().is_empty() {
        out.push(("The question".to_string(), body[..first].to_string()));
    }
    for (k, &s) in starts.iter().enumerate() {
        let e = starts.get(k + 1).copied().unwrap_or(body.len());
        let chunk = &body[s..e];
        // The heading is shown by the row: the section keeps what follows it.
        let (heading, rest) = match (chunk.find('>'), chunk.find("</h2>")) {
            (Some(o), Some(c)) if o < c => (chunk[o + 1..c].to_string(), &chunk[c + 5..]),
            _ => (String::new(), chunk),
        };
        out.push((heading, rest.to_string()));
    }
    out
}

/// The two reports' sections side by side: the same heading on one row,
/// a section only one report has beside a blank, a changed one marked.
fn aligned(a: &str, b: &str) -> Vec<Value> {
    let (sa, mut sb) = (sections(a), sections(b));
    let mut rows = Vec::new();
    for (heading, html_a) in sa {
        let found = sb.iter().position(|(h, _)| *h == heading);
        let html_b = found.map(|i| sb.remove(i).1);
        let changed = html_b
            .as_ref()
            .is_none_or(|hb| seen_text(hb) != seen_text(&html_a));
        rows.push(json!({"heading": heading, "a": html_a, "b": html_b, "changed": changed}));
    }
    for (heading, html_b) in sb {
        rows.push(json!({"heading": heading, "a": null, "b": html_b, "changed": true}));
    }
    rows
}

fn run_link(id: &str) -> Value {
    json!({"id": id, "href": ids::href(id), "q": ids::encode(id)})
}

/// `GET /compare?a=ID&b=ID`: two reports side by side, section by section
/// (the verdict beside the verdict…), each changed section marked; both
/// drawn with run A's headings language so their sections line up.
pub(crate) async fn side_by_side(State(app): State<Arc<App>>, Query(p): Query<Pair>) -> Response {
    let lang = match run_dir(&app, &p.a) {
        Ok(d) => runs::header(&d).map(|h| h.lang),
        Err(r) => return r,
    };
    let (ra, rb) = match two_reports(&app, &p, lang).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let html = |r: &council_core::Report| {
        council_app::report::bytes(r, Format::Html, &Default::default())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("{e:#}"))
    };
    let (ha, hb) = match (html(&ra), html(&rb)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return not_available(&app, &e),
    };
    let rows = aligned(&ha, &hb);
    let changed = rows.iter().filter(|r| r["changed"] == json!(true)).count() as u64;
    app.views.page(
        StatusCode::OK,
        "compare.html",
        &json!({
            "a": run_link(&p.a), "b": run_link(&p.b), "rows": rows,
            "changed": crate::views::plural(changed, "section differs", "sections differ"),
        }),
    )
}

/// `GET /diff?a=ID&b=ID`: what changed from run A to run B, as `council
/// diff` shows it (verdict, votes, forecasts, actions, risks).
pub(crate) async fn diff_page(State(app): State<Arc<App>>, Query(p): Query<Pair>) -> Response {
    let (ra, rb) = match two_reports(&app, &p, None).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let d = council_analysis::diff(&p.a, &ra, &p.b, &rb);
    let html = match council_render::diff::html(&d) {
        Ok(h) => h,
        Err(e) => return not_available(&app, &e.to_string()),
    };
    // The page has its own title, runs and count: the comparison's own
    // (its first heading and the paragraph naming A and B) go.
    let mut body = body_of(&html).to_string();
    if let (Some(s), Some(e)) = (body.find("<h1"), body.find("</h1>")) {
        if s < e {
            body.replace_range(s..e + 5, "");
        }
    }
    let lead = body.trim_start();
    if lead.starts_with("<p>A:") {
        if let Some(e) = lead.find("</p>") {
            body = lead[e + 4..].to_string();
        }
    }
    app.views.page(
        StatusCode::OK,
        "diff.html",
        &json!({
            "a": run_link(&p.a), "b": run_link(&p.b),
            "question": ra.question, "body": body,
            "changes": crate::views::plural(d.changes as u64, "change", "changes"),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_line_up_by_heading_and_changes_are_marked() {
        let a = "<html><body><h1>T</h1><p>Q</p>\n<h2>Verdict</h2><p>Go</p>\n<h2>Forecasts</h2><p>60%</p>\n<h2>Story</h2><p>s</p></body></html>";
        let b = "<html><body><h1>T</h1><p>Q</p>\n<h2>Verdict</h2><p>Wait</p>\n<h2>Forecasts</h2><p>60%</p>\n<h2>Risks</h2><p>r</p></body></html>";
        let rows = aligned(a, b);
        let got: Vec<(String, bool, bool, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r["heading"].as_str().unwrap().to_string(),
                    r["a"].is_string(),
                    r["b"].is_string(),
                    r["changed"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("The question".into(), true, true, false),
                ("Verdict".into(), true, true, true),
                ("Forecasts".into(), true, true, false),
                ("Story".into(), true, false, true),
                ("Risks".into(), false, true, true),
            ]
        );
        assert_eq!(rows[1]["a"], json!("<p>Go</p>\n"));
    }

    #[test]
    fn a_pages_variant_or_branch_knows_its_source() {
        assert_eq!(source_of("r1/variants/client-brief").as_deref(), Some("r1"));
        assert_eq!(
            source_of("s/runs/q1/branches/b").as_deref(),
            Some("s/runs/q1")
        );
        assert_eq!(source_of("r1"), None);
        assert_eq!(source_of("r1/other/x"), None);
    }
}
