//! The embedded default store: one SQLite file in WAL mode. Reads run in
//! parallel on a small pool; writes are serialised by an in-process lock, the
//! way SQLite wants them (one writer), so no transaction ever waits on a busy
//! database file.

use super::aggregate_levels;
use super::batch_plan::BatchPlan;
use super::batch_plan::{moved_node_stats, parent_ids, plan_batch, StoredContext, UnknownParents};
use super::filters::{runs_of, SQLITE};
use super::llm_calls::{event_to_look_up, plan_llm_calls, LlmPlan};
use super::rows::{
    snapshot_outlines, status_aggregates, stored_tasks, AwaitingCallRow, BucketNodeRow, CountedEventRow,
    EventMetadataRow, NodeCountRow, QuietRunRow, StartRangeRow, StatusAggregateRow, TaskRow,
};
use super::run_keys::RunKeys;
use super::run_list;
use super::run_stats::{self, CheckRow, Measure};
use super::search::{self, HitRow, KeyedRunTextRow, SearchDoc};
use super::summary_row::{list_columns, SummaryRow, SUMMARY_COLUMNS};
use super::time::{from_micros, hour_of, millis_between, to_micros};
use super::whole_runs::{plan_whole_runs, run_rows_error, RunRow};
use super::{db_error, event_outline, json_column, span_trace_in, to_json_column, WriteSteps};
use app::diff::DiffEntry;
use app::error::TraceError;
use app::model::StatisticsFilter;
use app::model::MAX_RUN_TOTAL;
use app::model::{
    Completion, EventBatch, EventOutline, ExecutionFilter, ExecutionList, ExecutionStatus, ExecutionSummary,
    ExecutionTrace, JsonObject, NewExecution, NodeEvent, NodeEventType, RecordId, RunOutline, StateSnapshot,
};
use app::search::{fts_text, SearchMatch, SearchQuery, MATCHES_PER_RUN};
use app::store::{
    AppendOutcome, CreateOutcome, FinishedRuns, HistoryStore, LlmCall, RunHeader, SpanTrace,
    SpanTraceOutcome, StatisticsInputs, StoredBatch, WholeRun, TASK_KEY,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::Mutex;
use tracing::instrument;

/// Rows per multi-row INSERT: 11 columns × 500 stays far below SQLite's
/// 32,766 bound parameters, and larger statements stopped getting faster.
const INSERT_CHUNK: usize = 500;
/// `executions` rows per statement (22 bound values each).
const RUN_ROW_CHUNK: usize = 400;

/// A `HistoryStore` on one SQLite database file.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Mutex<()>,
    _checkpoints: Checkpoints,
}

/// How often the WAL is copied back into the database file, off the writer.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// WAL pages after which a commit checkpoints by itself (SQLite's default is
/// 1,000): only a safety net while the background checkpoints keep up.
const WAL_AUTOCHECKPOINT_PAGES: &str = "20000";

/// The background task that checkpoints the WAL, stopped with the store.
///
/// With SQLite's default, the commit that grows the WAL past 1,000 pages
/// copies it into the database file on the writer's own thread, so ingest
/// waits for it. Checkpointing from another connection every
/// `CHECKPOINT_EVERY` (PASSIVE: it never blocks the writer or readers) moves
/// that work to the other core (BENCHMARKS.md, "OpenTelemetry ingest").
struct Checkpoints(tokio::task::JoinHandle<()>);

impl Checkpoints {
    fn start(pool: SqlitePool) -> Self {
        Self(tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                    tracing::debug!(error = %e, "WAL checkpoint skipped; the next one retries");
                }
            }
        }))
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl SqliteStore {
    /// A write transaction that takes SQLite's write lock at its start
    /// (`BEGIN IMMEDIATE`), waiting up to the busy timeout for it. A
    /// deferred transaction that reads first and then writes fails at once
    /// (SQLITE_BUSY) if any other connection — the access rows' writes, or
    /// the `tracevis token`/`user` commands in another process — committed
    /// in between; the in-process lock alone cannot prevent that.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, TraceError> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)
    }

    /// The connection pool, shared with the access rows (`access::AccessStore`).
    pub(crate) fn pool(&self) -> SqlitePool {
        self.pool.clone()
    }

    /// Opens `url` (creating the file if missing), enables WAL and applies the
    /// embedded migrations.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        // synchronous=NORMAL in WAL mode: a committed transaction survives a
        // crash or kill -9 of tracevis (it is in the WAL file); only a power
        // loss can drop the last commits, which FULL would trade speed for.
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self {
            _checkpoints: Checkpoints::start(pool.clone()),
            pool,
            writer: Mutex::new(()),
        })
    }
}

