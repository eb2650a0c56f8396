//! The history-scale part of `tracevis bench` (#16): fills a database with
//! many small finished runs through the store's bulk path, and times the
//! run list's pages by cursor for every filter and sort the list page
//! offers.
//!
//! The fill is the fastest honest path we have for each backend. On SQLite:
//! `HistoryStore::store_whole_runs`, many finished runs per transaction,
//! each planned as the producers' path plans it (its events, totals,
//! parallel figures and search documents), the run aggregates kept by the
//! store's own triggers and the node type aggregates added per hour — the
//! same rows a run sent through the API leaves, which `tracevis check`
//! recounts. On PostgreSQL: the same plans written by COPY with the
//! secondary indexes and the run trigger off, the run aggregates recounted
//! and the indexes built once at the end (`store::BulkLoad`).

use crate::bench::{batch_json, ingest, ingest_requests, post_ingest, BenchArgs, Percentiles, Sent};
use crate::retention::CHUNK_RUNS;
use crate::service::{TraceService, RETENTION_REST};
use anyhow::{ensure, Context};
use app::error::TraceError;
use app::model::{Completion, EventBatch, ExecutionFilter, NewExecution, RecordId};
use app::store::{HistoryStore, WholeRun};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The graph type of the small runs.
pub const STATS_GRAPH_TYPE: &str = "bench-stats";
/// A graph type with a single run, beside millions of the other.
pub const RARE_GRAPH_TYPE: &str = "bench-rare";
/// Node events per small run (five node visits).
pub const EVENTS_PER_SMALL_RUN: u32 = 10;
/// Runs per transaction of the fill.
const RUNS_PER_TRANSACTION: usize = 500;
/// On PostgreSQL, the fill loads by COPY when it adds at least a tenth of
/// the runs already stored.
const COPY_AT_LEAST: u64 = 10;
/// Tasks filling side by side. Each fills whole weeks of its own, so no two
/// transactions share an hour's, day's or week's sums (on PostgreSQL they
/// would wait on each other's rows, or deadlock).
const WORKERS: u64 = 4;
/// Hours in the weeks the fill hands out: the store's week sums' period.
const WEEK_HOURS: i64 = crate::store::aggregate_levels::Level::Week.hours();

