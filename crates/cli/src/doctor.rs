//! `council doctor`: every endpoint the configuration uses (the main one,
//! each `[personas.ID]` model, each `[[endpoints]]` entry), checked one at
//! a time by [`council_llm::doctor`], as a table followed by the fix for
//! each failure.

use crate::cli::{DoctorArgs, DoctorFormat, Global};
use crate::settings::{self, Backends};
use council_llm::config::{self, Choice, Common};
use council_llm::doctor::{self, Check, EndpointReport};
use council_llm::fetch::ModelSource;
use council_llm::LlmError;
use std::io::Write;

/// A line about the configuration that is not an endpoint's checks: the
/// embedded model, a cassette, an entry that cannot be set up.
#[derive(Debug, serde::Serialize)]
struct Note {
    /// What it says.
    text: String,
    /// The fix, when it is a failure.
    fix: Option<String>,
}

impl Note {
    fn ok(text: impl Into<String>) -> Note {
        Note {
            text: text.into(),
            fix: None,
        }
    }

    fn failed(text: impl Into<String>, fix: impl Into<String>) -> Note {
        Note {
            text: text.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Runs the checks and prints them; an error (exit 4) when any fails.
pub(crate) async fn doctor(args: &DoctorArgs, g: &Global) -> anyhow::Result<()> {
    let b = settings::load(g, &crate::env_lookup)?;
    let (targets, mut notes) = targets(&b);
    // A local Ollama is a way to larger models: listed, never a failure.
    let (_, ollama) =
        doctor::ollama_note(&crate::env_lookup, std::time::Duration::from_secs(2)).await;
    notes.push(Note::ok(ollama));
    // Servers the user names: their models, or why none could be listed (a failure).
    let key = crate::env_lookup("OPENAI_API_KEY");
    for url in &args.server {
        let (found, note) =
            doctor::server_note(url, key.as_deref(), std::time::Duration::from_secs(5)).await;
        notes.push(if found {
            Note::ok(note)
        } else {
            Note::failed(
                note,
                format!("start the server at {url}, or name another with --server"),
            )
        });
    }
    let mut reports = Vec::new();
    for (name, choice) in &targets {
        if !g.quiet {
            crate::say!("checking {name}…");
        }
        reports.push(doctor::check(name, choice).await);
    }
    let failed = reports.iter().filter(|r| !r.passed()).count()
        + notes.iter().filter(|n| n.fix.is_some()).count();
    let mut out = std::io::stdout().lock();
    match args.format {
        DoctorFormat::Json => {
            let doc = serde_json::json!({
                "ok": failed == 0,
                "notes": notes,
                "endpoints": reports,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
        }
        DoctorFormat::Table => write!(out, "{}", render(&reports, &notes))?,
    }
    out.flush()?;
    if failed == 0 {
        return Ok(());
    }
    Err(LlmError::Config(format!(
        "doctor: {failed} of {} endpoints failed a check; make the changes under \"fix:\" above and run `council doctor` again",
        reports.len() + notes.iter().filter(|n| n.fix.is_some()).count()
    ))
    .into())
}

/// The endpoints to check, named, and the notes on what is not one.
fn targets(b: &Backends) -> (Vec<(String, Choice)>, Vec<Note>) {
    let mut targets: Vec<(String, Choice)> = Vec::new();
    let mut notes = Vec::new();
    match &b.main.choice {
        Choice::Embedded { source, .. } => notes.push(embedded_note(source)),
        Choice::Replay(p) => {
            notes.push(Note::ok(format!(
                "replay: the cassette {} answers every call; no endpoint to check",
                p.display()
            )));
            return (targets, notes);
        }
        http => targets.push(("main".into(), http.clone())),
    }
    let pooled = |model: &str| {
        matches!(b.main.choice, Choice::OpenAi(_)) && b.endpoints.iter().any(|e| e.model == model)
    };
    for (id, spec) in &b.personas {
        let name = format!("persona {id}");
        if spec.base_url.is_none() && pooled(&spec.model) {
            notes.push(Note::ok(format!(
                "{name}: model {:?} is served by the [[endpoints]] checked below",
                spec.model
            )));
            continue;
        }
        match b.main.with_model(spec, &crate::env_lookup) {
            Ok(r) => targets.push((name, r.choice)),
            Err(e) => notes.push(Note::failed(
                format!("{name}: cannot be set up: {e}"),
                format!("change [personas.{id}] as the problem says"),
            )),
        }
    }
    for (i, e) in b.endpoints.iter().enumerate() {
        let name = format!("endpoint {}", i + 1);
        match endpoint_choice(b, e) {
            Ok(Some(choice)) => targets.push((name, choice)),
            Ok(None) => notes.push(Note::ok(format!(
                "{name} ({}): unused, because the main backend is not an OpenAI-compatible server",
                e.base_url
            ))),
            Err(problem) => notes.push(Note::failed(
                format!("{name} ({}): {problem}", e.base_url),
                "change this [[endpoints]] entry, or set the variable it names",
            )),
        }
    }
    // One row per server and model: an entry the main endpoint came from
    // is the main endpoint.
    let mut seen: Vec<(String, String, String)> = Vec::new();
    let mut unique = Vec::new();
    for (name, choice) in targets {
        let key = identity(&choice);
        match seen.iter().position(|k| *k == key) {
            Some(at) => notes.push(Note::ok(format!(
                "{name}: the same server, model and key as {}",
                unique
                    .get(at)
                    .map_or("another", |(n, _): &(String, Choice)| n.as_str())
            ))),
            None => {
                seen.push(key);
                unique.push((name, choice));
            }
        }
    }
    (unique, notes)
}

/// What makes two endpoints the same: base URL, model and key variable.
fn identity(choice: &Choice) -> (String, String, String) {
    match choice {
        Choice::OpenAi(s) => (
            s.base_url.trim_end_matches('/').to_string(),
            s.model.clone(),
            s.key_var.clone(),
        ),
        Choice::Anthropic(s) => (
            s.base_url.trim_end_matches('/').to_string(),
            s.model.clone(),
            s.key_var.clone(),
        ),
        _ => Default::default(),
    }
}

/// The embedded model's file: present or missing (loading it is not checked).
fn embedded_note(source: &ModelSource) -> Note {
    match source {
        ModelSource::File(p) if p.is_file() => Note::ok(format!(
            "embedded: {} present (whether it loads is not checked)",
            p.display()
        )),
        ModelSource::File(p) => Note::failed(
            format!("embedded: {} missing", p.display()),
            council_llm::fetch::missing_model_fix(),
        ),
        ModelSource::Catalog(name) => match council_llm::catalog::find(name) {
            Some(m) if m.path().is_file() => Note::ok(format!(
                "embedded: catalogue model {name} present at {} (whether it loads is not checked)",
                m.path().display()
            )),
            Some(m) => Note::failed(
                format!("embedded: catalogue model {name} is not downloaded"),
                format!("run `{}`", m.fetch_command()),
            ),
            None => Note::failed(
                format!("embedded: {name:?} is not in the catalogue"),
                "run `council fetch-model --list` and pick a name",
            ),
        },
        ModelSource::HuggingFace { repo, file } => Note::ok(format!(
            "embedded: hf:{repo}/{file}, downloaded on first use (not checked)"
        )),
    }
}

/// An `[[endpoints]]` entry as the pool builds it (`pool.rs`): `None` when
/// no pool uses it; an error naming a missing key.
fn endpoint_choice(
    b: &Backends,
    e: &council_llm::pool::EndpointConfig,
) -> Result<Option<Choice>, String> {
    let Choice::OpenAi(template) = &b.main.choice else {
        return Ok(None);
    };
    let key = match &e.api_key_env {
        Some(var) => {
            let key = config::find_key(std::slice::from_ref(var), &crate::env_lookup);
            if key.1.is_none() {
                return Err(format!("the key variable {var} is not set"));
            }
            Some(key)
        }
        None => None,
    };
    match e.provider {
        None => {
            let mut s = template.clone();
            s.base_url = e.base_url.clone();
            s.model = e.model.clone();
            if let Some((var, key)) = key {
                s.key_var = var;
                s.api_key = key;
            }
            Ok(Some(Choice::OpenAi(s)))
        }
        Some(p) => {
            let key = key.unwrap_or_else(|| {
                let vars: Vec<String> = p.key_vars().iter().map(|v| v.to_string()).collect();
                config::find_key(&vars, &crate::env_lookup)
            });
            if key.1.is_none() && p.needs_key() {
                return Err(format!("provider {p} needs an API key; set {}", key.0));
            }
            let common = Common {
                request_timeout: template.request_timeout,
                connect_timeout: template.connect_timeout,
                idle_timeout: template.idle_timeout,
                ..Default::default()
            };
            Ok(Some(config::http_choice(
                Some(p),
                &e.base_url,
                &e.model,
                key,
                &common,
            )))
        }
    }
}

/// The notes, the table, then each failure with its fix.
fn render(reports: &[EndpointReport], notes: &[Note]) -> String {
    let mut out = String::new();
    for n in notes {
        out.push_str(&n.text);
        out.push('\n');
    }
    if !reports.is_empty() {
        if !notes.is_empty() {
            out.push('\n');
        }
        let header = [
            "endpoint",
            "provider",
            "base URL",
            "model",
            "reachable",
            "key",
            "exists",
            "structured",
            "streaming",
            "latency",
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
        for r in reports {
            let mut row = vec![
                r.name.clone(),
                r.provider.clone(),
                r.base_url.clone(),
                r.model.clone(),
            ];
            row.extend(r.checks().iter().map(|(_, c)| c.cell()));
            row.push(
                r.latency_ms
                    .map_or_else(|| "-".into(), |ms| format!("{ms} ms")),
            );
            rows.push(row);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
    }
    let mut fixes = Vec::new();
    for r in reports {
        for (what, check) in r.checks() {
            if let Check::Fail { problem, fix } = check {
                fixes.push(format!("{}, {what}: {problem}\n  fix: {fix}\n", r.name));
            }
        }
    }
    for n in notes {
        if let Some(fix) = &n.fix {
            fixes.push(format!("{}\n  fix: {fix}\n", n.text));
        }
    }
    if !fixes.is_empty() {
        out.push('\n');
        for f in fixes {
            out.push_str(&f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_aligns_and_each_failure_gets_a_fix_line() {
        let mut good = EndpointReport::new("main", "openai", "http://a/v1", "m");
        good.reachable = Check::Pass {
            detail: String::new(),
        };
        good.latency_ms = Some(12);
        let mut bad = EndpointReport::new("persona cfo", "vllm", "http://b/v1", "missing-model");
        bad.model_exists = Check::Fail {
            problem: "http://b/v1 does not list model \"missing-model\"".into(),
            fix: "set model = \"NAME\" to one the server has: x".into(),
        };
        let text = render(
            &[good, bad],
            &[Note::failed("embedded: /x.gguf missing", "run fetch-model")],
        );
        let lines: Vec<&str> = text.lines().collect();
        let header = lines
            .iter()
            .position(|l| l.starts_with("endpoint"))
            .unwrap_or(0);
        let col = lines[header].find("reachable");
        assert_eq!(lines[header + 1].find("ok"), col, "{text}");
        assert!(
            text.contains("persona cfo, model: http://b/v1 does not list"),
            "{text}"
        );
        assert_eq!(text.matches("  fix: ").count(), 2, "{text}");
        assert!(text.contains("12 ms"), "{text}");
    }
}
