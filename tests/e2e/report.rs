//! The report from a recorded debate: snapshots in English and Chinese,
//! escaping of untrusted text, and quote verification.

use council_core::answers::Scenario;
use council_core::synthesis::SynthesisKind;
use council_core::transcript::SynthesisPart;
use council_core::{Transcript, TurnStatus, Usage};
use council_engine::report::report_for as build_report;
use council_render::{render, Format};
use serde_json::json;

async fn transcript() -> Transcript {
    crate::debate::replay_debate().await
}

#[tokio::test]
async fn markdown_and_html_snapshots_in_english_and_chinese() {
    let t = transcript().await;
    // Error messages may name the checkout's absolute path.
    let root = council_tests::workspace_root().display().to_string();
    for lang in ["en", "zh"] {
        let report = build_report(&t, Some(lang));
        let md = render(&report, Format::Markdown)
            .unwrap()
            .replace(&root, "[ROOT]");
        // HTML escapes the slashes of the path.
        let html = render(&report, Format::Html)
            .unwrap()
            .replace(&root.replace('/', "&#x2F;"), "[ROOT]");
        // A complete fixture: no part failed, nothing missed the cassette.
        for (format, text) in [("md", &md), ("html", &html)] {
            for error in [
                "cassette",
                "no recorded answer",
                "` failed:",
                "could not be read",
                "the model call failed",
                "Not available",
                "综合分析失败",
            ] {
                assert!(
                    !text.contains(error),
                    "{lang} {format} report holds {error:?}"
                );
            }
        }
        insta::assert_snapshot!(format!("report_{lang}_md"), md);
        insta::assert_snapshot!(format!("report_{lang}_html"), html);
    }
}

/// The replayed debate with every turn's and part's flags cleared, every
/// quote taken out of the synthesis and every vote at confidence 70: what
/// a sound run's report opens with.
async fn sound_transcript() -> Transcript {
    let mut t = transcript().await;
    for turn in t.rounds.iter_mut().flat_map(|r| r.turns.iter_mut()) {
        turn.flags.clear();
    }
    fn unquote(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                if m.contains_key("quote") {
                    m.insert("quote".into(), json!(""));
                }
                m.values_mut().for_each(unquote);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(unquote),
            _ => {}
        }
    }
    for p in &mut t.synthesis {
        unquote(&mut p.value);
        p.flags.clear();
        // The embedded model votes at confidences of 0 or 1: a sound board
        // is one whose vote carries weight.
        if let Some(c) = p.value.get_mut("confidence") {
            *c = json!(70);
        }
    }
    t
}

#[tokio::test]
async fn a_sound_report_opens_with_one_status_line_in_english_and_chinese() {
    let t = sound_transcript().await;
    for lang in ["en", "zh"] {
        let report = build_report(&t, Some(lang));
        assert!(report.concerns.is_empty(), "{:?}", report.concerns);
        let md = render(&report, Format::Markdown).unwrap();
        // The head: title, question, provenance and the status line.
        let head = &md[..md.find("\n## ").unwrap()];
        insta::assert_snapshot!(format!("report_{lang}_status_line"), head);
    }
}

#[tokio::test]
async fn the_report_has_every_section_in_order() {
    let t = transcript().await;
    let md = render(&build_report(&t, Some("en")), Format::Markdown).unwrap();
    let headings = [
        "**Question:**",
        "## Verdict",
        "### The panel's vote",
        "## Forecasts",
        "## Action plan",
        "## Three future paths",
        "## The deeper story",
        "## Evidence",
        "## Risks to the verdict",
        "## The panel",
        "## The debate, round by round",
        "## Sources",
        "## What was flagged",
        "not professional advice",
    ];
    let mut at = 0;
    for h in headings {
        let found = md[at..]
            .find(h)
            .unwrap_or_else(|| panic!("{h:?} missing or out of order"));
        at += found + h.len();
    }
    let zh = render(&build_report(&t, Some("zh")), Format::Markdown).unwrap();
    assert!(zh.contains("## 结论") && zh.contains("## 行动计划") && zh.contains("并非专业建议"));
}

