//! What producers send: a new run, a batch of records, a completion. Every
//! field is validated while it is deserialized, so a value of these types is
//! already known good and the error for a bad one names its field.

use super::{ExecutionStatus, GraphDefinition, JsonObject, Label, NodeEventType, RecordId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest duration accepted: ten years, in milliseconds. Longer is a
/// producer's unit mistake, and arithmetic on it could leave the calendar.
pub const MAX_DURATION_MS: f64 = 10.0 * 365.25 * 24.0 * 3_600_000.0;

/// A finite duration in milliseconds, from 0 to `MAX_DURATION_MS`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct DurationMs(f64);

impl DurationMs {
    /// The duration in milliseconds.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for DurationMs {
    type Error = String;
    fn try_from(value: f64) -> Result<Self, String> {
        if value.is_finite() && (0.0..=MAX_DURATION_MS).contains(&value) {
            Ok(Self(value))
        } else {
            Err(format!(
                "must be a number from 0 to {MAX_DURATION_MS} (ten years in ms), got {value}"
            ))
        }
    }
}

impl From<DurationMs> for f64 {
    fn from(d: DurationMs) -> f64 {
        d.0
    }
}

#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for DurationMs {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Number)
            .minimum(Some(0.0))
            .maximum(Some(MAX_DURATION_MS))
            .into()
    }
}
#[cfg(feature = "ssr")]
impl utoipa::ToSchema for DurationMs {}

/// Whether `instant` is one tracevis accepts: from 1970-01-01 to the end of
/// year 9999 (UTC), the range every door (JSON, OTLP, import) allows, so
/// that arithmetic on stored times never leaves chrono's calendar.
pub fn check_instant(instant: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    use chrono::Datelike;
    if (1970..=9999).contains(&instant.year()) {
        Ok(instant)
    } else {
        Err(format!("must be from 1970 to 9999, got {}", instant.to_rfc3339()))
    }
}

/// Serde reader for an instant field, bounded by `check_instant`.
fn instant<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    check_instant(DateTime::<Utc>::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// Serde reader for an error message: text without NUL (`check_no_nul`).
fn error_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    if let Some(t) = &text {
        super::ids::check_no_nul(t).map_err(serde::de::Error::custom)?;
    }
    Ok(text)
}

/// Serde reader for an optional instant field, bounded by `check_instant`.
fn optional_instant<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(d)?
        .map(check_instant)
        .transpose()
        .map_err(serde::de::Error::custom)
}

/// `POST /api/v1/executions`: a run starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewExecution {
    /// The run's id; the server assigns a UUIDv7 when absent.
    #[serde(default)]
    pub execution_id: Option<RecordId>,
    /// Which workflow runs.
    pub graph_type: Label,
    /// The run's inputs.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub original_inputs: JsonObject,
    /// When it started; now when absent.
    #[serde(default, deserialize_with = "optional_instant")]
    pub start_time: Option<DateTime<Utc>>,
    /// Producer metadata.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub metadata: JsonObject,
    /// The declared graph.
    #[serde(default)]
    pub graph: Option<GraphDefinition>,
    /// Whether this run replays another.
    #[serde(default)]
    pub is_replay: bool,
    /// The run this one replays.
    #[serde(default)]
    pub original_execution_id: Option<RecordId>,
    /// The state before the first node; stored as the first snapshot.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub initial_state: Option<JsonObject>,
}

/// `POST /api/v1/executions/{id}/events`: records to append, all or none.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EventBatch {
    /// Node events.
    #[serde(default)]
    pub events: Vec<NewEvent>,
    /// State snapshots.
    #[serde(default)]
    pub snapshots: Vec<NewSnapshot>,
}

/// A node event as a producer sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewEvent {
    /// Unique within the run; assigned when absent. A repeat is a duplicate.
    #[serde(default)]
    pub event_id: Option<RecordId>,
    /// The node.
    pub node_id: Label,
    /// What happened.
    pub event_type: NodeEventType,
    /// When it happened.
    #[serde(deserialize_with = "instant")]
    pub timestamp: DateTime<Utc>,
    /// How long the node ran.
    #[serde(default)]
    pub duration_ms: Option<DurationMs>,
    /// The node's inputs.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub inputs: JsonObject,
    /// The node's outputs.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub outputs: JsonObject,
    /// Error message of a failed node.
    #[serde(default, deserialize_with = "error_text")]
    pub error: Option<String>,
    /// Metadata; `llm_calls` and `tokens` feed the run's totals.
    #[serde(default, deserialize_with = "event_metadata")]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub metadata: JsonObject,
    /// The visits this one follows (a join names every branch it waited
    /// for), each named by the `event_id` of one of its events: stored
    /// before this event, or earlier in the same batch. At most
    /// `MAX_PARENTS`; a repeat counts once.
    #[serde(
        default,
        deserialize_with = "parent_ids",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[cfg_attr(feature = "ssr", schema(max_items = 64))]
    pub parents: Vec<RecordId>,
}

