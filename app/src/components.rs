//! Small view pieces shared by pages.

mod status_badge;

pub use status_badge::StatusBadge;
