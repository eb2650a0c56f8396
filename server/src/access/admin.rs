//! The Access page's operations (`app::access::AccessAdmin`) on the gate's
//! access rows, through `manage` like the CLI.

use super::{manage, Gate, Role, Scope};
use app::access::{AccessAdmin, PersonView, TokenView};
use app::error::TraceError;

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
        let scope = Scope::parse(scope)
            .ok_or_else(|| invalid("scope", format!("expected ingest, read or admin, got {scope:?}")))?;
        let (token, row) = manage::create_token(self.store(), name, scope).await?;
        tracing::info!(
            token = name,
            scope = scope.as_str(),
            prefix = row.display.as_str(),
            "token created on the Access page"
        );
        Ok(token)
    }

    async fn revoke_token(&self, name: &str) -> Result<(), TraceError> {
        manage::revoke_token(self.store(), name).await?;
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
        let role = Role::parse(role)
            .ok_or_else(|| invalid("role", format!("expected viewer or admin, got {role:?}")))?;
        let generated = manage::add_person(self.store(), name, role, password.map(str::to_owned)).await?;
        tracing::info!(
            person = name,
            role = role.as_str(),
            "person added on the Access page"
        );
        Ok(generated)
    }

    async fn remove_person(&self, name: &str) -> Result<(), TraceError> {
        manage::remove_person(self.store(), name).await?;
        tracing::info!(person = name, "person removed on the Access page");
        Ok(())
    }
}
