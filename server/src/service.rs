//! `TraceService`: the one implementation of the trace protocol and of the
//! write operations. HTTP routes and server functions call it; it calls the
//! store. Nothing else decides what a request means.

mod statistics;

use crate::live::{self, HubReceiver, LiveHub};
use app::error::TraceError;
use app::live::LiveSubscription;
use app::model::{
    Completion, EventBatch, ExecutionFilter, ExecutionList, ExecutionStatus, ExecutionSummary,
    ExecutionTrace, NewEvent, NewExecution, NodeEvent, RecordId, StateSnapshot, Statistics, StatisticsFilter,
};
use app::protocol::TraceVisualization;
use app::store::{CreateOutcome, HistoryStore, StoredBatch};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tracing::{info, warn};

/// Reads and writes runs through a `HistoryStore`, and tells live
/// subscribers about every write once the store has acknowledged it.
#[derive(Clone)]
pub struct TraceService {
    store: Arc<dyn HistoryStore>,
    hub: Arc<LiveHub>,
}

impl TraceService {
    /// A service over `store`, with its own live hub.
    pub fn new(store: Arc<dyn HistoryStore>) -> Self {
        Self {
            store,
            hub: LiveHub::new(),
        }
    }

    /// The live hub (for measuring and tests).
    pub fn hub(&self) -> &Arc<LiveHub> {
        &self.hub
    }

    /// Subscribes to every run's status changes (the live run list).
    pub fn subscribe_runs(&self) -> HubReceiver {
        self.hub.subscribe_runs()
    }

    /// Republishes what another instance stored (see `live::postgres_relay`):
    /// a run's new status, or its records `first..=last`.
    pub async fn relay(&self, is_status: bool, execution_id: &str, first: i64, last: i64) {
        if !is_status && !self.hub.has_subscribers(execution_id) {
            return;
        }
        let after = if is_status { i64::MAX } else { first - 1 };
        match self.store.load_trace(execution_id, after).await {
            Ok(trace) if is_status => self.hub.publish_status(&trace.summary),
            Ok(trace) => {
                let events: Vec<_> = trace.node_events.into_iter().filter(|e| e.seq <= last).collect();
                let snapshots: Vec<_> = trace
                    .state_snapshots
                    .into_iter()
                    .filter(|s| s.seq <= last)
                    .collect();
                self.hub.publish_records(execution_id, &events, &snapshots);
            }
            Err(e) => warn!(execution.id = %execution_id, error = %e, "cannot relay {execution_id}"),
        }
    }

