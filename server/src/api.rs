//! The HTTP JSON API of API.md: routing and the edge where requests are
//! parsed and validated. Handlers translate between HTTP and `TraceService`
//! and hold no logic of their own.

mod alerts;
mod compare;
mod error;
mod executions;
mod export;
pub mod extract;
mod health;
mod live;
pub(crate) mod openapi;
pub mod otlp;
mod statistics;

pub use error::AppError;
/// How often a live socket is pinged and its credential checked again.
pub use live::HEARTBEAT as LIVE_HEARTBEAT;

use crate::service::TraceService;
use axum::extract::State;
use axum::routing::{get, post};
use axum::Router;

/// The `/api/v1` routes, OTLP and `/healthz` (the body limit is applied
/// to every route at once, in `web::router`).
pub fn router(service: TraceService, max_body_bytes: usize) -> Router {
    let v1 = Router::new()
        .route("/executions", post(executions::start).get(executions::list))
        .route("/executions/{execution_id}", get(executions::trace))
        .route("/executions/{execution_id}/events", post(executions::append))
        .route("/executions/{execution_id}/complete", post(executions::complete))
        .route("/executions/{execution_id}/timeline", get(executions::timeline))
        .route("/executions/{execution_id}/states", get(executions::states))
        .route("/executions/{execution_id}/replays", get(executions::replays))
        .route("/executions/{execution_id}/export", get(export::export))
        .route("/import", post(export::import))
        .route("/executions/{execution_id}/live", get(live::execution_live))
        .route("/live", get(live::runs_live))
        .route("/compare", get(compare::compare))
        .route("/statistics", get(statistics::overview))
        .route("/statistics/slow", get(statistics::slow))
        .route("/alert-rules", get(alerts::list).post(alerts::create))
        .route(
            "/alert-rules/{rule_id}",
            get(alerts::get_one).put(alerts::update).delete(alerts::delete),
        )
        .route("/alert-rules/{rule_id}/deliveries", get(alerts::deliveries))
        .route(
            "/alert-rules/{rule_id}/deliveries/{webhook_id}/redeliver",
            post(alerts::redeliver),
        )
        .route("/openapi.json", get(openapi::serve))
        .fallback(error::unknown_route);
    // OTLP/HTTP: the standard path, the same under /otlp, and /otlp alone
    // (LangSmith posts to OTEL_EXPORTER_OTLP_ENDPOINT verbatim).
    let traces = post(
        move |State(service): State<TraceService>, request: axum::extract::Request| {
            otlp::traces(service, request, max_body_bytes)
        },
    );
    let otlp = Router::new()
        .route("/v1/traces", traces.clone())
        .route("/v1/metrics", post(otlp::ignored))
        .route("/v1/logs", post(otlp::ignored));
    Router::new()
        .merge(otlp.clone())
        .nest("/otlp", otlp)
        .route("/otlp", traces)
        .nest("/api/v1", v1)
        // Server functions have their own paths under /api/ (merged in with
        // the pages); any other is a JSON 404, so a stale page says why (a
        // catch-all here also takes unknown /api/v1 paths from the nest).
        .route("/api/{*rest}", axum::routing::any(error::unknown_api_path))
        .route("/healthz", get(health::healthz))
        .with_state(service)
}
