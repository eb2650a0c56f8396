//! Log-scale duration histograms: how percentiles are kept without storing or
//! scanning every value. A bucket's bounds grow by a fixed factor, so the
//! value read back for a bucket (the geometric middle of its bounds) is within
//! `sqrt(growth) - 1` of any value in it — the trade Prometheus, HdrHistogram
//! and DDSketch make for the same reason. Histograms of the same scale merge
//! by adding counts, which is what lets the store keep them per hour.

/// A log-scale bucketing of positive values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogScale {
    /// Growth factor between consecutive bucket bounds.
    pub growth: f64,
    /// Values at or below this share bucket 0.
    pub smallest: f64,
}

/// Node visit durations (ms): buckets grow by 10 %, values within ~4.9 %.
pub const NODE_SCALE: LogScale = LogScale {
    growth: 1.1,
    smallest: 0.01,
};

/// Run durations (ms) and run parallelism: buckets grow by 2 %, so a
/// percentile is within 1 % (`sqrt(1.02) - 1` ≈ 0.995 %) of the exact one.
/// The SQL that buckets runs on write (migration 0008) uses the same buckets:
/// PostgreSQL with this formula, SQLite (no `LN()` as bundled) from a table
/// of the buckets' upper bounds, `0.01 * 1.02^n`.
pub const RUN_SCALE: LogScale = LogScale {
    growth: 1.02,
    smallest: 0.01,
};

impl LogScale {
    /// The largest relative error of a value read back from a bucket.
    pub fn relative_error(self) -> f64 {
        self.growth.sqrt() - 1.0
    }

    /// The bucket a value falls into.
    pub fn bucket_of(self, value: f64) -> i32 {
        if value <= self.smallest {
            0
        } else {
            ((value / self.smallest).ln() / self.growth.ln()).ceil() as i32
        }
    }

    /// A representative value for a bucket: the geometric middle of its bounds.
    pub fn bucket_value(self, bucket: i32) -> f64 {
        if bucket <= 0 {
            self.smallest
        } else {
            self.smallest * self.growth.powf(f64::from(bucket) - 0.5)
        }
    }

    /// The `q`-quantile (0..=1) of a histogram given as `(bucket, count)`
    /// pairs sorted by bucket; `None` when it is empty.
    pub fn quantile(self, buckets: &[(i32, i64)], q: f64) -> Option<f64> {
        let total: i64 = buckets.iter().map(|(_, c)| c).sum();
        if total <= 0 {
            return None;
        }
        // The rank of the q-quantile among `total` values, 1-based ("nearest rank").
        let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
        let mut seen = 0;
        for (bucket, count) in buckets {
            seen += count;
            if seen >= rank {
                return Some(self.bucket_value(*bucket));
            }
        }
        buckets.last().map(|(b, _)| self.bucket_value(*b))
    }
}

/// The node-duration bucket a duration falls into.
pub fn bucket_of(ms: f64) -> i32 {
    NODE_SCALE.bucket_of(ms)
}

/// A representative duration for a node-duration bucket.
pub fn bucket_value(bucket: i32) -> f64 {
    NODE_SCALE.bucket_value(bucket)
}

/// The `q`-quantile (0..=1) of a node-duration histogram given as
/// `(bucket, count)` pairs sorted by bucket; `None` when it is empty.
pub fn quantile(buckets: &[(i32, i64)], q: f64) -> Option<f64> {
    NODE_SCALE.quantile(buckets, q)
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
    fn run_scale_percentiles_are_within_one_percent() {
        assert!(RUN_SCALE.relative_error() < 0.01);
        // 1,000 runs from 1 ms to about 20 minutes, spread log-uniformly.
        let mut values: Vec<f64> = (0..1_000).map(|i| 1.0 * 1.0124_f64.powi(i)).collect();
        let mut buckets: std::collections::BTreeMap<i32, i64> = Default::default();
        for v in &values {
            *buckets.entry(RUN_SCALE.bucket_of(*v)).or_default() += 1;
        }
        let buckets: Vec<(i32, i64)> = buckets.into_iter().collect();
        for q in [0.5, 0.95, 0.99] {
            let exact = exact_quantile(&mut values, q).unwrap();
            let estimate = RUN_SCALE.quantile(&buckets, q).unwrap();
            assert!(
                (estimate - exact).abs() / exact <= 0.01,
                "q{q}: {estimate} vs {exact}"
            );
        }
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
