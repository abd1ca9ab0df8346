//! Inline SVG charts: each advisor's confidence across rounds, and the
//! three future paths on a shared month axis.

use council_core::report::{Backing, FuturePath, PanelEntry};
use std::fmt::Write;

/// Colours for series, chosen to stay distinct in print.
const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
];

/// Escapes text for HTML and SVG.
pub use council_core::escape_markup as escape;

/// Each panel member's confidence per round, as lines on a 0–100 scale;
/// `round_label` names round n ("Round 3", "第 3 轮").
pub fn confidence_chart(panel: &[PanelEntry], round_label: impl Fn(usize) -> String) -> String {
    let rounds = panel
        .iter()
        .map(|p| p.trajectory.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h, left, top, plot_w, plot_h) = (640.0, 300.0, 40.0, 16.0, 400.0, 240.0);
    let x = |i: usize| {
        left + if rounds == 1 {
            plot_w / 2.0
        } else {
            plot_w * i as f64 / (rounds - 1) as f64
        }
    };
    let y = |c: u8| top + plot_h * (1.0 - f64::from(c) / 100.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" class="chart" aria-label="confidence chart">"#
    );
    for c in [0u8, 25, 50, 75, 100] {
        let _ = write!(
            s,
            r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" font-size="{FONT}" text-anchor="end" fill="#555">{c}</text>"##,
            left + plot_w,
            left - 6.0,
            y(c) + 3.0,
            y = y(c)
        );
    }
    for i in 0..rounds {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="{FONT}" text-anchor="middle" fill="#555">{}</text>"##,
            x(i),
            top + plot_h + 16.0,
            escape(&round_label(i + 1)),
        );
    }
    for (k, p) in panel.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let points: Vec<String> = p
            .trajectory
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.map(|c| format!("{:.1},{:.1}", x(i), y(c))))
            .collect();
        if points.len() > 1 {
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
                points.join(" ")
            );
        }
        for pt in &points {
            let (px, py) = pt.split_once(',').unwrap_or(("0", "0"));
            let _ = write!(s, r#"<circle cx="{px}" cy="{py}" r="3" fill="{color}"/>"#);
        }
        let ly = top + 14.0 * k as f64 + 6.0;
        let _ = write!(
            s,
            r##"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" font-size="{FONT}" fill="#222">{}</text>"##,
            left + plot_w + 20.0,
            ly - 8.0,
            left + plot_w + 34.0,
            ly + 1.0,
            escape(&council_core::excerpt(&p.member.name, 24))
        );
    }
    s.push_str("</svg>");
    s
}

/// The size of chart text in px (at the chart's drawn size, which a narrow
/// screen scrolls rather than shrinks).
const FONT: f64 = 11.0;
/// The height of one line of chart text.
const LINE: f64 = 13.0;
/// The most lines a milestone's label takes; the full text is in its
/// tooltip and in the list under the chart.
const MAX_LINES: usize = 6;

/// The width of `c` in px at [`FONT`]: wide for CJK and other full-width
/// scripts, about half an em otherwise.
fn char_width(c: char) -> f64 {
    if c >= '\u{2E80}' {
        FONT
    } else if c.is_ascii_uppercase() || c == 'm' || c == 'w' {
        FONT * 0.72
    } else {
        FONT * 0.56
    }
}

