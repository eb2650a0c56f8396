//! Comparing two runs: their node steps aligned by a sequence alignment (so
//! loops and retries line up, not a join on names), per aligned pair the
//! duration delta, status change and attempts, the first point where the
//! runs diverge, and structural diffs of inputs, per-step state and final state.

use crate::diff::{diff_objects, DiffEntry};
use crate::model::{ExecutionSummary, ExecutionTrace, JsonObject, StateSnapshot};
use crate::timeline::{trace_visits, NodeVisit};
use serde::{Deserialize, Serialize};

/// How long the alignment of two huge, very different runs may search for
/// the best alignment before settling for a good one (Myers' algorithm is
/// O((n + m)·D), D the number of differing steps): compare stays bounded.
const ALIGNMENT_DEADLINE: std::time::Duration = std::time::Duration::from_millis(300);

/// One node step of a run: a visit with its retries folded in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Step {
    /// Position among the run's steps.
    pub index: usize,
    /// The node.
    pub node_id: String,
    /// The outcome of its last attempt.
    pub status: String,
    /// Attempts (1 without retries).
    pub attempts: i64,
    /// Total duration of its attempts.
    pub duration_ms: Option<f64>,
    /// Outputs of its last attempt.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub outputs: JsonObject,
    /// When its first attempt started, in ms from the run's start (places the
    /// step on the compare page's shared relative time axis).
    pub offset_ms: f64,
    /// `seq` of the step's first record.
    pub first_seq: i64,
    /// `seq` of the step's last record.
    pub last_seq: i64,
    /// Whether one of its attempts is on the run's critical path (the
    /// chain of visits that decided its duration, `parallel::critical_path`),
    /// for a run that ran nodes side by side; false in a run that ran one
    /// node at a time, where every step is on it.
    #[serde(default)]
    pub on_critical_path: bool,
}

/// Two steps (or one, when only one run took it) in the alignment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AlignedStep {
    /// Node of the step(s).
    pub node_id: String,
    /// The step in run a.
    pub a: Option<Step>,
    /// The step in run b.
    pub b: Option<Step>,
    /// `b - a` duration, when both took the step.
    pub duration_delta_ms: Option<f64>,
    /// Whether the outcome differs.
    pub status_changed: bool,
    /// How the state after this step differs from a to b (both took it).
    pub state_diff: Vec<DiffEntry>,
}

/// Where the runs first went different ways.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Divergence {
    /// Index into `aligned`.
    pub index: usize,
    /// `path` (only one run took this step), `status` or `outputs`.
    pub reason: String,
    /// A sentence for people.
    pub description: String,
}

/// A step whose duration changed where it decided the run's duration: on
/// the critical path of the run in which it took longer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CriticalChange {
    /// Index into `aligned`.
    pub index: usize,
    /// The step's node.
    pub node_id: String,
    /// `b - a` duration of the step.
    pub duration_delta_ms: f64,
    /// A sentence for people, e.g. "SourceB got 800 ms slower and is on run
    /// b's critical path".
    pub description: String,
}

/// Most critical-path changes a comparison calls out (the largest first).
const MAX_CRITICAL_CHANGES: usize = 5;

/// The answer of `GET /api/v1/compare`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Comparison {
    /// Run a.
    pub a: ExecutionSummary,
    /// Run b.
    pub b: ExecutionSummary,
    /// Both runs' steps, aligned.
    pub aligned: Vec<AlignedStep>,
    /// The first divergence, if the runs differ at all.
    pub first_divergence: Option<Divergence>,
    /// `b - a` total duration.
    pub duration_delta_ms: Option<f64>,
    /// Inputs, a → b.
    pub inputs_diff: Vec<DiffEntry>,
    /// Final states, a → b.
    pub final_state_diff: Vec<DiffEntry>,
    /// When either run ran nodes side by side: the steps that got slower
    /// (faster) and are on the critical path of the run where they took
    /// longer, largest change first, at most five. Empty for two runs that
    /// ran one node at a time (every step of those is on the path).
    #[serde(default)]
    pub critical_path_changes: Vec<CriticalChange>,
}

