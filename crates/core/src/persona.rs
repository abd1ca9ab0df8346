//! Advisor personas and the panel they sit on.

use crate::Move;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An advisor the model plays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persona {
    /// Stable id (`auditor`, `cfo`…).
    pub id: String,
    /// Display name.
    pub name: String,
    /// One-line role.
    pub role: String,
    /// Two to four sentences of history.
    pub background: String,
    /// What they look at first.
    pub notices_first: String,
    /// Their characteristic blind spot.
    pub blind_spot: String,
    /// How they speak.
    pub voice: String,
    /// The moves they reach for, most characteristic first.
    pub favoured_moves: Vec<Move>,
    /// Keywords that match them to questions.
    pub focus: Vec<String>,
    /// Whether they sit on every panel.
    pub always_seated: bool,
}

/// A panel seat as recorded in a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PanelMember {
    /// Persona id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One-line role.
    pub role: String,
}

impl From<&Persona> for PanelMember {
    fn from(p: &Persona) -> Self {
        PanelMember {
            id: p.id.clone(),
            name: p.name.clone(),
            role: p.role.clone(),
        }
    }
}
