//! `LiveHub`: one per process. Publishers hand it frames right after the
//! store acknowledged them; it offers each to every subscriber's bounded
//! queue without ever waiting. A subscriber whose queue is full is dropped
//! and told to resync, so one slow reader never slows the others.

use app::live::{LiveEnvelope, LiveFrame};
use app::model::{ExecutionSummary, NodeEvent, StateSnapshot};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Frames a subscriber may have queued before it counts as fallen behind.
pub const QUEUE_CAPACITY: usize = 16_384;

/// Bytes of frames (their JSON, which the socket sends) a subscriber may
/// have queued before it counts as fallen behind. Frames are shared between
/// subscribers, but a slow one keeps alive every frame it has not read:
/// without this, 16,384 frames of megabyte payloads would pin gigabytes for
/// one stalled reader. A frame larger than this still goes to a subscriber
/// whose queue is empty, so a run of huge records is never unfollowable.
pub const QUEUE_BYTES: usize = 32 * 1024 * 1024;

/// Who a subscription listens to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Topic {
    Execution(String),
    /// Status changes of every run (the live run list).
    Runs,
}

struct Subscriber {
    id: u64,
    queue: mpsc::Sender<Arc<LiveEnvelope>>,
    /// Bytes of the frames in `queue` (shared with the receiver).
    queued_bytes: Arc<AtomicUsize>,
    lagged: Arc<AtomicBool>,
}

/// Fans frames out to subscribers; cheap to share (`Arc`).
#[derive(Default)]
pub struct LiveHub {
    topics: Mutex<HashMap<Topic, Vec<Subscriber>>>,
    next_id: AtomicU64,
}

/// The receiving end of a hub subscription; unsubscribes when dropped.
pub struct HubReceiver {
    hub: Arc<LiveHub>,
    topic: Topic,
    id: u64,
    queue: mpsc::Receiver<Arc<LiveEnvelope>>,
    queued_bytes: Arc<AtomicUsize>,
    lagged: Arc<AtomicBool>,
    told_to_resync: bool,
}

impl HubReceiver {
    /// The next frame; after the hub dropped this subscriber for falling
    /// behind, one `Resync` frame, then `None`.
    pub async fn recv(&mut self) -> Option<Arc<LiveEnvelope>> {
        match self.queue.recv().await {
            Some(frame) => Some(self.taken(frame)),
            None if self.lagged.load(Ordering::SeqCst) && !self.told_to_resync => {
                self.told_to_resync = true;
                Some(LiveEnvelope::new(LiveFrame::Resync))
            }
            None => None,
        }
    }
}

impl HubReceiver {
    /// A frame that is already queued, without waiting (`None` also when the
    /// queue is closed: `recv` then reports the resync).
    pub fn try_recv(&mut self) -> Option<Arc<LiveEnvelope>> {
        self.queue.try_recv().ok().map(|frame| self.taken(frame))
    }

    /// A frame leaves the queue: its bytes no longer count.
    fn taken(&self, frame: Arc<LiveEnvelope>) -> Arc<LiveEnvelope> {
        self.queued_bytes.fetch_sub(frame.json().len(), Ordering::SeqCst);
        frame
    }
}

impl Drop for HubReceiver {
    fn drop(&mut self) {
        self.hub.remove(&self.topic, self.id);
    }
}

impl LiveHub {
    /// A new hub with no subscribers.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Subscribes to one run's records and status changes.
    pub fn subscribe_execution(self: &Arc<Self>, execution_id: &str) -> HubReceiver {
        self.subscribe(Topic::Execution(execution_id.to_owned()))
    }

    /// Subscribes to the status changes of every run.
    pub fn subscribe_runs(self: &Arc<Self>) -> HubReceiver {
        self.subscribe(Topic::Runs)
    }

    /// Whether anyone here listens to `execution_id` (or to all runs).
    pub fn has_subscribers(&self, execution_id: &str) -> bool {
        let topics = self.topics.lock().expect("hub lock");
        topics.contains_key(&Topic::Execution(execution_id.to_owned()))
    }

    /// How many subscriptions are open (all topics).
    pub fn subscriber_count(&self) -> usize {
        self.topics.lock().expect("hub lock").values().map(Vec::len).sum()
    }

