//! Who may do what (API.md "Access"): API tokens for programs, people who
//! sign in with a password, and one gate every request passes — REST, OTLP,
//! WebSockets, pages and server functions alike — so no door can be left
//! open by forgetting a check in a handler.

mod admin;
pub mod cli;
pub mod gate;
pub mod headers;
pub mod login;
pub mod manage;
mod secret;
mod store;

pub use gate::{Gate, GateSettings};
pub use secret::{hash_password, hash_secret, new_token};
pub use store::{AccessStore, TokenRow, UserRow};

use serde::{Deserialize, Serialize};
use std::fmt;

/// `TRACEVIS_AUTH` / `--auth`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Credentials required unless every listen address is loopback.
    #[default]
    Auto,
    /// Credentials always required.
    Required,
    /// No credentials (the cross-site checks still apply).
    Off,
}

impl AuthMode {
    /// Whether requests need credentials when listening on `addr`, and why
    /// (for the start-up log line).
    pub fn resolve(self, addr: std::net::SocketAddr) -> (bool, &'static str) {
        match self {
            AuthMode::Required => (true, "TRACEVIS_AUTH=required"),
            AuthMode::Off => (false, "TRACEVIS_AUTH=off"),
            AuthMode::Auto if addr.ip().is_loopback() => (
                false,
                "TRACEVIS_AUTH=auto and the listen address is loopback (only this machine can connect)",
            ),
            AuthMode::Auto => (
                true,
                "TRACEVIS_AUTH=auto and the listen address is not loopback (other machines can connect)",
            ),
        }
    }
}

/// What a credential allows. One scope per token; a person's role maps to
/// `Read` (viewer) or `Admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The write endpoints and OTLP, nothing else.
    Ingest,
    /// Every read: the API's GETs, the WebSockets, the pages.
    Read,
    /// Everything, including import and managing tokens and people.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ingest" => Some(Scope::Ingest),
            "read" => Some(Scope::Read),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// Whether this scope grants `need`.
    pub fn allows(self, need: Need) -> bool {
        match need {
            Need::Public => true,
            Need::Ingest => matches!(self, Scope::Ingest | Scope::Admin),
            Need::Read => matches!(self, Scope::Read | Scope::Admin),
            Need::Admin => self == Scope::Admin,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also manages tokens and people, and imports.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn scope(self) -> Scope {
        match self {
            Role::Viewer => Scope::Read,
            Role::Admin => Scope::Admin,
        }
    }
}

/// What a request needs, decided from its method and path alone (see
/// `gate::need_of`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone: health checks, the sign-in page, static assets.
    Public,
    Ingest,
    Read,
    Admin,
}

/// Who made a request, put in the request's extensions by the gate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Credentials are not required (loopback or `TRACEVIS_AUTH=off`).
    Anonymous,
    /// An API token, named by its row's name and display prefix.
    Token { name: String, scope: Scope },
    /// `TRACEVIS_ADMIN_TOKEN`.
    AdminToken,
    /// A signed-in person.
    Person { name: String, role: Role },
}

impl Identity {
    /// What this identity may do.
    pub fn scope(&self) -> Scope {
        match self {
            Identity::Anonymous | Identity::AdminToken => Scope::Admin,
            Identity::Token { scope, .. } => *scope,
            Identity::Person { role, .. } => role.scope(),
        }
    }
}
