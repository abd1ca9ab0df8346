//! Advisor personas and the panel they sit on.

use crate::Move;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    /// Seats they can fill; every panel fills each seat (see [`Trait`]).
    pub traits: Vec<Trait>,
    /// Name and role in other languages, by language code (`zh`…).
    pub i18n: BTreeMap<String, Localised>,
}

/// A persona's name and role as a report in one language shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Localised {
    /// Display name.
    pub name: String,
    /// One-line role.
    pub role: String,
}

impl Persona {
    /// Whether the persona holds `t`.
    pub fn has(&self, t: Trait) -> bool {
        self.traits.contains(&t)
    }
}

/// A seat on every panel, and the behaviour that comes with it. A roster
/// must hold a persona for each; a panel always seats one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trait {
    /// Checks claims against the sources: shown the passages bearing on the
    /// previous round's claims when a round checks claims; speaks last.
    FactChecker,
    /// Argues the strongest opposite case; speaks after the advisors.
    Contrarian,
}

impl Trait {
    /// Every trait, in speaking order of their seats.
    pub const ALL: [Trait; 2] = [Trait::Contrarian, Trait::FactChecker];

    /// The name persona files use.
    pub fn as_str(self) -> &'static str {
        match self {
            Trait::FactChecker => "fact_checker",
            Trait::Contrarian => "contrarian",
        }
    }
}

impl std::fmt::Display for Trait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Name and role in other languages, by language code; a language not
    /// here shows [`PanelMember::name`] and [`PanelMember::role`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub i18n: BTreeMap<String, Localised>,
}

impl PanelMember {
    /// The display name in `lang`, or the persona's own when it has none there.
    pub fn name_in(&self, lang: &str) -> &str {
        self.i18n.get(lang).map_or(&self.name, |l| &l.name)
    }

    /// The one-line role in `lang`, or the persona's own when it has none there.
    pub fn role_in(&self, lang: &str) -> &str {
        self.i18n.get(lang).map_or(&self.role, |l| &l.role)
    }
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
            i18n: p.i18n.clone(),
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
            i18n: BTreeMap::new(),
        }];
        assert_eq!(name_of(&panel, "cfo"), "The CFO");
        assert_eq!(name_of(&panel, "ghost"), "ghost");
    }

    #[test]
    fn a_member_shows_its_localised_name_and_falls_back_to_its_own() {
        let m = PanelMember {
            id: "cfo".into(),
            name: "The CFO".into(),
            role: "Finance".into(),
            i18n: BTreeMap::from([(
                "zh".to_string(),
                Localised {
                    name: "首席财务官".into(),
                    role: "财务".into(),
                },
            )]),
        };
        assert_eq!((m.name_in("zh"), m.role_in("zh")), ("首席财务官", "财务"));
        assert_eq!((m.name_in("de"), m.role_in("de")), ("The CFO", "Finance"));
        // A member without localisations is written as before: no `i18n` key.
        let plain = PanelMember {
            i18n: BTreeMap::new(),
            ..m.clone()
        };
        assert!(!serde_json::to_string(&plain).unwrap().contains("i18n"));
        let back: PanelMember = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
