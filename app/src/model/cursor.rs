//! Keyset ("cursor") pagination of the run list: a page starts right after
//! the last run of the page before, so page 10,000 costs what page 1 costs
//! (an offset makes the database walk every skipped run).
//!
//! A cursor is text a client passes back unchanged. It holds the sort, the
//! last run's sort key and a checksum over those and the filter it was made
//! for, so a cursor edited by hand or used with another filter or sort is
//! refused (400 naming `cursor`) instead of silently showing the wrong runs.
//! The checksum is not a signature: a forged cursor can only name a position
//! in the list the caller may read anyway.

use super::{ExecutionFilter, ListSort};
use serde::{Deserialize, Serialize};

/// Where the next page of a run list starts: after this run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListCursor {
    /// The sort the cursor was made for.
    pub sort: ListSort,
    /// The last run's start, in microseconds since the epoch.
    pub start_micros: i64,
    /// The last run's duration (`ListSort::Slowest` only; `None` for a run
    /// without one, which sort last).
    pub duration_ms: Option<f64>,
    /// The last run's id.
    pub execution_id: String,
    /// The checksum the text carried.
    checksum: u64,
}

/// Separates the fields of a cursor's text: unreserved in URLs, and never in
/// a run id (ASCII letters, digits and `. _ : -`).
const SEPARATOR: char = '~';

impl ListCursor {
    /// The cursor after the run with these sort keys, for `filter`.
    pub fn after(
        filter: &ExecutionFilter,
        start_micros: i64,
        duration_ms: Option<f64>,
        execution_id: &str,
    ) -> Self {
        let duration_ms = duration_ms.filter(|_| filter.sort == ListSort::Slowest);
        let mut cursor = Self {
            sort: filter.sort,
            start_micros,
            duration_ms,
            execution_id: execution_id.to_owned(),
            checksum: 0,
        };
        cursor.checksum = cursor.expected_checksum(filter);
        cursor
    }

    /// The text form: `{n|d}~{start}~{duration bits|-}~{checksum}~{id}`.
    pub fn encode(&self) -> String {
        let sort = match self.sort {
            ListSort::Newest => 'n',
            ListSort::Slowest => 'd',
        };
        let duration = self
            .duration_ms
            .map(|d| format!("{:x}", d.to_bits()))
            .unwrap_or_else(|| "-".into());
        format!(
            "{sort}{SEPARATOR}{}{SEPARATOR}{duration}{SEPARATOR}{:016x}{SEPARATOR}{}",
            self.start_micros, self.checksum, self.execution_id
        )
    }

    /// Reads a cursor's text; the message says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        const BROKEN: &str = "is not a cursor this server gave out (pass `next_cursor` back unchanged)";
        let mut parts = text.splitn(5, SEPARATOR);
        let mut next = || parts.next().ok_or_else(|| BROKEN.to_owned());
        let sort = match next()? {
            "n" => ListSort::Newest,
            "d" => ListSort::Slowest,
            _ => return Err(BROKEN.into()),
        };
        let start_micros = next()?.parse::<i64>().map_err(|_| BROKEN.to_owned())?;
        let duration_ms = match next()? {
            "-" => None,
            bits => Some(f64::from_bits(
                u64::from_str_radix(bits, 16).map_err(|_| BROKEN.to_owned())?,
            ))
            .filter(|d| d.is_finite()),
        };
        let checksum = u64::from_str_radix(next()?, 16).map_err(|_| BROKEN.to_owned())?;
        let execution_id = next()?;
        super::RecordId::parse(execution_id).map_err(|_| BROKEN.to_owned())?;
        Ok(Self {
            sort,
            start_micros,
            duration_ms,
            execution_id: execution_id.to_owned(),
            checksum,
        })
    }

    /// Whether this cursor was made for `filter` (its filters and sort) and
    /// left unchanged.
    pub fn check(&self, filter: &ExecutionFilter) -> Result<(), String> {
        if self.sort != filter.sort {
            return Err(format!(
                "was made for sort={}, not sort={} (start again from the first page)",
                self.sort.as_param(),
                filter.sort.as_param()
            ));
        }
        if self.checksum != self.expected_checksum(filter) {
            return Err("was made for other filters or was changed (start again from the first page)".into());
        }
        Ok(())
    }

    /// FNV-1a over the cursor's keys and the filter's fields: a checksum
    /// that changes with any of them (a few lines, no dependency in the
    /// browser bundle).
    fn expected_checksum(&self, filter: &ExecutionFilter) -> u64 {
        let filters = serde_json::json!([
            filter.graph_type,
            filter.status.map(|s| s.as_str()),
            filter.start_time,
            filter.end_time,
            filter.id_contains,
            filter.metadata,
            filter.q.as_ref().map(|q| q.as_str()),
            filter.sort.as_param(),
        ]);
        let text = format!(
            "{}|{:?}|{}|{filters}",
            self.start_micros,
            self.duration_ms.map(f64::to_bits),
            self.execution_id
        );
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExecutionStatus;

    fn filter(sort: ListSort) -> ExecutionFilter {
        ExecutionFilter {
            graph_type: Some("agent".into()),
            status: Some(ExecutionStatus::Failed),
            sort,
            ..ExecutionFilter::default()
        }
    }

    #[test]
    fn a_cursor_round_trips_through_its_text() {
        for (sort, duration) in [(ListSort::Newest, None), (ListSort::Slowest, Some(1234.5))] {
            let f = filter(sort);
            let cursor = ListCursor::after(&f, 1_700_000_000_000_000, duration, "run-1:a");
            let parsed = ListCursor::parse(&cursor.encode()).unwrap();
            assert_eq!(parsed, cursor);
            assert_eq!(parsed.check(&f), Ok(()));
        }
    }

    #[test]
    fn an_edited_or_foreign_cursor_is_refused() {
        let f = filter(ListSort::Newest);
        let text = ListCursor::after(&f, 1_700_000_000_000_000, None, "run-1").encode();
        // Another start time, same checksum.
        let edited = text.replacen("1700000000000000", "1700000000000001", 1);
        assert!(ListCursor::parse(&edited).unwrap().check(&f).is_err());
        // Another filter.
        let other = ExecutionFilter {
            graph_type: Some("other".into()),
            ..f.clone()
        };
        assert!(ListCursor::parse(&text).unwrap().check(&other).is_err());
        // Another sort.
        let slowest = filter(ListSort::Slowest);
        assert!(ListCursor::parse(&text)
            .unwrap()
            .check(&slowest)
            .unwrap_err()
            .contains("sort="));
        for broken in [
            "",
            "x",
            "n~1~-~zz~run",
            "n~1~-~0~run id",
            "q~1~-~0~run",
            "n~~-~0~r",
        ] {
            assert!(ListCursor::parse(broken).is_err(), "{broken:?}");
        }
    }
}
