//! Casting: choosing 5–7 advisors for a question. The seats (a fact-checker
//! and a contrarian, see [`Roster::seat`]) are always filled; the other
//! advisors are chosen by a model through [`casting_schema`], and
//! [`finish_panel`] makes whatever the model returned into a valid panel,
//! falling back on keyword matching ([`keyword_ranking`]) for any place it
//! failed to fill.

use crate::Roster;
use council_core::Persona;
use serde_json::{json, Value};

/// Smallest panel.
pub const MIN_PANEL: usize = 5;
/// Largest panel.
pub const MAX_PANEL: usize = 7;

/// The personas who hold no seat, best keyword match with the question
/// first (ties keep roster order).
pub fn keyword_ranking<'r>(roster: &'r Roster, question: &str) -> Vec<&'r Persona> {
    let q = question.to_lowercase();
    let mut scored: Vec<(usize, usize, &Persona)> = roster
        .all()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.traits.is_empty())
        .map(|(i, p)| {
            let role_words = p.role.to_lowercase();
            let score = p.focus.iter().filter(|f| q.contains(f.as_str())).count() * 3
                + role_words
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.len() > 3 && q.contains(w))
                    .count();
            (score, i, p)
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, p)| p).collect()
}

/// The personas the casting call chooses from: those who hold no seat.
pub fn candidates(roster: &Roster) -> Vec<&Persona> {
    roster
        .all()
        .iter()
        .filter(|p| p.traits.is_empty())
        .collect()
}

/// How many advisors the casting call chooses for a panel of `size`.
pub fn open_places(roster: &Roster, size: usize) -> usize {
    size.clamp(MIN_PANEL, MAX_PANEL)
        .saturating_sub(roster.seat_holders().len())
}

/// The JSON schema the casting call answers with: `open_seats` ids from the
/// personas who hold no seat, and the reason.
pub fn casting_schema(roster: &Roster, open_seats: usize) -> Value {
    let ids: Vec<&str> = candidates(roster).iter().map(|p| p.id.as_str()).collect();
    json!({
        "type": "object",
        "properties": {
            "panel": {
                "type": "array",
                "items": {"type": "string", "enum": ids},
                "minItems": open_seats,
                "maxItems": open_seats
            },
            "reason": {"type": "string", "maxLength": 300}
        },
        "required": ["panel", "reason"]
    })
}

/// Builds a valid panel of `size` (clamped to 5–7) from the model's picks:
/// unknown and repeated ids are dropped, empty places are filled by keyword
/// match, and the seats are filled ([`Roster::seat`]). Returns the panel in
/// speaking order and notes on every repair made.
pub fn finish_panel(
    roster: &Roster,
    picks: &[String],
    question: &str,
    size: usize,
) -> (Vec<Persona>, Vec<String>) {
    let open = open_places(roster, size);
    let mut notes = Vec::new();
    let mut chosen: Vec<&Persona> = Vec::new();
    for id in picks {
        match roster.get(id) {
            Some(p) if !p.traits.is_empty() => {}
            Some(p) if chosen.iter().any(|c| c.id == p.id) => {
                notes.push(format!("casting repeated `{id}`; dropped"))
            }
            Some(p) if chosen.len() < open => chosen.push(p),
            Some(_) => notes.push(format!(
                "casting chose more than {open} advisors; `{id}` dropped"
            )),
            None => notes.push(format!("casting named unknown persona `{id}`; dropped")),
        }
    }
    if chosen.len() < open {
        let missing = open - chosen.len();
        let fill: Vec<&Persona> = keyword_ranking(roster, question)
            .into_iter()
            .filter(|p| !chosen.iter().any(|c| c.id == p.id))
            .take(missing)
            .collect();
        notes.push(format!(
            "casting filled {missing} seat(s) by keyword match: {}",
            fill.iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        chosen.extend(fill);
    }
    let panel = roster.seat(chosen.into_iter().cloned().collect());
    (panel, notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seats_are_filled_and_bad_picks_are_repaired() {
        let r = Roster::builtin().unwrap();
        let picks = vec![
            "cfo".to_string(),
            "nobody".into(),
            "cfo".into(),
            "auditor".into(),
        ];
        let (panel, notes) = finish_panel(&r, &picks, "Should we cut prices to grow revenue?", 6);
        let ids: Vec<_> = panel.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids.len(), 6);
        assert_eq!(ids[0], "cfo");
        assert_eq!(&ids[4..], ["contrarian", "auditor"]);
        assert!(
            notes.iter().any(|n| n.contains("unknown persona `nobody`")),
            "{notes:?}"
        );
        assert!(
            notes.iter().any(|n| n.contains("repeated `cfo`")),
            "{notes:?}"
        );
        assert!(notes.iter().any(|n| n.contains("keyword")), "{notes:?}");
    }

    #[test]
    fn keywords_prefer_the_relevant_advisors() {
        let r = Roster::builtin().unwrap();
        let top = keyword_ranking(
            &r,
            "Our churn is rising and customers complain about onboarding",
        );
        assert_eq!(top[0].id, "customer-advocate");
    }

    #[test]
    fn the_schema_offers_only_open_seats() {
        let r = Roster::builtin().unwrap();
        let s = casting_schema(&r, 4);
        let ids = s["properties"]["panel"]["items"]["enum"]
            .as_array()
            .unwrap();
        assert!(!ids.iter().any(|v| v == "auditor"));
        assert_eq!(s["properties"]["panel"]["minItems"], 4);
    }
}
