//! `/api/v1/statistics…` handlers.

use super::executions::{number_parameter, time_parameter};
use super::extract::{ApiQuery, MetaFilters};
use super::AppError;
use crate::service::TraceService;
use app::model::{ExecutionSummary, Statistics, StatisticsFilter};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct StatisticsQuery {
    graph_type: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
}

/// `GET /statistics?graph_type=&start_time=&end_time=`.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "read",
    params(
        ("graph_type" = Option<String>, Query, description = "Only runs of this graph type"),
        ("start_time" = Option<DateTime<Utc>>, Query, description = "Only runs that started at or after this time (RFC 3339)"),
        ("end_time" = Option<DateTime<Utc>>, Query, description = "Only runs that started at or before this time (RFC 3339)"),
    ),
    responses(
        (status = 200, description = "Counts by status, duration percentiles, per-node-type figures, cache hit rate, tokens and a timeline. `meta.KEY=VALUE` parameters (up to 8) filter by run metadata", body = Statistics),
    ))]
pub async fn overview(
    State(service): State<TraceService>,
    ApiQuery(q): ApiQuery<StatisticsQuery>,
    MetaFilters(metadata): MetaFilters,
) -> Result<Json<Statistics>, AppError> {
    let filter = StatisticsFilter {
        graph_type: q.graph_type.filter(|g| !g.is_empty()),
        start_time: time_parameter("start_time", q.start_time)?,
        end_time: time_parameter("end_time", q.end_time)?,
        metadata,
    };
    Ok(Json(service.statistics(filter).await?))
}

#[derive(Deserialize)]
pub struct SlowQuery {
    threshold_ms: Option<String>,
    graph_type: Option<String>,
    limit: Option<String>,
}

/// `GET /statistics/slow?threshold_ms=&graph_type=&limit=`: slowest first.
#[utoipa::path(get, path = "/api/v1/statistics/slow", tag = "read",
    params(
        ("threshold_ms" = Option<f64>, Query, minimum = 0, description = "Only runs that took longer (default 0)"),
        ("graph_type" = Option<String>, Query, description = "Only runs of this graph type"),
        ("limit" = Option<u32>, Query, maximum = 1000, description = "How many (default 20)"),
    ),
    responses(
        (status = 200, description = "Finished runs, slowest first", body = Vec<ExecutionSummary>),
    ))]
pub async fn slow(
    State(service): State<TraceService>,
    ApiQuery(q): ApiQuery<SlowQuery>,
) -> Result<Json<Vec<ExecutionSummary>>, AppError> {
    let threshold_ms = match q.threshold_ms.filter(|t| !t.is_empty()) {
        None => 0.0,
        Some(t) => t
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| {
                AppError::invalid_parameter("threshold_ms", format!("expected a number >= 0, got {t:?}"))
            })?,
    };
    let limit = number_parameter("limit", q.limit, 20, app::model::MAX_LIST_LIMIT)?.max(1);
    let graph_type = q.graph_type.filter(|g| !g.is_empty());
    Ok(Json(
        service
            .slow_executions(threshold_ms, graph_type.as_deref(), limit)
            .await?,
    ))
}
