//! A database written before migration 0017 (runs' integer keys) keeps
//! every run when a new server upgrades it: events, snapshots, search
//! documents (keyed too since 0018), duplicate detection, appends after the
//! upgrade and retention all still work.

use crate::helpers::TestDatabase;
use app::model::{EventBatch, NewExecution, RecordId};
use app::search::SearchQuery;
use app::store::{CreateOutcome, FinishedRuns, HistoryStore};
use chrono::{TimeZone, Utc};
use serde_json::json;
use sqlx::migrate::Migrator;
use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;

/// The last migration before runs had keys.
const BEFORE_KEYS: i64 = 16;

/// Two runs as the store wrote them before 0017: events and snapshots named
/// their run by its text id. Plain SQL both backends take.
const OLD_ROWS: &[&str] = &[
    "INSERT INTO executions (execution_id, graph_type, status, start_time, original_inputs, metadata, \
     last_seq, create_request) VALUES \
     ('old-1', 'g', 'running', 1735689600000000, '{}', '{}', 3, '{\"old\":1}'), \
     ('old-2', 'g', 'running', 1735689700000000, '{}', '{}', 1, '{\"old\":2}')",
    "INSERT INTO node_events (execution_id, seq, event_id, node_id, event_type, timestamp, inputs, outputs, \
     metadata) VALUES \
     ('old-1', 1, 'e1', 'A', 'started', 1735689601000000, '{\"q\":1}', '{}', '{}'), \
     ('old-1', 2, 'e2', 'A', 'completed', 1735689602000000, '{}', '{\"a\":\"zebra\"}', '{}'), \
     ('old-2', 1, 'e1', 'B', 'started', 1735689701000000, '{}', '{}', '{}')",
    "INSERT INTO state_snapshots (execution_id, seq, snapshot_id, node_id, timestamp, state) VALUES \
     ('old-1', 3, 'p1', 'A', 1735689602000000, '{\"n\":1}')",
];

/// The search document of old-1's second event, as each backend's store
/// wrote it before 0018: named by the run's text id.
const OLD_SQLITE_DOC: &[&str] = &[
    "INSERT INTO search_docs (doc_id, execution_id, place, seq, node_id) VALUES (1, 'old-1', 'event', 2, 'A')",
    "INSERT INTO search_words (rowid, words) VALUES (1, 'a zebra')",
];
const OLD_POSTGRES_DOC: &[&str] = &[
    "INSERT INTO search_docs (execution_id, place, seq, node_id, words) \
     VALUES ('old-1', 'event', 2, 'A', CAST('a:1 zebra:2' AS tsvector))",
];

fn id(s: &str) -> RecordId {
    RecordId::parse(s).unwrap()
}

fn batch(value: serde_json::Value) -> EventBatch {
    serde_json::from_value(value).unwrap()
}

/// `all` without the migrations from 0017 on.
fn before_keys(mut all: Migrator) -> Migrator {
    assert!(
        all.migrations.iter().any(|m| m.version == BEFORE_KEYS + 1),
        "0017 gives runs their keys"
    );
    let kept: Vec<_> = all
        .migrations
        .iter()
        .filter(|m| m.version <= BEFORE_KEYS)
        .cloned()
        .collect();
    all.migrations = Cow::Owned(kept);
    all
}

