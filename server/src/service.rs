//! `TraceService`: the one implementation of the trace protocol and of the
//! write operations. HTTP routes and server functions call it; it calls the
//! store. Nothing else decides what a request means.

pub mod otel;
pub mod relay;
mod statistics;

use crate::export::document::{stored_record_ids, ImportDocument};
use crate::live::{self, HubReceiver, LiveHub};
use app::error::TraceError;
use app::live::LiveSubscription;
use app::model::{
    Completion, EventBatch, ExecutionFilter, ExecutionList, ExecutionStatus, ExecutionSummary,
    ExecutionTrace, NewEvent, NewExecution, NodeEvent, NodeTypeStatistics, RecordId, StateSnapshot,
    Statistics, StatisticsFilter,
};
use app::protocol::TraceVisualization;
use app::store::{CreateOutcome, FinishedRuns, HistoryStore, StoredBatch};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tracing::{info, warn};

/// What an import did.
#[derive(Debug)]
pub enum ImportOutcome {
    /// The run was stored.
    Imported(ExecutionSummary),
    /// The same run (same id and start request) was already stored.
    AlreadyPresent(ExecutionSummary),
}

/// Reads and writes runs through a `HistoryStore`, and tells live
/// subscribers about every write once the store has acknowledged it.
#[derive(Clone)]
pub struct TraceService {
    store: Arc<dyn HistoryStore>,
    hub: Arc<LiveHub>,
    /// How long a span-born run may receive nothing before it counts as
    /// abandoned (see `otel`).
    quiet_after: std::time::Duration,
    /// Alert rules, when this service manages them.
    alerts: Option<crate::alerts::Alerts>,
}

impl TraceService {
    /// A service over `store`, with its own live hub.
    pub fn new(store: Arc<dyn HistoryStore>) -> Self {
        Self {
            store,
            hub: LiveHub::new(),
            quiet_after: otel::DEFAULT_QUIET_AFTER,
            alerts: None,
        }
    }

    /// The same service, managing alert rules too.
    pub fn with_alerts(mut self, alerts: crate::alerts::Alerts) -> Self {
        self.alerts = Some(alerts);
        self
    }

    /// The alert rules (an error where this service was made without).
    pub fn alerts(&self) -> Result<&crate::alerts::Alerts, TraceError> {
        self.alerts
            .as_ref()
            .ok_or_else(|| TraceError::Internal("alert rules are not available in this process".into()))
    }

    /// The same service, with span-born runs abandoned after `quiet_after`
    /// without a new span.
    pub fn with_quiet_after(mut self, quiet_after: std::time::Duration) -> Self {
        self.quiet_after = quiet_after;
        self
    }

    /// The live hub (for measuring and tests).
    pub fn hub(&self) -> &Arc<LiveHub> {
        &self.hub
    }

    /// Subscribes to run `execution_id` after `after_seq`, until `end`.
    pub async fn follow_execution(
        &self,
        execution_id: &str,
        after_seq: i64,
        end: live::StreamEnd,
    ) -> Result<LiveSubscription, TraceError> {
        live::subscribe(
            self.store.clone(),
            &self.hub,
            run_id("execution_id", execution_id)?,
            after_seq,
            end,
        )
        .await
    }

    /// Subscribes to every run's status changes (the live run list).
    pub fn subscribe_runs(&self) -> HubReceiver {
        self.hub.subscribe_runs()
    }

