//! Exported reports as a reader gets them, from the recorded debate: the
//! PDF's text and first page (through poppler's pdftotext and pdftoppm),
//! the DOCX's headings and action-plan table read back, and the brand in
//! HTML, PDF and DOCX.

use council_core::variant::{Length, VariantSpec};
use council_core::Report;
use council_engine::report::report_for;
use council_render::{render_docx, render_pdf, render_with, Brand, Format, RenderOptions};
use docx_rs::{DocumentChild, Paragraph, TableCellContent, TableChild, TableRowChild};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// Held by every test that runs Chromium or changes `COUNCIL_CHROMIUM`:
/// the variable is the process's, and tests run on threads.
static CHROMIUM: Mutex<()> = Mutex::new(());

async fn report(lang: &str) -> Report {
    report_for(&crate::debate::replay_debate().await, Some(lang))
}

const FIRM: &str = "Halvorsen & Partners";
const CONFIDENTIAL: &str = "Confidential — prepared for the board of Nordlicht AG";

/// A brand with a PNG logo, written into `dir`.
fn brand(dir: &Path) -> Brand {
    let mut png = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png, 32, 32);
        enc.set_color(png::ColorType::Rgb);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[0x0a, 0x7f, 0x6f].repeat(32 * 32))
            .unwrap();
    }
    std::fs::write(dir.join("logo.png"), png).unwrap();
    std::fs::write(
        dir.join("brand.toml"),
        format!(
            "name = \"{FIRM}\"\nlogo = \"logo.png\"\naccent = \"#0a7f6f\"\nfooter = \"halvorsen.example\"\nconfidentiality = \"{CONFIDENTIAL}\"\n"
        ),
    )
    .unwrap();
    Brand::load(&dir.join("brand.toml")).unwrap()
}

fn unescape(html: &str) -> String {
    html.replace("&#x2F;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of each `<tag>` of the HTML, in order.
fn elements(html: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}"), format!("</{tag}>"));
    html.split(&open)
        .skip(1)
        .filter_map(|s| {
            let body = &s[s.find('>')? + 1..s.find(&close)?];
            Some(unescape(body))
        })
        .collect()
}

/// Text without any whitespace: a PDF wraps lines where it likes.
fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (install poppler-utils: bash scripts/deps.sh)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The share of pixels of a PNG that are not near white.
fn ink(png_bytes: &[u8]) -> f64 {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()].chunks(channels);
    let total = (info.width * info.height) as f64;
    let inked = pixels
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    inked as f64 / total
}

#[tokio::test]
async fn the_pdf_holds_every_heading_and_the_brand_in_english_and_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let brand = brand(dir.path());
    let options = RenderOptions::branded(Some(&brand));
    let reports = [("en", report("en").await), ("zh", report("zh").await)];
    let _chromium = CHROMIUM.lock().unwrap_or_else(|e| e.into_inner());
    for (lang, report) in reports {
        let html = render_with(&report, Format::Html, &options).unwrap();
        let mut headings = elements(&html, "h2");
        assert!(headings.len() >= 11, "{lang}: {headings:?}");
        headings.extend(elements(&html, "h1"));
        let pdf = dir.path().join(format!("report-{lang}.pdf"));
        let started = std::time::Instant::now();
        render_pdf(&report, &options, &pdf).unwrap();
        eprintln!(
            "{lang}: PDF of {} bytes in {:.1?}",
            std::fs::metadata(&pdf).unwrap().len(),
            started.elapsed()
        );

        let text = String::from_utf8(run(Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&pdf)
            .arg("-")))
        .unwrap();
        let text = squeeze(&text);
        for h in &headings {
            assert!(
                text.contains(&squeeze(h)),
                "{lang}: the PDF lacks the heading {h:?}"
            );
        }
        for s in [
            FIRM,
            CONFIDENTIAL,
            "halvorsen.example",
            &report.actions[0].action,
        ] {
            assert!(text.contains(&squeeze(s)), "{lang}: the PDF lacks {s:?}");
        }

        // Page 1 is drawn: a real share of it is ink, and not all of it.
        let prefix = dir.path().join(format!("page-{lang}"));
        run(Command::new("pdftoppm")
            .args(["-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&pdf)
            .arg(&prefix));
        let page = std::fs::read(prefix.with_extension("png")).unwrap();
        let share = ink(&page);
        assert!(
            (0.02..0.6).contains(&share),
            "{lang}: page 1 has {:.1}% ink",
            share * 100.0
        );
    }
}

