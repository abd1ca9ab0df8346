//! Rendering a [`Report`] as Markdown, one self-contained HTML file, or JSON.
//!
//! [`render`] builds a display view of the report (formatted percentages,
//! names instead of ids, localised fixed text from `i18n.toml`), then fills
//! the tera templates in `templates/`. HTML is autoescaped: every piece of
//! model text is untrusted. Charts are inline SVG drawn by [`charts`], which
//! escapes the few labels it writes itself.

pub mod charts;
mod view;

use council_core::Report;
use std::collections::BTreeMap;
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
}

impl Format {
    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Markdown => "md",
            Format::Html => "html",
            Format::Json => "json",
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
}

/// Languages with localised fixed text.
pub const LANGUAGES: [&str; 2] = ["en", "zh"];

/// The fixed text for `lang` (English for languages without a table).
pub fn strings(lang: &str) -> BTreeMap<String, String> {
    let all: BTreeMap<String, BTreeMap<String, String>> =
        toml::from_str(include_str!("../i18n.toml")).unwrap_or_default();
    all.get(lang)
        .or_else(|| all.get("en"))
        .cloned()
        .unwrap_or_default()
}

fn templates() -> Result<Tera, tera::Error> {
    let mut tera = Tera::default();
    // Names ending in .html are autoescaped; Markdown is not.
    tera.add_raw_templates([
        ("report.html", include_str!("../templates/report.html")),
        ("report.md", include_str!("../templates/report.md")),
    ])?;
    Ok(tera)
}

/// Renders the report in `format`, in the report's language.
pub fn render(report: &Report, format: Format) -> Result<String, RenderError> {
    let name = match format {
        Format::Json => return Ok(serde_json::to_string_pretty(report)?),
        Format::Markdown => "report.md",
        Format::Html => "report.html",
    };
    let fail = |e: tera::Error| RenderError::Template {
        format: format.extension(),
        message: council_core::error_chain(&e),
    };
    let tera = templates().map_err(fail)?;
    let ctx = view::context(report);
    tera.render(name, &ctx).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key() {
        let en = strings("en");
        assert!(en.len() > 40);
        for lang in LANGUAGES {
            let s = strings(lang);
            let missing: Vec<_> = en.keys().filter(|k| !s.contains_key(*k)).collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        }
        assert_eq!(
            strings("fr")["verdict"],
            "Verdict",
            "unknown languages fall back to English"
        );
    }

    #[test]
    fn the_templates_compile() {
        templates().unwrap();
    }
}