    /// Starts a run; the same request twice is one run, a different request
    /// under an existing id is a conflict.
    pub async fn start_execution(&self, new: NewExecution) -> Result<CreateOutcome, TraceError> {
        let id = new.execution_id.clone().unwrap_or_else(RecordId::generate);
        // serde_json maps are ordered by key, so this text is canonical: two
        // requests with the same content serialise identically.
        let request = serde_json::to_string(&new)
            .map_err(|e| TraceError::Internal(format!("cannot serialise request: {e}")))?;
        let outcome = self.store.create_execution(&id, &new, &request).await?;
        if let CreateOutcome::Created(summary) = &outcome {
            info!(execution.id = %id, graph.r#type = new.graph_type.as_str(), "started execution {id}");
            self.hub.publish_status(summary);
        }
        Ok(outcome)
    }

    /// Appends a batch atomically.
    pub async fn append_batch(&self, id: &RecordId, batch: EventBatch) -> Result<StoredBatch, TraceError> {
        let stored = self.store.append_batch(id, &batch).await?;
        self.hub
            .publish_records(id.as_str(), &stored.events, &stored.snapshots);
        Ok(stored)
    }

    /// Finishes a run as completed or failed.
    pub async fn complete_execution(
        &self,
        id: &RecordId,
        completion: Completion,
    ) -> Result<ExecutionSummary, TraceError> {
        if completion.status == ExecutionStatus::Running {
            return Err(TraceError::Invalid {
                field: "status".into(),
                message: "must be \"completed\" or \"failed\"".into(),
            });
        }
        let summary = self.store.complete_execution(id, &completion).await?;
        self.hub.publish_status(&summary);
        info!(execution.id = %id, status = summary.status.as_str(), "execution {id} {}", summary.status.as_str());
        Ok(summary)
    }

    /// Succeeds when the store answers.
    pub async fn health(&self) -> Result<(), TraceError> {
        self.store.ping().await
    }

    /// Counts, rates and percentiles across the runs `filter` selects.
    pub async fn statistics(&self, filter: StatisticsFilter) -> Result<Statistics, TraceError> {
        let inputs = self.store.load_statistics(&filter).await?;
        Ok(statistics::assemble(filter, inputs))
    }

    /// Run `a` and run `b` aligned step by step (see `app::compare`).
    pub async fn compare(&self, a: &str, b: &str) -> Result<app::compare::Comparison, TraceError> {
        let (trace_a, trace_b) = tokio::try_join!(self.store.load_trace(a, 0), self.store.load_trace(b, 0))?;
        Ok(app::compare::compare(&trace_a, &trace_b))
    }

    /// Finished runs slower than `threshold_ms`, slowest first.
    pub async fn slow_executions(
        &self,
        threshold_ms: f64,
        graph_type: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ExecutionSummary>, TraceError> {
        self.store.slow_executions(threshold_ms, graph_type, limit).await
    }

    /// The runs that replay `execution_id`, newest first.
    pub async fn list_replays(&self, execution_id: &str) -> Result<Vec<ExecutionSummary>, TraceError> {
        self.store.list_replays(execution_id).await
    }

    /// Deletes every run that started before `cutoff`, `chunk` runs per
    /// transaction, yielding between chunks so ingest never waits long.
    /// Returns how many runs were deleted.
    pub async fn delete_started_before(&self, cutoff: DateTime<Utc>, chunk: u32) -> Result<u64, TraceError> {
        let mut deleted = 0;
        loop {
            let n = self.store.delete_started_before(cutoff, chunk).await?;
            deleted += n;
            if n < u64::from(chunk) {
                return Ok(deleted);
            }
            tokio::task::yield_now().await;
        }
    }
}

#[async_trait]
impl app::protocol::HistoryQueries for TraceService {
    async fn statistics(&self, filter: StatisticsFilter) -> Result<Statistics, TraceError> {
        TraceService::statistics(self, filter).await
    }

    async fn compare(&self, a: &str, b: &str) -> Result<app::compare::Comparison, TraceError> {
        TraceService::compare(self, a, b).await
    }
}

#[async_trait]
impl TraceVisualization for TraceService {
    async fn get_trace(&self, execution_id: &str) -> Result<ExecutionTrace, TraceError> {
        self.store.load_trace(execution_id, 0).await
    }

    async fn get_node_timeline(
        &self,
        execution_id: &str,
        node_type: Option<&str>,
    ) -> Result<Vec<NodeEvent>, TraceError> {
        let mut events = self.store.load_events(execution_id, node_type).await?;
        // Stored in seq order; the timeline is by time, seq breaking ties
        // (the sort is stable).
        events.sort_by_key(|e| e.timestamp);
        Ok(events)
    }

    async fn get_state_history(
        &self,
        execution_id: &str,
        include_diffs: bool,
    ) -> Result<Vec<StateSnapshot>, TraceError> {
        let mut snapshots = self.store.load_snapshots(execution_id).await?;
        if !include_diffs {
            snapshots.iter_mut().for_each(|s| s.diff = None);
        }
        Ok(snapshots)
    }

    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<ExecutionList, TraceError> {
        self.store.list_executions(filter).await
    }

    async fn subscribe_to_execution(
        &self,
        execution_id: &str,
        after_seq: i64,
    ) -> Result<LiveSubscription, TraceError> {
        live::subscribe(self.store.clone(), &self.hub, execution_id, after_seq).await
    }

    async fn emit_event(&self, execution_id: &RecordId, event: NewEvent) -> Result<NodeEvent, TraceError> {
        let batch = EventBatch {
            events: vec![event],
            snapshots: Vec::new(),
        };
        let stored = self.append_batch(execution_id, batch).await?;
        stored
            .events
            .into_iter()
            .next()
            .ok_or_else(|| TraceError::Conflict("the event's id was already stored".into()))
    }
}