/// A paragraph's style id, if any.
fn style(p: &Paragraph) -> Option<&str> {
    p.property.style.as_ref().map(|s| s.val.as_str())
}

/// The text of a table's rows, cell by cell (paragraphs joined by newlines).
fn rows(t: &docx_rs::Table) -> Vec<Vec<String>> {
    t.rows
        .iter()
        .map(|TableChild::TableRow(r)| {
            r.cells
                .iter()
                .map(|TableRowChild::TableCell(c)| {
                    c.children
                        .iter()
                        .filter_map(|x| match x {
                            TableCellContent::Paragraph(p) => Some(p.raw_text()),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_docx_has_the_reports_headings_and_action_plan_and_the_brand() {
    let dir = tempfile::tempdir().unwrap();
    let brand = brand(dir.path());
    let options = RenderOptions::branded(Some(&brand));
    for (lang, length) in [
        ("en", Length::Full),
        ("zh", Length::Full),
        ("en", Length::Brief),
    ] {
        let mut report = report(lang).await;
        report.variant = Some(VariantSpec {
            length,
            ..VariantSpec::default()
        });
        let t = council_render::strings(lang);
        let started = std::time::Instant::now();
        let bytes = render_docx(&report, &options).unwrap();
        eprintln!(
            "{lang} {length}: DOCX of {} bytes in {:.1?}",
            bytes.len(),
            started.elapsed()
        );
        let docx = docx_rs::read_docx(&bytes).unwrap();

        let paragraphs: Vec<&Paragraph> = docx
            .document
            .children
            .iter()
            .filter_map(|c| match c {
                DocumentChild::Paragraph(p) => Some(p.as_ref()),
                _ => None,
            })
            .collect();
        let styled = |id: &str| -> Vec<String> {
            paragraphs
                .iter()
                .filter(|p| style(p) == Some(id))
                .map(|p| p.raw_text())
                .collect()
        };
        let html = render_with(&report, Format::Html, &options).unwrap();
        assert_eq!(
            styled("Heading1"),
            elements(&html, "h2"),
            "{lang} {length}: the DOCX's Heading 1s are not the report's sections"
        );
        assert_eq!(styled("Title"), [t["title"].clone()]);
        if length == Length::Full {
            assert!(
                styled("Heading2").len() >= 5 + report.paths.len(),
                "the vote, each path and each round are Heading 2"
            );
        } else {
            assert!(!styled("Heading1").contains(&t["rounds"]));
        }

        // The action plan is a table: a header, then one row per action.
        let tables: Vec<Vec<Vec<String>>> = docx
            .document
            .children
            .iter()
            .filter_map(|c| match c {
                DocumentChild::Table(t) => Some(rows(t)),
                _ => None,
            })
            .collect();
        let header = [&t["when"], &t["action"], &t["owner"], &t["trigger_script"]];
        let plan = tables
            .iter()
            .find(|rows| rows[0].iter().eq(header.iter().copied()))
            .unwrap_or_else(|| panic!("{lang}: no action-plan table among {tables:?}"));
        assert_eq!(plan.len(), report.actions.len() + 1, "{lang}: {plan:?}");
        for (row, a) in plan[1..].iter().zip(&report.actions) {
            assert_eq!(
                row[..3],
                [a.when.clone(), a.action.clone(), a.owner.clone()]
            );
            for said in [&a.trigger, &a.script].into_iter().flatten() {
                assert!(row[3].contains(said.as_str()), "{row:?} lacks {said:?}");
            }
        }
        for (title, n) in [
            (&t["forecast"], report.forecasts.len()),
            (&t["risk"], report.risks.len()),
        ] {
            let table = tables
                .iter()
                .find(|rows| rows[0].contains(title))
                .unwrap_or_else(|| panic!("no table headed {title:?}"));
            assert_eq!(table.len(), n + 1);
        }

        // The brand, and the charts as pictures (at full length).
        let all: String = paragraphs.iter().map(|p| p.raw_text()).collect();
        assert!(
            all.contains(FIRM) && all.contains(CONFIDENTIAL),
            "{lang}: no brand"
        );
        // The logo; at full length the confidence chart, and the paths
        // chart when a path kept a milestone (a weak model's wordless ones
        // are left out, and a chart of bare lines is not drawn).
        let drawn_paths = report.paths.iter().any(|p| !p.milestones.is_empty());
        let pictures = if length == Length::Full {
            2 + usize::from(drawn_paths)
        } else {
            1
        };
        assert_eq!(
            docx.images.len(),
            pictures,
            "{lang} {length}: logo and charts"
        );
    }
}

#[tokio::test]
async fn without_chromium_the_error_names_the_install_command() {
    let report = report("en").await;
    let dir = tempfile::tempdir().unwrap();
    let err = {
        let _chromium = CHROMIUM.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var("COUNCIL_CHROMIUM", "/nonexistent/chromium");
        let result = render_pdf(
            &report,
            &RenderOptions::default(),
            &dir.path().join("r.pdf"),
        );
        std::env::remove_var("COUNCIL_CHROMIUM");
        result.unwrap_err().to_string()
    };
    for s in [
        "/nonexistent/chromium",
        "sudo apt-get install chromium fonts-noto-cjk",
        "Google Chrome",
    ] {
        assert!(err.contains(s), "{err:?} lacks {s:?}");
    }
    assert!(!dir.path().join("r.pdf").exists());
}

/// The strong fixture's report exported as a reader gets it: HTML, PDF
/// and DOCX hold the verdict, every action with its date and owner, every
/// forecast and every milestone in full, branded.
#[tokio::test]
async fn the_strong_report_exports_whole_to_html_pdf_and_docx() {
    let report = crate::strong::strong_report().await;
    assert!(report.concerns.is_empty(), "{:?}", report.concerns);
    let dir = tempfile::tempdir().unwrap();
    let brand = brand(dir.path());
    let options = RenderOptions::branded(Some(&brand));
    let verdict = report.verdict.clone();
    assert!(!verdict.is_empty(), "no verdict");
    let milestones: Vec<&str> = report
        .paths
        .iter()
        .flat_map(|p| p.milestones.iter().map(|m| m.event.as_str()))
        .collect();
    assert_eq!(milestones.len(), 18);

    let html = unescape(&render_with(&report, Format::Html, &options).unwrap());
    for s in [verdict.as_str(), FIRM]
        .into_iter()
        .chain(milestones.iter().copied())
        .chain(report.actions.iter().map(|a| a.when.as_str()))
    {
        assert!(html.contains(s), "the HTML lacks {s:?}");
    }

    let pdf = dir.path().join("strong.pdf");
    {
        let _chromium = CHROMIUM.lock().unwrap_or_else(|e| e.into_inner());
        render_pdf(&report, &options, &pdf).unwrap();
    }
    // In content order (`-raw`): a table's cells are not interleaved.
    let text = squeeze(
        &String::from_utf8(run(Command::new("pdftotext")
            .args(["-raw", "-enc", "UTF-8"])
            .arg(&pdf)
            .arg("-")))
        .unwrap(),
    );
    let mut wanted: Vec<String> = vec![verdict.clone(), CONFIDENTIAL.into()];
    for a in &report.actions {
        wanted.extend([a.when.clone(), a.action.clone(), a.owner.clone()]);
    }
    wanted.extend(report.forecasts.iter().map(|f| f.statement.clone()));
    wanted.extend(report.risks.iter().map(|r| r.risk.clone()));
    for s in &wanted {
        assert!(text.contains(&squeeze(s)), "the PDF lacks {s:?}");
    }
    let pages = String::from_utf8(run(Command::new("pdfinfo").arg(&pdf))).unwrap();
    let pages: u32 = pages
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a page count");
    assert!(
        pages >= 6,
        "a five-round debate of long turns on {pages} pages"
    );

    let docx = docx_rs::read_docx(&render_docx(&report, &options).unwrap()).unwrap();
    let mut all = String::new();
    let mut plan = None;
    for child in &docx.document.children {
        match child {
            DocumentChild::Paragraph(p) => all.push_str(&p.raw_text()),
            DocumentChild::Table(t) => {
                let rows = rows(t);
                if rows.len() == report.actions.len() + 1
                    && rows[1..]
                        .iter()
                        .zip(&report.actions)
                        .all(|(r, a)| r[0] == a.when && r[1] == a.action && r[2] == a.owner)
                {
                    plan = Some(rows);
                }
            }
            _ => {}
        }
    }
    assert!(
        plan.is_some(),
        "the DOCX has no action plan of 5 dated rows"
    );
    assert!(all.contains(&verdict), "the DOCX lacks the verdict");
    assert!(all.contains(FIRM), "the DOCX lacks the brand");
}
