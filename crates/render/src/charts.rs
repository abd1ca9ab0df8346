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
            r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" font-size="10" text-anchor="end" fill="#555">{c}</text>"##,
            left + plot_w,
            left - 6.0,
            y(c) + 3.0,
            y = y(c)
        );
    }
    for i in 0..rounds {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#555">{}</text>"##,
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
            r##"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}" font-size="11" fill="#222">{}</text>"##,
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

/// The three future paths as rows on one month axis (0–24), one dot per
/// milestone; `label` names each row (its scenario, where known).
pub fn paths_chart(paths: &[FuturePath], label: impl Fn(&FuturePath) -> String) -> String {
    let (w, left, plot_w, row_h, top) = (640.0, 150.0, 460.0, 56.0, 10.0);
    let h = top + row_h * paths.len().max(1) as f64 + 30.0;
    let x = |m: u32| left + plot_w * f64::from(m.min(24)) / 24.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" class="chart" aria-label="future paths chart">"#
    );
    let ticks = std::iter::once(0).chain(council_core::answers::Milestones::MONTHS);
    for m in ticks {
        let _ = write!(
            s,
            r##"<line x1="{x}" x2="{x}" y1="{top}" y2="{}" stroke="#eee"/><text x="{x}" y="{}" font-size="10" text-anchor="middle" fill="#555">{m}</text>"##,
            h - 24.0,
            h - 10.0,
            x = x(m)
        );
    }
    for (k, p) in paths.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let cy = top + row_h * k as f64 + row_h / 2.0;
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#222">{}</text>"##,
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
            let _ = write!(
                s,
                r#"<circle cx="{}" cy="{cy}" r="6" fill="{fill}" stroke="{color}" stroke-width="2"><title>{}</title></circle><text x="{}" y="{}" font-size="9" text-anchor="{}" fill="{color}">{}</text>"#,
                x(m.month),
                escape(&format!(
                    "M{}: {}",
                    m.month,
                    council_core::excerpt(&m.event, 120)
                )),
                x(m.month),
                cy + if i % 2 == 0 { -10.0 } else { 18.0 },
                // The last label ends at its dot, inside the chart.
                if m.month >= 24 { "end" } else { "middle" },
                escape(&council_core::excerpt(&m.event, 16))
            );
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
}
