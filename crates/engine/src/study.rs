//! Studies (`council batch`): every question × model × repeat of a
//! [`Study`] played as its own run folder under `DIR/runs/`, a bounded
//! number at a time ([`runs_in_flight`]), under one global bound on model
//! calls in flight. `runs.jsonl` logs each
//! run's state. Running a study again skips finished runs and resumes the
//! others from their event logs, so no answered call is asked twice. A
//! server that cannot be reached stops the whole study at once
//! ([`EngineError::Unreachable`]).

use crate::{Debate, DebateSettings, EngineError, Models, NoProgress, Prompts, RunStore};
use async_trait::async_trait;
use council_core::hash::fnv1a;
use council_core::study::{RunRecord, RunState, Study, StudyRunId};
use council_core::{RunStatus, Usage};
use council_llm::{ChatModel, ChatRequest, ChatResponse, LlmError, ModelInfo};
use council_personas::Roster;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// The study's plan file in its folder.
pub const STUDY_FILE: &str = "study.json";
/// The run-state log in a study folder.
pub const RUNS_FILE: &str = "runs.jsonl";
/// The folder of the runs in a study folder.
pub const RUNS_DIR: &str = "runs";

/// What a study reports while it runs; must not block.
pub trait StudyProgress: Send + Sync {
    /// A run's state changed.
    fn run(&self, record: &RunRecord);
    /// One model call finished, with its usage (a failed call's: what its
    /// requests spent).
    fn call(&self, model: &str, usage: &Usage);
}

/// One run of the study, planned.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    /// Question, model, repeat.
    pub id: StudyRunId,
    /// Its seed.
    pub seed: u64,
    /// Its folder, relative to the study folder.
    pub folder: String,
}

/// Every run of `study`, in question, model, repeat, condition order; each
/// repeat has its own seed, derived from the study's seed, the question and
/// the model (the same plan on every machine), shared by its conditions.
pub fn plan(study: &Study) -> Vec<PlannedRun> {
    let mut out = Vec::new();
    for q in &study.questions {
        let models = if q.models.is_empty() {
            &study.models
        } else {
            &q.models
        };
        for m in models {
            for k in 1..=study.repeats {
                // The seed leaves the condition out: a question × model ×
                // repeat is paired across conditions by its seed too.
                let seed = study.seed
                    ^ fnv1a(q.id.bytes().chain([0]).chain(m.bytes()))
                    ^ u64::from(k).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                for &condition in &study.conditions {
                    let id = StudyRunId {
                        question: q.id.clone(),
                        model: m.clone(),
                        repeat: k,
                        condition,
                    };
                    out.push(PlannedRun {
                        folder: format!("{RUNS_DIR}/{}", id.folder()),
                        id,
                        seed,
                    });
                }
            }
        }
    }
    out
}

/// Reads `runs.jsonl`: the last record of each run (a line cut short by a
/// crash is ignored).
pub fn read_records(dir: &Path) -> Result<BTreeMap<StudyRunId, RunRecord>, EngineError> {
    let path = dir.join(RUNS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => {
            return Err(EngineError::io(
                format!("cannot read {}", path.display()),
                e,
            ))
        }
    };
    let mut out = BTreeMap::new();
    for (n, line) in council_fs::complete_lines(&bytes).iter() {
        let r: RunRecord = serde_json::from_slice(line).map_err(|e| {
            EngineError::Store(format!(
                "{} line {n}: not a run record ({e}); the log is damaged",
                path.display(),
            ))
        })?;
        out.insert(r.id.clone(), r);
    }
    Ok(out)
}

/// Appends run records, one synced line each.
struct RecordLog {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    progress: Arc<dyn StudyProgress>,
}

impl RecordLog {
    fn open(dir: &Path, progress: Arc<dyn StudyProgress>) -> Result<RecordLog, EngineError> {
        let path = dir.join(RUNS_FILE);
        // Drop a last line cut short by a crash, so appends stay valid.
        if let Ok(bytes) = std::fs::read(&path) {
            let lines = council_fs::complete_lines(&bytes);
            if lines.has_partial_tail() {
                council_fs::truncate(&path, lines.complete_len())
                    .map_err(|e| EngineError::io(format!("cannot repair {}", path.display()), e))?;
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| EngineError::io(format!("cannot open {}", path.display()), e))?;
        Ok(RecordLog {
            path,
            file: Mutex::new(file),
            progress,
        })
    }

    fn write(&self, r: &RunRecord) -> Result<(), EngineError> {
        let mut line = serde_json::to_string(r)
            .map_err(|e| EngineError::Store(format!("cannot encode a run record: {e}")))?;
        line.push('\n');
        let mut f = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.write_all(line.as_bytes())
            .and_then(|()| f.sync_data())
            .map_err(|e| EngineError::io(format!("cannot write {}", self.path.display()), e))?;
        drop(f);
        self.progress.run(r);
        Ok(())
    }
}

/// A model whose calls wait for a permit of the study's global bound.
struct Bounded {
    inner: Arc<dyn ChatModel>,
    permits: Arc<Semaphore>,
    progress: Arc<dyn StudyProgress>,
}

#[async_trait]
impl ChatModel for Bounded {
    fn info(&self) -> ModelInfo {
        self.inner.info()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        self.chat_streaming(request, &|_| {}).await
    }

