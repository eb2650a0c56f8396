//! OTLP/HTTP ingest against a real server: spans in, runs out, whatever the
//! order, repetition or encoding; bad bodies refused without harm.

use crate::helpers::{assert_error, spawn_app, TestApp, TestDatabase};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, status, ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use reqwest::StatusCode;
use serde_json::{json, Value};

const T0: u64 = 1_760_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn attr(key: &str, value: impl Into<AttrValue>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(value.into().0),
        }),
        ..Default::default()
    }
}

struct AttrValue(any_value::Value);
impl From<&str> for AttrValue {
    fn from(s: &str) -> Self {
        Self(any_value::Value::StringValue(s.into()))
    }
}
impl From<i64> for AttrValue {
    fn from(i: i64) -> Self {
        Self(any_value::Value::IntValue(i))
    }
}

/// A span of trace `trace` (one byte, repeated) with id `id`.
fn span(trace: u8, id: u8, parent: Option<u8>, name: &str, start_ms: u64, end_ms: u64) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: name.into(),
        start_time_unix_nano: T0 + start_ms * MS,
        end_time_unix_nano: T0 + end_ms * MS,
        ..Default::default()
    }
}

fn failed(mut s: Span, message: &str) -> Span {
    s.status = Some(Status {
        message: message.into(),
        code: status::StatusCode::Error as i32,
    });
    s
}

