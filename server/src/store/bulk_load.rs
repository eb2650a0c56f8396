//! Loading many finished runs into PostgreSQL at once: the scale
//! benchmark's fill (#16) by the fastest honest path. Each run is planned
//! exactly as the store plans it (`whole_runs::plan_whole_runs`: its
//! events, snapshots, totals, parallel figures, search documents and node
//! type aggregates), and its rows are written with COPY while the raw
//! tables' secondary indexes and the run aggregates' insert trigger are off.
//! `finish` then recounts the run aggregates from the stored runs (the
//! recount `tracevis check` compares with), builds the indexes again and
//! vacuums: the database holds the rows a fill through the store leaves,
//! and `tracevis check` finds no difference.
//!
//! Why not through the store: `store_whole_runs` filled PostgreSQL at 1,780
//! runs/s falling to 800 at three million runs (BENCHMARKS.md). Each run's
//! row trigger updates a dozen aggregate rows (hour, day and week of each
//! sum), and each of its rows goes into the search index (GIN) and the run
//! list's indexes at random places; ten million runs that way take longer
//! than a working session. Building an index once over sorted rows, and
//! summing each aggregate row once, costs a fraction of that.
//!
//! What a load turned off is written down first, in `bulk_load_undo`, in
//! the transaction that turns it off: a load that was killed leaves that
//! table, the next `begin` takes the load over and its `finish` puts
//! everything back.

use super::aggregate_levels::Level;
use super::db_error;
use super::run_keys::RunKeys;
use super::search::{self, SearchDoc};
use super::time::to_micros;
use super::whole_runs::{plan_whole_runs, run_rows_error, RunRow};
use super::{parents_column, to_json_column};
use app::error::TraceError;
use app::model::{NodeEvent, StateSnapshot};
use app::search::tsvector_literal;
use app::store::WholeRun;
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use std::time::{Duration, Instant};

/// The tables runs are loaded into, whose secondary indexes a load drops.
const RAW_TABLES: [&str; 4] = ["executions", "node_events", "state_snapshots", "search_docs"];
/// The trigger that adds each new finished run to the run aggregates.
const RUN_TRIGGER: &str = "run_stats_on_insert";
/// The run aggregates (hourly; the day and week sums follow by their
/// triggers) and their recount from the stored runs, the same sums
/// `run_stats::check_queries` compares (the view `run_contributions` holds
/// each run's hour and buckets).
const RUN_AGGREGATES: [&str; 3] = ["run_stats", "run_buckets", "critical_path_stats"];
const RECOUNT: [&str; 4] = [
    "INSERT INTO run_stats (graph_type, hour, status, runs, nodes, cached, llm_calls, tokens, parallel_runs) \
     SELECT graph_type, hour, status, COUNT(*), SUM(nodes), SUM(cached), SUM(llm_calls), SUM(tokens), \
     SUM(parallel_runs) FROM run_contributions WHERE status <> 'running' GROUP BY graph_type, hour, status \
     ORDER BY 1, 2, 3",
    "INSERT INTO run_buckets (graph_type, hour, measure, bucket, count) \
     SELECT graph_type, hour, 'duration', duration_bucket, COUNT(*) FROM run_contributions \
     WHERE status <> 'running' AND total_duration_ms IS NOT NULL \
     GROUP BY graph_type, hour, duration_bucket ORDER BY 1, 2, 4",
    "INSERT INTO run_buckets (graph_type, hour, measure, bucket, count) \
     SELECT graph_type, hour, 'parallelism', parallelism_bucket, COUNT(*) FROM run_contributions \
     WHERE status <> 'running' AND parallelism IS NOT NULL \
     GROUP BY graph_type, hour, parallelism_bucket ORDER BY 1, 2, 4",
    "INSERT INTO critical_path_stats (graph_type, hour, node_id, runs, ms) \
     SELECT r.graph_type, r.hour, c->>0, COUNT(*), SUM((c->>1)::float8) \
     FROM run_contributions r, jsonb_array_elements(r.critical_nodes::jsonb) AS c \
     WHERE r.status <> 'running' AND r.critical_nodes IS NOT NULL \
     GROUP BY r.graph_type, r.hour, c->>0 ORDER BY 1, 2, 3",
];

