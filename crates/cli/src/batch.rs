//! `council batch FILE --out DIR`: a study. Reads one question a line
//! (JSONL or CSV), writes `DIR/study.json`, and plays every question ×
//! model × repeat as a run under `DIR/runs/`, all at once under one bound
//! on model calls in flight. Each finished run gets its report files as
//! `council ask` writes them. Running it again skips finished runs (writing
//! any report files they lack) and resumes the rest.

use crate::cli::{BatchArgs, Global};
use crate::InputError;
use council_core::study::{Condition, RunRecord, RunState, Study, StudyQuestion, STUDY_VERSION};
use council_core::Usage;
use council_engine::study::{plan, run_study, StudyContext, StudyProgress, STUDY_FILE};
use council_llm::ChatModel;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What continues a stopped study.
const RESUME: &str =
    "the same council batch command (finished runs are skipped, the others resumed)";

/// One line of the question file, as written.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    id: Option<String>,
    question: String,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    /// Persona ids, a list (JSONL) or comma-separated (either).
    #[serde(default)]
    panel: Option<serde_json::Value>,
    /// A model, or several comma-separated.
    #[serde(default)]
    model: Option<String>,
}

fn list(v: &Option<serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        Some(serde_json::Value::String(s)) => split(s),
        _ => Vec::new(),
    }
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// What to write in a question file, for messages about one that holds none.
const NO_QUESTIONS: &str = "give one question a line: JSONL ({\"question\": \"…\"}) or CSV with a header row naming a question column";

/// Reads the question file at `path` (see [`parse_lines`]).
fn read_lines(path: &Path) -> Result<Vec<Line>, InputError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        InputError(format!(
            "cannot read the question file {} ({e}); give a UTF-8 JSONL or CSV file",
            path.display()
        ))
    })?;
    parse_lines(&text, path)
}

/// Parses the question file's text: JSONL (one object a line) or CSV with a
/// header row (`question` required; `id`, `date`, `lang`, `panel`, `model`
/// optional), chosen by `path`'s extension (`.csv`, `.jsonl`) or the first
/// character. Reads nothing; every error names `path`.
fn parse_lines(text: &str, path: &Path) -> Result<Vec<Line>, InputError> {
    if text.trim().is_empty() {
        return Err(InputError(format!(
            "{} holds no questions: {NO_QUESTIONS}",
            path.display()
        )));
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let is_csv = ext == "csv" || (ext != "jsonl" && !text.trim_start().starts_with('{'));
    let mut out = Vec::new();
    if is_csv {
        let mut r = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = r
            .headers()
            .map_err(|e| {
                InputError(format!(
                    "{}: not a CSV file ({e}); {NO_QUESTIONS}",
                    path.display()
                ))
            })?
            .clone();
        if !headers.iter().any(|h| h == "question") {
            return Err(InputError(format!(
                "{}: the CSV needs a header row with a `question` column (and optionally id, date, lang, panel, model)",
                path.display()
            )));
        }
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| {
                InputError(format!(
                    "{} row {}: {e}; give each row one field per column of the header row, and quote a field that holds a comma",
                    path.display(),
                    i + 2
                ))
            })?;
            let mut line = Line::default();
            for (h, v) in headers.iter().zip(rec.iter()) {
                let v = Some(v.to_string()).filter(|v| !v.is_empty());
                match h {
                    "id" => line.id = v,
                    "question" => line.question = v.unwrap_or_default(),
                    "date" => line.date = v,
                    "lang" => line.lang = v,
                    "panel" => line.panel = v.map(serde_json::Value::String),
                    "model" => line.model = v,
                    other => {
                        return Err(InputError(format!(
                            "{}: unknown column {other:?}; the columns are question, id, date, lang, panel, model",
                            path.display()
                        )))
                    }
                }
            }
            out.push(line);
        }
    } else {
        for (i, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            out.push(serde_json::from_str(l).map_err(|e| {
                InputError(format!(
                    "{} line {}: {e}; each line is {{\"question\": \"…\"}} with optional id, date, lang, panel, model",
                    path.display(),
                    i + 1
                ))
            })?);
        }
    }
    if out.is_empty() {
        return Err(InputError(format!(
            "{} holds no questions: {NO_QUESTIONS}",
            path.display()
        )));
    }
    Ok(out)
}

