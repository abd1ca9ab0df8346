//! A run folder on disk: `events.jsonl`, appended and synced as each turn
//! arrives, and `transcript.json`, written at the end.
//!
//! Every file in a run folder parses at every moment, even while a run is
//! being killed (`council_fs` holds both rules): `transcript.json` (and the
//! CLI's reports) are replaced atomically, and every complete,
//! newline-terminated line of `events.jsonl` is one whole event. Only its
//! last line can be unfinished, cut short by a kill: readers leave it out,
//! and [`RunStore::open`] cuts it off before appending.

use crate::EngineError;
use council_core::{Event, Transcript, OLDEST_TRANSCRIPT_VERSION, TRANSCRIPT_VERSION};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The event log's file name in a run folder.
pub const EVENTS_FILE: &str = "events.jsonl";
/// The transcript's file name in a run folder.
pub const TRANSCRIPT_FILE: &str = "transcript.json";

/// An open run folder.
#[derive(Debug)]
pub struct RunStore {
    dir: PathBuf,
    events: Vec<Event>,
    file: File,
}

impl RunStore {
    /// Creates a new run folder; fails if it already holds a run.
    pub fn create(dir: &Path) -> Result<RunStore, EngineError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            EngineError::io(format!("cannot create run folder {}", dir.display()), e)
        })?;
        let path = dir.join(EVENTS_FILE);
        let file = match OpenOptions::new().create_new(true).append(true).open(&path) {
            Ok(file) => file,
            // A log without one complete line is a run killed before its
            // header reached disk: nothing to resume, so it starts afresh.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && !started(dir) => {
                tracing::warn!("{}: starting over a run that never started", path.display());
                council_fs::truncate(&path, 0)
                    .and_then(|()| OpenOptions::new().append(true).open(&path))
                    .map_err(|e| EngineError::io(format!("cannot reset {}", path.display()), e))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(EngineError::Store(format!(
                    "{} already holds a run; continue it with --resume {} or choose another --out",
                    dir.display(),
                    dir.display()
                )));
            }
            Err(e) => {
                return Err(EngineError::io(
                    format!("cannot create {}", path.display()),
                    e,
                ))
            }
        };
        lock(&file, dir)?;
        Ok(RunStore {
            dir: dir.to_path_buf(),
            events: Vec::new(),
            file,
        })
    }

    /// Opens an existing run to continue it. A last line cut short by a
    /// crash is dropped (and truncated from the file) so appends stay valid,
    /// and temporary files a killed writer left are removed: resuming owns
    /// the folder.
    pub fn open(dir: &Path) -> Result<RunStore, EngineError> {
        let path = dir.join(EVENTS_FILE);
        let file = match OpenOptions::new().append(true).open(&path) {
            Ok(file) => file,
            // No log: read_events says why in the user's terms.
            Err(e) => {
                read_events(dir)?;
                return Err(EngineError::io(
                    format!("cannot open {}", path.display()),
                    e,
                ));
            }
        };
        // Owned before anything changes: a live writer keeps its folder.
        lock(&file, dir)?;
        let log = read_events(dir)?;
        if log.complete_len < log.file_len {
            tracing::warn!("{}: dropping the unfinished last line", path.display());
            council_fs::truncate(&path, log.complete_len)
                .map_err(|e| EngineError::io(format!("cannot truncate {}", path.display()), e))?;
        }
        match council_fs::remove_temporaries(dir) {
            Ok(0) => {}
            Ok(n) => tracing::info!("{}: removed {n} unfinished temporary files", dir.display()),
            Err(e) => tracing::warn!("{}: cannot remove temporary files: {e}", dir.display()),
        }
        Ok(RunStore {
            dir: dir.to_path_buf(),
            events: log.events,
            file,
        })
    }

    /// Appends one event and syncs it to disk before returning.
    pub fn append(&mut self, event: Event) -> Result<(), EngineError> {
        let mut line = serde_json::to_string(&event)
            .map_err(|e| EngineError::Store(format!("cannot encode an event: {e}")))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| {
                EngineError::io(
                    format!("cannot write to {}", self.dir.join(EVENTS_FILE).display()),
                    e,
                )
            })?;
        self.events.push(event);
        Ok(())
    }

    /// Every event so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The transcript as the events stand.
    pub fn transcript(&self) -> Result<Transcript, EngineError> {
        Transcript::from_events(&self.events).map_err(|e| {
            EngineError::Store(format!("{}: {e}", self.dir.join(EVENTS_FILE).display()))
        })
    }

    /// Writes `transcript.json` (atomically) and returns its path.
    pub fn write_transcript(&self) -> Result<PathBuf, EngineError> {
        let t = self.transcript()?;
        let path = self.dir.join(TRANSCRIPT_FILE);
        let text = serde_json::to_string_pretty(&t)
            .map_err(|e| EngineError::Store(format!("cannot encode the transcript: {e}")))?;
        council_fs::write_atomic(&path, text)
            .map_err(|e| EngineError::io(format!("cannot write {}", path.display()), e))?;
        Ok(path)
    }
}

