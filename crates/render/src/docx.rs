//! The DOCX: an editable Word document written from the display view with
//! `docx-rs`: Title, Heading 1 and Heading 2 styles, tables for the vote,
//! forecasts, action plan, risks and cost, the charts rasterised to PNG,
//! and the brand's name, logo, colour, footer and confidentiality line.

use crate::brand::{Brand, Logo, LogoKind};
use crate::view::{TurnView, View};
use crate::RenderError;
use docx_rs::{
    AlignmentType, BreakType, Docx, Footer, Header, LineSpacing, PageMargin, PageNum, Paragraph,
    ParagraphBorder, ParagraphBorderPosition, Pic, Run, RunFonts, Shading, Style, StyleType, Table,
    TableCell, TableRow, WidthType,
};
use std::sync::{Arc, OnceLock};

/// Text width of an A4 page with 2 cm margins, in twentieths of a point.
const TEXT_WIDTH_TWIPS: usize = 11906 - 2 * 1134;
/// The same width in EMU (914400 per inch, 1440 twips per inch).
const TEXT_WIDTH_EMU: u32 = (TEXT_WIDTH_TWIPS as u32) * 635;
/// Charts are drawn at this multiple of their SVG size, for sharp print.
const CHART_SCALE: f32 = 2.0;
/// The largest PNG an SVG logo is drawn as, in pixels: the logo is shown
/// at most 5 × 1.5 cm, so this is 600 dpi.
pub(crate) const LOGO_MAX_PX: (u32, u32) = (1200, 360);

const MUTED: &str = "5B6570";
const WARN: &str = "C62828";
const DEFAULT_ACCENT: &str = "1D232B";

/// One section of the document: written from the input at the end of the
/// document so far.
type Section = fn(&mut Doc, &Input<'_, '_>) -> Result<(), RenderError>;

/// The document's sections, top to bottom, each skipping itself when the
/// report's length leaves it out. The report's account of itself (a status
/// line, or a warning box) comes right under the title, before the verdict.
const SECTIONS: [Section; 19] = [
    brand_band,
    title_block,
    status,
    verdict,
    vote,
    forecasts,
    actions,
    paths,
    story,
    evidence,
    risks,
    panel,
    followups,
    rounds,
    sources,
    appendix,
    flags,
    cost,
    disclaimer,
];

/// Writes the document for `v`.
pub(crate) fn write(v: &View<'_>, brand: Option<&Brand>) -> Result<Vec<u8>, RenderError> {
    let accent = brand
        .and_then(|b| b.accent.as_deref())
        .map_or(DEFAULT_ACCENT.to_string(), |a| {
            a.trim_start_matches('#').to_ascii_uppercase()
        });
    let input = Input { v, brand, accent };
    let mut d = Doc::new(styled(&input.accent));
    for section in SECTIONS {
        section(&mut d, &input)?;
    }
    let props = CoreProperties {
        // The brand that sends the document is its author; unbranded, the
        // tool that wrote it.
        author: brand.map_or("Council", |b| b.name.as_str()),
        title: &input.t("title"),
        subject: &v.r.question,
        date: &v.r.date,
        lang: &v.r.lang,
    };
    pack(page_furniture(d.docx, brand), &props)
}

/// What the document's properties (`docProps/core.xml`) say: Word shows
/// them as its author, title and dates.
struct CoreProperties<'a> {
    /// Author and last editor: the brand's name, or "Council".
    author: &'a str,
    /// The report's title.
    title: &'a str,
    /// The question.
    subject: &'a str,
    /// The run's date, `YYYY-MM-DD`: created and modified.
    date: &'a str,
    /// The report's language.
    lang: &'a str,
}

impl CoreProperties<'_> {
    /// The part's XML. docx-rs sets the dates but not the author (it
    /// writes "unknown"), so the whole part is written here.
    fn xml(&self) -> Vec<u8> {
        let e = |s: &str| council_core::escape_markup(&clean(s));
        // A date Word reads (W3CDTF); an unparsable one is left out rather
        // than written as 1970.
        let when = w3c_date(self.date)
            .map(|d| {
                format!(
                    "<dcterms:created xsi:type=\"dcterms:W3CDTF\">{d}T00:00:00Z</dcterms:created><dcterms:modified xsi:type=\"dcterms:W3CDTF\">{d}T00:00:00Z</dcterms:modified>"
                )
            })
            .unwrap_or_default();
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>{}</dc:title><dc:subject>{}</dc:subject><dc:creator>{}</dc:creator><cp:lastModifiedBy>{}</cp:lastModifiedBy><dc:language>{}</dc:language>{when}<cp:revision>1</cp:revision></cp:coreProperties>",
            e(self.title),
            e(self.subject),
            e(self.author),
            e(self.author),
            e(self.lang),
        )
        .into_bytes()
    }
}

/// `date` if it is a `YYYY-MM-DD` date.
fn w3c_date(date: &str) -> Option<&str> {
    let b = date.as_bytes();
    let ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    ok.then_some(date)
}

/// What every section reads: the view, the brand and its accent colour.
struct Input<'v, 'r> {
    v: &'v View<'r>,
    brand: Option<&'v Brand>,
    /// The accent as Word writes it: `RRGGBB`.
    accent: String,
}

impl Input<'_, '_> {
    /// The fixed text under `key` (empty if the table lacks it).
    fn t(&self, key: &str) -> String {
        self.v.t.get(key).cloned().unwrap_or_default()
    }

    /// The fixed text under `key` followed by the language's colon.
    fn label(&self, key: &str) -> String {
        format!("{}{}", self.t(key), self.t("colon"))
    }
}

