//! The tracevis export document and how an imported one becomes the writes
//! that store it again.
//!
//! An import replays the run through the same write path producers use
//! (start, append, complete), so aggregates, per-node statistics and live
//! updates come out exactly as for a run that was posted. The records are
//! cut into batches such that the store's in-batch ordering (by timestamp,
//! events before snapshots on ties) keeps the exported `seq` order, which is
//! what makes the round trip exact.

use app::error::TraceError;
use app::model::{
    Completion, EventBatch, ExecutionStatus, ExecutionTrace, NewEvent, NewExecution, NewSnapshot,
    PerformanceTotals, RecordId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The value of an export document's `format` field.
pub const EXPORT_FORMAT: &str = "tracevis.execution.v1";

/// Records per batch when an import is replayed (one transaction each).
const IMPORT_BATCH_RECORDS: usize = 5_000;

/// What `GET /api/v1/executions/{id}/export` returns.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ExportDocument<'a> {
    /// Always `tracevis.execution.v1`.
    #[schema(pattern = "^tracevis\\.execution\\.v1$")]
    pub format: &'static str,
    /// When the file was made.
    pub exported_at: DateTime<Utc>,
    /// The run, exactly as `GET /api/v1/executions/{id}` returns it.
    pub trace: &'a ExecutionTrace,
}

impl<'a> ExportDocument<'a> {
    /// The export of `trace`, made now.
    pub fn new(trace: &'a ExecutionTrace) -> Self {
        Self {
            format: EXPORT_FORMAT,
            exported_at: Utc::now(),
            trace,
        }
    }
}

/// An export document as read back. Its `trace` is validated field by field
/// in [`ImportDocument::into_plan`], as a producer's request is.
#[derive(Deserialize)]
pub struct ImportDocument {
    /// Must be [`EXPORT_FORMAT`].
    pub format: ExportFormat,
    /// The run, read as JSON first: its parts are parsed one by one so an
    /// error names its field by its whole path (`trace.execution_id`,
    /// `trace.node_events[3].timestamp`), which serde's `flatten` would lose.
    trace: serde_json::Value,
}

/// The `format` tag, checked on parse so a wrong file fails naming the field.
#[derive(Deserialize)]
#[serde(try_from = "String")]
pub struct ExportFormat;

impl TryFrom<String> for ExportFormat {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        if value == EXPORT_FORMAT {
            Ok(Self)
        } else {
            Err(format!(
                "expected {EXPORT_FORMAT:?}, got {value:?} (not a tracevis export)"
            ))
        }
    }
}

/// The exported trace's fields that an import needs (the rest — aggregates,
/// diffs, `last_seq` — are recomputed by the store and so cannot disagree).
pub struct ImportedTrace {
    /// Id, graph type, inputs, start, metadata, graph and replay link,
    /// validated as when a producer starts a run.
    pub start: NewExecution,
    /// Status, end time, final state and error, as a producer completes a
    /// run (`running` here: exported before it finished; `performance` is
    /// absent from a trace and built from the totals below).
    pub end: Completion,
    /// LLM calls (may have been reported on completion rather than summed).
    pub total_llm_calls: u32,
    /// Tokens, likewise.
    pub total_tokens: Option<u64>,
    /// Node events with their `seq`.
    pub node_events: Vec<Sequenced<NewEvent>>,
    /// Snapshots with their `seq`.
    pub state_snapshots: Vec<Sequenced<NewSnapshot>>,
}

/// The totals of an exported trace.
#[derive(Deserialize)]
struct TraceTotals {
    #[serde(default)]
    total_llm_calls: u32,
    #[serde(default)]
    total_tokens: Option<u64>,
}

/// The records under `key` of an exported trace, borrowed (absent or null:
/// none).
fn records<'t>(trace: &'t serde_json::Value, key: &str) -> Result<&'t [serde_json::Value], TraceError> {
    match trace.get(key) {
        None | Some(serde_json::Value::Null) => Ok(&[]),
        Some(serde_json::Value::Array(records)) => Ok(records),
        Some(_) => Err(invalid(&format!("trace.{key}"), "must be an array")),
    }
}

