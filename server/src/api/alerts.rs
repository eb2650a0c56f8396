//! `/api/v1/alert-rules`: alert rules and their deliveries (API.md "Search,
//! metadata filters and alerts"). Admin scope when sign-in is required
//! (rules hold webhook URLs, which often carry a receiver's own secret).

use super::extract::ValidJson;
use super::openapi::ApiError;
use super::AppError;
use crate::service::TraceService;
use app::alerts::{AlertRule, AlertRuleSpec, Delivery};
use app::model::RecordId;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;

/// Deliveries listed per rule, newest first.
const DELIVERIES_LISTED: u32 = 100;

/// An id in the path (`{rule_id}`, `{webhook_id}`), validated like run ids.
pub struct IdPath(pub Vec<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let Path(raw) = Path::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::invalid_parameter("rule_id", e.body_text()))?;
        raw.into_iter()
            .map(|(name, value)| {
                RecordId::parse(value)
                    .map(String::from)
                    .map_err(|message| AppError::invalid_parameter(&name, message))
            })
            .collect::<Result<_, _>>()
            .map(IdPath)
    }
}

/// `GET /alert-rules`.
#[utoipa::path(get, path = "/api/v1/alert-rules", tag = "alerts",
    responses((status = 200, description = "Every alert rule, oldest first (never their secrets)", body = Vec<AlertRule>)))]
pub async fn list(State(service): State<TraceService>) -> Result<Json<Vec<AlertRule>>, AppError> {
    Ok(Json(service.alerts()?.store.list_rules().await?))
}

/// `POST /alert-rules`.
#[utoipa::path(post, path = "/api/v1/alert-rules", tag = "alerts", request_body = AlertRuleSpec,
    responses(
        (status = 201, description = "The rule, with its signing secret (`whsec_…`), shown this once", body = AlertRule),
        (status = 422, description = "A field is invalid (named in the error)", body = ApiError),
    ))]
pub async fn create(
    State(service): State<TraceService>,
    ValidJson(spec): ValidJson<AlertRuleSpec>,
) -> Result<(StatusCode, Json<AlertRule>), AppError> {
    let rule = service.alerts()?.create(&spec).await?;
    Ok((StatusCode::CREATED, Json(rule)))
}

/// `GET /alert-rules/{rule_id}`.
#[utoipa::path(get, path = "/api/v1/alert-rules/{rule_id}", tag = "alerts",
    params(("rule_id" = String, Path, description = "The rule's id")),
    responses(
        (status = 200, description = "The rule (without its secret)", body = AlertRule),
        (status = 404, description = "No such rule", body = ApiError),
    ))]
pub async fn get_one(
    State(service): State<TraceService>,
    IdPath(ids): IdPath,
) -> Result<Json<AlertRule>, AppError> {
    Ok(Json(service.alerts()?.store.rule(&ids[0]).await?))
}

/// `PUT /alert-rules/{rule_id}`.
#[utoipa::path(put, path = "/api/v1/alert-rules/{rule_id}", tag = "alerts", request_body = AlertRuleSpec,
    params(("rule_id" = String, Path, description = "The rule's id")),
    responses(
        (status = 200, description = "The rule as it now is (its secret stays)", body = AlertRule),
        (status = 404, description = "No such rule", body = ApiError),
        (status = 422, description = "A field is invalid (named in the error)", body = ApiError),
    ))]
pub async fn update(
    State(service): State<TraceService>,
    IdPath(ids): IdPath,
    ValidJson(spec): ValidJson<AlertRuleSpec>,
) -> Result<Json<AlertRule>, AppError> {
    Ok(Json(service.alerts()?.update(&ids[0], &spec).await?))
}

/// `DELETE /alert-rules/{rule_id}`.
#[utoipa::path(delete, path = "/api/v1/alert-rules/{rule_id}", tag = "alerts",
    params(("rule_id" = String, Path, description = "The rule's id")),
    responses(
        (status = 204, description = "Deleted, with its deliveries"),
        (status = 404, description = "No such rule", body = ApiError),
    ))]
pub async fn delete(
    State(service): State<TraceService>,
    IdPath(ids): IdPath,
) -> Result<StatusCode, AppError> {
    service.alerts()?.store.delete_rule(&ids[0]).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /alert-rules/{rule_id}/deliveries`.
#[utoipa::path(get, path = "/api/v1/alert-rules/{rule_id}/deliveries", tag = "alerts",
    params(("rule_id" = String, Path, description = "The rule's id")),
    responses(
        (status = 200, description = "The rule's newest 100 deliveries, newest first", body = Vec<Delivery>),
        (status = 404, description = "No such rule", body = ApiError),
    ))]
pub async fn deliveries(
    State(service): State<TraceService>,
    IdPath(ids): IdPath,
) -> Result<Json<Vec<Delivery>>, AppError> {
    Ok(Json(
        service
            .alerts()?
            .store
            .deliveries(&ids[0], DELIVERIES_LISTED)
            .await?,
    ))
}

/// `POST /alert-rules/{rule_id}/deliveries/{webhook_id}/redeliver`.
#[utoipa::path(post, path = "/api/v1/alert-rules/{rule_id}/deliveries/{webhook_id}/redeliver", tag = "alerts",
    params(
        ("rule_id" = String, Path, description = "The rule's id"),
        ("webhook_id" = String, Path, description = "The delivery's `webhook-id`"),
    ),
    responses(
        (status = 202, description = "Queued: sent again now, with the same `webhook-id`"),
        (status = 404, description = "No such rule or delivery", body = ApiError),
    ))]
pub async fn redeliver(
    State(service): State<TraceService>,
    IdPath(ids): IdPath,
) -> Result<StatusCode, AppError> {
    service
        .alerts()?
        .store
        .redeliver(&ids[0], &ids[1], Utc::now())
        .await?;
    Ok(StatusCode::ACCEPTED)
}
