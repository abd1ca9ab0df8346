//! Model downloads against a local server that behaves like the Hugging
//! Face hub (`council_tests::hub::FakeHub`), serving the embedded default
//! model's file: resumption, verification, refusals, `HF_ENDPOINT`; then
//! `council fetch-model` and `--embedded-model` as a user runs them.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use council_llm::download::{self, Download, Verified};
use council_llm::fetch::DEFAULT_MODEL_SHA256;
use council_tests::hub::{FakeHub, HubOptions};
use std::path::Path;
use std::process::Output;

const REPO: &str = "council-test/tiny-GGUF";
const FILE: &str = "m.gguf";

/// The default model's bytes: what the fake hub serves.
fn model_bytes() -> Vec<u8> {
    std::fs::read(council_tests::model_path()).unwrap()
}

fn hidden() -> indicatif::ProgressBar {
    indicatif::ProgressBar::hidden()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn dl(hub: &FakeHub, dir: &Path, sha256: Option<&str>) -> Download {
    Download {
        url: download::hub_url(&hub.endpoint, REPO, FILE),
        dest: dir.join(FILE),
        sha256: sha256.map(str::to_string),
        token: None,
        licence_page: Some(format!("https://huggingface.co/{REPO}")),
    }
}

#[tokio::test]
async fn a_download_cut_half_way_resumes_with_a_range_and_verifies() {
    let bytes = model_bytes();
    let hub = FakeHub::start(
        REPO,
        FILE,
        bytes.clone(),
        HubOptions {
            cut_first: true,
            ..HubOptions::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let done = download::download(&dl(&hub, dir.path(), Some(DEFAULT_MODEL_SHA256)), &hidden())
        .await
        .unwrap();
    assert_eq!(done.verified, Verified::Pinned);
    assert_eq!(done.sha256, DEFAULT_MODEL_SHA256);
    assert_eq!(std::fs::read(dir.path().join(FILE)).unwrap(), bytes);
    // The first transfer was cut at half; the second asked for the rest only.
    let ranges = hub.ranges();
    assert_eq!(
        ranges,
        vec![None, Some(format!("bytes={}-", bytes.len() / 2))],
        "{:?}",
        hub.requests()
    );
    assert_eq!(
        files_in(dir.path()),
        vec![FILE.to_string()],
        "no .part left"
    );
}

#[tokio::test]
async fn a_part_left_by_an_earlier_run_is_resumed_and_checked_against_the_hubs_etag() {
    let bytes = model_bytes();
    let hub = FakeHub::start(REPO, FILE, bytes.clone(), HubOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let third = bytes.len() / 3;
    std::fs::write(download::part_path(&dir.path().join(FILE)), &bytes[..third]).unwrap();
    let done = download::download(&dl(&hub, dir.path(), None), &hidden())
        .await
        .unwrap();
    assert_eq!(
        done.verified,
        Verified::Hub,
        "the X-Linked-Etag was the check"
    );
    assert_eq!(done.resumed_from, third as u64);
    assert_eq!(done.transferred, (bytes.len() - third) as u64);
    assert_eq!(hub.ranges(), vec![Some(format!("bytes={third}-"))]);
    assert_eq!(crate_sha(&dir.path().join(FILE)), DEFAULT_MODEL_SHA256);
    // A second call finds it there, verified, and transfers nothing.
    let again = download::download(&dl(&hub, dir.path(), None), &hidden())
        .await
        .unwrap();
    assert!(again.already && again.transferred == 0);
    assert_eq!(hub.ranges().len(), 1);
}

fn crate_sha(p: &Path) -> String {
    council_llm::fetch::sha256_file(p).unwrap()
}

#[tokio::test]
async fn a_wrong_hash_is_refused_and_leaves_no_file() {
    let hub = FakeHub::start(REPO, FILE, model_bytes(), HubOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(64);
    let err = download::download(&dl(&hub, dir.path(), Some(&wrong)), &hidden())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refusing to use it")
            && err.contains(&wrong)
            && err.contains(DEFAULT_MODEL_SHA256),
        "{err}"
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
    // The hub reporting another hash than the bytes' is refused the same way.
    let lying = FakeHub::start(
        REPO,
        FILE,
        model_bytes(),
        HubOptions {
            etag: Some("ab".repeat(32)),
            ..HubOptions::default()
        },
    )
    .await;
    let err = download::download(&dl(&lying, dir.path(), None), &hidden())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("reported by the hub") && err.contains("refusing"),
        "{err}"
    );
    assert!(files_in(dir.path()).is_empty());
}

#[tokio::test]
async fn not_found_and_gated_files_name_the_fix() {
    let hub = FakeHub::start(
        REPO,
        FILE,
        b"GGUF".to_vec(),
        HubOptions {
            gated_token: Some("hf_good".into()),
            ..HubOptions::default()
        },
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut missing = dl(&hub, dir.path(), None);
    missing.url = download::hub_url(&hub.endpoint, REPO, "other.gguf");
    let err = download::download(&missing, &hidden())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("404") && err.contains("council fetch-model --list"),
        "{err}"
    );
    let err = download::download(&dl(&hub, dir.path(), None), &hidden())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("401")
            && err.contains(&format!("https://huggingface.co/{REPO}"))
            && err.contains("HF_TOKEN")
            && err.contains("no HF_TOKEN is set"),
        "{err}"
    );
    assert!(!err.contains("hf_good"));
    assert!(files_in(dir.path()).is_empty());
    // With the token the same download goes through.
    let mut with_token = dl(&hub, dir.path(), None);
    with_token.token = Some("hf_good".into());
    let done = download::download(&with_token, &hidden()).await.unwrap();
    assert_eq!(std::fs::read(done.path).unwrap(), b"GGUF");
}

#[tokio::test]
async fn hf_endpoint_points_hub_downloads_at_a_mirror() {
    let hub = FakeHub::start(REPO, FILE, b"GGUF mirror".to_vec(), HubOptions::default()).await;
    let endpoint = hub.endpoint.clone();
    let env = move |k: &str| match k {
        "HF_ENDPOINT" => Some(endpoint.clone()),
        "HF_TOKEN" => Some("hf_x".into()),
        _ => None,
    };
    let d = council_llm::fetch::hub_download(REPO, FILE, &env);
    assert_eq!(
        d.url,
        format!("{}/{REPO}/resolve/main/{FILE}", hub.endpoint)
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Download {
        dest: dir.path().join(FILE),
        ..d
    };
    download::download(&d, &hidden()).await.unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(FILE)).unwrap(),
        b"GGUF mirror"
    );
    assert!(hub.requests().iter().any(|r| r
        .starts_with(&format!("HEAD /{REPO}/resolve/main/{FILE}"))
        && r.contains("authorization: Bearer hf_x")));
}

// ---- the command line ----

fn council(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = council_tests::council_command(env!("CARGO_BIN_EXE_council"), args);
    for k in ["HF_ENDPOINT", "HF_TOKEN", "COUNCIL_MODEL_PATH"] {
        cmd.env_remove(k);
    }
    cmd.envs(envs.iter().copied());
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn fetch_model_url_downloads_resumes_and_verifies_from_the_command_line() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bytes = model_bytes();
    let hub = rt.block_on(FakeHub::start(
        "x",
        FILE,
        bytes.clone(),
        HubOptions {
            cut_first: true,
            ..HubOptions::default()
        },
    ));
    let cache = tempfile::tempdir().unwrap();
    let url = format!("{}/x/resolve/main/{FILE}", hub.endpoint);
    let env = [("COUNCIL_CACHE_DIR", cache.path().to_str().unwrap())];
    let wrong = "1".repeat(64);
    let out = council(&["fetch-model", "--url", &url, "--sha256", &wrong], &env);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("refusing to use it"),
        "{}",
        text(&out.stderr)
    );
    let models = cache.path().join("models");
    assert!(files_in(&models).is_empty(), "{:?}", files_in(&models));

    let out = council(
        &[
            "fetch-model",
            "--url",
            &url,
            "--sha256",
            DEFAULT_MODEL_SHA256,
        ],
        &env,
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    let path = models.join(FILE);
    assert_eq!(text(&out.stdout).trim(), path.display().to_string());
    assert!(
        err.contains(&format!("verified sha256 {DEFAULT_MODEL_SHA256} (pinned)")),
        "{err}"
    );
    assert!(err.contains("council --embedded-model"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
    assert_eq!(files_in(&models), vec![FILE.to_string()]);
    // The first run was cut half-way and resumed itself with a Range.
    assert!(
        hub.ranges().iter().any(Option::is_some),
        "{:?}",
        hub.ranges()
    );
}

#[test]
fn fetch_model_by_catalogue_name_honours_hf_endpoint_and_names_a_gated_licence() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let q = council_llm::catalog::find("qwen2.5-0.5b").unwrap();
    let hub = rt.block_on(FakeHub::start(
        &q.repo,
        &q.file,
        model_bytes(),
        HubOptions::default(),
    ));
    let cache = tempfile::tempdir().unwrap();
    let env = [
        ("COUNCIL_CACHE_DIR", cache.path().to_str().unwrap()),
        ("HF_ENDPOINT", hub.endpoint.as_str()),
    ];
    let out = council(&["fetch-model", "qwen2.5-0.5b"], &env);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("(reported by the hub)"), "{err}");
    assert!(cache.path().join("models").join(&q.file).is_file());

    let l = council_llm::catalog::find("llama3.2-1b").unwrap();
    let gated = rt.block_on(FakeHub::start(
        &l.repo,
        &l.file,
        b"GGUF".to_vec(),
        HubOptions {
            gated_token: Some("hf_yes".into()),
            ..HubOptions::default()
        },
    ));
    let env = [
        ("COUNCIL_CACHE_DIR", cache.path().to_str().unwrap()),
        ("HF_ENDPOINT", gated.endpoint.as_str()),
    ];
    let out = council(&["fetch-model", "llama3.2-1b"], &env);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains(l.licence_url.as_deref().unwrap()) && err.contains("HF_TOKEN"),
        "{err}"
    );
}

#[test]
fn fetch_model_list_shows_the_catalogue_with_one_pick() {
    let out = council(&["fetch-model", "--list"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for name in [
        "smollm2-135m",
        "qwen2.5-3b",
        "llama3.2-3b",
        "phi3.5-mini",
        "smollm2-1.7b",
    ] {
        assert!(s.contains(name), "{name}: {s}");
    }
    assert!(
        s.contains(DEFAULT_MODEL_SHA256) && s.contains("checked on it: yes"),
        "{s}"
    );
    assert_eq!(s.matches("best fit for this machine").count(), 1, "{s}");
}

#[test]
fn embedded_model_names_the_command_that_fetches_a_missing_catalogue_model() {
    let cache = tempfile::tempdir().unwrap();
    let out = council(
        &["--embedded-model", "qwen2.5-7b", "models"],
        &[("COUNCIL_CACHE_DIR", cache.path().to_str().unwrap())],
    );
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("run `council fetch-model qwen2.5-7b`"),
        "{err}"
    );
}

#[test]
fn a_renamed_copy_of_the_default_runs_a_full_debate_through_embedded_model() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("my-own-model.gguf");
    std::fs::copy(council_tests::model_path(), &copy).unwrap();
    let config = dir.path().join("config.toml");
    // Few slots and a short context: the debate stays quick on two cores.
    std::fs::write(&config, "[embedded]\nslots = 6\nctx_per_slot = 2048\n").unwrap();
    let out_dir = dir.path().join("run");
    let copy_s = copy.to_str().unwrap();
    let models = council(
        &["--embedded-model", copy_s, "models"],
        &[("COUNCIL_CONFIG", config.to_str().unwrap())],
    );
    let s = text(&models.stdout);
    assert!(models.status.success(), "{}", text(&models.stderr));
    assert!(
        s.contains("model:     my-own-model.gguf") && s.contains("chosen by: --embedded-model"),
        "{s}"
    );
    // What was loaded, and why: the chosen slots and context, the sized rest.
    for line in [
        "parameters: 134M, so a small model",
        "context: 2048 tokens a slot ([embedded] ctx_per_slot)",
        "slots: 6 requests decoded together ([embedded] slots)",
        "threads: ",
        "chat template: the model's own, from its GGUF",
    ] {
        assert!(s.contains(line), "{line:?} not in:\n{s}");
    }
    let out = council(
        &[
            "--embedded-model",
            copy_s,
            "ask",
            "Should a bakery open a second shop?",
            "--panel",
            "cfo,coo,cto,contrarian,auditor",
            "--rounds",
            "1",
            "--out",
            out_dir.to_str().unwrap(),
        ],
        &[
            ("COUNCIL_CONFIG", config.to_str().unwrap()),
            // A server named in the environment loses to the flag.
            ("COUNCIL_BASE_URL", "http://127.0.0.1:9/v1"),
        ],
    );
    let err = text(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c == 0 || c == 5), "{err}");
    let transcript: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("transcript.json")).unwrap())
            .unwrap();
    assert!(
        transcript.to_string().contains("my-own-model.gguf"),
        "the transcript names the model that answered"
    );
    assert!(
        out_dir.join("report.md").is_file(),
        "{:?}",
        files_in(&out_dir)
    );
}

