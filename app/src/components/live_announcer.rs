//! A polite screen-reader announcement of live updates: "3 new node visits",
//! said once the updates have settled for a moment — never one message per
//! live frame, which would drown out everything else the person is doing.

use leptos::prelude::*;

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
        set_timeout(
            move || {
                waiting.set_value(false);
                let now = count.get_untracked();
                let before = told.get_value().unwrap_or(now);
                if now > before {
                    let new = now - before;
                    message.set(format!("{new} new {}", if new == 1 { one } else { many }));
                }
                told.set_value(Some(now));
            },
            SETTLE,
        );
    });
    view! { <p class="visually-hidden" aria-live="polite">{move || message.get()}</p> }
}
