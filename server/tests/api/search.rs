//! Search (#17): the runs a person finds by what happened in them, where in
//! each run it matched, on both backends; what a bad query gets; and runs
//! stored before the index existed becoming searchable.

use crate::helpers::{assert_error, run_sql, spawn_app, TestDatabase};
use app::model::{ExecutionFilter, ExecutionList, ExecutionStatus, RecordId};
use app::protocol::TraceVisualization;
use app::search::{MatchPlace, SearchQuery};
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::json;
use tracevis::service::TraceService;

fn id(s: &str) -> RecordId {
    RecordId::parse(s).unwrap()
}

/// Two runs: "t1" hits a rate limit, changes the state's language to `fr`
/// and fails; "t2" is about Tokyo and still running.
async fn two_runs(service: &TraceService) {
    let start = |run: &str, inputs: serde_json::Value, metadata: serde_json::Value| {
        serde_json::from_value(json!({
            "execution_id": run, "graph_type": "translate", "start_time": Utc::now(),
            "original_inputs": inputs, "metadata": metadata, "initial_state": {"language": "en"}
        }))
        .unwrap()
    };
    service
        .start_execution(start(
            "t1",
            json!({"topic": "vector databases"}),
            json!({"environment": "prod"}),
        ))
        .await
        .unwrap();
    service
        .start_execution(start("t2", json!({"topic": "東京タワー 🗼"}), json!({})))
        .await
        .unwrap();
    let now = Utc::now();
    let batch = |value: serde_json::Value| serde_json::from_value(value).unwrap();
    service
        .append_batch(
            &id("t1"),
            batch(json!({
                "events": [
                    {"event_id": "f1", "node_id": "Fetch", "event_type": "started", "timestamp": now,
                     "inputs": {"url": "https://api.example/v1"}},
                    {"event_id": "f2", "node_id": "Fetch", "event_type": "completed", "timestamp": now,
                     "duration_ms": 5, "outputs": {"text": "Rate limit exceeded for model gpt-4o"}},
                    {"event_id": "x1", "node_id": "Translate", "event_type": "failed", "timestamp": now,
                     "duration_ms": 9, "error": "TimeoutError: upstream took 30 s"}
                ],
                "snapshots": [{"snapshot_id": "s2", "node_id": "Translate", "timestamp": now,
                               "state": {"language": "fr"}}]
            })),
        )
        .await
        .unwrap();
    service
        .append_batch(
            &id("t2"),
            batch(json!({"events": [
                {"event_id": "g1", "node_id": "Guide", "event_type": "completed", "timestamp": now,
                 "duration_ms": 3, "outputs": {"answer": "rate: 4 stars"}}
            ]})),
        )
        .await
        .unwrap();
    service
        .complete_execution(
            &id("t1"),
            serde_json::from_value(json!({"status": "failed", "error": "node Translate failed",
                                          "final_state": {"summary": "Résumé in French"}}))
            .unwrap(),
        )
        .await
        .unwrap();
}

async fn search(service: &TraceService, q: &str) -> ExecutionList {
    search_with(service, q, ExecutionFilter::default()).await
}

async fn search_with(service: &TraceService, q: &str, filter: ExecutionFilter) -> ExecutionList {
    service
        .list_executions(&ExecutionFilter {
            q: Some(SearchQuery::parse(q).unwrap()),
            ..filter
        })
        .await
        .unwrap()
}

fn ids(list: &ExecutionList) -> Vec<&str> {
    list.executions.iter().map(|r| r.execution_id.as_str()).collect()
}

/// Removes the index as a database from before search would have it.
async fn forget_the_index(url: &str) {
    let sql = "DELETE FROM search_docs; INSERT INTO search_backfill SELECT execution_id FROM executions";
    if url.starts_with("sqlite") {
        use sqlx::{Connection, Executor};
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        conn.execute(sql).await.unwrap();
    } else {
        for statement in sql.split("; ") {
            run_sql(url, statement);
        }
    }
}

