//! Which span is a run, which is a node visit, which is an LLM call: one
//! table of rules, tried in order, first match wins (README "Send your runs
//! over OpenTelemetry" lists them). Also where payloads are read from.

use super::span::Span;
use serde_json::Value;

/// What a span stands for.
#[derive(Clone, Debug, PartialEq)]
pub enum Role {
    /// The run itself. `explicit`: named as a run by its producer (not just
    /// the root of a trace), which wins over a root that merely wraps it.
    Run {
        /// The run's graph type.
        graph_type: String,
        /// Whether a rule named it a run (rather than the root fallback).
        explicit: bool,
    },
    /// One visit of a node.
    Node {
        /// The node's id.
        node_id: String,
    },
    /// One LLM call; counted for the nearest node around it, never twice.
    Llm {
        /// Input plus output tokens, when the span reports them.
        tokens: Option<i64>,
        /// The model, when named.
        model: Option<String>,
    },
    /// Anything else (routing functions, tools, HTTP calls): not drawn.
    Other,
}

/// One rule: a name for the README and tests, and a matcher.
pub struct Rule {
    /// Shown in the documentation and in the event metadata (`otel.rule`).
    pub name: &'static str,
    /// The role of a span this rule matches.
    pub matches: fn(&Span) -> Option<Role>,
}

/// The rules, first match wins.
pub const RULES: &[Rule] = &[
    Rule {
        name: "tracevis run (tracevis.graph_type)",
        matches: |s| {
            s.str_attr("tracevis.graph_type").map(|g| Role::Run {
                graph_type: g.to_owned(),
                explicit: true,
            })
        },
    },
    Rule {
        name: "tracevis node (tracevis.node_id)",
        matches: |s| s.str_attr("tracevis.node_id").map(node),
    },
    Rule {
        name: "pydantic-graph run (run graph NAME)",
        matches: |s| {
            s.name.strip_prefix("run graph ").map(|name| Role::Run {
                graph_type: s.str_attr("graph_name").unwrap_or(name).to_owned(),
                explicit: true,
            })
        },
    },
    Rule {
        name: "pydantic-graph node (run node ID)",
        matches: |s| {
            s.name
                .strip_prefix("run node ")
                .map(|id| node(s.str_attr("node_id").unwrap_or(id)))
        },
    },
    Rule {
        name: "OpenInference graph node (graph.node.id)",
        matches: |s| {
            s.str_attr("graph.node.id")
                .map(|id| node(s.str_attr("graph.node.name").unwrap_or(id)))
        },
    },
    Rule {
        name: "LangGraph node (topmost span named langgraph_node)",
        matches: langgraph_node,
    },
    Rule {
        name: "GenAI workflow (invoke_workflow)",
        matches: |s| {
            (s.str_attr("gen_ai.operation.name") == Some("invoke_workflow")).then(|| Role::Run {
                graph_type: s.str_attr("gen_ai.workflow.name").unwrap_or(&s.name).to_owned(),
                explicit: true,
            })
        },
    },
    Rule {
        name: "LLM call (GenAI chat, OpenInference LLM, LangSmith llm)",
        matches: llm_call,
    },
    Rule {
        name: "logfire log (logfire.span_type = log): not a run",
        matches: |s| (s.str_attr("logfire.span_type") == Some("log")).then_some(Role::Other),
    },
    Rule {
        name: "root span (the trace's topmost span)",
        matches: |s| {
            s.parent_span_id.is_none().then(|| Role::Run {
                graph_type: s.str_attr("gen_ai.agent.name").unwrap_or(&s.name).to_owned(),
                explicit: false,
            })
        },
    },
];

/// The role of `span` and the name of the rule that gave it.
pub fn classify(span: &Span) -> (Role, &'static str) {
    RULES
        .iter()
        .find_map(|rule| (rule.matches)(span).map(|role| (role, rule.name)))
        .unwrap_or((Role::Other, "none"))
}

fn node(id: &str) -> Role {
    Role::Node {
        node_id: id.to_owned(),
    }
}

/// A LangGraph node visit: the span LangChain opens for the node itself —
/// named like the node, at the top level of the graph (a checkpoint
/// namespace without `|`, so a subgraph's inner nodes are part of the outer
/// visit), and not one of LangGraph's hidden writer runs. Routing functions
/// and LLM calls inside the node inherit its metadata but not its name.
fn langgraph_node(span: &Span) -> Option<Role> {
    let node_id = langgraph_metadata(span, "langgraph_node")?;
    if node_id != span.name {
        return None;
    }
    let namespace = langgraph_metadata(span, "langgraph_checkpoint_ns").unwrap_or_default();
    if namespace.contains('|') {
        return None;
    }
    let hidden = span
        .attributes
        .get("langsmith.span.tags")
        .and_then(Value::as_str)
        .is_some_and(|tags| tags.contains("langsmith:hidden"));
    (!hidden).then(|| node(&node_id))
}

