//! Producers' writes: a run posted as API.md shows comes back field for field;
//! retries, duplicates and aggregates behave as documented.

use crate::helpers::{assert_error, event, spawn_app};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn a_run_posted_as_the_api_shows_comes_back_field_for_field() {
    let app = spawn_app().await;
    let start = json!({
        "execution_id": "exec-123", "graph_type": "forward_mode",
        "original_inputs": {"prompt": "test"}, "start_time": "2025-10-21T10:00:00Z",
        "metadata": {"team": "search"},
        "graph": {"nodes": [{"id": "PlanNode"}, {"id": "TranslateNode"}],
                  "edges": [{"from": "PlanNode", "to": "TranslateNode"}]},
        "is_replay": false, "original_execution_id": null,
        "initial_state": {"draft": {"title": "a"}, "tags": ["x"]}
    });
    let r = app.post("/api/v1/executions", &start).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"execution_id": "exec-123"})
    );

    let batch = json!({
        "events": [
            {"event_id": "e1", "node_id": "PlanNode", "event_type": "started", "timestamp": "2025-10-21T10:00:00.100Z"},
            {"event_id": "e2", "node_id": "PlanNode", "event_type": "completed", "timestamp": "2025-10-21T10:00:01.5Z",
             "duration_ms": 1400.25, "inputs": {"q": 1}, "outputs": {"plan": ["translate"]},
             "metadata": {"llm_calls": 2, "tokens": 300, "attempt": 1}},
            {"event_id": "e3", "node_id": "TranslateNode", "event_type": "failed", "timestamp": "2025-10-21T10:00:02Z",
             "duration_ms": 400, "error": "RateLimitError", "metadata": {"llm_calls": 1}},
            {"event_id": "e4", "node_id": "TranslateNode", "event_type": "cached", "timestamp": "2025-10-21T10:00:02.5Z",
             "duration_ms": 1, "metadata": {"tokens": 50}}
        ],
        "snapshots": [{"snapshot_id": "s1", "node_id": "PlanNode", "timestamp": "2025-10-21T10:00:01.5Z",
                       "state": {"draft": {"title": "b"}, "tags": ["x", "y"]}}]
    });
    let r = app.post("/api/v1/executions/exec-123/events", &batch).await;
    assert_eq!(r.status(), StatusCode::OK);
    // seq 1 is the initial state; e1, e2, s1 (same time as e2, after it), e3, e4.
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"accepted": 5, "duplicates": 0, "last_seq": 6})
    );

    let r = app
        .post(
            "/api/v1/executions/exec-123/complete",
            &json!({"status": "completed", "end_time": "2025-10-21T10:00:03Z", "final_state": {"done": true}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let summary: Value = r.json().await.unwrap();
    assert_eq!(summary["status"], "completed");
    assert!(
        summary.get("node_events").is_none(),
        "a summary carries no events"
    );

    let trace = app.get_json("/api/v1/executions/exec-123").await;
    for (field, expected) in [
        ("execution_id", json!("exec-123")),
        ("graph_type", json!("forward_mode")),
        ("status", json!("completed")),
        ("start_time", json!("2025-10-21T10:00:00Z")),
        ("end_time", json!("2025-10-21T10:00:03Z")),
        ("total_duration_ms", json!(3000.0)),
        ("total_nodes", json!(3)),
        ("failed_nodes", json!(1)),
        ("cached_nodes", json!(1)),
        ("total_llm_calls", json!(3)),
        ("total_tokens", json!(350)),
        ("original_inputs", start["original_inputs"].clone()),
        ("final_state", json!({"done": true})),
        ("metadata", start["metadata"].clone()),
        ("graph", start["graph"].clone()),
        ("is_replay", json!(false)),
        ("original_execution_id", Value::Null),
        ("last_seq", json!(6)),
    ] {
        assert_eq!(trace[field], expected, "field {field}");
    }
    let events = trace["node_events"].as_array().unwrap();
    assert_eq!(events.len(), 4);
    let e2 = &events[1];
    for field in [
        "event_id",
        "node_id",
        "event_type",
        "duration_ms",
        "inputs",
        "outputs",
        "metadata",
    ] {
        assert_eq!(e2[field], batch["events"][1][field], "event field {field}");
    }
    assert_eq!(e2["timestamp"], "2025-10-21T10:00:01.500Z");
    assert_eq!(e2["execution_id"], "exec-123");
    assert_eq!(e2["seq"], 3);
    assert_eq!(events[2]["error"], "RateLimitError");
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, vec![2, 3, 5, 6]);

    let snapshots = trace["state_snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 2);
    assert_eq!(snapshots[0]["node_id"], "__start__");
    assert_eq!(snapshots[0]["state"], start["initial_state"]);
    assert_eq!(snapshots[1]["snapshot_id"], "s1");
    assert_eq!(snapshots[1]["seq"], 4);
    assert_eq!(
        snapshots[1]["diff"],
        json!([
            {"path": "/draft/title", "op": "replace", "old": "a", "new": "b"},
            {"path": "/tags/1", "op": "add", "new": "y"}
        ])
    );
}

#[tokio::test]
async fn the_same_start_twice_is_one_run_and_different_content_is_a_conflict() {
    let app = spawn_app().await;
    let body = json!({"execution_id": "r1", "graph_type": "g", "original_inputs": {"a": 1}});
    assert_eq!(
        app.post("/api/v1/executions", &body).await.status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.post("/api/v1/executions", &body).await.status(),
        StatusCode::OK
    );
    let different = json!({"execution_id": "r1", "graph_type": "g", "original_inputs": {"a": 2}});
    crate::helpers::assert_error(
        app.post("/api/v1/executions", &different).await,
        StatusCode::CONFLICT,
        "conflict",
        &["r1"],
    )
    .await;
    let list = app.get_json("/api/v1/executions").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["executions"][0]["original_inputs"], json!({"a": 1}));
}

#[tokio::test]
async fn a_run_without_an_id_gets_one_from_the_server() {
    let app = spawn_app().await;
    let r = app.post("/api/v1/executions", &json!({"graph_type": "g"})).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let trace = app.get_json(&format!("/api/v1/executions/{id}")).await;
    assert_eq!(trace["status"], "running");
    assert_eq!(trace["end_time"], Value::Null);
}

#[tokio::test]
async fn a_repeated_event_id_is_counted_as_a_duplicate_and_stored_once() {
    let app = spawn_app().await;
    app.start("r").await;
    let first = app
        .post(
            "/api/v1/executions/r/events",
            &json!({"events": [event("e1", "A"), event("e2", "A")]}),
        )
        .await;
    assert_eq!(
        first.json::<Value>().await.unwrap(),
        json!({"accepted": 2, "duplicates": 0, "last_seq": 2})
    );
    let again = app
        .post(
            "/api/v1/executions/r/events",
            &json!({"events": [event("e2", "A"), event("e3", "A"), event("e3", "A")]}),
        )
        .await;
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        json!({"accepted": 1, "duplicates": 2, "last_seq": 3})
    );
    assert_eq!(app.event_count("r").await, 3);
    let trace = app.get_json("/api/v1/executions/r").await;
    assert_eq!(trace["total_nodes"], 3, "duplicates do not count twice");
}