#[async_trait]
impl HistoryStore for SqliteStore {
    #[instrument(skip_all, fields(execution.id = %id))]
    async fn create_execution(
        &self,
        id: &RecordId,
        new: &NewExecution,
        request: &str,
    ) -> Result<CreateOutcome, TraceError> {
        let _writing = self.writer.lock().await;
        let mut tx = self.begin_write().await?;
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
        let _writing = self.writer.lock().await;
        let mut tx = self.begin_write().await?;
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
        let _writing = self.writer.lock().await;
        let mut tx = self.begin_write().await?;
        let out = span_trace_in(&mut *tx, id, trace).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    #[instrument(skip_all, fields(runs = runs.len()))]
    async fn store_whole_runs(&self, runs: &[WholeRun<'_>]) -> Result<(), TraceError> {
        let planned = plan_whole_runs(runs)?;
        let _writing = self.writer.lock().await;
        let mut tx = self.begin_write().await?;
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
             WHERE execution_id = ? AND awaiting IS NOT NULL",
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
        let mut found = Vec::new();
        for chunk in namespaces.chunks(INSERT_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "SELECT json_extract(metadata, '$.{TASK_KEY}') AS namespace, event_id, timestamp AS started \
                 FROM node_events \
                 WHERE {RUN_KEY_BOUND}"
            ));
            q.push_bind(id.as_str()).push(format!(
                ") AND event_type = 'started' AND json_extract(metadata, '$.{TASK_KEY}') IN ("
            ));
            let mut list = q.separated(", ");
            for ns in chunk {
                list.push_bind(ns.as_str());
            }
            q.push(")");
            let rows: Vec<TaskRow> = q.build_query_as().fetch_all(&self.pool).await.map_err(db_error)?;
            found.extend(stored_tasks(rows)?);
        }
        Ok(found)
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn complete_execution(
        &self,
        id: &RecordId,
        completion: &Completion,
    ) -> Result<ExecutionSummary, TraceError> {
        let _writing = self.writer.lock().await;
        let mut tx = self.begin_write().await?;
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
        let _writing = self.writer.lock().await;
        let mut tx = self.begin_write().await?;
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
             WHERE quiet_deadline IS NOT NULL AND status = 'running' AND quiet_deadline < ? \
             ORDER BY quiet_deadline LIMIT ?",
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
        let hits = match &filter.q {
            Some(query) => {
                let hits: search::SearchHits = search::hits_query(query, &SQLITE)
                    .build_query_as()
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                Some(hits)
            }
            None => None,
        };
        let counted: i64 = match run_list::counted_by_search(filter, hits.as_ref()) {
            Some(counted) => counted,
            None => run_list::count_query(filter, hits.as_ref(), &SQLITE)
                .build_query_scalar()
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
                &SQLITE,
            )
            .build_query_as()
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
        // One read transaction: the summary's counts match the records returned
        // even while the run is being written.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let summary = select_summary(&mut tx, id).await?;
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
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let summary = select_summary(&mut tx, id).await?;
        let events = outline_events(&mut tx, id).await?;
        let snapshots: String = sqlx::query_scalar(&format!(
            "SELECT json_group_array(json_array(seq, node_id, timestamp) ORDER BY seq) \
             FROM state_snapshots WHERE {RUN_KEY_IS}"
        ))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        let snapshots = snapshot_outlines(json_column(&snapshots, "state_snapshots")?)?;
        Ok(RunOutline {
            summary,
            events,
            snapshots,
        })
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn load_events(&self, id: &str, node_id: Option<&str>) -> Result<Vec<NodeEvent>, TraceError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        ensure_exists(&mut tx, id).await?;
        let events = select_events(&mut tx, id, node_id, 0, i64::MAX).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(events)
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn load_events_at(&self, id: &str, seqs: &[i64]) -> Result<Vec<NodeEvent>, TraceError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        ensure_exists(&mut tx, id).await?;
        let (Some(&first), Some(&last)) = (seqs.iter().min(), seqs.iter().max()) else {
            return Ok(Vec::new());
        };
        // The seq range keeps the read on the (run_key, seq) index; the
        // list then picks the wanted rows out of it.
        let wanted = serde_json::to_string(seqs).map_err(|e| TraceError::Internal(e.to_string()))?;
        let packed: String = sqlx::query_scalar(&format!(
            "SELECT {EVENT_ARRAY} FROM node_events WHERE {RUN_KEY_IS} AND seq BETWEEN ? AND ? \
             AND seq IN (SELECT value FROM json_each(?))"
        ))
        .bind(id)
        .bind(first)
        .bind(last)
        .bind(wanted)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        decode_events(id, &packed)
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn load_snapshots(&self, id: &str) -> Result<Vec<StateSnapshot>, TraceError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        ensure_exists(&mut tx, id).await?;
        let snapshots = select_snapshots(&mut tx, id, 0, i64::MAX).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(snapshots)
    }

    #[instrument(skip_all)]
    async fn load_statistics(
        &self,
        filter: &StatisticsFilter,
        over_time: bool,
    ) -> Result<StatisticsInputs, TraceError> {
        // One read transaction: every query sees the same runs.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let out = load_statistics_in(&mut tx, filter, over_time).await?;
        tx.commit().await.map_err(db_error)?;
        Ok(out)
    }

    async fn check_run_aggregates(&self) -> Result<Vec<String>, TraceError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let mut out = Vec::new();
        for (table, recount, stored) in run_stats::check_queries(&SQLITE) {
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
            "SELECT {SUMMARY_COLUMNS} FROM executions WHERE total_duration_ms >= ? \
             AND (? IS NULL OR graph_type = ?) ORDER BY total_duration_ms DESC LIMIT ?"
        ))
        .bind(threshold_ms)
        .bind(graph_type)
        .bind(graph_type)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[instrument(skip_all, fields(execution.id = %id))]
    async fn list_replays(&self, id: &str) -> Result<Vec<ExecutionSummary>, TraceError> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        ensure_exists(&mut tx, id).await?;
        let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM executions WHERE original_execution_id = ? \
             ORDER BY start_time DESC, execution_id DESC"
        ))
        .bind(id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    #[instrument(skip_all)]
    async fn search_matches(
        &self,
        query: &SearchQuery,
        ids: &[String],
    ) -> Result<Vec<(String, SearchMatch)>, TraceError> {
        let mut conn = self.pool.acquire().await.map_err(db_error)?;
        let words = query.fts_match();
        let mut rows: Vec<HitRow> = Vec::new();
        // FTS5 reads only the matches among each run's documents' ids.
        let sql = format!(
            "WITH r AS (SELECT run_key FROM executions WHERE execution_id = ?) \
             SELECT {} FROM search_docs d {} WHERE d.run_key = (SELECT run_key FROM r) AND d.doc_id IN \
             (SELECT rowid FROM search_words WHERE search_words MATCH ? AND rowid BETWEEN \
             (SELECT MIN(doc_id) FROM search_docs WHERE run_key = (SELECT run_key FROM r)) AND \
             (SELECT MAX(doc_id) FROM search_docs WHERE run_key = (SELECT run_key FROM r))) \
             ORDER BY d.doc_id LIMIT ?",
            search::hit_columns(),
            search::HIT_JOINS
        );
        for id in ids {
            let found: Vec<HitRow> = sqlx::query_as(&sql)
                .bind(id.as_str())
                .bind(words.as_str())
                .bind(MATCHES_PER_RUN as i64)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_error)?;
            rows.extend(found);
        }
        search::matches_of(rows, query)
    }

    async fn backfill_search(&self, max_runs: u32) -> Result<u64, TraceError> {
        let _writing = self.writer.lock().await;
        let mut tx = self.begin_write().await?;
        let ids: Vec<String> = sqlx::query_scalar("SELECT execution_id FROM search_backfill LIMIT ?")
            .bind(i64::from(max_runs))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?;
        for id in &ids {
            let key: Option<i64> =
                sqlx::query_scalar("SELECT run_key FROM executions WHERE execution_id = ?")
                    .bind(id.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?;
            if let Some(key) = key {
                // Whatever was indexed of the run since is indexed again whole.
                sqlx::query("DELETE FROM search_docs WHERE run_key = ?")
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
            sqlx::query("DELETE FROM search_backfill WHERE execution_id = ?")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(ids.len() as u64)
    }

    async fn delete_started_before(&self, cutoff: DateTime<Utc>, max_runs: u32) -> Result<u64, TraceError> {
        let _writing = self.writer.lock().await;
        let mut tx = self.begin_write().await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT execution_id FROM executions WHERE start_time < ? ORDER BY start_time LIMIT ?",
        )
        .bind(to_micros(&cutoff))
        .bind(i64::from(max_runs))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_error)?;
        for table in [
            "node_events",
            "state_snapshots",
            "otlp_llm_calls",
            "search_docs",
            "search_backfill",
            "executions",
        ] {
            // Events, snapshots and search documents name their run by its
            // key (0017, 0018), so they go before the runs' rows.
            let run = if matches!(table, "node_events" | "state_snapshots" | "search_docs") {
                "run_key IN (SELECT run_key FROM executions WHERE execution_id"
            } else {
                "(execution_id"
            };
            let mut q = QueryBuilder::<Sqlite>::new(format!("DELETE FROM {table} WHERE {run} IN ("));
            let mut list = q.separated(", ");
            for id in &ids {
                list.push_bind(id.as_str());
            }
            q.push("))");
            if !ids.is_empty() {
                q.build().execute(&mut *tx).await.map_err(db_error)?;
            }
        }
        for table in ["node_stats", "node_duration_buckets"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE hour < ?"))
                .bind(hour_of(&cutoff))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        for (table, count) in aggregate_levels::emptied_by_retention() {
            sqlx::query(&format!("DELETE FROM {table} WHERE hour < ? AND {count} = 0"))
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

/// Adds a batch's per node type counters and duration buckets.
async fn add_node_stats(
    conn: &mut SqliteConnection,
    graph_type: &str,
    hour: i64,
    plan: &BatchPlan,
) -> Result<(), TraceError> {
    let counts: Vec<_> = plan.node_counts.iter().collect();
    for chunk in counts.chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO node_stats (graph_type, hour, node_id, visits, failed, cached) ",
        );
        q.push_values(chunk, |mut row, (node_id, c)| {
            row.push_bind(graph_type)
                .push_bind(hour)
                .push_bind(node_id.as_str())
                .push_bind(c.visits)
                .push_bind(c.failed)
                .push_bind(c.cached);
        });
        q.push(
            " ON CONFLICT (graph_type, hour, node_id) DO UPDATE SET visits = visits + excluded.visits, \
             failed = failed + excluded.failed, cached = cached + excluded.cached",
        );
        q.build().execute(&mut *conn).await.map_err(db_error)?;
    }
    let buckets: Vec<_> = plan.duration_buckets.iter().collect();
    for chunk in buckets.chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO node_duration_buckets (graph_type, hour, node_id, bucket, count) ",
        );
        q.push_values(chunk, |mut row, ((node_id, bucket), count)| {
            row.push_bind(graph_type)
                .push_bind(hour)
                .push_bind(node_id.as_str())
                .push_bind(*bucket)
                .push_bind(*count);
        });
        q.push(
            " ON CONFLICT (graph_type, hour, node_id, bucket) DO UPDATE SET count = count + excluded.count",
        );
        q.build().execute(&mut *conn).await.map_err(db_error)?;
    }
    Ok(())
}

