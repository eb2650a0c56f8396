//! A state snapshot: the whole graph state after a node, with its structural
//! diff from the snapshot before it.

use super::JsonObject;
use crate::diff::DiffEntry;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A stored snapshot of the run's state at one moment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StateSnapshot {
    /// Unique within its execution.
    pub snapshot_id: String,
    /// The execution this snapshot belongs to.
    pub execution_id: String,
    /// Position in the execution's record sequence (shared with events).
    pub seq: i64,
    /// When the state was captured.
    pub timestamp: DateTime<Utc>,
    /// The node that produced this state.
    pub node_id: String,
    /// The whole state.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub state: JsonObject,
    /// Changes from the previous snapshot, leaf path by leaf path; `None` for
    /// the first snapshot or when diffs were not asked for.
    pub diff: Option<Vec<DiffEntry>>,
}
