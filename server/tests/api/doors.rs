//! One policy at every door. `doors()` is the inventory of every way into
//! tracevis over HTTP — each REST route, the OpenTelemetry receiver, the
//! live sockets, import, sign-in and the pages' server functions — and one
//! test holds each to the same rules:
//! - an id outside the id rules is refused naming its field: `400` in a path
//!   or a query, `422` in a body (server functions' arguments are a body);
//! - a run that was never stored is a `404`;
//! - a body over the configured limit is a `413`; one that does not parse,
//!   a `400` or `422`; a hostile value, a refusal naming its field;
//! - every refusal is JSON and says what is wrong; nothing stored changes.
//!
//! Another test fails when a route or a server function is added without a
//! row here. Panics and the request timeout are guarded once, for the whole
//! router (`web::guarded`); the slow-body test shows the timeout at work.
//! The command line parses with the same types (`tracevis import` reads an
//! import document, see export.rs).

use crate::helpers::{spawn_app_with_limits, TestApp};
use leptos::server_fn::ServerFn;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The limit these tests run with: small, so an oversized body is cheap.
const LIMIT: usize = 64 * 1024;
/// An id no run can have (a space is outside the id rules).
const BAD_ID: &str = "bad id";
/// An id that follows the rules but was never stored.
const GHOST: &str = "ghost-run";

/// How a door takes its input. Templates hold `{id}` where the run id goes.
#[derive(Clone)]
enum Input {
    /// Nothing but the path and query.
    Query,
    /// A JSON body.
    Json(String),
    /// A form body (the server functions' default encoding).
    Form(String),
    /// A WebSocket handshake.
    Socket,
}

/// One door and the cases that apply to it.
#[derive(Clone)]
struct Door {
    method: &'static str,
    /// The path and query; `{id}` where the run id goes.
    path: String,
    input: Input,
    /// The field a refused run id is named by, when the door takes one.
    id_field: Option<&'static str>,
    /// Whether a well-formed id of a run never stored is a `404`.
    not_found: bool,
    /// A request (path, input) the door must refuse, and the field it names.
    hostile: Option<(String, Input, &'static str)>,
}

fn door(method: &'static str, path: &str, input: Input) -> Door {
    Door {
        method,
        path: path.to_owned(),
        input,
        id_field: None,
        not_found: false,
        hostile: None,
    }
}

impl Door {
    /// Takes a run id, named `field`; `not_found` when a missing run is a 404.
    fn id(mut self, field: &'static str, not_found: bool) -> Self {
        self.id_field = Some(field);
        self.not_found = not_found;
        self
    }

    fn hostile(mut self, path: &str, input: Input, names: &'static str) -> Self {
        self.hostile = Some((path.to_owned(), input, names));
        self
    }

    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    fn takes_a_body(&self) -> bool {
        matches!(self.input, Input::Json(_) | Input::Form(_))
    }
}

fn json_body(value: Value) -> Input {
    // The id placeholder survives serialisation as a plain string.
    Input::Json(value.to_string())
}

/// A valid OTLP/JSON export of one span, `span_id` as given.
fn otlp_span(span_id: &str) -> Input {
    json_body(json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": "5b8efff798038103d269b633813fc60c", "spanId": span_id,
        "name": "run node Plan", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]}))
}

