//! `/`: the run list, newest first; runs that start or finish appear without
//! a reload.

use crate::clock::{run_duration, use_clock};
use crate::components::{Connection, ConnectionBadge, StatusBadge};
use crate::format;
use crate::model::{ExecutionFilter, ExecutionList, ExecutionSummary};
use crate::server_fns::list_executions;
use leptos::prelude::*;

/// Every run, newest first, each linking to its page.
#[component]
pub fn ExecutionListPage() -> impl IntoView {
    let runs = Resource::new(|| (), |_| list_executions(ExecutionFilter::default()));
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
            {move || Suspend::new(async move {
                match runs.await {
                    Ok(list) => view! { <LiveRunList list/> }.into_any(),
                    Err(e) => view! {
                        <h1>"Runs"</h1>
                        <p role="alert">"Could not load runs: " {e.to_string()}</p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LiveRunList(list: ExecutionList) -> impl IntoView {
    let runs = RwSignal::new(list.executions);
    let total = RwSignal::new(list.total);
    let connection = RwSignal::new(Connection::Connecting);
    let now = use_clock();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        crate::live_client::follow(
            || "/api/v1/live".to_owned(),
            move |frame| {
                if let crate::live::LiveFrame::Status { execution } = frame {
                    apply_status(runs, total, execution);
                }
                crate::live_client::Flow::Continue
            },
            connection,
        );
    });
    view! {
        <div class="page-title">
            <h1>"Runs"</h1>
            <ConnectionBadge connection/>
        </div>
        <Show
            when=move || runs.with(|r| !r.is_empty())
            fallback=|| view! {
                <p class="empty">"No runs yet. Post one to " <code>"/api/v1/executions"</code> " or run "
                    <code>"tracevis demo"</code> "."</p>
            }
        >
            <p class="muted">{move || format!("Showing {} of {} runs", runs.with(Vec::len), total.get())}</p>
            <table class="runs">
                <thead>
                    <tr>
                        <th scope="col">"Run"</th>
                        <th scope="col">"Graph"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Started (UTC)"</th>
                        <th scope="col" class="num">"Duration"</th>
                        <th scope="col" class="num">"Nodes"</th>
                        <th scope="col" class="num">"Failed"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || runs.get() key=|run| (run.execution_id.clone(), run.status, run.last_seq) let:run>
                        <RunRow run now/>
                    </For>
                </tbody>
            </table>
        </Show>
    }
}

/// Puts a run's new summary in the list: replaces it if shown, else adds it on top.
#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "called from the browser only")
)]
fn apply_status(runs: RwSignal<Vec<ExecutionSummary>>, total: RwSignal<i64>, execution: ExecutionSummary) {
    runs.update(
        |runs| match runs.iter_mut().find(|r| r.execution_id == execution.execution_id) {
            Some(run) => *run = execution,
            None => {
                runs.insert(0, execution);
                total.update(|t| *t += 1);
            }
        },
    );
}

#[component]
fn RunRow(run: ExecutionSummary, now: RwSignal<Option<chrono::DateTime<chrono::Utc>>>) -> impl IntoView {
    let href = format!("/executions/{}", run.execution_id);
    let (start, total_ms) = (run.start_time, run.total_duration_ms);
    view! {
        <tr>
            <td><a href=href>{run.execution_id.clone()}</a></td>
            <td>{run.graph_type.clone()}</td>
            <td><StatusBadge status=run.status.as_str()/></td>
            <td>{format::timestamp(&run.start_time)}</td>
            <td class="num">{move || run_duration(total_ms, &start, now.get())}</td>
            <td class="num">{run.total_nodes}</td>
            <td class="num">{run.failed_nodes}</td>
        </tr>
    }
}
