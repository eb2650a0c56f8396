//! The retention task: periodically deletes runs older than the configured
//! age, in bounded chunks (see `TraceService::delete_started_before`).

use crate::service::TraceService;
use chrono::Utc;
use std::time::Duration;
use tracing::{info, warn};

/// Runs deleted per transaction: small enough that a chunk holds the SQLite
/// writer lock for milliseconds, not seconds.
pub const CHUNK_RUNS: u32 = 200;

/// Starts deleting runs older than `max_age` every `every`, until the
/// returned task is aborted.
pub fn spawn(service: TraceService, max_age: Duration, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let Ok(age) = chrono::Duration::from_std(max_age) else {
                warn!("retention age {max_age:?} is out of range; retention is off");
                return;
            };
            let cutoff = Utc::now() - age;
            match service.delete_started_before(cutoff, CHUNK_RUNS).await {
                Ok(0) => {}
                Ok(n) => info!("retention deleted {n} runs that started before {cutoff}"),
                Err(e) => warn!(error = %e, "retention pass failed; retrying at the next interval"),
            }
        }
    })
}