/// Takes the writer's lock on a run's event log: an exclusive advisory lock
/// (`flock`) that the OS lets go when the process ends, however it ends, so
/// a reader can tell a live run from a stopped one ([`is_live`]). A reader's
/// brief check may hold it for an instant, so a few tries are made.
fn lock(file: &File, dir: &Path) -> Result<(), EngineError> {
    for _ in 0..20 {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                // A file system without locks still runs, unguarded.
                tracing::warn!("{}: cannot lock the event log: {e}", dir.display());
                return Ok(());
            }
        }
    }
    Err(EngineError::Store(format!(
        "{} is being written by another Council process (a run, follow-up or resume in progress); wait for it to finish or stop it first",
        dir.display()
    )))
}

/// Whether another process is writing the run in `dir` now (it holds the
/// event log's lock). Never writes and never waits.
pub fn is_live(dir: &Path) -> bool {
    let Ok(file) = File::open(dir.join(EVENTS_FILE)) else {
        return false;
    };
    matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    )
}

/// A run's event log as read, without changing the file.
#[derive(Debug)]
pub struct EventLog {
    /// Every complete event.
    pub events: Vec<Event>,
    /// Bytes up to the end of the last complete line.
    pub complete_len: u64,
    /// Bytes in the file when read (more when a line was being written).
    pub file_len: u64,
}

/// Reads a run folder's `events.jsonl` without writing anything: a last
/// line still being written (by a live run) or cut short (by a crash) is
/// left out, and the file is left as it is. A log whose order or numbers
/// are wrong ([`council_core::check_log`]) is refused, naming the line.
pub fn read_events(dir: &Path) -> Result<EventLog, EngineError> {
    let path = dir.join(EVENTS_FILE);
    let bytes = std::fs::read(&path).map_err(|e| {
        EngineError::io(
            format!(
                "cannot read {} (is {} a run folder?)",
                path.display(),
                dir.display()
            ),
            e,
        )
    })?;
    // Only the last line can lack its newline: a write in progress or cut short.
    let lines = council_fs::complete_lines(&bytes);
    // A newer Council's log may have a shape this build cannot read: its
    // header's version is read first, so the message says what to do.
    if let Some((_, first)) = lines.iter().next() {
        if let Some(v) = version_of(first).filter(|v| *v > u64::from(TRANSCRIPT_VERSION)) {
            return Err(EngineError::Store(format!(
                "{} was written by a newer Council (transcript format {v}; this build reads formats {} to {}); use a newer Council",
                path.display(),
                OLDEST_TRANSCRIPT_VERSION,
                TRANSCRIPT_VERSION,
            )));
        }
    }
    let mut events = Vec::new();
    for (n, line) in lines.iter() {
        let ev = serde_json::from_slice::<Event>(line).map_err(|e| {
            EngineError::Store(format!(
                "{} line {n}: not a Council event ({e}); the log is damaged: restore the file from a backup, or start the run again with `council ask` and another --out",
                path.display(),
            ))
        })?;
        events.push(ev);
    }
    if events.is_empty() {
        return Err(EngineError::Store(format!(
            "{} holds no events (the run was stopped before it started); start it again with the same command",
            path.display()
        )));
    }
    // Round and follow-up numbers are checked as the log is read, before
    // anything counts, loops or allocates by them.
    council_core::check_log(&events)
        .map_err(|e| EngineError::Store(format!("{} {e}", path.display())))?;
    Ok(EventLog {
        events,
        complete_len: lines.complete_len(),
        file_len: bytes.len() as u64,
    })
}

