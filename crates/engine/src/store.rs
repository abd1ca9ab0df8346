//! A run folder on disk: `events.jsonl`, appended and synced as each turn
//! arrives, and `transcript.json`, written at the end.

use crate::EngineError;
use council_core::{Event, Transcript};
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
        if path.exists() {
            return Err(EngineError::Store(format!(
                "{} already holds a run; continue it with --resume {} or choose another --out",
                dir.display(),
                dir.display()
            )));
        }
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|e| EngineError::io(format!("cannot create {}", path.display()), e))?;
        Ok(RunStore {
            dir: dir.to_path_buf(),
            events: Vec::new(),
            file,
        })
    }

    /// Opens an existing run to continue it. A last line cut short by a
    /// crash is dropped (and truncated from the file) so appends stay valid.
    pub fn open(dir: &Path) -> Result<RunStore, EngineError> {
        let path = dir.join(EVENTS_FILE);
        let log = read_events(dir)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| EngineError::io(format!("cannot open {}", path.display()), e))?;
        if log.complete_len < log.file_len {
            tracing::warn!("{}: dropping the unfinished last line", path.display());
            file.set_len(log.complete_len)
                .map_err(|e| EngineError::io(format!("cannot truncate {}", path.display()), e))?;
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
        let tmp = self.dir.join(".transcript.json.tmp");
        let text = serde_json::to_string_pretty(&t)
            .map_err(|e| EngineError::Store(format!("cannot encode the transcript: {e}")))?;
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| EngineError::io(format!("cannot write {}", path.display()), e))?;
        Ok(path)
    }
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
/// left out, and the file is left as it is.
pub fn read_events(dir: &Path) -> Result<EventLog, EngineError> {
    let path = dir.join(EVENTS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        EngineError::io(
            format!(
                "cannot read {} (is {} a run folder?)",
                path.display(),
                dir.display()
            ),
            e,
        )
    })?;
    let mut events = Vec::new();
    let mut complete_len = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if !line.ends_with('\n') {
            // Only the last piece can lack its newline: a write in progress or cut short.
            break;
        }
        let ev = serde_json::from_str::<Event>(line.trim_end()).map_err(|e| {
            EngineError::Store(format!(
                "{} line {}: not a Council event ({e}); the log is damaged",
                path.display(),
                i + 1
            ))
        })?;
        events.push(ev);
        complete_len += line.len();
    }
    if events.is_empty() {
        return Err(EngineError::Store(format!(
            "{} holds no events; start a new run instead",
            path.display()
        )));
    }
    Ok(EventLog {
        events,
        complete_len: complete_len as u64,
        file_len: text.len() as u64,
    })
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
    let t: Transcript = serde_json::from_str(&text).map_err(|e| {
        EngineError::Store(format!(
            "{} is not a Council transcript: {e}",
            file.display()
        ))
    })?;
    let readable = council_core::OLDEST_TRANSCRIPT_VERSION..=council_core::TRANSCRIPT_VERSION;
    if !readable.contains(&t.version) {
        return Err(EngineError::Store(format!(
            "{} has transcript version {}, this build reads versions {} to {}; use a newer Council",
            file.display(),
            t.version,
            readable.start(),
            readable.end()
        )));
    }
    Ok(t)
}
