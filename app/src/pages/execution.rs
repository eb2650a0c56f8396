//! `/executions/{id}`: one run — header, timeline, node details, graph, state
//! history with time travel, node events and final state; a running run grows
//! live as its records are stored.

use crate::clock::{run_duration, use_clock};
use crate::components::{
    usual_durations, Connection, ConnectionBadge, CriticalMarks, GraphPanel, JsonTree, LiveAnnouncer,
    NodeDetails, StateHistoryPanel, StatusBadge, Timeline,
};
use crate::format;
use crate::graph_view::{place, tally, LaidOut};
use crate::model::{EventOutline, ExecutionStatus, RunOutline, StateSnapshot};
use crate::parallel::{concurrency, critical_path, inferred_edges, parallelism};
use crate::server_fns::{get_run_outline, get_state_history, lay_out_graph};
use crate::timeline::VisitIndex;
use crate::url_state::{query_param, query_setter};
use crate::virtual_window::{visible_range, INITIAL_ROWS};

/// Height of one row of the node events table (matches the stylesheet).
const EVENT_ROW_PX: f64 = 33.0;
/// Columns of the timeline's concurrency strip.
const STRIP_COLUMNS: usize = 200;
/// Most visits the lanes layout draws: it puts every bar in the page.
const MAX_LANE_VISITS: usize = 2_000;
use crate::error::PageError;
use leptos::lazy;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// A run's page.
#[component]
pub fn ExecutionPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let run = Resource::new(id, get_run_outline);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading run…"</p> }>
            {move || Suspend::new(async move {
                match run.await {
                    Ok(run) => view! { <RunView run/> }.into_any(),
                    Err(PageError::NotFound(_)) => view! {
                        <section class="not-found" aria-labelledby="not-found-title">
                            <h1 id="not-found-title">"Run not found"</h1>
                            <p>"No run has the id " <code>{id()}</code> ". It may have been removed by retention, or the link is mistyped."</p>
                            <p><a href="/">"Back to all runs"</a></p>
                        </section>
                    }.into_any(),
                    // An id outside the id rules: no run can have it.
                    Err(PageError::Invalid(why)) => view! {
                        <section class="not-found" aria-labelledby="not-found-title">
                            <h1 id="not-found-title">"Run not found"</h1>
                            <p>"No run can have the id " <code>{id()}</code> " (" {why} "): the link is mistyped."</p>
                            <p><a href="/">"Back to all runs"</a></p>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <p role="alert">"Could not load this run: " {e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn RunView(run: RunOutline) -> impl IntoView {
    let running = run.summary.status == ExecutionStatus::Running;
    let execution_id = run.summary.execution_id.clone();
    // The run's visits, kept up to date event by event (a live event costs a
    // lookup and an append, not a pass over the run).
    let all_visits = RwSignal::new(VisitIndex::new(&run.events));
    let trace = RwSignal::new(run);
    // Snapshots that arrived live, whole: the state history shows them
    // after those it loaded.
    let live_snapshots = RwSignal::new(Vec::<StateSnapshot>::new());
    let connection = RwSignal::new(if running {
        Connection::Connecting
    } else {
        Connection::Finished
    });
    let now = use_clock();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if running {
            use crate::live::LiveFrame;
            use crate::live_client::{follow, Flow};
            use crate::model::SnapshotOutline;
            let id = execution_id.clone();
            follow(
                move || {
                    format!(
                        // Records stored after the run finished (late
                        // OpenTelemetry spans) follow too.
                        "/api/v1/executions/{id}/live?until=late_records&after_seq={}",
                        trace.with_untracked(RunOutline::last_seq)
                    )
                },
                move |frame| {
                    let mut flow = Flow::Continue;
                    let mut new_event = None;
                    trace.update(|t| match frame {
                        LiveFrame::Event { event } if event.seq > t.last_seq() => {
                            t.summary.count_event(&event);
                            let outline = EventOutline::from(&event);
                            t.events.push(outline.clone());
                            new_event = Some(outline);
                        }
                        LiveFrame::Snapshot { snapshot } if snapshot.seq > t.last_seq() => {
                            t.summary.last_seq = snapshot.seq;
                            t.snapshots.push(SnapshotOutline::from(&snapshot));
                            live_snapshots.update(|s| s.push(snapshot));
                        }
                        LiveFrame::Status { execution } => {
                            if execution.status != ExecutionStatus::Running {
                                flow = Flow::Finished;
                            }
                            t.summary = execution;
                        }
                        _ => {}
                    });
                    if let Some(event) = new_event {
                        all_visits.update(|v| {
                            v.push(&event);
                        });
                    }
                    flow
                },
                // A reconnection resumes after the last seq: nothing to reload.
                || {},
                connection,
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&execution_id, running, live_snapshots);
    });
    // A live event changes the run's figures; memos keep it from redrawing
    // what did not change (an opened inputs tree would close).
    let summary = Memo::new(move |_| trace.with(|t| t.summary.clone()));
    let inputs = Memo::new(move |_| summary.with(|s| s.original_inputs.clone()));
    let final_state = Memo::new(move |_| summary.with(|s| (s.final_state.clone(), s.status)));
    // A mark the browser benchmark reads: the run is hydrated and drawn.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(performance) = window().performance() {
            let _ = performance.mark("tracevis:run-ready");
        }
    });

    // View state lives in the URL: ?node= (timeline filter), ?visit= (the
    // selected visit), ?step= (the state history cursor, 1-based).
    let set_query = query_setter();
    let node_filter = query_param("node");
    let visit_param = query_param("visit");
    let step_param = query_param("step");
    // ?seq= (a search hit's record): opens the visit that event belongs to,
    // or the state step of that snapshot, unless ?visit= / ?step= say otherwise.
    let seq_param = query_param("seq");
    let hit_seq = Memo::new(move |_| seq_param.get().and_then(|s| s.parse::<i64>().ok()));
    let node_types = Memo::new(move |_| all_visits.with(|v| v.node_ids().cloned().collect::<Vec<_>>()));
    let selected = Memo::new(move |_| {
        visit_param
            .get()
            .and_then(|v| v.parse::<usize>().ok())
            .or_else(|| {
                let seq = hit_seq.get()?;
                all_visits.with(|v| {
                    v.visits()
                        .iter()
                        .find(|visit| visit.start_seq == Some(seq) || visit.end_seq == Some(seq))
                        .map(|visit| visit.index)
                })
            })
    });
    // A memo: the details (and their payload request) are rebuilt only when
    // the selected visit itself changes, not on every live event.
    let selected_visit = Memo::new(move |_| {
        selected
            .get()
            .and_then(|i| all_visits.with(|v| v.visits().get(i).cloned()))
    });
    // Once a visit has been opened, stays true: the usual durations load then, once.
    let opened_a_visit =
        Memo::new(move |before: Option<&bool>| before.copied().unwrap_or(false) || selected.get().is_some());
    let graph_type = Signal::derive(move || summary.with(|s| s.graph_type.clone()));
    let usual = usual_durations(graph_type, opened_a_visit);
    let start: Signal<_> = Memo::new(move |_| trace.with(|t| t.summary.start_time)).into();
    let end: Signal<_> = Memo::new(move |_| {
        let last_event = all_visits.with(VisitIndex::last_event);
        trace.with(|t| {
            let running_until = now.get().filter(|_| t.summary.end_time.is_none());
            [t.summary.end_time, last_event, running_until]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(t.summary.start_time)
        })
    })
    .into();
    // How many nodes ran at once, and the chain of visits that decided the
    // run's duration: a pass over every visit, so worked out once the run
    // has finished, never per live frame. The critical path is shown for
    // runs that ran nodes side by side (in a sequential run it is every visit).
    let finished = Memo::new(move |_| summary.with(|s| s.status != ExecutionStatus::Running));
    let parallel = Memo::new(move |_| {
        finished
            .get()
            .then(|| all_visits.with(|v| parallelism(v.visits(), start.get(), end.get())))
    });
    let critical = Memo::new(move |_| {
        parallel
            .get()
            .filter(|p| p.peak > 1)
            .map(|_| all_visits.with(|v| critical_path(v.visits(), end.get())))
    });
    // The graph's edges for the same runs: read off the timeline (forks to
    // every branch, joins from each), not off the order of visits, which
    // would chain branches that merely ran side by side.
    // Also for any finished run whose producer named what visits follow:
    // those links are the edges, even where nothing ran side by side.
    let parallel_edges = Memo::new(move |_| {
        let causal = || all_visits.with(|v| v.visits().iter().any(|visit| !visit.parents.is_empty()));
        (critical.with(Option::is_some) || (finished.get() && causal()))
            .then(|| all_visits.with(|v| inferred_edges(v.visits(), end.get())))
    });
    // The lanes layout, for the same runs when small enough that every bar
    // can be in the page at once (the row layout shows only a window).
    let lanes = Memo::new(move |_| {
        critical
            .with(Option::is_some)
            .then(|| {
                all_visits.with(|v| {
                    (v.visits().len() <= MAX_LANE_VISITS)
                        .then(|| crate::parallel::lanes(v.visits(), end.get()))
                })
            })
            .flatten()
    });
    // What the timeline's concurrency strip draws, for the same runs.
    let strip = Memo::new(move |_| {
        critical
            .with(Option::is_some)
            .then(|| all_visits.with(|v| concurrency(v.visits(), start.get(), end.get(), STRIP_COLUMNS)))
    });
    let step = Memo::new(move |_| {
        let count = trace.with(|t| t.snapshots.len());
        step_param
            .get()
            .and_then(|s| s.parse::<usize>().ok())
            .map(|s| s.saturating_sub(1))
            .or_else(|| {
                let seq = hit_seq.get()?;
                trace.with(|t| t.snapshots.iter().position(|s| s.seq == seq))
            })
            .unwrap_or(count.saturating_sub(1))
            .min(count.saturating_sub(1))
    });
    let on_select = {
        let set_query = set_query.clone();
        Callback::new(move |index: usize| set_query("visit", Some(index.to_string())))
    };
    let on_close = {
        let set_query = set_query.clone();
        Callback::new(move |()| set_query("visit", None))
    };
    let on_step = {
        let set_query = set_query.clone();
        Callback::new(move |index: usize| set_query("step", Some((index + 1).to_string())))
    };
    let events_scroll = RwSignal::new(0.0f64);
    let events_window = Memo::new(move |_| {
        visible_range(
            events_scroll.get(),
            EVENT_ROW_PX,
            INITIAL_ROWS,
            trace.with(|t| t.events.len()),
        )
    });
    let on_node_filter = move |value: String| set_query("node", (!value.is_empty()).then_some(value));
    view! {
        <header class="run-header">
            <h1>{move || summary.get().execution_id}</h1>
            {move || view! { <StatusBadge status=summary.get().status.as_str()/> }}
            <ConnectionBadge connection/>
            <LiveAnnouncer count=Signal::derive(move || all_visits.with(|v| v.visits().len())) one="node visit" many="node visits"/>
            <nav class="run-actions" aria-label="Run actions">
                <a class="compare-link" href=move || format!("/compare?a={}", summary.get().execution_id)>"Compare with…"</a>
                <a href=move || format!("/api/v1/executions/{}/export", summary.get().execution_id) download>"Download JSON"</a>
                <a href=move || format!("/api/v1/executions/{}/export?format=chrome", summary.get().execution_id) download
                    title="Chrome Trace Event JSON: opens in Perfetto, chrome://tracing and speedscope">"Chrome trace"</a>
            </nav>
            // One closure for the facts that change with the summary (a status
            // frame), one for the duration that ticks while the run runs.
            <dl class="facts">
                {move || {
                    let s = summary.get();
                    view! {
                        <div><dt>"Graph"</dt><dd>{s.graph_type}</dd></div>
                        <div><dt>"Started"</dt><dd>{format::timestamp(&s.start_time)}</dd></div>
                    }
                }}
                <div><dt>"Duration"</dt><dd>{move || {
                    summary.with(|s| run_duration(s.total_duration_ms, &s.start_time, now.get()))
                }}</dd></div>
                // Node visits: every visit the timeline shows, running ones
                // included (and said), so the header and the timeline agree
                // while the run is going.
                <div><dt>"Node visits"</dt><dd>{move || all_visits.with(|v| {
                    match v.running() {
                        0 => v.visits().len().to_string(),
                        n => format!("{} ({n} running)", v.visits().len()),
                    }
                })}</dd></div>
                // While the run runs: what is running now and the most so
                // far, kept as frames arrive; the average once it has ended.
                <div><dt>"Parallelism"</dt><dd title="Most nodes running at once, and the average over the run">{move || match parallel.get() {
                    Some(p) => format!("peak {}, average {:.1}", p.peak, p.average),
                    None => all_visits.with(|v| format!("{} running now, peak so far {}", v.running(), v.peak_running())),
                }}</dd></div>
                {move || {
                    let s = summary.get();
                    let tokens = s.total_tokens.map(|t| t.to_string()).unwrap_or_else(|| "—".into());
                    view! {
                        <div><dt>"Failed"</dt><dd>{s.failed_nodes}</dd></div>
                        <div><dt>"Cached"</dt><dd>{s.cached_nodes}</dd></div>
                        <div><dt>"LLM calls"</dt><dd>{s.total_llm_calls}</dd></div>
                        <div><dt>"Tokens"</dt><dd>{tokens}</dd></div>
                    }
                }}
            </dl>
            <details class="payload run-inputs">
                <summary>"Run inputs"</summary>
                {move || view! { <JsonTree value=serde_json::Value::Object(inputs.get())/> }}
            </details>
        </header>
        <div class="run-body">
            <section aria-labelledby="timeline-heading" class="timeline-section">
                <div class="section-head">
                    <h2 id="timeline-heading">"Timeline"</h2>
                    <label>"Node type "
                        <select aria-label="Node type" on:change=move |ev| on_node_filter(event_target_value(&ev))>
                            <option value="" selected=move || node_filter.get().is_none()>"All nodes"</option>
                            {move || node_types.get().into_iter().map(|name| {
                                let value = name.clone();
                                view! {
                                    <option value=value.clone() selected=move || node_filter.get().as_deref() == Some(value.as_str())>
                                        {name}
                                    </option>
                                }
                            }).collect_view()}
                        </select>
                    </label>
                </div>
                {move || critical.with(|c| c.as_ref().map(|c| {
                    let shares = c.shares.iter().take(5).map(|(node, ms, share)| {
                        format!("{node} {:.0} % ({})", share * 100.0, format::duration_ms(*ms))
                    }).collect::<Vec<_>>().join(" · ");
                    view! { <p class="critical-summary">"Critical path (outlined): " {shares}</p> }
                }))}
                <Timeline visits=all_visits node=node_filter start end selected on_select on_clear=on_close critical strip lanes/>
            </section>
            {move || {
                let visit = selected_visit.get()?;
                let execution_id = trace.with_untracked(|t| t.summary.execution_id.clone());
                let slack_ms = critical.with(|c| c.as_ref().and_then(|c| c.slack_ms.get(visit.index).copied()));
                // The visits it follows, resolved as the critical path
                // resolves them, once per opened visit.
                let follows: Vec<(usize, String)> = if visit.parents.is_empty() {
                    Vec::new()
                } else {
                    all_visits.with_untracked(|v| {
                        let links = crate::parallel::causal_parents(v.visits());
                        links.map_or_else(Vec::new, |links| {
                            links.of(visit.index).iter().map(|&p| (p, v.visits()[p].node_id.clone())).collect()
                        })
                    })
                };
                Some(view! { <NodeDetails execution_id visit usual slack_ms follows on_select on_close/> })
            }}
        </div>
        <section aria-labelledby="graph-heading">
            <h2 id="graph-heading">"Graph"</h2>
            <LazySection placeholder="Laying out the graph…" content=move || graph_section(trace, all_visits, parallel_edges, critical, selected, on_select)/>
        </section>
        <section aria-labelledby="state-history-heading">
            <h2 id="state-history-heading">"State history"</h2>
            <LazySection placeholder="Loading the state history…"
                content=move || state_history_section(trace.with_untracked(|t| t.summary.execution_id.clone()), live_snapshots, step, on_step)/>
        </section>
        <section aria-labelledby="nodes-heading">
            <h2 id="nodes-heading">"Node events"</h2>
            <div class="events-scroll" on:scroll=move |ev| events_scroll.set(f64::from(event_target::<leptos::web_sys::Element>(&ev).scroll_top()))>
            <table class="events">
                <thead>
                    <tr>
                        <th scope="col" class="num">"#"</th>
                        <th scope="col">"Node"</th>
                        <th scope="col">"Event"</th>
                        <th scope="col">"Time (UTC)"</th>
                        <th scope="col" class="num">"Duration"</th>
                        <th scope="col">"Error"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        let before = events_window.get().start as f64 * EVENT_ROW_PX;
                        (before > 0.0).then(|| view! { <tr aria-hidden="true" style=format!("height: {before}px")></tr> })
                    }}
                    // Plain lists rather than keyed <For>s on this page: rows
                    // are a scrolling window, updated in place, and each keyed
                    // list would compile its own copy of the keyed diff.
                    {move || {
                        let range = events_window.get();
                        trace.with(|t| t.events[range].iter().cloned().map(|event| view! { <EventRow event/> }).collect_view())
                    }}
                    {move || {
                        let after = trace.with(|t| t.events.len()).saturating_sub(events_window.get().end) as f64 * EVENT_ROW_PX;
                        (after > 0.0).then(|| view! { <tr aria-hidden="true" style=format!("height: {after}px")></tr> })
                    }}
                </tbody>
            </table>
            </div>
        </section>
        <section aria-labelledby="state-heading">
            <h2 id="state-heading">"Final state"</h2>
            {move || match final_state.get() {
                (Some(state), _) => view! { <JsonTree value=serde_json::Value::Object(state)/> }.into_any(),
                (None, ExecutionStatus::Running) => view! { <p class="muted">"No final state yet: the run is still going."</p> }.into_any(),
                (None, _) => view! { <p class="muted">"No final state was recorded."</p> }.into_any(),
            }}
        </section>
    }
}