fn export(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![attr("service.name", "translator")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn trace_id(trace: u8) -> String {
    format!("{trace:02x}").repeat(16)
}

/// A pydantic-graph run as logfire exports it: node spans (a loop back to
/// Plan), the run span last.
fn pydantic_graph_run(trace: u8) -> (Vec<Span>, Span) {
    let nodes = vec![
        span(trace, 2, Some(1), "run node Plan", 1, 10),
        span(trace, 3, Some(1), "run node Translate", 11, 30),
        span(trace, 4, Some(1), "run node Plan", 31, 35),
    ];
    let mut run = span(trace, 1, None, "run graph forward_mode", 0, 40);
    run.attributes
        .push(attr("tracevis.inputs", r#"{"prompt": "hello"}"#));
    (nodes, run)
}

impl TestApp {
    async fn post_otlp(&self, path: &str, request: &ExportTraceServiceRequest) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await
            .expect("request")
    }

    async fn post_bytes(&self, content_type: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url("/v1/traces"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request")
    }
}

fn visits(trace: &Value) -> Vec<(String, String)> {
    trace["node_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node_id"].as_str().unwrap().to_owned(),
                e["event_type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_pydantic_graph_run_shows_from_its_first_spans_and_completes_with_its_run_span() {
    let app = spawn_app().await;
    let (nodes, run) = pydantic_graph_run(0xa1);
    let r = app.post_otlp("/v1/traces", &export(nodes)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/x-protobuf");
    let id = trace_id(0xa1);
    let trace = app.get_json(&format!("/api/v1/executions/{id}")).await;
    assert_eq!(trace["status"], "running");
    assert_eq!(
        trace["graph_type"], "translator",
        "named after the service until the run span comes"
    );
    assert_eq!(trace["total_nodes"], 3);

    // The run span arrives last, at the other path, as logfire would send it.
    assert_eq!(
        app.post_otlp("/otlp/v1/traces", &export(vec![run]))
            .await
            .status(),
        StatusCode::OK
    );
    let trace = app.get_json(&format!("/api/v1/executions/{id}")).await;
    assert_eq!(
        (trace["status"].as_str(), trace["graph_type"].as_str()),
        (Some("completed"), Some("forward_mode"))
    );
    assert_eq!(trace["total_duration_ms"], 40.0);
    assert_eq!(trace["original_inputs"], json!({"prompt": "hello"}));
    assert_eq!(
        visits(&trace),
        [
            ("Plan", "started"),
            ("Plan", "completed"),
            ("Translate", "started"),
            ("Translate", "completed"),
            ("Plan", "started"),
            ("Plan", "completed")
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    // The per node type figures moved with the run to its graph type.
    let stats = app.get_json("/api/v1/statistics?graph_type=forward_mode").await;
    assert!(stats.to_string().contains("\"Translate\""), "{stats}");
    let other = app.get_json("/api/v1/statistics?graph_type=translator").await;
    assert!(!other.to_string().contains("\"Translate\""), "{other}");
}

#[tokio::test]
async fn spans_in_any_order_and_repeated_give_the_same_run_as_once_in_order() {
    let app = spawn_app().await;
    let (nodes, run) = pydantic_graph_run(0xb1);
    let mut all = nodes.clone();
    all.push(run.clone());
    assert_eq!(
        app.post_otlp("/v1/traces", &export(all)).await.status(),
        StatusCode::OK
    );

    let (mut nodes, run) = pydantic_graph_run(0xb2);
    nodes.reverse();
    // Run span first, then each node alone, one of them twice, concurrently.
    assert_eq!(
        app.post_otlp("/v1/traces", &export(vec![run])).await.status(),
        StatusCode::OK
    );
    let requests: Vec<_> = nodes
        .iter()
        .chain(nodes.first())
        .map(|n| export(vec![n.clone()]))
        .collect();
    let sends = requests.iter().map(|r| app.post_otlp("/v1/traces", r));
    for r in futures_util::future::join_all(sends).await {
        assert_eq!(r.status(), StatusCode::OK);
    }
    let in_order = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(0xb1)))
        .await;
    let shuffled = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(0xb2)))
        .await;
    for field in [
        "status",
        "graph_type",
        "total_nodes",
        "total_duration_ms",
        "start_time",
    ] {
        assert_eq!(in_order[field], shuffled[field], "{field}");
    }
    let mut a = visits(&in_order);
    let mut b = visits(&shuffled);
    a.sort();
    b.sort();
    assert_eq!(a, b, "the same visits, none stored twice");
}

#[tokio::test]
async fn the_same_request_twice_at_once_stores_everything_once() {
    let app = spawn_app().await;
    let (mut spans, run) = pydantic_graph_run(0xc1);
    spans.push(run);
    let request = export(spans);
    let (a, b) = tokio::join!(
        app.post_otlp("/v1/traces", &request),
        app.post_otlp("/v1/traces", &request)
    );
    assert_eq!((a.status(), b.status()), (StatusCode::OK, StatusCode::OK));
    let trace = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(0xc1)))
        .await;
    assert_eq!(trace["node_events"].as_array().unwrap().len(), 6);
    assert_eq!(trace["total_nodes"], 3);
}

#[tokio::test]
async fn a_failed_node_fails_its_visit_and_a_failed_run_span_fails_the_run() {
    let app = spawn_app().await;
    let mut node = failed(span(0xd1, 2, Some(1), "run node Translate", 1, 5), "");
    node.events.push(span::Event {
        time_unix_nano: T0 + 5 * MS,
        name: "exception".into(),
        attributes: vec![
            attr("exception.type", "RateLimitError"),
            attr("exception.message", "slow down"),
        ],
        ..Default::default()
    });
    let run = failed(
        span(0xd1, 1, None, "run graph forward_mode", 0, 6),
        "RateLimitError: slow down",
    );
    assert_eq!(
        app.post_otlp("/v1/traces", &export(vec![node, run]))
            .await
            .status(),
        StatusCode::OK
    );
    let trace = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(0xd1)))
        .await;
    assert_eq!(trace["status"], "failed");
    assert_eq!(trace["failed_nodes"], 1);
    assert_eq!(trace["node_events"][1]["error"], "RateLimitError: slow down");
}