/// Every door, with the cases that apply to it. `import` is an exported run
/// whose id is `{id}`.
fn doors(import: String) -> Vec<Door> {
    use app::access::{
        AccessAddPerson, AccessCreateToken, AccessPeople, AccessRemovePerson, AccessRevokeToken, AccessTokens,
    };
    use app::alerts::{
        AlertsCreateRule, AlertsDeleteRule, AlertsDeliveries, AlertsListRules, AlertsRedeliver,
        AlertsSetEnabled,
    };
    use app::server_fns::{
        CompareRuns, ComparisonCandidates, CurrentViewer, GetNodeEvents, GetRunOutline, GetStateHistory,
        LayOutGraph, ListExecutions, RunStatistics, UsualNodeDurations,
    };
    let event = json!({"node_id": "A", "event_type": "completed", "timestamp": "2025-10-21T10:00:01Z"});
    let too_many_nodes: Vec<String> = (0..5_000).map(|i| format!("n{i}")).collect();
    let long = "x".repeat(300);
    vec![
        // The REST API.
        door(
            "POST",
            "/api/v1/executions",
            json_body(json!({"execution_id": "{id}", "graph_type": "g"})),
        )
        .id("execution_id", false)
        .hostile(
            "/api/v1/executions",
            json_body(json!({"graph_type": ""})),
            "graph_type",
        ),
        door("GET", "/api/v1/executions", Input::Query).hostile(
            "/api/v1/executions?limit=0",
            Input::Query,
            "limit",
        ),
        door("GET", "/api/v1/executions/{id}", Input::Query).id("execution_id", true),
        door(
            "POST",
            "/api/v1/executions/{id}/events",
            json_body(json!({"events": [event]})),
        )
        .id("execution_id", true)
        .hostile(
            "/api/v1/executions/kept/events",
            json_body(json!({"events": [{"node_id": "A", "event_type": "completed",
                    "timestamp": "2025-10-21T10:00:01Z", "duration_ms": -1}]})),
            "events[0].duration_ms",
        ),
        door(
            "POST",
            "/api/v1/executions/{id}/complete",
            json_body(json!({"status": "completed"})),
        )
        .id("execution_id", true)
        .hostile(
            "/api/v1/executions/kept/complete",
            json_body(json!({"status": "exploded"})),
            "status",
        ),
        door("GET", "/api/v1/executions/{id}/timeline", Input::Query).id("execution_id", true),
        door("GET", "/api/v1/executions/{id}/states", Input::Query).id("execution_id", true),
        door("GET", "/api/v1/executions/{id}/replays", Input::Query).id("execution_id", true),
        door("GET", "/api/v1/executions/{id}/export", Input::Query)
            .id("execution_id", true)
            .hostile(
                "/api/v1/executions/kept/export?format=pdf",
                Input::Query,
                "format",
            ),
        door("POST", "/api/v1/import", Input::Json(import)).id("execution_id", false),
        door("GET", "/api/v1/executions/{id}/live", Input::Socket)
            .id("execution_id", true)
            .hostile(
                "/api/v1/executions/kept/live?after_seq=-1",
                Input::Socket,
                "after_seq",
            ),
        door("GET", "/api/v1/live", Input::Socket),
        door("GET", "/api/v1/compare?a={id}&b=kept", Input::Query)
            .id("a", true)
            .hostile("/api/v1/compare?a=kept&b=bad%20id", Input::Query, "b"),
        door("GET", "/api/v1/statistics", Input::Query).hostile(
            "/api/v1/statistics?start_time=yesterday",
            Input::Query,
            "start_time",
        ),
        door("GET", "/api/v1/statistics/slow", Input::Query).hostile(
            "/api/v1/statistics/slow?threshold_ms=-1",
            Input::Query,
            "threshold_ms",
        ),
        door("GET", "/api/v1/openapi.json", Input::Query),
        // Alert rules: ids of rules, not runs.
        door("GET", "/api/v1/alert-rules", Input::Query),
        door(
            "POST",
            "/api/v1/alert-rules",
            json_body(json!({"name": "r", "condition": {"kind": "run_failed"},
                             "webhook_url": "https://hooks.example/x"})),
        )
        .hostile(
            "/api/v1/alert-rules",
            json_body(json!({"name": "r", "condition": {"kind": "run_failed"},
                             "webhook_url": "http://169.254.169.254/latest"})),
            "webhook_url",
        ),
        door("GET", "/api/v1/alert-rules/{rule_id}", Input::Query),
        door(
            "PUT",
            "/api/v1/alert-rules/{rule_id}",
            json_body(json!({"name": "r", "condition": {"kind": "run_failed"},
                             "webhook_url": "https://hooks.example/x"})),
        ),
        door("DELETE", "/api/v1/alert-rules/{rule_id}", Input::Query),
        door("GET", "/api/v1/alert-rules/{rule_id}/deliveries", Input::Query),
        door(
            "POST",
            "/api/v1/alert-rules/{rule_id}/deliveries/{webhook_id}/redeliver",
            json_body(json!({})),
        ),
        door("GET", "/healthz", Input::Query),
        // OpenTelemetry: ids are bytes there, so a bad one is a span's field.
        door("POST", "/v1/traces", otlp_span("eee19b7ec3c1b174")).hostile(
            "/v1/traces",
            otlp_span("eee1"),
            "span_id",
        ),
        door("POST", "/otlp/v1/traces", otlp_span("eee19b7ec3c1b174")).hostile(
            "/otlp/v1/traces",
            otlp_span("eee1"),
            "span_id",
        ),
        door("POST", "/otlp", otlp_span("eee19b7ec3c1b174")).hostile("/otlp", otlp_span("eee1"), "span_id"),
        door("POST", "/v1/metrics", json_body(json!({}))),
        door("POST", "/v1/logs", json_body(json!({}))),
        door("POST", "/otlp/v1/metrics", json_body(json!({}))),
        door("POST", "/otlp/v1/logs", json_body(json!({}))),
        // Sign-in.
        door("POST", "/login", Input::Form("name=ada&password=secret".into())),
        door("POST", "/logout", Input::Form(String::new())),
        // The pages' server functions.
        door(
            "POST",
            ListExecutions::PATH,
            json_body(json!({"filter": {"limit": 5, "offset": 0}})),
        )
        .hostile(
            ListExecutions::PATH,
            json_body(json!({"filter": {"limit": 4294967295u64, "offset": 0}})),
            "limit",
        ),
        door(
            "POST",
            GetRunOutline::PATH,
            Input::Form("execution_id={id}".into()),
        )
        .id("execution_id", true),
        door(
            "POST",
            GetNodeEvents::PATH,
            Input::Form("execution_id={id}&seqs[0]=1".into()),
        )
        .id("execution_id", true)
        .hostile(
            GetNodeEvents::PATH,
            Input::Form(format!(
                "execution_id=kept&{}",
                (0..101)
                    .map(|i| format!("seqs[{i}]={i}"))
                    .collect::<Vec<_>>()
                    .join("&")
            )),
            "seqs",
        ),
        door(
            "POST",
            GetStateHistory::PATH,
            Input::Form("execution_id={id}".into()),
        )
        .id("execution_id", true),
        door("POST", CompareRuns::PATH, Input::Form("a={id}&b=kept".into()))
            .id("a", true)
            .hostile(CompareRuns::PATH, Input::Form("a=kept&b=bad+id".into()), "b"),
        door("POST", ComparisonCandidates::PATH, Input::Form("a={id}".into()))
            .id("a", true)
            .hostile(
                ComparisonCandidates::PATH,
                Input::Form(format!("a=kept&search={long}")),
                "search",
            ),
        door("POST", RunStatistics::PATH, json_body(json!({"filter": {}}))).hostile(
            RunStatistics::PATH,
            json_body(json!({"filter": {"graph_type": long}})),
            "graph_type",
        ),
        door(
            "POST",
            UsualNodeDurations::PATH,
            Input::Form("graph_type=g".into()),
        )
        .hostile(
            UsualNodeDurations::PATH,
            Input::Form("graph_type=a%01b".into()),
            "graph_type",
        ),
        door(
            "POST",
            LayOutGraph::PATH,
            json_body(json!({"structure": {"nodes": ["A"], "edges": []}})),
        )
        .hostile(
            LayOutGraph::PATH,
            json_body(json!({"structure": {"nodes": too_many_nodes, "edges": []}})),
            "structure",
        ),
        door("POST", CurrentViewer::PATH, Input::Form(String::new())),
        door("POST", AccessTokens::PATH, Input::Form(String::new())),
        door(
            "POST",
            AccessCreateToken::PATH,
            Input::Form("name=ci&scope=ingest".into()),
        )
        .hostile(
            AccessCreateToken::PATH,
            Input::Form("name=ci&scope=god".into()),
            "scope",
        ),
        door("POST", AccessRevokeToken::PATH, Input::Form("name=ci".into())),
        door("POST", AccessPeople::PATH, Input::Form(String::new())),
        door(
            "POST",
            AccessAddPerson::PATH,
            Input::Form("name=ada&role=viewer&password=".into()),
        )
        .hostile(
            AccessAddPerson::PATH,
            Input::Form("name=ada&role=king&password=".into()),
            "role",
        ),
        door("POST", AccessRemovePerson::PATH, Input::Form("name=ada".into())),
        // The Alerts page's.
        door("POST", AlertsListRules::PATH, Input::Form(String::new())),
        door(
            "POST",
            AlertsCreateRule::PATH,
            Input::Form(
                "name=r&kind=run_failed&threshold_ms=&node_id=&factor=3&min_count=20&graph_type=&metadata=\
                 &webhook_url=https%3A%2F%2Fhooks.example%2Fx&format=json&cooldown_secs=0"
                    .into(),
            ),
        )
        .hostile(
            AlertsCreateRule::PATH,
            Input::Form(
                "name=r&kind=run_slower_than&threshold_ms=-5&node_id=&factor=3&min_count=20&graph_type=\
                 &metadata=&webhook_url=https%3A%2F%2Fhooks.example%2Fx&format=json&cooldown_secs=0"
                    .into(),
            ),
            "Threshold",
        ),
        door(
            "POST",
            AlertsSetEnabled::PATH,
            Input::Form("id=rule_x&enabled=false".into()),
        ),
        door("POST", AlertsDeleteRule::PATH, Input::Form("id=rule_x".into())),
        door("POST", AlertsDeliveries::PATH, Input::Form("id=rule_x".into())),
        door(
            "POST",
            AlertsRedeliver::PATH,
            Input::Form("id=rule_x&webhook_id=msg_x".into()),
        ),
    ]
}

