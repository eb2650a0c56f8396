//! The timeline (Gantt): one bar per node visit on the run's time axis,
//! coloured by outcome; retries are attempts of the same node, cache hits
//! say what they saved. A bar is a button: choosing it opens its details;
//! ↑/↓ (or k/j) move the choice between visits and Esc closes it.

use crate::format;
use crate::parallel::CriticalPath;
use crate::timeline::{axis_ticks, NodeVisit, VisitIndex};
use crate::url_state::{query_param, query_setter};
use crate::virtual_window::{visible_range, INITIAL_ROWS};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// The timeline of `visits` (all, or those of the node `node`) between
/// `start` and `end`; `on_select` opens a visit (by index), `on_clear`
/// closes it. It reads only the rows it shows, so a live run's new visit
/// costs the window, not the run.
#[component]
pub fn Timeline(
    visits: RwSignal<VisitIndex>,
    node: Memo<Option<String>>,
    start: Signal<DateTime<Utc>>,
    end: Signal<DateTime<Utc>>,
    selected: Memo<Option<usize>>,
    on_select: Callback<usize>,
    on_clear: Callback<()>,
    /// The run's critical path, when it ran nodes side by side: its visits
    /// are outlined and say so.
    critical: Memo<Option<CriticalPath>>,
    /// How many visits ran at once, per column of the run's span, for a
    /// run that ran nodes side by side: drawn under the axis.
    strip: Memo<Option<Vec<usize>>>,
    /// Each visit's lane (by index), for a finished run that ran nodes side
    /// by side and is small enough to draw whole: offers the lanes layout.
    lanes: Memo<Option<Vec<usize>>>,
) -> impl IntoView {
    // The zoom level lives in the URL (?zoom=), set when the slider is let go.
    let zoom_param = query_param("zoom");
    let zoom_from_url = move || {
        zoom_param
            .get()
            .and_then(|z| z.parse::<f64>().ok())
            .filter(|z| z.is_finite())
            .map_or(1.0, |z| z.clamp(1.0, MAX_ZOOM))
    };
    let zoom = RwSignal::new(zoom_from_url());
    Effect::new(move |_| zoom.set(zoom_from_url()));
    let set_query = query_setter();
    let set_layout = set_query.clone();
    // One row per visit, or (?layout=lanes) one row per lane: visits that
    // ran side by side on rows of their own, one after another on the same.
    let layout = query_param("layout");
    let in_lanes =
        Memo::new(move |_| layout.with(|l| l.as_deref() == Some("lanes")) && lanes.with(Option::is_some));
    // Only the rows around the scroll position are in the DOM (see virtual_window).
    let scroll_top = RwSignal::new(0.0f64);
    let span_ms =
        move || ((end.get() - start.get()).num_microseconds().unwrap_or(0) as f64 / 1_000.0).max(1.0);
    let scroller = NodeRef::<leptos::html::Div>::new();
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let step: isize = match ev.key().as_str() {
            "ArrowDown" | "j" => 1,
            "ArrowUp" | "k" => -1,
            "Escape" => return on_clear.run(()),
            _ => return,
        };
        ev.prevent_default();
        let node = node.get_untracked();
        let node = node.as_deref();
        let target = visits.with_untracked(|v| {
            let here = selected.get_untracked().and_then(|s| v.row_of(node, s));
            let row = here.map_or(0, |r| {
                r.saturating_add_signed(step)
                    .min(v.row_count(node).saturating_sub(1))
            });
            v.row(node, row).map(|x| (row, x.index))
        });
        let Some((row, index)) = target else { return };
        on_select.run(index);
        // Keep the chosen row in view.
        if let Some(el) = scroller.get_untracked() {
            let (top, seen, height) = (
                row as f64 * ROW_PX,
                f64::from(el.scroll_top()),
                f64::from(el.client_height()),
            );
            if top < seen {
                el.set_scroll_top(top as i32);
            } else if top + ROW_PX > seen + height {
                el.set_scroll_top((top + ROW_PX - height).ceil() as i32);
            }
        }
    };
    let row_count = move || node.with(|n| visits.with(|v| v.row_count(n.as_deref())));
    view! {
        <div class="timeline-tools">
            <label>"Zoom "
                <input type="range" min="1" max=MAX_ZOOM step="1" aria-label="Zoom"
                    prop:value=move || zoom.get().to_string()
                    on:input=move |ev| zoom.set(event_target_value(&ev).parse().unwrap_or(1.0))
                    on:change=move |ev| {
                        let z: f64 = event_target_value(&ev).parse().unwrap_or(1.0);
                        set_query("zoom", (z > 1.0).then(|| z.to_string()));
                    }/>
            </label>
            {move || lanes.with(Option::is_some).then(|| {
                let set_query = set_layout.clone();
                view! {
                    <label>"Layout "
                        <select aria-label="Timeline layout" on:change=move |ev| {
                            let lanes = event_target_value(&ev) == "lanes";
                            set_query("layout", lanes.then(|| "lanes".to_owned()));
                        }>
                            <option value="visits" selected=move || !in_lanes.get()>"One row per visit"</option>
                            <option value="lanes" selected=move || in_lanes.get()>"Lanes (branches side by side)"</option>
                        </select>
                    </label>
                }
            })}
            <span class="muted">{move || format!("{} visits over {}", row_count(), format::duration_ms(span_ms()))}</span>
            <span class="muted keys" id="timeline-keys">"↑/↓ move between visits · Esc closes"</span>
        </div>
        <div class="timeline-scroll" tabindex="0" aria-label="Timeline, scroll to pan" aria-describedby="timeline-keys"
            node_ref=scroller on:keydown=on_key
            on:scroll=move |ev| scroll_top.set(f64::from(event_target::<leptos::web_sys::Element>(&ev).scroll_top()))>
            // The time axis: offsets from the run's start, above the bars and
            // as wide as they are.
            <div class="timeline-axis" aria-hidden="true" style=move || format!("width: {}%", zoom.get() * 100.0)>
                <span class="axis-corner"></span>
                <span class="axis-track">
                    {move || axis_ticks(span_ms(), zoom.get()).into_iter().map(|(at, ms)| view! {
                        <span class="tick" style=format!("left: {at:.3}%")>{format::tick_label(ms)}</span>
                    }).collect_view()}
                </span>
            </div>
            {move || strip.with(|strip| strip.as_ref().map(|counts| {
                let peak = counts.iter().copied().max().unwrap_or(0).max(1);
                let columns = counts.len();
                view! {
                    <div class="concurrency-strip" style=format!("width: {}%", zoom.get() * 100.0)>
                        <span class="axis-corner muted">"Running at once"</span>
                        <svg viewBox=format!("0 0 {columns} {peak}") preserveAspectRatio="none" role="img"
                            aria-label=format!("Nodes running at once over the run: at most {peak}")>
                            // One step outline, not a rect per column: no seams between columns.
                            <path d=strip_outline(counts, peak)></path>
                        </svg>
                    </div>
                }
            }))}
            {move || in_lanes.get().then(|| view! {
                <LaneRows visits lanes node start end span_ms=Signal::derive(span_ms) zoom selected on_select critical/>
            })}
            <ol class="timeline" hidden=move || in_lanes.get() style=move || format!(
                "width: {}%; height: {}px", zoom.get() * 100.0, row_count() as f64 * ROW_PX
            )>
                // A plain list, not a keyed <For>: the rows are a window that
                // scrolls, so they are updated in place.
                // The window is computed here from `visits`, not read from a
                // memo of it: a closure that reads a memo and a memo derived
                // from it can miss the first memo's change when the derived
                // one stays equal (a visit that ends keeps the row count), and
                // the last visit of a live run stayed "running".
                {move || {
                    let (range, rows) = node.with(|n| visits.with(|v| {
                        let n = n.as_deref();
                        let range = visible_range(scroll_top.get(), ROW_PX, INITIAL_ROWS, v.row_count(n));
                        (range.clone(), v.rows(n, range))
                    }));
                    rows.into_iter().enumerate().map(|(i, visit)| {
                        let row = range.start + i;
                        let index = visit.index;
                        let offset_ms = (visit.start - start.get_untracked()).num_microseconds().unwrap_or(0) as f64 / 1_000.0;
                        let length_ms = visit.duration_ms.unwrap_or_else(|| {
                            (end.get_untracked() - visit.start).num_microseconds().unwrap_or(0) as f64 / 1_000.0
                        });
                        let style = move || {
                            let span = span_ms();
                            format!(
                                "left: {:.3}%; width: max({:.3}%, 2px)",
                                (offset_ms / span * 100.0).clamp(0.0, 100.0),
                                (length_ms / span * 100.0).clamp(0.0, 100.0)
                            )
                        };
                        let on_path = critical.with(|c| c.as_ref().is_some_and(|c| c.contains(index)));
                        let mut label = bar_label(&visit);
                        if on_path {
                            label.push_str(" · critical path");
                        }
                        view! {
                            <li style=format!("top: {}px", row as f64 * ROW_PX)>
                                <button
                                    class=format!("visit visit-{}{}", visit.outcome.as_str(), if on_path { " critical" } else { "" })
                                    aria-pressed=move || (selected.get() == Some(index)).to_string()
                                    on:click=move |_| on_select.run(index)
                                >
                                    <span class="visit-label">{label}</span>
                                    <span class="visit-track"><span class="visit-bar" style=style></span></span>
                                </button>
                            </li>
                        }
                    }).collect_view()
                }}
            </ol>
        </div>
    }
}