    /// Tells every live subscriber here to resync (see `LiveHub::resync_all`).
    pub fn resync_subscribers(&self) -> usize {
        self.hub.resync_all()
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
        let stored = self.store.append_batch(id, &batch, FinishedRuns::Refuse).await?;
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

    /// Stores an exported run again through the producers' write path (see
    /// `export::document`). Importing the same run twice is harmless; a
    /// different run under an existing id is a conflict.
    pub async fn import(&self, document: ImportDocument) -> Result<ImportOutcome, TraceError> {
        let plan = document.into_plan()?;
        let id = plan.execution_id.clone();
        let records = plan.record_ids.len();
        let graph_type = plan.start.graph_type.as_str().to_owned();
        let status_in_file = plan
            .completion
            .as_ref()
            .map_or(ExecutionStatus::Running, |c| c.status);
        // `Some(same_start)` when the id is already stored.
        let existing = match self.start_execution(plan.start).await {
            Ok(CreateOutcome::Created(_)) => None,
            Ok(CreateOutcome::AlreadyExists(_)) => Some(true),
            // Posted by its producer (whose start request differs from the
            // replayed one, e.g. by `initial_state`): judged by content below.
            Err(TraceError::Conflict(_)) => Some(false),
            Err(e) => return Err(e),
        };
        if let Some(same_start) = existing {
            // Judged by content: the stored records' ids, in seq order.
            let stored = self.store.load_trace(id.as_str(), 0).await?;
            let stored_ids = stored_record_ids(&stored);
            let summary = stored.summary;
            let same_run = summary.graph_type == graph_type && summary.start_time == plan.start_time;
            if same_run && stored_ids == plan.record_ids && summary.status == status_in_file {
                return Ok(ImportOutcome::AlreadyPresent(summary));
            }
            // An earlier import of this file that stopped half way (each batch
            // is one transaction, so what is stored is a prefix of the file):
            // replaying skips the stored records by id and appends the rest.
            let unfinished_import = same_start
                && summary.status == ExecutionStatus::Running
                && plan.record_ids.starts_with(&stored_ids);
            if !unfinished_import {
                return Err(TraceError::Conflict(format!(
                    "execution {id} already exists with other content ({} records; the file has {records})",
                    summary.last_seq
                )));
            }
        }
        for batch in plan.batches {
            self.append_batch(&id, batch).await?;
        }
        let summary = match plan.completion {
            Some(completion) => self.complete_execution(&id, completion).await?,
            // Exported while running: it stays running, records only.
            None => self.store.load_trace(id.as_str(), i64::MAX).await?.summary,
        };
        info!(execution.id = %id, records, "imported execution {id}");
        Ok(ImportOutcome::Imported(summary))
    }

    /// Succeeds when the store answers.
    pub async fn health(&self) -> Result<(), TraceError> {
        self.store.ping().await
    }

    /// Counts, rates and percentiles across the runs `filter` selects.
    pub async fn statistics(&self, filter: StatisticsFilter) -> Result<Statistics, TraceError> {
        filter.check()?;
        let inputs = self.store.load_statistics(&filter, true).await?;
        Ok(statistics::assemble(filter, inputs))
    }

    /// Recounts the run aggregates from the stored runs (`tracevis check`):
    /// the rows that differ, described.
    pub async fn check_run_aggregates(&self) -> Result<Vec<String>, TraceError> {
        self.store.check_run_aggregates().await
    }

    /// The per node type statistics alone: `statistics` without reading the
    /// figures over time.
    pub async fn node_type_statistics(
        &self,
        filter: StatisticsFilter,
    ) -> Result<Vec<NodeTypeStatistics>, TraceError> {
        filter.check()?;
        let inputs = self.store.load_statistics(&filter, false).await?;
        Ok(statistics::assemble(filter, inputs).node_types)
    }

    /// Run `a` and run `b` aligned step by step (see `app::compare`);
    /// without `b`, the run before `a` of the same graph type.
    pub async fn compare(&self, a: &str, b: Option<&str>) -> Result<app::compare::Comparison, TraceError> {
        run_id("a", a)?;
        let b = match b {
            Some(b) => b.to_owned(),
            None => {
                let previous = self.comparison_candidates(a, None).await?.into_iter().next();
                previous
                    .ok_or_else(|| {
                        TraceError::NotFound(format!("an earlier run of the graph type of {a:?}"))
                    })?
                    .execution_id
            }
        };
        let (trace_a, trace_b) = tokio::try_join!(
            self.store.load_trace(run_id("a", a)?, 0),
            self.store.load_trace(run_id("b", &b)?, 0)
        )?;
        // CPU work proportional to the runs: off the async workers.
        tokio::task::spawn_blocking(move || app::compare::compare(&trace_a, &trace_b))
            .await
            .map_err(|e| TraceError::Internal(format!("compare: {e}")))
    }

    /// Runs of `execution_id`'s graph type to compare it with, newest first:
    /// those that started before it, or with `search`, any whose id
    /// contains it. Never the run itself.
    pub async fn comparison_candidates(
        &self,
        execution_id: &str,
        search: Option<&str>,
    ) -> Result<Vec<ExecutionSummary>, TraceError> {
        const CANDIDATES: usize = 20;
        // After `i64::MAX`: the summary alone, however long the run is.
        let run = self
            .store
            // Named as the pages' compare form names it.
            .load_trace(run_id("a", execution_id)?, i64::MAX)
            .await?
            .summary;
        let filter = ExecutionFilter {
            graph_type: Some(run.graph_type.clone()),
            end_time: search.is_none().then_some(run.start_time),
            id_contains: search.map(str::to_owned),
            limit: CANDIDATES as u32 + 1,
            ..ExecutionFilter::default()
        };
        // The search is an id filter: its rules, under the name this door uses.
        filter.check().map_err(|e| match e {
            TraceError::Invalid { message, .. } => TraceError::Invalid {
                field: "search".into(),
                message,
            },
            other => other,
        })?;
        let mut runs = self.store.list_executions(&filter).await?.executions;
        runs.retain(|r| r.execution_id != execution_id);
        if search.is_none() {
            // "Before" in list order (start time, then id): of two runs that
            // started at the same moment, only one is the other's previous run.
            runs.retain(|r| (r.start_time, r.execution_id.as_str()) < (run.start_time, execution_id));
        }
        runs.truncate(CANDIDATES);
        Ok(runs)
    }

    /// Finished runs slower than `threshold_ms`, slowest first.
    pub async fn slow_executions(
        &self,
        threshold_ms: f64,
        graph_type: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ExecutionSummary>, TraceError> {
        // The graph type filter's rules, as on the run list and statistics
        // (no control characters: PostgreSQL refuses a NUL in text).
        app::model::check_filter_text("graph_type", graph_type)?;
        self.store.slow_executions(threshold_ms, graph_type, limit).await
    }

    /// The runs that replay `execution_id`, newest first.
    pub async fn list_replays(&self, execution_id: &str) -> Result<Vec<ExecutionSummary>, TraceError> {
        self.store
            .list_replays(run_id("execution_id", execution_id)?)
            .await
    }

    /// Indexes for search every run stored before the search index existed,
    /// `chunk` runs per transaction, yielding between chunks so ingest
    /// never waits long. Returns how many runs it indexed.
    pub async fn backfill_search(&self, chunk: u32) -> Result<u64, TraceError> {
        let mut indexed = 0;
        loop {
            let n = self.store.backfill_search(chunk).await?;
            indexed += n;
            if n < u64::from(chunk) {
                return Ok(indexed);
            }
            tokio::task::yield_now().await;
        }
    }

    /// Deletes every run that started before `cutoff`, `chunk` runs per
    /// transaction, resting after each chunk `RETENTION_REST` times as long
    /// as it took. Returns how many runs were deleted.
    pub async fn delete_started_before(&self, cutoff: DateTime<Utc>, chunk: u32) -> Result<u64, TraceError> {
        let mut deleted = 0;
        loop {
            let began = std::time::Instant::now();
            let n = self.store.delete_started_before(cutoff, chunk).await?;
            deleted += n;
            if n < u64::from(chunk) {
                return Ok(deleted);
            }
            tokio::time::sleep(began.elapsed() * RETENTION_REST).await;
        }
    }
}

#[async_trait]
impl app::protocol::HistoryQueries for TraceService {
    async fn statistics(&self, filter: StatisticsFilter) -> Result<Statistics, TraceError> {
        TraceService::statistics(self, filter).await
    }

    async fn node_type_statistics(
        &self,
        filter: StatisticsFilter,
    ) -> Result<Vec<NodeTypeStatistics>, TraceError> {
        TraceService::node_type_statistics(self, filter).await
    }

    async fn compare(&self, a: &str, b: Option<&str>) -> Result<app::compare::Comparison, TraceError> {
        TraceService::compare(self, a, b).await
    }

    async fn comparison_candidates(
        &self,
        execution_id: &str,
        search: Option<&str>,
    ) -> Result<Vec<ExecutionSummary>, TraceError> {
        TraceService::comparison_candidates(self, execution_id, search).await
    }
}

/// How many times as long as a chunk of retention took it rests before the
/// next: deletion then holds at most a fifth of the store's time. A chunk
/// holds SQLite's single writer, and on both backends it competes with
/// ingest for the disk and the cores; run back to back, the chunks of a
/// day at ten million runs halved ingest while they ran (BENCHMARKS.md,
/// "Retention of a day at ten million"). Retention is not urgent: a day's
/// runs expire over a day.
pub const RETENTION_REST: u32 = 4;

/// `id` if it can name a run, else the error every door gives for an id
/// outside the id rules (API.md), naming `field` — checked here, behind
/// every door, before any database sees text it might refuse (PostgreSQL
/// refuses NUL bytes).
fn run_id<'a>(field: &str, id: &'a str) -> Result<&'a str, TraceError> {
    RecordId::parse(id)
        .map(|_| id)
        .map_err(|message| TraceError::Invalid {
            field: field.to_owned(),
            message,
        })
}