/// Finished runs' `executions` rows (`whole_runs`); the triggers add them
/// to the run aggregates. Returns the keys they were given.
async fn insert_run_rows(conn: &mut SqliteConnection, rows: &[RunRow]) -> Result<RunKeys, TraceError> {
    // The write lock is held: the keys after the largest are free.
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(run_key), 0) + 1 FROM executions")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    for (n, chunk) in rows.chunks(RUN_ROW_CHUNK).enumerate() {
        let first = next + (n * RUN_ROW_CHUNK) as i64;
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO executions (run_key, execution_id, graph_type, status, start_time, end_time, \
             total_duration_ms, total_nodes, failed_nodes, cached_nodes, total_llm_calls, total_tokens, \
             original_inputs, final_state, metadata, graph, is_replay, original_execution_id, error, \
             last_seq, create_request, parallelism, critical_nodes) ",
        );
        q.push_values(chunk.iter().enumerate(), |mut row, (i, r)| {
            row.push_bind(first + i as i64)
                .push_bind(r.execution_id.as_str())
                .push_bind(r.graph_type.as_str())
                .push_bind(r.status)
                .push_bind(r.start_time)
                .push_bind(r.end_time)
                .push_bind(r.total_duration_ms)
                .push_bind(r.total_nodes)
                .push_bind(r.failed_nodes)
                .push_bind(r.cached_nodes)
                .push_bind(r.total_llm_calls)
                .push_bind(r.total_tokens)
                .push_bind(r.original_inputs.as_str())
                .push_bind(r.final_state.as_deref())
                .push_bind(r.metadata.as_str())
                .push_bind(r.graph.as_deref())
                .push_bind(r.is_replay)
                .push_bind(r.original_execution_id.as_deref())
                .push_bind(r.error.as_deref())
                .push_bind(r.last_seq)
                .push_bind(r.create_request.as_str())
                .push_bind(r.parallelism)
                .push_bind(r.critical_nodes.as_deref());
        });
        q.build().execute(&mut *conn).await.map_err(run_rows_error)?;
    }
    let mut keys = RunKeys::default();
    keys.extend((next..).zip(rows).map(|(key, r)| (r.execution_id.clone(), key)));
    Ok(keys)
}

