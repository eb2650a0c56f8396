//! `tracevis bench-live`: measures live delivery against a tracevis server
//! it starts as a child process (so the server's memory is its own) —
//! latency from a batch's acknowledgement to its arrival at each of many
//! WebSocket subscribers, a sustained load of many subscribers while events
//! are ingested, and many subscribers joining a large stored run at once,
//! checking every subscriber got every `seq` once.

use anyhow::{bail, ensure, Context};
use clap::Args;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Options of `tracevis bench-live`.
#[derive(Args, Debug)]
pub struct BenchLiveArgs {
    /// Subscribers of one run for the latency figure.
    #[arg(long, default_value_t = 100)]
    latency_subscribers: usize,
    /// Batches (of 10 events) posted for the latency figure.
    #[arg(long, default_value_t = 300)]
    latency_batches: usize,
    /// Subscribers held during the load test (spread over 10 runs).
    #[arg(long, default_value_t = 1_000)]
    load_subscribers: usize,
    /// Seconds the load lasts.
    #[arg(long, default_value_t = 60)]
    load_seconds: u64,
    /// Events ingested per second during the load.
    #[arg(long, default_value_t = 1_000)]
    load_rate: u64,
    /// Events of the stored run the backlog subscribers all read at once.
    #[arg(long, default_value_t = 100_000)]
    backlog_events: usize,
    /// Bytes of payload per event of that run (100 × 100,000 = 10 MB).
    #[arg(long, default_value_t = 100)]
    backlog_payload_bytes: usize,
    /// Subscribers that connect to it at once, each reading it from seq 0.
    #[arg(long, default_value_t = 1_000)]
    backlog_subscribers: usize,
}

