//! Bad input gets a clear error naming what is wrong, nothing half-stored,
//! and the server keeps answering with earlier data intact.

use crate::helpers::{assert_error, event, spawn_app, spawn_app_with_limit, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

/// A run "keep" with 3 events that every bad request must leave as it was.
async fn app_with_data() -> TestApp {
    let app = spawn_app().await;
    app.start("keep").await;
    app.append_events("keep", 3).await;
    app
}

async fn assert_intact(app: &TestApp) {
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
    assert_eq!(app.event_count("keep").await, 3);
    assert_eq!(
        app.get_json("/api/v1/executions").await["total"],
        1,
        "no run was half-created"
    );
}

async fn post_batch(app: &TestApp, body: Value) -> reqwest::Response {
    app.post("/api/v1/executions/keep/events", &body).await
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = app_with_data().await;
    assert_error(
        app.post_raw("/api/v1/executions/keep/events", "{\"events\": [")
            .await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
        &["malformed JSON"],
    )
    .await;
    assert_error(
        app.post_raw("/api/v1/executions", "{\"graph_type\": \"g\"} trailing")
            .await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
        &[],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn a_wrong_field_type_names_the_field() {
    let app = app_with_data().await;
    let mut e = event("x1", "A");
    e["duration_ms"] = json!("fast");
    assert_error(
        post_batch(&app, json!({"events": [e]})).await,
        UNPROCESSABLE,
        "invalid_field",
        &["events[0].duration_ms"],
    )
    .await;
    let mut e = event("x2", "A");
    e["inputs"] = json!([1, 2]);
    assert_error(
        post_batch(&app, json!({"events": [e]})).await,
        UNPROCESSABLE,
        "invalid_field",
        &["events[0].inputs"],
    )
    .await;
    assert_error(
        app.post("/api/v1/executions", &json!({"graph_type": 5})).await,
        UNPROCESSABLE,
        "invalid_field",
        &["graph_type"],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn a_missing_or_empty_graph_type_is_rejected() {
    let app = app_with_data().await;
    assert_error(
        app.post("/api/v1/executions", &json!({"execution_id": "n1"}))
            .await,
        UNPROCESSABLE,
        "invalid_field",
        &["graph_type"],
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/executions",
            &json!({"execution_id": "n1", "graph_type": ""}),
        )
        .await,
        UNPROCESSABLE,
        "invalid_field",
        &["graph_type", "empty"],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn an_unknown_event_type_a_bad_timestamp_and_a_negative_duration_are_rejected() {
    let app = app_with_data().await;
    let mut e = event("x1", "A");
    e["event_type"] = json!("exploded");
    assert_error(
        post_batch(&app, json!({"events": [e]})).await,
        UNPROCESSABLE,
        "invalid_field",
        &["events[0].event_type", "exploded"],
    )
    .await;
    let mut e = event("x1", "A");
    e["timestamp"] = json!("yesterday at noon");
    assert_error(
        post_batch(&app, json!({"events": [e]})).await,
        UNPROCESSABLE,
        "invalid_field",
        &["events[0].timestamp"],
    )
    .await;
    let mut e = event("x1", "A");
    e["duration_ms"] = json!(-1.5);
    assert_error(
        post_batch(&app, json!({"events": [e]})).await,
        UNPROCESSABLE,
        "invalid_field",
        &["events[0].duration_ms", "from 0 to"],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn ids_outside_the_safe_set_or_too_long_are_rejected() {
    let app = app_with_data().await;
    assert_error(
        app.post(
            "/api/v1/executions",
            &json!({"execution_id": "a/b", "graph_type": "g"}),
        )
        .await,
        UNPROCESSABLE,
        "invalid_field",
        &["execution_id", "'/'"],
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/executions",
            &json!({"execution_id": "x".repeat(129), "graph_type": "g"}),
        )
        .await,
        UNPROCESSABLE,
        "invalid_field",
        &["execution_id", "128"],
    )
    .await;
    let mut e = event("bad id", "A");
    e["event_id"] = json!("bad id");
    assert_error(
        post_batch(&app, json!({"events": [e]})).await,
        UNPROCESSABLE,
        "invalid_field",
        &["events[0].event_id"],
    )
    .await;
    assert_error(
        app.post("/api/v1/executions", &json!({"graph_type": "g".repeat(257)}))
            .await,
        UNPROCESSABLE,
        "invalid_field",
        &["graph_type", "256"],
    )
    .await;
    assert_error(
        app.get("/api/v1/executions/bad%20id").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        &["execution_id"],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn events_for_an_unknown_execution_are_a_404() {
    let app = app_with_data().await;
    assert_error(
        app.post(
            "/api/v1/executions/ghost/events",
            &json!({"events": [event("e", "A")]}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
        &["ghost"],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn one_bad_record_rejects_the_whole_batch_naming_its_index_and_field() {
    let app = app_with_data().await;
    let mut bad = event("b2", "A");
    bad["event_type"] = json!("nope");
    let body = json!({"events": [event("b0", "A"), event("b1", "A"), bad, event("b3", "A")]});
    assert_error(
        post_batch(&app, body).await,
        UNPROCESSABLE,
        "invalid_field",
        &["events[2].event_type"],
    )
    .await;
    let body = json!({"events": [event("b0", "A")], "snapshots": [{"node_id": "A", "timestamp": "2025-10-21T10:00:00Z"}]});
    assert_error(
        post_batch(&app, body).await,
        UNPROCESSABLE,
        "invalid_field",
        &["snapshots[0]", "state"],
    )
    .await;
    assert_intact(&app).await;
    let trace = app.get_json("/api/v1/executions/keep").await;
    assert_eq!(trace["last_seq"], 3, "no seq was used by the rejected batches");
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let app = spawn_app_with_limit(4 * 1024).await;
    app.start("keep").await;
    app.append_events("keep", 3).await;
    let events: Vec<Value> = (0..200).map(|i| event(&format!("big{i}"), "A")).collect();
    let body = serde_json::to_vec(&json!({"events": events})).unwrap();
    assert!(body.len() > 4 * 1024);
    assert_error(
        app.post_raw("/api/v1/executions/keep/events", body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &["limit"],
    )
    .await;
    // A streamed body without a declared length is cut off at the limit too.
    let chunks = futures_chunks(64, 1024);
    assert_error(
        app.post_raw(
            "/api/v1/executions/keep/events",
            reqwest::Body::wrap_stream(chunks),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        &[],
    )
    .await;
    assert_eq!(app.event_count("keep").await, 3);
}

fn futures_chunks(
    count: usize,
    size: usize,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::iter((0..count).map(move |_| Ok(vec![b' '; size])))
}

#[tokio::test]
async fn pathologically_deep_json_is_a_400() {
    let app = app_with_data().await;
    let depth = 10_000;
    let body = format!(
        "{{\"events\": [{{\"node_id\": \"A\", \"event_type\": \"started\", \"timestamp\": \"2025-10-21T10:00:00Z\", \"inputs\": {{\"a\": {}{}}}}}]}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert_error(
        app.post_raw("/api/v1/executions/keep/events", body).await,
        StatusCode::BAD_REQUEST,
        "too_deep",
        &[],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn events_after_complete_are_a_409_and_completing_twice_too() {
    let app = app_with_data().await;
    let r = app
        .post(
            "/api/v1/executions/keep/complete",
            &json!({"status": "completed"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_error(
        post_batch(&app, json!({"events": [event("late", "A")]})).await,
        StatusCode::CONFLICT,
        "conflict",
        &["completed"],
    )
    .await;
    assert_error(
        app.post("/api/v1/executions/keep/complete", &json!({"status": "failed"}))
            .await,
        StatusCode::CONFLICT,
        "conflict",
        &[],
    )
    .await;
    assert_error(
        app.post("/api/v1/executions/keep/complete", &json!({"status": "running"}))
            .await,
        UNPROCESSABLE,
        "invalid_field",
        &["status"],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn the_same_execution_id_with_different_content_is_a_409() {
    let app = app_with_data().await;
    assert_error(
        app.post(
            "/api/v1/executions",
            &json!({"execution_id": "keep", "graph_type": "other"}),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
        &["keep"],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn durations_and_times_outside_the_calendar_are_refused_at_every_json_door() {
    let app = app_with_data().await;
    let mut e = event("x1", "A");
    // A microsecond/millisecond mix-up: once it hung the run's page.
    e["duration_ms"] = json!(1e16);
    assert_error(
        post_batch(&app, json!({"events": [e]})).await,
        UNPROCESSABLE,
        "invalid_field",
        &["events[0].duration_ms", "ten years"],
    )
    .await;
    // Year 10000 is not RFC 3339 at all; 1969 is, but before the range.
    for (at, says) in [
        ("10000-01-01T00:00:00Z", "invalid"),
        ("1969-12-31T23:59:59Z", "from 1970 to 9999"),
    ] {
        let mut e = event("x1", "A");
        e["timestamp"] = json!(at);
        assert_error(
            post_batch(&app, json!({"events": [e]})).await,
            UNPROCESSABLE,
            "invalid_field",
            &["events[0].timestamp", says],
        )
        .await;
        assert_error(
            app.post(
                "/api/v1/executions",
                &json!({"graph_type": "g", "start_time": at}),
            )
            .await,
            UNPROCESSABLE,
            "invalid_field",
            &["start_time", says],
        )
        .await;
    }
    // Counts that would overflow the run's totals.
    let mut e = event("x1", "A");
    e["metadata"] = json!({"tokens": 9.9e300});
    assert_error(
        post_batch(&app, json!({"events": [e]})).await,
        UNPROCESSABLE,
        "invalid_field",
        &["events[0].metadata", "tokens must be a count"],
    )
    .await;
    assert_error(
        app.post(
            "/api/v1/executions/keep/complete",
            &json!({"status": "completed", "performance": {"total_tokens": u64::MAX}}),
        )
        .await,
        UNPROCESSABLE,
        "invalid_field",
        &["performance.total_tokens", "at most"],
    )
    .await;
    assert_intact(&app).await;
}

#[tokio::test]
async fn a_run_at_the_edges_of_the_accepted_ranges_opens_compares_and_exports() {
    let app = spawn_app().await;
    for (id, start) in [
        ("early", "1970-01-01T00:00:00Z"),
        ("late", "9999-12-31T23:00:00Z"),
    ] {
        app.post(
            "/api/v1/executions",
            &json!({"execution_id": id, "graph_type": "edges", "start_time": start}),
        )
        .await
        .error_for_status()
        .expect("started");
        // An ending event with no start, lasting the longest accepted duration.
        let mut e = event("end1", "Slow");
        e["event_type"] = json!("completed");
        e["timestamp"] = json!(start);
        e["duration_ms"] = json!(app::model::MAX_DURATION_MS);
        e["metadata"] =
            json!({"tokens": app::model::MAX_EVENT_COUNT, "llm_calls": app::model::MAX_EVENT_COUNT});
        post_events(&app, id, json!({"events": [e]})).await;
        app.post(
            &format!("/api/v1/executions/{id}/complete"),
            &json!({"status": "completed", "end_time": start}),
        )
        .await
        .error_for_status()
        .expect("completed");
    }
    // The pages themselves are opened in the browser tests
    // (end2end/tests/run_page.spec.ts): rendering pages from several
    // in-process test servers at once has hung the test binary.
    let c = app.get_json("/api/v1/compare?a=early&b=late").await;
    assert_eq!(c["aligned"].as_array().map(Vec::len), Some(1), "{c}");
    for id in ["early", "late"] {
        let r = app.get(&format!("/api/v1/executions/{id}/export")).await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = app
            .get(&format!("/api/v1/executions/{id}/export?format=chrome"))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let stats = app.get_json("/api/v1/statistics").await;
    assert_eq!(stats["executions"]["total"], 2);
    assert_eq!(stats["total_llm_calls"], 2 * app::model::MAX_EVENT_COUNT);
}

async fn post_events(app: &TestApp, id: &str, body: Value) {
    app.post(&format!("/api/v1/executions/{id}/events"), &body)
        .await
        .error_for_status()
        .expect("stored");
}

/// PostgreSQL's text cannot hold a NUL character: text stored as text
/// (labels, error messages) refuses it at every JSON door on both backends
/// alike, naming the field (a 500 on PostgreSQL before, found by
/// schemathesis).
#[tokio::test]
async fn a_nul_character_in_stored_text_is_refused_naming_the_field() {
    let app = crate::helpers::spawn_app().await;
    let r = app
        .post(
            "/api/v1/executions",
            &serde_json::json!({"execution_id": "nul", "graph_type": "a\u{0}b"}),
        )
        .await;
    crate::helpers::assert_error(
        r,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        &["graph_type"],
    )
    .await;
    app.start("nul").await;
    let r = app
        .post(
            "/api/v1/executions/nul/events",
            &serde_json::json!({"events": [{"node_id": "A", "event_type": "failed",
                "timestamp": "2025-10-21T10:00:00Z", "error": "bad\u{0}byte"}]}),
        )
        .await;
    crate::helpers::assert_error(
        r,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        &["events[0].error"],
    )
    .await;
    assert_eq!(app.event_count("nul").await, 0, "nothing of the batch is stored");
    let r = app
        .post(
            "/api/v1/executions/nul/complete",
            &serde_json::json!({"status": "failed", "error": "\u{0}"}),
        )
        .await;
    crate::helpers::assert_error(
        r,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        &["error"],
    )
    .await;
}