async fn upgraded_runs_are_all_there(store: Arc<dyn HistoryStore>) {
    let old = store.load_trace_range("old-1", 0, i64::MAX).await.unwrap();
    assert_eq!(
        old.node_events
            .iter()
            .map(|e| (e.seq, e.event_id.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "e1"), (2, "e2")]
    );
    assert_eq!(
        old.node_events[0].inputs,
        json!({"q": 1}).as_object().unwrap().clone()
    );
    assert_eq!(old.state_snapshots.len(), 1);
    assert_eq!(
        old.state_snapshots[0].state,
        json!({"n": 1}).as_object().unwrap().clone()
    );
    // Its search document still finds it, with the excerpt of its event.
    let zebra = SearchQuery::parse("zebra").unwrap();
    let found = store.search_matches(&zebra, &["old-1".to_owned()]).await.unwrap();
    assert_eq!(
        found
            .iter()
            .map(|(run, m)| (run.as_str(), m.seq, m.excerpt.contains("zebra")))
            .collect::<Vec<_>>(),
        vec![("old-1", Some(2), true)]
    );
    let other = store.load_trace_range("old-2", 0, i64::MAX).await.unwrap();
    assert_eq!(
        other
            .node_events
            .iter()
            .map(|e| (e.seq, e.node_id.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "B")]
    );

    // A producer retrying after the upgrade: the stored event is a
    // duplicate, the new one continues the run's seq.
    let stored = store
        .append_batch(
            &id("old-1"),
            &batch(json!({"events": [
                {"event_id": "e2", "node_id": "A", "event_type": "completed", "timestamp": "2025-01-01T00:00:02Z"},
                {"event_id": "e3", "node_id": "B", "event_type": "started", "timestamp": "2025-01-01T00:00:03Z"}
            ]})),
            FinishedRuns::Refuse,
        )
        .await
        .unwrap();
    assert_eq!((stored.outcome.duplicates, stored.outcome.last_seq), (1, 4));

    // A run created after the upgrade gets a key of its own.
    let new: NewExecution = serde_json::from_value(
        json!({"execution_id": "new-1", "graph_type": "g", "start_time": "2026-01-01T00:00:00Z"}),
    )
    .unwrap();
    assert!(matches!(
        store.create_execution(&id("new-1"), &new, "{}").await.unwrap(),
        CreateOutcome::Created(_)
    ));
    store
        .append_batch(
            &id("new-1"),
            &batch(json!({"events": [
                {"event_id": "e1", "node_id": "C", "event_type": "started", "timestamp": "2026-01-01T00:00:01Z",
                 "inputs": {"animal": "zebra"}}
            ]})),
            FinishedRuns::Refuse,
        )
        .await
        .unwrap();
    let new_trace = store.load_trace_range("new-1", 0, i64::MAX).await.unwrap();
    assert_eq!(
        new_trace
            .node_events
            .iter()
            .map(|e| e.node_id.as_str())
            .collect::<Vec<_>>(),
        vec!["C"]
    );
    assert_eq!(store.load_events("old-1", None).await.unwrap().len(), 3);

    // Retention removes the old runs with their events; the new run stays.
    let cutoff = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap();
    assert_eq!(store.delete_started_before(cutoff, 10).await.unwrap(), 2);
    assert!(store.load_events("old-1", None).await.is_err());
    assert_eq!(store.load_events("new-1", None).await.unwrap().len(), 1);
    let found = store
        .search_matches(&zebra, &["old-1".to_owned(), "new-1".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|(run, _)| run.as_str()).collect::<Vec<_>>(),
        vec!["new-1"],
        "the deleted run's documents went with it"
    );
    assert_eq!(store.check_run_aggregates().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn a_sqlite_database_from_before_run_keys_keeps_its_runs() {
    let db = TestDatabase::sqlite();
    {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&db.url)
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        before_keys(sqlx::migrate!("./migrations/sqlite"))
            .run(&pool)
            .await
            .unwrap();
        for sql in OLD_ROWS.iter().chain(OLD_SQLITE_DOC) {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    upgraded_runs_are_all_there(tracevis::store::open(&db.url).await.unwrap()).await;
}

#[tokio::test]
async fn a_postgres_database_from_before_run_keys_keeps_its_runs() {
    let db = TestDatabase::postgres();
    {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        before_keys(sqlx::migrate!("./migrations/postgres"))
            .run(&pool)
            .await
            .unwrap();
        for sql in OLD_ROWS.iter().chain(OLD_POSTGRES_DOC) {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    upgraded_runs_are_all_there(tracevis::store::open(&db.url).await.unwrap()).await;
}
