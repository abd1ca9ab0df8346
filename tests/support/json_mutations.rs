//! Arbitrary JSON for the parsers' property tests: any value a few levels
//! deep, and a valid fixture with a few of its nodes replaced or removed.
//! Included (`#[path]`) by each crate's `proptests` module, which has
//! proptest and serde_json as dev-dependencies.

use proptest::prelude::*;
use serde_json::Value;

/// Any JSON value: scalars of every kind (huge and negative numbers,
/// unicode strings), arrays and objects up to three levels deep.
pub(crate) fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Counts and round numbers at their edges.
        prop_oneof![0..12u64, Just(u64::from(u32::MAX)), Just(1 << 31)].prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just(String::new()),
            "[a-z_]{1,12}",
            "\\PC{0,40}",
            Just("F-000000".to_string()),
            Just("cfo".to_string()),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// How many nodes `v` has (itself included).
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(o) => o.values().map(count).sum(),
        _ => 0,
    }
}

/// Replaces node `n` (in a pre-order walk, the root left out) with `new`,
/// or removes it from its object or array when `remove` is set.
fn edit(v: &mut Value, n: usize, new: Value, remove: bool) {
    fn walk(v: &mut Value, n: &mut usize, new: &mut Option<Value>, remove: bool) -> bool {
        let len = match v {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => 0,
        };
        for i in 0..len {
            if *n == 0 {
                match v {
                    Value::Array(a) if remove => {
                        a.remove(i);
                    }
                    Value::Array(a) => {
                        if let (Some(slot), Some(x)) = (a.get_mut(i), new.take()) {
                            *slot = x;
                        }
                    }
                    Value::Object(o) => {
                        if let Some(k) = o.keys().nth(i).cloned() {
                            if remove {
                                o.remove(&k);
                            } else if let Some(x) = new.take() {
                                o.insert(k, x);
                            }
                        }
                    }
                    _ => {}
                }
                return true;
            }
            *n -= 1;
            let child = match v {
                Value::Array(a) => a.get_mut(i),
                Value::Object(o) => o.values_mut().nth(i),
                _ => None,
            };
            if child.is_some_and(|c| walk(c, n, new, remove)) {
                return true;
            }
        }
        false
    }
    let descendants = count(v) - 1;
    if descendants == 0 {
        *v = new;
        return;
    }
    walk(v, &mut (n % descendants), &mut Some(new), remove);
}

/// `fixture` with one to four of its nodes replaced by arbitrary values or
/// removed: mostly valid, wrong in a few places.
pub(crate) fn mutated(fixture: Value) -> impl Strategy<Value = Value> {
    prop::collection::vec((any::<usize>(), any_json(), any::<bool>()), 1..5).prop_map(
        move |edits| {
            let mut v = fixture.clone();
            for (n, new, remove) in edits {
                edit(&mut v, n, new, remove);
            }
            v
        },
    )
}
