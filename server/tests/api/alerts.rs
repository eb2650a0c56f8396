//! Alerts (#17): rules managed over the API, fired when runs finish,
//! delivered to a local receiver that records what it gets and checks each
//! signature, on both backends: retries, 410 Gone, redirects, cool-downs,
//! redelivery, baseline rules, and exactly one alert across a `kill -9`.

use crate::helpers::{assert_error, free_port, spawn_app, start_server, TestApp, TestDatabase};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracevis::access::{Gate, GateSettings};
use tracevis::alerts::delivery::DeliverySettings;
use tracevis::alerts::Alerts;
use tracevis::service::TraceService;
use tracevis::{store, web};

/// One delivery as the receiver got it.
#[derive(Clone, Debug)]
struct Received {
    webhook_id: String,
    timestamp: String,
    signature: String,
    body: Value,
    raw: String,
}

/// A webhook receiver on loopback: answers each request with the next
/// status of its script (200 once the script is used up), `/moved` with a
/// redirect to `/hook`.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(self) -> SocketAddr {
        self.start_on(0).await
    }

    async fn start_on(self, port: u16) -> SocketAddr {
        async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: String) -> StatusCode {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            r.got.lock().unwrap().push(Received {
                webhook_id: header("webhook-id"),
                timestamp: header("webhook-timestamp"),
                signature: header("webhook-signature"),
                body: serde_json::from_str(&body).unwrap_or(Value::Null),
                raw: body,
            });
            let status = r.script.lock().unwrap().pop_front().unwrap_or(200);
            StatusCode::from_u16(status).unwrap()
        }
        async fn moved() -> (StatusCode, [(&'static str, &'static str); 1]) {
            (StatusCode::TEMPORARY_REDIRECT, [("location", "/hook")])
        }
        let app = axum::Router::new()
            .route("/hook", post(hook))
            .route("/moved", post(moved))
            .with_state(self);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

/// Checks a delivery's Standard Webhooks signature with `secret`,
/// independently of tracevis's own signing code.
fn verify(secret: &str, got: &Received) {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", got.webhook_id, got.timestamp, got.raw).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(got.signature, expected, "the signature verifies");
    let age = chrono::Utc::now().timestamp() - got.timestamp.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "a fresh timestamp");
}

