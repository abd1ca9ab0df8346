//! Finding runs: a run folder is one holding `events.jsonl` or
//! `transcript.json`; a run's variants (`RUN/variants/*`) and branches
//! (`RUN/branches/*`) are runs of their own, found inside it. Each run has a
//! kind (from its header's origin, not from where its folder sits), the run
//! it was derived from, and, inside a study, the question, model, repeat
//! and seed it ran for (from the study's `runs.jsonl`). Reads only.

use crate::InputError;
use council_core::study::{Condition, RunRecord};
pub use council_core::variant::RunKind;
use council_core::{Event, RunHeader};
use council_engine::store::{EVENTS_FILE, TRANSCRIPT_FILE};
use council_engine::study::{RUNS_DIR, STUDY_FILE};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// A run of a study: which question, model and repeat it ran for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StudyRun {
    /// The question's id in the study file (`q1`…).
    pub question_id: String,
    /// The model it was asked with.
    pub model: String,
    /// The repeat, from 1.
    pub repeat: u32,
    /// Its seed.
    pub seed: u64,
    /// The condition it was played in (left out for the full debate).
    #[serde(skip_serializing_if = "Condition::is_debate")]
    pub condition: Condition,
    /// The study's folder (absolute, as found).
    #[serde(skip)]
    pub study: PathBuf,
}

/// A run found under what the user gave.
#[derive(Debug, Clone)]
pub struct FoundRun {
    /// How tables name it: its folder relative to the folder given (a
    /// study's runs: relative to its `runs/`; a run given directly: its
    /// folder's name).
    pub label: String,
    /// Its folder, or its transcript file.
    pub path: PathBuf,
    /// Named on the command line (unreadable: an error), or found inside a
    /// folder (unreadable: skipped with a warning).
    pub named: bool,
    /// Inside a study: the question, model, repeat and seed it ran for.
    pub study: Option<StudyRun>,
}

/// Whether `dir` is a run folder: it holds an event log or a transcript.
pub fn is_run(dir: &Path) -> bool {
    dir.join(EVENTS_FILE).is_file() || dir.join(TRANSCRIPT_FILE).is_file()
}

/// Whether `dir` is a study folder (`council batch` wrote it).
pub fn is_study(dir: &Path) -> bool {
    dir.join(STUDY_FILE).is_file()
}

/// The run's header, the first line of its event log (`None` while it has
/// no complete first line).
pub fn header(dir: &Path) -> Option<RunHeader> {
    let file = std::fs::File::open(dir.join(EVENTS_FILE)).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file).read_line(&mut line).ok()?;
    if !line.ends_with('\n') {
        return None;
    }
    match serde_json::from_str::<Event>(&line).ok()? {
        Event::Started(h) => Some(h),
        _ => None,
    }
}

/// Every run folder under `dir` at any depth (itself included), sorted;
/// symbolic links and hidden folders are not followed.
pub fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    walk_into(dir, &mut out, 0)?;
    Ok(out)
}

/// The folders among `entries` (hidden ones left out), sorted.
fn subfolders(entries: std::fs::ReadDir) -> Vec<PathBuf> {
    let mut subs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    subs.sort();
    subs
}

/// How deep [`walk`] looks: a study's run's branch's variant is depth 5.
const MAX_DEPTH: usize = 12;

