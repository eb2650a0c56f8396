//! The graph view: nodes coloured by their latest outcome — and marked with
//! a symbol, so colour is never the only sign — with visit counts, edges
//! labelled with how often the run took them, loops drawn as loops. Derived
//! from the run's records, so it updates live with them. A node opens its
//! latest visit (click, or the arrow keys on the focused graph), and a list
//! under the drawing says the same in words for screen readers.

use crate::format;
use crate::graph_view::{GraphView, PlacedNode};
use leptos::prelude::*;

/// The symbol that tells a node's outcome besides its colour.
pub fn outcome_symbol(outcome: &str) -> &'static str {
    match outcome {
        "completed" => "✓",
        "failed" => "✗",
        "cached" => "⚡",
        "running" => "▶",
        _ => "○",
    }
}

/// The graph's nodes in reading order: top to bottom, then left to right.
fn reading_order(g: &GraphView) -> Vec<&PlacedNode> {
    let mut nodes: Vec<&PlacedNode> = g.nodes.iter().collect();
    nodes.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    nodes
}

/// A node in words, for its tooltip and the list under the drawing:
/// "SearchNode: 2 visits, failed, attempt 2".
fn describe(n: &PlacedNode) -> String {
    let outcome = n.outcome.map(|o| o.as_str()).unwrap_or("not visited");
    let attempt = if n.attempt > 1 {
        format!(", attempt {}", n.attempt)
    } else {
        String::new()
    };
    format!(
        "{}: {}, {outcome}{attempt}",
        n.id,
        format::count(n.visits, "visit", "visits")
    )
}

/// The nodes and edges a run's critical path went through, to outline in
/// the graph (empty for a run without one shown).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CriticalMarks {
    /// Node ids on the path.
    pub nodes: Vec<String>,
    /// `(from, to)` of consecutive visits on the path.
    pub edges: Vec<(String, String)>,
}

