//! `/`: the run list — filters, sort and page live in the URL (shareable, the
//! back button works); runs that start or finish appear without a reload.

use crate::clock::{run_duration, use_clock};
use crate::components::{Connection, ConnectionBadge, LiveAnnouncer, MetadataFields, StatusBadge};
use crate::format;
use crate::model::{ExecutionFilter, ExecutionList, ExecutionStatus, ExecutionSummary, ListCursor, ListSort};
use crate::search::{SearchMatch, SearchQuery};
use crate::server_fns::list_executions;
use crate::url_state::{query_pairs, with_query};
use chrono::Utc;
use leptos::prelude::*;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

/// Runs per page.
const PAGE_SIZE: u32 = 50;

/// Every run, newest first (or slowest), filtered, each linking to its page.
#[component]
pub fn ExecutionListPage() -> impl IntoView {
    let query = use_query_map();
    let pairs = query_pairs();
    let filter = Memo::new(move |_| pairs.with(|p| filter_from_query(p)));
    let runs = Resource::new(move || filter.get(), list_executions);
    view! {
        <h1>"Runs"</h1>
        // Drawn again when the URL's filter changes: its chips follow it.
        {move || {
            // A search the server would refuse, said as such (the list is
            // then shown without it).
            let search_error = query.with_untracked(|q| {
                let text = q.get("q").filter(|t| !t.trim().is_empty())?;
                SearchQuery::parse(&text).err()
            });
            view! {
                <FilterForm filter=filter.get()/>
                {search_error.map(|why| view! {
                    <p role="alert" class="error">"The search was not run: it " {why} "."</p>
                })}
            }
        }}
        <Transition fallback=|| view! { <p class="muted">"Loading runs…"</p> }>
            {move || Suspend::new(async move {
                let filter = filter.get_untracked();
                match runs.await {
                    Ok(list) => view! { <LiveRunList list filter/> }.into_any(),
                    Err(e) => view! { <p role="alert">"Could not load runs: " {e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The list filter a URL's query parameters describe (invalid values are
/// ignored; of a parameter given twice, the last counts).
fn filter_from_query(pairs: &[(String, String)]) -> ExecutionFilter {
    let text = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.trim().is_empty())
    };
    let time = |name: &str| text(name).and_then(|v| format::parse_local_input(&v));
    let mut filter = ExecutionFilter {
        graph_type: text("graph_type"),
        status: text("status").and_then(|s| ExecutionStatus::parse(&s)),
        start_time: time("from"),
        end_time: time("to"),
        id_contains: text("id"),
        sort: text("sort")
            .and_then(|s| ListSort::from_param(&s))
            .unwrap_or_default(),
        limit: PAGE_SIZE,
        offset: text("offset").and_then(|o| o.parse().ok()).unwrap_or(0),
        cursor: None,
        // The list shows no payloads (the server function leaves them out anyway).
        without_payloads: true,
        metadata: crate::url_state::metadata_filters(pairs),
        // An invalid search is shown as such (`SearchError`), not run.
        q: text("q").and_then(|q| SearchQuery::parse(&q).ok()),
    };
    // A cursor of another filter or sort (the filter form was changed, or
    // the URL edited) is ignored like any other invalid value: the first page.
    filter.cursor = text("cursor")
        .and_then(|c| ListCursor::parse(&c).ok())
        .filter(|c| c.check(&filter).is_ok());
    if filter.cursor.is_some() {
        filter.offset = 0;
    }
    filter
}

/// The query string for `filter`'s page that starts after `cursor` (the
/// first page without one).
fn query_for(filter: &ExecutionFilter, cursor: Option<&str>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(q) = &filter.q {
        pairs.push(("q", q.as_str().to_owned()));
    }
    if let Some(g) = &filter.graph_type {
        pairs.push(("graph_type", g.clone()));
    }
    if let Some(s) = filter.status {
        pairs.push(("status", s.as_str().into()));
    }
    if let Some(t) = filter.start_time {
        pairs.push(("from", format::local_input(&t)));
    }
    if let Some(t) = filter.end_time {
        pairs.push(("to", format::local_input(&t)));
    }
    if let Some(i) = &filter.id_contains {
        pairs.push(("id", i.clone()));
    }
    if filter.sort != ListSort::Newest {
        pairs.push(("sort", filter.sort.as_param().into()));
    }
    let meta: Vec<(String, String)> = filter
        .metadata
        .iter()
        .map(|(k, v)| (format!("meta.{k}"), v.clone()))
        .collect();
    for (k, v) in &meta {
        pairs.push((k.as_str(), v.clone()));
    }
    if let Some(cursor) = cursor {
        pairs.push(("cursor", cursor.to_owned()));
    }
    with_query("/", &pairs)
}

#[component]
fn FilterForm(filter: ExecutionFilter) -> impl IntoView {
    let status = filter.status.map(|s| s.as_str()).unwrap_or("");
    let time = |t: Option<chrono::DateTime<Utc>>| t.as_ref().map(format::local_input).unwrap_or_default();
    view! {
        <Form method="GET" action="/" attr:class="filters" attr:aria-label="Filter runs">
            <label class="search">"Search" <input type="search" name="q"
                placeholder="words or \"a phrase\" in errors, inputs, outputs, state"
                value=filter.q.as_ref().map(|q| q.as_str().to_owned()).unwrap_or_default()/></label>
            <label>"Run id" <input type="search" name="id" value=filter.id_contains.clone().unwrap_or_default()/></label>
            <label>"Graph type" <input type="text" name="graph_type" value=filter.graph_type.clone().unwrap_or_default()/></label>
            <label>"Status"
                <select name="status">
                    <option value="" selected=status.is_empty()>"Any"</option>
                    <option value="running" selected=status == "running">"Running"</option>
                    <option value="completed" selected=status == "completed">"Completed"</option>
                    <option value="failed" selected=status == "failed">"Failed"</option>
                </select>
            </label>
            <label>"Started after (UTC)" <input type="datetime-local" name="from" value=time(filter.start_time)/></label>
            <label>"Started before (UTC)" <input type="datetime-local" name="to" value=time(filter.end_time)/></label>
            <label>"Sort by"
                <select name="sort">
                    <option value="start_time" selected=filter.sort == ListSort::Newest>"Newest first"</option>
                    <option value="duration" selected=filter.sort == ListSort::Slowest>"Slowest first"</option>
                </select>
            </label>
            <MetadataFields filters=filter.metadata.clone()/>
            <button type="submit">"Apply"</button>
            <a href="/" class="reset">"Clear"</a>
        </Form>
    }
}

#[component]
fn LiveRunList(list: ExecutionList, filter: ExecutionFilter) -> impl IntoView {
    let runs = RwSignal::new(list.executions);
    let total = RwSignal::new(list.total);
    let total_capped = list.total_capped;
    let connection = RwSignal::new(Connection::Connecting);
    let now = use_clock();
    let offset = filter.offset;
    let first_page = offset == 0 && filter.cursor.is_none();
    // Pages go forward by cursor (each as fast as the first); back is the
    // browser's Back, or straight to the first page.
    let to_first = (!first_page).then(|| query_for(&filter, None));
    let next = list
        .next_cursor
        .as_deref()
        .map(|cursor| query_for(&filter, Some(cursor)));
    // New runs join the list only where they would be: first page, newest first.
    // New runs arrive without their metadata (the live list carries what a
    // row shows), so a list filtered by metadata does not take them in live.
    // A search's runs are known only to the server, likewise.
    let shows_new_runs =
        first_page && filter.sort == ListSort::Newest && filter.metadata.is_empty() && filter.q.is_none();
    let search = StoredValue::new(filter.q.clone());
    let live_filter = filter.clone();
    let filter_has_cursor = filter.cursor.is_some();
    // Two runs picked for comparison, in the order they were picked.
    let picked = RwSignal::new(Vec::<String>::new());
    let compare_href = move || {
        let ids = picked.get();
        let [first, second] = ids.as_slice() else {
            return None;
        };
        // The run that started first is the baseline, a.
        let started = |id: &str| runs.with(|r| r.iter().find(|r| r.execution_id == id).map(|r| r.start_time));
        let (a, b) = if started(second) < started(first) {
            (second, first)
        } else {
            (first, second)
        };
        Some(format!("/compare?a={a}&b={b}"))
    };
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            let filter = live_filter.clone();
            let reload_filter = live_filter.clone();
            crate::live_client::follow(
                || "/api/v1/live".to_owned(),
                move |frame| {
                    if let crate::live::LiveFrame::Status { execution } = frame {
                        if filter.matches(&execution) {
                            apply_status(runs, total, execution, shows_new_runs);
                        }
                    }
                    crate::live_client::Flow::Continue
                },
                // The run list's stream cannot resume: what changed before
                // the socket opened (after the page loaded, or while it was
                // reconnecting) is read again.
                move || {
                    let filter = reload_filter.clone();
                    leptos::task::spawn_local(async move {
                        if let Ok(list) = list_executions(filter).await {
                            let mut kept = 0;
                            runs.update(|shown| {
                                let reloaded = list.executions.len();
                                *shown = fresher_of(shown, list.executions);
                                kept = shown.len() - reloaded;
                                shown.truncate(PAGE_SIZE as usize);
                            });
                            total.set(list.total + kept as i64);
                        }
                    });
                },
                connection,
            );
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (&live_filter, shows_new_runs);
    });
    view! {
        <div class="list-bar">
            <p class="muted">{move || {
                let shown = runs.with(Vec::len);
                let of = if total_capped { format!("{}+", total.get()) } else { total.get().to_string() };
                if shown == 0 { "No runs match.".to_string() } else if filter_has_cursor {
                    format!("{shown} more runs of {of}")
                } else {
                    format!("Runs {}–{} of {of}", offset + 1, offset as usize + shown)
                }
            }}</p>
            <div class="pick-bar">
                <span class="muted">{move || format!("{} of 2 runs picked", picked.with(Vec::len))}</span>
                {move || match compare_href() {
                    Some(href) => view! { <a class="button" href=href>"Compare picked runs"</a> }.into_any(),
                    None => view! { <span class="muted" aria-disabled="true">"Compare picked runs"</span> }.into_any(),
                }}
                <ConnectionBadge connection/>
                <LiveAnnouncer count=Signal::derive(move || usize::try_from(total.get()).unwrap_or(0)) one="run" many="runs"/>
            </div>
        </div>
        <Show
            when=move || runs.with(|r| !r.is_empty())
            fallback=|| view! {
                <p class="empty">"No runs to show. Post one to " <code>"/api/v1/executions"</code> " or run "
                    <code>"tracevis demo"</code> "."</p>
            }
        >
            <div class="table-scroll">
                <table class="runs">
                    <thead>
                        <tr>
                            <th scope="col"><span class="visually-hidden">"Pick to compare"</span></th>
                            <th scope="col">"Run"</th>
                            <th scope="col">"Graph"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Started (UTC)"</th>
                            <th scope="col" class="num">"Duration"</th>
                            <th scope="col" class="num">"Nodes"</th>
                            <th scope="col" class="num">"Failed"</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || runs.get() key=|run| (run.execution_id.clone(), run.status, run.last_seq) let:run>
                            <RunRow run now picked search=search.try_get_value().flatten()/>
                        </For>
                    </tbody>
                </table>
            </div>
        </Show>
        <nav class="pager" aria-label="Pages">
            {to_first.map(|href| view! { <a href=href rel="first">"← First page"</a> })}
            {next.map(|href| view! { <a href=href rel="next">"Next →"</a> })}
        </nav>
    }
}

/// The reloaded list, except where a row already shown is further along (a
/// status frame that arrived while the list was being read).
#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "called from the browser only")
)]
fn fresher_of(shown: &[ExecutionSummary], reloaded: Vec<ExecutionSummary>) -> Vec<ExecutionSummary> {
    // Runs that started after the reload was read (a status frame added
    // them meanwhile) stay on top.
    let newest_reloaded = reloaded.iter().map(|r| r.start_time).max();
    let mut merged: Vec<ExecutionSummary> = shown
        .iter()
        .filter(|s| newest_reloaded.is_none_or(|newest| s.start_time > newest))
        .filter(|s| !reloaded.iter().any(|r| r.execution_id == s.execution_id))
        .cloned()
        .collect();
    merged.extend(reloaded.into_iter().map(|fresh| {
        match shown.iter().find(|s| s.execution_id == fresh.execution_id) {
            Some(s)
                if (s.status != ExecutionStatus::Running && fresh.status == ExecutionStatus::Running)
                    || s.last_seq > fresh.last_seq =>
            {
                s.clone()
            }
            _ => fresh,
        }
    }));
    merged
}

/// Puts a run's new summary in the list: replaces it if shown, else adds it
/// on top when this list shows new runs.
#[cfg_attr(
    not(feature = "hydrate"),
    expect(dead_code, reason = "called from the browser only")
)]
fn apply_status(
    runs: RwSignal<Vec<ExecutionSummary>>,
    total: RwSignal<i64>,
    execution: ExecutionSummary,
    shows_new_runs: bool,
) {
    let mut added = false;
    runs.update(|runs| added = put_status(runs, execution, shows_new_runs, PAGE_SIZE as usize));
    if added {
        total.update(|t| *t += 1);
    }
}

