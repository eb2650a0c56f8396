//! `/stats`: figures across runs — counts by status, failure rate, duration
//! percentiles, cache hit rate, LLM calls and tokens, and per node type the
//! slowest first, runs and durations over time, the node type × time heat
//! map, and how parallel the runs were with the node types most often on
//! their critical paths — each linking to the runs behind it.

use crate::components::{DurationOverTime, MetadataFields, NodeHeatmap, RunsOverTime};
use crate::format;
use crate::model::{DurationPercentiles, ParallelismStatistics, StatisticsAccuracy, StatisticsFilter};
use crate::server_fns::run_statistics;
use crate::url_state::{metadata_filters, query_pairs, with_query};
use leptos::prelude::*;
use leptos_router::components::Form;

/// The metrics page, filtered by `?graph_type=` and metadata (`meta.KEY=VALUE`
/// or `meta=KEY=VALUE`, as on the run list).
#[component]
pub fn StatsPage() -> impl IntoView {
    let pairs = query_pairs();
    let filter = Memo::new(move |_| {
        pairs.with(|p| StatisticsFilter {
            graph_type: p
                .iter()
                .rev()
                .find(|(k, v)| k == "graph_type" && !v.trim().is_empty())
                .map(|(_, v)| v.clone()),
            metadata: metadata_filters(p),
            ..StatisticsFilter::default()
        })
    });
    let stats = Resource::new(move || filter.get(), run_statistics);
    view! {
        <h1>"Metrics"</h1>
        // Drawn again when the URL's filter changes: its chips follow it.
        {move || {
            let f = filter.get();
            view! {
                <Form method="GET" action="/stats" attr:class="filters" attr:aria-label="Metrics filter">
                    <label>"Graph type" <input type="text" name="graph_type" value=f.graph_type.unwrap_or_default()/></label>
                    <MetadataFields filters=f.metadata/>
                    <button type="submit">"Show"</button>
                </Form>
            }
        }}
        <Transition fallback=|| view! { <p class="muted">"Loading metrics…"</p> }>
            {move || Suspend::new(async move {
                let f = filter.get_untracked();
                // The run list of this slice, with `status` when given.
                let runs_link = |status: &str| {
                    let mut pairs = vec![];
                    if let Some(g) = f.graph_type.clone() { pairs.push(("graph_type".to_owned(), g)); }
                    if !status.is_empty() { pairs.push(("status".to_owned(), status.to_owned())); }
                    pairs.extend(f.metadata.iter().map(|(k, v)| (format!("meta.{k}"), v.clone())));
                    let pairs: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                    with_query("/", &pairs)
                };
                match stats.await {
                    Err(e) => view! { <p role="alert">"Could not load metrics: " {e.to_string()}</p> }.into_any(),
                    Ok(s) => {
                        let e = &s.executions;
                        let finished = e.completed + e.failed;
                        let failure_rate = (finished > 0).then(|| e.failed as f64 / finished as f64);
                        let node_rows = s.node_types.iter().map(|n| view! {
                            <tr>
                                <td>{n.node_id.clone()}</td>
                                <td class="num">{n.count}</td>
                                <td class="num">{percent(Some(n.failure_rate))}</td>
                                <td class="num">{n.cached}</td>
                                <td class="num">{ms(n.duration_ms.p50)}</td>
                                <td class="num">{ms(n.duration_ms.p95)}</td>
                            </tr>
                        }).collect_view();
                        view! {
                            <section aria-labelledby="runs-heading">
                                <h2 id="runs-heading">"Runs"</h2>
                                <dl class="facts">
                                    <div><dt>"Runs"</dt><dd><a href=runs_link("")>{e.total}</a></dd></div>
                                    <div><dt>"Running"</dt><dd><a href=runs_link("running")>{e.running}</a></dd></div>
                                    <div><dt>"Completed"</dt><dd><a href=runs_link("completed")>{e.completed}</a></dd></div>
                                    <div><dt>"Failed"</dt><dd><a href=runs_link("failed")>{e.failed}</a></dd></div>
                                    <div><dt>"Failure rate"</dt><dd>{percent(failure_rate)}</dd></div>
                                    <Percentiles label="Run duration" p=s.duration_ms.clone()/>
                                    <div><dt>"Cache hit rate"</dt><dd>{percent(s.cache_hit_rate)}</dd></div>
                                    <div><dt>"LLM calls"</dt><dd>{s.total_llm_calls}</dd></div>
                                    <div><dt>"Tokens"</dt><dd>{s.total_tokens}</dd></div>
                                </dl>
                                <p class="muted accuracy">{accuracy_note(&s.accuracy)}</p>
                            </section>
                            <section aria-labelledby="over-time-heading">
                                <h2 id="over-time-heading">"Over time"</h2>
                                {if s.timeline.is_empty() {
                                    view! { <p class="empty">"No runs yet."</p> }.into_any()
                                } else {
                                    let g = f.graph_type.clone();
                                    view! {
                                        <div class="charts">
                                            <RunsOverTime timeline=s.timeline.clone() bucket_hours=s.bucket_hours graph_type=g.clone()/>
                                            <DurationOverTime timeline=s.timeline.clone() bucket_hours=s.bucket_hours graph_type=g.clone()/>
                                        </div>
                                        {(!s.node_types_left_out).then(|| view! {
                                            <h3>"Slowest node types over time (p95)"</h3>
                                            <NodeHeatmap rows=s.node_heatmap.clone() timeline=s.timeline.clone() bucket_hours=s.bucket_hours graph_type=g/>
                                        })}
                                    }.into_any()
                                }}
                            </section>
                            <ParallelSection p=s.parallelism.clone()/>
                            <section aria-labelledby="node-types-heading">
                                <h2 id="node-types-heading">"Node types, slowest p95 first"</h2>
                                <div class="table-scroll">
                                    <table class="runs">
                                        <thead><tr>
                                            <th scope="col">"Node type"</th><th scope="col" class="num">"Visits"</th>
                                            <th scope="col" class="num">"Failure rate"</th><th scope="col" class="num">"Cache hits"</th>
                                            <th scope="col" class="num">"p50"</th><th scope="col" class="num">"p95"</th>
                                        </tr></thead>
                                        <tbody>{node_rows}</tbody>
                                    </table>
                                </div>
                                {s.node_types_left_out.then(|| view! {
                                    <p class="muted">"Node types are not shown with a metadata filter: their figures are kept per hour and graph type, not per run."</p>
                                })}
                            </section>
                        }.into_any()
                    }
                }
            })}
        </Transition>
    }
}

