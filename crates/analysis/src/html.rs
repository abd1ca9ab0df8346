//! A [`Comparison`] and [`Scores`] as one self-contained HTML page each
//! (inline CSS and SVG, no scripts, no external assets, every text
//! escaped), and the reliability diagram as SVG on its own. Pure: strings.
//!
//! These pages live here rather than in `council-render`, which renders a
//! `Report` and depends on `core` only: the types drawn are this crate's.

use crate::compare::{AdvisorMetrics, Comparison, RunMetrics};
use crate::score::{CalibrationBin, ScoreLine, Scores};
use std::fmt::Write;

/// Stance colours: support, mixed, oppose, unknown.
const SUPPORT: &str = "#2e8b57";
const MIXED: &str = "#e0a100";
const OPPOSE: &str = "#c0392b";
const UNKNOWN: &str = "#d0d0d0";

/// Per-run lines are drawn under the means only up to this many runs.
const MAX_RUN_LINES: usize = 60;
/// Per-run agreement heat maps are drawn only up to this many runs.
const MAX_RUN_MAPS: usize = 12;

/// Escapes text for HTML and SVG.
pub use council_core::escape_markup as escape;

const STYLE: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:2rem auto;max-width:1120px;padding:0 1rem;color:#222;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
p.lead{color:#555;margin-top:0}
table{border-collapse:collapse;font-size:.78rem;margin:.6rem 0;width:100%}
th,td{padding:.25rem .35rem;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left;white-space:normal}
th{background:#f6f6f6;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:.8rem}
.grid.wide{grid-template-columns:repeat(auto-fill,minmax(340px,1fr))}
.scroll{overflow-x:auto}
table.narrow{width:auto;min-width:440px}
.card{border:1px solid #e4e4e4;border-radius:6px;padding:.4rem .5rem}
.card h3{font-size:.9rem;margin:.1rem 0 .2rem;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.legend span{display:inline-block;margin-right:1rem;font-size:.82rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-1px;border-radius:2px}
svg text{font-family:inherit}
.note{color:#666;font-size:.85rem}
"#;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>\n{body}</body></html>\n",
        escape(title)
    )
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{:.0}%", x * 100.0))
}

fn dec(x: Option<f64>, places: usize) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{x:.places$}"))
}

fn legend() -> String {
    format!(
        r#"<p class="legend"><span><i style="background:{SUPPORT}"></i>support</span><span><i style="background:{MIXED}"></i>mixed</span><span><i style="background:{OPPOSE}"></i>oppose</span><span><i style="background:{UNKNOWN}"></i>unknown</span><span><i style="background:#1f3b73;height:3px;vertical-align:3px"></i>mean confidence</span></p>"#
    )
}

/// One persona's small multiple: a stacked bar of stances per round (pale,
/// behind) and its confidence by round (per-run lines thin, the mean bold).
fn persona_chart(a: &AdvisorMetrics, rounds: u32, runs: &[Vec<(u32, u8)>]) -> String {
    let (w, h, left, top, pw, ph) = (250.0, 150.0, 28.0, 8.0, 212.0, 118.0);
    let n = rounds.max(1) as f64;
    let slot = pw / n;
    let cx = |r: u32| left + slot * (f64::from(r) - 0.5);
    let y = |c: f64| top + ph * (1.0 - c / 100.0);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{}">"#,
        escape(&format!("confidence and stance by round: {}", a.key))
    );
    for c in [0.0, 50.0, 100.0] {
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#e4e4e4"/><text x="{}" y="{}" font-size="9" text-anchor="end" fill="#666">{c}</text>"##,
            left + pw,
            left - 4.0,
            y(c) + 3.0,
            y = y(c)
        );
    }
    for r in &a.by_round {
        let total = (r.support + r.mixed + r.oppose + r.unknown).max(1) as f64;
        let mut acc = 0.0;
        for (count, colour) in [
            (r.oppose, OPPOSE),
            (r.mixed, MIXED),
            (r.support, SUPPORT),
            (r.unknown, UNKNOWN),
        ] {
            if count == 0 {
                continue;
            }
            let share = count as f64 / total;
            let y0 = top + ph * (1.0 - acc - share);
            let _ = write!(
                s,
                r#"<rect x="{:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}" fill="{colour}" fill-opacity="0.35"><title>{}</title></rect>"#,
                cx(r.round) - slot * 0.4,
                slot * 0.8,
                ph * share,
                escape(&format!(
                    "round {}: {} support, {} mixed, {} oppose, {} unknown",
                    r.round, r.support, r.mixed, r.oppose, r.unknown
                ))
            );
            acc += share;
        }
    }
    if runs.len() <= MAX_RUN_LINES {
        for track in runs {
            let pts: Vec<String> = track
                .iter()
                .map(|(r, c)| format!("{:.1},{:.1}", cx(*r), y(f64::from(*c))))
                .collect();
            if pts.len() > 1 {
                let _ = write!(
                    s,
                    r##"<polyline points="{}" fill="none" stroke="#6b7a99" stroke-opacity="0.35" stroke-width="1"/>"##,
                    pts.join(" ")
                );
            }
        }
    }
    let means: Vec<(u32, f64)> = a
        .by_round
        .iter()
        .filter_map(|r| r.mean_confidence.map(|m| (r.round, m)))
        .collect();
    let pts: Vec<String> = means
        .iter()
        .map(|(r, m)| format!("{:.1},{:.1}", cx(*r), y(*m)))
        .collect();
    if pts.len() > 1 {
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#1f3b73" stroke-width="2.2"/>"##,
            pts.join(" ")
        );
    }
    for (r, m) in &means {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="2.8" fill="#1f3b73"><title>round {r}: mean confidence {m:.1}</title></circle>"##,
            cx(*r),
            y(*m)
        );
    }
    for r in 1..=rounds {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{}" font-size="9" text-anchor="middle" fill="#666">r{r}</text>"##,
            cx(r),
            top + ph + 12.0
        );
    }
    s.push_str("</svg>");
    s
}