#[tokio::test]
async fn untrusted_text_is_escaped_in_html() {
    let mut t = transcript().await;
    t.question = "Should we <script>alert('q')</script> expand?".into();
    t.rounds[0].turns[0].text = "<script>alert('turn')</script><img src=x onerror=alert(1)>".into();
    t.panel[0].name = "<b>Bold</b> <script>alert('name')</script>".into();
    if let Some(v) = t
        .synthesis
        .iter_mut()
        .find(|p| p.part == SynthesisKind::Verdict)
    {
        v.value["answer"] = json!("Yes.<script>alert('verdict')</script>");
    }
    let html = render(&build_report(&t, None), Format::Html).unwrap();
    assert!(!html.contains("<script"), "a script tag survived");
    assert!(!html.contains("<img"), "an img tag survived");
    assert!(
        html.contains("Should we &lt;script&gt;alert(&#x27;q&#x27;)&lt;&#x2F;script&gt; expand?"),
        "the question was dropped instead of escaped"
    );
    assert!(
        html.contains("&lt;script&gt;alert(&#x27;turn&#x27;)&lt;&#x2F;script&gt;&lt;img src=x onerror=alert(1)&gt;"),
        "turn text not escaped"
    );
    assert!(
        html.contains("Yes.&lt;script&gt;alert(&#x27;verdict&#x27;)&lt;&#x2F;script&gt;"),
        "verdict not escaped"
    );
}

