//! Render speed: a five-round, six-advisor report as Markdown, HTML and
//! JSON, timed over repeated renders. `cargo bench -p council-render`.

use council_core::report::{Backing, FuturePath, Milestone, PanelEntry, Tally};
use council_core::{Move, PanelMember, Report, Round, Turn, TurnStatus, Usage};
use council_render::{render, Format};
use std::time::Instant;

fn report() -> Report {
    let ids = [
        "cfo",
        "cto",
        "coo",
        "brand-strategist",
        "contrarian",
        "auditor",
    ];
    let text = "Pricing power depends on how much of the workflow we own; renewal data shows a 10% rise holds. ".repeat(6);
    let rounds = (1..=5)
        .map(|n| Round {
            number: n,
            summary: Some(text.clone()),
            turns: ids
                .iter()
                .map(|id| Turn {
                    round: n,
                    persona: id.to_string(),
                    status: TurnStatus::Ok,
                    move_: Some(Move::Challenge),
                    text: text.clone(),
                    responds_to: vec!["cfo".into()],
                    confidence: Some(60),
                    citations: vec![],
                    assumption: None,
                    target_peer: None,
                    target_assumption: None,
                    story: None,
                    systemic_change: None,
                    flags: vec![],
                    error: None,
                    usage: Usage::reported(900, 300),
                    backend: "fake".into(),
                    model: "m".into(),
                })
                .collect(),
        })
        .collect();
    Report {
        version: council_core::REPORT_VERSION,
        question: "Should we raise prices?".into(),
        date: "2026-11-26".into(),
        lang: "en".into(),
        verdict_stance: None,
        verdict: text.clone(),
        reasoning: text.clone(),
        votes: vec![],
        tally: Tally::default(),
        forecasts: vec![],
        actions: vec![],
        paths: (0..3)
            .map(|k| FuturePath {
                scenario: None,
                title: format!("Path {k}"),
                premise: text.clone(),
                milestones: [3, 6, 12, 24]
                    .iter()
                    .map(|m| Milestone {
                        month: *m,
                        event: text.clone(),
                        backing: Backing::None,
                    })
                    .collect(),
            })
            .collect(),
        story: vec![text.clone(), text.clone()],
        evidence: vec![],
        risks: vec![],
        panel: ids
            .iter()
            .map(|id| PanelEntry {
                member: PanelMember {
                    id: id.to_string(),
                    name: id.to_uppercase(),
                    role: "role".into(),
                },
                trajectory: vec![Some(50), Some(60), Some(55), Some(70), Some(65)],
                final_confidence: Some(65),
            })
            .collect(),
        rounds,
        sources_used: vec![],
        sources_unused: vec![],
        verification: Default::default(),
        flags: vec![],
        produced_by: "fake m".into(),
        usage: Usage::none(),
    }
}

fn main() {
    let r = report();
    for (format, name) in [
        (Format::Markdown, "markdown"),
        (Format::Html, "html"),
        (Format::Json, "json"),
    ] {
        let n = 50;
        let start = Instant::now();
        let mut bytes = 0;
        for _ in 0..n {
            bytes = render(&r, format).expect("render").len();
        }
        let each = start.elapsed().as_secs_f64() / f64::from(n);
        println!(
            "{name:>8}: {:.2} ms per five-round report ({bytes} bytes)",
            each * 1000.0
        );
    }
}
