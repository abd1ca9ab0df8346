//! Advisor personas: the built-in roster, user persona folders, validation
//! and casting.
//!
//! A [`Roster`] holds every persona available to a run: the built-in ones
//! (embedded from the workspace's `personas/*.toml`) plus any loaded with
//! [`Roster::with_dir`]. [`parse_persona`] turns one TOML file into a
//! validated [`Persona`], with errors that name the file, the field and the
//! fix. Seats are a rule of the roster: every [`Trait`] must be held by
//! some persona, and [`Roster::seat`] makes every panel hold one of each.
//! [`casting`] picks a panel for a question.

pub mod casting;
mod parse;

#[cfg(test)]
mod proptests;

pub use parse::{parse_persona, PersonaError};

use council_core::{Persona, Trait};
use std::path::Path;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
}

/// The personas available to a run, sorted by id.
#[derive(Debug, Clone)]
pub struct Roster {
    personas: Vec<Persona>,
}

impl Roster {
    /// The built-in personas.
    pub fn builtin() -> Result<Roster, PersonaError> {
        let mut roster = Roster {
            personas: Vec::new(),
        };
        roster.add_files(
            builtin::BUILTIN
                .iter()
                .map(|(n, t)| (format!("personas/{n}"), t.to_string())),
            false,
        )?;
        roster.check_seats()?;
        Ok(roster)
    }

