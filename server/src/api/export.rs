//! `GET /executions/{id}/export` (a run as a file) and `POST /import` (a file
//! as a run again).

use super::extract::{ApiQuery, ExecutionIdPath, ValidJson};
use super::openapi::{ApiError, ExecutionIdParam, ExportBody, ExportDocumentSchema, ExportFormatParam};
use super::AppError;
use crate::export::chrome_trace::chrome_trace;
use crate::export::document::{ExportDocument, ImportDocument};
use crate::service::{ImportOutcome, TraceService};
use app::model::ExecutionSummary;
use app::protocol::TraceVisualization;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
}

/// `GET /executions/{id}/export?format=tracevis|chrome`: a download.
#[utoipa::path(get, path = "/api/v1/executions/{execution_id}/export", tag = "read",
    params(ExecutionIdParam,
        ("format" = Option<ExportFormatParam>, Query, description = "`tracevis` (default): a document `POST /api/v1/import` takes back; `chrome`: the Trace Event Format chrome://tracing and Perfetto open")),
    responses(
        (status = 200, description = "The run as a file (Content-Disposition: attachment)", body = ExportBody),
        (status = 404, description = "No such run", body = ApiError),
    ))]
pub async fn export(
    State(service): State<TraceService>,
    ExecutionIdPath(id): ExecutionIdPath,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, AppError> {
    let chrome = match q.format.as_deref() {
        None | Some("" | "tracevis") => false,
        Some("chrome") => true,
        Some(other) => {
            return Err(AppError::invalid_parameter(
                "format",
                format!("must be \"tracevis\" or \"chrome\", got {other:?}"),
            ))
        }
    };
    let trace = service.get_trace(id.as_str()).await?;
    // Ids are limited to [A-Za-z0-9._:-], so the name needs no quoting rules.
    let (body, file_name) = if chrome {
        (
            Json(chrome_trace(&trace)).into_response(),
            format!("{id}.chrome-trace.json"),
        )
    } else {
        (
            Json(ExportDocument::new(&trace)).into_response(),
            format!("{id}.tracevis.json"),
        )
    };
    let mut response = body;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .map_err(|e| AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, disposition);
    Ok(response)
}

/// `POST /import`: `201` with the run's summary, `200` when it was already
/// there.
#[utoipa::path(post, path = "/api/v1/import", tag = "write",
    request_body(content = ExportDocumentSchema, description = "A document `GET …/export` made"),
    responses(
        (status = 201, description = "The run is stored again", body = ExecutionSummary),
        (status = 200, description = "The run was already stored", body = ExecutionSummary),
        (status = 409, description = "A different run has this id", body = ApiError),
    ))]
pub async fn import(
    State(service): State<TraceService>,
    ValidJson(document): ValidJson<ImportDocument>,
) -> Result<(StatusCode, Json<ExecutionSummary>), AppError> {
    Ok(match service.import(document).await? {
        ImportOutcome::Imported(summary) => (StatusCode::CREATED, Json(summary)),
        ImportOutcome::AlreadyPresent(summary) => (StatusCode::OK, Json(summary)),
    })
}