#[tokio::test]
async fn a_made_up_quote_is_flagged_and_a_genuine_one_passes() {
    let mut t = transcript().await;
    // Any spoken turn of six words or more (the recorded small model's
    // turns vary in length from one recording to the next).
    let turn = t
        .rounds
        .iter()
        .flat_map(|r| &r.turns)
        .find(|x| x.status == TurnStatus::Ok && x.text.split_whitespace().count() >= 6)
        .expect("a turn with words")
        .clone();
    let genuine: String = turn
        .text
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ");
    t.synthesis.retain(|p| p.part != SynthesisKind::Evidence);
    t.synthesis.push(answered(SynthesisKind::Evidence, json!({"items": [
            {"claim": "genuine", "persona": turn.persona, "quote": genuine, "source": 0},
            {"claim": "invented", "persona": turn.persona, "quote": "we will triple revenue by selling to penguins", "source": 0}
        ]})));
    let report = build_report(&t, None);
    assert!(
        report.evidence[0].verified,
        "a genuine quote was flagged: {genuine:?}"
    );
    assert!(!report.evidence[1].verified);
    assert!(report
        .verification
        .unverified_quotes
        .iter()
        .any(|(_, _, q)| q.contains("penguins")));
    assert!(report
        .verification
        .unverified_quotes
        .iter()
        .any(|(_, _, q)| q.contains("penguins")));
    assert!(
        report.flags.iter().any(|f| f.contains("penguins")),
        "the report does not say what was flagged"
    );
    let json = render(&report, Format::Json).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(!v["verification"]["unverified_quotes"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_quote_with_its_meaning_turned_is_not_verified() {
    let mut t = transcript().await;
    let said = "We should raise list prices by 15% for new customers in January, not for renewals.";
    let turn = &mut t.rounds[2].turns[0];
    turn.text = said.into();
    let persona = turn.persona.clone();
    let quotes = [
        (
            "said",
            "we should raise list prices by 15% for new customers",
            true,
        ),
        (
            "negated",
            "we should not raise list prices by 15% for new customers",
            false,
        ),
        (
            "changed number",
            "we should raise list prices by 20% for new customers",
            false,
        ),
        (
            "reordered",
            "for new customers we should raise list prices by 15%",
            false,
        ),
        (
            "elided",
            "we should raise list prices … not for renewals",
            true,
        ),
    ];
    t.synthesis.retain(|p| p.part != SynthesisKind::Evidence);
    t.synthesis.push(answered(SynthesisKind::Evidence, json!({"items": quotes.iter().map(|(claim, quote, _)| json!({
            "claim": claim, "persona": persona, "quote": quote, "source": 0})).collect::<Vec<_>>()})));
    let report = build_report(&t, None);
    for ((claim, quote, expected), e) in quotes.iter().zip(&report.evidence) {
        assert_eq!(e.verified, *expected, "{claim}: {quote:?} in {said:?}");
    }
}

#[tokio::test]
async fn evidence_citing_a_source_the_run_lacks_is_shown_unverified() {
    let mut t = transcript().await;
    assert!(t.sources.is_empty(), "the recorded run has no library");
    let persona = t.panel[0].id.clone();
    t.synthesis.retain(|p| p.part != SynthesisKind::Evidence);
    t.synthesis.push(answered(SynthesisKind::Evidence, json!({"items": [
            {"claim": "Churn doubles after a rise", "persona": persona, "quote": "", "source": 7}]})));
    let report = build_report(&t, None);
    assert!(!report.evidence[0].verified);
    assert!(report
        .flags
        .iter()
        .any(|f| f == "evidence: an item cites [7], which is not a library source of this run"));
    let md = render(&report, Format::Markdown).unwrap();
    let line = md
        .lines()
        .find(|l| l.contains("Churn doubles after a rise"))
        .unwrap();
    assert!(line.contains("unverified"), "{line}");
    let html = render(&report, Format::Html).unwrap();
    let item = html
        .lines()
        .find(|l| l.contains("Churn doubles after a rise"))
        .unwrap();
    assert!(item.contains("unverified"), "{item}");
}

/// Sets the verdict's stance and every advisor's vote stance.
fn with_stances(t: &mut council_core::Transcript, verdict: &str, votes: &str) {
    for p in &mut t.synthesis {
        match p.part {
            SynthesisKind::Verdict => p.value["stance"] = json!(verdict),
            SynthesisKind::Vote(_) => {
                p.value["stance"] = json!(votes);
                p.value["confidence"] = json!(85);
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_verdict_against_the_panel_is_said_beside_it_and_counted() {
    let mut t = transcript().await;
    with_stances(&mut t, "support", "oppose");
    let report = build_report(&t, None);
    assert_eq!(report.verification.verdict_contradictions, 1);
    assert!(
        report.flags[0].starts_with(
            "verdict: its stance is support but the panel's weighted vote leans oppose (100%)"
        ),
        "{:?}",
        report.flags
    );
    let md = render(&report, Format::Markdown).unwrap();
    let verdict_section =
        &md[md.find("## Verdict").unwrap()..md.find("### The panel's vote").unwrap()];
    assert!(
        verdict_section
            .contains("The verdict says Yes, but the panel's weighted vote leans Oppose (100%)"),
        "{verdict_section}"
    );
    let html = render(&report, Format::Html).unwrap();
    assert!(html.contains("role=\"alert\""));
    let json: serde_json::Value =
        serde_json::from_str(&render(&report, Format::Json).unwrap()).unwrap();
    assert_eq!(json["verification"]["verdict_contradictions"], 1);
    let zh = render(&build_report(&t, Some("zh")), Format::Markdown).unwrap();
    assert!(
        zh.contains("结论为“是”，但委员会的加权投票倾向“反对”"),
        "{zh}"
    );

    // A verdict that agrees with the panel says nothing of the kind.
    with_stances(&mut t, "oppose", "oppose");
    let report = build_report(&t, None);
    assert_eq!(report.verification.verdict_contradictions, 0);
    assert!(!render(&report, Format::Markdown)
        .unwrap()
        .contains("weighted vote leans"));
}

#[tokio::test]
async fn a_story_paragraph_without_a_word_is_left_out_and_said() {
    let mut t = transcript().await;
    for p in &mut t.synthesis {
        if p.part == SynthesisKind::Story {
            p.value = json!({"paragraphs": ["The board is buying time.", "] {"]});
        }
    }
    let report = build_report(&t, None);
    assert_eq!(report.story, ["The board is buying time."]);
    assert!(report
        .flags
        .iter()
        .any(|f| f == "story: 1 paragraph(s) without a word left out"));
}

#[tokio::test]
async fn wordless_actions_risks_forecasts_and_vote_reasons_are_left_out_and_said() {
    let mut t = transcript().await;
    let action = |a: &str| json!({"action": a, "owner": "CEO", "start_day": 0, "end_day": 7, "script": "", "trigger": ""});
    for p in &mut t.synthesis {
        match &p.part {
            SynthesisKind::Actions => {
                p.value = json!({"actions": [action("Call the ten largest customers"), action("1"), action("))"), action("2027-01-27"), action("trigger_nextday")]})
            }
            SynthesisKind::Risks => {
                p.value = json!({"risks": [{"risk": "Churn rises", "why": "w"}, {"risk": "}}{", "why": "w"}, {"risk": "42", "why": "w"}]})
            }
            SynthesisKind::Forecasts => {
                p.value = json!({"forecasts": [{"statement": "NRR tops 110% by Q3", "horizon_months": 6}, {"statement": "))))", "horizon_months": 6}, {"statement": "2027-01-27", "horizon_months": 6}]})
            }
            SynthesisKind::Vote(id) if id == "cfo" => p.value["reason"] = json!("))) 100"),
            _ => {}
        }
    }
    let report = build_report(&t, None);
    assert_eq!(report.actions.len(), 1);
    assert_eq!(report.risks.len(), 1);
    assert_eq!(report.forecasts.len(), 1);
    assert_eq!(report.forecasts[0].statement, "NRR tops 110% by Q3");
    let cfo = report.votes.iter().find(|v| v.persona == "cfo").unwrap();
    assert_eq!(cfo.reason, "");
    for expected in [
        "action plan: 4 action(s) without a word left out",
        "risks: 2 risk(s) without a word left out",
        "has no words (\"))))\"); left out",
        "vote: The CFO's reason has no words; left out",
    ] {
        assert!(
            report.flags.iter().any(|f| f.contains(expected)),
            "{expected} missing from {:?}",
            report.flags
        );
    }
}

/// A synthesis part answered with `value`.
fn answered(part: SynthesisKind, value: serde_json::Value) -> SynthesisPart {
    SynthesisPart {
        part,
        value,
        error: None,
        flags: Vec::new(),
        copied_from: None,
        usage: Usage::none(),
        backend: "test".into(),
        model: "test".into(),
    }
}

#[tokio::test]
async fn wordless_milestones_and_path_titles_are_left_out_and_said() {
    let mut t = transcript().await;
    let m = |event: &str| json!({"event": event, "persona": "", "quote": "", "forecast_id": ""});
    t.synthesis
        .retain(|p| p.part != SynthesisKind::Path(Scenario::Works));
    t.synthesis.push(answered(SynthesisKind::Path(Scenario::Works), json!({"title": "}} { {", "premise": "2026-11-28 20:21:21, 2026-11-28", "milestones": {
            "month_3": m("Win rate holds at 30%"), "month_6": m("}} { {"), "month_9": m("3:30:30"),
            "month_12": m("Churn stays under 2%"), "month_18": m("] ,"), "month_24": m("2028-01-01")}})));
    let report = build_report(&t, None);
    let works = report
        .paths
        .iter()
        .find(|p| p.scenario == Some(Scenario::Works))
        .unwrap();
    let events: Vec<&str> = works.milestones.iter().map(|m| m.event.as_str()).collect();
    assert_eq!(events, ["Win rate holds at 30%", "Churn stays under 2%"]);
    assert_eq!(works.title, "");
    assert_eq!(works.premise, "");
    for expected in [
        "4 milestone(s) without a word left out",
        "its premise has no words",
        "its title has no words (\"}} { {\"); left out",
    ] {
        assert!(
            report.flags.iter().any(|f| f.contains(expected)),
            "{expected} missing from {:?}",
            report.flags
        );
    }
}

#[tokio::test]
async fn milestones_citing_unknown_forecasts_are_counted() {
    let mut t = transcript().await;
    let recorded = build_report(&t, None).verification.unknown_forecast_ids;
    let m = json!({"event": "Churn rises", "persona": "", "quote": "", "forecast_id": "F-000000"});
    t.synthesis
        .retain(|p| p.part != SynthesisKind::Path(Scenario::Works));
    t.synthesis.push(answered(SynthesisKind::Path(Scenario::Works), json!({"title": "A", "premise": "p", "milestones": {
            "month_3": m, "month_6": m, "month_9": m, "month_12": m, "month_18": m, "month_24": m}})));
    let unknown = build_report(&t, None).verification.unknown_forecast_ids;
    // The made-up id is counted once; the rest are the recorded run's own.
    assert_eq!(unknown.iter().filter(|id| *id == "F-000000").count(), 1);
    assert!(
        unknown
            .iter()
            .filter(|id| *id != "F-000000")
            .all(|id| recorded.contains(id)),
        "{unknown:?} {recorded:?}"
    );
}

#[tokio::test]
async fn a_version_1_transcript_still_renders() {
    let path = council_tests::workspace_root().join("tests/fixtures/transcript-v1.json");
    let t = council_engine::read_transcript(&path).unwrap();
    assert_eq!(t.version, 1);
    let report = build_report(&t, None);
    assert!(!report.verdict.is_empty());
    assert_eq!(
        report.verdict_stance, None,
        "version 1 verdicts had no stance"
    );
    assert_eq!(report.paths.len(), 3);
    assert!(report
        .paths
        .iter()
        .all(|p| p.scenario.is_none() && !p.milestones.is_empty()));
    // Forecast ids are derived from the statements: the votes' probabilities still find them.
    assert!(!report.forecasts.is_empty());
    assert!(
        report.forecasts.iter().all(|f| !f.probabilities.is_empty()),
        "{:?}",
        report.forecasts
    );
    // Its votes were on the verdict: shown, not counted, and said so.
    assert_eq!(report.votes.len(), 6);
    assert!(report
        .votes
        .iter()
        .all(|v| v.stance.is_none() && v.confidence.is_some()));
    assert_eq!(report.tally.counted, 0);
    assert!(
        report.flags.iter().any(|f| f.contains("format version 1")),
        "{:?}",
        report.flags
    );
    // Two of its paths share a title: flagged.
    assert!(
        report.flags.iter().any(|f| f.contains("share the title")),
        "{:?}",
        report.flags
    );
    let md = render(&report, Format::Markdown).unwrap();
    assert!(md.contains(&report.verdict) && md.contains("## Three future paths"));
    assert!(render(&report, Format::Html).unwrap().contains("<svg"));
    let json: serde_json::Value =
        serde_json::from_str(&render(&report, Format::Json).unwrap()).unwrap();
    assert_eq!(json["version"], council_core::REPORT_VERSION);
}

#[tokio::test]
async fn a_version_2_transcript_loads_with_every_stance_unknown() {
    let path = council_tests::workspace_root().join("tests/fixtures/transcript-v2.json");
    let t = council_engine::read_transcript(&path).unwrap();
    assert_eq!(t.version, 2);
    let turns: Vec<&council_core::Turn> = t.rounds.iter().flat_map(|r| &r.turns).collect();
    assert_eq!(turns.len(), 30);
    assert!(
        turns.iter().all(|x| x.stance.is_none()),
        "version 2 turns stated no stance"
    );
    assert!(t.followups.is_empty() && t.origin.is_none());
    // Its synthesis still reads: a verdict with a stance, counted votes.
    let report = build_report(&t, None);
    assert!(report.verdict_stance.is_some());
    assert!(report.tally.counted > 0);
    assert!(render(&report, Format::Markdown)
        .unwrap()
        .contains(&report.question));
}

/// The start date of an action's `when` (a day, or the first of a window).
fn start_of(when: &str) -> &str {
    when.split(" – ").next().unwrap_or(when)
}

#[tokio::test]
async fn three_recorded_runs_have_their_action_plans_in_date_order() {
    let root = council_tests::workspace_root();
    let work = tempfile::tempdir().unwrap();
    let runs = vec![
        ("the recorded debate", transcript().await),
        (
            "the version 1 transcript",
            council_engine::read_transcript(&root.join("tests/fixtures/transcript-v1.json"))
                .unwrap(),
        ),
        (
            "the strong fixture",
            council_tests::strong::replay_strong_debate(work.path())
                .await
                .unwrap(),
        ),
    ];
    for (name, t) in runs {
        let report = build_report(&t, None);
        let starts: Vec<&str> = report.actions.iter().map(|a| start_of(&a.when)).collect();
        assert!(starts.len() > 1, "{name}: a plan of several actions");
        let mut sorted = starts.clone();
        sorted.sort();
        assert_eq!(starts, sorted, "{name}: the plan is not in date order");
        // The Markdown lists them in the same order.
        let md = render(&report, Format::Markdown).unwrap();
        let at: Vec<usize> = report
            .actions
            .iter()
            .map(|a| md.find(&format!("**{}**", a.when)).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{name}: {at:?}");
    }
}
