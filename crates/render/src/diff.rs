//! `council diff` as Markdown or one HTML file: two runs side by side,
//! each change marked added, removed or moved, with both values, in the
//! report's own words for stances ("Conditional", "Yes, if…"). Model text
//! is escaped in HTML.

use council_core::diff::{Change, ListDiff, Pair, RunDiff};
use council_core::report::Stance;

/// The language of the labels: `council diff` writes English.
const LANG: &str = "en";

/// A vote's stance as the report names it, "–" where there is none.
fn stance(s: Option<Stance>) -> String {
    s.map_or_else(|| "–".to_string(), |s| crate::stance_label(LANG, s))
}

/// The verdict's answer as the report names it, "–" where there is none.
fn verdict(s: Option<Stance>) -> String {
    s.map_or_else(|| "–".to_string(), |s| crate::verdict_label(LANG, s))
}

fn prob(p: Option<f64>) -> String {
    p.map_or_else(|| "–".to_string(), |x| format!("{:.0}%", x * 100.0))
}

/// How a plain pair changed: moved, or the same.
fn moved<T>(p: &Pair<T>) -> Change {
    if p.changed {
        Change::Moved
    } else {
        Change::Same
    }
}

/// A change in words with its values: "moved: 46% → 61%", "added: 61%",
/// "removed: 46%"; empty when the same.
pub fn change_text(c: Change, a: &str, b: &str) -> String {
    match c {
        Change::Same => String::new(),
        Change::Added => format!("added: {b}"),
        Change::Removed => format!("removed: {a}"),
        Change::Moved => format!("moved: {a} → {b}"),
    }
}

/// One row of the comparison, in plain text: its label, A's and B's
/// values and the change in words.
struct Row {
    label: String,
    a: String,
    b: String,
    change: Change,
}

impl Row {
    fn new(label: impl Into<String>, a: String, b: String, change: Change) -> Row {
        Row {
            label: label.into(),
            a,
            b,
            change,
        }
    }

    fn change_text(&self) -> String {
        change_text(self.change, &self.a, &self.b)
    }
}

fn verdict_rows(d: &RunDiff) -> Vec<Row> {
    let t = crate::view::Text(crate::strings(LANG));
    let mut rows = vec![
        Row::new(
            t.get("verdict_stance"),
            verdict(d.verdict_stance.a),
            verdict(d.verdict_stance.b),
            d.verdict_stance.change(),
        ),
        Row::new(
            "The vote's majority",
            stance(d.majority.a),
            stance(d.majority.b),
            d.majority.change(),
        ),
    ];
    for (s, p) in &d.shares {
        rows.push(Row::new(
            format!("{} (weighted share)", crate::stance_label(LANG, *s)),
            format!("{}%", p.a),
            format!("{}%", p.b),
            moved(p),
        ));
    }
    rows
}

fn vote_rows(d: &RunDiff) -> Vec<Row> {
    d.votes
        .iter()
        .map(|v| {
            let side = |s: Option<Stance>, c: Option<u8>| match (s, c) {
                (None, None) => "–".to_string(),
                (s, Some(c)) => format!("{} ({c})", stance(s)),
                (s, None) => stance(s),
            };
            Row::new(
                v.name.clone(),
                side(v.stance.a, v.confidence.a),
                side(v.stance.b, v.confidence.b),
                v.change,
            )
        })
        .collect()
}

/// Markdown table cells must not break the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\r', '\n'], " ")
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

const FORECAST_NOTE: &str = "Median probability of the panel. Forecasts are matched by id: a variant keeps its source's forecasts, and a branch's forecast keeps the id of the source forecast it revises, however it is re-worded.";

fn table_md(out: &mut String, first: &str, rows: &[Row]) {
    out.push_str(&format!(
        "| {first} | A | B | change |\n|---|---|---|---|\n"
    ));
    for r in rows {
        let change = r.change_text();
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            cell(&r.label),
            cell(&r.a),
            cell(&r.b),
            if change.is_empty() {
                String::new()
            } else {
                format!("**{}**", cell(&change))
            }
        ));
    }
}

fn list_md(out: &mut String, title: &str, l: &ListDiff) {
    out.push_str(&format!("\n## {title}\n\n"));
    for x in &l.removed {
        out.push_str(&format!("- **removed** (only in A): {}\n", cell(x)));
    }
    for x in &l.added {
        out.push_str(&format!("- **added** (only in B): {}\n", cell(x)));
    }
    for x in &l.kept {
        out.push_str(&format!("- in both: {}\n", cell(x)));
    }
    if l.removed.is_empty() && l.added.is_empty() && l.kept.is_empty() {
        out.push_str("- none in either run\n");
    }
}

