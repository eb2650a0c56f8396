//! The history store seam: one method per use case, implemented per database
//! backend in the server crate (sqlx stays out of this crate).

use crate::error::TraceError;
use crate::model::{
    Completion, EventBatch, ExecutionFilter, ExecutionList, ExecutionStatus, ExecutionSummary,
    ExecutionTrace, NewExecution, NodeEvent, RecordId, RunOutline, StateSnapshot, StatisticsFilter,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether an append may add to a run that has finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishedRuns {
    /// Refuse (`409`): the JSON API's producers finish a run after its last record.
    Refuse,
    /// Accept: OpenTelemetry spans arrive in any order, a node span after
    /// the run span that ended the run.
    Accept,
}

/// What a span-born run's run span says about it (see `revise_run`).
#[derive(Clone, Debug, PartialEq)]
pub struct RunHeader {
    /// The run's graph type.
    pub graph_type: crate::model::Label,
    /// When it started.
    pub start_time: DateTime<Utc>,
    /// Its inputs.
    pub original_inputs: crate::model::JsonObject,
    /// Its declared graph, when given.
    pub graph: Option<crate::model::GraphDefinition>,
    /// Its metadata (replaces what the run was created with).
    pub metadata: crate::model::JsonObject,
    /// Applied even to a finished run (a rule named this span the run);
    /// otherwise only while the run is running.
    pub authoritative: bool,
}

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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

/// An LLM call (an OpenTelemetry LLM span) and the node visit it belongs
/// to. Spans are exported as they end, so an LLM call usually arrives before
/// (or with) its node's span, sometimes in an earlier request: the store
/// keeps each call's span id, so a call counts once for its visit and its
/// run however often and in whatever order its spans come.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmCall {
    /// The LLM span's id.
    pub span_id: String,
    /// Its input + output tokens, when given.
    pub tokens: Option<i64>,
    /// Its model, when given.
    pub model: Option<String>,
    /// Where it belongs.
    pub place: LlmPlace,
}

/// What one request of spans brings to one trace's run
/// (`HistoryStore::ingest_span_trace`).
#[derive(Clone, Debug)]
pub struct SpanTrace<'a> {
    /// The run to create if it does not exist yet.
    pub new: &'a NewExecution,
    /// The canonical create request (the same for every request of a trace).
    pub request: &'a str,
    /// The run span's header, when the run span is here.
    pub header: Option<&'a RunHeader>,
    /// When the run counts as abandoned if nothing more comes.
    pub quiet_deadline: DateTime<Utc>,
    /// Node events and state snapshots.
    pub batch: &'a EventBatch,
    /// The request's LLM calls.
    pub llm_calls: &'a [LlmCall],
    /// The run's end, when the run span is here.
    pub completion: Option<&'a Completion>,
}

/// A finished run stored whole (`HistoryStore::store_whole_runs`).
#[derive(Clone, Debug)]
pub struct WholeRun<'a> {
    /// The run, not stored yet.
    pub id: &'a RecordId,
    /// Its start.
    pub new: &'a NewExecution,
    /// The canonical create request (as `create_execution` keeps it).
    pub request: &'a str,
    /// All its node events and state snapshots.
    pub batch: &'a EventBatch,
    /// Its end: a finished status.
    pub completion: &'a Completion,
}

/// What `ingest_span_trace` changed, for whoever publishes it live.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpanTraceOutcome {
    /// The run, when this request created it.
    pub created: Option<ExecutionSummary>,
    /// The records stored, when the request brought any.
    pub stored: Option<StoredBatch>,
    /// The run, when this request completed it.
    pub completed: Option<ExecutionSummary>,
}

/// The event metadata key of a span-born LangGraph node visit's task
/// namespace (`langgraph_checkpoint_ns`), which `HistoryStore::langgraph_tasks`
/// looks up to number retries.
pub const TASK_KEY: &str = "langgraph_checkpoint_ns";

/// Where an LLM call belongs.
#[derive(Clone, Debug, PartialEq)]
pub enum LlmPlace {
    /// In the node visit whose ending event has this id (`{span_id}:e`).
    Visit(RecordId),
    /// Under the span with this id, which has not arrived yet: the call
    /// waits for it.
    Awaiting(String),
    /// In no node visit (its ancestors are all here and none is a node).
    Nowhere,
}