async fn ensure_exists(conn: &mut SqliteConnection, id: &str) -> Result<(), TraceError> {
    sqlx::query("SELECT 1 FROM executions WHERE execution_id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error)?
        .map(|_| ())
        .ok_or_else(|| TraceError::execution_not_found(id))
}

async fn select_summary(conn: &mut SqliteConnection, id: &str) -> Result<ExecutionSummary, TraceError> {
    sqlx::query_as::<_, SummaryRow>(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM executions WHERE execution_id = ?"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?
    .ok_or_else(|| TraceError::execution_not_found(id))?
    .try_into()
}

/// An event as `select_events` packs it: the columns in table order.
type EventColumns = (
    i64,
    String,
    String,
    String,
    i64,
    Option<f64>,
    JsonObject,
    JsonObject,
    Option<String>,
    JsonObject,
    Value,
);

async fn select_events(
    conn: &mut SqliteConnection,
    id: &str,
    node_id: Option<&str>,
    after_seq: i64,
    until_seq: i64,
) -> Result<Vec<NodeEvent>, TraceError> {
    // sqlx hands SQLite rows over one by one through a channel, which cost
    // more than everything else in a 1,000-event read; SQLite packs the rows
    // into one JSON array instead, which serde_json parses in a single pass.
    let packed: String = sqlx::query_scalar(&format!(
        "SELECT {EVENT_ARRAY} FROM node_events WHERE {RUN_KEY_IS} AND seq > ? AND seq <= ? \
         AND (? IS NULL OR node_id = ?)"
    ))
    .bind(id)
    .bind(after_seq)
    .bind(until_seq)
    .bind(node_id)
    .bind(node_id)
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    decode_events(id, &packed)
}

/// A run's events without their payloads, in `seq` order: packed like
/// `select_events`, and only the metadata fields the outline keeps are read
/// out of the metadata.
async fn outline_events(conn: &mut SqliteConnection, id: &str) -> Result<Vec<EventOutline>, TraceError> {
    let events: String = sqlx::query_scalar(&format!(
        "SELECT json_group_array(json_array(seq, node_id, event_type, timestamp, duration_ms, error, \
         json_extract(metadata, '$.attempt'), json_extract(metadata, '$.saved_ms'), json(parents)) ORDER BY seq) \
         FROM node_events WHERE {RUN_KEY_IS}"
    ))
    .bind(id)
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    type EventRow = (
        i64,
        String,
        String,
        i64,
        Option<f64>,
        Option<String>,
        Value,
        Value,
        Value,
    );
    json_column::<Vec<EventRow>>(&events, "node_events")?
        .into_iter()
        .map(
            |(seq, node_id, kind, at, duration_ms, error, attempt, saved_ms, parents)| {
                event_outline(
                    seq,
                    node_id,
                    &kind,
                    at,
                    duration_ms,
                    error,
                    &attempt,
                    &saved_ms,
                    &parents,
                )
            },
        )
        .collect()
}

/// Works out again what a finished run (from `start` to `end`) keeps of
/// its parallelism (see `store::figure_columns`): from `whole_run` when the
/// caller holds every event of the run, else from its stored events.
async fn refresh_run_figures(
    conn: &mut SqliteConnection,
    id: &str,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    whole_run: Option<&[NodeEvent]>,
) -> Result<(), TraceError> {
    let events = match whole_run {
        Some(events) => events.iter().map(EventOutline::from).collect(),
        None => outline_events(&mut *conn, id).await?,
    };
    let (parallelism, critical) = super::figure_columns(&events, start, end);
    sqlx::query("UPDATE executions SET parallelism = ?, critical_nodes = ? WHERE execution_id = ?")
        .bind(parallelism)
        .bind(critical)
        .bind(id)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Picks a run's events or snapshots by its key (migration 0017), found
/// from the run's id, bound in its place.
const RUN_KEY_IS: &str = "run_key = (SELECT run_key FROM executions WHERE execution_id = ?)";
/// `RUN_KEY_IS` for a `QueryBuilder`: the id is pushed next, then `)`.
const RUN_KEY_BOUND: &str = "run_key = (SELECT run_key FROM executions WHERE execution_id = ";

/// Events packed by SQLite into one JSON array of `EventColumns`, in seq order.
const EVENT_ARRAY: &str = "json_group_array(json_array(seq, event_id, node_id, event_type, timestamp, \
     duration_ms, json(inputs), json(outputs), error, json(metadata), json(parents)) ORDER BY seq)";

fn decode_events(id: &str, packed: &str) -> Result<Vec<NodeEvent>, TraceError> {
    let rows: Vec<EventColumns> = json_column(packed, "node_events")?;
    rows.into_iter()
        .map(
            |(
                seq,
                event_id,
                node_id,
                event_type,
                timestamp,
                duration_ms,
                inputs,
                outputs,
                error,
                metadata,
                parents,
            )| {
                let (parents, parent_seqs) = super::parents_from(&parents)?;
                Ok(NodeEvent {
                    event_type: NodeEventType::parse(&event_type).ok_or_else(|| {
                        TraceError::Internal(format!("unknown stored event type {event_type:?}"))
                    })?,
                    event_id,
                    execution_id: id.to_owned(),
                    seq,
                    node_id,
                    timestamp: from_micros(timestamp)?,
                    duration_ms,
                    inputs,
                    outputs,
                    error,
                    metadata,
                    parents,
                    parent_seqs,
                })
            },
        )
        .collect()
}

/// A snapshot as `select_snapshots` packs it.
type SnapshotColumns = (i64, String, String, i64, JsonObject, Option<Vec<DiffEntry>>);

async fn select_snapshots(
    conn: &mut SqliteConnection,
    id: &str,
    after_seq: i64,
    until_seq: i64,
) -> Result<Vec<StateSnapshot>, TraceError> {
    // Packed into one JSON array for the reason given in `select_events`.
    let packed: String = sqlx::query_scalar(&format!(
        "SELECT json_group_array(json_array(seq, snapshot_id, node_id, timestamp, json(state), json(diff)) \
         ORDER BY seq) FROM state_snapshots WHERE {RUN_KEY_IS} AND seq > ? AND seq <= ?"
    ))
    .bind(id)
    .bind(after_seq)
    .bind(until_seq)
    .fetch_one(conn)
    .await
    .map_err(db_error)?;
    let rows: Vec<SnapshotColumns> = json_column(&packed, "state_snapshots")?;
    rows.into_iter()
        .map(|(seq, snapshot_id, node_id, timestamp, state, diff)| {
            Ok(StateSnapshot {
                snapshot_id,
                execution_id: id.to_owned(),
                seq,
                timestamp: from_micros(timestamp)?,
                node_id,
                state,
                diff,
            })
        })
        .collect()
}

async fn latest_state(conn: &mut SqliteConnection, id: &str) -> Result<Option<JsonObject>, TraceError> {
    let state: Option<String> = sqlx::query_scalar(&format!(
        "SELECT state FROM state_snapshots WHERE {RUN_KEY_IS} ORDER BY seq DESC LIMIT 1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)?;
    state.map(|s| json_column(&s, "state")).transpose()
}

/// Which of `ids` are already stored for the run, looked up in chunks.
async fn stored_ids(
    conn: &mut SqliteConnection,
    table: &str,
    column: &str,
    execution_id: &RecordId,
    ids: &[&str],
) -> Result<HashSet<String>, TraceError> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(INSERT_CHUNK) {
        let mut q =
            QueryBuilder::<Sqlite>::new(format!("SELECT {column} FROM {table} WHERE {RUN_KEY_BOUND}"));
        q.push_bind(execution_id.as_str())
            .push(format!(") AND {column} IN ("));
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        let rows: Vec<String> = q
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        found.extend(rows);
    }
    Ok(found)
}

/// The `seq` of each of the run's stored events among `event_ids`.
async fn stored_seqs(
    conn: &mut SqliteConnection,
    execution_id: &RecordId,
    event_ids: &[&str],
) -> Result<HashMap<String, i64>, TraceError> {
    let mut found = HashMap::new();
    for chunk in event_ids.chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT event_id, seq FROM node_events WHERE {RUN_KEY_BOUND}"
        ));
        q.push_bind(execution_id.as_str()).push(") AND event_id IN (");
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *conn).await.map_err(db_error)?;
        found.extend(rows);
    }
    Ok(found)
}

