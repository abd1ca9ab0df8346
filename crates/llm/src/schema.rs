//! JSON answers: extraction from model text, validation against a schema,
//! and the prompt wording used when a server cannot enforce the schema.

use crate::{LlmError, Message, SchemaSpec};
use serde_json::Value;

/// A compiled schema, ready to validate answers.
pub struct Validator {
    name: String,
    schema: Value,
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
            schema: spec.schema.clone(),
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

    /// [`Validator::check`] for an answer given under [`strict`]'s schema:
    /// a `null` where the original schema had an optional property means
    /// "left out", so it is removed before validating.
    pub fn check_strict(&self, text: &str) -> Result<Value, String> {
        let Some(mut value) = extract_json(text) else {
            return self.check(text);
        };
        drop_optional_nulls(&mut value, &self.schema);
        self.check(&value.to_string())
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

/// Keywords OpenAI's strict mode accepts (its "supported schemas" list);
/// [`strict`] drops every other one: string lengths, `uniqueItems`,
/// defaults, titles. Council's own validation still enforces them.
const STRICT_KEYWORDS: [&str; 21] = [
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "description",
    "$ref",
    "$defs",
    "definitions",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "pattern",
    "format",
];

/// The string formats strict mode knows; schemars' numeric formats
/// (`uint8`, `double`…) are dropped.
const STRICT_FORMATS: [&str; 9] = [
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// `schema` made acceptable to OpenAI's strict structured outputs: every
/// object lists all its properties as required and forbids others, an
/// optional property becomes nullable, `oneOf` becomes `anyOf`, and
/// keywords strict mode refuses (string lengths, `uniqueItems`, defaults)
/// are dropped. Pair it with
/// [`Validator::check_strict`] on the original schema.
pub fn strict(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let k = if k == "oneOf" { "anyOf" } else { k.as_str() };
                if !STRICT_KEYWORDS.contains(&k)
                    || (k == "format" && !v.as_str().is_some_and(|f| STRICT_FORMATS.contains(&f)))
                {
                    continue;
                }
                let v = match k {
                    "properties" | "$defs" | "definitions" => match v {
                        Value::Object(props) => Value::Object(
                            props.iter().map(|(n, s)| (n.clone(), strict(s))).collect(),
                        ),
                        other => other.clone(),
                    },
                    "items" | "anyOf" => strict(v),
                    _ => v.clone(),
                };
                out.insert(k.to_string(), v);
            }
            // The limits strict mode cannot carry are told in words.
            let len = |k: &str| map.get(k).and_then(Value::as_u64);
            let limit = match (len("minLength"), len("maxLength")) {
                (Some(lo), Some(hi)) => Some(format!("{lo} to {hi} characters.")),
                (None, Some(hi)) => Some(format!("At most {hi} characters.")),
                (Some(lo), None) => Some(format!("At least {lo} characters.")),
                (None, None) => None,
            };
            let limit = match (limit, map.get("uniqueItems") == Some(&Value::Bool(true))) {
                (Some(l), true) => Some(format!("{l} Items must be distinct.")),
                (None, true) => Some("Items must be distinct.".to_string()),
                (l, false) => l,
            };
            if let Some(limit) = limit {
                let said = match out.get("description").and_then(Value::as_str) {
                    Some(d) => format!("{} {limit}", d.trim_end()),
                    None => limit,
                };
                out.insert("description".into(), Value::String(said));
            }
            if let Some(Value::Object(props)) = out.get_mut("properties") {
                let required: Vec<&str> = map
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for (name, prop) in props.iter_mut() {
                    if !required.contains(&name.as_str()) {
                        *prop = nullable(std::mem::take(prop));
                    }
                }
                let all: Vec<Value> = props.keys().cloned().map(Value::String).collect();
                out.insert("required".into(), Value::Array(all));
                out.insert("additionalProperties".into(), Value::Bool(false));
            } else if out.get("type").and_then(Value::as_str) == Some("object") {
                out.insert("properties".into(), Value::Object(Default::default()));
                out.insert("required".into(), Value::Array(vec![]));
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(strict).collect()),
        other => other.clone(),
    }
}

/// A strict schema that also admits `null`.
fn nullable(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    let null = Value::String("null".into());
    if let Some(Value::Array(any)) = map.get_mut("anyOf") {
        any.push(serde_json::json!({"type": "null"}));
        return Value::Object(map);
    }
    match map.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            map.insert(
                "type".into(),
                Value::Array(vec![Value::String(t), null.clone()]),
            );
        }
        Some(Value::Array(ts)) => {
            if !ts.contains(&null) {
                ts.push(null.clone());
            }
        }
        _ => {
            return serde_json::json!({"anyOf": [Value::Object(map), {"type": "null"}]});
        }
    }
    if let Some(Value::Array(values)) = map.get_mut("enum") {
        if !values.contains(&Value::Null) {
            values.push(Value::Null);
        }
    }
    Value::Object(map)
}

