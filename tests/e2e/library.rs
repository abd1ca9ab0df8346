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
            capabilities: Capabilities::in_process(),
        }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let prompt = &request.messages.last().expect("a message").content;
        // Library passages are fenced: "<<<SOURCE [3] Title>>>", the
        // passage's lines, then "<<<END SOURCE>>>".
        let mut lines = prompt.lines();
        let cited = lines
            .by_ref()
            .find_map(|l| {
                l.strip_prefix("<<<SOURCE [")?
                    .split_once(']')?
                    .0
                    .parse::<u32>()
                    .ok()
            })
            .map(|n| {
                let text: Vec<&str> = lines.take_while(|l| *l != "<<<END SOURCE>>>").collect();
                let text = text.join(" ");
                // The passage's last words are in its source for sure.
                let words: Vec<&str> = text.trim_end_matches('…').split_whitespace().collect();
                (n, words[words.len().saturating_sub(5)..].join(" "))
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
            condition: Default::default(),
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
    // A client-facing report names files, never the folders they sit in.
    let folder = library_dir().display().to_string();
    assert!(t
        .sources
        .iter()
        .all(|s| s.location.starts_with(&folder) || s.location.starts_with("https://")));
    let html = council_render::render(&report, council_render::Format::Html).unwrap();
    for (name, text) in [("md", &md), ("html", &html)] {
        assert!(!text.contains(&folder), "{name} shows the library's folder");
        assert!(
            !text.contains(&folder.replace('/', "&#x2F;")),
            "{name} shows the library's folder"
        );
    }
    assert!(md.contains("churn-report-q3.md"), "{md}");
    let board = report
        .sources_used
        .iter()
        .chain(&report.sources_unused)
        .find(|s| s.location == "board-memo-oct.html")
        .expect("the board memo by its file name");
    assert_eq!(
        board.title, "Board Memo — Runway & Growth Targets, October 2025",
        "the title's entities are decoded"
    );
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

/// A model that answers every schema with `example_for`, lets `edit`
/// change a turn's answer (given the persona's system prompt and the
/// round's prompt), and keeps every prompt it was sent.
struct ScriptedModel<F> {
    edit: F,
    prompts: std::sync::Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl<F> ChatModel for ScriptedModel<F>
where
    F: Fn(&str, &str, &mut serde_json::Value) + Send + Sync,
{
    fn info(&self) -> ModelInfo {
        CitingModel.info()
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let system = request
            .messages
            .iter()
            .find(|m| m.role == council_llm::Role::System)
            .map(|m| m.content.clone())
            .unwrap_or_default();
        let user = request.messages.last().expect("a message").content.clone();
        self.prompts
            .lock()
            .unwrap()
            .push((system.clone(), user.clone()));
        let Some(spec) = &request.schema else {
            return Ok(reply("The board weighed the data.".into(), None));
        };
        let mut v = council_llm::schema::example_for(
            &spec.schema,
            "Pricing should follow the survey and churn data.",
        );
        if v.get("citations").is_some() {
            (self.edit)(&system, &user, &mut v);
        }
        Ok(reply(v.to_string(), Some(v)))
    }
}

fn debate_over<'a>(
    library: &'a Library,
    prompts: &'a Prompts,
    roster: &council_personas::Roster,
    ids: &[&str],
    rounds: u32,
    model: Arc<dyn ChatModel>,
) -> Debate<'a> {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    Debate {
        question: "Should we raise list prices by 15% for new customers next quarter?".into(),
        panel: roster.seat(roster.panel_from_ids(&ids).unwrap()),
        settings: DebateSettings {
            rounds,
            max_concurrency: 5,
            seed: 3,
            date: "2026-11-26".into(),
            lang: "en".into(),
            max_tokens: 500,
            synthesis: false,
            condition: Default::default(),
        },
        models: Models::new(model),
        prompts,
        progress: &NoProgress,
        notes: Vec::new(),
        library: Some(library),
        library_inputs: vec![library_dir().display().to_string()],
    }
}

#[tokio::test]
async fn a_citation_to_no_source_and_an_invented_quote_are_flagged() {
    let cache = tempfile::tempdir().unwrap();
    let (library, _) = Library::load(&[library_dir()], cache.path()).unwrap();
    let model = Arc::new(ScriptedModel {
        edit: |_: &str, _: &str, v: &mut serde_json::Value| {
            v["citations"] = serde_json::json!(["[99]", "[2]"]);
            v["text"] = serde_json::json!(
                "Pricing matters, and the source says \"enterprise buyers will pay double without blinking\" plainly."
            );
        },
        prompts: Default::default(),
    });
    let prompts = Prompts::builtin().unwrap();
    let roster = council_personas::Roster::builtin().unwrap();
    let d = debate_over(
        &library,
        &prompts,
        &roster,
        &["cfo", "cto", "coo"],
        1,
        model,
    );
    let dir = tempfile::tempdir().unwrap();
    let mut store = RunStore::create(&dir.path().join("run")).unwrap();
    let t = run(&d, &mut store).await.unwrap();
    for turn in &t.rounds[0].turns {
        let flags = turn.flags.join(" | ");
        assert!(
            flags.contains("citation \"[99]\" does not resolve to a library source (1–12)"),
            "{flags}"
        );
        assert!(
            flags.contains("quoted passage not found in the cited source [2]: “enterprise buyers will pay double without blinking”"),
            "{flags}"
        );
    }
}

