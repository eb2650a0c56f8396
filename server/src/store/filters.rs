//! WHERE clauses shared by both backends: the run-list filter and the
//! statistics' hour filter, written once over sqlx's generic query builder.

use super::time::{hour_of, to_micros};
use app::model::{ExecutionFilter, StatisticsFilter};
use sqlx::{Database, Encode, QueryBuilder, Type};

/// Appends `WHERE …` for `f`. `contains` opens the backend's substring test
/// (`instr(execution_id, ` on SQLite, `strpos(execution_id, ` on PostgreSQL),
/// closed here with `) > 0`.
pub fn push_run_filter<'a, DB>(q: &mut QueryBuilder<'a, DB>, f: &'a ExecutionFilter, contains: &str)
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    q.push(" WHERE 1 = 1");
    if let Some(graph_type) = &f.graph_type {
        q.push(" AND graph_type = ").push_bind(graph_type.as_str());
    }
    if let Some(status) = f.status {
        q.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(start) = &f.start_time {
        q.push(" AND start_time >= ").push_bind(to_micros(start));
    }
    if let Some(end) = &f.end_time {
        q.push(" AND start_time <= ").push_bind(to_micros(end));
    }
    if let Some(id) = &f.id_contains {
        q.push(" AND ")
            .push(contains)
            .push_bind(id.as_str())
            .push(") > 0");
    }
}

/// The runs statistics for `f` cover, as a run-list filter.
pub fn runs_of(f: &StatisticsFilter) -> ExecutionFilter {
    ExecutionFilter {
        graph_type: f.graph_type.clone(),
        start_time: f.start_time,
        end_time: f.end_time,
        ..ExecutionFilter::default()
    }
}

/// Appends `WHERE …` selecting the hourly node statistics `f` covers.
pub fn push_hour_filter<'a, DB>(q: &mut QueryBuilder<'a, DB>, f: &'a StatisticsFilter)
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    q.push(" WHERE 1 = 1");
    if let Some(graph_type) = &f.graph_type {
        q.push(" AND graph_type = ").push_bind(graph_type.as_str());
    }
    if let Some(start) = &f.start_time {
        q.push(" AND hour >= ").push_bind(hour_of(start));
    }
    if let Some(end) = &f.end_time {
        q.push(" AND hour <= ").push_bind(hour_of(end));
    }
}
