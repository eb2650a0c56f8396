//! A run as its page first needs it: the summary, and each node event and
//! state snapshot without its payloads (inputs, outputs, metadata, state).
//! A run of 10,000 events carrying LLM prompts and answers would otherwise be
//! embedded whole in its page and parsed before the timeline can draw; the
//! payloads are fetched when a visit is opened or the state history shown.

use super::{ExecutionSummary, ExecutionTrace, NodeEvent, NodeEventType, StateSnapshot};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A node event without its payloads: what the timeline, the graph and the
/// events table draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventOutline {
    /// Position among the run's records.
    pub seq: i64,
    /// The node.
    pub node_id: String,
    /// What happened.
    pub event_type: NodeEventType,
    /// When. Sent as microseconds since the epoch: read far faster than RFC
    /// 3339 text when a page holds 100,000 of them.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub timestamp: DateTime<Utc>,
    /// Reported duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// The error of a failed event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Retry attempt from the event's metadata (1 when not given).
    pub attempt: i64,
    /// Time a cache hit saved, from the event's metadata (`saved_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_ms: Option<f64>,
    /// The `seq`s of the events whose visits this one follows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<i64>,
}

impl EventOutline {
    /// The attempt a metadata `attempt` value stands for: 1 unless it is an
    /// integer.
    pub fn attempt_of(value: Option<&Value>) -> i64 {
        value.and_then(Value::as_i64).unwrap_or(1)
    }

    /// The time a metadata `saved_ms` value says a cache hit saved, if it is
    /// a number.
    pub fn saved_ms_of(value: Option<&Value>) -> Option<f64> {
        value.and_then(Value::as_f64)
    }
}

impl From<&NodeEvent> for EventOutline {
    fn from(event: &NodeEvent) -> Self {
        Self {
            seq: event.seq,
            node_id: event.node_id.clone(),
            event_type: event.event_type,
            timestamp: event.timestamp,
            duration_ms: event.duration_ms,
            error: event.error.clone(),
            attempt: Self::attempt_of(event.metadata.get("attempt")),
            saved_ms: Self::saved_ms_of(event.metadata.get("saved_ms")),
            parents: event.parent_seqs.clone(),
        }
    }
}

/// A state snapshot without its state and diff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotOutline {
    /// Position among the run's records.
    pub seq: i64,
    /// The node after which the state was taken.
    pub node_id: String,
    /// When.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub timestamp: DateTime<Utc>,
}

impl From<&StateSnapshot> for SnapshotOutline {
    fn from(snapshot: &StateSnapshot) -> Self {
        Self {
            seq: snapshot.seq,
            node_id: snapshot.node_id.clone(),
            timestamp: snapshot.timestamp,
        }
    }
}

/// A run for its page: the summary and the outlines of its records, in `seq`
/// order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunOutline {
    /// The run's summary (not flattened: flattening makes serde buffer every
    /// field before reading it).
    pub summary: ExecutionSummary,
    /// Its node events.
    pub events: Vec<EventOutline>,
    /// Its state snapshots.
    pub snapshots: Vec<SnapshotOutline>,
}

impl RunOutline {
    /// The highest `seq` the outline holds: where a live stream resumes.
    /// Both lists are in `seq` order, so their last entries suffice (this is
    /// asked on every live frame).
    pub fn last_seq(&self) -> i64 {
        let events = self.events.last().map_or(0, |e| e.seq);
        let snapshots = self.snapshots.last().map_or(0, |s| s.seq);
        events.max(snapshots).max(self.summary.last_seq)
    }
}

/// The outline of a whole stored run: what `load_outline` must read without
/// the payloads (the stores' tests compare the two).
impl From<&ExecutionTrace> for RunOutline {
    fn from(trace: &ExecutionTrace) -> Self {
        Self {
            summary: trace.summary.clone(),
            events: trace.node_events.iter().map(EventOutline::from).collect(),
            snapshots: trace.state_snapshots.iter().map(SnapshotOutline::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_outline_keeps_what_the_timeline_needs_and_drops_the_payloads() {
        let event: NodeEvent = serde_json::from_value(json!({
            "event_id": "e1", "execution_id": "r", "seq": 7, "node_id": "Cache",
            "event_type": "cached", "timestamp": "2025-01-01T00:00:01.5Z", "duration_ms": 2.0,
            "inputs": {"prompt": "a long prompt"}, "outputs": {"answer": "a long answer"},
            "error": null, "metadata": {"attempt": 3, "saved_ms": 800.0}
        }))
        .unwrap();
        let outline = EventOutline::from(&event);
        assert_eq!(
            (outline.attempt, outline.saved_ms, outline.timestamp),
            (3, Some(800.0), event.timestamp)
        );
        let wire = serde_json::to_string(&outline).unwrap();
        assert!(!wire.contains("long"), "payloads stay on the server: {wire}");
        assert_eq!(serde_json::from_str::<EventOutline>(&wire).unwrap(), outline);
    }
}
