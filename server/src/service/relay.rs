//! Across instances on PostgreSQL: every write that live subscribers care
//! about sends a `NOTIFY` in its own transaction (so it is delivered if and
//! only if the write committed, in commit order); each instance `LISTEN`s
//! and republishes what other instances stored to its own subscribers,
//! reading the records from the database. No broker besides PostgreSQL.

use crate::service::TraceService;
use crate::store::{CHANNEL, INSTANCE_ID};
use sqlx::postgres::PgListener;
use std::time::Duration;
use tracing::{info, warn};

/// Listens for other instances' writes on `url` and relays them, reconnecting
/// whenever the connection drops, until the task is aborted.
pub fn spawn_relay(url: String, service: TraceService) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = listen(&url, &service).await {
                warn!(error = %e, "live relay lost its PostgreSQL connection; reconnecting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

async fn listen(url: &str, service: &TraceService) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(url).await?;
    listener.listen(CHANNEL).await?;
    // Whatever other instances stored before this LISTEN (at start, or
    // while the connection was down) was never heard here: every
    // subscriber on this instance catches up from the store.
    let told = service.resync_subscribers();
    info!("live relay listening on PostgreSQL channel {CHANNEL}; {told} subscribers told to resync");
    loop {
        // `try_recv`, not `recv`: `recv` reconnects silently and loses the
        // notifications sent meanwhile; `None` says the connection dropped.
        let Some(notification) = listener.try_recv().await? else {
            warn!("live relay's PostgreSQL connection dropped; reconnecting");
            return Ok(());
        };
        let mut parts = notification.payload().split(' ');
        let (Some(instance), Some(kind), Some(id), Some(first), Some(last)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            continue;
        };
        if instance == INSTANCE_ID.as_str() {
            continue;
        }
        let (Ok(first), Ok(last)) = (first.parse::<i64>(), last.parse::<i64>()) else {
            continue;
        };
        service.relay(kind == "status", id, first, last).await;
    }
}
