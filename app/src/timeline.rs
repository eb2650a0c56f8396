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
    /// The `seq`s of the events whose visits this one follows, as its
    /// events named them (`parents`); empty when the producer named none.
    pub parents: Vec<i64>,
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
    let mut visits = VisitIndex::default();
    for event in events {
        visits.push(event);
    }
    visits.visits
}

/// A run's visits kept up to date one event at a time, in start order: what
/// a live page holds, so a live event costs a lookup and (nearly always) an
/// append, not a pass over the whole run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VisitIndex {
    /// In start order (ties by the first record's `seq`); `index` is the position.
    visits: Vec<NodeVisit>,
    /// Per node, its open visits' sort keys, oldest first.
    open: HashMap<String, VecDeque<VisitKey>>,
    /// Per node (sorted by name), the positions of its visits, ascending:
    /// the rows of the timeline filtered to that node.
    by_node: std::collections::BTreeMap<String, Vec<usize>>,
    /// Visits still running.
    running: usize,
    /// The most visits running at once so far, counted as events arrived
    /// (exact when events arrive in time order, as a live run's do).
    peak_running: usize,
    /// The latest event time seen (the right end of a running run's axis).
    last_event: Option<DateTime<Utc>>,
    /// Per edge (from, to), how often the run went along it: the pairs of
    /// consecutive visits (see [`step`]), kept as visits arrive so the graph
    /// view's counts cost the graph's size, not the run's.
    steps: std::collections::BTreeMap<(String, String), usize>,
}

/// The edge two consecutive visits (in start order) took, if any: a retry is
/// the same visit again, not a step along an edge.
pub fn step(from: &NodeVisit, to: &NodeVisit) -> Option<(String, String)> {
    (!is_retry(from, to)).then(|| (from.node_id.clone(), to.node_id.clone()))
}

/// Whether `to` is `from` tried again.
pub fn is_retry(from: &NodeVisit, to: &NodeVisit) -> bool {
    from.node_id == to.node_id && to.attempt > 1
}

/// Where a visit sorts: its start, then its first record's `seq` (unique).
type VisitKey = (DateTime<Utc>, Option<i64>);

fn key_of(visit: &NodeVisit) -> VisitKey {
    (visit.start, visit.start_seq.or(visit.end_seq))
}

impl VisitIndex {
    /// The visits of `events` (in `seq` order).
    pub fn new(events: &[EventOutline]) -> Self {
        let mut index = Self::default();
        for event in events {
            index.push(event);
        }
        index
    }

    /// The visits, in start order.
    pub fn visits(&self) -> &[NodeVisit] {
        &self.visits
    }

    /// The latest event time seen.
    pub fn last_event(&self) -> Option<DateTime<Utc>> {
        self.last_event
    }

    /// How many visits are still running.
    pub fn running(&self) -> usize {
        self.running
    }

    /// The most visits that were running at once so far: what a live run's
    /// header shows before its exact parallelism can be worked out.
    pub fn peak_running(&self) -> usize {
        self.peak_running
    }

    /// The nodes visited, by name.
    pub fn node_ids(&self) -> impl Iterator<Item = &String> {
        self.by_node.keys()
    }

    /// The latest-starting visit of `node`: the one the graph shows it by.
    pub fn latest_of(&self, node: &str) -> Option<&NodeVisit> {
        self.visits.get(*self.by_node.get(node)?.last()?)
    }

    /// The edges taken, sorted, each with how often.
    pub fn steps(&self) -> impl Iterator<Item = (&(String, String), usize)> {
        self.steps.iter().map(|(edge, n)| (edge, *n))
    }

    /// Adds `delta` (±1) to the count of the step from visit `at` to the
    /// next, if both exist.
    fn count_step(&mut self, at: usize, delta: isize) {
        let (Some(from), Some(to)) = (
            self.visits.get(at),
            at.checked_add(1).and_then(|n| self.visits.get(n)),
        ) else {
            return;
        };
        let Some(edge) = step(from, to) else { return };
        let count = self.steps.entry(edge.clone()).or_default();
        *count = count.saturating_add_signed(delta);
        if *count == 0 {
            self.steps.remove(&edge);
        }
    }

    /// Counts (`delta` 1) or uncounts (-1) the steps into and out of visit `at`.
    fn count_steps_around(&mut self, at: usize, delta: isize) {
        if let Some(before) = at.checked_sub(1) {
            self.count_step(before, delta);
        }
        self.count_step(at, delta);
    }

    /// How many rows the timeline has: every visit, or those of `node`.
    pub fn row_count(&self, node: Option<&str>) -> usize {
        match node {
            None => self.visits.len(),
            Some(node) => self.by_node.get(node).map_or(0, Vec::len),
        }
    }

