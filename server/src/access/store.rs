//! Tokens, people and sessions in the run database (migration
//! `0004_access.sql`), on SQLite or PostgreSQL. The SQL is the same on both
//! (numbered `$n` parameters work on each), so every method is written once
//! and run on whichever pool this store holds.

use super::{Role, Scope};
use crate::store::db_error;
use crate::store::db_pool::{on_pool, DbPool};
use app::error::TraceError;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, SqlitePool};

/// Access rows on the configured database.
#[derive(Clone)]
pub struct AccessStore {
    pool: DbPool,
}

/// An API token as listed (never its secret).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    /// Prefix and first characters, e.g. `tvi_Q3xk9a…`.
    pub display: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A person as listed (never their password hash).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct UserRow {
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// An `api_tokens` row without its hash, read by column name.
#[derive(sqlx::FromRow)]
struct TokenRecord {
    id: String,
    name: String,
    scope: String,
    display: String,
    created_at: i64,
    last_used_at: Option<i64>,
    revoked_at: Option<i64>,
}

/// A `users` row without its password hash.
#[derive(sqlx::FromRow)]
struct UserRecord {
    name: String,
    role: String,
    created_at: i64,
}

/// What signing in checks.
#[derive(sqlx::FromRow)]
struct Credentials {
    role: String,
    password_hash: String,
}

/// Whom a session belongs to.
#[derive(sqlx::FromRow)]
struct SessionPerson {
    name: String,
    role: String,
}

const TOKEN_COLUMNS: &str = "id, name, scope, display, created_at, last_used_at, revoked_at";

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn time(us: i64) -> Result<DateTime<Utc>, TraceError> {
    crate::store::time::from_micros(us)
}

fn token_row(t: TokenRecord) -> Result<TokenRow, TraceError> {
    Ok(TokenRow {
        id: t.id,
        name: t.name,
        scope: Scope::parse(&t.scope)
            .ok_or_else(|| TraceError::Internal(format!("unknown stored scope {:?}", t.scope)))?,
        display: t.display,
        created_at: time(t.created_at)?,
        last_used_at: t.last_used_at.map(time).transpose()?,
        revoked_at: t.revoked_at.map(time).transpose()?,
    })
}

fn role(text: &str) -> Result<Role, TraceError> {
    Role::parse(text).ok_or_else(|| TraceError::Internal(format!("unknown stored role {text:?}")))
}

/// A unique-constraint violation becomes a `Conflict` saying `what`.
fn conflict_or(err: sqlx::Error, what: impl FnOnce() -> String) -> TraceError {
    if err.as_database_error().is_some_and(|e| e.is_unique_violation()) {
        TraceError::Conflict(what())
    } else {
        db_error(err)
    }
}

impl AccessStore {
    pub(crate) fn sqlite(pool: SqlitePool) -> Self {
        Self {
            pool: DbPool::Sqlite(pool),
        }
    }

    pub(crate) fn postgres(pool: PgPool) -> Self {
        Self {
            pool: DbPool::Postgres(pool),
        }
    }

    /// Stores a new token named `name`; `Conflict` if an active one has that name.
    pub async fn create_token(
        &self,
        name: &str,
        scope: Scope,
        hash: &[u8; 32],
        display: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenRow, TraceError> {
        let id = uuid::Uuid::now_v7().to_string();
        let sql = "INSERT INTO api_tokens (id, name, scope, token_hash, display, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6)";
        on_pool!(self, |p| sqlx::query(sql)
            .bind(&id)
            .bind(name)
            .bind(scope.as_str())
            .bind(hash.to_vec())
            .bind(display)
            .bind(micros(now))
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(|e| conflict_or(e, || format!("a token named {name:?} already exists")))?;
        Ok(TokenRow {
            id,
            name: name.to_owned(),
            scope,
            display: display.to_owned(),
            created_at: time(micros(now))?,
            last_used_at: None,
            revoked_at: None,
        })
    }

    /// Every token, active first, newest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, TraceError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens \
             ORDER BY revoked_at IS NOT NULL, created_at DESC"
        );
        let rows: Vec<TokenRecord> =
            on_pool!(self, |p| sqlx::query_as(&sql).fetch_all(p).await).map_err(db_error)?;
        rows.into_iter().map(token_row).collect()
    }

    /// Revokes the active token named `name`; false if there is none.
    pub async fn revoke_token(&self, name: &str, now: DateTime<Utc>) -> Result<bool, TraceError> {
        let sql = "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL";
        let done = on_pool!(self, |p| sqlx::query(sql)
            .bind(micros(now))
            .bind(name)
            .execute(p)
            .await
            .map(|r| r.rows_affected()))
        .map_err(db_error)?;
        Ok(done > 0)
    }

    /// The active token whose secret hashes to `hash`.
    pub async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>, TraceError> {
        let sql =
            format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL");
        let row: Option<TokenRecord> = on_pool!(self, |p| sqlx::query_as(&sql)
            .bind(hash.to_vec())
            .fetch_optional(p)
            .await)
        .map_err(db_error)?;
        row.map(token_row).transpose()
    }

    /// Records that token `id` was used at `now`.
    pub async fn touch_token(&self, id: &str, now: DateTime<Utc>) -> Result<(), TraceError> {
        let sql = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2";
        on_pool!(self, |p| sqlx::query(sql)
            .bind(micros(now))
            .bind(id)
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(db_error)?;
        Ok(())
    }

    /// Adds a person; `Conflict` if the name is taken.
    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), TraceError> {
        let sql = "INSERT INTO users (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)";
        on_pool!(self, |p| sqlx::query(sql)
            .bind(name)
            .bind(role.as_str())
            .bind(password_hash)
            .bind(micros(now))
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(|e| conflict_or(e, || format!("a person named {name:?} already exists")))?;
        Ok(())
    }

    /// Every person, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRow>, TraceError> {
        let sql = "SELECT name, role, created_at FROM users ORDER BY name";
        let rows: Vec<UserRecord> =
            on_pool!(self, |p| sqlx::query_as(sql).fetch_all(p).await).map_err(db_error)?;
        rows.into_iter()
            .map(|user| {
                Ok(UserRow {
                    name: user.name,
                    role: role(&user.role)?,
                    created_at: time(user.created_at)?,
                })
            })
            .collect()
    }

    /// A person's role and password hash, for signing in.
    pub async fn user_credentials(&self, name: &str) -> Result<Option<(Role, String)>, TraceError> {
        let sql = "SELECT role, password_hash FROM users WHERE name = $1";
        let row: Option<Credentials> =
            on_pool!(self, |p| sqlx::query_as(sql).bind(name).fetch_optional(p).await).map_err(db_error)?;
        row.map(|user| Ok((role(&user.role)?, user.password_hash)))
            .transpose()
    }

    /// Sets a person's password and ends their sessions; false if no such person.
    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool, TraceError> {
        let update = "UPDATE users SET password_hash = $1 WHERE name = $2";
        let done = on_pool!(self, |p| async {
            let mut tx = crate::store::begin_detached(p).await?;
            let n = sqlx::query(update)
                .bind(password_hash)
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await.map(|()| n)
        }
        .await)
        .map_err(db_error)?;
        Ok(done > 0)
    }

    /// Removes a person and their sessions; false if no such person.
    pub async fn remove_user(&self, name: &str) -> Result<bool, TraceError> {
        let done = on_pool!(self, |p| async {
            let mut tx = crate::store::begin_detached(p).await?;
            sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query("DELETE FROM users WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await.map(|()| n)
        }
        .await)
        .map_err(db_error)?;
        Ok(done > 0)
    }

    /// Starts a session for `user` (the caller keeps the id; only its hash is stored).
    pub async fn create_session(
        &self,
        id_hash: &[u8; 32],
        user: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<(), TraceError> {
        let sql = "INSERT INTO sessions (id_hash, user_name, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        on_pool!(self, |p| sqlx::query(sql)
            .bind(id_hash.to_vec())
            .bind(user)
            .bind(micros(now))
            .bind(micros(expires))
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(db_error)?;
        Ok(())
    }

    /// The person a live session belongs to, with their current role.
    pub async fn session_user(
        &self,
        id_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<(String, Role)>, TraceError> {
        let sql = "SELECT u.name, u.role FROM sessions s JOIN users u ON u.name = s.user_name \
                   WHERE s.id_hash = $1 AND s.expires_at > $2";
        let row: Option<SessionPerson> = on_pool!(self, |p| sqlx::query_as(sql)
            .bind(id_hash.to_vec())
            .bind(micros(now))
            .fetch_optional(p)
            .await)
        .map_err(db_error)?;
        row.map(|user| Ok((user.name, role(&user.role)?))).transpose()
    }

    /// Ends a session (signing out).
    pub async fn delete_session(&self, id_hash: &[u8; 32]) -> Result<(), TraceError> {
        on_pool!(self, |p| sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash.to_vec())
            .execute(p)
            .await
            .map(|_| ()))
        .map_err(db_error)?;
        Ok(())
    }
}
