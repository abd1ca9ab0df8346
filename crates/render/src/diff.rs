//! `council diff` as Markdown or one HTML file: two runs side by side,
//! each changed line marked. Model text is escaped in HTML.

use council_core::diff::{ListDiff, Pair, RunDiff};
use council_core::report::Stance;

fn stance(s: Option<Stance>) -> String {
    s.map_or_else(|| "–".to_string(), |s| s.as_str().to_string())
}

fn prob(p: Option<f64>) -> String {
    p.map_or_else(|| "–".to_string(), |x| format!("{:.0}%", x * 100.0))
}

fn mark<T>(p: &Pair<T>) -> &'static str {
    if p.changed {
        "**changed**"
    } else {
        ""
    }
}

/// Markdown table cells must not break the table.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn list_md(out: &mut String, title: &str, l: &ListDiff) {
    out.push_str(&format!("\n## {title}\n\n"));
    for x in &l.removed {
        out.push_str(&format!("- **removed (only in A):** {}\n", cell(x)));
    }
    for x in &l.added {
        out.push_str(&format!("- **added (only in B):** {}\n", cell(x)));
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
        "# Council diff\n\n- A: `{}`\n- B: `{}`\n- {} change(s)\n",
        d.a, d.b, d.changes
    );
    if d.question.changed {
        out.push_str(&format!(
            "\n**The question changed.**\n\n- A: {}\n- B: {}\n",
            cell(&d.question.a),
            cell(&d.question.b)
        ));
    }
    out.push_str("\n## Verdict\n\n| | A | B | |\n|---|---|---|---|\n");
    out.push_str(&format!(
        "| stance | {} | {} | {} |\n| vote majority | {} | {} | {} |\n",
        stance(d.verdict_stance.a),
        stance(d.verdict_stance.b),
        mark(&d.verdict_stance),
        stance(d.majority.a),
        stance(d.majority.b),
        mark(&d.majority)
    ));
    for (s, p) in &d.shares {
        out.push_str(&format!(
            "| {} share | {}% | {}% | {} |\n",
            s.as_str(),
            p.a,
            p.b,
            mark(p)
        ));
    }
    if d.verdict.changed {
        out.push_str(&format!(
            "\n**A:** {}\n\n**B:** {}\n",
            cell(&d.verdict.a),
            cell(&d.verdict.b)
        ));
    }
    out.push_str("\n## Votes\n\n| advisor | A | B | |\n|---|---|---|---|\n");
    for v in &d.votes {
        let conf = |c: Option<u8>| c.map_or_else(String::new, |c| format!(" ({c})"));
        out.push_str(&format!(
            "| {} | {}{} | {}{} | {} |\n",
            cell(&v.name),
            stance(v.stance.a),
            conf(v.confidence.a),
            stance(v.stance.b),
            conf(v.confidence.b),
            if v.stance.changed {
                "**changed**"
            } else if v.confidence.changed {
                "confidence changed"
            } else {
                ""
            }
        ));
    }
    out.push_str("\n## Forecasts (median probability)\n\n| id | statement | A | B | |\n|---|---|---|---|---|\n");
    for f in &d.forecasts {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            f.id,
            cell(&f.statement),
            prob(f.median.a),
            prob(f.median.b),
            mark(&f.median)
        ));
    }
    list_md(&mut out, "Actions", &d.actions);
    list_md(&mut out, "Risks", &d.risks);
    out
}

use council_core::escape_markup as esc;

/// The comparison as one HTML file (the Markdown's content, escaped, in tables).
pub fn html(d: &RunDiff) -> Result<String, crate::RenderError> {
    let row = |cells: &[String], changed: bool| -> String {
        let class = if changed { " class=\"changed\"" } else { "" };
        format!(
            "<tr{class}>{}</tr>\n",
            cells
                .iter()
                .map(|c| format!("<td>{c}</td>"))
                .collect::<String>()
        )
    };
    let flag = |c: bool| {
        if c {
            "changed".to_string()
        } else {
            String::new()
        }
    };
    let mut body = format!(
        "<h1>Council diff</h1>\n<p>A: <code>{}</code><br>B: <code>{}</code><br>{} change(s)</p>\n",
        esc(&d.a),
        esc(&d.b),
        d.changes
    );
    if d.question.changed {
        body.push_str(&format!(
            "<p class=\"changed\"><strong>The question changed.</strong><br>A: {}<br>B: {}</p>\n",
            esc(&d.question.a),
            esc(&d.question.b)
        ));
    }
    body.push_str("<h2>Verdict</h2>\n<table><tr><th></th><th>A</th><th>B</th><th></th></tr>\n");
    body.push_str(&row(
        &[
            "stance".into(),
            stance(d.verdict_stance.a),
            stance(d.verdict_stance.b),
            flag(d.verdict_stance.changed),
        ],
        d.verdict_stance.changed,
    ));
    body.push_str(&row(
        &[
            "vote majority".into(),
            stance(d.majority.a),
            stance(d.majority.b),
            flag(d.majority.changed),
        ],
        d.majority.changed,
    ));
    for (s, p) in &d.shares {
        body.push_str(&row(
            &[
                format!("{} share", s.as_str()),
                format!("{}%", p.a),
                format!("{}%", p.b),
                flag(p.changed),
            ],
            p.changed,
        ));
    }
    body.push_str("</table>\n");
    if d.verdict.changed {
        body.push_str(&format!(
            "<p><strong>A:</strong> {}</p>\n<p><strong>B:</strong> {}</p>\n",
            esc(&d.verdict.a),
            esc(&d.verdict.b)
        ));
    }
    body.push_str(
        "<h2>Votes</h2>\n<table><tr><th>advisor</th><th>A</th><th>B</th><th></th></tr>\n",
    );
    for v in &d.votes {
        let conf = |c: Option<u8>| c.map_or_else(String::new, |c| format!(" ({c})"));
        let changed = v.stance.changed || v.confidence.changed;
        body.push_str(&row(
            &[
                esc(&v.name),
                format!("{}{}", stance(v.stance.a), conf(v.confidence.a)),
                format!("{}{}", stance(v.stance.b), conf(v.confidence.b)),
                flag(changed),
            ],
            changed,
        ));
    }
    body.push_str("</table>\n<h2>Forecasts (median probability)</h2>\n<table><tr><th>id</th><th>statement</th><th>A</th><th>B</th><th></th></tr>\n");
    for f in &d.forecasts {
        body.push_str(&row(
            &[
                esc(&f.id),
                esc(&f.statement),
                prob(f.median.a),
                prob(f.median.b),
                flag(f.median.changed),
            ],
            f.median.changed,
        ));
    }
    body.push_str("</table>\n");
    for (title, l) in [("Actions", &d.actions), ("Risks", &d.risks)] {
        body.push_str(&format!("<h2>{title}</h2>\n<ul>\n"));
        for x in &l.removed {
            body.push_str(&format!(
                "<li class=\"changed\">removed (only in A): {}</li>\n",
                esc(x)
            ));
        }
        for x in &l.added {
            body.push_str(&format!(
                "<li class=\"changed\">added (only in B): {}</li>\n",
                esc(x)
            ));
        }
        for x in &l.kept {
            body.push_str(&format!("<li>in both: {}</li>\n", esc(x)));
        }
        body.push_str("</ul>\n");
    }
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Council diff</title>\n<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}}table{{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}}td,th{{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}}.changed{{background:#fff4d6}}tr.changed td:last-child,li.changed{{font-weight:600}}</style></head>\n<body>\n{body}</body></html>\n"
    ))
}