/// Whether `dir` holds a run that started: its event log holds at least one
/// complete line. A log without one is a run stopped before its header
/// reached disk, which [`RunStore::create`] starts afresh.
pub fn started(dir: &Path) -> bool {
    std::fs::read(dir.join(EVENTS_FILE))
        .is_ok_and(|b| council_fs::complete_lines(&b).complete_len() > 0)
}

/// Reads a transcript from a run folder or a `transcript.json` file. Never
/// writes: a run still going (or killed) is read from its event log as it
/// stands.
pub fn read_transcript(path: &Path) -> Result<Transcript, EngineError> {
    let file = if path.is_dir() {
        path.join(TRANSCRIPT_FILE)
    } else {
        path.to_path_buf()
    };
    if !file.exists() && path.is_dir() && path.join(EVENTS_FILE).exists() {
        // An unfinished run: rebuild from its events.
        let log = read_events(path)?;
        return Transcript::from_events(&log.events)
            .map_err(|e| EngineError::Store(format!("{}: {e}", path.join(EVENTS_FILE).display())));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| {
        EngineError::io(
            format!(
                "cannot read {} (give a run folder or its transcript.json)",
                file.display()
            ),
            e,
        )
    })?;
    let readable = OLDEST_TRANSCRIPT_VERSION..=TRANSCRIPT_VERSION;
    let unreadable = |version: u64| {
        let (whose, fix) = if version > u64::from(TRANSCRIPT_VERSION) {
            (" (written by a newer Council)", "use a newer Council")
        } else {
            ("", "it is not a Council transcript this build can read")
        };
        EngineError::Store(format!(
            "{} has transcript version {version}{whose}, this build reads versions {} to {}; {fix}",
            file.display(),
            readable.start(),
            readable.end(),
        ))
    };
    // A version this build cannot read is named before any shape error: a
    // newer Council's transcript may have a shape this build does not know.
    // The version is looked up only when the shape does not parse, so a
    // readable transcript is parsed once.
    let t: Transcript = serde_json::from_str(&text).map_err(|e| {
        let readable_version = |v: &u64| u32::try_from(*v).is_ok_and(|v| readable.contains(&v));
        match version_of(text.as_bytes()).filter(|v| !readable_version(v)) {
            Some(v) => unreadable(v),
            None => EngineError::Store(format!(
                "{} is not a Council transcript: {e}",
                file.display()
            )),
        }
    })?;
    if !readable.contains(&t.version) {
        return Err(unreadable(u64::from(t.version)));
    }
    // Numbers every reader counts and allocates by, checked once here.
    t.check_numbers().map_err(|e| {
        EngineError::Store(format!(
            "{}: {e}; the file is damaged: restore it from a backup or, in a run folder, delete it: the run's {EVENTS_FILE} is read instead",
            file.display()
        ))
    })?;
    Ok(t)
}

/// The `version` of a JSON object (a transcript, or an event log's
/// header), whatever the rest of its shape; `None` if it has none.
fn version_of(json: &[u8]) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Versioned {
        version: Option<serde_json::Value>,
    }
    serde_json::from_slice::<Versioned>(json)
        .ok()?
        .version?
        .as_u64()
}