/// A colour for an agreement rate: pale for 0, deep blue for 1.
fn heat(rate: f64) -> String {
    let lerp = |a: f64, b: f64| (a + (b - a) * rate.clamp(0.0, 1.0)).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(247.0, 24.0),
        lerp(244.0, 62.0),
        lerp(236.0, 130.0)
    )
}

/// A heat map of `rate[i][j]` over `labels`, each cell's title saying `note(i, j)`.
/// `fit`: scale to the containing box rather than keep its natural width.
fn heat_map(
    labels: &[String],
    rate: &dyn Fn(usize, usize) -> Option<f64>,
    note: &dyn Fn(usize, usize) -> String,
    fit: bool,
) -> String {
    let n = labels.len();
    let cell = if n > 10 { 28.0 } else { 40.0 };
    let left = 150.0;
    let top = 110.0;
    let w = left + cell * n as f64 + 10.0;
    let h = top + cell * n as f64 + 10.0;
    let short = |s: &str| council_core::excerpt(s, 22);
    let width = if fit {
        "100%".to_string()
    } else {
        w.to_string()
    };
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{width}" role="img" aria-label="agreement heat map">"#
    );
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="{}" y="{:.1}" font-size="11" text-anchor="end" fill="#333">{}</text>"##,
            left - 6.0,
            top + cell * (i as f64 + 0.5) + 4.0,
            escape(&short(l))
        );
        let x = left + cell * (i as f64 + 0.5);
        let _ = write!(
            s,
            r##"<text x="{x:.1}" y="{}" font-size="11" fill="#333" transform="rotate(-50 {x:.1} {})">{}</text>"##,
            top - 6.0,
            top - 6.0,
            escape(&short(l))
        );
    }
    for i in 0..n {
        for j in 0..n {
            let (x, y) = (left + cell * j as f64, top + cell * i as f64);
            let v = rate(i, j);
            let fill = v.map_or_else(|| "#f0f0f0".to_string(), heat);
            let _ = write!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{cell}" height="{cell}" fill="{fill}" stroke="#fff"><title>{}</title></rect>"##,
                escape(&note(i, j))
            );
            let text = v.map_or_else(|| "–".to_string(), |v| format!("{:.0}", v * 100.0));
            let ink = if v.is_some_and(|v| v > 0.55) {
                "#fff"
            } else {
                "#333"
            };
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="{ink}">{text}</text>"##,
                x + cell / 2.0,
                y + cell / 2.0 + 3.5
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Stance entropy by round: each run a thin line, the mean bold.
fn entropy_chart(runs: &[RunMetrics], rounds: u32) -> String {
    let (w, h, left, top, pw, ph) = (520.0, 200.0, 40.0, 10.0, 460.0, 160.0);
    let max = 3f64.log2();
    let n = rounds.max(1) as f64;
    let x = |i: usize| left + pw * (i as f64 + 0.5) / n;
    let y = |e: f64| top + ph * (1.0 - e / max);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" role="img" aria-label="stance entropy by round">"#
    );
    for e in [0.0, 0.5, 1.0, 1.5] {
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end" fill="#666">{e}</text>"##,
            left + pw,
            left - 5.0,
            y(e) + 3.0,
            y = y(e)
        );
    }
    if runs.len() <= MAX_RUN_LINES {
        for r in runs {
            let pts: Vec<String> = r
                .entropy
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.map(|e| format!("{:.1},{:.1}", x(i), y(e))))
                .collect();
            if pts.len() > 1 {
                let _ = write!(
                    s,
                    r##"<polyline points="{}" fill="none" stroke="#6b7a99" stroke-opacity="0.35"><title>{}</title></polyline>"##,
                    pts.join(" "),
                    escape(&r.run)
                );
            }
        }
    }
    let means: Vec<(usize, f64)> = (0..rounds as usize)
        .filter_map(|i| {
            let v: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.entropy.get(i).copied().flatten())
                .collect();
            (!v.is_empty()).then(|| (i, v.iter().sum::<f64>() / v.len() as f64))
        })
        .collect();
    let pts: Vec<String> = means
        .iter()
        .map(|(i, e)| format!("{:.1},{:.1}", x(*i), y(*e)))
        .collect();
    if pts.len() > 1 {
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#1f3b73" stroke-width="2.2"/>"##,
            pts.join(" ")
        );
    }
    for (i, e) in &means {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="#1f3b73"><title>round {}: mean entropy {e:.2} bits</title></circle>"##,
            x(*i),
            y(*e),
            i + 1
        );
    }
    for i in 0..rounds as usize {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{}" font-size="10" text-anchor="middle" fill="#666">round {}</text>"##,
            x(i),
            top + ph + 16.0,
            i + 1
        );
    }
    s.push_str("</svg>");
    s
}

