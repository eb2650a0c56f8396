//! The run as a graph: the declared graph (or one inferred from the order of
//! visits when none was declared), each node with its visits and latest
//! outcome, each edge with how often the run took it, placed by a layout
//! (`graph_layout`, run on the server) of its structure alone — so visits
//! and counts update live without laying the graph out again.

use crate::model::GraphDefinition;
use crate::timeline::{VisitIndex, VisitOutcome};
use serde::{Deserialize, Serialize};

/// A placed node.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedNode {
    /// Node id.
    pub id: String,
    /// Centre.
    pub x: f64,
    /// Centre.
    pub y: f64,
    /// Box width.
    pub width: f64,
    /// Box height.
    pub height: f64,
    /// How many times the run visited it.
    pub visits: usize,
    /// The outcome of its latest visit; `None` when never visited.
    pub outcome: Option<VisitOutcome>,
    /// The latest visit's attempt (1 unless it is a retry).
    pub attempt: i64,
}

/// A placed edge.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedEdge {
    /// Source node.
    pub from: String,
    /// Target node.
    pub to: String,
    /// The polyline to draw (empty for a self loop: drawn beside its node).
    pub points: Vec<(f64, f64)>,
    /// How many times the run went from `from` to `to`.
    pub taken: usize,
}

/// The laid-out graph.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GraphView {
    /// Nodes.
    pub nodes: Vec<PlacedNode>,
    /// Edges.
    pub edges: Vec<PlacedEdge>,
    /// Drawing width.
    pub width: f64,
    /// Drawing height.
    pub height: f64,
    /// Whether the edges were inferred from visits (no graph declared).
    pub inferred: bool,
}

/// What is laid out: the node ids and the edges (self loops included), each
/// sorted and without repeats, so places are found by binary search.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GraphStructure {
    /// Node ids.
    pub nodes: Vec<String>,
    /// Edges as (from, to).
    pub edges: Vec<(String, String)>,
}

/// A node's box in a layout: its centre and size.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeBox {
    /// Centre.
    pub x: f64,
    /// Centre.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// Where a structure's nodes and edges go, in the structure's order.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct GraphLayout {
    /// Each node's box.
    pub nodes: Vec<NodeBox>,
    /// Each edge's polyline; empty for self loops (drawn beside the node).
    pub edges: Vec<Vec<(f64, f64)>>,
}

/// A layout with the structure it was made for.
pub type LaidOut = (GraphStructure, GraphLayout);

/// The graph a run shows, before placing: its structure and how often each
/// edge was taken (in the structure's edge order).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GraphTally {
    /// Nodes and edges.
    pub structure: GraphStructure,
    /// Times taken, per edge.
    pub taken: Vec<usize>,
    /// Whether the edges were inferred from visits (no graph declared).
    pub inferred: bool,
}

/// `declared` (if any) plus everything `visits` show, with edge counts:
/// `taken` when given (a finished parallel run's edges read off its
/// timeline, `parallel::inferred_edges`), else the index's consecutive
/// visits. Costs the graph's size (the index keeps the counts), so a live
/// frame does not pay for the whole run.
// Sorted vectors rather than B-tree maps: the same answers, and far less
// code in the browser's WASM.
pub fn tally(
    declared: Option<&GraphDefinition>,
    visits: &VisitIndex,
    taken: Option<&[((String, String), usize)]>,
) -> GraphTally {
    let mut nodes: Vec<String> = visits.node_ids().cloned().collect();
    let mut steps: Vec<((String, String), usize)> = match taken {
        Some(taken) => taken.to_vec(),
        None => visits.steps().map(|(edge, n)| (edge.clone(), n)).collect(),
    };
    if let Some(graph) = declared {
        nodes.extend(graph.nodes.iter().map(|n| n.id.clone()));
        for e in &graph.edges {
            nodes.extend([e.from.clone(), e.to.clone()]);
            steps.push(((e.from.clone(), e.to.clone()), 0));
        }
    }
    nodes.sort_unstable();
    nodes.dedup();
    steps.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut edges: Vec<(String, String)> = Vec::new();
    let mut taken: Vec<usize> = Vec::new();
    for (edge, n) in steps {
        match (edges.last(), taken.last_mut()) {
            (Some(last), Some(count)) if *last == edge => *count = count.saturating_add(n),
            _ => {
                edges.push(edge);
                taken.push(n);
            }
        }
    }
    GraphTally {
        structure: GraphStructure { nodes, edges },
        taken,
        inferred: declared.is_none(),
    }
}