/// The time now, RFC 3339 in UTC to the second: when a run's header says
/// it began.
pub fn now_utc() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use council_core::{RunHeader, Summary, Usage};

    fn header() -> Event {
        Event::Started(RunHeader {
            version: TRANSCRIPT_VERSION,
            question: "Should we raise prices?".into(),
            date: "2026-11-26".into(),
            lang: "en".into(),
            seed: 1,
            rounds: 5,
            panel: Vec::new(),
            notes: Vec::new(),
            sources: Vec::new(),
            library: Vec::new(),
            origin: None,
            variant: None,
            synthesis: true,
            started: None,
            condition: Default::default(),
        })
    }

    fn summary(round: u32) -> Event {
        Event::Summary(Summary {
            round,
            text: "The board split — the CFO backs it".into(),
            absent: Vec::new(),
            fallback: false,
            copied_from: None,
            flags: Vec::new(),
            usage: Usage::reported(3, 2),
            backend: "fake".into(),
            model: "fake".into(),
        })
    }

    fn line(e: &Event) -> String {
        serde_json::to_string(e).unwrap() + "\n"
    }

    #[test]
    fn a_hand_edited_log_with_an_absurd_round_is_refused_on_reading_and_resuming() {
        for (round, says) in [
            (
                0,
                "line 3: a summary of round 0, but the run plans rounds 1 to 5",
            ),
            (u32::MAX, "line 3: a summary of round 4294967295"),
            (6, "line 3: a summary of round 6"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let text = line(&header()) + &line(&summary(1)) + &line(&summary(round));
            std::fs::write(dir.path().join(EVENTS_FILE), &text).unwrap();
            for err in [
                read_events(dir.path()).unwrap_err().to_string(),
                read_transcript(dir.path()).unwrap_err().to_string(),
                RunStore::open(dir.path()).unwrap_err().to_string(),
            ] {
                assert!(err.contains("events.jsonl line 3"), "{err}");
                assert!(err.contains(says), "{err}");
                assert!(err.contains("restore the log from a backup"), "{err}");
            }
            assert_eq!(
                std::fs::read_to_string(dir.path().join(EVENTS_FILE)).unwrap(),
                text,
                "refusing writes nothing"
            );
        }
    }

    #[test]
    fn a_hand_edited_transcript_with_absurd_numbers_is_refused_naming_file_and_field() {
        let v1 = include_str!("../../../tests/fixtures/transcript-v1.json");
        type Edit = fn(&mut serde_json::Value);
        let edits: [(&str, Edit); 3] = [
            ("rounds[1].number is 4294967295", |t| {
                t["rounds"][1]["number"] = u32::MAX.into()
            }),
            ("planned_rounds is 0", |t| t["planned_rounds"] = 0.into()),
            ("rounds[0].turns[2].round is 9", |t| {
                t["rounds"][0]["turns"][2]["round"] = 9.into()
            }),
        ];
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(TRANSCRIPT_FILE);
        std::fs::write(&file, v1).unwrap();
        assert!(read_transcript(&file).is_ok());
        for (says, edit) in edits {
            let mut t: serde_json::Value = serde_json::from_str(v1).unwrap();
            edit(&mut t);
            std::fs::write(&file, t.to_string()).unwrap();
            let err = read_transcript(dir.path()).unwrap_err().to_string();
            for s in [
                "transcript.json: ",
                says,
                "restore it from a backup or, in a run folder, delete it",
            ] {
                assert!(err.contains(s), "{err:?} lacks {s:?}");
            }
        }
    }

    #[test]
    fn a_run_being_written_is_live_and_cannot_be_opened_twice() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = RunStore::create(dir.path()).unwrap();
        store.append(header()).unwrap();
        assert!(is_live(dir.path()), "the writer holds the lock");
        let err = RunStore::open(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("being written by another Council process"),
            "{err}"
        );
        drop(store);
        assert!(!is_live(dir.path()), "the lock goes with the writer");
        let reopened = RunStore::open(dir.path()).unwrap();
        assert_eq!(reopened.events().len(), 1);
        assert!(is_live(dir.path()));
    }

    #[test]
    fn a_last_line_cut_by_a_kill_is_left_out_by_readers_and_cut_off_on_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVENTS_FILE);
        let whole = line(&header()) + &line(&summary(1));
        // Cut inside the dash's three bytes: the tail is not even UTF-8.
        let next = line(&summary(2));
        let cut = next.find('—').unwrap() + 1;
        let mut bytes = whole.clone().into_bytes();
        bytes.extend_from_slice(&next.as_bytes()[..cut]);
        std::fs::write(&path, &bytes).unwrap();

        let log = read_events(dir.path()).unwrap();
        assert_eq!(log.events.len(), 2);
        assert_eq!(log.complete_len, whole.len() as u64);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "a reader never writes"
        );

        let mut store = RunStore::open(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole);
        store.append(summary(2)).unwrap();
        let events = read_events(dir.path()).unwrap().events;
        assert_eq!(events, [header(), summary(1), summary(2)]);
    }

    #[test]
    fn a_complete_line_that_is_not_an_event_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = line(&header()) + "{\"half\n" + &line(&summary(1));
        std::fs::write(dir.path().join(EVENTS_FILE), text).unwrap();
        let e = read_events(dir.path()).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("damaged"), "{e}");
        assert!(
            e.contains("restore the file from a backup") && e.contains("council ask"),
            "{e}"
        );
    }

    #[test]
    fn a_newer_councils_files_are_named_as_such_whatever_their_shape() {
        let dir = tempfile::tempdir().unwrap();
        // A transcript of a newer version in a shape this build cannot read.
        let newer = serde_json::json!({"version": 99, "debate": {"rounds": "a new shape"}});
        let file = dir.path().join(TRANSCRIPT_FILE);
        std::fs::write(&file, newer.to_string()).unwrap();
        let e = read_transcript(&file).unwrap_err().to_string();
        assert!(
            e.contains("transcript version 99")
                && e.contains("newer Council")
                && e.contains("use a newer Council")
                && !e.contains("is not a Council transcript"),
            "{e}"
        );
        // Without a readable version, the shape is what is wrong.
        std::fs::write(&file, r#"{"version": 3, "debate": 1}"#).unwrap();
        let e = read_transcript(&file).unwrap_err().to_string();
        assert!(e.contains("is not a Council transcript"), "{e}");

        // An event log whose header is a newer format's, its lines unknown.
        let log = "{\"event\":\"started\",\"version\":99,\"run\":{}}\n{\"event\":\"step\"}\n";
        std::fs::write(dir.path().join(EVENTS_FILE), log).unwrap();
        let e = read_events(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("newer Council") && e.contains("format 99") && !e.contains("damaged"),
            "{e}"
        );
    }

    #[test]
    fn a_run_killed_before_its_header_reached_disk_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(EVENTS_FILE);
        let head = line(&header());
        for before in ["", &head[..head.len() / 2]] {
            std::fs::write(&path, before).unwrap();
            assert!(!started(dir.path()));
            let e = read_events(dir.path()).unwrap_err().to_string();
            assert!(e.contains("start it again"), "{e}");
            let mut store = RunStore::create(dir.path()).unwrap();
            store.append(header()).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), head);
            assert!(started(dir.path()));
            std::fs::remove_file(&path).unwrap();
        }
        std::fs::write(&path, &head).unwrap();
        let e = RunStore::create(dir.path()).unwrap_err().to_string();
        assert!(e.contains("already holds a run"), "{e}");
    }

    #[test]
    fn resuming_removes_the_temporaries_a_killed_writer_left() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(EVENTS_FILE), line(&header())).unwrap();
        let left = dir.path().join(".report.html.Ab12Cd.tmp");
        std::fs::write(&left, "<!DOCTYPE html><p>cut").unwrap();
        let store = RunStore::open(dir.path()).unwrap();
        assert!(!left.exists());
        store.write_transcript().unwrap();
        let t = read_transcript(dir.path()).unwrap();
        assert_eq!(t.question, "Should we raise prices?");
    }
}