/// `text` wrapped into lines of at most `width` px, at spaces (anywhere in
/// scripts written without them); past `max_lines` the last line ends in
/// an ellipsis.
pub(crate) fn wrap(text: &str, width: f64, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut line_w = 0.0;
    // Tokens: a word with its following space, or one full-width character.
    let mut tokens: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        let mut plain = String::new();
        for c in word.chars() {
            if c >= '\u{2E80}' {
                if !plain.is_empty() {
                    tokens.push(std::mem::take(&mut plain));
                }
                tokens.push(c.to_string());
            } else {
                plain.push(c);
            }
        }
        plain.push(' ');
        tokens.push(plain);
    }
    for token in tokens {
        let w: f64 = token.trim_end().chars().map(char_width).sum();
        if line_w + w > width && !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
            line.clear();
            line_w = 0.0;
        }
        // A word longer than a line is cut into pieces that fit.
        if w > width {
            for c in token.chars() {
                if line_w + char_width(c) > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    line_w = 0.0;
                }
                line.push(c);
                line_w += char_width(c);
            }
            continue;
        }
        line_w += token.chars().map(char_width).sum::<f64>();
        line.push_str(&token);
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            while last.chars().map(char_width).sum::<f64>() + FONT > width && last.pop().is_some() {
            }
            last.push('…');
        }
    }
    lines
}

