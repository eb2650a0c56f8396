//! Turns what a store read (`StatisticsInputs`) into `Statistics`: counts,
//! rates and percentiles are computed here once for every backend.

use app::histogram::{quantile, RUN_SCALE};
use app::model::{
    CriticalPathNode, DurationPercentiles, ExecutionStatus, NodeTypeSeries, NodeTypeStatistics,
    ParallelismStatistics, Statistics, StatisticsAccuracy, StatisticsFilter, StatusCounts, TimeBucket,
};
use app::store::StatisticsInputs;
use chrono::DateTime;
use std::collections::{BTreeMap, HashMap};

/// p50, p95 and p99 of a run histogram (`(RUN_SCALE bucket, count)` pairs).
fn run_percentiles(buckets: &[(i32, i64)]) -> DurationPercentiles {
    DurationPercentiles {
        p50: RUN_SCALE.quantile(buckets, 0.50),
        p95: RUN_SCALE.quantile(buckets, 0.95),
        p99: RUN_SCALE.quantile(buckets, 0.99),
    }
}

/// Merges `(bucket, count)` pairs into a histogram sorted by bucket, leaving
/// out empty buckets.
fn histogram(pairs: impl IntoIterator<Item = (i32, i64)>) -> Vec<(i32, i64)> {
    let mut merged: BTreeMap<i32, i64> = BTreeMap::new();
    for (bucket, count) in pairs {
        *merged.entry(bucket).or_default() += count;
    }
    merged.into_iter().filter(|(_, c)| *c > 0).collect()
}