/// Places `tally` by `laid` (a layout and the structure it was made for),
/// with each node's visits and latest outcome. Nodes the layout does not
/// have yet (it is being redone after the run reached a new node) are left
/// out until it arrives.
pub fn place(tally: &GraphTally, visits: &VisitIndex, laid: &LaidOut) -> GraphView {
    let (laid_structure, layout) = laid;
    let nodes = &tally.structure.nodes;
    let own = nodes.iter().map(|id| match visits.latest_of(id) {
        Some(latest) => (visits.row_count(Some(id)), Some(latest.outcome), latest.attempt),
        None => (0, None, 1),
    });
    let node_box = |id: &String| {
        let i = laid_structure.nodes.binary_search(id).ok()?;
        layout.nodes.get(i).copied()
    };
    let placed_nodes: Vec<PlacedNode> = nodes
        .iter()
        .zip(own)
        .filter_map(|(id, (visits, outcome, attempt))| {
            let b = node_box(id)?;
            Some(PlacedNode {
                id: id.clone(),
                x: b.x,
                y: b.y,
                width: b.width,
                height: b.height,
                visits,
                outcome,
                attempt,
            })
        })
        .collect();
    let placed_edges: Vec<PlacedEdge> = tally
        .structure
        .edges
        .iter()
        .zip(&tally.taken)
        .filter(|((from, to), _)| node_box(from).is_some() && node_box(to).is_some())
        .map(|(edge, taken)| {
            let points = laid_structure
                .edges
                .binary_search(edge)
                .ok()
                .and_then(|i| layout.edges.get(i).cloned())
                .unwrap_or_default();
            PlacedEdge {
                from: edge.0.clone(),
                to: edge.1.clone(),
                points,
                taken: *taken,
            }
        })
        .collect();
    let width = placed_nodes
        .iter()
        .map(|n| n.x + n.width / 2.0 + 60.0)
        .fold(0.0, f64::max);
    let height = placed_nodes
        .iter()
        .map(|n| n.y + n.height / 2.0 + 20.0)
        .fold(0.0, f64::max);
    GraphView {
        nodes: placed_nodes,
        edges: placed_edges,
        width,
        height,
        inferred: tally.inferred,
    }
}

// The layout runs on the server, so these tests need its feature.
#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::graph_layout::lay_out;
    use chrono::{TimeZone, Utc};

    fn graph_view(declared: Option<&GraphDefinition>, visits: &VisitIndex) -> GraphView {
        let tally = tally(declared, visits, None);
        let layout = lay_out(&tally.structure);
        place(&tally, visits, &(tally.structure.clone(), layout))
    }

    /// The visits of `records`: (node, event type, attempt), one second apart.
    fn visits(records: &[(&str, &str, i64)]) -> VisitIndex {
        let mut index = VisitIndex::default();
        for (seq, (node, kind, attempt)) in (1..).zip(records) {
            let event: crate::model::NodeEvent = serde_json::from_value(serde_json::json!({
                "event_id": format!("e{seq}"), "execution_id": "r", "seq": seq, "node_id": node,
                "event_type": kind, "timestamp": Utc.timestamp_opt(seq, 0).unwrap(),
                "duration_ms": null, "inputs": {}, "outputs": {}, "error": null,
                "metadata": {"attempt": attempt}
            }))
            .unwrap();
            index.push(&crate::model::EventOutline::from(&event));
        }
        index
    }

    #[test]
    fn an_inferred_graph_counts_each_edge_taken_and_keeps_loops() {
        let visits = visits(&[
            ("Plan", "completed", 1),
            ("Search", "completed", 1),
            ("Search", "completed", 1),
            ("Write", "failed", 1),
            ("Write", "started", 2),
            ("Write", "completed", 2),
        ]);
        let view = graph_view(None, &visits);
        assert!(view.inferred);
        let taken: Vec<(&str, &str, usize)> = view
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.taken))
            .collect();
        assert_eq!(
            taken,
            [
                ("Plan", "Search", 1),
                ("Search", "Search", 1),
                ("Search", "Write", 1)
            ]
        );
        let write = view.nodes.iter().find(|n| n.id == "Write").unwrap();
        assert_eq!(
            (write.visits, write.outcome, write.attempt),
            (2, Some(VisitOutcome::Completed), 2)
        );
        let plan = view.nodes.iter().find(|n| n.id == "Plan").unwrap();
        let search = view.nodes.iter().find(|n| n.id == "Search").unwrap();
        assert!(plan.y < search.y, "laid out top to bottom along the path");
        assert!(!view.edges[0].points.is_empty());
    }

    #[test]
    fn declared_nodes_that_were_never_visited_are_shown_unvisited() {
        let declared: GraphDefinition = serde_json::from_value(serde_json::json!({
            "nodes": [{"id": "A"}, {"id": "B"}], "edges": [{"from": "A", "to": "B"}]
        }))
        .unwrap();
        let view = graph_view(Some(&declared), &visits(&[("A", "completed", 1)]));
        let b = view.nodes.iter().find(|n| n.id == "B").unwrap();
        assert_eq!((b.visits, b.outcome), (0, None));
        assert_eq!(view.edges[0].taken, 0);
        assert!(view.width > 0.0 && view.height > 0.0);
    }

    #[test]
    fn a_node_the_layout_does_not_have_yet_waits_for_it() {
        let before = tally(None, &visits(&[("A", "completed", 1)]), None).structure;
        let old = (before.clone(), lay_out(&before));
        let grown = visits(&[("A", "completed", 1), ("B", "started", 1)]);
        let view = place(&tally(None, &grown, None), &grown, &old);
        let ids: Vec<&str> = view.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!((ids, view.edges.len()), (vec!["A"], 0));
    }
}
