//! Record/replay cassettes: a file that maps a hash of the canonical request
//! to the recorded response.
//!
//! In record mode a [`CassetteModel`] wraps any backend and writes each new
//! answer to disk at once (atomically). In replay mode it has no backend at
//! all, so it cannot make a model or network call; a request it has not seen
//! is an error naming the request. Only requests and responses are stored:
//! keys, URLs and headers never reach a cassette.

use crate::{ChatModel, ChatRequest, ChatResponse, LlmError, ModelInfo};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The cassette file format version this build reads and writes.
pub const CASSETTE_VERSION: u32 = 1;

/// One recorded exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// A short human-readable description of the request.
    pub summary: String,
    /// The recorded answer.
    pub response: ChatResponse,
}

/// The on-disk cassette.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cassette {
    /// File format version.
    pub version: u32,
    /// The model that was recorded, for information.
    pub recorded_from: Option<ModelInfo>,
    /// Request hash → exchange.
    pub entries: BTreeMap<String, Entry>,
}

impl Cassette {
    fn empty() -> Self {
        Cassette {
            version: CASSETTE_VERSION,
            recorded_from: None,
            entries: BTreeMap::new(),
        }
    }

    /// Reads a cassette file, checking its version.
    pub fn load(path: &Path) -> Result<Self, LlmError> {
        let bytes = std::fs::read(path).map_err(|e| {
            LlmError::Config(format!(
                "cannot read cassette {} ({e}); give a file written by --record FILE",
                path.display()
            ))
        })?;
        let cassette: Cassette = serde_json::from_slice(&bytes).map_err(|e| {
            LlmError::Config(format!(
                "cassette {} is not a valid cassette file ({e}); give a file written by --record FILE, or record it again",
                path.display()
            ))
        })?;
        if cassette.version != CASSETTE_VERSION {
            return Err(LlmError::Config(format!(
                "cassette {} has format version {}, this build reads version {CASSETTE_VERSION}; re-record it",
                path.display(),
                cassette.version
            )));
        }
        Ok(cassette)
    }

    fn save(&self, path: &Path) -> Result<(), LlmError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| LlmError::Config(format!("cannot encode cassette: {e}")))?;
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| LlmError::io(format!("cannot create {}", dir.display()), e))?;
        council_fs::write_atomic(path, text)
            .map_err(|e| LlmError::io(format!("cannot write cassette {}", path.display()), e))
    }
}

/// The stable hash of a request: SHA-256 of its canonical JSON.
pub fn request_key(request: &ChatRequest) -> String {
    // serde_json without `preserve_order` sorts object keys, so equal
    // requests serialise identically.
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))[..32].to_string()
}

fn summarize(request: &ChatRequest) -> String {
    let last = request
        .messages
        .last()
        .map(|m| m.content.as_str())
        .unwrap_or("");
    let head = council_core::excerpt(last, 80);
    let schema = request
        .schema
        .as_ref()
        .map(|s| format!(" schema={}", s.name))
        .unwrap_or_default();
    format!(
        "{} messages{schema}, last: {head:?}",
        request.messages.len()
    )
}

/// A backend that records to or replays from a cassette.
pub struct CassetteModel {
    path: PathBuf,
    inner: Option<Arc<dyn ChatModel>>,
    cassette: Mutex<Cassette>,
}

impl std::fmt::Debug for CassetteModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CassetteModel")
            .field("path", &self.path)
            .field("recording", &self.inner.is_some())
            .finish()
    }
}

impl CassetteModel {
    /// Replays `path`; makes no model calls, ever.
    pub fn replay(path: impl Into<PathBuf>) -> Result<Self, LlmError> {
        let path = path.into();
        let cassette = Cassette::load(&path)?;
        Ok(CassetteModel {
            path,
            inner: None,
            cassette: Mutex::new(cassette),
        })
    }

    /// Records `inner`'s answers into `path`, keeping entries already there.
    pub fn record(path: impl Into<PathBuf>, inner: Arc<dyn ChatModel>) -> Result<Self, LlmError> {
        let path = path.into();
        let mut cassette = if path.exists() {
            Cassette::load(&path)?
        } else {
            Cassette::empty()
        };
        // Backend and model only: a base URL can carry credentials.
        let mut info = inner.info();
        info.location = String::new();
        cassette.recorded_from = Some(info);
        Ok(CassetteModel {
            path,
            inner: Some(inner),
            cassette: Mutex::new(cassette),
        })
    }

    /// How many exchanges the cassette holds.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether the cassette holds no exchange.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cassette> {
        // A poisoned lock only means another request panicked mid-insert;
        // the map itself is still consistent.
        self.cassette.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ChatModel for CassetteModel {
    fn info(&self) -> ModelInfo {
        match &self.inner {
            Some(inner) => {
                let mut info = inner.info();
                info.backend = format!("record({})", info.backend);
                info
            }
            None => {
                let recorded = self.lock().recorded_from.clone();
                let (model, capabilities) = match recorded {
                    Some(i) => (i.model, i.capabilities),
                    None => ("unknown".into(), crate::Capabilities::in_process()),
                };
                ModelInfo {
                    backend: "replay".into(),
                    model,
                    location: self.path.display().to_string(),
                    capabilities: crate::Capabilities {
                        offline: true,
                        ..capabilities
                    },
                }
            }
        }
    }

    async fn chat(&self, request: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let key = request_key(request);
        if let Some(entry) = self.lock().entries.get(&key) {
            return Ok(entry.response.clone());
        }
        let Some(inner) = &self.inner else {
            return Err(LlmError::CassetteMiss {
                cassette: self.path.clone(),
                key,
                summary: summarize(request),
            });
        };
        let response = inner.chat(request).await?;
        let mut cassette = self.lock();
        cassette.entries.insert(
            key,
            Entry {
                summary: summarize(request),
                response: response.clone(),
            },
        );
        cassette.save(&self.path)?;
        Ok(response)
    }
}
