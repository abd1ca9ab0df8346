//! The research library end to end: ingesting a ten-document library,
//! citations through a debate, used and unused sources, bad inputs.

use async_trait::async_trait;
use council_core::{citation_number, TurnStatus, Usage};
use council_engine::report::report_for as build_report;
use council_engine::{run, Debate, DebateSettings, Models, NoProgress, Prompts, RunStore};
use council_library::Library;
use council_llm::{
    Capabilities, ChatModel, ChatRequest, ChatResponse, FinishReason, LlmError, ModelInfo,
};
use std::path::PathBuf;
use std::sync::Arc;

fn library_dir() -> PathBuf {
    council_tests::workspace_root().join("tests/fixtures/library")
}

/// A cooperative model: answers every schema, cites the first library
/// passage its prompt shows, and quotes that passage's first words.
struct CitingModel;

#[async_trait]
impl ChatModel for CitingModel {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            backend: "citing-fake".into(),
            model: "fake".into(),
            location: "memory".into(),
            capabilities: Capabilities {
                native_json_schema: true,
                seeded: true,
                concurrent: true,
                offline: true,
                context_tokens: None,
            },
        }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let prompt = &request.messages.last().expect("a message").content;
        // Library lines look like "[3] Title: passage text".
        let cited = prompt.lines().find_map(|l| {
            let rest = l.strip_prefix('[')?;
            let (n, tail) = rest.split_once("] ")?;
            let n: u32 = n.parse().ok()?;
            let text = tail.split_once(": ")?.1;
            // The last words of the line are passage text for sure (the
            // title may itself contain ": ").
            let words: Vec<&str> = text.trim_end_matches('…').split_whitespace().collect();
            let quote = words[words.len().saturating_sub(5)..].join(" ");
            Some((n, quote))
        });
        let Some(spec) = &request.schema else {
            return Ok(reply(
                "The board weighed the survey and the churn data.".into(),
                None,
            ));
        };
        let mut v = council_llm::schema::example_for(
            &spec.schema,
            "Pricing should follow the survey and churn data.",
        );
        if let (Some((n, quote)), Some(obj)) = (&cited, v.as_object_mut()) {
            if obj.contains_key("citations") {
                obj.insert("citations".into(), serde_json::json!([format!("[{n}]")]));
                obj.insert(
                    "text".into(),
                    serde_json::json!(format!(
                        "On prices and churn, the source says \"{quote}\" and that matters."
                    )),
                );
            }
        }
        Ok(reply(v.to_string(), Some(v)))
    }
}

fn reply(text: String, json: Option<serde_json::Value>) -> ChatResponse {
    ChatResponse {
        text,
        json,
        finish_reason: FinishReason::Stop,
        usage: Usage::reported(10, 10),
        model: "fake".into(),
        attempts: 1,
    }
}

