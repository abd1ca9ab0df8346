//! What the study conditions change in a run ([`Condition`]): the panel a
//! `no-persona` or `single` run seats, and how an `anonymous` run shows a
//! peer (a label, A, B, C… by panel order, with no name or role). Each
//! condition is defined in README ("Conditions").

use council_core::study::Condition;
use council_core::{PanelMember, Persona};

/// The id of the `single` condition's one advisor.
pub const GENERALIST: &str = "generalist";

/// The role every persona-less advisor is given.
const PLAIN_ROLE: &str = "advisor";

/// A persona with a name and role only: no background, no voice, no
/// favoured moves, no seat.
fn plain(id: String, name: String, role: &str) -> Persona {
    Persona {
        id,
        name,
        role: role.into(),
        background: String::new(),
        notices_first: String::new(),
        blind_spot: String::new(),
        voice: String::new(),
        favoured_moves: Vec::new(),
        focus: Vec::new(),
        traits: Vec::new(),
        i18n: Default::default(),
    }
}

/// The `single` condition's panel: one generalist advisor with no persona.
pub fn generalist() -> Persona {
    plain(GENERALIST.into(), "Generalist".into(), "generalist advisor")
}

/// The `no-persona` condition's panel of `n`: `advisor-1`… named
/// "Advisor 1"…, each a plain advisor with no persona text.
pub fn plain_advisors(n: usize) -> Vec<Persona> {
    (1..=n)
        .map(|i| plain(format!("advisor-{i}"), format!("Advisor {i}"), PLAIN_ROLE))
        .collect()
}

/// The panel a run of `condition` seats, from the question's seated panel.
pub fn panel_for(condition: Condition, seated: Vec<Persona>) -> Vec<Persona> {
    match condition {
        Condition::Single => vec![generalist()],
        Condition::NoPersona => plain_advisors(seated.len()),
        _ => seated,
    }
}

/// The rounds a run in `condition` plays of a study's `rounds`: a vote
/// without debate plays the independent openings only, a single answer none.
pub fn rounds_for(condition: Condition, rounds: u32) -> u32 {
    match condition {
        Condition::Vote => 1,
        Condition::Single => 0,
        _ => rounds,
    }
}

/// Whether a run in `condition` asks for its synthesis when the study says
/// `synthesis`: a single answer's one call is its synthesis, so always.
pub fn synthesis_for(condition: Condition, synthesis: bool) -> bool {
    synthesis || condition == Condition::Single
}

/// The label an anonymous run shows for the panel member at `index`:
/// A, B, … Z, then A2, B2, ….
pub fn label(index: usize) -> String {
    let letter = char::from(b'A' + (index % 26) as u8);
    match index / 26 {
        0 => letter.to_string(),
        n => format!("{letter}{}", n + 1),
    }
}

/// How a run's prompts show its panel: by name and role, or (in an
/// `anonymous` run) each peer by its label only.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shown<'a> {
    panel: &'a [Persona],
    anonymous: bool,
}

