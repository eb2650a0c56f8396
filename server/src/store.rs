//! Store implementations of `app::store::HistoryStore`, one module per
//! database backend, plus what every backend shares: choosing a backend from
//! the URL, planning a batch, and mapping database errors.

pub(crate) mod aggregate_levels;
mod alert_outbox;
mod batch_plan;
mod bulk_load;
pub(crate) mod db_pool;
mod filters;
mod json_prefix;
mod llm_calls;
mod postgres;
mod rows;
mod run_keys;
mod run_list;
mod run_stats;
mod search;
pub use postgres::{CHANNEL, INSTANCE_ID};
mod sqlite;
mod summary_row;
pub(crate) mod time;
mod whole_runs;

pub use bulk_load::BulkLoad;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use anyhow::{bail, Context};
use app::error::TraceError;
use app::store::HistoryStore;
use std::sync::Arc;

/// Opens (creating if needed) and migrates the store a database URL names.
pub async fn open(database_url: &str) -> anyhow::Result<Arc<dyn HistoryStore>> {
    Ok(open_with_access(database_url).await?.0)
}

/// `open`, plus the access rows (tokens, people, sessions) on the same database.
pub async fn open_with_access(
    database_url: &str,
) -> anyhow::Result<(Arc<dyn HistoryStore>, crate::access::AccessStore)> {
    let (history, access, _) = open_all(database_url).await?;
    Ok((history, access))
}

/// `open`, plus the access rows and the alert rules and outbox, all on the
/// same database.
pub async fn open_all(
    database_url: &str,
) -> anyhow::Result<(
    Arc<dyn HistoryStore>,
    crate::access::AccessStore,
    crate::alerts::store::AlertStore,
)> {
    if database_url.starts_with("sqlite:") {
        let store = SqliteStore::open(database_url)
            .await
            .with_context(|| format!("cannot open SQLite database {database_url}"))?;
        let access = crate::access::AccessStore::sqlite(store.pool());
        let alerts = crate::alerts::store::AlertStore::sqlite(store.pool());
        Ok((Arc::new(store), access, alerts))
    } else if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
        let store = PostgresStore::open(database_url).await.with_context(|| {
            format!(
                "cannot open PostgreSQL database {}",
                crate::config::redact_url(database_url)
            )
        })?;
        let access = crate::access::AccessStore::postgres(store.pool());
        let alerts = crate::alerts::store::AlertStore::postgres(store.pool());
        Ok((Arc::new(store), access, alerts))
    } else {
        bail!(
            "unsupported database URL {:?}: expected sqlite://… or postgres://…",
            crate::config::redact_url(database_url)
        );
    }
}

/// The ORDER BY clause of a run list (the same SQL on both backends).
pub(crate) fn order_by(sort: app::model::ListSort) -> &'static str {
    match sort {
        app::model::ListSort::Newest => " ORDER BY start_time DESC, execution_id DESC",
        app::model::ListSort::Slowest => {
            " ORDER BY total_duration_ms DESC NULLS LAST, start_time DESC, execution_id DESC"
        }
    }
}

/// The query plans of a run-list page for `filter` on the database at
/// `database_url` (opened and migrated), one line per plan step, for each
/// part the page reads. On PostgreSQL, sequential scans and sorts are priced
/// out first, so the plan shows whether an index *can* serve the page
/// whatever the table's size (a tiny test table is scanned otherwise). For
/// the plan test and for operators. (A search's runs are left out: they
/// are bound per request, see `search::SearchHits`.) `counted`: how many
/// runs the page's count found (`run_list::page_query`).
pub async fn explain_list(
    database_url: &str,
    filter: &app::model::ExecutionFilter,
    counted: i64,
) -> anyhow::Result<Vec<Vec<String>>> {
    use sqlx::QueryBuilder;
    let mut plans = Vec::new();
    let limit = i64::from(filter.limit) + 1;
    let columns = summary_row::list_columns(filter);
    if database_url.starts_with("sqlite:") {
        let pool = SqliteStore::open(database_url).await?.pool();
        let mut conn = pool.acquire().await?;
        for part in run_list::page_parts(filter) {
            let mut q: QueryBuilder<sqlx::Sqlite> = run_list::page_query(
                filter,
                None,
                &format!("EXPLAIN QUERY PLAN SELECT {columns}"),
                part,
                limit,
                counted,
                &filters::SQLITE,
            );
            let rows: Vec<(i64, i64, i64, String)> = q.build_query_as().fetch_all(&mut *conn).await?;
            plans.push(rows.into_iter().map(|r| r.3).collect());
        }
    } else {
        let pool = PostgresStore::open(database_url).await?.pool();
        let mut conn = pool.acquire().await?;
        sqlx::raw_sql("SET enable_seqscan = off; SET enable_sort = off")
            .execute(&mut *conn)
            .await?;
        for part in run_list::page_parts(filter) {
            let mut q: QueryBuilder<sqlx::Postgres> = run_list::page_query(
                filter,
                None,
                &format!("EXPLAIN SELECT {columns}"),
                part,
                limit,
                counted,
                &filters::POSTGRES,
            );
            let rows: Vec<(String,)> = q.build_query_as().fetch_all(&mut *conn).await?;
            plans.push(rows.into_iter().map(|r| r.0).collect());
        }
    }
    Ok(plans)
}

