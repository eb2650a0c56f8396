//! A run in the Chrome Trace Event format (the JSON that chrome://tracing,
//! Perfetto's UI and speedscope open): one complete (`X`) slice per node
//! visit, an instant (`i`) mark per state snapshot, and a flow arrow
//! (`s` → `f`) from each visit to the visits that named it as a parent.
//!
//! Format reference: "Trace Event Format" (Google), the `traceEvents` array
//! form. Times are microseconds from the run's start. Visits that overlap in
//! time go on separate rows ("threads"), so parallel branches are not drawn as
//! if one called the other — the viewers nest overlapping slices of a row.

use app::model::{ExecutionTrace, NodeEvent};
use app::timeline::trace_visits;
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
    // A row per lane (`app::parallel::lanes`, as the run page lays them out):
    // a visit still running keeps its row until the last thing exported.
    let until = visits
        .iter()
        .flat_map(|v| [Some(v.start), v.end])
        .flatten()
        .chain(summary.end_time)
        .max()
        .unwrap_or(origin);
    let lanes = app::parallel::lanes(&visits, until);

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
    // Named parents: an arrow from the parent's slice to its child's.
    if let Some(links) = app::parallel::causal_parents(&visits) {
        let mut flow = 0u64;
        for (child, visit) in visits.iter().enumerate() {
            for &parent in links.of(child) {
                flow += 1;
                events.push(json!({
                    "name": "follows", "cat": "parents", "ph": "s", "id": flow, "pid": PID,
                    "tid": lanes[parent] + 1, "ts": micros_since(origin, visits[parent].start),
                }));
                events.push(json!({
                    "name": "follows", "cat": "parents", "ph": "f", "bp": "e", "id": flow, "pid": PID,
                    "tid": lanes[child] + 1, "ts": micros_since(origin, visit.start),
                }));
            }
        }
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

    #[test]
    fn a_visit_that_names_its_parent_gets_an_arrow_from_it() {
        let mut join = ev(5, "Join", "started", "2026-01-01T00:00:03Z");
        join["parents"] = json!(["e1", "e3"]);
        join["parent_seqs"] = json!([1, 3]);
        let doc = chrome_trace(&trace(json!([
            ev(1, "A", "started", "2026-01-01T00:00:00Z"),
            ev(2, "A", "completed", "2026-01-01T00:00:02Z"),
            ev(3, "B", "started", "2026-01-01T00:00:01Z"),
            ev(4, "B", "completed", "2026-01-01T00:00:03Z"),
            join,
            ev(6, "Join", "completed", "2026-01-01T00:00:04Z"),
        ])));
        let flows: Vec<(String, u64, u64, f64)> = doc["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["cat"] == "parents")
            .map(|e| {
                (
                    e["ph"].as_str().unwrap().to_owned(),
                    e["id"].as_u64().unwrap(),
                    e["tid"].as_u64().unwrap(),
                    e["ts"].as_f64().unwrap(),
                )
            })
            .collect();
        // A on row 1, B on row 2 (they overlap), Join back on row 1.
        assert_eq!(
            flows,
            [
                ("s".to_owned(), 1, 1, 0.0),
                ("f".to_owned(), 1, 1, 3_000_000.0),
                ("s".to_owned(), 2, 2, 1_000_000.0),
                ("f".to_owned(), 2, 1, 3_000_000.0),
            ]
        );
    }
}