#[tokio::test]
async fn the_fact_checker_is_shown_the_passages_behind_the_last_rounds_claims() {
    let cache = tempfile::tempdir().unwrap();
    let (library, _) = Library::load(&[library_dir()], cache.path()).unwrap();
    // The fact-checker is a persona of our own, not the built-in Auditor:
    // the seat goes by trait, never by id.
    let dir = tempfile::tempdir().unwrap();
    let builtin = |name: &str| {
        std::fs::read_to_string(council_tests::workspace_root().join("personas").join(name))
            .unwrap()
    };
    std::fs::write(
        dir.path().join("auditor.toml"),
        builtin("auditor.toml").replace("traits = [\"fact_checker\"]", ""),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("checker.toml"),
        builtin("cto.toml")
            .replace("id = \"cto\"", "id = \"checker\"")
            .replace("name = \"The CTO\"", "name = \"The Checker\"")
            + "traits = [\"fact_checker\"]\n",
    )
    .unwrap();
    let roster = council_personas::Roster::with_dir(dir.path()).unwrap();
    // In round 2 everyone claims things about engineering capacity, which
    // the pricing question and the advisors' focus never mention.
    let model = Arc::new(ScriptedModel {
        edit: |_: &str, user: &str, v: &mut serde_json::Value| {
            if user.starts_with("Round 2 of") {
                v["text"] = serde_json::json!(
                    "Engineering capacity is the constraint: the roadmap needs two backend engineers and the platform team is already at full capacity until the hiring plan lands."
                );
            }
        },
        prompts: Default::default(),
    });
    let prompts = Prompts::builtin().unwrap();
    let d = debate_over(
        &library,
        &prompts,
        &roster,
        &["cfo", "sales-leader", "coo"],
        3,
        model.clone(),
    );
    let checker_first = d.panel.iter().position(|p| p.id == "checker").unwrap();
    assert_eq!(
        checker_first,
        d.panel.len() - 1,
        "the fact-checker speaks last"
    );
    let run_dir = tempfile::tempdir().unwrap();
    let mut store = RunStore::create(&run_dir.path().join("run")).unwrap();
    run(&d, &mut store).await.unwrap();
    let prompts = model.prompts.lock().unwrap().clone();
    let round3 = |who: &str| {
        prompts
            .iter()
            .find(|(system, user)| {
                system.contains(&format!("\nYou are {who},")) && user.contains("\nRound 3 of")
            })
            .map(|(_, user)| user.clone())
            .unwrap_or_else(|| panic!("no round 3 prompt for {who}"))
    };
    let passages = |user: &str| {
        user.lines()
            .filter(|l| l.starts_with("<<<SOURCE ["))
            .count()
    };
    let checker = round3("The Checker");
    assert!(
        checker.contains("FACTCHECK the strongest claims"),
        "{checker}"
    );
    assert!(
        checker.contains("Engineering Capacity and Roadmap"),
        "the fact-checker was not shown the source behind the claims: {checker}"
    );
    assert_eq!(passages(&checker), 4, "{checker}");
    let cfo = round3("The CFO");
    assert_eq!(passages(&cfo), 3, "{cfo}");
    assert!(!cfo.contains("FACTCHECK the strongest claims"));
}

/// A one-page PDF whose page says `text` (Helvetica, WinAnsi), with a
/// correct cross-reference table.
fn pdf_saying(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for o in offsets {
        pdf.push_str(&format!("{o:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.into_bytes()
}

#[tokio::test]
async fn a_real_pdf_and_a_json_bibliography_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("board-pack.pdf"),
        pdf_saying("Net revenue retention was 112 percent in 2026."),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("refs.json"),
        r#"{"source": [
            {"title": "Repricing playbook", "url": "https://example.org/repricing", "date": "2025-05-02",
             "excerpt": "Raise prices for new customers first and grandfather renewals for a year."},
            {"title": "No date here", "excerpt": "Discounts fell from 21% to 12% after value pricing."}
        ]}"#,
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let (library, problems) = Library::load(&[dir.path().to_path_buf()], cache.path()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    let docs = library.documents();
    assert_eq!(docs.len(), 3);
    let pdf = docs
        .iter()
        .find(|d| d.source.location.ends_with("board-pack.pdf"))
        .unwrap();
    assert!(
        pdf.text
            .contains("Net revenue retention was 112 percent in 2026."),
        "{:?}",
        pdf.text
    );
    assert!(library.contains_passage(pdf.source.number, "net revenue retention was 112 percent"));
    let dated = docs
        .iter()
        .find(|d| d.source.title.starts_with("Repricing playbook"))
        .unwrap();
    assert_eq!(dated.source.title, "Repricing playbook (2025-05-02)");
    assert_eq!(dated.source.location, "https://example.org/repricing");
    let undated = docs
        .iter()
        .find(|d| d.source.title == "No date here")
        .unwrap();
    assert!(undated.source.location.ends_with("refs.json"));
    let hits = library.search("discounts value pricing", 1);
    assert_eq!(hits[0].number, undated.source.number);
}
