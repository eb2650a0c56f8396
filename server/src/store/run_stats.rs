//! Run statistics that cost what the window holds in hours, not in runs
//! (#16): the hourly aggregates of migration 0008 answer every whole hour of
//! finished runs; the runs they do not hold are read one by one through the
//! `run_contributions` view, which gives each run's share in the same shape:
//!
//! - runs still running (the aggregates count finished runs only, since a
//!   running run changes with every batch; the index on status finds them);
//! - finished runs in the partial hours at a window's edges (at most two
//!   hours of runs);
//! - with a metadata filter, which the aggregates cannot answer, the newest
//!   [`MAX_EXACT_RUNS`] matching runs (the answer says so).
//!
//! The SQL is built here once for both backends; the backends only run it.

use super::aggregate_levels::{check_queries as check_levels, push_rows};
use super::filters::{push_run_filter, runs_of, Dialect, Window};
use super::time::{bucket_hours, hour_bucket_sql, hour_of, start_bucket, to_micros};
use app::model::{ExecutionFilter, StatisticsFilter, MAX_CRITICAL_PATH_NODES};
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};

/// Most runs a statistics request reads one by one when a filter (metadata)
/// keeps it from the aggregates: the newest ones.
pub const MAX_EXACT_RUNS: i64 = 100_000;

/// Microseconds in an hour.
const HOUR: i64 = 3_600_000_000;

/// Which runs of an exactly read window part count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Part {
    /// Only running runs.
    Running,
    /// Only finished runs.
    Finished,
    /// Every run.
    Any,
}

/// Where each run of a statistics request is read from.
#[derive(Clone, Debug, PartialEq)]
pub struct StatsPlan {
    /// The graph type filter, for the aggregate tables.
    pub graph_type: Option<String>,
    /// Whole hours of finished runs read from the aggregates: first and
    /// last, either end open; `None` when none are.
    pub hours: Option<(Option<i64>, Option<i64>)>,
    /// Runs read one by one: each part is a run filter and which runs of it
    /// count. Never empty.
    pub exact: Vec<(ExecutionFilter, Part)>,
    /// With a metadata filter: at most this many runs, newest first.
    pub newest: Option<i64>,
}

/// The hour a stored time falls in (floor), as the SQL of migration 0008
/// computes it.
fn hour_floor(micros: i64) -> i64 {
    micros.div_euclid(HOUR)
}

fn from_micros(micros: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
}

/// Splits `filter`'s window into whole hours (aggregates) and runs read one
/// by one.
pub fn plan(filter: &StatisticsFilter) -> StatsPlan {
    let runs = runs_of(filter);
    if !filter.metadata.is_empty() {
        return StatsPlan {
            graph_type: filter.graph_type.clone(),
            hours: None,
            exact: vec![(runs, Part::Any)],
            newest: Some(MAX_EXACT_RUNS),
        };
    }
    let start = filter.start_time.as_ref().map(to_micros);
    let end = filter.end_time.as_ref().map(to_micros);
    // The first hour that starts at or after `start`, and the last that ends
    // at or before `end` (both bounds are inclusive).
    let first = start.map(|s| hour_floor(s) + i64::from(s.rem_euclid(HOUR) != 0));
    let last = end.map(|e| hour_floor(e.saturating_add(1)) - 1);
    if let (Some(f), Some(l)) = (first, last) {
        if f > l {
            // Less than a whole hour: every run of the window, one by one.
            return StatsPlan {
                graph_type: filter.graph_type.clone(),
                hours: None,
                exact: vec![(runs, Part::Any)],
                newest: None,
            };
        }
    }
    let within = |from: Option<i64>, to: Option<i64>| ExecutionFilter {
        start_time: from.and_then(from_micros),
        end_time: to.and_then(from_micros),
        ..runs.clone()
    };
    let mut exact = vec![(runs.clone(), Part::Running)];
    if let (Some(s), Some(f)) = (start, first) {
        if s < f * HOUR {
            exact.push((within(Some(s), Some(f * HOUR - 1)), Part::Finished));
        }
    }
    if let (Some(e), Some(l)) = (end, last) {
        if e >= (l + 1) * HOUR {
            exact.push((within(Some((l + 1) * HOUR), Some(e)), Part::Finished));
        }
    }
    StatsPlan {
        graph_type: filter.graph_type.clone(),
        hours: Some((first, last)),
        exact,
        newest: None,
    }
}

/// The columns of `run_contributions` the statistics read.
const EXACT_COLUMNS: &str = "hour, status, start_time, nodes, cached, llm_calls, tokens, parallel_runs, \
     total_duration_ms, duration_bucket, parallelism, parallelism_bucket, critical_nodes";

