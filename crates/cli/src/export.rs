//! Writing a report in any format, branded or not: the glue that `render`
//! (and the commands that make variants and branches) share.

use crate::InputError;
use council_core::Report;
use council_render::{Format, RenderOptions};
use std::io::{IsTerminal, Write};
use std::path::Path;

/// The formats a report is exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ExportFormat {
    /// Markdown.
    Md,
    /// Self-contained HTML.
    Html,
    /// The report JSON.
    Json,
    /// PDF, printed by headless Chromium (binary: give -o).
    Pdf,
    /// An editable Word document (binary: give -o).
    Docx,
}

impl ExportFormat {
    /// The renderer's format.
    pub(crate) fn format(self) -> Format {
        match self {
            ExportFormat::Md => Format::Markdown,
            ExportFormat::Html => Format::Html,
            ExportFormat::Json => Format::Json,
            ExportFormat::Pdf => Format::Pdf,
            ExportFormat::Docx => Format::Docx,
        }
    }
}

pub(crate) use council_app::report::load_brand;

/// Writes `report` as `format` to the file `out`, rendered with `options`.
pub(crate) fn write_report(
    report: &Report,
    format: ExportFormat,
    options: &RenderOptions<'_>,
    out: &Path,
) -> anyhow::Result<()> {
    council_app::report::export(report, format.format(), options, out)
}

/// `council render`'s output: the file `out` (its path then goes to
/// stderr), else standard output, which takes a binary format only when it
/// is not a terminal.
pub(crate) fn render_output(
    report: &Report,
    format: ExportFormat,
    options: &RenderOptions<'_>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(path) = out {
        write_report(report, format, options, path)?;
        crate::say!("{}", path.display());
        return Ok(());
    }
    let format_ = format.format();
    if format_.is_binary() && std::io::stdout().is_terminal() {
        return Err(InputError(format!(
            "--format {ext} makes a binary file: give -o FILE.{ext} (or pipe standard output elsewhere)",
            ext = format_.extension()
        ))
        .into());
    }
    let bytes = council_app::report::bytes(report, format_, options)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&bytes)?;
    stdout.flush()?;
    Ok(())
}
