//! Files that are never seen half-written.
//!
//! Council writes two kinds of files, and a reader (another process, or
//! the same run resumed after `SIGKILL`) must be able to parse both at
//! every moment:
//!
//! - **Final files** (`transcript.json`, the reports, `study.json`,
//!   cassettes, outputs given with `-o`) are replaced whole by
//!   [`write_atomic`]: written to a temporary file in the same folder,
//!   synced, then renamed over the target. A reader sees the old file or
//!   the new one, never a mix or an empty file; a kill leaves at most a
//!   hidden temporary file ([`is_temporary`]) beside it.
//! - **Append-only logs** (`events.jsonl`, `runs.jsonl`, `outcomes.jsonl`)
//!   grow one line at a time, each write synced. A kill can leave the last
//!   line cut short, so "parses at every moment" means: **every complete,
//!   newline-terminated line parses**; an unterminated last line is a
//!   write in progress (a live writer) or cut short (a killed one). Readers
//!   take only [`complete_lines`]; the next writer first cuts the
//!   unfinished tail off with [`truncate`] so its appends start on a line
//!   of their own.
//!
//! One home for both rules, shared by the engine, the renderer, the llm
//! crate's cassettes and the CLI.

use std::io::{self, Write};
use std::path::Path;

/// The suffix of every temporary file [`write_atomic`] makes.
const TEMP_SUFFIX: &str = ".tmp";

/// Replaces `path` with `bytes` atomically: the bytes go to a hidden
/// temporary file in the same folder (`.NAME.XXXXXX.tmp`), which is synced
/// and then renamed over `path`. A reader (and, after a crash or a power
/// cut, the disk) shows either the old file or the whole new one. The folder
/// itself is not synced: that would only make the new version outlast a
/// power cut sooner, at a few milliseconds a file (a study writes dozens
/// at once). A new file gets the usual permissions (0666 less the umask); a
/// replaced one takes the new file's.
///
/// A target that exists and is not a regular file (a symbolic link, a
/// pipe, `/dev/stdout` given as `-o`) is written through in place instead:
/// renaming over it would replace the link or the device.
pub fn write_atomic(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_file()) {
        return std::fs::write(path, bytes);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?
        .to_string_lossy();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(TEMP_SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes.as_ref())?;
    tmp.as_file().sync_data()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether `name` is a temporary file [`write_atomic`] left behind (a
/// writer killed before its rename): hidden, ending in `.tmp`.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// Removes the temporaries [`write_atomic`] left in `dir` (not below it)
/// and returns how many. Only for a writer that owns the folder (a run
/// being resumed): another live writer's temporary would be taken from it.
pub fn remove_temporaries(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let stale =
            entry.file_type()?.is_file() && entry.file_name().to_str().is_some_and(is_temporary);
        if stale {
            std::fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// An append-only log's bytes, read as lines.
#[derive(Debug, Clone, Copy)]
pub struct Lines<'a> {
    bytes: &'a [u8],
    complete_len: usize,
}

impl<'a> Lines<'a> {
    /// Every complete (newline-terminated) line, numbered from 1, without
    /// its newline (nor a `\r` before it).
    pub fn iter(&self) -> impl Iterator<Item = (usize, &'a [u8])> + 'a {
        let complete = &self.bytes[..self.complete_len];
        complete
            .split_inclusive(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\n").unwrap_or(l))
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l))
    }

    /// Bytes up to the end of the last complete line: the length to
    /// [`truncate`] the file to before appending.
    pub fn complete_len(&self) -> u64 {
        self.complete_len as u64
    }

    /// Whether an unterminated last line follows the complete ones.
    pub fn has_partial_tail(&self) -> bool {
        self.complete_len < self.bytes.len()
    }
}

/// Splits an append-only log into its complete lines and an unfinished
/// tail (left out). Works on bytes: a tail cut inside a multi-byte
/// character is still just a tail.
pub fn complete_lines(bytes: &[u8]) -> Lines<'_> {
    let complete_len = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    Lines {
        bytes,
        complete_len,
    }
}

/// Cuts the file at `path` to `len` bytes and syncs it: drops an unfinished
/// last line before appending. Only for the log's one writer.
pub fn truncate(path: &Path, len: u64) -> io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_replaced_file_holds_the_new_bytes_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.json");
        write_atomic(&p, "{\"a\":1}").unwrap();
        write_atomic(&p, "{\"a\":2}").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"a\":2}");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.json"]);
    }

    #[test]
    fn a_reader_never_sees_a_file_half_replaced() {
        // A writer replaces a 128 KB file with all-a or all-b bytes while a
        // reader reads it: every read is one whole version. (With
        // `std::fs::write`, which truncates and then writes, reads of an
        // empty or mixed file come within a few rounds.)
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.html");
        let size = 128 * 1024;
        write_atomic(&p, vec![b'a'; size]).unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (p, done) = (p.clone(), done.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    let b = std::fs::read(&p).unwrap();
                    let whole = b.len() == size && (b.iter().all(|&c| c == b[0]));
                    assert!(whole, "read {} bytes of a mixed or cut file", b.len());
                    reads += 1;
                }
                reads
            })
        };
        for i in 0..100 {
            write_atomic(&p, vec![if i % 2 == 0 { b'b' } else { b'a' }; size]).unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(reader.join().unwrap() > 0);
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_readable_by_others_as_the_umask_allows() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.md");
        write_atomic(&p, "x").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode, 0o600, "a report must not be private to its writer");
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_is_written_through_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.md");
        let link = dir.path().join("link.md");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn a_missing_folder_is_an_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope").join("r.md");
        let e = write_atomic(&p, "x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn temporaries_left_by_a_killed_writer_are_recognised_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let left = dir.path().join(".report.md.a1B2c3.tmp");
        std::fs::write(&left, "half").unwrap();
        std::fs::write(dir.path().join("events.jsonl"), "").unwrap();
        assert!(is_temporary(".transcript.json.XyZ123.tmp"));
        assert!(!is_temporary("report.md") && !is_temporary("notes.tmp"));
        assert_eq!(remove_temporaries(dir.path()).unwrap(), 1);
        assert!(!left.exists() && dir.path().join("events.jsonl").exists());
    }

    #[test]
    fn only_complete_lines_are_read_and_a_cut_character_is_just_a_tail() {
        let text = "{\"a\":1}\n{\"b\":2}\r\n{\"c\":\"—".as_bytes();
        let cut = &text[..text.len() - 1]; // inside the dash's three bytes
        let lines = complete_lines(cut);
        let read: Vec<_> = lines.iter().collect();
        assert_eq!(read, [(1, &b"{\"a\":1}"[..]), (2, &b"{\"b\":2}"[..])]);
        assert!(lines.has_partial_tail());
        assert_eq!(lines.complete_len(), 17);
        assert!(!complete_lines(b"x\n").has_partial_tail());
        assert_eq!(complete_lines(b"").iter().count(), 0);
        assert_eq!(complete_lines(b"half").complete_len(), 0);
    }

    #[test]
    fn truncate_drops_the_tail() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        std::fs::write(&p, "{}\n{\"ha").unwrap();
        let text = std::fs::read(&p).unwrap();
        truncate(&p, complete_lines(&text).complete_len()).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{}\n");
    }
}
