//! How numbers and times read on screen: one place, so every page agrees.
//!
//! Times are written field by field rather than with chrono's `format`: its
//! strftime parser and formatter would be compiled into the browser's WASM
//! for four fixed layouts.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};

/// A duration for people: `850 ms`, `12.4 s`, `3 m 05 s`.
pub fn duration_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1_000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1_000.0)
    } else if ms < 3_600_000.0 {
        let secs = (ms / 1_000.0).round() as i64;
        format!("{} m {:02} s", secs / 60, secs % 60)
    } else if ms < 86_400_000.0 {
        let mins = (ms / 60_000.0).round() as i64;
        format!("{} h {:02} m", mins / 60, mins % 60)
    } else {
        // Days and hours: a run (or a producer's clock) can span weeks.
        let hours = (ms / 3_600_000.0).round() as i64;
        format!("{} d {} h", hours / 24, hours % 24)
    }
}

/// A tick's label: `0`, `500 ms`, `1.5 s`, `2 m 30 s`.
pub fn tick_label(ms: f64) -> String {
    // Steps below a millisecond are multiples of 0.1 etc.: round away float noise.
    let ms = (ms * 1_000.0).round() / 1_000.0;
    if ms == 0.0 {
        "0".into()
    } else if ms < 1_000.0 {
        format!("{ms} ms")
    } else if ms < 60_000.0 {
        format!("{} s", ms / 1_000.0)
    } else {
        let secs = (ms / 1_000.0).round() as i64;
        match secs % 60 {
            0 => format!("{} m", secs / 60),
            s => format!("{} m {s} s", secs / 60),
        }
    }
}

/// `1 node`, `2 nodes`: a count with its noun.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A moment in UTC, to the second: `2025-10-21 10:00:00`.
pub fn timestamp(t: &DateTime<Utc>) -> String {
    format!("{} {:02}:{:02}:{:02}", date(t), t.hour(), t.minute(), t.second())
}

/// A moment in UTC, to the minute: `2025-10-21 10:00`.
pub fn minute(t: &DateTime<Utc>) -> String {
    format!("{} {:02}:{:02}", date(t), t.hour(), t.minute())
}

/// A day: `2025-10-21`.
pub fn date(t: &DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

/// A moment as a `datetime-local` input holds it (and as filter links carry
/// it): `2025-10-21T10:00`, read as UTC.
pub fn local_input(t: &DateTime<Utc>) -> String {
    format!("{}T{:02}:{:02}", date(t), t.hour(), t.minute())
}

/// Reads `local_input`'s layout back; seconds (`T10:00:30`) are accepted, as
/// browsers send them when the input's step asks for them.
pub fn parse_local_input(text: &str) -> Option<DateTime<Utc>> {
    let (day, time) = text.trim().split_once('T')?;
    let mut ymd = day.splitn(3, '-').map(str::parse::<u32>);
    let (y, m, d) = (ymd.next()?.ok()?, ymd.next()?.ok()?, ymd.next()?.ok()?);
    let mut hms = time.splitn(3, ':').map(str::parse::<u32>);
    let (h, mi) = (hms.next()?.ok()?, hms.next()?.ok()?);
    let s = hms.next().transpose().ok()?.unwrap_or(0);
    let naive = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)?.and_hms_opt(h, mi, s)?;
    Some(Utc.from_utc_datetime(&naive))
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
        assert_eq!(duration_ms(3_600_000.0 * 2.0 + 5.0 * 60_000.0), "2 h 05 m");
        assert_eq!(duration_ms(21_467_158_000.0), "248 d 11 h");
    }

    #[test]
    fn times_read_the_same_as_chrono_would_write_them() {
        let t = Utc.with_ymd_and_hms(2025, 3, 7, 9, 5, 4).unwrap();
        assert_eq!(timestamp(&t), t.format("%Y-%m-%d %H:%M:%S").to_string());
        assert_eq!(minute(&t), "2025-03-07 09:05");
        assert_eq!(date(&t), "2025-03-07");
        assert_eq!(local_input(&t), "2025-03-07T09:05");
    }

    #[test]
    fn a_datetime_local_value_reads_back_as_utc() {
        let t = Utc.with_ymd_and_hms(2025, 3, 7, 9, 5, 0).unwrap();
        assert_eq!(parse_local_input(&local_input(&t)), Some(t));
        assert_eq!(
            parse_local_input("2025-03-07T09:05:30"),
            Some(t + chrono::Duration::seconds(30))
        );
        for bad in [
            "",
            "2025-03-07",
            "2025-13-07T09:05",
            "2025-03-07T25:00",
            "2025-03-07T09:xx",
            "soon",
        ] {
            assert_eq!(parse_local_input(bad), None, "{bad:?}");
        }
    }
}
