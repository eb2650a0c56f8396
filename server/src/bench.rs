//! `tracevis bench`: fills a database with many runs, then measures what
//! users feel — `get_trace` latency inside the service and over HTTP on
//! loopback, and ingest throughput through the HTTP API. Prints the figures
//! BENCHMARKS.md records. Build with `--release` for meaningful numbers.

use crate::service::TraceService;
use crate::{store, web};
use anyhow::{ensure, Context};
use app::model::{EventBatch, ExecutionFilter, NewExecution};
use app::protocol::TraceVisualization;
use chrono::{Duration as ChronoDuration, Utc};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Options of `tracevis bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Database to fill and measure (default: a new SQLite file in the temp dir).
    #[arg(long)]
    database_url: Option<String>,
    /// Runs stored before measuring reads (each with --events-per-run events).
    #[arg(long, default_value_t = 1_000)]
    runs: u32,
    /// Node events per stored run.
    #[arg(long, default_value_t = 1_000)]
    events_per_run: u32,
    /// State snapshots per stored run.
    #[arg(long, default_value_t = 100)]
    snapshots_per_run: u32,
    /// get_trace calls measured per path.
    #[arg(long, default_value_t = 1_000)]
    samples: u32,
    /// Events posted through HTTP for the ingest figure (batches of 1,000).
    #[arg(long, default_value_t = 200_000)]
    ingest_events: u32,
    /// Concurrent HTTP producers during the ingest measurement.
    #[arg(long, default_value_t = 4)]
    producers: u32,
    /// Spans posted through OTLP/HTTP for the span ingest figure (requests
    /// of 1,000 spans: one trace each, a run span and 999 node spans).
    #[arg(long, default_value_t = 200_000)]
    otlp_spans: u32,
    /// Small runs (10 node events each) stored for the statistics and run
    /// list figures, many per transaction (`bench_scale`).
    #[arg(long, default_value_t = 100_000)]
    pub(crate) stats_runs: u32,
    /// Days back over which the small runs' starts are spread (365: a year
    /// of history, whose statistics read week and day sums).
    #[arg(long, default_value_t = 7)]
    pub(crate) stats_days: u32,
    /// Runs of 100 events with about 1 KB payloads stored for the bytes on
    /// disk per event; 0 skips the figure (on SQLite it reads every page of
    /// the database twice: minutes on a database of tens of GB).
    #[arg(long, default_value_t = 200)]
    disk_runs: u32,
    /// Last, delete the small runs' oldest day (runs started over
    /// `--stats-days` − 1 days ago) as retention does, while producers post,
    /// and time both (`bench_scale::time_retention`). Deletes those runs.
    #[arg(long)]
    pub(crate) retention_day: bool,
    /// Node events in each of the two runs compared for the compare figure.
    #[arg(long, default_value_t = 100_000)]
    compare_events: u32,
    /// Node events of the parallel run (1,000 visits at a time) whose
    /// critical path, lanes, parallelism and graph edges are timed. At
    /// least 2,000, so a thousand visits overlap (the figure checks it).
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(2_000..))]
    parallel_events: u32,
    /// Runs stored for the search figure: 10 node events each, every
    /// finished visit with about 1 KB of text in its outputs.
    #[arg(long, default_value_t = 100_000)]
    search_runs: u32,
    /// Node types of the baseline-alert figure: a week of hourly
    /// aggregates of runs visiting each of them, one baseline rule each.
    #[arg(long, default_value_t = 100)]
    baseline_node_types: u32,
    /// `required`: every HTTP request carries an admin token and passes the
    /// access gate's check, as on a team's server (compare with `off`).
    #[arg(long, value_enum, default_value = "off")]
    auth: crate::access::AuthMode,
}

/// Makes an admin token for the benchmark's requests and prints what checking
/// it costs once cached (the cost every authenticated request pays).
async fn bench_token(
    gate: &crate::access::Gate,
    access_store: &crate::access::AccessStore,
) -> anyhow::Result<String> {
    use crate::access::gate::Credential;
    let (token, display) = crate::access::new_token(crate::access::Scope::Admin);
    let name = format!("bench-{}", uuid::Uuid::now_v7().simple());
    access_store
        .create_token(
            &name,
            crate::access::Scope::Admin,
            &crate::access::hash_secret(&token),
            &display,
            Utc::now(),
        )
        .await?;
    let credential = Credential::Token(token.clone());
    let mut samples = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let started = Instant::now();
        ensure!(gate.identify(&credential).await?.is_some(), "bench token refused");
        samples.push(started.elapsed());
    }
    samples.sort();
    let us =
        |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)].as_secs_f64() * 1e6;
    println!(
        "token check per request (cached, re-read from the store once a second): p50 {:.1} µs, p99 {:.1} µs",
        us(0.5),
        us(0.99)
    );
    Ok(token)
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let url = args.database_url.clone().unwrap_or_else(|| {
        let path = std::env::temp_dir().join(format!("tracevis-bench-{}.db", std::process::id()));
        format!("sqlite://{}", path.display())
    });
    println!("tracevis bench — database {}", crate::config::redact_url(&url));
    let (history, access_store, alert_store) = store::open_all(&url).await?;
    let service = TraceService::new(history.clone());
    let mut rng = StdRng::seed_from_u64(42);

    let ids = fill(&service, &args, &mut rng).await?;

    let store_latency = measure(args.samples, &ids, &mut rng, |id| {
        let service = service.clone();
        async move {
            let trace = service.get_trace(&id).await?;
            ensure!(trace.node_events.len() as u32 >= 1, "empty trace");
            Ok(())
        }
    })
    .await?;
    println!(
        "get_trace in the service ({} events + {} snapshots): {store_latency}",
        args.events_per_run, args.snapshots_per_run
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let required = args.auth == crate::access::AuthMode::Required;
    let gate = crate::access::Gate::new(
        crate::access::GateSettings {
            required,
            ..crate::access::GateSettings::default()
        },
        access_store.clone(),
    );
    let mut headers = reqwest::header::HeaderMap::new();
    if required {
        let token = bench_token(&gate, &access_store).await?;
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {token}").parse().context("token header")?,
        );
    }
    println!(
        "access: {}",
        if required {
            "sign-in required, every request carries an admin token"
        } else {
            "off"
        }
    );
    let router = web::router(
        service.clone(),
        gate,
        web::Limits {
            max_body_bytes: 64 * 1024 * 1024,
            ..web::Limits::default()
        },
        "target/site",
    );
    tokio::spawn(web::serve(listener, router));
    let http = reqwest::Client::builder().default_headers(headers).build()?;
    let http_latency = measure(args.samples, &ids, &mut rng, |id| {
        let http = http.clone();
        async move {
            let response = http
                .get(format!("http://{addr}/api/v1/executions/{id}"))
                .send()
                .await?;
            ensure!(response.status().is_success(), "status {}", response.status());
            let body = response.bytes().await?;
            ensure!(body.len() > 1_000, "short body");
            Ok(())
        }
    })
    .await?;
    println!("GET /api/v1/executions/{{id}} over HTTP on loopback: {http_latency}");

    if args.disk_runs > 0 {
        crate::bench_disk::print_bytes_per_event(&url, &service, &mut rng, args.disk_runs, 100).await?;
    }

    let (rate, _) = ingest(&http, addr, &args).await?;
    println!(
        "ingest through HTTP, batches of 1,000, {} producers: {rate:.0} events/s",
        args.producers
    );

    let span_rate = ingest_otlp(&http, addr, &args).await?;
    println!(
        "OTLP protobuf ingest, 1,000 spans per request, {} producers, until queryable: {span_rate:.0} spans/s",
        args.producers
    );

    let (a, b) = fill_compare_pair(&service, args.compare_events).await?;
    let compare_latency = measure(5, &ids, &mut rng, |_| {
        let http = http.clone();
        let url = format!("http://{addr}/api/v1/compare?a={a}&b={b}");
        async move {
            let response = http.get(url).send().await?;
            ensure!(response.status().is_success(), "status {}", response.status());
            let body = response.bytes().await?;
            ensure!(body.len() > 1_000, "short body");
            Ok(())
        }
    })
    .await?;
    println!(
        "GET /api/v1/compare of two {}-event runs (one extra loop iteration, one failure): {compare_latency}",
        args.compare_events
    );

    for named in [false, true] {
        let (figures, edges) = time_parallel_figures(args.parallel_events, named);
        let run = format!(
            "a {}-event run, 1,000 visits at a time{}",
            args.parallel_events,
            if named { ", each naming its parent" } else { "" }
        );
        println!("critical path, lanes and parallelism of {run}: {figures}");
        println!("graph edges of {run}: {edges}");
    }

    crate::bench_scale::fill_small_runs(&history, &url, args.stats_runs, args.stats_days).await?;
    let total = service.statistics(Default::default()).await?.executions.total;
    // A window whose edges fall inside hours: whole hours from the
    // aggregates, the edges read run by run.
    let window_start =
        (Utc::now() - ChronoDuration::days(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let month_start =
        (Utc::now() - ChronoDuration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let requests = [
        ("GET /api/v1/statistics", "/api/v1/statistics".to_owned()),
        (
            "GET /api/v1/statistics?graph_type=bench-stats",
            "/api/v1/statistics?graph_type=bench-stats".to_owned(),
        ),
        (
            "GET /api/v1/statistics?graph_type=bench-rare (a graph type with one run)",
            "/api/v1/statistics?graph_type=bench-rare".to_owned(),
        ),
        (
            "GET /api/v1/statistics, the last 3 days (edges inside hours)",
            format!("/api/v1/statistics?start_time={}", urlencode(&window_start)),
        ),
        (
            "GET /api/v1/statistics, the last 30 days (edges inside hours)",
            format!("/api/v1/statistics?start_time={}", urlencode(&month_start)),
        ),
        ("GET /stats (the metrics page, HTML)", "/stats".to_owned()),
        (
            "GET /api/v1/executions?graph_type=bench-stats&status=failed",
            "/api/v1/executions?graph_type=bench-stats&status=failed&fields=list".to_owned(),
        ),
        (
            "GET /api/v1/executions?sort=duration",
            "/api/v1/executions?sort=duration&fields=list".to_owned(),
        ),
    ];
    for (label, path) in requests {
        let latency = measure(20, &ids, &mut rng, |_| {
            let http = http.clone();
            let url = format!("http://{addr}{path}");
            async move {
                let response = http.get(url).send().await?;
                ensure!(response.status().is_success(), "status {}", response.status());
                ensure!(response.bytes().await?.len() > 100, "short body");
                Ok(())
            }
        })
        .await?;
        println!("{label} over {total} runs: {latency}");
    }

    crate::bench_scale::time_list_pages(&http, addr).await?;

    fill_search_runs(&service, args.search_runs).await?;
    // Each sample searches another word (no answer is cached), of three
    // kinds: a word of the text (in about 0.75 % of the documents), an
    // error code in about 1 run in 1,000, and a field name in every event.
    let vocabulary: Vec<String> = (0..SEARCH_VOCABULARY).map(search_word).collect();
    let codes: Vec<String> = (0..SEARCH_CODES).map(|c| format!("E{c:04}")).collect();
    let everywhere = vec!["text".to_owned()];
    for (label, words) in [
        ("one word of the text", &vocabulary),
        ("a rare error code", &codes),
        ("a field name in every event", &everywhere),
    ] {
        let latency = measure(50, words, &mut rng, |word| {
            let http = http.clone();
            let url = format!("http://{addr}/api/v1/executions?q={word}&limit=50&fields=list");
            async move {
                let response = http.get(url).send().await?;
                ensure!(response.status().is_success(), "status {}", response.status());
                ensure!(response.bytes().await?.len() > 10, "short body");
                Ok(())
            }
        })
        .await?;
        println!(
            "GET /api/v1/executions?q=… ({label}) over {} search runs: {latency}",
            args.search_runs
        );
    }

    // One run with 10 MB of payloads among them: a word of its text finds
    // it (and cuts its excerpts from 1 MB records).
    fill_in_workers(&service, "bench-search-big", 1, 200, store_big_search_run).await?;
    let latency = measure(50, &["zanzibar".to_owned()], &mut rng, |word| {
        let http = http.clone();
        let url = format!("http://{addr}/api/v1/executions?q={word}&limit=50&fields=list");
        async move {
            let response = http.get(url).send().await?;
            ensure!(response.status().is_success(), "status {}", response.status());
            let list: Value = response.json().await?;
            ensure!(
                list["executions"][0]["graph_type"] == "bench-search-big",
                "the big run was not found"
            );
            Ok(())
        }
    })
    .await?;
    println!("GET /api/v1/executions?q=… (a word in a run with 10 MB of payloads): {latency}");

    let [first, next_hour, later] =
        time_baseline_rules(&service, &alert_store, args.baseline_node_types).await?;
    let rules = format!(
        "baseline alert rules, one per node type, {} node types, a week of hourly aggregates",
        args.baseline_node_types
    );
    println!(
        "{rules}: the task's first evaluations after a start (each reads the week of {} node types): {first}",
        crate::alerts::baseline::WEEKS_READ_PER_EVALUATION
    );
    println!("{rules}: the first evaluation of each later hour (reads one hour more): {next_hour}");
    println!("{rules}: the later evaluations in an hour: {later}");

    if args.retention_day {
        // Last: it deletes a day of the small runs (a later bench on this
        // database stores as many again).
        crate::bench_scale::time_retention(&service, &http, addr, &args).await?;
    }
    Ok(())
}

/// The search run with 10 MB of payloads: ten visits whose outputs each
/// hold 1 MB of words, `zanzibar` among the first of each.
async fn store_big_search_run(service: TraceService, mut rng: StdRng) -> anyhow::Result<StdRng> {
    let id = format!("search-big-{}", uuid::Uuid::now_v7().simple());
    let start = Utc::now() - ChronoDuration::minutes(1);
    let new: NewExecution = serde_json::from_value(json!({
        "execution_id": id, "graph_type": "bench-search-big", "start_time": start,
    }))?;
    service.start_execution(new).await?;
    let record_id = app::model::RecordId::parse(id).map_err(anyhow::Error::msg)?;
    for i in 0..10i64 {
        let mut text = String::from("zanzibar");
        while text.len() < 1_000_000 {
            text.push(' ');
            text.push_str(&search_word(rng.random_range(0..SEARCH_VOCABULARY)));
        }
        let at = start + ChronoDuration::milliseconds(i * 100);
        let events = json!([
            {"node_id": "Read", "event_type": "started", "timestamp": at},
            {"node_id": "Read", "event_type": "completed", "timestamp": at + ChronoDuration::milliseconds(50),
             "duration_ms": 50.0, "outputs": {"text": text}},
        ]);
        service
            .append_batch(&record_id, serde_json::from_value(json!({"events": events}))?)
            .await?;
    }
    let done = serde_json::from_value(
        json!({"status": "completed", "end_time": start + ChronoDuration::seconds(2)}),
    )?;
    service.complete_execution(&record_id, done).await?;
    Ok(rng)
}

/// Runs of the baseline figure: this many per hour of the week and more.
const BASELINE_RUNS_PER_HOUR: u32 = 10;

/// Fills a week and two hours of runs visiting `node_types` node types
/// (durations spread over many histogram buckets), makes one baseline rule
/// per node type, and times the periodic task's evaluation of them all:
/// the task's first (which reads the week), the first of the next hour
/// (one hour more), and the later ones in an hour. The rules' factor is
/// high enough that none fires: what is timed is the reading, as on most
/// evaluations.
async fn time_baseline_rules(
    service: &TraceService,
    alerts: &crate::alerts::store::AlertStore,
    node_types: u32,
) -> anyhow::Result<[Percentiles; 3]> {
    use app::alerts::AlertRuleSpec;
    let hours = 7 * 24 + 2;
    let started = Instant::now();
    let store_one = move |service: TraceService, rng: StdRng| store_baseline_run(service, rng, node_types);
    let stored = fill_in_workers(
        service,
        "bench-baseline",
        hours * BASELINE_RUNS_PER_HOUR,
        300,
        store_one,
    )
    .await?;
    if stored > 0 {
        println!(
            "stored {stored} baseline runs ({node_types} visits each) in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let existing: Vec<String> = alerts
        .list_rules()
        .await?
        .into_iter()
        .map(|r| r.spec.name.as_str().to_owned())
        .collect();
    for n in 0..node_types {
        let name = format!("bench baseline {}", baseline_node(n));
        if existing.contains(&name) {
            continue;
        }
        let spec: AlertRuleSpec = serde_json::from_value(json!({
            "name": name, "graph_type": "bench-baseline",
            "condition": {"kind": "node_slower_than_baseline", "node_id": baseline_node(n), "factor": 500.0, "min_count": 5},
            "webhook_url": "https://hooks.example.com/tracevis",
        }))?;
        let id = uuid::Uuid::now_v7().to_string();
        alerts.create_rule(&id, &spec, "bench-secret", Utc::now()).await?;
    }
    // Samples of the task's first evaluations after a start (until every
    // rule's week is read), the next hour's first, and the later ones in
    // an hour.
    let (first, next_hour, later) = (0, 1, 2);
    let mut times: [Vec<Duration>; 3] = Default::default();
    for _ in 0..10 {
        let mut baselines = crate::alerts::baseline::Baselines::default();
        let now = Utc::now();
        let hour_later = now + ChronoDuration::hours(1);
        let mut evaluate = async |at, figure: usize| {
            let began = Instant::now();
            let fired = crate::alerts::baseline::evaluate(alerts, &mut baselines, at).await?;
            times[figure].push(began.elapsed());
            ensure!(fired == 0, "a bench baseline rule fired");
            anyhow::Ok(())
        };
        for _ in 0..node_types.div_ceil(crate::alerts::baseline::WEEKS_READ_PER_EVALUATION as u32) {
            evaluate(now, first).await?;
        }
        for (at, figure) in [
            (now, later),
            (now, later),
            (hour_later, next_hour),
            (hour_later, later),
        ] {
            evaluate(at, figure).await?;
        }
        ensure!(baselines.caught_up(), "the baseline task had not read every week");
    }
    Ok(times.map(Percentiles::of))
}

/// The `n`th node type of the baseline figure.
fn baseline_node(n: u32) -> String {
    format!("Node{n:03}")
}

/// One run of the baseline figure: started in a random minute of the last
/// week and two hours, visiting every node type once, each visit taking
/// 1 ms to 10 s (log-uniform, so a node's hour spans many buckets).
async fn store_baseline_run(
    service: TraceService,
    mut rng: StdRng,
    node_types: u32,
) -> anyhow::Result<StdRng> {
    let id = format!("baseline-{}", uuid::Uuid::now_v7().simple());
    let start = Utc::now() - ChronoDuration::minutes(rng.random_range(0..(7 * 24 + 2) * 60));
    let new: NewExecution = serde_json::from_value(json!({
        "execution_id": id, "graph_type": "bench-baseline", "start_time": start,
    }))?;
    service.start_execution(new).await?;
    let mut at = start;
    let mut events = Vec::with_capacity(node_types as usize * 2);
    for n in 0..node_types {
        let took = 10f64.powf(rng.random_range(0.0..4.0));
        events.push(json!({"node_id": baseline_node(n), "event_type": "started", "timestamp": at}));
        at += ChronoDuration::microseconds((took * 1_000.0) as i64);
        events.push(json!({"node_id": baseline_node(n), "event_type": "completed", "timestamp": at, "duration_ms": took}));
    }
    let record_id = app::model::RecordId::parse(id).map_err(anyhow::Error::msg)?;
    service
        .append_batch(&record_id, serde_json::from_value(json!({"events": events}))?)
        .await?;
    let done = serde_json::from_value(json!({"status": "completed", "end_time": at}))?;
    service.complete_execution(&record_id, done).await?;
    Ok(rng)
}

/// Distinct words the search runs' text is drawn from.
const SEARCH_VOCABULARY: usize = 20_000;
/// Distinct error codes, one per failed search run.
const SEARCH_CODES: usize = 100;

/// The `n`th word of the search runs' vocabulary: pronounceable, distinct.
fn search_word(n: usize) -> String {
    const SYLLABLES: [&str; 32] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "da", "fe", "go", "hu", "ji", "ke", "la", "mo", "nu",
        "pa", "qi", "re", "si", "tu", "va", "we", "xo", "yu", "za", "be", "co", "di", "fa", "gi",
    ];
    let mut word = String::new();
    let mut rest = n + SYLLABLES.len();
    while rest > 0 {
        word.push_str(SYLLABLES[rest % SYLLABLES.len()]);
        rest /= SYLLABLES.len();
    }
    word
}

/// Stores search runs until there are `count`: 10 events each (5 visits),
/// every finished visit with about 1 KB of words in its outputs, and an
/// error code in one run in a thousand.
async fn fill_search_runs(service: &TraceService, count: u32) -> anyhow::Result<()> {
    let started = Instant::now();
    let stored = fill_in_workers(service, "bench-search", count, 100, store_search_run).await?;
    if stored > 0 {
        let secs = started.elapsed().as_secs_f64();
        println!(
            "stored {stored} search runs ({} events, 1 KB of text per finished visit) in {secs:.1} s: {:.0} events/s through the service",
            stored * 10,
            f64::from(stored) * 10.0 / secs
        );
    }
    Ok(())
}

/// One search run (see `fill_search_runs`).
async fn store_search_run(service: TraceService, mut rng: StdRng) -> anyhow::Result<StdRng> {
    let id = format!("search-{}", uuid::Uuid::now_v7().simple());
    let start = Utc::now() - ChronoDuration::minutes(rng.random_range(0..60 * 24 * 7));
    let new: NewExecution = serde_json::from_value(json!({
        "execution_id": id, "graph_type": "bench-search", "start_time": start,
        "original_inputs": {"topic": search_word(rng.random_range(0..SEARCH_VOCABULARY))},
    }))?;
    service.start_execution(new).await?;
    let failed = rng.random_bool(0.001);
    let events: Vec<Value> = (0..10u32)
        .map(|i| {
            let done = i % 2 == 1;
            let text: Vec<String> = (0..if done { 150 } else { 0 })
                .map(|_| search_word(rng.random_range(0..SEARCH_VOCABULARY)))
                .collect();
            let node = ["Plan", "Search", "Fetch", "Summarize", "Review"][(i / 2) as usize];
            json!({
                "node_id": node,
                "event_type": if done { if failed && i == 9 { "failed" } else { "completed" } } else { "started" },
                "timestamp": start + ChronoDuration::milliseconds(i64::from(i) * 50),
                "duration_ms": if done { Some(40.0) } else { None },
                "inputs": {"step": i},
                "outputs": if done { json!({"text": text.join(" ")}) } else { json!({}) },
                "error": (failed && i == 9).then(|| format!("upstream answered E{:04}", rng.random_range(0..SEARCH_CODES))),
            })
        })
        .collect();
    let record_id = app::model::RecordId::parse(id).map_err(anyhow::Error::msg)?;
    service
        .append_batch(&record_id, serde_json::from_value(json!({"events": events}))?)
        .await?;
    let done = serde_json::from_value(json!({
        "status": if failed { "failed" } else { "completed" },
        "end_time": start + ChronoDuration::seconds(1)}))?;
    service.complete_execution(&record_id, done).await?;
    Ok(rng)
}

/// Stores runs of `graph_type` with `store_one` until `count` exist, from
/// four tasks side by side (worker `w` seeded with `seed + w`); returns how
/// many it stored.
async fn fill_in_workers<F, Fut>(
    service: &TraceService,
    graph_type: &str,
    count: u32,
    seed: u64,
    store_one: F,
) -> anyhow::Result<u32>
where
    F: Fn(TraceService, StdRng) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<StdRng>> + Send,
{
    let filter = ExecutionFilter {
        graph_type: Some(graph_type.into()),
        limit: 1,
        ..ExecutionFilter::default()
    };
    let existing = service.list_executions(&filter).await?.total as u32;
    let missing = count.saturating_sub(existing);
    let workers = 4;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let service = service.clone();
        let share = missing / workers + u32::from(w < missing % workers);
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(seed + u64::from(w));
            for _ in 0..share {
                rng = store_one(service.clone(), rng).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await.context("fill task panicked")??;
    }
    Ok(missing)
}

/// Percent-encodes a query value (the `+` of a time zone offset, `:`).
pub(crate) fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Times what a parallel run's page works out once it has finished
/// (`app::parallel`: critical path, lanes and parallelism; then the graph's
/// edges, timed apart) over
/// `events / 2` visits that start a thousand at a time, each running
/// 0.4–1 s (with `named`, each visit names the one of its branch before it
/// as its parent): five samples.
fn time_parallel_figures(events: u32, named: bool) -> (Percentiles, Percentiles) {
    use app::parallel::{critical_path, inferred_edges, lanes, parallelism};
    use app::timeline::{NodeVisit, VisitOutcome};
    let origin = Utc::now();
    let visits: Vec<NodeVisit> = (0..i64::from(events / 2))
        .map(|i| {
            let start = origin + ChronoDuration::milliseconds((i / 1_000) * 500);
            let took = 400 + (i * 7_919) % 600;
            NodeVisit {
                index: usize::try_from(i).unwrap_or(usize::MAX),
                node_id: format!("Branch{}", i % 1_000),
                start,
                end: Some(start + ChronoDuration::milliseconds(took)),
                outcome: VisitOutcome::Completed,
                attempt: 1,
                duration_ms: Some(took as f64),
                saved_ms: None,
                start_seq: Some(2 * i + 1),
                end_seq: Some(2 * i + 2),
                error: None,
                parents: if named && i >= 1_000 {
                    vec![2 * (i - 1_000) + 1]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let end = visits.iter().filter_map(|v| v.end).max().unwrap_or(origin);
    let (figures, edges): (Vec<Duration>, Vec<Duration>) = (0..5)
        .map(|_| {
            let began = Instant::now();
            let path = critical_path(&visits, end);
            let lanes = lanes(&visits, end);
            let figures = parallelism(&visits, origin, end);
            let figured = began.elapsed();
            let edges = inferred_edges(&visits, end);
            assert!(!path.visits.is_empty() && lanes.len() == visits.len() && figures.peak >= 1_000);
            assert!(!edges.is_empty());
            (figured, began.elapsed() - figured)
        })
        .unzip();
    (Percentiles::of(figures), Percentiles::of(edges))
}

/// Two runs of `events` node events each (a planner loop over three
/// nodes) for the compare figure: b takes one extra iteration early on and
/// fails a node near the end, so the alignment has real work to do.
async fn fill_compare_pair(service: &TraceService, events: u32) -> anyhow::Result<(String, String)> {
    const LOOP: [&str; 3] = ["PlanNode", "SearchNode", "DraftNode"];
    let visits = events / 2;
    let mut ids = Vec::new();
    for (name, extra_at, fail_at) in [("a", None, None), ("b", Some(10), Some(visits.saturating_sub(5)))] {
        let id = format!("bench-compare-{name}-{}", uuid::Uuid::now_v7().simple());
        let start = Utc::now() - ChronoDuration::hours(2);
        service
            .start_execution(serde_json::from_value(json!({
                "execution_id": id, "graph_type": "bench-compare", "start_time": start,
                "initial_state": {"step": 0}
            }))?)
            .await?;
        let record_id = app::model::RecordId::parse(id.clone()).map_err(anyhow::Error::msg)?;
        let mut nodes: Vec<&str> = (0..visits).map(|i| LOOP[i as usize % 3]).collect();
        if let Some(at) = extra_at {
            nodes.insert(at, "SearchNode");
            nodes.truncate(visits as usize);
        }
        for (chunk_index, chunk) in nodes.chunks(500).enumerate() {
            let mut records = Vec::new();
            let mut snapshots = Vec::new();
            for (k, node) in chunk.iter().enumerate() {
                let i = chunk_index * 500 + k;
                let at = start + ChronoDuration::milliseconds(i as i64 * 10);
                let failed = fail_at == Some(i as u32);
                records.push(json!({"node_id": node, "event_type": "started", "timestamp": at}));
                records.push(
                    json!({"node_id": node, "event_type": if failed { "failed" } else { "completed" },
                    "timestamp": at + ChronoDuration::milliseconds(7), "duration_ms": 7.0,
                    "outputs": {"i": i}}),
                );
                if i % 10 == 0 {
                    snapshots.push(
                        json!({"node_id": node, "timestamp": at + ChronoDuration::milliseconds(8),
                        "state": {"step": i, "last": node}}),
                    );
                }
            }
            let batch: EventBatch =
                serde_json::from_value(json!({"events": records, "snapshots": snapshots}))?;
            service.append_batch(&record_id, batch).await?;
        }
        service
            .complete_execution(
                &record_id,
                serde_json::from_value(json!({"status": "completed"}))?,
            )
            .await?;
        ids.push(id);
    }
    let b = ids.pop().unwrap_or_default();
    let a = ids.pop().unwrap_or_default();
    Ok((a, b))
}

/// Stores runs until the database holds `args.runs` of them; returns their ids.
async fn fill(service: &TraceService, args: &BenchArgs, rng: &mut StdRng) -> anyhow::Result<Vec<String>> {
    let existing = service
        .list_executions(&ExecutionFilter {
            graph_type: Some("bench".into()),
            limit: app::model::MAX_LIST_LIMIT,
            ..ExecutionFilter::default()
        })
        .await?;
    let mut ids: Vec<String> = existing.executions.into_iter().map(|e| e.execution_id).collect();
    let missing = args.runs.saturating_sub(ids.len() as u32);
    if missing == 0 {
        println!("reusing {} stored runs", ids.len());
        return Ok(ids);
    }
    let started = Instant::now();
    for _ in 0..missing {
        let id = format!("bench-{}", uuid::Uuid::now_v7().simple());
        let start = Utc::now() - ChronoDuration::hours(1);
        let new: NewExecution = serde_json::from_value(json!({
            "execution_id": id, "graph_type": "bench", "start_time": start,
            "original_inputs": {"prompt": "benchmark"},
        }))?;
        service.start_execution(new).await?;
        let batch: EventBatch = serde_json::from_value(batch_json(
            rng,
            args.events_per_run,
            args.snapshots_per_run,
            start,
        ))?;
        let record_id = app::model::RecordId::parse(id.clone()).map_err(anyhow::Error::msg)?;
        service.append_batch(&record_id, batch).await?;
        let done = serde_json::from_value(
            json!({"status": "completed", "end_time": start + ChronoDuration::minutes(5)}),
        )?;
        service.complete_execution(&record_id, done).await?;
        ids.push(id);
    }
    let secs = started.elapsed().as_secs_f64();
    let events = f64::from(missing) * f64::from(args.events_per_run);
    println!(
        "stored {missing} runs ({events:.0} events) in {secs:.1} s: {:.0} events/s through the service",
        events / secs
    );
    Ok(ids)
}

/// A batch of `events` node events and `snapshots` snapshots, like a real run's.
pub(crate) fn batch_json(
    rng: &mut StdRng,
    events: u32,
    snapshots: u32,
    start: chrono::DateTime<Utc>,
) -> Value {
    const NODES: [&str; 8] = [
        "PlanNode",
        "SearchNode",
        "FetchNode",
        "SummarizeNode",
        "ReviewNode",
        "TranslateNode",
        "FormatNode",
        "PublishNode",
    ];
    let events: Vec<Value> = (0..events)
        .map(|i| {
            let node = NODES[(i / 2) as usize % NODES.len()];
            let done = i % 2 == 1;
            json!({
                "node_id": node,
                "event_type": if !done { "started" } else if rng.random_bool(0.05) { "failed" } else { "completed" },
                "timestamp": start + ChronoDuration::milliseconds(i64::from(i) * 50),
                "duration_ms": if done { Some(rng.random_range(5.0..500.0)) } else { None },
                "inputs": {"step": i, "query": "how do graph executors schedule nodes"},
                "outputs": if done { json!({"result": "ok", "items": [1, 2, 3]}) } else { json!({}) },
                "metadata": if done { json!({"attempt": 1, "llm_calls": 1, "tokens": rng.random_range(100..2_000)}) } else { json!({"attempt": 1}) },
            })
        })
        .collect();
    let snapshots: Vec<Value> = (0..snapshots)
        .map(|i| {
            json!({
                "node_id": NODES[i as usize % NODES.len()],
                "timestamp": start + ChronoDuration::milliseconds(i64::from(i) * 500 + 1),
                "state": {"step": i, "plan": {"queries": ["a", "b"], "status": "ready"},
                          "draft": {"title": format!("draft {i}"), "word_count": i * 10},
                          "sources": (0..(i % 5)).collect::<Vec<_>>()},
            })
        })
        .collect();
    json!({"events": events, "snapshots": snapshots})
}

/// Latency percentiles of `samples` calls of `op` on random ids.
async fn measure<F, Fut>(samples: u32, ids: &[String], rng: &mut StdRng, op: F) -> anyhow::Result<Percentiles>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    // Warm-up: first reads fill caches and the connection pool.
    for id in ids.iter().take(20) {
        op(id.clone()).await?;
    }
    let mut times = Vec::with_capacity(samples as usize);
    for _ in 0..samples {
        let id = ids[rng.random_range(0..ids.len())].clone();
        let t = Instant::now();
        op(id).await?;
        times.push(t.elapsed());
    }
    Ok(Percentiles::of(times))
}

/// Posts `args.ingest_events` events in batches of 1,000 from concurrent
/// producers; returns events per second from first request to last answer,
/// and when each batch was sent and how long its answer took.
pub(crate) async fn ingest(
    http: &reqwest::Client,
    addr: std::net::SocketAddr,
    args: &BenchArgs,
) -> anyhow::Result<(f64, Vec<Sent>)> {
    let requests = ingest_requests(http, addr, args).await?;
    post_ingest(http, args, requests).await
}

/// What `ingest` posts: a run started for each batch of 1,000 events, and
/// the batches as `(url, body)`.
pub(crate) async fn ingest_requests(
    http: &reqwest::Client,
    addr: std::net::SocketAddr,
    args: &BenchArgs,
) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let batches = args.ingest_events.div_ceil(1_000);
    let mut rng = StdRng::seed_from_u64(7);
    // Bodies are serialised before the clock starts: the figure is the
    // server's, not the benchmark client's JSON encoder.
    let mut work = Vec::new();
    for b in 0..batches {
        let id = format!("ingest-{}", uuid::Uuid::now_v7().simple());
        let start = Utc::now();
        let body = serde_json::to_vec(&batch_json(&mut rng, 1_000, 0, start))?;
        http.post(format!("http://{addr}/api/v1/executions"))
            .json(&json!({"execution_id": id, "graph_type": "bench-ingest", "start_time": start}))
            .send()
            .await?
            .error_for_status()?;
        work.push((b, id, body));
    }
    Ok(work
        .into_iter()
        .map(|(_, id, body)| (format!("http://{addr}/api/v1/executions/{id}/events"), body))
        .collect())
}

/// Posts `ingest_requests` from `args.producers` tasks: events per second,
/// and each batch's `Sent`.
pub(crate) async fn post_ingest(
    http: &reqwest::Client,
    args: &BenchArgs,
    requests: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<(f64, Vec<Sent>)> {
    let events = requests.len() as f64 * 1_000.0;
    let (secs, each) = post_concurrently(http, args.producers, "application/json", requests).await?;
    Ok((events / secs, each))
}

/// When a request was sent, and how long its answer took.
pub(crate) type Sent = (Instant, Duration);

/// Posts every `(url, body)` from `producers` concurrent tasks; returns the
/// seconds from the first request to the last answer, and each request's
/// `Sent`. Each answer must be a success (for the JSON API, with every
/// record of the batch accepted).
async fn post_concurrently(
    http: &reqwest::Client,
    producers: u32,
    content_type: &'static str,
    requests: Vec<(String, Vec<u8>)>,
) -> anyhow::Result<(f64, Vec<Sent>)> {
    let queue = std::sync::Arc::new(tokio::sync::Mutex::new(requests));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..producers {
        let queue = queue.clone();
        let http = http.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            loop {
                let Some((url, body)) = queue.lock().await.pop() else {
                    return anyhow::Ok(times);
                };
                let sent = Instant::now();
                let response = http
                    .post(url)
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await?;
                ensure!(
                    response.status().is_success(),
                    "ingest answered {}",
                    response.status()
                );
                if content_type == "application/json" {
                    let outcome: Value = response.json().await?;
                    ensure!(outcome["accepted"] == 1_000, "not all accepted: {outcome}");
                }
                times.push((sent, sent.elapsed()));
            }
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.context("producer task panicked")??);
    }
    Ok((started.elapsed().as_secs_f64(), times))
}

/// Posts `args.otlp_spans` spans as OTLP protobuf, 1,000 per request (one
/// pydantic-graph-shaped trace each), from concurrent producers; returns
/// spans per second from the first request to the last answer — each answer
/// comes once its spans are stored, so that is "until queryable".
async fn ingest_otlp(
    http: &reqwest::Client,
    addr: std::net::SocketAddr,
    args: &BenchArgs,
) -> anyhow::Result<f64> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message;
    const NODES: [&str; 4] = ["PlanNode", "SearchNode", "DraftNode", "ReviewNode"];
    let requests = args.otlp_spans.div_ceil(1_000);
    let t0 = u64::try_from(Utc::now().timestamp_nanos_opt().unwrap_or(0)).unwrap_or(0);
    let mut work = Vec::new();
    for _ in 0..requests {
        let trace_id = uuid::Uuid::now_v7().as_bytes().to_vec();
        let span = |i: u64, name: String, parent: Option<u64>, start_ms: u64, end_ms: u64| Span {
            trace_id: trace_id.clone(),
            span_id: (i + 1).to_be_bytes().to_vec(),
            parent_span_id: parent.map(|p| (p + 1).to_be_bytes().to_vec()).unwrap_or_default(),
            name,
            start_time_unix_nano: t0 + start_ms * 1_000_000,
            end_time_unix_nano: t0 + end_ms * 1_000_000,
            ..Default::default()
        };
        let mut spans: Vec<Span> = (1..1_000u64)
            .map(|i| {
                span(
                    i,
                    format!("run node {}", NODES[i as usize % NODES.len()]),
                    Some(0),
                    i * 10,
                    i * 10 + 7,
                )
            })
            .collect();
        spans.push(span(0, "run graph bench_otlp".into(), None, 0, 10_000));
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        work.push((format!("http://{addr}/v1/traces"), request.encode_to_vec()));
    }
    let (secs, _) = post_concurrently(http, args.producers, "application/x-protobuf", work).await?;
    Ok(f64::from(requests * 1_000) / secs)
}

/// Latency distribution of a measurement.
pub(crate) struct Percentiles {
    p50: Duration,
    p95: Duration,
    p99: Duration,
    mean: Duration,
    n: usize,
}

impl Percentiles {
    pub(crate) fn p99(&self) -> Duration {
        self.p99
    }

    pub(crate) fn of(mut times: Vec<Duration>) -> Self {
        if times.is_empty() {
            return Self {
                p50: Duration::ZERO,
                p95: Duration::ZERO,
                p99: Duration::ZERO,
                mean: Duration::ZERO,
                n: 0,
            };
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
        let mean = times.iter().sum::<Duration>() / times.len().max(1) as u32;
        Self {
            p50: at(0.50),
            p95: at(0.95),
            p99: at(0.99),
            mean,
            n: times.len(),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
        write!(
            f,
            "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, mean {:.2} ms (n={})",
            ms(self.p50),
            ms(self.p95),
            ms(self.p99),
            ms(self.mean),
            self.n
        )
    }
}
