//! What producers send: a new run, a batch of records, a completion. Every
//! field is validated while it is deserialized, so a value of these types is
//! already known good and the error for a bad one names its field.

use super::{ExecutionStatus, GraphDefinition, JsonObject, Label, NodeEventType, RecordId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A finite, non-negative duration in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct DurationMs(f64);

impl DurationMs {
    /// The duration in milliseconds.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for DurationMs {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        if value.is_finite() && value >= 0.0 {
            Ok(Self(value))
        } else {
            Err(format!("must be a finite number >= 0, got {value}"))
        }
    }
}

impl From<DurationMs> for f64 {
    fn from(d: DurationMs) -> f64 {
        d.0
    }
}

/// `POST /api/v1/executions`: a run starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewExecution {
    /// The run's id; the server assigns a UUIDv7 when absent.
    #[serde(default)]
    pub execution_id: Option<RecordId>,
    /// Which workflow runs.
    pub graph_type: Label,
    /// The run's inputs.
    #[serde(default)]
    pub original_inputs: JsonObject,
    /// When it started; now when absent.
    #[serde(default)]
    pub start_time: Option<DateTime<Utc>>,
    /// Producer metadata.
    #[serde(default)]
    pub metadata: JsonObject,
    /// The declared graph.
    #[serde(default)]
    pub graph: Option<GraphDefinition>,
    /// Whether this run replays another.
    #[serde(default)]
    pub is_replay: bool,
    /// The run this one replays.
    #[serde(default)]
    pub original_execution_id: Option<RecordId>,
    /// The state before the first node; stored as the first snapshot.
    #[serde(default)]
    pub initial_state: Option<JsonObject>,
}

/// `POST /api/v1/executions/{id}/events`: records to append, all or none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventBatch {
    /// Node events.
    #[serde(default)]
    pub events: Vec<NewEvent>,
    /// State snapshots.
    #[serde(default)]
    pub snapshots: Vec<NewSnapshot>,
}

/// A node event as a producer sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Unique within the run; assigned when absent. A repeat is a duplicate.
    #[serde(default)]
    pub event_id: Option<RecordId>,
    /// The node.
    pub node_id: Label,
    /// What happened.
    pub event_type: NodeEventType,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// How long the node ran.
    #[serde(default)]
    pub duration_ms: Option<DurationMs>,
    /// The node's inputs.
    #[serde(default)]
    pub inputs: JsonObject,
    /// The node's outputs.
    #[serde(default)]
    pub outputs: JsonObject,
    /// Error message of a failed node.
    #[serde(default)]
    pub error: Option<String>,
    /// Metadata; `llm_calls` and `tokens` feed the run's totals.
    #[serde(default)]
    pub metadata: JsonObject,
}

impl NewEvent {
    /// LLM calls this event reports in its metadata.
    pub fn llm_calls(&self) -> i64 {
        metadata_count(&self.metadata, "llm_calls")
    }

    /// Tokens this event reports in its metadata, if it reports any.
    pub fn tokens(&self) -> Option<i64> {
        self.metadata
            .get("tokens")
            .map(|_| metadata_count(&self.metadata, "tokens"))
    }
}

/// A count a producer reports in event metadata (`llm_calls`, `tokens`): a
/// non-negative integer (a fraction is cut; anything else counts 0). The
/// store's totals and the run page's live figures both read it here.
pub fn metadata_count(metadata: &JsonObject, key: &str) -> i64 {
    metadata
        .get(key)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .unwrap_or(0)
        .max(0)
}

/// A state snapshot as a producer sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewSnapshot {
    /// Unique within the run; assigned when absent.
    #[serde(default)]
    pub snapshot_id: Option<RecordId>,
    /// When the state was captured.
    pub timestamp: DateTime<Utc>,
    /// The node that produced it.
    pub node_id: Label,
    /// The whole state.
    pub state: JsonObject,
}

/// Totals a producer may report on completion instead of per-event metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PerformanceTotals {
    /// Overrides the summed `llm_calls`.
    #[serde(default)]
    pub total_llm_calls: Option<u32>,
    /// Overrides the summed `tokens`.
    #[serde(default)]
    pub total_tokens: Option<u64>,
    /// Reported cache hits (informational).
    #[serde(default)]
    pub cache_hits: Option<u32>,
    /// Reported cache misses (informational).
    #[serde(default)]
    pub cache_misses: Option<u32>,
}

/// `POST /api/v1/executions/{id}/complete`: a run finishes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// `completed` or `failed` (not `running`).
    pub status: ExecutionStatus,
    /// When it finished; now when absent.
    #[serde(default)]
    pub end_time: Option<DateTime<Utc>>,
    /// The final state.
    #[serde(default)]
    pub final_state: Option<JsonObject>,
    /// The run's error.
    #[serde(default)]
    pub error: Option<String>,
    /// Totals that override the summed metadata.
    #[serde(default)]
    pub performance: Option<PerformanceTotals>,
}
