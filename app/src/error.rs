//! The one error type of the service and its stores. Error policy: variants say
//! what a caller can act on (not found, conflict, bad field, try later); the
//! text of `Unavailable`/`Internal` is for logs, and the HTTP layer shows a
//! generic message for them instead of internals.

use serde::{Deserialize, Serialize};

/// Why a trace operation failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum TraceError {
    /// The named execution (or record) does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request contradicts what is stored (finished run, different content).
    #[error("{0}")]
    Conflict(String),
    /// A field of the request is invalid.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as a path: `events[3].duration_ms`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The database cannot be reached; the request may be retried.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Anything else; a bug or a corrupt row.
    #[error("internal error: {0}")]
    Internal(String),
}

impl TraceError {
    /// A `NotFound` for an execution id.
    pub fn execution_not_found(id: &str) -> Self {
        Self::NotFound(format!("execution {id:?}"))
    }
}