/// Runs both measurements and prints their figures.
pub async fn run(args: BenchLiveArgs) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--database-url"])
        .arg(format!("sqlite://{}", dir.join("live.db").display()))
        .env("RUST_LOG", "warn")
        .env("TRACEVIS_CONFIG", "/nonexistent/tracevis.toml")
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the server")?;
    let pid = server.id().context("server pid")?;
    let base = format!("127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_healthy(&http, &base).await?;
    println!("tracevis bench-live — server pid {pid} on {base}");

    latency(&http, &base, &args).await?;
    load(&http, &base, pid, &args).await?;
    backlog(&http, &base, pid, &args).await?;
    server.kill().await?;
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("tracevis-bench-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

async fn wait_healthy(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..200 {
        if let Ok(r) = http.get(format!("http://{base}/healthz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("server did not become healthy")
}

/// Arrival time of every `seq` at one subscriber, and whether it saw a resync.
#[derive(Default)]
struct Received {
    arrivals: Vec<(i64, Instant)>,
    resync: bool,
}

/// Connects a subscriber that records when each `seq` arrives until the
/// server closes the stream.
async fn subscribe(base: &str, run: &str) -> anyhow::Result<tokio::task::JoinHandle<Received>> {
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{base}/api/v1/executions/{run}/live"))
            .await
            .context("websocket")?;
    Ok(tokio::spawn(async move {
        let mut received = Received::default();
        while let Some(Ok(message)) = socket.next().await {
            let Message::Text(text) = message else { continue };
            let at = Instant::now();
            // Only the seq matters here; a full parse per frame would measure
            // the benchmark client, not tracevis.
            if let Some(seq) = seq_of(text.as_str()) {
                received.arrivals.push((seq, at));
            } else if text.as_str().contains("\"resync\"") {
                received.resync = true;
            }
        }
        received
    }))
}

fn seq_of(frame: &str) -> Option<i64> {
    if !(frame.starts_with("{\"type\":\"event\"") || frame.starts_with("{\"type\":\"snapshot\"")) {
        return None;
    }
    let start = frame.find("\"seq\":")? + 6;
    let digits: String = frame[start..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

async fn post(http: &reqwest::Client, base: &str, path: &str, body: &Value) -> anyhow::Result<()> {
    let r = http
        .post(format!("http://{base}{path}"))
        .json(body)
        .send()
        .await?;
    ensure!(r.status().is_success(), "{path}: {}", r.status());
    Ok(())
}

/// Starts the benchmark run `run`.
async fn start_run(http: &reqwest::Client, base: &str, run: &str) -> anyhow::Result<()> {
    post(
        http,
        base,
        "/api/v1/executions",
        &json!({"execution_id": run, "graph_type": "bench"}),
    )
    .await
}

/// Completes the benchmark run `run`, which ends its subscribers' streams.
async fn complete_run(http: &reqwest::Client, base: &str, run: &str) -> anyhow::Result<()> {
    post(
        http,
        base,
        &format!("/api/v1/executions/{run}/complete"),
        &json!({"status": "completed"}),
    )
    .await
}

fn batch(n: usize) -> Value {
    let now = chrono::Utc::now();
    let events: Vec<Value> = (0..n)
        .map(|i| {
            json!({"node_id": "BenchNode", "event_type": if i % 2 == 0 { "started" } else { "completed" },
                        "timestamp": now, "duration_ms": 3.5, "outputs": {"ok": true}})
        })
        .collect();
    json!({"events": events})
}

async fn latency(http: &reqwest::Client, base: &str, args: &BenchLiveArgs) -> anyhow::Result<()> {
    let run = "latency-run";
    start_run(http, base, run).await?;
    let mut subscribers = Vec::new();
    for _ in 0..args.latency_subscribers {
        subscribers.push(subscribe(base, run).await?);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // (last seq of the batch, when the API acknowledged it)
    let mut acks = Vec::new();
    for b in 0..args.latency_batches {
        post(
            http,
            base,
            &format!("/api/v1/executions/{run}/events"),
            &batch(10),
        )
        .await?;
        acks.push((((b + 1) * 10) as i64, Instant::now()));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    complete_run(http, base, run).await?;
    let mut latencies = Vec::new();
    for subscriber in subscribers {
        let received = subscriber.await?;
        let arrivals: HashMap<i64, Instant> = received.arrivals.into_iter().collect();
        for (last_seq, acked) in &acks {
            let arrived = arrivals.get(last_seq).context("a subscriber missed a batch")?;
            // A frame can arrive before the HTTP answer does: that is 0 ms.
            latencies.push(arrived.saturating_duration_since(*acked));
        }
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
    println!(
        "acknowledged batch → each of {} subscribers ({} batches): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        args.latency_subscribers,
        args.latency_batches,
        ms(at(0.5)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap_or(&Duration::ZERO))
    );
    Ok(())
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn load(http: &reqwest::Client, base: &str, pid: u32, args: &BenchLiveArgs) -> anyhow::Result<()> {
    let runs: Vec<String> = (0..10).map(|i| format!("load-run-{i}")).collect();
    for run in &runs {
        start_run(http, base, run).await?;
    }
    let mut subscribers = Vec::new();
    for i in 0..args.load_subscribers {
        let run = &runs[i % runs.len()];
        subscribers.push((i % runs.len(), subscribe(base, run).await?));
    }
    println!(
        "{} subscribers connected; server RSS {:.0} MiB",
        args.load_subscribers,
        rss_mib(pid)
    );
    let (peak, sampler) = sample_peak_rss(pid);
    // One batch of 10 per run every (10 runs × 10 events / rate) seconds.
    let per_tick = runs.len() as u64 * 10;
    let tick = Duration::from_secs_f64(per_tick as f64 / args.load_rate as f64);
    let started = Instant::now();
    let mut ticker = tokio::time::interval(tick);
    let mut sent = vec![0i64; runs.len()];
    while started.elapsed() < Duration::from_secs(args.load_seconds) {
        ticker.tick().await;
        let body = batch(10);
        let posts = runs.iter().map(|run| {
            let path = format!("/api/v1/executions/{run}/events");
            let body = &body;
            async move { post(http, base, &path, body).await }
        });
        for result in futures_util::future::join_all(posts).await {
            result?;
        }
        sent.iter_mut().for_each(|s| *s += 10);
    }
    let elapsed = started.elapsed().as_secs_f64();
    for run in &runs {
        complete_run(http, base, run).await?;
    }
    let (mut lost, mut duplicated, mut resyncs) = (0i64, 0i64, 0);
    for (run, subscriber) in subscribers {
        let received = subscriber.await?;
        resyncs += usize::from(received.resync);
        let mut seqs: Vec<i64> = received.arrivals.iter().map(|(s, _)| *s).collect();
        let in_order = seqs.windows(2).all(|w| w[0] < w[1]);
        let count = seqs.len() as i64;
        seqs.dedup();
        duplicated += count - seqs.len() as i64;
        lost += sent[run] - seqs.len() as i64;
        ensure!(
            in_order || duplicated > 0,
            "a subscriber got records out of order"
        );
    }
    sampler.abort();
    let total: i64 = sent.iter().sum();
    println!(
        "{} subscribers for {elapsed:.0} s at {:.0} events/s ingested ({total} events, {} deliveries): \
         lost {lost}, duplicated {duplicated}, resyncs {resyncs}, server peak RSS {:.0} MiB",
        args.load_subscribers,
        total as f64 / elapsed,
        total * (args.load_subscribers / runs.len()) as i64,
        *peak.lock().expect("peak lock")
    );
    Ok(())
}

/// Samples the server's RSS every 100 ms until aborted; the peak so far.
fn sample_peak_rss(pid: u32) -> (Arc<Mutex<f64>>, tokio::task::JoinHandle<()>) {
    let peak = Arc::new(Mutex::new(0.0f64));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let rss = rss_mib(pid);
                {
                    let mut p = peak.lock().expect("peak lock");
                    *p = p.max(rss);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    (peak, sampler)
}

/// Many subscribers join a large stored run at the same moment, each from
/// seq 0: the server pages the backlog per subscriber (never the whole run
/// at once), so its memory stays bounded by pages and queues, not by
/// subscribers × run size.
async fn backlog(http: &reqwest::Client, base: &str, pid: u32, args: &BenchLiveArgs) -> anyhow::Result<()> {
    let run = "backlog-run";
    start_run(http, base, run).await?;
    let payload = "x".repeat(args.backlog_payload_bytes);
    let now = chrono::Utc::now();
    for start in (0..args.backlog_events).step_by(1_000) {
        let events: Vec<Value> = (start..(start + 1_000).min(args.backlog_events))
            .map(|i| {
                json!({"node_id": "BenchNode", "event_type": if i % 2 == 0 { "started" } else { "completed" },
                       "timestamp": now, "outputs": {"text": payload}})
            })
            .collect();
        post(
            http,
            base,
            &format!("/api/v1/executions/{run}/events"),
            &json!({"events": events}),
        )
        .await?;
    }
    complete_run(http, base, run).await?;
    let before = rss_mib(pid);
    let (peak, sampler) = sample_peak_rss(pid);
    let started = Instant::now();
    let mut subscribers = Vec::new();
    for _ in 0..args.backlog_subscribers {
        subscribers.push(subscribe(base, run).await?);
    }
    let (mut complete, mut resyncs) = (0, 0);
    let want = args.backlog_events as i64;
    for subscriber in subscribers {
        let received = subscriber.await?;
        resyncs += usize::from(received.resync);
        let seqs: Vec<i64> = received.arrivals.iter().map(|(s, _)| *s).collect();
        if seqs.len() as i64 == want && seqs.windows(2).all(|w| w[0] < w[1]) {
            complete += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    sampler.abort();
    println!(
        "{} subscribers each reading a stored run of {} events ({:.0} MB of payloads) from seq 0: \
         {complete} got every seq once in order, {resyncs} resyncs, {elapsed:.1} s; \
         server RSS {before:.0} MiB before, peak {:.0} MiB",
        args.backlog_subscribers,
        args.backlog_events,
        (args.backlog_events * args.backlog_payload_bytes) as f64 / 1e6,
        *peak.lock().expect("peak lock")
    );
    Ok(())
}
