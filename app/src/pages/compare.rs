//! `/compare?a=&b=`: two runs side by side, their steps aligned, duration
//! deltas and status changes highlighted, the first divergence called out,
//! and the state differences at every aligned step.

use crate::compare::{AlignedStep, Comparison, Step};
use crate::components::StatusBadge;
use crate::diff::DiffEntry;
use crate::format;
use crate::server_fns::compare_runs;
use crate::url_state::query_param;
use leptos::prelude::*;
use leptos_router::components::Form;

/// The comparison page; asks for the runs when the URL does not name both.
#[component]
pub fn ComparePage() -> impl IntoView {
    let a = query_param("a");
    let b = query_param("b");
    let comparison = Resource::new(
        move || (a.get(), b.get()),
        |(a, b)| async move {
            match (a, b) {
                (Some(a), Some(b)) => Some(compare_runs(a, b).await),
                _ => None,
            }
        },
    );
    view! {
        <h1>"Compare runs"</h1>
        <Form method="GET" action="/compare" attr:class="filters" attr:aria-label="Runs to compare">
            <label>"Run a" <input type="text" name="a" value=move || a.get().unwrap_or_default()/></label>
            <label>"Run b" <input type="text" name="b" value=move || b.get().unwrap_or_default()/></label>
            <button type="submit">"Compare"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Comparing…"</p> }>
            {move || Suspend::new(async move {
                match comparison.await {
                    None => view! { <p class="empty">"Enter two run ids to compare them."</p> }.into_any(),
                    Some(Err(e)) => view! { <p role="alert">"Could not compare: " {e.to_string()}</p> }.into_any(),
                    Some(Ok(c)) => view! { <ComparisonView c/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ComparisonView(c: Comparison) -> impl IntoView {
    let delta = c.duration_delta_ms.map(signed_ms).unwrap_or_else(|| "—".into());
    let divergence = c.first_divergence.clone();
    let rows = c
        .aligned
        .iter()
        .enumerate()
        .map(|(i, step)| view! { <AlignedRow index=i step=step.clone() first_divergence=divergence.as_ref().map(|d| d.index)/> })
        .collect_view();
    view! {
        <div class="compare-heads">
            <RunHead label="Run a" run=c.a.clone()/>
            <RunHead label="Run b" run=c.b.clone()/>
            <div class="facts"><div><dt>"Duration b − a"</dt><dd>{delta}</dd></div></div>
        </div>
        {match divergence {
            Some(d) => view! {
                <p class="divergence" role="note">
                    "First divergence at step " {d.index + 1} ": " {d.description} " "
                    <a href=format!("#step-{}", d.index + 1)>"Go to it"</a>
                </p>
            }.into_any(),
            None => view! { <p class="muted" role="note">"The runs took the same path with the same outcomes and outputs."</p> }.into_any(),
        }}
        <section aria-labelledby="aligned-heading">
            <h2 id="aligned-heading">"Aligned steps"</h2>
            <table class="aligned">
                <thead>
                    <tr>
                        <th scope="col" class="num">"#"</th>
                        <th scope="col">"Node"</th>
                        <th scope="col">"Run a"</th>
                        <th scope="col">"Run b"</th>
                        <th scope="col" class="num">"Δ duration"</th>
                        <th scope="col">"State differences after it"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </section>
        <section aria-labelledby="inputs-diff-heading">
            <h2 id="inputs-diff-heading">"Inputs, a → b"</h2>
            <DiffList entries=c.inputs_diff.clone()/>
        </section>
        <section aria-labelledby="final-diff-heading">
            <h2 id="final-diff-heading">"Final state, a → b"</h2>
            <DiffList entries=c.final_state_diff.clone()/>
        </section>
    }
}

#[component]
fn RunHead(label: &'static str, run: crate::model::ExecutionSummary) -> impl IntoView {
    view! {
        <div class="compare-head">
            <span class="muted">{label}</span>
            <a href=format!("/executions/{}", run.execution_id)>{run.execution_id.clone()}</a>
            <StatusBadge status=run.status.as_str()/>
            <span>{run.total_duration_ms.map(format::duration_ms).unwrap_or_else(|| "running".into())}</span>
        </div>
    }
}

#[component]
fn AlignedRow(index: usize, step: AlignedStep, first_divergence: Option<usize>) -> impl IntoView {
    let mut class = String::from("aligned-row");
    if step.a.is_none() || step.b.is_none() {
        class.push_str(" one-sided");
    }
    if step.status_changed {
        class.push_str(" status-changed");
    }
    if first_divergence == Some(index) {
        class.push_str(" first-divergence");
    }
    let delta = step.duration_delta_ms.map(signed_ms).unwrap_or_default();
    let changes = step.state_diff.len();
    view! {
        <tr class=class id=format!("step-{}", index + 1)>
            <td class="num">{index + 1}</td>
            <td>{step.node_id.clone()}</td>
            <td><StepCell step=step.a.clone()/></td>
            <td><StepCell step=step.b.clone()/></td>
            <td class="num">{delta}</td>
            <td>
                {(changes > 0).then(|| view! {
                    <details>
                        <summary>{format!("{changes} difference(s)")}</summary>
                        <DiffList entries=step.state_diff.clone()/>
                    </details>
                })}
            </td>
        </tr>
    }
}

#[component]
fn StepCell(step: Option<Step>) -> impl IntoView {
    match step {
        None => view! { <span class="muted">"not visited"</span> }.into_any(),
        Some(s) => {
            let status: &'static str = match s.status.as_str() {
                "completed" => "completed",
                "failed" => "failed",
                "cached" => "cached",
                _ => "running",
            };
            let attempts = (s.attempts > 1).then(|| format!(" · {} attempts", s.attempts));
            view! {
                <StatusBadge status/>
                " " {s.duration_ms.map(format::duration_ms).unwrap_or_default()} {attempts}
            }
            .into_any()
        }
    }
}

#[component]
fn DiffList(entries: Vec<DiffEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="muted">"No differences."</p> }.into_any();
    }
    let show = |v: Option<serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
    view! {
        <table class="diff">
            <thead><tr><th scope="col">"Path"</th><th scope="col">"Run a"</th><th scope="col">"Run b"</th></tr></thead>
            <tbody>
                {entries.into_iter().map(|e| view! {
                    <tr><td><code>{e.path}</code></td><td><code>{show(e.old)}</code></td><td><code>{show(e.new)}</code></td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// `+700 ms` / `−50 ms`: a delta with its sign.
fn signed_ms(ms: f64) -> String {
    let sign = if ms >= 0.0 { "+" } else { "−" };
    format!("{sign}{}", format::duration_ms(ms.abs()))
}
