//! The design document's `TraceVisualizationProtocol` as a Rust trait. HTTP
//! routes and server functions both call one implementation of it, so neither
//! has logic of its own.

use crate::error::TraceError;
use crate::live::LiveSubscription;
use crate::model::{
    ExecutionFilter, ExecutionList, ExecutionTrace, NewEvent, NodeEvent, RecordId, StateSnapshot,
};
use async_trait::async_trait;

/// Read access to stored runs, as the UI and API need it.
#[async_trait]
pub trait TraceVisualization: Send + Sync + 'static {
    /// The whole run: summary, node events and state snapshots (AC1).
    async fn get_trace(&self, execution_id: &str) -> Result<ExecutionTrace, TraceError>;

    /// The run as its page first needs it: summary and record outlines,
    /// without the records' payloads.
    async fn get_run_outline(&self, execution_id: &str) -> Result<crate::model::RunOutline, TraceError>;

    /// Node events ordered by timestamp (ties by `seq`), optionally only those
    /// of one node type (AC4).
    async fn get_node_timeline(
        &self,
        execution_id: &str,
        node_type: Option<&str>,
    ) -> Result<Vec<NodeEvent>, TraceError>;

    /// The node events with these `seq`s, in `seq` order: a visit's events,
    /// payloads included, when its details are opened.
    async fn get_node_events(&self, execution_id: &str, seqs: &[i64]) -> Result<Vec<NodeEvent>, TraceError>;

    /// State snapshots in order, with diffs from the previous one when asked.
    async fn get_state_history(
        &self,
        execution_id: &str,
        include_diffs: bool,
    ) -> Result<Vec<StateSnapshot>, TraceError>;

    /// One page of runs matching `filter`, newest first, with the match count.
    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<ExecutionList, TraceError>;

    /// A run's records with `seq > after_seq`, then its new records as they
    /// are stored, each once and in order, with a status frame whenever its
    /// status changes; the stream ends after the final status.
    async fn subscribe_to_execution(
        &self,
        execution_id: &str,
        after_seq: i64,
    ) -> Result<LiveSubscription, TraceError>;

    /// Stores one event of a running run and delivers it to its subscribers
    /// (the design document's `emit_event`, called by executors).
    async fn emit_event(&self, execution_id: &RecordId, event: NewEvent) -> Result<NodeEvent, TraceError>;
}

/// The history operations pages read besides the protocol (the design
/// document's H11 store): statistics across runs and run comparison.
#[async_trait]
pub trait HistoryQueries: Send + Sync + 'static {
    /// Counts, rates and percentiles across the runs `filter` selects.
    async fn statistics(
        &self,
        filter: crate::model::StatisticsFilter,
    ) -> Result<crate::model::Statistics, TraceError>;

    /// The per node type part of `statistics` alone (no figures over time):
    /// what a run page compares an opened visit with.
    async fn node_type_statistics(
        &self,
        filter: crate::model::StatisticsFilter,
    ) -> Result<Vec<crate::model::NodeTypeStatistics>, TraceError>;

    /// Run `a` and run `b` aligned step by step; without `b`, `a` against the
    /// previous run of its graph type.
    async fn compare(&self, a: &str, b: Option<&str>) -> Result<crate::compare::Comparison, TraceError>;

    /// Runs to compare `execution_id` with: of its graph type, newest first;
    /// without `search`, those that started before it (the first is the
    /// default), with it, any whose id contains `search`.
    async fn comparison_candidates(
        &self,
        execution_id: &str,
        search: Option<&str>,
    ) -> Result<Vec<crate::model::ExecutionSummary>, TraceError>;
}