async fn search_story(db: TestDatabase) {
    let service = TraceService::new(tracevis::store::open(&db.url).await.unwrap());
    two_runs(&service).await;
    let trace = service.get_trace("t1").await.unwrap();
    let seq_of = |event_id: &str| {
        trace
            .node_events
            .iter()
            .find(|e| e.event_id == event_id)
            .unwrap()
            .seq
    };

    // A word in one run's node output: that run, at that event.
    let found = search(&service, "rate limit").await;
    assert_eq!(ids(&found), ["t1"]);
    assert_eq!((found.total, found.total_capped), (1, false));
    let hit = &found.executions[0].matches[0];
    assert_eq!(hit.place, MatchPlace::Event);
    assert_eq!(hit.seq, Some(seq_of("f2")));
    assert_eq!(hit.node_id.as_deref(), Some("Fetch"));
    assert_eq!(hit.excerpt, "text: Rate limit exceeded for model gpt-4o");
    // A word in both: both runs, newest first.
    assert_eq!(ids(&search(&service, "rate").await), ["t2", "t1"]);
    // Phrases keep their order; punctuation inside a word is a phrase.
    assert!(ids(&search(&service, "\"limit rate\"").await).is_empty());
    assert_eq!(ids(&search(&service, "GPT-4o").await), ["t1"]);
    // An error message.
    let failed = search(&service, "TimeoutError").await;
    assert_eq!(failed.executions[0].matches[0].seq, Some(seq_of("x1")));
    assert_eq!(
        failed.executions[0].matches[0].excerpt,
        "error: TimeoutError: upstream took 30 s"
    );
    // The state step where the language became French, not the first one.
    let state = search(&service, "language fr").await;
    let step = &state.executions[0].matches[0];
    assert_eq!(
        (step.place, step.node_id.as_deref()),
        (MatchPlace::Snapshot, Some("Translate"))
    );
    let french = trace
        .state_snapshots
        .iter()
        .find(|s| s.state["language"] == "fr")
        .unwrap();
    assert_eq!(step.seq, Some(french.seq));
    assert_eq!(state.executions[0].matches.len(), 1);
    // The run's inputs, metadata, final state and error.
    for (q, excerpt) in [
        ("vector databases", "topic: vector databases"),
        ("prod", "environment: prod"),
        ("résumé", "summary: Résumé in French"),
        ("\"node translate failed\"", "error: node Translate failed"),
    ] {
        let found = search(&service, q).await;
        assert_eq!(ids(&found), ["t1"], "{q}");
        let run = found.executions[0]
            .matches
            .iter()
            .find(|m| m.place == MatchPlace::Run);
        assert_eq!(
            run.map(|m| (m.seq, m.excerpt.as_str())),
            Some((None, excerpt)),
            "{q}"
        );
    }
    // Field names are words too; JSON syntax is not.
    assert_eq!(search(&service, "topic").await.executions.len(), 2);
    // A script without spaces: a part of a word is found.
    assert_eq!(ids(&search(&service, "東京").await), ["t2"]);
    // With the other filters and pages.
    let failed_only = search_with(
        &service,
        "rate",
        ExecutionFilter {
            status: Some(ExecutionStatus::Failed),
            ..ExecutionFilter::default()
        },
    )
    .await;
    assert_eq!(ids(&failed_only), ["t1"]);
    let first = search_with(
        &service,
        "topic",
        ExecutionFilter {
            limit: 1,
            ..ExecutionFilter::default()
        },
    )
    .await;
    assert_eq!((ids(&first), first.total), (vec!["t2"], 2));
    let second = search_with(
        &service,
        "topic",
        ExecutionFilter {
            limit: 1,
            cursor: Some(app::model::ListCursor::parse(first.next_cursor.as_deref().unwrap()).unwrap()),
            ..ExecutionFilter::default()
        },
    )
    .await;
    assert_eq!(ids(&second), ["t1"]);
    assert!(second.next_cursor.is_none());

    // Runs stored before the index existed are found once indexed again.
    forget_the_index(&db.url).await;
    assert!(search(&service, "rate").await.executions.is_empty());
    assert_eq!(service.backfill_search(1).await.unwrap(), 2);
    assert_eq!(service.backfill_search(1).await.unwrap(), 0);
    assert_eq!(ids(&search(&service, "rate").await), ["t2", "t1"]);
    assert_eq!(
        search(&service, "language fr").await.executions[0].matches.len(),
        1
    );

    // Deleted runs leave the index with them.
    assert_eq!(
        service
            .delete_started_before(Utc::now() + chrono::Duration::hours(1), 10)
            .await
            .unwrap(),
        2
    );
    assert!(search(&service, "rate").await.executions.is_empty());
}

