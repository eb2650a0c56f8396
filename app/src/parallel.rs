//! Runs whose nodes overlap: how many visits ran at once, a lane for each
//! visit so parallel branches sit side by side, and the critical path — the
//! chain of visits that decided the run's duration — with each other
//! visit's slack (how much longer it could have taken without delaying the
//! run).
//!
//! The chain runs from the visit that ended last, stepping back each time
//! to the visit the current one waited for: the parent that ended last,
//! when the producer named the visit's parents (`parents` on its events);
//! otherwise, read off the timeline, the visit that ended last before the
//! current one started. A sequential run's critical path is every visit.

use crate::timeline::NodeVisit;
use chrono::{DateTime, Utc};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Microseconds from `origin` to `at`, saturating (stored times are within
/// the calendar, so this never saturates in practice).
fn micros(origin: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
    (at - origin).num_microseconds().unwrap_or(i64::MAX)
}

/// A visit's interval in microseconds from `origin`; a visit still running
/// runs until `until`. An end before the start (clock skew) is the start.
fn interval(visit: &NodeVisit, origin: DateTime<Utc>, until: DateTime<Utc>) -> (i64, i64) {
    let start = micros(origin, visit.start);
    let end = micros(origin, visit.end.unwrap_or(until)).max(start);
    (start, end)
}

/// Each visit's start (+1) and end (-1) in microseconds from `start`,
/// sorted; at one instant an end sorts before a start, so a visit that ends
/// when another starts does not overlap it.
fn starts_and_ends(visits: &[NodeVisit], start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<(i64, i8)> {
    let mut edges: Vec<(i64, i8)> = Vec::with_capacity(visits.len().saturating_mul(2));
    for visit in visits {
        let (from, to) = interval(visit, start, end);
        edges.push((from, 1));
        edges.push((to, -1));
    }
    edges.sort_unstable();
    edges
}

/// Positions of `spans` by end (ties: the later start, then position).
fn by_end(spans: &[(i64, i64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_unstable_by_key(|&i| (spans[i].1, spans[i].0, i));
    order
}

/// Per visit, the positions of the visits it follows as its producer named
/// them (see [`causal_parents`]): one flat list with an offset per visit, not
/// a vector per visit.
#[derive(Clone, Debug, PartialEq)]
pub struct CausalLinks {
    /// Where each visit's parents start in `parents`, and the end.
    offsets: Vec<usize>,
    /// Every visit's parents, in visit order.
    parents: Vec<usize>,
}

impl CausalLinks {
    /// The positions of the visits that visit `i` follows, ascending.
    pub fn of(&self, i: usize) -> &[usize] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&from), Some(&to)) => &self.parents[from..to],
            _ => &[],
        }
    }
}

/// Per visit (in the slice's order), the positions of the visits it follows
/// as its producer named them (`NodeVisit::parents`), each once; `None`
/// when no visit names any (causality unknown: read off the timeline).
/// Only parents earlier in start order count, so the links form no cycle
/// whatever was stored.
pub fn causal_parents(visits: &[NodeVisit]) -> Option<CausalLinks> {
    if visits.iter().all(|v| v.parents.is_empty()) {
        return None;
    }
    // Seq to position by binary search over a sorted list: far cheaper than
    // a hash map for 100,000 visits.
    let mut by_seq: Vec<(i64, usize)> = Vec::with_capacity(visits.len().saturating_mul(2));
    for (i, visit) in visits.iter().enumerate() {
        by_seq.extend(
            [visit.start_seq, visit.end_seq]
                .into_iter()
                .flatten()
                .map(|seq| (seq, i)),
        );
    }
    by_seq.sort_unstable();
    let position = |seq: i64| {
        by_seq
            .binary_search_by_key(&seq, |&(s, _)| s)
            .ok()
            .map(|at| by_seq[at].1)
    };
    let mut links = CausalLinks {
        offsets: Vec::with_capacity(visits.len() + 1),
        parents: Vec::new(),
    };
    links.offsets.push(0);
    for (i, visit) in visits.iter().enumerate() {
        let from = links.parents.len();
        links.parents.extend(
            visit
                .parents
                .iter()
                .filter_map(|&seq| position(seq))
                .filter(|&p| p < i),
        );
        links.parents[from..].sort_unstable();
        let mut kept = from;
        for at in from..links.parents.len() {
            if at == from || links.parents[at] != links.parents[kept - 1] {
                links.parents[kept] = links.parents[at];
                kept += 1;
            }
        }
        links.parents.truncate(kept);
        links.offsets.push(kept);
    }
    Some(links)
}