#[async_trait]
impl TraceVisualization for TraceService {
    async fn get_trace(&self, execution_id: &str) -> Result<ExecutionTrace, TraceError> {
        self.store
            .load_trace(run_id("execution_id", execution_id)?, 0)
            .await
    }

    async fn get_node_timeline(
        &self,
        execution_id: &str,
        node_type: Option<&str>,
    ) -> Result<Vec<NodeEvent>, TraceError> {
        let mut events = self
            .store
            .load_events(run_id("execution_id", execution_id)?, node_type)
            .await?;
        // Stored in seq order; the timeline is by time, seq breaking ties
        // (the sort is stable).
        events.sort_by_key(|e| e.timestamp);
        Ok(events)
    }

    async fn get_run_outline(&self, execution_id: &str) -> Result<app::model::RunOutline, TraceError> {
        self.store
            .load_outline(run_id("execution_id", execution_id)?)
            .await
    }

    async fn get_node_events(&self, execution_id: &str, seqs: &[i64]) -> Result<Vec<NodeEvent>, TraceError> {
        self.store
            .load_events_at(run_id("execution_id", execution_id)?, seqs)
            .await
    }

    async fn get_state_history(
        &self,
        execution_id: &str,
        include_diffs: bool,
    ) -> Result<Vec<StateSnapshot>, TraceError> {
        let mut snapshots = self
            .store
            .load_snapshots(run_id("execution_id", execution_id)?)
            .await?;
        if !include_diffs {
            snapshots.iter_mut().for_each(|s| s.diff = None);
        }
        Ok(snapshots)
    }

    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<ExecutionList, TraceError> {
        filter.check()?;
        let mut list = self.store.list_executions(filter).await?;
        if let Some(query) = &filter.q {
            let ids: Vec<String> = list.executions.iter().map(|r| r.execution_id.clone()).collect();
            for (id, found) in self.store.search_matches(query, &ids).await? {
                if let Some(run) = list.executions.iter_mut().find(|r| r.execution_id == id) {
                    run.matches.push(found);
                }
            }
        }
        Ok(list)
    }

    async fn subscribe_to_execution(
        &self,
        execution_id: &str,
        after_seq: i64,
    ) -> Result<LiveSubscription, TraceError> {
        self.follow_execution(execution_id, after_seq, live::StreamEnd::AtFinalStatus)
            .await
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
