//! Live updates: the per-process hub that fans stored records out to
//! subscribers, and the subscription that joins a run's stored backlog to
//! its live records without a gap or a duplicate. The WebSocket endpoints
//! are `api::live`; the relay that brings other instances' records in (on
//! PostgreSQL) is `service::relay`. This module imports neither.

mod hub;
mod subscription;

pub use hub::{HubReceiver, LiveHub};
pub use subscription::{subscribe, StreamEnd, BACKLOG_PAGE};
