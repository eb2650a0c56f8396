//! A polite screen-reader announcement of live updates: "3 new node visits",
//! said once the updates have settled for a moment — never one message per
//! live frame, which would drown out everything else the person is doing.

use leptos::prelude::*;
use std::sync::{Arc, Mutex};

/// How long updates are gathered into one announcement.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(2);

/// Announces how much `count` grew, as "N new `many`" ("1 new `one`").
#[component]
pub fn LiveAnnouncer(count: Signal<usize>, one: &'static str, many: &'static str) -> impl IntoView {
    let message = RwSignal::new(String::new());
    // The count last told (None until the first look: what the page showed
    // when it opened is not news).
    let told = StoredValue::new(None::<usize>);
    let waiting = StoredValue::new(false);
    // The pending announcement's timer, cleared when the page is left: its
    // callback reads `count`, which leaving the page disposes, and reading
    // a disposed signal panics the whole client (it then stops reacting).
    let timer: Arc<Mutex<Option<TimeoutHandle>>> = Arc::default();
    on_cleanup({
        let timer = timer.clone();
        move || {
            if let Some(handle) = timer.lock().ok().and_then(|mut t| t.take()) {
                handle.clear();
            }
        }
    });
    // Effects run in the browser only.
    Effect::new(move |_| {
        let now = count.get();
        if told.get_value().is_none() {
            told.set_value(Some(now));
            return;
        }
        if waiting.get_value() {
            return;
        }
        waiting.set_value(true);
        let scheduled = set_timeout_with_handle(
            move || {
                waiting.set_value(false);
                // `try_`: a timer that fired as the page was left finds
                // nothing to tell.
                let Some(now) = count.try_get_untracked() else {
                    return;
                };
                let before = told.try_get_value().flatten().unwrap_or(now);
                if now > before {
                    let new = now - before;
                    message.set(format!("{new} new {}", if new == 1 { one } else { many }));
                }
                told.set_value(Some(now));
            },
            SETTLE,
        );
        if let (Ok(handle), Ok(mut pending)) = (scheduled, timer.lock()) {
            *pending = Some(handle);
        }
    });
    view! { <p class="visually-hidden" aria-live="polite">{move || message.get()}</p> }
}