/// `put_status` on plain rows: replaces the run if shown, else (on a list
/// that shows new runs) adds it on top and lets the oldest row go to the
/// next page, so a list left open all day keeps `window` rows. Returns
/// whether the run was added.
fn put_status(
    runs: &mut Vec<ExecutionSummary>,
    execution: ExecutionSummary,
    shows_new_runs: bool,
    window: usize,
) -> bool {
    match runs.iter_mut().find(|r| r.execution_id == execution.execution_id) {
        Some(run) => {
            // A live summary carries no search matches: the row keeps its own.
            let matches = std::mem::take(&mut run.matches);
            *run = execution;
            if run.matches.is_empty() {
                run.matches = matches;
            }
            false
        }
        None if shows_new_runs => {
            runs.insert(0, execution);
            runs.truncate(window);
            true
        }
        None => false,
    }
}

#[component]
fn RunRow(
    run: ExecutionSummary,
    now: RwSignal<Option<chrono::DateTime<Utc>>>,
    picked: RwSignal<Vec<String>>,
    search: Option<SearchQuery>,
) -> impl IntoView {
    let matches = (!run.matches.is_empty()).then(|| {
        let search = search.clone();
        let id = run.execution_id.clone();
        view! {
            <tr class="matches">
                <td></td>
                <td colspan="7">
                    <ul aria-label=format!("Where the search matched in {id}")>
                        {run.matches.iter().map(|m| view! { <MatchLine run=id.clone() found=m.clone() search=search.clone()/> }).collect_view()}
                    </ul>
                </td>
            </tr>
        }
    });
    let href = format!("/executions/{}", run.execution_id);
    let (start, total_ms) = (run.start_time, run.total_duration_ms);
    let id = run.execution_id.clone();
    let is_picked = {
        let id = id.clone();
        move || picked.with(|p| p.contains(&id))
    };
    let toggle = move |checked: bool| {
        picked.update(|p| {
            p.retain(|x| *x != id);
            if checked {
                p.push(id.clone());
                // Picking a third run lets go of the first one picked.
                if p.len() > 2 {
                    p.remove(0);
                }
            }
        })
    };
    view! {
        <tr>
            <td><input type="checkbox" aria-label=format!("Pick {} to compare", run.execution_id)
                prop:checked=is_picked on:change=move |ev| toggle(event_target_checked(&ev))/></td>
            <td><a href=href>{run.execution_id.clone()}</a></td>
            <td>{run.graph_type.clone()}</td>
            <td><StatusBadge status=run.status.as_str()/></td>
            <td>{format::timestamp(&run.start_time)}</td>
            <td class="num">{move || run_duration(total_ms, &start, now.get())}</td>
            <td class="num">{run.total_nodes}</td>
            <td class="num">{run.failed_nodes}</td>
        </tr>
        {matches}
    }
}