/// A copy of the default model whose chat template is `x` repeated (the
/// same length, so no offset in the GGUF moves): a template llama.cpp
/// cannot apply.
fn with_unusable_template(dest: &Path) {
    let mut bytes = model_bytes();
    let key = b"tokenizer.chat_template";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the default model has a chat template");
    let ty = at + key.len();
    assert_eq!(&bytes[ty..ty + 4], &8u32.to_le_bytes(), "a string value");
    let len = u64::from_le_bytes(bytes[ty + 4..ty + 12].try_into().unwrap()) as usize;
    bytes[ty + 12..ty + 12 + len].fill(b'x');
    std::fs::write(dest, bytes).unwrap();
}

#[test]
fn a_model_whose_chat_template_cannot_be_applied_falls_back_visibly() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("odd-template.gguf");
    with_unusable_template(&odd);
    let out = council(
        &[
            "--embedded-model",
            odd.to_str().unwrap(),
            "chat",
            "--max-tokens",
            "8",
            "Name one risk.",
        ],
        &[],
    );
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("cannot apply the GGUF's chat template") && err.contains("ChatML"),
        "{err}"
    );
    // The model's own template raises no such warning.
    let out = council(
        &[
            "--embedded-model",
            council_tests::model_path().to_str().unwrap(),
            "chat",
            "--max-tokens",
            "8",
            "Name one risk.",
        ],
        &[],
    );
    assert!(out.status.success());
    assert!(
        !text(&out.stderr).contains("ChatML"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_hf_model_path_downloads_through_the_same_verified_code() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hub = rt.block_on(FakeHub::start(
        REPO,
        "mine.gguf",
        model_bytes(),
        HubOptions {
            cut_first: true,
            ..HubOptions::default()
        },
    ));
    let cache = tempfile::tempdir().unwrap();
    let spec = format!("hf:{REPO}/mine.gguf");
    let env = [
        ("COUNCIL_CACHE_DIR", cache.path().to_str().unwrap()),
        ("HF_ENDPOINT", hub.endpoint.as_str()),
        ("COUNCIL_MODEL_PATH", spec.as_str()),
    ];
    let out = council(&["models"], &env);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("model:     mine.gguf"), "{s}");
    let models = cache.path().join("models");
    assert_eq!(files_in(&models), vec!["mine.gguf".to_string()]);
    assert_eq!(crate_sha(&models.join("mine.gguf")), DEFAULT_MODEL_SHA256);
    // Cut half-way, resumed from there.
    assert_eq!(hub.ranges().len(), 2, "{:?}", hub.ranges());
}
