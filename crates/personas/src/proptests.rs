//! Property tests of the persona readers (issue 12, item 4): persona files
//! of any bytes or any values, persona folders, and casting answers that
//! name anyone. Never a panic; a bad file is an error naming it.

use crate::casting::{finish_panel, MAX_PANEL, MIN_PANEL};
use crate::{parse_persona, Roster};
use council_core::Trait;
use proptest::prelude::*;

/// The persona file's keys, a retired one and a misspelt one.
const KEYS: [&str; 14] = [
    "id",
    "name",
    "role",
    "background",
    "notices_first",
    "blind_spot",
    "voice",
    "favoured_moves",
    "focus",
    "traits",
    "i18n",
    "always_seated",
    "blindspot",
    "mood",
];

const GOOD: &str = r#"id = "coach"
name = "The Coach"
role = "Executive coach"
background = "Coached founders for ten years."
notices_first = "Who is tired."
blind_spot = "Underrates numbers."
voice = "Warm, brief."
favoured_moves = ["SHARE", "REFRAME"]
focus = ["people"]
"#;

/// Values a persona field may be given: strings (ids, moves, traits,
/// blanks), numbers, booleans, lists and tables.
fn any_value() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        "\\PC{0,30}".prop_map(toml::Value::from),
        prop::sample::select(vec![
            "coach",
            "The Coach",
            "",
            "  ",
            "SHARE",
            "WARN",
            "AGREE",
            "fact_checker",
            "contrarian",
            "judge",
            "Bad Id!",
        ])
        .prop_map(toml::Value::from),
        any::<i64>().prop_map(toml::Value::from),
        any::<bool>().prop_map(toml::Value::from),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..3)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

/// A persona file as TOML text: the good file with fields replaced or
/// dropped, or any table of the known keys.
fn persona_files() -> impl Strategy<Value = String> {
    let good: toml::Table = GOOD.parse().expect("the good file parses");
    prop_oneof![
        prop::collection::vec(
            (
                prop::sample::select(KEYS.to_vec()),
                any_value(),
                any::<bool>()
            ),
            1..5
        )
        .prop_map(move |edits| {
            let mut t = good.clone();
            for (k, v, drop) in edits {
                if drop {
                    t.remove(k);
                } else {
                    t.insert(k.to_string(), v);
                }
            }
            toml::to_string(&t).unwrap_or_default()
        }),
        prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), any_value(), 0..10)
            .prop_map(|m| {
                let t: toml::Table = m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                toml::to_string(&t).unwrap_or_default()
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// A persona file of any text: a persona, or an error that names the
    /// file (and, for a field, the field).
    #[test]
    fn a_persona_file_of_any_text_is_a_persona_or_names_the_file(
        text in prop_oneof![
            "\\PC{0,300}",
            prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            persona_files(),
        ]
    ) {
        match parse_persona("dir/coach.toml", &text) {
            Ok(p) => {
                prop_assert!(!p.id.is_empty() && !p.name.is_empty());
                prop_assert!(!p.favoured_moves.is_empty());
            }
            Err(e) => prop_assert!(e.to_string().starts_with("dir/coach.toml: "), "{e}"),
        }
    }

    /// Any casting answer (ids real, repeated, unknown, seat holders) ends
    /// in a panel of the right size that seats a holder of every trait.
    #[test]
    fn any_casting_answer_ends_in_a_valid_panel(
        picks in prop::collection::vec(prop_oneof![
            prop::sample::select(vec!["cfo", "cto", "coo", "auditor", "contrarian", "brand-strategist", "sales-leader", "nobody", ""]),
            Just("product-leader"),
        ].prop_map(String::from), 0..12),
        size in 0..12usize,
        question in "\\PC{0,60}",
    ) {
        let roster = Roster::builtin().expect("the built-in roster loads");
        let (panel, _notes) = finish_panel(&roster, &picks, &question, size);
        prop_assert!((MIN_PANEL..=MAX_PANEL).contains(&panel.len()), "{} members", panel.len());
        prop_assert!(Roster::check_size(&panel).is_ok());
        for t in Trait::ALL {
            prop_assert!(panel.iter().any(|p| p.has(t)));
        }
        let mut ids: Vec<&str> = panel.iter().map(|p| p.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        prop_assert_eq!(ids.len(), panel.len());
    }
}

proptest! {
    // Each case writes a folder and loads the whole built-in roster.
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// A persona folder holding a file of any bytes: a roster, or an error
    /// naming that file.
    #[test]
    fn a_persona_folder_with_a_file_of_any_bytes_loads_or_names_it(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            persona_files().prop_map(String::into_bytes),
        ]
    ) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join("coach.toml"), &bytes).expect("written");
        if let Err(e) = Roster::with_dir(dir.path()) {
            prop_assert!(e.to_string().contains("coach.toml"), "{e}");
        }
    }
}
