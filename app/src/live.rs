//! Live updates: the frames the WebSocket endpoints send (API.md "Live"), and
//! on the server the envelope that carries one frame to many subscribers,
//! serialised once however many there are.

use crate::model::{ExecutionStatus, ExecutionSummary, NodeEvent, StateSnapshot};
use serde::{Deserialize, Serialize};

/// One message of a live WebSocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "WireFrame")]
pub enum LiveFrame {
    /// A stored node event.
    Event {
        /// The event, with its `seq`.
        event: NodeEvent,
    },
    /// A stored state snapshot.
    Snapshot {
        /// The snapshot, with its `seq`.
        snapshot: StateSnapshot,
    },
    /// A run's summary after its status changed (or when a subscription starts).
    Status {
        /// The run as it now is.
        execution: ExecutionSummary,
    },
    /// This subscriber fell behind and was dropped; reconnect with its last `seq`.
    Resync,
}

/// A live frame as read: the `type` and whichever field it names. Reading
/// through this flat struct instead of serde's internally tagged enum keeps
/// serde's buffering of untyped content (`Content`) out of the WASM bundle.
#[derive(Deserialize)]
struct WireFrame {
    #[serde(rename = "type")]
    kind: FrameKind,
    event: Option<NodeEvent>,
    snapshot: Option<StateSnapshot>,
    execution: Option<ExecutionSummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum FrameKind {
    Event,
    Snapshot,
    Status,
    Resync,
}

impl TryFrom<WireFrame> for LiveFrame {
    type Error = &'static str;

    fn try_from(wire: WireFrame) -> Result<Self, Self::Error> {
        Ok(match wire.kind {
            FrameKind::Event => Self::Event {
                event: wire.event.ok_or("an event frame without its event")?,
            },
            FrameKind::Snapshot => Self::Snapshot {
                snapshot: wire.snapshot.ok_or("a snapshot frame without its snapshot")?,
            },
            FrameKind::Status => Self::Status {
                execution: wire.execution.ok_or("a status frame without its execution")?,
            },
            FrameKind::Resync => Self::Resync,
        })
    }
}

impl LiveFrame {
    /// The record's `seq`, for events and snapshots.
    pub fn seq(&self) -> Option<i64> {
        match self {
            Self::Event { event } => Some(event.seq),
            Self::Snapshot { snapshot } => Some(snapshot.seq),
            Self::Status { .. } | Self::Resync => None,
        }
    }

    /// Whether this frame ends a run's stream (a completed or failed status).
    pub fn is_final_status(&self) -> bool {
        matches!(self, Self::Status { execution } if execution.status != ExecutionStatus::Running)
    }
}

#[cfg(feature = "ssr")]
pub use server_side::{LiveEnvelope, LiveSubscription};

#[cfg(feature = "ssr")]
mod server_side {
    use super::LiveFrame;
    use std::sync::{Arc, OnceLock};

    /// A frame shared by every subscriber it goes to; its JSON is made once,
    /// by whichever socket needs it first.
    #[derive(Debug)]
    pub struct LiveEnvelope {
        /// The frame.
        pub frame: LiveFrame,
        json: OnceLock<String>,
    }

    impl LiveEnvelope {
        /// Wraps a frame for sharing.
        pub fn new(frame: LiveFrame) -> Arc<Self> {
            Arc::new(Self {
                frame,
                json: OnceLock::new(),
            })
        }

        /// The frame as a JSON text message.
        pub fn json(&self) -> &str {
            self.json
                .get_or_init(|| serde_json::to_string(&self.frame).expect("live frames always serialise"))
        }
    }

    /// A live stream of one run: its stored records after the requested
    /// `seq`, then new ones as they are stored, each once and in order.
    pub type LiveSubscription = tokio::sync::mpsc::Receiver<Arc<LiveEnvelope>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_read_back_as_written_and_a_frame_missing_its_record_is_refused() {
        let event: NodeEvent = serde_json::from_value(json!({
            "event_id": "e1", "execution_id": "r", "seq": 3, "node_id": "Plan", "event_type": "started",
            "timestamp": "2025-01-01T00:00:00Z", "duration_ms": null, "inputs": {}, "outputs": {},
            "error": null, "metadata": {}
        }))
        .unwrap();
        for frame in [LiveFrame::Event { event }, LiveFrame::Resync] {
            let text = serde_json::to_string(&frame).unwrap();
            assert_eq!(serde_json::from_str::<LiveFrame>(&text).unwrap(), frame, "{text}");
        }
        assert!(serde_json::from_str::<LiveFrame>(r#"{"type": "event"}"#).is_err());
        assert!(serde_json::from_str::<LiveFrame>(r#"{"type": "gossip"}"#).is_err());
    }
}
