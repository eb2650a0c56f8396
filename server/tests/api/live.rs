//! Live WebSockets against a real server: backlog then live records with no
//! gap and no duplicate, resuming after a seq, the live run list, a client
//! that never reads, and (on PostgreSQL) a subscriber on another instance.

use crate::helpers::{event, spawn_app, TestApp, TestDatabase};
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(app: &TestApp, path: &str) -> Socket {
    let url = format!("ws://{}{path}", app.addr);
    let (socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket connects");
    socket
}

/// Reads frames until the server closes the socket (or `limit` passes).
async fn frames_until_close(socket: &mut Socket, limit: Duration) -> Vec<Value> {
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the server closes in time");
        match next {
            Some(Ok(Message::Text(text))) => frames.push(serde_json::from_str(text.as_str()).unwrap()),
            Some(Ok(Message::Close(_))) | None => return frames,
            Some(Ok(_)) => {}
            Some(Err(e)) => panic!("socket error: {e}"),
        }
    }
}

async fn next_frame(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("no socket error");
        if let Message::Text(text) = message {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

fn seqs(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .filter_map(|f| match f["type"].as_str() {
            Some("event") => f["event"]["seq"].as_i64(),
            Some("snapshot") => f["snapshot"]["seq"].as_i64(),
            _ => None,
        })
        .collect()
}

async fn post_events(app: &TestApp, id: &str, prefix: &str, n: usize) {
    let events: Vec<Value> = (0..n).map(|i| event(&format!("{prefix}{i}"), "N")).collect();
    let r = app
        .post(
            &format!("/api/v1/executions/{id}/events"),
            &json!({"events": events}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_subscriber_gets_the_backlog_then_live_records_then_the_final_status() {
    let app = spawn_app().await;
    app.start("r").await;
    post_events(&app, "r", "a", 5).await;

    let mut socket = connect(&app, "/api/v1/executions/r/live?after_seq=0").await;
    let mut first = Vec::new();
    for _ in 0..6 {
        first.push(next_frame(&mut socket).await);
    }
    assert_eq!(seqs(&first), [1, 2, 3, 4, 5]);
    assert_eq!(first[5]["type"], "status");
    assert_eq!(first[5]["execution"]["status"], "running");

    post_events(&app, "r", "b", 3).await;
    app.post("/api/v1/executions/r/complete", &json!({"status": "completed"}))
        .await;
    let rest = frames_until_close(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(seqs(&rest), [6, 7, 8]);
    let last = rest.last().unwrap();
    assert_eq!(
        (last["type"].as_str(), last["execution"]["status"].as_str()),
        (Some("status"), Some("completed"))
    );
}

#[tokio::test]
async fn a_run_longer_than_a_backlog_page_streams_whole_in_order_then_live() {
    // The backlog is read a page at a time (BACKLOG_PAGE records): a run of
    // two and a half pages, joined from the start and from mid-page.
    let page = tracevis::live::BACKLOG_PAGE as usize;
    let app = spawn_app().await;
    app.start("long").await;
    for batch in 0..5 {
        post_events(&app, "long", &format!("b{batch}-"), page / 2).await;
    }
    let mut stored = (page / 2 * 5) as i64;
    for after in [0, page as i64 / 3] {
        let mut socket = connect(&app, &format!("/api/v1/executions/long/live?after_seq={after}")).await;
        let mut frames = Vec::new();
        while seqs(&frames).last() != Some(&stored) {
            frames.push(next_frame(&mut socket).await);
        }
        assert_eq!(seqs(&frames), ((after + 1)..=stored).collect::<Vec<_>>());
        post_events(&app, "long", &format!("live{after}-"), 2).await;
        let mut live = Vec::new();
        while seqs(&live).len() < 2 {
            live.push(next_frame(&mut socket).await);
        }
        assert_eq!(seqs(&live), [stored + 1, stored + 2]);
        stored += 2;
    }
}

#[tokio::test]
async fn resuming_after_a_seq_sends_only_what_came_later() {
    let app = spawn_app().await;
    app.start("r").await;
    post_events(&app, "r", "a", 6).await;
    app.post("/api/v1/executions/r/complete", &json!({"status": "failed"}))
        .await;
    let mut socket = connect(&app, "/api/v1/executions/r/live?after_seq=4").await;
    let frames = frames_until_close(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(seqs(&frames), [5, 6]);
    assert_eq!(frames.last().unwrap()["execution"]["status"], "failed");
}

#[tokio::test]
async fn an_unknown_run_or_a_bad_after_seq_is_refused_before_the_upgrade() {
    let app = spawn_app().await;
    let err = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/executions/ghost/live", app.addr))
        .await
        .expect_err("no upgrade");
    assert!(err.to_string().contains("404"), "{err}");
    app.start("r").await;
    let err =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/executions/r/live?after_seq=-1", app.addr))
            .await
            .expect_err("no upgrade");
    assert!(err.to_string().contains("400"), "{err}");
}

#[tokio::test]
async fn garbage_from_a_client_an_oversized_message_or_an_after_seq_past_the_end_change_nothing() {
    use futures_util::SinkExt;
    let app = spawn_app().await;
    app.start("r").await;
    post_events(&app, "r", "before-", 3).await;

    // Far past the end: nothing of the run is sent, the final status is,
    // and garbage the client sends meanwhile is ignored.
    let mut far = connect(&app, "/api/v1/executions/r/live?after_seq=1000000000000").await;
    far.send(Message::Text("{not json".into())).await.unwrap();
    far.send(Message::Binary(vec![0xff, 0x00, 0x13].into()))
        .await
        .unwrap();
    // A message far larger than any a live client sends: the server closes
    // that socket instead of buffering it.
    let mut huge = connect(&app, "/api/v1/executions/r/live").await;
    let _ = huge.send(Message::Text("x".repeat(1 << 20).into())).await;
    let mut closed = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(next) = tokio::time::timeout_at(deadline, huge.next()).await {
        match next {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                closed = true;
                break;
            }
            Some(Ok(_)) => {}
        }
    }
    assert!(closed, "the socket that sent 1 MiB was closed");

    post_events(&app, "r", "after-", 2).await;
    let done = app
        .post("/api/v1/executions/r/complete", &json!({"status": "completed"}))
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let frames = frames_until_close(&mut far, Duration::from_secs(10)).await;
    assert!(seqs(&frames).is_empty(), "records past the end only: {frames:?}");
    assert_eq!(frames.last().unwrap()["execution"]["status"], "completed");

    // The server answers, and the run is as it was written.
    assert_eq!(app.event_count("r").await, 5);
}

#[tokio::test]
async fn every_subscriber_sees_every_seq_once_in_order_while_writers_race_and_subscribers_join_mid_stream() {
    let app = spawn_app().await;
    app.start("busy").await;
    let writers = 4;
    let batches = 25;
    let per_batch = 8;
    let total = (writers * batches * per_batch) as i64;

    let mut subscribers = Vec::new();
    let writing = async {
        let tasks = (0..writers).map(|w| {
            let app = &app;
            async move {
                for b in 0..batches {
                    post_events(app, "busy", &format!("w{w}b{b}e"), per_batch).await;
                }
            }
        });
        futures_util::future::join_all(tasks).await;
    };
    let joining = async {
        for i in 0..8 {
            tokio::time::sleep(Duration::from_millis(15 * i)).await;
            let after = if i % 2 == 0 { 0 } else { 3 };
            subscribers.push((
                after,
                connect(&app, &format!("/api/v1/executions/busy/live?after_seq={after}")).await,
            ));
        }
    };
    tokio::join!(writing, joining);
    app.post(
        "/api/v1/executions/busy/complete",
        &json!({"status": "completed"}),
    )
    .await;

    for (after, mut socket) in subscribers {
        let frames = frames_until_close(&mut socket, Duration::from_secs(20)).await;
        let expected: Vec<i64> = ((after + 1)..=total).collect();
        assert_eq!(seqs(&frames), expected, "subscriber after_seq={after}");
        assert_eq!(frames.last().unwrap()["execution"]["status"], "completed");
    }
}

// Two worker threads, so the reading client keeps up the way a real one on
// its own machine would while the server publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_told_to_resync_and_never_slows_the_others() {
    let app = spawn_app().await;
    app.start("flood").await;
    let mut stalled = connect(&app, "/api/v1/executions/flood/live").await;
    let mut reader = connect(&app, "/api/v1/executions/flood/live").await;
    assert_eq!(next_frame(&mut reader).await["type"], "status");

    let batches = 80;
    let reading = async {
        let mut seen = Vec::new();
        while seen.len() < batches * 1000 {
            let frame = next_frame(&mut reader).await;
            seen.extend(seqs(std::slice::from_ref(&frame)));
        }
        seen
    };
    let writing = async {
        for b in 0..batches {
            let events: Vec<Value> = (0..1000).map(|i| event(&format!("b{b}e{i}"), "N")).collect();
            let r = tokio::time::timeout(
                Duration::from_secs(10),
                app.post("/api/v1/executions/flood/events", &json!({"events": events})),
            )
            .await
            .expect("ingest is never held up by a stalled subscriber");
            assert_eq!(r.status(), StatusCode::OK);
        }
    };
    let (seen, ()) = tokio::join!(reading, writing);
    assert_eq!(seen, (1..=(batches as i64 * 1000)).collect::<Vec<_>>());

    // The stalled client now reads: what it got, then `resync` and a close —
    // or, if it stalled past the server's send timeout, a cut connection.
    let mut frames = Vec::new();
    let mut cut = false;
    loop {
        match tokio::time::timeout(Duration::from_secs(20), stalled.next())
            .await
            .expect("ends in time")
        {
            Some(Ok(Message::Text(text))) => {
                frames.push(serde_json::from_str::<Value>(text.as_str()).unwrap())
            }
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => {}
            Some(Err(_)) => {
                cut = true;
                break;
            }
        }
    }
    assert!(
        cut || frames.last().unwrap()["type"] == "resync",
        "told to resync or cut off"
    );
    let got = seqs(&frames);
    assert!(got.len() < batches * 1000, "it fell behind");
    assert_eq!(
        got,
        (1..=got.len() as i64).collect::<Vec<_>>(),
        "what it got is a gap-free prefix"
    );
    let _ = stalled.close(None).await;
}

#[tokio::test]
async fn the_live_run_list_announces_runs_that_start_and_finish() {
    let app = spawn_app().await;
    let mut socket = connect(&app, "/api/v1/live").await;
    app.start("listed").await;
    let started = next_frame(&mut socket).await;
    assert_eq!(
        (started["type"].as_str(), started["execution"]["status"].as_str()),
        (Some("status"), Some("running"))
    );
    assert_eq!(started["execution"]["execution_id"], "listed");
    app.post(
        "/api/v1/executions/listed/complete",
        &json!({"status": "completed"}),
    )
    .await;
    let finished = next_frame(&mut socket).await;
    assert_eq!(finished["execution"]["status"], "completed");
}

/// A child process killed when the test ends, whether it passes or panics.
struct Instance(std::process::Child);

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Instance A: a separate tracevis process on `db`, as in a real deployment.
async fn spawn_instance(db: &TestDatabase) -> (Instance, TestApp) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let process = std::process::Command::new(env!("CARGO_BIN_EXE_tracevis"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            &db.url,
        ])
        .env("TRACEVIS_CONFIG", "/nonexistent/tracevis.toml")
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let a = TestApp::attach(format!("127.0.0.1:{port}").parse().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while a
        .client
        .get(a.url("/healthz"))
        .send()
        .await
        .map(|r| r.status())
        .ok()
        != Some(StatusCode::OK)
    {
        assert!(std::time::Instant::now() < deadline, "instance A did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (Instance(process), a)
}

/// Instance B in this process, once its relay is LISTENing; with the relay's
/// PostgreSQL backend pid (so a test can cut that connection).
async fn spawn_relayed_instance(db: &TestDatabase) -> (tokio::task::JoinHandle<()>, TestApp, i32) {
    let relay_name = &format!("relay_{}", uuid::Uuid::now_v7().simple());
    let (history, access) = tracevis::store::open_with_access(&db.url).await.unwrap();
    let b_service = tracevis::service::TraceService::new(history);
    let relay = tracevis::service::relay::spawn_relay(
        format!("{}&application_name={relay_name}", db.url),
        b_service.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_addr = listener.local_addr().unwrap();
    tokio::spawn(tracevis::web::serve(
        listener,
        tracevis::web::router(
            b_service,
            tracevis::access::Gate::new(tracevis::access::GateSettings::default(), access),
            tracevis::web::Limits::default(),
            "target/site",
        ),
    ));
    let backend = listening_relay(relay_name).await;
    (relay, TestApp::attach(b_addr), backend)
}

/// Waits until the relay named `relay_name` is LISTENing (a fresh backend
/// whose last statement was the LISTEN); returns its backend pid.
async fn listening_relay(relay_name: &str) -> i32 {
    let admin = sqlx::PgPool::connect(&crate::helpers::postgres_admin_url())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pid: Option<i32> = sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE 'LISTEN%'",
        )
        .bind(relay_name)
        .fetch_optional(&admin)
        .await
        .unwrap();
        if let Some(pid) = pid {
            return pid;
        }
        assert!(std::time::Instant::now() < deadline, "the relay never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_subscriber_on_one_instance_receives_what_another_instance_ingests() {
    let db = TestDatabase::postgres();
    let (_a_process, a) = spawn_instance(&db).await;
    let (relay, b, _) = spawn_relayed_instance(&db).await;

    a.start("x").await;
    post_events(&a, "x", "first", 5).await;
    let mut socket = connect(&b, "/api/v1/executions/x/live").await;
    for i in 0..20 {
        post_events(&a, "x", &format!("more{i}-"), 10).await;
    }
    a.post("/api/v1/executions/x/complete", &json!({"status": "completed"}))
        .await;
    let frames = frames_until_close(&mut socket, Duration::from_secs(20)).await;
    assert_eq!(seqs(&frames), (1..=205).collect::<Vec<_>>());
    assert_eq!(frames.last().unwrap()["execution"]["status"], "completed");
    relay.abort();
}

/// The relay's connection is cut mid-stream: records stored meanwhile were
/// never announced to instance B, so B tells its subscribers to resync, and
/// a client that resumes from its last seq sees every record exactly once.
#[tokio::test]
async fn when_the_relay_loses_its_connection_subscribers_resync_and_miss_nothing() {
    let db = TestDatabase::postgres();
    let (_a_process, a) = spawn_instance(&db).await;
    let (relay, b, first_backend) = spawn_relayed_instance(&db).await;

    a.start("cut").await;
    let mut socket = connect(&b, "/api/v1/executions/cut/live").await;
    for i in 0..5 {
        post_events(&a, "cut", &format!("before{i}-"), 10).await;
    }
    let admin = sqlx::PgPool::connect(&crate::helpers::postgres_admin_url())
        .await
        .unwrap();
    let cut: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(first_backend)
        .fetch_one(&admin)
        .await
        .unwrap();
    assert!(cut);
    // Stored while B hears nothing.
    for i in 0..5 {
        post_events(&a, "cut", &format!("during{i}-"), 10).await;
    }
    a.post("/api/v1/executions/cut/complete", &json!({"status": "completed"}))
        .await;

    // A client as the browser's: on `resync`, reconnect after the last seq.
    let mut seen = Vec::new();
    let mut resyncs = 0;
    loop {
        let frames = frames_until_close(&mut socket, Duration::from_secs(30)).await;
        seen.extend(seqs(&frames));
        if frames.iter().any(|f| f["execution"]["status"] == "completed") {
            break;
        }
        assert_eq!(
            frames.last().map(|f| f["type"].clone()),
            Some(json!("resync")),
            "the stream ends at the final status or with a resync"
        );
        resyncs += 1;
        assert!(resyncs < 5, "resynced over and over");
        let after = seen.last().copied().unwrap_or(0);
        socket = connect(&b, &format!("/api/v1/executions/cut/live?after_seq={after}")).await;
    }
    assert_eq!(seen, (1..=100).collect::<Vec<_>>(), "every record once, in order");
    assert!(resyncs >= 1, "the cut was noticed");
    relay.abort();
}

#[tokio::test]
async fn an_event_emitted_through_the_protocol_is_stored_and_reaches_subscribers() {
    use app::protocol::TraceVisualization;
    let db = TestDatabase::new();
    let service = tracevis::service::TraceService::new(tracevis::store::open(&db.url).await.unwrap());
    let new = serde_json::from_value(json!({"execution_id": "emitted", "graph_type": "g"})).unwrap();
    service.start_execution(new).await.unwrap();
    let mut subscription = service.subscribe_to_execution("emitted", 0).await.unwrap();
    let status = subscription.recv().await.unwrap();
    assert!(matches!(status.frame, app::live::LiveFrame::Status { .. }));

    let id = app::model::RecordId::parse("emitted").unwrap();
    let stored = service
        .emit_event(&id, serde_json::from_value(event("e1", "EmitNode")).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.seq, 1);
    let frame = tokio::time::timeout(Duration::from_secs(5), subscription.recv())
        .await
        .unwrap()
        .unwrap();
    match &frame.frame {
        app::live::LiveFrame::Event { event } => {
            assert_eq!((event.seq, event.node_id.as_str()), (1, "EmitNode"))
        }
        other => panic!("expected the event, got {other:?}"),
    }
    assert_eq!(service.get_trace("emitted").await.unwrap().node_events.len(), 1);
}

#[tokio::test]
async fn the_run_list_stream_outlives_a_finished_run_and_a_run_stream_can_follow_late_records() {
    let app = spawn_app().await;
    let mut list = connect(&app, "/api/v1/live").await;
    app.start("first").await;
    app.start("second").await;
    let done = app
        .post(
            "/api/v1/executions/first/complete",
            &json!({"status": "completed"}),
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let done = app
        .post("/api/v1/executions/second/complete", &json!({"status": "failed"}))
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let mut finished = Vec::new();
    while finished.len() < 2 {
        let frame = next_frame(&mut list).await;
        if frame["execution"]["status"] != "running" {
            finished.push(frame["execution"]["execution_id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        finished,
        ["first", "second"],
        "the second finish comes on the same socket"
    );

    // A span-born run: its run span ends it, a node span comes after.
    let mut follower = {
        let spans = |spans: Value| json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]});
        let span = |id: &str, parent: Option<&str>, name: &str, from: u64, to: u64| {
            let mut s = json!({"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": id, "name": name,
                "startTimeUnixNano": (1_760_000_000_000_000_000u64 + from * 1_000_000).to_string(),
                "endTimeUnixNano": (1_760_000_000_000_000_000u64 + to * 1_000_000).to_string()});
            if let Some(p) = parent {
                s["parentSpanId"] = json!(p);
            }
            s
        };
        let node = span(
            "00f067aa0ba902b1",
            Some("00f067aa0ba902b0"),
            "run node Plan",
            1,
            2,
        );
        assert_eq!(
            app.post("/v1/traces", &spans(json!([node]))).await.status(),
            StatusCode::OK
        );
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let follower = connect(
            &app,
            &format!("/api/v1/executions/{id}/live?until=late_records&after_seq=0"),
        )
        .await;
        let mut plain = connect(&app, &format!("/api/v1/executions/{id}/live?after_seq=0")).await;
        let run = span("00f067aa0ba902b0", None, "run graph g", 0, 10);
        assert_eq!(
            app.post("/v1/traces", &spans(json!([run]))).await.status(),
            StatusCode::OK
        );
        let plain_frames = frames_until_close(&mut plain, Duration::from_secs(10)).await;
        assert_eq!(
            plain_frames.last().unwrap()["execution"]["status"],
            "completed",
            "the plain stream ends there"
        );
        let late = span(
            "00f067aa0ba902b2",
            Some("00f067aa0ba902b0"),
            "run node Late",
            3,
            4,
        );
        assert_eq!(
            app.post("/v1/traces", &spans(json!([late]))).await.status(),
            StatusCode::OK
        );
        follower
    };
    let mut late_nodes = Vec::new();
    while late_nodes.len() < 2 {
        let frame = next_frame(&mut follower).await;
        if frame["type"] == "event" && frame["event"]["node_id"] == "Late" {
            late_nodes.push(frame["event"]["event_type"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(late_nodes, ["started", "completed"]);
}

#[tokio::test]
async fn the_live_run_list_carries_rows_without_payloads_and_a_run_stream_carries_them_all() {
    let app = spawn_app().await;
    let mut list = connect(&app, "/api/v1/live").await;
    let r = app
        .post(
            "/api/v1/executions",
            &json!({"execution_id": "payload", "graph_type": "g", "original_inputs": {"prompt": "secret sauce"},
                    "metadata": {"team": "search"}}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let row = next_frame(&mut list).await;
    assert_eq!(row["execution"]["execution_id"], "payload");
    assert_eq!(row["execution"]["original_inputs"], json!({}));
    assert_eq!(row["execution"]["metadata"], json!({}));
    let mut run = connect(&app, "/api/v1/executions/payload/live").await;
    let status = next_frame(&mut run).await;
    assert_eq!(status["execution"]["original_inputs"]["prompt"], "secret sauce");
}