/// The comparison as Markdown.
pub fn markdown(d: &RunDiff) -> String {
    let mut out = format!(
        "# Council diff\n\n- A: `{}`\n- B: `{}`\n- {}\n",
        d.a,
        d.b,
        plural(d.changes, "change", "changes")
    );
    if d.question.changed {
        out.push_str(&format!(
            "\n**The question changed.**\n\n- A: {}\n- B: {}\n",
            cell(&d.question.a),
            cell(&d.question.b)
        ));
    }
    out.push_str("\n## Verdict\n\n");
    table_md(&mut out, "", &verdict_rows(d));
    if d.verdict.changed {
        out.push_str(&format!(
            "\n**A:** {}\n\n**B:** {}\n",
            cell(&d.verdict.a),
            cell(&d.verdict.b)
        ));
    }
    out.push_str("\n## Votes\n\n");
    table_md(&mut out, "advisor", &vote_rows(d));
    out.push_str(&format!(
        "\n## Forecasts\n\n{FORECAST_NOTE}\n\n| id | statement | A | B | change |\n|---|---|---|---|---|\n"
    ));
    for f in &d.forecasts {
        let statement = match &f.reworded {
            Some(b) => format!("{} (B: {})", cell(&f.statement), cell(b)),
            None => cell(&f.statement),
        };
        let change = change_text(f.change, &prob(f.median.a), &prob(f.median.b));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.id,
            statement,
            prob(f.median.a),
            prob(f.median.b),
            if change.is_empty() {
                String::new()
            } else {
                format!("**{change}**")
            }
        ));
    }
    list_md(&mut out, "Actions", &d.actions);
    list_md(&mut out, "Risks", &d.risks);
    out
}

use council_core::escape_markup as esc;

/// A table row; a changed one is marked with the class `changed` and its
/// kind in `data-change` (added, removed, moved).
fn tr(cells: &[String], change: Change) -> String {
    let attrs = match change {
        Change::Same => String::new(),
        c => format!(" class=\"changed\" data-change=\"{}\"", c.as_str()),
    };
    format!(
        "<tr{attrs}>{}</tr>\n",
        cells
            .iter()
            .map(|c| format!("<td>{c}</td>"))
            .collect::<String>()
    )
}

fn table_html(body: &mut String, first: &str, rows: &[Row]) {
    body.push_str(&format!(
        "<table><tr><th>{first}</th><th>A</th><th>B</th><th>change</th></tr>\n"
    ));
    for r in rows {
        body.push_str(&tr(
            &[esc(&r.label), esc(&r.a), esc(&r.b), esc(&r.change_text())],
            r.change,
        ));
    }
    body.push_str("</table>\n");
}

