//! The run list's SQL, built once for both backends (#16): pages by keyset
//! (`ListCursor`), each an index range scan whatever its depth, and a total
//! that never walks more than `MAX_COUNTED_RUNS` runs.
//!
//! Sorting by duration reads in two parts, finished runs (slowest first) and
//! then the runs without a duration, so that each part is one range of an
//! index (migration 0009) rather than an OR the planners cannot range-scan.

use super::filters::{push_run_filter, Dialect, Window};
use super::search::SearchHits;
use app::model::{ExecutionFilter, ExecutionStatus, ListSort, MAX_COUNTED_RUNS};
use sqlx::{Database, Encode, QueryBuilder, Type};

/// One part of a page.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PagePart {
    /// By start, newest first.
    Newest,
    /// Runs with a duration, slowest first.
    Durations,
    /// Runs without one (still running), newest first: they sort last.
    WithoutDuration,
    /// The page an `offset` names, the whole order at once (bounded by
    /// `MAX_LIST_OFFSET`).
    Offset,
}

/// The parts a page of `filter` reads, in order, until it has enough rows.
pub fn page_parts(filter: &ExecutionFilter) -> Vec<PagePart> {
    match (filter.sort, &filter.cursor) {
        (ListSort::Newest, _) => vec![PagePart::Newest],
        (ListSort::Slowest, _) if filter.offset > 0 => vec![PagePart::Offset],
        (ListSort::Slowest, Some(cursor)) if cursor.duration_ms.is_none() => vec![PagePart::WithoutDuration],
        (ListSort::Slowest, _) => vec![PagePart::Durations, PagePart::WithoutDuration],
    }
}

/// One part of a page: at most `limit` runs after the filter's cursor.
/// `select` is the statement's head up to its FROM (`SELECT columns`, or the
/// same behind `EXPLAIN`); `hits`, the runs the filter's search matched;
/// `counted`, what `count_query` found (more than `MAX_COUNTED_RUNS`: a
/// wide window, see `Window::Checked`).
pub fn page_query<'a, DB>(
    filter: &'a ExecutionFilter,
    hits: Option<&'a SearchHits>,
    select: &str,
    part: PagePart,
    limit: i64,
    counted: i64,
    dialect: &Dialect,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
    f64: Encode<'a, DB> + Type<DB>,
{
    // Offset pages keep the planners' choice: their order (NULLS LAST on
    // PostgreSQL) is no index's, and the offset bounds them.
    let by_duration = matches!(part, PagePart::Durations | PagePart::WithoutDuration);
    let window = if by_duration && counted > MAX_COUNTED_RUNS {
        Window::Checked
    } else {
        Window::Indexed
    };
    // The page is picked from its sort and filter columns first, and only
    // the page's runs are read whole, when picking it reads many more runs
    // than it keeps:
    // - a search's runs are read by key, thousands of them for a common
    //   word (their rows hold long payload columns that sit before `error`
    //   and `last_seq`);
    // - on PostgreSQL, a checked window passes over the duration index's
    //   runs outside it, and a plain index scan checks its filter on each
    //   run's row (`Dialect::filters_index_entries`), one heap page per run
    //   passed: at 3 million runs a page by duration over the last 30 days
    //   read 1,066 pages (44 ms, cold) to keep 51, where picking it is an
    //   index-only scan (BENCHMARKS.md).
    let pick_first = hits.is_some() || (window == Window::Checked && !dialect.filters_index_entries);
    let mut q = QueryBuilder::new(select);
    if pick_first {
        q.push(" FROM executions WHERE execution_id IN (SELECT execution_id");
    }
    super::search::push_from(&mut q, hits, dialect);
    push_run_filter(&mut q, filter, hits, dialect, window);
    let cursor = filter.cursor.as_ref();
    let order = match part {
        PagePart::Newest | PagePart::WithoutDuration => {
            if part == PagePart::WithoutDuration {
                q.push(" AND total_duration_ms IS NULL");
            }
            // A cursor among the runs with a duration starts this part at
            // its beginning.
            if let Some(c) = cursor.filter(|c| c.duration_ms.is_none()) {
                q.push(" AND (start_time, execution_id) < (")
                    .push_bind(c.start_micros)
                    .push(", ")
                    .push_bind(c.execution_id.as_str())
                    .push(")");
            }
            " ORDER BY start_time DESC, execution_id DESC"
        }
        PagePart::Durations => {
            q.push(" AND total_duration_ms IS NOT NULL");
            if let Some((c, duration)) = cursor.and_then(|c| c.duration_ms.map(|d| (c, d))) {
                q.push(" AND (total_duration_ms, start_time, execution_id) < (")
                    .push_bind(duration)
                    .push(", ")
                    .push_bind(c.start_micros)
                    .push(", ")
                    .push_bind(c.execution_id.as_str())
                    .push(")");
            }
            " ORDER BY total_duration_ms DESC, start_time DESC, execution_id DESC"
        }
        PagePart::Offset => super::order_by(filter.sort),
    };
    q.push(order);
    q.push(" LIMIT ").push_bind(limit);
    if part == PagePart::Offset || (part == PagePart::Newest && filter.offset > 0) {
        q.push(" OFFSET ").push_bind(i64::from(filter.offset));
    }
    if pick_first {
        q.push(")").push(order);
    }
    q
}

