//! Stored times are microseconds since the Unix epoch; these convert them.

use app::error::TraceError;
use chrono::{DateTime, Utc};

/// A time as stored.
pub fn to_micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A stored time back as a UTC time.
pub fn from_micros(micros: i64) -> Result<DateTime<Utc>, TraceError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| TraceError::Internal(format!("stored time {micros} is out of range")))
}

/// Milliseconds between two times, as stored in `total_duration_ms`.
pub fn millis_between(start: &DateTime<Utc>, end: &DateTime<Utc>) -> f64 {
    (to_micros(end) - to_micros(start)) as f64 / 1_000.0
}

/// The hour bucket (hours since the epoch) per-node statistics are kept in.
pub fn hour_of(t: &DateTime<Utc>) -> i64 {
    to_micros(t).div_euclid(3_600_000_000)
}

/// Microseconds in an hour.
const HOUR_MICROS: i64 = 3_600_000_000;

/// At most this many time buckets in the statistics over time: enough for a
/// readable chart, few enough that the heat map's rows stay small.
pub const MAX_TIME_BUCKETS: i64 = 48;

/// The bucket width, in hours, for runs that started between `first` and
/// `last` (stored microseconds): the smallest of a few widths (whole hours,
/// days, weeks counted from the epoch) whose buckets, aligned to multiples of
/// the width as the SQL below aligns them, number at most [`MAX_TIME_BUCKETS`].
pub fn bucket_hours(first: i64, last: i64) -> i64 {
    // From a day up, every width is a whole number of days, and from a week
    // up of weeks, so the day and week sums of the aggregates answer whole
    // buckets (`aggregate_levels`).
    const WIDTHS: [i64; 10] = [1, 2, 3, 6, 12, 24, 48, 168, 336, 672];
    const WEEK: i64 = 168;
    let (first, last) = (first.div_euclid(HOUR_MICROS), last.div_euclid(HOUR_MICROS));
    let buckets = |w: i64| last.div_euclid(w) - first.div_euclid(w) + 1;
    WIDTHS
        .into_iter()
        .find(|&w| buckets(w) <= MAX_TIME_BUCKETS)
        .unwrap_or_else(|| ((last - first) / (MAX_TIME_BUCKETS - 1) / WEEK + 1) * WEEK)
}

/// The bucket (its first hour since the epoch) of a stored time, exactly as
/// [`hour_bucket_sql`] computes it from the hour (both round down, also
/// before 1970).
pub fn start_bucket(micros: i64, width: i64) -> i64 {
    micros.div_euclid(HOUR_MICROS).div_euclid(width) * width
}

/// SQL for the bucket of an hourly statistics row's `hour` column, rounded
/// down to a multiple of `width` (SQL's `/` and `%` truncate towards zero).
pub fn hour_bucket_sql(width: i64) -> String {
    format!("(hour - ((hour % {width}) + {width}) % {width})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_width_keeps_the_series_short() {
        let day = 24 * HOUR_MICROS;
        assert_eq!(bucket_hours(0, 0), 1);
        assert_eq!(bucket_hours(0, 47 * HOUR_MICROS), 1);
        assert_eq!(bucket_hours(0, 48 * HOUR_MICROS), 2);
        // 4 days less an hour, starting off the 2-hour grid: 49 two-hour
        // buckets once aligned, so 3-hour ones.
        assert_eq!(bucket_hours(HOUR_MICROS, 96 * HOUR_MICROS), 3);
        assert_eq!(bucket_hours(0, 30 * day), 24);
        assert_eq!(bucket_hours(0, 300 * day), 168);
        assert_eq!(bucket_hours(0, 365 * day), 336);
        let century = bucket_hours(0, 100 * 365 * day);
        assert!((100 * 365 * day / HOUR_MICROS) / century < MAX_TIME_BUCKETS);
        assert_eq!(century % 168, 0, "whole weeks");
        // Before 1970 the buckets still hold whole days.
        assert_eq!(start_bucket(-HOUR_MICROS, 24), -24);
    }
}