/// What a store reads for statistics; the service turns it into `Statistics`
/// (percentiles are computed in one place, not per backend). Everything about
/// runs comes per time bucket (`bucket_hours` wide, named by its first hour
/// since the epoch; a run falls in the bucket it started in), so the figures
/// over time and the totals are one read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatisticsInputs {
    /// The bucket width the store chose (see `bucket_hours` in the server);
    /// 0 when everything is in one bucket (no figures over time).
    pub bucket_hours: i64,
    /// The first and last bucket with runs, if any.
    pub range: Option<(i64, i64)>,
    /// Per time bucket and status: runs, node visits, cache hits, LLM calls,
    /// tokens, runs that ran nodes side by side.
    pub runs: Vec<StatusAggregate>,
    /// `(time bucket, histogram::RUN_SCALE bucket, runs)`: the durations of
    /// the finished runs.
    pub run_duration_buckets: Vec<(i64, i32, i64)>,
    /// `(histogram::RUN_SCALE bucket, runs)`: the average parallelism of the
    /// finished runs that have one.
    pub run_parallelism_buckets: Vec<(i32, i64)>,
    /// The node types most often on the critical paths of the runs that ran
    /// nodes side by side: `(node_id, runs, ms on the path)`, most runs
    /// first, at most `MAX_CRITICAL_PATH_NODES`.
    pub critical_nodes: Vec<(String, i64, f64)>,
    /// Per node type: visits, failed, cached.
    pub node_counts: Vec<(String, i64, i64, i64)>,
    /// Per node type: `(node_id, bucket, count)` of its duration histogram.
    pub node_duration_buckets: Vec<(String, i32, i64)>,
    /// Per time bucket and node type: `(time bucket, node_id, histogram
    /// bucket, visits)`; empty when `bucket_hours` is 0.
    pub node_duration_series: Vec<(i64, String, i32, i64)>,
    /// Set when the run figures cover only the newest this many matching
    /// runs (a filter the hourly aggregates cannot answer matched more).
    pub newest_runs_only: Option<i64>,
}

