//! The new-question form and starting a debate from it (uploads saved
//! into the run's library).

// A refusal is the Response the handler returns at once; boxing it would
// only add a step.
#![allow(clippy::result_large_err)]

use super::*;

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
    if !ask.lang.is_empty() {
        council_core::lang::check(&ask.lang).map_err(|e| e.to_string())?;
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