/// Appends the runs read one by one, as a subquery named `e`.
fn push_exact<'a, DB>(q: &mut QueryBuilder<'a, DB>, plan: &'a StatsPlan, dialect: &Dialect)
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    q.push(" (");
    for (i, (filter, part)) in plan.exact.iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push(format!("SELECT {EXACT_COLUMNS} FROM run_contributions"));
        push_run_filter(q, filter, None, dialect, Window::Indexed);
        q.push(match part {
            Part::Running => " AND status = 'running'",
            Part::Finished => " AND status <> 'running'",
            Part::Any => "",
        });
    }
    if let Some(newest) = plan.newest {
        q.push(" ORDER BY start_time DESC LIMIT ").push_bind(newest);
    }
    q.push(") AS e");
}

/// The SQL of a row's time bucket: its hour rounded down to `width` hours,
/// or one bucket for everything when `width` is 0.
pub fn time_bucket_sql(width: i64) -> String {
    if width > 0 {
        hour_bucket_sql(width)
    } else {
        "CAST(0 AS BIGINT)".into()
    }
}

/// Runs per time bucket and status: `time_bucket, status, runs, nodes,
/// cached, llm_calls (float), tokens (float), parallel_runs`.
pub fn runs_query<'a, DB>(plan: &'a StatsPlan, width: i64, dialect: &Dialect) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(format!(
        "SELECT {} AS time_bucket, status, CAST(SUM(runs) AS BIGINT) AS runs, \
         CAST(SUM(nodes) AS BIGINT) AS nodes, CAST(SUM(cached) AS BIGINT) AS cached, \
         CAST(SUM(llm_calls) AS DOUBLE PRECISION) AS llm_calls, \
         CAST(SUM(tokens) AS DOUBLE PRECISION) AS tokens, \
         CAST(SUM(parallel_runs) AS BIGINT) AS parallel_runs FROM (",
        time_bucket_sql(width)
    ));
    if let Some(hours) = plan.hours {
        push_rows(
            &mut q,
            "run_stats",
            "hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs",
            plan.graph_type.as_deref(),
            hours,
            width,
            "",
        );
        q.push(" UNION ALL ");
    }
    // Floats, as in the aggregates: a sum of producer counts never overflows.
    q.push(
        "SELECT hour, status, 1 AS runs, nodes, cached, CAST(llm_calls AS DOUBLE PRECISION) AS llm_calls, \
         CAST(tokens AS DOUBLE PRECISION) AS tokens, parallel_runs FROM",
    );
    push_exact(&mut q, plan, dialect);
    q.push(") AS u GROUP BY 1, 2 HAVING SUM(runs) <> 0");
    q
}

/// A run histogram per time bucket: `time_bucket, bucket, count` of
/// `measure` (`duration` or `parallelism`).
pub fn buckets_query<'a, DB>(
    plan: &'a StatsPlan,
    width: i64,
    measure: Measure,
    dialect: &Dialect,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let (name, value, bucket) = match measure {
        Measure::Duration => ("duration", "total_duration_ms", "duration_bucket"),
        Measure::Parallelism => ("parallelism", "parallelism", "parallelism_bucket"),
    };
    let mut q = QueryBuilder::new(format!(
        "SELECT {} AS time_bucket, bucket, CAST(SUM(count) AS BIGINT) AS count FROM (",
        time_bucket_sql(width)
    ));
    if let Some(hours) = plan.hours {
        let measure = format!(" AND measure = '{name}'");
        push_rows(
            &mut q,
            "run_buckets",
            "hour, bucket, count",
            plan.graph_type.as_deref(),
            hours,
            width,
            &measure,
        );
        q.push(" UNION ALL ");
    }
    q.push(format!("SELECT hour, {bucket} AS bucket, 1 AS count FROM"));
    push_exact(&mut q, plan, dialect);
    q.push(format!(
        " WHERE {value} IS NOT NULL AND status <> 'running') AS u GROUP BY 1, 2 HAVING SUM(count) <> 0"
    ));
    q
}

/// Which run histogram.
#[derive(Clone, Copy, Debug)]
pub enum Measure {
    /// `total_duration_ms`.
    Duration,
    /// The run's average parallelism.
    Parallelism,
}

