//! The display view of a report: what the templates show, already
//! formatted and localised.

use crate::charts;
use council_core::report::{Backing, Scenario, Stance};
use council_core::{Report, TurnStatus};
use serde_json::{json, Value};
use tera::Context;

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

pub(crate) fn context(r: &Report) -> Context {
    let t = crate::strings(&r.lang);
    let s = |k: &str| t.get(k).cloned().unwrap_or_default();
    let name_of = |id: &str| council_core::name_of(&r.panel, id).to_string();
    let scenario_name = |x: Scenario| s(&format!("scenario_{}", x.as_str()));

    let votes: Vec<Value> = r
        .votes
        .iter()
        .map(|v| {
            json!({
                "name": v.name,
                "stance": v.stance.map_or_else(|| s("no_vote"), |x| s(x.as_str())),
                "stance_class": v.stance.map_or("none", Stance::as_str),
                "confidence": v.confidence.map_or_else(|| "–".into(), |c| c.to_string()),
                "weight": format!("{:.1}", v.weight),
                "reason": v.reason,
            })
        })
        .collect();
    let forecasts: Vec<Value> = r
        .forecasts
        .iter()
        .map(|f| {
            json!({
                "id": f.id, "statement": f.statement, "horizon": f.horizon,
                "median": f.median.map_or_else(|| "–".into(), pct),
                "range": f.range.map_or_else(|| "–".into(), |(a, b)| format!("{}–{}", pct(a), pct(b))),
                "n": f.probabilities.len(),
            })
        })
        .collect();
    let paths: Vec<Value> = r
        .paths
        .iter()
        .map(|p| {
            let milestones: Vec<Value> = p
                .milestones
                .iter()
                .map(|m| {
                    let (backing, ok) = match &m.backing {
                        Backing::Quote {
                            persona,
                            quote,
                            verified,
                        } => {
                            let mark = if *verified {
                                String::new()
                            } else {
                                format!(" ({})", s("unverified"))
                            };
                            (format!("{}: “{quote}”{mark}", name_of(persona)), *verified)
                        }
                        Backing::Forecast {
                            id,
                            probability,
                            valid,
                        } => {
                            if *valid {
                                (
                                    format!(
                                        "{id} ({})",
                                        probability.map_or_else(|| "–".into(), pct)
                                    ),
                                    true,
                                )
                            } else {
                                (format!("{id} ({})", s("unknown_forecast")), false)
                            }
                        }
                        Backing::None => ("–".into(), false),
                    };
                    json!({"month": m.month, "event": m.event, "backing": backing, "ok": ok})
                })
                .collect();
            let scenario = p.scenario.map(scenario_name);
            json!({"title": p.title, "scenario": scenario, "premise": p.premise, "milestones": milestones})
        })
        .collect();
    let evidence: Vec<Value> = r
        .evidence
        .iter()
        .map(|e| {
            let mut cite = Vec::new();
            if let Some(n) = e.source {
                cite.push(format!("[{n}]"));
            }
            if let Some(p) = &e.persona {
                match &e.quote {
                    Some(q) => cite.push(format!("{}: “{q}”", name_of(p))),
                    None => cite.push(name_of(p)),
                }
            }
            // Shown verified exactly when the report's check verified it.
            json!({"claim": e.claim, "cite": cite.join("; "), "verified": e.verified})
        })
        .collect();
    let rounds: Vec<Value> = r
        .rounds
        .iter()
        .map(|round| {
            let turns: Vec<Value> = round
                .turns
                .iter()
                .map(|x| {
                    json!({
                        "name": name_of(&x.persona),
                        "move": x.move_.map_or_else(|| "–".into(), |m| m.to_string()),
                        "confidence": x.confidence.map_or_else(|| "–".into(), |c| c.to_string()),
                        "failed": x.status == TurnStatus::Failed,
                        "error": x.error,
                        "text": x.text,
                        "answers": x.responds_to.iter().map(|id| name_of(id)).collect::<Vec<_>>().join(", "),
                        "assumption": x.assumption,
                        "target": x.target_peer.as_deref().map(name_of),
                        "target_assumption": x.target_assumption,
                        "story": x.story,
                        "change": x.systemic_change,
                        "citations": x.citations.join(", "),
                    })
                })
                .collect();
            json!({
                "number": round.number,
                "title": s(&format!("round_{}", round.number.clamp(1, 5))),
                "summary": round.summary,
                "turns": turns,
            })
        })
        .collect();
    let panel: Vec<Value> = r
        .panel
        .iter()
        .map(|p| json!({"name": p.member.name, "role": p.member.role, "final": p.final_confidence.map_or_else(|| "–".into(), |c| c.to_string())}))
        .collect();
    let verification = s("verification")
        .replace("{checked}", &r.verification.quotes_checked.to_string())
        .replace(
            "{unverified}",
            &r.verification.unverified_quotes.len().to_string(),
        )
        .replace("{first_try}", &r.verification.first_try.to_string())
        .replace("{answers}", &r.verification.answers.to_string());

    let mut ctx = Context::new();
    ctx.insert("t", &t);
    ctx.insert("r", r);
    ctx.insert("votes", &votes);
    ctx.insert(
        "tally",
        &json!({"support": pct(r.tally.support), "mixed": pct(r.tally.mixed), "oppose": pct(r.tally.oppose),
                "support_w": format!("{:.1}", r.tally.support * 100.0), "mixed_w": format!("{:.1}", r.tally.mixed * 100.0),
                "oppose_w": format!("{:.1}", r.tally.oppose * 100.0),
                "counted": r.tally.counted}),
    );
    let contradiction = r
        .verification
        .verdict_vs_vote
        .map(|(said, majority, share)| {
            s("verdict_contradiction")
                .replace("{verdict}", &s(&format!("verdict_{}", said.as_str())))
                .replace("{majority}", &s(majority.as_str()))
                .replace("{share}", &pct(share))
        });
    ctx.insert("contradiction", &contradiction);
    ctx.insert(
        "verdict_stance",
        &r.verdict_stance
            .map(|x| (s(&format!("verdict_{}", x.as_str())), x.as_str())),
    );
    ctx.insert("forecasts", &forecasts);
    ctx.insert("paths", &paths);
    ctx.insert("evidence", &evidence);
    ctx.insert("rounds", &rounds);
    ctx.insert("panel", &panel);
    ctx.insert("verification", &verification);
    ctx.insert("short_question", &council_core::excerpt(&r.question, 80));
    ctx.insert(
        "confidence_svg",
        &charts::confidence_chart(&r.panel, &s("round")),
    );
    let row_label = |p: &council_core::report::FuturePath| {
        p.scenario.map_or_else(|| p.title.clone(), scenario_name)
    };
    ctx.insert("paths_svg", &charts::paths_chart(&r.paths, row_label));
    ctx
}