/// The comparison as one HTML file (the Markdown's content, escaped, in tables).
pub fn html(d: &RunDiff) -> Result<String, crate::RenderError> {
    let mut body = format!(
        "<h1>Council diff</h1>\n<p>A: <code>{}</code><br>B: <code>{}</code><br>{}</p>\n",
        esc(&d.a),
        esc(&d.b),
        plural(d.changes, "change", "changes")
    );
    if d.question.changed {
        body.push_str(&format!(
            "<p class=\"changed\"><strong>The question changed.</strong><br>A: {}<br>B: {}</p>\n",
            esc(&d.question.a),
            esc(&d.question.b)
        ));
    }
    body.push_str("<h2>Verdict</h2>\n");
    table_html(&mut body, "", &verdict_rows(d));
    if d.verdict.changed {
        body.push_str(&format!(
            "<p><strong>A:</strong> {}</p>\n<p><strong>B:</strong> {}</p>\n",
            esc(&d.verdict.a),
            esc(&d.verdict.b)
        ));
    }
    body.push_str("<h2>Votes</h2>\n");
    table_html(&mut body, "advisor", &vote_rows(d));
    body.push_str(&format!("<h2>Forecasts</h2>\n<p>{FORECAST_NOTE}</p>\n<table><tr><th>id</th><th>statement</th><th>A</th><th>B</th><th>change</th></tr>\n"));
    for f in &d.forecasts {
        let statement = match &f.reworded {
            Some(b) => format!("{}<br>B: {}", esc(&f.statement), esc(b)),
            None => esc(&f.statement),
        };
        body.push_str(&tr(
            &[
                esc(&f.id),
                statement,
                prob(f.median.a),
                prob(f.median.b),
                esc(&change_text(f.change, &prob(f.median.a), &prob(f.median.b))),
            ],
            f.change,
        ));
    }
    body.push_str("</table>\n");
    for (title, l) in [("Actions", &d.actions), ("Risks", &d.risks)] {
        body.push_str(&format!("<h2>{title}</h2>\n<ul>\n"));
        for x in &l.removed {
            body.push_str(&format!(
                "<li class=\"changed\" data-change=\"removed\">removed (only in A): {}</li>\n",
                esc(x)
            ));
        }
        for x in &l.added {
            body.push_str(&format!(
                "<li class=\"changed\" data-change=\"added\">added (only in B): {}</li>\n",
                esc(x)
            ));
        }
        for x in &l.kept {
            body.push_str(&format!("<li>in both: {}</li>\n", esc(x)));
        }
        if l.removed.is_empty() && l.added.is_empty() && l.kept.is_empty() {
            body.push_str("<li>none in either run</li>\n");
        }
        body.push_str("</ul>\n");
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Council diff</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}table{{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}}td,th{{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}}.changed{{background:#fff4d6}}[data-change=added]{{background:#e6f4ea}}[data-change=removed]{{background:#fbe9e7}}tr.changed td:last-child,li.changed{{font-weight:600}}</style></head>\n<body>\n{body}</body></html>\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use council_core::diff::{ForecastDiff, VoteDiff};

    fn sample() -> RunDiff {
        RunDiff {
            a: "runs/a".into(),
            b: "runs/b".into(),
            question: Pair::new("Q?".into(), "Q?".into()),
            verdict_stance: Pair::new(Some(Stance::Mixed), Some(Stance::Oppose)),
            verdict: Pair::new("Yes, if.".into(), "No.".into()),
            shares: vec![(Stance::Mixed, Pair::new(50, 20))],
            majority: Pair::new(Some(Stance::Mixed), Some(Stance::Oppose)),
            votes: vec![VoteDiff {
                persona: "cfo".into(),
                name: "The CFO".into(),
                stance: Pair::new(Some(Stance::Mixed), None),
                confidence: Pair::new(Some(70), None),
                change: Change::Removed,
            }],
            forecasts: vec![
                ForecastDiff {
                    id: "F-1a2b3c".into(),
                    statement: "Churn stays under 5%".into(),
                    reworded: Some("Churn stays under 4% after the rise".into()),
                    median: Pair::new(Some(0.46), Some(0.61)),
                    change: Change::Moved,
                },
                ForecastDiff {
                    id: "F-000001".into(),
                    statement: "NPS rises <b>".into(),
                    reworded: None,
                    median: Pair::new(None, Some(0.3)),
                    change: Change::Added,
                },
            ],
            actions: ListDiff::default(),
            risks: ListDiff::default(),
            changes: 6,
        }
    }

    #[test]
    fn changes_are_marked_added_removed_or_moved_with_their_values_in_the_reports_words() {
        let md = markdown(&sample());
        for want in [
            "| F-1a2b3c | Churn stays under 5% (B: Churn stays under 4% after the rise) | 46% | 61% | **moved: 46% → 61%** |",
            "| F-000001 | NPS rises <b> | – | 30% | **added: 30%** |",
            "| The verdict's answer | Yes, if… | No | **moved: Yes, if… → No** |",
            "| The vote's majority | Conditional | Oppose | **moved: Conditional → Oppose** |",
            "| Conditional (weighted share) | 50% | 20% | **moved: 50% → 20%** |",
            "| The CFO | Conditional (70) | – | **removed: Conditional (70)** |",
            "- 6 changes",
        ] {
            assert!(md.contains(want), "{want}\n{md}");
        }
        assert!(!md.contains("mixed"), "the wire name never shows: {md}");
        let html = html(&sample()).unwrap();
        assert!(html.contains(
            "<tr class=\"changed\" data-change=\"moved\"><td>F-1a2b3c</td><td>Churn stays under 5%<br>B: Churn stays under 4% after the rise</td><td>46%</td><td>61%</td><td>moved: 46% → 61%</td></tr>"
        ), "{html}");
        assert!(html.contains("NPS rises &lt;b&gt;"), "{html}");
        assert!(html.contains("data-change=\"removed\"><td>The CFO</td>"));
        assert!(!html.contains("mixed"));
    }

    #[test]
    fn the_diffs_labels_are_the_reports() {
        let report = crate::strings("en");
        assert_eq!(stance(Some(Stance::Mixed)), report["mixed"]);
        assert_eq!(verdict(Some(Stance::Mixed)), report["verdict_mixed"]);
        assert_eq!(stance(Some(Stance::Mixed)), "Conditional");
    }
}
