//! Building a resolved backend: the HTTP clients, the embedded model
//! (loaded here), the cassette recorder or player.

use super::{Choice, EmbeddedConfig, Resolved};
use crate::anthropic::Anthropic;
use crate::openai::OpenAiCompatible;
use crate::replay::CassetteModel;
use crate::{ChatModel, LlmError};
use std::sync::Arc;

/// Builds an HTTP backend (none for the embedded model or a cassette).
pub fn build_http(choice: &Choice) -> Result<Arc<dyn ChatModel>, LlmError> {
    match choice {
        Choice::OpenAi(s) => Ok(Arc::new(OpenAiCompatible::new(s.clone())?)),
        Choice::Anthropic(s) => Ok(Arc::new(Anthropic::new(s.clone())?)),
        _ => Err(LlmError::Config(
            "an endpoint must be a server (an OpenAI-compatible or Anthropic URL)".into(),
        )),
    }
}

/// Builds the resolved backend (loading the embedded model if chosen).
pub async fn build(resolved: &Resolved) -> Result<Arc<dyn ChatModel>, LlmError> {
    let model: Arc<dyn ChatModel> = match &resolved.choice {
        Choice::OpenAi(_) | Choice::Anthropic(_) => build_http(&resolved.choice)?,
        Choice::Replay(p) => return Ok(Arc::new(CassetteModel::replay(p.clone())?)),
        Choice::Embedded { source, config } => build_embedded(source, config).await?,
    };
    match &resolved.record {
        Some(p) => Ok(Arc::new(CassetteModel::record(p.clone(), model)?)),
        None => Ok(model),
    }
}

#[cfg(feature = "embedded")]
async fn build_embedded(
    source: &crate::fetch::ModelSource,
    config: &EmbeddedConfig,
) -> Result<Arc<dyn ChatModel>, LlmError> {
    use crate::embedded::{EmbeddedModel, EmbeddedSettings};
    let path = source.resolve().await?;
    let mut s = EmbeddedSettings::new(path);
    if let Some(t) = config.threads {
        s.threads = t;
        s.chosen.threads = true;
    }
    match config.slots {
        Some(n) => {
            s.slots = n;
            s.chosen.slots = true;
        }
        // Unless slots are chosen: the cache may take what the machine
        // spares beyond the weights (the catalogue's share of memory).
        None => {
            let weights = std::fs::metadata(&s.model_path).map_or(0, |m| m.len());
            s.kv_budget = crate::catalog::total_memory().map(|total| {
                ((total as f64 * crate::catalog::MEMORY_SHARE) as u64).saturating_sub(weights)
            });
        }
    }
    if let Some(c) = config.ctx_per_slot {
        s.ctx_per_slot = c;
        s.chosen.ctx = true;
    }
    if let Some(b) = config.share_prefixes {
        s.share_prefixes = b;
    }
    if let Some(f) = config.flash_attention {
        s.flash_attention = f;
    }
    let model = tokio::task::spawn_blocking(move || EmbeddedModel::load(s))
        .await
        .map_err(|e| LlmError::Embedded(format!("model loading panicked: {e}")))??;
    Ok(Arc::new(model))
}

#[cfg(not(feature = "embedded"))]
async fn build_embedded(
    _source: &crate::fetch::ModelSource,
    _config: &EmbeddedConfig,
) -> Result<Arc<dyn ChatModel>, LlmError> {
    Err(LlmError::Config(
        "this build has no embedded backend (built without the `embedded` feature); set --base-url to a server".into(),
    ))
}
