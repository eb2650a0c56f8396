//! A run's or node event's outcome as a coloured, labelled badge.

use leptos::prelude::*;

/// A badge whose text is the status itself (so it reads without colour).
#[component]
pub fn StatusBadge(status: &'static str) -> impl IntoView {
    view! { <span class=format!("badge badge-{status}")>{status}</span> }
}