    /// Publishes newly stored records of a run, in `seq` order.
    pub fn publish_records(&self, execution_id: &str, events: &[NodeEvent], snapshots: &[StateSnapshot]) {
        let topic = Topic::Execution(execution_id.to_owned());
        if !self.topics.lock().expect("hub lock").contains_key(&topic) {
            return;
        }
        let mut frames: Vec<Arc<LiveEnvelope>> = events
            .iter()
            .map(|e| LiveEnvelope::new(LiveFrame::Event { event: e.clone() }))
            .chain(
                snapshots
                    .iter()
                    .map(|s| LiveEnvelope::new(LiveFrame::Snapshot { snapshot: s.clone() })),
            )
            .collect();
        frames.sort_by_key(|f| f.frame.seq());
        self.offer(&topic, &frames);
    }

    /// Publishes a run's new status to its subscribers and to the run list.
    pub fn publish_status(&self, summary: &ExecutionSummary) {
        let frame = [LiveEnvelope::new(LiveFrame::Status {
            execution: summary.clone(),
        })];
        self.offer(&Topic::Execution(summary.execution_id.clone()), &frame);
        // The run list shows no payloads: its frames carry none (made only
        // when someone follows the list).
        if self.topics.lock().expect("hub lock").contains_key(&Topic::Runs) {
            let row = [LiveEnvelope::new(LiveFrame::Status {
                execution: summary.without_payloads(),
            })];
            self.offer(&Topic::Runs, &row);
        }
    }

    fn subscribe(self: &Arc<Self>, topic: Topic) -> HubReceiver {
        let (queue_tx, queue_rx) = mpsc::channel(QUEUE_CAPACITY);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let lagged = Arc::new(AtomicBool::new(false));
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        self.topics
            .lock()
            .expect("hub lock")
            .entry(topic.clone())
            .or_default()
            .push(Subscriber {
                id,
                queue: queue_tx,
                queued_bytes: queued_bytes.clone(),
                lagged: lagged.clone(),
            });
        HubReceiver {
            hub: self.clone(),
            topic,
            id,
            queue: queue_rx,
            queued_bytes,
            lagged,
            told_to_resync: false,
        }
    }

