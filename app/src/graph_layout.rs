//! Lays a graph's structure out with dagre's layered layout (ranks,
//! crossing minimisation, cycles such as retry and review loops, edge bend
//! points). It runs on the server: the layout engine is the largest single
//! piece of code the graph view needs, and a layout only has to be redone
//! when the run reaches a new node or edge, not on every visit.

use crate::graph_view::{GraphLayout, GraphStructure, NodeBox};
use dagre_dgl_rs::{layout, EdgeLabel, Graph, GraphLabel, NodeLabel};

/// Height of a node box.
const NODE_HEIGHT: f64 = 36.0;

/// Most nodes a layout request may hold.
pub const MAX_LAYOUT_NODES: usize = 2_000;
/// Most edges a layout request may hold.
pub const MAX_LAYOUT_EDGES: usize = 10_000;

/// Places `structure`'s nodes top to bottom along its edges.
pub fn lay_out(structure: &GraphStructure) -> GraphLayout {
    if structure.nodes.is_empty() {
        return GraphLayout::default();
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
    for id in &structure.nodes {
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
    for (from, to) in &structure.edges {
        // Self loops are drawn beside their node, not laid out.
        if from != to {
            g.set_edge(from, to, EdgeLabel::default(), None);
        }
    }
    layout(&mut g);
    let nodes = structure
        .nodes
        .iter()
        .map(|id| {
            let label = g.node(id);
            NodeBox {
                x: label.x.unwrap_or(0.0),
                y: label.y.unwrap_or(0.0),
                width: label.width,
                height: label.height,
            }
        })
        .collect();
    let edges = structure
        .edges
        .iter()
        .map(|(from, to)| {
            if from == to {
                return Vec::new();
            }
            g.edge(&dagre_dgl_rs::Edge::new(from, to))
                .and_then(|l| l.points.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|p| (p.x, p.y))
                .collect()
        })
        .collect();
    GraphLayout { nodes, edges }
}
