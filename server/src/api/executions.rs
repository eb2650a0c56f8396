//! `/api/v1/executions…` handlers: parse, call `TraceService`, answer.

use super::extract::{ApiQuery, ExecutionIdPath, MetaFilters, ValidJson};
use super::openapi::{ApiError, ExecutionIdParam, FieldsParam, ListSortParam};
use super::AppError;
use crate::service::TraceService;
use app::model::{
    Completion, EventBatch, ExecutionFilter, ExecutionList, ExecutionStatus, ExecutionSummary,
    ExecutionTrace, ListSort, NewExecution, NodeEvent, StateSnapshot,
};
use app::protocol::TraceVisualization;
use app::search::SearchQuery;
use app::store::{AppendOutcome, CreateOutcome};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The answer to a started run.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Started {
    /// The run's id (the server's UUIDv7 when the producer sent none).
    pub execution_id: String,
}

/// `POST /executions`: `201` for a new run, `200` for an identical retry.
#[utoipa::path(post, path = "/api/v1/executions", tag = "write",
    request_body = NewExecution,
    responses(
        (status = 201, description = "The run started", body = Started),
        (status = 200, description = "The same run had already been started with this body (idempotent retry)", body = Started),
        (status = 409, description = "The id is taken by a run with different content", body = ApiError),
    ))]
pub async fn start(
    State(service): State<TraceService>,
    ValidJson(new): ValidJson<NewExecution>,
) -> Result<(StatusCode, Json<Started>), AppError> {
    let (status, summary) = match service.start_execution(new).await? {
        CreateOutcome::Created(s) => (StatusCode::CREATED, s),
        CreateOutcome::AlreadyExists(s) => (StatusCode::OK, s),
    };
    Ok((
        status,
        Json(Started {
            execution_id: summary.execution_id,
        }),
    ))
}

/// `POST /executions/{id}/events`: append a batch, all or nothing.
#[utoipa::path(post, path = "/api/v1/executions/{execution_id}/events", tag = "write",
    params(ExecutionIdParam),
    request_body = EventBatch,
    responses(
        (status = 200, description = "The batch is stored (repeated ids counted as duplicates)", body = AppendOutcome),
        (status = 404, description = "No such run", body = ApiError),
        (status = 409, description = "The run has finished", body = ApiError),
    ))]
pub async fn append(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
    ValidJson(batch): ValidJson<EventBatch>,
) -> Result<Json<AppendOutcome>, AppError> {
    let stored = service.append_batch(&id, batch).await?;
    Ok(Json(stored.outcome))
}

/// `POST /executions/{id}/complete`.
#[utoipa::path(post, path = "/api/v1/executions/{execution_id}/complete", tag = "write",
    params(ExecutionIdParam),
    request_body = Completion,
    responses(
        (status = 200, description = "The run is finished", body = ExecutionSummary),
        (status = 404, description = "No such run", body = ApiError),
        (status = 409, description = "The run has already finished differently", body = ApiError),
    ))]
pub async fn complete(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
    ValidJson(completion): ValidJson<Completion>,
) -> Result<Json<ExecutionSummary>, AppError> {
    Ok(Json(service.complete_execution(&id, completion).await?))
}

/// `GET /executions/{id}`: the whole trace.
#[utoipa::path(get, path = "/api/v1/executions/{execution_id}", tag = "read",
    params(ExecutionIdParam),
    responses(
        (status = 200, description = "The run with its node events and state snapshots (AC1)", body = ExecutionTrace),
        (status = 404, description = "No such run", body = ApiError),
    ))]
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
#[utoipa::path(get, path = "/api/v1/executions/{execution_id}/timeline", tag = "read",
    params(ExecutionIdParam,
        ("node_type" = Option<String>, Query, description = "Only this node's events")),
    responses(
        (status = 200, description = "The run's node events in order (AC4)", body = Vec<NodeEvent>),
        (status = 404, description = "No such run", body = ApiError),
    ))]
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
#[utoipa::path(get, path = "/api/v1/executions/{execution_id}/states", tag = "read",
    params(ExecutionIdParam,
        ("include_diffs" = Option<bool>, Query, description = "Each snapshot's diff from the one before (default true)")),
    responses(
        (status = 200, description = "The run's state snapshots in order", body = Vec<StateSnapshot>),
        (status = 404, description = "No such run", body = ApiError),
    ))]