/// `T` from `value`, an error naming the field as `at.path`.
fn part<T: serde::de::DeserializeOwned>(value: &serde_json::Value, at: &str) -> Result<T, TraceError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let field = if path == "." {
            at.to_owned()
        } else {
            format!("{at}.{path}")
        };
        invalid(&field, err.into_inner().to_string())
    })
}

/// The `seq` of an exported record.
#[derive(Deserialize)]
struct Seq {
    seq: i64,
}

/// Each record of `records` with its `seq`, errors naming `at[i].field`.
fn sequenced<T: serde::de::DeserializeOwned>(
    records: &[serde_json::Value],
    at: &str,
) -> Result<Vec<Sequenced<T>>, TraceError> {
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            let at = format!("{at}[{i}]");
            Ok(Sequenced {
                seq: part::<Seq>(record, &at)?.seq,
                record: part(record, &at)?,
            })
        })
        .collect()
}

impl ImportedTrace {
    /// The trace of an export document, every part validated as when a
    /// producer sends it.
    fn parse(trace: &serde_json::Value) -> Result<Self, TraceError> {
        if !trace.is_object() {
            return Err(invalid("trace", "must be a JSON object"));
        }
        let totals: TraceTotals = part(trace, "trace")?;
        Ok(Self {
            start: part(trace, "trace")?,
            end: part(trace, "trace")?,
            total_llm_calls: totals.total_llm_calls,
            total_tokens: totals.total_tokens,
            node_events: sequenced(records(trace, "node_events")?, "trace.node_events")?,
            state_snapshots: sequenced(records(trace, "state_snapshots")?, "trace.state_snapshots")?,
        })
    }
}

impl ImportDocument {
    /// Validates the run and plans the writes that store it (see
    /// [`ImportedTrace::into_plan`]).
    pub fn into_plan(self) -> Result<ImportPlan, TraceError> {
        ImportedTrace::parse(&self.trace)?.into_plan()
    }
}

/// A record and its position in the run's sequence.
pub struct Sequenced<T> {
    /// Position in the exported run.
    pub seq: i64,
    /// The record, validated like a producer's.
    pub record: T,
}

/// The writes that store an imported run again, in order.
#[derive(Debug)]
pub struct ImportPlan {
    /// The run's id.
    pub execution_id: RecordId,
    /// Starts the run (no `initial_state`: the `__start__` snapshot travels
    /// with the other records so it keeps its id).
    pub start: NewExecution,
    /// Appended one after the other.
    pub batches: Vec<EventBatch>,
    /// Every record's id in `seq` order, events as `e:<id>`, snapshots as
    /// `s:<id>`: what the stored run must hold to be this run.
    pub record_ids: Vec<String>,
    /// When the run started.
    pub start_time: DateTime<Utc>,
    /// Finishes the run, unless it was exported while running.
    pub completion: Option<Completion>,
}

enum Record {
    Event(NewEvent),
    Snapshot(NewSnapshot),
}

impl Record {
    /// The store's in-batch ordering key (see `batch_plan::plan_batch`).
    fn order_key(&self) -> (DateTime<Utc>, u8) {
        match self {
            Self::Event(e) => (e.timestamp, 0),
            Self::Snapshot(s) => (s.timestamp, 1),
        }
    }
}

