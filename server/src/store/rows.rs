//! Rows as both backends read them, by column name: each query's result is a
//! struct whose fields name its columns (the SQL gives every computed column
//! an alias), so a reordered SELECT cannot silently swap two values, and a
//! missing or mistyped column is an error naming it, never a panic. The
//! conversions to the model live here too, once for both backends.
//!
//! SQLite's packed reads (`json_group_array` of arrays, see `select_events`)
//! stay positional on purpose: they are one JSON value decoded by serde into
//! the same structs, which accept a JSON array in field order.

use super::time::from_micros;
use app::error::TraceError;
use app::model::ExecutionStatus;
use app::store::{LlmCall, LlmPlace, StatusAggregate};
use chrono::{DateTime, Utc};

/// `otlp_llm_calls`: a call still waiting for its node visit.
#[derive(sqlx::FromRow)]
pub struct AwaitingCallRow {
    pub span_id: String,
    pub awaiting: String,
    pub tokens: Option<i64>,
    pub model: Option<String>,
}

impl From<AwaitingCallRow> for LlmCall {
    fn from(row: AwaitingCallRow) -> Self {
        LlmCall {
            span_id: row.span_id,
            tokens: row.tokens,
            model: row.model,
            place: LlmPlace::Awaiting(row.awaiting),
        }
    }
}

/// A stored LangGraph task's start: `namespace`, `event_id`, `started`.
#[derive(sqlx::FromRow)]
pub struct TaskRow {
    pub namespace: String,
    pub event_id: String,
    pub started: i64,
}

/// Stored LangGraph tasks as (namespace, span id, start): a started event's
/// id is `{span_id}:s`.
pub fn stored_tasks(rows: Vec<TaskRow>) -> Result<Vec<(String, String, DateTime<Utc>)>, TraceError> {
    rows.into_iter()
        .map(|row| {
            let span = row
                .event_id
                .strip_suffix(":s")
                .unwrap_or(&row.event_id)
                .to_owned();
            Ok((row.namespace, span, from_micros(row.started)?))
        })
        .collect()
}

/// A running run whose producer went quiet.
#[derive(sqlx::FromRow)]
pub struct QuietRunRow {
    pub execution_id: String,
    pub quiet_deadline: i64,
}

impl QuietRunRow {
    /// The run's id and the moment it went quiet.
    pub fn into_pair(self) -> Result<(String, DateTime<Utc>), TraceError> {
        Ok((self.execution_id, from_micros(self.quiet_deadline)?))
    }
}

/// A snapshot without its state: `seq`, `node_id`, `timestamp`.
#[derive(sqlx::FromRow, serde::Deserialize)]
pub struct SnapshotOutlineRow {
    pub seq: i64,
    pub node_id: String,
    pub timestamp: i64,
}

/// Snapshot outlines from their rows.
pub fn snapshot_outlines(
    rows: Vec<SnapshotOutlineRow>,
) -> Result<Vec<app::model::SnapshotOutline>, TraceError> {
    rows.into_iter()
        .map(|row| {
            Ok(app::model::SnapshotOutline {
                seq: row.seq,
                node_id: row.node_id,
                timestamp: from_micros(row.timestamp)?,
            })
        })
        .collect()
}

/// An event's id and its metadata (JSON text).
#[derive(sqlx::FromRow)]
pub struct EventMetadataRow {
    pub event_id: String,
    pub metadata: String,
}

/// What a run's per-node-type figures count of an event.
#[derive(sqlx::FromRow)]
pub struct CountedEventRow {
    pub node_id: String,
    pub event_type: String,
    pub duration_ms: Option<f64>,
}

/// The runs in one status and time bucket, summed (sums of LLM calls and
/// tokens as floats: exact below 2^53, and never an overflow).
#[derive(sqlx::FromRow)]
pub struct StatusAggregateRow {
    pub time_bucket: i64,
    pub status: String,
    pub runs: i64,
    pub nodes: i64,
    pub cached: i64,
    pub llm_calls: f64,
    pub tokens: f64,
    pub parallel_runs: i64,
}

/// Per-status aggregates; a status the model does not know is left out.
pub fn status_aggregates(rows: Vec<StatusAggregateRow>) -> Vec<StatusAggregate> {
    rows.into_iter()
        .filter_map(|row| {
            ExecutionStatus::parse(&row.status).map(|status| StatusAggregate {
                time_bucket: row.time_bucket,
                status,
                runs: row.runs,
                nodes: row.nodes,
                cached: row.cached,
                // Saturating: a float sum past i64 reads as its maximum.
                llm_calls: row.llm_calls as i64,
                tokens: row.tokens as i64,
                parallel_runs: row.parallel_runs,
            })
        })
        .collect()
}

/// One node type's visits, failures and cache hits.
#[derive(sqlx::FromRow)]
pub struct NodeCountRow {
    pub node_id: String,
    pub visits: i64,
    pub failed: i64,
    pub cached: i64,
}

impl From<NodeCountRow> for (String, i64, i64, i64) {
    fn from(row: NodeCountRow) -> Self {
        (row.node_id, row.visits, row.failed, row.cached)
    }
}

/// The first and last start among the matching runs.
#[derive(sqlx::FromRow)]
pub struct StartRangeRow {
    pub first_start: Option<i64>,
    pub last_start: Option<i64>,
}

/// One bar of a node type's duration histogram in one time bucket.
#[derive(sqlx::FromRow)]
pub struct BucketNodeRow {
    pub time_bucket: i64,
    pub node_id: String,
    pub bucket: i32,
    pub count: i64,
}

impl From<BucketNodeRow> for (i64, String, i32, i64) {
    fn from(row: BucketNodeRow) -> Self {
        (row.time_bucket, row.node_id, row.bucket, row.count)
    }
}