#[tokio::test]
async fn llm_calls_and_tokens_count_once_per_llm_span_and_state_comes_from_state_events() {
    let app = spawn_app().await;
    let mut node = span(0xe1, 2, Some(1), "run node Ask", 1, 20);
    node.events.push(span::Event {
        time_unix_nano: T0 + 20 * MS,
        name: "tracevis.state".into(),
        attributes: vec![attr("tracevis.state", r#"{"answer": "42"}"#)],
        ..Default::default()
    });
    let mut agent = span(0xe1, 3, Some(2), "invoke_agent helper", 2, 19);
    agent.attributes.extend([
        attr("gen_ai.operation.name", "invoke_agent"),
        attr("gen_ai.usage.input_tokens", 999),
    ]);
    let mut chat = span(0xe1, 4, Some(3), "chat gpt-4o", 3, 18);
    chat.attributes.extend([
        attr("gen_ai.operation.name", "chat"),
        attr("gen_ai.usage.input_tokens", 100),
        attr("gen_ai.usage.output_tokens", 20),
    ]);
    let run = span(0xe1, 1, None, "run graph qa", 0, 21);
    assert_eq!(
        app.post_otlp("/v1/traces", &export(vec![chat, agent, node, run]))
            .await
            .status(),
        StatusCode::OK
    );
    let trace = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(0xe1)))
        .await;
    assert_eq!(
        (trace["total_llm_calls"].as_i64(), trace["total_tokens"].as_i64()),
        (Some(1), Some(120))
    );
    assert_eq!(trace["state_snapshots"][0]["state"], json!({"answer": "42"}));
    assert_eq!(trace["state_snapshots"][0]["node_id"], "Ask");
}

#[tokio::test]
async fn otlp_json_with_gzip_is_read_and_answered_in_json() {
    use flate2::write::GzEncoder;
    use std::io::Write;
    let app = spawn_app().await;
    let id = "5b8efff798038103d269b633813fc60c";
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": id.to_uppercase(), "spanId": "EEE19B7EC3C1B174", "parentSpanId": "EEE19B7EC3C1B173",
         "name": "run node Plan", "kind": 1, "startTimeUnixNano": "1760000000000000000",
         "endTimeUnixNano": "1760000000005000000", "attributes": [{"key": "input.value", "value": {"stringValue": "{\"q\": 1}"}}]}
    ]}]}]});
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(body.to_string().as_bytes()).unwrap();
    let r = app
        .client
        .post(app.url("/v1/traces"))
        .header("content-type", "application/json; charset=utf-8")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let trace = app.get_json(&format!("/api/v1/executions/{id}")).await;
    assert_eq!(trace["node_events"][0]["inputs"], json!({"q": 1}));
    assert_eq!(trace["node_events"][1]["duration_ms"], 5.0);
}

#[tokio::test]
async fn bad_bodies_are_refused_with_the_span_named_and_nothing_stored() {
    let app = spawn_app().await;
    let (mut spans, run) = pydantic_graph_run(0xf1);
    spans.push(run);
    assert_eq!(
        app.post_otlp("/v1/traces", &export(spans)).await.status(),
        StatusCode::OK
    );
    let before = app.get_json("/api/v1/executions").await;

    assert_error(
        app.post_bytes("application/x-protobuf", "not protobuf at all")
            .await,
        StatusCode::BAD_REQUEST,
        "malformed_protobuf",
        &[],
    )
    .await;
    let whole = export(vec![span(0xf2, 1, None, "run graph g", 0, 1)]).encode_to_vec();
    assert_error(
        app.post_bytes("application/x-protobuf", whole[..whole.len() - 3].to_vec())
            .await,
        StatusCode::BAD_REQUEST,
        "malformed_protobuf",
        &[],
    )
    .await;
    assert_error(
        app.post_bytes("text/plain", "{}").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        &[],
    )
    .await;
    let base64_ids = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "W47/95gDgQPSabYzgT/GDA==", "spanId": "7uGbfsPBsXQ=",
        "name": "s", "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]}]});
    assert_error(
        app.post_bytes("application/json", base64_ids.to_string()).await,
        StatusCode::BAD_REQUEST,
        "malformed_otlp_json",
        &[],
    )
    .await;
    let mut short_id = span(0xf3, 2, Some(1), "run node Short", 1, 2);
    short_id.span_id.truncate(4);
    assert_error(
        app.post_otlp("/v1/traces", &export(vec![short_id])).await,
        StatusCode::BAD_REQUEST,
        "invalid_span",
        &["\"run node Short\"", "span_id"],
    )
    .await;
    let backwards = span(0xf4, 2, Some(1), "run node Backwards", 5, 1);
    assert_error(
        app.post_otlp("/v1/traces", &export(vec![backwards])).await,
        StatusCode::BAD_REQUEST,
        "invalid_span",
        &["ends before it starts"],
    )
    .await;
    // A bad span refuses its whole request: the good span beside it is not stored.
    let mut mixed = vec![span(0xf5, 2, Some(1), "run node Good", 1, 2)];
    mixed.push(span(0xf5, 3, Some(1), "run node Bad", 5, 1));
    assert_eq!(
        app.post_otlp("/v1/traces", &export(mixed)).await.status(),
        StatusCode::BAD_REQUEST
    );

    assert_eq!(
        app.get_json("/api/v1/executions").await["total"],
        before["total"],
        "nothing stored by refused requests"
    );
    for signal in ["/v1/metrics", "/v1/logs", "/otlp/v1/metrics"] {
        let r = app
            .client
            .post(app.url(signal))
            .header("content-type", "application/x-protobuf")
            .body(vec![])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{signal}");
    }
}

