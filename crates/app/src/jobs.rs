//! Jobs: a typed description of every action that starts work on runs (a
//! debate, a resume, a follow-up, a variant, a branch, a study), and the
//! one function that turns it into the arguments of a `council` process.
//! The web app starts every job as such a process; the command line's own
//! arguments describe the same jobs, and its tests parse every job's
//! arguments back through its real clap definition, so a renamed flag
//! fails a test instead of a page.

use council_core::variant::{Audience, Length};
use std::path::PathBuf;

/// A new debate (`council ask`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AskJob {
    /// The question.
    pub question: String,
    /// The run folder (default: a new one under `transcripts/`).
    pub out: Option<PathBuf>,
    /// Rounds to play (default: 5).
    pub rounds: Option<u32>,
    /// The run date, `YYYY-MM-DD` (default: today).
    pub date: Option<String>,
    /// The panel as persona ids (empty: the board is cast).
    pub panel: Vec<String>,
    /// The debate's language (default: the question's).
    pub lang: Option<String>,
    /// The base seed (default: random).
    pub seed: Option<u64>,
    /// Another configured model than the default.
    pub model: Option<String>,
    /// Research library folders or files.
    pub library: Vec<PathBuf>,
    /// Model calls in flight at once.
    pub max_concurrency: Option<u16>,
}

/// Continuing a stopped debate where it stopped (`council ask --resume`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeJob {
    /// The run folder.
    pub run: PathBuf,
    /// Model calls in flight at once.
    pub max_concurrency: Option<u16>,
}

/// One more question to the same panel (`council followup`), or the last
/// one finished (`--resume`, when `question` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowupJob {
    /// The run folder.
    pub run: PathBuf,
    /// The follow-up question; `None` finishes the last one.
    pub question: Option<String>,
    /// Model calls in flight at once.
    pub max_concurrency: Option<u16>,
}

/// The report re-worded for another reader (`council variant`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VariantJob {
    /// The source run folder.
    pub run: PathBuf,
    /// Who reads it.
    pub audience: Audience,
    /// How much it shows.
    pub length: Length,
    /// The synthesis's language (default: the debate's).
    pub lang: Option<String>,
    /// The headings' language only.
    pub headings: Option<String>,
    /// The tone, in words.
    pub tone: Option<String>,
    /// What to stress.
    pub emphasis: Option<String>,
    /// Its folder name under `RUN/variants/`.
    pub name: Option<String>,
    /// Model calls in flight at once.
    pub max_concurrency: Option<u16>,
}

/// The debate replayed from a round with changes (`council branch`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BranchJob {
    /// The source run folder.
    pub run: PathBuf,
    /// The first round played again.
    pub from_round: u32,
    /// Personas replaced: (old, new).
    pub swap: Vec<(String, String)>,
    /// A whole new panel (empty: the source's, with `swap` applied).
    pub panel: Vec<String>,
    /// Personas that speak through another model: (persona id, model).
    pub persona_model: Vec<(String, String)>,
    /// A new question.
    pub question: Option<String>,
    /// The branch's run folder (default: under `RUN/branches/`).
    pub out: Option<PathBuf>,
    /// Model calls in flight at once.
    pub max_concurrency: Option<u16>,
}

/// A study (`council batch`): every question × model × repeat as a run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchJob {
    /// The question file (JSONL or CSV).
    pub file: PathBuf,
    /// The study folder.
    pub out: PathBuf,
    /// The models (empty: the configured one).
    pub models: Vec<String>,
    /// Repeats of each question × model.
    pub repeat: Option<u32>,
    /// The panel for questions that name none.
    pub panel: Vec<String>,
    /// Rounds per run.
    pub rounds: Option<u32>,
    /// Model calls in flight across the study.
    pub max_calls: Option<u16>,
    /// The study's base seed.
    pub seed: Option<u64>,
}

/// Every action a page or a command starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// A new debate.
    Ask(AskJob),
    /// A stopped debate continued.
    Resume(ResumeJob),
    /// A follow-up question (or the last one finished).
    Followup(FollowupJob),
    /// A variant of the report.
    Variant(VariantJob),
    /// A branch of the debate.
    Branch(BranchJob),
    /// A study.
    Batch(BatchJob),
}

/// Pushes `--flag value` when `value` is given.
fn opt(out: &mut Vec<String>, flag: &str, value: Option<impl ToString>) {
    if let Some(v) = value {
        out.push(flag.to_string());
        out.push(v.to_string());
    }
}

/// Pushes `--flag a,b,c` when `values` is not empty.
fn list(out: &mut Vec<String>, flag: &str, values: &[String]) {
    if !values.is_empty() {
        out.push(flag.to_string());
        out.push(values.join(","));
    }
}

fn path(p: &std::path::Path) -> String {
    p.display().to_string()
}