/// The study the command line asks for.
fn study_of(args: &BatchArgs, default_model: &str) -> Result<Study, InputError> {
    let today = chrono::Local::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    let lines = read_lines(&args.file)?;
    let mut questions: Vec<StudyQuestion> = Vec::new();
    for (i, l) in lines.into_iter().enumerate() {
        let n = i + 1;
        let question = l.question.trim().to_string();
        if question.is_empty() {
            return Err(InputError(format!(
                "{} question {n} is empty",
                args.file.display()
            )));
        }
        crate::ask::check_question_text(
            &question,
            &format!("{} question {n}", args.file.display()),
        )?;
        let id = l.id.unwrap_or_else(|| format!("q{n}"));
        if questions.iter().any(|q| q.id == id) {
            return Err(InputError(format!(
                "{}: the id {id:?} is used twice",
                args.file.display()
            )));
        }
        let date = match l.date.or_else(|| args.date.clone()) {
            Some(d) => chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| InputError(format!("question {id}: date {d:?} is not YYYY-MM-DD")))?
                .format("%Y-%m-%d")
                .to_string(),
            None => today.clone(),
        };
        let lang = l
            .lang
            .unwrap_or_else(|| council_core::detect_lang(&question).to_string());
        if let Err(e) = council_core::lang::check(&lang) {
            return Err(InputError(format!("question {id}: lang {e}")));
        }
        let mut panel = list(&l.panel);
        if panel.is_empty() {
            panel = args.panel.clone();
        }
        if panel.is_empty() {
            return Err(InputError(format!(
                "question {id} has no panel: a study compares fixed panels; give --panel ID,ID,… or a panel column"
            )));
        }
        questions.push(StudyQuestion {
            id,
            question,
            date,
            lang,
            panel,
            models: l.model.as_deref().map(split).unwrap_or_default(),
        });
    }
    Ok(Study {
        version: STUDY_VERSION,
        questions,
        models: if args.models.is_empty() {
            vec![default_model.to_string()]
        } else {
            args.models.clone()
        },
        repeats: args.repeat,
        rounds: args.rounds,
        seed: args.seed.unwrap_or_else(crate::ask::random_seed),
        synthesis: !args.no_synthesis,
        max_calls: u32::from(args.max_calls),
        conditions: conditions(&args.conditions)?,
    })
}