// The graph (with its layout engine) and the state history are below the
// fold and the heaviest code of the page: lazy, so with `--split` they are
// WASM chunks of their own, fetched once the rest of the page is up.

/// A section whose code is a lazy chunk: the server (and hydration) render
/// `placeholder`; once the page has hydrated, `content` loads and replaces it.
/// Its chunk arrives after the page's code, so there is nothing to hydrate it
/// against before then.
#[component]
fn LazySection<F, Fut>(placeholder: &'static str, content: F) -> impl IntoView
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = AnyView> + Send + 'static,
{
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let placeholder = move || view! { <p class="muted">{placeholder}</p> };
    move || {
        if hydrated.get() {
            let content = content.clone();
            view! { <Suspense fallback=placeholder>{move || Suspend::new(content())}</Suspense> }.into_any()
        } else {
            placeholder().into_any()
        }
    }
}

/// Where a resource stands: loading (`None`), loaded, or failed with this
/// message. A memo, so a section is redrawn when that changes, not on every
/// new value (a resource keeps its last value while it reloads).
fn loading_state<T: 'static>(
    resource: LocalResource<Result<T, crate::error::PageError>>,
) -> Memo<Option<Result<(), String>>> {
    Memo::new(move |_| {
        resource.with(|r| {
            r.as_ref()
                .map(|r| r.as_ref().map(|_| ()).map_err(ToString::to_string))
        })
    })
}

