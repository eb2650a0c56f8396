//! `/compare?a=&b=`: two runs side by side, their steps aligned, duration
//! deltas and status changes highlighted, the first divergence called out,
//! and the state differences at every aligned step.

use crate::compare::{AlignedStep, Comparison, Step};
use crate::components::StatusBadge;
use crate::diff::DiffEntry;
use crate::format;
use crate::server_fns::{compare_runs, comparison_candidates};
use crate::url_state::query_param;
use leptos::prelude::*;
use leptos_router::components::Form;

/// The comparison page: both runs from the URL, or run a and, by default,
/// the run of its graph type before it; a picker offers other runs for b.
#[component]
pub fn ComparePage() -> impl IntoView {
    let a = query_param("a");
    let b = query_param("b");
    let search = query_param("q");
    let comparison = Resource::new(
        move || (a.get(), b.get()),
        |(a, b)| async move {
            match a {
                Some(a) => Some(compare_runs(a, b).await),
                None => None,
            }
        },
    );
    let candidates = Resource::new(
        move || (a.get(), search.get()),
        |(a, search)| async move {
            match a {
                Some(a) => comparison_candidates(a, search).await.ok(),
                None => None,
            }
        },
    );
    view! {
        <h1>"Compare runs"</h1>
        <Form method="GET" action="/compare" attr:class="filters" attr:aria-label="Runs to compare">
            <label>"Run a" <input type="text" name="a" value=move || a.get().unwrap_or_default()/></label>
            <label>"Run b" <input type="text" name="b" placeholder="previous run" value=move || b.get().unwrap_or_default()/></label>
            <button type="submit">"Compare"</button>
        </Form>
        <Transition fallback=|| view! { <p class="muted">"Comparing…"</p> }>
            {move || Suspend::new(async move {
                let defaulted = b.get_untracked().is_none();
                match comparison.await {
                    None => view! { <p class="empty">"Enter a run id to compare it with the run before it, or two run ids. "
                        "You can also pick two runs in the " <a href="/">"run list"</a> "."</p> }.into_any(),
                    Some(Err(e)) => view! { <p role="alert">"Could not compare: " {e.to_string()}</p> }.into_any(),
                    Some(Ok(c)) => view! { <ComparisonView c defaulted/> }.into_any(),
                }
            })}
        </Transition>
        {move || a.get().map(|a| view! { <CandidatePicker a search candidates/> })}
    }
}

