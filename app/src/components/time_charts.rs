//! The metrics page's charts over time: runs per bucket (failures stacked),
//! run duration p50/p95/p99, and the node type × time heat map of p95
//! durations. HTML bars, an SVG line and a table — no chart library in the
//! WASM bundle, whose size is budgeted — and
//! every bar, point and cell links to the runs behind it.

use crate::format;
use crate::model::{NodeTypeSeries, TimeBucket};
use crate::url_state::with_query;
use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;

/// The run list for runs of `graph_type` that started in the bucket at `start`.
fn runs_href(graph_type: Option<&str>, start: DateTime<Utc>, bucket_hours: i64) -> String {
    let end = start + Duration::hours(bucket_hours);
    let mut pairs = vec![
        ("from", format::local_input(&start)),
        ("to", format::local_input(&end)),
    ];
    if let Some(g) = graph_type {
        pairs.push(("graph_type", g.to_owned()));
    }
    with_query("/", &pairs)
}

/// "2026-11-25 10:00" or, for day-wide buckets, "2026-11-25".
fn bucket_label(start: &DateTime<Utc>, bucket_hours: i64) -> String {
    if bucket_hours >= 24 {
        format::date(start)
    } else {
        format::minute(start)
    }
}

/// Runs per time bucket, the failed part in red; each bar opens those runs.
/// Bars are HTML links (not SVG) so they are focusable and named like any link.
#[component]
pub fn RunsOverTime(
    timeline: Vec<TimeBucket>,
    bucket_hours: i64,
    graph_type: Option<String>,
) -> impl IntoView {
    let max = timeline.iter().map(|b| b.runs).max().unwrap_or(0).max(1) as f64;
    let bars = timeline
        .iter()
        .map(|b| {
            let label = format!(
                "{}: {} runs, {} failed",
                bucket_label(&b.start, bucket_hours),
                b.runs,
                b.failed
            );
            let href = runs_href(graph_type.as_deref(), b.start, bucket_hours);
            let ok = (b.runs - b.failed) as f64 / max * 100.0;
            let failed = b.failed as f64 / max * 100.0;
            view! {
                <a class="bar" href=href title=label.clone() aria-label=label>
                    <span class="bar-failed" style=format!("height: {failed:.1}%")></span>
                    <span class="bar-ok" style=format!("height: {ok:.1}%")></span>
                </a>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>"Runs per " {bucket_name(bucket_hours)} " (failed: hatched, red), up to " {max as i64}</figcaption>
            <div class="bars" role="group" aria-label="Runs over time">{bars}</div>
            <AxisLabels timeline=timeline.clone() bucket_hours/>
        </figure>
    }
}

/// Run duration p50, p95 and p99 per bucket as three lines; the p95 points
/// are links to the bucket's runs.
#[component]
pub fn DurationOverTime(
    timeline: Vec<TimeBucket>,
    bucket_hours: i64,
    graph_type: Option<String>,
) -> impl IntoView {
    let max = timeline
        .iter()
        .filter_map(|b| b.duration_ms.p99.or(b.duration_ms.p95))
        .fold(1.0, f64::max);
    let slot = 100.0 / timeline.len().max(1) as f64;
    // Percent of the chart's width and height, shared by the lines and the points.
    let x = move |i: usize| i as f64 * slot + slot / 2.0;
    let y = move |ms: f64| 100.0 - ms / max * 96.0;
    let line = |pick: fn(&TimeBucket) -> Option<f64>| {
        timeline
            .iter()
            .enumerate()
            .filter_map(|(i, b)| pick(b).map(|ms| format!("{:.2},{:.2}", x(i), y(ms))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let points = timeline
        .iter()
        .enumerate()
        .filter_map(|(i, b)| {
            let p95 = b.duration_ms.p95?;
            let label = format!(
                "{}: p50 {}, p95 {}, p99 {}",
                bucket_label(&b.start, bucket_hours),
                ms(b.duration_ms.p50),
                ms(b.duration_ms.p95),
                ms(b.duration_ms.p99)
            );
            let href = runs_href(graph_type.as_deref(), b.start, bucket_hours);
            Some(view! {
                <a class="point" href=href title=label.clone() aria-label=label
                    style=format!("left: {:.2}%; top: {:.2}%", x(i), y(p95))></a>
            })
        })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>"Run duration per " {bucket_name(bucket_hours)} ": "
                <span class="key key-p50">"p50 (dotted)"</span> " " <span class="key key-p95">"p95 (solid, with points)"</span> " "
                <span class="key key-p99">"p99 (dashed)"</span> ", up to " {format::duration_ms(max)}</figcaption>
            <div class="plot" role="group" aria-label="Run duration over time">
                <svg viewBox="0 0 100 100" preserveAspectRatio="none" aria-hidden="true">
                    <polyline class="line-p99" points=line(|b| b.duration_ms.p99)></polyline>
                    <polyline class="line-p95" points=line(|b| b.duration_ms.p95)></polyline>
                    <polyline class="line-p50" points=line(|b| b.duration_ms.p50)></polyline>
                </svg>
                {points}
            </div>
            <AxisLabels timeline=timeline.clone() bucket_hours/>
        </figure>
    }
}

/// Node types (rows, slowest first) × time buckets (columns): each cell's
/// shade is its p95 against that node type's own slowest bucket, so a node
/// getting slower stands out whatever its scale.
#[component]
pub fn NodeHeatmap(
    rows: Vec<NodeTypeSeries>,
    timeline: Vec<TimeBucket>,
    bucket_hours: i64,
    graph_type: Option<String>,
) -> impl IntoView {
    let head = timeline
        .iter()
        .map(|b| view! { <th scope="col" title=bucket_label(&b.start, bucket_hours)><span class="visually-hidden">{bucket_label(&b.start, bucket_hours)}</span></th> })
        .collect_view();
    let body = rows
        .into_iter()
        .map(|row| {
            let slowest = row.p95_ms.iter().flatten().fold(0.0, |a: f64, b| a.max(*b));
            let cells = row
                .p95_ms
                .iter()
                .zip(&row.visits)
                .zip(&timeline)
                .map(|((p95, visits), bucket)| match p95 {
                    None => view! { <td class="heat heat-empty"></td> }.into_any(),
                    Some(p95) => {
                        let level = if slowest > 0.0 {
                            (p95 / slowest * 5.0).ceil().clamp(1.0, 5.0) as u8
                        } else {
                            1
                        };
                        let label = format!(
                            "{} at {}: p95 {} over {} visits",
                            row.node_id,
                            bucket_label(&bucket.start, bucket_hours),
                            format::duration_ms(*p95),
                            visits
                        );
                        let href = runs_href(graph_type.as_deref(), bucket.start, bucket_hours);
                        view! {
                            <td class=format!("heat heat-{level}")>
                                <a href=href title=label.clone() aria-label=label></a>
                            </td>
                        }
                        .into_any()
                    }
                })
                .collect_view();
            view! { <tr><th scope="row">{row.node_id.clone()}</th>{cells}</tr> }
        })
        .collect_view();
    view! {
        <div class="table-scroll">
            <table class="heatmap" aria-label="Node type p95 duration over time">
                <thead><tr><th scope="col">"Node type"</th>{head}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
        <p class="muted">"Darker is slower, relative to each node type's own slowest "
            {bucket_name(bucket_hours)} ". Hover a cell for its p95; select it for the runs."</p>
    }
}

#[component]
fn AxisLabels(timeline: Vec<TimeBucket>, bucket_hours: i64) -> impl IntoView {
    let first = timeline.first().map(|b| bucket_label(&b.start, bucket_hours));
    let last = timeline.last().map(|b| bucket_label(&b.start, bucket_hours));
    view! { <div class="axis-labels muted"><span>{first}</span><span>{last}</span></div> }
}

/// "hour", "6 hours", "day", "week" — what one bucket spans.
fn bucket_name(bucket_hours: i64) -> String {
    match bucket_hours {
        1 => "hour".into(),
        24 => "day".into(),
        168 => "week".into(),
        h if h % 168 == 0 => format!("{} weeks", h / 168),
        h if h % 24 == 0 => format!("{} days", h / 24),
        h => format!("{h} hours"),
    }
}

fn ms(value: Option<f64>) -> String {
    value.map(format::duration_ms).unwrap_or_else(|| "—".into())
}