/// The graph view of the run's visits (and its declared graph). Counts and
/// outcomes follow the visits; the layout is asked of the server again only
/// when the structure (nodes, edges) changes.
#[lazy]
fn graph_section(
    trace: RwSignal<RunOutline>,
    all_visits: RwSignal<VisitIndex>,
    parallel_edges: Memo<Option<crate::parallel::EdgeCounts>>,
    critical: Memo<Option<crate::parallel::CriticalPath>>,
    selected: Memo<Option<usize>>,
    on_select: Callback<usize>,
) -> AnyView {
    // The critical path's nodes and the steps between its visits, outlined.
    let marks = Signal::derive(move || {
        critical.with(|c| {
            let Some(c) = c else {
                return CriticalMarks::default();
            };
            all_visits.with(|v| {
                let on_path: Vec<&str> = c
                    .visits
                    .iter()
                    .filter_map(|&i| v.visits().get(i).map(|x| x.node_id.as_str()))
                    .collect();
                let mut nodes: Vec<String> = on_path.iter().map(|n| (*n).to_owned()).collect();
                nodes.sort_unstable();
                nodes.dedup();
                let edges = on_path
                    .windows(2)
                    .filter(|w| w[0] != w[1])
                    .map(|w| (w[0].to_owned(), w[1].to_owned()))
                    .collect();
                CriticalMarks { nodes, edges }
            })
        })
    });
    // The graph shows nodes; a node stands for its latest visit.
    let selected_node = Signal::derive(move || {
        selected
            .get()
            .and_then(|i| all_visits.with(|v| v.visits().get(i).map(|x| x.node_id.clone())))
    });
    let on_node = Callback::new(move |id: String| {
        let latest = all_visits.with_untracked(|v| {
            let visits_of_node = v.row_count(Some(&id));
            v.row(Some(&id), visits_of_node.checked_sub(1)?).map(|x| x.index)
        });
        if let Some(index) = latest {
            on_select.run(index);
        }
    });
    let tallied = Memo::new(move |_| {
        let declared = trace.with(|t| t.summary.graph.clone());
        parallel_edges.with(|taken| all_visits.with(|v| tally(declared.as_ref(), v, taken.as_deref())))
    });
    let structure = Memo::new(move |_| tallied.with(|t| t.structure.clone()));
    // Local: this section only ever renders in the browser (see LazySection).
    let layout = LocalResource::new(move || {
        let structure = structure.get();
        async move {
            let layout = lay_out_graph(structure.clone()).await?;
            Ok::<_, crate::error::PageError>((structure, layout))
        }
    });
    let graph: Signal<_> = Memo::new(move |_| {
        // Borrowed, not cloned: this runs on every live event. `all_visits`
        // is read first: `tallied` derives from it and often stays equal
        // when a visit ends, and read first it would hide that change (see
        // the timeline's rows).
        all_visits.with(|v| {
            layout.with(|laid| {
                let none = LaidOut::default();
                let laid = laid.as_ref().and_then(|r| r.as_ref().ok()).unwrap_or(&none);
                tallied.with(|t| place(t, v, laid))
            })
        })
    })
    .into();
    // Read without a Suspense: while a grown graph is laid out, the resource
    // still holds the last layout, so the drawing stays until the new one.
    let state = loading_state(layout);
    (move || match state.get() {
        None => view! { <p class="muted">"Laying out the graph…"</p> }.into_any(),
        Some(Ok(())) => {
            view! { <GraphPanel graph selected=selected_node on_node critical=marks/> }.into_any()
        }
        Some(Err(e)) => view! { <p role="alert">"Could not lay out the graph: " {e}</p> }.into_any(),
    })
    .into_any()
}

