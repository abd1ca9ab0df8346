//! The providers people bring a key for, as presets over two wire formats:
//! OpenAI chat completions (OpenAI, Azure OpenAI, Gemini's OpenAI-compatible
//! endpoint, OpenRouter, Ollama, vLLM, llama.cpp's server) and Anthropic's
//! Messages API. A preset fills in what a user would otherwise look up: the
//! base URL, which environment variables hold the key, how the key is sent,
//! whether the server takes strict JSON schemas, and whether it streams.
//! Everything a preset sets can still be overridden in the config file.

use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

/// A model provider named in the config (`provider = "…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// OpenAI's API.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic's Messages API (its own backend).
    Anthropic,
    /// Azure OpenAI: deployment URLs, `api-version`, an `api-key` header.
    Azure,
    /// Google Gemini through its OpenAI-compatible endpoint.
    Gemini,
    /// OpenRouter, with its attribution headers.
    #[serde(rename = "openrouter")]
    OpenRouter,
    /// A local Ollama server.
    Ollama,
    /// A vLLM server.
    Vllm,
    /// llama.cpp's own server.
    #[serde(rename = "llamacpp")]
    LlamaCpp,
}

/// How an OpenAI-format request carries its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHeader {
    /// `Authorization: Bearer KEY`.
    Bearer,
    /// `api-key: KEY` (Azure).
    ApiKey,
}

/// Azure's `api-version` when the config names none: the newest GA version
/// with structured outputs.
pub const AZURE_API_VERSION: &str = "2024-10-21";