fn advisor_table(rows: &[AdvisorMetrics], key: &str) -> String {
    let mut s = format!(
        "<div class=\"scroll\"><table><tr><th>{key}</th><th>runs</th><th>turns</th><th>flips</th><th>flip rate</th><th>conformity</th><th>concessions</th><th>challenge</th><th>words/turn</th><th>tokens in/out</th><th>flagged</th><th>forecasts</th><th>extremity</th><th>spread</th></tr>"
    );
    for a in rows {
        let challenge = a
            .moves
            .iter()
            .find(|m| m.move_ == council_core::Move::Challenge)
            .and_then(|m| m.share);
        let label = if a.name != a.key {
            format!(
                "{} <span class=\"note\">{}</span>",
                escape(&a.name),
                escape(&a.key)
            )
        } else {
            escape(&a.key)
        };
        let _ = write!(
            s,
            "<tr><td>{label}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.runs,
            a.turns,
            a.flips,
            a.flip_pairs,
            pct(a.flip_rate),
            pct(a.conformity),
            a.concessions,
            pct(challenge),
            dec(a.mean_words, 0),
            dec(a.mean_prompt_tokens, 0),
            dec(a.mean_completion_tokens, 0),
            pct(a.flagged_share),
            a.forecasts,
            dec(a.extremity, 2),
            dec(a.spread, 2),
        );
    }
    s.push_str("</table></div>");
    s
}

