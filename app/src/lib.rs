//! tracevis's shared crate: the trace model, the structural diff, the protocol
//! and store seams (server side only), server functions, and the Leptos pages
//! that render on the server and hydrate in the browser.

// The run page's view type is deep; release builds (which do not erase view
// types) need more than the default 128 levels to compute its layout.
#![recursion_limit = "256"]

pub mod access;
pub mod alerts;
pub mod answer_encoding;
pub mod clock;
pub mod compare;
pub mod diff;
pub mod error;
pub mod format;
#[cfg(feature = "ssr")]
pub mod graph_layout;
pub mod graph_view;
pub mod histogram;
pub mod live;
pub mod model;
pub mod parallel;
pub mod search;
pub mod server_fns;
pub mod state_history;
pub mod timeline;
mod url_state;
mod virtual_window;

mod components;
mod pages;
mod routes;

#[cfg(feature = "hydrate")]
mod live_client;

#[cfg(feature = "ssr")]
pub mod protocol;
#[cfg(feature = "ssr")]
pub mod store;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, Lazy, StaticSegment};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <script nonce=leptos::nonce::use_nonce() inner_html=components::THEME_BOOT></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: header, navigation and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context::<server_fns::ViewerResource>(OnceResource::new(server_fns::current_viewer()));
    view! {
        <Stylesheet id="leptos" href="/pkg/tracevis.css"/>
        <Title text="tracevis"/>
        <Router>
            // The first stop for the keyboard: past the navigation to the page
            // (`rel="external"`: the browser, not the router, follows it, and
            // so moves the focus).
            <a class="skip-link" href="#main" rel="external">"Skip to main content"</a>
            <header class="topbar">
                <A href="/" attr:class="brand">"tracevis"</A>
                <nav aria-label="Main">
                    <A href="/">"Runs"</A>
                    <A href="/compare">"Compare"</A>
                    <A href="/stats">"Metrics"</A>
                    <components::AlertsLink/>
                </nav>
                <components::ThemePicker/>
                <components::Account/>
            </header>
            <main id="main" tabindex="-1">
                <Routes fallback=|| view! { <p role="alert">"Page not found."</p> }>
                    <Route path=StaticSegment("") view={Lazy::<routes::RunListRoute>::new()}/>
                    <Route path=path!("/executions/:id") view={Lazy::<routes::RunRoute>::new()}/>
                    <Route path=StaticSegment("compare") view={Lazy::<routes::CompareRoute>::new()}/>
                    <Route path=StaticSegment("stats") view={Lazy::<routes::StatsRoute>::new()}/>
                    <Route path=StaticSegment("login") view=pages::LoginPage/>
                    <Route path=StaticSegment("access") view=pages::AccessPage/>
                    <Route path=StaticSegment("alerts") view=pages::AlertsPage/>
                </Routes>
            </main>
        </Router>
    }
}