    /// Offers frames to every subscriber of `topic` without waiting; drops
    /// subscribers that are gone or whose queue is full (`QUEUE_CAPACITY`
    /// frames, or `QUEUE_BYTES`).
    fn offer(&self, topic: &Topic, frames: &[Arc<LiveEnvelope>]) {
        // Nobody listening (most runs, most of the time): no JSON to make.
        if !self.topics.lock().expect("hub lock").contains_key(topic) {
            return;
        }
        // Each frame's JSON is made once here (outside the lock), for every
        // subscriber's accounting and for the sockets that send it.
        let sizes: Vec<usize> = frames.iter().map(|f| f.json().len()).collect();
        let mut topics = self.topics.lock().expect("hub lock");
        let Some(subscribers) = topics.get_mut(topic) else {
            return;
        };
        subscribers.retain(|s| {
            for (frame, &size) in frames.iter().zip(&sizes) {
                // Counted before it is sent, so the receiver never takes
                // away bytes that were not added.
                let before = s.queued_bytes.fetch_add(size, Ordering::SeqCst);
                let over_budget = before > 0 && before.saturating_add(size) > QUEUE_BYTES;
                let sent = if over_budget {
                    Err(mpsc::error::TrySendError::Full(()))
                } else {
                    s.queue.try_send(frame.clone()).map_err(|e| match e {
                        mpsc::error::TrySendError::Full(_) => mpsc::error::TrySendError::Full(()),
                        mpsc::error::TrySendError::Closed(_) => mpsc::error::TrySendError::Closed(()),
                    })
                };
                match sent {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(())) => {
                        s.queued_bytes.fetch_sub(size, Ordering::SeqCst);
                        s.lagged.store(true, Ordering::SeqCst);
                        return false;
                    }
                    Err(mpsc::error::TrySendError::Closed(())) => return false,
                }
            }
            true
        });
        if subscribers.is_empty() {
            topics.remove(topic);
        }
    }

    /// Tells every subscriber to resync from its last `seq` (and drops it):
    /// what this hub was told may have a gap, e.g. after the cross-instance
    /// relay lost its connection. Subscribers catch up from the store.
    pub fn resync_all(&self) -> usize {
        let mut topics = self.topics.lock().expect("hub lock");
        let mut told = 0;
        for subscriber in topics.drain().flat_map(|(_, subscribers)| subscribers) {
            subscriber.lagged.store(true, Ordering::SeqCst);
            told += 1;
        }
        told
    }

    fn remove(&self, topic: &Topic, id: u64) {
        let mut topics = self.topics.lock().expect("hub lock");
        if let Some(subscribers) = topics.get_mut(topic) {
            subscribers.retain(|s| s.id != id);
            if subscribers.is_empty() {
                topics.remove(topic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn event(seq: i64) -> NodeEvent {
        NodeEvent {
            event_id: format!("e{seq}"),
            execution_id: "r".into(),
            seq,
            node_id: "N".into(),
            event_type: app::model::NodeEventType::Started,
            timestamp: Utc::now(),
            duration_ms: None,
            inputs: Default::default(),
            outputs: Default::default(),
            error: None,
            metadata: Default::default(),
            parents: Vec::new(),
            parent_seqs: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_subscriber_receives_what_is_published_for_its_run_only() {
        let hub = LiveHub::new();
        let mut mine = hub.subscribe_execution("r");
        let mut other = hub.subscribe_execution("other");
        hub.publish_records("r", &[event(1), event(2)], &[]);
        assert_eq!(mine.recv().await.unwrap().frame.seq(), Some(1));
        assert_eq!(mine.recv().await.unwrap().frame.seq(), Some(2));
        assert!(other.queue.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_full_queue_gets_its_subscriber_dropped_and_told_to_resync_without_blocking_others() {
        let hub = LiveHub::new();
        let mut slow = hub.subscribe_execution("r");
        let mut fast = hub.subscribe_execution("r");
        let events: Vec<NodeEvent> = (1..=(QUEUE_CAPACITY as i64 + 10)).map(event).collect();
        for chunk in events.chunks(100) {
            hub.publish_records("r", chunk, &[]);
            while let Some(frame) = fast.try_recv() {
                assert!(frame.frame.seq().is_some());
            }
        }
        // Everything that fitted in its queue, then the resync.
        let mut received = 0;
        while slow.recv().await.expect("a frame or the resync").frame != LiveFrame::Resync {
            received += 1;
        }
        assert_eq!(received, QUEUE_CAPACITY);
        assert!(slow.recv().await.is_none());
        assert_eq!(hub.subscriber_count(), 1, "the fast subscriber stays");
    }

    #[tokio::test]
    async fn dropping_a_receiver_unsubscribes_it() {
        let hub = LiveHub::new();
        let receiver = hub.subscribe_runs();
        assert_eq!(hub.subscriber_count(), 1);
        drop(receiver);
        assert_eq!(hub.subscriber_count(), 0);
    }

    #[tokio::test]
    async fn resync_all_tells_every_subscriber_of_every_topic_after_what_it_already_had() {
        let hub = LiveHub::new();
        let mut run = hub.subscribe_execution("r");
        let mut list = hub.subscribe_runs();
        hub.publish_records("r", &[event(1)], &[]);
        assert_eq!(hub.resync_all(), 2);
        assert_eq!(run.recv().await.unwrap().frame.seq(), Some(1));
        assert_eq!(run.recv().await.unwrap().frame, LiveFrame::Resync);
        assert!(run.recv().await.is_none());
        assert_eq!(list.recv().await.unwrap().frame, LiveFrame::Resync);
        assert_eq!(hub.subscriber_count(), 0);
    }

    #[tokio::test]
    async fn a_subscriber_holding_too_many_bytes_is_dropped_but_a_huge_frame_alone_goes_through() {
        let big = |seq: i64| {
            let mut e = event(seq);
            e.outputs
                .insert("blob".into(), serde_json::json!("x".repeat(1024 * 1024)));
            e
        };
        let hub = LiveHub::new();
        let mut slow = hub.subscribe_execution("r");
        let mut fast = hub.subscribe_execution("r");
        for seq in 1..=40 {
            hub.publish_records("r", &[big(seq)], &[]);
            assert_eq!(fast.try_recv().unwrap().frame.seq(), Some(seq));
        }
        // About 32 frames of 1 MiB fitted (far below QUEUE_CAPACITY frames),
        // then the resync.
        let mut received = 0;
        while slow.try_recv().is_some() {
            received += 1;
        }
        assert!((30..=32).contains(&received), "{received} frames queued");
        assert_eq!(slow.recv().await.unwrap().frame, LiveFrame::Resync);
        assert_eq!(hub.subscriber_count(), 1);

        // One frame over the whole budget reaches a subscriber that has
        // read everything before it.
        let mut huge = event(41);
        huge.outputs
            .insert("blob".into(), serde_json::json!("y".repeat(QUEUE_BYTES + 1)));
        hub.publish_records("r", &[huge], &[]);
        assert_eq!(fast.try_recv().unwrap().frame.seq(), Some(41));
        assert_eq!(hub.subscriber_count(), 1);
    }
}