/// The keys (migration 0017) of the runs `ids` name, for rows about to be
/// written that name their run by its key.
async fn run_keys<'a>(
    conn: &mut SqliteConnection,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<RunKeys, TraceError> {
    let mut keys = RunKeys::default();
    for chunk in RunKeys::wanted(ids).chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT execution_id, run_key FROM executions WHERE execution_id IN (",
        );
        let mut list = q.separated(", ");
        for id in chunk {
            list.push_bind(*id);
        }
        q.push(")");
        let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(&mut *conn).await.map_err(db_error)?;
        keys.extend(rows);
    }
    Ok(keys)
}

/// Stores events (of one run or of several, `whole_runs`) of runs whose
/// keys the caller holds.
async fn insert_events_of(
    conn: &mut SqliteConnection,
    events: &[NodeEvent],
    keys: &RunKeys,
) -> Result<(), TraceError> {
    let each = keys.of_each(events.iter().map(|e| e.execution_id.as_str()))?;
    for (chunk, each) in events.chunks(INSERT_CHUNK).zip(each.chunks(INSERT_CHUNK)) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO node_events (run_key, seq, event_id, node_id, event_type, timestamp, \
             duration_ms, inputs, outputs, error, metadata, parents) ",
        );
        q.push_values(chunk.iter().zip(each), |mut row, (e, key)| {
            row.push_bind(*key)
                .push_bind(e.seq)
                .push_bind(e.event_id.as_str())
                .push_bind(e.node_id.as_str())
                .push_bind(e.event_type.as_str())
                .push_bind(to_micros(&e.timestamp))
                .push_bind(e.duration_ms)
                .push_bind(to_json_column(&e.inputs))
                .push_bind(to_json_column(&e.outputs))
                .push_bind(e.error.as_deref())
                .push_bind(to_json_column(&e.metadata))
                .push_bind(super::parents_column(e));
        });
        q.build().execute(&mut *conn).await.map_err(db_error)?;
    }
    index_docs(conn, &search::event_docs(events), keys).await
}