/// A LangChain metadata entry: flattened by LangSmith's exporter
/// (`langsmith.metadata.KEY`), or inside OpenInference's JSON `metadata`.
pub fn langgraph_metadata(span: &Span, key: &str) -> Option<String> {
    let as_text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(v) = span.attributes.get(&format!("langsmith.metadata.{key}")) {
        return as_text(v);
    }
    let metadata = span.str_attr("metadata")?;
    let parsed: Value = serde_json::from_str(metadata).ok()?;
    parsed.get(key).and_then(as_text)
}

/// GenAI operations that are one model call (agent and workflow spans only
/// repeat their children's usage).
const LLM_OPERATIONS: &[&str] = &["chat", "text_completion", "generate_content"];

fn llm_call(span: &Span) -> Option<Role> {
    let is_llm = span
        .str_attr("gen_ai.operation.name")
        .is_some_and(|op| LLM_OPERATIONS.contains(&op))
        || span.str_attr("openinference.span.kind") == Some("LLM")
        || span.str_attr("langsmith.span.kind") == Some("llm");
    if !is_llm {
        return None;
    }
    let first = |keys: &[&str]| keys.iter().find_map(|k| span.int_attr(k));
    let input = first(&[
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",
        "llm.token_count.prompt",
    ]);
    let output = first(&[
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
    ]);
    let tokens = match (input, output) {
        (None, None) => span.int_attr("llm.token_count.total"),
        (i, o) => Some(i.unwrap_or(0).saturating_add(o.unwrap_or(0))),
    };
    let model = ["gen_ai.response.model", "gen_ai.request.model", "llm.model_name"]
        .iter()
        .find_map(|k| span.str_attr(k))
        .map(str::to_owned);
    Some(Role::Llm {
        tokens: tokens.map(|t| t.max(0)),
        model,
    })
}

/// Where a node's (or run's) inputs are read from, first present wins.
pub const INPUT_KEYS: &[&str] = &["tracevis.inputs", "input.value", "gen_ai.prompt", "inputs"];
/// Where its outputs are read from.
pub const OUTPUT_KEYS: &[&str] = &["tracevis.outputs", "output.value", "gen_ai.completion", "outputs"];
/// Where a run span's final state is read from.
pub const FINAL_STATE_KEYS: &[&str] = &["tracevis.final_state", "output.value"];
/// Span events that carry a state snapshot, in their `tracevis.state` attribute.
pub const STATE_EVENT: &str = "tracevis.state";
/// Attributes flattened from a state (`state.step` → `{"step": …}`).
pub const STATE_PREFIX: &str = "state.";
/// Exceptions that are LangGraph's control flow (an interrupt or a
/// command), not a failure.
const CONTROL_FLOW_ERRORS: &[&str] = &["GraphInterrupt", "Command", "ParentCommand", "GraphBubbleUp"];