/// The comparison as one self-contained HTML page.
pub fn compare_html(c: &Comparison) -> String {
    let rounds = c.rows.iter().map(|r| r.round).max().unwrap_or(0);
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Comparing {} run{}</h1><p class=\"lead\">{} personas · {} models · {} questions · from the transcripts alone</p>",
        c.runs.len(),
        if c.runs.len() == 1 { "" } else { "s" },
        c.personas.len(),
        c.models.len(),
        c.questions.len()
    );

    b.push_str("<h2>Confidence and stance by round, per persona</h2>");
    b.push_str(&legend());
    if c.runs.len() > MAX_RUN_LINES {
        let _ = write!(
            b,
            "<p class=\"note\">Over {MAX_RUN_LINES} runs: only the means are drawn.</p>"
        );
    }
    b.push_str("<div class=\"grid\">");
    for a in &c.personas {
        let mut tracks: Vec<Vec<(u32, u8)>> = Vec::new();
        let mut current: Option<&str> = None;
        for row in c.rows.iter().filter(|r| r.persona == a.key) {
            if current != Some(row.run.as_str()) {
                tracks.push(Vec::new());
                current = Some(&row.run);
            }
            if let (Some(conf), Some(t)) = (row.confidence, tracks.last_mut()) {
                t.push((row.round, conf));
            }
        }
        let _ = write!(
            b,
            "<div class=\"card\"><h3 title=\"{}\">{}</h3>{}<div class=\"note\">flip rate {} · conformity {} · {} turns</div></div>",
            escape(&a.key),
            escape(&a.name),
            persona_chart(a, rounds, &tracks),
            pct(a.flip_rate),
            pct(a.conformity),
            a.turns
        );
    }
    b.push_str("</div>");

    b.push_str("<h2>By persona</h2>");
    b.push_str(&advisor_table(&c.personas, "persona"));
    b.push_str("<h2>By model</h2>");
    b.push_str(&advisor_table(&c.models, "model"));

    b.push_str("<h2>Disagreement over the rounds</h2><p class=\"note\">Stance entropy in bits (0: one stance; 1.58: evenly split three ways); the bold line is the mean over runs.</p>");
    b.push_str(&entropy_chart(&c.runs, rounds));

    b.push_str("<h2>Agreement of final stances</h2><p class=\"note\">Percent of runs in which both sat and held the same final stance (hover a cell for the counts).</p>");
    let pa = &c.agreement;
    b.push_str(&heat_map(
        &pa.personas,
        &|i, j| pa.rate[i][j],
        &|i, j| {
            format!(
                "{} × {}: agreed in {} of {} runs",
                pa.personas[i], pa.personas[j], pa.agree[i][j], pa.pairs[i][j]
            )
        },
        false,
    ));
    if c.runs.len() <= MAX_RUN_MAPS && c.runs.len() > 1 {
        b.push_str("<p class=\"note\">Each run: 100 where the two final stances are the same, 0 where they differ, – where either is unknown.</p><div class=\"grid wide\">");
        for r in &c.runs {
            let _ = write!(
                b,
                "<div class=\"card\"><h3 title=\"{}\">{}</h3>{}</div>",
                escape(&r.run),
                escape(&r.run),
                heat_map(
                    &r.personas,
                    &|i, j| r.agreement[i][j].map(f64::from),
                    &|i, j| format!(
                        "{}: {}, {}: {}",
                        r.personas[i],
                        r.final_stances[i].map_or("unknown", |s| s.as_str()),
                        r.personas[j],
                        r.final_stances[j].map_or("unknown", |s| s.as_str())
                    ),
                    true,
                )
            );
        }
        b.push_str("</div>");
    }

    b.push_str("<h2>Runs</h2><div class=\"scroll\"><table><tr><th>run</th><th>models</th><th>verdict</th><th>support share</th><th>flips</th><th>collapse</th><th>agreement</th>");
    for r in 1..=rounds {
        let _ = write!(b, "<th>H r{r}</th>");
    }
    b.push_str("</tr>");
    for r in &c.runs {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td>",
            escape(&r.run),
            escape(&r.models.join(", ")),
            r.verdict.map_or("–", |s| s.as_str()),
            pct(r.tally.as_ref().map(|t| t.support)),
            r.flips,
            r.flip_pairs,
            r.collapse_round
                .map_or_else(|| "none".to_string(), |n| format!("round {n}")),
            pct(r.agreement_rate),
        );
        for i in 0..rounds as usize {
            let _ = write!(
                b,
                "<td>{}</td>",
                dec(r.entropy.get(i).copied().flatten(), 2)
            );
        }
        b.push_str("</tr>");
    }
    b.push_str("</table></div>");

    b.push_str("<h2>Questions</h2><div class=\"scroll\"><table><tr><th>question</th><th>runs</th><th>models</th><th>modal verdict</th><th>verdict agreement</th><th>mean support share</th><th>sd of support share</th><th>collapsed</th></tr>");
    for q in &c.questions {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td></tr>",
            escape(&q.question),
            q.runs,
            escape(&q.models.join(", ")),
            q.modal_verdict.map_or("–", |s| s.as_str()),
            pct(q.verdict_agreement),
            pct(q.mean_support_share),
            q.support_share_sd
                .map_or_else(|| "–".to_string(), |sd| format!("{:.1} pts", sd * 100.0)),
            q.collapsed,
            q.runs
        );
    }
    b.push_str("</table></div><p class=\"note\">Every metric is defined in the README, section “Research: comparing runs and scoring forecasts”.</p>");
    page("Council — compare", &b)
}