/// Aggregates of the runs in one status that started in one time bucket.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusAggregate {
    /// The time bucket (see `StatisticsInputs`).
    pub time_bucket: i64,
    /// The status.
    pub status: ExecutionStatus,
    /// Runs.
    pub runs: i64,
    /// Node visits.
    pub nodes: i64,
    /// Cache hits.
    pub cached: i64,
    /// LLM calls.
    pub llm_calls: i64,
    /// Tokens.
    pub tokens: i64,
    /// Runs that ran nodes side by side.
    pub parallel_runs: i64,
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
    async fn append_batch(
        &self,
        id: &RecordId,
        batch: &EventBatch,
        finished: FinishedRuns,
    ) -> Result<StoredBatch, TraceError>;

    /// Everything one request of spans brings to one trace's run, in one
    /// transaction: the run created if new (else its header revised from
    /// the run span, and its quiet deadline moved), the node records and
    /// LLM calls appended (a finished run accepts them), and the run
    /// completed when the run span is here (already finished is fine: a
    /// repeated run span). An LLM call placed in a visit this batch stores is
    /// counted by that visit's ending event already; one placed in a visit
    /// stored earlier is added to it (and to its run's totals); one awaiting
    /// a span is kept for the request that brings it (`awaiting_llm_calls`).
    /// A call whose span id was counted before is not counted again.
    async fn ingest_span_trace(
        &self,
        id: &RecordId,
        trace: &SpanTrace<'_>,
    ) -> Result<SpanTraceOutcome, TraceError>;

    /// Stores finished runs that are not stored yet, whole, in one
    /// transaction (all or none): each planned as its start, one batch of
    /// all its records and its completion would be, with the same
    /// aggregates, but written with a few statements per call instead of
    /// some twenty per run. The bulk path of `tracevis bench`'s scale
    /// fill; alert rules are not evaluated for these runs. A run already
    /// stored refuses the call (`Conflict`).
    async fn store_whole_runs(&self, runs: &[WholeRun<'_>]) -> Result<(), TraceError>;

    /// LLM calls of a span-born run still waiting for a span
    /// (`LlmPlace::Awaiting`).
    async fn awaiting_llm_calls(&self, id: &RecordId) -> Result<Vec<LlmCall>, TraceError>;

    /// Node visits of a span-born run stored with one of these LangGraph task
    /// namespaces (`langgraph_checkpoint_ns`): (namespace, span id, start).
    /// A retry re-runs its task under the same namespace.
    async fn langgraph_tasks(
        &self,
        id: &RecordId,
        namespaces: &[String],
    ) -> Result<Vec<(String, String, DateTime<Utc>)>, TraceError>;

    /// Brings a span-born run up to date: its header from the run span when
    /// given (moving its per node type figures when its graph type or start
    /// hour changes), and, while it runs, the time after which it counts as
    /// abandoned (`quiet_deadline`).
    async fn revise_run(
        &self,
        id: &RecordId,
        header: Option<&RunHeader>,
        quiet_deadline: Option<DateTime<Utc>>,
    ) -> Result<(), TraceError>;

    /// Running runs whose quiet deadline passed before `now` (at most
    /// `limit`), with that deadline.
    async fn quiet_runs(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(String, DateTime<Utc>)>, TraceError>;

    /// Marks a running run finished.
    async fn complete_execution(
        &self,
        id: &RecordId,
        completion: &Completion,
    ) -> Result<ExecutionSummary, TraceError>;

    /// One page of runs and the number matching.
    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<ExecutionList, TraceError>;

    /// A run with its records after `after_seq` (0 for all); snapshots carry
    /// their stored diffs.
    async fn load_trace(&self, id: &str, after_seq: i64) -> Result<ExecutionTrace, TraceError> {
        self.load_trace_range(id, after_seq, i64::MAX).await
    }

    /// A run with its records whose `seq` is in `after_seq + 1 ..= until_seq`
    /// (a page of them: a live stream's backlog is read this way, so a
    /// subscriber never holds a whole long run in memory).
    async fn load_trace_range(
        &self,
        id: &str,
        after_seq: i64,
        until_seq: i64,
    ) -> Result<ExecutionTrace, TraceError>;

    /// A run as its page first needs it: the summary and its records'
    /// outlines, without reading their payloads.
    async fn load_outline(&self, id: &str) -> Result<RunOutline, TraceError>;

    /// A run's events in `seq` order, optionally of one node only.
    async fn load_events(&self, id: &str, node_id: Option<&str>) -> Result<Vec<NodeEvent>, TraceError>;

    /// The run's events with these `seq`s, in `seq` order (unknown seqs are
    /// left out).
    async fn load_events_at(&self, id: &str, seqs: &[i64]) -> Result<Vec<NodeEvent>, TraceError>;

    /// A run's snapshots in `seq` order, with stored diffs.
    async fn load_snapshots(&self, id: &str) -> Result<Vec<StateSnapshot>, TraceError>;

    /// Aggregates of the runs `filter` selects, in one read snapshot; with
    /// `over_time`, per time bucket (the figures over time), else in one
    /// bucket. Whole hours come from aggregates kept on write; see
    /// `server/src/store/run_stats.rs` for what is read run by run.
    async fn load_statistics(
        &self,
        filter: &StatisticsFilter,
        over_time: bool,
    ) -> Result<StatisticsInputs, TraceError>;

    /// Recounts the run aggregates from the stored runs and describes every
    /// row that differs (empty: they agree). Reads every run: an operator's
    /// check (`tracevis check`), never a request's.
    async fn check_run_aggregates(&self) -> Result<Vec<String>, TraceError>;

    /// Finished runs that took at least `threshold_ms`, slowest first.
    async fn slow_executions(
        &self,
        threshold_ms: f64,
        graph_type: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ExecutionSummary>, TraceError>;

    /// Runs that replay `id`, newest first.
    async fn list_replays(&self, id: &str) -> Result<Vec<ExecutionSummary>, TraceError>;

    /// Where `query` matched in each of the runs `ids` (which a list with
    /// this query returned), at most `search::MATCHES_PER_RUN` per run in
    /// record order, each with its excerpt.
    async fn search_matches(
        &self,
        query: &crate::search::SearchQuery,
        ids: &[String],
    ) -> Result<Vec<(String, crate::search::SearchMatch)>, TraceError>;

    /// Indexes for search at most `max_runs` of the runs stored before the
    /// search index existed, in one transaction; returns how many it took
    /// (0: none left).
    async fn backfill_search(&self, max_runs: u32) -> Result<u64, TraceError>;

    /// Deletes at most `max_runs` runs that started before `cutoff`, with all
    /// their records, in one short transaction; returns how many it deleted.
    async fn delete_started_before(&self, cutoff: DateTime<Utc>, max_runs: u32) -> Result<u64, TraceError>;

    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<(), TraceError>;
}