/// Removes, from `value`, each `null` property that `schema` does not
/// require (what a strict answer sends for "left out").
fn drop_optional_nulls(value: &mut Value, schema: &Value) {
    match value {
        Value::Object(obj) => {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            obj.retain(|k, v| !v.is_null() || required.contains(&k.as_str()));
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, v) in obj.iter_mut() {
                    if let Some(s) = props.get(k) {
                        drop_optional_nulls(v, s);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                items.iter_mut().for_each(|v| drop_optional_nulls(v, s));
            }
        }
        _ => {}
    }
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

    /// Whether `schema` keeps OpenAI's strict-mode rules everywhere.
    fn strict_ok(schema: &Value) -> Result<(), String> {
        let Value::Object(map) = schema else {
            return Ok(());
        };
        for k in map.keys() {
            if !STRICT_KEYWORDS.contains(&k.as_str()) {
                return Err(format!("keyword {k} left in"));
            }
        }
        if let Some(Value::Object(props)) = map.get("properties") {
            let req: Vec<&str> = map["required"]
                .as_array()
                .ok_or("no required")?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for (name, p) in props {
                if !req.contains(&name.as_str()) {
                    return Err(format!("{name} not required"));
                }
                strict_ok(p)?;
            }
            if map.get("additionalProperties") != Some(&Value::Bool(false)) {
                return Err("additionalProperties not false".into());
            }
        }
        for k in ["items"] {
            if let Some(v) = map.get(k) {
                strict_ok(v)?;
            }
        }
        if let Some(Value::Array(any)) = map.get("anyOf") {
            any.iter().try_for_each(strict_ok)?;
        }
        Ok(())
    }

    #[test]
    fn strict_schemas_require_everything_and_answers_with_nulls_still_validate() {
        let original = json!({
            "type": "object",
            "properties": {
                "text": {"type": "string", "minLength": 20, "maxLength": 400},
                "move": {"type": "string", "enum": ["challenge", "support"]},
                "confidence": {"type": "integer", "format": "uint8", "minimum": 0, "maximum": 100},
                "due": {"type": "string", "format": "date"},
                "evidence": {"type": "array", "maxItems": 3, "items": {
                    "type": "object",
                    "properties": {"claim": {"type": "string"}, "source": {"type": "integer"}},
                    "required": ["claim"]
                }},
                "answers": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
            },
            "required": ["text", "move", "confidence"]
        });
        let s = strict(&original);
        strict_ok(&s).unwrap();
        assert_eq!(
            s["properties"]["text"],
            json!({"type": "string", "description": "20 to 400 characters."})
        );
        assert_eq!(
            s["properties"]["confidence"],
            json!({"type": "integer", "minimum": 0, "maximum": 100}),
            "a numeric format is not strict mode's"
        );
        assert_eq!(s["properties"]["due"]["format"], "date");
        assert_eq!(
            s["properties"]["evidence"]["type"],
            json!(["array", "null"])
        );
        assert_eq!(
            s["properties"]["evidence"]["items"]["properties"]["source"]["type"],
            json!(["integer", "null"])
        );
        assert_eq!(
            s["properties"]["answers"]["anyOf"].as_array().map(Vec::len),
            Some(3),
            "oneOf becomes anyOf, plus null"
        );
        let v = Validator::new(&SchemaSpec {
            name: "turn".into(),
            schema: original,
        })
        .unwrap();
        // A strict answer: optional fields null, nested optional null.
        let answer = r#"{"text":"We should raise prices by 8% in Q1 2027.","move":"challenge","confidence":60,
            "evidence":[{"claim":"churn is flat","source":null}],"answers":null}"#;
        let ok = v.check_strict(answer).unwrap();
        assert_eq!(ok.get("answers"), None);
        assert_eq!(ok["evidence"][0], json!({"claim": "churn is flat"}));
        // The dropped limits are still Council's: a short text fails.
        let short =
            r#"{"text":"No.","move":"challenge","confidence":60,"evidence":null,"answers":null}"#;
        assert!(v
            .check_strict(short)
            .unwrap_err()
            .contains("shorter than 20"));
        // A required field sent as null is not quietly removed.
        assert!(v
            .check_strict(r#"{"text":null,"move":"challenge","confidence":60}"#)
            .is_err());
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
