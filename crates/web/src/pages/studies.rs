//! A study's comparison: what `council compare` shows for its folder.

// A refusal is the Response the handler returns at once; boxing it would
// only add a step.
#![allow(clippy::result_large_err)]

use super::*;

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
