//! The pages as lazily loaded routes: with `cargo leptos build --split`, each
//! page's code is its own WASM chunk, fetched when the page is first shown,
//! so the main bundle holds only the shell, the router and what pages share.
//! Without `--split` (debug builds) they behave as ordinary routes.

use crate::pages;
use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

/// `/`: the run list.
pub struct RunListRoute;

#[lazy_route]
impl LazyRoute for RunListRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <pages::ExecutionListPage/> }.into_any()
    }
}

/// `/executions/{id}`: one run.
pub struct RunRoute;

#[lazy_route]
impl LazyRoute for RunRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <pages::ExecutionPage/> }.into_any()
    }
}

/// `/compare`: two runs side by side.
pub struct CompareRoute;

#[lazy_route]
impl LazyRoute for CompareRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <pages::ComparePage/> }.into_any()
    }
}

/// `/stats`: the metrics.
pub struct StatsRoute;

#[lazy_route]
impl LazyRoute for StatsRoute {
    fn data() -> Self {
        Self
    }

    fn view(this: Self) -> AnyView {
        let _ = this;
        view! { <pages::StatsPage/> }.into_any()
    }
}
