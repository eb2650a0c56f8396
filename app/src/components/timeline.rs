//! The timeline (Gantt): one bar per node visit on the run's time axis,
//! coloured by outcome; retries are attempts of the same node, cache hits
//! say what they saved. A bar is a button: choosing it opens its details.

use crate::format;
use crate::timeline::NodeVisit;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// The timeline of `visits` between `start` and `end`.
#[component]
pub fn Timeline(
    visits: Signal<Vec<NodeVisit>>,
    start: Signal<DateTime<Utc>>,
    end: Signal<DateTime<Utc>>,
    selected: Memo<Option<usize>>,
    on_select: Callback<usize>,
) -> impl IntoView {
    let zoom = RwSignal::new(1.0f64);
    let span_ms =
        move || ((end.get() - start.get()).num_microseconds().unwrap_or(0) as f64 / 1_000.0).max(1.0);
    view! {
        <div class="timeline-tools">
            <label>"Zoom "
                <input type="range" min="1" max="50" step="1" aria-label="Zoom"
                    prop:value=move || zoom.get().to_string()
                    on:input=move |ev| zoom.set(event_target_value(&ev).parse().unwrap_or(1.0))/>
            </label>
            <span class="muted">{move || format!("{} visits over {}", visits.with(Vec::len), format::duration_ms(span_ms()))}</span>
        </div>
        <div class="timeline-scroll" tabindex="0" aria-label="Timeline, scroll to pan">
            <ol class="timeline" style=move || format!("width: {}%", zoom.get() * 100.0)>
                <For each=move || visits.get() key=|v| (v.index, v.end_seq, v.outcome.as_str()) let:visit>
                    {
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
                        let label = bar_label(&visit);
                        view! {
                            <li>
                                <button
                                    class=format!("visit visit-{}", visit.outcome.as_str())
                                    aria-pressed=move || (selected.get() == Some(index)).to_string()
                                    on:click=move |_| on_select.run(index)
                                >
                                    <span class="visit-label">{label}</span>
                                    <span class="visit-track"><span class="visit-bar" style=style></span></span>
                                </button>
                            </li>
                        }
                    }
                </For>
            </ol>
        </div>
    }
}

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
