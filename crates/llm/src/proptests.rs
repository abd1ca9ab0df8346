//! Property tests of the model layer's readers (issue 12, item 4): the
//! config file, cassettes and model answers, fed arbitrary bytes and
//! arbitrary or mutated values. Never a panic; what cannot be read is an
//! error naming the file and what to do.

use crate::config::{self, ConfigFile, Overrides};
use crate::replay::{request_key, Cassette, Entry, CASSETTE_VERSION};
use crate::schema::{extract_json, Validator};
use crate::{ChatRequest, ChatResponse, FinishReason, LlmError, SchemaSpec};
use proptest::prelude::*;
use serde_json::Value;

#[path = "../../../tests/support/json_mutations.rs"]
mod json_mutations;
use json_mutations::{any_json, mutated};

/// Writes `bytes` to `name` in a fresh folder (kept alive by the guard).
fn file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("written");
    (dir, path)
}

/// The config file's keys, with a misspelt one and a table.
const CONFIG_KEYS: [&str; 11] = [
    "base_url",
    "model",
    "api_key_env",
    "native_json_schema",
    "timeout_secs",
    "connect_timeout_secs",
    "max_retries",
    "embedded",
    "modle",
    "threads",
    "slots",
];

/// Any TOML value, tables two levels deep.
fn any_toml() -> impl Strategy<Value = toml::Value> {
    let leaf = prop_oneof![
        "\\PC{0,20}".prop_map(toml::Value::from),
        any::<i64>().prop_map(toml::Value::from),
        (0..100i64).prop_map(toml::Value::from),
        any::<f64>().prop_map(toml::Value::from),
        any::<bool>().prop_map(toml::Value::from),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map(prop::sample::select(CONFIG_KEYS.to_vec()), inner, 0..4)
                .prop_map(|m| toml::Value::Table(
                    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
        ]
    })
}

/// A config table: known keys (and a misspelt one) with any values.
fn config_tables() -> impl Strategy<Value = toml::Table> {
    prop::collection::btree_map(prop::sample::select(CONFIG_KEYS.to_vec()), any_toml(), 0..6)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A cassette with two answers, as JSON.
fn valid_cassette() -> Value {
    let mut c = Cassette {
        version: CASSETTE_VERSION,
        recorded_from: None,
        entries: Default::default(),
    };
    for prompt in ["Should we hire a CFO?", "Should we raise prices?"] {
        c.entries.insert(
            request_key(&ChatRequest::prompt(prompt)),
            Entry {
                summary: prompt.into(),
                response: ChatResponse {
                    text: "{\"answer\": \"not yet\"}".into(),
                    json: Some(serde_json::json!({"answer": "not yet"})),
                    finish_reason: FinishReason::Stop,
                    usage: council_core::Usage::reported(9, 4),
                    model: "recorded".into(),
                    attempts: 1,
                },
            },
        );
    }
    serde_json::to_value(&c).expect("a cassette serialises")
}

/// The schema of a debate turn, as the engine asks for it.
fn turn_validator() -> Validator {
    let b = council_core::answers::Bindings {
        peers: &["cto", "coo"],
        ..Default::default()
    };
    Validator::new(&SchemaSpec {
        name: "turn".into(),
        schema: council_core::answers::schema_of::<council_core::answers::TurnAnswer>(&b),
    })
    .expect("the turn schema compiles")
}

/// Strings a model might write around or inside an answer.
fn chatter() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        Just("Sure! Here is the JSON:".to_string()),
        Just("```json".to_string()),
        Just("[note] {draft}".to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// A config file of any bytes: a table, or a configuration error (exit
    /// 4) naming the file.
    #[test]
    fn a_config_file_of_any_bytes_is_read_or_named(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            "\\PC{0,200}".prop_map(String::into_bytes),
        ]
    ) {
        let (_dir, path) = file("config.toml", &bytes);
        match config::read_table(&path) {
            Ok(table) => {
                if let Err(e) = ConfigFile::from_table(Some(&path), table) {
                    prop_assert!(matches!(e, LlmError::Config(_)));
                    prop_assert!(e.to_string().contains("config.toml"), "{e}");
                }
            }
            Err(e) => {
                prop_assert!(matches!(e, LlmError::Config(_)), "{e:?}");
                prop_assert!(e.to_string().contains("config.toml"), "{e}");
            }
        }
    }

    /// Config tables of the real keys (and a misspelt one) with any values:
    /// settings that resolve to a backend, or an error naming the file.
    #[test]
    fn any_config_table_resolves_or_is_named(table in config_tables()) {
        let path = std::path::Path::new("/etc/council/config.toml");
        match ConfigFile::from_table(Some(path), table) {
            Ok(file) => {
                if let Err(e) = config::resolve(&Overrides::default(), &|_| None, &file) {
                    prop_assert!(!e.to_string().is_empty());
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("/etc/council/config.toml"), "{e}"),
        }
    }

    /// A cassette of any bytes, or a valid one with a few nodes changed or
    /// removed: it loads, or the error names the file and says to record it.
    #[test]
    fn a_cassette_of_any_bytes_loads_or_is_named(
        bytes in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            mutated(valid_cassette()).prop_map(|v| v.to_string().into_bytes()),
        ]
    ) {
        let (_dir, path) = file("answers.cassette.json", &bytes);
        if let Err(e) = Cassette::load(&path) {
            let m = e.to_string();
            prop_assert!(matches!(e, LlmError::Config(_)), "{e:?}");
            prop_assert!(m.contains("answers.cassette.json") && m.contains("record"), "{m}");
        }
    }

    /// Any text a model answers with: a JSON value, or none; the validator
    /// says why an answer does not fit, never panics.
    #[test]
    fn any_model_text_is_read_or_refused_with_a_reason(text in prop_oneof![
        "\\PC{0,200}",
        (chatter(), any_json(), chatter()).prop_map(|(a, v, b)| format!("{a}{v}{b}")),
        prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]) {
        let _ = extract_json(&text);
        if let Err(why) = turn_validator().check(&text) {
            prop_assert!(!why.is_empty());
        }
    }

    /// A whole answer is read as itself; an object amid chatter is found.
    #[test]
    fn an_answer_is_read_whole_or_amid_chatter(v in any_json()) {
        prop_assert_eq!(extract_json(&v.to_string()), Some(v.clone()));
        if v.is_object() {
            let text = format!("Sure! Here it is:\n{v}\nHope that helps.");
            prop_assert_eq!(extract_json(&text), Some(v));
        }
    }

    /// An answer cut off by the token limit is no answer: nothing nested in
    /// it is taken for the whole.
    #[test]
    fn a_cut_off_answer_is_never_read_as_a_nested_value(
        v in prop::collection::btree_map("[a-z]{1,8}", prop_oneof![
            any_json(),
            Just(Value::from("```1```")),
            Just(Value::from("see ```json\n{\"n\": 1}\n```")),
        ], 1..5),
        cut in any::<usize>(),
        before in prop_oneof![Just(String::new()), Just("Answer: ".to_string())],
    ) {
        let whole = Value::Object(v.into_iter().collect()).to_string();
        let cut = 1 + cut % (whole.len() - 1);
        let Some(prefix) = whole.get(..cut) else { return Ok(()) };
        prop_assert_eq!(extract_json(&format!("{before}{prefix}")), None, "{}", prefix);
    }
}
