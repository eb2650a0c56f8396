//! Reads: the list with filters and pagination, the timeline filtered by node
//! type (AC4), state history with and without diffs, compressed answers.

use crate::helpers::{assert_error, event, spawn_app};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn the_list_is_newest_first_filtered_and_paginated() {
    let app = spawn_app().await;
    for (i, (graph, status)) in [
        ("a", "completed"),
        ("b", "failed"),
        ("a", "failed"),
        ("a", "running"),
    ]
    .iter()
    .enumerate()
    {
        let id = format!("run{i}");
        let start = format!("2025-10-2{}T10:00:00Z", i + 1);
        app.post(
            "/api/v1/executions",
            &json!({"execution_id": id, "graph_type": graph, "start_time": start}),
        )
        .await;
        if *status != "running" {
            app.post(
                &format!("/api/v1/executions/{id}/complete"),
                &json!({"status": status}),
            )
            .await;
        }
    }
    let ids = |v: &Value| -> Vec<String> {
        v["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["execution_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get_json("/api/v1/executions").await;
    assert_eq!(ids(&all), ["run3", "run2", "run1", "run0"]);
    assert_eq!(all["total"], 4);

    let failed_a = app
        .get_json("/api/v1/executions?graph_type=a&status=failed")
        .await;
    assert_eq!(ids(&failed_a), ["run2"]);
    assert_eq!(failed_a["total"], 1);

    let page = app.get_json("/api/v1/executions?limit=2&offset=1").await;
    assert_eq!(ids(&page), ["run2", "run1"]);
    assert_eq!(page["total"], 4, "total counts every match, not the page");

    let window = app
        .get_json("/api/v1/executions?start_time=2025-10-22T00:00:00Z&end_time=2025-10-23T23:00:00Z")
        .await;
    assert_eq!(ids(&window), ["run2", "run1"]);

    let by_id = app.get_json("/api/v1/executions?id=n2").await;
    assert_eq!(ids(&by_id), ["run2"]);
    // Each finished "now", so the earliest start is the slowest; running run3 sorts last.
    let slowest = app.get_json("/api/v1/executions?sort=duration").await;
    assert_eq!(ids(&slowest), ["run0", "run1", "run2", "run3"]);
    assert_error(
        app.get("/api/v1/executions?sort=size").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        &["sort"],
    )
    .await;
    assert_error(
        app.get("/api/v1/executions?status=paused").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        &["status"],
    )
    .await;
    assert_error(
        app.get("/api/v1/executions?limit=0").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        &["limit"],
    )
    .await;
    assert_error(
        app.get("/api/v1/executions?start_time=yesterday").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        &["start_time"],
    )
    .await;
}

#[tokio::test]
async fn the_timeline_filters_by_node_type_and_is_ordered_by_time() {
    let app = spawn_app().await;
    app.start("r").await;
    let at = |id: &str, node: &str, t: &str| {
        let mut e = event(id, node);
        e["timestamp"] = json!(t);
        e
    };
    // Posted out of time order: the timeline sorts by timestamp.
    let events = json!([
        at("e3", "TranslateNode", "2025-10-21T10:00:03Z"),
        at("e1", "PlanNode", "2025-10-21T10:00:01Z"),
        at("e2", "TranslateNode", "2025-10-21T10:00:02Z"),
    ]);
    app.post("/api/v1/executions/r/events", &json!({"events": events}))
        .await;
    let all = app.get_json("/api/v1/executions/r/timeline").await;
    let ids: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e1", "e2", "e3"]);
    let translate = app
        .get_json("/api/v1/executions/r/timeline?node_type=TranslateNode")
        .await;
    let translate = translate.as_array().unwrap();
    assert_eq!(translate.len(), 2);
    assert!(translate.iter().all(|e| e["node_id"] == "TranslateNode"));
    assert_error(
        app.get("/api/v1/executions/nope/timeline").await,
        StatusCode::NOT_FOUND,
        "not_found",
        &["nope"],
    )
    .await;
}

#[tokio::test]
async fn state_history_carries_diffs_unless_asked_not_to() {
    let app = spawn_app().await;
    app.start("r").await;
    let snapshot =
        |n: i64, t: &str| json!({"node_id": "A", "timestamp": t, "state": {"count": n, "nested": {"n": n}}});
    app.post(
        "/api/v1/executions/r/events",
        &json!({"snapshots": [snapshot(1, "2025-10-21T10:00:01Z"), snapshot(2, "2025-10-21T10:00:02Z")]}),
    )
    .await;
    // A later batch diffs against the last stored snapshot.
    app.post(
        "/api/v1/executions/r/events",
        &json!({"snapshots": [snapshot(3, "2025-10-21T10:00:03Z")]}),
    )
    .await;
    let states = app
        .get_json("/api/v1/executions/r/states?include_diffs=true")
        .await;
    let states = states.as_array().unwrap();
    assert_eq!(states.len(), 3);
    assert_eq!(states[0]["diff"], Value::Null);
    assert_eq!(
        states[2]["diff"],
        json!([
            {"path": "/count", "op": "replace", "old": 2, "new": 3},
            {"path": "/nested/n", "op": "replace", "old": 2, "new": 3}
        ])
    );
    let plain = app
        .get_json("/api/v1/executions/r/states?include_diffs=false")
        .await;
    assert!(plain.as_array().unwrap().iter().all(|s| s["diff"].is_null()));
    assert_eq!(plain[2]["state"]["count"], 3);
}

#[tokio::test]
async fn health_answers_ok_and_unknown_routes_answer_json() {
    let app = spawn_app().await;
    assert_eq!(app.get_json("/healthz").await, json!({"status": "ok"}));
    assert_error(
        app.get("/api/v1/nothing-here").await,
        StatusCode::NOT_FOUND,
        "unknown_route",
        &[],
    )
    .await;
    assert_error(
        app.get("/api/v1/executions/missing").await,
        StatusCode::NOT_FOUND,
        "not_found",
        &["missing"],
    )
    .await;
}

#[tokio::test]
async fn answers_are_compressed_for_clients_that_ask_and_plain_for_the_rest() {
    let app = spawn_app().await;
    app.start("run-1").await;
    app.append_events("run-1", 200).await;
    // API answers only: pages go through the same layer, and rendering one
    // in-process while other tests run in parallel can hang (see
    // `a_visits_events_are_read_by_seq_with_their_payloads`).
    for path in ["/api/v1/executions/run-1", "/api/v1/executions/run-1/timeline"] {
        let compressed = app
            .client
            .get(app.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(compressed.status(), StatusCode::OK, "{path}");
        assert_eq!(compressed.headers()["content-encoding"], "gzip", "{path}");
        let plain = app.get(path).await;
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let (zipped, text) = (
            compressed.bytes().await.unwrap().len(),
            plain.text().await.unwrap(),
        );
        assert!(
            zipped * 4 < text.len(),
            "{path}: {zipped} compressed bytes for {} plain",
            text.len()
        );
    }
}

/// The run page loads a run's outline first and a visit's payloads when the
/// visit is opened: the events read back by seq carry their payloads.
#[tokio::test]
async fn a_visits_events_are_read_by_seq_with_their_payloads() {
    use app::protocol::TraceVisualization;
    use tracevis::{service::TraceService, store};

    let db = crate::helpers::TestDatabase::new();
    let app = crate::helpers::TestApp::attach(crate::helpers::serve_on(&db.url, 1 << 20).await);
    app.start("run-1").await;
    let events: Vec<Value> = (0..6)
        .map(|i| {
            json!({"node_id": if i % 2 == 0 { "Plan" } else { "Write" }, "event_type": "completed",
                   "timestamp": "2025-10-21T10:00:01Z", "inputs": {"prompt": format!("prompt {i}")},
                   "outputs": {"answer": i}, "metadata": {"attempt": 1}})
        })
        .collect();
    let r = app
        .post("/api/v1/executions/run-1/events", &json!({"events": events}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // What the run page embeds (its outline), read through the server
    // function rather than a page render: pages render in the browser
    // tests only (in-process renders in parallel tests could hang).
    let outline = app
        .client
        .post(app.url(<app::server_fns::GetRunOutline as leptos::server_fn::ServerFn>::PATH))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("execution_id=run-1")
        .send()
        .await
        .unwrap();
    assert_eq!(outline.status(), StatusCode::OK);
    let outline = outline.text().await.unwrap();
    assert!(
        outline.contains("Write") && !outline.contains("prompt 4"),
        "the page carries the events' outlines, not their payloads"
    );

    let service = TraceService::new(store::open(&db.url).await.unwrap());
    let read = service.get_node_events("run-1", &[5, 2, 999]).await.unwrap();
    let got: Vec<_> = read
        .iter()
        .map(|e| {
            (
                e.seq,
                e.node_id.as_str(),
                e.inputs["prompt"].clone(),
                e.outputs["answer"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (2, "Write", json!("prompt 1"), json!(1)),
            (5, "Plan", json!("prompt 4"), json!(4))
        ],
        "in seq order, unknown seqs left out"
    );
    assert!(service.get_node_events("run-1", &[]).await.unwrap().is_empty());
    assert!(service.get_node_events("missing", &[1]).await.is_err());
}

/// The graph view asks the server to lay out the run's structure.
#[tokio::test]
async fn a_graph_structure_is_laid_out_top_to_bottom_and_an_oversized_one_is_refused() {
    let app = spawn_app().await;
    let structure = json!({"structure": {
        "nodes": ["Plan", "Search", "Write"],
        "edges": [["Plan", "Search"], ["Search", "Search"], ["Search", "Write"]]
    }});
    let r = app.post("/api/lay_out_graph", &structure).await;
    assert_eq!(r.status(), StatusCode::OK);
    let layout: Value = r.json().await.unwrap();
    // Boxes and polylines come in the structure's order.
    let y = |i: usize| layout["nodes"][i]["y"].as_f64().unwrap();
    assert!(
        y(0) < y(1) && y(1) < y(2),
        "Plan, Search, Write top to bottom: {layout}"
    );
    let points = |i: usize| layout["edges"][i].as_array().unwrap().len();
    assert!(points(0) >= 2 && points(2) >= 2, "{layout}");
    assert_eq!(
        points(1),
        0,
        "a self loop is drawn beside its node, not routed: {layout}"
    );

    let nodes: Vec<String> = (0..2_001).map(|i| format!("n{i}")).collect();
    let r = app
        .post(
            "/api/lay_out_graph",
            &json!({"structure": {"nodes": nodes, "edges": []}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("structure: at most 2000 nodes"));
}

/// The run page's outline is read without the payloads, yet says what the
/// whole trace says: attempts and cache savings read from the metadata by
/// the same rules (an attempt that is not an integer counts as 1).
#[tokio::test]
async fn a_runs_outline_read_from_the_store_matches_its_whole_trace() {
    use app::model::RunOutline;
    use app::protocol::TraceVisualization;
    use tracevis::{service::TraceService, store};

    let db = crate::helpers::TestDatabase::new();
    let app = crate::helpers::TestApp::attach(crate::helpers::serve_on(&db.url, 1 << 20).await);
    let r = app
        .post(
            "/api/v1/executions",
            &json!({"execution_id": "run-1", "graph_type": "g", "start_time": "2025-10-21T10:00:00Z",
                    "initial_state": {"n": 0}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let at = |s: u32| format!("2025-10-21T10:00:{s:02}.250Z");
    let events = json!([
        {"node_id": "A", "event_type": "started", "timestamp": at(1), "inputs": {"big": "x".repeat(1000)}},
        {"node_id": "A", "event_type": "failed", "timestamp": at(2), "duration_ms": 1000.5, "error": "boom",
         "metadata": {"attempt": 1}},
        {"node_id": "A", "event_type": "started", "timestamp": at(3), "metadata": {"attempt": 2}},
        {"node_id": "A", "event_type": "completed", "timestamp": at(4), "metadata": {"attempt": 2, "tokens": 5}},
        {"node_id": "B", "event_type": "cached", "timestamp": at(5), "duration_ms": 2.0,
         "metadata": {"saved_ms": 800, "attempt": "3"}},
        {"node_id": "C", "event_type": "cached", "timestamp": at(6), "metadata": {"saved_ms": 12.5, "attempt": 2.5}}
    ]);
    let snapshots = json!([{"node_id": "A", "timestamp": at(4), "state": {"n": 1}}]);
    let r = app
        .post(
            "/api/v1/executions/run-1/events",
            &json!({"events": events, "snapshots": snapshots}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let service = TraceService::new(store::open(&db.url).await.unwrap());
    let outline = service.get_run_outline("run-1").await.unwrap();
    let whole = service.get_trace("run-1").await.unwrap();
    assert_eq!(outline, RunOutline::from(&whole));
    let read: Vec<_> = outline
        .events
        .iter()
        .map(|e| (e.attempt, e.saved_ms, e.error.as_deref()))
        .collect();
    assert_eq!(
        read,
        [
            (1, None, None),
            (1, None, Some("boom")),
            (2, None, None),
            (2, None, None),
            (1, Some(800.0), None),
            (1, Some(12.5), None)
        ]
    );
    assert_eq!(outline.snapshots.len(), 2, "the initial state and one more");
    assert!(service.get_run_outline("missing").await.is_err());
}

/// A page from another build asks for a server function this one does not
/// have: the answer is a JSON 404 that says so, not the HTML error page;
/// the versioned API's own 404 is unchanged.
#[tokio::test]
async fn an_unknown_server_function_is_a_json_404_saying_why() {
    let app = spawn_app().await;
    let r = app.post("/api/get_state_history12345", &json!({})).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "unknown_server_function");
    assert!(body["error"].as_str().unwrap().contains("reload"));
    let r = app.get("/api/v1/nope").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "unknown_route");
    // A page path still answers the page ("Run not found" in the browser
    // tests: end2end/tests/run_page.spec.ts).
}

/// The pages' server functions follow the REST API's rules: hostile
/// arguments are refused naming the field, a missing run is a "not found"
/// (404, and the page says so), and nothing internal is shown.
#[tokio::test]
async fn server_functions_refuse_hostile_arguments_and_say_not_found() {
    use leptos::server_fn::ServerFn;
    let app = spawn_app().await;
    app.start("r1").await;
    let call = |path: &'static str, form: String| {
        let client = app.client.clone();
        let url = app.url(path);
        async move {
            client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .expect("request")
        }
    };
    // The list takes JSON (its filter's metadata pairs need it).
    let list = |filter: Value| {
        let client = app.client.clone();
        let url = app.url(app::server_fns::ListExecutions::PATH);
        async move {
            client
                .post(url)
                .json(&json!({ "filter": filter }))
                .send()
                .await
                .expect("request")
        }
    };
    let r = list(json!({"limit": 4294967295u64, "offset": 0})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains("limit: expected an integer 1..=1000"), "{body}");
    let r = list(json!({"limit": 0, "offset": 0})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let long = "x".repeat(300);
    let r = list(json!({"limit": 5, "offset": 0, "id_contains": long})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = list(json!({"limit": 5, "offset": 0, "id_contains": "\u{0}"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = list(json!({"limit": 5, "offset": 0, "metadata": [["a\"b", "1"]]})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("meta.a"));
    let r = list(json!({"limit": 5, "offset": 0})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("r1"));

    let outline = app::server_fns::GetRunOutline::PATH;
    let r = call(outline, "execution_id=ghost".into()).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let error: app::error::PageError = r.json().await.unwrap();
    assert_eq!(
        error,
        app::error::PageError::NotFound("execution \"ghost\"".into())
    );
    // An id outside the id rules is refused naming the field, as at the
    // REST API's doors.
    let r = call(outline, "execution_id=%00%27%3B--".into()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let error: app::error::PageError = r.json().await.unwrap();
    assert!(
        matches!(&error, app::error::PageError::Invalid(m) if m.starts_with("execution_id: contains '\\0'")),
        "{error:?}"
    );

    // The run page says so: end2end/tests/run_page.spec.ts.
}

/// A run list carries what it shows: the pages' list (server function) and
/// `fields=list` leave the payloads in the database, however large they are.
#[tokio::test]
async fn a_run_list_leaves_the_payloads_out_when_it_only_shows_rows() {
    use leptos::server_fn::ServerFn;
    let app = spawn_app().await;
    let prompt = "a long prompt ".repeat(10_000);
    for i in 0..5 {
        let r = app
            .post(
                "/api/v1/executions",
                &json!({"execution_id": format!("heavy{i}"), "graph_type": "heavy",
                        "original_inputs": {"prompt": prompt}, "metadata": {"team": "search"},
                        "graph": {"nodes": [{"id": "A"}], "edges": []}}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let full = app
        .get("/api/v1/executions?graph_type=heavy")
        .await
        .text()
        .await
        .unwrap();
    let list = app
        .get("/api/v1/executions?graph_type=heavy&fields=list")
        .await
        .text()
        .await
        .unwrap();
    let rows: Value = serde_json::from_str(&list).unwrap();
    assert_eq!(rows["total"], 5);
    assert_eq!(rows["executions"][0]["graph_type"], "heavy");
    assert_eq!(rows["executions"][0]["original_inputs"], json!({}));
    assert!(
        full.contains("a long prompt"),
        "the documented summary keeps them"
    );
    assert!(
        list.len() * 100 < full.len(),
        "{} vs {} bytes",
        list.len(),
        full.len()
    );
    assert_error(
        app.get("/api/v1/executions?fields=everything").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        &["fields"],
    )
    .await;

    let r = app
        .client
        .post(app.url(app::server_fns::ListExecutions::PATH))
        .json(&json!({"filter": {"graph_type": "heavy", "limit": 50, "offset": 0}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(page.contains("heavy4") && !page.contains("a long prompt"));
    assert!(page.len() < 5 * 1_000, "{} bytes for 5 rows", page.len());
}

#[tokio::test]
async fn metadata_filters_slice_the_run_list_and_the_statistics() {
    let app = spawn_app().await;
    for (id, metadata) in [
        ("prod-old", json!({"environment": "prod", "version": "1.4.2"})),
        ("staging", json!({"environment": "staging", "version": "1.4.2"})),
        (
            "prod-new",
            json!({"environment": "prod", "version": 2, "deployment.environment": "eu"}),
        ),
    ] {
        let r = app
            .post(
                "/api/v1/executions",
                &json!({"execution_id": id, "graph_type": "g", "start_time": "2025-10-21T10:00:00Z", "metadata": metadata}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let ids = |list: &serde_json::Value| {
        let mut ids: Vec<String> = list["executions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["execution_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let list = app.get_json("/api/v1/executions?meta.environment=prod").await;
    assert_eq!(ids(&list), ["prod-new", "prod-old"]);
    assert_eq!(list["total"], 2);
    // Repeatable, all must hold; values compare as text (a number too);
    // a key with a dot is one key.
    let list = app
        .get_json("/api/v1/executions?meta.environment=prod&meta.version=1.4.2")
        .await;
    assert_eq!(ids(&list), ["prod-old"]);
    assert_eq!(
        ids(&app.get_json("/api/v1/executions?meta.version=2").await),
        ["prod-new"]
    );
    assert_eq!(
        ids(&app
            .get_json("/api/v1/executions?meta.deployment.environment=eu")
            .await),
        ["prod-new"]
    );
    assert_eq!(
        ids(&app.get_json("/api/v1/executions?meta.environment=dev").await),
        Vec::<String>::new()
    );

    let stats = app.get_json("/api/v1/statistics?meta.environment=prod").await;
    assert_eq!(stats["executions"]["total"], 2);
    assert_eq!(
        stats["node_types_left_out"], true,
        "node figures cannot honour a metadata filter"
    );
    let stats = app.get_json("/api/v1/statistics").await;
    assert_eq!(stats["executions"]["total"], 3);
    assert_eq!(stats["node_types_left_out"], false);

    let r = app.get("/api/v1/executions?meta.a%22b=1").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().starts_with("meta.a\"b:"),
        "{body}"
    );
}

/// A server function whose arguments cannot be read answers 400 naming
/// them, as the REST API does, not 500; nothing is logged as a server fault.
#[tokio::test]
async fn a_server_function_called_with_unreadable_arguments_answers_400() {
    let app = spawn_app().await;
    use app::server_fns::ListExecutions;
    use leptos::server_fn::ServerFn;
    for (path, body) in [
        (ListExecutions::PATH, "not json at all"),
        (ListExecutions::PATH, r#"{"filter": {"limit": "lots"}}"#),
        ("/api/lay_out_graph", "{}"),
    ] {
        let r = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {text}");
        assert!(text.contains("arguments"), "{path} {body}: {text}");
    }
    // The same function with readable arguments still works.
    let r = app
        .post(
            ListExecutions::PATH,
            &json!({"filter": {"limit": 5, "offset": 0}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// The metrics page's figures and its charts come from one snapshot: while
/// runs start and fail, the runs per time bucket always add up to the run
/// counts beside them.
#[tokio::test]
async fn statistics_figures_and_charts_agree_while_runs_are_written() {
    let app = spawn_app().await;
    let writer = {
        let app = crate::helpers::TestApp::attach(app.addr);
        tokio::spawn(async move {
            for i in 0..400 {
                let id = format!("w{i}");
                app.start(&id).await;
                app.post(
                    &format!("/api/v1/executions/{id}/complete"),
                    &json!({"status": "failed", "end_time": "2025-10-21T10:00:01Z"}),
                )
                .await;
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads == 0 {
        let stats = app.get_json("/api/v1/statistics").await;
        let sum = |field: &str| -> i64 {
            stats["timeline"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b[field].as_i64().unwrap())
                .sum()
        };
        assert_eq!(
            sum("runs"),
            stats["executions"]["total"].as_i64().unwrap(),
            "{stats}"
        );
        assert_eq!(
            sum("failed"),
            stats["executions"]["failed"].as_i64().unwrap(),
            "{stats}"
        );
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 1, "the statistics were read while runs were written");
}
