//! State history with time travel: a scrubber over the stored snapshots, the
//! structural diff of each step, the whole state at that step, and for a
//! chosen field the node that last changed it. Nothing is re-run.

use crate::components::JsonTree;
use crate::diff::DiffOp;
use crate::format;
use crate::model::StateSnapshot;
use crate::state_history::last_change;
use leptos::prelude::*;

/// The state history of a run; `step` is the shown snapshot's index.
#[component]
pub fn StateHistoryPanel(
    snapshots: Signal<Vec<StateSnapshot>>,
    step: Memo<usize>,
    on_step: Callback<usize>,
) -> impl IntoView {
    let field = RwSignal::new(String::new());
    let count = move || snapshots.with(Vec::len);
    let current = move || snapshots.with(|s| s.get(step.get().min(s.len().saturating_sub(1))).cloned());
    let changed_by = move || {
        let path = field.get();
        if path.trim().is_empty() {
            return None;
        }
        let path = if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        };
        Some(snapshots.with(|s| match last_change(s, step.get(), &path) {
            Some(i) => format!("{path} was last changed by {} at step {}", s[i].node_id, i + 1),
            None => format!("{path} has not been set by step {}", step.get() + 1),
        }))
    };
    view! {
        <Show when=move || { count() > 0 } fallback=|| view! { <p class="empty">"This run has no state snapshots."</p> }>
            <div class="scrubber">
                <button on:click=move |_| on_step.run(step.get().saturating_sub(1)) disabled=move || { step.get() == 0 }>"← Previous"</button>
                <input type="range" min="0" aria-label="State step" aria-describedby="state-keys"
                    prop:max=move || count().saturating_sub(1).to_string()
                    prop:value=move || step.get().to_string()
                    on:input=move |ev| on_step.run(event_target_value(&ev).parse().unwrap_or(0))/>
                <button on:click=move |_| on_step.run((step.get() + 1).min(count().saturating_sub(1)))
                    disabled=move || { step.get() + 1 >= count() }>"Next →"</button>
                <span class="muted keys" id="state-keys">"←/→ step through the states · Home/End: first/last"</span>
                <span class="step-label" aria-live="polite">{move || current().map(|s| format!(
                    "Step {} of {} — after {} at {}", step.get() + 1, count(), s.node_id, format::timestamp(&s.timestamp)
                ))}</span>
            </div>
            <div class="state-columns">
                <div>
                    <h3>"Changes in this step"</h3>
                    {move || match current().and_then(|s| s.diff) {
                        None => view! { <p class="muted">"The first state: nothing to compare with."</p> }.into_any(),
                        Some(diff) if diff.is_empty() => view! { <p class="muted">"No changes."</p> }.into_any(),
                        Some(diff) => view! {
                            <table class="diff">
                                <thead><tr><th scope="col">"Path"</th><th scope="col">"Change"</th><th scope="col">"Old"</th><th scope="col">"New"</th></tr></thead>
                                <tbody>
                                    {diff.into_iter().map(|entry| {
                                        let op = match entry.op { DiffOp::Add => "added", DiffOp::Remove => "removed", DiffOp::Replace => "changed" };
                                        let show = |v: Option<serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
                                        view! {
                                            <tr class=format!("diff-{op}")>
                                                <td><code>{entry.path}</code></td>
                                                <td>{op}</td>
                                                <td><code>{show(entry.old)}</code></td>
                                                <td><code>{show(entry.new)}</code></td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }}
                    <label class="field-lookup">"Which node last changed a field? "
                        <input type="text" placeholder="/draft/title" aria-label="Field path"
                            prop:value=move || field.get()
                            on:input=move |ev| field.set(event_target_value(&ev))/>
                    </label>
                    {move || changed_by().map(|text| view! { <p class="changed-by" role="note">{text}</p> })}
                </div>
                <div>
                    <h3>"Whole state at this step"</h3>
                    {move || current().map(|s| view! { <JsonTree value=serde_json::Value::Object(s.state)/> })}
                </div>
            </div>
        </Show>
    }
}