/// The conditions asked for, each once, in the order given (default: the
/// full debate only).
fn conditions(asked: &[String]) -> Result<Vec<Condition>, InputError> {
    let mut out: Vec<Condition> = Vec::new();
    for name in asked {
        let c = Condition::parse(name).map_err(|e| InputError(format!("--conditions: {e}")))?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    if out.is_empty() {
        out.push(Condition::Debate);
    }
    Ok(out)
}

/// The study already in `dir`, checked against the one asked for now: the
/// same questions, models, repeats and rounds continue it; its seed and
/// dates are kept.
fn continue_or_start(
    dir: &Path,
    asked: Study,
    seed_given: bool,
) -> Result<(Study, bool), InputError> {
    let path = dir.join(STUDY_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok((asked, false));
    };
    let old: Study = serde_json::from_str(&text)
        .map_err(|e| InputError(format!("{} is not a Council study ({e})", path.display())))?;
    let key = |s: &Study| {
        (
            s.questions
                .iter()
                .map(|q| {
                    (
                        q.id.clone(),
                        q.question.clone(),
                        q.panel.clone(),
                        q.models.clone(),
                    )
                })
                .collect::<Vec<_>>(),
            s.models.clone(),
            s.repeats,
            s.rounds,
            s.synthesis,
            s.conditions.clone(),
        )
    };
    if key(&old) != key(&asked) || (seed_given && old.seed != asked.seed) {
        return Err(InputError(format!(
            "{} holds another study (its questions, models, repeats, rounds, conditions or seed differ); choose another --out",
            dir.display()
        )));
    }
    // The bound on calls may change between sessions.
    Ok((
        Study {
            max_calls: asked.max_calls,
            ..old
        },
        true,
    ))
}

/// One progress display for the whole study.
struct Display {
    bar: ProgressBar,
    lines: bool,
    total: u64,
    calls: AtomicU64,
    tokens: AtomicU64,
    usd: Mutex<(f64, bool)>,
    prices: council_analysis::PriceTable,
    backend: String,
    /// Each run's last state, and how many of them are finished (kept
    /// with the map, so a record costs O(log n), not a count of every run).
    states: Mutex<(BTreeMap<String, RunState>, u64)>,
    /// Each finished run's folder goes to the report writer (closed at the end).
    reports: Mutex<Option<std::sync::mpsc::Sender<PathBuf>>>,
    dir: PathBuf,
}

/// Whether a run in `state` is finished, for the progress count.
fn is_done(state: RunState) -> bool {
    !matches!(state, RunState::Running | RunState::Pending)
}

impl Display {
    /// Records `r`'s state; the runs finished before and after.
    fn record(&self, r: &RunRecord) -> (u64, u64) {
        let mut states = self
            .states
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (map, done) = &mut *states;
        let before = *done;
        let was = map.insert(r.folder.clone(), r.state).is_some_and(is_done);
        *done = *done + u64::from(is_done(r.state)) - u64::from(was);
        (before, *done)
    }

    fn message(&self) -> String {
        let (usd, unpriced) = *self
            .usd
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cost = if unpriced {
            "cost: not priced".to_string()
        } else {
            format!("cost {}", council_core::cost::format_usd(usd))
        };
        format!(
            "{} calls, {} tokens, {cost}",
            self.calls.load(Ordering::Relaxed),
            self.tokens.load(Ordering::Relaxed)
        )
    }
}

impl StudyProgress for Display {
    fn run(&self, r: &RunRecord) {
        if matches!(r.state, RunState::Complete | RunState::Partial) {
            if let Some(tx) = self
                .reports
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
            {
                // The writer stops only after the study; a closed channel
                // leaves the run's reports to the next session.
                let _ = tx.send(self.dir.join(&r.folder));
            }
        }
        let (before, done) = self.record(r);
        self.bar.set_position(done);
        self.bar.set_message(self.message());
        if self.lines && done != before {
            crate::say!(
                "runs {done}/{}: {} {:?}; {}",
                self.total,
                r.folder,
                r.state,
                self.message()
            );
        }
    }

    fn call(&self, model: &str, usage: &Usage) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.tokens.fetch_add(
            usage.prompt_tokens.unwrap_or(0) + usage.completion_tokens.unwrap_or(0),
            Ordering::Relaxed,
        );
        let mut usd = self
            .usd
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match self
            .prices
            .price(&self.backend, model)
            .and_then(|(p, _)| p.of(usage))
        {
            Some(x) => usd.0 += x,
            None if usage.calls > 0 => usd.1 = true,
            None => {}
        }
        drop(usd);
        self.bar.set_message(self.message());
    }
}

/// Writes each finished run's report files (`report.md`, `report.html`,
/// `report.json`, as `council ask` does) on a thread of its own, so the
/// study's calls never wait on rendering; a run that has all three already
/// (a study resumed) is left as it is.
struct ReportWriter {
    handle: std::thread::JoinHandle<Written>,
}

/// What the report writer did.
#[derive(Default)]
struct Written {
    written: usize,
    failed: Vec<(PathBuf, String)>,
}

impl ReportWriter {
    fn start(
        rx: std::sync::mpsc::Receiver<PathBuf>,
        prices: council_analysis::PriceTable,
    ) -> ReportWriter {
        let handle = std::thread::spawn(move || {
            let mut done = Written::default();
            for folder in rx {
                let missing = council_app::report::RUN_FORMATS
                    .iter()
                    .any(|f| !folder.join(format!("report.{}", f.extension())).is_file());
                if !missing {
                    continue;
                }
                let wrote = council_app::report::read_run(&folder).and_then(|t| {
                    let report = council_app::report::full_report(&t, &prices, None);
                    council_app::report::write_run_reports(&report, &folder, &Default::default())
                });
                match wrote {
                    Ok(_) => done.written += 1,
                    Err(e) => done.failed.push((folder, format!("{e:#}"))),
                }
            }
            done
        });
        ReportWriter { handle }
    }

