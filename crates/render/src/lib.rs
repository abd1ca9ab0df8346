//! Rendering a [`Report`] as Markdown, one self-contained HTML file, JSON,
//! a PDF or an editable Word document, optionally under a firm's [`Brand`].
//!
//! Every format reads one display view of the report (`view`: formatted
//! percentages, names instead of ids, localised fixed text from
//! `i18n.toml`, sections cut to the report's [`Length`]). Markdown and HTML
//! fill the tera templates in `templates/`; HTML is autoescaped, since every
//! piece of model text is untrusted, and its charts are inline SVG drawn by
//! [`charts`], which escapes the few labels it writes itself. The PDF is that
//! HTML printed by headless Chromium (`pdf`); the DOCX is written by
//! `docx-rs` from the same view, with the charts rasterised to PNG (`docx`).
//!
//! [`Length`]: council_core::variant::Length

pub mod brand;
pub mod charts;
#[cfg(test)]
mod client;
pub mod diff;
mod docx;
#[cfg(test)]
mod fixture;
mod pdf;
#[cfg(test)]
mod proptests;
mod view;

pub use brand::{Appendix, Brand, BrandError};
use council_core::Report;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tera::Tera;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Markdown.
    Markdown,
    /// One HTML file with inline CSS and SVG.
    Html,
    /// The versioned report JSON.
    Json,
    /// A PDF printed from the HTML (binary; needs Chromium).
    Pdf,
    /// An editable Word document (binary).
    Docx,
}

impl Format {
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Json => "json",
            Format::Pdf => "pdf",
            Format::Docx => "docx",
        }
    }

    /// Whether the output is bytes rather than text (not for a terminal).
    pub fn is_binary(self) -> bool {
        matches!(self, Format::Pdf | Format::Docx)
    }
}

/// How to render: the brand to apply, if any, and the internal appendix
/// of an external audience's report.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions<'a> {
    /// The firm whose name, logo, colours and notices the report carries.
    pub brand: Option<&'a Brand>,
    /// The internal parts an external audience's report gathers in an
    /// appendix (`None`: the brand's default, else none). An internal
    /// report shows every part in place whatever this says.
    pub appendix: Option<Appendix>,
}

impl<'a> RenderOptions<'a> {
    /// Options with `brand` and the default appendix.
    pub fn branded(brand: Option<&'a Brand>) -> RenderOptions<'a> {
        RenderOptions {
            brand,
            appendix: None,
        }
    }
}

/// A report that could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template failed.
    #[error("rendering the {format} report: {message}")]
    Template {
        /// Which format.
        format: &'static str,
        /// The template engine's message chain.
        message: String,
    },
    /// JSON encoding failed.
    #[error("encoding the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A binary format was asked of a function that returns text.
    #[error(
        "{0} is a binary format: write it to a file (render_pdf, render_docx or write_report)"
    )]
    Binary(&'static str),
    /// No Chromium or Chrome was found to print the PDF.
    #[error("no Chromium to print the PDF with ({looked}): install it with `sudo apt-get install chromium fonts-noto-cjk` (on macOS, install Google Chrome), or set COUNCIL_CHROMIUM to its path")]
    NoPdfEngine {
        /// Where it was looked for.
        looked: String,
    },
    /// Chromium ran but made no PDF.
    #[error("{engine} failed to print the PDF ({status}): {stderr}")]
    PdfEngine {
        /// The program run.
        engine: PathBuf,
        /// Its exit status.
        status: String,
        /// The end of what it wrote on stderr.
        stderr: String,
    },
    /// Chromium did not finish in time and was stopped.
    #[error("{engine} did not finish printing the PDF within {secs} s and was stopped: {stderr}")]
    PdfTimeout {
        /// The program run.
        engine: PathBuf,
        /// The limit.
        secs: u64,
        /// The end of what it wrote on stderr.
        stderr: String,
    },
    /// A file could not be written or read.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done ("cannot write").
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// A chart or logo could not be turned into a PNG for the DOCX.
    #[error("drawing {what} as a PNG: {message}")]
    Raster {
        /// Which picture.
        what: String,
        /// Why.
        message: String,
    },
    /// The DOCX could not be packed.
    #[error("writing the DOCX: {0}")]
    Docx(String),
}

