//! The trace model shared by the server and the browser: what a run, its node
//! events and its state snapshots look like on the wire (field names follow the
//! design document and API.md), plus the validated inputs producers send.

mod cursor;
mod execution;
mod graph;
mod ids;
mod ingest;
mod node_event;
mod outline;
mod snapshot;
mod statistics;

pub use cursor::ListCursor;
pub use execution::{
    check_filter_text, check_metadata_filters, ExecutionFilter, ExecutionList, ExecutionStatus,
    ExecutionSummary, ExecutionTrace, ListSort, DEFAULT_LIST_LIMIT, MAX_COUNTED_RUNS, MAX_LIST_LIMIT,
    MAX_LIST_OFFSET, MAX_METADATA_FILTERS,
};
pub use graph::{GraphDefinition, GraphEdge, GraphNode};
pub use ids::{check_no_nul, replace_nul, Label, RecordId, MAX_LABEL_LEN};
pub use ingest::{
    check_instant, metadata_count, Completion, DurationMs, EventBatch, NewEvent, NewExecution, NewSnapshot,
    PerformanceTotals, MAX_DURATION_MS, MAX_EVENT_COUNT, MAX_PARENTS, MAX_RUN_TOTAL,
};
pub use node_event::{NodeEvent, NodeEventType};
pub use outline::{EventOutline, RunOutline, SnapshotOutline};
pub use snapshot::StateSnapshot;
pub use statistics::{
    CriticalPathNode, DurationPercentiles, NodeTypeSeries, NodeTypeStatistics, ParallelismStatistics,
    Statistics, StatisticsAccuracy, StatisticsFilter, StatusCounts, TimeBucket, MAX_CRITICAL_PATH_NODES,
};

/// A JSON object as producers send it (inputs, outputs, metadata, state).
pub type JsonObject = serde_json::Map<String, serde_json::Value>;
