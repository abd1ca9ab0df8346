//! The prompt templates: built in, overridable file by file from a folder.

use crate::EngineError;
use std::path::Path;
use tera::{Context, Tera};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/prompts.rs"));
}

/// Names every template must have.
pub const REQUIRED: [&str; 17] = [
    "system.tera",
    "round1.tera",
    "round2.tera",
    "round3.tera",
    "round4.tera",
    "round5.tera",
    "summary.tera",
    "cast.tera",
    "synth_common.tera",
    "synth_verdict.tera",
    "synth_forecasts.tera",
    "synth_vote.tera",
    "synth_actions.tera",
    "synth_path.tera",
    "synth_story.tera",
    "synth_evidence.tera",
    "synth_risks.tera",
];

/// The compiled templates for a run.
#[derive(Debug)]
pub struct Prompts {
    tera: Tera,
}

impl Prompts {
    /// The templates built into the binary.
    pub fn builtin() -> Result<Prompts, EngineError> {
        Self::load(None)
    }

    /// The built-in templates, with any file of the same name in `dir` taking
    /// its place.
    pub fn with_dir(dir: &Path) -> Result<Prompts, EngineError> {
        Self::load(Some(dir))
    }

    fn load(dir: Option<&Path>) -> Result<Prompts, EngineError> {
        let mut tera = Tera::default();
        // Model text is inserted into prompts verbatim: no HTML escaping.
        tera.autoescape_on(vec![]);
        let mut files: Vec<(String, String, String)> = builtin::BUILTIN
            .iter()
            .map(|(n, t)| {
                (
                    n.to_string(),
                    t.to_string(),
                    format!("built-in prompts/{n}"),
                )
            })
            .collect();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir).map_err(|e| {
                EngineError::Prompt(format!("cannot read prompt folder {}: {e}", dir.display()))
            })?;
            let mut found = 0;
            for e in entries.filter_map(Result::ok) {
                let path = e.path();
                let Some(name) = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(str::to_string)
                else {
                    continue;
                };
                if !name.ends_with(".tera") {
                    continue;
                }
                if !REQUIRED.contains(&name.as_str()) {
                    return Err(EngineError::Prompt(format!(
                        "{}: unknown template name; the templates are {}",
                        path.display(),
                        REQUIRED.join(", ")
                    )));
                }
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    EngineError::Prompt(format!("cannot read {}: {e}", path.display()))
                })?;
                files.retain(|(n, _, _)| *n != name);
                files.push((name, text, path.display().to_string()));
                found += 1;
            }
            if found == 0 {
                return Err(EngineError::Prompt(format!(
                    "prompt folder {} holds no .tera templates (expected any of {})",
                    dir.display(),
                    REQUIRED.join(", ")
                )));
            }
        }
        // Templates import each other's macros, so they are added together;
        // on error, add them one by one to name the file at fault.
        if let Err(all) =
            tera.add_raw_templates(files.iter().map(|(n, t, _)| (n.as_str(), t.as_str())))
        {
            for (name, text, origin) in &files {
                let mut single = Tera::default();
                if let Some((_, common, _)) =
                    files.iter().find(|(n, _, _)| n == "synth_common.tera")
                {
                    let _ = single.add_raw_template("synth_common.tera", common);
                }
                if let Err(e) = single.add_raw_template(name, text) {
                    return Err(EngineError::Prompt(format!(
                        "{origin}: {}",
                        council_core::error_chain(&e)
                    )));
                }
            }
            return Err(EngineError::Prompt(council_core::error_chain(&all)));
        }
        for name in REQUIRED {
            if !files.iter().any(|(n, _, _)| n == name) {
                return Err(EngineError::Prompt(format!("template {name} is missing")));
            }
        }
        Ok(Prompts { tera })
    }

    /// Renders one template.
    pub fn render(&self, name: &str, ctx: &Context) -> Result<String, EngineError> {
        self.tera.render(name, ctx).map_err(|e| {
            EngineError::Prompt(format!(
                "rendering {name}: {}",
                council_core::error_chain(&e)
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_template_compiles() {
        Prompts::builtin().unwrap();
    }

    #[test]
    fn a_folder_overrides_one_template_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cast.tera"), "CAST {{ question }}").unwrap();
        let p = Prompts::with_dir(dir.path()).unwrap();
        let mut ctx = Context::new();
        ctx.insert("question", "Q?");
        assert_eq!(p.render("cast.tera", &ctx).unwrap(), "CAST Q?");
    }

    #[test]
    fn a_broken_template_names_its_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("round2.tera"), "{% if %}").unwrap();
        let err = Prompts::with_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("round2.tera"), "{err}");
    }

    #[test]
    fn an_unknown_template_name_lists_the_real_ones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("round9.tera"), "x").unwrap();
        let err = Prompts::with_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("round9.tera") && err.contains("summary.tera"),
            "{err}"
        );
    }
}
