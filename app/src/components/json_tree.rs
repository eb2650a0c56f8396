//! JSON that folds: objects and arrays are `<details>` a reader opens and
//! closes, each value is text (never parsed as HTML). Producers' payloads can
//! be large, so a container shows its first `MAX_CHILDREN` entries and says
//! how many more there are.

use crate::format;
use leptos::prelude::*;
use serde_json::Value;

/// Entries shown per object or array.
const MAX_CHILDREN: usize = 200;
/// Containers this deep and deeper start folded.
const OPEN_DEPTH: usize = 2;

/// `value` as a folding tree, in a box like the stylesheet's `pre.json`.
#[component]
pub fn JsonTree(value: Value) -> impl IntoView {
    view! { <div class="json json-tree">{entry(None, &value, 0)}</div> }
}

/// One entry: `"key": ` (inside objects) then the value, folding when it
/// is a non-empty container.
fn entry(key: Option<&str>, value: &Value, depth: usize) -> AnyView {
    // JSON's own spelling of the key, so the tree reads (and copies) as JSON.
    let key = key.map(|k| format!("{}: ", Value::from(k)));
    // Only the entries shown are gathered: a payload may hold many more.
    let (count, children): (usize, Vec<(Option<&str>, &Value)>) = match value {
        Value::Object(map) => (
            map.len(),
            map.iter()
                .take(MAX_CHILDREN)
                .map(|(k, v)| (Some(k.as_str()), v))
                .collect(),
        ),
        Value::Array(items) => (
            items.len(),
            items.iter().take(MAX_CHILDREN).map(|v| (None, v)).collect(),
        ),
        _ => (0, Vec::new()),
    };
    if count == 0 {
        let kind = match value {
            Value::String(_) => "json-string",
            Value::Number(_) => "json-number",
            Value::Bool(_) | Value::Null => "json-literal",
            Value::Object(_) | Value::Array(_) => "json-empty",
        };
        return view! { <div class="json-leaf">{key}<span class=kind>{value.to_string()}</span></div> }
            .into_any();
    }
    let (open, close) = if value.is_object() { ("{", "}") } else { ("[", "]") };
    let counted = if value.is_object() {
        format::count(count, "key", "keys")
    } else {
        format::count(count, "item", "items")
    };
    let more = count.saturating_sub(MAX_CHILDREN);
    view! {
        <details class="json-node" open=depth < OPEN_DEPTH>
            <summary data-close=close>{key}{open}<span class="json-count">{format!(" {counted} ")}</span></summary>
            <div class="json-children">
                {children.into_iter().map(|(k, v)| entry(k, v, depth + 1)).collect_view()}
                {(more > 0).then(|| view! { <div class="muted">{format!("… {more} more")}</div> })}
            </div>
            <div class="json-close">{close}</div>
        </details>
    }
    .into_any()
}