/// How many visits ran at once.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Parallelism {
    /// The most visits running at one moment.
    pub peak: usize,
    /// Visit time over the run's span: 1.0 for a run that always ran one
    /// node, 2.0 for one that ran two at a time throughout.
    pub average: f64,
}

/// The parallelism of `visits` over a run from `start` to `end` (visits
/// still running count until `end`). A visit that ends when another starts
/// does not overlap it.
pub fn parallelism(visits: &[NodeVisit], start: DateTime<Utc>, end: DateTime<Utc>) -> Parallelism {
    let edges = starts_and_ends(visits, start, end);
    // Visit time: each end minus each start, summed exactly.
    let busy = edges
        .iter()
        .map(|&(at, step)| -i128::from(at) * i128::from(step))
        .sum::<i128>() as f64;
    let (mut running, mut peak) = (0i64, 0i64);
    for (_, step) in edges {
        running += i64::from(step);
        peak = peak.max(running);
    }
    let span = micros(start, end) as f64;
    Parallelism {
        peak: usize::try_from(peak).unwrap_or(0),
        average: if span > 0.0 { busy / span } else { 0.0 },
    }
}

/// How many visits ran at once over a run from `start` to `end`, cut into
/// `columns` equal spans: the most running at any moment of each (a visit
/// that ends when another starts does not overlap it). What the timeline's
/// concurrency strip draws.
pub fn concurrency(
    visits: &[NodeVisit],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    columns: usize,
) -> Vec<usize> {
    let span = micros(start, end).max(1);
    let mut counts = vec![0usize; columns];
    if columns == 0 {
        return counts;
    }
    let column_of = |t: i64| -> usize {
        let t = t.clamp(0, span);
        // The end of the run belongs to the last column.
        usize::try_from((i128::from(t) * columns as i128 / i128::from(span)).min(columns as i128 - 1))
            .unwrap_or(0)
    };
    let edges = starts_and_ends(visits, start, end);
    let mut running = 0i64;
    let mut at = 0;
    while at < edges.len() {
        // Every change at one instant at once (ends sort before starts).
        let instant = edges[at].0;
        while at < edges.len() && edges[at].0 == instant {
            running += i64::from(edges[at].1);
            at += 1;
        }
        // `running` holds from this instant until the next change.
        let next = edges.get(at).map_or(span, |e| e.0);
        if next > instant {
            let level = usize::try_from(running).unwrap_or(0);
            for count in &mut counts[column_of(instant)..=column_of(next - 1)] {
                *count = (*count).max(level);
            }
        }
    }
    counts
}

/// Edges (from, to) with how often the run took each, sorted.
pub type EdgeCounts = Vec<((String, String), usize)>;

/// Most (from, to) pairs one instant may link all to all: past it (many
/// branches ending where many start, a superstep), each visit that starts
/// follows the one that ended last, so the work stays linear.
const MAX_PAIRS_PER_INSTANT: usize = 4_096;

