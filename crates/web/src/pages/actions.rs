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
    let mut fields = Vec::new();
    for (label, text) in [("tone", &f.tone), ("what to stress", &f.emphasis)] {
        let text = text.trim();
        if text.chars().count() > 200 {
            return unprocessable(
                &app,
                "Variant refused",
                &format!("the {label} is longer than 200 characters; say it in a few words"),
                &back,
            );
        }
        fields.push(Some(text.to_string()).filter(|t| !t.is_empty()));
    }
    let emphasis = fields.pop().flatten();
    let tone = fields.pop().flatten();
    let asked = f.name.trim();
    let name = if asked.is_empty() {
        let mut name = format!("{audience}-{length}");
        if !f.lang.is_empty() {
            name = format!("{name}-{}", f.lang);
        }
        unused(&dir.join("variants"), &name)
    } else {
        if let Some(problem) = name_problem(asked) {
            return unprocessable(&app, "Variant refused", &problem, &back);
        }
        if dir.join("variants").join(asked).exists() {
            return unprocessable(
                &app,
                "Variant refused",
                &format!("this run already has a variant named {asked}; choose another name, or leave it empty for one made for you"),
                &back,
            );
        }
        asked.to_string()
    };
    let vid = format!("{id}/variants/{name}");
    let job = Job::Variant(VariantJob {
        run: dir,
        audience,
        length,
        lang: Some(f.lang.clone()).filter(|l| !l.is_empty()),
        tone,
        emphasis,
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
    let seated: Vec<String> = runs::header(&dir)
        .map(|h| h.panel.into_iter().map(|p| p.id).collect())
        .unwrap_or_default();
    let known = |id: &str| app.config.personas.iter().any(|p| p.id == id);
    let (old, new) = (f.swap_old.trim(), f.swap_new.trim());
    let swap = match (old.is_empty(), new.is_empty()) {
        (true, true) => Vec::new(),
        (false, false) => {
            if !seated.iter().any(|s| s == old) {
                return unprocessable(
                    &app,
                    "Branch refused",
                    &format!(
                        "{old} does not sit on this run's panel ({}); choose one who does",
                        seated.join(", ")
                    ),
                    &back,
                );
            }
            if seated.iter().any(|s| s == new) || (!app.config.personas.is_empty() && !known(new)) {
                return unprocessable(
                    &app,
                    "Branch refused",
                    &format!(
                        "{new} cannot take the seat: choose a persona who is not on the panel ({})",
                        seated.join(", ")
                    ),
                    &back,
                );
            }
            vec![(old.to_string(), new.to_string())]
        }
        _ => {
            return unprocessable(
                &app,
                "Branch refused",
                "to swap an advisor, choose both who leaves and who takes the seat",
                &back,
            )
        }
    };
    let panel: Vec<String> = f
        .panel
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    if !panel.is_empty() && !swap.is_empty() {
        return unprocessable(
            &app,
            "Branch refused",
            "give a swap or a whole new panel, not both (the new panel already says who sits)",
            &back,
        );
    }
    if !panel.is_empty() {
        if let Some(check) = &app.config.panel_check {
            if let Err(e) = (check.0)(&panel) {
                return unprocessable(&app, "Branch refused", &e, &back);
            }
        }
    }
    let (who, model) = (f.model_persona.trim(), f.model.trim());
    let persona_model = match (who.is_empty(), model.is_empty()) {
        (true, true) => Vec::new(),
        (false, false) => {
            let sits = if panel.is_empty() {
                seated.iter().any(|s| s == who) && !swap.iter().any(|(o, _)| o == who)
                    || swap.iter().any(|(_, n)| n == who)
            } else {
                panel.iter().any(|p| p == who)
            };
            if !sits {
                return unprocessable(
                    &app,
                    "Branch refused",
                    &format!(
                        "{who} does not sit on the branch's panel; give a model to one who does"
                    ),
                    &back,
                );
            }
            if model.chars().any(|c| c.is_whitespace() || c == '=') {
                return unprocessable(&app, "Branch refused", &format!("{model:?} is not a model name (no spaces or '='); write it as the server names it"), &back);
            }
            vec![(who.to_string(), model.to_string())]
        }
        _ => {
            return unprocessable(
                &app,
                "Branch refused",
                "to put an advisor on another model, choose both the advisor and the model",
                &back,
            )
        }
    };
    let mut name = format!("from-round-{from}");
    if let Some((o, n)) = swap.first() {
        name = format!("{name}-{n}-for-{o}");
    }
    if !q.is_empty() {
        name = format!("{name}-{}", council_core::text::slug(q, 4));
    }
    let name = unused(&dir.join("branches"), &name);
    let bid = format!("{id}/branches/{name}");
    let job = Job::Branch(BranchJob {
        run: dir,
        from_round: from,
        swap,
        panel,
        persona_model,
        question: Some(q.to_string()).filter(|q| !q.is_empty()),
        out: Some(app.config.runs.join(&bid)),
        max_concurrency: Some(app.jobs.per_run()),
    });
    start(&app, &bid, job, &bid)
}

/// What is wrong with `name` as a variant's folder name, if anything.
fn name_problem(name: &str) -> Option<String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    let ok_start = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    (!ok_chars || !ok_start || name.chars().count() > 60).then(|| {
        format!("{name:?} cannot name a variant: use up to 60 letters, digits, dots, dashes or underscores, starting with a letter or digit (e.g. client-brief)")
    })
}
