//! A run as a whole: its status and aggregates (the summary), the summary with
//! its events and snapshots (the trace), and how runs are filtered in lists.

use super::{GraphDefinition, JsonObject, NodeEvent, StateSnapshot};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Started and not yet completed.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
}

impl ExecutionStatus {
    /// The wire name, also the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "running" => Some(Self::Running),
            "completed" => Some(Self::Completed),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// A run without its events and snapshots: what lists and dashboards carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExecutionSummary {
    /// The run's id.
    pub execution_id: String,
    /// Which workflow ran, e.g. `forward_mode`.
    pub graph_type: String,
    /// Running, completed or failed.
    pub status: ExecutionStatus,
    /// When the run started.
    pub start_time: DateTime<Utc>,
    /// When it finished; `None` while running.
    pub end_time: Option<DateTime<Utc>>,
    /// `end_time - start_time` in milliseconds, once finished.
    pub total_duration_ms: Option<f64>,
    /// Node visits that ended (completed, failed or cached events).
    pub total_nodes: i64,
    /// Failed node events.
    pub failed_nodes: i64,
    /// Cache hits.
    pub cached_nodes: i64,
    /// LLM calls, summed from event metadata unless `complete` gave a total.
    pub total_llm_calls: i64,
    /// Tokens, likewise; `None` when nothing reported any.
    pub total_tokens: Option<i64>,
    /// The run's inputs.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub original_inputs: JsonObject,
    /// The state the run ended with.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub final_state: Option<JsonObject>,
    /// Producer metadata.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub metadata: JsonObject,
    /// The declared graph, when the producer sent one.
    pub graph: Option<GraphDefinition>,
    /// Whether this run replays another.
    pub is_replay: bool,
    /// The run this one replays.
    pub original_execution_id: Option<String>,
    /// The run's error, when it failed.
    pub error: Option<String>,
    /// The highest `seq` stored for this run (0 when it has no records).
    pub last_seq: i64,
    /// Where a search (`q=`) matched in this run, at most
    /// `search::MATCHES_PER_RUN`; absent outside search results.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<crate::search::SearchMatch>,
}

impl ExecutionSummary {
    /// This summary without its payloads (inputs, final state, metadata,
    /// declared graph): what a run list row carries.
    pub fn without_payloads(&self) -> Self {
        Self {
            original_inputs: JsonObject::new(),
            final_state: None,
            metadata: JsonObject::new(),
            graph: None,
            ..self.clone()
        }
    }

    /// Adds a newly stored event to the run's figures, as the store does on
    /// write — so a live page's header stays what a fresh load would show.
    pub fn count_event(&mut self, event: &NodeEvent) {
        use super::{metadata_count, NodeEventType};
        if event.event_type.ends_visit() {
            self.total_nodes += 1;
        }
        match event.event_type {
            NodeEventType::Failed => self.failed_nodes += 1,
            NodeEventType::Cached => self.cached_nodes += 1,
            _ => {}
        }
        self.total_llm_calls = self
            .total_llm_calls
            .saturating_add(metadata_count(&event.metadata, "llm_calls"));
        if event.metadata.contains_key("tokens") {
            let tokens = metadata_count(&event.metadata, "tokens");
            self.total_tokens = Some(self.total_tokens.unwrap_or(0).saturating_add(tokens));
        }
        self.last_seq = self.last_seq.max(event.seq);
    }
}

/// A run with every node event and state snapshot, in `seq` order (AC1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExecutionTrace {
    /// Everything the summary carries.
    #[serde(flatten)]
    pub summary: ExecutionSummary,
    /// Node events in the order they were stored.
    pub node_events: Vec<NodeEvent>,
    /// State snapshots in order, each with its diff from the previous one.
    pub state_snapshots: Vec<StateSnapshot>,
}

/// Default page size of run lists.
pub const DEFAULT_LIST_LIMIT: u32 = 100;
/// Largest page size a list request may ask for.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// Which runs a list shows, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecutionFilter {
    /// Only runs of this graph type.
    pub graph_type: Option<String>,
    /// Only runs in this status.
    pub status: Option<ExecutionStatus>,
    /// Only runs that started at or after this time.
    pub start_time: Option<DateTime<Utc>>,
    /// Only runs that started at or before this time.
    pub end_time: Option<DateTime<Utc>>,
    /// Only runs whose id contains this text.
    #[serde(default)]
    pub id_contains: Option<String>,
    /// The order of the list.
    #[serde(default)]
    pub sort: ListSort,
    /// Page size, 1..=1000.
    pub limit: u32,
    /// Runs to skip (at most `MAX_LIST_OFFSET`; `cursor` pages any depth).
    pub offset: u32,
    /// Start after this run (`next_cursor` of the page before); made for
    /// this filter and sort, which `check` verifies.
    #[serde(default)]
    pub cursor: Option<super::ListCursor>,
    /// Leave out the payload columns (inputs, final state, metadata, graph):
    /// what a list shows, at a fraction of the bytes (`fields=list`).
    #[serde(default)]
    pub without_payloads: bool,
    /// Only runs whose `metadata.KEY` equals VALUE, for every pair
    /// (`meta.KEY=VALUE`; string comparison).
    #[serde(default)]
    pub metadata: Vec<(String, String)>,
    /// Only runs in which these words and phrases occur (`q=`): in an
    /// error, a node's inputs or outputs, a state change, or the run's
    /// inputs, final state or metadata (`crate::search`).
    #[serde(default)]
    pub q: Option<crate::search::SearchQuery>,
}

/// Most `meta.KEY=VALUE` filters one request may carry.
pub const MAX_METADATA_FILTERS: usize = 8;