impl ImportedTrace {
    /// Checks what parsing cannot (ids present and unique, seqs unique) and
    /// plans the writes. Records are replayed in `seq` order; the store
    /// numbers them 1..N again, so an export's sequence comes back as it was.
    pub fn into_plan(self) -> Result<ImportPlan, TraceError> {
        let execution_id = self
            .start
            .execution_id
            .clone()
            .ok_or_else(|| invalid("trace.execution_id", "is required"))?;
        let start_time = self
            .start
            .start_time
            .ok_or_else(|| invalid("trace.start_time", "is required"))?;
        // Checked before anything is written: the completion is the last write.
        if self.end.end_time.is_some_and(|end| end < start_time) {
            return Err(invalid("trace.end_time", "is before trace.start_time"));
        }
        let mut records = Vec::with_capacity(self.node_events.len() + self.state_snapshots.len());
        let mut event_ids = HashSet::new();
        for (i, e) in self.node_events.into_iter().enumerate() {
            let field = format!("trace.node_events[{i}].event_id");
            let id = e
                .record
                .event_id
                .as_ref()
                .ok_or_else(|| invalid(&field, "is required"))?;
            if !event_ids.insert(id.as_str().to_owned()) {
                return Err(invalid(&field, format!("{id} appears twice")));
            }
            records.push((
                e.seq,
                format!("trace.node_events[{i}].seq"),
                Record::Event(e.record),
            ));
        }
        let mut snapshot_ids = HashSet::new();
        for (i, s) in self.state_snapshots.into_iter().enumerate() {
            let field = format!("trace.state_snapshots[{i}].snapshot_id");
            let id = s
                .record
                .snapshot_id
                .as_ref()
                .ok_or_else(|| invalid(&field, "is required"))?;
            if !snapshot_ids.insert(id.as_str().to_owned()) {
                return Err(invalid(&field, format!("{id} appears twice")));
            }
            records.push((
                s.seq,
                format!("trace.state_snapshots[{i}].seq"),
                Record::Snapshot(s.record),
            ));
        }
        records.sort_by_key(|(seq, _, _)| *seq);
        if let Some(pair) = records.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(invalid(&pair[1].1, format!("seq {} is used twice", pair[1].0)));
        }

        let record_ids = records
            .iter()
            .map(|(_, _, record)| match record {
                Record::Event(e) => event_key(e.event_id.as_ref().map_or("", RecordId::as_str)),
                Record::Snapshot(s) => snapshot_key(s.snapshot_id.as_ref().map_or("", RecordId::as_str)),
            })
            .collect();
        let mut batches: Vec<EventBatch> = Vec::new();
        let mut last_key = None;
        for (_, _, record) in records {
            let key = record.order_key();
            let starts_new_batch = match (&last_key, batches.last()) {
                (Some(last), Some(batch)) => {
                    key < *last || batch.events.len() + batch.snapshots.len() >= IMPORT_BATCH_RECORDS
                }
                _ => true,
            };
            if starts_new_batch {
                batches.push(EventBatch::default());
            }
            let batch = batches.last_mut().expect("a batch was just ensured");
            match record {
                Record::Event(e) => batch.events.push(e),
                Record::Snapshot(s) => batch.snapshots.push(s),
            }
            last_key = Some(key);
        }

        let completion = (self.end.status != ExecutionStatus::Running).then_some(Completion {
            performance: Some(PerformanceTotals {
                total_llm_calls: Some(self.total_llm_calls),
                total_tokens: self.total_tokens,
                cache_hits: None,
                cache_misses: None,
            }),
            ..self.end
        });
        Ok(ImportPlan {
            execution_id,
            start: NewExecution {
                initial_state: None,
                ..self.start
            },
            batches,
            record_ids,
            start_time,
            completion,
        })
    }
}

/// A stored run's record ids in `seq` order, in the form of
/// `ImportPlan::record_ids`, to compare a stored run with a file.
pub fn stored_record_ids(trace: &ExecutionTrace) -> Vec<String> {
    let events = trace.node_events.iter().map(|e| (e.seq, event_key(&e.event_id)));
    let snapshots = trace
        .state_snapshots
        .iter()
        .map(|s| (s.seq, snapshot_key(&s.snapshot_id)));
    let mut ids: Vec<(i64, String)> = events.chain(snapshots).collect();
    ids.sort_unstable_by_key(|(seq, _)| *seq);
    ids.into_iter().map(|(_, id)| id).collect()
}

fn event_key(id: &str) -> String {
    format!("e:{id}")
}

fn snapshot_key(id: &str) -> String {
    format!("s:{id}")
}

