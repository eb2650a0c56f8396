//! `GET /api/v1/compare`: a good run against a failed, slower one.

use crate::helpers::{assert_error, spawn_app, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn post_run(app: &TestApp, id: &str, inputs: Value, nodes: &[(&str, &str, f64)], status: &str) {
    app.post(
        "/api/v1/executions",
        &json!({"execution_id": id, "graph_type": "g", "original_inputs": inputs,
        "start_time": "2025-10-21T10:00:00Z"}),
    )
    .await;
    let mut events = Vec::new();
    for (i, (node, outcome, ms)) in nodes.iter().enumerate() {
        let t = format!("2025-10-21T10:00:{:02}Z", i * 2);
        events.push(json!({"node_id": node, "event_type": "started", "timestamp": t}));
        events.push(
            json!({"node_id": node, "event_type": outcome, "timestamp": t, "duration_ms": ms,
                           "outputs": {"node": node}}),
        );
    }
    let r = app
        .post(
            &format!("/api/v1/executions/{id}/events"),
            &json!({"events": events}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    app.post(
        &format!("/api/v1/executions/{id}/complete"),
        &json!({"status": status, "final_state": {"done": status == "completed"}}),
    )
    .await;
}

#[tokio::test]
async fn comparing_a_good_run_with_a_failed_slower_one_aligns_nodes_and_finds_the_divergence() {
    let app = spawn_app().await;
    post_run(
        &app,
        "good",
        json!({"q": 1}),
        &[
            ("Plan", "completed", 100.0),
            ("Search", "completed", 200.0),
            ("Write", "completed", 300.0),
        ],
        "completed",
    )
    .await;
    post_run(
        &app,
        "bad",
        json!({"q": 2}),
        &[
            ("Plan", "completed", 150.0),
            ("Search", "completed", 900.0),
            ("Search", "completed", 800.0),
            ("Write", "failed", 50.0),
        ],
        "failed",
    )
    .await;

    let c = app.get_json("/api/v1/compare?a=good&b=bad").await;
    let rows: Vec<(String, bool, bool)> = c["aligned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["node_id"].as_str().unwrap().to_owned(),
                !s["a"].is_null(),
                !s["b"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("Plan", true, true),
            ("Search", true, true),
            ("Search", false, true),
            ("Write", true, true)
        ]
        .map(|(n, a, b)| (n.to_owned(), a, b))
    );
    assert_eq!(c["aligned"][0]["duration_delta_ms"], 50.0);
    assert_eq!(c["aligned"][1]["duration_delta_ms"], 700.0);
    assert_eq!(c["aligned"][3]["status_changed"], true);
    assert_eq!(c["first_divergence"]["index"], 2);
    assert_eq!(c["first_divergence"]["reason"], "path");
    assert_eq!(
        c["inputs_diff"],
        json!([{"path": "/q", "op": "replace", "old": 1, "new": 2}])
    );
    assert_eq!(
        c["final_state_diff"],
        json!([{"path": "/done", "op": "replace", "old": true, "new": false}])
    );
    assert_eq!(
        (c["a"]["status"].clone(), c["b"]["status"].clone()),
        (json!("completed"), json!("failed"))
    );

    assert_error(
        app.get("/api/v1/compare?a=good&b=ghost").await,
        StatusCode::NOT_FOUND,
        "not_found",
        &["ghost"],
    )
    .await;
    assert_error(
        app.get("/api/v1/compare?b=good").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        &["a"],
    )
    .await;
}

#[tokio::test]
async fn without_b_a_run_is_compared_with_the_previous_run_of_its_graph_type() {
    let app = spawn_app().await;
    let start =
        |id: &str, graph: &str, at: &str| json!({"execution_id": id, "graph_type": graph, "start_time": at});
    for (id, graph, at) in [
        ("monday", "g", "2025-10-20T10:00:00Z"),
        ("tuesday", "g", "2025-10-21T10:00:00Z"),
        ("tuesday-other-graph", "h", "2025-10-21T11:00:00Z"),
        ("wednesday", "g", "2025-10-22T10:00:00Z"),
    ] {
        assert_eq!(
            app.post("/api/v1/executions", &start(id, graph, at))
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    let c = app.get_json("/api/v1/compare?a=wednesday").await;
    assert_eq!(
        (c["a"]["execution_id"].as_str(), c["b"]["execution_id"].as_str()),
        (Some("wednesday"), Some("tuesday"))
    );
    let c = app.get_json("/api/v1/compare?a=tuesday").await;
    assert_eq!(c["b"]["execution_id"], "monday");
    assert_error(
        app.get("/api/v1/compare?a=monday").await,
        StatusCode::NOT_FOUND,
        "not_found",
        &["earlier run"],
    )
    .await;
}