/// Stores small finished runs (five node visits, ten events) until `count`
/// of `STATS_GRAPH_TYPE` exist, started over the last `days` days, plus
/// one run of `RARE_GRAPH_TYPE`, into `store` at `database_url`; prints how
/// fast.
pub async fn fill_small_runs(
    store: &Arc<dyn HistoryStore>,
    database_url: &str,
    count: u32,
    days: u32,
) -> anyhow::Result<()> {
    let existing = |graph_type: &str| {
        let filter = ExecutionFilter {
            graph_type: Some(graph_type.into()),
            limit: 1,
            ..ExecutionFilter::default()
        };
        let store = store.clone();
        async move { anyhow::Ok(store.list_executions(&filter).await?.total) }
    };
    let now = Utc::now();
    if existing(RARE_GRAPH_TYPE).await? == 0 {
        let mut rng = StdRng::seed_from_u64(7);
        let run = SmallRun::new(&mut rng, RARE_GRAPH_TYPE, now - ChronoDuration::hours(5))?;
        store.store_whole_runs(&[run.whole()]).await?;
    }
    let stored_already = u64::try_from(existing(STATS_GRAPH_TYPE).await?)?;
    let missing = u64::from(count).saturating_sub(stored_already);
    if missing == 0 {
        return Ok(());
    }
    let weeks = week_shares(now, days, missing);
    // A load builds every index again over all the runs: worth it for
    // many runs, not for topping up what retention took from a full
    // database (the bench run again after `--retention-day`).
    let writer =
        if database_url.starts_with("postgres") && missing.saturating_mul(COPY_AT_LEAST) >= stored_already {
            Writer::Copy(Arc::new(
                crate::store::BulkLoad::begin(database_url, WORKERS as u32).await?,
            ))
        } else {
            Writer::Store(store.clone())
        };
    let stored = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let mine: Vec<(DateTime<Utc>, i64, u64)> = weeks
            .iter()
            .enumerate()
            .filter(|(i, _)| *i as u64 % WORKERS == worker)
            .map(|(_, week)| *week)
            .collect();
        let (writer, stored) = (writer.clone(), stored.clone());
        tasks.spawn(async move {
            let mut rng = StdRng::seed_from_u64(worker);
            for (from, seconds, runs) in mine {
                // In order of start, as runs arrive: a transaction's runs
                // then share a few hours' aggregate rows.
                let mut starts: Vec<i64> = (0..runs).map(|_| rng.random_range(0..seconds.max(1))).collect();
                starts.sort_unstable();
                for chunk in starts.chunks(RUNS_PER_TRANSACTION) {
                    let chunk = chunk
                        .iter()
                        .map(|s| {
                            SmallRun::new(&mut rng, STATS_GRAPH_TYPE, from + ChronoDuration::seconds(*s))
                        })
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    let runs: Vec<WholeRun<'_>> = chunk.iter().map(SmallRun::whole).collect();
                    writer.store_whole_runs(&runs).await?;
                    stored.fetch_add(runs.len() as u64, Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        });
    }
    // Progress for long fills (ten million runs take a while); the first
    // failure stops the other tasks (dropping the set aborts them).
    let mut progress = tokio::time::interval(Duration::from_secs(60));
    progress.tick().await;
    loop {
        tokio::select! {
            done = tasks.join_next() => match done {
                Some(result) => result.context("fill task panicked")??,
                None => break,
            },
            _ = progress.tick() => {
                let done = stored.load(Ordering::Relaxed);
                println!(
                    "  … {done} of {missing} small runs stored ({:.0} runs/s)",
                    done as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
    }
    let loaded = started.elapsed().as_secs_f64();
    let how = match writer {
        Writer::Store(_) => "store_whole_runs",
        Writer::Copy(load) => {
            let load = Arc::into_inner(load).context("a fill task still holds the load")?;
            for (step, took) in load.finish().await? {
                println!("  … {step} in {:.1} s", took.as_secs_f64());
            }
            "COPY with secondary indexes and the run trigger off, then recounted, indexed and vacuumed"
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "stored {missing} small runs ({} events each) in {seconds:.1} s ({loaded:.1} s writing rows): \
         {:.0} runs/s, {:.0} events/s ({RUNS_PER_TRANSACTION} finished runs per transaction, {how}, \
         {WORKERS} tasks)",
        EVENTS_PER_SMALL_RUN,
        missing as f64 / seconds,
        (missing * u64::from(EVENTS_PER_SMALL_RUN)) as f64 / seconds
    );
    Ok(())
}

/// Where the fill's runs go: through the store, or loaded by COPY.
#[derive(Clone)]
enum Writer {
    Store(Arc<dyn HistoryStore>),
    Copy(Arc<crate::store::BulkLoad>),
}

impl Writer {
    async fn store_whole_runs(&self, runs: &[WholeRun<'_>]) -> Result<(), TraceError> {
        match self {
            Writer::Store(store) => store.store_whole_runs(runs).await,
            Writer::Copy(load) => load.store_whole_runs(runs).await,
        }
    }
}

/// The weeks (of the store's week sums) overlapping the last `days` days
/// before `now`: each as (first instant, seconds in the window, runs),
/// `runs` spread over them by length.
fn week_shares(now: DateTime<Utc>, days: u32, runs: u64) -> Vec<(DateTime<Utc>, i64, u64)> {
    let from = now - ChronoDuration::days(i64::from(days.max(1)));
    let window = (now - from).num_seconds().max(1);
    let week_of = |t: DateTime<Utc>| t.timestamp().div_euclid(3_600).div_euclid(WEEK_HOURS);
    let mut weeks = Vec::new();
    let mut given = 0u64;
    let mut covered = 0i64;
    for week in week_of(from)..=week_of(now) {
        let week_start = DateTime::<Utc>::from_timestamp(week * WEEK_HOURS * 3_600, 0).unwrap_or(from);
        let start = week_start.max(from);
        let end = (week_start + ChronoDuration::hours(WEEK_HOURS)).min(now);
        let seconds = (end - start).num_seconds();
        if seconds <= 0 {
            continue;
        }
        covered += seconds;
        // Cumulative rounding: the shares add up to `runs` exactly.
        let due = (u128::from(runs) * covered as u128 / window as u128) as u64;
        weeks.push((start, seconds, due - given));
        given = due;
    }
    // Whole seconds per week may fall short of the window by a fraction of
    // one: the last week takes what rounding left.
    if let Some(last) = weeks.last_mut() {
        last.2 += runs - given;
    }
    weeks
}

/// One small finished run, owned, for a `WholeRun` to borrow.
struct SmallRun {
    id: RecordId,
    new: NewExecution,
    request: String,
    batch: EventBatch,
    completion: Completion,
}

impl SmallRun {
    fn new(rng: &mut StdRng, graph_type: &str, start: DateTime<Utc>) -> anyhow::Result<Self> {
        let id = format!("stats-{}", uuid::Uuid::now_v7().simple());
        let new: NewExecution = serde_json::from_value(json!({
            "execution_id": id, "graph_type": graph_type, "start_time": start,
        }))?;
        let completion = serde_json::from_value(json!({
            "status": if rng.random_bool(0.1) { "failed" } else { "completed" },
            "end_time": start + ChronoDuration::milliseconds(rng.random_range(100..30_000)),
        }))?;
        Ok(Self {
            request: serde_json::to_string(&new)?,
            id: RecordId::parse(id).map_err(anyhow::Error::msg)?,
            new,
            batch: serde_json::from_value(batch_json(rng, EVENTS_PER_SMALL_RUN, 0, start))?,
            completion,
        })
    }

    fn whole(&self) -> WholeRun<'_> {
        WholeRun {
            id: &self.id,
            new: &self.new,
            request: &self.request,
            batch: &self.batch,
            completion: &self.completion,
        }
    }
}

/// Pages walked per list by cursor.
const LIST_DEPTH: usize = 20;
/// Runs per page of the walk.
const LIST_PAGE: u32 = 50;

/// Times the run list over HTTP for every sort and every combination of
/// the filters the list page offers (graph type, status, a start window),
/// walking `LIST_DEPTH` pages by cursor three times: one line each.
pub async fn time_list_pages(http: &reqwest::Client, addr: SocketAddr) -> anyhow::Result<()> {
    let month_ago =
        (Utc::now() - ChronoDuration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let month = format!("start_time={}", crate::bench::urlencode(&month_ago));
    let graph_type = format!("graph_type={STATS_GRAPH_TYPE}");
    let mut worst = Duration::ZERO;
    for sort in ["start_time", "duration"] {
        for mask in 0..8u8 {
            let mut filters = Vec::new();
            if mask & 1 != 0 {
                filters.push(graph_type.as_str());
            }
            if mask & 2 != 0 {
                filters.push("status=failed");
            }
            if mask & 4 != 0 {
                filters.push(month.as_str());
            }
            let base = format!(
                "http://{addr}/api/v1/executions?fields=list&limit={LIST_PAGE}&sort={sort}{}{}",
                if filters.is_empty() { "" } else { "&" },
                filters.join("&")
            );
            let mut times = Vec::new();
            let mut pages = 0;
            for _ in 0..3 {
                let mut cursor: Option<String> = None;
                for _ in 0..LIST_DEPTH {
                    let url = match &cursor {
                        Some(c) => format!("{base}&cursor={}", crate::bench::urlencode(c)),
                        None => base.clone(),
                    };
                    let began = Instant::now();
                    let response = http.get(url).send().await?;
                    ensure!(
                        response.status().is_success(),
                        "{base}: status {}",
                        response.status()
                    );
                    let page: Value = response.json().await?;
                    times.push(began.elapsed());
                    pages += 1;
                    cursor = page["next_cursor"].as_str().map(str::to_owned);
                    if cursor.is_none() {
                        break;
                    }
                }
            }
            let label = if filters.is_empty() {
                "no filter".to_owned()
            } else {
                filters
                    .iter()
                    .map(|f| {
                        if f.starts_with("start_time") {
                            "start_time=30 days ago"
                        } else {
                            f
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" + ")
            };
            let figures = Percentiles::of(times);
            worst = worst.max(figures.p99());
            println!(
                "GET /api/v1/executions sort={sort}, {label}: {pages} pages of {LIST_PAGE} by cursor: {figures}"
            );
        }
    }
    println!(
        "run list, every filter combination and sort, pages 1–{LIST_DEPTH} by cursor: worst p99 {:.2} ms",
        worst.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Times what retention costs ingest (#16): producers post batches through
/// HTTP (`--ingest-events`, as the ingest figure) once alone, then again
/// while the retention task's deletion removes the runs started more than
/// `--stats-days` − 1 days ago (the small runs' oldest day) in its chunks of
/// `retention::CHUNK_RUNS`. Prints how fast the day went, and the batches
/// alone against those whose request overlapped the deletion. Needs
/// `--stats-days` of at least 9: the bench's other runs (search, baseline)
/// start within the last eight days and must stay.
pub async fn time_retention(
    service: &TraceService,
    http: &reqwest::Client,
    addr: SocketAddr,
    args: &BenchArgs,
) -> anyhow::Result<()> {
    ensure!(
        args.stats_days >= 9,
        "--retention-day needs --stats-days of at least 9 (the bench's other runs are from the last 8 days)"
    );
    let (alone, alone_batches) = ingest(http, addr, args).await?;
    // The batches are made (their runs started, their bodies encoded)
    // before the deletion starts, so it overlaps the posting only.
    let requests = ingest_requests(http, addr, args).await?;
    let cutoff = Utc::now() - ChronoDuration::days(i64::from(args.stats_days) - 1);
    let deleting = tokio::spawn({
        let service = service.clone();
        async move {
            let started = Instant::now();
            let deleted = service.delete_started_before(cutoff, CHUNK_RUNS).await?;
            anyhow::Ok((deleted, started, Instant::now()))
        }
    });
    let (during, batches) = post_ingest(http, args, requests).await?;
    let (deleted, began, ended) = deleting.await.context("the retention task panicked")??;
    let secs = (ended - began).as_secs_f64();
    let overlapping: Vec<Duration> = batches
        .iter()
        .filter(|(sent, took)| *sent < ended && *sent + *took > began)
        .map(|(_, took)| *took)
        .collect();
    println!(
        "retention: the {deleted} runs started over {} days ago (the small runs' oldest day) deleted in \
         {secs:.2} s ({:.0} runs/s, chunks of {CHUNK_RUNS}, each followed by a rest {RETENTION_REST} times \
         as long) while producers posted",
        args.stats_days - 1,
        deleted as f64 / secs.max(f64::EPSILON)
    );
    let times = |batches: &[Sent]| Percentiles::of(batches.iter().map(|b| b.1).collect());
    println!(
        "ingest through HTTP, batches of 1,000, alone: {alone:.0} events/s, each batch {}",
        times(&alone_batches)
    );
    println!(
        "ingest through HTTP, batches of 1,000, with that retention: {during:.0} events/s; the batches \
         overlapping the deletion: {}",
        Percentiles::of(overlapping)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn week_shares_cover_the_window_and_hand_out_every_run() {
        // A fraction of a second past the whole second, as `Utc::now()` is.
        let fraction = DateTime::<Utc>::from_timestamp(1_800_000_000, 600_000_000).unwrap();
        let spread = week_shares(fraction, 30, 1_000_003);
        assert_eq!(spread.iter().map(|w| w.2).sum::<u64>(), 1_000_003);
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let weeks = week_shares(now, 30, 1_000_003);
        assert_eq!(weeks.iter().map(|w| w.2).sum::<u64>(), 1_000_003);
        assert_eq!(weeks.iter().map(|w| w.1).sum::<i64>(), 30 * 86_400);
        assert_eq!(weeks[0].0, now - ChronoDuration::days(30));
        // Whole weeks inside the window start on a week boundary and get
        // a week's share.
        let inner = weeks[1];
        assert_eq!(inner.0.timestamp() % (WEEK_HOURS * 3_600), 0);
        assert_eq!(inner.1, WEEK_HOURS * 3_600);
        assert!(inner.2.abs_diff(1_000_003 * 7 / 30) <= 1);
    }
}