/// The rules for `meta.KEY=VALUE` filters, the same at every door: at most
/// `MAX_METADATA_FILTERS`, keys of 1..=128 characters without quotes,
/// backslashes or control characters (they become a JSON path), values
/// as long as a label may be.
pub fn check_metadata_filters(pairs: &[(String, String)]) -> Result<(), crate::error::TraceError> {
    let invalid = |field: String, message: String| crate::error::TraceError::Invalid { field, message };
    if pairs.len() > MAX_METADATA_FILTERS {
        return Err(invalid(
            "meta".into(),
            format!(
                "at most {MAX_METADATA_FILTERS} metadata filters, got {}",
                pairs.len()
            ),
        ));
    }
    for (key, value) in pairs {
        let field = format!("meta.{key}");
        if key.is_empty()
            || key.chars().count() > 128
            || key.chars().any(|c| c == '"' || c == '\\' || c.is_control())
        {
            return Err(invalid(
                field,
                "a metadata key has 1-128 characters, without quotes, backslashes or control characters"
                    .into(),
            ));
        }
        if value.chars().count() > super::MAX_LABEL_LEN || value.chars().any(char::is_control) {
            return Err(invalid(
                field,
                format!(
                    "a value has at most {} characters and no control characters",
                    super::MAX_LABEL_LEN
                ),
            ));
        }
    }
    Ok(())
}

impl ExecutionFilter {
    /// The rules every door applies to a list request (REST, server
    /// functions, the run-list socket): a page of 1..=`MAX_LIST_LIMIT` runs,
    /// text filters no longer than an id or a label can be.
    pub fn check(&self) -> Result<(), crate::error::TraceError> {
        let invalid = |field: &str, message: String| crate::error::TraceError::Invalid {
            field: field.to_owned(),
            message,
        };
        if !(1..=MAX_LIST_LIMIT).contains(&self.limit) {
            return Err(invalid(
                "limit",
                format!("expected an integer 1..={MAX_LIST_LIMIT}, got {}", self.limit),
            ));
        }
        if self.offset > MAX_LIST_OFFSET {
            return Err(invalid(
                "offset",
                format!(
                    "at most {MAX_LIST_OFFSET}: an offset makes the database walk every skipped run; \
                     page with `cursor` (each answer's `next_cursor`) instead"
                ),
            ));
        }
        if let Some(cursor) = &self.cursor {
            if self.offset > 0 {
                return Err(invalid("offset", "give either offset or cursor, not both".into()));
            }
            cursor.check(self).map_err(|message| invalid("cursor", message))?;
        }
        check_filter_text("graph_type", self.graph_type.as_deref())?;
        check_filter_text("id", self.id_contains.as_deref())?;
        check_metadata_filters(&self.metadata)
    }
}

/// The rule for a text filter (a graph type, part of an id) at every door:
/// no longer than a label can be, without control characters.
pub fn check_filter_text(field: &str, text: Option<&str>) -> Result<(), crate::error::TraceError> {
    let Some(text) = text else { return Ok(()) };
    let message = if text.chars().count() > super::MAX_LABEL_LEN {
        format!("at most {} characters", super::MAX_LABEL_LEN)
    } else if text.chars().any(char::is_control) {
        "must not contain control characters".into()
    } else {
        return Ok(());
    };
    Err(crate::error::TraceError::Invalid {
        field: field.to_owned(),
        message,
    })
}

/// How a run list is ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListSort {
    /// Newest start first.
    #[default]
    Newest,
    /// Longest duration first (running runs last).
    Slowest,
}

impl ListSort {
    /// The query-string value (`start_time` or `duration`).
    pub fn as_param(self) -> &'static str {
        match self {
            Self::Newest => "start_time",
            Self::Slowest => "duration",
        }
    }

    /// Parses a query-string value.
    pub fn from_param(value: &str) -> Option<Self> {
        match value {
            "start_time" => Some(Self::Newest),
            "duration" => Some(Self::Slowest),
            _ => None,
        }
    }
}

impl ExecutionFilter {
    /// Whether `run` belongs in a list with this filter (for live updates).
    pub fn matches(&self, run: &ExecutionSummary) -> bool {
        self.graph_type.as_ref().is_none_or(|g| *g == run.graph_type)
            && self.status.is_none_or(|s| s == run.status)
            && self.start_time.is_none_or(|t| run.start_time >= t)
            && self.end_time.is_none_or(|t| run.start_time <= t)
            && self
                .id_contains
                .as_ref()
                .is_none_or(|i| run.execution_id.contains(i.as_str()))
    }
}

impl Default for ExecutionFilter {
    fn default() -> Self {
        Self {
            graph_type: None,
            status: None,
            start_time: None,
            end_time: None,
            id_contains: None,
            sort: ListSort::Newest,
            limit: DEFAULT_LIST_LIMIT,
            offset: 0,
            cursor: None,
            without_payloads: false,
            metadata: Vec::new(),
            q: None,
        }
    }
}

/// One page of runs and how many match in all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ExecutionList {
    /// The runs on this page, newest first.
    pub executions: Vec<ExecutionSummary>,
    /// How many runs match the filter; with `total_capped`, at least this
    /// many (a count past `MAX_COUNTED_RUNS` would cost a walk over them all).
    pub total: i64,
    /// Whether `total` is a lower bound ("10,000+").
    #[serde(default)]
    pub total_capped: bool,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Largest `offset` a list request accepts.
pub const MAX_LIST_OFFSET: u32 = 10_000;

/// Runs a list counts one by one for its `total` before it says "N+".
pub const MAX_COUNTED_RUNS: i64 = 10_000;
