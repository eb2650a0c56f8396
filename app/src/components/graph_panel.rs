//! The graph view: nodes coloured by their latest outcome with visit counts,
//! edges labelled with how often the run took them, loops drawn as loops.
//! Derived from the run's records, so it updates live with them.

use crate::format;
use crate::graph_view::GraphView;
use leptos::prelude::*;

/// Draws `graph` as SVG (text is set as text, never parsed as markup).
#[component]
pub fn GraphPanel(graph: Signal<GraphView>) -> impl IntoView {
    move || {
        let g = graph.get();
        if g.nodes.is_empty() {
            return view! { <p class="empty">"No nodes yet."</p> }.into_any();
        }
        let caption = if g.inferred {
            "No graph was declared: edges are inferred from the order of visits. Labels count how often the run took an edge."
        } else {
            "The declared graph. Edge labels count how often the run took an edge; dashed edges were not taken."
        };
        let node_at = |id: &str| g.nodes.iter().find(|n| n.id == id).cloned();
        let edges = g
            .edges
            .iter()
            .map(|e| {
                let taken_class = if e.taken > 0 { "edge edge-taken" } else { "edge edge-untaken" };
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
                // A retry in progress (or the last one) says which attempt it is.
                let attempt = if n.attempt > 1 { format!(" (attempt {})", n.attempt) } else { String::new() };
                let title = format!("{}: {}, {outcome}{attempt}", n.id, format::count(n.visits, "visit", "visits"));
                view! {
                    <g class=format!("gnode gnode-{outcome}")>
                        <title>{title}</title>
                        <rect x=n.x - n.width / 2.0 y=n.y - n.height / 2.0 width=n.width height=n.height rx="6"/>
                        <text x=n.x y=n.y + 1.0 text-anchor="middle" dominant-baseline="middle">{n.id.clone()}</text>
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
        view! {
            <p class="muted">{caption}</p>
            <div class="graph-scroll">
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
        }
        .into_any()
    }
}
