//! The details of one node visit: outcome, timing, attempt, and its inputs,
//! outputs, error and metadata as folding, pretty-printed JSON (always text).

use crate::format;
use crate::model::{NodeEvent, NodeTypeStatistics, StatisticsFilter};
use crate::server_fns::run_statistics;
use crate::timeline::NodeVisit;
use leptos::prelude::*;

/// The node types of a graph type with their usual durations (from the
/// statistics), loaded once per page; see `usual_durations`.
pub type UsualDurations = Resource<Option<Vec<NodeTypeStatistics>>>;

/// Loads the usual durations of `graph_type`'s node types once `wanted` is
/// true (the first time a visit is opened), and not again on later visits.
pub fn usual_durations(graph_type: Signal<String>, wanted: Memo<bool>) -> UsualDurations {
    Resource::new(
        move || wanted.get().then(|| graph_type.get()),
        |graph_type| async move {
            let filter = StatisticsFilter {
                graph_type: Some(graph_type?),
                ..StatisticsFilter::default()
            };
            Some(run_statistics(filter).await.ok()?.node_types)
        },
    )
}

/// Details of `visit`, whose `started` and `ended` events are given;
/// `usual` the node types' usual durations.
#[component]
pub fn NodeDetails(
    visit: NodeVisit,
    started: Option<NodeEvent>,
    ended: Option<NodeEvent>,
    usual: UsualDurations,
    on_close: Callback<()>,
) -> impl IntoView {
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
            <UsualDuration usual node_id=visit.node_id.clone() duration_ms=visit.duration_ms/>
            {record.as_ref().and_then(|e| e.error.clone()).map(|error| view! {
                <p class="error-text" role="note">"Error: " {error}</p>
            })}
            {json_block("Inputs", format::json_pretty(&inputs), true)}
            {json_block("Outputs", format::json_pretty(&record.as_ref().map(|e| e.outputs.clone()).unwrap_or_default()), true)}
            {json_block("Metadata", format::json_pretty(&record.as_ref().map(|e| e.metadata.clone()).unwrap_or_default()), false)}
        </aside>
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