/// `id` as it goes into a path or query, a form, or JSON.
fn place_id(template: &str, id: &str, encoding: &str) -> String {
    let id = match encoding {
        "url" => id.replace(' ', "%20"),
        "form" => id.replace(' ', "+"),
        _ => id.to_owned(),
    };
    template.replace("{id}", &id)
}

/// Sends `input` to `method path`, `id` in place of `{id}`.
async fn send(app: &TestApp, method: &str, path: &str, input: &Input, id: &str) -> reqwest::Response {
    let url = app.url(&place_id(path, id, "url"));
    let request = app.client.request(method.parse().unwrap(), url);
    let request = match input {
        Input::Query => request,
        Input::Json(body) => request
            .header("content-type", "application/json")
            .body(place_id(body, id, "json")),
        Input::Form(body) => request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(place_id(body, id, "form")),
        Input::Socket => request
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    };
    request.send().await.expect("request")
}

/// Asserts a refusal: one of `statuses`, a JSON body, its text naming each
/// of `mentions`.
async fn assert_refused(what: &str, response: reqwest::Response, statuses: &[StatusCode], mentions: &[&str]) {
    let status = response.status();
    let json = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = response.text().await.unwrap_or_default();
    assert!(statuses.contains(&status), "{what}: {status} {body}");
    assert!(json, "{what}: the refusal is JSON, got {body:?}");
    assert!(serde_json::from_str::<Value>(&body).is_ok(), "{what}: {body:?}");
    for word in mentions {
        assert!(body.contains(word), "{what}: {body:?} should name {word:?}");
    }
}

