//! Jobs: the `council` processes the server starts (a debate, a resume, a
//! follow-up, a variant, a branch), one per run at a time, under one bound
//! on model calls in flight across all of them.

use crate::ServeConfig;
use council_app::jobs::Job as JobSpec;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::AsyncBufReadExt;
use tokio::sync::{oneshot, Semaphore};

/// Lines of a job's messages kept for its page.
const LOG_LINES: usize = 40;

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub(crate) enum JobState {
    /// Waiting for its share of the bound on model calls.
    Queued,
    /// Its process is running.
    Running,
    /// Its process ended with this exit code (none: killed by a signal).
    Ended {
        /// The exit code.
        code: Option<i32>,
    },
    /// Its process could not be started.
    Failed {
        /// Why.
        error: String,
    },
}

/// A job as a page shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct JobView {
    /// What it does: "debate", "resume", "follow-up", "variant", "branch".
    pub(crate) what: String,
    /// Where it stands.
    pub(crate) state: JobState,
    /// Its last messages (the command line's progress lines).
    pub(crate) log: Vec<String>,
    /// Whether the user cancelled it.
    pub(crate) cancelled: bool,
}

impl JobView {
    /// Whether the job is still queued or running.
    pub(crate) fn active(&self) -> bool {
        matches!(self.state, JobState::Queued | JobState::Running)
    }
}

#[derive(Debug)]
struct Job {
    view: JobView,
    cancel: Option<oneshot::Sender<()>>,
}

/// Every job this server started, by run id.
#[derive(Debug)]
pub(crate) struct Jobs {
    map: Mutex<HashMap<String, Job>>,
    calls: Arc<Semaphore>,
    per_run: u32,
    exe: PathBuf,
    child_args: Vec<String>,
    sub_args: Vec<String>,
}

impl Jobs {
    /// No jobs yet; `config` gives the executable, its flags and the bounds.
    pub(crate) fn new(config: &ServeConfig) -> Jobs {
        Jobs {
            map: Mutex::new(HashMap::new()),
            calls: Arc::new(Semaphore::new(config.max_calls as usize)),
            per_run: config.calls_per_run,
            exe: config.exe.clone(),
            child_args: config.child_args.clone(),
            sub_args: config.sub_args.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The job for run `id`, if this server started one.
    pub(crate) fn view(&self, id: &str) -> Option<JobView> {
        self.lock().get(id).map(|j| j.view.clone())
    }

    /// Starts `job` as a `council` process for run `id` (its arguments
    /// from [`Job::args`], with this job's share of the bound as its
    /// `--max-concurrency`) once that share is free. Refused while another
    /// job for the same run is active.
    pub(crate) fn start(self: &Arc<Self>, id: &str, job: JobSpec) -> Result<(), String> {
        let what = job.what();
        let args = job.args();
        let (tx, rx) = oneshot::channel();
        {
            let mut map = self.lock();
            if map.get(id).is_some_and(|j| j.view.active()) {
                return Err(format!(
                    "run {id} already has a job in progress; wait for it or cancel it first"
                ));
            }
            map.insert(
                id.to_string(),
                Job {
                    view: JobView {
                        what: what.to_string(),
                        state: JobState::Queued,
                        log: Vec::new(),
                        cancelled: false,
                    },
                    cancel: Some(tx),
                },
            );
        }
        let jobs = self.clone();
        let id = id.to_string();
        tokio::spawn(async move { jobs.drive(id, args, rx).await });
        Ok(())
    }

    /// The runs at or inside run `id` (its variants and branches) whose job
    /// is queued or running now.
    pub(crate) fn active_within(&self, id: &str) -> Vec<String> {
        let inside = format!("{id}/");
        self.lock()
            .iter()
            .filter(|(k, j)| (*k == id || k.starts_with(&inside)) && j.view.active())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The number of model calls a job may have in flight (its
    /// `--max-concurrency`).
    pub(crate) fn per_run(&self) -> u16 {
        u16::try_from(self.per_run).unwrap_or(u16::MAX)
    }

    fn set(&self, id: &str, f: impl FnOnce(&mut JobView)) {
        if let Some(j) = self.lock().get_mut(id) {
            f(&mut j.view);
        }
    }

    async fn drive(
        self: Arc<Self>,
        id: String,
        args: Vec<String>,
        mut cancel: oneshot::Receiver<()>,
    ) {
        let permit = tokio::select! {
            p = self.calls.clone().acquire_many_owned(self.per_run) => p,
            _ = &mut cancel => {
                self.set(&id, |v| v.state = JobState::Ended { code: None });
                return;
            }
        };
        let Ok(_permit) = permit else { return };
        let mut cmd = tokio::process::Command::new(&self.exe);
        let (sub, rest) = args
            .split_first()
            .map_or((None, &args[..]), |(s, r)| (Some(s), r));
        cmd.args(&self.child_args)
            .args(sub)
            .args(&self.sub_args)
            .args(rest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let error = format!("cannot start {}: {e}", self.exe.display());
                self.set(&id, |v| v.state = JobState::Failed { error });
                return;
            }
        };
        self.set(&id, |v| v.state = JobState::Running);
        let reader = child.stderr.take().map(|stderr| {
            let jobs = self.clone();
            let id = id.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                let mut kept: VecDeque<String> = VecDeque::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if kept.len() == LOG_LINES {
                        kept.pop_front();
                    }
                    kept.push_back(line);
                    let now: Vec<String> = kept.iter().cloned().collect();
                    jobs.set(&id, |v| v.log = now);
                }
            })
        });
        let status = tokio::select! {
            s = child.wait() => s,
            _ = &mut cancel => {
                self.set(&id, |v| v.cancelled = true);
                interrupt(&mut child).await
            }
        };
        if let Some(r) = reader {
            let _ = r.await;
        }
        let code = status.ok().and_then(|s| s.code());
        self.set(&id, |v| v.state = JobState::Ended { code });
    }

    /// Cancels run `id`'s job: a queued one never starts; a running one is
    /// interrupted as Ctrl-C would (every finished answer stays on disk).
    pub(crate) fn cancel(&self, id: &str) -> bool {
        let mut map = self.lock();
        match map.get_mut(id) {
            Some(j) if j.view.active() => j.cancel.take().is_some_and(|tx| tx.send(()).is_ok()),
            _ => false,
        }
    }
}

impl Jobs {
    /// Cancels every active job and waits until none is running (each is
    /// given ten seconds to save before it is killed); how many there were.
    pub(crate) async fn stop_all(&self) -> usize {
        let ids: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, j)| j.view.active())
            .map(|(id, _)| id.clone())
            .collect();
        let stopped = ids.iter().filter(|id| self.cancel(id)).count();
        for _ in 0..240 {
            if !self.lock().values().any(|j| j.view.active()) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        stopped
    }
}

/// Stops a job's process as Ctrl-C would (SIGINT, so it says how to resume),
/// and kills it if it has not ended within ten seconds.
async fn interrupt(child: &mut tokio::process::Child) -> std::io::Result<std::process::ExitStatus> {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()
            .await;
    }
    match tokio::time::timeout(std::time::Duration::from_secs(10), child.wait()).await {
        Ok(s) => s,
        Err(_) => {
            let _ = child.start_kill();
            child.wait().await
        }
    }
}