/// The node types most often on the critical paths: `node_id, runs, ms`,
/// most runs first, at most `MAX_CRITICAL_PATH_NODES`.
pub fn critical_nodes_query<'a, DB>(plan: &'a StatsPlan, dialect: &Dialect) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "SELECT node_id, CAST(SUM(runs) AS BIGINT) AS runs, CAST(SUM(ms) AS DOUBLE PRECISION) AS ms FROM (",
    );
    if let Some(hours) = plan.hours {
        // Totals only: one bucket for everything.
        push_rows(
            &mut q,
            "critical_path_stats",
            "node_id, runs, ms",
            plan.graph_type.as_deref(),
            hours,
            0,
            "",
        );
        q.push(" UNION ALL ");
    }
    q.push(format!(
        "SELECT {} AS node_id, 1 AS runs, {} AS ms FROM",
        dialect.critical_node, dialect.critical_ms
    ));
    push_exact(&mut q, plan, dialect);
    q.push(format!(
        ", {} WHERE e.critical_nodes IS NOT NULL AND e.status <> 'running') AS u \
         GROUP BY node_id HAVING SUM(runs) > 0 ORDER BY 2 DESC, 1 LIMIT {MAX_CRITICAL_PATH_NODES}",
        dialect.critical_elements
    ));
    q
}

/// The first and last start among the runs the plan covers:
/// `first_start, last_start`.
pub fn start_range_query<'a, DB>(
    plan: &'a StatsPlan,
    runs: &'a ExecutionFilter,
    dialect: &Dialect,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    if plan.newest.is_some() {
        let mut q =
            QueryBuilder::new("SELECT MIN(start_time) AS first_start, MAX(start_time) AS last_start FROM");
        push_exact(&mut q, plan, dialect);
        return q;
    }
    // Two subqueries: each is one step down an index, where one query asking
    // for both would scan every matching run (SQLite's min/max optimisation
    // takes a single aggregate only).
    let mut q = QueryBuilder::new("SELECT (SELECT MIN(start_time) FROM executions");
    push_run_filter(&mut q, runs, None, dialect, Window::Indexed);
    q.push(") AS first_start, (SELECT MAX(start_time) FROM executions");
    push_run_filter(&mut q, runs, None, dialect, Window::Indexed);
    q.push(") AS last_start");
    q
}

/// The hours of node-type figures for `filter`: node visits are kept per
/// hour their run started in, so a window counts the hours it touches.
fn node_hours(filter: &StatisticsFilter) -> (Option<i64>, Option<i64>) {
    (
        filter.start_time.as_ref().map(hour_of),
        filter.end_time.as_ref().map(hour_of),
    )
}

/// The condition on node-type rows beyond their hours: none, or "none
/// match". The hourly aggregates do not know run metadata: with a metadata
/// filter they cannot answer, and say nothing rather than something about
/// other runs (`Statistics::node_types_left_out`). A window that ends before
/// it starts holds nothing, even when both ends fall in one hour.
fn node_rows_match(filter: &StatisticsFilter) -> &'static str {
    let inverted = matches!((&filter.start_time, &filter.end_time), (Some(s), Some(e)) if e < s);
    if filter.metadata.is_empty() && !inverted {
        ""
    } else {
        " AND 1 = 0"
    }
}

/// Per node type: `node_id, visits, failed, cached`, ordered by node type.
pub fn node_counts_query<'a, DB>(filter: &'a StatisticsFilter) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "SELECT node_id, CAST(SUM(visits) AS BIGINT) AS visits, CAST(SUM(failed) AS BIGINT) AS failed, \
         CAST(SUM(cached) AS BIGINT) AS cached FROM (",
    );
    push_rows(
        &mut q,
        "node_stats",
        "node_id, visits, failed, cached",
        filter.graph_type.as_deref(),
        node_hours(filter),
        0,
        node_rows_match(filter),
    );
    q.push(
        ") AS r GROUP BY node_id HAVING SUM(visits) <> 0 OR SUM(failed) <> 0 OR SUM(cached) <> 0 \
         ORDER BY node_id",
    );
    q
}

/// The node histograms per time bucket: `time_bucket, node_id, bucket,
/// count`. One read serves the figures over time and, summed, the totals
/// per node type (a second grouped scan cost as much again).
pub fn node_series_query<'a, DB>(filter: &'a StatisticsFilter, width: i64) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(format!(
        "SELECT {} AS time_bucket, node_id, bucket, CAST(SUM(count) AS BIGINT) AS count FROM (",
        time_bucket_sql(width)
    ));
    push_rows(
        &mut q,
        "node_duration_buckets",
        "hour, node_id, bucket, count",
        filter.graph_type.as_deref(),
        node_hours(filter),
        width,
        node_rows_match(filter),
    );
    q.push(") AS r GROUP BY 1, 2, 3 HAVING SUM(count) <> 0");
    q
}

