//! Deleting a run: the confirmation page and the delete itself (refused
//! while anything inside is live).

// A refusal is the Response the handler returns at once; boxing it would
// only add a step.
#![allow(clippy::result_large_err)]

use super::*;

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