/// The reliability diagram: observed frequency against mean predicted
/// probability per bin, for every advisor probability and for the panel
/// medians, with the diagonal of perfect calibration; dot area by count.
pub fn reliability_svg(s: &Scores) -> String {
    let (w, h, left, top, size) = (420.0, 400.0, 50.0, 20.0, 320.0);
    let x = |p: f64| left + size * p;
    let y = |p: f64| top + size * (1.0 - p);
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="reliability diagram"><rect x="0" y="0" width="{w}" height="{h}" fill="#fff"/>"##
    );
    for k in 0..=10 {
        let v = f64::from(k) / 10.0;
        let _ = write!(
            out,
            r##"<line x1="{}" x2="{}" y1="{:.1}" y2="{:.1}" stroke="#eee"/><line x1="{:.1}" x2="{:.1}" y1="{top}" y2="{}" stroke="#eee"/>"##,
            x(0.0),
            x(1.0),
            y(v),
            y(v),
            x(v),
            x(v),
            y(0.0)
        );
        if k % 2 == 0 {
            let _ = write!(
                out,
                r##"<text x="{}" y="{:.1}" font-size="10" text-anchor="end" fill="#555">{v:.1}</text><text x="{:.1}" y="{}" font-size="10" text-anchor="middle" fill="#555">{v:.1}</text>"##,
                left - 6.0,
                y(v) + 3.5,
                x(v),
                y(0.0) + 14.0
            );
        }
    }
    let _ = write!(
        out,
        r##"<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#999"/><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4 3"/><text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#333">predicted probability (bin mean)</text><text x="14" y="{}" font-size="11" text-anchor="middle" fill="#333" transform="rotate(-90 14 {})">observed frequency</text>"##,
        x(0.0),
        y(0.0),
        x(1.0),
        y(1.0),
        left + size / 2.0,
        y(0.0) + 32.0,
        top + size / 2.0,
        top + size / 2.0
    );
    let series = |out: &mut String, bins: &[CalibrationBin], colour: &str, label: &str| {
        let max = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1) as f64;
        let pts: Vec<(f64, f64, usize)> = bins
            .iter()
            .filter_map(|b| Some((b.mean_predicted?, b.observed?, b.count)))
            .collect();
        if pts.len() > 1 {
            let line: Vec<String> = pts
                .iter()
                .map(|(p, o, _)| format!("{:.1},{:.1}", x(*p), y(*o)))
                .collect();
            let _ = write!(
                out,
                r##"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="1.5"/>"##,
                line.join(" ")
            );
        }
        for (p, o, n) in pts {
            let r = 3.0 + 6.0 * (n as f64 / max).sqrt();
            let _ = write!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="{r:.1}" fill="{colour}" fill-opacity="0.6" stroke="{colour}"><title>{}: {n} at mean {p:.2}, observed {o:.2}</title></circle>"##,
                x(p),
                y(o),
                escape(label)
            );
        }
    };
    series(&mut out, &s.calibration, "#1f5fa8", "advisors");
    series(&mut out, &s.median_calibration, "#d35400", "panel median");
    let _ = write!(
        out,
        r##"<circle cx="{}" cy="{}" r="5" fill="#1f5fa8" fill-opacity="0.6"/><text x="{}" y="{}" font-size="11" fill="#333">every advisor probability</text><circle cx="{}" cy="{}" r="5" fill="#d35400" fill-opacity="0.6"/><text x="{}" y="{}" font-size="11" fill="#333">panel median</text>"##,
        left + 12.0,
        top + 12.0,
        left + 22.0,
        top + 16.0,
        left + 12.0,
        top + 30.0,
        left + 22.0,
        top + 34.0
    );
    out.push_str("</svg>");
    out
}