/// The fixed text for `lang`: every language of [`council_core::lang::CODES`]
/// has a table (a test holds it to that); English for any other code.
pub fn strings(lang: &str) -> BTreeMap<String, String> {
    let all: BTreeMap<String, BTreeMap<String, String>> =
        toml::from_str(include_str!("../i18n.toml")).unwrap_or_default();
    all.get(lang)
        .or_else(|| all.get("en"))
        .cloned()
        .unwrap_or_default()
}

/// A vote's stance as the report in `lang` names it ("Conditional" for mixed).
pub fn stance_label(lang: &str, x: council_core::report::Stance) -> String {
    view::Text(strings(lang)).stance(x)
}

/// The verdict's answer as the report in `lang` names it ("Yes, if…" for mixed).
pub fn verdict_label(lang: &str, x: council_core::report::Stance) -> String {
    view::Text(strings(lang)).verdict(x)
}

/// The template of `format` in an engine that escapes every value for it:
/// HTML entities for HTML, [`markdown_text`] for Markdown.
fn templates(format: Format) -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    match format {
        Format::Markdown => {
            tera.autoescape_on(vec![".md"]);
            tera.set_escape_fn(markdown_text);
            tera.add_raw_template("report.md", include_str!("../templates/report.md"))?;
        }
        _ => tera.add_raw_template("report.html", include_str!("../templates/report.html"))?,
    }
    Ok(tera)
}

/// `text` as one line of Markdown that shows exactly these characters and
/// makes no element of its own: line breaks become spaces (a table cell
/// keeps one line, no value starts a block), backslashes and pipes are
/// escaped, a `<` that could open a tag or an autolink becomes `&lt;`, a
/// link's `](` is broken, and a leading block marker (`#`, `>`, `-`, `+`,
/// `*`, `=`, `1.`) is escaped.
pub fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // A run of white space (line breaks included) is one space.
            c if c.is_whitespace() => {
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                out.push(' ');
            }
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '<' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?')) =>
            {
                out.push_str("&lt;")
            }
            ']' if chars.peek() == Some(&'(') => out.push_str("]\\"),
            _ => out.push(c),
        }
    }
    let start = out.len() - out.trim_start().len();
    if let Some(at) = block_marker(&out[start..]) {
        out.insert(start + at, '\\');
    }
    out
}

/// Where a backslash must go to keep `line` (as the start of a Markdown
/// line) from opening a block: a heading (`# `), a quote (`>`), a list
/// item (`- `, `1. `), a rule or underline (`---`, `===`) or a fence
/// (three backticks or tildes). `None`: it opens none.
fn block_marker(line: &str) -> Option<usize> {
    let spaced = |rest: &str| rest.is_empty() || rest.starts_with(' ');
    let first = line.chars().next()?;
    let hashes = line.chars().take_while(|c| *c == '#').count();
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    let only = |set: &[char]| line.chars().all(|c| set.contains(&c) || c == ' ');
    match first {
        '#' if hashes <= 6 && spaced(&line[hashes..]) => Some(0),
        '>' => Some(0),
        '-' | '+' | '*' if spaced(&line[1..]) => Some(0),
        '-' | '*' | '_' | '=' if line.len() >= 3 && only(&[first]) => Some(0),
        '`' | '~' if line.starts_with("```") || line.starts_with("~~~") => Some(0),
        _ if (1..=9).contains(&digits)
            && line[digits..].starts_with(['.', ')'])
            && spaced(&line[digits + 1..]) =>
        {
            Some(digits)
        }
        _ => None,
    }
}

/// Renders the report in a text `format` (Markdown, HTML or JSON), in the
/// report's language, unbranded.
pub fn render(report: &Report, format: Format) -> Result<String, RenderError> {
    render_with(report, format, &RenderOptions::default())
}