#[tokio::test]
async fn a_debate_over_a_ten_document_library_cites_and_accounts_for_its_sources() {
    let cache = tempfile::tempdir().unwrap();
    let (library, problems) = Library::load(&[library_dir()], cache.path()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    // Nine documents plus three bibliography entries.
    assert_eq!(library.documents().len(), 12);
    let html = library
        .documents()
        .iter()
        .find(|d| d.source.location.ends_with(".html"))
        .unwrap();
    assert!(
        !html.text.contains("console.log"),
        "scripts must not reach the text"
    );

    let roster = council_personas::Roster::builtin().unwrap();
    let ids: Vec<String> = [
        "cfo",
        "sales-leader",
        "customer-advocate",
        "contrarian",
        "auditor",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let prompts = Prompts::builtin().unwrap();
    let debate = Debate {
        question: "Should we raise list prices by 15% for new customers next quarter?".into(),
        panel: roster.panel_from_ids(&ids).unwrap(),
        settings: DebateSettings {
            rounds: 3,
            max_concurrency: 5,
            seed: 3,
            date: "2026-11-26".into(),
            lang: "en".into(),
            max_tokens: 500,
            synthesis: true,
        },
        models: Models::new(Arc::new(CitingModel)),
        prompts: &prompts,
        progress: &NoProgress,
        notes: Vec::new(),
        library: Some(&library),
        library_inputs: vec![library_dir().display().to_string()],
    };
    let dir = tempfile::tempdir().unwrap();
    let mut store = RunStore::create(&dir.path().join("run")).unwrap();
    let t = run(&debate, &mut store).await.unwrap();

    assert_eq!(
        t.sources.len(),
        12,
        "the transcript keeps the sources for rendering"
    );
    let turns: Vec<_> = t
        .rounds
        .iter()
        .flat_map(|r| &r.turns)
        .filter(|x| x.status == TurnStatus::Ok)
        .collect();
    let cited: Vec<u32> = turns
        .iter()
        .flat_map(|x| x.citations.iter().filter_map(|c| citation_number(c)))
        .collect();
    assert!(!cited.is_empty(), "no source was cited");
    for x in &turns {
        assert!(
            !x.flags
                .iter()
                .any(|f| f.contains("does not resolve") || f.contains("not found in the cited")),
            "{:?}",
            x.flags
        );
    }

    let report = build_report(&t, None);
    let used: Vec<u32> = report.sources_used.iter().map(|s| s.number).collect();
    let unused: Vec<u32> = report.sources_unused.iter().map(|s| s.number).collect();
    let mut expected: Vec<u32> = cited.clone();
    expected.sort_unstable();
    expected.dedup();
    assert_eq!(
        used, expected,
        "used sources must be exactly those cited in the transcript"
    );
    assert_eq!(used.len() + unused.len(), 12);
    assert!(unused.iter().all(|n| !cited.contains(n)));
    for s in &report.sources_used {
        assert_eq!(
            s.cited as usize,
            cited.iter().filter(|n| **n == s.number).count(),
            "source [{}] count",
            s.number
        );
    }
    // Rendering needs nothing but the transcript.
    let md = council_render::render(&report, council_render::Format::Markdown).unwrap();
    assert!(md.contains(&format!("[{}] ", used[0])));
}

#[tokio::test]
async fn bad_inputs_are_reported_and_the_rest_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(bad.join("binary.txt"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    std::fs::write(
        bad.join("broken.pdf"),
        b"%PDF-1.4\nthis is not really a pdf",
    )
    .unwrap();
    std::os::unix::fs::symlink("/nonexistent/council/gone.md", bad.join("unreadable.md")).unwrap();
    let big = std::fs::File::create(bad.join("huge.txt")).unwrap();
    big.set_len(50 * 1024 * 1024).unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();

    let cache = tempfile::tempdir().unwrap();
    let (library, problems) =
        Library::load(&[library_dir(), bad.clone(), empty.clone()], cache.path()).unwrap();
    assert_eq!(
        library.documents().len(),
        12,
        "the good library still loads"
    );
    let about = |name: &str| {
        problems
            .iter()
            .find(|p| p.path.ends_with(name))
            .unwrap_or_else(|| panic!("no problem for {name}: {problems:?}"))
            .to_string()
    };
    assert!(about("binary.txt").contains("looks binary"));
    assert!(about("broken.pdf").contains("not a readable PDF"));
    assert!(about("unreadable.md").contains("cannot read it"));
    assert!(about("huge.txt").contains("50.0 MB") && about("huge.txt").contains("limit"));
    assert!(about("empty").contains("holds no .md"));

    let err = Library::load(&[empty], cache.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("empty") && err.contains("holds no .md"),
        "{err}"
    );
}

#[tokio::test]
async fn a_second_load_reuses_the_cached_index() {
    let cache = tempfile::tempdir().unwrap();
    let (first, _) = Library::load(&[library_dir()], cache.path()).unwrap();
    assert!(!first.index_was_cached);
    let (second, _) = Library::load(&[library_dir()], cache.path()).unwrap();
    assert!(second.index_was_cached);
    let hits = second.search("churn after a price increase", 3);
    assert!(!hits.is_empty());
    assert!(second.contains_passage(
        hits[0].number,
        &hits[0]
            .text
            .split_whitespace()
            .take(6)
            .collect::<Vec<_>>()
            .join(" ")
    ));
}
