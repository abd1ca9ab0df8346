//! What a run page starts: cancel, resume, a follow-up, a variant, a branch.

// A refusal is the Response the handler returns at once; boxing it would
// only add a step.
#![allow(clippy::result_large_err)]

use super::*;

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
    if let Err(e) = Some(&f.lang)
        .filter(|l| !l.is_empty())
        .map_or(Ok(()), |l| council_core::lang::check(l))
    {
        return unprocessable(&app, "Variant refused", &e.to_string(), &back);
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