fn walk_into(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> std::io::Result<()> {
    if is_run(dir) {
        out.push(dir.to_path_buf());
    }
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    for s in subfolders(std::fs::read_dir(dir)?) {
        // A folder that cannot be read inside the tree is skipped, not fatal.
        let _ = walk_into(&s, out, depth + 1);
    }
    Ok(())
}

fn label_of(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() {
        path.display().to_string()
    } else {
        s
    }
}

/// The runs of the study in `study` by folder (relative to the study):
/// the last `runs.jsonl` line of each run wins. Empty when unreadable.
fn study_runs(study: &Path) -> HashMap<PathBuf, StudyRun> {
    let Ok(records) = council_engine::study::read_records(study) else {
        return HashMap::new();
    };
    records
        .into_values()
        .map(|r: RunRecord| {
            (
                study.join(&r.folder),
                StudyRun {
                    question_id: r.id.question,
                    model: r.id.model,
                    repeat: r.id.repeat,
                    seed: r.seed,
                    condition: r.id.condition,
                    study: study.to_path_buf(),
                },
            )
        })
        .collect()
}

/// The study `run` belongs to, if any: the nearest folder above it holding
/// `study.json`, with what its `runs.jsonl` says of the run (a variant or
/// branch inside a study run is not one of the study's runs).
fn study_of(
    run: &Path,
    cache: &mut HashMap<PathBuf, HashMap<PathBuf, StudyRun>>,
) -> Option<StudyRun> {
    let abs = run.canonicalize().ok()?;
    let study = abs.ancestors().skip(1).find(|d| is_study(d))?.to_path_buf();
    let runs = cache.entry(study.clone()).or_insert_with(|| {
        let found = study_runs(&study);
        found
            .into_iter()
            .filter_map(|(k, v)| Some((k.canonicalize().ok()?, v)))
            .collect()
    });
    runs.get(&abs).cloned()
}

/// The runs under `paths`: a run folder (with its variants and branches),
/// a transcript file, or any folder holding runs at any depth (a study,
/// `transcripts/`). Each run once, however often it is reached.
pub fn find(paths: &[PathBuf]) -> Result<Vec<FoundRun>, InputError> {
    let mut out: Vec<FoundRun> = Vec::new();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut labels: BTreeSet<String> = BTreeSet::new();
    let mut studies = HashMap::new();
    for p in paths {
        if !p.exists() {
            return Err(InputError(format!(
                "nothing at {}: give run folders (holding {EVENTS_FILE} or {TRANSCRIPT_FILE}), transcript files, or a folder of runs such as a study",
                p.display()
            )));
        }
        let mut here: Vec<(PathBuf, bool)> = Vec::new();
        let base = if p.is_file() {
            here.push((p.clone(), true));
            p.parent()
                .and_then(Path::parent)
                .unwrap_or(Path::new(""))
                .to_path_buf()
        } else {
            let dirs = walk(p)
                .map_err(|e| InputError(format!("cannot read the folder {}: {e}", p.display())))?;
            if dirs.is_empty() {
                return Err(InputError(format!(
                    "no runs under {}: a run folder holds {EVENTS_FILE} or {TRANSCRIPT_FILE}, as `council ask` and `council batch` write them",
                    p.display()
                )));
            }
            here.extend(dirs.into_iter().map(|d| {
                let named = d == *p;
                (d, named)
            }));
            if is_run(p) {
                p.parent().unwrap_or(Path::new("")).to_path_buf()
            } else if is_study(p) && p.join(RUNS_DIR).is_dir() {
                // A study's runs are named by their folders under `runs/`.
                p.join(RUNS_DIR)
            } else {
                p.clone()
            }
        };
        for (path, named) in here {
            let key = path.canonicalize().unwrap_or_else(|_| path.clone());
            if !seen.insert(key) {
                continue;
            }
            let mut label = label_of(&path, &base);
            if !labels.insert(label.clone()) {
                label = path.display().to_string();
                labels.insert(label.clone());
            }
            let folder = if path.is_file() {
                path.parent().map(Path::to_path_buf)
            } else {
                Some(path.clone())
            };
            let study = folder.and_then(|f| study_of(&f, &mut studies));
            out.push(FoundRun {
                label,
                path,
                named,
                study,
            });
        }
    }
    Ok(out)
}

/// A run as a listing shows it.
#[derive(Debug, Clone)]
pub struct ListedRun {
    /// Its folder relative to the root listed, with `/` separators.
    pub id: String,
    /// Its folder.
    pub dir: PathBuf,
    /// Its header.
    pub header: RunHeader,
    /// What it is.
    pub kind: RunKind,
    /// Inside a study: what it ran for.
    pub study: Option<StudyRun>,
}

/// A study folder in a listing.
#[derive(Debug, Clone)]
pub struct ListedStudy {
    /// Its folder relative to the root listed.
    pub id: String,
    /// The runs it planned and has a folder for.
    pub runs: usize,
}

/// Every run (with a header) and every study under `root`, in folder order.
/// One walk of the tree finds both; each run's header line is read, and
/// only a run inside a study is looked up in the study's records.
pub fn list(root: &Path) -> (Vec<ListedRun>, Vec<ListedStudy>) {
    let mut dirs = Vec::new();
    let mut study_dirs = Vec::new();
    walk_listing(root, &mut dirs, &mut study_dirs, 0);
    let mut runs = Vec::new();
    let mut cache = HashMap::new();
    for dir in dirs {
        if dir == root {
            continue;
        }
        let Some(header) = header(&dir) else { continue };
        let in_study = study_dirs.iter().any(|s| dir.starts_with(s));
        runs.push(ListedRun {
            id: label_of(&dir, root),
            kind: RunKind::of(header.origin.as_ref()),
            study: if in_study {
                study_of(&dir, &mut cache)
            } else {
                None
            },
            header,
            dir,
        });
    }
    let studies = study_dirs
        .into_iter()
        .map(|dir| ListedStudy {
            id: label_of(&dir, root),
            runs: std::fs::read_dir(dir.join(RUNS_DIR)).map_or(0, |d| d.count()),
        })
        .collect();
    (runs, studies)
}

/// [`walk`] that also gathers the study folders below `dir` (sorted).
fn walk_listing(dir: &Path, runs: &mut Vec<PathBuf>, studies: &mut Vec<PathBuf>, depth: usize) {
    if is_run(dir) {
        runs.push(dir.to_path_buf());
    }
    if depth > 0 && is_study(dir) {
        studies.push(dir.to_path_buf());
    }
    if depth >= MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for s in subfolders(entries) {
        walk_listing(&s, runs, studies, depth + 1);
    }
}

/// The runs a listing page shows at most.
pub const PAGE_SIZE: usize = 50;

/// What a listing of runs is narrowed to (empty fields: everything).
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Words the question holds (any case).
    pub q: String,
    /// A prefix of the run's date: `2026`, `2026-11` or `2026-11-28`.
    pub date: String,
}

