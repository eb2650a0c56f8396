//! Request extractors that validate at the edge and fail as `AppError`s: a
//! JSON body (size-limited, depth-limited, errors naming the field path), a
//! path id, and query strings.

use super::AppError;
use app::model::RecordId;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

/// A JSON body deserialised into `T`, validated field by field.
pub struct ValidJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ValidJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        // Declared JSON only: a browser may send text/plain or a form to any
        // site without asking first, so accepting those would let any web
        // page a team member opens write runs through their browser.
        let declared = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json_media_type(declared) {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("the body must be declared Content-Type: application/json, not {declared:?}"),
            ));
        }
        // `Bytes` honours DefaultBodyLimit: a declared length over the limit is
        // refused before reading, a streamed body as soon as it passes it.
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| body_refused(rejection.status(), rejection.body_text()))?;
        parse_json(&body).map(ValidJson)
    }
}

/// A body one of axum's extractors refused (`status`, `detail`), in the
/// API's error shape — the same at every door that reads a body: over the
/// limit (DefaultBodyLimit) is `413 payload_too_large`, anything else keeps
/// the extractor's status.
pub fn body_refused(status: StatusCode, detail: String) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body is larger than the configured limit (max_body_bytes)",
        )
    } else {
        AppError::new(status, "unreadable_body", detail)
    }
}

/// `application/json` or `application/…+json`, with any parameters.
fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses `body` as `T`. Syntax errors (and nesting deeper than serde_json's
/// fixed limit of 128) are `400`; a value of the wrong shape is `422` naming
/// its path, e.g. `events[3].duration_ms`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            let code = if inner.to_string().contains("recursion limit") {
                "too_deep"
            } else {
                "malformed_json"
            };
            AppError::new(StatusCode::BAD_REQUEST, code, format!("malformed JSON: {inner}"))
        } else if path == "." {
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                strip_position(&inner),
            )
        } else {
            AppError::invalid_field(&path, strip_position(&inner))
        }
    })?;
    de.end().map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {e}"),
        )
    })?;
    Ok(value)
}

/// serde_json appends " at line 1 column 57" to data errors; the field path
/// already says where, so the position only adds noise.
fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// The `{execution_id}` path segment, validated.
pub struct ExecutionIdPath(pub RecordId);

impl<S: Send + Sync> FromRequestParts<S> for ExecutionIdPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::invalid_parameter("execution_id", e.body_text()))?;
        RecordId::parse(raw)
            .map(ExecutionIdPath)
            .map_err(|message| AppError::invalid_parameter("execution_id", message))
    }
}

/// A query string deserialised into `T` (whose fields should be strings that
/// the handler validates one by one, so errors can name the parameter).
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| AppError::new(StatusCode::BAD_REQUEST, "invalid_parameter", e.body_text()))
    }
}

/// The `meta.KEY=VALUE` pairs of the query string (API.md: repeatable, all
/// must hold), checked with the rules every door applies.
pub struct MetaFilters(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for MetaFilters {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .filter_map(|(k, v)| {
                    k.strip_prefix("meta.")
                        .map(|key| (key.to_owned(), v.into_owned()))
                })
                .collect();
        app::model::check_metadata_filters(&pairs).map_err(|e| match e {
            app::error::TraceError::Invalid { field, message } => {
                AppError::invalid_parameter(&field, message)
            }
            other => AppError::from(other),
        })?;
        Ok(MetaFilters(pairs))
    }
}