/// What is stored, as a reader sees it: every run's summary and records.
async fn stored(app: &TestApp) -> Value {
    let list = app.get_json("/api/v1/executions?limit=1000").await;
    let mut runs = vec![list["total"].clone()];
    for run in list["executions"].as_array().unwrap() {
        let id = run["execution_id"].as_str().unwrap();
        runs.push(app.get_json(&format!("/api/v1/executions/{id}")).await);
    }
    Value::Array(runs)
}

#[tokio::test]
async fn every_door_refuses_bad_ids_missing_runs_oversized_and_hostile_input_alike() {
    let app = spawn_app_with_limits(tracevis::web::Limits {
        max_body_bytes: LIMIT,
        ..tracevis::web::Limits::default()
    })
    .await;
    app.start("kept").await;
    app.append_events("kept", 4).await;
    let export = app
        .get("/api/v1/executions/kept/export")
        .await
        .text()
        .await
        .unwrap();
    let import = export.replace("\"execution_id\":\"kept\"", "\"execution_id\":\"{id}\"");
    assert!(import.contains("{id}"), "the export names its run");
    let before = stored(&app).await;

    for door in doors(import) {
        let name = door.name();
        if let Some(field) = door.id_field {
            let statuses = if door.path.contains("{id}") {
                [StatusCode::BAD_REQUEST]
            } else {
                [StatusCode::UNPROCESSABLE_ENTITY]
            };
            let r = send(&app, door.method, &door.path, &door.input, BAD_ID).await;
            assert_refused(
                &format!("{name} with id {BAD_ID:?}"),
                r,
                &statuses,
                &[field, "only ASCII letters"],
            )
            .await;
        }
        if door.not_found {
            let r = send(&app, door.method, &door.path, &door.input, GHOST).await;
            assert_refused(
                &format!("{name} of a run never stored"),
                r,
                &[StatusCode::NOT_FOUND],
                &[GHOST],
            )
            .await;
        }
        if let Some((path, input, field)) = &door.hostile {
            let r = send(&app, door.method, path, input, "kept").await;
            let statuses = [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY];
            assert_refused(&format!("{name}: hostile {path}"), r, &statuses, &[field]).await;
        }
        if door.takes_a_body() {
            let oversized = match door.input {
                Input::Form(_) => Input::Form(format!("name={}", "a".repeat(LIMIT + 1))),
                _ => Input::Json(format!("{{\"x\": \"{}\"}}", "a".repeat(LIMIT + 1))),
            };
            let r = send(&app, door.method, &door.path, &oversized, "kept").await;
            assert_refused(
                &format!("{name} with a body over the limit"),
                r,
                &[StatusCode::PAYLOAD_TOO_LARGE],
                &[],
            )
            .await;
        }
        if matches!(door.input, Input::Json(_))
            && !door.path.contains("/metrics")
            && !door.path.contains("/logs")
        {
            let r = send(
                &app,
                door.method,
                &door.path,
                &Input::Json("{\"events\": [".into()),
                "kept",
            )
            .await;
            let statuses = [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY];
            assert_refused(&format!("{name} with JSON cut short"), r, &statuses, &[]).await;
        }
    }
    assert_eq!(stored(&app).await, before, "nothing stored changed");
}

