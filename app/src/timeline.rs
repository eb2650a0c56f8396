//! Node visits: a run's node events paired into one bar per visit — started
//! and its ending event, retries as separate attempts, cache hits with the
//! time they saved — the unit the timeline draws and the details panel shows.

use crate::model::{EventOutline, ExecutionTrace, NodeEventType};
use chrono::{DateTime, Duration, Utc};
use std::collections::{HashMap, VecDeque};

/// How a visit ended (or that it has not yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisitOutcome {
    /// Started, not finished yet.
    Running,
    /// Finished successfully.
    Completed,
    /// Failed.
    Failed,
    /// Answered from the cache.
    Cached,
}

impl VisitOutcome {
    /// The label shown (and the CSS class suffix).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cached => "cached",
        }
    }
}

/// One execution of one node.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeVisit {
    /// Position among the run's visits (0-based, in start order).
    pub index: usize,
    /// The node.
    pub node_id: String,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it ended; `None` while running.
    pub end: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: VisitOutcome,
    /// Retry attempt (1 for the first).
    pub attempt: i64,
    /// Reported (or measured) duration.
    pub duration_ms: Option<f64>,
    /// Time a cache hit saved, when the producer reported it (`saved_ms`).
    pub saved_ms: Option<f64>,
    /// `seq` of the started event, if there was one.
    pub start_seq: Option<i64>,
    /// `seq` of the ending event, if it ended.
    pub end_seq: Option<i64>,
    /// The ending event's error, if it failed.
    pub error: Option<String>,
}

/// The visits of a whole stored run (server side: exports, comparison).
pub fn trace_visits(trace: &ExecutionTrace) -> Vec<NodeVisit> {
    let outlines: Vec<EventOutline> = trace.node_events.iter().map(EventOutline::from).collect();
    node_visits(&outlines)
}

/// Pairs `events` (in `seq` order) into visits. An ending event closes the
/// oldest open visit of its node; one without a `started` event becomes a
/// visit of its own that began `duration_ms` before it.
pub fn node_visits(events: &[EventOutline]) -> Vec<NodeVisit> {
    let mut visits: Vec<NodeVisit> = Vec::new();
    let mut open: HashMap<&str, VecDeque<usize>> = HashMap::new();
    for event in events {
        if event.event_type == NodeEventType::Started {
            open.entry(event.node_id.as_str())
                .or_default()
                .push_back(visits.len());
            visits.push(NodeVisit {
                index: visits.len(),
                node_id: event.node_id.clone(),
                start: event.timestamp,
                end: None,
                outcome: VisitOutcome::Running,
                attempt: event.attempt,
                duration_ms: None,
                saved_ms: None,
                start_seq: Some(event.seq),
                end_seq: None,
                error: None,
            });
            continue;
        }
        let outcome = match event.event_type {
            NodeEventType::Failed => VisitOutcome::Failed,
            NodeEventType::Cached => VisitOutcome::Cached,
            _ => VisitOutcome::Completed,
        };
        let slot = open.get_mut(event.node_id.as_str()).and_then(VecDeque::pop_front);
        let visit = match slot {
            Some(i) => &mut visits[i],
            None => {
                // Checked: a run stored before durations were bounded may
                // hold one that reaches past the calendar; it starts at its end.
                let took = Duration::microseconds((event.duration_ms.unwrap_or(0.0) * 1_000.0) as i64);
                visits.push(NodeVisit {
                    index: visits.len(),
                    node_id: event.node_id.clone(),
                    start: event
                        .timestamp
                        .checked_sub_signed(took)
                        .unwrap_or(event.timestamp),
                    end: None,
                    outcome,
                    attempt: event.attempt,
                    duration_ms: None,
                    saved_ms: None,
                    start_seq: None,
                    end_seq: None,
                    error: None,
                });
                visits.last_mut().expect("just pushed")
            }
        };
        visit.end = Some(event.timestamp);
        visit.outcome = outcome;
        visit.attempt = event.attempt;
        visit.duration_ms = event
            .duration_ms
            .or_else(|| Some((event.timestamp - visit.start).num_microseconds()? as f64 / 1_000.0));
        visit.saved_ms = event.saved_ms;
        visit.error = event.error.clone();
        visit.end_seq = Some(event.seq);
    }
    visits.sort_by_key(|v| (v.start, v.start_seq.or(v.end_seq)));
    for (i, v) in visits.iter_mut().enumerate() {
        v.index = i;
    }
    visits
}

