//! Search's storage side (#17), shared by both backends: which documents a
//! batch adds to the index, the FROM clause that narrows a run list to the
//! runs a query matched, and the excerpt of each hit. The words themselves
//! are cut by `app::search`; SQLite keeps them in FTS5 (`search_words`),
//! PostgreSQL as a `tsvector` with a GIN index (migration 0012).
//!
//! Why `tsvector` and not `pg_trgm` on PostgreSQL: a search is for words and
//! phrases (`"rate limit"`), which a tsvector answers from its positions and
//! FTS5 answers the same way, so both backends give the same runs; trigram
//! indexes answer substrings, need a recheck of every candidate's whole
//! payload against the pattern, and JSON payloads full of short words share
//! their trigrams: measured on 557,510 event outputs (BENCHMARKS.md), a word
//! took 2.5–6.3 s through a 309 MB trigram index (106,722 candidates to
//! recheck) against 11–117 ms through the `tsvector`.

use super::filters::{Dialect, SearchRuns};
use super::json_prefix::{parse_prefix, PREFIX_CHARS};
use app::diff::DiffEntry;
use app::error::TraceError;
use app::model::{JsonObject, NodeEvent, StateSnapshot};
use app::search::{
    event_text, run_text, snapshot_text, MatchPlace, SearchMatch, SearchQuery, MATCHES_PER_RUN,
};
use sqlx::{Database, Encode, QueryBuilder, Type};

/// A list with a query reads the runs of at most this many matching
/// documents, newest first: a word in every record of a year's runs must not
/// make one page read them all. `total_capped` says when the cap was reached.
pub const MAX_SEARCH_DOCS: i64 = 20_000;

/// One record's searchable text, to be indexed.
#[derive(Debug, PartialEq)]
pub struct SearchDoc {
    pub execution_id: String,
    pub place: MatchPlace,
    /// The record's seq; 0 for the run.
    pub seq: i64,
    pub node_id: Option<String>,
    pub text: String,
}

/// The documents of newly stored events: those with any text.
pub fn event_docs(events: &[NodeEvent]) -> Vec<SearchDoc> {
    events
        .iter()
        .map(|e| SearchDoc {
            execution_id: e.execution_id.clone(),
            place: MatchPlace::Event,
            seq: e.seq,
            node_id: Some(e.node_id.clone()),
            text: event_text(e.error.as_deref(), &e.inputs, &e.outputs),
        })
        .filter(|doc| !doc.text.is_empty())
        .collect()
}

/// The documents of newly stored snapshots: those that changed anything.
pub fn snapshot_docs(snapshots: &[StateSnapshot]) -> Vec<SearchDoc> {
    snapshots
        .iter()
        .map(|s| SearchDoc {
            execution_id: s.execution_id.clone(),
            place: MatchPlace::Snapshot,
            seq: s.seq,
            node_id: Some(s.node_id.clone()),
            text: snapshot_text(&s.state, s.diff.as_deref()),
        })
        .filter(|doc| !doc.text.is_empty())
        .collect()
}

/// A run's searchable columns, as stored.
#[derive(sqlx::FromRow)]
pub struct RunTextRow {
    pub error: Option<String>,
    pub original_inputs: String,
    pub final_state: Option<String>,
    pub metadata: String,
}

/// A run's searchable columns with its key, as the index reads them again.
#[derive(sqlx::FromRow)]
pub struct KeyedRunTextRow {
    pub run_key: i64,
    #[sqlx(flatten)]
    pub text: RunTextRow,
}

impl RunTextRow {
    /// The columns' searchable text. The columns may be whole or cut to
    /// their first `PREFIX_CHARS` characters (a search hit's excerpt).
    pub fn text(&self) -> Result<String, TraceError> {
        let final_state: Option<JsonObject> = self
            .final_state
            .as_deref()
            .map(|t| parse_prefix(t, "final_state"))
            .transpose()?;
        Ok(run_text(
            self.error.as_deref(),
            &parse_prefix(&self.original_inputs, "original_inputs")?,
            final_state.as_ref(),
            &parse_prefix(&self.metadata, "metadata")?,
        ))
    }
}

/// The run's own document (replacing the one before), or none when it has
/// no text.
pub fn run_doc(execution_id: &str, row: &RunTextRow) -> Result<Option<SearchDoc>, TraceError> {
    let text = row.text()?;
    Ok((!text.is_empty()).then(|| SearchDoc {
        execution_id: execution_id.to_owned(),
        place: MatchPlace::Run,
        seq: 0,
        node_id: None,
        text,
    }))
}

