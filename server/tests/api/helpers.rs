//! `spawn_app()`: a tracevis server in this process on port 0, over a fresh
//! SQLite file, and a client for it.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use tempfile::TempDir;
use tracevis::service::TraceService;
use tracevis::{store, web};

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    _dir: TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_limit(16 * 1024 * 1024).await
}

pub async fn spawn_app_with_limit(max_body_bytes: usize) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let service = TraceService::new(store::open(&url).await.expect("store opens"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(web::serve(
        listener,
        web::router(service, max_body_bytes, "target/site"),
    ));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// Starts a run `id` of graph type `g`.
    pub async fn start(&self, id: &str) {
        let r = self
            .post(
                "/api/v1/executions",
                &json!({"execution_id": id, "graph_type": "g", "start_time": "2025-10-21T10:00:00Z"}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }

    /// Appends `n` started/completed events to run `id`.
    pub async fn append_events(&self, id: &str, n: usize) -> Value {
        let events: Vec<Value> = (0..n).map(|i| event(&format!("{id}-{i}"), "N")).collect();
        let r = self
            .post(
                &format!("/api/v1/executions/{id}/events"),
                &json!({"events": events}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// How many events run `id` holds, read through the API.
    pub async fn event_count(&self, id: &str) -> usize {
        let trace = self.get_json(&format!("/api/v1/executions/{id}")).await;
        trace["node_events"].as_array().unwrap().len()
    }
}

/// A valid completed event.
pub fn event(event_id: &str, node: &str) -> Value {
    json!({"event_id": event_id, "node_id": node, "event_type": "completed",
           "timestamp": "2025-10-21T10:00:01Z", "duration_ms": 5.0})
}

/// Asserts an error answer: status, machine code, and words in the message.
pub async fn assert_error(response: Response, status: StatusCode, code: &str, mentions: &[&str]) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("error body is JSON");
    assert_eq!(body["code"], code, "{body}");
    let message = body["error"].as_str().expect("error message");
    for word in mentions {
        assert!(message.contains(word), "{message:?} should mention {word:?}");
    }
}
