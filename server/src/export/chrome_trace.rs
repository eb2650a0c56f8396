//! A run in the Chrome Trace Event format (the JSON that chrome://tracing,
//! Perfetto's UI and speedscope open): one complete (`X`) slice per node
//! visit, an instant (`i`) mark per state snapshot.
//!
//! Format reference: "Trace Event Format" (Google), the `traceEvents` array
//! form. Times are microseconds from the run's start. Visits that overlap in
//! time go on separate rows ("threads"), so parallel branches are not drawn as
//! if one called the other — the viewers nest overlapping slices of a row.

use app::model::{ExecutionTrace, NodeEvent};
use app::timeline::{trace_visits, NodeVisit, VisitOutcome};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The process id every event carries (one run is one process).
const PID: u32 = 1;

/// `trace` as a Trace Event Format document.
pub fn chrome_trace(trace: &ExecutionTrace) -> Value {
    let summary = &trace.summary;
    let origin = summary.start_time;
    let visits = trace_visits(trace);
    let ending_events: HashMap<i64, &NodeEvent> = trace.node_events.iter().map(|e| (e.seq, e)).collect();
    let lanes = assign_lanes(&visits);

    let mut events = vec![json!({
        "name": "process_name", "ph": "M", "pid": PID, "tid": 0,
        "args": {"name": format!("{} {}", summary.graph_type, summary.execution_id)}
    })];
    let lane_count = lanes.iter().copied().max().map_or(0, |m| m + 1);
    for lane in 0..lane_count {
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": PID, "tid": lane + 1,
            "args": {"name": format!("lane {}", lane + 1)}
        }));
    }
    for (visit, lane) in visits.iter().zip(&lanes) {
        let ending = visit.end_seq.and_then(|seq| ending_events.get(&seq));
        let mut args = json!({
            "outcome": visit.outcome.as_str(),
            "attempt": visit.attempt,
        });
        if let Some(event) = ending {
            args["outputs"] = Value::Object(event.outputs.clone());
            if let Some(error) = &event.error {
                args["error"] = json!(error);
            }
        }
        if let Some(saved) = visit.saved_ms {
            args["saved_ms"] = json!(saved);
        }
        let mut slice = json!({
            "name": visit.node_id,
            "cat": visit.outcome.as_str(),
            "pid": PID,
            "tid": lane + 1,
            "ts": micros_since(origin, visit.start),
            "args": args,
        });
        match visit.end {
            Some(end) => {
                slice["ph"] = json!("X");
                slice["dur"] =
                    json!((micros_since(origin, end) - micros_since(origin, visit.start)).max(0.0));
            }
            // Still running when exported: a begin without an end, which the
            // viewers draw as unfinished.
            None => slice["ph"] = json!("B"),
        }
        events.push(slice);
    }
    for snapshot in &trace.state_snapshots {
        events.push(json!({
            "name": format!("state after {}", snapshot.node_id),
            "cat": "state",
            "ph": "i",
            "s": "p",
            "pid": PID,
            "tid": 0,
            "ts": micros_since(origin, snapshot.timestamp),
            "args": {"seq": snapshot.seq, "changes": snapshot.diff.as_ref().map_or(0, Vec::len)},
        }));
    }
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "execution_id": summary.execution_id,
            "graph_type": summary.graph_type,
            "status": summary.status.as_str(),
            "start_time": summary.start_time,
        },
    })
}

fn micros_since(origin: DateTime<Utc>, t: DateTime<Utc>) -> f64 {
    (t - origin).num_microseconds().map_or(0.0, |us| us as f64)
}