/// Selects the runs' records the documents stand for, for a matched
/// document `d` (see `HitRow`): the first `PREFIX_CHARS` characters of each
/// text, all an excerpt is cut from.
pub fn hit_columns() -> String {
    let n = PREFIX_CHARS;
    format!(
        "x.execution_id, d.place, d.seq, d.node_id, \
         substr(e.error, 1, {n}) AS event_error, substr(e.inputs, 1, {n}) AS event_inputs, \
         substr(e.outputs, 1, {n}) AS event_outputs, \
         substr(s.state, 1, {n}) AS snapshot_state, substr(s.diff, 1, {n}) AS snapshot_diff, \
         CASE WHEN d.place = 'run' THEN substr(x.error, 1, {n}) END AS run_error, \
         CASE WHEN d.place = 'run' THEN substr(x.original_inputs, 1, {n}) END AS run_inputs, \
         CASE WHEN d.place = 'run' THEN substr(x.final_state, 1, {n}) END AS run_final_state, \
         CASE WHEN d.place = 'run' THEN substr(x.metadata, 1, {n}) END AS run_metadata"
    )
}

/// The joins `hit_columns` reads through: the run's row `x` (by the key
/// the document names it by, migration 0018, which also finds its events
/// and snapshots, 0017) for every document.
pub const HIT_JOINS: &str = " JOIN executions x ON x.run_key = d.run_key \
     LEFT JOIN node_events e ON d.place = 'event' AND e.run_key = x.run_key AND e.seq = d.seq \
     LEFT JOIN state_snapshots s ON d.place = 'snapshot' AND s.run_key = x.run_key AND s.seq = d.seq";

/// A matched document with its record's columns (`hit_columns`), each
/// perhaps cut short.
#[derive(sqlx::FromRow)]
pub struct HitRow {
    pub execution_id: String,
    pub place: String,
    pub seq: i64,
    pub node_id: Option<String>,
    pub event_error: Option<String>,
    pub event_inputs: Option<String>,
    pub event_outputs: Option<String>,
    pub snapshot_state: Option<String>,
    pub snapshot_diff: Option<String>,
    pub run_error: Option<String>,
    pub run_inputs: Option<String>,
    pub run_final_state: Option<String>,
    pub run_metadata: Option<String>,
}

impl HitRow {
    /// The match this row is, with its excerpt; `None` when its record is
    /// gone (deleted between the search and this read).
    pub fn into_match(self, query: &SearchQuery) -> Result<Option<(String, SearchMatch)>, TraceError> {
        let object = |text: Option<&str>, column| -> Result<Option<JsonObject>, TraceError> {
            text.map(|t| parse_prefix(t, column)).transpose()
        };
        let place = MatchPlace::parse(&self.place)
            .ok_or_else(|| TraceError::Internal(format!("unknown search place {:?}", self.place)))?;
        let text = match place {
            MatchPlace::Event => {
                let (Some(inputs), Some(outputs)) = (
                    object(self.event_inputs.as_deref(), "inputs")?,
                    object(self.event_outputs.as_deref(), "outputs")?,
                ) else {
                    return Ok(None);
                };
                event_text(self.event_error.as_deref(), &inputs, &outputs)
            }
            MatchPlace::Snapshot => {
                let Some(state) = object(self.snapshot_state.as_deref(), "state")? else {
                    return Ok(None);
                };
                // The entries of a diff cut short: its last may lack fields.
                let diff: Option<Vec<DiffEntry>> = self
                    .snapshot_diff
                    .as_deref()
                    .map(|t| parse_prefix::<Vec<serde_json::Value>>(t, "diff"))
                    .transpose()?
                    .map(|entries| {
                        entries
                            .into_iter()
                            .filter_map(|entry| serde_json::from_value(entry).ok())
                            .collect()
                    });
                snapshot_text(&state, diff.as_deref())
            }
            MatchPlace::Run => {
                let (Some(original_inputs), Some(metadata)) = (self.run_inputs, self.run_metadata) else {
                    return Ok(None);
                };
                RunTextRow {
                    error: self.run_error,
                    original_inputs,
                    final_state: self.run_final_state,
                    metadata,
                }
                .text()?
            }
        };
        let found = SearchMatch {
            place,
            seq: (place != MatchPlace::Run).then_some(self.seq),
            node_id: self.node_id,
            excerpt: query.excerpt(&text),
        };
        Ok(Some((self.execution_id, found)))
    }
}

