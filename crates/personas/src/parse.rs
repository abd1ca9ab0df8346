//! One persona file → a validated [`Persona`], or an error naming the file,
//! the field and the fix.

use council_core::{Localised, Move, Persona, Trait};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A persona file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// The file is not valid TOML (or has an unknown key).
    #[error("{file}: {message}")]
    Toml {
        /// The file.
        file: String,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// A required field is absent.
    #[error("{file}: missing field `{field}`; add {field} = {example}")]
    MissingField {
        /// The file.
        file: String,
        /// The field.
        field: &'static str,
        /// What a value looks like.
        example: &'static str,
    },
    /// `favoured_moves` names a move outside the set.
    #[error("{file}: field `favoured_moves` has unknown move {value:?}; use only {allowed}")]
    UnknownMove {
        /// The file.
        file: String,
        /// The offending value.
        value: String,
        /// The moves allowed.
        allowed: String,
    },
    /// Two files define the same id.
    #[error("persona id `{id}` is defined twice, in {first} and in {second}; give one of them another id")]
    DuplicateId {
        /// The id.
        id: String,
        /// The first file.
        first: String,
        /// The second file.
        second: String,
    },
    /// A field has an unusable value.
    #[error("{file}: field `{field}` {problem}")]
    Invalid {
        /// The file.
        file: String,
        /// The field.
        field: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A persona folder cannot be read or is empty.
    #[error("persona folder {dir}: {message}")]
    Folder {
        /// The folder (or file within it).
        dir: String,
        /// What went wrong.
        message: String,
    },
    /// `--panel` names an id no persona has.
    #[error("no persona has id `{id}`; known ids: {known}")]
    UnknownPersona {
        /// The id asked for.
        id: String,
        /// The ids available.
        known: String,
    },
    /// No persona of the roster can fill a seat every panel needs.
    #[error("no persona in the roster has the trait `{trait_name}`, and every panel seats one; add traits = [\"{trait_name}\"] to one persona file (the built-in {builtin} has it)")]
    MissingSeat {
        /// The trait nobody holds.
        trait_name: &'static str,
        /// The built-in file that holds it.
        builtin: &'static str,
    },
    /// A panel is too small or too large once its seats are filled.
    #[error("the panel has {size} members with its seats filled ({seated}); a panel has {min} to {max} members (see `council personas`)")]
    PanelSize {
        /// Its size.
        size: usize,
        /// Who fills the seats.
        seated: String,
        /// Smallest panel.
        min: usize,
        /// Largest panel.
        max: usize,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    id: Option<String>,
    name: Option<String>,
    role: Option<String>,
    background: Option<String>,
    notices_first: Option<String>,
    blind_spot: Option<String>,
    voice: Option<String>,
    favoured_moves: Option<Vec<String>>,
    focus: Option<Vec<String>>,
    traits: Option<Vec<String>>,
    /// Replaced by `traits`; named in its own error.
    always_seated: Option<toml::Value>,
    /// `[i18n.zh]` tables: the name and role in other languages.
    i18n: Option<BTreeMap<String, RawLocalised>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLocalised {
    name: Option<String>,
    role: Option<String>,
}

/// The `[i18n.LANG]` tables of `file`, checked: a language Council writes
/// (not `en`, which the persona's own fields are), with a name and a role.
fn localised(
    file: &str,
    raw: Option<BTreeMap<String, RawLocalised>>,
) -> Result<BTreeMap<String, Localised>, PersonaError> {
    let invalid = |problem: String| PersonaError::Invalid {
        file: file.to_string(),
        field: "i18n",
        problem,
    };
    let mut out = BTreeMap::new();
    for (lang, l) in raw.unwrap_or_default() {
        if lang == "en" {
            return Err(invalid(
                "has an [i18n.en] table; the persona's own name and role are its English ones, so drop the table".into(),
            ));
        }
        council_core::lang::check(&lang)
            .map_err(|e| invalid(format!("has a table [i18n.{lang}]: {e}")))?;
        let field = |v: Option<String>, key: &str| -> Result<String, PersonaError> {
            Some(v.unwrap_or_default().trim().to_string())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    invalid(format!(
                        "[i18n.{lang}] has no {key}; write {key} = \"…\" in that table, or drop the table"
                    ))
                })
        };
        let name = field(l.name, "name")?;
        let role = field(l.role, "role")?;
        out.insert(lang, Localised { name, role });
    }
    Ok(out)
}

/// Parses and validates one persona file. `file` names it in errors.
pub fn parse_persona(file: &str, text: &str) -> Result<Persona, PersonaError> {
    let raw: Raw = toml::from_str(text).map_err(|e| PersonaError::Toml {
        file: file.to_string(),
        message: format!(
            "not a valid persona file (fix the place shown, or compare with a built-in file in personas/): {}",
            e.to_string().trim_end()
        ),
    })?;
    let need = |v: Option<String>,
                field: &'static str,
                example: &'static str|
     -> Result<String, PersonaError> {
        let v = v.ok_or(PersonaError::MissingField {
            file: file.to_string(),
            field,
            example,
        })?;
        if v.trim().is_empty() {
            return Err(PersonaError::Invalid {
                file: file.to_string(),
                field,
                problem: format!("is empty; write {example}"),
            });
        }
        Ok(v.trim().to_string())
    };
    let id = need(
        raw.id,
        "id",
        "\"short-id\" (lowercase letters, digits and hyphens)",
    )?;
    if !id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(PersonaError::Invalid {
            file: file.to_string(),
            field: "id",
            problem: format!("{id:?} may hold only lowercase letters, digits and hyphens"),
        });
    }
    let name = need(raw.name, "name", "\"The Display Name\"")?;
    let role = need(raw.role, "role", "\"one-line role\"")?;
    let background = need(
        raw.background,
        "background",
        "\"\"\"two to four sentences of history\"\"\"",
    )?;
    let notices_first = need(
        raw.notices_first,
        "notices_first",
        "\"what they look at first\"",
    )?;
    let blind_spot = need(
        raw.blind_spot,
        "blind_spot",
        "\"their characteristic blind spot\"",
    )?;
    let voice = need(raw.voice, "voice", "\"how they speak\"")?;
    let moves = raw.favoured_moves.ok_or(PersonaError::MissingField {
        file: file.to_string(),
        field: "favoured_moves",
        example: "[\"CHALLENGE\", \"WARN\"]",
    })?;
    if moves.is_empty() {
        return Err(PersonaError::Invalid {
            file: file.to_string(),
            field: "favoured_moves",
            problem: format!("is empty; list one or more of {}", Move::names().join(", ")),
        });
    }
    let favoured_moves = moves
        .iter()
        .map(|m| {
            m.parse::<Move>().map_err(|_| PersonaError::UnknownMove {
                file: file.to_string(),
                value: m.clone(),
                allowed: Move::names().join(", "),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if raw.always_seated.is_some() {
        return Err(PersonaError::Invalid {
            file: file.to_string(),
            field: "always_seated",
            problem: "is no longer read: panels seat personas by trait; write traits = [\"fact_checker\"] or traits = [\"contrarian\"] instead, or drop the line".into(),
        });
    }
    let traits = raw
        .traits
        .unwrap_or_default()
        .iter()
        .map(|t| {
            Trait::ALL
                .into_iter()
                .find(|k| k.as_str() == t.trim())
                .ok_or_else(|| PersonaError::Invalid {
                    file: file.to_string(),
                    field: "traits",
                    problem: format!(
                        "has unknown trait {t:?}; use {}",
                        Trait::ALL.map(Trait::as_str).join(" or ")
                    ),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let focus = raw
        .focus
        .unwrap_or_default()
        .into_iter()
        .map(|f| f.trim().to_lowercase())
        .filter(|f| !f.is_empty())
        .collect();
    let i18n = localised(file, raw.i18n)?;
    Ok(Persona {
        id,
        name,
        role,
        background,
        notices_first,
        blind_spot,
        voice,
        favoured_moves,
        focus,
        traits,
        i18n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "coach"
name = "The Coach"
role = "Executive coach"
background = "Coached founders for ten years."
notices_first = "Who is tired."
blind_spot = "Underrates numbers."
voice = "Warm, brief."
favoured_moves = ["SHARE", "REFRAME"]
focus = ["people"]
"#;

    #[test]
    fn a_good_file_parses() {
        let p = parse_persona("coach.toml", GOOD).unwrap();
        assert_eq!(p.favoured_moves, vec![Move::Share, Move::Reframe]);
        assert!(p.traits.is_empty());
    }

    #[test]
    fn a_missing_field_is_named_with_an_example() {
        let text = GOOD.replace("voice = \"Warm, brief.\"\n", "");
        let err = parse_persona("dir/coach.toml", &text)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "dir/coach.toml: missing field `voice`; add voice = \"how they speak\""
        );
    }

    #[test]
    fn an_unknown_move_is_named_with_the_allowed_set() {
        let text = GOOD.replace("\"REFRAME\"", "\"AGREE\"");
        let err = parse_persona("coach.toml", &text).unwrap_err().to_string();
        assert!(
            err.contains("coach.toml")
                && err.contains("favoured_moves")
                && err.contains("\"AGREE\""),
            "{err}"
        );
        assert!(
            err.contains("WARN, SHARE, REFRAME, FACTCHECK, CHALLENGE, CONCEDE"),
            "{err}"
        );
    }

    #[test]
    fn broken_toml_names_the_file_and_line() {
        let text = GOOD.replace("name = \"The Coach\"", "name = \"The Coach");
        let err = parse_persona("coach.toml", &text).unwrap_err().to_string();
        assert!(
            err.starts_with("coach.toml: not a valid persona file"),
            "{err}"
        );
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn a_misspelt_key_is_named() {
        let text = GOOD.replace("blind_spot", "blindspot");
        let err = parse_persona("coach.toml", &text).unwrap_err().to_string();
        assert!(err.contains("blindspot"), "{err}");
    }

    #[test]
    fn traits_are_read_and_unknown_or_retired_keys_are_explained() {
        let text = format!("{GOOD}traits = [\"fact_checker\"]\n");
        let p = parse_persona("coach.toml", &text).unwrap();
        assert!(p.has(Trait::FactChecker) && !p.has(Trait::Contrarian));
        let err = parse_persona("coach.toml", &format!("{GOOD}traits = [\"judge\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"judge\"") && err.contains("contrarian or fact_checker"),
            "{err}"
        );
        let err = parse_persona("coach.toml", &format!("{GOOD}always_seated = true\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("always_seated") && err.contains("traits = "),
            "{err}"
        );
    }

    #[test]
    fn localised_names_are_read_and_checked() {
        let zh = "\n[i18n.zh]\nname = \"教练\"\nrole = \"高管教练\"\n";
        let p = parse_persona("coach.toml", &format!("{GOOD}{zh}")).unwrap();
        assert_eq!(p.i18n["zh"].name, "教练");
        assert_eq!(p.i18n["zh"].role, "高管教练");
        assert!(parse_persona("coach.toml", GOOD).unwrap().i18n.is_empty());
        let bad = |table: &str| {
            parse_persona("coach.toml", &format!("{GOOD}{table}"))
                .unwrap_err()
                .to_string()
        };
        let err = bad("\n[i18n.zh]\nname = \"教练\"\n");
        assert!(
            err.contains("coach.toml") && err.contains("[i18n.zh] has no role"),
            "{err}"
        );
        let err = bad("\n[i18n.xx]\nname = \"a\"\nrole = \"b\"\n");
        assert!(
            err.contains("[i18n.xx]") && err.contains("en, zh, de"),
            "{err}"
        );
        let err = bad("\n[i18n.en]\nname = \"a\"\nrole = \"b\"\n");
        assert!(err.contains("drop the table"), "{err}");
        let err = bad("\n[i18n.zh]\nname = \"a\"\nrole = \"b\"\nvoice = \"c\"\n");
        assert!(err.contains("voice"), "{err}");
    }

    #[test]
    fn a_duplicate_id_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
        std::fs::write(dir.path().join("b.toml"), GOOD).unwrap();
        let err = crate::Roster::with_dir(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("`coach`") && err.contains("a.toml") && err.contains("b.toml"),
            "{err}"
        );
        assert!(err.contains("another id"), "{err}");
    }
}
