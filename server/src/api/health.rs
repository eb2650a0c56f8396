//! `/healthz`: healthy once the store answers.

use super::openapi::ApiError;
use crate::service::TraceService;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

/// `200 {"status": "ok"}` when the database answers, `503` otherwise.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses(
        (status = 200, description = "The database answers", body = Object, example = json!({"status": "ok"})),
        (status = 503, description = "The database does not answer", body = ApiError),
    ))]
pub async fn healthz(State(service): State<TraceService>) -> (StatusCode, Json<Value>) {
    match service.health().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(err) => {
            tracing::warn!(error = %err, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    json!({"status": "unhealthy", "error": "the database does not answer", "code": "storage_unavailable"}),
                ),
            )
        }
    }
}
