//! The live indicator: whether a page is receiving updates as they happen.

use leptos::prelude::*;

/// The state of a page's live connection.
#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "only the browser's live client changes the state")
)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    /// Not connected yet (also what the server renders).
    Connecting,
    /// Receiving updates as they happen.
    Live,
    /// The connection dropped; trying again.
    Reconnecting,
    /// Several attempts failed; still retrying, less often.
    Offline,
    /// The run finished; nothing more will come.
    Finished,
}

/// A labelled indicator of `connection`, announced politely to screen readers.
#[component]
pub fn ConnectionBadge(connection: RwSignal<Connection>) -> impl IntoView {
    let label = move || match connection.get() {
        Connection::Connecting => ("connecting", "Connecting…"),
        Connection::Live => ("live", "Live"),
        Connection::Reconnecting => ("reconnecting", "Reconnecting…"),
        Connection::Offline => ("offline", "Offline — retrying"),
        Connection::Finished => ("finished", "Finished"),
    };
    view! {
        <span role="status" aria-live="polite" class=move || format!("conn conn-{}", label().0)>
            {move || label().1}
        </span>
    }
}
