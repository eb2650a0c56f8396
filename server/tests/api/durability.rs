//! A batch the API acknowledged survives `kill -9` of the server process.

use crate::helpers::TestDatabase;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn start_server(database_url: &str, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tracevis"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database_url])
        .env("TRACEVIS_CONFIG", "/nonexistent/tracevis.toml")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts")
}

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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn an_acknowledged_batch_survives_kill_dash_9() {
    let db = TestDatabase::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let mut server = start_server(&db.url, port);
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

    let mut server = start_server(&db.url, port);
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
