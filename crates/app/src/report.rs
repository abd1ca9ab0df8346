//! A run's full report: the report built from its transcript, with its cost
//! from a price table, in any format, branded or not. Every front end and
//! every command that writes a report goes through here, so a report holds
//! the same parts whoever asks for it.

use crate::InputError;
use council_analysis::{cost_of, PriceTable};
use council_core::{Report, Transcript};
use council_render::{Brand, Format, RenderError, RenderOptions};
use std::path::{Path, PathBuf};

/// The report of `t` with its cost priced from `prices`; `lang` overrides
/// the report's language (a variant's headings language otherwise).
pub fn full_report(t: &Transcript, prices: &PriceTable, lang: Option<&str>) -> Report {
    let mut report = council_engine::report::report_for(t, lang);
    report.cost = Some(cost_of(t, prices));
    report
}

/// The full report of the run at `path` (a run folder or its transcript),
/// read without writing; a path with no run is an [`InputError`].
pub fn read_report(path: &Path, prices: &PriceTable, lang: Option<&str>) -> anyhow::Result<Report> {
    let t = read_run(path)?;
    Ok(full_report(&t, prices, lang))
}

/// The transcript of the run at `path` (a run folder or its transcript
/// file), read without writing; a path with no run is an [`InputError`].
pub fn read_run(path: &Path) -> anyhow::Result<Transcript> {
    if !path.exists() {
        return Err(InputError(format!(
            "no run at {}: give a run folder (as `council ask` printed it) or its transcript.json",
            path.display()
        ))
        .into());
    }
    council_engine::read_transcript(path).map_err(crate::unreadable_run)
}

/// Reads and checks a brand file; a bad one is an [`InputError`].
pub fn load_brand(path: &Path) -> anyhow::Result<Brand> {
    Brand::load(path).map_err(|e| InputError(e.to_string()).into())
}

/// Writes `report` as `format` to the file `out`, rendered with `options`
/// (brand, appendix). A missing folder or a missing PDF engine is an
/// [`InputError`] naming the fix.
pub fn export(
    report: &Report,
    format: Format,
    options: &RenderOptions<'_>,
    out: &Path,
) -> anyhow::Result<()> {
    council_render::write_report(report, format, options, out).map_err(|e| match e {
        RenderError::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            InputError(format!("{e}; create its folder first or choose another -o")).into()
        }
        // Chromium is missing: the message names the command that installs it.
        RenderError::NoPdfEngine { .. } => InputError(e.to_string()).into(),
        other => anyhow::Error::new(other),
    })
}

/// `report` as `format`, in memory (a PDF is printed into a temporary
/// folder of its own, so two at once never share a file).
pub fn bytes(
    report: &Report,
    format: Format,
    options: &RenderOptions<'_>,
) -> anyhow::Result<Vec<u8>> {
    if !format.is_binary() {
        return Ok(council_render::render_with(report, format, options)?.into_bytes());
    }
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join(format!("report.{}", format.extension()));
    export(report, format, options, &file)?;
    std::fs::read(&file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))
}

/// The report files every run folder gets at its end.
pub const RUN_FORMATS: [Format; 3] = [Format::Markdown, Format::Html, Format::Json];

/// Writes `report.md`, `report.html` and `report.json` into the run folder
/// `dir` (atomically), with `options` (`report.html` alone carries the
/// brand); returns the paths written.
pub fn write_run_reports(
    report: &Report,
    dir: &Path,
    options: &RenderOptions<'_>,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for format in RUN_FORMATS {
        let path = dir.join(format!("report.{}", format.extension()));
        let options = RenderOptions {
            brand: options.brand.filter(|_| format == Format::Html),
            ..*options
        };
        export(report, format, &options, &path)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_without_a_run_is_the_users_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_run(&dir.path().join("nope")).unwrap_err();
        assert!(err.downcast_ref::<InputError>().is_some(), "{err:#}");
        assert!(err.to_string().contains("no run at"), "{err:#}");
    }
}
