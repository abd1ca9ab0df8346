//! A small report with every section filled, for this crate's unit tests.

use council_core::cost::{CostLine, RunCost};
use council_core::report::*;
use council_core::variant::{Length, Origin, VariantSpec};
use council_core::{Move, PanelMember, Round, Turn, Usage};

fn turn(round: u32, persona: &str, text: &str) -> Turn {
    Turn {
        move_: Some(Move::Challenge),
        text: text.into(),
        confidence: Some(70),
        ..Turn::empty(round, persona)
    }
}

fn cost_line(label: &str, usd: Option<f64>) -> CostLine {
    CostLine {
        label: label.into(),
        usage: Usage::reported(1000, 200),
        usd,
        unpriced_calls: u32::from(usd.is_none()),
    }
}

/// A report of `length` with a follow-up, an origin and a cost.
pub(crate) fn report(length: Length) -> Report {
    let member = |id: &str, name: &str| PanelEntry {
        member: PanelMember {
            id: id.into(),
            name: name.into(),
            role: "Advisor".into(),
            i18n: Default::default(),
        },
        trajectory: vec![Some(60), Some(70)],
        final_confidence: Some(70),
    };
    let votes = vec![Vote {
        persona: "cfo".into(),
        name: "The CFO".into(),
        stance: Some(Stance::Support),
        confidence: Some(85),
        weight: recalibrate(85),
        reason: "Cash allows it.".into(),
    }];
    Report {
        version: REPORT_VERSION,
        status: Default::default(),
        quality: Default::default(),
        concerns: Vec::new(),
        remedy: None,
        question: "Should we open a Berlin office?".into(),
        date: "2026-11-26".into(),
        lang: "en".into(),
        verdict_stance: Some(Stance::Mixed),
        verdict: "Yes, if the pilot pays back.".into(),
        reasoning: "Demand is there; cost is the doubt.".into(),
        tally: tally(&votes),
        votes,
        forecasts: vec![Forecast {
            id: "F-abc123".into(),
            statement: "Ten German clients sign by June.".into(),
            horizon: "2027-06-30".into(),
            probabilities: vec![("cfo".into(), 0.6)],
            median: Some(0.6),
            range: Some((0.6, 0.6)),
        }],
        actions: vec![
            Action {
                action: "Hire a country lead".into(),
                owner: "CEO".into(),
                when: "2026-12-15".into(),
                script: Some("We are coming to Berlin.".into()),
                trigger: None,
            },
            Action {
                action: "Review the pilot".into(),
                owner: "CFO".into(),
                when: "2027-03-01".into(),
                script: None,
                trigger: Some("fewer than five clients".into()),
            },
        ],
        paths: vec![FuturePath {
            scenario: Some(Scenario::Works),
            title: "Berlin grows".into(),
            premise: "The pilot pays back.".into(),
            milestones: vec![Milestone {
                month: 3,
                event: "First client".into(),
                backing: Backing::None,
            }],
        }],
        story: vec!["A company outgrowing its home.".into()],
        evidence: vec![Evidence {
            claim: "German demand is rising.".into(),
            source: None,
            persona: Some("cfo".into()),
            quote: None,
            verified: true,
        }],
        risks: vec![Risk {
            risk: "Hiring is slow".into(),
            why: "Without a lead nothing moves.".into(),
        }],
        panel: vec![member("cfo", "The CFO"), member("cto", "The CTO")],
        rounds: vec![Round {
            number: 1,
            summary: Some("They agree on demand.".into()),
            summary_call: None,
            turns: vec![turn(1, "cfo", "The unit economics work out in year two.")],
        }],
        sources_used: Vec::new(),
        sources_unused: Vec::new(),
        verification: Verification::default(),
        flags: vec!["cto: very short answer".into()],
        followups: vec![FollowupSection {
            number: 1,
            question: "What if the euro falls?".into(),
            answer: "Then wait a quarter.".into(),
            what_changed: "The timing, not the verdict.".into(),
            new_risks: vec!["Currency swings".into()],
            summary: Some("Most would wait.".into()),
            turns: vec![turn(6, "cto", "A weaker euro makes hiring cheaper.")],
        }],
        // Read from JSON so that fields added to Origin later default.
        origin: Some(
            serde_json::from_value::<Origin>(serde_json::json!({
                "kind": "branch",
                "source": "transcripts/run-a",
                "source_question": "Should we open a Berlin office?",
                "from_round": 3,
                "changes": ["swap cfo=brand-strategist"],
            }))
            .unwrap(),
        ),
        variant: Some(VariantSpec {
            length,
            ..VariantSpec::default()
        }),
        produced_by: "test model".into(),
        producers: Vec::new(),
        usage: Usage::reported(5000, 1000),
        cost: Some(RunCost {
            total: cost_line("total", None),
            moderator: cost_line("moderator", Some(0.0123)),
            synthesis: cost_line("synthesis", Some(1.5)),
            by_persona: vec![cost_line("The CFO", None), cost_line("The CTO", Some(0.2))],
            followups: vec![cost_line("follow-up 1", Some(0.01))],
            unpriced_models: vec!["my-local-model".into()],
            builtin_date: Some("2025-08-15".into()),
            ..RunCost::default()
        }),
        condition: Default::default(),
    }
}
