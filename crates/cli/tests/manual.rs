//! `council completions SHELL` and `council man`: generated from the same
//! clap definition the binary parses, so they name every command it has.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::process::{Command, Output};

fn council(args: &[&str]) -> Output {
    council_tests::council_command(env!("CARGO_BIN_EXE_council"), args)
        .output()
        .expect("run council")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The subcommands `council --help` lists (help itself aside).
fn subcommands() -> Vec<String> {
    let help = stdout(&council(&["--help"]));
    let list = help
        .split("Commands:\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    let names: Vec<String> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    for expected in [
        "ask",
        "render",
        "serve",
        "fetch-model",
        "completions",
        "man",
    ] {
        assert!(names.iter().any(|n| n == expected), "{names:?}");
    }
    names
}

/// What bash offers after `council WORDS… ` with the cursor on `current`.
fn bash_completes(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("council.bash");
    std::fs::write(&file, script).unwrap();
    let words_q: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}' || exit 9\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\n_council council '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        words_q.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .output()
        .expect("run bash");
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn the_bash_completion_offers_every_subcommand_and_a_commands_flags() {
    let script = stdout(&council(&["completions", "bash"]));
    let offered = bash_completes(&script, &["council", ""]);
    for name in subcommands() {
        assert!(
            offered.contains(&name),
            "bash does not complete `council {name}`: {offered:?}"
        );
    }
    let flags = bash_completes(&script, &["council", "ask", "--lib"]);
    assert_eq!(flags, ["--library"], "{flags:?}");
    let shells = bash_completes(&script, &["council", "completions", "p"]);
    assert_eq!(shells, ["powershell"]);
}

#[test]
fn every_shell_gets_a_script_naming_the_subcommands() {
    let names = subcommands();
    for (shell, marker) in [
        ("zsh", "#compdef council"),
        ("fish", "complete -c council"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "set edit:completion:arg-completer[council]"),
    ] {
        let script = stdout(&council(&["completions", shell]));
        assert!(script.contains(marker), "{shell}: no {marker:?}");
        for name in &names {
            assert!(script.contains(name.as_str()), "{shell} lacks {name}");
        }
    }
    let bad = council(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("invalid value 'tcsh'") && err.contains("bash"),
        "{err}"
    );
}

/// `man -l FILE` as plain text (the pager and bold overstrikes left out,
/// the justified spacing collapsed to one space), with nothing on stderr:
/// groff warns there about broken roff.
fn man_renders(file: &std::path::Path) -> String {
    let out = Command::new("man")
        .arg("-l")
        .arg(file)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "")
        .env("GROFF_NO_SGR", "1")
        .output()
        .expect("`man` is needed by this test (scripts/deps.sh installs man-db)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
    // Bold and underline are printed as X\bX and _\bX.
    let raw = String::from_utf8(out.stdout).unwrap();
    let mut text = String::new();
    for c in raw.chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_man_page_names_every_subcommand_and_the_global_flags_and_renders() {
    let roff = stdout(&council(&["man"]));
    assert!(roff.starts_with(".ie \\n(.g .ds Aq") || roff.contains(".TH council 1"));
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("council.1");
    std::fs::write(&page, &roff).unwrap();
    let text = man_renders(&page);
    assert!(
        text.contains("council - Council: an executive advisory board of AI personas"),
        "{text}"
    );
    for name in subcommands() {
        assert!(
            text.contains(&format!("council-{name}(1)")),
            "the page does not list {name}:\n{text}"
        );
    }
    assert!(
        !text.contains("council-help(1)"),
        "no page is written for help"
    );
    assert!(text.contains("--base-url <URL>"), "{text}");
    assert!(text.contains("--replay <FILE>"), "{text}");
}

#[test]
fn man_dir_writes_a_page_per_subcommand_each_with_its_flags() {
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("man1");
    let out = council(&["man", "--dir", into.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let names = subcommands();
    let mut written: Vec<String> = std::fs::read_dir(&into)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = names.iter().map(|n| format!("council-{n}.1")).collect();
    expected.push("council.1".into());
    expected.sort();
    // Subcommands of subcommands (none today) would add pages, never lose one.
    for page in &expected {
        assert!(written.contains(page), "{page} missing: {written:?}");
    }
    let ask = man_renders(&into.join("council-ask.1"));
    assert!(ask.contains("--library <DIR>"), "{ask}");
    assert!(
        ask.contains("council-ask - Runs a debate on a question"),
        "{ask}"
    );

    // A folder that cannot be made is the user's to fix.
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let bad = council(&["man", "--dir", blocker.join("man1").to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(4));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("give a folder you can write to"), "{err}");
}