/// A list answer from the rows read for `filter` (one more than its page
/// when there is a next page): the page, and the cursor after its last run.
pub(crate) fn page_of(
    filter: &app::model::ExecutionFilter,
    mut executions: Vec<app::model::ExecutionSummary>,
    total: i64,
    total_capped: bool,
) -> app::model::ExecutionList {
    let more = executions.len() > filter.limit as usize;
    executions.truncate(filter.limit as usize);
    let next_cursor = executions.last().filter(|_| more).map(|last| {
        app::model::ListCursor::after(
            filter,
            time::to_micros(&last.start_time),
            last.total_duration_ms,
            &last.execution_id,
        )
        .encode()
    });
    app::model::ExecutionList {
        executions,
        total,
        total_capped,
        next_cursor,
    }
}

/// Maps a database error to what a caller can act on: connection trouble is
/// `Unavailable` (retry later), everything else `Internal`.
pub(crate) fn db_error(err: sqlx::Error) -> TraceError {
    // SQLSTATE classes 08 (connection exception), 53 (insufficient
    // resources) and 57 (operator intervention: shutdown, restart) are the
    // database going away, not a bug.
    let database_went_away = err
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| ["08", "53", "57"].iter().any(|class| code.starts_with(class)));
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_) => TraceError::Unavailable(err.to_string()),
        other if database_went_away => TraceError::Unavailable(other.to_string()),
        other => TraceError::Internal(other.to_string()),
    }
}

/// Parses a JSON column written by this store.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T, TraceError> {
    serde_json::from_str(text)
        .map_err(|e| TraceError::Internal(format!("corrupt JSON in column {column}: {e}")))
}

/// An event's `parents` as stored: a JSON array of `[event_id, seq]`
/// pairs, `None` when it names none (so events without parents cost nothing).
pub(crate) fn parents_column(event: &app::model::NodeEvent) -> Option<String> {
    if event.parents.is_empty() {
        return None;
    }
    let pairs: Vec<(&str, i64)> = event
        .parents
        .iter()
        .map(String::as_str)
        .zip(event.parent_seqs.iter().copied())
        .collect();
    serde_json::to_string(&pairs).ok()
}

/// A stored `parents` column (JSON `null` or `[[event_id, seq], …]`) read
/// back as the event's `(parents, parent_seqs)`.
pub(crate) fn parents_from(value: &serde_json::Value) -> Result<(Vec<String>, Vec<i64>), TraceError> {
    if value.is_null() {
        return Ok((Vec::new(), Vec::new()));
    }
    let pairs: Vec<(String, i64)> = serde_json::from_value(value.clone())
        .map_err(|e| TraceError::Internal(format!("corrupt JSON in column parents: {e}")))?;
    Ok(pairs.into_iter().unzip())
}

/// What a finished run from `start` to `end` keeps of its parallelism:
/// the `parallelism` column (its average) and the `critical_nodes` column
/// (`[[node_id, ms], …]` for a run that ran nodes side by side, else NULL).
/// The same rules as the run page (`app::parallel`).
pub(crate) fn figure_columns(
    events: &[app::model::EventOutline],
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> (f64, Option<String>) {
    let figures = app::parallel::run_figures(events, start, end);
    let critical = (!figures.critical.is_empty())
        .then(|| serde_json::to_string(&figures.critical).ok())
        .flatten();
    (figures.average, critical)
}

/// An event's outline from its stored columns: the two metadata values are
/// read with the same rules as a whole event's (`EventOutline::from`).
#[allow(clippy::too_many_arguments, reason = "one per stored column")]
pub(crate) fn event_outline(
    seq: i64,
    node_id: String,
    event_type: &str,
    timestamp: i64,
    duration_ms: Option<f64>,
    error: Option<String>,
    attempt: &serde_json::Value,
    saved_ms: &serde_json::Value,
    parents: &serde_json::Value,
) -> Result<app::model::EventOutline, TraceError> {
    Ok(app::model::EventOutline {
        seq,
        node_id,
        event_type: app::model::NodeEventType::parse(event_type)
            .ok_or_else(|| TraceError::Internal(format!("unknown stored event type {event_type:?}")))?,
        timestamp: time::from_micros(timestamp)?,
        duration_ms,
        error,
        attempt: app::model::EventOutline::attempt_of(Some(attempt)),
        saved_ms: app::model::EventOutline::saved_ms_of(Some(saved_ms)),
        parents: parents_from(parents)?.1,
    })
}

/// Starts a transaction on `pool` such that cancelling the caller cannot
/// leave a connection inside a transaction. sqlx 0.8's PostgreSQL `begin`,
/// cancelled after its `BEGIN` is sent and before the answer is read,
/// returns the connection to the pool still in that transaction (its
/// rollback guard only acts once the depth was counted); the next request
/// on it then fails ("SET TRANSACTION ISOLATION LEVEL must be called before
/// any query"). Schemathesis found it: compare loads two runs at once and
/// drops one load when the other fails, and a client that hangs up cancels
/// its request the same way. Begun on a task of its own, the `BEGIN` always
/// completes, and a transaction nobody takes is dropped, so rolled back.
pub(crate) async fn begin_detached<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.begin().await })
        .await
        .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))?
}

