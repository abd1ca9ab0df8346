//! The prompt templates: built in, overridable file by file from a folder.

use crate::EngineError;
use std::path::Path;
use tera::{Context, Tera};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/prompts.rs"));
}

/// Names every template must have.
pub const REQUIRED: [&str; 22] = [
    "system.tera",
    "round_common.tera",
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
    "synth_forecast_wording.tera",
    "followup.tera",
    "followup_synthesis.tera",
    "single.tera",
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
                EngineError::Prompt(format!(
                    "cannot read prompt folder {} ({e}); give a folder of .tera templates to --prompts",
                    dir.display()
                ))
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
                    EngineError::Prompt(format!(
                        "cannot read {} ({e}); give a UTF-8 text template, or remove the file to use the built-in one",
                        path.display()
                    ))
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
                for macros in ["round_common.tera", "synth_common.tera"] {
                    if let Some((_, common, _)) = files.iter().find(|(n, _, _)| n == macros) {
                        let _ = single.add_raw_template(macros, common);
                    }
                }
                if let Err(e) = single.add_raw_template(name, text) {
                    return Err(EngineError::Prompt(format!(
                        "{origin}: {}; fix the place shown, or remove the file to use the built-in template",
                        council_core::error_chain(&e).trim_end()
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

    /// The context variables a template reads: identifiers in its tags that
    /// are not attributes, filters, functions, named arguments, keywords,
    /// loop variables or macro parameters of the file.
    fn variables_read(template: &str) -> std::collections::BTreeSet<String> {
        const KEYWORDS: [&str; 14] = [
            "if", "elif", "else", "endif", "for", "in", "endfor", "not", "and", "or", "import",
            "as", "macro", "endmacro",
        ];
        let mut tags = Vec::new();
        let mut rest = template;
        while let Some(i) = rest.find(['{']) {
            let after = &rest[i + 1..];
            let close = match after.chars().next() {
                Some('{') => "}}",
                Some('%') => "%}",
                _ => {
                    rest = after;
                    continue;
                }
            };
            let Some(j) = after.find(close) else { break };
            tags.push(after[1..j].to_string());
            rest = &after[j + 2..];
        }
        let mut bound = std::collections::BTreeSet::new();
        let mut read = std::collections::BTreeSet::new();
        for tag in &tags {
            // Drop string literals.
            let mut clean = String::new();
            let mut quoted = false;
            for c in tag.chars() {
                if c == '"' {
                    quoted = !quoted;
                } else if !quoted {
                    clean.push(c);
                }
            }
            let words: Vec<&str> = clean.split_whitespace().collect();
            if let (Some(&"for"), Some(var)) = (words.first(), words.get(1)) {
                bound.insert(var.trim_end_matches(',').to_string());
            }
            if let (Some(&"macro"), Some(sig)) = (words.first(), words.get(1)) {
                let params = clean[clean.find('(').unwrap_or(0)..].to_string();
                bound.insert(sig.split('(').next().unwrap_or("").to_string());
                for p in params.split(|c: char| !c.is_alphanumeric() && c != '_') {
                    bound.insert(p.to_string());
                }
            }
            if let (Some(&"import"), Some(ns)) = (words.first(), words.last()) {
                bound.insert(ns.to_string());
                continue;
            }
            let chars: Vec<char> = clean.chars().collect();
            let mut k = 0;
            while k < chars.len() {
                if chars[k].is_ascii_alphabetic() || chars[k] == '_' {
                    let start = k;
                    while k < chars.len() && (chars[k].is_ascii_alphanumeric() || chars[k] == '_') {
                        k += 1;
                    }
                    let word: String = chars[start..k].iter().collect();
                    let before = chars[..start].iter().rev().find(|c| !c.is_whitespace());
                    let after = chars[k..].iter().find(|c| !c.is_whitespace());
                    let attribute_or_filter = matches!(before, Some('.') | Some('|') | Some(':'));
                    let call_or_name = matches!(after, Some('(') | Some('=') | Some(':'));
                    if !attribute_or_filter && !call_or_name && !KEYWORDS.contains(&word.as_str()) {
                        read.insert(word);
                    }
                } else {
                    k += 1;
                }
            }
        }
        read.retain(|w| !bound.contains(w) && w != "loop" && w != "endmacro");
        read
    }

    #[test]
    fn the_readme_names_every_template_and_every_variable_it_reads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../prompts");
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        let mut missing = Vec::new();
        for (name, text) in builtin::BUILTIN {
            if !readme.contains(&format!("`{name}`")) {
                missing.push(format!("{name} itself"));
            }
            for v in variables_read(text) {
                if !readme.contains(&format!("`{v}`")) {
                    missing.push(format!("{name}: {v}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "prompts/README.md does not list: {missing:?}"
        );
        // The parser itself finds what a template reads, and only that.
        let found = variables_read(
            "{% import \"x.tera\" as c %}{% for t in to_answer %}{{ t.name | trim }}{% endfor %}{{ c::m(a=question) }}{% if not seated %}{{ p | join(sep=\", \") }}{% endif %}",
        );
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            ["p", "question", "seated", "to_answer"]
        );
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
