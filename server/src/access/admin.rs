//! The Access page's operations (`app::access::AccessAdmin`) on the gate's
//! access rows, with the same rules as the CLI (`cli::check_name`, …).

use super::cli::{check_name, check_password, generated_password};
use super::secret::{hash_password, hash_secret, new_token};
use super::{Gate, Role, Scope};
use app::access::{AccessAdmin, PersonView, TokenView};
use app::error::TraceError;
use chrono::Utc;

fn invalid(field: &str, message: String) -> TraceError {
    TraceError::Invalid {
        field: field.to_owned(),
        message,
    }
}

#[async_trait::async_trait]
impl AccessAdmin for Gate {
    async fn tokens(&self) -> Result<Vec<TokenView>, TraceError> {
        Ok(self
            .store()
            .list_tokens()
            .await?
            .into_iter()
            .map(|t| TokenView {
                name: t.name,
                scope: t.scope.as_str().to_owned(),
                display: t.display,
                created_at: t.created_at,
                last_used_at: t.last_used_at,
                revoked_at: t.revoked_at,
            })
            .collect())
    }

    async fn create_token(&self, name: &str, scope: &str) -> Result<String, TraceError> {
        check_name("token", name).map_err(|m| invalid("name", m))?;
        let scope = Scope::parse(scope)
            .ok_or_else(|| invalid("scope", format!("expected ingest, read or admin, got {scope:?}")))?;
        let (token, shown) = new_token(scope);
        self.store()
            .create_token(name, scope, &hash_secret(&token), &shown, Utc::now())
            .await?;
        tracing::info!(
            token = name,
            scope = scope.as_str(),
            prefix = shown.as_str(),
            "token created on the Access page"
        );
        Ok(token)
    }

    async fn revoke_token(&self, name: &str) -> Result<(), TraceError> {
        if !self.store().revoke_token(name, Utc::now()).await? {
            return Err(TraceError::NotFound(format!("active token {name:?}")));
        }
        // This instance stops accepting it now; others within a second.
        self.forget_tokens();
        tracing::info!(token = name, "token revoked on the Access page");
        Ok(())
    }

    async fn people(&self) -> Result<Vec<PersonView>, TraceError> {
        Ok(self
            .store()
            .list_users()
            .await?
            .into_iter()
            .map(|u| PersonView {
                name: u.name,
                role: u.role.as_str().to_owned(),
                created_at: u.created_at,
            })
            .collect())
    }

    async fn add_person(
        &self,
        name: &str,
        role: &str,
        password: Option<&str>,
    ) -> Result<Option<String>, TraceError> {
        check_name("person's", name).map_err(|m| invalid("name", m))?;
        let role = Role::parse(role)
            .ok_or_else(|| invalid("role", format!("expected viewer or admin, got {role:?}")))?;
        if let Some(password) = password {
            check_password(password).map_err(|m| invalid("password", m))?;
        }
        let generated = password.is_none().then(generated_password);
        let password = password.map_or_else(|| generated.clone().unwrap_or_default(), str::to_owned);
        // argon2 is deliberately slow: off the async workers.
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(|e| TraceError::Internal(e.to_string()))?
            .map_err(|e| TraceError::Internal(e.to_string()))?;
        self.store().add_user(name, role, &hash, Utc::now()).await?;
        tracing::info!(
            person = name,
            role = role.as_str(),
            "person added on the Access page"
        );
        Ok(generated)
    }

    async fn remove_person(&self, name: &str) -> Result<(), TraceError> {
        if !self.store().remove_user(name).await? {
            return Err(TraceError::NotFound(format!("person {name:?}")));
        }
        tracing::info!(person = name, "person removed on the Access page");
        Ok(())
    }
}
