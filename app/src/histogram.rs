//! Log-scale duration histograms: how per-node-type duration percentiles are
//! kept without storing or scanning every visit. Buckets grow by 10 %, so a
//! percentile read from them is within about 5 % of the exact value — the
//! trade Prometheus and HdrHistogram make for the same reason.

/// Growth factor between consecutive bucket bounds.
const GROWTH: f64 = 1.1;
/// Durations at or below this (ms) share bucket 0.
const SMALLEST_MS: f64 = 0.01;

/// The bucket a duration falls into.
pub fn bucket_of(ms: f64) -> i32 {
    if ms <= SMALLEST_MS {
        0
    } else {
        ((ms / SMALLEST_MS).ln() / GROWTH.ln()).ceil() as i32
    }
}

/// A representative duration for a bucket: the geometric middle of its bounds.
pub fn bucket_value(bucket: i32) -> f64 {
    if bucket <= 0 {
        SMALLEST_MS
    } else {
        SMALLEST_MS * GROWTH.powf(f64::from(bucket) - 0.5)
    }
}

/// The `q`-quantile (0..=1) of a histogram given as `(bucket, count)` pairs
/// sorted by bucket; `None` when it is empty.
pub fn quantile(buckets: &[(i32, i64)], q: f64) -> Option<f64> {
    let total: i64 = buckets.iter().map(|(_, c)| c).sum();
    if total == 0 {
        return None;
    }
    // The rank of the q-quantile among `total` values, 1-based ("nearest rank").
    let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    for (bucket, count) in buckets {
        seen += count;
        if seen >= rank {
            return Some(bucket_value(*bucket));
        }
    }
    buckets.last().map(|(b, _)| bucket_value(*b))
}

/// The `q`-quantile of exact values by the nearest-rank method (sorts them).
pub fn exact_quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((q * values.len() as f64).ceil() as usize).clamp(1, values.len());
    Some(values[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_value_is_within_five_percent_of_any_duration_in_it() {
        for ms in [0.5, 3.0, 17.0, 250.0, 1_234.5, 98_765.0] {
            let value = bucket_value(bucket_of(ms));
            assert!((value - ms).abs() / ms < 0.05, "{ms} -> {value}");
        }
    }

    #[test]
    fn quantiles_of_a_histogram_follow_the_counts() {
        let mut buckets: Vec<(i32, i64)> = Vec::new();
        // 90 fast visits of 10 ms, 10 slow ones of 1 s.
        buckets.push((bucket_of(10.0), 90));
        buckets.push((bucket_of(1_000.0), 10));
        let p50 = quantile(&buckets, 0.5).unwrap();
        let p95 = quantile(&buckets, 0.95).unwrap();
        assert!((p50 - 10.0).abs() < 0.5, "{p50}");
        assert!((p95 - 1_000.0).abs() < 50.0, "{p95}");
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn exact_quantiles_use_the_nearest_rank() {
        let mut values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(exact_quantile(&mut values, 0.5), Some(50.0));
        assert_eq!(exact_quantile(&mut values, 0.99), Some(99.0));
        assert_eq!(exact_quantile(&mut values, 1.0), Some(100.0));
        assert_eq!(exact_quantile(&mut [], 0.5), None);
    }
}
