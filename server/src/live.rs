//! Live updates: the per-process hub that fans stored records out to
//! subscribers, the subscription that joins a run's stored backlog to its
//! live records without a gap or a duplicate, the WebSocket endpoints, and
//! (on PostgreSQL) the relay that brings other instances' records in.

mod hub;
mod postgres_relay;
mod socket;
mod subscription;

pub use hub::{HubReceiver, LiveHub};
pub use postgres_relay::{notify_payload, spawn_relay, CHANNEL};
pub use socket::{execution_live, runs_live};
pub use subscription::{subscribe, StreamEnd};

use std::sync::LazyLock;

/// This process's id in cross-instance notifications, so a relay can skip
/// what its own instance already published.
pub static INSTANCE_ID: LazyLock<String> = LazyLock::new(|| uuid::Uuid::now_v7().simple().to_string());