#[tokio::test]
async fn an_attribute_of_megabytes_is_stored_cut_and_marked() {
    let app = spawn_app().await;
    let mut node = span(0x71, 2, Some(1), "run node Big", 1, 2);
    let big = "x".repeat(5 * 1024 * 1024);
    node.attributes.push(attr("output.value", big.as_str()));
    assert_eq!(
        app.post_otlp("/v1/traces", &export(vec![node])).await.status(),
        StatusCode::OK
    );
    let trace = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(0x71)))
        .await;
    let stored = trace["node_events"][1]["outputs"]["value"].as_str().unwrap();
    assert!(
        stored.len() < 300 * 1024 && stored.ends_with("bytes]"),
        "{}",
        &stored[stored.len() - 40..]
    );
}

#[tokio::test]
async fn a_run_whose_run_span_never_comes_is_failed_after_the_quiet_time() {
    let db = TestDatabase::new();
    let service = tracevis::service::TraceService::new(tracevis::store::open(&db.url).await.unwrap())
        .with_quiet_after(std::time::Duration::from_millis(50));
    let spans = tracevis::otlp::span::spans_of(
        export(vec![span(0x81, 2, Some(1), "run node Plan", 1, 2)]).resource_spans,
    )
    .unwrap();
    service.ingest_spans(spans).await.unwrap();
    let id = trace_id(0x81);
    // Polled, not slept: the deadline passes 50 ms after the span came.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while service.fail_quiet_runs().await.unwrap() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the quiet run was never failed"
        );
        tokio::task::yield_now().await;
    }
    use app::protocol::TraceVisualization;
    let trace = service.get_trace(&id).await.unwrap();
    assert_eq!(trace.summary.status.as_str(), "failed");
    assert!(trace
        .summary
        .error
        .unwrap_or_default()
        .contains("run span never arrived"));
    assert_eq!(service.fail_quiet_runs().await.unwrap(), 0, "failed once");
}

#[tokio::test]
async fn spans_no_rule_places_make_no_run_until_a_run_or_node_span_comes() {
    let app = spawn_app().await;
    // A logfire log line outside any span, and an inner HTTP call whose
    // parent has not arrived: nothing to show.
    let mut log = span(0xb1, 1, None, "starting {name}", 0, 0);
    log.attributes.push(attr("logfire.span_type", "log"));
    let call = span(0xb2, 5, Some(2), "GET /search", 3, 4);
    let r = app.post_otlp("/v1/traces", &export(vec![log, call])).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.get_json("/api/v1/executions").await["total"], 0);
    // The HTTP call's node span arrives: now the run exists.
    let node = span(0xb2, 2, Some(1), "run node Search", 1, 10);
    let r = app.post_otlp("/v1/traces", &export(vec![node])).await;
    assert_eq!(r.status(), StatusCode::OK);
    let list = app.get_json("/api/v1/executions").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["executions"][0]["execution_id"], trace_id(0xb2));
}

