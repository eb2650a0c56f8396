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

/// What a page learns when a server function fails: what happened and what
/// the user can do, never internals (those are logged on the server).
#[derive(Clone, Debug, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum PageError {
    /// The run (or record) asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// An argument is invalid: `field: what is wrong`.
    #[error("{0}")]
    Invalid(String),
    /// The request contradicts what is stored.
    #[error("{0}")]
    Conflict(String),
    /// The database is away; the page may try again.
    #[error("the database cannot be reached right now; try again in a moment")]
    Unavailable,
    /// A bug or a corrupt row; the details are in the server's log.
    #[error("something went wrong on the server; the details are in its log")]
    Internal,
    /// The call itself failed: the server could not be reached, or its
    /// answer could not be read.
    #[error("{0}")]
    Call(String),
}

impl leptos::server_fn::error::FromServerFnError for PageError {
    type Encoder = crate::answer_encoding::JsonText;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        use leptos::server_fn::error::ServerFnErrorErr as Err;
        match value {
            // On the server: the request's arguments could not be read (the
            // JSON codec reports that as `Deserialization`; on the server
            // nothing else is decoded, since pages rendered there call their
            // functions directly). The caller's mistake — 400, as the REST
            // API answers a body that is not its JSON — not the server's
            // (server_fn's default is 500).
            #[cfg(feature = "ssr")]
            Err::Args(message) | Err::MissingArg(message) | Err::Deserialization(message) => {
                if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(leptos::server_fn::http_export::StatusCode::BAD_REQUEST);
                }
                Self::Invalid(format!("arguments: {message}"))
            }
            other => Self::Call(other.to_string()),
        }
    }
}

impl From<TraceError> for PageError {
    /// The page's view of a service error; `Unavailable` and `Internal`
    /// keep their details for the log (see `server_fns::failed`).
    fn from(error: TraceError) -> Self {
        match error {
            TraceError::NotFound(what) => Self::NotFound(what),
            TraceError::Invalid { field, message } => Self::Invalid(format!("{field}: {message}")),
            TraceError::Conflict(message) => Self::Conflict(message),
            TraceError::Unavailable(_) => Self::Unavailable,
            TraceError::Internal(_) => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_told_what_it_can_act_on_and_never_internals() {
        let page = |e: TraceError| PageError::from(e).to_string();
        assert_eq!(
            page(TraceError::execution_not_found("r1")),
            "execution \"r1\" not found"
        );
        assert_eq!(
            page(TraceError::Invalid {
                field: "limit".into(),
                message: "must be at most 1000".into()
            }),
            "limit: must be at most 1000"
        );
        let internal = page(TraceError::Internal("no such column: secret_sauce".into()));
        assert!(!internal.contains("secret_sauce"), "{internal}");
        let away = page(TraceError::Unavailable("connection refused at 10.0.0.7".into()));
        assert!(!away.contains("10.0.0.7"), "{away}");
    }
}
