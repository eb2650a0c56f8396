//! A run of 10,000 visits started in one instant and joined: stored, read,
//! compared, exported and counted in the statistics, every answer whole.

use crate::helpers::spawn_app;
use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

const BRANCHES: i64 = 10_000;

#[tokio::test]
async fn ten_thousand_branches_in_one_instant_are_read_compared_exported_and_counted() {
    let app = spawn_app().await;
    let t0 = Utc.with_ymd_and_hms(2026, 5, 2, 8, 0, 0).unwrap();
    let at = |ms: i64| t0 + ChronoDuration::milliseconds(ms);
    let r = app
        .post(
            "/api/v1/executions",
            &json!({"execution_id": "wide", "graph_type": "wide", "start_time": t0}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut events = vec![
        json!({"event_id": "plan", "node_id": "Plan", "event_type": "started", "timestamp": at(0)}),
        json!({"event_id": "plan-end", "node_id": "Plan", "event_type": "completed", "timestamp": at(1_000)}),
    ];
    // Every branch starts at 1 s and follows Plan; branch i runs i / 10 ms
    // (the last ten are the slowest). Branches of one node end in the order
    // they started: visits of one node are paired oldest first.
    for i in 0..BRANCHES {
        events.push(
            json!({"event_id": format!("b{i}"), "node_id": format!("Branch{}", i % 50),
            "event_type": "started", "timestamp": at(1_000), "parents": ["plan"]}),
        );
        events.push(
            json!({"event_id": format!("b{i}-end"), "node_id": format!("Branch{}", i % 50),
            "event_type": "completed", "timestamp": at(1_000 + i / 10)}),
        );
    }
    // The join names the last 64 branches (64 is the most it may name).
    let joined: Vec<String> = (BRANCHES - 64..BRANCHES).map(|i| format!("b{i}")).collect();
    events.push(
        json!({"event_id": "join", "node_id": "Join", "event_type": "started",
        "timestamp": at(2_000), "parents": joined}),
    );
    events.push(
        json!({"event_id": "join-end", "node_id": "Join", "event_type": "completed", "timestamp": at(2_100)}),
    );
    for chunk in events.chunks(5_000) {
        let r = app
            .post("/api/v1/executions/wide/events", &json!({"events": chunk}))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    }
    let r = app
        .post(
            "/api/v1/executions/wide/complete",
            &json!({"status": "completed", "end_time": at(2_100)}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let trace = app.get_json("/api/v1/executions/wide").await;
    let stored = trace["node_events"].as_array().unwrap();
    assert_eq!(stored.len() as i64, 2 * BRANCHES + 4);
    let join = stored.iter().find(|e| e["event_id"] == "join").unwrap();
    assert_eq!(join["parent_seqs"].as_array().unwrap().len(), 64);

    // Compared with itself: every visit aligned, no divergence.
    let c = app.get_json("/api/v1/compare?a=wide&b=wide").await;
    assert_eq!(c["first_divergence"], Value::Null);
    assert_eq!(c["aligned"].as_array().unwrap().len() as i64, BRANCHES + 2);
    assert_eq!(c["critical_path_changes"], json!([]));

    let r = app.get("/api/v1/executions/wide/export").await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app.get("/api/v1/executions/wide/export?format=chrome").await;
    assert_eq!(r.status(), StatusCode::OK);

    // Its critical path: Plan, the slowest named branch (of those ending
    // last, the last to start: b9999), Join.
    let stats = app.get_json("/api/v1/statistics?graph_type=wide").await;
    let p = &stats["parallelism"];
    assert_eq!(p["parallel_runs"], 1);
    let on_path: Vec<&str> = p["critical_path_nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(on_path, ["Branch49", "Join", "Plan"], "b9999 is Branch49");
}
