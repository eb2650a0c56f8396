//! The declared graph a run span carries: `tracevis.graph` in our own shape,
//! or pydantic-graph's `graph` attribute — logfire's JSON dump of the built
//! `Graph` (`nodes`, `edges_by_source`, decisions with `branches`).

use app::model::{GraphDefinition, GraphEdge, GraphNode};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Most nodes read from a producer's graph; a larger one is not drawn.
const MAX_NODES: usize = 1_000;

/// The declared graph of a run span, from its `tracevis.graph` or its
/// pydantic-graph `graph` attribute (each already parsed from JSON).
pub fn declared_graph(
    tracevis_graph: Option<&Value>,
    pydantic_graph: Option<&Value>,
) -> Option<GraphDefinition> {
    tracevis_graph
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .or_else(|| pydantic_graph.and_then(from_pydantic_graph))
}

/// pydantic-graph 2.x: nodes are the `Step`s (objects with a `_call`) plus
/// `__start__` and `__end__`; decisions, forks and joins are routing, so an
/// edge goes through them to the nodes they lead to — the same graph the
/// SDK's `instrument_pydantic_graph()` declares. A path's `label` marker
/// names the edge.
fn from_pydantic_graph(graph: &Value) -> Option<GraphDefinition> {
    let nodes = graph.get("nodes")?.as_object()?;
    if nodes.len() > MAX_NODES {
        return None;
    }
    let is_step = |v: &Value| v.get("_call").is_some();
    let is_routing =
        |id: &str, v: &Value| v.is_object() && !is_step(v) && id != "__start__" && id != "__end__";
    let routing: BTreeSet<&str> = nodes
        .iter()
        .filter(|(id, v)| is_routing(id, v))
        .map(|(id, _)| id.as_str())
        .collect();

    // Every path out of a node: `edges_by_source`, and each decision branch.
    let mut paths: Vec<(&str, &Value)> = Vec::new();
    let edges_by_source = graph.get("edges_by_source").and_then(Value::as_object);
    for (from, list) in edges_by_source.into_iter().flatten() {
        for path in list.as_array().into_iter().flatten() {
            paths.push((from.as_str(), path));
        }
    }
    for (id, node) in nodes {
        for branch in node
            .get("branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(path) = branch.get("path") {
                paths.push((id.as_str(), path));
            }
        }
    }
    // Direct destinations of each node, with the label of the path.
    let mut direct: BTreeMap<&str, Vec<(&str, Option<&str>)>> = BTreeMap::new();
    for (from, path) in paths {
        let mut label = None;
        for item in path.get("items").and_then(Value::as_array).into_iter().flatten() {
            if let Some(l) = item.get("label").and_then(Value::as_str) {
                label = Some(l);
            }
            if let Some(to) = item.get("destination_id").and_then(Value::as_str) {
                direct.entry(from).or_default().push((to, label));
            }
        }
    }

    let kept: Vec<&str> = nodes
        .keys()
        .map(String::as_str)
        .filter(|id| !routing.contains(id))
        .collect();
    let mut edges = Vec::new();
    let mut seen = BTreeSet::new();
    for &from in &kept {
        // Walk through routing nodes, each at most once per source.
        let mut stack: Vec<(&str, Option<&str>)> = direct.get(from).cloned().unwrap_or_default();
        stack.reverse();
        let mut crossed = BTreeSet::new();
        while let Some((to, label)) = stack.pop() {
            if routing.contains(to) {
                if crossed.insert(to) {
                    let onward = direct.get(to).cloned().unwrap_or_default();
                    stack.extend(onward.into_iter().rev().map(|(d, l)| (d, label.or(l))));
                }
                continue;
            }
            if seen.insert((from, to)) {
                edges.push(GraphEdge {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    label: label.map(str::to_owned),
                });
            }
        }
    }
    // The dump's keys come sorted, not in declaration order: list the nodes
    // as reached from the start instead, the rest after them.
    let mut order: Vec<&str> = Vec::with_capacity(kept.len());
    let mut queue = std::collections::VecDeque::from(["__start__"]);
    while let Some(id) = queue.pop_front() {
        if order.contains(&id) || !kept.contains(&id) {
            continue;
        }
        order.push(id);
        let next = edges.iter().filter(|e| e.from == id);
        queue.extend(next.filter_map(|e| kept.iter().copied().find(|k| *k == e.to)));
    }
    let unreached: Vec<&str> = kept.iter().copied().filter(|id| !order.contains(id)).collect();
    order.extend(unreached);
    let position = |id: &str| order.iter().position(|o| *o == id);
    edges.sort_by_key(|e| position(&e.from));
    Some(GraphDefinition {
        nodes: order
            .into_iter()
            .map(|id| GraphNode {
                id: id.to_owned(),
                label: None,
            })
            .collect(),
        edges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What logfire sends for a pydantic-graph 2.78 graph with a loop
    /// (`begin → Increment → Check → decision → Increment | __end__`),
    /// trimmed of the fields tracevis does not read.
    fn counter_graph() -> Value {
        json!({
            "name": "counter",
            "nodes": {
                "__start__": "<pydantic_graph.node.StartNode object at 0x7f>",
                "begin": {"id": "begin", "_call": "<function begin>", "label": null},
                "Increment": {"id": "Increment", "_call": "<bound method>", "label": null},
                "Check": {"id": "Check", "_call": "<bound method>", "label": null},
                "decision": {"id": "decision", "branches": [
                    {"path": {"items": [{"label": "again"}, {"destination_id": "Increment"}]}},
                    {"path": {"items": [{"destination_id": "__end__"}]}}
                ], "note": null},
                "__end__": "<pydantic_graph.node.EndNode object at 0x7f>"
            },
            "edges_by_source": {
                "__start__": [{"items": [{"destination_id": "begin"}]}],
                "begin": [{"items": [{"destination_id": "Increment"}]}],
                "Increment": [{"items": [{"destination_id": "Check"}]}],
                "Check": [{"items": [{"destination_id": "decision"}]}]
            }
        })
    }

    #[test]
    fn a_pydantic_graph_dump_declares_its_steps_and_routes_through_decisions() {
        let graph = declared_graph(None, Some(&counter_graph())).unwrap();
        let ids: Vec<&str> = graph.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["__start__", "begin", "Increment", "Check", "__end__"]);
        let edges: Vec<(&str, &str, Option<&str>)> = graph
            .edges
            .iter()
            .map(|e| (e.from.as_str(), e.to.as_str(), e.label.as_deref()))
            .collect();
        assert_eq!(
            edges,
            [
                ("__start__", "begin", None),
                ("begin", "Increment", None),
                ("Increment", "Check", None),
                ("Check", "Increment", Some("again")),
                ("Check", "__end__", None),
            ]
        );
    }

    #[test]
    fn our_own_attribute_wins_and_anything_unreadable_is_no_graph() {
        let ours = json!({"nodes": [{"id": "a"}], "edges": []});
        let graph = declared_graph(Some(&ours), Some(&counter_graph())).unwrap();
        assert_eq!(graph.nodes.len(), 1);
        assert_eq!(declared_graph(None, Some(&json!("<Graph object>"))), None);
        assert_eq!(declared_graph(None, None), None);
    }
}