/// The matches of every run in `rows` (in the order read), at most
/// `MATCHES_PER_RUN` each.
pub fn matches_of(rows: Vec<HitRow>, query: &SearchQuery) -> Result<Vec<(String, SearchMatch)>, TraceError> {
    let mut out: Vec<(String, SearchMatch)> = Vec::new();
    for row in rows {
        if let Some((run, found)) = row.into_match(query)? {
            if out.iter().filter(|(r, _)| *r == run).count() < MATCHES_PER_RUN {
                out.push((run, found));
            }
        }
    }
    Ok(out)
}

/// The runs a search matched, found once per list request: the distinct
/// runs of its newest `MAX_SEARCH_DOCS` matching documents, as a JSON array
/// the page's and the count's statements bind. Reading the index once, here,
/// rather than in each statement, is what keeps a common word's list fast
/// on PostgreSQL, whose matching rows are read from the heap every time.
#[derive(Debug, PartialEq, sqlx::FromRow)]
pub struct SearchHits {
    /// Whether more documents matched than were read.
    pub capped: bool,
    /// How many runs.
    pub count: i64,
    /// The runs' ids, as a JSON array of strings.
    pub runs: String,
}

/// Reads the `SearchHits` of `query` in one row. The matched runs are
/// gathered by the database: thousands of rows for a common word cost sqlx
/// (a row at a time through a channel on SQLite) far more than the query.
/// The newest `MAX_SEARCH_DOCS + 1` documents are read, the extra one only
/// to tell whether the cap was reached: its run is left out. Documents name
/// their run by its key; each distinct run's id is read once, through the
/// key's index.
pub fn hits_query<'a, DB>(query: &SearchQuery, dialect: &Dialect) -> QueryBuilder<'a, DB>
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let (head, middle, tail) = dialect.matching_docs;
    let mut q = QueryBuilder::new("WITH m AS MATERIALIZED (");
    q.push(head)
        .push_bind((dialect.search_literal)(query))
        .push(middle)
        .push_bind(MAX_SEARCH_DOCS + 1)
        .push(tail)
        .push(format!(
            ") SELECT (SELECT COUNT(*) FROM m) > {MAX_SEARCH_DOCS} AS capped, \
             CAST(COUNT(*) AS BIGINT) AS count, {} AS runs \
             FROM (SELECT DISTINCT run_key FROM m \
             WHERE doc_id > (SELECT CASE WHEN COUNT(*) > {MAX_SEARCH_DOCS} THEN MIN(doc_id) \
             ELSE -1 END FROM m)) AS k JOIN executions x ON x.run_key = k.run_key",
            dialect.run_ids_json
        ));
    q
}

/// Opens the FROM clause of a run list: the runs table, or on SQLite with a
/// search, its matched runs driving a join to it (so a rare word reads only
/// its runs). PostgreSQL narrows the runs in the WHERE clause instead
/// (`filters::SearchRuns`).
pub fn push_from<'a, DB>(q: &mut QueryBuilder<'a, DB>, hits: Option<&'a SearchHits>, dialect: &Dialect)
where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
{
    match (hits, dialect.search_runs) {
        (Some(hits), SearchRuns::CrossJoin) => {
            q.push(" FROM (SELECT value AS hit FROM json_each(")
                .push_bind(hits.runs.as_str())
                .push(")) AS hits CROSS JOIN executions ON executions.execution_id = hits.hit");
        }
        _ => {
            q.push(" FROM executions");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::NodeEventType;
    use serde_json::json;

    #[test]
    fn records_without_text_add_no_document() {
        let event = |inputs: serde_json::Value| NodeEvent {
            event_id: "e".into(),
            execution_id: "r".into(),
            seq: 4,
            timestamp: chrono::Utc::now(),
            node_id: "Fetch".into(),
            event_type: NodeEventType::Started,
            duration_ms: None,
            inputs: inputs.as_object().unwrap().clone(),
            outputs: JsonObject::new(),
            error: None,
            metadata: JsonObject::new(),
            parents: Vec::new(),
            parent_seqs: Vec::new(),
        };
        let docs = event_docs(&[event(json!({})), event(json!({"url": "https://x.example"}))]);
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].text, "url: https://x.example\n");
        assert_eq!((docs[0].seq, docs[0].node_id.as_deref()), (4, Some("Fetch")));
    }
}
