//! Finished runs stored whole, many per transaction
//! (`HistoryStore::store_whole_runs`): the bulk path of `tracevis bench`'s
//! scale fill (#16). Each run is planned exactly as the producers' path
//! plans its start, one batch of all its records and its completion
//! (`batch_plan::plan_batch`, `figure_columns`, `search::run_doc`); each
//! backend then writes every table with a few multi-row statements per
//! call instead of some twenty statements per run. The run aggregates come
//! from the same triggers on `executions`; the node type aggregates are
//! added once per (graph type, hour).

use super::batch_plan::{plan_batch, BatchPlan, StoredContext, UnknownParents};
use super::search::{run_doc, RunTextRow, SearchDoc};
use super::time::{from_micros, hour_of, millis_between, to_micros};
use super::{db_error, figure_columns, to_json_column};
use app::error::TraceError;
use app::model::{EventOutline, ExecutionStatus, NodeEvent, RecordId, StateSnapshot, MAX_RUN_TOTAL};
use app::store::WholeRun;
use std::collections::{BTreeMap, HashMap, HashSet};

/// One run's `executions` row, as the producers' path leaves it once the
/// run has finished.
pub(crate) struct RunRow {
    pub execution_id: String,
    pub graph_type: String,
    pub status: &'static str,
    pub start_time: i64,
    pub end_time: i64,
    pub total_duration_ms: f64,
    pub total_nodes: i64,
    pub failed_nodes: i64,
    pub cached_nodes: i64,
    pub total_llm_calls: i64,
    pub total_tokens: Option<i64>,
    pub original_inputs: String,
    pub final_state: Option<String>,
    pub metadata: String,
    pub graph: Option<String>,
    pub is_replay: bool,
    pub original_execution_id: Option<String>,
    pub error: Option<String>,
    pub last_seq: i64,
    pub create_request: String,
    pub parallelism: f64,
    pub critical_nodes: Option<String>,
}

/// What one call writes.
#[derive(Default)]
pub(crate) struct PlannedRuns {
    pub runs: Vec<RunRow>,
    /// The runs' initial-state snapshots (`seq` 1), stored before the
    /// events as `create_execution` stores them: their search documents
    /// then come first, as on the producers' path.
    pub initial_snapshots: Vec<StateSnapshot>,
    /// Every run's events, run after run, in `seq` order.
    pub events: Vec<NodeEvent>,
    /// Every run's other snapshots, run after run.
    pub snapshots: Vec<StateSnapshot>,
    /// Node type counters and duration buckets per (graph type, hour).
    pub node_stats: BTreeMap<(String, i64), BatchPlan>,
    /// The runs' own search documents.
    pub run_docs: Vec<SearchDoc>,
}

/// Plans `runs` (checking each as the producers' path would: a finished
/// status, an end at or after the start, no id twice).
pub(crate) fn plan_whole_runs(runs: &[WholeRun<'_>]) -> Result<PlannedRuns, TraceError> {
    let invalid = |field: &str, message: String| TraceError::Invalid {
        field: field.into(),
        message,
    };
    let mut planned = PlannedRuns::default();
    let mut seen = HashSet::new();
    let (no_ids, no_parents) = (HashSet::new(), HashMap::new());
    for run in runs {
        let id: &RecordId = run.id;
        if !seen.insert(id.as_str()) {
            return Err(invalid("execution_id", format!("{id} comes twice in one call")));
        }
        if run.new.execution_id.as_ref().is_some_and(|own| own != id) {
            return Err(invalid(
                "execution_id",
                format!("the start of run {id} names another run"),
            ));
        }
        let completion = run.completion;
        if completion.status == ExecutionStatus::Running {
            return Err(invalid("status", format!("run {id} is not finished")));
        }
        // To the microsecond, as stored: the parallel figures below then
        // see the times the producers' path reads back.
        let stored = |t: chrono::DateTime<chrono::Utc>| from_micros(to_micros(&t));
        let start = stored(run.new.start_time.unwrap_or_else(chrono::Utc::now))?;
        let end = stored(completion.end_time.unwrap_or_else(chrono::Utc::now))?;
        if end < start {
            return Err(invalid("end_time", "is before the run's start_time".into()));
        }
        let initial = super::initial_snapshot(id, run.new, start);
        let plan = plan_batch(
            id,
            run.batch,
            StoredContext {
                last_seq: i64::from(initial.is_some()),
                stored_event_ids: &no_ids,
                stored_snapshot_ids: &no_ids,
                stored_parents: &no_parents,
                unknown_parents: UnknownParents::Refuse,
                previous_state: run.new.initial_state.clone(),
            },
        )?;
        let outlines: Vec<EventOutline> = plan.events.iter().map(EventOutline::from).collect();
        let (parallelism, critical_nodes) = figure_columns(&outlines, start, end);
        let performance = completion.performance.clone().unwrap_or_default();
        let row = RunRow {
            execution_id: id.to_string(),
            graph_type: run.new.graph_type.as_str().to_owned(),
            status: completion.status.as_str(),
            start_time: to_micros(&start),
            end_time: to_micros(&end),
            total_duration_ms: millis_between(&start, &end),
            total_nodes: plan.nodes,
            failed_nodes: plan.failed,
            cached_nodes: plan.cached,
            total_llm_calls: performance
                .total_llm_calls
                .map_or(plan.llm_calls.min(MAX_RUN_TOTAL), i64::from),
            total_tokens: performance
                .total_tokens
                .map(|t| i64::try_from(t).unwrap_or(i64::MAX))
                .or(plan.tokens.map(|t| t.min(MAX_RUN_TOTAL))),
            original_inputs: to_json_column(&run.new.original_inputs),
            final_state: completion.final_state.as_ref().map(to_json_column),
            metadata: to_json_column(&run.new.metadata),
            graph: run.new.graph.as_ref().map(to_json_column),
            is_replay: run.new.is_replay,
            original_execution_id: run.new.original_execution_id.as_ref().map(|o| o.to_string()),
            error: completion.error.clone(),
            last_seq: plan.last_seq,
            create_request: run.request.to_owned(),
            parallelism,
            critical_nodes,
        };
        let text = RunTextRow {
            error: row.error.clone(),
            original_inputs: row.original_inputs.clone(),
            final_state: row.final_state.clone(),
            metadata: row.metadata.clone(),
        };
        planned.run_docs.extend(run_doc(id.as_str(), &text)?);
        let counted = planned
            .node_stats
            .entry((row.graph_type.clone(), hour_of(&start)))
            .or_default();
        for event in &plan.events {
            counted.count_visit(&event.node_id, event.event_type, event.duration_ms, 1);
        }
        planned.initial_snapshots.extend(initial);
        planned.events.extend(plan.events);
        planned.snapshots.extend(plan.snapshots);
        planned.runs.push(row);
    }
    Ok(planned)
}

/// The error of inserting `executions` rows: a run stored already is a
/// conflict, not a fault.
pub(crate) fn run_rows_error(err: sqlx::Error) -> TraceError {
    match err.as_database_error() {
        Some(e) if e.is_unique_violation() => {
            TraceError::Conflict("a run of this call is stored already".into())
        }
        _ => db_error(err),
    }
}
