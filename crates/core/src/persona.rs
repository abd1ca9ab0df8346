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

/// Anything that sits on a panel: it has a persona id and a display name.
pub trait Seat {
    /// The persona id.
    fn id(&self) -> &str;
    /// The display name.
    fn name(&self) -> &str;
}

impl Seat for Persona {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl Seat for PanelMember {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> &str {
        &self.name
    }
}

/// The display name of persona `id` on `panel`, or the id itself when no
/// one on the panel has it (an answer may name a persona that never sat).
pub fn name_of<'a, S: Seat>(panel: &'a [S], id: &'a str) -> &'a str {
    panel.iter().find(|p| p.id() == id).map_or(id, |p| p.name())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_panel_and_unknown_ids_stay_ids() {
        let panel = vec![PanelMember {
            id: "cfo".into(),
            name: "The CFO".into(),
            role: "Finance".into(),
        }];
        assert_eq!(name_of(&panel, "cfo"), "The CFO");
        assert_eq!(name_of(&panel, "ghost"), "ghost");
    }
}
