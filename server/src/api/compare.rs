//! `GET /api/v1/compare?a=&b=` (`b` optional: the previous run of `a`'s graph type).

use super::extract::ApiQuery;
use super::openapi::ApiError;
use super::AppError;
use crate::service::TraceService;
use app::compare::Comparison;
use app::model::RecordId;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct CompareQuery {
    a: Option<String>,
    b: Option<String>,
}

/// Both runs' steps aligned, with deltas, the first divergence and diffs.
#[utoipa::path(get, path = "/api/v1/compare", tag = "read",
    params(
        ("a" = RecordId, Query, description = "The first run"),
        ("b" = Option<RecordId>, Query, description = "The second run; without it, the run of the same graph type before `a`"),
    ),
    responses(
        (status = 200, description = "Both runs' steps aligned, with per-step deltas, the first divergence and diffs", body = Comparison),
        (status = 404, description = "A run does not exist (or `a` has no earlier run to compare with)", body = ApiError),
    ))]
pub async fn compare(
    State(service): State<TraceService>,
    ApiQuery(q): ApiQuery<CompareQuery>,
) -> Result<Json<Comparison>, AppError> {
    let id = |name: &str, value: Option<String>| {
        let value = value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| AppError::invalid_parameter(name, "is required"))?;
        RecordId::parse(value).map_err(|message| AppError::invalid_parameter(name, message))
    };
    let a = id("a", q.a)?;
    // Without `b`: the previous run of `a`'s graph type (an addition to API.md).
    let b = match q.b.filter(|v| !v.is_empty()) {
        Some(b) => Some(id("b", Some(b))?),
        None => None,
    };
    Ok(Json(
        service
            .compare(a.as_str(), b.as_ref().map(RecordId::as_str))
            .await?,
    ))
}
