//! Assembles the whole HTTP application — the JSON API, the Leptos pages and
//! server functions, static files — and serves it until shutdown.

use crate::api;
use crate::service::TraceService;
use app::server_fns::{SharedHistoryQueries, SharedTraceService};
use app::{shell, App};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;

/// Builds the router for `service`.
pub fn router(service: TraceService, max_body_bytes: usize, site_root: &str) -> Router {
    let options = LeptosOptions::builder()
        .output_name("tracevis")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .build();
    let routes = generate_route_list(App);
    let shared: SharedTraceService = Arc::new(service.clone());
    let history: SharedHistoryQueries = Arc::new(service.clone());
    // The WASM, JS and CSS: brotli or gzip files made by `cargo leptos build
    // --release --precompress` when the browser accepts them, else as is.
    let assets = ServeDir::new(Path::new(site_root).join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    let pages = Router::new()
        .nest_service("/pkg", assets)
        .leptos_routes_with_context(
            &options,
            routes,
            move || {
                provide_context(shared.clone());
                provide_context(history.clone());
            },
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options);
    api::router(service, max_body_bytes)
        .merge(pages)
        // Everything else (pages, server functions, API answers) is compressed
        // on the fly when the client asks, at the fastest level: a large
        // run's page shrinks several times over for a little CPU. Responses
        // already encoded (the precompressed assets) and tiny ones are left alone.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(TraceLayer::new_for_http())
}

/// Serves `router` on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(listener: TcpListener, router: Router) -> anyhow::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
