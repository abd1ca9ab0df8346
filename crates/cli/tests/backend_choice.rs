//! Which backend answers, and why: a named hosted model without its key is
//! refused at once (never the embedded model in its place), `council
//! models` says which setting chose the backend, and the embedded default
//! is announced when nothing is configured.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// `council ARGS` in `home` as the user's home (no config file, no cached
/// model there) and working directory, the user's own settings removed.
fn council_in(home: &Path, args: &[&str]) -> Output {
    council_tests::council_command(env!("CARGO_BIN_EXE_council"), args)
        .current_dir(home)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env_remove("COUNCIL_MODEL_PATH")
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .expect("run council")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_hosted_model_without_its_key_exits_4_at_once_and_nothing_is_made_or_loaded() {
    let home = tempfile::tempdir().unwrap();
    let run = home.path().join("run");
    let started = Instant::now();
    let out = council_in(
        home.path(),
        &[
            "--model",
            "gpt-4o-mini",
            "ask",
            "Should we raise prices by 10%?",
            "--out",
            run.to_str().unwrap(),
        ],
    );
    let took = started.elapsed();
    eprintln!("refused in {:.2} s", took.as_secs_f64());
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(took < Duration::from_secs(20), "{took:?}");
    for words in ["OPENAI_API_KEY", "--base-url", "--embedded", "gpt-4o-mini"] {
        assert!(err.contains(words), "{words}: {err}");
    }
    // Not the embedded model: it was neither announced nor looked for (it
    // is not in this home, so loading it would have failed naming it).
    assert!(!err.contains("using the embedded model"), "{err}");
    assert!(!err.contains("fetch-model"), "{err}");
    assert!(!run.exists(), "no run folder for a refused run");
    assert!(!home.path().join("transcripts").exists());

    // `council models` refuses the same way instead of showing the embedded backend.
    let out = council_in(home.path(), &["--model", "gpt-4o-mini", "models"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    assert!(!text(&out.stdout).contains("embedded"));
    assert!(text(&out.stderr).contains("OPENAI_API_KEY"));

    // A hosted provider named by --provider, likewise.
    let out = council_in(
        home.path(),
        &[
            "--provider",
            "anthropic",
            "--model",
            "claude-sonnet-4-5",
            "models",
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(
        text(&out.stderr).contains("ANTHROPIC_API_KEY"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn models_says_which_setting_chose_the_backend() {
    let home = tempfile::tempdir().unwrap();
    let chosen_by = |args: &[&str]| {
        let out = council_in(home.path(), args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("chosen by: ").map(str::to_string))
            .expect("a chosen-by line")
    };
    assert_eq!(
        chosen_by(&[
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
            "models"
        ]),
        "--base-url"
    );
    assert_eq!(
        chosen_by(&["--provider", "ollama", "--model", "qwen2.5:7b", "models"]),
        "--provider"
    );
    let config = home.path().join("council.toml");
    std::fs::write(
        &config,
        "base_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\n",
    )
    .unwrap();
    assert_eq!(
        chosen_by(&["--config", config.to_str().unwrap(), "models"]),
        format!("config file {} (base_url)", config.display())
    );
}

#[test]
fn the_embedded_default_is_announced_on_the_first_line_and_q_hides_it() {
    // Nothing configured, and no model in this home: the note comes before
    // anything is loaded, then the missing model is the error.
    let home = tempfile::tempdir().unwrap();
    let out = council_in(home.path(), &["chat", "hello"]);
    let err = text(&out.stderr);
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("using the embedded model SmolLM2-135M"),
        "{err}"
    );
    assert!(first.contains("no model server is configured") && first.contains("--base-url"));
    assert_eq!(
        out.status.code(),
        Some(4),
        "the model is missing here: {err}"
    );
    assert!(err.contains("council fetch-model"), "{err}");

    let out = council_in(home.path(), &["-q", "chat", "hello"]);
    let err = text(&out.stderr);
    assert!(!err.contains("using the embedded model"), "{err}");
    // Asked for by name, it needs no note.
    let out = council_in(home.path(), &["--embedded", "chat", "hello"]);
    assert!(!text(&out.stderr).contains("using the embedded model"));
}