/// Per node type and histogram bucket, the visits of all time buckets:
/// `(node_id, bucket, count)` ordered by node and bucket.
pub fn node_totals(series: &[(i64, String, i32, i64)]) -> Vec<(String, i32, i64)> {
    let mut totals: std::collections::BTreeMap<(&str, i32), i64> = std::collections::BTreeMap::new();
    for (_, node_id, bucket, count) in series {
        *totals.entry((node_id.as_str(), *bucket)).or_default() += count;
    }
    totals
        .into_iter()
        .map(|((node_id, bucket), count)| (node_id.to_owned(), bucket, count))
        .collect()
}

/// The time buckets for runs that started between `first` and `last`
/// (stored microseconds): their width in hours and the first and last bucket.
pub fn time_buckets(first: i64, last: i64) -> (i64, (i64, i64)) {
    let width = bucket_hours(first, last);
    (width, (start_bucket(first, width), start_bucket(last, width)))
}

/// An unused value of a check row (typed, for PostgreSQL).
const ZERO: &str = "CAST(0 AS DOUBLE PRECISION)";

/// The values of one aggregate row, as `check_queries` read them.
pub type CheckRow = (String, f64, f64, f64, f64, f64, f64);

/// Recounts of the aggregate tables from the runs, for `tracevis check`:
/// `(table, recount query, stored query)`, each giving rows of a readable key
/// and six values (unused ones 0), ordered by key. Rows whose count went to
/// zero (every run in them removed or moved) are left out of both.
pub fn check_queries(dialect: &Dialect) -> Vec<(String, String, String)> {
    let f = |column: &str| format!("CAST({column} AS DOUBLE PRECISION)");
    let key = |columns: &[&str]| {
        columns
            .iter()
            .map(|c| format!("CAST({c} AS TEXT)"))
            .collect::<Vec<_>>()
            .join(" || '|' || ")
    };
    let finished = "status <> 'running'";
    let run_values = [
        "COUNT(*)",
        "SUM(nodes)",
        "SUM(cached)",
        "SUM(llm_calls)",
        "SUM(tokens)",
        "SUM(parallel_runs)",
    ]
    .map(f)
    .join(", ");
    let stored_run_values = ["runs", "nodes", "cached", "llm_calls", "tokens", "parallel_runs"]
        .map(f)
        .join(", ");
    let mut checks = vec![
        (
            "run_stats",
            format!(
                "SELECT {} AS k, {run_values} FROM run_contributions WHERE {finished} \
                 GROUP BY graph_type, hour, status ORDER BY 1",
                key(&["graph_type", "hour", "status"])
            ),
            format!(
                "SELECT {} AS k, {stored_run_values} FROM run_stats WHERE runs <> 0 ORDER BY 1",
                key(&["graph_type", "hour", "status"])
            ),
        ),
        (
            "run_buckets",
            format!(
                "SELECT k, {}, {ZERO}, {ZERO}, {ZERO}, {ZERO}, {ZERO} FROM (\
                 SELECT {} AS k FROM run_contributions WHERE {finished} AND total_duration_ms IS NOT NULL \
                 UNION ALL SELECT {} FROM run_contributions WHERE {finished} AND parallelism IS NOT NULL\
                 ) AS b GROUP BY k ORDER BY 1",
                f("COUNT(*)"),
                key(&["graph_type", "hour", "'duration'", "duration_bucket"]),
                key(&["graph_type", "hour", "'parallelism'", "parallelism_bucket"]),
            ),
            format!(
                "SELECT {} AS k, {}, {ZERO}, {ZERO}, {ZERO}, {ZERO}, {ZERO} FROM run_buckets WHERE count <> 0 ORDER BY 1",
                key(&["graph_type", "hour", "measure", "bucket"]),
                f("count")
            ),
        ),
        (
            "critical_path_stats",
            format!(
                "SELECT {} AS k, {}, {}, {ZERO}, {ZERO}, {ZERO}, {ZERO} FROM run_contributions AS e, {} \
                 WHERE e.{finished} AND e.critical_nodes IS NOT NULL GROUP BY 1 ORDER BY 1",
                key(&["e.graph_type", "e.hour", dialect.critical_node]),
                f("COUNT(*)"),
                f(&format!("SUM({})", dialect.critical_ms)),
                dialect.critical_elements,
            ),
            format!(
                "SELECT {} AS k, {}, {}, {ZERO}, {ZERO}, {ZERO}, {ZERO} FROM critical_path_stats WHERE runs <> 0 ORDER BY 1",
                key(&["graph_type", "hour", "node_id"]),
                f("runs"),
                f("ms")
            ),
        ),
    ]
    .into_iter()
    .map(|(table, recount, stored)| (table.to_owned(), recount, stored))
    .collect::<Vec<_>>();
    // The day and week sums of every aggregate table, recounted from its
    // hourly rows.
    let values = |vs: &[String]| {
        let mut list: Vec<String> = vs.iter().map(|v| f(v)).collect();
        list.resize(6, ZERO.to_owned());
        list.join(", ")
    };
    checks.extend(check_levels(key, values));
    checks
}

