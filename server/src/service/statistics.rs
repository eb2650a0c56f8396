//! Turns what a store read (`StatisticsInputs`) into `Statistics`: counts,
//! rates and percentiles are computed here once for every backend.

use crate::store::time::start_bucket;
use app::histogram::{exact_quantile, quantile};
use app::model::{
    CriticalPathNode, DurationPercentiles, ExecutionStatus, NodeTypeSeries, NodeTypeStatistics,
    ParallelismStatistics, Statistics, StatisticsFilter, StatusCounts, TimeBucket,
};
use app::store::{StatisticsInputs, TimeSeriesInputs};
use chrono::DateTime;
use std::collections::HashMap;

/// Builds the statistics answer for `filter` from the store's aggregates.
pub fn assemble(filter: StatisticsFilter, mut inputs: StatisticsInputs) -> Statistics {
    let mut executions = StatusCounts::default();
    let (mut nodes, mut cached, mut llm_calls, mut tokens) = (0, 0, 0, 0);
    for agg in &inputs.by_status {
        executions.total += agg.runs;
        match agg.status {
            ExecutionStatus::Running => executions.running += agg.runs,
            ExecutionStatus::Completed => executions.completed += agg.runs,
            ExecutionStatus::Failed => executions.failed += agg.runs,
        }
        nodes += agg.nodes;
        cached += agg.cached;
        llm_calls += agg.llm_calls;
        tokens += agg.tokens;
    }
    let durations = &mut inputs.run_durations_ms;
    let duration_ms = DurationPercentiles {
        p50: exact_quantile(durations, 0.50),
        p95: exact_quantile(durations, 0.95),
        p99: exact_quantile(durations, 0.99),
    };
    let mut node_types: Vec<NodeTypeStatistics> = inputs
        .node_counts
        .into_iter()
        .map(|(node_id, count, failed, cached)| {
            let buckets: Vec<(i32, i64)> = inputs
                .node_duration_buckets
                .iter()
                .filter(|(n, _, _)| *n == node_id)
                .map(|(_, b, c)| (*b, *c))
                .collect();
            NodeTypeStatistics {
                failure_rate: if count > 0 {
                    failed as f64 / count as f64
                } else {
                    0.0
                },
                duration_ms: DurationPercentiles {
                    p50: quantile(&buckets, 0.50),
                    p95: quantile(&buckets, 0.95),
                    p99: quantile(&buckets, 0.99),
                },
                node_id,
                count,
                failed,
                cached,
            }
        })
        .collect();
    node_types.sort_by(|a, b| {
        b.duration_ms
            .p95
            .unwrap_or(0.0)
            .total_cmp(&a.duration_ms.p95.unwrap_or(0.0))
            .then_with(|| a.node_id.cmp(&b.node_id))
    });
    let parallel_runs = inputs.parallel_runs;
    let parallelism = ParallelismStatistics {
        runs: inputs.run_parallelism.len() as i64,
        p50: exact_quantile(&mut inputs.run_parallelism, 0.50),
        p95: exact_quantile(&mut inputs.run_parallelism, 0.95),
        parallel_runs,
        critical_path_nodes: inputs
            .critical_nodes
            .into_iter()
            .map(|(node_id, runs, total_ms)| CriticalPathNode {
                share_of_runs: if parallel_runs > 0 {
                    runs as f64 / parallel_runs as f64
                } else {
                    0.0
                },
                node_id,
                runs,
                total_ms,
            })
            .collect(),
    };
    Statistics {
        parallelism,
        node_types_left_out: !filter.metadata.is_empty(),
        filter,
        executions,
        duration_ms,
        node_types,
        cache_hit_rate: (nodes > 0).then(|| cached as f64 / nodes as f64),
        total_llm_calls: llm_calls,
        total_tokens: tokens,
        bucket_hours: 0,
        timeline: Vec::new(),
        node_heatmap: Vec::new(),
    }
}

