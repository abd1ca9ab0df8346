//! `council completions SHELL` and `council man`: shell completion scripts
//! and manual pages, generated from the clap definition in `cli.rs`.

use clap::{Args, CommandFactory};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `council completions`.
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `council man`.
#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// Write council.1 and one page per command (council-ask.1, …) into this
    /// folder instead of printing council.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The whole command line as clap sees it, named `council` (`council help`
/// included: the pages leave it out, as `clap_mangen::generate_to` does).
fn command() -> clap::Command {
    crate::cli::Cli::command()
}

/// Prints the completion script for `shell` on stdout.
pub(crate) fn completions(args: &CompletionsArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command(), "council", &mut out);
    out.flush()?;
    Ok(())
}

/// Prints council.1 on stdout, or writes every page into `--dir`.
pub(crate) fn man(args: &ManArgs) -> anyhow::Result<()> {
    match &args.dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command().disable_help_subcommand(true)).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            write_pages(dir)?;
            crate::say!("manual pages written to {}", dir.display());
        }
    }
    Ok(())
}

/// Writes council.1 and a page per subcommand into `dir`, creating it.
fn write_pages(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        crate::InputError(format!(
            "cannot create {} ({e}); give a folder you can write to",
            dir.display()
        ))
    })?;
    clap_mangen::generate_to(command(), dir).map_err(|e| {
        crate::InputError(format!(
            "cannot write manual pages into {} ({e}); give a folder you can write to",
            dir.display()
        ))
    })?;
    Ok(())
}
