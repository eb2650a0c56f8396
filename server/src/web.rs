//! Assembles the whole HTTP application — the JSON API, the Leptos pages and
//! server functions, static files — and serves it until shutdown.

use crate::access::{self, login, Gate, Identity};
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
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Builds the router for `service`, every route behind `gate`.
pub fn router(service: TraceService, gate: Gate, limits: Limits, site_root: &str) -> Router {
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
            {
                let gate = gate.clone();
                let admin: app::access::SharedAccessAdmin = Arc::new(gate.clone());
                let alerts: Option<app::alerts::SharedAlertAdmin> = service
                    .alerts()
                    .ok()
                    .map(|a| Arc::new(a.clone()) as app::alerts::SharedAlertAdmin);
                move || {
                    provide_context(admin.clone());
                    if let Some(alerts) = &alerts {
                        provide_context(alerts.clone());
                    }
                    provide_context(shared.clone());
                    provide_context(history.clone());
                    provide_context(viewer_of_request(&gate));
                    set_content_security_policy();
                }
            },
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .with_state(options);
    let sign_in = Router::new()
        .route("/login", axum::routing::post(login::sign_in))
        .route("/logout", axum::routing::post(login::sign_out))
        .with_state(gate.clone());
    let app = api::router(service, limits.max_body_bytes)
        .merge(sign_in)
        .merge(pages)
        .layer(axum::middleware::from_fn_with_state(gate, access::gate::check))
        .layer(axum::middleware::from_fn(access::headers::add))
        // One body limit for every door: the API, OTLP and sign-in read
        // theirs with axum's extractors, which honour DefaultBodyLimit; the
        // pages' server functions read theirs whole themselves, past it, so
        // `limit_body` puts the limit on the body itself too.
        .layer(axum::extract::DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            limits.max_body_bytes,
            limit_body,
        ));
    guarded(app, limits.request_timeout)
        // Everything else (pages, server functions, API answers) is compressed
        // on the fly when the client asks, at the fastest level: a large
        // run's page shrinks several times over for a little CPU. Responses
        // already encoded (the precompressed assets) and tiny ones are left alone.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(TraceLayer::new_for_http())
}

/// Refuses a body declared longer than `max` bytes at once (`413`, in the
/// API's error shape) and cuts off one that streams past it, whoever reads
/// it: a server function's arguments then fail to read (`400`).
async fn limit_body(
    axum::extract::State(max): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(max).unwrap_or(u64::MAX)) {
        return api::extract::body_refused(axum::http::StatusCode::PAYLOAD_TOO_LARGE, String::new())
            .into_response();
    }
    let request = request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, max)));
    next.run(request).await
}

/// Who the page is shown to, for the top bar and the sign-in page: read
/// from the `Identity` the gate put on the request.
fn viewer_of_request(gate: &Gate) -> app::server_fns::Viewer {
    let identity = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Identity>().cloned());
    let (name, admin) = match identity {
        Some(Identity::Person { name, role }) => (Some(name), role == access::Role::Admin),
        Some(other) => (None, other.scope() == access::Scope::Admin),
        None => (None, false),
    };
    app::server_fns::Viewer {
        name,
        admin,
        sign_in_required: gate.required(),
    }
}

/// Puts the page's Content-Security-Policy, with the nonce leptos_axum made
/// for this request, on the response.
fn set_content_security_policy() {
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let host = use_context::<axum::http::request::Parts>().and_then(|parts| {
        parts
            .headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    let policy = access::headers::content_security_policy(&nonce, host.as_deref());
    if let Ok(value) = axum::http::HeaderValue::from_str(&policy) {
        response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// What every request is held to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted request body in bytes (OTLP's after decompression).
    pub max_body_bytes: usize,
    /// The longest any HTTP request may take, reading its body included,
    /// before it is answered `503` (WebSockets are not bounded: their
    /// upgrade is answered at once).
    pub request_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024 * 1024,
            request_timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// `router` with the guards every route has: a panic becomes a logged
/// `500` for that request (never a dropped connection), and no request
/// runs longer than `timeout`.
fn guarded(router: Router, timeout: std::time::Duration) -> Router {
    router
        .layer(CatchPanicLayer::custom(answer_panic))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
}

/// The answer to a request whose handler panicked: the API's error shape,
/// the panic's message in the log only.
fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    (
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(serde_json::json!({"code": "internal", "error": "internal error; see the server log"})),
    )
        .into_response()
}

/// Serves `router` on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(listener: TcpListener, router: Router) -> anyhow::Result<()> {
    // The client's address reaches handlers (ConnectInfo): sign-in attempts
    // and refused credentials are rate-limited per address.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    #[tokio::test]
    async fn a_panicking_handler_is_a_500_in_the_api_shape_and_the_server_keeps_answering() {
        let router = guarded(
            Router::new()
                .route(
                    "/boom",
                    get(|| async {
                        panic!("time arithmetic overflowed");
                        #[allow(unreachable_code)]
                        "never"
                    }),
                )
                .route("/fine", get(|| async { "ok" })),
            Limits::default().request_timeout,
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();
        let r = client.get(format!("http://{addr}/boom")).send().await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "internal");
        assert!(
            !body.to_string().contains("arithmetic"),
            "internals stay in the log"
        );
        let r = client.get(format!("http://{addr}/fine")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "ok");
    }
}