/// Renders the report in a text `format` (Markdown, HTML or JSON) with
/// `options`; binary formats are refused with [`RenderError::Binary`].
pub fn render_with(
    report: &Report,
    format: Format,
    options: &RenderOptions<'_>,
) -> Result<String, RenderError> {
    let name = match format {
        Format::Json => return Ok(serde_json::to_string_pretty(report)?),
        Format::Markdown => "report.md",
        Format::Html => "report.html",
        Format::Pdf | Format::Docx => return Err(RenderError::Binary(format.extension())),
    };
    let fail = |e: tera::Error| RenderError::Template {
        format: format.extension(),
        message: council_core::error_chain(&e),
    };
    let tera = templates(format).map_err(fail)?;
    let view = view::view_with(report, options);
    let ctx = view::context(&view).map_err(fail)?;
    tera.render(name, &ctx).map_err(fail)
}

/// The report's account of itself as plain lines in English, for a
/// terminal: one line when all is well; else the warning's title, each
/// concern, and what to do.
pub fn status_lines(report: &Report) -> Vec<String> {
    let s = view::Text(strings("en"));
    let v = view::status_view(report, &s);
    match v.line {
        Some(line) => vec![format!("report: {line}")],
        None => {
            let mut out = vec![format!("report: {}", v.title.unwrap_or_default())];
            out.extend(v.items.iter().map(|i| format!("  - {i}")));
            out.extend(v.todo.map(|t| format!("  {t}")));
            out
        }
    }
}

/// Prints the report's HTML to a PDF at `out` with headless Chromium (found
/// through `COUNCIL_CHROMIUM`, else `chromium`, `chromium-browser` or
/// `google-chrome` on the PATH). Chinese text needs a CJK font installed
/// (Debian: `fonts-noto-cjk`).
pub fn render_pdf(
    report: &Report,
    options: &RenderOptions<'_>,
    out: &Path,
) -> Result<(), RenderError> {
    let html = render_with(report, Format::Html, options)?;
    pdf::print(&html, out)
}

/// The report as an editable Word document: Heading 1/2 styles, tables for
/// the vote, forecasts, action plan, risks and cost, the charts as PNG.
pub fn render_docx(report: &Report, options: &RenderOptions<'_>) -> Result<Vec<u8>, RenderError> {
    let view = view::view_with(report, options);
    docx::write(&view, options.brand)
}

