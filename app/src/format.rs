//! How numbers and times read on screen: one place, so every page agrees.

use chrono::{DateTime, Utc};

/// A duration for people: `850 ms`, `12.4 s`, `3 m 05 s`.
pub fn duration_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1_000.0)
    } else {
        let secs = (ms / 1_000.0).round() as i64;
        format!("{} m {:02} s", secs / 60, secs % 60)
    }
}

/// A moment in UTC, to the second: `2025-10-21 10:00:00`.
pub fn timestamp(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Pretty-printed JSON for display (always as text, never as HTML).
pub fn json_pretty<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("<unprintable: {e}>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration_ms(0.5), "0.50 ms");
        assert_eq!(duration_ms(850.0), "850 ms");
        assert_eq!(duration_ms(12_400.0), "12.4 s");
        assert_eq!(duration_ms(185_000.0), "3 m 05 s");
    }
}