/// The brand's band: confidentiality, then logo and name.
fn brand_band(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let Some(b) = i.brand else {
        return Ok(());
    };
    if let Some(c) = &b.confidentiality {
        d.p(Paragraph::new().add_run(small(c).bold().color(WARN)));
    }
    let mut band = Paragraph::new();
    if let Some(logo) = &b.logo {
        let (png, w, h) = logo_png(logo)?;
        // At most 5 cm wide and 1.5 cm high, keeping its proportions.
        let (max_w, max_h) = (1_800_000.0_f64, 540_000.0_f64);
        let k = (max_w / f64::from(w)).min(max_h / f64::from(h));
        let pic = Pic::new_with_dimensions(png, w, h)
            .size((f64::from(w) * k) as u32, (f64::from(h) * k) as u32);
        band = band
            .add_run(Run::new().add_image(pic))
            .add_run(Run::new().add_text("  "));
    }
    band = band.add_run(
        Run::new()
            .add_text(&b.name)
            .bold()
            .size(28)
            .color(&i.accent),
    );
    d.p(band);
    Ok(())
}

/// The title, the origin and variant lines, the date and producer, the
/// question.
fn title_block(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let v = i.v;
    d.p(Paragraph::new()
        .style("Title")
        .add_run(Run::new().add_text(i.t("title"))));
    if let Some(sub) = &v.subtitle {
        d.p(Paragraph::new().add_run(text_run(sub).size(26).color(MUTED)));
    }
    if v.show.origin {
        for line in [&v.origin_line, &v.variant_line].into_iter().flatten() {
            d.p(Paragraph::new().add_run(small(line).italic()));
        }
    }
    d.p(Paragraph::new().add_run(small(&format!(
        "{} · {}{}",
        v.r.date,
        i.label("produced_by"),
        v.r.produced_by
    ))));
    if let Some(line) = &v.condition_line {
        d.p(Paragraph::new().add_run(small(line).italic()));
    }
    d.labelled(&i.label("question"), &v.r.question);
    Ok(())
}

/// The report's account of itself: one line when all is well, else a
/// boxed warning (its title, what is wrong, the one thing to do).
fn status(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let s = &i.v.status;
    if let Some(line) = &s.line {
        d.p(Paragraph::new().add_run(small(&format!("✓ {line}")).italic().color(MUTED)));
        return Ok(());
    }
    // A red bar down the box's left edge (docx-rs has no builder for it).
    let warn = |mut p: Paragraph| {
        let edge = ParagraphBorder::new(ParagraphBorderPosition::Left)
            .size(24)
            .space(8)
            .color(WARN);
        p.property = p.property.set_border(edge);
        p
    };
    let title = s.title.clone().unwrap_or_default();
    d.p(warn(Paragraph::new().add_run(
        Run::new().add_text(format!("⚠ {title}")).bold().color(WARN),
    )));
    for item in &s.items {
        d.p(warn(
            Paragraph::new().add_run(Run::new().add_text(format!("• {item}"))),
        ));
    }
    if let Some(todo) = &s.todo {
        d.p(warn(
            Paragraph::new().add_run(Run::new().add_text(todo).bold()),
        ));
    }
    Ok(())
}

/// The verdict: its stance, any contradiction with the vote, its text and
/// reasoning; marked when no debate stands behind it.
fn verdict(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let v = i.v;
    d.h1(&i.t("verdict"));
    if let Some(note) = &v.verdict_note {
        d.p(Paragraph::new().add_run(Run::new().add_text(format!("⚠ {note}")).bold().color(WARN)));
    }
    if v.r.verdict.trim().is_empty() {
        d.text(&i.t("not_available"));
        return Ok(());
    }
    if let Some((stance, _)) = &v.verdict_stance {
        d.p(Paragraph::new()
            .add_run(Run::new().add_text(i.label("verdict_stance")))
            .add_run(Run::new().add_text(stance).bold()));
    }
    if let Some(c) = &v.contradiction {
        d.p(Paragraph::new().add_run(Run::new().add_text(format!("⚠ {c}")).bold().color(WARN)));
    }
    d.text(&v.r.verdict);
    d.labelled(&i.label("reasoning"), &v.r.reasoning);
    Ok(())
}

/// The panel's vote: the tally and one row per advisor.
fn vote(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let v = i.v;
    let t = |k: &str| i.t(k);
    d.h2(&t("vote"));
    d.p(Paragraph::new().add_run(Run::new().add_text(format!(
        "{} {} · {} {} · {} {} ({}/{})",
        t("support"),
        v.tally.support,
        t("mixed"),
        v.tally.mixed,
        t("oppose"),
        v.tally.oppose,
        v.tally.counted,
        v.votes.len()
    ))));
    if let Some(note) = &v.vote_note {
        d.p(Paragraph::new().add_run(Run::new().add_text(format!("⚠ {note}")).bold().color(WARN)));
    }
    d.table(
        &[t("advisor"), t("stance"), t("weight"), t("reason")],
        &[22, 14, 16, 48],
        v.votes
            .iter()
            .map(|x| {
                vec![
                    x.name.clone(),
                    x.stance.clone(),
                    format!("{} → {}", x.confidence, x.weight),
                    x.reason.clone(),
                ]
            })
            .collect(),
    );
    d.note(&t("vote_note"));
    Ok(())
}

/// The forecasts table.
fn forecasts(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let t = |k: &str| i.t(k);
    d.h1(&t("forecasts"));
    if i.v.forecasts.is_empty() {
        d.text(&t("not_available"));
        return Ok(());
    }
    d.table(
        &["ID".into(), t("forecast"), t("by"), t("median"), t("range")],
        &[14, 42, 15, 10, 19],
        i.v.forecasts
            .iter()
            .map(|f| {
                vec![
                    f.id.clone(),
                    f.statement.clone(),
                    f.horizon.clone(),
                    f.median.clone(),
                    format!("{} ({} {})", f.range, f.n, f.answers),
                ]
            })
            .collect(),
    );
    Ok(())
}