fn chat_span(trace: u8, id: u8, parent: u8) -> Span {
    let mut chat = span(trace, id, Some(parent), "chat gpt-4o", 3, 18);
    chat.attributes.extend([
        attr("gen_ai.operation.name", "chat"),
        attr("gen_ai.usage.input_tokens", 100),
        attr("gen_ai.usage.output_tokens", 20),
        attr("gen_ai.request.model", "gpt-4o"),
    ]);
    chat
}

/// The run's LLM totals and its one visit's ending event's `llm_calls`.
async fn llm_totals(app: &TestApp, trace: u8) -> (Value, Value, Value) {
    let run = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(trace)))
        .await;
    let end = run["node_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event_type"] == "completed")
        .cloned()
        .unwrap_or_default();
    (
        run["total_llm_calls"].clone(),
        run["total_tokens"].clone(),
        end["metadata"]["llm_calls"].clone(),
    )
}

#[tokio::test]
async fn an_llm_call_split_from_its_node_over_requests_counts_once_for_that_visit() {
    let app = spawn_app().await;
    // As a batching exporter sends them, children first, each in its own
    // request: the LLM call, the agent around it, the node, the call again
    // (an exporter's retry), the run.
    let mut agent = span(0xe2, 3, Some(2), "invoke_agent helper", 2, 19);
    agent
        .attributes
        .push(attr("gen_ai.operation.name", "invoke_agent"));
    for spans in [
        vec![chat_span(0xe2, 4, 3)],
        vec![agent],
        vec![span(0xe2, 2, Some(1), "run node Ask", 1, 20)],
        vec![chat_span(0xe2, 4, 3)],
        vec![span(0xe2, 1, None, "run graph qa", 0, 21)],
    ] {
        assert_eq!(
            app.post_otlp("/v1/traces", &export(spans)).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(llm_totals(&app, 0xe2).await, (json!(1), json!(120), json!(1)));

    // Out of order: the node (and run) first, then its LLM call, twice.
    for spans in [
        vec![
            span(0xe3, 2, Some(1), "run node Ask", 1, 20),
            span(0xe3, 1, None, "run graph qa", 0, 21),
        ],
        vec![chat_span(0xe3, 4, 2)],
        vec![chat_span(0xe3, 4, 2)],
    ] {
        assert_eq!(
            app.post_otlp("/v1/traces", &export(spans)).await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(llm_totals(&app, 0xe3).await, (json!(1), json!(120), json!(1)));
    let run = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(0xe3)))
        .await;
    assert_eq!(run["node_events"][1]["metadata"]["model"], "gpt-4o");
}

/// A LangGraph node span as OpenInference sends it, in task `ns`.
fn langgraph_node(trace: u8, id: u8, node: &str, ns: &str, start_ms: u64) -> Span {
    let mut s = span(trace, id, Some(1), node, start_ms, start_ms + 5);
    let metadata = json!({"langgraph_node": node, "langgraph_checkpoint_ns": ns}).to_string();
    s.attributes.push(attr("metadata", metadata.as_str()));
    s
}

#[tokio::test]
async fn a_langgraph_retry_is_numbered_as_an_attempt_across_requests() {
    let app = spawn_app().await;
    // search fails and is retried (same task), then runs again in a later
    // step (a new task): a loop, not a retry. One request per span.
    for spans in [
        vec![failed(
            langgraph_node(0xe4, 2, "search", "search:t1", 1),
            "RateLimitError",
        )],
        vec![langgraph_node(0xe4, 3, "search", "search:t1", 10)],
        vec![langgraph_node(0xe4, 4, "search", "search:t2", 20)],
        vec![langgraph_node(0xe4, 3, "search", "search:t1", 10)],
    ] {
        assert_eq!(
            app.post_otlp("/v1/traces", &export(spans)).await.status(),
            StatusCode::OK
        );
    }
    let run = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(0xe4)))
        .await;
    let ends: Vec<(Value, Value)> = run["node_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] != "started")
        .map(|e| (e["event_type"].clone(), e["metadata"]["attempt"].clone()))
        .collect();
    assert_eq!(
        ends,
        [
            (json!("failed"), Value::Null),
            (json!("completed"), json!(2)),
            (json!("completed"), Value::Null)
        ]
    );
}

#[tokio::test]
async fn who_sent_a_run_is_its_metadata_and_filters_the_list_from_the_first_span() {
    let app = spawn_app().await;
    let from = |environment: &str, spans: Vec<Span>| {
        let mut request = export(spans);
        let resource = request.resource_spans[0].resource.as_mut().unwrap();
        resource.attributes.extend([
            attr("deployment.environment", environment),
            attr("service.version", "1.4.2"),
            attr("host.name", "not-kept"),
        ]);
        request
    };
    // A running run (node span only) from prod, a finished one from staging.
    let prod = from("prod", vec![span(0xf1, 2, Some(1), "run node Plan", 1, 5)]);
    let (mut spans, run) = pydantic_graph_run(0xf2);
    spans.push(run);
    let staging = from("staging", spans);
    for request in [prod, staging] {
        assert_eq!(
            app.post_otlp("/v1/traces", &request).await.status(),
            StatusCode::OK
        );
    }
    let list = app
        .get_json("/api/v1/executions?meta.deployment.environment=prod")
        .await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["executions"][0]["execution_id"], trace_id(0xf1));
    let finished = app
        .get_json(&format!("/api/v1/executions/{}", trace_id(0xf2)))
        .await;
    let metadata = &finished["metadata"];
    assert_eq!(
        (
            &metadata["service.name"],
            &metadata["service.version"],
            &metadata["deployment.environment"]
        ),
        (&json!("translator"), &json!("1.4.2"), &json!("staging"))
    );
    assert_eq!(metadata.get("host.name"), None, "only who sent the run is kept");
}

