//! The run as a graph: the declared graph (or one inferred from the order of
//! visits when none was declared), each node with its visits and latest
//! outcome, each edge with how often the run took it, placed by dagre's
//! layered layout (cycles such as retry and review loops included).

use crate::model::GraphDefinition;
use crate::timeline::{NodeVisit, VisitOutcome};
use dagre_dgl_rs::{layout, EdgeLabel, Graph, GraphLabel, NodeLabel};
use std::collections::{BTreeMap, BTreeSet};

/// Height of a node box.
const NODE_HEIGHT: f64 = 36.0;

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

/// Lays out `declared` (if any) plus everything `visits` show.
pub fn graph_view(declared: Option<&GraphDefinition>, visits: &[NodeVisit]) -> GraphView {
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    if let Some(graph) = declared {
        nodes.extend(graph.nodes.iter().map(|n| n.id.clone()));
        for e in &graph.edges {
            nodes.insert(e.from.clone());
            nodes.insert(e.to.clone());
            edges.entry((e.from.clone(), e.to.clone())).or_insert(0);
        }
    }
    nodes.extend(visits.iter().map(|v| v.node_id.clone()));
    // Consecutive visits are the path taken; a retry is the same visit again,
    // not a step along an edge.
    for pair in visits.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.node_id == b.node_id && b.attempt > 1 {
            continue;
        }
        *edges.entry((a.node_id.clone(), b.node_id.clone())).or_insert(0) += 1;
    }
    if nodes.is_empty() {
        return GraphView::default();
    }

    let mut g = Graph::default();
    g.set_graph(GraphLabel {
        rankdir: Some("TB".into()),
        nodesep: Some(40.0),
        ranksep: Some(50.0),
        marginx: Some(20.0),
        marginy: Some(20.0),
        ..Default::default()
    });
    for id in &nodes {
        let width = 24.0 + 7.5 * id.chars().count() as f64;
        g.set_node(
            id,
            NodeLabel {
                width,
                height: NODE_HEIGHT,
                ..Default::default()
            },
        );
    }
    for (from, to) in edges.keys() {
        if from != to {
            g.set_edge(from, to, EdgeLabel::default(), None);
        }
    }
    layout(&mut g);

    let placed_nodes: Vec<PlacedNode> = nodes
        .iter()
        .map(|id| {
            let label = g.node(id);
            let own: Vec<&NodeVisit> = visits.iter().filter(|v| v.node_id == *id).collect();
            PlacedNode {
                id: id.clone(),
                x: label.x.unwrap_or(0.0),
                y: label.y.unwrap_or(0.0),
                width: label.width,
                height: label.height,
                visits: own.len(),
                outcome: own.last().map(|v| v.outcome),
            }
        })
        .collect();
    let placed_edges: Vec<PlacedEdge> = edges
        .iter()
        .map(|((from, to), taken)| {
            let points = if from == to {
                Vec::new()
            } else {
                g.edge(&dagre_dgl_rs::Edge::new(from, to))
                    .and_then(|l| l.points.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| (p.x, p.y))
                    .collect()
            };
            PlacedEdge {
                from: from.clone(),
                to: to.clone(),
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
        inferred: declared.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn visit(node: &str, attempt: i64, outcome: VisitOutcome) -> NodeVisit {
        NodeVisit {
            index: 0,
            node_id: node.into(),
            start: Utc.timestamp_opt(0, 0).unwrap(),
            end: None,
            outcome,
            attempt,
            duration_ms: None,
            saved_ms: None,
            start_seq: None,
            end_seq: None,
            error: None,
        }
    }

    #[test]
    fn an_inferred_graph_counts_each_edge_taken_and_keeps_loops() {
        use VisitOutcome::*;
        let visits = [
            visit("Plan", 1, Completed),
            visit("Search", 1, Completed),
            visit("Search", 1, Completed),
            visit("Write", 1, Failed),
            visit("Write", 2, Completed),
        ];
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
        assert_eq!((write.visits, write.outcome), (2, Some(Completed)));
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
        let view = graph_view(Some(&declared), &[visit("A", 1, VisitOutcome::Completed)]);
        let b = view.nodes.iter().find(|n| n.id == "B").unwrap();
        assert_eq!((b.visits, b.outcome), (0, None));
        assert_eq!(view.edges[0].taken, 0);
        assert!(view.width > 0.0 && view.height > 0.0);
    }
}