async fn insert_snapshots(
    conn: &mut SqliteConnection,
    snapshots: &[StateSnapshot],
) -> Result<(), TraceError> {
    let keys = run_keys(&mut *conn, snapshots.iter().map(|s| s.execution_id.as_str())).await?;
    insert_snapshots_of(conn, snapshots, &keys).await
}

/// `insert_snapshots` for runs whose keys the caller holds.
async fn insert_snapshots_of(
    conn: &mut SqliteConnection,
    snapshots: &[StateSnapshot],
    keys: &RunKeys,
) -> Result<(), TraceError> {
    let each = keys.of_each(snapshots.iter().map(|s| s.execution_id.as_str()))?;
    for (chunk, each) in snapshots.chunks(INSERT_CHUNK).zip(each.chunks(INSERT_CHUNK)) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO state_snapshots (run_key, seq, snapshot_id, node_id, timestamp, state, diff) ",
        );
        q.push_values(chunk.iter().zip(each), |mut row, (s, key)| {
            row.push_bind(*key)
                .push_bind(s.seq)
                .push_bind(s.snapshot_id.as_str())
                .push_bind(s.node_id.as_str())
                .push_bind(to_micros(&s.timestamp))
                .push_bind(to_json_column(&s.state))
                .push_bind(s.diff.as_ref().map(to_json_column));
        });
        q.build().execute(&mut *conn).await.map_err(db_error)?;
    }
    index_docs(conn, &search::snapshot_docs(snapshots), keys).await
}

/// Adds documents to the search index (`store::search`) in the caller's
/// transaction, for runs whose keys the caller holds. The write lock is
/// held, so the next ids are free.
async fn index_docs(
    conn: &mut SqliteConnection,
    docs: &[SearchDoc],
    keys: &RunKeys,
) -> Result<(), TraceError> {
    if docs.is_empty() {
        return Ok(());
    }
    let each = keys.of_each(docs.iter().map(|d| d.execution_id.as_str()))?;
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(doc_id), 0) + 1 FROM search_docs")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_error)?;
    for (n, (chunk, each)) in docs
        .chunks(INSERT_CHUNK)
        .zip(each.chunks(INSERT_CHUNK))
        .enumerate()
    {
        let first = next + (n * INSERT_CHUNK) as i64;
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT INTO search_docs (doc_id, run_key, place, seq, node_id) ");
        q.push_values(chunk.iter().zip(each).enumerate(), |mut row, (i, (d, key))| {
            row.push_bind(first + i as i64)
                .push_bind(*key)
                .push_bind(d.place.as_str())
                .push_bind(d.seq)
                .push_bind(d.node_id.as_deref());
        });
        q.build().execute(&mut *conn).await.map_err(db_error)?;
        let mut q = QueryBuilder::<Sqlite>::new("INSERT INTO search_words (rowid, words) ");
        q.push_values(chunk.iter().enumerate(), |mut row, (i, d)| {
            row.push_bind(first + i as i64).push_bind(fts_text(&d.text));
        });
        q.build().execute(&mut *conn).await.map_err(db_error)?;
    }
    Ok(())
}

