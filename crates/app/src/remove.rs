//! Removing a run: never while it, or any run inside it (a variant or
//! branch being written into its folder), is live; only run folders.

use crate::runs::is_run;
use crate::status::live_inside;
use std::path::Path;

/// Why a run was not removed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    /// The folder holds no run.
    #[error("{0} holds no run; only run folders are removed")]
    NotARun(String),
    /// The run, or runs inside it, are being written now.
    #[error("{} is being written now ({}); wait for it to finish or cancel it first", .dir, .live.join(", "))]
    Live {
        /// The run's folder.
        dir: String,
        /// The live runs, relative to it (`.` for the run itself).
        live: Vec<String>,
    },
    /// Removing failed part-way.
    #[error("cannot remove {dir}: {source}")]
    Io {
        /// The run's folder.
        dir: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Checks that the run in `dir` may be removed now: it is a run and
/// nothing in it is live.
pub fn check(dir: &Path) -> Result<(), RemoveError> {
    if !is_run(dir) {
        return Err(RemoveError::NotARun(dir.display().to_string()));
    }
    let live = live_inside(dir);
    if !live.is_empty() {
        return Err(RemoveError::Live {
            dir: dir.display().to_string(),
            live,
        });
    }
    Ok(())
}

/// Removes the run in `dir` and everything inside it, after [`check`].
pub fn remove(dir: &Path) -> Result<(), RemoveError> {
    check(dir)?;
    std::fs::remove_dir_all(dir).map_err(|source| RemoveError::Io {
        dir: dir.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use council_engine::store::EVENTS_FILE;

    #[test]
    fn a_run_with_a_live_variant_inside_is_not_removed() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("run");
        let variant = run.join("variants/team");
        std::fs::create_dir_all(&variant).unwrap();
        std::fs::write(run.join(EVENTS_FILE), "{}\n").unwrap();
        std::fs::write(variant.join(EVENTS_FILE), "{}\n").unwrap();
        // The variant's writer holds its log's lock, as `RunStore` does.
        let writer = std::fs::File::open(variant.join(EVENTS_FILE)).unwrap();
        writer.lock().unwrap();
        match remove(&run) {
            Err(RemoveError::Live { live, .. }) => assert_eq!(live, vec!["variants/team"]),
            other => panic!("removed or other error: {other:?}"),
        }
        assert!(variant.join(EVENTS_FILE).is_file(), "the folder survives");
        drop(writer);
        remove(&run).unwrap();
        assert!(!run.exists());
    }

    #[test]
    fn only_run_folders_are_removed() {
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(remove(root.path()), Err(RemoveError::NotARun(_))));
        assert!(root.path().exists());
    }
}