    /// Waits for the writer (its channel closed) and says what it did.
    fn finish(self) -> Written {
        self.handle.join().unwrap_or_else(|_| Written {
            written: 0,
            failed: vec![(
                PathBuf::from("the study"),
                "the report writer stopped unexpectedly".into(),
            )],
        })
    }
}

/// Runs `council batch`; true when every run is complete.
pub(crate) async fn batch(args: BatchArgs, global: &Global) -> anyhow::Result<bool> {
    let roster = args.sources.roster()?;
    let prompts = args.sources.templates()?;
    // `--models a,b` names the models: the first is the main one when
    // `--model` is not given (a server needs a model name to start with).
    let mut global = global.clone();
    if global.model.is_none() {
        global.model = args.models.first().cloned();
    }
    let global = &global;
    let backends = crate::settings::load(global, &crate::env_lookup)?;
    let default_model = backends.default_model_name();
    let asked = study_of(&args, &default_model)?;
    for q in &asked.questions {
        roster
            .panel_from_ids(&q.panel)
            .map_err(|e| InputError(format!("question {}: {e}", q.id)))?;
    }
    let (study, continued) = continue_or_start(&args.out, asked, args.seed.is_some())?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| InputError(format!("cannot create {} ({e})", args.out.display())))?;
    if !continued {
        council_fs::write_atomic(
            &args.out.join(STUDY_FILE),
            serde_json::to_string_pretty(&study)?,
        )?;
    }
    let mut models: BTreeMap<String, Arc<dyn ChatModel>> = BTreeMap::new();
    for m in study
        .models
        .iter()
        .chain(study.questions.iter().flat_map(|q| &q.models))
    {
        if !models.contains_key(m) {
            models.insert(m.clone(), backends.model_named(m).await?);
        }
    }
    let total = plan(&study).len() as u64;
    let terminal = std::io::stderr().is_terminal() && !global.quiet;
    let bar = if terminal {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("runs {pos}/{len} [{bar:30}] {msg} · ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let (reports_tx, reports_rx) = std::sync::mpsc::channel::<PathBuf>();
    let writer = ReportWriter::start(reports_rx, backends.prices.clone());
    let display = Arc::new(Display {
        bar,
        lines: !terminal && !global.quiet,
        total,
        calls: AtomicU64::new(0),
        tokens: AtomicU64::new(0),
        usd: Mutex::new((0.0, false)),
        prices: backends.prices.clone(),
        backend: backends.backend_name(),
        states: Mutex::new((BTreeMap::new(), 0)),
        reports: Mutex::new((!args.no_reports).then_some(reports_tx)),
        dir: args.out.clone(),
    });
    crate::say!(
        "{} {}: {} questions × {} model(s) × {} repeat(s){} = {total} runs, at most {} calls in flight",
        if continued { "continuing study" } else { "study" },
        args.out.display(),
        study.questions.len(),
        study.models.len(),
        study.repeats,
        if study.conditions != [Condition::Debate] {
            format!(
                " × {} condition(s) ({})",
                study.conditions.len(),
                study
                    .conditions
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            String::new()
        },
        study.max_calls
    );
    let model_for = |name: &str| -> Result<Arc<dyn ChatModel>, council_llm::LlmError> {
        models
            .get(name)
            .cloned()
            .ok_or_else(|| council_llm::LlmError::Config(format!("model {name:?} was not built")))
    };
    let started = std::time::Instant::now();
    let ctx = StudyContext {
        dir: &args.out,
        roster: &roster,
        prompts: &prompts,
        max_tokens: args.max_tokens,
        model_for: &model_for,
        progress: display.clone(),
    };
    let outcome = tokio::select! {
        o = run_study(&study, &ctx) => o.map_err(|e| crate::ask::budget_stop(e, &args.out, None, RESUME))?,
        _ = tokio::signal::ctrl_c() => {
            display.bar.abandon();
            anyhow::bail!(crate::ask::Interrupted(RESUME.into()));
        }
    };
    display.bar.finish_and_clear();
    // Every finished run has been sent: close the channel, wait for the writer.
    drop(
        display
            .reports
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take(),
    );
    let written = writer.finish();
    for (folder, why) in &written.failed {
        crate::say!(
            "warning: the reports of {} could not be written: {why}; `council render {}` writes one",
            folder.display(),
            folder.display()
        );
    }
    if written.written > 0 {
        crate::say!(
            "reports (report.md, report.html, report.json) written for {} run(s)",
            written.written
        );
    }
    crate::say!(
        "{} complete, {} partial, {} stopped by an error, in {:.1} s; {}",
        outcome.complete,
        outcome.partial,
        outcome.failed,
        started.elapsed().as_secs_f64(),
        display.message()
    );
    if outcome.failed > 0 {
        crate::say!(
            "run the same command again to resume them; their errors are in {}",
            args.out.join(council_engine::study::RUNS_FILE).display()
        );
    }
    println!("{}", args.out.display());
    Ok(outcome.partial == 0 && outcome.failed == 0)
}

#[cfg(test)]
#[path = "../../../tests/support/json_mutations.rs"]
mod json_mutations;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_count_follows_each_runs_last_state() {
        let display = Display {
            bar: ProgressBar::hidden(),
            lines: false,
            total: 3,
            calls: AtomicU64::new(0),
            tokens: AtomicU64::new(0),
            usd: Mutex::new((0.0, false)),
            prices: Default::default(),
            backend: "fake".into(),
            states: Mutex::new((BTreeMap::new(), 0)),
            reports: Mutex::new(None),
            dir: PathBuf::new(),
        };
        let rec = |folder: &str, state: RunState| RunRecord {
            id: council_core::study::StudyRunId {
                question: "q".into(),
                model: "m".into(),
                repeat: 1,
                condition: Default::default(),
            },
            seed: 1,
            folder: folder.into(),
            state,
            calls: 0,
            error: None,
        };
        let steps = [
            ("a", RunState::Running, (0, 0)),
            ("b", RunState::Complete, (0, 1)),
            ("a", RunState::Failed, (1, 2)),
            // A failed run resumed is not done any more; then done again.
            ("a", RunState::Running, (2, 1)),
            ("a", RunState::Partial, (1, 2)),
            // The same state twice counts once.
            ("b", RunState::Complete, (2, 2)),
            ("c", RunState::Complete, (2, 3)),
        ];
        for (folder, state, counts) in steps {
            assert_eq!(
                display.record(&rec(folder, state)),
                counts,
                "{folder} {state:?}"
            );
        }
        assert_eq!(display.bar.position(), 0, "record leaves the bar to run");
        display.run(&rec("c", RunState::Complete));
        assert_eq!(display.bar.position(), 3);
    }

    #[test]
    fn the_format_is_chosen_by_extension_or_first_character() {
        let jsonl = "{\"question\": \"Open in Berlin?\", \"panel\": [\"cfo\", \"cto\"]}\n\n{\"question\": \"Hire?\", \"panel\": \"cfo, cto\"}\n";
        for name in ["q.jsonl", "q.txt", "q"] {
            let lines = parse_lines(jsonl, Path::new(name)).unwrap();
            assert_eq!(lines.len(), 2, "{name}");
            assert_eq!(list(&lines[0].panel), list(&lines[1].panel));
        }
        let csv = "question,panel,model\n\"Open in Berlin, or not?\",\"cfo,cto\",a\n";
        for name in ["q.csv", "q.txt"] {
            let lines = parse_lines(csv, Path::new(name)).unwrap();
            assert_eq!(lines[0].question, "Open in Berlin, or not?");
            assert_eq!(list(&lines[0].panel), ["cfo", "cto"]);
        }
        // A .csv file is CSV even when it looks like JSON.
        let err = parse_lines(jsonl, Path::new("q.csv")).unwrap_err().0;
        assert!(
            err.contains("q.csv") && err.contains("`question` column"),
            "{err}"
        );
    }

    #[test]
    fn each_bad_question_file_names_the_file_and_fix() {
        for (name, text, says) in [
            (
                "q.jsonl",
                " \n",
                "q.jsonl holds no questions: give one question a line",
            ),
            (
                "q.csv",
                "question,id\n",
                "q.csv holds no questions: give one question a line",
            ),
            (
                "q.csv",
                "question,colour\nX,red\n",
                "unknown column \"colour\"; the columns are",
            ),
            ("q.csv", "question,id\nX,1,extra\n", "q.csv row 2: "),
            (
                "q.csv",
                "question,id\nX,1,extra\n",
                "quote a field that holds a comma",
            ),
            (
                "q.jsonl",
                "{\"question\": \"X\"}\n{\"questoin\": \"Y\"}\n",
                "q.jsonl line 2: unknown field `questoin`",
            ),
            (
                "q.jsonl",
                "{\"question\": 3}\n",
                "each line is {\"question\": \"…\"}",
            ),
        ] {
            let err = parse_lines(text, Path::new(name)).unwrap_err().0;
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    mod proptests {
        //! Property tests of the question file's parser: any text, valid
        //! JSONL with a few values changed, CSV of any columns and fields,
        //! give lines or an error naming the file and the fix. Never a panic.
        use super::*;
        use proptest::prelude::*;
        use serde_json::json;

        use crate::batch::json_mutations::{any_json, mutated};

        /// The part of every error that says what to do.
        const FIXES: [&str; 5] = [
            "give one question a line",
            "needs a header row with a `question` column",
            "quote a field that holds a comma",
            "the columns are question, id, date, lang, panel, model",
            "with optional id, date, lang, panel, model",
        ];

        fn jsonl_files() -> impl Strategy<Value = String> {
            let line = json!({
                "id": "q1",
                "question": "Should we open a Berlin office?",
                "date": "2026-01-02",
                "lang": "en",
                "panel": ["cfo", "cto"],
                "model": "a,b",
            });
            prop::collection::vec(
                prop_oneof![
                    3 => mutated(line.clone()).prop_map(|v| v.to_string()),
                    1 => Just(line.to_string()),
                    1 => any_json().prop_map(|v| v.to_string()),
                    1 => Just(String::new()),
                ],
                0..6,
            )
            .prop_map(|l| l.join("\n"))
        }

        /// CSV with a header of known (sometimes unknown) columns and rows
        /// of any fields, quoted or not, of any length.
        fn csv_files() -> impl Strategy<Value = String> {
            let column = prop::sample::select(vec![
                "question", "question", "id", "date", "lang", "panel", "model", "colour", "",
            ]);
            let field = prop_oneof![
                "[A-Za-z ?]{0,12}",
                "\"[^\"]{0,12}\"",
                "\\PC{0,8}",
                Just("cfo,cto".to_string()),
            ];
            (
                prop::collection::vec(column, 0..5),
                prop::collection::vec(prop::collection::vec(field, 0..5), 0..5),
            )
                .prop_map(|(header, rows)| {
                    std::iter::once(header.join(","))
                        .chain(rows.iter().map(|r| r.join(",")))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

            /// A question file of any text, under any extension: its lines,
            /// or an error naming the file and saying what to write.
            #[test]
            fn a_question_file_of_any_text_gives_lines_or_names_file_and_fix(
                text in prop_oneof![
                    "\\PC{0,200}",
                    prop::collection::vec(any::<u8>(), 0..200)
                        .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
                    jsonl_files(),
                    csv_files(),
                ],
                name in prop::sample::select(vec!["study/q.jsonl", "study/q.csv", "study/q.txt", "study/q"]),
            ) {
                match parse_lines(&text, Path::new(name)) {
                    Ok(lines) => {
                        prop_assert!(!lines.is_empty());
                        let jsonl = !name.ends_with(".csv")
                            && (name.ends_with(".jsonl") || text.trim_start().starts_with('{'));
                        if jsonl {
                            let written = text.lines().filter(|l| !l.trim().is_empty()).count();
                            prop_assert_eq!(lines.len(), written);
                        }
                    }
                    Err(InputError(m)) => {
                        prop_assert!(m.starts_with(name), "{m}");
                        prop_assert!(FIXES.iter().any(|f| m.contains(f)), "{m}");
                    }
                }
            }
        }
    }
}
