//! View pieces shared by pages.

mod account;
mod connection_badge;
mod graph_panel;
mod json_tree;
mod live_announcer;
mod metadata_fields;
mod node_details;
mod state_history_panel;
mod status_badge;
mod theme_picker;
mod time_charts;
mod timeline;

pub use account::{Account, AlertsLink};
pub use connection_badge::{Connection, ConnectionBadge};
pub use graph_panel::{CriticalMarks, GraphPanel};
pub use json_tree::JsonTree;
pub use live_announcer::LiveAnnouncer;
pub use metadata_fields::MetadataFields;
pub use node_details::{usual_durations, NodeDetails};
pub use state_history_panel::StateHistoryPanel;
pub use status_badge::StatusBadge;
pub use theme_picker::{ThemePicker, THEME_BOOT};
pub use time_charts::{DurationOverTime, NodeHeatmap, RunsOverTime};
pub use timeline::Timeline;