/// "Compare with another run": runs of a's graph type, searchable by id.
#[component]
fn CandidatePicker(
    a: String,
    search: Memo<Option<String>>,
    candidates: Resource<Option<Vec<crate::model::ExecutionSummary>>>,
) -> impl IntoView {
    let base = a.clone();
    view! {
        <section aria-labelledby="candidates-heading" class="candidates">
            <h2 id="candidates-heading">"Compare " {a.clone()} " with another run"</h2>
            <Form method="GET" action="/compare" attr:class="filters" attr:aria-label="Find a run to compare with">
                <input type="hidden" name="a" value=a.clone()/>
                <label>"Run id contains" <input type="search" name="q" value=move || search.get().unwrap_or_default()/></label>
                <button type="submit">"Search"</button>
            </Form>
            <Transition fallback=|| view! { <p class="muted">"Finding runs…"</p> }>
                {move || {
                    let base = base.clone();
                    Suspend::new(async move {
                        let runs = candidates.await.unwrap_or_default();
                        if runs.is_empty() {
                            return view! { <p class="empty">"No other run of this graph type matches."</p> }.into_any();
                        }
                        let searching = search.get_untracked().is_some();
                        view! {
                            <ul class="candidate-list">
                                {runs.into_iter().enumerate().map(|(i, run)| {
                                    let href = format!("/compare?a={base}&b={}", run.execution_id);
                                    let note = (i == 0 && !searching).then_some(" · the previous run");
                                    view! {
                                        <li>
                                            <a href=href>{run.execution_id.clone()}</a> " "
                                            <StatusBadge status=run.status.as_str()/>
                                            <span class="muted">" " {format::timestamp(&run.start_time)} " · "
                                                {run.total_duration_ms.map(format::duration_ms).unwrap_or_else(|| "running".into())}
                                                {note}</span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    })
                }}
            </Transition>
        </section>
    }
}

#[component]
fn ComparisonView(c: Comparison, defaulted: bool) -> impl IntoView {
    let delta = c.duration_delta_ms.map(signed_ms).unwrap_or_else(|| "—".into());
    let divergence = c.first_divergence.clone();
    let axis_ms = shared_axis_ms(&c);
    let rows = c
        .aligned
        .iter()
        .enumerate()
        .map(|(i, step)| view! { <AlignedRow index=i step=step.clone() first_divergence=divergence.as_ref().map(|d| d.index) axis_ms/> })
        .collect_view();
    view! {
        <div class="compare-heads">
            <RunHead label="Run a" run=c.a.clone()/>
            <RunHead label=if defaulted { "Run b (the previous run)" } else { "Run b" } run=c.b.clone()/>
            <dl class="facts"><div><dt>"Duration b − a"</dt><dd>{delta}</dd></div></dl>
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
        // Which changes moved the runs' durations: the steps that decided them.
        {(!c.critical_path_changes.is_empty()).then(|| view! {
            <section aria-labelledby="critical-heading" class="critical-changes">
                <h2 id="critical-heading">"Changes on the critical path"</h2>
                <ul>
                    {c.critical_path_changes.iter().map(|change| view! {
                        <li><a href=format!("#step-{}", change.index + 1)>{change.description.clone()}</a></li>
                    }).collect_view()}
                </ul>
            </section>
        })}
        <section aria-labelledby="aligned-heading">
            <h2 id="aligned-heading">"Aligned steps"</h2>
            <div class="table-scroll" tabindex="0" role="group" aria-label="Aligned steps, scrolls sideways when narrow">
                <table class="aligned">
                    <thead>
                        <tr>
                            <th scope="col" class="num">"#"</th>
                            <th scope="col">"Node"</th>
                            <th scope="col">"Run a"</th>
                            <th scope="col">"Run b"</th>
                            <th scope="col" class="num">"Δ duration"</th>
                            <th scope="col" class="shared-axis-head">
                                "Time from start (shared axis, 0–" {format::duration_ms(axis_ms)} ")"
                                <span class="legend"><span class="axis-bar bar-a"></span>" a (upper) "<span class="axis-bar bar-b"></span>" b (lower, striped)"</span>
                            </th>
                            <th scope="col">"State differences after it"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
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

/// The length of the shared relative time axis: the later end of the two
/// runs (or of their last steps, while one is running), at least 1 ms.
fn shared_axis_ms(c: &Comparison) -> f64 {
    let step_ends = c
        .aligned
        .iter()
        .flat_map(|s| [s.a.as_ref(), s.b.as_ref()])
        .flatten()
        .map(|s| s.offset_ms + s.duration_ms.unwrap_or(0.0));
    [c.a.total_duration_ms, c.b.total_duration_ms]
        .into_iter()
        .flatten()
        .chain(step_ends)
        .fold(1.0, f64::max)
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
fn AlignedRow(
    index: usize,
    step: AlignedStep,
    first_divergence: Option<usize>,
    axis_ms: f64,
) -> impl IntoView {
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
            <td class="shared-axis">
                <AxisBar step=step.a.clone() axis_ms class="bar-a"/>
                <AxisBar step=step.b.clone() axis_ms class="bar-b"/>
            </td>
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

/// One run's step as a bar on the shared axis (nothing when it did not run it).
#[component]
fn AxisBar(step: Option<Step>, axis_ms: f64, class: &'static str) -> impl IntoView {
    step.map(|s| {
        let left = (s.offset_ms / axis_ms * 100.0).clamp(0.0, 100.0);
        let width = (s.duration_ms.unwrap_or(0.0) / axis_ms * 100.0).clamp(0.0, 100.0 - left);
        view! { <span class=format!("axis-bar {class}") style=format!("left: {left:.3}%; width: max({width:.3}%, 2px)")></span> }
    })
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
            let critical = s.on_critical_path.then_some(" · critical path");
            view! {
                <StatusBadge status/>
                " " {s.duration_ms.map(format::duration_ms).unwrap_or_default()} {attempts} {critical}
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