impl RunFilter {
    /// Whether `header` passes the filter.
    pub fn matches(&self, header: &RunHeader) -> bool {
        let q = self.q.trim().to_lowercase();
        let date = self.date.trim();
        (q.is_empty() || header.question.to_lowercase().contains(&q))
            && (date.is_empty() || header.date.starts_with(date))
    }
}

/// One page of a listing of runs, newest first.
#[derive(Debug, Clone)]
pub struct RunPage {
    /// The runs on this page.
    pub runs: Vec<ListedRun>,
    /// This page's number, from 1 (a number past the last is the last).
    pub page: usize,
    /// How many pages the matching runs fill (at least 1).
    pub pages: usize,
    /// How many runs match the filter.
    pub matched: usize,
    /// How many runs there are under the root in all.
    pub total: usize,
    /// Every study under the root.
    pub studies: Vec<ListedStudy>,
}

/// The order runs are listed in: by when each began (its header's start
/// time, else its date), newest first; ties by id.
fn newest_first(a: &ListedRun, b: &ListedRun) -> std::cmp::Ordering {
    let key = |r: &ListedRun| {
        r.header
            .started
            .clone()
            .unwrap_or_else(|| r.header.date.clone())
    };
    key(b).cmp(&key(a)).then_with(|| a.id.cmp(&b.id))
}