/// Adds the statistics over time to `stats`: per bucket from the first to the
/// last, runs, failures and exact duration percentiles (of `finished_runs`,
/// `(start in µs, duration)` pairs); per node type (in `stats.node_types`
/// order) its p95 per bucket, from the hourly histograms.
pub fn add_time_series(stats: &mut Statistics, inputs: TimeSeriesInputs, finished_runs: &[(i64, f64)]) {
    let Some((first, last)) = inputs.range else {
        return;
    };
    let width = inputs.bucket_hours.max(1);
    let buckets: Vec<i64> = (first..=last).step_by(width as usize).collect();
    let position = |bucket: i64| {
        usize::try_from((bucket - first) / width)
            .ok()
            .filter(|i| *i < buckets.len())
    };

    let mut durations: Vec<Vec<f64>> = vec![Vec::new(); buckets.len()];
    for &(start, ms) in finished_runs {
        if let Some(i) = position(start_bucket(start, width)) {
            durations[i].push(ms);
        }
    }
    let mut runs = vec![(0, 0); buckets.len()];
    for (bucket, status, n) in inputs.runs {
        if let Some(i) = position(bucket) {
            runs[i].0 += n;
            if status == ExecutionStatus::Failed {
                runs[i].1 += n;
            }
        }
    }
    stats.bucket_hours = width;
    stats.timeline = buckets
        .iter()
        .zip(runs)
        .zip(&mut durations)
        .map(|((bucket, (runs, failed)), durations)| TimeBucket {
            start: DateTime::from_timestamp(bucket * 3_600, 0).unwrap_or_default(),
            runs,
            failed,
            duration_ms: DurationPercentiles {
                p50: exact_quantile(durations, 0.50),
                p95: exact_quantile(durations, 0.95),
                p99: exact_quantile(durations, 0.99),
            },
        })
        .collect();

    let mut histograms: HashMap<&str, Vec<Vec<(i32, i64)>>> = HashMap::new();
    for (bucket, node_id, histogram_bucket, count) in &inputs.node_duration_buckets {
        if let Some(i) = position(*bucket) {
            histograms
                .entry(node_id.as_str())
                .or_insert_with(|| vec![Vec::new(); buckets.len()])[i]
                .push((*histogram_bucket, *count));
        }
    }
    stats.node_heatmap = stats
        .node_types
        .iter()
        .map(|node| {
            let per_bucket = histograms.remove(node.node_id.as_str()).unwrap_or_default();
            let mut series = NodeTypeSeries {
                node_id: node.node_id.clone(),
                p95_ms: vec![None; buckets.len()],
                visits: vec![0; buckets.len()],
            };
            for (i, mut histogram) in per_bucket.into_iter().enumerate() {
                histogram.sort_unstable();
                series.p95_ms[i] = quantile(&histogram, 0.95);
                series.visits[i] = histogram.iter().map(|(_, c)| c).sum();
            }
            series
        })
        .collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::histogram::bucket_of;
    use app::store::StatusAggregate;

    #[test]
    fn counts_rates_and_percentiles_come_out_of_the_aggregates() {
        let agg = |status, runs, nodes, cached| StatusAggregate {
            status,
            runs,
            nodes,
            cached,
            llm_calls: 2 * runs,
            tokens: 100 * runs,
        };
        let inputs = StatisticsInputs {
            by_status: vec![
                agg(ExecutionStatus::Completed, 3, 30, 6),
                agg(ExecutionStatus::Failed, 1, 10, 0),
            ],
            run_durations_ms: vec![400.0, 100.0, 300.0, 200.0],
            run_starts: vec![0; 4],
            node_counts: vec![("Fast".into(), 20, 0, 6), ("Slow".into(), 20, 5, 0)],
            node_duration_buckets: vec![
                ("Fast".into(), bucket_of(10.0), 20),
                ("Slow".into(), bucket_of(1_000.0), 20),
            ],
            run_parallelism: vec![1.0, 2.5, 1.0, 3.0],
            parallel_runs: 2,
            critical_nodes: vec![("Slow".into(), 2, 1_500.0), ("Fast".into(), 1, 20.0)],
        };
        let stats = assemble(StatisticsFilter::default(), inputs);
        assert_eq!(stats.parallelism.runs, 4);
        assert_eq!(
            (stats.parallelism.p50, stats.parallelism.p95),
            (Some(1.0), Some(3.0))
        );
        assert_eq!(stats.parallelism.critical_path_nodes[0].share_of_runs, 1.0);
        assert_eq!(stats.parallelism.critical_path_nodes[1].share_of_runs, 0.5);
        assert_eq!(
            stats.executions,
            StatusCounts {
                total: 4,
                running: 0,
                completed: 3,
                failed: 1
            }
        );
        assert_eq!(stats.duration_ms.p50, Some(200.0));
        assert_eq!(stats.duration_ms.p99, Some(400.0));
        assert_eq!(stats.cache_hit_rate, Some(0.15));
        assert_eq!((stats.total_llm_calls, stats.total_tokens), (8, 400));
        assert_eq!(stats.node_types[0].node_id, "Slow", "slowest first");
        assert_eq!(stats.node_types[0].failure_rate, 0.25);
        assert!((stats.node_types[1].duration_ms.p50.unwrap() - 10.0).abs() < 0.5);
    }
}

#[cfg(test)]
mod time_series_tests {
    use super::*;
    use app::histogram::bucket_of;

    #[test]
    fn buckets_run_from_first_to_last_without_gaps_and_the_heat_map_follows_node_order() {
        let mut stats = assemble(
            StatisticsFilter::default(),
            StatisticsInputs {
                node_counts: vec![("Fast".into(), 2, 0, 0), ("Slow".into(), 1, 0, 0)],
                node_duration_buckets: vec![
                    ("Fast".into(), bucket_of(10.0), 2),
                    ("Slow".into(), bucket_of(900.0), 1),
                ],
                ..StatisticsInputs::default()
            },
        );
        add_time_series(
            &mut stats,
            TimeSeriesInputs {
                bucket_hours: 6,
                range: Some((480_000, 480_012)),
                runs: vec![
                    (480_000, ExecutionStatus::Completed, 2),
                    (480_012, ExecutionStatus::Failed, 1),
                    (480_012, ExecutionStatus::Completed, 1),
                ],
                node_duration_buckets: vec![
                    (480_000, "Fast".into(), bucket_of(10.0), 2),
                    (480_012, "Slow".into(), bucket_of(900.0), 1),
                ],
            },
            &[
                (480_000 * 3_600_000_000 + 60, 100.0),
                (480_005 * 3_600_000_000, 300.0),
                (480_012 * 3_600_000_000, 50.0),
            ],
        );
        let runs: Vec<_> = stats.timeline.iter().map(|b| (b.runs, b.failed)).collect();
        assert_eq!(
            runs,
            vec![(2, 0), (0, 0), (2, 1)],
            "the empty middle bucket is kept"
        );
        assert_eq!(stats.timeline[0].start.to_rfc3339(), "2024-10-04T00:00:00+00:00");
        assert_eq!(stats.timeline[0].duration_ms.p50, Some(100.0));
        assert_eq!(stats.timeline[1].duration_ms.p50, None);
        let rows: Vec<_> = stats
            .node_heatmap
            .iter()
            .map(|s| (s.node_id.as_str(), s.visits.clone()))
            .collect();
        assert_eq!(rows, vec![("Slow", vec![0, 0, 1]), ("Fast", vec![2, 0, 0])]);
        assert!((stats.node_heatmap[0].p95_ms[2].unwrap() - 900.0).abs() < 50.0);
    }
}
