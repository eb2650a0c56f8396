//! `tracevis demo`: a producer that posts realistic simulated graph runs
//! through the HTTP API (never the store directly), so the demo exercises the
//! same path real producers do.

mod graphs;
mod simulator;

use crate::service::TraceService;
use anyhow::{bail, Context};
use app::model::ExecutionFilter;
use app::protocol::TraceVisualization;
use chrono::{Duration as ChronoDuration, Utc};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use simulator::RunPlan;
use std::net::SocketAddr;
use std::time::Duration;
use tracing::{info, warn};

/// Options of `tracevis demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Base URL of the tracevis server.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// How many finished runs to post.
    #[arg(long, default_value_t = 24)]
    runs: u32,
    /// Minutes between the finished runs' starts (they end about now).
    #[arg(long, default_value_t = 9)]
    spacing_minutes: u32,
    /// After the finished runs, keep producing runs at a human pace, node by
    /// node, until interrupted.
    #[arg(long)]
    live: bool,
    /// Random seed (same seed, same runs).
    #[arg(long)]
    seed: Option<u64>,
    /// An `ingest` (or `admin`) token, for a server that requires sign-in.
    #[arg(long, env = "TRACEVIS_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// Runs the demo producer.
pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let client = Client::new(&args.url, args.token.as_deref());
    let mut rng = StdRng::seed_from_u64(args.seed.unwrap_or_else(rand::random));
    post_history(&client, &mut rng, args.runs, args.spacing_minutes).await?;
    if args.live {
        info!("producing live runs against {}; Ctrl-C to stop", args.url);
        loop {
            let plan = simulator::plan_run(&mut rng, Utc::now());
            play_live(&client, &plan).await?;
            tokio::time::sleep(Duration::from_millis(rng.random_range(1_000..4_000))).await;
        }
    }
    Ok(())
}

/// When the store holds no runs, posts demo runs to this server in the
/// background, so a newcomer's first start shows a populated dashboard;
/// `token` is the credential to post with when sign-in is required.
pub fn seed_if_empty(service: TraceService, addr: SocketAddr, token: Option<String>) {
    tokio::spawn(async move {
        let probe = ExecutionFilter {
            limit: 1,
            ..ExecutionFilter::default()
        };
        match service.list_executions(&probe).await {
            Ok(list) if list.total == 0 => {
                let client = Client::new(&format!("http://{addr}"), token.as_deref());
                let mut rng = StdRng::seed_from_u64(7);
                // A day and a half of history, so the metrics have a shape.
                match post_history(&client, &mut rng, SEED_RUNS, 25).await {
                    Ok(()) => info!("seeded the empty database with {SEED_RUNS} demo runs"),
                    Err(e) => warn!(error = %e, "could not seed demo runs"),
                }
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "could not check whether the database is empty"),
        }
    });
}

/// Demo runs `serve --seed-demo` posts into an empty database.
const SEED_RUNS: u32 = 90;

/// Posts `runs` finished runs that started `spacing` minutes apart (give or
/// take a few), the last one a few minutes ago.
async fn post_history(client: &Client, rng: &mut StdRng, runs: u32, spacing: u32) -> anyhow::Result<()> {
    let now = Utc::now();
    for i in 0..runs {
        let minutes_ago = i64::from(runs - i) * i64::from(spacing) + rng.random_range(0..5);
        let plan = simulator::plan_run(rng, now - ChronoDuration::minutes(minutes_ago));
        client.post(&plan.start_path(), &plan.start).await?;
        let batch = plan.batch_of_all_steps();
        client.post(&plan.events_path(), &batch).await?;
        client.post(&plan.complete_path(), &plan.completion).await?;
    }
    Ok(())
}

/// Posts one run step by step, sleeping as long as each step took.
async fn play_live(client: &Client, plan: &RunPlan) -> anyhow::Result<()> {
    client.post(&plan.start_path(), &plan.start).await?;
    let started = tokio::time::Instant::now();
    for step in &plan.steps {
        tokio::time::sleep_until(started + step.offset).await;
        client.post(&plan.events_path(), &step.batch()).await?;
    }
    tokio::time::sleep_until(started + plan.duration).await;
    client.post(&plan.complete_path(), &plan.completion).await?;
    info!(execution.id = %plan.execution_id, "live run {} finished", plan.execution_id);
    Ok(())
}

/// A minimal JSON client for the tracevis API.
struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    fn new(base: &str, token: Option<&str>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.post(&url).json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{url} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}
