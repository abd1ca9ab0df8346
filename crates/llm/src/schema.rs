//! JSON answers: extraction from model text, validation against a schema,
//! and the prompt wording used when a server cannot enforce the schema.

use crate::{LlmError, Message, SchemaSpec};
use serde_json::Value;

/// A compiled schema, ready to validate answers.
pub struct Validator {
    name: String,
    inner: jsonschema::Validator,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("name", &self.name)
            .finish()
    }
}

impl Validator {
    /// Compiles `spec`, failing with a message if the schema itself is invalid.
    pub fn new(spec: &SchemaSpec) -> Result<Self, LlmError> {
        let inner = jsonschema::validator_for(&spec.schema).map_err(|e| {
            LlmError::InvalidRequest(format!(
                "schema `{}` is not a valid JSON Schema: {e}",
                spec.name
            ))
        })?;
        Ok(Validator {
            name: spec.name.clone(),
            inner,
        })
    }

    /// Parses `text` as JSON (tolerating code fences and chatter around one
    /// object) and validates it; the error says what is wrong.
    pub fn check(&self, text: &str) -> Result<Value, String> {
        let value = extract_json(text).ok_or_else(|| {
            let shown = council_core::excerpt(text, 120);
            format!("no JSON object found in the answer (it began: {shown:?})")
        })?;
        let problems: Vec<String> = self
            .inner
            .iter_errors(&value)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("at {at}: {e}")
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(value)
        } else {
            Err(problems.join("; "))
        }
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Finds the JSON value in a model's answer: the whole text, a fenced block,
/// or the first balanced `{…}` / `[…]` span that parses. Only a fence or a
/// bracket that stands outside every other bracket counts: inside an
/// object cut off mid-way, a nested array (or a fence inside a string) is
/// not the answer.
pub fn extract_json(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return Some(v);
    }
    let top = top_level(trimmed);
    if let Some(&(start, _)) = top.iter().find(|(i, _)| trimmed[*i..].starts_with("```")) {
        let after = &trimmed[start + 3..];
        let body_start = after.find('\n').map_or(0, |i| i + 1);
        if let Some(end) = after[body_start..].find("```") {
            if let Ok(v) = serde_json::from_str(after[body_start..body_start + end].trim()) {
                return Some(v);
            }
        }
    }
    top.iter()
        .filter(|(_, c)| matches!(c, '{' | '['))
        .find_map(|&(i, _)| {
            let mut stream = serde_json::Deserializer::from_str(&trimmed[i..]).into_iter::<Value>();
            stream.next().and_then(Result::ok)
        })
}

/// The characters of `text` (with their byte offsets) that stand outside
/// every bracket and every string inside brackets; an opening bracket at
/// the top counts as outside.
fn top_level(text: &str) -> Vec<(usize, char)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        if depth == 0 {
            out.push((i, c));
        }
        match c {
            '"' if depth > 0 => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    out
}

/// A value valid against `schema`, built from its structure: the first
/// enum value, the minimum of a number, `filler` cut to a string's
/// maxLength, `minItems` items of an array. For fakes and examples; it
/// understands the subset of JSON Schema Council's own schemas use.
pub fn example_for(schema: &Value, filler: &str) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(|e| e.as_array())
        .and_then(|a| a.first())
    {
        return first.clone();
    }
    match schema.get("type").and_then(|t| t.as_str()) {
        Some("object") => {
            let mut out = serde_json::Map::new();
            if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
                for (k, v) in props {
                    out.insert(k.clone(), example_for(v, filler));
                }
            }
            Value::Object(out)
        }
        Some("array") => {
            let n = schema.get("minItems").and_then(|n| n.as_u64()).unwrap_or(0) as usize;
            let item = schema.get("items").cloned().unwrap_or(Value::Null);
            let values: Vec<Value> = match item.get("enum").and_then(|e| e.as_array()) {
                // Distinct enum values, so `uniqueItems`-style lists stay valid.
                Some(options) => options.iter().take(n).cloned().collect(),
                None => (0..n).map(|_| example_for(&item, filler)).collect(),
            };
            Value::Array(values)
        }
        Some("integer") => {
            let lo = schema.get("minimum").and_then(|m| m.as_i64()).unwrap_or(0);
            let hi = schema
                .get("maximum")
                .and_then(|m| m.as_i64())
                .unwrap_or(lo.max(70));
            Value::from(70i64.clamp(lo, hi))
        }
        Some("number") => Value::from(
            schema
                .get("minimum")
                .and_then(|m| m.as_f64())
                .unwrap_or(0.5),
        ),
        Some("boolean") => Value::Bool(true),
        Some("string") => {
            let max = schema
                .get("maxLength")
                .and_then(|m| m.as_u64())
                .map_or(usize::MAX, |m| m as usize);
            Value::String(filler.chars().take(max).collect())
        }
        _ => Value::Null,
    }
}