/// How parallel the finished runs were, and which node types most often
/// decided the durations of those that ran nodes side by side.
#[component]
fn ParallelSection(p: ParallelismStatistics) -> impl IntoView {
    let average = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
    let rows = p
        .critical_path_nodes
        .iter()
        .map(|n| {
            view! {
                <tr>
                    <th scope="row">{n.node_id.clone()}</th>
                    <td class="num">{n.runs}</td>
                    <td class="num">{percent(Some(n.share_of_runs))}</td>
                    <td class="num">{ms(Some(n.total_ms / n.runs.max(1) as f64))}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section aria-labelledby="parallel-heading">
            <h2 id="parallel-heading">"Parallelism"</h2>
            <dl class="facts">
                <div><dt>"Average parallelism p50"</dt><dd>{average(p.p50)}</dd></div>
                <div><dt>"Average parallelism p95"</dt><dd>{average(p.p95)}</dd></div>
                <div><dt>"Runs that ran nodes side by side"</dt><dd>{format!("{} of {}", p.parallel_runs, p.runs)}</dd></div>
            </dl>
            {if p.critical_path_nodes.is_empty() {
                view! { <p class="muted">"No finished run ran nodes side by side."</p> }.into_any()
            } else {
                view! {
                    <div class="table-scroll">
                        <table class="runs" aria-label="Node types most often on the critical path">
                            <caption>"Node types most often on the critical path (of the runs that ran nodes side by side)"</caption>
                            <thead><tr>
                                <th scope="col">"Node type"</th><th scope="col" class="num">"Runs"</th>
                                <th scope="col" class="num">"Share of runs"</th><th scope="col" class="num">"Time on the path, per run"</th>
                            </tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Percentiles(label: &'static str, p: DurationPercentiles) -> impl IntoView {
    view! {
        <div><dt>{format!("{label} p50")}</dt><dd>{ms(p.p50)}</dd></div>
        <div><dt>{format!("{label} p95")}</dt><dd>{ms(p.p95)}</dd></div>
        <div><dt>{format!("{label} p99")}</dt><dd>{ms(p.p99)}</dd></div>
    }
}

/// Which figures are estimates, and within what error, in words.
fn accuracy_note(a: &StatisticsAccuracy) -> String {
    let within = |error: f64| format!("{:.0} %", (error * 100.0).ceil());
    let mut note = format!(
        "Counts, rates, LLM calls and tokens are exact. Duration percentiles are estimates: \
         within {} for runs, {} for node types.",
        within(a.run_percentiles),
        within(a.node_percentiles)
    );
    if let Some(newest) = a.newest_runs_only {
        note.push_str(&format!(
            " The run figures cover the newest {newest} matching runs."
        ));
    }
    note
}

fn ms(value: Option<f64>) -> String {
    value.map(format::duration_ms).unwrap_or_else(|| "—".into())
}

fn percent(value: Option<f64>) -> String {
    value
        .map(|v| format!("{:.1} %", v * 100.0))
        .unwrap_or_else(|| "—".into())
}