    /// The visit on timeline row `row` (every visit, or those of `node`).
    pub fn row(&self, node: Option<&str>, row: usize) -> Option<&NodeVisit> {
        match node {
            None => self.visits.get(row),
            Some(node) => self.visits.get(*self.by_node.get(node)?.get(row)?),
        }
    }

    /// The timeline row of visit `index` (every visit, or those of `node`).
    pub fn row_of(&self, node: Option<&str>, index: usize) -> Option<usize> {
        match node {
            None => (index < self.visits.len()).then_some(index),
            Some(node) => self.by_node.get(node)?.binary_search(&index).ok(),
        }
    }

    /// Copies of the visits on timeline rows `rows`: a scroll window.
    pub fn rows(&self, node: Option<&str>, rows: std::ops::Range<usize>) -> Vec<NodeVisit> {
        rows.filter_map(|row| self.row(node, row).cloned()).collect()
    }

    /// Adds the next event (in `seq` order); returns the position of the
    /// visit it started or ended.
    pub fn push(&mut self, event: &EventOutline) -> usize {
        self.last_event = self.last_event.max(Some(event.timestamp));
        if event.event_type == NodeEventType::Started {
            let visit = NodeVisit {
                index: 0,
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
                parents: event.parents.clone(),
            };
            self.open
                .entry(event.node_id.clone())
                .or_default()
                .push_back(key_of(&visit));
            self.running += 1;
            self.peak_running = self.peak_running.max(self.running);
            return self.insert(visit);
        }
        let outcome = match event.event_type {
            NodeEventType::Failed => VisitOutcome::Failed,
            NodeEventType::Cached => VisitOutcome::Cached,
            _ => VisitOutcome::Completed,
        };
        let opened = self
            .open
            .get_mut(event.node_id.as_str())
            .and_then(VecDeque::pop_front)
            .and_then(|key| self.visits.binary_search_by_key(&key, key_of).ok());
        let at = match opened {
            Some(at) => {
                self.running = self.running.saturating_sub(1);
                at
            }
            None => {
                // Checked: a run stored before durations were bounded may
                // hold one that reaches past the calendar; it starts at its end.
                let took = Duration::microseconds((event.duration_ms.unwrap_or(0.0) * 1_000.0) as i64);
                self.insert(NodeVisit {
                    index: 0,
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
                    // Its sort key: set before it is placed.
                    end_seq: Some(event.seq),
                    error: None,
                    parents: Vec::new(),
                })
            }
        };
        // Its attempt may change, and with it whether its steps count.
        self.count_steps_around(at, -1);
        let visit = &mut self.visits[at];
        visit.end = Some(event.timestamp);
        visit.outcome = outcome;
        visit.attempt = event.attempt;
        visit.duration_ms = event
            .duration_ms
            .or_else(|| Some((event.timestamp - visit.start).num_microseconds()? as f64 / 1_000.0));
        visit.saved_ms = event.saved_ms;
        visit.error = event.error.clone();
        visit.end_seq = Some(event.seq);
        for &parent in &event.parents {
            if !visit.parents.contains(&parent) {
                visit.parents.push(parent);
            }
        }
        self.count_steps_around(at, 1);
        at
    }

