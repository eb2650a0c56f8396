//! Which level of the aggregates answers which hours of a window (#16).
//!
//! Every aggregate table is kept per hour, and migration 0015 keeps its day
//! and week sums beside it (`<table>_days`, `<table>_weeks`; a row's `hour`
//! is the first hour of its day or week). A read over months then sums a row
//! per day or week instead of a row per hour: the coarsest level whose
//! periods lie whole inside the window, and inside one time bucket of the
//! chart, answers the middle, and finer levels answer the edges. So the rows
//! read grow with the weeks of a window plus at most 2 × 6 days and
//! 2 × 23 hours, not with its hours.

use super::time::hour_bucket_sql;
use sqlx::{Database, Encode, QueryBuilder, Type};

/// A level of the aggregates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Hour,
    Day,
    Week,
}

impl Level {
    /// Finest first.
    pub const ALL: [Level; 3] = [Level::Hour, Level::Day, Level::Week];

    /// Hours in one period of the level.
    pub const fn hours(self) -> i64 {
        match self {
            Level::Hour => 1,
            Level::Day => 24,
            Level::Week => 168,
        }
    }

    /// The table holding `hourly`'s rows at this level.
    pub fn table(self, hourly: &str) -> String {
        match self {
            Level::Hour => hourly.to_owned(),
            Level::Day => format!("{hourly}_days"),
            Level::Week => format!("{hourly}_weeks"),
        }
    }
}

/// An aggregate table kept per hour, with its day and week sums.
struct Aggregate {
    /// The hourly table.
    table: &'static str,
    /// Key columns after `graph_type, hour`.
    keys: &'static [&'static str],
    /// Value columns, summed at every level.
    sums: &'static [&'static str],
    /// The value that is zero when a row counts nothing.
    count: &'static str,
    /// Kept by the run triggers of migration 0008 (the node tables are
    /// written per batch, and cleared by hour on retention).
    of_runs: bool,
}

const AGGREGATES: [Aggregate; 5] = [
    Aggregate {
        table: "run_stats",
        keys: &["status"],
        sums: &["runs", "nodes", "cached", "llm_calls", "tokens", "parallel_runs"],
        count: "runs",
        of_runs: true,
    },
    Aggregate {
        table: "run_buckets",
        keys: &["measure", "bucket"],
        sums: &["count"],
        count: "count",
        of_runs: true,
    },
    Aggregate {
        table: "critical_path_stats",
        keys: &["node_id"],
        sums: &["runs", "ms"],
        count: "runs",
        of_runs: true,
    },
    Aggregate {
        table: "node_stats",
        keys: &["node_id"],
        sums: &["visits", "failed", "cached"],
        count: "visits",
        of_runs: false,
    },
    Aggregate {
        table: "node_duration_buckets",
        keys: &["node_id", "bucket"],
        sums: &["count"],
        count: "count",
        of_runs: false,
    },
];

/// Every aggregate table at every level.
pub fn all_tables() -> Vec<String> {
    AGGREGATES
        .iter()
        .flat_map(|a| Level::ALL.map(|level| level.table(a.table)))
        .collect()
}

/// What retention clears after it deleted runs: `(table, column)` of every
/// aggregate table whose rows before the cutoff's hour go once `column` is
/// zero. The hourly run aggregates and every level lost the deleted runs'
/// shares through their triggers (a chunk may leave runs of these hours for
/// the next one, whose rows must stay); the hourly node tables are cleared
/// by hour instead, before this.
pub fn emptied_by_retention() -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = AGGREGATES
        .iter()
        .filter(|a| a.of_runs)
        .map(|a| (a.table.to_owned(), a.count))
        .collect();
    for level in [Level::Day, Level::Week] {
        out.extend(AGGREGATES.iter().map(|a| (level.table(a.table), a.count)));
    }
    out
}

/// Hours `from..=to` (`None`: open) answered by one level's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Piece {
    pub level: Level,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// Splits the hours `first..=last` (`None`: open) into pieces for a chart
