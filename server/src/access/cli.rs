//! `tracevis token …` and `tracevis user …`: managing access straight on the
//! configured database, whether or not a server is running — also the way
//! back in when every admin has lost their password. Running servers see
//! the change within a second (they look tokens up again that often, and
//! sessions on every request).

use super::secret::{hash_password, hash_secret, new_token, random_secret};
use super::{AccessStore, Role, Scope};
use anyhow::{bail, Context};
use chrono::Utc;
use std::io::{IsTerminal, Read, Write};

#[derive(clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once, alone on standard output.
    Create {
        /// A name to know it by (unique among active tokens).
        #[arg(long)]
        name: String,
        /// What it may do.
        #[arg(long, value_enum)]
        scope: Scope,
    },
    /// List tokens (names, scopes, display prefixes, last use; never secrets).
    List,
    /// Revoke the active token with this name.
    Revoke { name: String },
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Add a person. The password is read from standard input, or generated
    /// and printed once when standard input is a terminal or empty.
    Add {
        name: String,
        #[arg(long, value_enum, default_value = "viewer")]
        role: Role,
    },
    /// Set a person's password (from standard input, or generated and
    /// printed once); ends their sessions.
    Passwd { name: String },
    /// Remove a person and end their sessions.
    Remove { name: String },
    /// List people and their roles.
    List,
}

/// Checks a token's or a person's name: 1–64 characters, letters, digits
/// and `.` `_` `-` `@` (it appears in lists, logs and the command line).
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} name {name:?}: use 1-64 letters, digits, '.', '_', '-' or '@'"
        ))
    }
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

/// A generated password (20 random base64url characters, about 120 bits).
pub fn generated_password() -> String {
    random_secret()[..20].to_owned()
}

/// The smallest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

pub async fn token(store: &AccessStore, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name, scope } => {
            check_name("token", &name).map_err(anyhow::Error::msg)?;
            let (token, display) = new_token(scope);
            store
                .create_token(&name, scope, &hash_secret(&token), &display, Utc::now())
                .await?;
            eprintln!("created {scope} token {name:?} ({display}); it is shown only now");
            println!("{token}");
        }
        TokenCommand::List => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<24} {:<7} {:<14} {:<20} {:<20} STATUS",
                "NAME", "SCOPE", "TOKEN", "CREATED", "LAST USED"
            )?;
            for t in store.list_tokens().await? {
                let when = |at: Option<chrono::DateTime<Utc>>| {
                    at.map_or("never".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
                };
                let status = match t.revoked_at {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                    None => "active".to_owned(),
                };
                writeln!(
                    out,
                    "{:<24} {:<7} {:<14} {:<20} {:<20} {status}",
                    t.name,
                    t.scope.as_str(),
                    t.display,
                    when(Some(t.created_at)),
                    when(t.last_used_at)
                )?;
            }
        }
        TokenCommand::Revoke { name } => {
            if !store.revoke_token(&name, Utc::now()).await? {
                bail!("no active token named {name:?} (see `tracevis token list`)");
            }
            eprintln!("revoked token {name:?}");
        }
    }
    Ok(())
}

/// A password from standard input, or a generated one (printed once).
fn password_from_stdin() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut text = String::new();
        stdin
            .lock()
            .read_to_string(&mut text)
            .context("reading the password from standard input")?;
        let password = text.trim_end_matches(['\r', '\n']).to_owned();
        if !password.is_empty() {
            check_password(&password).map_err(anyhow::Error::msg)?;
            return Ok(password);
        }
    }
    let password = generated_password();
    eprintln!("generated password (shown only now):");
    println!("{password}");
    Ok(password)
}

pub async fn user(store: &AccessStore, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { name, role } => {
            check_name("person's", &name).map_err(anyhow::Error::msg)?;
            let hash = hash_password(&password_from_stdin()?)?;
            store.add_user(&name, role, &hash, Utc::now()).await?;
            eprintln!("added {} {name:?}", role.as_str());
        }
        UserCommand::Passwd { name } => {
            let hash = hash_password(&password_from_stdin()?)?;
            if !store.set_password(&name, &hash).await? {
                bail!("no person named {name:?} (see `tracevis user list`)");
            }
            eprintln!("password of {name:?} changed; their sessions are ended");
        }
        UserCommand::Remove { name } => {
            if !store.remove_user(&name).await? {
                bail!("no person named {name:?} (see `tracevis user list`)");
            }
            eprintln!("removed {name:?}; their sessions are ended");
        }
        UserCommand::List => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{:<32} {:<7} ADDED", "NAME", "ROLE")?;
            for u in store.list_users().await? {
                writeln!(
                    out,
                    "{:<32} {:<7} {}",
                    u.name,
                    u.role.as_str(),
                    u.created_at.format("%Y-%m-%d %H:%M")
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_plain_words() {
        assert!(check_name("token", "ci-producer.2026").is_ok());
        assert!(check_name("token", "ana@example.com").is_ok());
        assert!(check_name("token", "").is_err());
        assert!(check_name("token", "two words").is_err());
        assert!(check_name("token", &"x".repeat(65)).is_err());
    }
}