#[tokio::test]
async fn totals_given_on_completion_override_the_summed_metadata() {
    let app = spawn_app().await;
    app.start("r").await;
    let mut e = event("e1", "A");
    e["metadata"] = json!({"llm_calls": 2, "tokens": 100});
    app.post("/api/v1/executions/r/events", &json!({"events": [e]}))
        .await;
    let before = app.get_json("/api/v1/executions/r").await;
    assert_eq!(
        (before["total_llm_calls"].clone(), before["total_tokens"].clone()),
        (json!(2), json!(100))
    );
    let done = app
        .post(
            "/api/v1/executions/r/complete",
            &json!({"status": "failed", "error": "boom",
                    "performance": {"total_llm_calls": 7, "total_tokens": 1200, "cache_hits": 1, "cache_misses": 2}}),
        )
        .await;
    let summary: Value = done.json().await.unwrap();
    assert_eq!(summary["status"], "failed");
    assert_eq!(summary["error"], "boom");
    assert_eq!(summary["total_llm_calls"], 7);
    assert_eq!(summary["total_tokens"], 1200);
}

#[tokio::test]
async fn parents_name_earlier_events_of_the_run_and_anything_else_is_refused_whole() {
    let app = spawn_app().await;
    app.start("fork").await;
    app.start("other").await;
    let at = |s: u32| format!("2025-10-21T10:00:{s:02}Z");
    let started = |id: &str, node: &str, s: u32, parents: Value| json!({"event_id": id, "node_id": node, "event_type": "started", "timestamp": at(s), "parents": parents});
    let r = app
        .post(
            "/api/v1/executions/other/events",
            &json!({"events": [started("elsewhere", "X", 0, json!([]))]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Plan, then two branches that follow it (one in the same batch).
    let r = app
        .post(
            "/api/v1/executions/fork/events",
            &json!({"events": [started("plan", "Plan", 1, json!([])), started("a", "A", 2, json!(["plan"]))]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // Refused, naming the field, with nothing of the batch stored: a parent
    // not stored yet, one of another run, the event itself, one later in
    // the batch, too many.
    let too_many: Vec<String> = (0..65).map(|i| format!("p{i}")).collect();
    for (events, field) in [
        (
            json!([started("b", "B", 3, json!(["plan", "nowhere"]))]),
            "events[0].parents[1]",
        ),
        (
            json!([started("b", "B", 3, json!(["elsewhere"]))]),
            "events[0].parents[0]",
        ),
        (
            json!([started("b", "B", 3, json!(["b"]))]),
            "events[0].parents[0]",
        ),
        (
            json!([
                started("b", "B", 3, json!(["join"])),
                started("join", "Join", 4, json!([]))
            ]),
            "events[0].parents[0]",
        ),
        (json!([started("b", "B", 3, json!(too_many))]), "parents"),
    ] {
        let r = app
            .post("/api/v1/executions/fork/events", &json!({"events": events}))
            .await;
        assert_error(r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", &[field]).await;
        assert_eq!(
            app.event_count("fork").await,
            2,
            "nothing of a refused batch is stored"
        );
    }
    let r = app
        .post(
            "/api/v1/executions/fork/events",
            &json!({"events": [started("b", "B", 3, json!(["plan", "plan"])),
                               started("join", "Join", 4, json!(["a", "b"]))]}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let trace = app.get_json("/api/v1/executions/fork").await;
    let parents: Vec<(Value, Value)> = trace["node_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["parents"].clone(), e["parent_seqs"].clone()))
        .collect();
    assert_eq!(
        parents,
        [
            (Value::Null, Value::Null),
            (json!(["plan"]), json!([1])),
            (json!(["plan"]), json!([1])),
            (json!(["a", "b"]), json!([2, 3])),
        ],
        "as sent (a repeat once), with the seqs they resolved to; none when none"
    );
}