/// Every route the routers declare and every server function the app
/// defines has a row in `doors()`: a door added without one fails here.
#[test]
fn the_inventory_names_every_route_and_server_function() {
    let inventory: Vec<(String, String)> = doors("{}".into())
        .iter()
        .map(|d| (d.method.to_owned(), d.path.split('?').next().unwrap().to_owned()))
        .collect();
    let mut missing = vec![];
    for (method, path) in crate::helpers::declared_routes() {
        let path = path.replace("{execution_id}", "{id}");
        if !inventory.iter().any(|(m, p)| *m == method && *p == path) {
            missing.push(format!("{method} {path}"));
        }
    }
    // Server functions: `#[server…] pub async fn name(` in the app's sources.
    for source in [
        include_str!("../../../app/src/server_fns.rs"),
        include_str!("../../../app/src/access.rs"),
        include_str!("../../../app/src/alerts.rs"),
    ] {
        let mut lines = source.lines();
        while let Some(line) = lines.next() {
            if !line.trim_start().starts_with("#[server") {
                continue;
            }
            let signature = lines.next().unwrap_or_default();
            let name = signature
                .split("fn ")
                .nth(1)
                .and_then(|rest| rest.split('(').next())
                .unwrap_or(signature);
            if !inventory
                .iter()
                .any(|(_, p)| p.ends_with(&format!("/{name}")) || p.contains(&format!("/{name}")))
            {
                missing.push(format!("server function {name}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "doors missing from the inventory: {missing:?}"
    );
}

/// A client that sends part of its body and then nothing is answered `503`
/// when the request timeout runs out, and the server goes on serving.
#[tokio::test]
async fn a_body_sent_too_slowly_is_answered_when_the_timeout_runs_out() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeout = std::time::Duration::from_secs(1);
    let app = spawn_app_with_limits(tracevis::web::Limits {
        request_timeout: timeout,
        ..tracevis::web::Limits::default()
    })
    .await;
    app.start("kept").await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/executions/kept/events HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{{\"events\": [",
        app.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = vec![0u8; 4096];
    // Bounded: a server that never answers fails here instead of hanging.
    let read = tokio::time::timeout(timeout * 20, stream.read(&mut answer))
        .await
        .expect("answered before the test's own bound")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(started.elapsed() >= timeout, "not before the timeout");
    assert_eq!(app.event_count("kept").await, 0, "nothing of it stored");
}
