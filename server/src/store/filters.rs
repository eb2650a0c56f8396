//! WHERE clauses shared by both backends: the run-list filter and the runs
//! a statistics filter selects, written once over sqlx's generic query
//! builder.

use super::search::SearchHits;
use super::time::to_micros;
use app::model::{ExecutionFilter, StatisticsFilter};
use app::search::SearchQuery;
use sqlx::{Database, Encode, QueryBuilder, Type};

/// How a backend spells the two tests the run filter needs.
pub struct Dialect {
    /// Opens the substring test on the run id, closed here with `) > 0`.
    pub contains: &'static str,
    /// Opens the text of a metadata field given as a bound JSON key (see
    /// `metadata_key`), closed here with `)`.
    pub metadata_text: &'static str,
    /// Whether the bound key is a JSON path (`$."key"`, SQLite) or the key
    /// itself (PostgreSQL's `->>`).
    pub key_as_path: bool,
    /// A FROM item with one row `c` per `[node_id, ms]` entry of the
    /// `critical_nodes` column of the runs named `e`.
    pub critical_elements: &'static str,
    /// The node id of such an entry.
    pub critical_node: &'static str,
    /// Its ms, as a float.
    pub critical_ms: &'static str,
    /// The SQL around a bound search (`search_literal`) and a bound limit
    /// that selects the newest matching documents' `doc_id, run_key`.
    pub matching_docs: (&'static str, &'static str, &'static str),
    /// The search as the backend's index reads it.
    pub search_literal: fn(&SearchQuery) -> String,
    /// The `execution_id`s of the matched runs `x` (each once) as a JSON
    /// array of strings (`[]` for none).
    pub run_ids_json: &'static str,
    /// How a search narrows the runs (`store::search::push_from`).
    pub search_runs: SearchRuns,
    /// Whether an index scan tests a filter on the index's own columns
    /// before it reads the row: SQLite does (it defers a row's seek until a
    /// column outside the index is needed); PostgreSQL's plain index scans
    /// read the row first (`run_list::page_query`).
    pub filters_index_entries: bool,
}

/// How a backend is made to read a search's runs by their ids (bounded by
/// the matches) rather than scan every run and test each against the
/// matches, which its planner would otherwise choose for some estimates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SearchRuns {
    /// `FROM (matches) CROSS JOIN executions`: SQLite keeps the left side of
    /// a CROSS JOIN as the outer loop.
    CrossJoin,
    /// `execution_id = ANY(ARRAY(matches))`: PostgreSQL reads the array
    /// through the primary key (a join let it hash a scan of every run).
    /// The matches are a bound JSON array (`search::SearchHits`).
    AnyOfArray,
}

pub const SQLITE: Dialect = Dialect {
    contains: "instr(execution_id, ",
    metadata_text: "CAST(json_extract(metadata, ",
    key_as_path: true,
    critical_elements: "json_each(e.critical_nodes) AS c",
    critical_node: "json_extract(c.value, '$[0]')",
    critical_ms: "CAST(json_extract(c.value, '$[1]') AS REAL)",
    // FTS5's index holds only the document ids (its rowids).
    matching_docs: (
        "SELECT doc_id, run_key FROM search_docs WHERE doc_id IN \
         (SELECT rowid FROM search_words WHERE search_words MATCH ",
        " ORDER BY rowid DESC LIMIT ",
        ")",
    ),
    search_literal: SearchQuery::fts_match,
    run_ids_json: "json_group_array(x.execution_id)",
    search_runs: SearchRuns::CrossJoin,
    filters_index_entries: true,
};

pub const POSTGRES: Dialect = Dialect {
    contains: "strpos(execution_id, ",
    metadata_text: "(metadata::jsonb ->> ",
    key_as_path: false,
    critical_elements: "jsonb_array_elements(e.critical_nodes::jsonb) AS c",
    critical_node: "(c ->> 0)",
    critical_ms: "(c ->> 1)::FLOAT8",
    matching_docs: (
        "SELECT doc_id, run_key FROM search_docs WHERE words @@ CAST(",
        " AS tsquery) ORDER BY doc_id DESC LIMIT ",
        "",
    ),
    search_literal: SearchQuery::tsquery_literal,
    run_ids_json: "COALESCE(CAST(json_agg(x.execution_id) AS TEXT), '[]')",
    search_runs: SearchRuns::AnyOfArray,
    filters_index_entries: false,
};

/// Whether a start-time window may choose the index a statement reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Window {
    /// As the planner likes: counts, statistics, pages by start time.
    Indexed,
    /// Kept out of the index choice (`+start_time`, on both backends): a
    /// page by duration over a window of more than `MAX_COUNTED_RUNS` runs
    /// walks the duration index and checks each run's start there (the
    /// index holds it). Planners otherwise pick the start-time range and
    /// sort the whole window for one page: 140 ms at 300,000 runs on
    /// SQLite, growing with the window (BENCHMARKS.md).
    Checked,
}

/// Appends `WHERE …` for `f` in the backend's `dialect`; `hits` are the
/// runs its search matched (none without a search).
pub fn push_run_filter<'a, DB>(
    q: &mut QueryBuilder<'a, DB>,
    f: &'a ExecutionFilter,
    hits: Option<&'a SearchHits>,
    dialect: &Dialect,
    window: Window,
) where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    q.push(" WHERE 1 = 1");
    if let Some(graph_type) = &f.graph_type {
        q.push(" AND graph_type = ").push_bind(graph_type.as_str());
    }
    if let Some(status) = f.status {
        q.push(" AND status = ").push_bind(status.as_str());
    }
    let start_time = match window {
        Window::Indexed => " AND start_time",
        Window::Checked => " AND +start_time",
    };
    if let Some(start) = &f.start_time {
        q.push(start_time).push(" >= ").push_bind(to_micros(start));
    }
    if let Some(end) = &f.end_time {
        q.push(start_time).push(" <= ").push_bind(to_micros(end));
    }
    if let Some(id) = &f.id_contains {
        q.push(" AND ")
            .push(dialect.contains)
            .push_bind(id.as_str())
            .push(") > 0");
    }
    if let (Some(hits), SearchRuns::AnyOfArray) = (hits, dialect.search_runs) {
        q.push(" AND execution_id = ANY(ARRAY(SELECT jsonb_array_elements_text(CAST(")
            .push_bind(hits.runs.as_str())
            .push(" AS JSONB))))");
    }
    for (key, value) in &f.metadata {
        // Keys are checked at the edge (no quotes or backslashes), so the
        // quoted path names exactly that key, dots included.
        let key = if dialect.key_as_path {
            format!("$.\"{key}\"")
        } else {
            key.clone()
        };
        q.push(" AND ")
            .push(dialect.metadata_text)
            .push_bind(key)
            .push(if dialect.key_as_path { ") AS TEXT)" } else { ")" })
            .push(" = ")
            .push_bind(value.as_str());
    }
}

/// The runs statistics for `f` cover, as a run-list filter.
pub fn runs_of(f: &StatisticsFilter) -> ExecutionFilter {
    ExecutionFilter {
        graph_type: f.graph_type.clone(),
        start_time: f.start_time,
        end_time: f.end_time,
        metadata: f.metadata.clone(),
        ..ExecutionFilter::default()
    }
}
