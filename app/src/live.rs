//! Live updates: the frames the WebSocket endpoints send (API.md "Live"), and
//! on the server the envelope that carries one frame to many subscribers,
//! serialised once however many there are.

use crate::model::{ExecutionStatus, ExecutionSummary, NodeEvent, StateSnapshot};
use serde::{Deserialize, Serialize};

/// One message of a live WebSocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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
