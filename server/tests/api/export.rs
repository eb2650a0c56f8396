//! Export and import: a run leaves as a file and comes back field for field
//! (over HTTP and with the `tracevis import` / `export` commands), and the
//! Chrome-trace download holds one slice per node visit.

use crate::helpers::{assert_error, serve_on, TestApp, TestDatabase};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Posts a run with everything a trace can hold: inputs, metadata, a declared
/// graph, an initial state, a retry, a cache hit, interleaved snapshots (one
/// sent in an earlier batch than the event at the same moment), a failure
/// and totals given on completion that differ from the summed metadata.
async fn post_rich_run(app: &TestApp, id: &str) {
    let r = app
        .post(
            "/api/v1/executions",
            &json!({"execution_id": id, "graph_type": "research", "start_time": "2026-03-01T09:00:00Z",
                "original_inputs": {"question": "why?", "depth": 2}, "metadata": {"team": "search"},
                "graph": {"nodes": [{"id": "Plan"}, {"id": "Search"}, {"id": "Write"}],
                          "edges": [{"from": "Plan", "to": "Search"}, {"from": "Search", "to": "Write"}]},
                "initial_state": {"notes": []}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let batches = [
        json!({"events": [
            {"event_id": "p1", "node_id": "Plan", "event_type": "started", "timestamp": "2026-03-01T09:00:00.100Z"},
            {"event_id": "p2", "node_id": "Plan", "event_type": "completed", "timestamp": "2026-03-01T09:00:00.350Z",
             "duration_ms": 250.0, "outputs": {"plan": ["search", "write"]}, "metadata": {"llm_calls": 1, "tokens": 120}}],
          "snapshots": [{"snapshot_id": "st1", "node_id": "Plan", "timestamp": "2026-03-01T09:00:00.350Z",
                         "state": {"notes": [], "plan": ["search", "write"]}}]}),
        // The snapshot of this moment arrives before its event (next batch).
        json!({"snapshots": [{"snapshot_id": "st2", "node_id": "Search", "timestamp": "2026-03-01T09:00:01.500Z",
                              "state": {"notes": ["a"], "plan": ["search", "write"]}}]}),
        json!({"events": [
            {"event_id": "s1", "node_id": "Search", "event_type": "started", "timestamp": "2026-03-01T09:00:00.400Z",
             "metadata": {"attempt": 1}, "parents": ["p1"]},
            {"event_id": "s2", "node_id": "Search", "event_type": "failed", "timestamp": "2026-03-01T09:00:00.900Z",
             "duration_ms": 500.0, "error": "timeout", "metadata": {"attempt": 1}},
            {"event_id": "s3", "node_id": "Search", "event_type": "started", "timestamp": "2026-03-01T09:00:01.000Z",
             "metadata": {"attempt": 2}},
            {"event_id": "s4", "node_id": "Search", "event_type": "completed", "timestamp": "2026-03-01T09:00:01.500Z",
             "duration_ms": 500.0, "outputs": {"hits": 3}, "metadata": {"attempt": 2, "llm_calls": 2, "tokens": 800}},
            {"event_id": "w1", "node_id": "Write", "event_type": "cached", "timestamp": "2026-03-01T09:00:01.600Z",
             "duration_ms": 1.5, "metadata": {"saved_ms": 900.0}, "parents": ["s3"]}]}),
    ];
    for batch in &batches {
        let r = app.post(&format!("/api/v1/executions/{id}/events"), batch).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = app
        .post(
            &format!("/api/v1/executions/{id}/complete"),
            &json!({"status": "failed", "end_time": "2026-03-01T09:00:02Z", "error": "writer gave up",
                    "final_state": {"notes": ["a"], "done": false},
                    "performance": {"total_llm_calls": 7, "total_tokens": 5000}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn download(app: &TestApp, path: &str) -> (String, Value) {
    let r = app.get(path).await;
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_owned();
    (disposition, r.json().await.unwrap())
}

#[tokio::test]
async fn an_exported_run_imports_into_another_database_field_for_field() {
    let source = crate::helpers::spawn_app().await;
    post_rich_run(&source, "rich-run").await;
    let original = source.get_json("/api/v1/executions/rich-run").await;
    assert_eq!(original["last_seq"], 10, "the run holds 10 records");

    let (disposition, file) = download(&source, "/api/v1/executions/rich-run/export").await;
    assert_eq!(disposition, "attachment; filename=\"rich-run.tracevis.json\"");
    assert_eq!(file["format"], "tracevis.execution.v1");
    assert_eq!(file["trace"], original, "the file holds the whole trace");

    let target = crate::helpers::spawn_app().await;
    let r = target.post("/api/v1/import", &file).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let summary: Value = r.json().await.unwrap();
    assert_eq!(
        (summary["status"].as_str(), summary["total_llm_calls"].as_i64()),
        (Some("failed"), Some(7))
    );
    assert_eq!(target.get_json("/api/v1/executions/rich-run").await, original);

    // Importing the same file again changes nothing.
    let r = target.post("/api/v1/import", &file).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(target.get_json("/api/v1/executions/rich-run").await, original);
    // The imported run counts in the target's statistics like a posted one.
    let stats = target.get_json("/api/v1/statistics?graph_type=research").await;
    assert_eq!(
        (
            stats["executions"]["failed"].as_i64(),
            stats["total_llm_calls"].as_i64()
        ),
        (Some(1), Some(7)),
        "{stats}"
    );
}

#[tokio::test]
async fn an_import_cut_off_half_way_is_finished_by_importing_the_file_again() {
    let source = crate::helpers::spawn_app().await;
    post_rich_run(&source, "rich-run").await;
    let original = source.get_json("/api/v1/executions/rich-run").await;
    let (_, file) = download(&source, "/api/v1/executions/rich-run/export").await;

    // What a cut-off import leaves: the run started, its first records (seq
    // 1–3: the initial state and Plan's two events) stored, not completed.
    let mut prefix = file.clone();
    prefix["trace"]["status"] = json!("running");
    prefix["trace"]["node_events"].as_array_mut().unwrap().truncate(2);
    prefix["trace"]["state_snapshots"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    let target = crate::helpers::spawn_app().await;
    assert_eq!(
        target.post("/api/v1/import", &prefix).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        target.get_json("/api/v1/executions/rich-run").await["last_seq"],
        3
    );

    let r = target.post("/api/v1/import", &file).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(target.get_json("/api/v1/executions/rich-run").await, original);

    // A stored run that is not a prefix of the file is not "resumed".
    let mut other = prefix.clone();
    other["trace"]["execution_id"] = json!("other-run");
    assert_eq!(
        target.post("/api/v1/import", &other).await.status(),
        StatusCode::CREATED
    );
    let mut reordered = file.clone();
    reordered["trace"]["execution_id"] = json!("other-run");
    reordered["trace"]["node_events"][0]["event_id"] = json!("not-p1");
    let r = target.post("/api/v1/import", &reordered).await;
    assert_error(r, StatusCode::CONFLICT, "conflict", &["other-run"]).await;
}

#[tokio::test]
async fn an_import_that_contradicts_a_stored_run_or_is_not_an_export_is_refused() {
    let app = crate::helpers::spawn_app().await;
    post_rich_run(&app, "rich-run").await;
    let (_, mut file) = download(&app, "/api/v1/executions/rich-run/export").await;

    // Its own export, imported where it came from: already there.
    let r = app.post("/api/v1/import", &file).await;
    assert_eq!(r.status(), StatusCode::OK);
    // As many records, one of them another: a different run under a stored id.
    let mut other = file.clone();
    other["trace"]["node_events"][0]["event_id"] = json!("someone-else");
    let r = app.post("/api/v1/import", &other).await;
    assert_error(
        r,
        StatusCode::CONFLICT,
        "conflict",
        &["rich-run", "other content"],
    )
    .await;
    // One record fewer: a different run under a stored id.
    file["trace"]["node_events"].as_array_mut().unwrap().pop();
    let r = app.post("/api/v1/import", &file).await;
    assert_error(
        r,
        StatusCode::CONFLICT,
        "conflict",
        &["rich-run", "10 records", "has 9"],
    )
    .await;

    let r = app
        .post("/api/v1/import", &json!({"format": "chrome", "trace": {}}))
        .await;
    assert_error(
        r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        &["format", "not a tracevis export"],
    )
    .await;

    file["trace"]["execution_id"] = json!("copy");
    file["trace"]["node_events"][1]["event_id"] = json!("p1");
    let r = app.post("/api/v1/import", &file).await;
    assert_error(
        r,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        &["trace.node_events[1].event_id", "twice"],
    )
    .await;
    let r = app.get("/api/v1/executions/copy").await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "nothing of a refused import is stored"
    );

    let r = app.get("/api/v1/executions/rich-run/export?format=pdf").await;
    assert_error(r, StatusCode::BAD_REQUEST, "invalid_parameter", &["format"]).await;
    let r = app.get("/api/v1/executions/missing/export").await;
    assert_error(r, StatusCode::NOT_FOUND, "not_found", &["missing"]).await;
}

#[tokio::test]
async fn the_chrome_trace_download_has_one_slice_per_node_visit() {
    let app = crate::helpers::spawn_app().await;
    post_rich_run(&app, "rich-run").await;
    let (disposition, doc) = download(&app, "/api/v1/executions/rich-run/export?format=chrome").await;
    assert!(
        disposition.contains("rich-run.chrome-trace.json"),
        "{disposition}"
    );
    let events = doc["traceEvents"].as_array().unwrap();
    let slices: Vec<(&str, &str, f64, f64)> = events
        .iter()
        .filter(|e| e["ph"] == "X")
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["cat"].as_str().unwrap(),
                e["ts"].as_f64().unwrap(),
                e["dur"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        slices,
        vec![
            ("Plan", "completed", 100_000.0, 250_000.0),
            ("Search", "failed", 400_000.0, 500_000.0),
            ("Search", "completed", 1_000_000.0, 500_000.0),
            ("Write", "cached", 1_598_500.0, 1_500.0),
        ]
    );
    let marks = events.iter().filter(|e| e["ph"] == "i").count();
    assert_eq!(marks, 3, "one mark per state snapshot, the initial state too");
}

#[tokio::test]
async fn the_import_and_export_commands_move_a_run_between_databases() {
    let (source_db, target_db) = (TestDatabase::new(), TestDatabase::new());
    let source = TestApp::attach(serve_on(&source_db.url, 1 << 24).await);
    post_rich_run(&source, "rich-run").await;
    let original = source.get_json("/api/v1/executions/rich-run").await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rich-run.tracevis.json");
    let tracevis = env!("CARGO_BIN_EXE_tracevis");
    let export = std::process::Command::new(tracevis)
        .args(["export", "rich-run", "--database-url", &source_db.url, "--output"])
        .arg(&file)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );

    let import = std::process::Command::new(tracevis)
        .args(["import", "--database-url", &target_db.url])
        .arg(&file)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert!(String::from_utf8_lossy(&import.stdout).contains("imported rich-run (10 records, failed)"));

    let target = TestApp::attach(serve_on(&target_db.url, 1 << 24).await);
    assert_eq!(target.get_json("/api/v1/executions/rich-run").await, original);

    let bad = std::process::Command::new(tracevis)
        .args([
            "import",
            "--database-url",
            &target_db.url,
            "/nonexistent/run.json",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("cannot read /nonexistent/run.json"));
}