impl Provider {
    /// Every provider, in the order the docs list them.
    pub const ALL: [Provider; 8] = [
        Provider::OpenAi,
        Provider::Anthropic,
        Provider::Azure,
        Provider::Gemini,
        Provider::OpenRouter,
        Provider::Ollama,
        Provider::Vllm,
        Provider::LlamaCpp,
    ];

    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Azure => "azure",
            Provider::Gemini => "gemini",
            Provider::OpenRouter => "openrouter",
            Provider::Ollama => "ollama",
            Provider::Vllm => "vllm",
            Provider::LlamaCpp => "llamacpp",
        }
    }

    /// The base URL used when the config gives none (Azure has no default:
    /// every resource has its own host).
    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            Provider::OpenAi => Some("https://api.openai.com/v1"),
            Provider::Anthropic => Some("https://api.anthropic.com/v1"),
            Provider::Azure => None,
            Provider::Gemini => Some("https://generativelanguage.googleapis.com/v1beta/openai"),
            Provider::OpenRouter => Some("https://openrouter.ai/api/v1"),
            Provider::Ollama => Some("http://127.0.0.1:11434/v1"),
            Provider::Vllm => Some("http://127.0.0.1:8000/v1"),
            Provider::LlamaCpp => Some("http://127.0.0.1:8080/v1"),
        }
    }

    /// The provider's own environment variables for its key, in order,
    /// looked at when the config names no `api_key_env` (the main endpoint
    /// looks at `COUNCIL_API_KEY` first).
    pub fn key_vars(self) -> &'static [&'static str] {
        match self {
            Provider::OpenAi => &["OPENAI_API_KEY"],
            Provider::Anthropic => &["ANTHROPIC_API_KEY"],
            Provider::Azure => &["AZURE_OPENAI_API_KEY"],
            Provider::Gemini => &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
            Provider::OpenRouter => &["OPENROUTER_API_KEY"],
            Provider::Ollama => &[],
            Provider::Vllm => &["VLLM_API_KEY"],
            Provider::LlamaCpp => &["LLAMA_API_KEY"],
        }
    }

    /// Whether the provider refuses a call without a key.
    pub fn needs_key(self) -> bool {
        matches!(
            self,
            Provider::OpenAi
                | Provider::Anthropic
                | Provider::Azure
                | Provider::Gemini
                | Provider::OpenRouter
        )
    }

    /// How the key travels.
    pub fn key_header(self) -> KeyHeader {
        match self {
            Provider::Azure => KeyHeader::ApiKey,
            _ => KeyHeader::Bearer,
        }
    }

    /// Whether the provider takes `strict: true` JSON schemas (OpenAI's
    /// structured outputs). The local servers constrain output with their
    /// own grammars and ignore or refuse `strict`; Gemini's compatible
    /// endpoint takes schemas without it.
    pub fn strict_schemas(self) -> bool {
        matches!(
            self,
            Provider::OpenAi | Provider::Azure | Provider::OpenRouter
        )
    }

    /// The provider a base URL belongs to, when its host says so.
    pub fn infer(base_url: &str) -> Option<Provider> {
        let host = base_url
            .split("://")
            .nth(1)
            .unwrap_or(base_url)
            .split(['/', ':', '?'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if host == "api.openai.com" {
            Some(Provider::OpenAi)
        } else if host == "api.anthropic.com" {
            Some(Provider::Anthropic)
        } else if host.ends_with(".openai.azure.com")
            || host.ends_with(".cognitiveservices.azure.com")
        {
            Some(Provider::Azure)
        } else if host == "generativelanguage.googleapis.com" {
            Some(Provider::Gemini)
        } else if host == "openrouter.ai" {
            Some(Provider::OpenRouter)
        } else {
            None
        }
    }

    /// Azure's chat-completions base for `model` (the deployment name):
    /// a URL that already names a deployment is kept, a resource URL gets
    /// `/openai/deployments/MODEL` added.
    pub fn azure_deployment_url(base_url: &str, model: &str) -> String {
        let base = base_url.trim_end_matches('/');
        if base.contains("/deployments/") {
            base.to_string()
        } else {
            let base = base.trim_end_matches("/openai");
            format!("{base}/openai/deployments/{model}")
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown provider {s:?}; use one of {}",
                    Provider::ALL.map(Provider::as_str).join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_name_their_provider_and_others_name_none() {
        assert_eq!(
            Provider::infer("https://api.openai.com/v1"),
            Some(Provider::OpenAi)
        );
        assert_eq!(
            Provider::infer("https://myres.openai.azure.com/openai/deployments/gpt4o"),
            Some(Provider::Azure)
        );
        assert_eq!(
            Provider::infer("https://generativelanguage.googleapis.com/v1beta/openai/"),
            Some(Provider::Gemini)
        );
        assert_eq!(
            Provider::infer("https://openrouter.ai/api/v1"),
            Some(Provider::OpenRouter)
        );
        assert_eq!(Provider::infer("http://127.0.0.1:8080/v1"), None);
        // A path that merely mentions a provider does not count.
        assert_eq!(
            Provider::infer("http://proxy.local/api.openai.com/v1"),
            None
        );
    }

    #[test]
    fn names_round_trip_and_an_unknown_name_lists_the_known_ones() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>(), Ok(p));
            let t: toml::Value =
                toml::from_str(&format!("p = \"{p}\"")).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(t["p"].clone().try_into::<Provider>().ok(), Some(p));
        }
        let err = "claude".parse::<Provider>().unwrap_err();
        assert!(
            err.contains("anthropic") && err.contains("llamacpp"),
            "{err}"
        );
    }

    #[test]
    fn azure_urls_gain_the_deployment_once() {
        assert_eq!(
            Provider::azure_deployment_url("https://r.openai.azure.com", "gpt-4o"),
            "https://r.openai.azure.com/openai/deployments/gpt-4o"
        );
        assert_eq!(
            Provider::azure_deployment_url("https://r.openai.azure.com/openai/", "gpt-4o"),
            "https://r.openai.azure.com/openai/deployments/gpt-4o"
        );
        assert_eq!(
            Provider::azure_deployment_url(
                "https://r.openai.azure.com/openai/deployments/prod-4o/",
                "gpt-4o"
            ),
            "https://r.openai.azure.com/openai/deployments/prod-4o"
        );
    }
}