/// The snapshot of a new run's `initial_state` (`seq` 1, node `__start__`),
/// when it has one.
pub(crate) fn initial_snapshot(
    id: &app::model::RecordId,
    new: &app::model::NewExecution,
    start_time: chrono::DateTime<chrono::Utc>,
) -> Option<app::model::StateSnapshot> {
    new.initial_state.as_ref().map(|state| app::model::StateSnapshot {
        snapshot_id: app::model::RecordId::generate().into(),
        execution_id: id.to_string(),
        seq: 1,
        timestamp: start_time,
        node_id: "__start__".into(),
        state: state.clone(),
        diff: None,
    })
}

/// Serialises a value for a JSON column.
pub(crate) fn to_json_column<T: serde::Serialize>(value: &T) -> String {
    // Serialising maps of JSON values cannot fail (string keys, no custom
    // serialisers), so an error here would be a bug worth crashing the request.
    serde_json::to_string(value).expect("JSON values always serialise")
}

/// The write steps of a span-born trace, each inside the caller's
/// transaction: implemented by each backend's connection, so the order and
/// the tolerated outcomes (`span_trace_in`) are written once.
pub(crate) trait WriteSteps: Send {
    fn create<'a>(
        &'a mut self,
        id: &'a app::model::RecordId,
        new: &'a app::model::NewExecution,
        request: &'a str,
    ) -> impl std::future::Future<Output = Result<app::store::CreateOutcome, TraceError>> + Send + 'a;

    fn revise<'a>(
        &'a mut self,
        id: &'a app::model::RecordId,
        header: Option<&'a app::store::RunHeader>,
        quiet_deadline: Option<chrono::DateTime<chrono::Utc>>,
    ) -> impl std::future::Future<Output = Result<(), TraceError>> + Send + 'a;

    fn append<'a>(
        &'a mut self,
        id: &'a app::model::RecordId,
        batch: &'a app::model::EventBatch,
        llm_calls: &'a [app::store::LlmCall],
    ) -> impl std::future::Future<Output = Result<app::store::StoredBatch, TraceError>> + Send + 'a;

    /// `whole_run`: every event of the run, when the caller holds them all
    /// (a run created and filled in this transaction), so its parallel
    /// figures are worked out without reading the events back.
    fn complete<'a>(
        &'a mut self,
        id: &'a app::model::RecordId,
        completion: &'a app::model::Completion,
        whole_run: Option<&'a [app::model::NodeEvent]>,
    ) -> impl std::future::Future<Output = Result<app::model::ExecutionSummary, TraceError>> + Send + 'a;
}

/// `HistoryStore::ingest_span_trace` inside the caller's transaction.
pub(crate) async fn span_trace_in<C: WriteSteps>(
    conn: &mut C,
    id: &app::model::RecordId,
    trace: &app::store::SpanTrace<'_>,
) -> Result<app::store::SpanTraceOutcome, TraceError> {
    use app::store::CreateOutcome;
    let created = match conn.create(id, trace.new, trace.request).await {
        Ok(CreateOutcome::Created(summary)) => Some(summary),
        // Created by an earlier request (or, for a conflict, by a JSON
        // producer that chose a trace id as its run id): add to it.
        Ok(CreateOutcome::AlreadyExists(_)) | Err(TraceError::Conflict(_)) => None,
        Err(e) => return Err(e),
    };
    match trace.header {
        // Created from its run span just now, and ended below: nothing to revise.
        Some(_) if created.is_some() => {}
        header => conn.revise(id, header, Some(trace.quiet_deadline)).await?,
    }
    let stored =
        if trace.batch.events.is_empty() && trace.batch.snapshots.is_empty() && trace.llm_calls.is_empty() {
            None
        } else {
            Some(conn.append(id, trace.batch, trace.llm_calls).await?)
        };
    // A run created by this request holds exactly what was appended now.
    let whole_run = created
        .is_some()
        .then(|| stored.as_ref().map_or(&[][..], |s| s.events.as_slice()));
    let completed = match trace.completion {
        Some(completion) => match conn.complete(id, completion, whole_run).await {
            Ok(summary) => Some(summary),
            // Already finished: a repeated run span, or a root around the run.
            Err(TraceError::Conflict(_)) => None,
            Err(e) => return Err(e),
        },
        None => None,
    };
    Ok(app::store::SpanTraceOutcome {
        created,
        stored,
        completed,
    })
}
