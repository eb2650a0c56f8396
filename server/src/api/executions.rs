//! `/api/v1/executions…` handlers: parse, call `TraceService`, answer.

use super::extract::{ApiQuery, ExecutionIdPath, MetaFilters, ValidJson};
use super::AppError;
use crate::service::TraceService;
use app::model::{
    Completion, EventBatch, ExecutionFilter, ExecutionList, ExecutionStatus, ExecutionSummary,
    ExecutionTrace, ListSort, NewExecution, NodeEvent, StateSnapshot,
};
use app::protocol::TraceVisualization;
use app::store::{AppendOutcome, CreateOutcome};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

/// `POST /executions`: `201` for a new run, `200` for an identical retry.
pub async fn start(
    State(service): State<TraceService>,
    ValidJson(new): ValidJson<NewExecution>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    let (status, summary) = match service.start_execution(new).await? {
        CreateOutcome::Created(s) => (StatusCode::CREATED, s),
        CreateOutcome::AlreadyExists(s) => (StatusCode::OK, s),
    };
    Ok((status, Json(json!({"execution_id": summary.execution_id}))))
}

/// `POST /executions/{id}/events`: append a batch, all or nothing.
pub async fn append(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
    ValidJson(batch): ValidJson<EventBatch>,
) -> Result<Json<AppendOutcome>, AppError> {
    let stored = service.append_batch(&id, batch).await?;
    Ok(Json(stored.outcome))
}

/// `POST /executions/{id}/complete`.
pub async fn complete(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
    ValidJson(completion): ValidJson<Completion>,
) -> Result<Json<ExecutionSummary>, AppError> {
    Ok(Json(service.complete_execution(&id, completion).await?))
}

/// `GET /executions/{id}`: the whole trace.
pub async fn trace(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
) -> Result<Json<ExecutionTrace>, AppError> {
    Ok(Json(service.get_trace(id.as_str()).await?))
}

#[derive(Deserialize)]
pub struct TimelineQuery {
    node_type: Option<String>,
}

/// `GET /executions/{id}/timeline?node_type=`.
pub async fn timeline(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
    ApiQuery(q): ApiQuery<TimelineQuery>,
) -> Result<Json<Vec<NodeEvent>>, AppError> {
    let node_type = q.node_type.filter(|n| !n.is_empty());
    Ok(Json(
        service
            .get_node_timeline(id.as_str(), node_type.as_deref())
            .await?,
    ))
}

#[derive(Deserialize)]
pub struct StatesQuery {
    include_diffs: Option<String>,
}

/// `GET /executions/{id}/states?include_diffs=true`.
pub async fn states(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
    ApiQuery(q): ApiQuery<StatesQuery>,
) -> Result<Json<Vec<StateSnapshot>>, AppError> {
    let include_diffs = match q.include_diffs.as_deref() {
        None | Some("true") | Some("1") => true,
        Some("false") | Some("0") => false,
        Some(other) => {
            return Err(AppError::invalid_parameter(
                "include_diffs",
                format!("expected true or false, got {other:?}"),
            ))
        }
    };
    Ok(Json(service.get_state_history(id.as_str(), include_diffs).await?))
}

/// `GET /executions/{id}/replays`: runs whose `original_execution_id` is this one.
pub async fn replays(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
) -> Result<Json<Vec<ExecutionSummary>>, AppError> {
    Ok(Json(service.list_replays(id.as_str()).await?))
}

#[derive(Deserialize)]
pub struct ListQuery {
    graph_type: Option<String>,
    id: Option<String>,
    sort: Option<String>,
    status: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    fields: Option<String>,
}

/// `GET /executions?graph_type=&status=&start_time=&end_time=&limit=&offset=`.
pub async fn list(
    State(service): State<TraceService>,
    ApiQuery(q): ApiQuery<ListQuery>,
    MetaFilters(metadata): MetaFilters,
) -> Result<Json<ExecutionList>, AppError> {
    let filter = ExecutionFilter {
        metadata,
        ..filter_from_query(q)?
    };
    Ok(Json(service.list_executions(&filter).await?))
}

/// Parses an optional RFC 3339 query parameter.
pub fn time_parameter(name: &str, value: Option<String>) -> Result<Option<DateTime<Utc>>, AppError> {
    value
        .filter(|v| !v.is_empty())
        .map(|v| {
            DateTime::parse_from_rfc3339(&v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| AppError::invalid_parameter(name, format!("expected an RFC 3339 time: {e}")))
        })
        .transpose()
}

/// Parses an optional integer query parameter in `0..=max`.
pub fn number_parameter(name: &str, value: Option<String>, default: u32, max: u32) -> Result<u32, AppError> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(v) => v.parse::<u32>().ok().filter(|n| *n <= max).ok_or_else(|| {
            AppError::invalid_parameter(name, format!("expected an integer 0..={max}, got {v:?}"))
        }),
    }
}

fn filter_from_query(q: ListQuery) -> Result<ExecutionFilter, AppError> {
    let defaults = ExecutionFilter::default();
    let status = q
        .status
        .filter(|s| !s.is_empty())
        .map(|s| {
            ExecutionStatus::parse(&s).ok_or_else(|| {
                AppError::invalid_parameter(
                    "status",
                    format!("expected running, completed or failed, got {s:?}"),
                )
            })
        })
        .transpose()?;
    let limit = number_parameter("limit", q.limit, defaults.limit, app::model::MAX_LIST_LIMIT)?;
    if limit == 0 {
        return Err(AppError::invalid_parameter("limit", "must be at least 1"));
    }
    let sort = match q.sort.filter(|s| !s.is_empty()) {
        None => ListSort::Newest,
        Some(s) => ListSort::from_param(&s).ok_or_else(|| {
            AppError::invalid_parameter("sort", format!("expected start_time or duration, got {s:?}"))
        })?,
    };
    Ok(ExecutionFilter {
        metadata: Vec::new(),
        graph_type: q.graph_type.filter(|g| !g.is_empty()),
        id_contains: q.id.filter(|i| !i.is_empty()),
        sort,
        status,
        start_time: time_parameter("start_time", q.start_time)?,
        end_time: time_parameter("end_time", q.end_time)?,
        limit,
        offset: number_parameter("offset", q.offset, 0, u32::MAX)?,
        without_payloads: match q.fields.as_deref().filter(|f| !f.is_empty()) {
            None | Some("summary") => false,
            Some("list") => true,
            Some(other) => {
                return Err(AppError::invalid_parameter(
                    "fields",
                    format!("expected summary or list, got {other:?}"),
                ))
            }
        },
    })
}