/// The action plan table, each action's trigger and script in its last
/// column.
fn actions(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let t = |k: &str| i.t(k);
    d.h1(&t("actions"));
    if i.v.r.actions.is_empty() {
        d.text(&t("not_available"));
        return Ok(());
    }
    d.table(
        &[t("when"), t("action"), t("owner"), t("trigger_script")],
        &[16, 38, 14, 32],
        i.v.r
            .actions
            .iter()
            .map(|a| {
                let mut last = Vec::new();
                if let Some(x) = &a.trigger {
                    last.push(format!("{}{x}", i.label("if_")));
                }
                if let Some(x) = &a.script {
                    last.push(format!("{}“{x}”", i.label("say")));
                }
                vec![
                    a.when.clone(),
                    a.action.clone(),
                    a.owner.clone(),
                    last.join("\n"),
                ]
            })
            .collect(),
    );
    Ok(())
}

/// The future paths: the chart, then each path's premise and milestones.
fn paths(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let v = i.v;
    if !v.show.detail {
        return Ok(());
    }
    let t = |k: &str| i.t(k);
    d.h1(&t("paths"));
    if v.paths.is_empty() {
        d.text(&t("not_available"));
    } else if !v.paths_svg.is_empty() {
        d.note(&t("paths_chart"));
        d.chart(&v.paths_svg, "paths chart")?;
        d.note(&t("milestone_legend"));
    }
    for p in &v.paths {
        let title = match &p.scenario {
            Some(s) if p.title.is_empty() => s.to_string(),
            Some(s) => format!("{s}: {}", p.title),
            None => p.title.clone(),
        };
        d.h2(&title);
        if !p.premise.is_empty() {
            d.p(Paragraph::new()
                .add_run(Run::new().add_text(i.label("premise")).italic())
                .add_run(text_run(&p.premise)));
        }
        for m in &p.milestones {
            let backing =
                Run::new()
                    .add_text(&m.note)
                    .size(18)
                    .color(if m.ok { MUTED } else { WARN });
            d.p(bullet()
                .add_run(Run::new().add_text(&m.label).bold())
                .add_run(Run::new().add_text(" – "))
                .add_run(text_run(&m.event))
                .add_run(backing));
        }
    }
    Ok(())
}

/// The story, paragraph by paragraph.
fn story(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    if !i.v.show.detail {
        return Ok(());
    }
    d.h1(&i.t("story"));
    if i.v.r.story.is_empty() {
        d.text(&i.t("not_available"));
    }
    for para in &i.v.r.story {
        d.text(para);
    }
    Ok(())
}

/// The numbered evidence, each claim with its citation, the unverified
/// marked.
fn evidence(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let v = i.v;
    if !v.show.detail {
        return Ok(());
    }
    d.h1(&i.t("evidence"));
    if v.evidence.is_empty() {
        d.text(&i.t("not_available"));
    }
    for (n, e) in v.evidence.iter().enumerate() {
        let mut p = Paragraph::new()
            .add_run(Run::new().add_text(format!("{}. ", n + 1)))
            .add_run(text_run(&e.claim))
            .add_run(Run::new().add_text(format!(" — {}", e.cite)).color(MUTED));
        if !e.verified {
            p = p.add_run(
                Run::new()
                    .add_text(format!(" {}", i.t("unverified")))
                    .bold()
                    .color(WARN),
            );
        }
        d.p(p);
    }
    Ok(())
}

/// The risks table.
fn risks(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    d.h1(&i.t("risks"));
    if i.v.r.risks.is_empty() {
        d.text(&i.t("not_available"));
        return Ok(());
    }
    d.table(
        &[i.t("risk"), i.t("why")],
        &[35, 65],
        i.v.r
            .risks
            .iter()
            .map(|k| vec![k.risk.clone(), k.why.clone()])
            .collect(),
    );
    Ok(())
}

/// The panel table and its confidence chart.
fn panel(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let v = i.v;
    if !v.show.detail {
        return Ok(());
    }
    d.h1(&i.t("panel"));
    d.table(
        &[String::new(), i.t("role"), i.t("final_confidence")],
        &[30, 50, 20],
        v.panel
            .iter()
            .map(|p| vec![p.name.clone(), p.role.clone(), p.final_.clone()])
            .collect(),
    );
    if v.confidence_svg.is_empty() {
        return Ok(());
    }
    d.note(&i.t("confidence_chart"));
    d.chart(&v.confidence_svg, "confidence chart")
}

/// Each follow-up: its answer, what changed, new risks, summary and turns.
fn followups(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    for f in &i.v.followups {
        d.h1(&f.heading);
        match &f.answer {
            Some(a) => d.labelled(&i.label("answer"), a),
            None => d.text(&i.t("not_available")),
        }
        if let Some(w) = &f.what_changed {
            d.labelled(&i.label("what_changed"), w);
        }
        if !f.new_risks.is_empty() {
            d.h2(&i.t("new_risks"));
            for k in &f.new_risks {
                d.p(bullet().add_run(text_run(k)));
            }
        }
        if let Some(s) = &f.summary {
            d.labelled(&i.label("followup_summary"), s);
        }
        if !f.turns.is_empty() {
            d.h2(&i.t("followup_turns"));
            for x in &f.turns {
                d.turn(x, &i.t("failed"), None);
            }
        }
    }
    Ok(())
}

