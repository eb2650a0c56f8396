//! `tracevis token …` and `tracevis user …`: managing access straight on the
//! configured database, whether or not a server is running — also the way
//! back in when every admin has lost their password. Running servers see
//! the change within a second (they look tokens up again that often, and
//! sessions on every request).

use super::manage;
use super::{AccessStore, Role, Scope};
use anyhow::Context;
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

pub async fn token(store: &AccessStore, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name, scope } => {
            let (token, row) = manage::create_token(store, &name, scope).await?;
            eprintln!(
                "created {scope} token {name:?} ({}); it is shown only now",
                row.display
            );
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
            manage::revoke_token(store, &name)
                .await
                .context("see `tracevis token list`")?;
            eprintln!("revoked token {name:?}");
        }
    }
    Ok(())
}

/// A password from standard input; `None` (generate one) when standard
/// input is a terminal or empty.
fn password_from_stdin() -> anyhow::Result<Option<String>> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(None);
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .context("reading the password from standard input")?;
    let password = text.trim_end_matches(['\r', '\n']);
    Ok((!password.is_empty()).then(|| password.to_owned()))
}

/// Prints a generated password, once.
fn show_generated(password: Option<String>) {
    if let Some(password) = password {
        eprintln!("generated password (shown only now):");
        println!("{password}");
    }
}

pub async fn user(store: &AccessStore, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { name, role } => {
            let generated = manage::add_person(store, &name, role, password_from_stdin()?).await?;
            show_generated(generated);
            eprintln!("added {} {name:?}", role.as_str());
        }
        UserCommand::Passwd { name } => {
            let generated = manage::set_password(store, &name, password_from_stdin()?)
                .await
                .context("see `tracevis user list`")?;
            show_generated(generated);
            eprintln!("password of {name:?} changed; their sessions are ended");
        }
        UserCommand::Remove { name } => {
            manage::remove_person(store, &name)
                .await
                .context("see `tracevis user list`")?;
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