/// Whether the hourly run aggregates can count `filter`'s runs: they know
/// graph type and status, not ids, metadata or times inside an hour.
fn counted_by_aggregates(filter: &ExecutionFilter) -> bool {
    filter.id_contains.is_none()
        && filter.q.is_none()
        && filter.metadata.is_empty()
        && filter.start_time.is_none()
        && filter.end_time.is_none()
}

/// The count behind a list's `total`: from the aggregates (finished runs)
/// plus the running runs where the filter allows, else the matching runs
/// counted up to `MAX_COUNTED_RUNS + 1`.
pub fn count_query<'a, DB>(
    filter: &'a ExecutionFilter,
    hits: Option<&'a SearchHits>,
    dialect: &Dialect,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    if !counted_by_aggregates(filter) {
        let mut q = QueryBuilder::new("SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT 1");
        super::search::push_from(&mut q, hits, dialect);
        push_run_filter(&mut q, filter, hits, dialect, Window::Indexed);
        q.push(" LIMIT ").push_bind(MAX_COUNTED_RUNS + 1).push(") AS c");
        return q;
    }
    // With no window, the week sums (`aggregate_levels`) hold the same
    // counts in a 168th of the rows.
    let mut q = QueryBuilder::new("SELECT CAST((SELECT COALESCE(SUM(runs), 0) FROM run_stats_weeks WHERE ");
    match filter.status {
        // The aggregates hold finished runs only.
        Some(ExecutionStatus::Running) => q.push("1 = 0"),
        Some(status) => q.push("status = ").push_bind(status.as_str()),
        None => q.push("1 = 1"),
    };
    if let Some(graph_type) = &filter.graph_type {
        q.push(" AND graph_type = ").push_bind(graph_type.as_str());
    }
    q.push(") + (SELECT COUNT(*) FROM executions WHERE status = 'running'");
    if matches!(filter.status, Some(s) if s != ExecutionStatus::Running) {
        q.push(" AND 1 = 0");
    }
    if let Some(graph_type) = &filter.graph_type {
        q.push(" AND graph_type = ").push_bind(graph_type.as_str());
    }
    q.push(") AS BIGINT)");
    q
}

/// The count behind the `total` when `filter` narrows the runs by its
/// search alone: the runs the search matched, with no count of the runs
/// table. `None` when `count_query` must count them.
pub fn counted_by_search(filter: &ExecutionFilter, hits: Option<&SearchHits>) -> Option<i64> {
    let only_searched = filter.graph_type.is_none()
        && filter.status.is_none()
        && filter.id_contains.is_none()
        && filter.metadata.is_empty()
        && filter.start_time.is_none()
        && filter.end_time.is_none();
    hits.filter(|_| only_searched).map(|h| h.count)
}

/// The `total` and whether it is a lower bound, from the count (of
/// `counted_by_search` or `count_query`) and the search's hits, which are
/// a lower bound when they reached their cap.
pub fn total(filter: &ExecutionFilter, counted: i64, hits: Option<&SearchHits>) -> (i64, bool) {
    let searched_capped = hits.is_some_and(|h| h.capped);
    if !counted_by_aggregates(filter) && counted > MAX_COUNTED_RUNS {
        (MAX_COUNTED_RUNS, true)
    } else {
        (counted, searched_capped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::ListCursor;

    #[test]
    fn sorting_by_duration_reads_finished_runs_then_the_rest() {
        let slowest = ExecutionFilter {
            sort: ListSort::Slowest,
            ..ExecutionFilter::default()
        };
        assert_eq!(
            page_parts(&slowest),
            [PagePart::Durations, PagePart::WithoutDuration]
        );
        let past_the_finished = ExecutionFilter {
            cursor: Some(ListCursor::after(&slowest, 5, None, "r")),
            ..slowest.clone()
        };
        assert_eq!(page_parts(&past_the_finished), [PagePart::WithoutDuration]);
        let newest = ExecutionFilter::default();
        assert_eq!(page_parts(&newest), [PagePart::Newest]);
    }

    #[test]
    fn a_total_is_capped_only_where_runs_are_counted_one_by_one() {
        let plain = ExecutionFilter::default();
        assert_eq!(total(&plain, 2_000_000, None), (2_000_000, false));
        let by_id = ExecutionFilter {
            id_contains: Some("a".into()),
            ..ExecutionFilter::default()
        };
        assert_eq!(
            total(&by_id, MAX_COUNTED_RUNS + 1, None),
            (MAX_COUNTED_RUNS, true)
        );
        assert_eq!(total(&by_id, 12, None), (12, false));
    }
}
