//! `spawn_app()`: a tracevis server in this process on port 0, over a fresh
//! database, and a client for it. The backend is SQLite unless
//! `TRACEVIS_TEST_BACKEND=postgres`, in which case each test gets its own
//! schema in the database at `TRACEVIS_TEST_POSTGRES_URL`, dropped afterwards.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use tempfile::TempDir;
use tracevis::access::{Gate, GateSettings};
use tracevis::service::TraceService;
use tracevis::{store, web};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh, empty database for one test; removed when dropped.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<TempDir>,
    schema: Option<(String, String)>,
}

impl TestDatabase {
    /// A database on the backend the environment selects.
    pub fn new() -> Self {
        match std::env::var("TRACEVIS_TEST_BACKEND").as_deref() {
            Ok("postgres") => Self::postgres(),
            _ => Self::sqlite(),
        }
    }

    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            url: format!("sqlite://{}", dir.path().join("test.db").display()),
            _dir: Some(dir),
            schema: None,
        }
    }

    /// A new schema in the test PostgreSQL database.
    pub fn postgres() -> Self {
        let admin = postgres_admin_url();
        let schema = format!("tracevis_test_{}", uuid::Uuid::now_v7().simple());
        run_sql(&admin, &format!("CREATE SCHEMA {schema}"));
        let separator = if admin.contains('?') { '&' } else { '?' };
        Self {
            // application_name marks this test's connections, so the drop can
            // end any a test left open (a background task mid-transaction).
            url: format!("{admin}{separator}options[search_path]={schema}&application_name={schema}"),
            _dir: None,
            schema: Some((admin, schema)),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((admin, schema)) = self.schema.take() {
            run_sql(
                &admin,
                &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{schema}'"),
            );
            run_sql(&admin, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

/// The PostgreSQL database tests create their schemas in.
pub fn postgres_admin_url() -> String {
    std::env::var("TRACEVIS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into())
}

/// Runs one statement on its own thread and runtime, so it also works from
/// `Drop` inside an async test.
pub fn run_sql(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
                panic!("PostgreSQL for tests is not reachable at {url} (set TRACEVIS_TEST_POSTGRES_URL): {e}")
            });
            sqlx::query(&sql).execute(&mut conn).await.expect(&sql);
        })
    })
    .join()
    .expect("SQL thread");
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// Kept alive as long as the app; `None` when attached to another's.
    _db: Option<TestDatabase>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_limit(16 * 1024 * 1024).await
}

pub async fn spawn_app_with_limit(max_body_bytes: usize) -> TestApp {
    spawn_app_with_limits(web::Limits {
        max_body_bytes,
        ..web::Limits::default()
    })
    .await
}

pub async fn spawn_app_with_limits(limits: web::Limits) -> TestApp {
    let db = TestDatabase::new();
    let settings = GateSettings {
        loopback_guard: true,
        ..GateSettings::default()
    };
    let addr = serve_with_gate(&db.url, limits, settings).await;
    TestApp {
        addr,
        client: reqwest::Client::new(),
        _db: Some(db),
    }
}

/// Serves a new tracevis instance over `url`, as it runs by default on
/// loopback (no sign-in, foreign hosts refused); returns its address.
pub async fn serve_on(url: &str, max_body_bytes: usize) -> SocketAddr {
    let settings = GateSettings {
        loopback_guard: true,
        ..GateSettings::default()
    };
    let limits = web::Limits {
        max_body_bytes,
        ..web::Limits::default()
    };
    serve_with_gate(url, limits, settings).await
}

/// Serves a new tracevis instance over `url` behind a gate with `settings`.
pub async fn serve_with_gate(url: &str, limits: web::Limits, settings: GateSettings) -> SocketAddr {
    let (history, access, alerts) = store::open_all(url).await.expect("store opens");
    let service = TraceService::new(history).with_alerts(tracevis::alerts::Alerts {
        store: alerts,
        allow_private: false,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(web::serve(
        listener,
        web::router(service, Gate::new(settings, access), limits, "target/site"),
    ));
    addr
}

impl TestApp {
    /// A client for a server at `addr` over `db`, kept as long as the app.
    pub fn owning(addr: SocketAddr, db: TestDatabase) -> Self {
        Self {
            addr,
            client: reqwest::Client::new(),
            _db: Some(db),
        }
    }

    /// A client for a server that is already running (the database is
    /// owned elsewhere).
    pub fn attach(addr: SocketAddr) -> Self {
        Self {
            addr,
            client: reqwest::Client::new(),
            _db: None,
        }
    }

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

/// Every (method, path) the routers declare, read from their sources, so a
/// test that must cover every door fails when one is added. Paths are as
/// written (`{execution_id}`), under `/api/v1` for the API's nest and with
/// their `/otlp` twins for OpenTelemetry; the catch-alls are left out.
pub fn declared_routes() -> Vec<(&'static str, String)> {
    let mut routes = vec![];
    for (source, nests) in [
        (include_str!("../../src/api.rs"), true),
        (include_str!("../../src/web.rs"), false),
    ] {
        // The routers, not their unit tests' routes.
        let source = source.split("#[cfg(test)]").next().unwrap_or(source);
        let v1_routes = source.find("let v1 =");
        let v1_end = source.find(".fallback(error::unknown_route)");
        let mut at = 0;
        let mut lines = source.split_inclusive('\n');
        while let Some(first) = lines.next() {
            let start = at;
            at += first.len();
            // A call rustfmt spread over lines (`.route(` alone, then the
            // path and the methods, then `)`) is read as one line.
            let mut joined = first.to_owned();
            if first.trim() == ".route(" {
                for next in lines.by_ref() {
                    at += next.len();
                    if next.trim_start().starts_with(')') {
                        break;
                    }
                    joined.push_str(next.trim());
                    joined.push(' ');
                }
                joined = format!(
                    ".route({}",
                    joined.trim_start().trim_start_matches(".route(").trim()
                );
            }
            let line = joined.as_str();
            if !line.trim_start().starts_with(".route(\"") {
                continue;
            }
            let path = line.split('"').nth(1).unwrap();
            if path.contains("{*") {
                continue;
            }
            let methods = [
                ("get(", "GET"),
                ("post(", "POST"),
                ("delete(", "DELETE"),
                ("put(", "PUT"),
                ("traces", "POST"),
            ]
            .into_iter()
            .filter(|(call, _)| line.split_once(',').is_some_and(|(_, rest)| rest.contains(call)))
            .map(|(_, method)| method);
            let in_v1 = nests
                && v1_routes
                    .zip(v1_end)
                    .is_some_and(|(a, b)| (a..b).contains(&start));
            let in_otlp = nests && path.starts_with("/v1/");
            for method in methods {
                if in_v1 {
                    routes.push((method, format!("/api/v1{path}")));
                } else {
                    routes.push((method, path.to_owned()));
                    if in_otlp {
                        routes.push((method, format!("/otlp{path}")));
                    }
                }
            }
        }
    }
    routes
}

/// A loopback port free right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the real `tracevis serve` binary on `port` over `database_url`
/// (no config file), with `env` set: for tests that kill it with `kill -9`.
pub fn start_server(database_url: &str, port: u16, env: &[(&str, &str)]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_tracevis"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database_url])
        .env("TRACEVIS_CONFIG", "/nonexistent/tracevis.toml")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("server starts")
}
