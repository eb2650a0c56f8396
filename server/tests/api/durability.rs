//! A batch the API acknowledged survives `kill -9` of the server process.

use crate::helpers::{free_port, start_server, TestDatabase};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await {
            if r.status() == StatusCode::OK {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("server at {base} never became healthy");
}

#[tokio::test]
async fn an_acknowledged_batch_survives_kill_dash_9() {
    let db = TestDatabase::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let mut server = start_server(&db.url, port, &[]);
    wait_healthy(&client, &base).await;
    let r = client
        .post(format!("{base}/api/v1/executions"))
        .json(&json!({"execution_id": "durable", "graph_type": "g"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let events: Vec<Value> = (0..500)
        .map(|i| json!({"event_id": format!("e{i}"), "node_id": "A", "event_type": "started", "timestamp": "2025-10-21T10:00:00Z"}))
        .collect();
    let r = client
        .post(format!("{base}/api/v1/executions/durable/events"))
        .json(&json!({"events": events}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // SIGKILL right after the acknowledgement: no graceful shutdown, no checkpoint.
    server.kill().unwrap();
    server.wait().unwrap();

    let mut server = start_server(&db.url, port, &[]);
    wait_healthy(&client, &base).await;
    let trace: Value = client
        .get(format!("{base}/api/v1/executions/durable"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(trace["node_events"].as_array().unwrap().len(), 500);
    assert_eq!(trace["last_seq"], 500);
}

/// The run statistics' hourly aggregates are kept by triggers inside each
/// write's transaction: `kill -9` while producers create and finish runs
/// leaves them equal to a recount from the runs (`tracevis check`), and
/// every acknowledged run counted.
#[tokio::test]
async fn the_run_aggregates_equal_a_recount_after_kill_dash_9_mid_ingest() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let db = TestDatabase::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start_server(&db.url, port, &[]);
    wait_healthy(&client, &base).await;

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let (client, base, acknowledged) = (client.clone(), base.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("k{p}-{i}");
                    let start = format!("2025-10-21T{:02}:{:02}:00Z", 8 + i % 4, i % 60);
                    let created = client
                        .post(format!("{base}/api/v1/executions"))
                        .json(&json!({"execution_id": id, "graph_type": "crash", "start_time": start}))
                        .send()
                        .await;
                    if created.is_err() {
                        return;
                    }
                    let events = json!({"events": [{"node_id": "N", "event_type": "completed",
                        "timestamp": start, "duration_ms": 10 + i, "metadata": {"tokens": i}}]});
                    let _ = client
                        .post(format!("{base}/api/v1/executions/{id}/events"))
                        .json(&events)
                        .send()
                        .await;
                    let done = client
                        .post(format!("{base}/api/v1/executions/{id}/complete"))
                        .json(&json!({"status": if i % 5 == 0 { "failed" } else { "completed" },
                                      "end_time": "2025-10-21T13:00:00Z"}))
                        .send()
                        .await;
                    match done {
                        Ok(r) if r.status() == StatusCode::OK => {
                            acknowledged.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    // Kill once producers are well under way, with requests in flight.
    while acknowledged.load(Ordering::SeqCst) < 60 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
    for producer in producers {
        producer.await.unwrap();
    }
    let acknowledged = acknowledged.load(Ordering::SeqCst) as i64;

    let check = Command::new(env!("CARGO_BIN_EXE_tracevis"))
        .args(["check", "--database-url", &db.url])
        .env("TRACEVIS_CONFIG", "/nonexistent/tracevis.toml")
        .output()
        .expect("tracevis check runs");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let service = tracevis::service::TraceService::new(tracevis::store::open(&db.url).await.unwrap());
    let stats = service
        .statistics(app::model::StatisticsFilter {
            graph_type: Some("crash".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let finished = stats.executions.completed + stats.executions.failed;
    assert!(
        finished >= acknowledged,
        "{finished} finished runs counted, {acknowledged} acknowledged"
    );
}
