//! A declared graph: the nodes a workflow may visit and the edges between them.

use serde::{Deserialize, Serialize};

/// Nodes and edges as a producer declares them when a run starts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GraphDefinition {
    /// Every node of the graph.
    #[serde(default)]
    pub nodes: Vec<GraphNode>,
    /// Directed edges between nodes.
    #[serde(default)]
    pub edges: Vec<GraphEdge>,
}

/// One node of a declared graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GraphNode {
    /// The node id events refer to.
    pub id: String,
    /// A human label, when it differs from the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A directed edge `from` → `to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GraphEdge {
    /// Source node id.
    pub from: String,
    /// Target node id.
    pub to: String,
    /// An optional condition or name shown on the edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}