#[tokio::test]
async fn sqlite_finds_runs_by_what_happened_in_them() {
    search_story(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn postgres_finds_runs_by_what_happened_in_them() {
    search_story(TestDatabase::postgres()).await;
}

async fn list_with_q(app: &crate::helpers::TestApp, q: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/executions"))
        .query(&[("q", q)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn any_query_text_gets_results_or_a_400_naming_q() {
    let app = spawn_app().await;
    app.start("keep").await;
    app.append_events("keep", 2).await;
    let ten_kb = "rate ".repeat(2_048);
    for q in [
        "NEAR(a b)",
        "a OR b AND NOT c",
        "\"unclosed",
        "col:value",
        "a* ^b -c +d",
        "'single' \\\"escaped\\\"",
        "Ünïcode 東京 ру́сский العربية",
        "x🙂y",
        "SELECT * FROM executions; --",
    ] {
        let response = list_with_q(&app, q).await;
        assert_eq!(response.status(), StatusCode::OK, "{q}");
        let list: serde_json::Value = response.json().await.unwrap();
        assert!(list["executions"].is_array(), "{q}");
    }
    for q in ["*", "🙂🙂", "\"\"", ten_kb.as_str(), &"x".repeat(101)] {
        let response = list_with_q(&app, q).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_parameter", &["q"]).await;
    }
}

/// A run with 10 MB of payloads (ten 1 MB outputs) is found by a word of
/// each output, with short excerpts that open the visits; the rest of the
/// list answers as before.
#[tokio::test]
async fn a_run_with_ten_megabytes_of_payloads_is_found_with_short_excerpts() {
    let app = spawn_app().await;
    app.start("small").await;
    app.append_events("small", 2).await;
    app.start("big").await;
    for i in 0..10 {
        let mut text = format!("zanzibar output{i}");
        let mut n = 0;
        while text.len() < 1_000_000 {
            text.push_str(&format!(" w{n}"));
            n += 1;
        }
        let response = app
            .post(
                "/api/v1/executions/big/events",
                &json!({"events": [{"event_id": format!("big-{i}"), "node_id": "Read", "event_type": "completed",
                                    "timestamp": "2025-10-21T10:00:01Z", "duration_ms": 5,
                                    "outputs": {"text": text}}]}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let list: serde_json::Value = list_with_q(&app, "zanzibar").await.json().await.unwrap();
    let runs = list["executions"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["execution_id"], "big");
    let matches = runs[0]["matches"].as_array().unwrap();
    assert_eq!(matches.len(), app::search::MATCHES_PER_RUN);
    for found in matches {
        let excerpt = found["excerpt"].as_str().unwrap();
        assert!(excerpt.starts_with("text: zanzibar output"), "{excerpt}");
        assert!(excerpt.chars().count() <= 2 * 70 + 10, "{excerpt}");
        assert!(found["seq"].as_i64().unwrap() >= 1);
    }
    // A phrase: the excerpt is cut around it.
    let list: serde_json::Value = list_with_q(&app, "output7 w0").await.json().await.unwrap();
    assert_eq!(
        list["executions"][0]["matches"][0]["excerpt"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .nth(2),
        Some("output7")
    );
    // A word past the first 65,536 characters of its record is found, and
    // its excerpt is the record's start (excerpts read no further).
    let list: serde_json::Value = list_with_q(&app, "w16000").await.json().await.unwrap();
    assert_eq!(list["executions"][0]["execution_id"], "big");
    let excerpt = list["executions"][0]["matches"][0]["excerpt"].as_str().unwrap();
    assert!(
        excerpt.starts_with("text: zanzibar output") && excerpt.ends_with('…'),
        "{excerpt}"
    );
    // A word past the first 16,383 of its output is past what is indexed:
    // not found, and not an error.
    let response = list_with_q(&app, "w100000").await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: serde_json::Value = response.json().await.unwrap();
    assert_eq!(list["executions"].as_array().unwrap().len(), 0);
}