fn invalid(field: &str, message: impl Into<String>) -> TraceError {
    TraceError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(events: serde_json::Value, snapshots: serde_json::Value) -> ImportDocument {
        serde_json::from_value(json!({
            "format": EXPORT_FORMAT,
            "trace": {
                "execution_id": "run-1", "graph_type": "g", "status": "completed",
                "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:05Z",
                "node_events": events, "state_snapshots": snapshots
            }
        }))
        .expect("a valid document")
    }

    fn event(id: &str, seq: i64, node: &str, at: &str) -> serde_json::Value {
        json!({"event_id": id, "seq": seq, "node_id": node, "event_type": "completed",
               "timestamp": at, "duration_ms": 1.0})
    }

    fn snapshot(id: &str, seq: i64, at: &str) -> serde_json::Value {
        json!({"snapshot_id": id, "seq": seq, "node_id": "n", "timestamp": at, "state": {}})
    }

    #[test]
    fn records_in_time_order_replay_as_one_batch() {
        let plan = document(
            json!([
                event("e1", 2, "a", "2026-01-01T00:00:01Z"),
                event("e2", 4, "b", "2026-01-01T00:00:02Z")
            ]),
            json!([
                snapshot("s1", 1, "2026-01-01T00:00:00Z"),
                snapshot("s2", 3, "2026-01-01T00:00:01Z")
            ]),
        )
        .into_plan()
        .unwrap();
        assert_eq!(plan.batches.len(), 1);
        assert_eq!(plan.batches[0].events.len(), 2);
        assert_eq!(plan.batches[0].snapshots.len(), 2);
        assert_eq!(plan.completion.unwrap().status, ExecutionStatus::Completed);
    }

    #[test]
    fn a_record_the_store_would_reorder_starts_a_new_batch() {
        // seq 1 is a snapshot and seq 2 an event at the same moment: in one
        // batch the store would put the event first, so they must be split.
        // seq 3 is earlier than seq 2 (a clock step back): split again.
        let plan = document(
            json!([
                event("e1", 2, "a", "2026-01-01T00:00:01Z"),
                event("e2", 3, "b", "2026-01-01T00:00:00.5Z")
            ]),
            json!([snapshot("s1", 1, "2026-01-01T00:00:01Z")]),
        )
        .into_plan()
        .unwrap();
        let sizes: Vec<_> = plan
            .batches
            .iter()
            .map(|b| (b.events.len(), b.snapshots.len()))
            .collect();
        assert_eq!(sizes, vec![(0, 1), (1, 0), (1, 0)]);
    }

    #[test]
    fn repeated_ids_and_seqs_are_rejected_naming_the_record() {
        let err = document(
            json!([
                event("e1", 1, "a", "2026-01-01T00:00:01Z"),
                event("e1", 2, "a", "2026-01-01T00:00:02Z")
            ]),
            json!([]),
        )
        .into_plan()
        .unwrap_err();
        assert!(
            err.to_string().starts_with("trace.node_events[1].event_id"),
            "{err}"
        );
        let err = document(
            json!([event("e1", 1, "a", "2026-01-01T00:00:01Z")]),
            json!([snapshot("s1", 1, "2026-01-01T00:00:01Z")]),
        )
        .into_plan()
        .unwrap_err();
        assert!(err.to_string().contains("seq 1 is used twice"), "{err}");
    }

    #[test]
    fn a_run_that_ends_before_it_starts_is_refused_before_anything_is_written() {
        let mut doc = document(json!([]), json!([]));
        doc.trace["end_time"] = json!("2025-12-31T23:59:59Z");
        let err = doc.into_plan().unwrap_err();
        assert!(err.to_string().starts_with("trace.end_time"), "{err}");
    }

    #[test]
    fn an_invalid_value_is_named_by_its_whole_path() {
        let mut doc = document(json!([event("e1", 1, "a", "2026-01-01T00:00:01Z")]), json!([]));
        doc.trace["execution_id"] = json!("bad id");
        let err = doc.into_plan().unwrap_err().to_string();
        assert!(err.starts_with("trace.execution_id: contains ' '"), "{err}");
        let mut doc = document(json!([event("e1", 1, "a", "2026-01-01T00:00:01Z")]), json!([]));
        doc.trace["node_events"][0]["duration_ms"] = json!(-1);
        let err = doc.into_plan().unwrap_err().to_string();
        assert!(err.starts_with("trace.node_events[0].duration_ms: "), "{err}");
        let mut doc = document(json!([]), json!([]));
        doc.trace = json!([]);
        assert!(doc
            .into_plan()
            .unwrap_err()
            .to_string()
            .starts_with("trace: must be a JSON object"));
    }

    #[test]
    fn another_format_is_refused_on_parse() {
        let result: Result<ImportDocument, _> =
            serde_json::from_value(json!({"format": "chrome", "trace": {}}));
        assert!(result
            .err()
            .unwrap()
            .to_string()
            .contains("not a tracevis export"));
    }
}
