//! Tests: what an external audience's report leaves out (origin, the
//! variant's instructions, flags, cost), what its appendix brings back,
//! the brand's title and subtitle, and Markdown that carries no markup.

use crate::brand::Brand;
use crate::{fixture, render_docx, render_with, Appendix, Format, RenderOptions};
use council_core::variant::{Audience, Length, VariantSpec};
use council_core::Report;

/// A client variant of the fixture with a tone and emphasis, made from a
/// run given by its absolute folder.
fn client_report() -> Report {
    let mut r = fixture::report(Length::Full);
    r.variant = Some(VariantSpec {
        audience: Audience::Client,
        length: Length::Full,
        tone: Some("warm, confident".into()),
        emphasis: Some("cash runway".into()),
        ..VariantSpec::default()
    });
    if let Some(o) = r.origin.as_mut() {
        o.source = "run-a".into();
    }
    r
}

fn brand() -> Brand {
    Brand {
        name: "Acme Advisors".into(),
        logo: None,
        accent: None,
        footer: None,
        confidentiality: None,
        title: Some("Market entry review".into()),
        subtitle: Some("Prepared for Nordlicht AG".into()),
        external: vec![Audience::Investor],
        appendix: Appendix::default(),
    }
}

/// The words of the internal parts, each a marker that must not reach a
/// client's report unless asked for.
const INTERNAL: [&str; 6] = [
    "Branch of",
    "warm, confident",
    "cash runway",
    "not priced",
    "What was flagged",
    "cto: very short answer",
];

fn text_of(r: &Report, format: Format, options: &RenderOptions<'_>) -> String {
    let out = render_with(r, format, options).unwrap();
    match format {
        // Entities decoded, so that a marker matches as a reader sees it.
        Format::Html => out.replace("&#x2F;", "/").replace("&amp;", "&"),
        _ => out,
    }
}

#[test]
fn a_client_report_leaves_out_origin_instructions_flags_and_cost() {
    let r = client_report();
    for format in [Format::Markdown, Format::Html] {
        let text = text_of(&r, format, &RenderOptions::default());
        for marker in INTERNAL {
            assert!(!text.contains(marker), "{format:?} holds {marker:?}");
        }
        // The account of itself stays: a client is told what the report rests on.
        assert!(text.contains("Quotes checked") || text.contains('⚠') || text.contains('✓'));
        assert!(!text.contains("Internal appendix"), "{format:?}");
    }
}

#[test]
fn the_appendix_brings_back_exactly_the_parts_asked_for() {
    let r = client_report();
    let all = RenderOptions {
        brand: None,
        appendix: Some(Appendix::ALL),
    };
    for format in [Format::Markdown, Format::Html] {
        let text = text_of(&r, format, &all);
        let appendix = text.find("Internal appendix").expect("an appendix heading");
        for marker in INTERNAL {
            let at = text
                .find(marker)
                .unwrap_or_else(|| panic!("{format:?} lacks {marker:?}"));
            assert!(at > appendix, "{format:?}: {marker:?} before the appendix");
        }
    }
    let cost_only = RenderOptions {
        brand: None,
        appendix: Some("cost".parse().unwrap()),
    };
    let md = text_of(&r, Format::Markdown, &cost_only);
    assert!(md.contains("not priced") && md.contains("Internal appendix"));
    assert!(!md.contains("What was flagged") && !md.contains("warm, confident"));
}

#[test]
fn an_internal_report_shows_every_part_in_place() {
    let mut r = client_report();
    r.variant.as_mut().unwrap().audience = Audience::Board;
    let md = text_of(&r, Format::Markdown, &RenderOptions::default());
    for marker in INTERNAL {
        assert!(md.contains(marker), "lacks {marker:?}");
    }
    assert!(!md.contains("Internal appendix"));
    // The origin line sits under the title, before the question.
    assert!(md.find("Branch of").unwrap() < md.find("**Question:**").unwrap());
}