/// Draws `graph` as SVG (text is set as text, never parsed as markup).
/// `selected` is the node whose visit is open; `on_node` opens a node's
/// latest visit; `critical` outlines the run's critical path.
#[component]
pub fn GraphPanel(
    graph: Signal<GraphView>,
    #[prop(into)] selected: Signal<Option<String>>,
    on_node: Callback<String>,
    #[prop(into)] critical: Signal<CriticalMarks>,
) -> impl IntoView {
    // ←/→ (and ↑/↓) move to the previous or next node in reading order
    // (top to bottom, then left to right), as ↑/↓ do in the timeline.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let step: isize = match ev.key().as_str() {
            "ArrowDown" | "ArrowRight" | "j" => 1,
            "ArrowUp" | "ArrowLeft" | "k" => -1,
            _ => return,
        };
        ev.prevent_default();
        let order: Vec<String> =
            graph.with_untracked(|g| reading_order(g).into_iter().map(|n| n.id.clone()).collect());
        let here = selected.with_untracked(|s| s.as_ref().and_then(|id| order.iter().position(|n| n == id)));
        let next = match here {
            None => 0,
            Some(i) => i.saturating_add_signed(step).min(order.len().saturating_sub(1)),
        };
        if let Some(id) = order.get(next) {
            on_node.run(id.clone());
        }
    };
    move || {
        let g = graph.get();
        let marks = critical.get();
        if g.nodes.is_empty() {
            return view! { <p class="empty">"No nodes yet."</p> }.into_any();
        }
        let caption = if g.inferred {
            "No graph was declared: edges are inferred from the run — from the visits a visit follows where its producer named them, else from the order of visits (for nodes that ran side by side, from which started once another had ended). Labels count how often the run took an edge."
        } else {
            "The declared graph. Edge labels count how often the run took an edge; dashed edges were not taken."
        };
        let node_at = |id: &str| g.nodes.iter().find(|n| n.id == id).cloned();
        let edges = g
            .edges
            .iter()
            .map(|e| {
                let mut taken_class = String::from(if e.taken > 0 { "edge edge-taken" } else { "edge edge-untaken" });
                if marks.edges.iter().any(|(from, to)| *from == e.from && *to == e.to) {
                    taken_class.push_str(" edge-critical");
                }
                let (path, label_at) = if e.points.is_empty() {
                    // A self loop: an arc on the node's right side.
                    let n = node_at(&e.from).expect("edge nodes are placed");
                    let x = n.x + n.width / 2.0;
                    (
                        format!("M {x} {} C {} {} {} {} {x} {}", n.y - 8.0, x + 45.0, n.y - 30.0, x + 45.0, n.y + 30.0, n.y + 8.0),
                        (x + 40.0, n.y),
                    )
                } else {
                    let mut d = String::new();
                    for (i, (x, y)) in e.points.iter().enumerate() {
                        d.push_str(&format!("{}{x:.1} {y:.1} ", if i == 0 { "M " } else { "L " }));
                    }
                    (d, e.points[e.points.len() / 2])
                };
                let label = (e.taken > 0).then(|| format!("×{}", e.taken));
                view! {
                    <g class=taken_class>
                        <path d=path marker-end="url(#arrow)"/>
                        {label.map(|text| view! {
                            <text class="edge-label" x=format!("{:.1}", label_at.0 + 6.0) y=format!("{:.1}", label_at.1)>{text}</text>
                        })}
                    </g>
                }
            })
            .collect_view();
        let nodes = g
            .nodes
            .iter()
            .map(|n| {
                let outcome = n.outcome.map(|o| o.as_str()).unwrap_or("unvisited");
                let on_path = marks.nodes.contains(&n.id);
                let mut title = describe(n);
                if on_path {
                    title.push_str(", on the critical path");
                }
                let id = n.id.clone();
                let is_selected = {
                    let id = id.clone();
                    move || selected.with(|s| s.as_deref() == Some(id.as_str()))
                };
                let visited = n.visits > 0;
                view! {
                    <g class=format!("gnode gnode-{outcome}{}", if on_path { " gnode-critical" } else { "" }) class:gnode-selected=is_selected
                        on:click=move |_| if visited { on_node.run(id.clone()) }>
                        <title>{title}</title>
                        {on_path.then(|| view! {
                            <rect class="critical-halo" x=n.x - n.width / 2.0 - 4.0 y=n.y - n.height / 2.0 - 4.0
                                width=n.width + 8.0 height=n.height + 8.0 rx="9"/>
                        })}
                        <rect x=n.x - n.width / 2.0 y=n.y - n.height / 2.0 width=n.width height=n.height rx="6"/>
                        <text x=n.x y=n.y + 1.0 text-anchor="middle" dominant-baseline="middle">{n.id.clone()}</text>
                        <text class="outcome-symbol" x=n.x - n.width / 2.0 + 2.0 y=n.y - n.height / 2.0 - 4.0>{outcome_symbol(outcome)}</text>
                        {(n.visits > 1).then(|| view! {
                            <text class="visit-count" x=n.x + n.width / 2.0 - 4.0 y=n.y - n.height / 2.0 - 4.0 text-anchor="end">
                                {format!("{}×", n.visits)}
                            </text>
                        })}
                    </g>
                }
            })
            .collect_view();
        let label = format!(
            "Graph of the run: {}, {}",
            format::count(g.nodes.len(), "node", "nodes"),
            format::count(g.edges.len(), "edge", "edges")
        );
        // The same in words: one line per node, in reading order.
        let described = reading_order(&g)
            .into_iter()
            .map(|n| {
                let path = if marks.nodes.contains(&n.id) {
                    ", on the critical path"
                } else {
                    ""
                };
                view! { <li>{describe(n)}{path}</li> }
            })
            .collect_view();
        view! {
            <p class="muted">{caption}</p>
            <ul class="graph-legend" aria-label="Legend">
                {["completed", "failed", "cached", "running", "unvisited"].map(|o| view! {
                    <li><span class=format!("legend-swatch gnode-{o}") aria-hidden="true">{outcome_symbol(o)}</span>
                        {if o == "unvisited" { "not visited" } else { o }}</li>
                })}
                {(!marks.nodes.is_empty()).then(|| view! {
                    <li><span class="legend-swatch legend-critical" aria-hidden="true"></span>"critical path (outlined)"</li>
                })}
            </ul>
            <div class="graph-scroll" tabindex="0" on:keydown=on_key
                aria-label="Graph: ←/→ move between nodes and open each one's latest visit" aria-describedby="graph-nodes-list">
                <svg class="graph" role="img" aria-label=label viewBox=format!("0 0 {:.0} {:.0}", g.width, g.height)
                    width=format!("{:.0}", g.width) height=format!("{:.0}", g.height)>
                    <defs>
                        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                            <path d="M 0 0 L 10 5 L 0 10 z"/>
                        </marker>
                    </defs>
                    {edges}
                    {nodes}
                </svg>
            </div>
            <ul id="graph-nodes-list" class="visually-hidden">{described}</ul>
        }
        .into_any()
    }
}