/// Builds the statistics answer for `filter` from the store's aggregates:
/// totals, and with `inputs.bucket_hours > 0` the figures over time.
pub fn assemble(filter: StatisticsFilter, inputs: StatisticsInputs) -> Statistics {
    let mut executions = StatusCounts::default();
    let (mut nodes, mut cached, mut llm_calls, mut tokens, mut parallel_runs) =
        (0i64, 0i64, 0i64, 0i64, 0i64);
    for agg in &inputs.runs {
        executions.total += agg.runs;
        match agg.status {
            ExecutionStatus::Running => executions.running += agg.runs,
            ExecutionStatus::Completed => executions.completed += agg.runs,
            ExecutionStatus::Failed => executions.failed += agg.runs,
        }
        // Saturating: sums of producer counts never overflow into a panic.
        nodes = nodes.saturating_add(agg.nodes);
        cached = cached.saturating_add(agg.cached);
        llm_calls = llm_calls.saturating_add(agg.llm_calls);
        tokens = tokens.saturating_add(agg.tokens);
        parallel_runs = parallel_runs.saturating_add(agg.parallel_runs);
    }
    let duration_ms = run_percentiles(&histogram(
        inputs.run_duration_buckets.iter().map(|(_, b, c)| (*b, *c)),
    ));
    let node_types = node_type_statistics(inputs.node_counts, &inputs.node_duration_buckets);
    let parallelism_histogram = histogram(inputs.run_parallelism_buckets.iter().copied());
    let parallelism = ParallelismStatistics {
        runs: parallelism_histogram.iter().map(|(_, c)| c).sum(),
        p50: RUN_SCALE.quantile(&parallelism_histogram, 0.50),
        p95: RUN_SCALE.quantile(&parallelism_histogram, 0.95),
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
    let mut stats = Statistics {
        parallelism,
        node_types_left_out: !filter.metadata.is_empty(),
        accuracy: StatisticsAccuracy {
            run_percentiles: RUN_SCALE.relative_error(),
            node_percentiles: app::histogram::NODE_SCALE.relative_error(),
            newest_runs_only: inputs.newest_runs_only,
        },
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
    };
    add_time_series(
        &mut stats,
        &inputs.runs,
        &inputs.run_duration_buckets,
        inputs.bucket_hours,
        inputs.range,
        &inputs.node_duration_series,
    );
    stats
}

/// Per node type, slowest p95 first.
fn node_type_statistics(
    node_counts: Vec<(String, i64, i64, i64)>,
    node_duration_buckets: &[(String, i32, i64)],
) -> Vec<NodeTypeStatistics> {
    let mut node_types: Vec<NodeTypeStatistics> = node_counts
        .into_iter()
        .map(|(node_id, count, failed, cached)| {
            let buckets: Vec<(i32, i64)> = node_duration_buckets
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
    node_types
}

/// Adds the statistics over time to `stats`: per bucket from the first to the
/// last, runs, failures and duration percentiles (from the runs' histograms);
/// per node type (in `stats.node_types` order) its p95 per bucket, from the
/// hourly histograms. Nothing when `width` is 0.
fn add_time_series(
    stats: &mut Statistics,
    runs: &[app::store::StatusAggregate],
    run_duration_buckets: &[(i64, i32, i64)],
    width: i64,
    range: Option<(i64, i64)>,
    node_duration_series: &[(i64, String, i32, i64)],
) {
    let Some((first, last)) = range.filter(|_| width > 0) else {
        return;
    };
    let buckets: Vec<i64> = (first..=last).step_by(width as usize).collect();
    let position = |bucket: i64| {
        usize::try_from((bucket - first) / width)
            .ok()
            .filter(|i| *i < buckets.len())
    };

    let mut durations: Vec<Vec<(i32, i64)>> = vec![Vec::new(); buckets.len()];
    for &(time_bucket, bucket, count) in run_duration_buckets {
        if let Some(i) = position(time_bucket) {
            durations[i].push((bucket, count));
        }
    }
    let mut counts = vec![(0, 0); buckets.len()];
    for agg in runs {
        if let Some(i) = position(agg.time_bucket) {
            counts[i].0 += agg.runs;
            if agg.status == ExecutionStatus::Failed {
                counts[i].1 += agg.runs;
            }
        }
    }
    stats.bucket_hours = width;
    stats.timeline = buckets
        .iter()
        .zip(counts)
        .zip(durations)
        .map(|((bucket, (runs, failed)), durations)| TimeBucket {
            start: DateTime::from_timestamp(bucket * 3_600, 0).unwrap_or_default(),
            runs,
            failed,
            duration_ms: run_percentiles(&histogram(durations)),
        })
        .collect();

    let mut histograms: HashMap<&str, Vec<Vec<(i32, i64)>>> = HashMap::new();
    for (bucket, node_id, histogram_bucket, count) in node_duration_series {
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

    fn agg(time_bucket: i64, status: ExecutionStatus, runs: i64, nodes: i64, cached: i64) -> StatusAggregate {
        StatusAggregate {
            time_bucket,
            status,
            runs,
            nodes,
            cached,
            llm_calls: 2 * runs,
            tokens: 100 * runs,
            parallel_runs: 0,
        }
    }

    fn durations(time_bucket: i64, ms: &[f64]) -> Vec<(i64, i32, i64)> {
        ms.iter()
            .map(|v| (time_bucket, RUN_SCALE.bucket_of(*v), 1))
            .collect()
    }

    fn close(value: Option<f64>, expected: f64) -> bool {
        value.is_some_and(|v| (v - expected).abs() / expected <= 0.01)
    }

    #[test]
    fn counts_rates_and_percentiles_come_out_of_the_aggregates() {
        let inputs = StatisticsInputs {
            runs: vec![
                StatusAggregate {
                    parallel_runs: 2,
                    ..agg(0, ExecutionStatus::Completed, 3, 30, 6)
                },
                agg(0, ExecutionStatus::Failed, 1, 10, 0),
            ],
            run_duration_buckets: durations(0, &[400.0, 100.0, 300.0, 200.0]),
            node_counts: vec![("Fast".into(), 20, 0, 6), ("Slow".into(), 20, 5, 0)],
            node_duration_buckets: vec![
                ("Fast".into(), bucket_of(10.0), 20),
                ("Slow".into(), bucket_of(1_000.0), 20),
            ],
            run_parallelism_buckets: [1.0, 2.5, 1.0, 3.0]
                .iter()
                .map(|v| (RUN_SCALE.bucket_of(*v), 1))
                .collect(),
            critical_nodes: vec![("Slow".into(), 2, 1_500.0), ("Fast".into(), 1, 20.0)],
            ..StatisticsInputs::default()
        };
        let stats = assemble(StatisticsFilter::default(), inputs);
        assert_eq!(stats.parallelism.runs, 4);
        assert!(close(stats.parallelism.p50, 1.0) && close(stats.parallelism.p95, 3.0));
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
        assert!(close(stats.duration_ms.p50, 200.0), "{:?}", stats.duration_ms);
        assert!(close(stats.duration_ms.p99, 400.0), "{:?}", stats.duration_ms);
        assert_eq!(stats.cache_hit_rate, Some(0.15));
        assert_eq!((stats.total_llm_calls, stats.total_tokens), (8, 400));
        assert_eq!(stats.node_types[0].node_id, "Slow", "slowest first");
        assert_eq!(stats.node_types[0].failure_rate, 0.25);
        assert!((stats.node_types[1].duration_ms.p50.unwrap() - 10.0).abs() < 0.5);
        assert!(stats.timeline.is_empty(), "one bucket: no figures over time");
        assert_eq!(stats.accuracy.run_percentiles, RUN_SCALE.relative_error());
    }

    #[test]
    fn buckets_run_from_first_to_last_without_gaps_and_the_heat_map_follows_node_order() {
        let mut run_duration_buckets = durations(480_000, &[100.0, 300.0]);
        run_duration_buckets.extend(durations(480_012, &[50.0]));
        let stats = assemble(
            StatisticsFilter::default(),
            StatisticsInputs {
                bucket_hours: 6,
                range: Some((480_000, 480_012)),
                runs: vec![
                    agg(480_000, ExecutionStatus::Completed, 2, 0, 0),
                    agg(480_012, ExecutionStatus::Failed, 1, 0, 0),
                    agg(480_012, ExecutionStatus::Completed, 1, 0, 0),
                ],
                run_duration_buckets,
                node_counts: vec![("Fast".into(), 2, 0, 0), ("Slow".into(), 1, 0, 0)],
                node_duration_buckets: vec![
                    ("Fast".into(), bucket_of(10.0), 2),
                    ("Slow".into(), bucket_of(900.0), 1),
                ],
                node_duration_series: vec![
                    (480_000, "Fast".into(), bucket_of(10.0), 2),
                    (480_012, "Slow".into(), bucket_of(900.0), 1),
                ],
                ..StatisticsInputs::default()
            },
        );
        let runs: Vec<_> = stats.timeline.iter().map(|b| (b.runs, b.failed)).collect();
        assert_eq!(
            runs,
            vec![(2, 0), (0, 0), (2, 1)],
            "the empty middle bucket is kept"
        );
        assert_eq!(stats.timeline[0].start.to_rfc3339(), "2024-10-04T00:00:00+00:00");
        assert!(close(stats.timeline[0].duration_ms.p50, 100.0));
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