/// Indexes the run's own text again (after it was created, completed or
/// revised), replacing its document.
async fn index_run(conn: &mut SqliteConnection, id: &str) -> Result<(), TraceError> {
    let row: KeyedRunTextRow = sqlx::query_as(
        "SELECT run_key, error, original_inputs, final_state, metadata FROM executions WHERE execution_id = ?",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_error)?;
    sqlx::query("DELETE FROM search_docs WHERE run_key = ? AND place = 'run'")
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
    conn: &mut SqliteConnection,
    id: &RecordId,
    calls: &[LlmCall],
) -> Result<HashSet<String>, TraceError> {
    let mut found = HashSet::new();
    for chunk in calls.chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT span_id FROM otlp_llm_calls WHERE execution_id = ");
        q.push_bind(id.as_str())
            .push(" AND awaiting IS NULL AND span_id IN (");
        let mut list = q.separated(", ");
        for call in chunk {
            list.push_bind(call.span_id.as_str());
        }
        q.push(")");
        let rows: Vec<String> = q
            .build_query_scalar()
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?;
        found.extend(rows);
    }
    Ok(found)
}

/// The metadata of the stored events with these ids.
async fn event_metadata(
    conn: &mut SqliteConnection,
    id: &RecordId,
    event_ids: &[String],
) -> Result<HashMap<String, JsonObject>, TraceError> {
    let mut found = HashMap::new();
    for chunk in event_ids.chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT event_id, metadata FROM node_events WHERE {RUN_KEY_BOUND}"
        ));
        q.push_bind(id.as_str()).push(") AND event_id IN (");
        let mut list = q.separated(", ");
        for event in chunk {
            list.push_bind(event.as_str());
        }
        q.push(")");
        let rows: Vec<EventMetadataRow> = q.build_query_as().fetch_all(&mut *conn).await.map_err(db_error)?;
        for row in rows {
            found.insert(row.event_id, json_column(&row.metadata, "node_events.metadata")?);
        }
    }
    Ok(found)
}