/// Compares a recount with the stored rows and describes each difference.
pub fn differences(table: &str, recount: &[CheckRow], stored: &[CheckRow]) -> Vec<String> {
    use std::collections::{BTreeMap, BTreeSet};
    let values = |r: &CheckRow| [r.1, r.2, r.3, r.4, r.5, r.6];
    let recount: BTreeMap<&str, [f64; 6]> = recount.iter().map(|r| (r.0.as_str(), values(r))).collect();
    let stored: BTreeMap<&str, [f64; 6]> = stored.iter().map(|r| (r.0.as_str(), values(r))).collect();
    let keys: BTreeSet<&&str> = recount.keys().chain(stored.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (a, b) = (recount.get(*key), stored.get(*key));
        let same = match (a, b) {
            // Sums of floats (ms) may differ in the last bits.
            (Some(a), Some(b)) => a
                .iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-9 * x.abs().max(1.0)),
            _ => false,
        };
        if !same {
            out.push(format!("{table} {key}: recounted {a:?}, stored {b:?}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 6, h, m, 0).unwrap()
    }

    fn window(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> StatisticsFilter {
        StatisticsFilter {
            start_time: start,
            end_time: end,
            ..StatisticsFilter::default()
        }
    }

    #[test]
    fn without_a_window_every_finished_run_comes_from_the_aggregates() {
        let plan = plan(&StatisticsFilter::default());
        assert_eq!(plan.hours, Some((None, None)));
        assert_eq!(plan.exact.len(), 1);
        assert_eq!(plan.exact[0].1, Part::Running);
    }

    #[test]
    fn partial_hours_at_the_edges_are_read_run_by_run() {
        let plan = plan(&window(Some(at(10, 30)), Some(at(14, 15))));
        let hour = |t: DateTime<Utc>| to_micros(&t) / HOUR;
        // 11:00 to 13:59:59.999999 are whole hours.
        assert_eq!(plan.hours, Some((Some(hour(at(11, 0))), Some(hour(at(13, 0))))));
        let edges: Vec<_> = plan.exact[1..]
            .iter()
            .map(|(f, part)| (f.start_time.unwrap(), f.end_time.unwrap(), *part))
            .collect();
        assert_eq!(edges[0].0, at(10, 30));
        assert_eq!(edges[0].1, at(11, 0) - chrono::Duration::microseconds(1));
        assert_eq!((edges[1].0, edges[1].1), (at(14, 0), at(14, 15)));
        assert!(edges.iter().all(|e| e.2 == Part::Finished));
    }

    #[test]
    fn a_window_on_hour_boundaries_reads_no_edges() {
        let end = at(14, 0) - chrono::Duration::microseconds(1);
        let plan = plan(&window(Some(at(10, 0)), Some(end)));
        let hour = |t: DateTime<Utc>| to_micros(&t) / HOUR;
        assert_eq!(plan.hours, Some((Some(hour(at(10, 0))), Some(hour(at(13, 0))))));
        assert_eq!(plan.exact.len(), 1, "running runs only");
    }

    #[test]
    fn less_than_an_hour_and_metadata_filters_read_every_run() {
        let short = plan(&window(Some(at(10, 10)), Some(at(10, 50))));
        assert_eq!(
            (short.hours, short.exact.len(), short.exact[0].1),
            (None, 1, Part::Any)
        );
        let meta = plan(&StatisticsFilter {
            metadata: vec![("env".into(), "prod".into())],
            ..StatisticsFilter::default()
        });
        assert_eq!((meta.hours, meta.newest), (None, Some(MAX_EXACT_RUNS)));
    }

    #[test]
    fn differences_name_the_rows_that_disagree() {
        let row = |k: &str, runs: f64| (k.to_string(), runs, 0.0, 0.0, 0.0, 0.0, 0.0);
        let a = vec![row("g|1|completed", 2.0), row("g|2|failed", 1.0)];
        let b = vec![row("g|1|completed", 2.0), row("g|3|failed", 1.0)];
        let diff = differences("run_stats", &a, &b);
        assert_eq!(diff.len(), 2, "{diff:?}");
        assert!(diff[0].contains("g|2|failed"));
        assert!(differences("run_stats", &a, &a).is_empty());
    }
}
