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
