//! Aggregates across runs: what `GET /api/v1/statistics` answers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Which runs statistics cover.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatisticsFilter {
    /// Only runs of this graph type.
    pub graph_type: Option<String>,
    /// Only runs that started at or after this time.
    pub start_time: Option<DateTime<Utc>>,
    /// Only runs that started at or before this time.
    pub end_time: Option<DateTime<Utc>>,
    /// Only runs whose `metadata.KEY` equals VALUE, for every pair. The
    /// run figures honour it; the per-node-type figures come from hourly
    /// aggregates that do not know run metadata, so with this filter they
    /// are left out (`node_types_left_out`).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Vec<Vec<String>>))]
    pub metadata: Vec<(String, String)>,
}

impl StatisticsFilter {
    /// The rules every door applies to a statistics request: those of the
    /// run list's graph type and metadata filters.
    pub fn check(&self) -> Result<(), crate::error::TraceError> {
        super::check_filter_text("graph_type", self.graph_type.as_deref())?;
        super::check_metadata_filters(&self.metadata)
    }
}

/// Run counts by status.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatusCounts {
    /// All matching runs.
    pub total: i64,
    /// Still running.
    pub running: i64,
    /// Finished successfully.
    pub completed: i64,
    /// Finished with an error.
    pub failed: i64,
}

/// Duration percentiles in milliseconds; `None` when nothing was measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DurationPercentiles {
    /// Median.
    pub p50: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

/// How one node type behaved across the matching runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeTypeStatistics {
    /// The node type (`node_id`).
    pub node_id: String,
    /// Visits that ended (completed, failed or cached).
    pub count: i64,
    /// Failed visits.
    pub failed: i64,
    /// Cache hits.
    pub cached: i64,
    /// `failed / count`.
    pub failure_rate: f64,
    /// Duration percentiles of its visits (from a log-scale histogram, within ~5 %).
    pub duration_ms: DurationPercentiles,
}

/// A node type's place on the critical paths of the runs that ran nodes
/// side by side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CriticalPathNode {
    /// The node type.
    pub node_id: String,
    /// Runs whose critical path went through it.
    pub runs: i64,
    /// `runs` over the runs that ran nodes side by side.
    pub share_of_runs: f64,
    /// Its time on those critical paths, summed, in ms.
    pub total_ms: f64,
}

/// How parallel the matching finished runs were, from figures each run
/// keeps when it finishes (no events are read).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ParallelismStatistics {
    /// Finished runs with a parallelism figure.
    pub runs: i64,
    /// Median of their average parallelism (1.0: one node at a time).
    pub p50: Option<f64>,
    /// 95th percentile of it.
    pub p95: Option<f64>,
    /// Of them, the runs that ran nodes side by side.
    pub parallel_runs: i64,
    /// The node types most often on those runs' critical paths, most first
    /// (at most `MAX_CRITICAL_PATH_NODES`).
    pub critical_path_nodes: Vec<CriticalPathNode>,
}

/// Most node types the statistics list as often on the critical path.
pub const MAX_CRITICAL_PATH_NODES: usize = 10;

/// Aggregates across the runs a `StatisticsFilter` selects.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Statistics {
    /// The filter these figures are for.
    pub filter: StatisticsFilter,
    /// Runs by status.
    pub executions: StatusCounts,
    /// Duration percentiles of finished runs, estimated from log-scale
    /// histograms kept per hour: within `accuracy.run_percentiles` of the
    /// exact value.
    pub duration_ms: DurationPercentiles,
    /// Per node type, slowest p95 first.
    pub node_types: Vec<NodeTypeStatistics>,
    /// True when a metadata filter left the node-type figures (and the heat
    /// map) out: they are kept per hour and graph type, not per run.
    #[serde(default)]
    pub node_types_left_out: bool,
    /// Cache hits over node visits; `None` with no visits.
    pub cache_hit_rate: Option<f64>,
    /// LLM calls across the runs.
    pub total_llm_calls: i64,
    /// Tokens across the runs.
    pub total_tokens: i64,
    /// Width of the time buckets below, in hours.
    #[serde(default)]
    pub bucket_hours: i64,
    /// Runs, failures and durations per time bucket, oldest first, without gaps.
    #[serde(default)]
    pub timeline: Vec<TimeBucket>,
    /// Per node type (in `node_types` order), its p95 duration per time
    /// bucket of `timeline`: the node type × time heat map.
    #[serde(default)]
    pub node_heatmap: Vec<NodeTypeSeries>,
    /// How parallel the finished runs were, and which node types decided
    /// the durations of those that ran nodes side by side.
    #[serde(default)]
    pub parallelism: ParallelismStatistics,
    /// Which figures are estimates, and within what error.
    #[serde(default)]
    pub accuracy: StatisticsAccuracy,
}

/// How close the estimated figures are. Counts, rates, LLM calls and tokens
/// are exact; percentiles come from log-scale histograms.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct StatisticsAccuracy {
    /// Largest relative error of a run duration or parallelism percentile
    /// (0.00995: within 1 %).
    pub run_percentiles: f64,
    /// Largest relative error of a node type's duration percentile.
    pub node_percentiles: f64,
    /// Set when the run figures cover only the newest this many matching
    /// runs: a metadata filter is answered from the runs themselves, and at
    /// most this many are read.
    pub newest_runs_only: Option<i64>,
}

/// The runs that started in one time bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TimeBucket {
    /// The bucket's first moment.
    pub start: DateTime<Utc>,
    /// Runs that started in it.
    pub runs: i64,
    /// Of those, failed.
    pub failed: i64,
    /// Exact duration percentiles of its finished runs.
    pub duration_ms: DurationPercentiles,
}

/// One node type's p95 duration and visits per time bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NodeTypeSeries {
    /// The node type.
    pub node_id: String,
    /// p95 per bucket; `None` where it had no timed visit.
    pub p95_ms: Vec<Option<f64>>,
    /// Timed visits per bucket.
    pub visits: Vec<i64>,
}