pub async fn states(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
    ApiQuery(q): ApiQuery<StatesQuery>,
) -> Result<Json<Vec<StateSnapshot>>, AppError> {
    let include_diffs = match q.include_diffs.as_deref() {
        None | Some("" | "true" | "1") => true,
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
#[utoipa::path(get, path = "/api/v1/executions/{execution_id}/replays", tag = "read",
    params(ExecutionIdParam),
    responses(
        (status = 200, description = "Runs that replay this one", body = Vec<ExecutionSummary>),
        (status = 404, description = "No such run", body = ApiError),
    ))]
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
    cursor: Option<String>,
    fields: Option<String>,
    q: Option<String>,
}

/// `GET /executions?graph_type=&status=&start_time=&end_time=&limit=&offset=&cursor=`.
#[utoipa::path(get, path = "/api/v1/executions", tag = "read",
    params(
        ("graph_type" = Option<String>, Query, description = "Only runs of this graph type"),
        ("status" = Option<ExecutionStatus>, Query, description = "Only runs in this status"),
        ("id" = Option<String>, Query, description = "Only runs whose id contains this text"),
        ("start_time" = Option<DateTime<Utc>>, Query, description = "Only runs that started at or after this time (RFC 3339)"),
        ("end_time" = Option<DateTime<Utc>>, Query, description = "Only runs that started at or before this time (RFC 3339)"),
        ("sort" = Option<ListSortParam>, Query, description = "Newest first (default) or slowest first"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Page size (default 100)"),
        ("offset" = Option<i64>, Query, minimum = 0, maximum = 10_000, description = "Runs to skip (at most 10,000; page deeper with `cursor`)"),
        ("cursor" = Option<String>, Query, description = "Start after the last run of the page before: its answer's `next_cursor`, unchanged, with the same filters and sort"),
        ("fields" = Option<FieldsParam>, Query, description = "`list` leaves out the payload columns (inputs, final state, metadata, graph)"),
        ("q" = Option<String>, Query, description = "Only runs in which these words and \"quoted phrases\" occur (in an error, a node's inputs or outputs, a state change, the run's inputs, final state or metadata); each run then carries `matches`"),
    ),
    responses(
        (status = 200, description = "One page of runs, and how many match. `meta.KEY=VALUE` parameters (up to 8) filter by run metadata", body = ExecutionList),
    ))]
pub async fn list(
    State(service): State<TraceService>,
    ApiQuery(q): ApiQuery<ListQuery>,
    MetaFilters(metadata): MetaFilters,
) -> Result<Json<ExecutionList>, AppError> {
    let filter = ExecutionFilter {
        metadata,
        ..filter_from_query(q)?
    };
    // The filter's rules read as query-parameter errors here (a cursor of
    // another filter, a cursor with an offset): 400 naming the parameter.
    filter.check().map_err(|e| match e {
        app::error::TraceError::Invalid { field, message } => AppError::invalid_parameter(&field, message),
        other => other.into(),
    })?;
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
    let search =
        q.q.filter(|text| !text.trim().is_empty())
            .map(|text| SearchQuery::parse(&text).map_err(|e| AppError::invalid_parameter("q", e)))
            .transpose()?;
    Ok(ExecutionFilter {
        q: search,
        metadata: Vec::new(),
        graph_type: q.graph_type.filter(|g| !g.is_empty()),
        id_contains: q.id.filter(|i| !i.is_empty()),
        sort,
        status,
        start_time: time_parameter("start_time", q.start_time)?,
        end_time: time_parameter("end_time", q.end_time)?,
        limit,
        offset: number_parameter("offset", q.offset, 0, u32::MAX)?,
        cursor: q
            .cursor
            .filter(|c| !c.is_empty())
            .map(|c| app::model::ListCursor::parse(&c).map_err(|e| AppError::invalid_parameter("cursor", e)))
            .transpose()?,
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
