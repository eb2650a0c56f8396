//! JSON that folds: objects and arrays are `<details>` a reader opens and
//! closes, each value is text (never parsed as HTML). Producers' payloads can
//! be large, so a container shows its first `MAX_CHILDREN` entries and says
//! how many more there are. A folded container builds its entries when it
//! is first opened, so a large payload costs what the reader unfolds.

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
    let count = match value {
        Value::Object(map) => map.len(),
        Value::Array(items) => items.len(),
        _ => 0,
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
    // Only the entries shown are kept: a payload may hold many more.
    let children: Vec<(Option<String>, Value)> = match value {
        Value::Object(map) => map
            .iter()
            .take(MAX_CHILDREN)
            .map(|(k, v)| (Some(k.clone()), v.clone()))
            .collect(),
        Value::Array(items) => items
            .iter()
            .take(MAX_CHILDREN)
            .map(|v| (None, v.clone()))
            .collect(),
        _ => Vec::new(),
    };
    // Built on first opening and kept: a folded container's entries are not
    // in the page until someone opens it (the first `toggle` of a folded
    // container is its opening).
    let opened = RwSignal::new(depth < OPEN_DEPTH);
    let entries = move || {
        opened.get().then(|| {
            children
                .iter()
                .map(|(k, v)| entry(k.as_deref(), v, depth + 1))
                .collect_view()
        })
    };
    view! {
        <details class="json-node" open=depth < OPEN_DEPTH on:toggle=move |_| opened.set(true)>
            <summary data-close=close>{key}{open}<span class="json-count">{format!(" {counted} ")}</span></summary>
            <div class="json-children">
                {entries}
                {(more > 0).then(|| view! { <div class="muted">{format!("… {more} more")}</div> })}
            </div>
            <div class="json-close">{close}</div>
        </details>
    }
    .into_any()
}