impl<'a> Shown<'a> {
    /// The view of `panel` a run of `condition` shows.
    pub(crate) fn new(panel: &'a [Persona], condition: Condition) -> Shown<'a> {
        Shown {
            panel,
            anonymous: condition == Condition::Anonymous,
        }
    }

    /// Whether peers are shown by label.
    pub(crate) fn anonymous(&self) -> bool {
        self.anonymous
    }

    /// The id a prompt shows for `id`: its label in an anonymous run.
    pub(crate) fn id(&self, id: &str) -> String {
        match self.index(id) {
            Some(i) if self.anonymous => label(i),
            _ => id.to_string(),
        }
    }

    /// The name a prompt shows for `id`: "Advisor A" in an anonymous run.
    pub(crate) fn name(&self, id: &str) -> String {
        match self.index(id) {
            Some(i) if self.anonymous => format!("Advisor {}", label(i)),
            _ => council_core::name_of(self.panel, id).to_string(),
        }
    }

    /// The board as `viewer`'s system prompt lists it: in an anonymous run
    /// every peer by label with no role, the viewer itself by its own name
    /// and role under its label.
    pub(crate) fn board(&self, viewer: &str) -> Vec<PanelMember> {
        self.panel
            .iter()
            .map(|p| {
                let mut m = PanelMember::from(p);
                if self.anonymous {
                    m.id = self.id(&p.id);
                    m.i18n.clear();
                    if p.id != viewer {
                        m.name = self.name(&p.id);
                        m.role = String::new();
                    }
                }
                m
            })
            .collect()
    }

    /// The persona id an answer's `said` names: a label read back to its
    /// persona in an anonymous run; anything else as said.
    pub(crate) fn read_back(&self, said: &str) -> String {
        if self.anonymous {
            if let Some(p) = (0..self.panel.len())
                .find(|&i| label(i).eq_ignore_ascii_case(said.trim()))
                .map(|i| &self.panel[i])
            {
                return p.id.clone();
            }
        }
        said.to_string()
    }

    /// `text` with every panel member's name and role replaced by its
    /// label's name ("Advisor A"), for moderator text an anonymous run
    /// shows a peer (the verdict a vote reads); unchanged otherwise.
    pub(crate) fn scrub(&self, text: &str) -> String {
        if !self.anonymous {
            return text.to_string();
        }
        let mut words: Vec<(String, String)> = self
            .panel
            .iter()
            .flat_map(|p| {
                let shown = self.name(&p.id);
                [
                    (p.name.clone(), shown.clone()),
                    (p.role.clone(), shown.clone()),
                    (format!("[{}]", p.id), format!("[{}]", self.id(&p.id))),
                ]
            })
            .filter(|(w, _)| !w.trim().is_empty())
            .collect();
        // The longest first, so "The CFO's office" is not cut by "CFO".
        words.sort_by_key(|(w, _)| std::cmp::Reverse(w.chars().count()));
        words.iter().fold(text.to_string(), |t, (w, shown)| {
            t.replace(w.as_str(), shown)
        })
    }

    fn index(&self, id: &str) -> Option<usize> {
        self.panel.iter().position(|p| p.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel() -> Vec<Persona> {
        council_personas::Roster::builtin()
            .unwrap()
            .panel_from_ids(&["cfo".into(), "cto".into(), "auditor".into()])
            .unwrap()
    }

    #[test]
    fn labels_run_a_to_z_then_carry_a_number() {
        assert_eq!(label(0), "A");
        assert_eq!(label(2), "C");
        assert_eq!(label(25), "Z");
        assert_eq!(label(26), "A2");
    }

    #[test]
    fn an_anonymous_board_shows_peers_by_label_and_the_viewer_as_itself() {
        let p = panel();
        let shown = Shown::new(&p, Condition::Anonymous);
        let board = shown.board("cto");
        assert_eq!(board[0].id, "A");
        assert_eq!(board[0].name, "Advisor A");
        assert_eq!(board[0].role, "");
        assert_eq!(board[1].id, "B");
        assert_eq!(board[1].name, p[1].name, "the viewer keeps its persona");
        assert_eq!(shown.read_back("c"), "auditor");
        assert_eq!(shown.read_back("ghost"), "ghost");
        let verdict = format!("{} and {} [cfo] agree.", p[0].name, p[1].role);
        let scrubbed = shown.scrub(&verdict);
        assert_eq!(scrubbed, "Advisor A and Advisor B [A] agree.");
        // Outside an anonymous run nothing changes.
        let named = Shown::new(&p, Condition::Debate);
        assert_eq!(named.board("cto")[0].name, p[0].name);
        assert_eq!(named.scrub(&verdict), verdict);
        assert_eq!(named.read_back("A"), "A");
    }

    #[test]
    fn a_no_persona_panel_has_the_seated_size_and_no_persona_text() {
        let advisors = panel_for(Condition::NoPersona, panel());
        assert_eq!(advisors.len(), 3);
        assert_eq!(advisors[2].id, "advisor-3");
        assert_eq!(advisors[2].name, "Advisor 3");
        assert!(advisors
            .iter()
            .all(|a| a.background.is_empty() && a.voice.is_empty() && a.traits.is_empty()));
        let single = panel_for(Condition::Single, panel());
        assert_eq!(single.len(), 1);
        assert_eq!(single[0].id, GENERALIST);
        assert_eq!(panel_for(Condition::Vote, panel()), panel());
    }
}