/// of `width`-hour time buckets (0: one bucket for everything). A level can
/// answer only if each of its periods falls in one bucket, that is when
/// `width` is a multiple of its period (buckets start at multiples of the
/// width, as `time::hour_bucket_sql` puts them).
pub fn pieces(first: Option<i64>, last: Option<i64>, width: i64) -> Vec<Piece> {
    let coarsest = Level::ALL
        .iter()
        .rposition(|l| width == 0 || width % l.hours() == 0)
        .unwrap_or(0);
    let mut out = Vec::new();
    split(coarsest, first, last, &mut out);
    out
}

fn split(level: usize, first: Option<i64>, last: Option<i64>, out: &mut Vec<Piece>) {
    if let (Some(f), Some(l)) = (first, last) {
        if f > l {
            return;
        }
    }
    let this = Level::ALL[level];
    if this == Level::Hour {
        out.push(Piece {
            level: this,
            from: first,
            to: last,
        });
        return;
    }
    let p = this.hours();
    // The first period that starts at or after `first`, and the last that
    // ends at or before `last`, in hours.
    let from = first.map(|f| f.div_euclid(p) * p + if f.rem_euclid(p) == 0 { 0 } else { p });
    let to = last.map(|l| (l + 1).div_euclid(p) * p - 1);
    if let (Some(a), Some(b)) = (from, to) {
        if a > b {
            return split(level - 1, first, last, out);
        }
    }
    out.push(Piece {
        level: this,
        from,
        to,
    });
    if let (Some(f), Some(a)) = (first, from) {
        split(level - 1, Some(f), Some(a - 1), out);
    }
    if let (Some(l), Some(b)) = (last, to) {
        split(level - 1, Some(b + 1), Some(l), out);
    }
}

/// Appends the rows of `hourly`'s aggregates covering hours `first..=last`
/// for `width`-hour buckets, at whichever levels answer them: `SELECT
/// {columns} FROM … WHERE …` for each piece, joined by `UNION ALL`.
/// `graph_type` narrows every piece; `and` (SQL, may be empty) is added to
/// each piece's conditions.
pub fn push_rows<'a, DB>(
    q: &mut QueryBuilder<'a, DB>,
    hourly: &str,
    columns: &str,
    graph_type: Option<&'a str>,
    (first, last): (Option<i64>, Option<i64>),
    width: i64,
    and: &str,
) where
    DB: Database,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let pieces = pieces(first, last, width);
    if pieces.is_empty() {
        // No hours (a window that ends before it starts): no rows.
        q.push(format!("SELECT {columns} FROM {hourly} WHERE 1 = 0"));
    }
    for (i, piece) in pieces.into_iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push(format!(
            "SELECT {columns} FROM {} WHERE 1 = 1",
            piece.level.table(hourly)
        ));
        if let Some(graph_type) = graph_type {
            q.push(" AND graph_type = ").push_bind(graph_type);
        }
        if let Some(from) = piece.from {
            q.push(" AND hour >= ").push_bind(from);
        }
        if let Some(to) = piece.to {
            q.push(" AND hour <= ").push_bind(to);
        }
        q.push(and);
    }
}

