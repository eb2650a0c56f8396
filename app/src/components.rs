//! Small view pieces shared by pages.

mod connection_badge;
mod status_badge;

pub use connection_badge::{Connection, ConnectionBadge};
pub use status_badge::StatusBadge;