/// The edges a run took. A visit whose producer named its parents follows
/// each of them. The others' edges are read off the timeline so that
/// branches which ran side by side are not chained: a visit leads to the visits that started
/// first once it had ended (all of them, when several started at that
/// instant: a fork), so a join follows every branch that ended before it;
/// a visit nothing led to that way (it started a moment after its
/// siblings) follows the visit that ended last before it started. A
/// sequential run's edges are its consecutive visits. A retry is the same
/// visit again, not a step along an edge. Edges are (from, to) with how
/// often, sorted.
pub fn inferred_edges(visits: &[NodeVisit], end: DateTime<Utc>) -> EdgeCounts {
    let Some(origin) = visits.first().map(|v| v.start) else {
        return Vec::new();
    };
    let spans: Vec<(i64, i64)> = visits.iter().map(|v| interval(v, origin, end)).collect();
    // Visits are in start order, so starts are sorted.
    let starts: Vec<i64> = spans.iter().map(|s| s.0).collect();
    // Each visit's successors start at the first instant at or after its
    // end: group the visits by that instant (its first position in `starts`).
    let mut sources: Vec<(usize, usize)> = spans
        .iter()
        .enumerate()
        .filter_map(|(u, &(_, ended))| {
            let first = starts.partition_point(|&s| s < ended);
            (first < starts.len()).then_some((first, u))
        })
        .collect();
    sources.sort_unstable();
    let mut led_to = vec![false; visits.len()];
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for group in sources.chunk_by(|a, b| a.0 == b.0) {
        let first = group[0].0;
        let targets = first..starts.partition_point(|&s| s <= starts[first]);
        if group.len().saturating_mul(targets.len()) <= MAX_PAIRS_PER_INSTANT {
            for &(_, u) in group {
                pairs.extend(targets.clone().filter(|&v| v != u).map(|v| (u, v)));
            }
            for v in targets {
                led_to[v] = group.iter().any(|&(_, u)| u != v);
            }
        }
    }
    // The visits nothing led to: after the one that ended last before them.
    let by_end = by_end(&spans);
    for (v, &(started, _)) in spans.iter().enumerate() {
        if led_to[v] {
            continue;
        }
        let before = by_end.partition_point(|&i| spans[i].1 <= started);
        if let Some(&u) = by_end[..before].iter().rev().find(|&&u| u != v) {
            pairs.push((u, v));
        }
    }
    // Where the producer said what a visit followed, that replaces the guess.
    if let Some(causal) = causal_parents(visits) {
        pairs.retain(|&(_, v)| causal.of(v).is_empty());
        for v in 0..visits.len() {
            pairs.extend(causal.of(v).iter().map(|&u| (u, v)));
        }
    }
    // Counted by node number, named at the end: no strings per pair.
    let mut names: Vec<&str> = visits.iter().map(|v| v.node_id.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let number = |i: usize| names.binary_search(&visits[i].node_id.as_str()).unwrap_or(0);
    let mut steps: Vec<(usize, usize)> = pairs
        .into_iter()
        .filter(|&(u, v)| !crate::timeline::is_retry(&visits[u], &visits[v]))
        .map(|(u, v)| (number(u), number(v)))
        .collect();
    steps.sort_unstable();
    let mut edges: EdgeCounts = Vec::new();
    for group in steps.chunk_by(|a, b| a == b) {
        let (from, to) = group[0];
        edges.push(((names[from].to_owned(), names[to].to_owned()), group.len()));
    }
    edges
}

/// A lane for each of `visits` (given in start order): the lowest lane free
/// when it starts. Visits that overlap never share a lane, and a run that
/// ran one node at a time is one lane. Visits still running run until `end`.
pub fn lanes(visits: &[NodeVisit], end: DateTime<Utc>) -> Vec<usize> {
    let Some(origin) = visits.first().map(|v| v.start) else {
        return Vec::new();
    };
    let mut busy: BinaryHeap<Reverse<(i64, usize)>> = BinaryHeap::new();
    let mut free: BinaryHeap<Reverse<usize>> = BinaryHeap::new();
    let mut next_lane = 0;
    visits
        .iter()
        .map(|visit| {
            let (from, to) = interval(visit, origin, end);
            while let Some(Reverse((until, lane))) = busy.peek().copied() {
                if until > from {
                    break;
                }
                busy.pop();
                free.push(Reverse(lane));
            }
            let lane = free.pop().map_or_else(
                || {
                    next_lane += 1;
                    next_lane - 1
                },
                |Reverse(lane)| lane,
            );
            busy.push(Reverse((to, lane)));
            lane
        })
        .collect()
}

/// The chain of visits that decided a run's duration.
#[derive(Clone, Debug, PartialEq)]
pub struct CriticalPath {
    /// Positions (in the slice given) of the visits on it, in time order.
    pub visits: Vec<usize>,
    /// Per node on it: its time on the path in ms and that time's share of
    /// the path's visit time, largest first.
    pub shares: Vec<(String, f64, f64)>,
    /// Per visit (in the slice's order): how many ms later it could have
    /// ended without delaying the path; 0 on the path.
    pub slack_ms: Vec<f64>,
}

impl CriticalPath {
    /// Whether the visit at `position` is on the path.
    pub fn contains(&self, position: usize) -> bool {
        self.visits.binary_search(&position).is_ok()
    }
}

/// The critical path of `visits` (in start order) of a run that ended at
/// `end` (visits still running run until then).
pub fn critical_path(visits: &[NodeVisit], end: DateTime<Utc>) -> CriticalPath {
    let Some(origin) = visits.first().map(|v| v.start) else {
        return CriticalPath {
            visits: Vec::new(),
            shares: Vec::new(),
            slack_ms: Vec::new(),
        };
    };
    let spans: Vec<(i64, i64)> = visits.iter().map(|v| interval(v, origin, end)).collect();
    let by_end = by_end(&spans);
    let mut rank = vec![0; visits.len()];
    for (r, &i) in by_end.iter().enumerate() {
        rank[i] = r;
    }
    let causal = causal_parents(visits);
    // From the visit that ended last, step back to the parent that ended
    // last, or (no parents named) to the visit that ended last by the time
    // the current one started, among those before it in `by_end`. A visit
    // already on the path ends the walk, so mixed links cannot loop.
    let mut on_path = vec![false; visits.len()];
    let mut path = Vec::new();
    let mut next = by_end.last().copied();
    while let Some(at) = next {
        if std::mem::replace(&mut on_path[at], true) {
            break;
        }
        path.push(at);
        let started = spans[at].0;
        next = match causal.as_ref().map(|c| c.of(at)).filter(|p| !p.is_empty()) {
            Some(parents) => parents.iter().copied().max_by_key(|&p| (spans[p].1, p)),
            None => by_end[..rank[at]]
                .partition_point(|&i| spans[i].1 <= started)
                .checked_sub(1)
                .map(|r| by_end[r]),
        };
    }
    // Positions in the slice's (start) order.
    path.sort_unstable();

    let run_end = micros(origin, end).max(spans.iter().map(|s| s.1).max().unwrap_or(0));
    let slack_ms = match &causal {
        Some(links) => causal_slack(&spans, links, &path, run_end),
        None => timeline_slack(&spans, &path, run_end),
    };

    let mut shares: Vec<(String, f64, f64)> = Vec::new();
    for &i in &path {
        let ms = (spans[i].1 - spans[i].0) as f64 / 1_000.0;
        match shares.iter_mut().find(|(node, _, _)| *node == visits[i].node_id) {
            Some(share) => share.1 += ms,
            None => shares.push((visits[i].node_id.clone(), ms, 0.0)),
        }
    }
    let total: f64 = shares.iter().map(|s| s.1).sum();
    for share in &mut shares {
        share.2 = if total > 0.0 { share.1 / total } else { 0.0 };
    }
    shares.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    CriticalPath {
        visits: path,
        shares,
        slack_ms,
    }
}

/// Slack read off the timeline: until the first visit on the path that
/// starts at or after this visit's end (the path could not have used its
/// result earlier), or until the run's end.
fn timeline_slack(spans: &[(i64, i64)], path: &[usize], run_end: i64) -> Vec<f64> {
    let mut path_starts: Vec<i64> = path.iter().map(|&i| spans[i].0).collect();
    path_starts.sort_unstable();
    (0..spans.len())
        .map(|i| {
            if path.binary_search(&i).is_ok() {
                return 0.0;
            }
            let ended = spans[i].1;
            let next = path_starts
                .get(path_starts.partition_point(|&s| s < ended))
                .copied()
                .unwrap_or(run_end);
            (next - ended).max(0) as f64 / 1_000.0
        })
        .collect()
}

/// Slack over the named links: the latest a visit could have ended is the
/// latest start of the visits that follow it (each as late as its own
/// slack allows), or the run's end for a visit nothing follows — the
/// critical path method, one pass backwards since parents start earlier.
fn causal_slack(spans: &[(i64, i64)], links: &CausalLinks, path: &[usize], run_end: i64) -> Vec<f64> {
    let mut latest_end = vec![run_end; spans.len()];
    for v in (0..spans.len()).rev() {
        let latest_start = latest_end[v] - (spans[v].1 - spans[v].0);
        for &p in links.of(v) {
            latest_end[p] = latest_end[p].min(latest_start);
        }
    }
    (0..spans.len())
        .map(|i| {
            if path.binary_search(&i).is_ok() {
                0.0
            } else {
                (latest_end[i] - spans[i].1).max(0) as f64 / 1_000.0
            }
        })
        .collect()
}

/// What a finished run keeps of its parallelism for the metrics page
/// (computed once, when it finishes, from its own events).
#[derive(Clone, Debug, PartialEq)]
pub struct RunFigures {
    /// Its average parallelism (see [`Parallelism`]).
    pub average: f64,
    /// The nodes on its critical path with their time on it in ms, for a run
    /// that ran nodes side by side; empty otherwise (every visit of a run
    /// that ran one node at a time is on it, which says nothing).
    pub critical: Vec<(String, f64)>,
}

/// The figures of a run from `start` to `end` with `events` (in `seq` order).
pub fn run_figures(
    events: &[crate::model::EventOutline],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> RunFigures {
    let index = crate::timeline::VisitIndex::new(events);
    let visits = index.visits();
    let p = parallelism(visits, start, end);
    let critical = if p.peak > 1 {
        critical_path(visits, end)
            .shares
            .into_iter()
            .map(|(node, ms, _)| (node, ms))
            .collect()
    } else {
        Vec::new()
    };
    RunFigures {
        average: p.average,
        critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::VisitOutcome;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(1_767_225_600_000 + ms).unwrap()
    }

    /// A finished visit of `node` from `from` to `to` ms.
    fn visit(node: &str, from: i64, to: i64) -> NodeVisit {
        NodeVisit {
            index: 0,
            node_id: node.into(),
            start: at(from),
            end: Some(at(to)),
            outcome: VisitOutcome::Completed,
            attempt: 1,
            duration_ms: Some((to - from) as f64),
            saved_ms: None,
            start_seq: None,
            end_seq: None,
            error: None,
            parents: Vec::new(),
        }
    }

    /// Plan, then three sources in parallel (B the slowest), then a join.
    fn fork_join() -> Vec<NodeVisit> {
        vec![
            visit("Plan", 0, 100),
            visit("SourceA", 100, 300),
            visit("SourceB", 100, 900),
            visit("SourceC", 110, 500),
            visit("Join", 900, 1_000),
        ]
    }

    #[test]
    fn a_sequential_run_is_one_lane_and_its_critical_path_is_every_visit() {
        let visits = vec![visit("A", 0, 100), visit("B", 100, 300), visit("A", 300, 350)];
        assert_eq!(lanes(&visits, at(350)), [0, 0, 0]);
        let p = parallelism(&visits, at(0), at(350));
        assert_eq!(p.peak, 1);
        assert!((p.average - 1.0).abs() < 1e-9);
        let path = critical_path(&visits, at(350));
        assert_eq!(path.visits, [0, 1, 2]);
        assert_eq!(path.slack_ms, [0.0, 0.0, 0.0]);
        assert_eq!(path.shares[0].0, "B");
        assert!((path.shares[0].2 - 200.0 / 350.0).abs() < 1e-9);
    }

    #[test]
    fn a_fork_join_runs_its_branches_in_lanes_and_the_slowest_branch_is_critical() {
        let visits = fork_join();
        assert_eq!(lanes(&visits, at(1_000)), [0, 0, 1, 2, 0]);
        let p = parallelism(&visits, at(0), at(1_000));
        assert_eq!(p.peak, 3);
        // 100 + 200 + 800 + 390 + 100 ms of visits over 1,000 ms.
        assert!((p.average - 1.59).abs() < 1e-9, "{}", p.average);
        let path = critical_path(&visits, at(1_000));
        assert_eq!(path.visits, [0, 2, 4], "Plan, SourceB, Join");
        // A could have taken until the join started (900 ms): 600 ms more;
        // C likewise 400 ms more.
        assert_eq!(path.slack_ms, [0.0, 600.0, 0.0, 400.0, 0.0]);
        assert_eq!(path.shares[0], ("SourceB".to_owned(), 800.0, 0.8));
        assert!(path.contains(2) && !path.contains(1));
    }

    #[test]
    fn a_wait_between_visits_is_not_anyones_and_a_running_visit_runs_until_the_end() {
        // A gap (the executor waited) between A and B; C still running.
        let mut visits = vec![visit("A", 0, 100), visit("B", 400, 500), visit("C", 450, 0)];
        visits[2].end = None;
        let path = critical_path(&visits, at(800));
        assert_eq!(path.visits, [0, 2], "A, then C which ends last");
        assert_eq!(path.slack_ms[1], 300.0, "B could have run until the end");
        let p = parallelism(&visits, at(0), at(800));
        assert_eq!(p.peak, 2);
        assert_eq!(lanes(&visits, at(800)), [0, 0, 1]);
    }

    #[test]
    fn ten_thousand_visits_in_one_instant_are_ten_thousand_lanes() {
        let visits: Vec<NodeVisit> = (0..10_000)
            .map(|i| visit(&format!("N{}", i % 7), 0, 10 + i))
            .collect();
        let lanes = lanes(&visits, at(10_009));
        assert_eq!(lanes.iter().max(), Some(&9_999));
        assert_eq!(parallelism(&visits, at(0), at(10_009)).peak, 10_000);
        let path = critical_path(&visits, at(10_009));
        assert_eq!(path.visits, [9_999], "the longest one alone");
        assert_eq!(path.slack_ms[0], 9_999.0);
    }

    #[test]
    fn visits_of_no_length_at_one_instant_do_not_send_the_path_in_circles() {
        let visits = vec![
            visit("A", 0, 5),
            visit("X", 5, 5),
            visit("Y", 5, 5),
            visit("B", 5, 9),
        ];
        let path = critical_path(&visits, at(9));
        assert_eq!(path.visits, [0, 1, 2, 3], "through both, at no cost");
    }

    #[test]
    fn the_concurrency_strip_counts_what_ran_at_once_in_each_column() {
        // Ten columns of 100 ms over the fork/join of 1,000 ms.
        let strip = concurrency(&fork_join(), at(0), at(1_000), 10);
        assert_eq!(strip, [1, 3, 3, 2, 2, 1, 1, 1, 1, 1]);
        assert_eq!(concurrency(&[], at(0), at(1_000), 4), [0, 0, 0, 0]);
        assert!(concurrency(&fork_join(), at(0), at(1_000), 0).is_empty());
    }

    #[test]
    fn inferred_edges_fork_to_every_branch_and_join_from_each() {
        let named = |edges: Vec<((String, String), usize)>| -> Vec<(String, usize)> {
            edges
                .into_iter()
                .map(|((a, b), n)| (format!("{a}->{b}"), n))
                .collect()
        };
        let edges = named(inferred_edges(&fork_join(), at(1_000)));
        let expected: Vec<(String, usize)> = [
            "Plan->SourceA",
            "Plan->SourceB",
            "Plan->SourceC",
            "SourceA->Join",
            "SourceB->Join",
            "SourceC->Join",
        ]
        .iter()
        .map(|e| (e.to_string(), 1))
        .collect();
        assert_eq!(edges, expected);
        // Sequential: consecutive visits, a loop counted twice, a retry not a step.
        let mut retry = visit("B", 300, 400);
        retry.attempt = 2;
        let visits = vec![
            visit("A", 0, 100),
            visit("B", 100, 200),
            visit("B", 200, 300),
            retry,
            visit("A", 400, 500),
        ];
        assert_eq!(
            named(inferred_edges(&visits, at(500))),
            [
                ("A->B".to_owned(), 1),
                ("B->A".to_owned(), 1),
                ("B->B".to_owned(), 1)
            ]
        );
    }

    #[test]
    fn a_superstep_of_many_to_many_stays_linear() {
        // 100 branches end where 100 others start: 10,000 pairs, over the
        // cap, so each of the second step follows the one that ended last.
        let mut visits: Vec<NodeVisit> = (0..100).map(|i| visit(&format!("A{i}"), 0, 100 + i)).collect();
        visits.extend((0..100).map(|i| visit(&format!("B{i}"), 200, 300)));
        let edges = inferred_edges(&visits, at(300));
        assert_eq!(edges.len(), 100);
        assert!(edges.iter().all(|((from, _), n)| from == "A99" && *n == 1));
    }

    #[test]
    fn no_visits_is_no_path() {
        let path = critical_path(&[], at(0));
        assert!(path.visits.is_empty() && path.shares.is_empty());
        assert_eq!(parallelism(&[], at(0), at(0)).peak, 0);
        assert!(lanes(&[], at(0)).is_empty());
    }

    /// `visits` with start seqs 1, 2, … and the given parents (by position).
    fn linked(mut visits: Vec<NodeVisit>, links: &[(usize, usize)]) -> Vec<NodeVisit> {
        for (i, v) in visits.iter_mut().enumerate() {
            v.start_seq = Some(i as i64 + 1);
        }
        for &(parent, child) in links {
            visits[child].parents.push(parent as i64 + 1);
        }
        visits
    }

    /// Plan, then Fetch (slow, its result unused) beside Summarize, then a
    /// Report that the producer says follows Summarize only.
    fn side_task() -> Vec<NodeVisit> {
        vec![
            visit("Plan", 0, 100),
            visit("Fetch", 100, 600),
            visit("Summarize", 100, 300),
            visit("Report", 610, 700),
        ]
    }

    #[test]
    fn named_parents_decide_the_critical_path_and_the_edges() {
        // Read off the timeline, Report waited for Fetch (it ended last
        // before Report started).
        let guessed = critical_path(&side_task(), at(700));
        assert_eq!(guessed.visits, [0, 1, 3]);
        let visits = linked(side_task(), &[(0, 1), (0, 2), (2, 3)]);
        let path = critical_path(&visits, at(700));
        assert_eq!(path.visits, [0, 2, 3], "Plan, Summarize, Report");
        // Nothing follows Fetch: it could have run until the run's end.
        assert_eq!(path.slack_ms, [0.0, 100.0, 0.0, 0.0]);
        let edges: Vec<(String, String)> = inferred_edges(&visits, at(700))
            .into_iter()
            .map(|(edge, _)| edge)
            .collect();
        let edge = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(
            edges,
            [
                edge("Plan", "Fetch"),
                edge("Plan", "Summarize"),
                edge("Summarize", "Report")
            ]
        );
    }

    #[test]
    fn slack_over_named_parents_is_how_late_a_visit_could_end_without_delaying_what_follows() {
        // A join after three branches, each named: C could have ended at
        // 900 (when the join started), A likewise.
        let visits = linked(fork_join(), &[(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4)]);
        let path = critical_path(&visits, at(1_000));
        assert_eq!(path.visits, [0, 2, 4]);
        assert_eq!(path.slack_ms, [0.0, 600.0, 0.0, 400.0, 0.0]);
    }

    #[test]
    fn a_parent_that_started_after_its_child_is_ignored_so_links_cannot_loop() {
        // Plan names Report (which starts later) and Report names Plan: only
        // the link back in time counts.
        let visits = linked(side_task(), &[(3, 0), (0, 3)]);
        let links = causal_parents(&visits).unwrap();
        let parents: Vec<&[usize]> = (0..4).map(|i| links.of(i)).collect();
        assert_eq!(parents, [&[][..], &[], &[], &[0]]);
        let path = critical_path(&visits, at(700));
        assert_eq!(path.visits, [0, 3]);
    }
}