/// One place a search matched in a run: a link to that visit or state step
/// on the run page, and the excerpt with the query's words marked.
#[component]
fn MatchLine(run: String, found: SearchMatch, search: Option<SearchQuery>) -> impl IntoView {
    use crate::search::MatchPlace;
    let (href, place) = match (found.place, found.seq) {
        (MatchPlace::Run, _) | (_, None) => (format!("/executions/{run}"), "Run".to_owned()),
        (MatchPlace::Event, Some(seq)) => (
            format!("/executions/{run}?seq={seq}"),
            format!("{} · event #{seq}", found.node_id.clone().unwrap_or_default()),
        ),
        (MatchPlace::Snapshot, Some(seq)) => (
            format!("/executions/{run}?seq={seq}"),
            format!(
                "State after {} · #{seq}",
                found.node_id.clone().unwrap_or_default()
            ),
        ),
    };
    let excerpt = found.excerpt;
    let marks = search.map(|q| q.highlights(&excerpt)).unwrap_or_default();
    // The excerpt cut into plain and marked pieces.
    let mut pieces: Vec<(String, bool)> = Vec::new();
    let mut at = 0;
    for range in marks {
        pieces.push((excerpt[at..range.start].to_owned(), false));
        pieces.push((excerpt[range.clone()].to_owned(), true));
        at = range.end;
    }
    pieces.push((excerpt[at..].to_owned(), false));
    view! {
        <li>
            <a href=href>{place}</a>
            " "
            <span class="excerpt">
                {pieces.into_iter().map(|(text, marked)| if marked {
                    view! { <mark>{text}</mark> }.into_any()
                } else {
                    text.into_any()
                }).collect_view()}
            </span>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_live_list_keeps_one_page_of_rows_however_many_runs_start() {
        let run = |i: usize| -> ExecutionSummary {
            serde_json::from_value(serde_json::json!({
                "execution_id": format!("r{i}"), "graph_type": "g", "status": "running",
                "start_time": "2025-01-01T00:00:00Z", "end_time": null, "total_duration_ms": null,
                "total_nodes": 0, "failed_nodes": 0, "cached_nodes": 0, "total_llm_calls": 0,
                "total_tokens": null, "original_inputs": {}, "final_state": null, "metadata": {},
                "graph": null, "is_replay": false, "original_execution_id": null, "error": null, "last_seq": 0
            }))
            .unwrap()
        };
        let mut rows = Vec::new();
        for i in 0..10_000 {
            assert!(put_status(&mut rows, run(i), true, 50));
        }
        assert_eq!(rows.len(), 50);
        assert_eq!(rows[0].execution_id, "r9999", "the newest on top");
        // A run already shown is updated in place, not added.
        let mut done = run(9990);
        done.status = ExecutionStatus::Completed;
        assert!(!put_status(&mut rows, done, true, 50));
        assert_eq!(rows[9].status, ExecutionStatus::Completed);
        // A list that does not show new runs (a later page) never grows.
        assert!(!put_status(&mut rows, run(20_000), false, 50));
        assert_eq!(rows.len(), 50);
    }

    #[test]
    fn every_metadata_chip_of_a_submitted_form_is_kept() {
        let pairs = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let filter = filter_from_query(&pairs(&[
            ("meta", "env=prod"),
            ("meta", "version=2"),
            ("meta.team", "search"),
        ]));
        assert_eq!(
            filter.metadata,
            [
                ("env".into(), "prod".into()),
                ("version".into(), "2".into()),
                ("team".into(), "search".into())
            ]
        );
    }

    #[test]
    fn a_filter_survives_the_round_trip_through_the_url() {
        let filter = ExecutionFilter {
            graph_type: Some("forward mode".into()),
            status: Some(ExecutionStatus::Failed),
            id_contains: Some("a&b #1+%".into()),
            sort: ListSort::Slowest,
            start_time: Some(Utc.with_ymd_and_hms(2025, 10, 21, 10, 30, 0).unwrap()),
            limit: PAGE_SIZE,
            without_payloads: true,
            metadata: vec![("deployment.environment".into(), "prod & co".into())],
            ..ExecutionFilter::default()
        };
        let cursor = ListCursor::after(&filter, 1_761_042_600_000_000, Some(2_500.0), "run-7");
        let back = filter_from_query(&pairs_of(&query_for(&filter, Some(&cursor.encode()))));
        assert_eq!(
            back,
            ExecutionFilter {
                cursor: Some(cursor.clone()),
                ..filter.clone()
            }
        );
        // A cursor made for another filter starts the list over.
        let other = ExecutionFilter {
            graph_type: Some("another".into()),
            ..filter
        };
        let pairs = pairs_of(&query_for(&other, Some(&cursor.encode())));
        assert_eq!(filter_from_query(&pairs).cursor, None);
    }

    /// A page URL's query parameters, decoded.
    fn pairs_of(url: &str) -> Vec<(String, String)> {
        url.trim_start_matches("/?")
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                let value = format!("v={v}");
                let decoded = form_urlencoded::parse(value.as_bytes())
                    .next()
                    .unwrap()
                    .1
                    .into_owned();
                (k.to_string(), decoded)
            })
            .collect()
    }
}
