//! The history store seam: one method per use case, implemented per database
//! backend in the server crate (sqlx stays out of this crate).

use crate::error::TraceError;
use crate::model::{
    Completion, EventBatch, ExecutionFilter, ExecutionList, ExecutionSummary, ExecutionTrace, NewExecution,
    NodeEvent, RecordId, StateSnapshot,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Whether `create_execution` made a new run or found the identical one.
#[derive(Clone, Debug, PartialEq)]
pub enum CreateOutcome {
    /// A new run was stored.
    Created(ExecutionSummary),
    /// The same request had already been stored (idempotent retry).
    AlreadyExists(ExecutionSummary),
}

/// The answer to an appended batch (API.md's response body).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppendOutcome {
    /// Records stored by this batch.
    pub accepted: u64,
    /// Records skipped because their id was already stored.
    pub duplicates: u64,
    /// The run's highest `seq` after the batch.
    pub last_seq: i64,
}

/// A stored batch: the outcome plus the records as stored (with `seq`), for
/// whoever fans them out to live subscribers.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredBatch {
    /// Counts for the producer.
    pub outcome: AppendOutcome,
    /// Newly stored events, in `seq` order.
    pub events: Vec<NodeEvent>,
    /// Newly stored snapshots, in `seq` order.
    pub snapshots: Vec<StateSnapshot>,
}

/// Durable storage of runs, their records and their aggregates.
#[async_trait]
pub trait HistoryStore: Send + Sync + 'static {
    /// Stores a new run under `id`. `request` is the canonical JSON of what the
    /// producer sent, so a retry of the same request is recognised and a
    /// different one under the same id is a conflict.
    async fn create_execution(
        &self,
        id: &RecordId,
        new: &NewExecution,
        request: &str,
    ) -> Result<CreateOutcome, TraceError>;

    /// Appends a batch atomically: all records stored, or none.
    async fn append_batch(&self, id: &RecordId, batch: &EventBatch) -> Result<StoredBatch, TraceError>;

    /// Marks a running run finished.
    async fn complete_execution(
        &self,
        id: &RecordId,
        completion: &Completion,
    ) -> Result<ExecutionSummary, TraceError>;

    /// One page of runs and the number matching.
    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<ExecutionList, TraceError>;

    /// A run with its records; snapshots carry their stored diffs.
    async fn load_trace(&self, id: &str) -> Result<ExecutionTrace, TraceError>;

    /// A run's events in `seq` order, optionally of one node only.
    async fn load_events(&self, id: &str, node_id: Option<&str>) -> Result<Vec<NodeEvent>, TraceError>;

    /// A run's snapshots in `seq` order, with stored diffs.
    async fn load_snapshots(&self, id: &str) -> Result<Vec<StateSnapshot>, TraceError>;

    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<(), TraceError>;
}
