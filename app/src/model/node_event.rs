//! One node event: a point in a node visit (started, completed, failed, or a
//! cache hit), as stored and as shown on the timeline.

use super::JsonObject;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What happened to a node at an event's moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NodeEventType {
    /// The node began executing.
    Started,
    /// The node finished successfully.
    Completed,
    /// The node raised an error.
    Failed,
    /// The node's result came from a cache instead of running it.
    Cached,
}

impl NodeEventType {
    /// The wire name (`"started"`, …), also used as the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cached => "cached",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "started" => Some(Self::Started),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            "cached" => Some(Self::Cached),
            _ => None,
        }
    }

    /// Whether this event ends a node visit (and so counts as a visited node).
    pub fn ends_visit(self) -> bool {
        !matches!(self, Self::Started)
    }
}

/// A stored node event; `seq` orders it among its execution's records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeEvent {
    /// Unique within its execution.
    pub event_id: String,
    /// The execution this event belongs to.
    pub execution_id: String,
    /// Position in the execution's record sequence (shared with snapshots).
    pub seq: i64,
    /// The node, e.g. `TranslateNode`.
    pub node_id: String,
    /// What happened.
    pub event_type: NodeEventType,
    /// When it happened (UTC, microsecond precision).
    pub timestamp: DateTime<Utc>,
    /// How long the node ran, for completed/failed/cached events.
    pub duration_ms: Option<f64>,
    /// The node's inputs.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub inputs: JsonObject,
    /// The node's outputs.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub outputs: JsonObject,
    /// The error message of a failed node.
    pub error: Option<String>,
    /// Free-form metadata: `attempt`, `llm_calls`, `tokens`, cache keys, …
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub metadata: JsonObject,
    /// The `event_id`s the producer named as the visits this one follows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    /// The `seq` of each of `parents`, in the same order: how readers that
    /// index a run by `seq` (the live page) find them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent_seqs: Vec<i64>,
}
