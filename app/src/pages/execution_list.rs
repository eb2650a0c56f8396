//! `/`: the run list, newest first.

use crate::components::StatusBadge;
use crate::format;
use crate::model::{ExecutionFilter, ExecutionList};
use crate::server_fns::list_executions;
use leptos::prelude::*;

/// Every run, newest first, each linking to its page.
#[component]
pub fn ExecutionListPage() -> impl IntoView {
    let runs = Resource::new(|| (), |_| list_executions(ExecutionFilter::default()));
    view! {
        <h1>"Runs"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
            {move || Suspend::new(async move {
                match runs.await {
                    Ok(list) => view! { <ExecutionTable list/> }.into_any(),
                    Err(e) => view! { <p role="alert">"Could not load runs: " {e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ExecutionTable(list: ExecutionList) -> impl IntoView {
    if list.executions.is_empty() {
        return view! {
            <p class="empty">"No runs yet. Post one to " <code>"/api/v1/executions"</code> " or run " <code>"tracevis demo"</code> "."</p>
        }
        .into_any();
    }
    let shown = list.executions.len();
    let total = list.total;
    let rows = list
        .executions
        .into_iter()
        .map(|run| {
            let href = format!("/executions/{}", run.execution_id);
            let duration = run
                .total_duration_ms
                .map(format::duration_ms)
                .unwrap_or_else(|| "—".into());
            view! {
                <tr>
                    <td><a href=href>{run.execution_id.clone()}</a></td>
                    <td>{run.graph_type.clone()}</td>
                    <td><StatusBadge status=run.status.as_str()/></td>
                    <td>{format::timestamp(&run.start_time)}</td>
                    <td class="num">{duration}</td>
                    <td class="num">{run.total_nodes}</td>
                    <td class="num">{run.failed_nodes}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="muted">{format!("Showing {shown} of {total} runs")}</p>
        <table class="runs">
            <thead>
                <tr>
                    <th scope="col">"Run"</th>
                    <th scope="col">"Graph"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Started (UTC)"</th>
                    <th scope="col">"Duration"</th>
                    <th scope="col">"Nodes"</th>
                    <th scope="col">"Failed"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