/// The order compare aligns a run's visits in: start order, except that
/// visits that ran side by side — a block of visits whose times overlap one
/// another in a chain — are taken by node name (then start). Two runs whose
/// parallel branches started or finished in another order then line up;
/// a run that ran one node at a time keeps its order. A visit still
/// running counts as ending where it started.
fn alignment_order(visits: Vec<NodeVisit>) -> Vec<NodeVisit> {
    let mut block_end = None;
    let mut id = 0usize;
    let mut keyed: Vec<(usize, NodeVisit)> = visits
        .into_iter()
        .map(|visit| {
            let end = visit.end.unwrap_or(visit.start).max(visit.start);
            block_end = match block_end {
                Some(until) if visit.start < until => Some(end.max(until)),
                Some(_) => {
                    id += 1;
                    Some(end)
                }
                None => Some(end),
            };
            (id, visit)
        })
        .collect();
    // Stable: visits of one node in one block keep their start order.
    keyed.sort_by(|(bx, x), (by, y)| (bx, &x.node_id, x.start).cmp(&(by, &y.node_id, y.start)));
    keyed.into_iter().map(|(_, visit)| visit).collect()
}

/// A run's steps: visits in alignment order (see `alignment_order`),
/// retries of a node folded into one step.
pub fn steps(trace: &ExecutionTrace) -> Vec<Step> {
    steps_and_parallelism(trace).0
}

/// `steps`, and whether the run ran nodes side by side.
fn steps_and_parallelism(trace: &ExecutionTrace) -> (Vec<Step>, bool) {
    let visits = trace_visits(trace);
    let end = trace
        .summary
        .end_time
        .into_iter()
        .chain(trace.node_events.last().map(|e| e.timestamp))
        .chain(visits.iter().filter_map(|v| v.end))
        .max()
        .unwrap_or(trace.summary.start_time);
    let side_by_side = crate::parallel::parallelism(&visits, trace.summary.start_time, end).peak > 1;
    let critical = crate::parallel::critical_path(&visits, end);
    let mut steps: Vec<Step> = Vec::new();
    for visit in alignment_order(visits) {
        let on_path = side_by_side && critical.contains(visit.index);
        // Events are in seq order: found by binary search, not a scan per visit.
        let outputs = visit
            .end_seq
            .and_then(|s| {
                let at = trace.node_events.binary_search_by_key(&s, |e| e.seq).ok()?;
                Some(trace.node_events[at].outputs.clone())
            })
            .unwrap_or_default();
        let last_seq = visit.end_seq.or(visit.start_seq).unwrap_or(0);
        match steps.last_mut() {
            Some(prev) if prev.node_id == visit.node_id && visit.attempt > 1 => {
                prev.attempts = visit.attempt;
                prev.status = visit.outcome.as_str().into();
                prev.duration_ms = match (prev.duration_ms, visit.duration_ms) {
                    (Some(a), Some(b)) => Some(a + b),
                    (a, b) => a.or(b),
                };
                prev.outputs = outputs;
                prev.last_seq = last_seq;
                prev.on_critical_path |= on_path;
            }
            _ => steps.push(Step {
                index: steps.len(),
                node_id: visit.node_id.clone(),
                status: visit.outcome.as_str().into(),
                attempts: visit.attempt,
                duration_ms: visit.duration_ms,
                outputs,
                offset_ms: (visit.start - trace.summary.start_time)
                    .num_microseconds()
                    .map_or(0.0, |us| us as f64 / 1_000.0),
                first_seq: visit.start_seq.or(visit.end_seq).unwrap_or(0),
                last_seq,
                on_critical_path: on_path,
            }),
        }
    }
    (steps, side_by_side)
}