/// Writes what `plan_llm_calls` decided: events' new metadata and ledger rows.
async fn write_llm_plan(
    conn: &mut SqliteConnection,
    id: &RecordId,
    plan: &LlmPlan<'_>,
) -> Result<(), TraceError> {
    for (event, metadata) in &plan.events {
        sqlx::query(&format!(
            "UPDATE node_events SET metadata = ? WHERE {RUN_KEY_IS} AND event_id = ?"
        ))
        .bind(to_json_column(metadata))
        .bind(id.as_str())
        .bind(event)
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    }
    for row in &plan.rows {
        sqlx::query(
            "INSERT INTO otlp_llm_calls (execution_id, span_id, awaiting, tokens, model) VALUES (?, ?, ?, ?, ?) \
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
    tx: &mut SqliteConnection,
    id: &RecordId,
    new: &NewExecution,
    request: &str,
) -> Result<CreateOutcome, TraceError> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT create_request FROM executions WHERE execution_id = ?")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_error)?;
    if let Some(stored_request) = existing {
        if stored_request != request {
            return Err(TraceError::Conflict(format!(
                "execution {id} already exists with different content"
            )));
        }
        let summary = select_summary(&mut *tx, id.as_str()).await?;
        return Ok(CreateOutcome::AlreadyExists(summary));
    }
    let start_time = new.start_time.unwrap_or_else(Utc::now);
    let last_seq = i64::from(new.initial_state.is_some());
    sqlx::query(
        "INSERT INTO executions (execution_id, graph_type, status, start_time, original_inputs, \
         metadata, graph, is_replay, original_execution_id, last_seq, create_request, run_key) \
         VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, \
         (SELECT COALESCE(MAX(run_key), 0) + 1 FROM executions))",
    )
    .bind(id.as_str())
    .bind(new.graph_type.as_str())
    .bind(to_micros(&start_time))
    .bind(to_json_column(&new.original_inputs))
    .bind(to_json_column(&new.metadata))
    .bind(new.graph.as_ref().map(to_json_column))
    .bind(new.is_replay)
    .bind(new.original_execution_id.as_ref().map(|o| o.as_str()))
    .bind(last_seq)
    .bind(request)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    index_run(&mut *tx, id.as_str()).await?;
    if let Some(snapshot) = super::initial_snapshot(id, new, start_time) {
        insert_snapshots(&mut *tx, std::slice::from_ref(&snapshot)).await?;
    }
    let summary = select_summary(&mut *tx, id.as_str()).await?;
    Ok(CreateOutcome::Created(summary))
}

/// `complete_execution` inside a write transaction the caller holds (and commits).
async fn complete_execution_in(
    tx: &mut SqliteConnection,
    id: &RecordId,
    completion: &Completion,
    whole_run: Option<&[NodeEvent]>,
) -> Result<ExecutionSummary, TraceError> {
    let current = select_summary(&mut *tx, id.as_str()).await?;
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
        "UPDATE executions SET status = ?, end_time = ?, total_duration_ms = ?, final_state = ?, \
         error = ?, quiet_deadline = NULL, total_llm_calls = COALESCE(?, total_llm_calls), \
         total_tokens = COALESCE(?, total_tokens) WHERE execution_id = ?",
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
    let summary = select_summary(&mut *tx, id.as_str()).await?;
    super::alert_outbox::fire_in_sqlite(&mut *tx, &summary, Utc::now()).await?;
    Ok(summary)
}

/// `revise_run` inside a write transaction the caller holds (and commits).
async fn revise_run_in(
    tx: &mut SqliteConnection,
    id: &RecordId,
    header: Option<&RunHeader>,
    quiet_deadline: Option<DateTime<Utc>>,
) -> Result<(), TraceError> {
    let row =
        sqlx::query("SELECT status, graph_type, start_time, end_time FROM executions WHERE execution_id = ?")
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
            for table in ["node_stats", "node_duration_buckets"] {
                let emptied = if table == "node_stats" { "visits" } else { "count" };
                sqlx::query(&format!(
                    "DELETE FROM {table} WHERE graph_type = ? AND hour = ? AND {emptied} = 0"
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
            "UPDATE executions SET graph_type = ?, start_time = ?, original_inputs = ?, \
             graph = COALESCE(?, graph), metadata = ?, total_duration_ms = ? WHERE execution_id = ?",
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
        sqlx::query("UPDATE executions SET quiet_deadline = ? WHERE execution_id = ?")
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
    tx: &mut SqliteConnection,
    id: &RecordId,
    batch: &EventBatch,
    finished: FinishedRuns,
    llm_calls: &[LlmCall],
) -> Result<StoredBatch, TraceError> {
    let row = sqlx::query(
        "SELECT status, last_seq, graph_type, start_time, end_time, run_key FROM executions WHERE execution_id = ?",
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

    let event_ids: Vec<&str> = batch
        .events
        .iter()
        .filter_map(|e| e.event_id.as_ref().map(|i| i.as_str()))
        .collect();
    let snapshot_ids: Vec<&str> = batch
        .snapshots
        .iter()
        .filter_map(|s| s.snapshot_id.as_ref().map(|i| i.as_str()))
        .collect();
    // A run with no records yet (seq starts at 1) holds none of these
    // ids: a span-born run's first batch skips the lookups.
    let (stored_event_ids, stored_snapshot_ids) = if last_seq == 0 {
        (HashSet::new(), HashSet::new())
    } else {
        (
            stored_ids(&mut *tx, "node_events", "event_id", id, &event_ids).await?,
            stored_ids(&mut *tx, "state_snapshots", "snapshot_id", id, &snapshot_ids).await?,
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
        let stored = event_metadata(&mut *tx, id, &wanted).await?;
        plan_llm_calls(llm_calls, &new_events, &settled, stored)
    };
    plan.add_llm_calls(llm.calls, llm.tokens);
    insert_events_of(&mut *tx, &plan.events, &keys).await?;
    write_llm_plan(&mut *tx, id, &llm).await?;
    insert_snapshots_of(&mut *tx, &plan.snapshots, &keys).await?;
    add_node_stats(&mut *tx, &graph_type, hour, &plan).await?;
    sqlx::query(&format!(
        "UPDATE executions SET last_seq = ?, total_nodes = total_nodes + ?, \
         failed_nodes = failed_nodes + ?, cached_nodes = cached_nodes + ?, \
         total_llm_calls = MIN(total_llm_calls + ?, {MAX_RUN_TOTAL}), \
         total_tokens = CASE WHEN ? IS NULL THEN total_tokens \
             ELSE MIN(COALESCE(total_tokens, 0) + ?, {MAX_RUN_TOTAL}) END \
         WHERE execution_id = ?",
    ))
    .bind(plan.last_seq)
    .bind(plan.nodes)
    .bind(plan.failed)
    .bind(plan.cached)
    .bind(plan.llm_calls)
    .bind(plan.tokens)
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

impl WriteSteps for SqliteConnection {
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
    tx: &mut SqliteConnection,
    filter: &StatisticsFilter,
    over_time: bool,
) -> Result<StatisticsInputs, TraceError> {
    let plan = run_stats::plan(filter);
    let runs = runs_of(filter);
    let (width, range) = if over_time {
        let mut q = run_stats::start_range_query(&plan, &runs, &SQLITE);
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
    let mut q = run_stats::runs_query(&plan, width, &SQLITE);
    let rows: Vec<StatusAggregateRow> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;
    let runs = status_aggregates(rows);
    let mut q = run_stats::buckets_query(&plan, width, Measure::Duration, &SQLITE);
    let run_duration_buckets: Vec<(i64, i32, i64)> =
        q.build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;
    let mut q = run_stats::buckets_query(&plan, width, Measure::Parallelism, &SQLITE);
    let parallelism: Vec<(i64, i32, i64)> = q.build_query_as().fetch_all(&mut *tx).await.map_err(db_error)?;
    let mut q = run_stats::critical_nodes_query(&plan, &SQLITE);
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
