//! The Access page's data and server functions: API tokens and people, for
//! admins. The gate lets only `admin` credentials call the `access_*`
//! functions; the server implements `AccessAdmin` over its access rows.

use crate::answer_encoding::JsonAnswer;
use crate::error::PageError;
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// An API token as the Access page lists it (never its secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub name: String,
    pub scope: String,
    /// Prefix and first characters, e.g. `tvi_Q3xk9a…`.
    pub display: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A person as the Access page lists them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonView {
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// A secret shown once: a new token, or a generated password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShownOnce {
    pub name: String,
    pub secret: Option<String>,
}

/// Managing access, as the server provides it in the page context.
#[cfg(feature = "ssr")]
#[async_trait::async_trait]
pub trait AccessAdmin: Send + Sync {
    async fn tokens(&self) -> Result<Vec<TokenView>, crate::error::TraceError>;
    /// Creates a token; returns its secret (shown once).
    async fn create_token(&self, name: &str, scope: &str) -> Result<String, crate::error::TraceError>;
    async fn revoke_token(&self, name: &str) -> Result<(), crate::error::TraceError>;
    async fn people(&self) -> Result<Vec<PersonView>, crate::error::TraceError>;
    /// Adds a person; without a password, one is generated and returned.
    async fn add_person(
        &self,
        name: &str,
        role: &str,
        password: Option<&str>,
    ) -> Result<Option<String>, crate::error::TraceError>;
    async fn remove_person(&self, name: &str) -> Result<(), crate::error::TraceError>;
}

/// The handle server functions find in their context.
#[cfg(feature = "ssr")]
pub type SharedAccessAdmin = std::sync::Arc<dyn AccessAdmin>;

#[cfg(feature = "ssr")]
fn admin() -> Result<SharedAccessAdmin, PageError> {
    use_context::<SharedAccessAdmin>().ok_or_else(|| {
        crate::server_fns::failed(crate::error::TraceError::Internal(
            "access administration missing from context".into(),
        ))
    })
}

/// Every token, active first.
#[server(output = JsonAnswer)]
pub async fn access_tokens() -> Result<Vec<TokenView>, PageError> {
    admin()?.tokens().await.map_err(crate::server_fns::failed)
}

/// Creates a token; its secret comes back once.
#[server(output = JsonAnswer)]
pub async fn access_create_token(name: String, scope: String) -> Result<ShownOnce, PageError> {
    let secret = admin()?
        .create_token(name.trim(), &scope)
        .await
        .map_err(crate::server_fns::failed)?;
    Ok(ShownOnce {
        name: name.trim().to_owned(),
        secret: Some(secret),
    })
}

/// Revokes the active token `name`.
#[server(output = JsonAnswer)]
pub async fn access_revoke_token(name: String) -> Result<(), PageError> {
    admin()?
        .revoke_token(&name)
        .await
        .map_err(crate::server_fns::failed)
}

/// Every person, by name.
#[server(output = JsonAnswer)]
pub async fn access_people() -> Result<Vec<PersonView>, PageError> {
    admin()?.people().await.map_err(crate::server_fns::failed)
}

/// Adds a person; an empty password is generated and comes back once.
#[server(output = JsonAnswer)]
pub async fn access_add_person(name: String, role: String, password: String) -> Result<ShownOnce, PageError> {
    let password = Some(password).filter(|p| !p.is_empty());
    let secret = admin()?
        .add_person(name.trim(), &role, password.as_deref())
        .await
        .map_err(crate::server_fns::failed)?;
    Ok(ShownOnce {
        name: name.trim().to_owned(),
        secret,
    })
}

/// Removes a person and ends their sessions.
#[server(output = JsonAnswer)]
pub async fn access_remove_person(name: String) -> Result<(), PageError> {
    admin()?
        .remove_person(&name)
        .await
        .map_err(crate::server_fns::failed)
}
