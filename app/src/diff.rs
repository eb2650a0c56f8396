//! Structural JSON diff: one entry per changed path (JSON Pointer), so a change
//! deep inside a state shows where it happened.
//!
//! The walk is our own, not treediff's (used before): treediff compares an
//! object with an array key by key, so `{}` → `[]` (or `{"a": 1}` → `[1]`)
//! came out as no change (or as a removed key and an added index) instead of
//! the value at that path being replaced — the diff fuzz target found it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happened at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DiffOp {
    /// The path is new.
    Add,
    /// The path is gone.
    Remove,
    /// The value at the path changed.
    Replace,
}

/// One changed path with its old and/or new value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DiffEntry {
    /// JSON Pointer to the changed value, e.g. `/draft/title` or `/tags/2`.
    pub path: String,
    /// Add, remove or replace.
    pub op: DiffOp,
    /// The value before (remove, replace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The value after (add, replace).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// Every change that turns `before` into `after`, in path order.
///
/// Objects and arrays are compared member by member down to the leaves; a
/// subtree that appears or disappears whole is one entry at its root.
pub fn diff_values(before: &Value, after: &Value) -> Vec<DiffEntry> {
    let mut entries = Vec::new();
    walk(&mut String::new(), before, after, &mut entries);
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

/// Compares `before` and `after` at `path`: two objects key by key, two
/// arrays index by index; anything else that differs (scalars, a container
/// that changed kind) is replaced whole.
fn walk(path: &mut String, before: &Value, after: &Value, out: &mut Vec<DiffEntry>) {
    let entry = |path: &str, op, old: Option<&Value>, new: Option<&Value>| DiffEntry {
        path: path.to_owned(),
        op,
        old: old.cloned(),
        new: new.cloned(),
    };
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, old_value) in old {
                let len = push_key(path, key);
                match new.get(key) {
                    Some(new_value) => walk(path, old_value, new_value, out),
                    None => out.push(entry(path, DiffOp::Remove, Some(old_value), None)),
                }
                path.truncate(len);
            }
            for (key, new_value) in new.iter().filter(|(key, _)| !old.contains_key(*key)) {
                let len = push_key(path, key);
                out.push(entry(path, DiffOp::Add, None, Some(new_value)));
                path.truncate(len);
            }
        }
        (Value::Array(old), Value::Array(new)) => {
            for i in 0..old.len().max(new.len()) {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                match (old.get(i), new.get(i)) {
                    (Some(o), Some(n)) => walk(path, o, n, out),
                    (Some(o), None) => out.push(entry(path, DiffOp::Remove, Some(o), None)),
                    (None, Some(n)) => out.push(entry(path, DiffOp::Add, None, Some(n))),
                    (None, None) => {}
                }
                path.truncate(len);
            }
        }
        _ if before == after => {}
        _ => out.push(entry(path, DiffOp::Replace, Some(before), Some(after))),
    }
}

/// Appends `/key` (RFC 6901: `~` → `~0`, `/` → `~1`) to `path`; returns the
/// length to truncate back to.
fn push_key(path: &mut String, key: &str) -> usize {
    let len = path.len();
    path.push('/');
    path.push_str(&key.replace('~', "~0").replace('/', "~1"));
    len
}

/// The diff between two JSON objects (graph states).
pub fn diff_objects(
    before: &serde_json::Map<String, Value>,
    after: &serde_json::Map<String, Value>,
) -> Vec<DiffEntry> {
    // Cloning into `Value` keeps one code path; states are small next to the
    // cost of the I/O around every diff.
    diff_values(&Value::Object(before.clone()), &Value::Object(after.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by the `diff` fuzz target (fuzz/corpus/diff keeps the input).
    #[test]
    fn a_container_that_changes_kind_is_replaced_at_its_path() {
        let d = diff_values(&json!({"x": {}}), &json!({"x": []}));
        assert_eq!(
            d,
            vec![DiffEntry {
                path: "/x".into(),
                op: DiffOp::Replace,
                old: Some(json!({})),
                new: Some(json!([])),
            }]
        );
        let d = diff_values(&json!({"a": 1}), &json!([1]));
        assert_eq!((d.len(), d[0].path.as_str(), d[0].op), (1, "", DiffOp::Replace));
    }

    #[test]
    fn a_change_deep_in_an_object_is_reported_at_its_leaf_path() {
        let d = diff_values(
            &json!({"draft": {"title": "a", "body": "x"}}),
            &json!({"draft": {"title": "b", "body": "x"}}),
        );
        assert_eq!(
            d,
            vec![DiffEntry {
                path: "/draft/title".into(),
                op: DiffOp::Replace,
                old: Some(json!("a")),
                new: Some(json!("b")),
            }]
        );
    }

    #[test]
    fn an_appended_array_element_is_an_add_at_its_index() {
        let d = diff_values(&json!({"tags": ["a", "b"]}), &json!({"tags": ["a", "b", "x"]}));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "/tags/2");
        assert_eq!(d[0].op, DiffOp::Add);
        assert_eq!(d[0].new, Some(json!("x")));
    }

    #[test]
    fn a_removed_key_keeps_its_old_value() {
        let d = diff_values(&json!({"tmp": 1, "k": 2}), &json!({"k": 2}));
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].path.as_str(), d[0].op), ("/tmp", DiffOp::Remove));
        assert_eq!(d[0].old, Some(json!(1)));
        assert_eq!(d[0].new, None);
    }

    #[test]
    fn keys_with_slashes_and_tildes_are_escaped_in_the_pointer() {
        let d = diff_values(&json!({"a/b": 1, "c~d": 1}), &json!({"a/b": 2, "c~d": 2}));
        let paths: Vec<_> = d.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, vec!["/a~1b", "/c~0d"]);
    }

    #[test]
    fn equal_values_have_an_empty_diff() {
        let v = json!({"a": [1, {"b": null}]});
        assert!(diff_values(&v, &v).is_empty());
    }
}
