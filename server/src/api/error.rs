//! `AppError`: every failure an HTTP client can see, as a status code and a
//! JSON body `{"error", "code"}`. Policy: messages name the field and the
//! problem; storage and internal errors are logged in full but shown only as
//! a generic sentence, never with internals.

use app::error::TraceError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An HTTP error response.
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl AppError {
    /// A new error with an explicit status, machine code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A `422` naming the invalid field.
    pub fn invalid_field(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("{field}: {message}"),
        )
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// A `400` for a query parameter that does not parse.
    pub fn invalid_parameter(name: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            format!("{name}: {message}"),
        )
    }
}

impl From<TraceError> for AppError {
    fn from(err: TraceError) -> Self {
        match err {
            TraceError::NotFound(what) => {
                Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
            }
            TraceError::Conflict(message) => Self::new(StatusCode::CONFLICT, "conflict", message),
            TraceError::Invalid { field, message } => Self::invalid_field(&field, message),
            TraceError::Unavailable(detail) => {
                tracing::warn!(error = %detail, "storage unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "the database is unavailable; nothing was stored, retry later",
                )
            }
            TraceError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; see the server log",
                )
            }
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.message, "code": self.code})),
        )
            .into_response()
    }
}

/// Any other path under `/api/`: under `/api/v1` an unknown route, else most
/// likely a server function that a page built for another version of
/// tracevis asked for (their paths carry a hash of the build).
pub async fn unknown_api_path(uri: axum::http::Uri) -> AppError {
    if uri.path() == "/api/v1" || uri.path().starts_with("/api/v1/") {
        return unknown_route().await;
    }
    AppError::new(
        StatusCode::NOT_FOUND,
        "unknown_server_function",
        "no such server function: this page may come from another version of tracevis; reload it",
    )
}

/// Any path under `/api/v1` that names no resource.
pub async fn unknown_route() -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        "unknown_route",
        "no such API route; see API.md",
    )
}
