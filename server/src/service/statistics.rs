//! Turns what a store read (`StatisticsInputs`) into `Statistics`: counts,
//! rates and percentiles are computed here once for every backend.

use app::histogram::{exact_quantile, quantile};
use app::model::{
    DurationPercentiles, ExecutionStatus, NodeTypeStatistics, Statistics, StatisticsFilter, StatusCounts,
};
use app::store::StatisticsInputs;

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
    Statistics {
        filter,
        executions,
        duration_ms,
        node_types,
        cache_hit_rate: (nodes > 0).then(|| cached as f64 / nodes as f64),
        total_llm_calls: llm_calls,
        total_tokens: tokens,
    }
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
            node_counts: vec![("Fast".into(), 20, 0, 6), ("Slow".into(), 20, 5, 0)],
            node_duration_buckets: vec![
                ("Fast".into(), bucket_of(10.0), 20),
                ("Slow".into(), bucket_of(1_000.0), 20),
            ],
        };
        let stats = assemble(StatisticsFilter::default(), inputs);
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
