//! The team store: PostgreSQL, shared by any number of stateless tracevis
//! instances. Concurrent writers to one run are serialised by a row lock on
//! the run (`FOR UPDATE`); batches go in with one `UNNEST` insert per table.

use super::aggregate_levels;
use super::batch_plan::BatchPlan;
use super::batch_plan::{moved_node_stats, parent_ids, plan_batch, StoredContext, UnknownParents};
use super::filters::{runs_of, POSTGRES};
use super::llm_calls::{event_to_look_up, plan_llm_calls, LlmPlan};
use super::rows::{
    snapshot_outlines, status_aggregates, stored_tasks, AwaitingCallRow, BucketNodeRow, CountedEventRow,
    EventMetadataRow, NodeCountRow, QuietRunRow, SnapshotOutlineRow, StartRangeRow, StatusAggregateRow,
    TaskRow,
};
use super::run_keys::RunKeys;
use super::run_list;
use super::run_stats::{self, CheckRow, Measure};
use super::search::{self, HitRow, KeyedRunTextRow, SearchDoc};
use super::summary_row::{list_columns, SummaryRow, SUMMARY_COLUMNS};
use super::time::{from_micros, hour_of, millis_between, to_micros};
use super::whole_runs::{plan_whole_runs, run_rows_error, RunRow};
use super::{
    begin_detached, db_error, event_outline, json_column, span_trace_in, to_json_column, WriteSteps,
};
use app::error::TraceError;
use app::model::StatisticsFilter;
use app::model::MAX_RUN_TOTAL;
use app::model::{
    Completion, EventBatch, EventOutline, ExecutionFilter, ExecutionList, ExecutionStatus, ExecutionSummary,
    ExecutionTrace, JsonObject, NewExecution, NodeEvent, NodeEventType, RecordId, RunOutline, StateSnapshot,
};
use app::search::{tsvector_literal, SearchMatch, SearchQuery, MATCHES_PER_RUN};
use app::store::{
    AppendOutcome, CreateOutcome, FinishedRuns, HistoryStore, LlmCall, RunHeader, SpanTrace,
    SpanTraceOutcome, StatisticsInputs, StoredBatch, WholeRun, TASK_KEY,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, PgPool, Postgres, Row};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;
use tracing::instrument;

/// A `HistoryStore` on a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// The connection pool, shared with the access rows (`access::AccessStore`).
    pub(crate) fn pool(&self) -> PgPool {
        self.pool.clone()
    }

    /// Connects to `url` and applies the embedded migrations (under
    /// PostgreSQL's advisory lock, so instances starting together are safe).
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let mut options = PgConnectOptions::from_str(url)?;
        // PostgreSQL compiles a query to machine code (JIT) when its
        // estimated cost passes `jit_above_cost`. tracevis's queries are
        // bounded and short, but estimates can be far off: a search for a
        // word PostgreSQL has no statistics for is estimated at 0.5 % of
        // the documents, and at a million runs the compilation took 40–110
        // ms of a query that runs in 2.4 ms (BENCHMARKS.md, "Search
        // documents by run key"). Off, unless the URL sets it.
        if !url.contains("options[jit]") {
            options = options.options([("jit", "off")]);
        }
        // One direct connection first: the pool would report an unreachable
        // server only as "pool timed out", this says "connection refused".
        let probe = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(&options))
            .await
            .map_err(|_| anyhow::anyhow!("no answer from the database server within 10 s"))??;
        probe.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A request waits at most this long for the database before it
            // answers 503, instead of hanging while the database is away.
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy_with(options);
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    /// A read-only transaction on one snapshot of the database, so a run's
    /// summary and its records agree even while the run is being written.
    async fn read_snapshot(&self) -> Result<sqlx::Transaction<'static, Postgres>, TraceError> {
        let mut tx = begin_detached(&self.pool).await.map_err(db_error)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        Ok(tx)
    }
}