/// The steps of `aligned` whose duration changed by at least a millisecond
/// and that are on the critical path of the run where they took longer,
/// largest change first (see `Comparison::critical_path_changes`).
fn critical_path_changes(aligned: &[AlignedStep], parallel_a: bool, parallel_b: bool) -> Vec<CriticalChange> {
    let mut changes: Vec<CriticalChange> = aligned
        .iter()
        .enumerate()
        .filter_map(|(index, step)| {
            let (a, b) = (step.a.as_ref()?, step.b.as_ref()?);
            let delta = step.duration_delta_ms?;
            // A run that ran one node at a time: every step is on its path.
            let description = if delta >= 1.0 && (b.on_critical_path || !parallel_b) {
                format!(
                    "{} got {} slower and is on run b's critical path",
                    step.node_id,
                    crate::format::duration_ms(delta)
                )
            } else if delta <= -1.0 && (a.on_critical_path || !parallel_a) {
                format!(
                    "{} got {} faster; it was on run a's critical path",
                    step.node_id,
                    crate::format::duration_ms(-delta)
                )
            } else {
                return None;
            };
            Some(CriticalChange {
                index,
                node_id: step.node_id.clone(),
                duration_delta_ms: delta,
                description,
            })
        })
        .collect();
    changes.sort_by(|x, y| {
        y.duration_delta_ms
            .abs()
            .total_cmp(&x.duration_delta_ms.abs())
            .then(x.index.cmp(&y.index))
    });
    changes.truncate(MAX_CRITICAL_CHANGES);
    changes
}

/// Aligns two step sequences by node: a longest-common-subsequence
/// alignment, so a loop taken twice in one run and three times in the other
/// lines up its common iterations and shows the extra one as one-sided.
/// Myers' diff (the `similar` crate, the algorithm of `git diff`): fast when
/// runs mostly agree, and past `ALIGNMENT_DEADLINE` it settles for a
/// correct, possibly longer, alignment instead of searching on.
pub fn align(a: &[Step], b: &[Step]) -> Vec<(Option<usize>, Option<usize>)> {
    use similar::{capture_diff_slices_deadline, Algorithm, DiffOp};
    let ids_a: Vec<&str> = a.iter().map(|s| s.node_id.as_str()).collect();
    let ids_b: Vec<&str> = b.iter().map(|s| s.node_id.as_str()).collect();
    let deadline = std::time::Instant::now() + ALIGNMENT_DEADLINE;
    let ops = capture_diff_slices_deadline(Algorithm::Myers, &ids_a, &ids_b, Some(deadline));
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    for op in ops {
        match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => out.extend((0..len).map(|k| (Some(old_index + k), Some(new_index + k)))),
            DiffOp::Delete {
                old_index, old_len, ..
            } => out.extend((old_index..old_index + old_len).map(|i| (Some(i), None))),
            DiffOp::Insert {
                new_index, new_len, ..
            } => out.extend((new_index..new_index + new_len).map(|j| (None, Some(j)))),
            // Steps of different nodes never pair: a's, then b's.
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                out.extend((old_index..old_index + old_len).map(|i| (Some(i), None)));
                out.extend((new_index..new_index + new_len).map(|j| (None, Some(j))));
            }
        }
    }
    out
}

/// The state right after a step: the last snapshot stored before the next
/// step began (a node's snapshot follows its ending event).
/// Snapshots are in seq order: a binary search, not a scan per step.
fn state_after<'s>(snapshots: &'s [StateSnapshot], next: Option<&Step>) -> Option<&'s JsonObject> {
    let bound = next.map_or(i64::MAX, |n| n.first_seq);
    let before = snapshots.partition_point(|s| s.seq < bound);
    before.checked_sub(1).map(|i| &snapshots[i].state)
}