#[test]
fn the_brand_titles_the_report_marks_audiences_external_and_sets_the_default_appendix() {
    let mut r = client_report();
    r.variant.as_mut().unwrap().audience = Audience::Investor;
    let mut b = brand();
    let md = text_of(&r, Format::Markdown, &RenderOptions::branded(Some(&b)));
    assert!(md.contains("# Market entry review\n\n**Prepared for Nordlicht AG**"));
    assert!(!md.contains("Advisory board report"));
    assert!(
        !md.contains("What was flagged"),
        "investors are external here"
    );
    b.appendix = "flags".parse().unwrap();
    let md = text_of(&r, Format::Markdown, &RenderOptions::branded(Some(&b)));
    assert!(md.contains("What was flagged") && !md.contains("not priced"));
    // --appendix overrides the brand's default.
    let none = RenderOptions {
        brand: Some(&b),
        appendix: Some("none".parse().unwrap()),
    };
    assert!(!text_of(&r, Format::Markdown, &none).contains("What was flagged"));
    // The DOCX leaves the same parts out and keeps the title.
    let docx = render_docx(&r, &none).unwrap();
    let xml = docx_text(&docx);
    assert!(xml.contains("Market entry review") && xml.contains("Prepared for Nordlicht AG"));
    for marker in INTERNAL {
        assert!(!xml.contains(marker), "DOCX holds {marker:?}");
    }
}

/// The text of a DOCX's main part.
fn docx_text(bytes: &[u8]) -> String {
    let docx = docx_rs::read_docx(bytes).unwrap();
    serde_json::to_string(&docx.document).unwrap()
}

#[test]
fn appendix_parts_are_read_and_a_wrong_one_is_named() {
    assert_eq!("origin,cost,flags".parse::<Appendix>(), Ok(Appendix::ALL));
    assert_eq!("none".parse::<Appendix>(), Ok(Appendix::default()));
    let err = "origin,costs".parse::<Appendix>().unwrap_err();
    assert!(
        err.contains("\"costs\"") && err.contains("origin, cost, flags"),
        "{err}"
    );
}

#[test]
fn markdown_carries_no_markup_from_the_question_or_the_models_and_cells_keep_one_line() {
    let mut r = fixture::report(Length::Full);
    r.question =
        "Should we <script>alert('x')</script> expand? <img src=x onerror=alert(2)>".into();
    r.verdict = "# Heading\n\n> quote\n\n[click](javascript:alert(3)) <b>bold</b>".into();
    let reason = "Costs | rise\nsharply <i>now</i>";
    for v in &mut r.votes {
        v.reason = reason.into();
    }
    let md = render_with(&r, Format::Markdown, &RenderOptions::default()).unwrap();
    // A renderer that passes HTML through finds no element from the input.
    let mut html = String::new();
    let options = pulldown_cmark::Options::ENABLE_TABLES;
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new_ext(&md, options));
    for tag in [
        "<script",
        "<img",
        "<b>",
        "<i>",
        "href=\"javascript",
        "<h1>Heading",
        "<blockquote",
    ] {
        assert!(!html.contains(tag), "{tag} got through:\n{html}");
    }
    assert!(html.contains("alert('x')"), "the question's words are kept");
    // Each vote is one table row holding its whole reason.
    let rows = html
        .matches("Costs | rise sharply &lt;i&gt;now&lt;/i&gt;")
        .count();
    assert_eq!(rows, r.votes.len(), "{html}");
}

#[test]
fn markdown_text_escapes_only_what_would_make_markup() {
    assert_eq!(
        crate::markdown_text("Revenue grew 5% < 10% & more"),
        "Revenue grew 5% < 10% & more"
    );
    assert_eq!(crate::markdown_text("a|b\nc"), "a\\|b c");
    assert_eq!(crate::markdown_text("<div>"), "&lt;div>");
    assert_eq!(crate::markdown_text("1. first"), "1\\. first");
    assert_eq!(crate::markdown_text("# x"), "\\# x");
    assert_eq!(crate::markdown_text("[a](b)"), "[a]\\(b)");
    assert_eq!(crate::markdown_text("c:\\x|"), "c:\\\\x\\|");
    // Spaces around a value are kept (one each): "Produced by: " stays apart.
    assert_eq!(crate::markdown_text(": "), ": ");
    assert_eq!(crate::markdown_text(" - x"), " \\- x");
}