/// Ticks for a time axis `span_ms` long drawn `zoom` times the panel's
/// width: about eight per panel width, at 1, 2 or 5 times a power of ten
/// milliseconds. Each is (position in % of the axis, offset in ms).
pub fn axis_ticks(span_ms: f64, zoom: f64) -> Vec<(f64, f64)> {
    if !(span_ms > 0.0 && zoom >= 1.0) {
        return vec![(0.0, 0.0)];
    }
    let target = span_ms / (8.0 * zoom);
    let magnitude = 10f64.powf(target.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= target)
        .unwrap_or(10.0 * magnitude);
    let count = (span_ms / step).floor() as usize;
    (0..=count)
        .map(|i| i as f64 * step)
        .map(|ms| (ms / span_ms * 100.0, ms))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(seq: i64, node: &str, kind: &str, second: u32, extra: serde_json::Value) -> EventOutline {
        let mut v = json!({"event_id": format!("e{seq}"), "execution_id": "r", "seq": seq, "node_id": node,
            "event_type": kind, "timestamp": format!("2025-01-01T00:00:{second:02}Z"), "duration_ms": null,
            "inputs": {}, "outputs": {}, "error": null, "metadata": {}});
        if let Some(obj) = extra.as_object() {
            for (k, val) in obj {
                v[k] = val.clone();
            }
        }
        let event: crate::model::NodeEvent = serde_json::from_value(v).unwrap();
        EventOutline::from(&event)
    }

    #[test]
    fn an_axis_has_about_eight_round_ticks_per_panel_width() {
        let ticks = axis_ticks(7_600.0, 1.0);
        let labels: Vec<String> = ticks
            .iter()
            .map(|(_, ms)| crate::format::tick_label(*ms))
            .collect();
        assert_eq!(labels, ["0", "1 s", "2 s", "3 s", "4 s", "5 s", "6 s", "7 s"]);
        assert!((ticks[1].0 - 100.0 / 7.6).abs() < 1e-9, "placed in % of the span");
        // Zoomed in ten times: ten times as many, finer ticks.
        let zoomed = axis_ticks(7_600.0, 10.0);
        assert_eq!(
            (zoomed.len(), crate::format::tick_label(zoomed[1].1)),
            (77, "100 ms".to_owned())
        );
        assert_eq!(crate::format::tick_label(150_000.0), "2 m 30 s");
        assert_eq!(crate::format::tick_label(1_500.0), "1.5 s");
        assert_eq!(crate::format::tick_label(3.0 * 0.1), "0.3 ms");
        assert_eq!(axis_ticks(0.0, 1.0), [(0.0, 0.0)]);
    }

    #[test]
    fn started_and_completed_events_make_one_visit_with_its_duration() {
        let visits = node_visits(&[
            ev(1, "A", "started", 0, json!({})),
            ev(2, "A", "completed", 2, json!({"duration_ms": 2000.0})),
        ]);
        assert_eq!(visits.len(), 1);
        assert_eq!(
            (visits[0].outcome, visits[0].duration_ms),
            (VisitOutcome::Completed, Some(2000.0))
        );
        assert_eq!((visits[0].start_seq, visits[0].end_seq), (Some(1), Some(2)));
    }

    #[test]
    fn a_retry_is_a_second_attempt_of_the_same_node() {
        let visits = node_visits(&[
            ev(1, "A", "started", 0, json!({"metadata": {"attempt": 1}})),
            ev(
                2,
                "A",
                "failed",
                1,
                json!({"metadata": {"attempt": 1}, "error": "boom"}),
            ),
            ev(3, "A", "started", 2, json!({"metadata": {"attempt": 2}})),
            ev(4, "A", "completed", 3, json!({"metadata": {"attempt": 2}})),
        ]);
        let summary: Vec<_> = visits.iter().map(|v| (v.outcome, v.attempt)).collect();
        assert_eq!(summary, [(VisitOutcome::Failed, 1), (VisitOutcome::Completed, 2)]);
    }

    #[test]
    fn a_cache_hit_keeps_the_time_it_saved_and_an_unfinished_visit_is_running() {
        let visits = node_visits(&[
            ev(
                1,
                "C",
                "cached",
                5,
                json!({"duration_ms": 2.0, "metadata": {"saved_ms": 800.0}}),
            ),
            ev(2, "D", "started", 6, json!({})),
        ]);
        assert_eq!(
            (visits[0].outcome, visits[0].saved_ms),
            (VisitOutcome::Cached, Some(800.0))
        );
        assert_eq!((visits[1].outcome, visits[1].end), (VisitOutcome::Running, None));
    }
}