/// A tracevis server whose deliveries may reach loopback and retry after
/// 100 ms, then 200 ms, then give up.
async fn alerting_app(db: TestDatabase) -> TestApp {
    let (history, access, alerts) = store::open_all(&db.url).await.unwrap();
    let service = TraceService::new(history).with_alerts(Alerts {
        store: alerts.clone(),
        allow_private: true,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let settings = DeliverySettings {
        timeout: Duration::from_secs(2),
        retry_after: vec![Duration::from_millis(100), Duration::from_millis(200)],
        poll: Duration::from_millis(20),
        ..DeliverySettings::new(format!("http://{addr}"), true)
    };
    tracevis::alerts::delivery::spawn(alerts, settings);
    let router = web::router(
        service,
        Gate::new(GateSettings::default(), access),
        web::Limits::default(),
        "target/site",
    );
    tokio::spawn(web::serve(listener, router));
    TestApp::owning(addr, db)
}

async fn create_rule(app: &TestApp, rule: Value) -> Value {
    let response = app.post("/api/v1/alert-rules", &rule).await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    response.json().await.unwrap()
}

/// Starts and finishes a run, the node `failing` failing in it.
async fn finish_run(app: &TestApp, id: &str, status: &str, failing: Option<&str>, metadata: Value) {
    let r = app
        .post(
            "/api/v1/executions",
            &json!({"execution_id": id, "graph_type": "g", "metadata": metadata,
                    "start_time": "2026-01-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    if let Some(node) = failing {
        let r = app
            .post(
                &format!("/api/v1/executions/{id}/events"),
                &json!({"events": [{"node_id": node, "event_type": "failed",
                    "timestamp": "2026-01-01T10:00:01Z", "duration_ms": 5, "error": "boom"}]}),
            )
            .await;
        assert!(r.status().is_success());
    }
    let r = app
        .post(
            &format!("/api/v1/executions/{id}/complete"),
            &json!({"status": status, "end_time": "2026-01-01T10:00:02Z"}),
        )
        .await;
    assert!(r.status().is_success());
}

/// The rule's deliveries once `done` holds for them (polled, bounded).
async fn deliveries_when(app: &TestApp, rule: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..500 {
        let list: Vec<Value> = serde_json::from_value(
            app.get_json(&format!("/api/v1/alert-rules/{rule}/deliveries"))
                .await,
        )
        .unwrap();
        if done(&list) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the deliveries of {rule} never reached the expected state");
}

fn settled(list: &[Value], n: usize) -> bool {
    list.len() == n && list.iter().all(|d| d["status"] != "pending")
}

async fn delivery_story(db: TestDatabase) {
    let receiver = Receiver::default();
    let at = receiver.clone().start().await;
    let app = alerting_app(db).await;
    let hook = format!("http://{at}/hook");

    // A failed run fires "run failed"; the first attempt gets a 500, the
    // retry a 200: two receipts of one message, both signed.
    receiver.script.lock().unwrap().push_back(500);
    let rule = create_rule(
        &app,
        json!({"name": "failures in prod", "metadata": {"env": "prod"},
               "condition": {"kind": "run_failed"}, "webhook_url": hook}),
    )
    .await;
    let (id, secret) = (rule["id"].as_str().unwrap(), rule["secret"].as_str().unwrap());
    assert!(secret.starts_with("whsec_"));
    finish_run(&app, "ok-run", "completed", None, json!({"env": "prod"})).await;
    finish_run(&app, "dev-run", "failed", None, json!({"env": "dev"})).await;
    finish_run(&app, "bad-run", "failed", None, json!({"env": "prod"})).await;
    let list = deliveries_when(&app, id, |l| settled(l, 1)).await;
    assert_eq!(list[0]["status"], "succeeded");
    assert_eq!(
        (list[0]["attempts"].as_i64(), list[0]["last_status"].as_i64()),
        (Some(2), Some(200))
    );
    assert_eq!(list[0]["execution_id"], "bad-run");
    let got = receiver.got();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[0].webhook_id, got[1].webhook_id,
        "a retry is the same message"
    );
    for g in &got {
        verify(secret, g);
    }
    let body = &got[1].body;
    assert_eq!(body["type"], "alert");
    assert_eq!(body["rule"], json!({"id": id, "name": "failures in prod"}));
    assert_eq!(body["execution"]["execution_id"], "bad-run");
    assert_eq!(body["execution"]["metadata"]["env"], "prod");
    assert!(body["url"].as_str().unwrap().ends_with("/executions/bad-run"));
    // The secret is shown once.
    assert!(app
        .get_json(&format!("/api/v1/alert-rules/{id}"))
        .await
        .get("secret")
        .is_none());

    // Redeliver: the same message once more.
    let webhook_id = list[0]["webhook_id"].as_str().unwrap();
    let r = app
        .post(
            &format!("/api/v1/alert-rules/{id}/deliveries/{webhook_id}/redeliver"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::ACCEPTED);
    deliveries_when(&app, id, |l| settled(l, 1)).await;
    for _ in 0..250 {
        if receiver.got().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(receiver.got()[2].webhook_id, webhook_id);

    // A receiver that keeps failing: retried per the schedule, then failed.
    // A redirect is a failure (never followed).
    let moved = create_rule(
        &app,
        json!({"name": "slow node", "condition": {"kind": "node_failed", "node_id": "Fetch"},
               "webhook_url": format!("http://{at}/moved"), "format": "slack"}),
    )
    .await;
    let moved_id = moved["id"].as_str().unwrap();
    finish_run(&app, "fetch-failed", "completed", Some("Fetch"), json!({})).await;
    let list = deliveries_when(&app, moved_id, |l| settled(l, 1)).await;
    assert_eq!(list[0]["status"], "failed");
    assert_eq!(list[0]["attempts"], 3);
    assert!(list[0]["last_error"]
        .as_str()
        .unwrap()
        .contains("redirects are not followed"));

    // 410 Gone disables the rule, with the reason.
    let gone = create_rule(
        &app,
        json!({"name": "gone", "condition": {"kind": "run_slower_than", "threshold_ms": 1000},
               "webhook_url": hook, "cooldown_secs": 3600}),
    )
    .await;
    let gone_id = gone["id"].as_str().unwrap();
    receiver.script.lock().unwrap().push_back(410);
    finish_run(&app, "slow-1", "completed", None, json!({})).await;
    // Within the cool-down: no second firing.
    finish_run(&app, "slow-2", "completed", None, json!({})).await;
    let list = deliveries_when(&app, gone_id, |l| settled(l, 1)).await;
    assert_eq!(list[0]["status"], "disabled");
    let rule = app.get_json(&format!("/api/v1/alert-rules/{gone_id}")).await;
    assert_eq!(rule["enabled"], false);
    assert!(rule["disabled_reason"].as_str().unwrap().contains("410"));
    finish_run(&app, "slow-3", "completed", None, json!({})).await;
    assert_eq!(
        deliveries_when(&app, gone_id, |l| settled(l, 1)).await.len(),
        1,
        "a disabled rule does not fire"
    );

    // Slack's format.
    let slack = create_rule(
        &app,
        json!({"name": "slack", "graph_type": "g", "condition": {"kind": "run_failed"},
               "webhook_url": hook, "format": "slack"}),
    )
    .await;
    finish_run(&app, "slack-run", "failed", None, json!({})).await;
    deliveries_when(&app, slack["id"].as_str().unwrap(), |l| settled(l, 1)).await;
    let text = receiver
        .got()
        .iter()
        .rev()
        .find_map(|g| g.body["text"].as_str().map(str::to_owned))
        .expect("a Slack message");
    assert!(text.contains("\"slack\": run slack-run (g) failed"), "{text}");

    // Deleting a rule removes its deliveries.
    let r = app
        .client
        .delete(app.url(&format!(
            "/api/v1/alert-rules/{slack_id}",
            slack_id = slack["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
    let r = app
        .get(&format!(
            "/api/v1/alert-rules/{}/deliveries",
            slack["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn sqlite_delivers_signed_alerts_and_retries() {
    delivery_story(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn postgres_delivers_signed_alerts_and_retries() {
    delivery_story(TestDatabase::postgres()).await;
}

#[tokio::test]
async fn a_bad_rule_is_refused_naming_the_field() {
    let app = spawn_app().await;
    let valid =
        json!({"name": "r", "condition": {"kind": "run_failed"}, "webhook_url": "https://hooks.example/x"});
    let with = |key: &str, value: Value| {
        let mut rule = valid.clone();
        rule[key] = value;
        rule
    };
    for (rule, field) in [
        (with("webhook_url", json!("not a url")), "webhook_url"),
        (with("webhook_url", json!("ftp://hooks.example/x")), "webhook_url"),
        (with("webhook_url", json!("http://127.0.0.1:9/x")), "webhook_url"),
        (
            with("webhook_url", json!("http://169.254.169.254/latest")),
            "webhook_url",
        ),
        (with("webhook_url", json!("http://localhost/x")), "webhook_url"),
        (with("condition", json!({"kind": "run_sloth"})), "condition"),
        (
            with(
                "condition",
                json!({"kind": "run_slower_than", "threshold_ms": -1}),
            ),
            "above 0",
        ),
        (
            with(
                "condition",
                json!({"kind": "node_slower_than_baseline", "node_id": "N", "factor": 3, "min_count": 0}),
            ),
            "min_count",
        ),
        (with("cooldown_secs", json!(-5)), "cooldown_secs"),
        (with("format", json!("teams")), "format"),
        (with("metadata", json!({"env\"": "prod"})), "metadata"),
        (with("name", json!("")), "name"),
    ] {
        assert_error(
            app.post("/api/v1/alert-rules", &rule).await,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            &[field],
        )
        .await;
    }
    assert_eq!(
        app.get("/api/v1/alert-rules/rule_nope").await.status(),
        reqwest::StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_json("/api/v1/alert-rules").await,
        json!([]),
        "nothing was stored"
    );
    // A valid rule, changed with PUT as read.
    let created = create_rule(&app, valid.clone()).await;
    let mut changed = app
        .get_json(&format!(
            "/api/v1/alert-rules/{}",
            created["id"].as_str().unwrap()
        ))
        .await;
    changed["enabled"] = json!(false);
    changed["cooldown_secs"] = json!(60);
    let r = app
        .client
        .put(app.url(&format!(
            "/api/v1/alert-rules/{}",
            created["id"].as_str().unwrap()
        )))
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    let now: Value = r.json().await.unwrap();
    assert_eq!(
        (now["enabled"].as_bool(), now["cooldown_secs"].as_i64()),
        (Some(false), Some(60))
    );
}

async fn baseline_story(db: TestDatabase) {
    use tracevis::alerts::baseline::{evaluate, Baselines, WEEKS_READ_PER_EVALUATION};
    let (history, _, alerts_store) = store::open_all(&db.url).await.unwrap();
    let alerts = Alerts {
        store: alerts_store.clone(),
        allow_private: true,
    };
    let service = TraceService::new(history).with_alerts(alerts.clone());
    let now = chrono::Utc::now();
    // A week of Translate visits around 100 ms, then 25 in the last hour
    // around 1 s (and a Plan node that stays as it was).
    let mut n = 0;
    let mut visit = |hours_ago: i64, node: &str, ms: f64| {
        n += 1;
        (n, hours_ago, node.to_owned(), ms)
    };
    let mut visits = Vec::new();
    for day in 0..7 {
        for i in 0..10 {
            visits.push(visit(3 + day * 24 + i, "Translate", 90.0 + i as f64 * 2.0));
            visits.push(visit(3 + day * 24 + i, "Plan", 50.0));
        }
    }
    for i in 0..25 {
        visits.push(visit(0, "Translate", 1_000.0 + i as f64));
        visits.push(visit(0, "Plan", 52.0));
    }
    // Visits in the hour that joins the baseline an hour later, and in the
    // one that leaves it then.
    for _ in 0..10 {
        visits.push(visit(1, "Translate", 100.0));
    }
    visits.push(visit(169, "Translate", 5_000.0));
    for (n, hours_ago, node, ms) in visits {
        let start = now - chrono::Duration::hours(hours_ago) - chrono::Duration::seconds(1);
        one_visit_run(&service, &format!("b{n}"), "g", start, &node, ms).await;
    }
    let rule = |name: &str, node: &str, min_count: u32| {
        serde_json::from_value::<app::alerts::AlertRuleSpec>(json!({
            "name": name, "graph_type": "g", "webhook_url": "http://127.0.0.1:9/hook",
            "condition": {"kind": "node_slower_than_baseline", "node_id": node, "factor": 3, "min_count": min_count}
        }))
        .unwrap()
    };
    let slower = alerts
        .create(&rule("translate slower", "Translate", 20))
        .await
        .unwrap();
    alerts
        .create(&rule("too few visits", "Translate", 50))
        .await
        .unwrap();
    alerts.create(&rule("plan as usual", "Plan", 20)).await.unwrap();
    // Rules of as many quiet node types as one evaluation reads the week
    // of, named before the others: a task that starts evaluates Translate
    // at its second evaluation.
    for i in 0..WEEKS_READ_PER_EVALUATION {
        let quiet = rule(&format!("quiet {i}"), &format!("A{i:02}"), 20);
        alerts.create(&quiet).await.unwrap();
    }

    let mut baselines = Baselines::default();
    assert_eq!(evaluate(&alerts_store, &mut baselines, now).await.unwrap(), 0);
    assert!(!baselines.caught_up());
    assert_eq!(evaluate(&alerts_store, &mut baselines, now).await.unwrap(), 1);
    assert!(baselines.caught_up());
    // Once per hour, however often evaluated (with the hour's baselines
    // kept, or by another instance reading them afresh).
    assert_eq!(evaluate(&alerts_store, &mut baselines, now).await.unwrap(), 0);
    assert_eq!(catch_up(&alerts_store, &mut Baselines::default(), now).await, 0);
    let fired = alerts_store.deliveries(&slower.id, 10).await.unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].execution_id, None);

    // A rule made later in the hour, of the node type in any graph type:
    // its baseline is read then (the other graph type's slow visits count).
    for i in 0..25 {
        let start = now - chrono::Duration::seconds(1);
        one_visit_run(&service, &format!("other-{i}"), "h", start, "Plan", 900.0).await;
    }
    let mut anywhere = rule("plan anywhere", "Plan", 20);
    anywhere.graph_type = None;
    let anywhere = alerts.create(&anywhere).await.unwrap();
    assert_eq!(evaluate(&alerts_store, &mut baselines, now).await.unwrap(), 1);
    assert_eq!(alerts_store.deliveries(&anywhere.id, 10).await.unwrap().len(), 1);

    // An hour later the task reads only the hour that joined the week:
    // what it keeps is what reading the whole week afresh finds.
    let later = now + chrono::Duration::hours(1);
    let mut fresh = Baselines::default();
    evaluate(&alerts_store, &mut baselines, later).await.unwrap();
    catch_up(&alerts_store, &mut fresh, later).await;
    assert_eq!(baselines, fresh);
}

/// Evaluates the baseline rules until every rule's week is read; returns
/// how many fired.
async fn catch_up(
    alerts: &tracevis::alerts::store::AlertStore,
    baselines: &mut tracevis::alerts::baseline::Baselines,
    at: chrono::DateTime<chrono::Utc>,
) -> u32 {
    let mut fired = 0;
    loop {
        fired += tracevis::alerts::baseline::evaluate(alerts, baselines, at)
            .await
            .unwrap();
        if baselines.caught_up() {
            return fired;
        }
    }
}

/// Stores a run of `graph_type` started at `start` with one completed
/// visit of `node` taking `ms`.
async fn one_visit_run(
    service: &TraceService,
    id: &str,
    graph_type: &str,
    start: chrono::DateTime<chrono::Utc>,
    node: &str,
    ms: f64,
) {
    service
        .start_execution(
            serde_json::from_value(
                json!({"execution_id": id, "graph_type": graph_type, "start_time": start}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    service
        .append_batch(
            &app::model::RecordId::parse(id).unwrap(),
            serde_json::from_value(json!({"events": [{"node_id": node, "event_type": "completed",
                "timestamp": start, "duration_ms": ms}]}))
            .unwrap(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn sqlite_fires_a_baseline_alert_when_a_node_type_slows_down() {
    baseline_story(TestDatabase::sqlite()).await;
}

#[tokio::test]
async fn postgres_fires_a_baseline_alert_when_a_node_type_slows_down() {
    baseline_story(TestDatabase::postgres()).await;
}

async fn healthy(port: u16) -> TestApp {
    let app = TestApp::attach(SocketAddr::from(([127, 0, 0, 1], port)));
    for _ in 0..400 {
        if app
            .client
            .get(app.url("/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return app;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("tracevis on port {port} never became healthy");
}

#[tokio::test]
async fn an_alert_fired_before_a_kill_dash_9_arrives_once_after_restart() {
    let db = TestDatabase::new();
    // The receiver is down while the first server runs.
    let receiver_port = free_port();
    let port = free_port();
    let mut server = start_server(&db.url, port, &[("TRACEVIS_ALLOW_PRIVATE_WEBHOOKS", "true")]);
    let app = healthy(port).await;
    let rule = create_rule(
        &app,
        json!({"name": "failures", "condition": {"kind": "run_failed"},
               "webhook_url": format!("http://127.0.0.1:{receiver_port}/hook")}),
    )
    .await;
    let rule_id = rule["id"].as_str().unwrap().to_owned();
    finish_run(&app, "doomed", "failed", None, json!({})).await;
    // SIGKILL right after the run was acknowledged as finished.
    server.kill().unwrap();
    server.wait().unwrap();

    let receiver = Receiver::default();
    let at = receiver.clone().start_on(receiver_port).await;
    assert_eq!(at.port(), receiver_port);
    let mut server = start_server(&db.url, port, &[("TRACEVIS_ALLOW_PRIVATE_WEBHOOKS", "true")]);
    let app = healthy(port).await;
    // The first attempt may have failed before the kill: the retry comes
    // within the schedule's first wait (10 s).
    let list = deliveries_when_slow(&app, &rule_id).await;
    server.kill().unwrap();
    server.wait().unwrap();
    assert_eq!(list[0]["status"], "succeeded");
    let got = receiver.got();
    assert_eq!(got.len(), 1, "exactly one receipt");
    assert_eq!(got[0].body["execution"]["execution_id"], "doomed");
    verify(rule["secret"].as_str().unwrap(), &got[0]);
}

/// The rule's one delivery once settled, waiting up to 30 s.
async fn deliveries_when_slow(app: &TestApp, rule: &str) -> Vec<Value> {
    for _ in 0..300 {
        let list: Vec<Value> = serde_json::from_value(
            app.get_json(&format!("/api/v1/alert-rules/{rule}/deliveries"))
                .await,
        )
        .unwrap();
        if settled(&list, 1) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery never settled");
}

/// A receiver that takes longer than the attempt's timeout, then answers in
/// time; and one that closes every connection without an answer.
#[tokio::test]
async fn a_slow_receiver_and_one_that_hangs_up_are_retried() {
    async fn slow(State(calls): State<Arc<Mutex<u32>>>) -> StatusCode {
        let first = {
            let mut calls = calls.lock().unwrap();
            *calls += 1;
            *calls == 1
        };
        if first {
            // Past the test server's 2 s timeout.
            tokio::time::sleep(Duration::from_secs(4)).await;
        }
        StatusCode::OK
    }
    let calls = Arc::new(Mutex::new(0u32));
    let app_router = axum::Router::new()
        .route("/slow", post(slow))
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_at = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app_router).await });
    // Accepts and closes at once, every time.
    let hangup = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hangup_at = hangup.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = hangup.accept().await {
            drop(socket);
        }
    });

    let app = alerting_app(TestDatabase::new()).await;
    let slow_rule = create_rule(
        &app,
        json!({"name": "slow", "condition": {"kind": "run_failed"}, "webhook_url": format!("http://{slow_at}/slow")}),
    )
    .await;
    let hangup_rule = create_rule(
        &app,
        json!({"name": "hangup", "condition": {"kind": "run_failed"}, "webhook_url": format!("http://{hangup_at}/hook")}),
    )
    .await;
    finish_run(&app, "both", "failed", None, json!({})).await;

    let slow_list = deliveries_when(&app, slow_rule["id"].as_str().unwrap(), |l| settled(l, 1)).await;
    assert_eq!(slow_list[0]["status"], "succeeded");
    assert_eq!(slow_list[0]["attempts"], 2, "the timed-out attempt was retried");
    assert_eq!(*calls.lock().unwrap(), 2);
    let hung = deliveries_when(&app, hangup_rule["id"].as_str().unwrap(), |l| settled(l, 1)).await;
    assert_eq!(hung[0]["status"], "failed");
    assert_eq!(hung[0]["attempts"], 3);
    assert_eq!(hung[0]["last_status"], Value::Null);
    assert!(!hung[0]["last_error"].as_str().unwrap().is_empty());
}
