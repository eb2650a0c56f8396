//! The `executions` row as both backends read it, and its conversion to the
//! model — one place, so SQLite and PostgreSQL summaries cannot differ.

use super::json_column;
use super::time::from_micros;
use app::error::TraceError;
use app::model::{ExecutionStatus, ExecutionSummary};

/// Columns every summary query selects, in `SummaryRow` order.
pub const SUMMARY_COLUMNS: &str = "execution_id, graph_type, status, start_time, end_time, \
    total_duration_ms, total_nodes, failed_nodes, cached_nodes, total_llm_calls, total_tokens, \
    original_inputs, final_state, metadata, graph, is_replay, original_execution_id, error, last_seq";

/// `SUMMARY_COLUMNS` with the payload columns left empty: what a run list
/// shows (`ExecutionFilter::without_payloads`).
pub const LIST_COLUMNS: &str = "execution_id, graph_type, status, start_time, end_time, \
    total_duration_ms, total_nodes, failed_nodes, cached_nodes, total_llm_calls, total_tokens, \
    '{}' AS original_inputs, NULL AS final_state, '{}' AS metadata, NULL AS graph, \
    is_replay, original_execution_id, error, last_seq";

/// The columns a list with `filter` reads.
pub fn list_columns(filter: &app::model::ExecutionFilter) -> &'static str {
    if filter.without_payloads {
        LIST_COLUMNS
    } else {
        SUMMARY_COLUMNS
    }
}

/// One `executions` row, as stored.
#[derive(sqlx::FromRow)]
pub struct SummaryRow {
    execution_id: String,
    graph_type: String,
    status: String,
    start_time: i64,
    end_time: Option<i64>,
    total_duration_ms: Option<f64>,
    total_nodes: i64,
    failed_nodes: i64,
    cached_nodes: i64,
    total_llm_calls: i64,
    total_tokens: Option<i64>,
    original_inputs: String,
    final_state: Option<String>,
    metadata: String,
    graph: Option<String>,
    is_replay: bool,
    original_execution_id: Option<String>,
    error: Option<String>,
    last_seq: i64,
}

impl TryFrom<SummaryRow> for ExecutionSummary {
    type Error = TraceError;

    fn try_from(row: SummaryRow) -> Result<Self, TraceError> {
        Ok(ExecutionSummary {
            status: ExecutionStatus::parse(&row.status)
                .ok_or_else(|| TraceError::Internal(format!("unknown stored status {:?}", row.status)))?,
            execution_id: row.execution_id,
            graph_type: row.graph_type,
            start_time: from_micros(row.start_time)?,
            end_time: row.end_time.map(from_micros).transpose()?,
            total_duration_ms: row.total_duration_ms,
            total_nodes: row.total_nodes,
            failed_nodes: row.failed_nodes,
            cached_nodes: row.cached_nodes,
            total_llm_calls: row.total_llm_calls,
            total_tokens: row.total_tokens,
            original_inputs: json_column(&row.original_inputs, "original_inputs")?,
            final_state: row
                .final_state
                .as_deref()
                .map(|t| json_column(t, "final_state"))
                .transpose()?,
            metadata: json_column(&row.metadata, "metadata")?,
            graph: row
                .graph
                .as_deref()
                .map(|t| json_column(t, "graph"))
                .transpose()?,
            is_replay: row.is_replay,
            original_execution_id: row.original_execution_id,
            error: row.error,
            last_seq: row.last_seq,
            matches: Vec::new(),
        })
    }
}