/// A row per visit such that no two visits on one row overlap: each visit
/// takes the first row free at its start (visits are in start order).
fn assign_lanes(visits: &[NodeVisit]) -> Vec<usize> {
    let mut lane_free_at: Vec<Option<DateTime<Utc>>> = Vec::new();
    visits
        .iter()
        .map(|visit| {
            let free = lane_free_at
                .iter()
                .position(|free_at| free_at.is_some_and(|t| t <= visit.start));
            // A running visit (no end) keeps its row for good.
            let busy_until = match visit.outcome {
                VisitOutcome::Running => None,
                _ => visit.end,
            };
            match free {
                Some(lane) => {
                    lane_free_at[lane] = busy_until;
                    lane
                }
                None => {
                    lane_free_at.push(busy_until);
                    lane_free_at.len() - 1
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trace(events: Value) -> ExecutionTrace {
        serde_json::from_value(json!({
            "execution_id": "run-1", "graph_type": "g", "status": "completed",
            "start_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T00:00:05Z",
            "total_duration_ms": 5000.0, "total_nodes": 3, "failed_nodes": 1, "cached_nodes": 0,
            "total_llm_calls": 0, "total_tokens": null, "original_inputs": {}, "final_state": null,
            "metadata": {}, "graph": null, "is_replay": false, "original_execution_id": null,
            "error": null, "last_seq": 6, "node_events": events, "state_snapshots": []
        }))
        .unwrap()
    }

    fn ev(seq: i64, node: &str, kind: &str, at: &str) -> Value {
        json!({"event_id": format!("e{seq}"), "execution_id": "run-1", "seq": seq, "node_id": node,
               "event_type": kind, "timestamp": at, "duration_ms": null, "inputs": {},
               "outputs": {"n": seq}, "error": if kind == "failed" { json!("boom") } else { Value::Null },
               "metadata": {}})
    }

    fn slices(doc: &Value) -> Vec<(String, String, u64, f64, f64)> {
        doc["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X")
            .map(|e| {
                (
                    e["name"].as_str().unwrap().to_owned(),
                    e["cat"].as_str().unwrap().to_owned(),
                    e["tid"].as_u64().unwrap(),
                    e["ts"].as_f64().unwrap(),
                    e["dur"].as_f64().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn each_visit_is_a_slice_in_microseconds_from_the_start() {
        let doc = chrome_trace(&trace(json!([
            ev(1, "Plan", "started", "2026-01-01T00:00:00Z"),
            ev(2, "Plan", "completed", "2026-01-01T00:00:01.5Z"),
            ev(3, "Write", "started", "2026-01-01T00:00:02Z"),
            ev(4, "Write", "failed", "2026-01-01T00:00:03Z"),
        ])));
        assert_eq!(
            slices(&doc),
            vec![
                ("Plan".into(), "completed".into(), 1, 0.0, 1_500_000.0),
                ("Write".into(), "failed".into(), 1, 2_000_000.0, 1_000_000.0),
            ]
        );
        let failed = doc["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["cat"] == "failed")
            .unwrap();
        assert_eq!(failed["args"]["error"], "boom");
        assert_eq!(doc["displayTimeUnit"], "ms");
    }

    #[test]
    fn overlapping_visits_go_on_separate_rows_and_a_running_one_is_unfinished() {
        let doc = chrome_trace(&trace(json!([
            ev(1, "A", "started", "2026-01-01T00:00:00Z"),
            ev(2, "B", "started", "2026-01-01T00:00:01Z"),
            ev(3, "A", "completed", "2026-01-01T00:00:02Z"),
            ev(4, "B", "completed", "2026-01-01T00:00:03Z"),
            ev(5, "C", "started", "2026-01-01T00:00:02.5Z"),
        ])));
        let rows: Vec<_> = slices(&doc)
            .into_iter()
            .map(|(name, _, tid, _, _)| (name, tid))
            .collect();
        assert_eq!(rows, vec![("A".to_owned(), 1), ("B".to_owned(), 2)]);
        let running: Vec<_> = doc["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "B")
            .collect();
        assert_eq!(
            (
                running.len(),
                running[0]["name"].as_str(),
                running[0]["tid"].as_u64()
            ),
            (1, Some("C"), Some(1))
        );
    }
}