/// The debate, round by round: an appendix starting a page, as in the PDF.
fn rounds(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let v = i.v;
    // A run with no rounds (the single condition) shows no rounds section.
    if !v.show.detail || v.rounds.is_empty() {
        return Ok(());
    }
    let t = |k: &str| i.t(k);
    d.p(Paragraph::new()
        .style("Heading1")
        .page_break_before(true)
        .add_run(Run::new().add_text(clean(&t("rounds")))));
    if !v.show.turns {
        d.note(&t("rounds_summaries_only"));
    }
    let labels = Labels {
        assumption: t("assumption"),
        story: t("story_label"),
        change: t("change"),
        colon: t("colon"),
    };
    for round in &v.rounds {
        d.h2(&format!("{} – {}", round.label, round.title));
        d.labelled(&i.label("summary"), round.summary.as_deref().unwrap_or("–"));
        for x in &round.turns {
            d.turn(x, &t("failed"), Some(&labels));
        }
    }
    Ok(())
}

/// The sources used (with how often each was cited) and those unused.
fn sources(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let r = i.v.r;
    if !i.v.show.detail {
        return Ok(());
    }
    d.h1(&i.t("sources"));
    if r.sources_used.is_empty() && r.sources_unused.is_empty() {
        d.text(&i.t("no_sources"));
        return Ok(());
    }
    d.h2(&i.t("sources_used"));
    for s in &r.sources_used {
        d.p(bullet().add_run(text_run(&format!(
            "[{}] {} — {} ({}{})",
            s.number,
            s.title,
            s.location,
            i.label("cited"),
            s.cited
        ))));
    }
    d.h2(&i.t("sources_unused"));
    for s in &r.sources_unused {
        d.p(bullet().add_run(text_run(&format!(
            "[{}] {} — {}",
            s.number, s.title, s.location
        ))));
    }
    Ok(())
}

/// An external audience's internal appendix, when asked for: its heading,
/// its note, and the origin and variant lines (flags and cost follow).
fn appendix(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let v = i.v;
    if !v.show.appendix {
        return Ok(());
    }
    d.h1(&i.t("appendix"));
    d.note(&i.t("appendix_note"));
    if v.show.appendix_origin {
        for line in [&v.origin_line, &v.variant_line].into_iter().flatten() {
            d.p(Paragraph::new().add_run(small(line).italic()));
        }
    }
    Ok(())
}

/// The verification line and every flag.
fn flags(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let v = i.v;
    if !v.show.flags {
        return Ok(());
    }
    d.h1(&i.t("flags"));
    d.text(&v.verification);
    if v.r.flags.is_empty() {
        d.note(&i.t("flags_none"));
    }
    for f in &v.r.flags {
        d.p(bullet().add_run(text_run(f).size(18).color(MUTED)));
    }
    Ok(())
}

/// The cost table and its notes (unpriced models, the prices' date).
fn cost(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    let (true, Some(c)) = (i.v.show.cost, &i.v.cost) else {
        return Ok(());
    };
    d.h1(&i.t("cost"));
    d.table(
        &[String::new(), i.t("calls"), i.t("tokens"), i.t("usd")],
        &[40, 14, 28, 18],
        c.rows
            .iter()
            .map(|r| {
                vec![
                    r.label.clone(),
                    r.calls.to_string(),
                    r.tokens.clone(),
                    r.usd.clone(),
                ]
            })
            .collect(),
    );
    for line in [&c.unpriced, &c.prices_as_of].into_iter().flatten() {
        d.note(line);
    }
    Ok(())
}

/// The closing disclaimer.
fn disclaimer(d: &mut Doc, i: &Input<'_, '_>) -> Result<(), RenderError> {
    d.p(Paragraph::new()
        .line_spacing(LineSpacing::new().before(480))
        .add_run(small(&i.t("disclaimer")).italic()));
    Ok(())
}

/// The logo as a PNG: (bytes, width, height in pixels). An SVG is drawn at
/// twice its size, or smaller to fit [`LOGO_MAX_PX`]: its size is the
/// brand file's to choose, and a pixmap is allocated whole.
pub(crate) fn logo_png(logo: &Logo) -> Result<(Vec<u8>, u32, u32), RenderError> {
    match logo.kind {
        LogoKind::Png => {
            let (w, h) = crate::brand::png_size(&logo.bytes).unwrap_or((1, 1));
            Ok((logo.bytes.clone(), w, h))
        }
        LogoKind::Svg => {
            let svg = String::from_utf8_lossy(&logo.bytes);
            let (max_w, max_h) = LOGO_MAX_PX;
            raster(
                &svg,
                |w, h| (2.0_f32).min(max_w as f32 / w).min(max_h as f32 / h),
                &logo.path.display().to_string(),
            )
        }
    }
}

/// The page header (the brand's confidentiality line) and footer (the
/// brand's name and footer, the page number).
fn page_furniture(mut docx: Docx, brand: Option<&Brand>) -> Docx {
    if let Some(c) = brand.and_then(|b| b.confidentiality.as_ref()) {
        docx = docx.header(
            Header::new().add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .add_run(small(c).color(WARN)),
            ),
        );
    }
    let foot: Vec<&str> = brand
        .map(|b| [Some(b.name.as_str()), b.footer.as_deref()])
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    let mut footer = Paragraph::new().align(AlignmentType::Right);
    if !foot.is_empty() {
        footer = footer.add_run(small(&format!("{} · ", foot.join(" · "))));
    }
    docx.footer(Footer::new().add_paragraph(footer.add_page_num(PageNum::new())))
}