/// The state history with its scrubber: the run's stored snapshots, loaded
/// when the section first shows, then those that arrive live.
#[lazy]
fn state_history_section(
    execution_id: String,
    live_snapshots: RwSignal<Vec<StateSnapshot>>,
    step: Memo<usize>,
    on_step: Callback<usize>,
) -> AnyView {
    // Local: this section only ever renders in the browser (see LazySection).
    let loaded = LocalResource::new(move || get_state_history(execution_id.clone()));
    let snapshots: Signal<Vec<StateSnapshot>> = Memo::new(move |_| {
        let mut all = loaded.get().and_then(Result::ok).unwrap_or_default();
        let loaded_until = all.last().map_or(0, |s| s.seq);
        live_snapshots.with(|live| all.extend(live.iter().filter(|s| s.seq > loaded_until).cloned()));
        all
    })
    .into();
    let state = loading_state(loaded);
    (move || match state.get() {
        None => view! { <p class="muted">"Loading the state history…"</p> }.into_any(),
        Some(Ok(())) => view! { <StateHistoryPanel snapshots step on_step/> }.into_any(),
        Some(Err(e)) => view! { <p role="alert">"Could not load the state history: " {e}</p> }.into_any(),
    })
    .into_any()
}

#[component]
fn EventRow(event: EventOutline) -> impl IntoView {
    let duration = event.duration_ms.map(format::duration_ms).unwrap_or_default();
    view! {
        <tr class=format!("event event-{}", event.event_type.as_str())>
            <td class="num">{event.seq}</td>
            <td>{event.node_id.clone()}</td>
            <td><StatusBadge status=event.event_type.as_str()/></td>
            <td>{format::timestamp(&event.timestamp)}</td>
            <td class="num">{duration}</td>
            <td class="error-text">{event.error.clone().unwrap_or_default()}</td>
        </tr>
    }
}
