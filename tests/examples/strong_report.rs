//! Writes the strong-model fixture's report to a folder, to look at after
//! a change to the renderer: `report.md`, `report.html`, `report.json`,
//! `report.docx` and `report.pdf` (needs Chromium), plus the replayed run
//! folder (`run/`, which `council render` reads).
//!
//! `cargo run -p council-tests --example strong_report -- OUTDIR [BRAND.toml]`
//! (or `bash scripts/strong-report.sh OUTDIR [BRAND.toml]`).

use council_render::{render_docx, render_pdf, render_with, Brand, Format, RenderOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first().map(PathBuf::from) else {
        eprintln!("usage: strong_report OUTDIR [BRAND.toml] (the folder to write the report into)");
        return ExitCode::from(2);
    };
    match write(&out, args.get(1).map(PathBuf::from)).await {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("strong_report: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn write(out: &Path, brand: Option<PathBuf>) -> Result<Vec<PathBuf>, String> {
    if out.join("run").exists() {
        return Err(format!(
            "{} already holds a run folder; give a new or empty folder (nothing was written)",
            out.display()
        ));
    }
    let brand = brand
        .map(|p| Brand::load(&p).map_err(|e| format!("{}: {e}", p.display())))
        .transpose()?;
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let t = council_tests::strong::replay_strong_debate(out)
        .await
        .map_err(|e| format!("the strong fixture did not replay: {e}"))?;
    // The library's search index is rebuilt on every replay.
    let _ = std::fs::remove_dir_all(out.join("library-cache"));
    let report = council_engine::report::report_for(&t, Some("en"));
    let options = RenderOptions::branded(brand.as_ref());
    let mut files = vec![out.join("run")];
    let save = |name: &str, bytes: &[u8], files: &mut Vec<PathBuf>| -> Result<(), String> {
        let path = out.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        files.push(path);
        Ok(())
    };
    for (format, name) in [
        (Format::Markdown, "report.md"),
        (Format::Html, "report.html"),
        (Format::Json, "report.json"),
    ] {
        let text = render_with(&report, format, &options).map_err(|e| e.to_string())?;
        save(name, text.as_bytes(), &mut files)?;
    }
    let docx = render_docx(&report, &options).map_err(|e| e.to_string())?;
    save("report.docx", &docx, &mut files)?;
    let pdf = out.join("report.pdf");
    render_pdf(&report, &options, &pdf).map_err(|e| e.to_string())?;
    files.push(pdf);
    Ok(files)
}