/// Whether an error message names one of LangGraph's control-flow
/// exceptions, as a repr (`GraphInterrupt(…)`) or as "Type: message".
pub fn is_control_flow(message: &str) -> bool {
    CONTROL_FLOW_ERRORS.iter().any(|name| {
        message
            .strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('(') || rest.starts_with(':'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use serde_json::json;

    fn span(name: &str, parent: Option<&str>, attributes: Value) -> Span {
        Span {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "b7ad6b7169203331".into(),
            parent_span_id: parent.map(str::to_owned),
            links: Vec::new(),
            name: name.into(),
            start: DateTime::from_timestamp_nanos(1),
            end: DateTime::from_timestamp_nanos(2),
            duration_nanos: 1,
            error: None,
            attributes: attributes.as_object().unwrap().clone(),
            events: vec![],
            resource: Default::default(),
        }
    }

    fn role(name: &str, parent: Option<&str>, attributes: Value) -> (Role, &'static str) {
        classify(&span(name, parent, attributes))
    }

    #[test]
    fn tracevis_attributes_name_runs_and_nodes_whatever_the_span_is_called() {
        let (r, rule) = role("anything", Some("p"), json!({"tracevis.graph_type": "g"}));
        assert_eq!(
            r,
            Role::Run {
                graph_type: "g".into(),
                explicit: true
            }
        );
        assert!(rule.starts_with("tracevis run"));
        assert_eq!(
            role("x", Some("p"), json!({"tracevis.node_id": "N"})).0,
            node("N")
        );
    }

    #[test]
    fn pydantic_graph_spans_are_runs_and_nodes_by_their_names() {
        assert_eq!(
            role("run graph forward", Some("p"), json!({})).0,
            Role::Run {
                graph_type: "forward".into(),
                explicit: true
            }
        );
        assert_eq!(role("run node Plan", Some("p"), json!({})).0, node("Plan"));
        assert_eq!(
            role("run node x", Some("p"), json!({"node_id": "Plan"})).0,
            node("Plan")
        );
    }

    #[test]
    fn openinference_graph_node_attributes_name_a_node() {
        assert_eq!(
            role(
                "step",
                Some("p"),
                json!({"graph.node.id": "n1", "graph.node.name": "Search"})
            )
            .0,
            node("Search")
        );
    }

    #[test]
    fn a_langgraph_node_is_the_span_named_like_its_node_at_the_top_level() {
        let meta = |node: &str, ns: &str| json!({"metadata": json!({"langgraph_node": node, "langgraph_checkpoint_ns": ns}).to_string()});
        assert_eq!(
            role("agent", Some("root"), meta("agent", "agent:1")).0,
            node("agent")
        );
        // A routing function or an LLM call inside the node inherits its metadata.
        assert_eq!(
            role("should_continue", Some("n"), meta("agent", "agent:1")).0,
            Role::Other
        );
        // A subgraph's inner node belongs to the outer visit.
        assert_eq!(
            role("inner", Some("n"), meta("inner", "outer:1|inner:2")).0,
            Role::Other
        );
        // LangSmith's exporter flattens the metadata.
        assert_eq!(
            role(
                "tools",
                Some("root"),
                json!({"langsmith.metadata.langgraph_node": "tools"})
            )
            .0,
            node("tools")
        );
    }

    #[test]
    fn llm_calls_count_tokens_from_any_convention_and_agents_are_not_llm_calls() {
        let (r, _) = role(
            "chat gpt-4o",
            Some("n"),
            json!({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": "5", "gen_ai.request.model": "gpt-4o"}),
        );
        assert_eq!(
            r,
            Role::Llm {
                tokens: Some(15),
                model: Some("gpt-4o".into())
            }
        );
        let (r, _) = role(
            "ChatOpenAI",
            Some("n"),
            json!({"openinference.span.kind": "LLM", "llm.token_count.total": 42}),
        );
        assert_eq!(
            r,
            Role::Llm {
                tokens: Some(42),
                model: None
            }
        );
        // An agent span repeats its children's usage: not an LLM call.
        let (r, _) = role(
            "invoke_agent a",
            Some("n"),
            json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 99}),
        );
        assert_eq!(r, Role::Other);
    }

    #[test]
    fn a_root_span_is_the_run_when_nothing_else_names_it() {
        assert_eq!(
            role("LangGraph", None, json!({})).0,
            Role::Run {
                graph_type: "LangGraph".into(),
                explicit: false
            }
        );
        assert_eq!(
            role("invoke_agent", None, json!({"gen_ai.agent.name": "support"})).0,
            Role::Run {
                graph_type: "support".into(),
                explicit: false
            }
        );
        assert_eq!(
            role(
                "invoke_workflow w",
                Some("p"),
                json!({"gen_ai.operation.name": "invoke_workflow", "gen_ai.workflow.name": "triage"})
            )
            .0,
            Role::Run {
                graph_type: "triage".into(),
                explicit: true
            }
        );
        assert_eq!(role("GET /", Some("p"), json!({})).0, Role::Other);
        // A logfire log line outside any span is not a run.
        assert_eq!(
            role("hello", None, json!({"logfire.span_type": "log"})).0,
            Role::Other
        );
    }

    #[test]
    fn langgraph_control_flow_is_recognised_as_repr_or_as_type_and_message() {
        assert!(is_control_flow("GraphInterrupt((Interrupt(value=1),))"));
        assert!(is_control_flow("GraphInterrupt: waiting"));
        assert!(is_control_flow("Command(goto='x')"));
        assert!(!is_control_flow("CommandError: bad"));
        assert!(!is_control_flow("ValueError: Command(x)"));
    }
}