/// The instruction appended for servers without native schema support.
pub fn instruction(spec: &SchemaSpec) -> String {
    format!(
        "Answer with one JSON object only, no prose and no code fences, valid against this JSON Schema:\n{}",
        spec.schema
    )
}

/// The follow-up messages for the single repair retry.
pub fn repair_messages(bad_answer: &str, problem: &str) -> [Message; 2] {
    [
        Message::assistant(bad_answer.to_string()),
        Message::user(format!(
            "That answer is not valid: {problem}. Reply again with only the corrected JSON object."
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validator() -> Validator {
        Validator::new(&SchemaSpec {
            name: "t".into(),
            schema: json!({"type":"object","properties":{"n":{"type":"integer","maximum":100}},"required":["n"]}),
        })
        .unwrap()
    }

    #[test]
    fn finds_json_inside_chatter_and_fences() {
        assert_eq!(
            extract_json("Sure! {\"n\": 3} hope that helps"),
            Some(json!({"n":3}))
        );
        assert_eq!(
            extract_json("```json\n{\"n\": 4}\n```"),
            Some(json!({"n":4}))
        );
        assert_eq!(extract_json("no json here"), None);
    }

    #[test]
    fn a_value_nested_in_a_cut_off_answer_is_never_taken_for_it() {
        // Cut off by the token limit: the array inside is not the answer.
        assert_eq!(
            extract_json("{\"forecasts\": [{\"statement\": \"NRR > 110%\"}], \"why\": \"becau"),
            None
        );
        assert_eq!(
            extract_json("Here: {\"a\": {\"b\": [1, 2]}, \"c\": \"x"),
            None
        );
        // Brackets inside strings do not count; a later whole value does.
        assert_eq!(
            extract_json("[draft] {\"text\": \"a [bracket\"}"),
            Some(json!({"text": "a [bracket"}))
        );
        assert_eq!(extract_json("{bad} then {\"n\": 5}"), Some(json!({"n": 5})));
    }

    #[test]
    fn names_the_violation() {
        let v = validator();
        assert_eq!(v.check("{\"n\": 5}").unwrap(), json!({"n":5}));
        let err = v.check("{\"n\": 500}").unwrap_err();
        assert!(err.contains("/n"), "{err}");
        let err = v.check("{\"m\": 1}").unwrap_err();
        assert!(err.contains("\"n\" is a required property"), "{err}");
    }

    #[test]
    fn examples_validate_against_their_schema() {
        let schema = json!({"type":"object","properties":{
            "m":{"type":"string","enum":["A","B"]},
            "t":{"type":"string","maxLength":4},
            "c":{"type":"integer","minimum":0,"maximum":100},
            "ids":{"type":"array","items":{"type":"string","enum":["x","y","z"]},"minItems":2,"maxItems":2}},
            "required":["m","t","c","ids"]});
        let v = Validator::new(&SchemaSpec {
            name: "e".into(),
            schema: schema.clone(),
        })
        .unwrap();
        let ex = example_for(&schema, "filler text");
        assert_eq!(
            v.check(&ex.to_string()).unwrap(),
            json!({"m":"A","t":"fill","c":70,"ids":["x","y"]})
        );
    }

    #[test]
    fn rejects_an_invalid_schema_with_its_name() {
        let err = Validator::new(&SchemaSpec {
            name: "broken".into(),
            schema: json!({"type": 12}),
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("broken"));
    }
}