#[async_trait]
impl HistoryStore for PostgresStore {
    #[instrument(skip_all, fields(execution.id = %id))]
    async fn create_execution(
        &self,
        id: &RecordId,
        new: &NewExecution,
        request: &str,
    ) -> Result<CreateOutcome, TraceError> {
        let mut tx = begin_detached(&self.pool).await.map_err(db_error)?;
        let out = create_execution_in(&mut tx, id, new, request).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn append_batch(
        &self,
        id: &RecordId,
        batch: &EventBatch,
        finished: FinishedRuns,
    ) -> Result<StoredBatch, TraceError> {
        let mut tx = begin_detached(&self.pool).await.map_err(db_error)?;
        let out = append_in(&mut tx, id, batch, finished, &[]).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn ingest_span_trace(
        &self,
        id: &RecordId,
        trace: &SpanTrace<'_>,
    ) -> Result<SpanTraceOutcome, TraceError> {
        let mut tx = begin_detached(&self.pool).await.map_err(db_error)?;
        let out = span_trace_in(&mut *tx, id, trace).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    #[instrument(skip_all, fields(runs = runs.len()))]
    async fn store_whole_runs(&self, runs: &[WholeRun<'_>]) -> Result<(), TraceError> {
        let planned = plan_whole_runs(runs)?;
        let mut tx = begin_detached(&self.pool).await.map_err(db_error)?;
        let keys = insert_run_rows(&mut tx, &planned.runs).await?;
        insert_snapshots_of(&mut tx, &planned.initial_snapshots, &keys).await?;
        insert_events_of(&mut tx, &planned.events, &keys).await?;
        insert_snapshots_of(&mut tx, &planned.snapshots, &keys).await?;
        for ((graph_type, hour), counted) in &planned.node_stats {
            add_node_stats(&mut tx, graph_type, *hour, counted).await?;
        }
        index_docs(&mut tx, &planned.run_docs, &keys).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    async fn awaiting_llm_calls(&self, id: &RecordId) -> Result<Vec<LlmCall>, TraceError> {
        let rows: Vec<AwaitingCallRow> = sqlx::query_as(
            "SELECT span_id, awaiting, tokens, model FROM otlp_llm_calls \
             WHERE execution_id = $1 AND awaiting IS NOT NULL",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(LlmCall::from).collect())
    }

    async fn langgraph_tasks(
        &self,
        id: &RecordId,
        namespaces: &[String],
    ) -> Result<Vec<(String, String, DateTime<Utc>)>, TraceError> {
        let rows: Vec<TaskRow> = sqlx::query_as(&format!(
            "SELECT metadata::jsonb ->> '{TASK_KEY}' AS namespace, event_id, timestamp AS started \
             FROM node_events \
             WHERE {RUN_KEY_IS} AND event_type = 'started' \
             AND metadata::jsonb ->> '{TASK_KEY}' = ANY($2)"
        ))
        .bind(id.as_str())
        .bind(namespaces)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        stored_tasks(rows)
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn complete_execution(
        &self,
        id: &RecordId,
        completion: &Completion,
    ) -> Result<ExecutionSummary, TraceError> {
        let mut tx = begin_detached(&self.pool).await.map_err(db_error)?;
        let out = complete_execution_in(&mut tx, id, completion, None).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn revise_run(
        &self,
        id: &RecordId,
        header: Option<&RunHeader>,
        quiet_deadline: Option<DateTime<Utc>>,
    ) -> Result<(), TraceError> {
        let mut tx = begin_detached(&self.pool).await.map_err(db_error)?;
        let out = revise_run_in(&mut tx, id, header, quiet_deadline).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    #[instrument(skip_all)]
    async fn quiet_runs(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<(String, DateTime<Utc>)>, TraceError> {
        let rows: Vec<QuietRunRow> = sqlx::query_as(
            "SELECT execution_id, quiet_deadline FROM executions \
             WHERE quiet_deadline IS NOT NULL AND status = 'running' AND quiet_deadline < $1 \
             ORDER BY quiet_deadline LIMIT $2",
        )
        .bind(to_micros(&now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter().map(QuietRunRow::into_pair).collect()
    }

    #[instrument(skip_all)]
    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<ExecutionList, TraceError> {
        // A search's statements are planned for each query's words (unnamed,
        // not cached): a cached generic plan cannot know whether a word is
        // rare (read it through the GIN index) or in every record (read the
        // newest records first), and the wrong one reads the whole index.
        let cached = filter.q.is_none();
        let hits = match &filter.q {
            Some(query) => {
                let hits: search::SearchHits = search::hits_query(query, &POSTGRES)
                    .build_query_as()
                    .persistent(false)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                Some(hits)
            }
            None => None,
        };
        let counted: i64 = match run_list::counted_by_search(filter, hits.as_ref()) {
            Some(counted) => counted,
            None => run_list::count_query(filter, hits.as_ref(), &POSTGRES)
                .build_query_scalar()
                .persistent(cached)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?,
        };
        let (total, total_capped) = run_list::total(filter, counted, hits.as_ref());
        let columns = list_columns(filter);
        // One run more than the page: whether there is a next page.
        let wanted = i64::from(filter.limit) + 1;
        let mut rows: Vec<SummaryRow> = Vec::new();
        for part in run_list::page_parts(filter) {
            let missing = wanted - rows.len() as i64;
            if missing <= 0 {
                break;
            }
            let more: Vec<SummaryRow> = run_list::page_query(
                filter,
                hits.as_ref(),
                &format!("SELECT {columns}"),
                part,
                missing,
                counted,
                &POSTGRES,
            )
            .build_query_as()
            .persistent(cached)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
            rows.extend(more);
        }
        let executions: Vec<ExecutionSummary> = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_, _>>()?;
        Ok(super::page_of(filter, executions, total, total_capped))
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn load_trace_range(
        &self,
        id: &str,
        after_seq: i64,
        until_seq: i64,
    ) -> Result<ExecutionTrace, TraceError> {
        let mut tx = self.read_snapshot().await?;
        let summary = select_summary(&mut tx, id, false).await?;
        let node_events = select_events(&mut tx, id, None, after_seq, until_seq).await?;
        let state_snapshots = select_snapshots(&mut tx, id, after_seq, until_seq).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(ExecutionTrace {
            summary,
            node_events,
            state_snapshots,
        })
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn load_outline(&self, id: &str) -> Result<RunOutline, TraceError> {
        let mut tx = self.read_snapshot().await?;
        let summary = select_summary(&mut tx, id, false).await?;
        let events = outline_events(&mut tx, id).await?;
        let snapshot_rows: Vec<SnapshotOutlineRow> = sqlx::query_as(&format!(
            "SELECT seq, node_id, timestamp FROM state_snapshots WHERE {RUN_KEY_IS} ORDER BY seq"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let snapshots = snapshot_outlines(snapshot_rows)?;
        Ok(RunOutline {
            summary,
            events,
            snapshots,
        })
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn load_events(&self, id: &str, node_id: Option<&str>) -> Result<Vec<NodeEvent>, TraceError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        ensure_exists(&mut conn, id).await?;
        select_events(&mut conn, id, node_id, 0, i64::MAX).await
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn load_events_at(&self, id: &str, seqs: &[i64]) -> Result<Vec<NodeEvent>, TraceError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        ensure_exists(&mut conn, id).await?;
        let rows = sqlx::query(&format!(
            "SELECT {EVENT_COLUMNS} FROM node_events WHERE {RUN_KEY_IS} AND seq = ANY($2) ORDER BY seq"
        ))
        .bind(id)
        .bind(seqs)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        rows.iter().map(|row| decode_event(id, row)).collect()
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn load_snapshots(&self, id: &str) -> Result<Vec<StateSnapshot>, TraceError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        ensure_exists(&mut conn, id).await?;
        select_snapshots(&mut conn, id, 0, i64::MAX).await
    }

    #[instrument(skip_all)]
    async fn load_statistics(
        &self,
        filter: &StatisticsFilter,
        over_time: bool,
    ) -> Result<StatisticsInputs, TraceError> {
        // One read snapshot: every query sees the same runs.
        let mut tx = self.read_snapshot().await?;
        let out = load_statistics_in(&mut tx, filter, over_time).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    async fn check_run_aggregates(&self) -> Result<Vec<String>, TraceError> {
        let mut tx = self.read_snapshot().await?;
        let mut out = Vec::new();
        for (table, recount, stored) in run_stats::check_queries(&POSTGRES) {
            let recount: Vec<CheckRow> = sqlx::query_as(&recount)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
            let stored: Vec<CheckRow> = sqlx::query_as(&stored)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
            out.extend(run_stats::differences(&table, &recount, &stored));
        }
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    #[instrument(skip_all)]
    async fn slow_executions(
        &self,
        threshold_ms: f64,
        graph_type: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ExecutionSummary>, TraceError> {
        let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM executions WHERE total_duration_ms >= $1 \
             AND ($2::TEXT IS NULL OR graph_type = $2) ORDER BY total_duration_ms DESC LIMIT $3"
        ))
        .bind(threshold_ms)
        .bind(graph_type)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn list_replays(&self, id: &str) -> Result<Vec<ExecutionSummary>, TraceError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        ensure_exists(&mut conn, id).await?;
        let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM executions WHERE original_execution_id = $1 \
             ORDER BY start_time DESC, execution_id DESC"
        ))
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[instrument(skip_all)]
    async fn search_matches(
        &self,
        query: &SearchQuery,
        ids: &[String],
    ) -> Result<Vec<(String, SearchMatch)>, TraceError> {
        let sql = format!(
            "SELECT {} FROM (SELECT *, row_number() OVER (PARTITION BY run_key ORDER BY doc_id) AS n \
             FROM search_docs WHERE run_key IN (SELECT run_key FROM executions WHERE execution_id = ANY($1)) \
             AND words @@ CAST($2 AS tsquery)) AS d {} \
             WHERE d.n <= $3 ORDER BY x.execution_id, d.doc_id",
            search::hit_columns(),
            search::HIT_JOINS
        );
        let rows: Vec<HitRow> = sqlx::query_as(&sql)
            .persistent(false)
            .bind(ids)
            .bind(query.tsquery_literal())
            .bind(MATCHES_PER_RUN as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        search::matches_of(rows, query)
    }

    async fn backfill_search(&self, max_runs: u32) -> Result<u64, TraceError> {
        let mut tx = begin_detached(&self.pool).await.map_err(db_error)?;
        // The runs' rows are locked as a batch writing to them locks them,
        // so a run is indexed either before or after a batch, never half.
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT execution_id FROM search_backfill LIMIT $1 FOR UPDATE SKIP LOCKED")
                .bind(i64::from(max_runs))
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
        for id in &ids {
            let key: Option<i64> =
                sqlx::query_scalar("SELECT run_key FROM executions WHERE execution_id = $1 FOR UPDATE")
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?;
            if let Some(key) = key {
                // Whatever was indexed of the run since is indexed again whole.
                sqlx::query("DELETE FROM search_docs WHERE run_key = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let events = select_events(&mut tx, id, None, 0, i64::MAX).await?;
                let snapshots = select_snapshots(&mut tx, id, 0, i64::MAX).await?;
                let mut docs = search::event_docs(&events);
                docs.extend(search::snapshot_docs(&snapshots));
                index_docs(&mut tx, &docs, &RunKeys::one(id, key)).await?;
                index_run(&mut tx, id).await?;
            }
        }
        sqlx::query("DELETE FROM search_backfill WHERE execution_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(ids.len() as u64)
    }

    async fn delete_started_before(&self, cutoff: DateTime<Utc>, max_runs: u32) -> Result<u64, TraceError> {
        let mut tx = begin_detached(&self.pool).await.map_err(db_error)?;
        // SKIP LOCKED: a run some instance is writing right now is left for
        // the next chunk instead of making retention wait on it.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT execution_id FROM executions WHERE start_time < $1 ORDER BY start_time LIMIT $2 \
             FOR UPDATE SKIP LOCKED",
        )
        .bind(to_micros(&cutoff))
        .bind(i64::from(max_runs))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        if !ids.is_empty() {
            for table in [
                "node_events",
                "state_snapshots",
                "otlp_llm_calls",
                "search_docs",
                "search_backfill",
                "executions",
            ] {
                // Events, snapshots and search documents name their run by
                // its key (0017, 0018), so they go before the runs' rows.
                let run = if matches!(table, "node_events" | "state_snapshots" | "search_docs") {
                    "run_key IN (SELECT run_key FROM executions WHERE execution_id = ANY($1))"
                } else {
                    "execution_id = ANY($1)"
                };
                sqlx::query(&format!("DELETE FROM {table} WHERE {run}"))
                    .bind(&ids)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
            }
        }
        for table in ["node_stats", "node_duration_buckets"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE hour < $1"))
                .bind(hour_of(&cutoff))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        for (table, count) in aggregate_levels::emptied_by_retention() {
            sqlx::query(&format!("DELETE FROM {table} WHERE hour < $1 AND {count} = 0"))
                .bind(hour_of(&cutoff))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(ids.len() as u64)
    }

    async fn ping(&self) -> Result<(), TraceError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        Ok(())
    }
}

/// Tells the other instances' live relays about a write; delivered only if
/// the surrounding transaction commits.
/// The channel on which every commit live subscribers care about is
/// announced (see `service::relay`, which listens).
pub const CHANNEL: &str = "tracevis_live";

/// This process's id in the announcements, so a relay can skip what its
/// own instance already published.
pub static INSTANCE_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| uuid::Uuid::now_v7().simple().to_string());

/// What changed, as a notification payload: `instance kind run first last`
/// (kind `records` or `status`). Ids never contain spaces (API.md's safe set).
fn notify_payload(kind: &str, execution_id: &str, first_seq: i64, last_seq: i64) -> String {
    format!("{} {kind} {execution_id} {first_seq} {last_seq}", *INSTANCE_ID)
}

async fn notify(conn: &mut PgConnection, payload: &str) -> Result<(), TraceError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Adds a batch's per node type counters and duration buckets. Rows are
/// upserted in key order so concurrent batches lock them in the same order.
pub(super) async fn add_node_stats(
    conn: &mut PgConnection,
    graph_type: &str,
    hour: i64,
    plan: &BatchPlan,
) -> Result<(), TraceError> {
    if !plan.node_counts.is_empty() {
        sqlx::query(
            "INSERT INTO node_stats (graph_type, hour, node_id, visits, failed, cached) \
             SELECT $1, $2, * FROM UNNEST($3::TEXT[], $4::BIGINT[], $5::BIGINT[], $6::BIGINT[]) AS u(n, v, f, c) \
             ORDER BY n \
             ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET visits = node_stats.visits + EXCLUDED.visits, \
             failed = node_stats.failed + EXCLUDED.failed, cached = node_stats.cached + EXCLUDED.cached",
        )
        .bind(graph_type)
        .bind(hour)
        .bind(plan.node_counts.keys().map(String::as_str).collect::<Vec<_>>())
        .bind(plan.node_counts.values().map(|c| c.visits).collect::<Vec<_>>())
        .bind(plan.node_counts.values().map(|c| c.failed).collect::<Vec<_>>())
        .bind(plan.node_counts.values().map(|c| c.cached).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    if !plan.duration_buckets.is_empty() {
        sqlx::query(
            "INSERT INTO node_duration_buckets (graph_type, hour, node_id, bucket, count) \
             SELECT $1, $2, * FROM UNNEST($3::TEXT[], $4::INTEGER[], $5::BIGINT[]) AS u(n, b, c) ORDER BY n, b \
             ON CONFLICT (graph_type, hour, node_id, bucket) \
             DO UPDATE SET count = node_duration_buckets.count + EXCLUDED.count",
        )
        .bind(graph_type)
        .bind(hour)
        .bind(plan.duration_buckets.keys().map(|(n, _)| n.as_str()).collect::<Vec<_>>())
        .bind(plan.duration_buckets.keys().map(|(_, b)| *b).collect::<Vec<_>>())
        .bind(plan.duration_buckets.values().copied().collect::<Vec<_>>())
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// Finished runs' `executions` rows (`whole_runs`); the triggers add them
/// to the run aggregates. Returns the keys they were given.
async fn insert_run_rows(conn: &mut PgConnection, rows: &[RunRow]) -> Result<RunKeys, TraceError> {
    let mut keys = RunKeys::default();
    if rows.is_empty() {
        return Ok(keys);
    }
    fn column<'r, T>(rows: &'r [RunRow], f: impl Fn(&'r RunRow) -> T) -> Vec<T> {
        rows.iter().map(f).collect()
    }
    let given: Vec<(String, i64)> = sqlx::query_as(
        "INSERT INTO executions (execution_id, graph_type, status, start_time, end_time, \
         total_duration_ms, total_nodes, failed_nodes, cached_nodes, total_llm_calls, total_tokens, \
         original_inputs, final_state, metadata, graph, is_replay, original_execution_id, error, \
         last_seq, create_request, parallelism, critical_nodes) \
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[], \
         $6::FLOAT8[], $7::BIGINT[], $8::BIGINT[], $9::BIGINT[], $10::BIGINT[], $11::BIGINT[], \
         $12::TEXT[], $13::TEXT[], $14::TEXT[], $15::TEXT[], $16::BOOLEAN[], $17::TEXT[], $18::TEXT[], \
         $19::BIGINT[], $20::TEXT[], $21::FLOAT8[], $22::TEXT[]) \
         RETURNING execution_id, run_key",
    )
    .bind(column(rows, |r| r.execution_id.as_str()))
    .bind(column(rows, |r| r.graph_type.as_str()))
    .bind(column(rows, |r| r.status))
    .bind(column(rows, |r| r.start_time))
    .bind(column(rows, |r| r.end_time))
    .bind(column(rows, |r| r.total_duration_ms))
    .bind(column(rows, |r| r.total_nodes))
    .bind(column(rows, |r| r.failed_nodes))
    .bind(column(rows, |r| r.cached_nodes))
    .bind(column(rows, |r| r.total_llm_calls))
    .bind(column(rows, |r| r.total_tokens))
    .bind(column(rows, |r| r.original_inputs.as_str()))
    .bind(column(rows, |r| r.final_state.as_deref()))
    .bind(column(rows, |r| r.metadata.as_str()))
    .bind(column(rows, |r| r.graph.as_deref()))
    .bind(column(rows, |r| r.is_replay))
    .bind(column(rows, |r| r.original_execution_id.as_deref()))
    .bind(column(rows, |r| r.error.as_deref()))
    .bind(column(rows, |r| r.last_seq))
    .bind(column(rows, |r| r.create_request.as_str()))
    .bind(column(rows, |r| r.parallelism))
    .bind(column(rows, |r| r.critical_nodes.as_deref()))
    .fetch_all(conn)
    .await
    .map_err(run_rows_error)?;
    keys.extend(given);
    Ok(keys)
}

async fn ensure_exists(conn: &mut PgConnection, id: &str) -> Result<(), TraceError> {
    sqlx::query("SELECT 1 FROM executions WHERE execution_id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?
        .map(|_| ())
        .ok_or_else(|| TraceError::execution_not_found(id))
}

async fn select_summary(
    conn: &mut PgConnection,
    id: &str,
    for_update: bool,
) -> Result<ExecutionSummary, TraceError> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    sqlx::query_as::<_, SummaryRow>(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM executions WHERE execution_id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .ok_or_else(|| TraceError::execution_not_found(id))?
    .try_into()
}

/// A run's events without their payloads, in `seq` order: only the
/// metadata fields the outline keeps are read out of the metadata.
async fn outline_events(conn: &mut PgConnection, id: &str) -> Result<Vec<EventOutline>, TraceError> {
    let event_rows = sqlx::query(&format!(
        "SELECT seq, node_id, event_type, timestamp, duration_ms, error, \
         (metadata::jsonb -> 'attempt')::text AS attempt, (metadata::jsonb -> 'saved_ms')::text AS saved_ms, \
         parents \
         FROM node_events WHERE {RUN_KEY_IS} ORDER BY seq"
    ))
    .bind(id)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    let json_or_null = |text: Option<&str>| -> Result<serde_json::Value, TraceError> {
        text.map_or(Ok(serde_json::Value::Null), |t| json_column(t, "metadata"))
    };
    event_rows
        .iter()
        .map(|row| {
            event_outline(
                column(row, "seq")?,
                column(row, "node_id")?,
                column(row, "event_type")?,
                column(row, "timestamp")?,
                column(row, "duration_ms")?,
                column(row, "error")?,
                &json_or_null(column(row, "attempt")?)?,
                &json_or_null(column(row, "saved_ms")?)?,
                &json_or_null(column(row, "parents")?)?,
            )
        })
        .collect()
}

/// Works out again what a finished run (from `start` to `end`) keeps of
/// its parallelism (see `store::figure_columns`): from `whole_run` when the
/// caller holds every event of the run, else from its stored events.
async fn refresh_run_figures(
    conn: &mut PgConnection,
    id: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    whole_run: Option<&[NodeEvent]>,
) -> Result<(), TraceError> {
    let events = match whole_run {
        Some(events) => events.iter().map(EventOutline::from).collect(),
        None => outline_events(&mut *conn, id).await?,
    };
    let (parallelism, critical) = super::figure_columns(&events, start, end);
    sqlx::query("UPDATE executions SET parallelism = $1, critical_nodes = $2 WHERE execution_id = $3")
        .bind(parallelism)
        .bind(critical)
        .bind(id)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn select_events(
    conn: &mut PgConnection,
    id: &str,
    node_id: Option<&str>,
    after_seq: i64,
    until_seq: i64,
) -> Result<Vec<NodeEvent>, TraceError> {
    let rows = sqlx::query(&format!(
        "SELECT {EVENT_COLUMNS} FROM node_events \
         WHERE {RUN_KEY_IS} AND ($2::TEXT IS NULL OR node_id = $2) AND seq > $3 AND seq <= $4 ORDER BY seq"
    ))
    .bind(id)
    .bind(node_id)
    .bind(after_seq)
    .bind(until_seq)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.iter().map(|row| decode_event(id, row)).collect()
}

/// Column `name` of `row`: read by name, and a missing or mistyped column is
/// an internal error naming it — never a panic (`Row::get` panics).
fn column<'r, T>(row: &'r PgRow, name: &str) -> Result<T, TraceError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(name)
        .map_err(|e| TraceError::Internal(format!("stored column {name}: {e}")))
}

/// Picks a run's events or snapshots by its key (migration 0017), found
/// from the run's id, bound as `$1`.
const RUN_KEY_IS: &str = "run_key = (SELECT run_key FROM executions WHERE execution_id = $1)";

/// The columns `decode_event` reads.
const EVENT_COLUMNS: &str =
    "seq, event_id, node_id, event_type, timestamp, duration_ms, inputs, outputs, error, metadata, parents";

fn decode_event(id: &str, row: &PgRow) -> Result<NodeEvent, TraceError> {
    let event_type: &str = column(row, "event_type")?;
    let parents: Option<&str> = column(row, "parents")?;
    let (parents, parent_seqs) = match parents {
        Some(text) => super::parents_from(&json_column(text, "parents")?)?,
        None => (Vec::new(), Vec::new()),
    };
    Ok(NodeEvent {
        event_id: column(row, "event_id")?,
        execution_id: id.to_owned(),
        seq: column(row, "seq")?,
        node_id: column(row, "node_id")?,
        event_type: NodeEventType::parse(event_type)
            .ok_or_else(|| TraceError::Internal(format!("unknown stored event type {event_type:?}")))?,
        timestamp: from_micros(column(row, "timestamp")?)?,
        duration_ms: column(row, "duration_ms")?,
        inputs: json_column(column(row, "inputs")?, "inputs")?,
        outputs: json_column(column(row, "outputs")?, "outputs")?,
        error: column(row, "error")?,
        metadata: json_column(column(row, "metadata")?, "metadata")?,
        parents,
        parent_seqs,
    })
}

async fn select_snapshots(
    conn: &mut PgConnection,
    id: &str,
    after_seq: i64,
    until_seq: i64,
) -> Result<Vec<StateSnapshot>, TraceError> {
    let rows = sqlx::query(&format!(
        "SELECT seq, snapshot_id, node_id, timestamp, state, diff FROM state_snapshots \
         WHERE {RUN_KEY_IS} AND seq > $2 AND seq <= $3 ORDER BY seq"
    ))
    .bind(id)
    .bind(after_seq)
    .bind(until_seq)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok(StateSnapshot {
                snapshot_id: column(row, "snapshot_id")?,
                execution_id: id.to_owned(),
                seq: column(row, "seq")?,
                timestamp: from_micros(column(row, "timestamp")?)?,
                node_id: column(row, "node_id")?,
                state: json_column(column(row, "state")?, "state")?,
                diff: column::<Option<&str>>(row, "diff")?
                    .map(|t| json_column(t, "diff"))
                    .transpose()?,
            })
        })
        .collect()
}

async fn latest_state(conn: &mut PgConnection, id: &str) -> Result<Option<JsonObject>, TraceError> {
    let state: Option<String> = sqlx::query_scalar(&format!(
        "SELECT state FROM state_snapshots WHERE {RUN_KEY_IS} ORDER BY seq DESC LIMIT 1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    state.map(|s| json_column(&s, "state")).transpose()
}

async fn stored_ids(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    execution_id: &RecordId,
    ids: Vec<String>,
) -> Result<HashSet<String>, TraceError> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let found: Vec<String> = sqlx::query_scalar(&format!(
        "SELECT {column} FROM {table} WHERE {RUN_KEY_IS} AND {column} = ANY($2)"
    ))
    .bind(execution_id.as_str())
    .bind(ids)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(found.into_iter().collect())
}

/// The `seq` of each of the run's stored events among `event_ids`.
async fn stored_seqs(
    conn: &mut PgConnection,
    execution_id: &RecordId,
    event_ids: &[&str],
) -> Result<HashMap<String, i64>, TraceError> {
    let found: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT event_id, seq FROM node_events WHERE {RUN_KEY_IS} AND event_id = ANY($2)"
    ))
    .bind(execution_id.as_str())
    .bind(event_ids)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(found.into_iter().collect())
}

/// The keys (migration 0017) of the runs `ids` name, for rows about to be
/// written that name their run by its key.
async fn run_keys<'a>(
    conn: &mut PgConnection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<RunKeys, TraceError> {
    let found: Vec<(String, i64)> =
        sqlx::query_as("SELECT execution_id, run_key FROM executions WHERE execution_id = ANY($1)")
            .bind(RunKeys::wanted(ids))
            .fetch_all(conn)
            .await
            .map_err(db_error)?;
    let mut keys = RunKeys::default();
    keys.extend(found);
    Ok(keys)
}

/// Stores events (of one run or of several, `whole_runs`) of runs whose
/// keys the caller holds.
async fn insert_events_of(
    conn: &mut PgConnection,
    events: &[NodeEvent],
    keys: &RunKeys,
) -> Result<(), TraceError> {
    if events.is_empty() {
        return Ok(());
    }
    let each = keys.of_each(events.iter().map(|e| e.execution_id.as_str()))?;
    sqlx::query(
        "INSERT INTO node_events (run_key, seq, event_id, node_id, event_type, timestamp, duration_ms, \
         inputs, outputs, error, metadata, parents) \
         SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::BIGINT[], \
         $7::FLOAT8[], $8::TEXT[], $9::TEXT[], $10::TEXT[], $11::TEXT[], $12::TEXT[])",
    )
    .bind(each)
    .bind(events.iter().map(|e| e.seq).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.node_id.as_str()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>())
    .bind(events.iter().map(|e| to_micros(&e.timestamp)).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.duration_ms).collect::<Vec<_>>())
    .bind(
        events
            .iter()
            .map(|e| to_json_column(&e.inputs))
            .collect::<Vec<_>>(),
    )
    .bind(
        events
            .iter()
            .map(|e| to_json_column(&e.outputs))
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(|e| e.error.as_deref()).collect::<Vec<_>>())
    .bind(
        events
            .iter()
            .map(|e| to_json_column(&e.metadata))
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(super::parents_column).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    index_docs(conn, &search::event_docs(events), keys).await
}

/// Stores snapshots (of one run or of several, `whole_runs`).
async fn insert_snapshots(conn: &mut PgConnection, snapshots: &[StateSnapshot]) -> Result<(), TraceError> {
    if snapshots.is_empty() {
        return Ok(());
    }
    let keys = run_keys(&mut *conn, snapshots.iter().map(|s| s.execution_id.as_str())).await?;
    insert_snapshots_of(conn, snapshots, &keys).await
}

/// `insert_snapshots` for runs whose keys the caller holds.
async fn insert_snapshots_of(
    conn: &mut PgConnection,
    snapshots: &[StateSnapshot],
    keys: &RunKeys,
) -> Result<(), TraceError> {
    if snapshots.is_empty() {
        return Ok(());
    }
    let each = keys.of_each(snapshots.iter().map(|s| s.execution_id.as_str()))?;
    sqlx::query(
        "INSERT INTO state_snapshots (run_key, seq, snapshot_id, node_id, timestamp, state, diff) \
         SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::TEXT[], $7::TEXT[])",
    )
    .bind(each)
    .bind(snapshots.iter().map(|s| s.seq).collect::<Vec<_>>())
    .bind(snapshots.iter().map(|s| s.snapshot_id.as_str()).collect::<Vec<_>>())
    .bind(snapshots.iter().map(|s| s.node_id.as_str()).collect::<Vec<_>>())
    .bind(snapshots.iter().map(|s| to_micros(&s.timestamp)).collect::<Vec<_>>())
    .bind(snapshots.iter().map(|s| to_json_column(&s.state)).collect::<Vec<_>>())
    .bind(snapshots.iter().map(|s| s.diff.as_ref().map(to_json_column)).collect::<Vec<_>>())
    .execute(&mut *conn)
    .await
    .map_err(db_error)?;
    index_docs(conn, &search::snapshot_docs(snapshots), keys).await
}

/// Adds documents to the search index (`store::search`) in the caller's
/// transaction, for runs whose keys the caller holds, their words as
/// `tsvector` literals.
async fn index_docs(conn: &mut PgConnection, docs: &[SearchDoc], keys: &RunKeys) -> Result<(), TraceError> {
    if docs.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO search_docs (run_key, place, seq, node_id, words) \
         SELECT k, p, s, n, CAST(w AS tsvector) FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], \
         $4::TEXT[], $5::TEXT[]) AS d(k, p, s, n, w)",
    )
    .bind(keys.of_each(docs.iter().map(|d| d.execution_id.as_str()))?)
    .bind(docs.iter().map(|d| d.place.as_str()).collect::<Vec<_>>())
    .bind(docs.iter().map(|d| d.seq).collect::<Vec<_>>())
    .bind(docs.iter().map(|d| d.node_id.as_deref()).collect::<Vec<_>>())
    .bind(docs.iter().map(|d| tsvector_literal(&d.text)).collect::<Vec<_>>())
    .execute(conn)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Indexes the run's own text again (after it was created, completed or
/// revised), replacing its document.
async fn index_run(conn: &mut PgConnection, id: &str) -> Result<(), TraceError> {
    let row: KeyedRunTextRow = sqlx::query_as(
        "SELECT run_key, error, original_inputs, final_state, metadata FROM executions WHERE execution_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query("DELETE FROM search_docs WHERE run_key = $1 AND place = 'run'")
        .bind(row.run_key)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    match search::run_doc(id, &row.text)? {
        Some(doc) => index_docs(conn, &[doc], &RunKeys::one(id, row.run_key)).await,
        None => Ok(()),
    }
}

/// The calls among `calls` the ledger holds as settled.
async fn settled_llm_calls(
    conn: &mut PgConnection,
    id: &RecordId,
    calls: &[LlmCall],
) -> Result<HashSet<String>, TraceError> {
    let span_ids: Vec<&str> = calls.iter().map(|c| c.span_id.as_str()).collect();
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT span_id FROM otlp_llm_calls WHERE execution_id = $1 AND awaiting IS NULL AND span_id = ANY($2)",
    )
    .bind(id.as_str())
    .bind(span_ids)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(found.into_iter().collect())
}

/// The metadata of the stored events with these ids.
async fn event_metadata(
    conn: &mut PgConnection,
    id: &RecordId,
    event_ids: Vec<String>,
) -> Result<HashMap<String, JsonObject>, TraceError> {
    if event_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<EventMetadataRow> = sqlx::query_as(&format!(
        "SELECT event_id, metadata FROM node_events WHERE {RUN_KEY_IS} AND event_id = ANY($2)"
    ))
    .bind(id.as_str())
    .bind(event_ids)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    rows.into_iter()
        .map(|row| Ok((row.event_id, json_column(&row.metadata, "node_events.metadata")?)))
        .collect()
}

/// Writes what `plan_llm_calls` decided: events' new metadata and ledger rows.
async fn write_llm_plan(
    conn: &mut PgConnection,
    id: &RecordId,
    plan: &LlmPlan<'_>,
) -> Result<(), TraceError> {
    for (event, metadata) in &plan.events {
        sqlx::query(&format!(
            "UPDATE node_events SET metadata = $2 WHERE {RUN_KEY_IS} AND event_id = $3"
        ))
        .bind(id.as_str())
        .bind(to_json_column(metadata))
        .bind(event)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    for row in &plan.rows {
        sqlx::query(
            "INSERT INTO otlp_llm_calls (execution_id, span_id, awaiting, tokens, model) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (execution_id, span_id) DO UPDATE SET awaiting = excluded.awaiting",
        )
        .bind(id.as_str())
        .bind(row.span_id)
        .bind(row.awaiting)
        .bind(row.tokens)
        .bind(row.model)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// `create_execution` inside a write transaction the caller holds (and commits).
async fn create_execution_in(
    tx: &mut PgConnection,
    id: &RecordId,
    new: &NewExecution,
    request: &str,
) -> Result<CreateOutcome, TraceError> {
    let start_time = new.start_time.unwrap_or_else(Utc::now);
    let inserted = sqlx::query(
        "INSERT INTO executions (execution_id, graph_type, status, start_time, original_inputs, \
         metadata, graph, is_replay, original_execution_id, last_seq, create_request) \
         VALUES ($1, $2, 'running', $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (execution_id) DO NOTHING",
    )
    .bind(id.as_str())
    .bind(new.graph_type.as_str())
    .bind(to_micros(&start_time))
    .bind(to_json_column(&new.original_inputs))
    .bind(to_json_column(&new.metadata))
    .bind(new.graph.as_ref().map(to_json_column))
    .bind(new.is_replay)
    .bind(new.original_execution_id.as_ref().map(|o| o.as_str()))
    .bind(i64::from(new.initial_state.is_some()))
    .bind(request)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?
    .rows_affected();
    if inserted == 0 {
        let stored_request: String =
            sqlx::query_scalar("SELECT create_request FROM executions WHERE execution_id = $1")
                .bind(id.as_str())
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
        if stored_request != request {
            return Err(TraceError::Conflict(format!(
                "execution {id} already exists with different content"
            )));
        }
        return Ok(CreateOutcome::AlreadyExists(
            select_summary(&mut *tx, id.as_str(), false).await?,
        ));
    }
    index_run(&mut *tx, id.as_str()).await?;
    if let Some(snapshot) = super::initial_snapshot(id, new, start_time) {
        insert_snapshots(&mut *tx, std::slice::from_ref(&snapshot)).await?;
    }
    let summary = select_summary(&mut *tx, id.as_str(), false).await?;
    notify(
        &mut *tx,
        &notify_payload("status", id.as_str(), 0, summary.last_seq),
    )
    .await?;
    Ok(CreateOutcome::Created(summary))
}

/// `complete_execution` inside a write transaction the caller holds (and commits).
async fn complete_execution_in(
    tx: &mut PgConnection,
    id: &RecordId,
    completion: &Completion,
    whole_run: Option<&[NodeEvent]>,
) -> Result<ExecutionSummary, TraceError> {
    let current = select_summary(&mut *tx, id.as_str(), true).await?;
    if current.status != ExecutionStatus::Running {
        return Err(TraceError::Conflict(format!(
            "execution {id} is already {}",
            current.status.as_str()
        )));
    }
    let end_time = completion.end_time.unwrap_or_else(Utc::now);
    if end_time < current.start_time {
        return Err(TraceError::Invalid {
            field: "end_time".into(),
            message: "is before the run's start_time".into(),
        });
    }
    let performance = completion.performance.clone().unwrap_or_default();
    sqlx::query(
        "UPDATE executions SET status = $1, end_time = $2, total_duration_ms = $3, final_state = $4, \
         error = $5, quiet_deadline = NULL, total_llm_calls = COALESCE($6, total_llm_calls), \
         total_tokens = COALESCE($7, total_tokens) WHERE execution_id = $8",
    )
    .bind(completion.status.as_str())
    .bind(to_micros(&end_time))
    .bind(millis_between(&current.start_time, &end_time))
    .bind(completion.final_state.as_ref().map(to_json_column))
    .bind(completion.error.as_deref())
    .bind(performance.total_llm_calls.map(i64::from))
    .bind(performance.total_tokens.map(|t| t as i64))
    .bind(id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    refresh_run_figures(&mut *tx, id.as_str(), (current.start_time, end_time), whole_run).await?;
    index_run(&mut *tx, id.as_str()).await?;
    let summary = select_summary(&mut *tx, id.as_str(), false).await?;
    super::alert_outbox::fire_in_postgres(&mut *tx, &summary, Utc::now()).await?;
    notify(
        &mut *tx,
        &notify_payload("status", id.as_str(), 0, summary.last_seq),
    )
    .await?;
    Ok(summary)
}

/// `revise_run` inside a write transaction the caller holds (and commits).
async fn revise_run_in(
    tx: &mut PgConnection,
    id: &RecordId,
    header: Option<&RunHeader>,
    quiet_deadline: Option<DateTime<Utc>>,
) -> Result<(), TraceError> {
    let row = sqlx::query(
        "SELECT status, graph_type, start_time, end_time FROM executions WHERE execution_id = $1 FOR UPDATE",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_error)?
    .ok_or_else(|| TraceError::execution_not_found(id.as_str()))?;
    let running = row.try_get::<String, _>("status").map_err(db_error)? == ExecutionStatus::Running.as_str();
    let graph_type: String = row.try_get("graph_type").map_err(db_error)?;
    let start_time = from_micros(row.try_get("start_time").map_err(db_error)?)?;
    let end_time: Option<i64> = row.try_get("end_time").map_err(db_error)?;
    if let Some(header) = header.filter(|h| h.authoritative || running) {
        let (old, new) = (
            (graph_type.as_str(), hour_of(&start_time)),
            (header.graph_type.as_str(), hour_of(&header.start_time)),
        );
        if old != new {
            let events: Vec<CountedEventRow> = sqlx::query_as(&format!(
                "SELECT node_id, event_type, duration_ms FROM node_events WHERE {RUN_KEY_IS}"
            ))
            .bind(id.as_str())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
            let (taken, added) = moved_node_stats(&events);
            add_node_stats(&mut *tx, old.0, old.1, &taken).await?;
            add_node_stats(&mut *tx, new.0, new.1, &added).await?;
            for (table, emptied) in [("node_stats", "visits"), ("node_duration_buckets", "count")] {
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE graph_type = $1 AND hour = $2 AND {emptied} = 0"
                ))
                .bind(old.0)
                .bind(old.1)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
            }
        }
        let start = to_micros(&header.start_time);
        sqlx::query(
            "UPDATE executions SET graph_type = $1, start_time = $2, original_inputs = $3, \
             graph = COALESCE($4, graph), metadata = $5, total_duration_ms = $6 WHERE execution_id = $7",
        )
        .bind(header.graph_type.as_str())
        .bind(start)
        .bind(to_json_column(&header.original_inputs))
        .bind(header.graph.as_ref().map(to_json_column))
        .bind(to_json_column(&header.metadata))
        .bind(end_time.map(|end| end.saturating_sub(start).max(0) as f64 / 1_000.0))
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        index_run(&mut *tx, id.as_str()).await?;
    }
    if let Some(deadline) = quiet_deadline.filter(|_| running) {
        sqlx::query("UPDATE executions SET quiet_deadline = $1 WHERE execution_id = $2")
            .bind(to_micros(&deadline))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    Ok(())
}

/// `append` inside a write transaction the caller holds (and commits).
async fn append_in(
    tx: &mut PgConnection,
    id: &RecordId,
    batch: &EventBatch,
    finished: FinishedRuns,
    llm_calls: &[LlmCall],
) -> Result<StoredBatch, TraceError> {
    let row = sqlx::query(
        "SELECT status, last_seq, graph_type, start_time, end_time, run_key FROM executions WHERE execution_id = $1 FOR UPDATE",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_error)?
    .ok_or_else(|| TraceError::execution_not_found(id.as_str()))?;
    let status: String = row.try_get("status").map_err(db_error)?;
    if status != ExecutionStatus::Running.as_str() && finished == FinishedRuns::Refuse {
        return Err(TraceError::Conflict(format!(
            "execution {id} is {status}; a finished run takes no more records"
        )));
    }
    let last_seq: i64 = row.try_get("last_seq").map_err(db_error)?;
    let graph_type: String = row.try_get("graph_type").map_err(db_error)?;
    let start_time = from_micros(row.try_get("start_time").map_err(db_error)?)?;
    // Set once the run finished: records that reach it then change its figures.
    let end_time: Option<i64> = row.try_get("end_time").map_err(db_error)?;
    let hour = hour_of(&start_time);
    // The run's key, read with its row: its records need no lookup.
    let keys = RunKeys::one(id.as_str(), row.try_get::<i64, _>("run_key").map_err(db_error)?);
    let event_ids: Vec<String> = batch
        .events
        .iter()
        .filter_map(|e| e.event_id.as_ref().map(|i| i.to_string()))
        .collect();
    let snapshot_ids: Vec<String> = batch
        .snapshots
        .iter()
        .filter_map(|s| s.snapshot_id.as_ref().map(|i| i.to_string()))
        .collect();
    // A run with no records yet (seq starts at 1) holds none of these
    // ids: a span-born run's first batch skips the lookups.
    let (stored_event_ids, stored_snapshot_ids) = if last_seq == 0 {
        (HashSet::new(), HashSet::new())
    } else {
        (
            stored_ids(&mut *tx, "node_events", "event_id", id, event_ids).await?,
            stored_ids(&mut *tx, "state_snapshots", "snapshot_id", id, snapshot_ids).await?,
        )
    };
    let previous_state = if batch.snapshots.is_empty() {
        None
    } else {
        latest_state(&mut *tx, id.as_str()).await?
    };
    let parents = parent_ids(batch);
    let stored_parents = if last_seq == 0 || parents.is_empty() {
        HashMap::new()
    } else {
        stored_seqs(&mut *tx, id, &parents).await?
    };
    let mut plan = plan_batch(
        id,
        batch,
        StoredContext {
            last_seq,
            stored_event_ids: &stored_event_ids,
            stored_snapshot_ids: &stored_snapshot_ids,
            stored_parents: &stored_parents,
            // Spans (the door that accepts records for finished runs) arrive
            // in any order: a link to one not received is left out.
            unknown_parents: match finished {
                FinishedRuns::Refuse => UnknownParents::Refuse,
                FinishedRuns::Accept => UnknownParents::Drop,
            },
            previous_state,
        },
    )?;
    let llm = if llm_calls.is_empty() {
        LlmPlan::default()
    } else {
        let new_events: HashSet<&str> = plan.events.iter().map(|e| e.event_id.as_str()).collect();
        let settled = settled_llm_calls(&mut *tx, id, llm_calls).await?;
        let wanted: Vec<String> = llm_calls
            .iter()
            .filter_map(|c| event_to_look_up(c, &new_events))
            .collect();
        let stored = event_metadata(&mut *tx, id, wanted).await?;
        plan_llm_calls(llm_calls, &new_events, &settled, stored)
    };
    plan.add_llm_calls(llm.calls, llm.tokens);
    insert_events_of(&mut *tx, &plan.events, &keys).await?;
    write_llm_plan(&mut *tx, id, &llm).await?;
    insert_snapshots_of(&mut *tx, &plan.snapshots, &keys).await?;
    add_node_stats(&mut *tx, &graph_type, hour, &plan).await?;
    if plan.last_seq > last_seq {
        notify(
            &mut *tx,
            &notify_payload("records", id.as_str(), last_seq + 1, plan.last_seq),
        )
        .await?;
    }
    sqlx::query(&format!(
        "UPDATE executions SET last_seq = $1, total_nodes = total_nodes + $2, \
         failed_nodes = failed_nodes + $3, cached_nodes = cached_nodes + $4, \
         total_llm_calls = LEAST(total_llm_calls + $5, {MAX_RUN_TOTAL}), \
         total_tokens = CASE WHEN $6::BIGINT IS NULL THEN total_tokens \
             ELSE LEAST(COALESCE(total_tokens, 0) + $6, {MAX_RUN_TOTAL}) END \
         WHERE execution_id = $7",
    ))
    .bind(plan.last_seq)
    .bind(plan.nodes)
    .bind(plan.failed)
    .bind(plan.cached)
    .bind(plan.llm_calls)
    .bind(plan.tokens)
    .bind(id.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    // Records that reach a finished run (spans arrive in any order) change
    // what it keeps of its parallelism.
    if let Some(end) = end_time {
        refresh_run_figures(&mut *tx, id.as_str(), (start_time, from_micros(end)?), None).await?;
    }
    Ok(StoredBatch {
        outcome: AppendOutcome {
            accepted: (plan.events.len() + plan.snapshots.len()) as u64,
            duplicates: plan.duplicates,
            last_seq: plan.last_seq,
        },
        events: plan.events,
        snapshots: plan.snapshots,
    })
}

impl WriteSteps for PgConnection {
    fn create<'a>(
        &'a mut self,
        id: &'a RecordId,
        new: &'a NewExecution,
        request: &'a str,
    ) -> impl std::future::Future<Output = Result<CreateOutcome, TraceError>> + Send + 'a {
        create_execution_in(self, id, new, request)
    }

    fn revise<'a>(
        &'a mut self,
        id: &'a RecordId,
        header: Option<&'a RunHeader>,
        quiet_deadline: Option<DateTime<Utc>>,
    ) -> impl std::future::Future<Output = Result<(), TraceError>> + Send + 'a {
        revise_run_in(self, id, header, quiet_deadline)
    }

    fn append<'a>(
        &'a mut self,
        id: &'a RecordId,
        batch: &'a EventBatch,
        llm_calls: &'a [LlmCall],
    ) -> impl std::future::Future<Output = Result<StoredBatch, TraceError>> + Send + 'a {
        append_in(self, id, batch, FinishedRuns::Accept, llm_calls)
    }

    fn complete<'a>(
        &'a mut self,
        id: &'a RecordId,
        completion: &'a Completion,
        whole_run: Option<&'a [NodeEvent]>,
    ) -> impl std::future::Future<Output = Result<ExecutionSummary, TraceError>> + Send + 'a {
        complete_execution_in(self, id, completion, whole_run)
    }
}

/// `load_statistics` inside the caller's (read) transaction; the SQL is
/// `run_stats`'s, shared with the other backend.
async fn load_statistics_in(
    tx: &mut PgConnection,
    filter: &StatisticsFilter,
    over_time: bool,
) -> Result<StatisticsInputs, TraceError> {
    let plan = run_stats::plan(filter);
    let runs = runs_of(filter);
    let (width, range) = if over_time {
        let mut q = run_stats::start_range_query(&plan, &runs, &POSTGRES);
        let range: StartRangeRow = q.build_query_as().fetch_one(&mut *tx).await.map_err(db_error)?;
        match (range.first_start, range.last_start) {
            (Some(first), Some(last)) => {
                let (width, range) = run_stats::time_buckets(first, last);
                (width, Some(range))
            }
            _ => (0, None),
        }
    } else {
        (0, None)
    };
    let mut q = run_stats::runs_query(&plan, width, &POSTGRES);
    let rows: Vec<StatusAggregateRow> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;
    let runs = status_aggregates(rows);
    let mut q = run_stats::buckets_query(&plan, width, Measure::Duration, &POSTGRES);
    let run_duration_buckets: Vec<(i64, i32, i64)> =
        q.build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;
    let mut q = run_stats::buckets_query(&plan, width, Measure::Parallelism, &POSTGRES);
    let parallelism: Vec<(i64, i32, i64)> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;
    let mut q = run_stats::critical_nodes_query(&plan, &POSTGRES);
    let critical_nodes: Vec<(String, i64, f64)> =
        q.build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;

    let mut q = run_stats::node_counts_query(filter);
    let node_counts: Vec<NodeCountRow> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;
    let mut q = run_stats::node_series_query(filter, width);
    let series: Vec<BucketNodeRow> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;
    let series: Vec<(i64, String, i32, i64)> = series.into_iter().map(Into::into).collect();
    let node_duration_buckets = run_stats::node_totals(&series);
    let node_duration_series = if width > 0 { series } else { Vec::new() };
    let read_one_by_one: i64 = runs.iter().map(|r| r.runs).sum();
    Ok(StatisticsInputs {
        bucket_hours: width,
        range,
        newest_runs_only: plan.newest.filter(|cap| read_one_by_one >= *cap),
        runs,
        run_duration_buckets,
        run_parallelism_buckets: parallelism.into_iter().map(|(_, b, c)| (b, c)).collect(),
        critical_nodes,
        node_counts: node_counts.into_iter().map(Into::into).collect(),
        node_duration_buckets,
        node_duration_series,
    })
}