/// Most parents one event may name: a join of more branches than this
/// names the ones that matter (the graph and the critical path read the
/// latest), and a bounded list keeps every event's cost bounded.
pub const MAX_PARENTS: usize = 64;

/// Serde reader for `parents`: at most `MAX_PARENTS` ids, repeats dropped.
fn parent_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<RecordId>, D::Error> {
    let mut ids = Vec::<RecordId>::deserialize(d)?;
    if ids.len() > MAX_PARENTS {
        return Err(serde::de::Error::custom(format!(
            "at most {MAX_PARENTS} parents, got {}",
            ids.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.as_str().to_owned()));
    Ok(ids)
}

impl NewEvent {
    /// LLM calls this event reports in its metadata.
    pub fn llm_calls(&self) -> i64 {
        metadata_count(&self.metadata, "llm_calls")
    }

    /// Tokens this event reports in its metadata, if it reports any.
    pub fn tokens(&self) -> Option<i64> {
        self.metadata
            .get("tokens")
            .map(|_| metadata_count(&self.metadata, "tokens"))
    }
}

/// The largest count one event may report in `llm_calls` or `tokens`.
pub const MAX_EVENT_COUNT: i64 = 1_000_000_000_000;

/// The largest total a run keeps (and a completion may report): totals
/// saturate here, well inside `i64` and exact as `f64`, so sums over runs
/// never overflow.
pub const MAX_RUN_TOTAL: i64 = 1_000_000_000_000_000;

/// The metadata keys whose numbers feed the run's totals.
const COUNT_KEYS: [&str; 2] = ["llm_calls", "tokens"];

/// A count a producer reports in event metadata (`llm_calls`, `tokens`): a
/// non-negative integer up to `MAX_EVENT_COUNT` (a fraction is cut; a value
/// that is not a number counts 0). The store's totals and the run page's
/// live figures both read it here.
pub fn metadata_count(metadata: &JsonObject, key: &str) -> i64 {
    metadata
        .get(key)
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .unwrap_or(0)
        .clamp(0, MAX_EVENT_COUNT)
}

/// Serde reader for event metadata: a number under `llm_calls` or `tokens`
/// must be a count from 0 to `MAX_EVENT_COUNT`.
fn event_metadata<'de, D: serde::Deserializer<'de>>(d: D) -> Result<JsonObject, D::Error> {
    let metadata = JsonObject::deserialize(d)?;
    for key in COUNT_KEYS {
        if let Some(n) = metadata.get(key).and_then(serde_json::Value::as_f64) {
            if !(0.0..=MAX_EVENT_COUNT as f64).contains(&n) {
                return Err(serde::de::Error::custom(format!(
                    "{key} must be a count from 0 to {MAX_EVENT_COUNT}, got {n}"
                )));
            }
        }
    }
    Ok(metadata)
}

/// Serde reader for a completion's reported token total, up to `MAX_RUN_TOTAL`.
fn run_total<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let total = Option::<u64>::deserialize(d)?;
    match total {
        Some(t) if t > MAX_RUN_TOTAL as u64 => Err(serde::de::Error::custom(format!(
            "must be at most {MAX_RUN_TOTAL}, got {t}"
        ))),
        _ => Ok(total),
    }
}

/// A state snapshot as a producer sends it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewSnapshot {
    /// Unique within the run; assigned when absent.
    #[serde(default)]
    pub snapshot_id: Option<RecordId>,
    /// When the state was captured.
    #[serde(deserialize_with = "instant")]
    pub timestamp: DateTime<Utc>,
    /// The node that produced it.
    pub node_id: Label,
    /// The whole state.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub state: JsonObject,
}

/// Totals a producer may report on completion instead of per-event metadata.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PerformanceTotals {
    /// Overrides the summed `llm_calls`.
    #[serde(default)]
    pub total_llm_calls: Option<u32>,
    /// Overrides the summed `tokens`.
    #[serde(default, deserialize_with = "run_total")]
    pub total_tokens: Option<u64>,
    /// Reported cache hits (informational).
    #[serde(default)]
    pub cache_hits: Option<u32>,
    /// Reported cache misses (informational).
    #[serde(default)]
    pub cache_misses: Option<u32>,
}

/// The statuses a completion may give (the published description's view of
/// `Completion::status`: `running` is refused there).
#[cfg(feature = "ssr")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only
pub enum FinishedStatus {
    Completed,
    Failed,
}

/// `POST /api/v1/executions/{id}/complete`: a run finishes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Completion {
    /// `completed` or `failed` (not `running`).
    #[cfg_attr(feature = "ssr", schema(value_type = FinishedStatus))]
    pub status: ExecutionStatus,
    /// When it finished; now when absent.
    #[serde(default, deserialize_with = "optional_instant")]
    pub end_time: Option<DateTime<Utc>>,
    /// The final state.
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub final_state: Option<JsonObject>,
    /// The run's error.
    #[serde(default, deserialize_with = "error_text")]
    pub error: Option<String>,
    /// Totals that override the summed metadata.
    #[serde(default)]
    pub performance: Option<PerformanceTotals>,
}