    async fn chat_streaming(
        &self,
        request: &ChatRequest,
        sink: &council_llm::TextSink<'_>,
    ) -> Result<ChatResponse, LlmError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| LlmError::Config("the study's call bound was closed".into()))?;
        let result = self.inner.chat_streaming(request, sink).await;
        let usage = match &result {
            Ok(r) => r.usage,
            Err(e) => e.spent(),
        };
        self.progress.call(&self.inner.info().model, &usage);
        result
    }
}

/// How a study ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudyOutcome {
    /// Runs complete (this session or before).
    pub complete: usize,
    /// Runs finished with failed turns.
    pub partial: usize,
    /// Runs stopped by an error (run the study again to resume them).
    pub failed: usize,
}

/// The model a name stands for (a server model, or a pool of endpoints).
pub type ModelFor<'m> = dyn Fn(&str) -> Result<Arc<dyn ChatModel>, LlmError> + Sync + 'm;

/// Everything a study needs besides the plan.
pub struct StudyContext<'a> {
    /// The study folder.
    pub dir: &'a Path,
    /// Personas to seat.
    pub roster: &'a Roster,
    /// The templates.
    pub prompts: &'a Prompts,
    /// Generated-token limit per turn.
    pub max_tokens: u32,
    /// The model a name stands for (a server model, or a pool of endpoints).
    pub model_for: &'a ModelFor<'a>,
    /// Where progress goes.
    pub progress: Arc<dyn StudyProgress>,
}

impl std::fmt::Debug for StudyContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StudyContext")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Whether a run folder holds a finished run, and how it ended.
fn finished(dir: &Path, synthesis: bool) -> Option<RunState> {
    let t = crate::read_transcript(dir).ok()?;
    let synthesis = crate::conditions::synthesis_for(t.condition, synthesis);
    if t.status == RunStatus::Incomplete || (synthesis && t.synthesis.is_empty()) {
        return None;
    }
    // A run is finished once its transcript.json exists (written last).
    dir.join(crate::store::TRANSCRIPT_FILE)
        .exists()
        .then_some(match t.status {
            RunStatus::Complete => RunState::Complete,
            _ => RunState::Partial,
        })
}

/// The most runs a study keeps open at once for a bound of `max_calls`
/// calls in flight: twice the bound (a run between two calls, writing its
/// events or waiting for a round's last turn, leaves its permit to another),
/// at least 4 and at most 2,048, so file descriptors and memory stay flat
/// however many runs the study plans.
pub fn runs_in_flight(max_calls: u32) -> usize {
    (max_calls as usize).saturating_mul(2).clamp(4, 2048)
}

