//! One run's live stream: the backlog from the store joined to live frames
//! from the hub, each `seq` exactly once and in order.
//!
//! The hub subscription is taken *before* the backlog is read, so a record
//! committed at any moment is in the backlog, in the live frames, or both;
//! seen `seq`s are skipped. Frames can arrive out of order (two batches of a
//! run published by different tasks, or relayed from another instance), so
//! they wait in a small buffer until the `seq` before them has been sent; a
//! gap that does not fill within `GAP_WAIT` is read from the store.
//!
//! The store is read a page of `BACKLOG_PAGE` records at a time, each page
//! sent before the next is read, so a subscriber to a long run holds one
//! page, not the run: a thousand subscribers joining a 100,000-event run
//! cost a thousand pages of memory.

use super::hub::{HubReceiver, LiveHub};
use app::error::TraceError;
use app::live::{LiveEnvelope, LiveFrame, LiveSubscription};
use app::model::ExecutionTrace;
use app::store::HistoryStore;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long a missing `seq` may be outstanding before the store is asked.
const GAP_WAIT: Duration = Duration::from_millis(250);
/// Frames between the joiner and the socket writer.
const OUT_CAPACITY: usize = 256;
/// Records read from the store at a time (see the module documentation).
pub const BACKLOG_PAGE: i64 = 1_000;

/// Where a run's stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// With the run's final status (API.md).
    AtFinalStatus,
    /// Never: records stored after the run finished (OpenTelemetry spans
    /// that arrive after the run span) follow too. The run page asks for
    /// this, so what it shows stays what a reload shows.
    AfterLateRecords,
}

/// Subscribes to run `id` from just after `after_seq`. Fails with `NotFound`
/// for an unknown run, before anything is streamed.
pub async fn subscribe(
    store: Arc<dyn HistoryStore>,
    hub: &Arc<LiveHub>,
    id: &str,
    after_seq: i64,
    end: StreamEnd,
) -> Result<LiveSubscription, TraceError> {
    let live = hub.subscribe_execution(id);
    // The first page here: an unknown run is an error before the upgrade.
    let until = after_seq.max(0).saturating_add(BACKLOG_PAGE);
    let backlog = store.load_trace_range(id, after_seq, until).await?;
    let (out, subscription) = mpsc::channel(OUT_CAPACITY);
    let joiner = Joiner {
        store,
        id: id.to_owned(),
        next: after_seq.max(0) + 1,
        pending: BTreeMap::new(),
        held_status: None,
        gap_deadline: None,
        end,
        out,
    };
    tokio::spawn(joiner.run(backlog, until, live));
    Ok(subscription)
}

struct Joiner {
    store: Arc<dyn HistoryStore>,
    id: String,
    /// The next `seq` to send.
    next: i64,
    /// Records received ahead of `next`.
    pending: BTreeMap<i64, Arc<LiveEnvelope>>,
    /// The newest status, sent once every record up to its `last_seq` is.
    held_status: Option<Arc<LiveEnvelope>>,
    /// When to stop waiting for a missing `seq` and read the store.
    gap_deadline: Option<Instant>,
    /// Whether the final status ends the stream.
    end: StreamEnd,
    out: mpsc::Sender<Arc<LiveEnvelope>>,
}

