//! Structural JSON diff: one entry per changed path (JSON Pointer), so a change
//! deep inside a state shows where it happened. The tree walk is treediff's;
//! this module only turns its report into API.md's entries.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use treediff::tools::{ChangeType, Recorder};
use treediff::value::Key;

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
    let mut recorder = Recorder::default();
    treediff::diff(before, after, &mut recorder);
    let mut entries: Vec<DiffEntry> = recorder
        .calls
        .into_iter()
        .filter_map(|call| match call {
            ChangeType::Added(keys, new) => Some(DiffEntry {
                path: pointer(&keys),
                op: DiffOp::Add,
                old: None,
                new: Some(new.clone()),
            }),
            ChangeType::Removed(keys, old) => Some(DiffEntry {
                path: pointer(&keys),
                op: DiffOp::Remove,
                old: Some(old.clone()),
                new: None,
            }),
            ChangeType::Modified(keys, old, new) => Some(DiffEntry {
                path: pointer(&keys),
                op: DiffOp::Replace,
                old: Some(old.clone()),
                new: Some(new.clone()),
            }),
            ChangeType::Unchanged(..) => None,
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
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

/// RFC 6901 pointer for a key path (`~` → `~0`, `/` → `~1`).
fn pointer(keys: &[Key]) -> String {
    let mut out = String::new();
    for key in keys {
        out.push('/');
        match key {
            Key::Index(i) => out.push_str(&i.to_string()),
            Key::String(s) => out.push_str(&s.replace('~', "~0").replace('/', "~1")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