/// Plays every run of `study` not yet finished, [`runs_in_flight`] at a
/// time, under the study's bound on calls in flight.
pub async fn run_study(study: &Study, c: &StudyContext<'_>) -> Result<StudyOutcome, EngineError> {
    let log = RecordLog::open(c.dir, c.progress.clone())?;
    let known = read_records(c.dir)?;
    let permits = Arc::new(Semaphore::new(study.max_calls.max(1) as usize));
    let questions: BTreeMap<&str, &council_core::study::StudyQuestion> =
        study.questions.iter().map(|q| (q.id.as_str(), q)).collect();
    let planned = plan(study);
    let mut models: BTreeMap<String, Arc<dyn ChatModel>> = BTreeMap::new();
    for p in &planned {
        if !models.contains_key(&p.id.model) {
            let inner = (c.model_for)(&p.id.model).map_err(|e| {
                EngineError::Store(format!(
                    "model {:?}: {}",
                    p.id.model,
                    council_core::error_chain(&e)
                ))
            })?;
            let bounded: Arc<dyn ChatModel> = Arc::new(Bounded {
                inner,
                permits: permits.clone(),
                progress: c.progress.clone(),
            });
            models.insert(p.id.model.clone(), bounded);
        }
    }
    let one = |p: PlannedRun| {
        let log = &log;
        let known = &known;
        let models = &models;
        let questions = &questions;
        async move {
            let folder = c.dir.join(&p.folder);
            let record = |state: RunState, calls: u32, error: Option<String>| RunRecord {
                id: p.id.clone(),
                seed: p.seed,
                folder: p.folder.clone(),
                state,
                calls,
                error,
            };
            if let Some(state) = finished(&folder, study.synthesis) {
                let calls = known.get(&p.id).map_or(0, |r| r.calls);
                if known.get(&p.id).map(|r| r.state) != Some(state) {
                    log.write(&record(state, calls, None))?;
                } else {
                    c.progress.run(&record(state, calls, None));
                }
                return Ok::<RunState, EngineError>(state);
            }
            let q = questions.get(p.id.question.as_str()).ok_or_else(|| {
                EngineError::Store(format!("question {:?} is not in the study", p.id.question))
            })?;
            let seated = c
                .roster
                .panel_from_ids(&q.panel)
                .map(|x| c.roster.seat(x))
                .map_err(|e| EngineError::Store(format!("question {}: {e}", q.id)))?;
            // The panel the condition seats: the generalist alone, plain
            // advisors as many as the seated panel, or the panel itself.
            let panel = crate::conditions::panel_for(p.id.condition, seated);
            let mut store = if crate::store::started(&folder) {
                RunStore::open(&folder)?
            } else {
                RunStore::create(&folder)?
            };
            let before = store.transcript().map_or(0, |t| t.usage.calls);
            log.write(&record(RunState::Running, before, None))?;
            let debate = Debate {
                question: q.question.clone(),
                settings: DebateSettings {
                    rounds: crate::conditions::rounds_for(p.id.condition, study.rounds),
                    max_concurrency: panel.len().max(1),
                    seed: p.seed,
                    date: q.date.clone(),
                    lang: q.lang.clone(),
                    max_tokens: c.max_tokens,
                    synthesis: crate::conditions::synthesis_for(p.id.condition, study.synthesis),
                    condition: p.id.condition,
                },
                panel,
                models: Models::new(models[&p.id.model].clone()),
                prompts: c.prompts,
                progress: &NoProgress,
                notes: Vec::new(),
                library: None,
                library_inputs: Vec::new(),
            };
            match crate::run(&debate, &mut store).await {
                Ok(t) => {
                    let state = if t.status == RunStatus::Complete {
                        RunState::Complete
                    } else {
                        RunState::Partial
                    };
                    log.write(&record(state, t.usage.calls, None))?;
                    Ok(state)
                }
                Err(e) => {
                    let calls = store.transcript().map_or(before, |t| t.usage.calls);
                    log.write(&record(
                        RunState::Failed,
                        calls,
                        Some(council_core::error_chain(&e)),
                    ))?;
                    match e {
                        // No run can go on without the server: the study stops.
                        EngineError::Unreachable(_) => Err(e),
                        _ => Ok(RunState::Failed),
                    }
                }
            }
        }
    };
    // The semaphore bounds the calls; [`runs_in_flight`] bounds the runs
    // open at once (each holds its event log open and its events in
    // memory), enough of them to keep every permit busy. The first error
    // that stops a run (an unreachable server, a log that cannot be
    // written) stops the study; the runs in flight keep what they wrote and
    // resume when the study runs again.
    let mut runs = futures::stream::iter(planned.into_iter().map(one))
        .buffer_unordered(runs_in_flight(study.max_calls));
    let mut out = StudyOutcome::default();
    while let Some(r) = runs.next().await {
        match r? {
            RunState::Complete => out.complete += 1,
            RunState::Partial => out.partial += 1,
            _ => out.failed += 1,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use council_core::study::{Condition, StudyQuestion, STUDY_VERSION};

    fn study(conditions: Vec<Condition>) -> Study {
        Study {
            version: STUDY_VERSION,
            questions: vec![StudyQuestion {
                id: "q1".into(),
                question: "Should we?".into(),
                date: "2026-12-06".into(),
                lang: "en".into(),
                panel: vec!["auditor".into()],
                models: vec![],
            }],
            models: vec!["m".into()],
            repeats: 2,
            rounds: 3,
            seed: 7,
            synthesis: true,
            max_calls: 8,
            conditions,
        }
    }

    /// Answers every call with a schema example after a short wait,
    /// counting the calls it holds at once.
    struct Fake {
        now: std::sync::atomic::AtomicUsize,
        most: std::sync::atomic::AtomicUsize,
    }

    #[async_trait]
    impl ChatModel for Fake {
        fn info(&self) -> ModelInfo {
            ModelInfo {
                backend: "fake".into(),
                model: "m".into(),
                location: "memory".into(),
                capabilities: council_llm::Capabilities::in_process(),
            }
        }

        async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
            use std::sync::atomic::Ordering::SeqCst;
            let n = self.now.fetch_add(1, SeqCst) + 1;
            self.most.fetch_max(n, SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            self.now.fetch_sub(1, SeqCst);
            let filler = "We should test the price on new customers first and measure.";
            let (text, json) = match &request.schema {
                Some(s) => {
                    let v = council_llm::schema::example_for(&s.schema, filler);
                    (v.to_string(), Some(v))
                }
                None => (filler.to_string(), None),
            };
            Ok(ChatResponse {
                usage: Usage::reported(100, 20),
                text,
                json,
                finish_reason: council_llm::FinishReason::Stop,
                model: "m".into(),
                attempts: 1,
            })
        }
    }

    /// Counts the runs open at once (started and not yet finished).
    #[derive(Default)]
    struct Open {
        states: Mutex<(BTreeMap<StudyRunId, RunState>, usize, usize)>,
    }

    impl StudyProgress for Open {
        fn run(&self, r: &RunRecord) {
            let mut s = self.states.lock().unwrap();
            let was = s.0.insert(r.id.clone(), r.state);
            let open = |x: Option<RunState>| usize::from(x == Some(RunState::Running));
            s.1 = s.1 + open(Some(r.state)) - open(was);
            s.2 = s.2.max(s.1);
        }
        fn call(&self, _: &str, _: &Usage) {}
    }

    #[tokio::test]
    async fn a_study_keeps_a_bounded_number_of_runs_open_and_every_permit_busy() {
        let mut s = study(vec![Condition::Debate]);
        s.repeats = 40;
        s.rounds = 1;
        s.synthesis = false;
        s.max_calls = 3;
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(Fake {
            now: Default::default(),
            most: Default::default(),
        });
        let model: Arc<dyn ChatModel> = fake.clone();
        let model_for = move |_: &str| Ok(model.clone());
        let open = Arc::new(Open::default());
        let roster = Roster::builtin().unwrap();
        let prompts = Prompts::builtin().unwrap();
        let c = StudyContext {
            dir: dir.path(),
            roster: &roster,
            prompts: &prompts,
            max_tokens: 200,
            model_for: &model_for,
            progress: open.clone(),
        };
        let out = run_study(&s, &c).await.unwrap();
        assert_eq!(out.complete, 40, "{out:?}");
        let (states, still_open, most_open) = &*open.states.lock().unwrap();
        assert_eq!(states.len(), 40);
        assert_eq!(*still_open, 0);
        assert_eq!(runs_in_flight(3), 6);
        assert!(*most_open <= 6, "{most_open} runs open at once");
        assert!(*most_open > 3, "only {most_open} runs open: permits idle");
        let most_calls = fake.most.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(
            most_calls, 3,
            "calls in flight reach the bound, never pass it"
        );
        // A bound of a thousand calls keeps at most 2,000 runs open; a
        // bound of one, four.
        assert_eq!(runs_in_flight(1000), 2000);
        assert_eq!(runs_in_flight(u32::MAX), 2048);
        assert_eq!(runs_in_flight(1), 4);
    }

    #[test]
    fn conditions_of_one_repeat_share_its_seed_and_differ_in_folder() {
        let runs = plan(&study(vec![Condition::Debate, Condition::Vote]));
        assert_eq!(runs.len(), 4);
        let (debate, vote) = (&runs[0], &runs[1]);
        assert_eq!(debate.id.condition, Condition::Debate);
        assert_eq!(vote.id.condition, Condition::Vote);
        assert_eq!(debate.seed, vote.seed, "a pair shares its seed");
        assert_ne!(runs[0].seed, runs[2].seed, "repeats differ");
        // The full debate keeps the folder studies always had.
        assert_eq!(debate.folder, "runs/q1--m--r1");
        assert_eq!(vote.folder, "runs/q1--m--r1--vote");
    }

    #[test]
    fn a_study_written_before_conditions_reads_as_the_debate_only() {
        let mut v = serde_json::to_value(study(vec![Condition::Debate])).unwrap();
        v.as_object_mut().unwrap().remove("conditions");
        let old: Study = serde_json::from_value(v).unwrap();
        assert_eq!(old.conditions, vec![Condition::Debate]);
        let record = r#"{"question":"q1","model":"m","repeat":1,"seed":1,"folder":"runs/q1--m--r1","state":"complete","calls":3}"#;
        let r: RunRecord = serde_json::from_str(record).unwrap();
        assert_eq!(r.id.condition, Condition::Debate);
        assert!(!serde_json::to_string(&r).unwrap().contains("condition"));
        assert_eq!(Condition::parse(" No-Persona"), Ok(Condition::NoPersona));
        assert!(Condition::parse("ablate")
            .unwrap_err()
            .contains("debate, vote, single"));
    }
}