/// The three future paths as rows on one month axis (0–24), one dot per
/// milestone with its text wrapped beside it (above and below the line in
/// turn); `label` names each row (its scenario, where known). A hollow dot
/// is a milestone with nothing found to back it.
pub fn paths_chart(paths: &[FuturePath], label: impl Fn(&FuturePath) -> String) -> String {
    let (w, left, plot_w, top) = (800.0, 150.0, 560.0, 10.0);
    // Same-side labels are at least two milestones (six months) apart.
    let label_w = 136.0;
    let x = |m: u32| left + plot_w * f64::from(m.min(24)) / 24.0;
    let labels: Vec<Vec<Vec<String>>> = paths
        .iter()
        .map(|p| {
            p.milestones
                .iter()
                .map(|m| wrap(&m.event, label_w, MAX_LINES))
                .collect()
        })
        .collect();
    let most = labels
        .iter()
        .flatten()
        .map(Vec::len)
        .max()
        .unwrap_or(1)
        .max(1);
    // Room for the labels above and below the line, and a clear gap
    // between one path's labels below and the next path's above.
    let half = most as f64 * LINE + 24.0;
    let row_h = 2.0 * half;
    let h = top + row_h * paths.len().max(1) as f64 + 30.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" class="chart" aria-label="future paths chart">"#
    );
    let ticks = std::iter::once(0).chain(council_core::answers::Milestones::MONTHS);
    for m in ticks {
        let _ = write!(
            s,
            r##"<line x1="{x}" x2="{x}" y1="{top}" y2="{}" stroke="#eee"/><text x="{x}" y="{}" font-size="{FONT}" text-anchor="middle" fill="#555">{m}</text>"##,
            h - 24.0,
            h - 10.0,
            x = x(m)
        );
    }
    for (k, p) in paths.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let cy = top + row_h * k as f64 + half;
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="{FONT}" text-anchor="end" fill="#222">{}</text>"##,
            left - 10.0,
            cy + 4.0,
            escape(&council_core::excerpt(&label(p), 26))
        );
        let _ = write!(
            s,
            r#"<line x1="{}" x2="{}" y1="{cy}" y2="{cy}" stroke="{color}" stroke-width="2"/>"#,
            x(0),
            x(24)
        );
        for (i, m) in p.milestones.iter().enumerate() {
            let hollow = matches!(
                m.backing,
                Backing::Quote {
                    verified: false,
                    ..
                } | Backing::Forecast { valid: false, .. }
                    | Backing::None
            );
            let fill = if hollow { "white" } else { color };
            let lines = &labels[k][i];
            // Kept inside the chart: centred on its dot unless that would
            // cross the right edge.
            let lx = x(m.month).min(w - 4.0 - label_w / 2.0);
            let above = i % 2 == 0;
            let first_y = if above {
                cy - 12.0 - LINE * (lines.len() as f64 - 1.0)
            } else {
                cy + 10.0 + LINE
            };
            let _ = write!(
                s,
                r#"<circle cx="{}" cy="{cy}" r="6" fill="{fill}" stroke="{color}" stroke-width="2"><title>{}</title></circle><text x="{lx}" y="{first_y}" font-size="{FONT}" text-anchor="middle" fill="{color}">"#,
                x(m.month),
                escape(&format!("M{}: {}", m.month, m.event)),
            );
            for (j, line) in lines.iter().enumerate() {
                let dy = if j == 0 { 0.0 } else { LINE };
                let _ = write!(s, r#"<tspan x="{lx}" dy="{dy}">{}</tspan>"#, escape(line));
            }
            s.push_str("</text>");
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use council_core::report::Milestone;
    use council_core::PanelMember;

    #[test]
    fn labels_are_escaped() {
        let panel = vec![PanelEntry {
            member: PanelMember {
                id: "x".into(),
                name: "<script>alert(1)</script>".into(),
                role: "r".into(),
                i18n: Default::default(),
            },
            trajectory: vec![Some(40), Some(60)],
            final_confidence: Some(60),
        }];
        let svg = confidence_chart(&panel, |n| format!("R{n}"));
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("<polyline"));
    }

    #[test]
    fn unverified_milestones_are_hollow() {
        let path = FuturePath {
            scenario: None,
            title: "Path".into(),
            premise: "p".into(),
            milestones: vec![
                Milestone {
                    month: 3,
                    event: "a".into(),
                    backing: Backing::Quote {
                        persona: "x".into(),
                        quote: "q".into(),
                        verified: false,
                    },
                },
                Milestone {
                    month: 6,
                    event: "b".into(),
                    backing: Backing::Forecast {
                        id: "F-1".into(),
                        probability: Some(0.5),
                        valid: true,
                    },
                },
            ],
        };
        let svg = paths_chart(&[path], |p| p.title.clone());
        assert_eq!(svg.matches(r#"fill="white""#).count(), 1);
    }

    #[test]
    fn milestone_text_wraps_whole_instead_of_being_cut() {
        let event = "Customer churn in the mid-market segment falls below four percent after the new onboarding programme";
        let lines = wrap(event, 136.0, MAX_LINES);
        assert!(lines.len() > 2, "{lines:?}");
        assert_eq!(lines.join(" "), event, "every word kept, in order");
        for l in &lines {
            assert!(l.chars().map(char_width).sum::<f64>() <= 136.0, "{l}");
        }
        // Chinese wraps between characters.
        let zh = wrap(&"客户流失率下降".repeat(4), 136.0, MAX_LINES);
        assert!(
            zh.len() > 1 && zh.iter().all(|l| l.chars().count() <= 12),
            "{zh:?}"
        );
        // Past the line limit the last line says it goes on.
        let long = wrap(&"word ".repeat(200), 136.0, 3);
        assert_eq!(long.len(), 3);
        assert!(long[2].ends_with('…'));
    }

    #[test]
    fn chart_text_is_never_smaller_than_eleven_px() {
        let path = FuturePath {
            scenario: None,
            title: "Path".into(),
            premise: "p".into(),
            milestones: vec![Milestone {
                month: 24,
                event: "A long milestone that needs more than one line to be read whole".into(),
                backing: Backing::None,
            }],
        };
        let svg = paths_chart(&[path], |p| p.title.clone());
        let panel = vec![PanelEntry {
            member: PanelMember {
                id: "x".into(),
                name: "The CFO".into(),
                role: "r".into(),
                i18n: Default::default(),
            },
            trajectory: vec![Some(40), Some(60)],
            final_confidence: Some(60),
        }];
        let conf = confidence_chart(&panel, |n| format!("R{n}"));
        for chart in [&svg, &conf] {
            for size in chart.split("font-size=\"").skip(1) {
                let px: f64 = size.split('"').next().unwrap().parse().unwrap();
                assert!(px >= 11.0, "{px}");
            }
        }
        assert!(svg.contains("<tspan"), "the milestone's text is wrapped");
        assert!(svg.contains("read whole"), "and not cut");
    }
}
