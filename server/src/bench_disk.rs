//! Bytes on disk per stored event (#16): `tracevis bench` stores runs whose
//! visits carry payloads of the size real workflows send (about 200 bytes of
//! inputs when a visit starts, 1 KB of outputs when it ends, a 1 KB state
//! snapshot every tenth event), and divides what the database grew by the
//! events stored. The tables that grew most are named, so a reader sees
//! where the bytes go.

use crate::service::TraceService;
use anyhow::Context;
use chrono::{Duration as ChronoDuration, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::json;
use sqlx::Connection;
use std::collections::BTreeMap;

/// Words the payloads are written with: text that compresses like prose.
const WORDS: [&str; 24] = [
    "graph", "node", "state", "retrieve", "summary", "the", "of", "a", "planner", "answer", "source",
    "document", "query", "result", "token", "model", "draft", "review", "step", "and", "with", "for",
    "citation", "context",
];

fn prose(rng: &mut StdRng, bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 16);
    while text.len() < bytes {
        text.push_str(WORDS[rng.random_range(0..WORDS.len())]);
        text.push(' ');
    }
    text
}

/// Bytes each table (with its indexes) holds: SQLite's `dbstat` pages by
/// table or index name, PostgreSQL's relation sizes in the current schema.
async fn table_bytes(url: &str) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        // Pages still in the write-ahead log are not in the file yet.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await?;
        sqlx::query_as("SELECT name, CAST(SUM(pgsize) AS BIGINT) FROM dbstat GROUP BY name")
            .fetch_all(&mut conn)
            .await
            .context("SQLite's dbstat table")?
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query_as(
            "SELECT c.relname::TEXT, pg_total_relation_size(c.oid)::BIGINT FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind = 'r'",
        )
        .fetch_all(&mut conn)
        .await?
    };
    Ok(rows.into_iter().collect())
}

/// Stores `runs` runs of `events_per_run` events and prints the bytes the
/// database grew by per event, and the tables that grew most.
pub async fn print_bytes_per_event(
    url: &str,
    service: &TraceService,
    rng: &mut StdRng,
    runs: u32,
    events_per_run: u32,
) -> anyhow::Result<()> {
    let before = table_bytes(url).await?;
    for r in 0..runs {
        let id = format!("disk-{}", uuid::Uuid::now_v7().simple());
        let start = Utc::now() - ChronoDuration::minutes(i64::from(r));
        service
            .start_execution(serde_json::from_value(json!({
                "execution_id": id, "graph_type": "bench-disk", "start_time": start,
                "initial_state": {"question": prose(rng, 200)}
            }))?)
            .await?;
        let record = app::model::RecordId::parse(id).map_err(anyhow::Error::msg)?;
        let mut events = Vec::new();
        let mut snapshots = Vec::new();
        for i in 0..events_per_run {
            let at = start + ChronoDuration::milliseconds(i64::from(i) * 40);
            let node = format!("Node{}", (i / 2) % 12);
            if i % 2 == 0 {
                events.push(json!({"node_id": node, "event_type": "started", "timestamp": at,
                    "inputs": {"step": i, "query": prose(rng, 180)}}));
            } else {
                events.push(json!({"node_id": node, "event_type": "completed", "timestamp": at,
                    "duration_ms": rng.random_range(5.0..900.0),
                    "outputs": {"text": prose(rng, 900), "sources": [i, i + 1, i + 2], "score": rng.random::<f64>()},
                    "metadata": {"llm_calls": 1, "tokens": rng.random_range(100..2_000)}}));
            }
            if i % 10 == 9 {
                snapshots.push(json!({"node_id": node, "timestamp": at,
                    "state": {"step": i, "draft": prose(rng, 900), "done": false}}));
            }
        }
        let batch = serde_json::from_value(json!({"events": events, "snapshots": snapshots}))?;
        service.append_batch(&record, batch).await?;
        service
            .complete_execution(&record, serde_json::from_value(json!({"status": "completed"}))?)
            .await?;
    }
    let after = table_bytes(url).await?;
    let mut growth: Vec<(i64, &str)> = after
        .iter()
        .map(|(name, bytes)| (bytes - before.get(name).copied().unwrap_or(0), name.as_str()))
        .filter(|(grew, _)| *grew > 0)
        .collect();
    growth.sort_unstable_by(|a, b| b.cmp(a));
    let total: i64 = growth.iter().map(|(grew, _)| grew).sum();
    let events = f64::from(runs) * f64::from(events_per_run);
    let largest: Vec<String> = growth
        .iter()
        .take(6)
        .map(|(grew, name)| format!("{name} {:.0}", *grew as f64 / events))
        .collect();
    println!(
        "bytes on disk per stored event ({runs} runs of {events_per_run} events, ~1 KB outputs per ending \
         event, a 1 KB snapshot per 10 events): {:.0} (largest, bytes per event: {})",
        total as f64 / events,
        largest.join(", ")
    );
    Ok(())
}
