//! Run ids: a run folder's path under the runs folder, checked so that no
//! id can reach outside it.

use std::path::{Path, PathBuf};

/// The most folders deep an id may go (a study's run's variant: 5).
const MAX_DEPTH: usize = 6;

/// Why an id was refused; the page says so with a 400 or 404.
#[derive(Debug, PartialEq)]
pub(crate) enum Refusal {
    /// Not a run id at all (`..`, an absolute path, odd characters).
    Invalid(String),
    /// A well-formed id with no run folder behind it.
    Missing(String),
}

/// Checks an id's shape: folder names of letters, digits, `.`, `_` and
/// `-` joined by `/`, none empty, none starting with a dot (so neither
/// `..` nor hidden folders), at most [`MAX_DEPTH`] deep.
pub(crate) fn check(id: &str) -> Result<(), Refusal> {
    let bad = |why: &str| Err(Refusal::Invalid(format!("{id:?} is not a run id: {why}")));
    if id.is_empty() || id.len() > 400 {
        return bad("it is empty or too long");
    }
    if id.starts_with('/') || id.contains('\\') {
        return bad("run ids are folders inside the runs folder, never absolute paths");
    }
    let parts: Vec<&str> = id.split('/').collect();
    if parts.len() > MAX_DEPTH {
        return bad("it is too deep");
    }
    for p in parts {
        if p.is_empty() || p.starts_with('.') {
            return bad("no part may be empty or start with a dot (`..` is refused)");
        }
        if !p
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return bad("only letters, digits, '.', '_' and '-' may name its folders");
        }
    }
    Ok(())
}

/// The folder of run `id` under `runs`: checked, existing, and (symbolic
/// links resolved) still inside `runs`.
pub(crate) fn resolve(runs: &Path, id: &str) -> Result<PathBuf, Refusal> {
    check(id)?;
    let dir = runs.join(id);
    let (Ok(real), Ok(base)) = (dir.canonicalize(), runs.canonicalize()) else {
        return Err(Refusal::Missing(format!(
            "no run {id:?} in the runs folder"
        )));
    };
    if !real.starts_with(&base) || !real.is_dir() {
        return Err(Refusal::Invalid(format!(
            "{id:?} leads outside the runs folder"
        )));
    }
    Ok(dir)
}

/// The id as one URL path segment: its `/` written `%2F`, the only
/// character a checked id holds that a segment cannot.
pub(crate) fn href(id: &str) -> String {
    id.replace('/', "%2F")
}

/// `text` as a URL query value: every byte but the unreserved ones
/// (`A-Z a-z 0-9 - . _ ~`) written `%XX`.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_that_could_leave_the_runs_folder_are_refused() {
        for id in [
            "..",
            "../etc",
            "a/../../b",
            "/etc/passwd",
            "a//b",
            ".hidden",
            "a/.git",
            "a\\b",
            "a b",
            "",
            "x%2F..",
        ] {
            assert!(
                matches!(check(id), Err(Refusal::Invalid(_))),
                "{id:?} passed"
            );
        }
        for id in [
            "2026-11-28-run",
            "a/variants/board-brief",
            "s1/runs/q1-m1-r1",
        ] {
            assert_eq!(check(id), Ok(()), "{id}");
        }
    }

    #[test]
    fn a_symbolic_link_out_of_the_runs_folder_is_refused() {
        let runs = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), runs.path().join("out")).unwrap();
        std::fs::create_dir(runs.path().join("in")).unwrap();
        assert!(matches!(
            resolve(runs.path(), "out"),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(
            resolve(runs.path(), "nope"),
            Err(Refusal::Missing(_))
        ));
        assert_eq!(resolve(runs.path(), "in").unwrap(), runs.path().join("in"));
    }
}