/// Page `page` (from 1) of the runs under `root` that pass `filter` and
/// `keep`, newest first, `per_page` a page. Only each run's header line is
/// read, and `keep` (a check that may cost more, such as a run's status)
/// is asked only of runs that pass `filter`.
pub fn page(
    root: &Path,
    filter: &RunFilter,
    page: usize,
    per_page: usize,
    mut keep: impl FnMut(&ListedRun) -> bool,
) -> RunPage {
    let (mut runs, studies) = list(root);
    let total = runs.len();
    runs.retain(|r| filter.matches(&r.header));
    runs.sort_by(newest_first);
    runs.retain(|r| keep(r));
    let per_page = per_page.max(1);
    let matched = runs.len();
    let pages = matched.div_ceil(per_page).max(1);
    let page = page.clamp(1, pages);
    let runs = runs
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    RunPage {
        runs,
        page,
        pages,
        matched,
        total,
        studies,
    }
}

/// When the run began, as a listing shows it: `2026-12-06 20:12 UTC`
/// (a run from before headers kept the time: its date alone).
pub fn began(header: &RunHeader) -> String {
    let time = header.started.as_deref().and_then(|s| {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&chrono::Utc))
    });
    match time {
        Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => header.date.clone(),
    }
}

/// The variants and branches kept inside the run folder `dir`
/// (`variants/*`, `branches/*` holding a run), sorted, with their kind.
pub fn derived(dir: &Path) -> Vec<(RunKind, PathBuf)> {
    let mut out = Vec::new();
    for (sub, kind) in [
        ("variants", RunKind::Variant),
        ("branches", RunKind::Branch),
    ] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join(EVENTS_FILE).is_file())
            .collect();
        found.sort();
        out.extend(found.into_iter().map(|p| (kind, p)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use council_core::variant::{Origin, OriginKind};

    fn write_header(dir: &Path, origin: Option<Origin>) {
        std::fs::create_dir_all(dir).unwrap();
        let h = RunHeader {
            version: council_core::TRANSCRIPT_VERSION,
            question: "Q?".into(),
            date: "2026-12-01".into(),
            lang: "en".into(),
            seed: 1,
            rounds: 2,
            panel: Vec::new(),
            notes: Vec::new(),
            sources: Vec::new(),
            library: Vec::new(),
            origin,
            variant: None,
            synthesis: true,
            started: None,
            condition: Default::default(),
        };
        let line = serde_json::to_string(&Event::Started(h)).unwrap() + "\n";
        std::fs::write(dir.join(EVENTS_FILE), line).unwrap();
    }

    fn origin(kind: OriginKind) -> Origin {
        Origin {
            kind,
            source: "..".into(),
            source_question: "Q?".into(),
            from_round: (kind == OriginKind::Branch).then_some(2),
            changes: Vec::new(),
            source_panel: Vec::new(),
            source_forecasts: Vec::new(),
        }
    }

    #[test]
    fn a_runs_kind_comes_from_its_header_not_its_folder() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("run");
        write_header(&run, None);
        write_header(
            &run.join("variants/team"),
            Some(origin(OriginKind::Variant)),
        );
        write_header(&run.join("branches/b1"), Some(origin(OriginKind::Branch)));
        // A branch written with --out elsewhere is still a branch.
        write_header(
            &root.path().join("what-if"),
            Some(origin(OriginKind::Branch)),
        );
        let (runs, studies) = list(root.path());
        let kinds: Vec<(&str, RunKind)> = runs.iter().map(|r| (r.id.as_str(), r.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("run", RunKind::Debate),
                ("run/branches/b1", RunKind::Branch),
                ("run/variants/team", RunKind::Variant),
                ("what-if", RunKind::Branch),
            ]
        );
        assert!(studies.is_empty());
        assert_eq!(
            derived(&run)
                .into_iter()
                .map(|(k, p)| (k, p.file_name().unwrap().to_string_lossy().into_owned()))
                .collect::<Vec<_>>(),
            vec![
                (RunKind::Variant, "team".to_string()),
                (RunKind::Branch, "b1".to_string())
            ]
        );
    }

    #[test]
    fn a_page_lists_runs_newest_first_by_start_time_and_asks_keep_only_of_matches() {
        let root = tempfile::tempdir().unwrap();
        // Folder names run against start times: "a" began last.
        for (name, question, started) in [
            ("a", "Raise prices?", Some("2026-12-02T09:30:00Z")),
            ("b", "Open Berlin?", Some("2026-12-02T08:00:00Z")),
            ("c", "Raise wages?", Some("2026-12-01T23:59:00Z")),
            ("d", "Raise funds?", None),
        ] {
            write_header(&root.path().join(name), None);
            let file = root.path().join(name).join(EVENTS_FILE);
            let mut h = header(&root.path().join(name)).unwrap();
            h.question = question.into();
            h.started = started.map(str::to_string);
            std::fs::write(
                &file,
                serde_json::to_string(&Event::Started(h)).unwrap() + "\n",
            )
            .unwrap();
        }
        let ids = |p: &RunPage| p.runs.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let all = page(root.path(), &RunFilter::default(), 1, 2, |_| true);
        assert_eq!(ids(&all), ["a", "b"]);
        assert_eq!((all.page, all.pages, all.matched, all.total), (1, 2, 4, 4));
        let last = page(root.path(), &RunFilter::default(), 9, 2, |_| true);
        assert_eq!(
            ids(&last),
            ["c", "d"],
            "a page past the last is the last; untimed runs by date"
        );
        assert_eq!(began(&last.runs[0].header), "2026-12-01 23:59 UTC");
        assert_eq!(began(&last.runs[1].header), "2026-12-01");
        let mut asked = Vec::new();
        let raise = RunFilter {
            q: "RAISE".into(),
            date: String::new(),
        };
        let p = page(root.path(), &raise, 1, 50, |r| {
            asked.push(r.id.clone());
            r.id != "c"
        });
        assert_eq!(ids(&p), ["a", "d"]);
        asked.sort();
        assert_eq!(
            asked,
            ["a", "c", "d"],
            "keep is asked only of runs the filter passes"
        );
        assert_eq!((p.matched, p.total), (2, 4));
    }

    #[test]
    fn a_study_run_knows_its_question_model_repeat_and_seed() {
        let root = tempfile::tempdir().unwrap();
        let study = root.path().join("s");
        std::fs::create_dir_all(study.join(RUNS_DIR)).unwrap();
        std::fs::write(study.join(STUDY_FILE), "{}").unwrap();
        let rec = RunRecord {
            id: council_core::study::StudyRunId {
                question: "q7".into(),
                model: "m".into(),
                repeat: 2,
                condition: Default::default(),
            },
            seed: 99,
            folder: "runs/q7--m--r2".into(),
            state: council_core::study::RunState::Complete,
            calls: 1,
            error: None,
        };
        std::fs::write(
            study.join(council_engine::study::RUNS_FILE),
            serde_json::to_string(&rec).unwrap() + "\n",
        )
        .unwrap();
        let run = study.join("runs/q7--m--r2");
        write_header(&run, None);
        write_header(&run.join("variants/v"), Some(origin(OriginKind::Variant)));
        let found = find(std::slice::from_ref(&study)).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].label, "q7--m--r2");
        assert_eq!(
            found[0].study,
            Some(StudyRun {
                question_id: "q7".into(),
                model: "m".into(),
                repeat: 2,
                seed: 99,
                condition: Condition::Debate,
                study: study.canonicalize().unwrap(),
            })
        );
        assert_eq!(found[1].label, "q7--m--r2/variants/v");
        assert_eq!(
            found[1].study, None,
            "a variant is not one of the study's runs"
        );
        let (_, studies) = list(root.path());
        assert_eq!(studies.len(), 1);
        assert_eq!(studies[0].id, "s");
        assert_eq!(studies[0].runs, 1);
    }
}