/// The document, with `props` as its properties, as the bytes of a .docx file.
fn pack(docx: Docx, props: &CoreProperties<'_>) -> Result<Vec<u8>, RenderError> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut xml = docx.build();
    xml.doc_props.core = props.xml();
    xml.pack(&mut out)
        .map_err(|e| RenderError::Docx(e.to_string()))?;
    Ok(out.into_inner())
}

/// Labels of a round's turn details.
struct Labels {
    assumption: String,
    story: String,
    change: String,
    colon: String,
}

/// A document being written, top to bottom.
struct Doc {
    docx: Docx,
}

impl Doc {
    fn new(docx: Docx) -> Doc {
        Doc { docx }
    }

    fn p(&mut self, p: Paragraph) {
        let docx = std::mem::take(&mut self.docx);
        self.docx = docx.add_paragraph(p);
    }

    fn text(&mut self, s: &str) {
        self.p(Paragraph::new().add_run(text_run(s)));
    }

    /// A bold label (its colon included) followed by model text.
    fn labelled(&mut self, label: &str, s: &str) {
        self.p(Paragraph::new()
            .add_run(Run::new().add_text(label).bold())
            .add_run(text_run(s)));
    }

    fn note(&mut self, s: &str) {
        self.p(Paragraph::new().add_run(small(s).italic()));
    }

    fn h1(&mut self, s: &str) {
        self.p(Paragraph::new()
            .style("Heading1")
            .add_run(Run::new().add_text(clean(s))));
    }

    fn h2(&mut self, s: &str) {
        self.p(Paragraph::new()
            .style("Heading2")
            .add_run(Run::new().add_text(clean(s))));
    }

    /// A table whose columns take `percent` of the text width; the first row
    /// is the header; no row is split across pages.
    fn table(&mut self, header: &[String], percent: &[usize], rows: Vec<Vec<String>>) {
        let widths: Vec<usize> = percent.iter().map(|p| TEXT_WIDTH_TWIPS * p / 100).collect();
        let cell = |text: &str, w: usize, head: bool| {
            let mut c = TableCell::new().width(w, WidthType::Dxa);
            for (i, line) in text.split('\n').enumerate() {
                let mut run = Run::new().add_text(clean(line)).size(19);
                if head {
                    run = run.bold();
                }
                let mut p = Paragraph::new().add_run(run);
                if i > 0 {
                    p = p.line_spacing(LineSpacing::new().before(60));
                }
                c = c.add_paragraph(p);
            }
            if head {
                c = c.shading(Shading::new().fill("EEF1F4"));
            }
            c
        };
        let mut all = vec![TableRow::new(
            header
                .iter()
                .zip(&widths)
                .map(|(h, w)| cell(h, *w, true))
                .collect(),
        )
        .cant_split()];
        all.extend(rows.iter().map(|r| {
            TableRow::new(
                r.iter()
                    .zip(&widths)
                    .map(|(x, w)| cell(x, *w, false))
                    .collect(),
            )
            .cant_split()
        }));
        let table = Table::new(all)
            .set_grid(widths.clone())
            .width(TEXT_WIDTH_TWIPS, WidthType::Dxa);
        let docx = std::mem::take(&mut self.docx);
        self.docx = docx.add_table(table);
        // Word joins a table to the next one without a paragraph between.
        self.p(Paragraph::new());
    }

    /// An SVG chart, rasterised, as wide as the text.
    fn chart(&mut self, svg: &str, what: &str) -> Result<(), RenderError> {
        let (png, w, h) = raster(svg, |_, _| CHART_SCALE, what)?;
        let height = (u64::from(TEXT_WIDTH_EMU) * u64::from(h) / u64::from(w.max(1))) as u32;
        let pic = Pic::new_with_dimensions(png, w, h).size(TEXT_WIDTH_EMU, height);
        self.p(Paragraph::new().add_run(Run::new().add_image(pic)));
        Ok(())
    }

    fn turn(&mut self, x: &TurnView, failed: &str, labels: Option<&Labels>) {
        let mut head = Paragraph::new()
            .keep_next(true)
            .line_spacing(LineSpacing::new().before(160))
            .add_run(Run::new().add_text(clean(&x.name)).bold());
        if x.failed {
            head = head.add_run(
                Run::new()
                    .add_text(format!(" {failed}: {}", x.error.as_deref().unwrap_or("")))
                    .color(WARN),
            );
            self.p(head);
            return;
        }
        let mut tags = format!(" · {} · {}", x.move_, x.confidence);
        if !x.answers.is_empty() {
            tags.push_str(&format!(" · → {}", x.answers));
        }
        self.p(head.add_run(small(&tags)));
        self.p(Paragraph::new().add_run(text_run(&x.text)));
        if let Some(l) = labels {
            let mut detail = |label: String, value: &Option<String>| {
                if let Some(v) = value {
                    self.p(Paragraph::new()
                        .add_run(Run::new().add_text(clean(&label)).italic())
                        .add_run(text_run(v)));
                }
            };
            detail(format!("{}{}", l.assumption, l.colon), &x.assumption);
            if let Some(target) = &x.target {
                detail(format!("{target}{}", l.colon), &x.target_assumption);
            }
            detail(format!("{}{}", l.story, l.colon), &x.story);
            detail(format!("{}{}", l.change, l.colon), &x.change);
        }
    }
}

