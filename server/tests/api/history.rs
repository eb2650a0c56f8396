//! The history operations: statistics, slow runs, replay links, retention.

use crate::helpers::{assert_error, spawn_app, TestApp, TestDatabase};
use chrono::{Duration as ChronoDuration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tracevis::service::TraceService;

/// Posts a finished run whose nodes took the given durations.
async fn post_run(
    app: &TestApp,
    id: &str,
    graph: &str,
    start: &str,
    status: &str,
    nodes: &[(&str, &str, f64)],
) {
    let r = app
        .post(
            "/api/v1/executions",
            &json!({"execution_id": id, "graph_type": graph, "start_time": start}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let events: Vec<Value> = nodes
        .iter()
        .map(|(node, outcome, ms)| {
            json!({"node_id": node, "event_type": outcome, "timestamp": start, "duration_ms": ms,
                   "metadata": {"llm_calls": 1, "tokens": 10}})
        })
        .collect();
    let r = app
        .post(
            &format!("/api/v1/executions/{id}/events"),
            &json!({"events": events}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let total: f64 = nodes.iter().map(|(_, _, ms)| ms).sum();
    let end =
        chrono::DateTime::parse_from_rfc3339(start).unwrap() + ChronoDuration::milliseconds(total as i64);
    let r = app
        .post(
            &format!("/api/v1/executions/{id}/complete"),
            &json!({"status": status, "end_time": end}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// Whether a JSON number is within `error` (relative) of `expected`.
fn within(value: &Value, expected: f64, error: f64) -> bool {
    value
        .as_f64()
        .is_some_and(|v| (v - expected).abs() <= error * expected)
}

#[tokio::test]
async fn statistics_count_runs_and_describe_each_node_type() {
    let app = spawn_app().await;
    for i in 0..10 {
        let status = if i < 8 { "completed" } else { "failed" };
        let outcome = if i < 8 { "completed" } else { "failed" };
        let start = format!("2025-10-21T10:{i:02}:00Z");
        post_run(
            &app,
            &format!("run{i}"),
            "agent",
            &start,
            status,
            &[
                ("Plan", "completed", 100.0),
                ("Search", "cached", 2.0),
                ("Write", outcome, 1_000.0 * f64::from(i + 1)),
            ],
        )
        .await;
    }
    post_run(
        &app,
        "other",
        "translator",
        "2025-10-21T10:30:00Z",
        "completed",
        &[("Translate", "completed", 50.0)],
    )
    .await;
    app.start("still-running").await;

    let stats = app.get_json("/api/v1/statistics?graph_type=agent").await;
    assert_eq!(
        stats["executions"],
        json!({"total": 10, "running": 0, "completed": 8, "failed": 2})
    );
    // Run durations are 1,102 ms + i·1,000 ms; percentiles are estimates
    // within the error the answer states (1 %).
    let error = stats["accuracy"]["run_percentiles"].as_f64().unwrap();
    assert!(error > 0.0 && error <= 0.01, "{error}");
    assert!(within(&stats["duration_ms"]["p50"], 5_102.0, error));
    assert!(within(&stats["duration_ms"]["p95"], 10_102.0, error));
    assert_eq!(stats["total_llm_calls"], 30);
    assert_eq!(stats["total_tokens"], 300);
    assert_eq!(stats["cache_hit_rate"].as_f64().unwrap(), 10.0 / 30.0);

    let node_types = stats["node_types"].as_array().unwrap();
    let names: Vec<&str> = node_types
        .iter()
        .map(|n| n["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Write", "Plan", "Search"],
        "slowest p95 first, only this graph type"
    );
    let write = &node_types[0];
    assert_eq!(
        (write["count"].clone(), write["failed"].clone()),
        (json!(10), json!(2))
    );
    assert_eq!(write["failure_rate"], 0.2);
    let p50 = write["duration_ms"]["p50"].as_f64().unwrap();
    assert!(
        (p50 - 5_000.0).abs() / 5_000.0 < 0.05,
        "p50 {p50} within 5 % of 5,000 ms"
    );
    assert_eq!(node_types[2]["cached"], 10);

    let everything = app.get_json("/api/v1/statistics").await;
    assert_eq!(everything["executions"]["total"], 12);
    assert_eq!(everything["executions"]["running"], 1);
    let window = app
        .get_json("/api/v1/statistics?start_time=2025-10-21T10:05:00Z&end_time=2025-10-21T10:09:59Z")
        .await;
    assert_eq!(window["executions"]["total"], 5);
    assert_error(
        app.get("/api/v1/statistics?start_time=soon").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        &["start_time"],
    )
    .await;
}

#[tokio::test]
async fn statistics_over_time_bucket_runs_by_start_hour_and_map_node_types() {
    let app = spawn_app().await;
    // Hour 10: two quick runs; hour 11: none; hour 12: a slow failed one.
    let runs = [
        ("a", "2025-10-21T10:05:00Z", "completed", 100.0),
        ("b", "2025-10-21T10:55:00Z", "completed", 300.0),
        ("c", "2025-10-21T12:30:00Z", "failed", 4_000.0),
    ];
    for (id, start, status, ms) in runs {
        let outcome = if status == "failed" { "failed" } else { "completed" };
        post_run(
            &app,
            id,
            "agent",
            start,
            status,
            &[("Fetch", "completed", 10.0), ("Write", outcome, ms)],
        )
        .await;
    }
    let stats = app.get_json("/api/v1/statistics?graph_type=agent").await;
    assert_eq!(stats["bucket_hours"], 1);
    let timeline: Vec<(String, i64, i64)> = stats["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["start"].as_str().unwrap().to_owned(),
                b["runs"].as_i64().unwrap(),
                b["failed"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        timeline,
        vec![
            ("2025-10-21T10:00:00Z".into(), 2, 0),
            ("2025-10-21T11:00:00Z".into(), 0, 0),
            ("2025-10-21T12:00:00Z".into(), 1, 1),
        ]
    );
    let p50 = |i: usize| stats["timeline"][i]["duration_ms"]["p50"].clone();
    assert!(within(&p50(0), 110.0, 0.01) && p50(1).is_null() && within(&p50(2), 4_010.0, 0.01));
    let heatmap = stats["node_heatmap"].as_array().unwrap();
    assert_eq!(heatmap[0]["node_id"], "Write", "slowest node type first");
    assert_eq!(heatmap[0]["visits"], json!([2, 0, 1]));
    let p95 = &heatmap[0]["p95_ms"];
    assert!(p95[1].is_null());
    assert!((p95[2].as_f64().unwrap() - 4_000.0).abs() < 200.0, "{p95}");

    let empty = app.get_json("/api/v1/statistics?graph_type=nothing").await;
    assert_eq!(
        (empty["timeline"].clone(), empty["node_heatmap"].clone()),
        (json!([]), json!([]))
    );
}

#[tokio::test]
async fn slow_runs_are_listed_slowest_first_over_the_threshold() {
    let app = spawn_app().await;
    for (id, ms) in [("a", 100.0), ("b", 3_000.0), ("c", 2_000.0), ("d", 5_000.0)] {
        post_run(
            &app,
            id,
            "g",
            "2025-10-21T10:00:00Z",
            "completed",
            &[("N", "completed", ms)],
        )
        .await;
    }
    let slow = app
        .get_json("/api/v1/statistics/slow?threshold_ms=1500&limit=2")
        .await;
    let ids: Vec<&str> = slow
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["execution_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["d", "b"]);
    let none = app.get_json("/api/v1/statistics/slow?threshold_ms=9000").await;
    assert_eq!(none, json!([]));
    assert_error(
        app.get("/api/v1/statistics/slow?threshold_ms=-1").await,
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        &["threshold_ms"],
    )
    .await;
    // A control character in the graph type is refused as on the run list
    // (PostgreSQL would fail on the NUL: a 500 before).
    assert_error(
        app.get("/api/v1/statistics/slow?graph_type=a%00b").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
        &["graph_type"],
    )
    .await;
}

#[tokio::test]
async fn a_run_lists_its_replays_and_a_replay_links_to_its_original() {
    let app = spawn_app().await;
    app.start("original").await;
    for (i, id) in ["replay1", "replay2"].iter().enumerate() {
        let r = app
            .post(
                "/api/v1/executions",
                &json!({"execution_id": id, "graph_type": "g", "is_replay": true, "original_execution_id": "original",
                        "start_time": format!("2025-10-2{}T10:00:00Z", i + 2)}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let replays = app.get_json("/api/v1/executions/original/replays").await;
    let ids: Vec<&str> = replays
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["execution_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["replay2", "replay1"]);
    let replay = app.get_json("/api/v1/executions/replay1").await;
    assert_eq!(
        (
            replay["is_replay"].clone(),
            replay["original_execution_id"].clone()
        ),
        (json!(true), json!("original"))
    );
    assert_eq!(
        app.get_json("/api/v1/executions/replay1/replays").await,
        json!([])
    );
    assert_error(
        app.get("/api/v1/executions/ghost/replays").await,
        StatusCode::NOT_FOUND,
        "not_found",
        &[],
    )
    .await;
}

#[tokio::test]
async fn retention_deletes_old_runs_in_chunks_and_keeps_recent_ones() {
    let db = TestDatabase::new();
    let service = TraceService::new(tracevis::store::open(&db.url).await.unwrap());
    let start = |id: &str, days_ago: i64| {
        serde_json::from_value(json!({"execution_id": id, "graph_type": "g",
                                      "start_time": Utc::now() - ChronoDuration::days(days_ago)}))
        .unwrap()
    };
    for i in 0..5 {
        let id = format!("old{i}");
        service.start_execution(start(&id, 40)).await.unwrap();
        let batch = serde_json::from_value(json!({"events": [
            {"node_id": "N", "event_type": "completed", "timestamp": Utc::now(), "duration_ms": 5}
        ]}))
        .unwrap();
        service
            .append_batch(&app::model::RecordId::parse(id).unwrap(), batch)
            .await
            .unwrap();
    }
    service.start_execution(start("recent", 1)).await.unwrap();

    let deleted = service
        .delete_started_before(Utc::now() - ChronoDuration::days(30), 2)
        .await
        .unwrap();
    assert_eq!(deleted, 5);
    use app::protocol::TraceVisualization;
    assert!(matches!(
        service.get_trace("old3").await,
        Err(app::error::TraceError::NotFound(_))
    ));
    assert!(service.get_trace("recent").await.is_ok());
    let stats = service.statistics(Default::default()).await.unwrap();
    assert_eq!(stats.executions.total, 1);
    assert!(
        stats.node_types.is_empty(),
        "node statistics of deleted runs go too"
    );

    // The background task does the same on its own.
    service.start_execution(start("old-again", 40)).await.unwrap();
    let task = tracevis::retention::spawn(
        service.clone(),
        Duration::from_secs(30 * 86_400),
        Duration::from_millis(50),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while service.get_trace("old-again").await.is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "the retention task never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(service.get_trace("recent").await.is_ok());
    task.abort();
}

/// Posts a finished run of visits `(node, from ms, to ms)` from `start`.
async fn post_timed_run(app: &TestApp, id: &str, graph: &str, visits: &[(&str, i64, i64)]) {
    let start = chrono::DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z").unwrap();
    let at = |ms: i64| start + ChronoDuration::milliseconds(ms);
    let r = app
        .post(
            "/api/v1/executions",
            &json!({"execution_id": id, "graph_type": graph, "start_time": start}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let events: Vec<Value> = visits
        .iter()
        .flat_map(|(node, from, to)| {
            [
                json!({"node_id": node, "event_type": "started", "timestamp": at(*from)}),
                json!({"node_id": node, "event_type": "completed", "timestamp": at(*to), "duration_ms": to - from}),
            ]
        })
        .collect();
    let r = app
        .post(
            &format!("/api/v1/executions/{id}/events"),
            &json!({"events": events}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let end = visits.iter().map(|v| v.2).max().unwrap_or(0);
    let r = app
        .post(
            &format!("/api/v1/executions/{id}/complete"),
            &json!({"status": "completed", "end_time": at(end)}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn statistics_say_how_parallel_runs_were_and_which_nodes_decided_their_durations() {
    let app = spawn_app().await;
    // Two fork/joins (SourceB decides the first, SourceC the second) and a
    // run that ran one node at a time.
    post_timed_run(
        &app,
        "fj-1",
        "fan",
        &[
            ("Plan", 0, 100),
            ("SourceB", 100, 900),
            ("SourceC", 100, 500),
            ("Join", 900, 1_000),
        ],
    )
    .await;
    post_timed_run(
        &app,
        "fj-2",
        "fan",
        &[
            ("Plan", 0, 100),
            ("SourceB", 100, 300),
            ("SourceC", 100, 700),
            ("Join", 700, 800),
        ],
    )
    .await;
    post_timed_run(&app, "seq-1", "fan", &[("Plan", 0, 100), ("Join", 100, 200)]).await;
    post_timed_run(&app, "other", "elsewhere", &[("X", 0, 10), ("Y", 0, 10)]).await;

    let stats = app.get_json("/api/v1/statistics?graph_type=fan").await;
    let p = &stats["parallelism"];
    assert_eq!(
        (p["runs"].as_i64(), p["parallel_runs"].as_i64()),
        (Some(3), Some(2))
    );
    // Averages: 1.0 (one at a time), 1.4 (1,400 ms of visits over 1,000),
    // 1.25 (1,000 over 800).
    assert!(
        within(&p["p50"], 1.25, 0.01) && within(&p["p95"], 1.4, 0.01),
        "{p}"
    );
    let nodes: Vec<(String, i64, f64)> = p["critical_path_nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["node_id"].as_str().unwrap().to_owned(),
                n["runs"].as_i64().unwrap(),
                n["total_ms"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        nodes,
        [
            ("Join".to_owned(), 2, 200.0),
            ("Plan".to_owned(), 2, 200.0),
            ("SourceB".to_owned(), 1, 800.0),
            ("SourceC".to_owned(), 1, 600.0),
        ],
        "the sequential run's nodes are not counted; most runs first"
    );
    assert_eq!(p["critical_path_nodes"][2]["share_of_runs"].as_f64(), Some(0.5));
    // A metadata filter narrows these figures like the other run figures.
    let none = app
        .get_json("/api/v1/statistics?graph_type=fan&meta.team=nobody")
        .await;
    assert_eq!(none["parallelism"]["runs"].as_i64(), Some(0));
}

/// A stored run as the statistics tests know it: start, status, duration
/// in ms, tokens.
type TimedRun = (chrono::DateTime<Utc>, &'static str, f64, i64);

/// Asserts what a statistics answer says of the runs `inside` its window:
/// counts by status, tokens, and a p50 within the stated error of the exact
/// one (none without finished runs).
fn assert_run_figures(stats: &app::model::Statistics, inside: &[&TimedRun], label: &str) {
    let count = |status: &str| inside.iter().filter(|r| r.1 == status).count() as i64;
    assert_eq!(
        (
            stats.executions.total,
            stats.executions.running,
            stats.executions.completed,
            stats.executions.failed
        ),
        (
            inside.len() as i64,
            count("running"),
            count("completed"),
            count("failed")
        ),
        "{label}"
    );
    assert_eq!(
        stats.total_tokens,
        inside.iter().map(|r| r.3).sum::<i64>(),
        "{label}"
    );
    let mut durations: Vec<f64> = inside.iter().filter(|r| r.1 != "running").map(|r| r.2).collect();
    match app::histogram::exact_quantile(&mut durations, 0.5) {
        Some(exact) => {
            let p50 = stats.duration_ms.p50.unwrap();
            assert!(
                (p50 - exact).abs() <= stats.accuracy.run_percentiles * exact,
                "{label}: p50 {p50} vs exact {exact}"
            );
        }
        None => assert_eq!(stats.duration_ms.p50, None, "{label}"),
    }
}

/// Stores a run with one node visit of `ms` and `tokens` tokens, finished
/// with `status` unless that is `running`.
async fn store_timed_run(
    service: &TraceService,
    id: &str,
    graph: &str,
    start: chrono::DateTime<Utc>,
    ms: f64,
    status: &str,
    tokens: i64,
) {
    service
        .start_execution(
            serde_json::from_value(json!({"execution_id": id, "graph_type": graph, "start_time": start}))
                .unwrap(),
        )
        .await
        .unwrap();
    let batch = serde_json::from_value(json!({"events": [
        {"node_id": "N", "event_type": "completed", "timestamp": start, "duration_ms": ms,
         "metadata": {"tokens": tokens}}
    ]}))
    .unwrap();
    let record = app::model::RecordId::parse(id.to_owned()).unwrap();
    service.append_batch(&record, batch).await.unwrap();
    if status != "running" {
        let end = start + ChronoDuration::microseconds((ms * 1_000.0) as i64);
        let completion = serde_json::from_value(json!({"status": status, "end_time": end})).unwrap();
        service.complete_execution(&record, completion).await.unwrap();
    }
}

/// Run statistics come from hourly aggregates plus the runs those do not
/// hold (running ones, partial hours at a window's edges): for any window the
/// counts must equal a count of the runs that started in it, and the
/// percentiles must be within the stated error of the exact ones.
#[tokio::test]
async fn statistics_over_any_window_equal_a_count_of_its_runs() {
    let db = TestDatabase::new();
    let service = TraceService::new(tracevis::store::open(&db.url).await.unwrap());
    let base = chrono::DateTime::parse_from_rfc3339("2025-10-21T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    // 60 runs, one every 5 minutes from 10:00 to 14:55; every seventh fails,
    // every eleventh is still running; durations spread from 50 ms to ~9 s.
    let mut runs = Vec::new();
    for i in 0..60i64 {
        let id = format!("w{i}");
        let start = base + ChronoDuration::minutes(5 * i);
        let ms = 50.0 * 1.09f64.powi(i as i32);
        let status = if i % 11 == 5 {
            "running"
        } else if i % 7 == 3 {
            "failed"
        } else {
            "completed"
        };
        store_timed_run(&service, &id, "w", start, ms, status, i).await;
        runs.push((start, status, (ms * 1_000.0).round() / 1_000.0, i));
    }
    let at = |h: u32, m: u32| {
        base + ChronoDuration::hours(i64::from(h) - 10) + ChronoDuration::minutes(i64::from(m))
    };
    let windows = [
        (None, None),
        (Some(at(10, 30)), Some(at(14, 15))),
        (Some(at(11, 0)), Some(at(13, 0) - ChronoDuration::microseconds(1))),
        (Some(at(11, 20)), Some(at(11, 40))),
        (None, Some(at(12, 30))),
        (Some(at(11, 1)), None),
        // A century each way: whole hours from the aggregates, nothing more.
        (
            Some(base - ChronoDuration::days(36_500)),
            Some(base + ChronoDuration::days(36_500)),
        ),
    ];
    for (start, end) in windows {
        let filter = app::model::StatisticsFilter {
            graph_type: Some("w".into()),
            start_time: start,
            end_time: end,
            ..Default::default()
        };
        let stats = service.statistics(filter).await.unwrap();
        let inside: Vec<_> = runs
            .iter()
            .filter(|(t, ..)| start.is_none_or(|s| *t >= s) && end.is_none_or(|e| *t <= e))
            .collect();
        let label = format!("window {start:?}..{end:?}");
        assert_run_figures(&stats, &inside, &label);
        let timeline_runs: i64 = stats.timeline.iter().map(|b| b.runs).sum();
        assert_eq!(
            timeline_runs,
            inside.len() as i64,
            "{label}: the chart counts the same runs"
        );
    }
    assert_eq!(
        service.check_run_aggregates().await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn statistics_over_months_from_day_and_week_sums_equal_a_count_of_their_runs() {
    let db = TestDatabase::new();
    let service = TraceService::new(tracevis::store::open(&db.url).await.unwrap());
    let base = chrono::DateTime::parse_from_rfc3339("2025-10-21T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    // 90 runs about 40 hours apart over 150 days, so the chart's buckets are
    // weeks and the window reads week, day and hour sums; every seventh
    // fails, some still run.
    let mut runs = Vec::new();
    for i in 0..90i64 {
        let id = format!("m{i}");
        let start = base + ChronoDuration::minutes(i * (40 * 60 + 17));
        let ms = 40.0 * 1.07f64.powi(i as i32);
        let status = if i % 23 == 5 {
            "running"
        } else if i % 7 == 3 {
            "failed"
        } else {
            "completed"
        };
        store_timed_run(&service, &id, "m", start, ms, status, i).await;
        runs.push((start, status, (ms * 1_000.0).round() / 1_000.0, i));
    }
    let day = |d: i64, minutes: i64| base + ChronoDuration::days(d) + ChronoDuration::minutes(minutes);
    let hour = |t: &chrono::DateTime<Utc>| t.timestamp_micros().div_euclid(3_600_000_000);

    let check_windows = |runs: Vec<TimedRun>| {
        let service = service.clone();
        async move {
            let windows = [
                (None, None),
                // 110 days: week buckets; weeks, days and hours, and runs
                // read one by one in the partial hours at the edges.
                (Some(day(20, 5 * 60 + 30)), Some(day(130, 7 * 60 + 15))),
                // 37 days: day buckets.
                (Some(day(3, 40)), Some(day(40, 0))),
                (None, Some(day(100, 3 * 60))),
                (Some(day(45, 13 * 60)), None),
                // Ends before it starts: nothing, not an error.
                (Some(day(40, 0)), Some(day(3, 0))),
                // The same inside the hour of run 24 (16:48 on day 40).
                (Some(day(40, 415)), Some(day(40, 365))),
            ];
            for (start, end) in windows {
                let filter = app::model::StatisticsFilter {
                    graph_type: Some("m".into()),
                    start_time: start,
                    end_time: end,
                    ..Default::default()
                };
                let stats = service.statistics(filter).await.unwrap();
                let label = format!("window {start:?}..{end:?}");
                let inside: Vec<_> = runs
                    .iter()
                    .filter(|(t, ..)| start.is_none_or(|s| *t >= s) && end.is_none_or(|e| *t <= e))
                    .collect();
                assert_run_figures(&stats, &inside, &label);
                if inside.is_empty() {
                    // Windows that end before they start, and after
                    // retention the first ones, hold nothing.
                    assert!(stats.timeline.iter().all(|b| b.runs == 0), "{label}");
                    assert!(stats.node_types.is_empty(), "{label}: {:?}", stats.node_types);
                    continue;
                }
                // Each chart bucket holds the runs that started in it.
                let width = stats.bucket_hours;
                assert!(width >= 24, "{label}: {width}-hour buckets");
                let mut by_bucket = std::collections::BTreeMap::new();
                for (t, ..) in &inside {
                    let first_hour = hour(t).div_euclid(width) * width;
                    *by_bucket.entry(first_hour * 3_600).or_insert(0i64) += 1;
                }
                let charted: std::collections::BTreeMap<i64, i64> = stats
                    .timeline
                    .iter()
                    .filter(|b| b.runs > 0)
                    .map(|b| (b.start.timestamp(), b.runs))
                    .collect();
                assert_eq!(charted, by_bucket, "{label}");
                // Node visits count the whole hours a window touches.
                let touched = runs
                    .iter()
                    .filter(|(t, ..)| {
                        start.is_none_or(|s| hour(t) >= hour(&s)) && end.is_none_or(|e| hour(t) <= hour(&e))
                    })
                    .count() as i64;
                let node = stats.node_types.iter().find(|n| n.node_id == "N");
                assert_eq!(node.map_or(0, |n| n.count), touched, "{label}");
            }
        }
    };
    check_windows(runs.clone()).await;
    let weeks = service.statistics(Default::default()).await.unwrap().bucket_hours;
    assert_eq!(weeks % 168, 0, "150 days are charted in weeks");
    assert_eq!(
        service.check_run_aggregates().await.unwrap(),
        Vec::<String>::new()
    );

    // Retention takes the first 60 days in chunks; the sums follow.
    while service.delete_started_before(day(60, 0), 7).await.unwrap() > 0 {}
    let kept: Vec<_> = runs.into_iter().filter(|r| r.0 >= day(60, 0)).collect();
    assert!(kept.len() > 30 && kept.len() < 60);
    check_windows(kept).await;
    assert_eq!(
        service.check_run_aggregates().await.unwrap(),
        Vec::<String>::new()
    );
}