/// A load under way (see the module's comment).
pub struct BulkLoad {
    pool: PgPool,
}

impl BulkLoad {
    /// Turns the secondary indexes and the run trigger off (taking over a
    /// load that was interrupted), with room for `writers` loading side by
    /// side.
    pub async fn begin(database_url: &str, writers: u32) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(writers + 1)
            .connect(database_url)
            .await?;
        let mut tx = pool.begin().await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS bulk_load_undo (index_name TEXT PRIMARY KEY, definition TEXT NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        // Indexes of their own only: those behind a primary key or unique
        // constraint stay (rows are looked up and keyed by them while loading).
        let indexes: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.relname::TEXT, pg_get_indexdef(i.indexrelid) FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid = ANY(CAST($1 AS TEXT[])::REGCLASS[]) \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) \
             ORDER BY 1",
        )
        .bind(&RAW_TABLES[..])
        .fetch_all(&mut *tx)
        .await?;
        for (name, definition) in &indexes {
            sqlx::query(
                "INSERT INTO bulk_load_undo (index_name, definition) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(name)
            .bind(definition)
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!("DROP INDEX {}", quoted(name)))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(&format!("ALTER TABLE executions DISABLE TRIGGER {RUN_TRIGGER}"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Self { pool })
    }

    /// Stores finished runs in one transaction, as `store_whole_runs` does
    /// (the same checks, rows and search documents), by COPY.
    pub async fn store_whole_runs(&self, runs: &[WholeRun<'_>]) -> Result<(), TraceError> {
        let planned = plan_whole_runs(runs)?;
        let mut tx = super::begin_detached(&self.pool).await.map_err(db_error)?;
        copy(&mut tx, EXECUTIONS, &run_rows(&planned.runs))
            .await
            .map_err(run_rows_error)?;
        let ids: Vec<&str> = planned.runs.iter().map(|r| r.execution_id.as_str()).collect();
        let mut keys = RunKeys::default();
        keys.extend(
            sqlx::query_as::<_, (String, i64)>(
                "SELECT execution_id, run_key FROM executions WHERE execution_id = ANY($1)",
            )
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_error)?,
        );
        let snapshots: Vec<&StateSnapshot> = planned
            .initial_snapshots
            .iter()
            .chain(&planned.snapshots)
            .collect();
        copy(&mut tx, SNAPSHOTS, &snapshot_rows(&snapshots, &keys)?)
            .await
            .map_err(db_error)?;
        copy(&mut tx, EVENTS, &event_rows(&planned.events, &keys)?)
            .await
            .map_err(db_error)?;
        // In the order the store indexes them, so documents get the same
        // order of `doc_id`s.
        let mut docs = search::snapshot_docs(&planned.initial_snapshots);
        docs.extend(search::event_docs(&planned.events));
        docs.extend(search::snapshot_docs(&planned.snapshots));
        docs.extend(planned.run_docs);
        copy(&mut tx, DOCS, &doc_rows(&docs, &keys)?)
            .await
            .map_err(db_error)?;
        for ((graph_type, hour), counted) in &planned.node_stats {
            super::postgres::add_node_stats(&mut tx, graph_type, *hour, counted).await?;
        }
        tx.commit().await.map_err(db_error)?;
        Ok(())
    }

    /// Puts back what `begin` turned off: the run aggregates recounted from
    /// the stored runs with the trigger on again (one transaction), each
    /// index built again, then the tables vacuumed and analysed, as
    /// autovacuum would after a load. Returns how long each step took.
    pub async fn finish(self) -> anyhow::Result<Vec<(String, Duration)>> {
        let mut steps = Vec::new();
        let mut conn = self.pool.acquire().await?;
        let began = Instant::now();
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query(&format!("ALTER TABLE executions ENABLE TRIGGER {RUN_TRIGGER}"))
            .execute(&mut *tx)
            .await?;
        let run_tables: Vec<String> = RUN_AGGREGATES
            .iter()
            .flat_map(|a| Level::ALL.map(|level| level.table(a)))
            .collect();
        sqlx::query(&format!("TRUNCATE {}", run_tables.join(", ")))
            .execute(&mut *tx)
            .await?;
        for recount in RECOUNT {
            sqlx::query(recount).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        // Each hourly row inserted above updated its day's and week's rows
        // through their triggers, leaving a dead version per update: at ten
        // million runs `run_buckets_weeks` held 30,735 rows in 29,409 pages,
        // which every statistics request over the year read (p50 195 ms,
        // 55 ms once rewritten). Rewritten in key order, as migration 0016 left
        // them.
        for table in &run_tables {
            sqlx::query(&format!("CLUSTER {table} USING {table}_pkey"))
                .execute(&mut *conn)
                .await?;
        }
        steps.push(("run aggregates recounted".to_owned(), began.elapsed()));
        sqlx::query("SET maintenance_work_mem = '1GB'")
            .execute(&mut *conn)
            .await?;
        let undo: Vec<(String, String)> =
            sqlx::query_as("SELECT index_name, definition FROM bulk_load_undo ORDER BY index_name")
                .fetch_all(&mut *conn)
                .await?;
        for (name, definition) in undo {
            let began = Instant::now();
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            sqlx::query(&definition).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM bulk_load_undo WHERE index_name = $1")
                .bind(&name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            steps.push((format!("index {name} built"), began.elapsed()));
        }
        sqlx::query("DROP TABLE bulk_load_undo")
            .execute(&mut *conn)
            .await?;
        let began = Instant::now();
        let aggregates = super::aggregate_levels::all_tables();
        for table in RAW_TABLES.iter().map(|t| (*t).to_owned()).chain(aggregates) {
            sqlx::query(&format!("VACUUM ANALYZE {table}"))
                .execute(&mut *conn)
                .await?;
        }
        steps.push(("vacuumed and analysed".to_owned(), began.elapsed()));
        Ok(steps)
    }
}

/// An identifier quoted for SQL.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Sends `data` (COPY's text format) to `statement`.
async fn copy(conn: &mut PgConnection, statement: &str, data: &str) -> Result<(), sqlx::Error> {
    if data.is_empty() {
        return Ok(());
    }
    let mut copy = conn.copy_in_raw(statement).await?;
    if let Err(e) = copy.send(data.as_bytes()).await {
        copy.abort(e.to_string()).await.ok();
        return Err(e);
    }
    copy.finish().await?;
    Ok(())
}

const EXECUTIONS: &str = "COPY executions (execution_id, graph_type, status, start_time, end_time, \
    total_duration_ms, total_nodes, failed_nodes, cached_nodes, total_llm_calls, total_tokens, \
    original_inputs, final_state, metadata, graph, is_replay, original_execution_id, error, last_seq, \
    create_request, parallelism, critical_nodes) FROM STDIN";
const SNAPSHOTS: &str =
    "COPY state_snapshots (run_key, seq, snapshot_id, node_id, timestamp, state, diff) FROM STDIN";
const EVENTS: &str = "COPY node_events (run_key, seq, event_id, node_id, event_type, timestamp, \
    duration_ms, inputs, outputs, error, metadata, parents) FROM STDIN";
const DOCS: &str = "COPY search_docs (run_key, place, seq, node_id, words) FROM STDIN";

fn run_rows(runs: &[RunRow]) -> String {
    let mut out = CopyText::default();
    for r in runs {
        out.text(&r.execution_id);
        out.text(&r.graph_type);
        out.text(r.status);
        out.int(r.start_time);
        out.int(r.end_time);
        out.float(r.total_duration_ms);
        out.int(r.total_nodes);
        out.int(r.failed_nodes);
        out.int(r.cached_nodes);
        out.int(r.total_llm_calls);
        out.maybe(r.total_tokens.map(|t| t.to_string()).as_deref());
        out.text(&r.original_inputs);
        out.maybe(r.final_state.as_deref());
        out.text(&r.metadata);
        out.maybe(r.graph.as_deref());
        out.text(if r.is_replay { "t" } else { "f" });
        out.maybe(r.original_execution_id.as_deref());
        out.maybe(r.error.as_deref());
        out.int(r.last_seq);
        out.text(&r.create_request);
        out.float(r.parallelism);
        out.maybe(r.critical_nodes.as_deref());
        out.end_row();
    }
    out.0
}

fn snapshot_rows(snapshots: &[&StateSnapshot], keys: &RunKeys) -> Result<String, TraceError> {
    let each = keys.of_each(snapshots.iter().map(|s| s.execution_id.as_str()))?;
    let mut out = CopyText::default();
    for (s, key) in snapshots.iter().zip(each) {
        out.int(key);
        out.int(s.seq);
        out.text(&s.snapshot_id);
        out.text(&s.node_id);
        out.int(to_micros(&s.timestamp));
        out.text(&to_json_column(&s.state));
        out.maybe(s.diff.as_ref().map(to_json_column).as_deref());
        out.end_row();
    }
    Ok(out.0)
}

fn event_rows(events: &[NodeEvent], keys: &RunKeys) -> Result<String, TraceError> {
    let each = keys.of_each(events.iter().map(|e| e.execution_id.as_str()))?;
    let mut out = CopyText::default();
    for (e, key) in events.iter().zip(each) {
        out.int(key);
        out.int(e.seq);
        out.text(&e.event_id);
        out.text(&e.node_id);
        out.text(e.event_type.as_str());
        out.int(to_micros(&e.timestamp));
        match e.duration_ms {
            Some(ms) => out.float(ms),
            None => out.maybe(None),
        }
        out.text(&to_json_column(&e.inputs));
        out.text(&to_json_column(&e.outputs));
        out.maybe(e.error.as_deref());
        out.text(&to_json_column(&e.metadata));
        out.maybe(parents_column(e).as_deref());
        out.end_row();
    }
    Ok(out.0)
}

fn doc_rows(docs: &[SearchDoc], keys: &RunKeys) -> Result<String, TraceError> {
    let each = keys.of_each(docs.iter().map(|d| d.execution_id.as_str()))?;
    let mut out = CopyText::default();
    for (d, key) in docs.iter().zip(each) {
        out.int(key);
        out.text(d.place.as_str());
        out.int(d.seq);
        out.maybe(d.node_id.as_deref());
        out.text(&tsvector_literal(&d.text));
        out.end_row();
    }
    Ok(out.0)
}

/// Rows in COPY's text format: fields separated by tabs, rows ended by a
/// newline, NULL as `\N`, and backslash, tab, newline and carriage return
/// escaped in values.
#[derive(Default)]
struct CopyText(String, bool);

impl CopyText {
    fn separate(&mut self) {
        if self.1 {
            self.0.push('\t');
        }
        self.1 = true;
    }

    fn text(&mut self, value: &str) {
        self.separate();
        for c in value.chars() {
            match c {
                '\\' => self.0.push_str("\\\\"),
                '\t' => self.0.push_str("\\t"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                c => self.0.push(c),
            }
        }
    }

    fn maybe(&mut self, value: Option<&str>) {
        match value {
            Some(v) => self.text(v),
            None => {
                self.separate();
                self.0.push_str("\\N");
            }
        }
    }

    fn int(&mut self, value: i64) {
        self.separate();
        self.0.push_str(&value.to_string());
    }

    /// Rust prints an `f64` in the fewest digits that read back as the same
    /// number, and PostgreSQL reads them back exactly.
    fn float(&mut self, value: f64) {
        self.separate();
        self.0.push_str(&value.to_string());
    }

    fn end_row(&mut self) {
        self.0.push('\n');
        self.1 = false;
    }
}

#[cfg(test)]
mod tests {
    use super::CopyText;

    #[test]
    fn copy_text_escapes_what_would_end_a_field_or_row() {
        let mut out = CopyText::default();
        out.text("a\tb\\c\nd\re");
        out.maybe(None);
        out.int(-3);
        out.float(0.1);
        out.end_row();
        out.text("x");
        out.end_row();
        assert_eq!(out.0, "a\\tb\\\\c\\nd\\re\t\\N\t-3\t0.1\nx\n");
    }
}