fn score_table(lines: &[&ScoreLine], key: &str) -> String {
    let mut s = format!(
        "<table class=\"narrow\"><tr><th>{key}</th><th>n</th><th>Brier</th><th>log loss</th></tr>"
    );
    for l in lines {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&l.key),
            l.count,
            dec(l.brier, 4),
            dec(l.log_loss, 4)
        );
    }
    s.push_str("</table>");
    s
}

fn calibration_table(bins: &[CalibrationBin], title: &str) -> String {
    let mut s = format!(
        "<table class=\"narrow\"><tr><th>{}</th><th>n</th><th>mean predicted</th><th>observed</th></tr>",
        escape(title)
    );
    for b in bins {
        let _ = write!(
            s,
            "<tr><td>[{:.1}, {:.1}{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            b.lower,
            b.upper,
            if b.upper >= 1.0 { "]" } else { ")" },
            b.count,
            dec(b.mean_predicted, 3),
            dec(b.observed, 3)
        );
    }
    s.push_str("</table>");
    s
}

/// The scores as one self-contained HTML page, with the reliability diagram.
pub fn score_html(s: &Scores) -> String {
    let mut b = format!(
        "<h1>Forecast scores</h1><p class=\"lead\">{} forecasts scored · {} without an outcome yet · Brier: mean (p − outcome)², log loss: natural log, p clipped to [0.01, 0.99]; lower is better</p>",
        s.resolved, s.unresolved
    );
    if !s.unmatched.is_empty() {
        let _ = write!(
            b,
            "<p class=\"note\">Outcomes naming no forecast of these runs: {}</p>",
            escape(&s.unmatched.join(", "))
        );
    }
    b.push_str("<h2>Panel</h2>");
    b.push_str(&score_table(&[&s.median, &s.baseline], "forecaster"));
    b.push_str("<h2>By persona</h2>");
    b.push_str(&score_table(
        &s.personas.iter().collect::<Vec<_>>(),
        "persona",
    ));
    b.push_str("<h2>By model</h2>");
    b.push_str(&score_table(&s.models.iter().collect::<Vec<_>>(), "model"));
    b.push_str("<h2>Reliability</h2><p class=\"note\">Observed frequency against the mean predicted probability of each bin of width 0.1; a dot's area grows with its count; the dashed diagonal is perfect calibration.</p>");
    b.push_str(&reliability_svg(s));
    b.push_str(&calibration_table(
        &s.calibration,
        "every advisor probability",
    ));
    b.push_str(&calibration_table(&s.median_calibration, "panel medians"));
    if !s.open.is_empty() {
        b.push_str("<h2>Open forecasts</h2><p class=\"note\">No outcome yet: record one with <code>council outcome DIR ID yes|no</code>.</p><table><tr><th>statement</th><th>id</th><th>run</th><th>median</th></tr>");
        for f in &s.open {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&f.statement),
                escape(&f.id),
                escape(&f.run),
                pct(f.median)
            );
        }
        b.push_str("</table>");
    }
    page("Council — forecast scores", &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<b>\"A&B\"</b>"),
            "&lt;b&gt;&quot;A&amp;B&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn heat_runs_from_pale_to_deep_blue() {
        assert_eq!(heat(0.0), "#f7f4ec");
        assert_eq!(heat(1.0), "#183e82");
    }
}