#[tokio::test]
async fn links_between_node_spans_become_the_parents_of_their_visits() {
    let app = spawn_app().await;
    let link = |trace: u8, id: u8| span::Link {
        trace_id: vec![trace; 16],
        span_id: vec![id; 8],
        ..Default::default()
    };
    let mut a = span(7, 3, Some(1), "run node SourceA", 11, 20);
    a.links = vec![link(7, 2)];
    let mut b = span(7, 4, Some(1), "run node SourceB", 11, 30);
    b.links = vec![link(7, 2), link(7, 2)];
    // The join links both branches, a span that never comes and a span of
    // another trace: only the branches are its parents.
    let mut join = span(7, 5, Some(1), "run node Join", 31, 35);
    join.links = vec![link(7, 3), link(7, 4), link(7, 9), link(8, 3)];
    let plan = span(7, 2, Some(1), "run node Plan", 1, 10);
    let run = span(7, 1, None, "run graph fan_out", 0, 40);
    let r = app
        .post_otlp("/v1/traces", &export(vec![join, b, a, plan, run]))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let trace = app.get_json(&format!("/api/v1/executions/{}", trace_id(7))).await;
    // By node: the branches started at one instant, in either order.
    let parents: std::collections::BTreeMap<String, Value> = trace["node_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == "started")
        .map(|e| (e["node_id"].as_str().unwrap().to_owned(), e["parents"].clone()))
        .collect();
    let started = |id: u8| format!("{}:s", format!("{id:02x}").repeat(8));
    assert_eq!(
        parents,
        [
            ("Join".to_owned(), json!([started(3), started(4)])),
            ("Plan".to_owned(), Value::Null),
            ("SourceA".to_owned(), json!([started(2)])),
            ("SourceB".to_owned(), json!([started(2)])),
        ]
        .into()
    );
    // Created and finished by one request, the run's parallel figures come
    // from what that request stored: the join waited for SourceB.
    let stats = app.get_json("/api/v1/statistics?graph_type=fan_out").await;
    let nodes: Vec<&str> = stats["parallelism"]["critical_path_nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["Join", "Plan", "SourceB"]);
    assert_eq!(stats["parallelism"]["parallel_runs"], 1);
}