/// Compares run `a` with run `b`.
pub fn compare(a: &ExecutionTrace, b: &ExecutionTrace) -> Comparison {
    let ((steps_a, parallel_a), (steps_b, parallel_b)) = (steps_and_parallelism(a), steps_and_parallelism(b));
    let pairs = align(&steps_a, &steps_b);
    let aligned: Vec<AlignedStep> = pairs
        .iter()
        .map(|&(i, j)| {
            let sa = i.map(|i| steps_a[i].clone());
            let sb = j.map(|j| steps_b[j].clone());
            let state_diff = match (i, j) {
                (Some(i), Some(j)) => {
                    let before = state_after(&a.state_snapshots, steps_a.get(i + 1));
                    let after = state_after(&b.state_snapshots, steps_b.get(j + 1));
                    match (before, after) {
                        (Some(x), Some(y)) => diff_objects(x, y),
                        _ => Vec::new(),
                    }
                }
                _ => Vec::new(),
            };
            AlignedStep {
                node_id: sa
                    .as_ref()
                    .or(sb.as_ref())
                    .map(|s| s.node_id.clone())
                    .unwrap_or_default(),
                duration_delta_ms: match (&sa, &sb) {
                    (Some(x), Some(y)) => Some(y.duration_ms.unwrap_or(0.0) - x.duration_ms.unwrap_or(0.0)),
                    _ => None,
                },
                status_changed: matches!((&sa, &sb), (Some(x), Some(y)) if x.status != y.status),
                state_diff,
                a: sa,
                b: sb,
            }
        })
        .collect();
    let first_divergence = aligned.iter().enumerate().find_map(|(index, step)| {
        let (reason, description) = match (&step.a, &step.b) {
            (Some(_), None) => ("path", format!("only run a visited {} here", step.node_id)),
            (None, Some(_)) => ("path", format!("only run b visited {} here", step.node_id)),
            (Some(x), Some(y)) if x.status != y.status => (
                "status",
                format!("{} {} in run a but {} in run b", step.node_id, x.status, y.status),
            ),
            (Some(x), Some(y)) if x.outputs != y.outputs => {
                ("outputs", format!("{} produced different outputs", step.node_id))
            }
            _ => return None,
        };
        Some(Divergence {
            index,
            reason: reason.into(),
            description,
        })
    });
    let empty = JsonObject::new();
    Comparison {
        duration_delta_ms: match (a.summary.total_duration_ms, b.summary.total_duration_ms) {
            (Some(x), Some(y)) => Some(y - x),
            _ => None,
        },
        inputs_diff: diff_objects(&a.summary.original_inputs, &b.summary.original_inputs),
        final_state_diff: diff_objects(
            a.summary.final_state.as_ref().unwrap_or(&empty),
            b.summary.final_state.as_ref().unwrap_or(&empty),
        ),
        critical_path_changes: if parallel_a || parallel_b {
            critical_path_changes(&aligned, parallel_a, parallel_b)
        } else {
            Vec::new()
        },
        a: a.summary.clone(),
        b: b.summary.clone(),
        aligned,
        first_divergence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A trace from `(node, outcome, attempt, duration)` visits, each with a
    /// snapshot after it holding `{"last": node, "n": index}`.
    fn trace(id: &str, visits: &[(&str, &str, i64, f64)]) -> ExecutionTrace {
        let mut events = Vec::new();
        let mut snapshots = Vec::new();
        let mut seq = 0;
        for (i, (node, outcome, attempt, ms)) in visits.iter().enumerate() {
            for (kind, duration) in [("started", None), (*outcome, Some(*ms))] {
                seq += 1;
                events.push(json!({"event_id": format!("e{seq}"), "execution_id": id, "seq": seq, "node_id": node,
                    "event_type": kind, "timestamp": format!("2025-01-01T00:{:02}:{:02}Z", seq / 60, seq % 60),
                    "duration_ms": duration, "inputs": {}, "outputs": {"i": i, "node": node}, "error": null,
                    "metadata": {"attempt": attempt}}));
            }
            seq += 1;
            snapshots.push(
                json!({"snapshot_id": format!("s{seq}"), "execution_id": id, "seq": seq, "node_id": node,
                "timestamp": "2025-01-01T01:00:00Z", "state": {"last": node, "n": i}, "diff": null}),
            );
        }
        trace_of(id, seq, events, snapshots)
    }

    /// A completed trace of run `id` holding `events` and `snapshots`.
    fn trace_of(
        id: &str,
        last_seq: impl serde::Serialize,
        events: Vec<serde_json::Value>,
        snapshots: Vec<serde_json::Value>,
    ) -> ExecutionTrace {
        serde_json::from_value(json!({
            "execution_id": id, "graph_type": "g", "status": "completed", "start_time": "2025-01-01T00:00:00Z",
            "end_time": null, "total_duration_ms": null, "total_nodes": 0, "failed_nodes": 0, "cached_nodes": 0,
            "total_llm_calls": 0, "total_tokens": null, "original_inputs": {"q": id}, "final_state": null,
            "metadata": {}, "graph": null, "is_replay": false, "original_execution_id": null, "error": null,
            "last_seq": last_seq, "node_events": events, "state_snapshots": snapshots
        }))
        .unwrap()
    }

    /// A trace from events `(node, event type, ms from the start)` in the
    /// order they were stored; outputs name the node alone.
    fn timed_trace(id: &str, records: &[(&str, &str, i64)]) -> ExecutionTrace {
        let events: Vec<serde_json::Value> = records
            .iter()
            .enumerate()
            .map(|(i, (node, kind, ms))| {
                json!({"event_id": format!("e{i}"), "execution_id": id, "seq": i + 1, "node_id": node,
                    "event_type": kind, "timestamp": format!("2025-01-01T00:00:{:02}.{:03}Z", ms / 1_000, ms % 1_000),
                    "duration_ms": null, "inputs": {}, "outputs": {"node": node}, "error": null, "metadata": {}})
            })
            .collect();
        trace_of(id, records.len(), events, Vec::new())
    }

    #[test]
    fn parallel_branches_that_started_and_finished_in_another_order_line_up() {
        let a = timed_trace(
            "a",
            &[
                ("Plan", "started", 0),
                ("Plan", "completed", 100),
                ("SourceA", "started", 100),
                ("SourceB", "started", 100),
                ("SourceC", "started", 110),
                ("SourceA", "completed", 300),
                ("SourceC", "completed", 500),
                ("SourceB", "completed", 900),
                ("Join", "started", 900),
                ("Join", "completed", 1_000),
            ],
        );
        // Run b's producer reported the branches in another order, C first,
        // and they finished in another order too.
        let b = timed_trace(
            "b",
            &[
                ("Plan", "started", 0),
                ("Plan", "completed", 100),
                ("SourceC", "started", 100),
                ("SourceA", "started", 100),
                ("SourceB", "started", 105),
                ("SourceB", "completed", 400),
                ("SourceA", "completed", 600),
                ("SourceC", "completed", 700),
                ("Join", "started", 700),
                ("Join", "completed", 800),
            ],
        );
        let c = compare(&a, &b);
        assert_eq!(c.first_divergence, None, "{:?}", shape(&c));
        let nodes: Vec<&str> = c.aligned.iter().map(|s| s.node_id.as_str()).collect();
        assert_eq!(nodes, ["Plan", "SourceA", "SourceB", "SourceC", "Join"]);
        assert!(c.aligned.iter().all(|s| s.a.is_some() && s.b.is_some()));
        // In a, SourceB (800 ms) decided the run; in b, SourceC did. SourceA
        // got slower too, but off b's critical path: not called out.
        let called_out: Vec<&str> = c
            .critical_path_changes
            .iter()
            .map(|change| change.description.as_str())
            .collect();
        assert_eq!(
            called_out,
            [
                "SourceB got 505 ms faster; it was on run a's critical path",
                "SourceC got 210 ms slower and is on run b's critical path",
            ]
        );
        assert_eq!(c.aligned[c.critical_path_changes[1].index].node_id, "SourceC");
        // A run without overlaps keeps its order (B before A here).
        let sequential = timed_trace(
            "s",
            &[
                ("B", "started", 0),
                ("B", "completed", 10),
                ("A", "started", 10),
                ("A", "completed", 20),
            ],
        );
        let own: Vec<String> = steps(&sequential).into_iter().map(|s| s.node_id).collect();
        assert_eq!(own, ["B", "A"]);
    }

    fn shape(c: &Comparison) -> Vec<(String, bool, bool)> {
        c.aligned
            .iter()
            .map(|s| (s.node_id.clone(), s.a.is_some(), s.b.is_some()))
            .collect()
    }

    #[test]
    fn an_extra_loop_iteration_lines_up_the_common_ones_and_is_one_sided() {
        let a = trace(
            "a",
            &[
                ("Plan", "completed", 1, 10.0),
                ("Search", "completed", 1, 10.0),
                ("Write", "completed", 1, 10.0),
            ],
        );
        let b = trace(
            "b",
            &[
                ("Plan", "completed", 1, 10.0),
                ("Search", "completed", 1, 10.0),
                ("Search", "completed", 1, 30.0),
                ("Write", "completed", 1, 10.0),
            ],
        );
        let c = compare(&a, &b);
        let expected = [
            ("Plan", true, true),
            ("Search", true, true),
            ("Search", false, true),
            ("Write", true, true),
        ];
        assert_eq!(shape(&c), expected.map(|(n, x, y)| (n.to_string(), x, y)));
        let d = c.first_divergence.unwrap();
        assert_eq!((d.index, d.reason.as_str()), (2, "path"));
    }

    #[test]
    fn retries_fold_into_one_step_with_their_attempts_and_durations() {
        let a = trace(
            "a",
            &[("Plan", "completed", 1, 10.0), ("Call", "completed", 1, 100.0)],
        );
        let b = trace(
            "b",
            &[
                ("Plan", "completed", 1, 10.0),
                ("Call", "failed", 1, 40.0),
                ("Call", "completed", 2, 100.0),
            ],
        );
        let c = compare(&a, &b);
        assert_eq!(c.aligned.len(), 2, "the retry is an attempt, not a step");
        let call = &c.aligned[1];
        assert_eq!(
            (
                call.a.as_ref().unwrap().attempts,
                call.b.as_ref().unwrap().attempts
            ),
            (1, 2)
        );
        assert_eq!(call.duration_delta_ms, Some(40.0));
        assert!(!call.status_changed, "both ended completed");
    }

    #[test]
    fn a_missing_node_and_a_status_change_are_found_in_order() {
        let a = trace(
            "a",
            &[
                ("Plan", "completed", 1, 10.0),
                ("Check", "completed", 1, 5.0),
                ("Write", "completed", 1, 10.0),
            ],
        );
        let b = trace(
            "b",
            &[("Plan", "completed", 1, 10.0), ("Write", "failed", 1, 50.0)],
        );
        let c = compare(&a, &b);
        let expected = [
            ("Plan", true, true),
            ("Check", true, false),
            ("Write", true, true),
        ];
        assert_eq!(shape(&c), expected.map(|(n, x, y)| (n.to_string(), x, y)));
        assert!(c.aligned[2].status_changed);
        assert_eq!(c.aligned[2].duration_delta_ms, Some(40.0));
        assert_eq!(c.first_divergence.unwrap().index, 1);
        assert_eq!(c.inputs_diff[0].path, "/q");
    }

    #[test]
    fn states_after_aligned_steps_are_diffed_and_identical_runs_do_not_diverge() {
        let a = trace(
            "a",
            &[("Plan", "completed", 1, 10.0), ("Write", "completed", 1, 10.0)],
        );
        let same = compare(&a, &a);
        assert!(same.first_divergence.is_none());
        assert!(same.aligned.iter().all(|s| s.state_diff.is_empty()));
        let b = trace(
            "b",
            &[
                ("Plan", "completed", 1, 10.0),
                ("Extra", "completed", 1, 1.0),
                ("Write", "completed", 1, 10.0),
            ],
        );
        let c = compare(&a, &b);
        // After Write both states say last = Write, but b's counter is one ahead.
        let write = c.aligned.iter().find(|s| s.node_id == "Write").unwrap();
        assert_eq!(
            write
                .state_diff
                .iter()
                .map(|d| d.path.as_str())
                .collect::<Vec<_>>(),
            ["/n"]
        );
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn step(index: usize, node: &str) -> Step {
            Step {
                index,
                node_id: node.into(),
                status: "completed".into(),
                attempts: 1,
                duration_ms: None,
                outputs: JsonObject::new(),
                offset_ms: 0.0,
                first_seq: 0,
                last_seq: 0,
                on_critical_path: false,
            }
        }

        fn steps_of(nodes: &[u8]) -> Vec<Step> {
            nodes
                .iter()
                .enumerate()
                .map(|(i, n)| step(i, &format!("N{n}")))
                .collect()
        }

        /// The textbook dynamic programme: the LCS length the alignment must reach.
        fn lcs_len(a: &[u8], b: &[u8]) -> usize {
            let mut t = vec![vec![0usize; b.len() + 1]; a.len() + 1];
            for i in (0..a.len()).rev() {
                for j in (0..b.len()).rev() {
                    t[i][j] = if a[i] == b[j] {
                        t[i + 1][j + 1] + 1
                    } else {
                        t[i + 1][j].max(t[i][j + 1])
                    };
                }
            }
            t[0][0]
        }

        proptest! {
            #[test]
            fn the_alignment_keeps_both_orders_pairs_only_equal_nodes_and_is_a_longest_one(
                a in proptest::collection::vec(0u8..4, 0..40),
                b in proptest::collection::vec(0u8..4, 0..40),
            ) {
                let pairs = align(&steps_of(&a), &steps_of(&b));
                let left: Vec<usize> = pairs.iter().filter_map(|p| p.0).collect();
                let right: Vec<usize> = pairs.iter().filter_map(|p| p.1).collect();
                prop_assert_eq!(left, (0..a.len()).collect::<Vec<_>>());
                prop_assert_eq!(right, (0..b.len()).collect::<Vec<_>>());
                let matched = pairs.iter().filter_map(|p| Some((p.0?, p.1?)));
                let mut count = 0;
                for (i, j) in matched {
                    prop_assert_eq!(a[i], b[j]);
                    count += 1;
                }
                prop_assert_eq!(count, lcs_len(&a, &b));
            }
        }

        /// A run of arbitrary records, each within what ingest accepts:
        /// any event type, node, attempt and order; times anywhere from 1970
        /// to 9999; durations up to the maximum.
        fn arbitrary_trace(id: &str, records: &[(u8, u8, i64, f64, i64)]) -> ExecutionTrace {
            const KINDS: [&str; 4] = ["started", "completed", "failed", "cached"];
            const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
            let events: Vec<serde_json::Value> = records
                .iter()
                .enumerate()
                .map(|(i, (kind, node, attempt, ms, at))| {
                    let t = chrono::DateTime::from_timestamp(at.rem_euclid(LAST), 0).unwrap();
                    serde_json::json!({"event_id": format!("e{i}"), "execution_id": id, "seq": i + 1,
                        "node_id": format!("N{}", node % 3), "event_type": KINDS[usize::from(kind % 4)],
                        "timestamp": t, "duration_ms": ms, "inputs": {}, "outputs": {},
                        "error": null, "metadata": {"attempt": attempt, "tokens": attempt}})
                })
                .collect();
            serde_json::from_value(serde_json::json!({
                "execution_id": id, "graph_type": "g", "status": "completed", "start_time": "1970-01-01T00:00:00Z",
                "end_time": "9999-12-31T23:59:59Z", "total_duration_ms": 2.5e14, "total_nodes": 0, "failed_nodes": 0,
                "cached_nodes": 0, "total_llm_calls": 0, "total_tokens": null, "original_inputs": {},
                "final_state": null, "metadata": {}, "graph": null, "is_replay": false,
                "original_execution_id": null, "error": null, "last_seq": events.len(),
                "node_events": events, "state_snapshots": []
            }))
            .unwrap()
        }

        fn record() -> impl Strategy<Value = (u8, u8, i64, f64, i64)> {
            (
                any::<u8>(),
                any::<u8>(),
                any::<i64>(),
                0.0..=crate::model::MAX_DURATION_MS,
                any::<i64>(),
            )
        }

        proptest! {
            #[test]
            fn any_accepted_records_give_a_timeline_and_a_compare_without_panicking(
                a in proptest::collection::vec(record(), 0..30),
                b in proptest::collection::vec(record(), 0..30),
            ) {
                let (a, b) = (arbitrary_trace("a", &a), arbitrary_trace("b", &b));
                let visits = crate::timeline::trace_visits(&a);
                prop_assert!(visits.len() <= a.node_events.len());
                let c = compare(&a, &b);
                prop_assert!(c.aligned.len() <= a.node_events.len() + b.node_events.len());
            }
        }
    }
}