/// The document with page setup, fonts and the heading styles.
fn styled(accent: &str) -> Docx {
    // Latin text in Calibri, Chinese in Microsoft YaHei where Word has it
    // (Word and LibreOffice substitute a CJK font where it does not).
    let fonts = RunFonts::new()
        .ascii("Calibri")
        .hi_ansi("Calibri")
        .cs("Calibri")
        .east_asia("Microsoft YaHei");
    let heading = |id: &str, name: &str, size: usize, level: usize, before: u32| {
        Style::new(id, StyleType::Paragraph)
            .name(name)
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .bold()
            .size(size)
            .color(accent)
            .fonts(fonts.clone())
            .outline_lvl(level)
            .line_spacing(LineSpacing::new().before(before).after(120))
    };
    Docx::new()
        .page_margin(
            PageMargin::new()
                .top(1134)
                .bottom(1134)
                .left(1134)
                .right(1134)
                .header(567)
                .footer(567),
        )
        .default_fonts(fonts.clone())
        .default_size(21)
        .add_style(
            Style::new("Title", StyleType::Paragraph)
                .name("Title")
                .based_on("Normal")
                .next("Normal")
                .q_format(true)
                .bold()
                .size(44)
                .color(accent)
                .fonts(fonts.clone())
                .line_spacing(LineSpacing::new().after(120)),
        )
        .add_style(heading("Heading1", "heading 1", 32, 0, 480))
        .add_style(heading("Heading2", "heading 2", 26, 1, 240))
}

/// A bulleted paragraph (a plain bullet: no numbering definitions needed).
fn bullet() -> Paragraph {
    Paragraph::new()
        .indent(
            Some(360),
            Some(docx_rs::SpecialIndentType::Hanging(240)),
            None,
            None,
        )
        .add_run(Run::new().add_text("• "))
}

fn small(s: &str) -> Run {
    Run::new().add_text(clean(s)).size(17).color(MUTED)
}

/// A run of model text: line breaks kept.
fn text_run(s: &str) -> Run {
    let mut run = Run::new();
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            run = run.add_break(BreakType::TextWrapping);
        }
        run = run.add_text(clean(line));
    }
    run
}

/// Drops characters XML 1.0 cannot hold (control characters from a model).
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect()
}

/// The system's fonts, loaded once (chart labels and a logo's lettering
/// need them, Noto CJK for Chinese, and loading them takes a while), with
/// CSS's generic families (`sans-serif`, `serif`, `monospace`…) mapped to
/// fonts the system has: fontdb's defaults (Arial, Times New Roman…) are
/// absent on Debian, and text in a family that matches nothing is dropped.
/// Also the family drawn when an SVG names none: a plain sans-serif, as in
/// the HTML.
fn fonts() -> (Arc<resvg::usvg::fontdb::Database>, String) {
    static DB: OnceLock<(Arc<resvg::usvg::fontdb::Database>, String)> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = resvg::usvg::fontdb::Database::new();
        db.load_system_fonts();
        let families: Vec<String> = db
            .faces()
            .flat_map(|f| f.families.iter().map(|(n, _)| n.clone()))
            .collect();
        let first_of = |wanted: &[&str]| -> Option<String> {
            wanted
                .iter()
                .find(|want| families.iter().any(|f| f == *want))
                .map(|s| s.to_string())
        };
        let sans = first_of(&[
            "Noto Sans",
            "DejaVu Sans",
            "Liberation Sans",
            "Arial",
            "Helvetica",
            "Noto Sans CJK SC",
        ])
        .or(families.first().cloned())
        .unwrap_or_else(|| "sans-serif".into());
        let serif = first_of(&[
            "Noto Serif",
            "DejaVu Serif",
            "Liberation Serif",
            "Times New Roman",
            "Noto Serif CJK SC",
        ])
        .unwrap_or_else(|| sans.clone());
        let mono = first_of(&[
            "Noto Sans Mono",
            "DejaVu Sans Mono",
            "Liberation Mono",
            "Courier New",
            "Noto Sans Mono CJK SC",
        ])
        .unwrap_or_else(|| sans.clone());
        db.set_sans_serif_family(sans.clone());
        db.set_serif_family(serif);
        db.set_monospace_family(mono);
        db.set_cursive_family(sans.clone());
        db.set_fantasy_family(sans.clone());
        (Arc::new(db), sans)
    })
    .clone()
}

/// How every SVG is read (charts, a logo, and a logo checked when its
/// brand is loaded): with the system's fonts ([`fonts`]).
pub(crate) fn svg_options() -> resvg::usvg::Options<'static> {
    let (fontdb, font_family) = fonts();
    resvg::usvg::Options {
        font_family,
        fontdb,
        ..resvg::usvg::Options::default()
    }
}

