//! Writing a report in any format, branded or not: the glue that `render`
//! (and the commands that make variants and branches) share.

use crate::InputError;
use council_core::Report;
use council_render::{Brand, Format, RenderError, RenderOptions};
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

/// Reads and checks a brand file; a bad one is the user's to fix (exit 4).
pub(crate) fn load_brand(path: &Path) -> anyhow::Result<Brand> {
    Brand::load(path).map_err(|e| InputError(e.to_string()).into())
}

/// Writes `report` as `format` to the file `out`, under `brand` if given.
pub(crate) fn write_report(
    report: &Report,
    format: ExportFormat,
    brand: Option<&Brand>,
    out: &Path,
) -> anyhow::Result<()> {
    let options = RenderOptions { brand };
    council_render::write_report(report, format.format(), &options, out).map_err(|e| match e {
        RenderError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            InputError(format!("{e}; create its folder first or choose another -o")).into()
        }
        // Chromium is missing: the message names the command that installs it.
        RenderError::NoPdfEngine { .. } => InputError(e.to_string()).into(),
        other => anyhow::Error::new(other),
    })
}

/// `council render`'s output: the file `out` (its path then goes to
/// stderr), else standard output, which takes a binary format only when it
/// is not a terminal.
pub(crate) fn render_output(
    report: &Report,
    format: ExportFormat,
    brand: Option<&Brand>,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    if let Some(path) = out {
        write_report(report, format, brand, path)?;
        eprintln!("{}", path.display());
        return Ok(());
    }
    let format_ = format.format();
    let bytes = if format_.is_binary() {
        if std::io::stdout().is_terminal() {
            return Err(InputError(format!(
                "--format {ext} makes a binary file: give -o FILE.{ext} (or pipe standard output elsewhere)",
                ext = format_.extension()
            ))
            .into());
        }
        // PDF comes from Chromium as a file: write it aside, then copy it out.
        let file = std::env::temp_dir().join(format!(
            "council-report-{}.{}",
            std::process::id(),
            format_.extension()
        ));
        let written = write_report(report, format, brand, &file).and_then(|()| {
            std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))
        });
        let _ = std::fs::remove_file(&file);
        written?
    } else {
        council_render::render_with(report, format_, &RenderOptions { brand })?.into_bytes()
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&bytes)?;
    stdout.flush()?;
    Ok(())
}