/// Writes the report in any `format` to the file `out`.
pub fn write_report(
    report: &Report,
    format: Format,
    options: &RenderOptions<'_>,
    out: &Path,
) -> Result<(), RenderError> {
    let bytes = match format {
        Format::Pdf => return render_pdf(report, options, out),
        Format::Docx => render_docx(report, options)?,
        text => render_with(report, text, options)?.into_bytes(),
    };
    council_fs::write_atomic(out, bytes).map_err(|source| RenderError::Io {
        what: "cannot write",
        path: out.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use council_core::variant::Length;

    #[test]
    fn every_language_has_every_key_with_the_same_placeholders() {
        let all: BTreeMap<String, BTreeMap<String, String>> =
            toml::from_str(include_str!("../i18n.toml")).unwrap();
        let tables: Vec<&str> = all.keys().map(String::as_str).collect();
        let mut codes = council_core::lang::CODES.to_vec();
        codes.sort_unstable();
        assert_eq!(
            tables, codes,
            "one table per language Council writes, no other"
        );
        let en = &all["en"];
        assert!(en.len() > 40);
        let placeholders = |v: &str| {
            let mut p: Vec<String> = v
                .split('{')
                .skip(1)
                .filter_map(|x| x.split_once('}').map(|(name, _)| name.to_string()))
                .collect();
            p.sort();
            p
        };
        for (lang, table) in &all {
            let missing: Vec<_> = en.keys().filter(|k| !table.contains_key(*k)).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
            let extra: Vec<_> = table.keys().filter(|k| !en.contains_key(*k)).collect();
            assert!(extra.is_empty(), "{lang} has keys English lacks: {extra:?}");
            for (key, value) in table {
                assert!(!value.trim().is_empty(), "{lang}.{key} is empty");
                assert_eq!(
                    placeholders(value),
                    placeholders(&en[key]),
                    "{lang}.{key} fills other placeholders than English"
                );
            }
        }
        // Every move of core's set, and every language a change line may
        // name, has its words.
        for m in council_core::Move::ALL {
            assert!(
                en.contains_key(&format!("move_{}", m.as_str().to_lowercase())),
                "{m}"
            );
        }
        for code in council_core::lang::CODES {
            assert!(en.contains_key(&format!("lang_{code}")), "{code}");
        }
        assert_eq!(strings("de")["verdict"], "Urteil");
        assert_eq!(
            strings("xx")["verdict"],
            "Verdict",
            "other codes read English"
        );
    }

    #[test]
    fn the_templates_compile() {
        templates(Format::Markdown).unwrap();
        templates(Format::Html).unwrap();
    }

    /// HTML text as a reader sees it (the entities tera writes, decoded).
    fn unescape(html: &str) -> String {
        html.replace("&#x2F;", "/")
            .replace("&#x27;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    /// The text of every `<h2>` of an HTML report, in order.
    fn h2s(html: &str) -> Vec<String> {
        html.split("<h2")
            .skip(1)
            .filter_map(|s| Some(s[s.find('>')? + 1..s.find("</h2>")?].to_string()))
            .collect()
    }

    #[test]
    fn a_brief_shows_only_the_one_page_sections() {
        let r = fixture::report(Length::Brief);
        let html = render(&r, Format::Html).unwrap();
        assert_eq!(
            h2s(&html),
            [
                "Verdict",
                "Forecasts",
                "Action plan",
                "Risks to the verdict",
                "Follow-up 1: What if the euro falls?"
            ]
        );
        assert_eq!(h2s(&html), view::view(&r, None).sections());
        let md = render(&r, Format::Markdown).unwrap();
        for gone in [
            "## Three future paths",
            "## The debate, round by round",
            "## The panel\n",
            "## Sources",
            "## Cost of this run",
            "The unit economics work out",
            "A weaker euro",
        ] {
            assert!(!md.contains(gone), "a brief shows {gone:?}");
            let heading = gone.strip_prefix("## ").map(str::trim_end);
            let shown = match heading {
                Some(h) => h2s(&html).iter().any(|x| x == h),
                None => html.contains(gone),
            };
            assert!(!shown, "a brief's HTML shows {gone:?}");
        }
        for kept in [
            "The panel's vote",
            "F-abc123",
            "Hire a country lead",
            "Hiring is slow",
            "Then wait a quarter.",
            "Currency swings",
            "Variant for the board · brief",
        ] {
            assert!(
                md.contains(kept) && unescape(&html).contains(kept),
                "a brief lacks {kept:?}"
            );
        }
    }

    #[test]
    fn standard_shows_round_summaries_but_not_turns_and_full_shows_turns() {
        let standard = render(&fixture::report(Length::Standard), Format::Markdown).unwrap();
        let full = render(&fixture::report(Length::Full), Format::Markdown).unwrap();
        for md in [&standard, &full] {
            for h in [
                "## Three future paths",
                "## The panel",
                "## The debate, round by round",
                "They agree on demand.",
                "## Cost of this run",
            ] {
                assert!(md.contains(h), "{h:?} missing");
            }
        }
        assert!(!standard.contains("The unit economics work out"));
        assert!(standard.contains("the full report holds every advisor's turn"));
        assert!(full.contains("The unit economics work out"));
        assert!(!full.contains("the full report holds every advisor's turn"));
        let html = render(&fixture::report(Length::Full), Format::Html).unwrap();
        assert_eq!(
            h2s(&html),
            view::view(&fixture::report(Length::Full), None).sections()
        );
        assert!(h2s(&html).contains(&"The debate, round by round".to_string()));
    }

    #[test]
    fn a_chinese_report_shows_names_roles_moves_and_months_in_chinese() {
        let mut r = fixture::report(Length::Full);
        for (p, (name, role)) in r
            .panel
            .iter_mut()
            .zip([("首席财务官", "财务负责人"), ("首席技术官", "技术负责人")])
        {
            p.member.i18n.insert(
                "zh".into(),
                council_core::Localised {
                    name: name.into(),
                    role: role.into(),
                },
            );
        }
        r.lang = "zh".into();
        let md = render(&r, Format::Markdown).unwrap();
        let html = unescape(&render(&r, Format::Html).unwrap());
        for (format, text) in [("md", &md), ("html", &html)] {
            for chinese in [
                "首席财务官",
                "财务负责人",
                "首席技术官",
                "质疑",
                "第3个月",
                "（未注明依据）",
            ] {
                assert!(text.contains(chinese), "{format} lacks {chinese:?}");
            }
            for english in [
                "The CFO",
                "The CTO",
                "Advisor",
                "CHALLENGE",
                "月 3",
                "依据 –",
                "(依据",
            ] {
                assert!(!text.contains(english), "{format} holds {english:?}");
            }
        }
        // The same report in English: the persona's own names and the wire tags.
        r.lang = "en".into();
        let md = render(&r, Format::Markdown).unwrap();
        for english in ["The CFO", "CHALLENGE", "**Month 3**", "(no backing given)"] {
            assert!(md.contains(english), "en md lacks {english:?}");
        }
        assert!(!md.contains("首席财务官"));
        // German has its own fixed text and falls back to the English name.
        r.lang = "de".into();
        let md = render(&r, Format::Markdown).unwrap();
        for german in ["The CFO", "EINWAND", "**Monat 3**", "Urteil"] {
            assert!(md.contains(german), "de md lacks {german:?}");
        }
    }

    #[test]
    fn follow_ups_origin_and_cost_are_shown_in_both_languages() {
        let mut r = fixture::report(Length::Full);
        r.panel[0].member.i18n.insert(
            "zh".into(),
            council_core::Localised {
                name: "首席财务官".into(),
                role: "财务".into(),
            },
        );
        for (lang, says) in [
            (
                "en",
                [
                    // A change names advisors by name (an id no panel holds stays as it is).
                    "Branch of transcripts/run-a from round 3: brand-strategist in place of The CFO",
                    "Follow-up 1: What if the euro falls?",
                    "What changed",
                    "The moderator's summary",
                    "A weaker euro makes hiring cheaper.",
                    "not priced",
                    "$0.0123",
                    "$1.50",
                    "Models without a price: my-local-model",
                    "Built-in prices as of 2025-08-15.",
                ],
            ),
            (
                "zh",
                [
                    "transcripts/run-a 自第3轮起的分支：由brand-strategist替换首席财务官",
                    "追问 1：What if the euro falls?",
                    "带来的变化",
                    "主持人总结",
                    "A weaker euro makes hiring cheaper.",
                    "未定价",
                    "$0.0123",
                    "$1.50",
                    "没有价格的模型：my-local-model",
                    "内置价格截至 2025-08-15。",
                ],
            ),
        ] {
            r.lang = lang.into();
            let md = render(&r, Format::Markdown).unwrap();
            let html = render(&r, Format::Html).unwrap();
            for s in says {
                assert!(md.contains(s), "{lang} md lacks {s:?}");
                assert!(unescape(&html).contains(s), "{lang} html lacks {s:?}");
            }
            // An unpriced line is never shown as free.
            assert!(!md.contains("$0.0000") && !md.contains("$0 "), "{md}");
        }
    }

    #[test]
    fn a_brand_is_shown_escaped_and_without_one_nothing_is() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("logo.svg"),
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><script>alert(1)</script><rect width="4" height="4"/></svg>"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("brand.toml"),
            "name = \"Acme <b>&</b> Co\"\nlogo = \"logo.svg\"\naccent = \"#0a7f6f\"\nfooter = \"</style><script>x()</script>\"\nconfidentiality = \"Confidential — prepared for the board\"\n",
        )
        .unwrap();
        let brand = Brand::load(&dir.path().join("brand.toml")).unwrap();
        let r = fixture::report(Length::Full);
        let html = render_with(&r, Format::Html, &RenderOptions::branded(Some(&brand))).unwrap();
        assert!(
            html.contains("<span class=\"firm\">Acme &lt;b&gt;&amp;&lt;&#x2F;b&gt; Co</span>"),
            "firm name not escaped"
        );
        assert!(html.contains("<img class=\"logo\" src=\"data:image/svg+xml;base64,"));
        assert!(
            !html.contains("<script") && !html.contains("alert(1)"),
            "the SVG or footer got in as markup"
        );
        assert!(!html.contains("</style><script>"));
        assert!(html.contains("--accent: #0a7f6f;"));
        assert_eq!(
            html.matches("Confidential — prepared for the board")
                .count(),
            2,
            "top and bottom"
        );
        let md = render_with(&r, Format::Markdown, &RenderOptions::branded(Some(&brand))).unwrap();
        // The brand's name is shown as written, never as markup.
        assert!(
            md.starts_with("**Acme &lt;b>&&lt;/b> Co** · *Confidential"),
            "{}",
            &md[..80]
        );
        let plain = render(&r, Format::Html).unwrap();
        for absent in [
            "class=\"brand\"",
            "--accent",
            "confidential",
            "@bottom-left",
        ] {
            assert!(
                !plain.contains(absent),
                "an unbranded report holds {absent:?}"
            );
        }
    }

    /// The fixture report with its quality as counted from `spoken` of 12
    /// turns, every other count sound.
    fn with_quality(spoken: u32) -> Report {
        use council_core::report::Quality;
        let mut r = fixture::report(Length::Full);
        r.quality = Quality {
            turns_spoken: spoken,
            turns_asked: 12,
            turns_failed: 12 - spoken,
            parts_present: 15,
            parts_asked: 15,
            first_try: 27,
            answers: 27,
            quotes_verified: 2,
            quotes_checked: 2,
            ..Quality::default()
        };
        r.status = r.quality.status();
        r.concerns = r.quality.concerns();
        r.remedy = r.quality.remedy();
        r
    }

    #[test]
    fn a_sound_report_says_so_in_one_line_before_its_verdict() {
        let r = with_quality(12);
        for (lang, says) in [
            (
                "en",
                "Complete: 12 of 12 advisor turns spoken, 15 of 15 report parts written",
            ),
            ("zh", "完整：顾问发言 12 次中完成 12 次"),
        ] {
            let mut r = r.clone();
            r.lang = lang.into();
            for format in [Format::Markdown, Format::Html] {
                let out = render(&r, format).unwrap();
                let line = out
                    .find(says)
                    .unwrap_or_else(|| panic!("{lang} {format:?}:\n{out}"));
                let verdict = out.find(&strings(lang)["verdict"]).unwrap();
                assert!(line < verdict, "{lang} {format:?}");
                assert!(!out.contains("class=\"status-box"), "no warning box");
                assert!(!out.contains('⚠'), "{lang} {format:?}: nothing to warn of");
            }
        }
        assert_eq!(
            status_lines(&r),
            ["report: Complete: 12 of 12 advisor turns spoken, 15 of 15 report parts written, 27 of 27 answers valid at the first try, 2 of 2 quotes found in the advisors' turns."]
        );
    }

    #[test]
    fn a_partial_or_hollow_report_opens_with_a_warning_naming_what_failed_and_what_to_do() {
        for (spoken, status, title_en, title_zh) in [
            (8, "partial", "Partial report", "不完整的报告"),
            (3, "hollow", "Hollow report", "空洞的报告"),
        ] {
            let r = with_quality(spoken);
            assert_eq!(r.status.as_str(), status);
            for (lang, title, todo) in [
                ("en", title_en, "council doctor"),
                ("zh", title_zh, "council doctor"),
            ] {
                let mut r = r.clone();
                r.lang = lang.into();
                let html = render(&r, Format::Html).unwrap();
                let bx = html
                    .find(&format!("class=\"status-box {status}\""))
                    .unwrap_or_else(|| panic!("{lang}: {html}"));
                let verdict = html
                    .find(&format!("<h2>{}</h2>", strings(lang)["verdict"]))
                    .unwrap();
                assert!(
                    bx < verdict && html[bx..verdict].contains(title),
                    "{lang} {status}"
                );
                assert!(html[bx..verdict].contains(todo));
                let md = render(&r, Format::Markdown).unwrap();
                let warn = md.find(title).unwrap();
                assert!(
                    warn < md
                        .find(&format!("## {}", strings(lang)["verdict"]))
                        .unwrap()
                );
                // Only a hollow report disowns its verdict.
                let disowned = strings(lang)["verdict_hollow"]
                    .split('{')
                    .next()
                    .unwrap()
                    .to_string();
                assert_eq!(
                    md.contains(&disowned),
                    status == "hollow",
                    "{lang} {status}"
                );
            }
        }
        let lines = status_lines(&with_quality(3));
        assert_eq!(
            lines[0],
            "report: Hollow report: no debate stands behind this verdict"
        );
        assert!(lines
            .iter()
            .any(|l| l.contains("Only 3 of 12 advisor turns were spoken")));
        assert!(lines.last().unwrap().contains("council doctor"));
    }

    #[test]
    fn a_vote_drawn_from_confidences_of_ten_or_less_says_so_beside_its_bar() {
        let mut r = with_quality(12);
        r.quality.weak_vote = true;
        r.quality.votes_counted = 1;
        r.concerns = r.quality.concerns();
        r.remedy = r.quality.remedy();
        let html = render(&r, Format::Html).unwrap();
        let bar = html.find("class=\"bar\"").unwrap();
        let note = html
            .find("Drawn only from confidences of 10 or less")
            .unwrap();
        assert!(note > bar && note < html.find("<h2>Forecasts</h2>").unwrap());
        assert!(
            html.contains("Read with care"),
            "a complete report on weak answers warns too"
        );
        assert!(html.contains("ask again on a larger model"));
    }

    #[test]
    fn one_answer_is_singular_and_a_single_runs_unasked_parts_say_so() {
        let mut r = fixture::report(Length::Full);
        r.forecasts.truncate(1);
        let p = r.forecasts[0].probabilities.first().cloned().unwrap();
        r.forecasts[0].probabilities = vec![p];
        r.actions.clear();
        let md = render(&r, Format::Markdown).unwrap();
        assert!(md.contains("(1 answer)"), "{md}");
        assert!(md.contains("Not available: this part of the synthesis failed"));
        r.condition = council_core::study::Condition::Single;
        for format in [Format::Markdown, Format::Html] {
            let text = render(&r, format).unwrap();
            assert!(
                text.contains("a single-answer run (study condition single) asks only for"),
                "{format:?}"
            );
            assert!(
                !text.contains("this part of the synthesis failed"),
                "{format:?}"
            );
        }
        // With a trajectory the chart is drawn; with none (no round spoken) it is left out.
        let html = render(&r, Format::Html).unwrap();
        assert!(html.contains("Confidence across rounds"));
        for p in &mut r.panel {
            p.trajectory.clear();
        }
        let html = render(&r, Format::Html).unwrap();
        assert!(!html.contains("Confidence across rounds"));
    }

    #[test]
    fn binary_formats_are_not_text() {
        let r = fixture::report(Length::Full);
        assert!(matches!(
            render(&r, Format::Pdf),
            Err(RenderError::Binary("pdf"))
        ));
        assert!(Format::Docx.is_binary() && !Format::Html.is_binary());
    }
}
