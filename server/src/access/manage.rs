//! Managing tokens and people, with their rules — names, password length,
//! hashing — in one place for the two ways to do it: the `tracevis token` /
//! `tracevis user` commands and the Access page.

use super::secret::{hash_password, hash_secret, new_token, random_secret};
use super::{AccessStore, Role, Scope, TokenRow};
use app::error::TraceError;
use chrono::Utc;

/// The smallest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

fn invalid(field: &str, message: String) -> TraceError {
    TraceError::Invalid {
        field: field.to_owned(),
        message,
    }
}

/// Checks a token's or a person's name: 1–64 characters, letters, digits
/// and `.` `_` `-` `@` (it appears in lists, logs and the command line).
pub fn check_name(name: &str) -> Result<(), TraceError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(invalid(
            "name",
            format!("{name:?}: use 1-64 letters, digits, '.', '_', '-' or '@'"),
        ))
    }
}

fn check_password(password: &str) -> Result<(), TraceError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid(
            "password",
            format!("at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// The stored form of `password` (given and checked), or of a generated one
/// (20 random base64url characters, about 120 bits), which is returned to be
/// shown once.
async fn password_hash(password: Option<String>) -> Result<(String, Option<String>), TraceError> {
    let generated = password.is_none().then(|| random_secret()[..20].to_owned());
    let password = match password {
        Some(password) => {
            check_password(&password)?;
            password
        }
        None => generated.clone().unwrap_or_default(),
    };
    // argon2 is deliberately slow: off the async workers.
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| TraceError::Internal(e.to_string()))?
        .map_err(|e| TraceError::Internal(e.to_string()))?;
    Ok((hash, generated))
}

/// Creates a token named `name`; its secret (shown once) and its row.
pub async fn create_token(
    store: &AccessStore,
    name: &str,
    scope: Scope,
) -> Result<(String, TokenRow), TraceError> {
    check_name(name)?;
    let (token, shown) = new_token(scope);
    let row = store
        .create_token(name, scope, &hash_secret(&token), &shown, Utc::now())
        .await?;
    Ok((token, row))
}

/// Revokes the active token named `name`.
pub async fn revoke_token(store: &AccessStore, name: &str) -> Result<(), TraceError> {
    if store.revoke_token(name, Utc::now()).await? {
        Ok(())
    } else {
        Err(TraceError::NotFound(format!("active token {name:?}")))
    }
}

/// Adds a person; without a password one is generated and returned.
pub async fn add_person(
    store: &AccessStore,
    name: &str,
    role: Role,
    password: Option<String>,
) -> Result<Option<String>, TraceError> {
    check_name(name)?;
    let (hash, generated) = password_hash(password).await?;
    store.add_user(name, role, &hash, Utc::now()).await?;
    Ok(generated)
}

/// Sets a person's password (given, or generated and returned) and ends
/// their sessions.
pub async fn set_password(
    store: &AccessStore,
    name: &str,
    password: Option<String>,
) -> Result<Option<String>, TraceError> {
    let (hash, generated) = password_hash(password).await?;
    if store.set_password(name, &hash).await? {
        Ok(generated)
    } else {
        Err(TraceError::NotFound(format!("person {name:?}")))
    }
}

/// Removes a person and ends their sessions.
pub async fn remove_person(store: &AccessStore, name: &str) -> Result<(), TraceError> {
    if store.remove_user(name).await? {
        Ok(())
    } else {
        Err(TraceError::NotFound(format!("person {name:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_plain_words() {
        assert!(check_name("ci-producer.2026").is_ok());
        assert!(check_name("ana@example.com").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name("two words").is_err());
        assert!(check_name(&"x".repeat(65)).is_err());
    }
}
