//! The details of one node visit: outcome, timing, attempt, and its inputs,
//! outputs, error and metadata as folding, pretty-printed JSON (always text).

use crate::format;
use crate::model::NodeEvent;
use crate::timeline::NodeVisit;
use leptos::prelude::*;

/// Details of `visit`; `events` are the run's events (to find its own).
#[component]
pub fn NodeDetails(visit: NodeVisit, events: Vec<NodeEvent>, on_close: Callback<()>) -> impl IntoView {
    let find = |seq: Option<i64>| seq.and_then(|s| events.iter().find(|e| e.seq == s).cloned());
    let started = find(visit.start_seq);
    let ended = find(visit.end_seq);
    let record = ended.clone().or(started.clone());
    let inputs = started
        .as_ref()
        .filter(|e| !e.inputs.is_empty())
        .or(ended.as_ref())
        .map(|e| e.inputs.clone())
        .unwrap_or_default();
    let json_block = |title: &'static str, body: String, open: bool| {
        view! {
            <details open=open>
                <summary>{title}</summary>
                <pre class="json">{body}</pre>
            </details>
        }
    };
    view! {
        <aside class="node-details" aria-labelledby="node-details-heading">
            <div class="details-head">
                <h2 id="node-details-heading">{format!("Node {}", visit.node_id)}</h2>
                <button class="close" on:click=move |_| on_close.run(()) aria-label="Close node details">"×"</button>
            </div>
            <dl class="facts">
                <div><dt>"Outcome"</dt><dd>{visit.outcome.as_str()}</dd></div>
                <div><dt>"Attempt"</dt><dd>{visit.attempt}</dd></div>
                <div><dt>"Duration"</dt><dd>{visit.duration_ms.map(format::duration_ms).unwrap_or_else(|| "running".into())}</dd></div>
                <div><dt>"Started"</dt><dd>{format::timestamp(&visit.start)}</dd></div>
                {visit.saved_ms.map(|s| view! { <div><dt>"Cache saved"</dt><dd>{format::duration_ms(s)}</dd></div> })}
            </dl>
            {record.as_ref().and_then(|e| e.error.clone()).map(|error| view! {
                <p class="error-text" role="note">"Error: " {error}</p>
            })}
            {json_block("Inputs", format::json_pretty(&inputs), true)}
            {json_block("Outputs", format::json_pretty(&record.as_ref().map(|e| e.outputs.clone()).unwrap_or_default()), true)}
            {json_block("Metadata", format::json_pretty(&record.as_ref().map(|e| e.metadata.clone()).unwrap_or_default()), false)}
        </aside>
    }
}