    /// The built-in personas plus those in `dir` (`*.toml`); a persona in
    /// `dir` with a built-in id replaces the built-in one.
    pub fn with_dir(dir: &Path) -> Result<Roster, PersonaError> {
        let mut roster = Roster::builtin()?;
        let entries = std::fs::read_dir(dir).map_err(|e| PersonaError::Folder {
            dir: dir.display().to_string(),
            message: format!(
                "cannot read it ({e}); give a folder of persona .toml files to --personas"
            ),
        })?;
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(PersonaError::Folder {
                dir: dir.display().to_string(),
                message: "it holds no .toml persona files".into(),
            });
        }
        let mut loaded = Vec::new();
        for f in files {
            let bytes = std::fs::read(&f).map_err(|e| PersonaError::Folder {
                dir: f.display().to_string(),
                message: format!("cannot read it ({e})"),
            })?;
            let text = String::from_utf8(bytes).map_err(|_| PersonaError::Toml {
                file: f.display().to_string(),
                message: "not a valid persona file: it is not UTF-8 text; save it as UTF-8 TOML, like the built-in files in personas/".into(),
            })?;
            loaded.push((f.display().to_string(), text));
        }
        roster.add_files(loaded, true)?;
        roster.check_seats()?;
        Ok(roster)
    }

    /// Every seat must have a persona to fill it.
    fn check_seats(&self) -> Result<(), PersonaError> {
        for t in Trait::ALL {
            if self.seat_holder(t).is_none() {
                return Err(PersonaError::MissingSeat {
                    trait_name: t.as_str(),
                    builtin: match t {
                        Trait::FactChecker => "personas/auditor.toml",
                        Trait::Contrarian => "personas/contrarian.toml",
                    },
                });
            }
        }
        Ok(())
    }

    /// The persona that fills seat `t` when a panel lacks one: the first
    /// holder of the trait, by id.
    pub fn seat_holder(&self, t: Trait) -> Option<&Persona> {
        self.personas.iter().find(|p| p.has(t))
    }

    /// The personas who fill the seats of a panel that has none of its own.
    pub fn seat_holders(&self) -> Vec<&Persona> {
        let mut out: Vec<&Persona> = Vec::new();
        for t in Trait::ALL {
            if let Some(p) = self.seat_holder(t) {
                if !out.iter().any(|q| q.id == p.id) {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Seats `panel`: adds a holder of every trait the panel lacks, then
    /// orders it for speaking: the advisors as given, then the contrarian,
    /// then the fact-checker last, so it can check everyone before it.
    pub fn seat(&self, mut panel: Vec<Persona>) -> Vec<Persona> {
        for t in Trait::ALL {
            if !panel.iter().any(|p| p.has(t)) {
                if let Some(p) = self.seat_holder(t) {
                    panel.push(p.clone());
                }
            }
        }
        // Stable: advisors keep their order.
        panel.sort_by_key(|p| (p.has(Trait::FactChecker), p.has(Trait::Contrarian)));
        panel
    }

    /// Checks that a seated panel has 5–7 members.
    pub fn check_size(panel: &[Persona]) -> Result<(), PersonaError> {
        let (min, max) = (casting::MIN_PANEL, casting::MAX_PANEL);
        if (min..=max).contains(&panel.len()) {
            return Ok(());
        }
        Err(PersonaError::PanelSize {
            size: panel.len(),
            seated: panel
                .iter()
                .filter(|p| !p.traits.is_empty())
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(" and "),
            min,
            max,
        })
    }

    fn add_files(
        &mut self,
        files: impl IntoIterator<Item = (String, String)>,
        may_replace_builtin: bool,
    ) -> Result<(), PersonaError> {
        let mut seen: Vec<(String, String)> = Vec::new();
        for (file, text) in files {
            let p = parse_persona(&file, &text)?;
            if let Some((_, first)) = seen.iter().find(|(id, _)| *id == p.id) {
                return Err(PersonaError::DuplicateId {
                    id: p.id,
                    first: first.clone(),
                    second: file,
                });
            }
            seen.push((p.id.clone(), file));
            match self.personas.iter_mut().find(|q| q.id == p.id) {
                Some(existing) if may_replace_builtin => *existing = p,
                Some(_) => unreachable!("ids within one batch are checked above"),
                None => self.personas.push(p),
            }
        }
        self.personas.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(())
    }

    /// Every persona, sorted by id.
    pub fn all(&self) -> &[Persona] {
        &self.personas
    }

    /// The persona with this id.
    pub fn get(&self, id: &str) -> Option<&Persona> {
        self.personas.iter().find(|p| p.id == id)
    }

    /// Resolves `--panel id,id,…`, naming any unknown id and the known ones.
    pub fn panel_from_ids(&self, ids: &[String]) -> Result<Vec<Persona>, PersonaError> {
        let mut out: Vec<Persona> = Vec::new();
        for id in ids {
            let id = id.trim();
            let p = self.get(id).ok_or_else(|| PersonaError::UnknownPersona {
                id: id.to_string(),
                known: self
                    .personas
                    .iter()
                    .map(|p| p.id.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            if !out.iter().any(|q| q.id == p.id) {
                out.push(p.clone());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_roster_has_the_required_advisors() {
        let r = Roster::builtin().unwrap();
        assert!(r.all().len() >= 12, "only {} personas", r.all().len());
        for id in [
            "auditor",
            "contrarian",
            "gtm-architect",
            "brand-strategist",
            "org-psychologist",
            "ai-founder",
        ] {
            assert!(r.get(id).is_some(), "missing {id}");
        }
        let seated: Vec<_> = r.seat_holders().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(seated, ["contrarian", "auditor"]);
    }

    #[test]
    fn every_builtin_persona_has_a_chinese_name_and_role_of_its_own() {
        let r = Roster::builtin().unwrap();
        let english: Vec<&str> = r.all().iter().map(|p| p.name.as_str()).collect();
        let mut names = std::collections::BTreeSet::new();
        for p in r.all() {
            let zh = p
                .i18n
                .get("zh")
                .unwrap_or_else(|| panic!("{} has no [i18n.zh]", p.id));
            for text in [&zh.name, &zh.role] {
                assert!(
                    text.chars().any(council_core::lang::is_cjk),
                    "{}: {text:?} is not Chinese",
                    p.id
                );
                assert!(
                    !english.iter().any(|e| text.contains(e)),
                    "{}: {text:?} holds an English name",
                    p.id
                );
            }
            assert!(
                names.insert(zh.name.clone()),
                "two personas are called {}",
                zh.name
            );
        }
    }

    #[test]
    fn a_panel_always_seats_a_fact_checker_and_a_contrarian_in_speaking_order() {
        let r = Roster::builtin().unwrap();
        let ids = |v: Vec<Persona>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
        let given = r
            .panel_from_ids(&["auditor".into(), "cfo".into(), "cto".into()])
            .unwrap();
        assert_eq!(ids(r.seat(given)), ["cfo", "cto", "contrarian", "auditor"]);
        let err = Roster::check_size(&r.seat(r.panel_from_ids(&["cfo".into()]).unwrap()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("3 members") && err.contains("The Contrarian and The Auditor"),
            "{err}"
        );
    }

    #[test]
    fn a_replacement_that_drops_a_seat_is_a_clear_error_and_a_new_holder_takes_it() {
        let builtin = |name: &str| {
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../personas")
                    .join(name),
            )
            .unwrap()
        };
        // The Auditor replaced by a file without its trait: nobody checks facts.
        let dir = tempfile::tempdir().unwrap();
        let auditor = builtin("auditor.toml").replace("traits = [\"fact_checker\"]", "");
        std::fs::write(dir.path().join("auditor.toml"), &auditor).unwrap();
        let err = Roster::with_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("`fact_checker`") && err.contains("personas/auditor.toml"),
            "{err}"
        );
        // Another persona taking the trait fills the seat instead.
        let checker = builtin("cfo.toml").replace("id = \"cfo\"", "id = \"checker\"")
            + "traits = [\"fact_checker\"]\n";
        std::fs::write(dir.path().join("checker.toml"), checker).unwrap();
        let r = Roster::with_dir(dir.path()).unwrap();
        let panel = r.seat(r.panel_from_ids(&["cto".into(), "coo".into()]).unwrap());
        let ids: Vec<_> = panel.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["cto", "coo", "contrarian", "checker"]);
    }

    #[test]
    fn a_user_folder_adds_and_replaces_personas() {
        let dir = tempfile::tempdir().unwrap();
        let base = Roster::builtin().unwrap();
        let cfo = base.get("cfo").unwrap();
        let mut text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../personas/cfo.toml"),
        )
        .unwrap();
        text = text.replace(&format!("name = \"{}\"", cfo.name), "name = \"Our CFO\"");
        std::fs::write(dir.path().join("cfo.toml"), &text).unwrap();
        std::fs::write(
            dir.path().join("coach.toml"),
            text.replace("id = \"cfo\"", "id = \"coach\""),
        )
        .unwrap();
        let r = Roster::with_dir(dir.path()).unwrap();
        assert_eq!(r.get("cfo").unwrap().name, "Our CFO");
        assert!(r.get("coach").is_some());
        assert_eq!(r.all().len(), base.all().len() + 1);
    }

    #[test]
    fn an_unknown_panel_id_lists_the_known_ones() {
        let r = Roster::builtin().unwrap();
        let err = r
            .panel_from_ids(&["auditor".into(), "cmo".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`cmo`") && err.contains("contrarian"), "{err}");
    }

    #[test]
    fn an_empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = Roster::with_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no .toml"), "{err}");
    }
}