impl Job {
    /// What the job does, in a word or two ("debate", "follow-up"…).
    pub fn what(&self) -> &'static str {
        match self {
            Job::Ask(_) => "debate",
            Job::Resume(_) => "resume",
            Job::Followup(_) => "follow-up",
            Job::Variant(_) => "variant",
            Job::Branch(_) => "branch",
            Job::Batch(_) => "study",
        }
    }

    /// The `council` arguments that run the job, from the subcommand on
    /// (global backend flags go before it; a free-text value that may
    /// begin with a dash comes last, after `--`).
    pub fn args(&self) -> Vec<String> {
        let mut a: Vec<String> = Vec::new();
        match self {
            Job::Ask(j) => {
                a.push("ask".into());
                opt(&mut a, "--out", j.out.as_deref().map(path));
                opt(&mut a, "--rounds", j.rounds);
                opt(&mut a, "--date", j.date.as_ref());
                list(&mut a, "--panel", &j.panel);
                opt(&mut a, "--lang", j.lang.as_ref());
                opt(&mut a, "--seed", j.seed);
                opt(&mut a, "--model", j.model.as_ref());
                for l in &j.library {
                    a.extend(["--library".into(), path(l)]);
                }
                opt(&mut a, "--max-concurrency", j.max_concurrency);
                a.extend(["--".into(), j.question.clone()]);
            }
            Job::Resume(j) => {
                a.extend(["ask".into(), "--resume".into(), path(&j.run)]);
                opt(&mut a, "--max-concurrency", j.max_concurrency);
            }
            Job::Followup(j) => {
                a.extend(["followup".into(), path(&j.run)]);
                opt(&mut a, "--max-concurrency", j.max_concurrency);
                match &j.question {
                    Some(q) => a.extend(["--".into(), q.clone()]),
                    None => a.push("--resume".into()),
                }
            }
            Job::Variant(j) => {
                a.extend(["variant".into(), path(&j.run)]);
                a.extend(["--audience".into(), j.audience.as_str().into()]);
                a.extend(["--length".into(), j.length.as_str().into()]);
                opt(&mut a, "--lang", j.lang.as_ref());
                opt(&mut a, "--headings", j.headings.as_ref());
                opt(&mut a, "--name", j.name.as_ref());
                opt(&mut a, "--max-concurrency", j.max_concurrency);
                // Free text last, each as one `--flag=value` word.
                if let Some(t) = &j.tone {
                    a.push(format!("--tone={t}"));
                }
                if let Some(e) = &j.emphasis {
                    a.push(format!("--emphasis={e}"));
                }
            }
            Job::Branch(j) => {
                a.extend(["branch".into(), path(&j.run)]);
                a.extend(["--from-round".into(), j.from_round.to_string()]);
                for (old, new) in &j.swap {
                    a.extend(["--swap".into(), format!("{old}={new}")]);
                }
                list(&mut a, "--panel", &j.panel);
                // A global flag, taken after the subcommand too.
                for (persona, model) in &j.persona_model {
                    a.extend(["--persona-model".into(), format!("{persona}={model}")]);
                }
                opt(&mut a, "--out", j.out.as_deref().map(path));
                opt(&mut a, "--max-concurrency", j.max_concurrency);
                if let Some(q) = &j.question {
                    a.push(format!("--question={q}"));
                }
            }
            Job::Batch(j) => {
                a.extend(["batch".into(), path(&j.file)]);
                a.extend(["--out".into(), path(&j.out)]);
                list(&mut a, "--models", &j.models);
                opt(&mut a, "--repeat", j.repeat);
                list(&mut a, "--panel", &j.panel);
                opt(&mut a, "--rounds", j.rounds);
                opt(&mut a, "--max-calls", j.max_calls);
                opt(&mut a, "--seed", j.seed);
            }
        }
        a
    }
}

/// The job that continues the stopped run in `run`: its unfinished
/// follow-up when it has one (the debate itself is done), else the debate
/// from where it stopped.
pub fn resume_job(run: &std::path::Path, max_concurrency: Option<u16>) -> Job {
    let unfinished_followup = crate::status::folded(run)
        .as_ref()
        .is_some_and(|t| t.unfinished_followup().is_some());
    if unfinished_followup {
        Job::Followup(FollowupJob {
            run: run.to_path_buf(),
            question: None,
            max_concurrency,
        })
    } else {
        Job::Resume(ResumeJob {
            run: run.to_path_buf(),
            max_concurrency,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_that_begins_with_a_dash_stays_one_value_after_the_flags() {
        let job = Job::Ask(AskJob {
            question: "--rounds 1 is what I want?".into(),
            rounds: Some(3),
            ..AskJob::default()
        });
        let args = job.args();
        assert_eq!(
            args,
            ["ask", "--rounds", "3", "--", "--rounds 1 is what I want?"]
        );
        let branch = Job::Branch(BranchJob {
            run: "r".into(),
            from_round: 2,
            question: Some("-5% or +5%?".into()),
            ..BranchJob::default()
        });
        assert_eq!(
            branch.args().last().map(String::as_str),
            Some("--question=-5% or +5%?")
        );
    }
}
