//! The top bar's account area: who is signed in, and a sign-out button (a
//! form POST, so signing out cannot be triggered by a link from elsewhere).

use crate::server_fns::use_viewer;
use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Account() -> impl IntoView {
    let viewer = use_viewer();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let viewer = viewer.await.unwrap_or_default();
                let admin = viewer.admin && viewer.sign_in_required;
                viewer.name.map(|name| view! {
                    <div class="account">
                        {admin.then(|| view! { <A href="/access">"Access"</A> })}
                        <span>"Signed in as " <strong>{name}</strong></span>
                        <form method="post" action="/logout">
                            <button type="submit">"Sign out"</button>
                        </form>
                    </div>
                })
            })}
        </Transition>
    }
}

/// "Alerts" in the main navigation, for those who may manage alert rules
/// (admins; everyone on a server without sign-in).
#[component]
pub fn AlertsLink() -> impl IntoView {
    let viewer = use_viewer();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                viewer.await.unwrap_or_default().admin.then(|| view! { <A href="/alerts">"Alerts"</A> })
            })}
        </Transition>
    }
}