/// For `tracevis check`: every level table, with a recount of its rows
/// from the hourly ones and a read of its stored rows, both as `key,
/// values…` ordered by key, and both without rows whose count is zero (they
/// stay until retention; a float sum such as `ms` may keep a rounding
/// residue there, so the count alone decides). `key` renders key
/// expressions as one text and `values` renders value expressions as the
/// select list.
pub fn check_queries(
    key: impl Fn(&[&str]) -> String,
    values: impl Fn(&[String]) -> String,
) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for a in &AGGREGATES {
        for level in [Level::Day, Level::Week] {
            let period = hour_bucket_sql(level.hours());
            let recount_keys: Vec<&str> = ["graph_type", period.as_str()]
                .into_iter()
                .chain(a.keys.iter().copied())
                .collect();
            let stored_keys: Vec<&str> = ["graph_type", "hour"]
                .into_iter()
                .chain(a.keys.iter().copied())
                .collect();
            let totals: Vec<String> = a.sums.iter().map(|v| format!("SUM({v})")).collect();
            let stored: Vec<String> = a.sums.iter().map(|v| (*v).to_owned()).collect();
            let (hourly, count, table) = (a.table, a.count, level.table(a.table));
            out.push((
                table.clone(),
                format!(
                    "SELECT {} AS k, {} FROM {hourly} GROUP BY {} HAVING SUM({count}) <> 0 ORDER BY 1",
                    key(&recount_keys),
                    values(&totals),
                    recount_keys.join(", "),
                ),
                format!(
                    "SELECT {} AS k, {} FROM {table} WHERE {count} <> 0 ORDER BY 1",
                    key(&stored_keys),
                    values(&stored),
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(level: Level, from: i64, to: i64) -> Piece {
        Piece {
            level,
            from: Some(from),
            to: Some(to),
        }
    }

    /// Every hour of `first..=last` is answered by exactly one piece, each
    /// piece's rows lie whole inside it, and no piece is finer than needed.
    fn covers_once(first: i64, last: i64, width: i64) {
        let pieces = pieces(Some(first), Some(last), width);
        let mut hours: Vec<i64> = Vec::new();
        for piece in &pieces {
            let (from, to) = (piece.from.unwrap(), piece.to.unwrap());
            let period = piece.level.hours();
            assert_eq!(from.rem_euclid(period), 0, "{piece:?}");
            assert_eq!((to + 1).rem_euclid(period), 0, "{piece:?}");
            if width > 0 {
                assert_eq!(width % period, 0, "{piece:?} in {width}-hour buckets");
            }
            hours.extend(from..=to);
        }
        hours.sort_unstable();
        assert_eq!(hours, (first..=last).collect::<Vec<_>>(), "{pieces:?}");
    }

    #[test]
    fn a_window_of_months_reads_weeks_then_days_then_hours_at_its_edges() {
        // From hour 5 of day 1 to hour 10 of day 40 (weeks from the epoch).
        let (first, last) = (24 + 5, 40 * 24 + 10);
        let pieces = pieces(Some(first), Some(last), 168);
        assert_eq!(
            pieces,
            vec![
                p(Level::Week, 168, 5 * 168 - 1),
                p(Level::Day, 48, 167),
                p(Level::Hour, 29, 47),
                p(Level::Day, 5 * 168, 40 * 24 - 1),
                p(Level::Hour, 40 * 24, 40 * 24 + 10),
            ]
        );
        for width in [0, 1, 2, 3, 6, 12, 24, 48, 168, 336, 720] {
            covers_once(first, last, width);
            covers_once(-1000, 77, width);
            covers_once(-1, 0, width);
            covers_once(0, 0, width);
        }
    }

    #[test]
    fn buckets_narrower_than_a_day_read_hours_and_open_ends_stay_open() {
        assert_eq!(pieces(Some(3), Some(500), 12), vec![p(Level::Hour, 3, 500)]);
        assert!(
            pieces(Some(500), Some(3), 0).is_empty(),
            "a window that ends before it starts"
        );
        // 720-hour buckets hold whole days but not whole weeks.
        assert!(pieces(Some(0), Some(10_000), 720)
            .iter()
            .all(|p| p.level != Level::Week));
        let open = pieces(None, Some(200), 0);
        assert_eq!(
            open,
            vec![
                Piece {
                    level: Level::Week,
                    from: None,
                    to: Some(167)
                },
                p(Level::Day, 168, 191),
                p(Level::Hour, 192, 200),
            ]
        );
        assert_eq!(
            pieces(None, None, 0),
            vec![Piece {
                level: Level::Week,
                from: None,
                to: None
            }]
        );
    }
}
