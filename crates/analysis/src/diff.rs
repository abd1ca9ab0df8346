//! Comparing two runs' reports (`council diff`).

use council_core::diff::{Change, ForecastDiff, ListDiff, Pair, RunDiff, VoteDiff};
use council_core::report::{Report, Stance};

fn list_diff(a: Vec<String>, b: Vec<String>) -> ListDiff {
    let key = |s: &str| council_core::match_tokens(s).join(" ");
    let mut d = ListDiff::default();
    for x in &a {
        if b.iter().any(|y| key(y) == key(x)) {
            d.kept.push(x.clone());
        } else {
            d.removed.push(x.clone());
        }
    }
    d.added = b
        .into_iter()
        .filter(|y| !a.iter().any(|x| key(x) == key(y)))
        .collect();
    d
}

/// Compares report `ra` (of run `a`) with `rb` (of run `b`).
pub fn diff(a: &str, ra: &Report, b: &str, rb: &Report) -> RunDiff {
    let pct = |x: f64| (x * 100.0).round() as u32;
    let shares: Vec<(Stance, Pair<u32>)> = Stance::ALL
        .into_iter()
        .map(|s| (s, Pair::new(pct(ra.tally.share(s)), pct(rb.tally.share(s)))))
        .collect();
    let mut ids: Vec<(String, String)> = Vec::new();
    for v in ra.votes.iter().chain(&rb.votes) {
        if !ids.iter().any(|(id, _)| *id == v.persona) {
            ids.push((v.persona.clone(), v.name.clone()));
        }
    }
    let votes = ids
        .into_iter()
        .map(|(id, name)| {
            let va = ra.votes.iter().find(|v| v.persona == id);
            let vb = rb.votes.iter().find(|v| v.persona == id);
            let stance = Pair::new(va.and_then(|v| v.stance), vb.and_then(|v| v.stance));
            let confidence =
                Pair::new(va.and_then(|v| v.confidence), vb.and_then(|v| v.confidence));
            let change = match (va, vb) {
                (None, Some(_)) => Change::Added,
                (Some(_), None) => Change::Removed,
                _ if stance.changed || confidence.changed => Change::Moved,
                _ => Change::Same,
            };
            VoteDiff {
                stance,
                confidence,
                change,
                persona: id,
                name,
            }
        })
        .collect();
    // By id: a forecast keeps its id across a variant, and across a branch
    // whose forecasts call says it revises it, however it is re-worded.
    let mut forecasts: Vec<ForecastDiff> = Vec::new();
    for f in ra.forecasts.iter().chain(&rb.forecasts) {
        if forecasts.iter().any(|x| x.id == f.id) {
            continue;
        }
        let fa = ra.forecasts.iter().find(|x| x.id == f.id);
        let fb = rb.forecasts.iter().find(|x| x.id == f.id);
        let round2 = |x: Option<f64>| x.map(|p| (p * 100.0).round() / 100.0);
        let median = Pair::new(
            round2(fa.and_then(|x| x.median)),
            round2(fb.and_then(|x| x.median)),
        );
        let change = match (fa, fb) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            _ if median.changed => Change::Moved,
            _ => Change::Same,
        };
        let reworded = fa
            .zip(fb)
            .filter(|(a, b)| a.statement.trim() != b.statement.trim())
            .map(|(_, b)| b.statement.clone());
        forecasts.push(ForecastDiff {
            id: f.id.clone(),
            statement: f.statement.clone(),
            reworded,
            median,
            change,
        });
    }
    let actions = list_diff(
        ra.actions.iter().map(|x| x.action.clone()).collect(),
        rb.actions.iter().map(|x| x.action.clone()).collect(),
    );
    let risks = list_diff(
        ra.risks.iter().map(|x| x.risk.clone()).collect(),
        rb.risks.iter().map(|x| x.risk.clone()).collect(),
    );
    let mut d = RunDiff {
        a: a.to_string(),
        b: b.to_string(),
        question: Pair::new(ra.question.clone(), rb.question.clone()),
        verdict_stance: Pair::new(ra.verdict_stance, rb.verdict_stance),
        verdict: Pair::new(ra.verdict.clone(), rb.verdict.clone()),
        majority: Pair::new(ra.tally.majority(), rb.tally.majority()),
        shares,
        votes,
        forecasts,
        actions,
        risks,
        changes: 0,
    };
    d.changes = usize::from(d.question.changed)
        + usize::from(d.verdict_stance.changed)
        + usize::from(d.verdict.changed)
        + d.shares.iter().filter(|(_, p)| p.changed).count()
        + d.votes
            .iter()
            .filter(|v| v.stance.changed || v.confidence.changed)
            .count()
        + d.forecasts
            .iter()
            .filter(|f| f.change != Change::Same)
            .count()
        + d.actions.added.len()
        + d.actions.removed.len()
        + d.risks.added.len()
        + d.risks.removed.len();
    d
}