    /// Places `visit` in start order. Live visits start last, so this is an
    /// append; an earlier one shifts (and renumbers) those after it.
    fn insert(&mut self, mut visit: NodeVisit) -> usize {
        let key = key_of(&visit);
        let at = self.visits.partition_point(|v| key_of(v) < key);
        visit.index = at;
        if at < self.visits.len() {
            for (i, v) in self.visits.iter_mut().enumerate().skip(at) {
                v.index = i + 1;
            }
            for positions in self.by_node.values_mut() {
                let from = positions.partition_point(|p| *p < at);
                for p in &mut positions[from..] {
                    *p += 1;
                }
            }
        }
        let positions = self.by_node.entry(visit.node_id.clone()).or_default();
        let slot = positions.partition_point(|p| *p < at);
        positions.insert(slot, at);
        // The step that went from the visit before to the one after now
        // goes through this one.
        if let Some(before) = at.checked_sub(1) {
            self.count_step(before, -1);
        }
        self.visits.insert(at, visit);
        self.count_steps_around(at, 1);
        at
    }
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
    fn a_live_index_places_a_visit_reported_late_in_start_order_and_closes_the_right_one() {
        // B starts at 1 s and is still running when an ending-only visit of
        // C arrives that began at 0 s: it goes first, B moves to index 1,
        // and B's ending event then closes B where it now is.
        let mut index = VisitIndex::new(&[
            ev(1, "A", "started", 0, json!({})),
            ev(2, "A", "completed", 1, json!({})),
            ev(3, "B", "started", 1, json!({})),
        ]);
        assert_eq!(index.running(), 1);
        assert_eq!(
            index.push(&ev(4, "C", "cached", 2, json!({"duration_ms": 1500.0}))),
            1
        );
        // The timeline filtered to B still finds B, now at index 2.
        assert_eq!(index.row(Some("B"), 0).map(|v| v.index), Some(2));
        assert_eq!(index.row_of(Some("C"), 1), Some(0));
        assert_eq!(index.push(&ev(5, "B", "completed", 3, json!({}))), 2);
        assert_eq!(index.running(), 0);
        assert_eq!(index.node_ids().collect::<Vec<_>>(), ["A", "B", "C"]);
        assert_eq!(index.rows(None, 1..5).len(), 2, "a window past the end is cut");
        let seen: Vec<_> = index
            .visits()
            .iter()
            .map(|v| (v.index, v.node_id.as_str(), v.outcome, v.end_seq))
            .collect();
        assert_eq!(
            seen,
            [
                (0, "A", VisitOutcome::Completed, Some(2)),
                (1, "C", VisitOutcome::Cached, Some(4)),
                (2, "B", VisitOutcome::Completed, Some(5)),
            ]
        );
        assert_eq!(index.last_event().map(|t| t.timestamp()), Some(1_735_689_603));
        // The same events at once give the same visits.
        let all = [
            ev(1, "A", "started", 0, json!({})),
            ev(2, "A", "completed", 1, json!({})),
            ev(3, "B", "started", 1, json!({})),
            ev(4, "C", "cached", 2, json!({"duration_ms": 1500.0})),
            ev(5, "B", "completed", 3, json!({})),
        ];
        assert_eq!(node_visits(&all), index.visits());
    }

    #[test]
    fn edge_counts_kept_live_match_the_visits_they_come_from() {
        // A visit reported late lands between two others; a retry's attempt
        // is known only once it has started again. Each step of the way,
        // the counts kept equal those of the visits as they stand.
        let events = [
            ev(1, "A", "started", 0, json!({"metadata": {"attempt": 1}})),
            ev(2, "A", "failed", 1, json!({"metadata": {"attempt": 1}})),
            ev(3, "A", "started", 2, json!({"metadata": {"attempt": 2}})),
            ev(4, "B", "started", 3, json!({})),
            ev(5, "C", "cached", 4, json!({"duration_ms": 3500.0})),
            ev(6, "A", "completed", 5, json!({"metadata": {"attempt": 2}})),
            ev(7, "B", "completed", 6, json!({})),
            ev(8, "D", "completed", 7, json!({})),
            ev(9, "B", "completed", 8, json!({"duration_ms": 7750.0})),
        ];
        let mut index = VisitIndex::default();
        for event in &events {
            index.push(event);
            let mut expected: Vec<((String, String), usize)> = Vec::new();
            let mut pairs: Vec<_> = index
                .visits()
                .windows(2)
                .filter_map(|p| step(&p[0], &p[1]))
                .collect();
            pairs.sort();
            for edge in pairs {
                match expected.last_mut() {
                    Some((last, n)) if *last == edge => *n += 1,
                    _ => expected.push((edge, 1)),
                }
            }
            let kept: Vec<_> = index.steps().map(|(e, n)| (e.clone(), n)).collect();
            assert_eq!(kept, expected, "after seq {}", event.seq);
        }
        let order: Vec<&str> = index.visits().iter().map(|v| v.node_id.as_str()).collect();
        assert_eq!(order, ["A", "B", "C", "A", "B", "D"]);
        assert_eq!(
            index.latest_of("B").map(|v| v.outcome),
            Some(VisitOutcome::Completed)
        );
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

    #[test]
    fn a_live_run_counts_what_runs_now_and_the_most_at_once_so_far() {
        let mut index = VisitIndex::default();
        for e in [
            ev(1, "A", "started", 0, json!({})),
            ev(2, "B", "started", 1, json!({})),
            ev(3, "C", "started", 1, json!({})),
            ev(4, "A", "completed", 2, json!({})),
            ev(5, "B", "completed", 3, json!({})),
            ev(
                6,
                "D",
                "started",
                3,
                json!({"parent_seqs": [5], "parents": ["e5"]}),
            ),
        ] {
            index.push(&e);
        }
        assert_eq!((index.running(), index.peak_running()), (2, 3));
        assert_eq!(index.visits()[3].parents, [5], "the seqs its started event named");
    }
}
