//! PostgreSQL for teams: several instances on one database, a database that
//! goes away and comes back, and clear errors for a bad URL at start.

use crate::helpers::{event, serve_on, TestApp, TestDatabase};
use crate::proxy::CuttableProxy;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::postgres::PgConnectOptions;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

fn app_at(addr: SocketAddr) -> TestApp {
    TestApp::attach(addr)
}

#[tokio::test]
async fn a_run_written_through_one_instance_is_read_listed_and_counted_through_another() {
    let db = TestDatabase::postgres();
    let a = app_at(serve_on(&db.url, 1 << 20).await);
    let b = app_at(serve_on(&db.url, 1 << 20).await);

    a.start("shared").await;
    a.append_events("shared", 10).await;
    let trace_b = b.get_json("/api/v1/executions/shared").await;
    assert_eq!(trace_b["node_events"].as_array().unwrap().len(), 10);
    assert_eq!(b.get_json("/api/v1/executions").await["total"], 1);

    // Both instances append to the same run at once: every record gets its
    // own seq, with no gap and no collision.
    let bodies: Vec<Value> = (0..10)
        .map(|i| json!({"events": (0..20).map(|j| event(&format!("c{i}-{j}"), "N")).collect::<Vec<_>>()}))
        .collect();
    let posts = bodies.iter().enumerate().map(|(i, body)| {
        let target = if i % 2 == 0 { &a } else { &b };
        target.post("/api/v1/executions/shared/events", body)
    });
    for response in futures_util::future::join_all(posts).await {
        assert_eq!(response.status(), StatusCode::OK);
    }
    b.post(
        "/api/v1/executions/shared/complete",
        &json!({"status": "completed"}),
    )
    .await;

    let trace_a = a.get_json("/api/v1/executions/shared").await;
    let seqs: Vec<i64> = trace_a["node_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=210).collect::<Vec<_>>());
    assert_eq!(trace_a["status"], "completed");
    assert_eq!(trace_a["total_nodes"], 210);
    let listed = b.get_json("/api/v1/executions?status=completed").await;
    assert_eq!(listed["executions"][0]["execution_id"], "shared");
}

#[tokio::test]
async fn when_the_database_goes_away_requests_get_503_and_tracevis_recovers_by_itself() {
    let db = TestDatabase::postgres();
    let options = PgConnectOptions::from_str(&db.url).unwrap();
    let upstream: SocketAddr = format!("{}:{}", options.get_host(), options.get_port())
        .parse()
        .unwrap();
    let proxy = CuttableProxy::start(upstream).await;
    let url = db.url.replacen(&upstream.to_string(), &proxy.addr.to_string(), 1);
    let app = app_at(serve_on(&url, 1 << 20).await);

    app.start("outage").await;
    app.append_events("outage", 5).await;

    proxy.cut();
    let lost: Vec<Value> = (0..5).map(|i| event(&format!("lost{i}"), "N")).collect();
    let r = app
        .post("/api/v1/executions/outage/events", &json!({"events": lost}))
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "storage_unavailable");
    assert!(
        !body["error"].as_str().unwrap().contains("pool"),
        "no internals: {body}"
    );
    assert_eq!(
        app.get("/healthz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        app.get("/api/v1/executions/outage").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.get("/healthz").await.status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "tracevis did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let after: Vec<Value> = (0..5).map(|i| event(&format!("after{i}"), "N")).collect();
    let r = app
        .post("/api/v1/executions/outage/events", &json!({"events": after}))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let trace = app.get_json("/api/v1/executions/outage").await;
    let ids: Vec<&str> = trace["node_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        10,
        "both acknowledged batches, nothing of the refused one: {ids:?}"
    );
    assert!(ids.iter().all(|id| !id.starts_with("lost")));
}

#[tokio::test]
async fn an_unreachable_database_at_start_is_a_one_line_error_and_a_failing_exit() {
    let started = Instant::now();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tracevis"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/none",
        ])
        .env("TRACEVIS_CONFIG", "/nonexistent/tracevis.toml")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(started.elapsed() < Duration::from_secs(15), "it must not hang");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("cannot open PostgreSQL database") && stderr.contains("refused"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tracevis"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            "postgres://tracevis:secret@127.0.0.1:5432/none",
        ])
        .env("TRACEVIS_CONFIG", "/nonexistent/tracevis.toml")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("secret"),
        "the password is never printed: {stderr}"
    );
}
