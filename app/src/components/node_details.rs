//! The details of one node visit: outcome, timing, attempt, and its inputs,
//! outputs, error and metadata as folding, pretty-printed JSON (always text).

use crate::components::JsonTree;
use crate::format;
use crate::model::{JsonObject, NodeEvent, NodeTypeStatistics};
use crate::server_fns::{get_node_events, usual_node_durations};
use crate::timeline::NodeVisit;
use leptos::prelude::*;
use serde_json::Value;

/// The node types of a graph type with their usual durations (from the
/// statistics), loaded once per page; see `usual_durations`.
pub type UsualDurations = Resource<Option<Vec<NodeTypeStatistics>>>;

/// Loads the usual durations of `graph_type`'s node types once `wanted` is
/// true (the first time a visit is opened), and not again on later visits.
pub fn usual_durations(graph_type: Signal<String>, wanted: Memo<bool>) -> UsualDurations {
    Resource::new(
        move || wanted.get().then(|| graph_type.get()),
        |graph_type| async move { usual_node_durations(graph_type?).await.ok() },
    )
}

/// Details of `visit` of run `execution_id`; its events' payloads (inputs,
/// outputs, metadata) are loaded when it is opened. `usual` holds the node
/// types' usual durations.
#[component]
pub fn NodeDetails(
    execution_id: String,
    visit: NodeVisit,
    usual: UsualDurations,
    /// How much later it could have ended without delaying the run (0 on
    /// the critical path); `None` when the run has no critical path shown.
    slack_ms: Option<f64>,
    /// The visits its producer said it follows (`parents`), as (index,
    /// node): each opens that visit.
    follows: Vec<(usize, String)>,
    on_select: Callback<usize>,
    on_close: Callback<()>,
) -> impl IntoView {
    let (start_seq, end_seq) = (visit.start_seq, visit.end_seq);
    let seqs: Vec<i64> = [start_seq, end_seq].into_iter().flatten().collect();
    let events = Resource::new(
        move || (execution_id.clone(), seqs.clone()),
        |(id, seqs)| get_node_events(id, seqs),
    );
    let payloads = move || {
        Suspend::new(async move {
            match events.await {
                Ok(events) => {
                    let find = |seq: Option<i64>| events.iter().find(|e| Some(e.seq) == seq);
                    payload_blocks(find(start_seq), find(end_seq)).into_any()
                }
                Err(e) => view! { <p role="alert">"Could not load this visit's inputs and outputs: " {e.to_string()}</p> }
                    .into_any(),
            }
        })
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
                {slack_ms.map(|slack| {
                    let said = if slack > 0.0 {
                        format!("off it: {} of slack", format::duration_ms(slack))
                    } else {
                        "on it".to_owned()
                    };
                    view! { <div><dt>"Critical path"</dt><dd>{said}</dd></div> }
                })}
                {(!follows.is_empty()).then(|| view! {
                    <div><dt>"Follows"</dt><dd class="follows">
                        {follows.into_iter().map(|(index, node)| view! {
                            <button class="link" on:click=move |_| on_select.run(index)
                                aria-label=format!("Open the visit it follows: {node}")>{node.clone()}</button>
                        }).collect_view()}
                    </dd></div>
                })}
            </dl>
            <UsualDuration usual node_id=visit.node_id.clone() duration_ms=visit.duration_ms/>
            {visit.error.clone().map(|error| view! {
                <p class="error-text" role="note">"Error: " {error}</p>
            })}
            <Suspense fallback=|| view! { <p class="muted">"Loading inputs and outputs…"</p> }>{payloads}</Suspense>
        </aside>
    }
}

/// Inputs (the started event's, else the ending one's), outputs and metadata
/// (the ending event's, else the started one's) as folding JSON text.
fn payload_blocks(started: Option<&NodeEvent>, ended: Option<&NodeEvent>) -> impl IntoView {
    let record = ended.or(started);
    let inputs = started
        .filter(|e| !e.inputs.is_empty())
        .or(ended)
        .map(|e| &e.inputs);
    let json_block = |title: &'static str, body: Option<&JsonObject>, open: bool| {
        let value = Value::Object(body.cloned().unwrap_or_default());
        view! {
            <details class="payload" open=open>
                <summary>{title}</summary>
                <JsonTree value/>
            </details>
        }
    };
    view! {
        {json_block("Inputs", inputs, true)}
        {json_block("Outputs", record.map(|e| &e.outputs), true)}
        {json_block("Metadata", record.map(|e| &e.metadata), false)}
    }
}

/// How this visit's duration compares with its node type's p50/p95 across
/// the runs of the same graph type (from the statistics).
#[component]
fn UsualDuration(usual: UsualDurations, node_id: String, duration_ms: Option<f64>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Usual durations…"</p> }>
            {move || {
                let node_id = node_id.clone();
                Suspend::new(async move {
                let node = usual.await?.into_iter().find(|n| n.node_id == node_id)?;
                let (p50, p95) = (node.duration_ms.p50?, node.duration_ms.p95?);
                let verdict = duration_ms.map(|d| {
                    let class = if d > p95 { "usual slow" } else { "usual" };
                    let words = if d > p95 {
                        format!("slower than 95% of {} visits ({:.1}× p50)", node.count, d / p50.max(0.001))
                    } else if d > p50 {
                        format!("between p50 and p95 ({:.1}× p50)", d / p50.max(0.001))
                    } else {
                        "at or under p50".to_owned()
                    };
                    view! { <span class=class>{words}</span> }
                });
                Some(view! {
                    <p class="usual-durations" role="note">
                        "Usually for this node type: p50 " {format::duration_ms(p50)} " · p95 " {format::duration_ms(p95)}
                        {verdict.map(|v| view! { " — this visit: " {v} })}
                    </p>
                })
            })}}
        </Suspense>
    }
}
