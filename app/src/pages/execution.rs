//! `/executions/{id}`: one run — its header, node events in order and final state.

use crate::components::StatusBadge;
use crate::format;
use crate::model::ExecutionTrace;
use crate::server_fns::get_trace;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// A run's page.
#[component]
pub fn ExecutionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let trace = Resource::new(id, get_trace);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading run…"</p> }>
            {move || Suspend::new(async move {
                match trace.await {
                    Ok(trace) => view! { <TraceView trace/> }.into_any(),
                    Err(e) => view! { <p role="alert">"Could not load this run: " {e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TraceView(trace: ExecutionTrace) -> impl IntoView {
    let s = trace.summary;
    let duration = s
        .total_duration_ms
        .map(format::duration_ms)
        .unwrap_or_else(|| "running".into());
    let tokens = s
        .total_tokens
        .map(|t| t.to_string())
        .unwrap_or_else(|| "—".into());
    let final_state = s
        .final_state
        .as_ref()
        .map(format::json_pretty)
        .unwrap_or_else(|| "No final state yet.".into());
    let events = trace
        .node_events
        .into_iter()
        .map(|e| {
            let duration = e.duration_ms.map(format::duration_ms).unwrap_or_default();
            view! {
                <tr class=format!("event event-{}", e.event_type.as_str())>
                    <td class="num">{e.seq}</td>
                    <td>{e.node_id.clone()}</td>
                    <td><StatusBadge status=e.event_type.as_str()/></td>
                    <td>{format::timestamp(&e.timestamp)}</td>
                    <td class="num">{duration}</td>
                    <td class="error-text">{e.error.clone().unwrap_or_default()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <header class="run-header">
            <h1>{s.execution_id.clone()}</h1>
            <StatusBadge status=s.status.as_str()/>
            <dl class="facts">
                <div><dt>"Graph"</dt><dd>{s.graph_type.clone()}</dd></div>
                <div><dt>"Started"</dt><dd>{format::timestamp(&s.start_time)}</dd></div>
                <div><dt>"Duration"</dt><dd>{duration}</dd></div>
                <div><dt>"Nodes"</dt><dd>{s.total_nodes}</dd></div>
                <div><dt>"Failed"</dt><dd>{s.failed_nodes}</dd></div>
                <div><dt>"Cached"</dt><dd>{s.cached_nodes}</dd></div>
                <div><dt>"LLM calls"</dt><dd>{s.total_llm_calls}</dd></div>
                <div><dt>"Tokens"</dt><dd>{tokens}</dd></div>
            </dl>
        </header>
        <section aria-labelledby="nodes-heading">
            <h2 id="nodes-heading">"Node events"</h2>
            <table class="events">
                <thead>
                    <tr>
                        <th scope="col">"#"</th>
                        <th scope="col">"Node"</th>
                        <th scope="col">"Event"</th>
                        <th scope="col">"Time (UTC)"</th>
                        <th scope="col">"Duration"</th>
                        <th scope="col">"Error"</th>
                    </tr>
                </thead>
                <tbody>{events}</tbody>
            </table>
        </section>
        <section aria-labelledby="state-heading">
            <h2 id="state-heading">"Final state"</h2>
            <pre class="json">{final_state}</pre>
        </section>
    }
}