/// An SVG drawn to PNG at `scale(width, height)` times its size (at least
/// one pixel each way): (PNG bytes, width, height).
fn raster(
    svg: &str,
    scale: impl Fn(f32, f32) -> f32,
    what: &str,
) -> Result<(Vec<u8>, u32, u32), RenderError> {
    let fail = |message: String| RenderError::Raster {
        what: what.to_string(),
        message,
    };
    // Chinese labels fall back to a font holding their glyphs.
    let tree = resvg::usvg::Tree::from_str(svg, &svg_options()).map_err(|e| fail(e.to_string()))?;
    let (w, h) = (tree.size().width(), tree.size().height());
    let scale = scale(w, h);
    let pixels = |x: f32| ((x * scale).round() as u32).max(1);
    let size = resvg::tiny_skia::IntSize::from_wh(pixels(w), pixels(h))
        .ok_or_else(|| fail("empty picture".into()))?;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| fail("empty picture".into()))?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let png = pixmap.encode_png().map_err(|e| fail(e.to_string()))?;
    Ok((png, size.width(), size.height()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fixture, view};
    use council_core::variant::Length;
    use docx_rs::{DocumentChild, TableCellContent, TableChild, TableRowChild};

    /// One block of the document body as a reader sees it.
    #[derive(Debug, PartialEq)]
    enum Block {
        /// A paragraph: its style id (if any) and its text.
        Para(Option<String>, String),
        /// A table: the cells of its header row.
        Table(Vec<String>),
    }

    /// The blocks of a written document, read back with docx-rs's reader.
    fn blocks(bytes: &[u8]) -> Vec<Block> {
        let docx = docx_rs::read_docx(bytes).unwrap();
        docx.document
            .children
            .iter()
            .filter_map(|c| match c {
                DocumentChild::Paragraph(p) => Some(Block::Para(
                    p.property.style.as_ref().map(|s| s.val.clone()),
                    p.raw_text(),
                )),
                DocumentChild::Table(t) => {
                    let TableChild::TableRow(head) = &t.rows[0];
                    Some(Block::Table(
                        head.cells
                            .iter()
                            .map(|TableRowChild::TableCell(c)| {
                                c.children
                                    .iter()
                                    .filter_map(|x| match x {
                                        TableCellContent::Paragraph(p) => Some(p.raw_text()),
                                        _ => None,
                                    })
                                    .collect::<String>()
                            })
                            .collect(),
                    ))
                }
                _ => None,
            })
            .collect()
    }

    fn styled<'b>(blocks: &'b [Block], style: &str) -> Vec<&'b str> {
        blocks
            .iter()
            .filter_map(|b| match b {
                Block::Para(Some(s), text) if s == style => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The last heading (of either level) above each table, with the
    /// table's first header cell.
    fn tables_under_headings(blocks: &[Block]) -> Vec<(String, String)> {
        let mut heading = String::new();
        let mut out = Vec::new();
        for b in blocks {
            match b {
                Block::Para(Some(s), text) if s == "Heading1" || s == "Heading2" => {
                    heading = text.clone();
                }
                Block::Table(head) => out.push((heading.clone(), head[1].clone())),
                Block::Para(..) => {}
            }
        }
        out
    }

    #[test]
    fn sections_come_in_the_reports_order_at_every_length_and_language() {
        for length in [Length::Brief, Length::Standard, Length::Full] {
            for lang in ["en", "zh"] {
                let mut r = fixture::report(length);
                r.lang = lang.into();
                let v = view::view(&r, None);
                let t = |k: &str| v.t[k].clone();
                let blocks = blocks(&write(&v, None).unwrap());
                let case = format!("{lang} {length}");
                assert_eq!(styled(&blocks, "Heading1"), v.sections(), "{case}");
                assert_eq!(
                    blocks[0],
                    Block::Para(Some("Title".into()), t("title")),
                    "{case}: an unbranded document opens with its title"
                );
                assert_eq!(
                    blocks.last(),
                    Some(&Block::Para(None, t("disclaimer"))),
                    "{case}: the disclaimer closes it"
                );
                let mut tables = vec![
                    (t("vote"), t("stance")),
                    (t("forecasts"), t("forecast")),
                    (t("actions"), t("action")),
                    (t("risks"), t("why")),
                ];
                if length != Length::Brief {
                    tables.extend([(t("panel"), t("role")), (t("cost"), t("calls"))]);
                }
                assert_eq!(tables_under_headings(&blocks), tables, "{case}");
                let rounds = styled(&blocks, "Heading2")
                    .into_iter()
                    .filter(|h| h.starts_with(t("round_label").split("{n}").next().unwrap()))
                    .count();
                let expected = if length == Length::Brief {
                    0
                } else {
                    r.rounds.len()
                };
                assert_eq!(rounds, expected, "{case}: one Heading 2 per round");
            }
        }
    }

    #[test]
    fn the_status_line_or_warning_box_comes_before_the_verdict() {
        use council_core::report::Quality;
        for (spoken, lang, first, marks_verdict) in [
            (12, "en", "✓ Complete: 12 of 12 advisor turns spoken", false),
            (8, "en", "⚠ Partial report", false),
            (3, "en", "⚠ Hollow report", true),
            (3, "zh", "⚠ 空洞的报告", true),
        ] {
            let mut r = fixture::report(Length::Standard);
            r.lang = lang.into();
            r.quality = Quality {
                turns_spoken: spoken,
                turns_asked: 12,
                turns_failed: 12 - spoken,
                parts_present: 15,
                parts_asked: 15,
                ..Quality::default()
            };
            r.status = r.quality.status();
            r.concerns = r.quality.concerns();
            r.remedy = r.quality.remedy();
            let v = view::view(&r, None);
            let blocks = blocks(&write(&v, None).unwrap());
            let text = |b: &Block| match b {
                Block::Para(_, t) => t.clone(),
                Block::Table(_) => String::new(),
            };
            let at = |what: &str| blocks.iter().position(|b| text(b).starts_with(what));
            let case = format!("{lang} {spoken}");
            let status = at(first).unwrap_or_else(|| panic!("{case}: {blocks:?}"));
            let verdict = blocks
                .iter()
                .position(|b| b == &Block::Para(Some("Heading1".into()), v.t["verdict"].clone()))
                .unwrap();
            assert!(status < verdict, "{case}");
            if spoken < 12 {
                // The box names what failed and the one thing to do.
                let todo = v.status.todo.clone().unwrap();
                assert!(
                    at(&todo).is_some_and(|i| i > status && i < verdict),
                    "{case}"
                );
            }
            let note = v.verdict_note.clone().map(|n| format!("⚠ {n}"));
            assert_eq!(note.is_some(), marks_verdict, "{case}");
            if let Some(note) = note {
                assert_eq!(
                    at(&note),
                    Some(verdict + 1),
                    "{case}: under the verdict's heading"
                );
            }
        }
    }

    #[test]
    fn an_svg_logo_is_drawn_at_twice_its_size_or_shrunk_to_fit() {
        let svg = |w: &str, h: &str| {
            Logo {
            path: "logo.svg".into(),
            kind: LogoKind::Svg,
            bytes: format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><rect width="10" height="10"/></svg>"#
            )
            .into_bytes(),
        }
        };
        let size = |logo: &Logo| {
            let (png, w, h) = logo_png(logo).unwrap();
            assert_eq!(crate::brand::png_size(&png), Some((w, h)));
            (w, h)
        };
        assert_eq!(size(&svg("40", "12")), (80, 24));
        // A logo declaring itself a million pixels square is not drawn at
        // that size (four terabytes of pixmap): it fits the largest picture.
        assert_eq!(size(&svg("1000000", "1000000")), (360, 360));
        assert_eq!(size(&svg("1000000", "1")), (1200, 1));
        assert_eq!(size(&svg("0.001", "0.001")), (1, 1));
    }

    #[test]
    fn a_brand_band_opens_the_document_above_the_title() {
        let brand = Brand {
            name: "Acme Advisors".into(),
            logo: None,
            accent: Some("#0a7f6f".into()),
            footer: Some("acme.example".into()),
            confidentiality: Some("Confidential".into()),
            title: None,
            subtitle: None,
            external: Vec::new(),
            appendix: crate::Appendix::default(),
        };
        let r = fixture::report(Length::Brief);
        let v = view::view(&r, Some(&brand));
        let blocks = blocks(&write(&v, Some(&brand)).unwrap());
        assert_eq!(
            blocks[..3],
            [
                Block::Para(None, "Confidential".into()),
                Block::Para(None, "Acme Advisors".into()),
                Block::Para(Some("Title".into()), v.t["title"].clone()),
            ]
        );
        assert_eq!(styled(&blocks, "Heading1"), v.sections());
    }

    /// Dark pixels of a PNG, in the columns from `from_x` on.
    fn ink(png: &[u8], from_x: u32) -> usize {
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(png).unwrap();
        let w = pixmap.width();
        pixmap
            .pixels()
            .iter()
            .enumerate()
            .filter(|(i, p)| {
                (*i as u32 % w) >= from_x && p.red() < 128 && p.green() < 128 && p.blue() < 128
            })
            .count()
    }

    /// A logo: a green block, then "ACME" in a generic family from x = 50.
    fn lettered_logo(family: &str) -> Logo {
        Logo {
            path: "logo.svg".into(),
            kind: LogoKind::Svg,
            bytes: format!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="60"><rect width="40" height="60" fill="#0a7f6f"/><text x="50" y="44" font-family="{family}" font-size="36" fill="#000">ACME</text></svg>"##
            )
            .into_bytes(),
        }
    }

    fn acme(logo: Option<Logo>) -> Brand {
        Brand {
            name: "Acme & Partners".into(),
            logo,
            accent: None,
            footer: None,
            confidentiality: None,
            title: None,
            subtitle: None,
            external: Vec::new(),
            appendix: crate::Appendix::default(),
        }
    }

    #[test]
    fn an_svg_logos_lettering_in_a_generic_family_reaches_the_docx() {
        let brand = acme(Some(lettered_logo("sans-serif")));
        let r = fixture::report(Length::Brief);
        let v = view::view(&r, Some(&brand));
        let docx = docx_rs::read_docx(&write(&v, Some(&brand)).unwrap()).unwrap();
        let (_, _, _, png) = docx.images.first().expect("the logo is in the document");
        // Drawn at twice its size: the lettering starts at x = 100.
        let lettering = ink(&png.0, 100);
        // The same logo naming the font itself, drawn the same way.
        let (_, named) = fonts();
        let (reference, _, _) = logo_png(&lettered_logo(&named)).unwrap();
        let expected = ink(&reference, 100);
        assert!(
            expected > 500,
            "the reference draws its letters: {expected}"
        );
        assert!(
            lettering * 10 >= expected * 9 && lettering * 10 <= expected * 11,
            "the lettering keeps its ink: {lettering} dark pixels, {expected} with {named} named"
        );
    }

    /// The document's `docProps/core.xml`.
    fn core_xml(bytes: &[u8]) -> String {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut part = zip.by_name("docProps/core.xml").unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut part, &mut xml).unwrap();
        xml
    }

    #[test]
    fn the_documents_properties_name_the_brand_or_council_and_the_runs_date() {
        let r = fixture::report(Length::Brief);
        let brand = acme(None);
        let v = view::view(&r, Some(&brand));
        let xml = core_xml(&write(&v, Some(&brand)).unwrap());
        for want in [
            "<dc:creator>Acme &amp; Partners</dc:creator>",
            "<cp:lastModifiedBy>Acme &amp; Partners</cp:lastModifiedBy>",
            "<dcterms:created xsi:type=\"dcterms:W3CDTF\">2026-11-26T00:00:00Z</dcterms:created>",
            "<dcterms:modified xsi:type=\"dcterms:W3CDTF\">2026-11-26T00:00:00Z</dcterms:modified>",
            "<dc:language>en</dc:language>",
        ] {
            assert!(xml.contains(want), "{want} in {xml}");
        }
        assert!(xml.contains(&format!("<dc:title>{}</dc:title>", v.t["title"])));
        assert!(!xml.contains("unknown") && !xml.contains("1970"), "{xml}");
        let plain = view::view(&r, None);
        let xml = core_xml(&write(&plain, None).unwrap());
        assert!(xml.contains("<dc:creator>Council</dc:creator>"), "{xml}");
        // The reader Word's files are checked with opens it.
        assert!(docx_rs::read_docx(&write(&plain, None).unwrap()).is_ok());
    }
}