impl Joiner {
    async fn run(mut self, first_page: ExecutionTrace, until: i64, mut live: HubReceiver) {
        let more = first_page.summary.last_seq > until;
        self.absorb(first_page);
        if !self.flush().await {
            return;
        }
        if more {
            match self.catch_up().await {
                Ok(true) => {}
                Ok(false) | Err(TraceError::NotFound(_)) => return,
                // The database may be away; the gap wait tries again.
                Err(_) => self.gap_deadline = Some(Instant::now() + GAP_WAIT),
            }
        }
        loop {
            let deadline = self.gap_deadline;
            tokio::select! {
                frame = live.recv() => match frame {
                    None => return,
                    Some(envelope) => match &envelope.frame {
                        LiveFrame::Resync => {
                            let _ = self.out.send(envelope).await;
                            return;
                        }
                        LiveFrame::Status { .. } => self.hold_status(envelope),
                        _ => self.hold_record(envelope),
                    },
                },
                () = sleep_until_deadline(deadline), if deadline.is_some() => {
                    // Cleared first, so the next wait starts from now.
                    self.gap_deadline = None;
                    match self.catch_up().await {
                        Ok(true) => {}
                        Ok(false) | Err(TraceError::NotFound(_)) => return,
                        // The database may be away; try again after the next wait.
                        Err(_) => self.gap_deadline = Some(Instant::now() + GAP_WAIT),
                    }
                }
            }
            if !self.flush().await {
                return;
            }
        }
    }

    /// Reads the store from `next` on, a page at a time, sending each page
    /// before reading the next; `Ok(false)` when the stream is over.
    async fn catch_up(&mut self) -> Result<bool, TraceError> {
        loop {
            let from = self.next - 1;
            let until = from.saturating_add(BACKLOG_PAGE);
            let page = self.store.load_trace_range(&self.id, from, until).await?;
            let more = page.summary.last_seq > until;
            self.absorb(page);
            if !self.flush().await {
                return Ok(false);
            }
            // Stop when caught up, or when the page did not move the stream
            // on (a missing `seq` is then waited for, not spun on).
            if !more || self.next - 1 <= from {
                return Ok(true);
            }
        }
    }

    fn absorb(&mut self, trace: ExecutionTrace) {
        for event in trace.node_events {
            self.hold_record(LiveEnvelope::new(LiveFrame::Event { event }));
        }
        for snapshot in trace.state_snapshots {
            self.hold_record(LiveEnvelope::new(LiveFrame::Snapshot { snapshot }));
        }
        self.hold_status(LiveEnvelope::new(LiveFrame::Status {
            execution: trace.summary,
        }));
    }

    fn hold_record(&mut self, envelope: Arc<LiveEnvelope>) {
        if let Some(seq) = envelope.frame.seq() {
            if seq >= self.next {
                self.pending.entry(seq).or_insert(envelope);
            }
        }
    }

    /// Keeps the newest status; a final one is never replaced.
    fn hold_status(&mut self, envelope: Arc<LiveEnvelope>) {
        let held_is_final = self
            .held_status
            .as_ref()
            .is_some_and(|s| s.frame.is_final_status());
        let held_last_seq = self.held_status.as_ref().map_or(-1, |s| status_last_seq(s));
        if !held_is_final && (envelope.frame.is_final_status() || status_last_seq(&envelope) >= held_last_seq)
        {
            self.held_status = Some(envelope);
        }
    }

    /// Sends what is ready; `false` when the stream is over (final status
    /// sent, or nobody is listening).
    async fn flush(&mut self) -> bool {
        while let Some(envelope) = self.pending.remove(&self.next) {
            if self.out.send(envelope).await.is_err() {
                return false;
            }
            self.next += 1;
        }
        if let Some(status) = self.held_status.take_if(|s| status_last_seq(s) < self.next) {
            let ends = status.frame.is_final_status() && self.end == StreamEnd::AtFinalStatus;
            if self.out.send(status).await.is_err() || ends {
                return false;
            }
        }
        let waiting = !self.pending.is_empty() || self.held_status.is_some();
        self.gap_deadline = match (waiting, self.gap_deadline) {
            (false, _) => None,
            (true, Some(deadline)) => Some(deadline),
            (true, None) => Some(Instant::now() + GAP_WAIT),
        };
        true
    }
}

fn status_last_seq(envelope: &LiveEnvelope) -> i64 {
    match &envelope.frame {
        LiveFrame::Status { execution } => execution.last_seq,
        _ => -1,
    }
}

async fn sleep_until_deadline(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