/// The lanes layout: a row per lane, each visit a bar on its lane's row (a
/// button that opens it, named like the rows of the other layout). Offered
/// only for runs small enough to draw whole (`lanes` is `None` otherwise).
#[component]
fn LaneRows(
    visits: RwSignal<VisitIndex>,
    lanes: Memo<Option<Vec<usize>>>,
    node: Memo<Option<String>>,
    start: Signal<DateTime<Utc>>,
    end: Signal<DateTime<Utc>>,
    span_ms: Signal<f64>,
    zoom: RwSignal<f64>,
    selected: Memo<Option<usize>>,
    on_select: Callback<usize>,
    critical: Memo<Option<CriticalPath>>,
) -> impl IntoView {
    let rows = move || {
        lanes.with(|lanes| {
            let Some(lanes) = lanes else { return Vec::new() };
            let count = lanes.iter().copied().max().map_or(0, |m| m + 1);
            let mut rows: Vec<Vec<NodeVisit>> = vec![Vec::new(); count];
            node.with(|node| {
                visits.with(|v| {
                    for visit in v.visits() {
                        if node.as_ref().is_some_and(|n| *n != visit.node_id) {
                            continue;
                        }
                        if let Some(&lane) = lanes.get(visit.index) {
                            rows[lane].push(visit.clone());
                        }
                    }
                })
            });
            rows
        })
    };
    view! {
        <ol class="timeline lanes" aria-label="Timeline by lane" style=move || format!(
            "width: {}%; height: {}px", zoom.get() * 100.0,
            lanes.with(|l| l.as_ref().and_then(|l| l.iter().max()).map_or(0, |m| m + 1)) as f64 * ROW_PX
        )>
            {move || rows().into_iter().enumerate().map(|(lane, visits)| {
                let names = {
                    let mut names: Vec<&str> = visits.iter().map(|v| v.node_id.as_str()).collect();
                    names.sort_unstable();
                    names.dedup();
                    names.join(", ")
                };
                view! {
                    <li class="lane" style=format!("top: {}px", lane as f64 * ROW_PX)>
                        <span class="visit-label" title=names.clone()>{format!("Lane {} · {names}", lane + 1)}</span>
                        <span class="visit-track">
                            {visits.into_iter().map(|visit| {
                                let index = visit.index;
                                let offset_ms = (visit.start - start.get_untracked()).num_microseconds().unwrap_or(0) as f64 / 1_000.0;
                                let length_ms = visit.duration_ms.unwrap_or_else(|| {
                                    (end.get_untracked() - visit.start).num_microseconds().unwrap_or(0) as f64 / 1_000.0
                                });
                                let on_path = critical.with(|c| c.as_ref().is_some_and(|c| c.contains(index)));
                                let mut label = bar_label(&visit);
                                if on_path {
                                    label.push_str(" · critical path");
                                }
                                let style = move || {
                                    let span = span_ms.get();
                                    format!(
                                        "left: {:.3}%; width: max({:.3}%, 2px)",
                                        (offset_ms / span * 100.0).clamp(0.0, 100.0),
                                        (length_ms / span * 100.0).clamp(0.0, 100.0)
                                    )
                                };
                                view! {
                                    <button class=format!("lane-visit visit-{}{}", visit.outcome.as_str(), if on_path { " critical" } else { "" })
                                        style=style title=label.clone() aria-label=label
                                        aria-pressed=move || (selected.get() == Some(index)).to_string()
                                        on:click=move |_| on_select.run(index)></button>
                                }
                            }).collect_view()}
                        </span>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

/// The concurrency strip's shape: a step line over `counts` (one unit wide
/// each, `peak` high), closed along the bottom.
fn strip_outline(counts: &[usize], peak: usize) -> String {
    let mut d = format!("M0 {peak}");
    for (i, c) in counts.iter().enumerate() {
        let y = peak.saturating_sub(*c);
        d.push_str(&format!(" L{i} {y} L{} {y}", i + 1));
    }
    d.push_str(&format!(" L{} {peak} Z", counts.len()));
    d
}

/// The deepest zoom: the run's span 50 times the panel's width.
const MAX_ZOOM: f64 = 50.0;

/// Height of one timeline row, in CSS pixels (matches the stylesheet).
const ROW_PX: f64 = 24.0;

/// "SearchNode · attempt 2 · failed · 340 ms" — what a bar says in words.
fn bar_label(visit: &NodeVisit) -> String {
    let mut parts = vec![visit.node_id.clone()];
    if visit.attempt > 1 {
        parts.push(format!("attempt {}", visit.attempt));
    }
    parts.push(visit.outcome.as_str().to_owned());
    if let Some(ms) = visit.duration_ms {
        parts.push(format::duration_ms(ms));
    }
    if let Some(saved) = visit.saved_ms {
        parts.push(format!("saved {}", format::duration_ms(saved)));
    }
    parts.join(" · ")
}
