//! Spans of one request → what each trace's run receives: a run header when
//! the run span is among them, node events, state snapshots. Pure and
//! deterministic: every id derives from a span id, so a repeated request
//! (or a span sent twice) projects to records the store already holds.

use super::declared_graph::declared_graph;
use super::rules::{
    classify, is_control_flow, langgraph_metadata, Role, FINAL_STATE_KEYS, INPUT_KEYS, OUTPUT_KEYS,
    STATE_EVENT, STATE_PREFIX,
};
use super::span::Span;
use app::model::{
    DurationMs, EventBatch, GraphDefinition, JsonObject, Label, NewEvent, NewSnapshot, NodeEventType,
    RecordId,
};
use app::store::{LlmCall, LlmPlace, TASK_KEY};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// The graph type of a run whose run span has not arrived, when the resource
/// names no service either.
pub const UNKNOWN_GRAPH_TYPE: &str = "unknown";

/// What one request brings to one trace's run.
#[derive(Debug)]
pub struct TraceRecords {
    /// The run's id: the trace id.
    pub execution_id: RecordId,
    /// The graph type to create the run with if it does not exist yet: the
    /// run span's, else the service's name.
    pub provisional_graph_type: Label,
    /// The earliest start among the trace's spans here.
    pub earliest_start: DateTime<Utc>,
    /// The run span, when it is in this request.
    pub run: Option<RunSpan>,
    /// Node events and state snapshots.
    pub batch: EventBatch,
    /// Who sent the trace (`span::RESOURCE_METADATA`), for the run's metadata.
    pub resource: std::sync::Arc<JsonObject>,
    /// The LLM calls among the spans, and earlier ones this request placed.
    pub llm_calls: Vec<LlmCall>,
    /// Spans of this trace in the request (after removing repeats).
    pub spans: usize,
}

/// The run span, read.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpan {
    /// Its graph type.
    pub graph_type: Label,
    /// Whether a rule named it (see `Role::Run`).
    pub explicit: bool,
    /// When the run started.
    pub start: DateTime<Utc>,
    /// When it ended.
    pub end: DateTime<Utc>,
    /// The error, when the span's status is an error.
    pub error: Option<String>,
    /// The run's inputs.
    pub inputs: JsonObject,
    /// Its final state, when the span carries one.
    pub final_state: Option<JsonObject>,
    /// Its declared graph (`tracevis.graph`).
    pub graph: Option<GraphDefinition>,
    /// Where it came from (`otel.*`, `service.name`).
    pub metadata: JsonObject,
}

/// What earlier requests stored that this trace's spans need: LLM calls
/// still waiting for a span, and LangGraph tasks run before (a retry is
/// numbered after its task's earlier attempts).
#[derive(Debug, Default)]
pub struct Earlier {
    /// LLM calls awaiting a span (`LlmPlace::Awaiting`).
    pub llm_calls: Vec<LlmCall>,
    /// Stored LangGraph node visits: (task namespace, span id, start).
    pub tasks: Vec<(String, String, DateTime<Utc>)>,
}

/// Groups `spans` by trace, in trace id order; a span repeated within the
/// request counts once.
pub fn group_by_trace(spans: Vec<Span>) -> Vec<Vec<Span>> {
    let mut traces: BTreeMap<String, Vec<Span>> = BTreeMap::new();
    for span in spans {
        traces.entry(span.trace_id.clone()).or_default().push(span);
    }
    traces
        .into_values()
        .map(|mut spans| {
            // First copy of a span wins; logfire's pending spans are kept apart.
            let mut seen = std::collections::HashSet::new();
            spans.retain(|s| seen.insert(s.span_id.clone()));
            spans
        })
        .collect()
}

/// The run id of a trace's spans (one trace, as `group_by_trace` gives).
pub fn trace_run_id(spans: &[Span]) -> RecordId {
    record_id(spans[0].trace_id.clone())
}

/// The LangGraph task namespaces among a trace's node spans: what to ask the
/// store for (`Earlier::tasks`).
pub fn langgraph_namespaces(spans: &[Span]) -> Vec<String> {
    let mut namespaces: Vec<String> = spans
        .iter()
        .filter(|s| matches!(classify(s).0, Role::Node { .. }) && !is_pending(s))
        .filter_map(task_namespace)
        .collect();
    namespaces.sort();
    namespaces.dedup();
    namespaces
}

/// `group_by_trace` and `project_trace` with nothing stored before.
#[cfg(test)]
pub fn project(spans: Vec<Span>) -> Vec<TraceRecords> {
    group_by_trace(spans)
        .into_iter()
        .map(|t| project_trace(t, Earlier::default()))
        .collect()
}

/// Projects one trace's spans (as `group_by_trace` gives them), given what
/// earlier requests left for it.
pub fn project_trace(spans: Vec<Span>, earlier: Earlier) -> TraceRecords {
    let trace_id = spans[0].trace_id.clone();
    let roles: Vec<Role> = spans.iter().map(|s| classify(s).0).collect();
    let index: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    let node_from = |at: Option<&str>| nearest_node(&spans, &roles, &index, at);
    let node_above = |i: usize| node_from(spans[i].parent_span_id.as_deref()).ok();

    // LLM calls: this request's, and earlier ones waiting for a span that
    // may be here; each is summed into its node visit's ending event, or
    // left waiting, or placed nowhere.
    let mut llm_calls = Vec::new();
    let mut usage: HashMap<usize, (i64, Option<i64>, Vec<String>)> = HashMap::new();
    let waiting = earlier
        .llm_calls
        .into_iter()
        .filter(|c| !index.contains_key(c.span_id.as_str()))
        .filter_map(|c| match c.place {
            LlmPlace::Awaiting(span) => Some((c.span_id, c.tokens, c.model, Some(span))),
            _ => None,
        });
    let here = spans.iter().zip(&roles).filter_map(|(s, role)| match role {
        Role::Llm { tokens, model } => Some((
            s.span_id.clone(),
            *tokens,
            model.clone(),
            s.parent_span_id.clone(),
        )),
        _ => None,
    });
    for (span_id, tokens, model, parent) in here.collect::<Vec<_>>().into_iter().chain(waiting) {
        let place = match node_from(parent.as_deref()) {
            Ok(n) => {
                let entry = usage.entry(n).or_default();
                entry.0 = entry.0.saturating_add(1);
                if let Some(t) = tokens {
                    entry.1 = Some(entry.1.unwrap_or(0).saturating_add(t));
                }
                if let Some(m) = model.as_ref().filter(|m| !entry.2.contains(m)) {
                    entry.2.push(m.clone());
                }
                LlmPlace::Visit(record_id(format!("{}:e", spans[n].span_id)))
            }
            Err(Some(missing)) => LlmPlace::Awaiting(missing),
            Err(None) => LlmPlace::Nowhere,
        };
        llm_calls.push(LlmCall {
            span_id,
            tokens,
            model,
            place,
        });
    }

    // Retries of a LangGraph task: attempt n is the task's n-th span by
    // start, counting those stored earlier.
    let mut tasks: HashMap<String, Vec<(DateTime<Utc>, String)>> = HashMap::new();
    for (namespace, span_id, start) in earlier.tasks {
        if !index.contains_key(span_id.as_str()) {
            tasks.entry(namespace).or_default().push((start, span_id));
        }
    }
    for (span, role) in spans.iter().zip(&roles) {
        if matches!(role, Role::Node { .. }) && !is_pending(span) {
            if let Some(namespace) = task_namespace(span) {
                tasks
                    .entry(namespace)
                    .or_default()
                    .push((span.start, span.span_id.clone()));
            }
        }
    }
    let attempt_of = |span: &Span| -> Option<i64> {
        let runs = tasks.get(&task_namespace(span)?)?;
        let before = runs
            .iter()
            .filter(|(start, id)| (start, id.as_str()) < (&span.start, span.span_id.as_str()))
            .count();
        i64::try_from(before).ok()?.checked_add(1)
    };

    // The run span: one a rule named wins over a mere root; a run span
    // inside a node visit (a subgraph) is part of that visit.
    let run = spans
        .iter()
        .zip(&roles)
        .enumerate()
        .filter_map(|(i, (s, r))| match r {
            Role::Run { graph_type, explicit } if node_above(i).is_none() && !is_pending(s) => {
                Some((s, graph_type, *explicit))
            }
            _ => None,
        })
        .min_by_key(|(s, _, explicit)| (!explicit, s.start))
        .map(|(s, graph_type, explicit)| run_span(s, graph_type, explicit));

    let mut batch = EventBatch::default();
    for (i, (span, role)) in spans.iter().zip(&roles).enumerate() {
        let Role::Node { node_id } = role else { continue };
        let node_id = label(node_id, &span.name);
        if is_pending(span) {
            // logfire's pending span: the real span (its parent) has started.
            if let Some(real) = &span.parent_span_id {
                batch.events.push(started(real, &node_id, span, None));
            }
            continue;
        }
        let attempt = attempt_of(span);
        batch.events.push(started(&span.span_id, &node_id, span, attempt));
        batch
            .events
            .push(ended(span, &node_id, attempt, usage.remove(&i)));
        snapshots_of(span, &node_id, &mut batch.snapshots);
    }
    let earliest_start = spans.iter().map(|s| s.start).min().expect("a trace has a span");
    let provisional_graph_type = run.as_ref().map_or_else(
        || {
            let service = spans.iter().find_map(Span::service_name);
            label(
                service
                    .filter(|s| !s.starts_with("unknown_service"))
                    .unwrap_or(""),
                UNKNOWN_GRAPH_TYPE,
            )
        },
        |r| r.graph_type.clone(),
    );
    TraceRecords {
        execution_id: RecordId::parse(trace_id).expect("32 hex digits are a record id"),
        provisional_graph_type,
        earliest_start,
        run,
        batch,
        resource: spans[0].resource.clone(),
        llm_calls,
        spans: spans.len(),
    }
}

/// The nearest node span at or above the span a chain of parents starts
/// from (`at`), within one request: Ok(its index), or Err(the first ancestor
/// not here), or Err(None) when the chain ends without a node.
fn nearest_node<'a>(
    spans: &'a [Span],
    roles: &[Role],
    index: &HashMap<&str, usize>,
    mut at: Option<&'a str>,
) -> Result<usize, Option<String>> {
    for _ in 0..=spans.len() {
        let Some(id) = at else { return Err(None) };
        let Some(&p) = index.get(id) else {
            return Err(Some(id.to_owned()));
        };
        if matches!(roles[p], Role::Node { .. }) && !is_pending(&spans[p]) {
            return Ok(p);
        }
        at = spans[p].parent_span_id.as_deref();
    }
    Err(None) // a cycle of parents: no node
}

/// logfire's convention for "this span has started": a zero-length child
/// span marked `pending_span`, sent when the real span starts.
fn is_pending(span: &Span) -> bool {
    span.str_attr("logfire.span_type") == Some("pending_span")
}

fn run_span(span: &Span, graph_type: &str, explicit: bool) -> RunSpan {
    let mut metadata = JsonObject::new();
    metadata.insert("otel.trace_id".into(), json!(span.trace_id));
    metadata.insert("otel.run_span_id".into(), json!(span.span_id));
    metadata.extend(span.resource.iter().map(|(k, v)| (k.clone(), v.clone())));
    RunSpan {
        graph_type: label(graph_type, &span.name),
        explicit,
        start: span.start,
        end: span.end,
        error: span.error.as_ref().map(|e| e.message.clone()),
        inputs: payload(span, INPUT_KEYS).unwrap_or_default(),
        final_state: payload(span, FINAL_STATE_KEYS),
        graph: declared_graph(
            span.attributes
                .get("tracevis.graph")
                .and_then(json_value)
                .as_ref(),
            span.attributes.get("graph").and_then(json_value).as_ref(),
        ),
        metadata,
    }
}

fn started(span_id: &str, node_id: &Label, span: &Span, attempt: Option<i64>) -> NewEvent {
    NewEvent {
        event_id: Some(record_id(format!("{span_id}:s"))),
        node_id: node_id.clone(),
        event_type: NodeEventType::Started,
        timestamp: span.start,
        duration_ms: None,
        inputs: payload(span, INPUT_KEYS).unwrap_or_default(),
        outputs: JsonObject::new(),
        error: None,
        metadata: attempt_metadata(span, attempt),
        // A link to another node span: the visit this one follows, named by
        // that span's started event. The store drops a link to a span it has
        // not received (spans arrive in any order).
        parents: span
            .links
            .iter()
            .map(|link| record_id(format!("{link}:s")))
            .collect(),
    }
}

fn ended(
    span: &Span,
    node_id: &Label,
    attempt: Option<i64>,
    usage: Option<(i64, Option<i64>, Vec<String>)>,
) -> NewEvent {
    let mut metadata = attempt_metadata(span, attempt);
    metadata.insert("otel.span_id".into(), json!(span.span_id));
    if let Some((calls, tokens, models)) = usage {
        metadata.insert("llm_calls".into(), json!(calls));
        if let Some(t) = tokens {
            metadata.insert("tokens".into(), json!(t));
        }
        if let [model] = models.as_slice() {
            metadata.insert("model".into(), json!(model));
        } else if !models.is_empty() {
            metadata.insert("model".into(), json!(models));
        }
    }
    let cached = ["tracevis.cached", "cache_hit", "cached"]
        .iter()
        .any(|k| span.attributes.get(*k) == Some(&Value::Bool(true)));
    let control_flow = span.error.as_ref().is_some_and(|e| is_control_flow(&e.message));
    let (event_type, error) = match &span.error {
        Some(_) if control_flow => {
            metadata.insert("interrupted".into(), json!(true));
            (NodeEventType::Completed, None)
        }
        Some(e) => {
            if let Some(trace) = &e.stacktrace {
                metadata.insert("stacktrace".into(), json!(trace));
            }
            (NodeEventType::Failed, Some(e.message.clone()))
        }
        None if cached => (NodeEventType::Cached, None),
        None => (NodeEventType::Completed, None),
    };
    NewEvent {
        event_id: Some(record_id(format!("{}:e", span.span_id))),
        node_id: node_id.clone(),
        event_type,
        timestamp: span.end,
        // Nanoseconds to milliseconds: at most 1.8e13 ms, finite and >= 0.
        duration_ms: DurationMs::try_from(span.duration_nanos as f64 / 1e6).ok(),
        inputs: JsonObject::new(),
        outputs: payload(span, OUTPUT_KEYS).unwrap_or_default(),
        error,
        metadata,
        parents: Vec::new(),
    }
}

/// The attempt (the span's own `tracevis.attempt`, else `counted`, the
/// LangGraph task's), and the LangGraph step and task it ran in.
fn attempt_metadata(span: &Span, counted: Option<i64>) -> JsonObject {
    let mut metadata = JsonObject::new();
    let attempt = span
        .int_attr("tracevis.attempt")
        .filter(|a| *a >= 1)
        .or(counted.filter(|a| *a > 1));
    if let Some(attempt) = attempt {
        metadata.insert("attempt".into(), json!(attempt));
    }
    if let Some(step) = langgraph_metadata(span, "langgraph_step") {
        metadata.insert("langgraph_step".into(), json!(step));
    }
    if let Some(task) = task_namespace(span) {
        metadata.insert(TASK_KEY.into(), json!(task));
    }
    metadata
}

/// A LangGraph node span's task namespace (`node:task-id`): the same for
/// every attempt of one task, new for each step, so a loop back to a node
/// is a new visit and a retry is not.
fn task_namespace(span: &Span) -> Option<String> {
    langgraph_metadata(span, TASK_KEY).filter(|ns| !ns.is_empty())
}

/// State snapshots a node span carries: each `tracevis.state` span event,
/// and the `state.*` attributes as one snapshot at the span's end. A
/// LangGraph node without either gets the state it produced, derived from
/// what it saw and the update it returned (`langgraph_state_after`).
fn snapshots_of(span: &Span, node_id: &Label, out: &mut Vec<NewSnapshot>) {
    let before = out.len();
    explicit_snapshots(span, node_id, out);
    if out.len() == before && langgraph_metadata(span, "langgraph_node").is_some() {
        let read = |key: &str| span.attributes.get(key).and_then(json_value);
        if let (Some(Value::Object(seen)), Some(Value::Object(update))) =
            (read("input.value"), read("output.value"))
        {
            out.push(NewSnapshot {
                snapshot_id: Some(record_id(format!("{}:state", span.span_id))),
                timestamp: span.end,
                node_id: node_id.clone(),
                state: langgraph_state_after(seen, update),
            });
        }
    }
}

/// The state after a LangGraph node: the state it saw with the update it
/// returned applied per key. A list the update extends is taken whole; any
/// other list update is appended, as LangGraph's list reducers
/// (`operator.add`, `add_messages`) do; other values replace. Exact for
/// plain channels and appending reducers; a custom reducer's result can
/// differ (the next node's input, shown in its details, is exact).
fn langgraph_state_after(mut state: JsonObject, update: JsonObject) -> JsonObject {
    for (key, new) in update {
        let merged = match (state.remove(&key), new) {
            (Some(Value::Array(old)), Value::Array(new)) if !new.starts_with(&old) => {
                Value::Array(old.into_iter().chain(new).collect())
            }
            (_, new) => new,
        };
        state.insert(key, merged);
    }
    state
}

fn explicit_snapshots(span: &Span, node_id: &Label, out: &mut Vec<NewSnapshot>) {
    for (i, event) in span.events.iter().enumerate() {
        if event.name != STATE_EVENT {
            continue;
        }
        if let Some(state) = event.attributes.get(STATE_EVENT).and_then(json_value).map(object) {
            out.push(NewSnapshot {
                snapshot_id: Some(record_id(format!("{}:{i}", span.span_id))),
                timestamp: event.time,
                node_id: node_id.clone(),
                state,
            });
        }
    }
    let flattened: Vec<(&str, &Value)> = span
        .attributes
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(STATE_PREFIX).map(|k| (k, v)))
        .collect();
    if !flattened.is_empty() {
        let mut state = JsonObject::new();
        for (path, value) in flattened {
            insert_path(&mut state, path, value.clone());
        }
        out.push(NewSnapshot {
            snapshot_id: Some(record_id(format!("{}:state", span.span_id))),
            timestamp: span.end,
            node_id: node_id.clone(),
            state,
        });
    }
}

/// `a.b` = v → `{"a": {"b": v}}` (a key that is already a value stays).
fn insert_path(state: &mut JsonObject, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            state.insert(path.to_owned(), value);
        }
        Some((head, rest)) => {
            let child = state
                .entry(head.to_owned())
                .or_insert_with(|| Value::Object(JsonObject::new()));
            if let Value::Object(child) = child {
                insert_path(child, rest, value);
            }
        }
    }
}

/// The first of `keys` the span has, as a JSON object.
fn payload(span: &Span, keys: &[&str]) -> Option<JsonObject> {
    keys.iter()
        .find_map(|k| span.attributes.get(*k).filter(|v| !v.is_null()))
        .and_then(json_value)
        .map(object)
}

/// An attribute value that may be JSON sent as a string (logfire,
/// OpenInference) or a structured value.
fn json_value(value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))),
        other => Some(other.clone()),
    }
}

/// Objects as they are; anything else as `{"value": …}`.
fn object(value: Value) -> JsonObject {
    match value {
        Value::Object(o) => o,
        other => JsonObject::from_iter([("value".to_owned(), other)]),
    }
}

/// `text` as a label, or `fallback` when it is empty; cut to the label limit.
fn label(text: &str, fallback: &str) -> Label {
    let text = if text.trim().is_empty() { fallback } else { text };
    let cut: String = app::model::replace_nul(text)
        .chars()
        .take(app::model::MAX_LABEL_LEN)
        .collect();
    Label::parse(cut).unwrap_or_else(|_| Label::parse(UNKNOWN_GRAPH_TYPE).expect("a valid label"))
}

fn record_id(text: String) -> RecordId {
    RecordId::parse(text).expect("hex span ids with a suffix are record ids")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::span::SpanEvent;

    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

    fn span(
        id: &str,
        parent: Option<&str>,
        name: &str,
        start_ms: i64,
        end_ms: i64,
        attributes: Value,
    ) -> Span {
        Span {
            trace_id: TRACE.into(),
            span_id: id.into(),
            parent_span_id: parent.map(str::to_owned),
            links: Vec::new(),
            name: name.into(),
            start: DateTime::from_timestamp_millis(1_700_000_000_000 + start_ms).unwrap(),
            end: DateTime::from_timestamp_millis(1_700_000_000_000 + end_ms).unwrap(),
            duration_nanos: ((end_ms - start_ms) * 1_000_000) as u64,
            error: None,
            attributes: attributes.as_object().unwrap().clone(),
            events: vec![],
            resource: std::sync::Arc::new(json!({"service.name": "svc"}).as_object().unwrap().clone()),
        }
    }

    fn kinds(batch: &EventBatch) -> Vec<(String, &'static str)> {
        batch
            .events
            .iter()
            .map(|e| (e.node_id.as_str().to_owned(), e.event_type.as_str()))
            .collect()
    }

    #[test]
    fn a_pydantic_graph_run_becomes_a_run_with_a_visit_per_node_span() {
        let records = project(vec![
            span(
                "0000000000000002",
                Some("0000000000000001"),
                "run node Plan",
                1,
                10,
                json!({}),
            ),
            span(
                "0000000000000003",
                Some("0000000000000001"),
                "run node Plan",
                11,
                20,
                json!({}),
            ),
            span("0000000000000001", None, "run graph forward", 0, 21, json!({})),
        ]);
        let [trace] = records.as_slice() else {
            panic!("one trace")
        };
        assert_eq!(trace.execution_id.as_str(), TRACE);
        let run = trace.run.as_ref().expect("the run span");
        assert_eq!(
            (run.graph_type.as_str(), run.explicit, run.error.as_deref()),
            ("forward", true, None)
        );
        assert_eq!(
            kinds(&trace.batch),
            [
                ("Plan".into(), "started"),
                ("Plan".into(), "completed"),
                ("Plan".into(), "started"),
                ("Plan".into(), "completed")
            ]
        );
        assert_eq!(trace.batch.events[1].duration_ms.map(|d| d.get()), Some(9.0));
        assert_eq!(
            trace.batch.events[1].event_id.as_ref().unwrap().as_str(),
            "0000000000000002:e"
        );
    }

    #[test]
    fn without_its_run_span_a_trace_is_named_after_its_service() {
        let records = project(vec![span(
            "0000000000000002",
            Some("0000000000000001"),
            "run node A",
            1,
            2,
            json!({}),
        )]);
        assert!(records[0].run.is_none());
        assert_eq!(records[0].provisional_graph_type.as_str(), "svc");
    }

    #[test]
    fn a_failed_node_span_is_a_failed_visit_and_an_interrupt_is_not_a_failure() {
        let mut failed = span(
            "0000000000000002",
            Some("0000000000000001"),
            "run node A",
            1,
            2,
            json!({}),
        );
        failed.error = Some(crate::otlp::span::SpanError {
            message: "ValueError: boom".into(),
            stacktrace: None,
        });
        let mut interrupted = span(
            "0000000000000003",
            Some("0000000000000001"),
            "run node B",
            3,
            4,
            json!({}),
        );
        interrupted.error = Some(crate::otlp::span::SpanError {
            message: "GraphInterrupt(('ask',))".into(),
            stacktrace: None,
        });
        let records = project(vec![failed, interrupted]);
        let events = &records[0].batch.events;
        assert_eq!(
            (events[1].event_type, events[1].error.as_deref()),
            (NodeEventType::Failed, Some("ValueError: boom"))
        );
        assert_eq!(
            (events[3].event_type, events[3].metadata.get("interrupted")),
            (NodeEventType::Completed, Some(&json!(true)))
        );
    }

    #[test]
    fn llm_calls_are_counted_once_for_the_nearest_node_around_them() {
        let records = project(vec![
            span(
                "00000000000000a1",
                Some("00000000000000a0"),
                "run node Ask",
                0,
                10,
                json!({}),
            ),
            span(
                "00000000000000a2",
                Some("00000000000000a1"),
                "invoke_agent x",
                1,
                9,
                json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.usage.input_tokens": 1000}),
            ),
            span(
                "00000000000000a3",
                Some("00000000000000a2"),
                "chat m",
                2,
                4,
                json!({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 2, "gen_ai.request.model": "m"}),
            ),
            span(
                "00000000000000a4",
                Some("00000000000000a2"),
                "chat m",
                5,
                8,
                json!({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 20, "gen_ai.usage.output_tokens": 3}),
            ),
        ]);
        let end = &records[0].batch.events[1];
        assert_eq!(end.llm_calls(), 2);
        assert_eq!(end.tokens(), Some(35));
        assert_eq!(end.metadata.get("model"), Some(&json!("m")));
    }

    #[test]
    fn payloads_and_state_come_from_attributes_and_state_events() {
        let mut node = span(
            "0000000000000002",
            Some("0000000000000001"),
            "run node Plan",
            1,
            5,
            json!({"tracevis.inputs": "{\"topic\": \"x\"}", "output.value": "plain text", "state.draft.title": "T", "state.step": 2}),
        );
        node.events.push(SpanEvent {
            name: STATE_EVENT.into(),
            time: node.start,
            attributes: json!({"tracevis.state": "{\"step\": 1}"})
                .as_object()
                .unwrap()
                .clone(),
        });
        let records = project(vec![node]);
        let batch = &records[0].batch;
        assert_eq!(
            batch.events[0].inputs,
            *json!({"topic": "x"}).as_object().unwrap()
        );
        assert_eq!(
            batch.events[1].outputs,
            *json!({"value": "plain text"}).as_object().unwrap()
        );
        let states: Vec<_> = batch
            .snapshots
            .iter()
            .map(|s| Value::Object(s.state.clone()))
            .collect();
        assert_eq!(
            states,
            [json!({"step": 1}), json!({"step": 2, "draft": {"title": "T"}})]
        );
    }

    #[test]
    fn a_pending_span_starts_the_real_span_with_the_same_event_id() {
        let pending = span(
            "00000000000000f1",
            Some("0000000000000002"),
            "run node Plan",
            1,
            1,
            json!({"logfire.span_type": "pending_span", "logfire.pending_parent_id": "0000000000000001"}),
        );
        let real = span(
            "0000000000000002",
            Some("0000000000000001"),
            "run node Plan",
            1,
            5,
            json!({}),
        );
        let early = project(vec![pending]);
        assert_eq!(kinds(&early[0].batch), [("Plan".into(), "started")]);
        let late = project(vec![real]);
        assert_eq!(
            early[0].batch.events[0].event_id, late[0].batch.events[0].event_id,
            "deduplicated by the store"
        );
    }

    #[test]
    fn a_run_span_inside_a_node_is_part_of_that_visit_and_an_explicit_run_beats_the_root() {
        let records = project(vec![
            span("0000000000000001", None, "POST /translate", 0, 100, json!({})),
            span(
                "0000000000000002",
                Some("0000000000000001"),
                "run graph outer",
                1,
                90,
                json!({}),
            ),
            span(
                "0000000000000003",
                Some("0000000000000002"),
                "run node Sub",
                2,
                80,
                json!({}),
            ),
            span(
                "0000000000000004",
                Some("0000000000000003"),
                "run graph inner",
                3,
                70,
                json!({}),
            ),
        ]);
        assert_eq!(records[0].run.as_ref().unwrap().graph_type.as_str(), "outer");
    }

    #[test]
    fn a_langgraph_node_over_openinference_gets_the_state_it_produced() {
        // As OpenInference sends it: what the node saw and the update it returned.
        let metadata =
            json!({"langgraph_node": "inc", "langgraph_step": 3, "langgraph_checkpoint_ns": "inc:1"})
                .to_string();
        let node = span(
            "0000000000000002",
            Some("0000000000000001"),
            "inc",
            1,
            5,
            json!({
                "metadata": metadata,
                "input.value": "{\"n\": 1, \"log\": [\"inc\", \"check\"], \"plan\": [\"a\"]}",
                "output.value": "{\"n\": 2, \"log\": [\"inc\"], \"plan\": [\"a\", \"b\"]}"
            }),
        );
        let records = project(vec![node]);
        let [snapshot] = records[0].batch.snapshots.as_slice() else {
            panic!("one snapshot")
        };
        // `log` has an appending reducer; `plan` was returned whole.
        assert_eq!(
            Value::Object(snapshot.state.clone()),
            json!({"n": 2, "log": ["inc", "check", "inc"], "plan": ["a", "b"]})
        );
        assert_eq!(snapshot.node_id.as_str(), "inc");
        assert_eq!(
            records[0].batch.events[1].metadata.get("langgraph_step"),
            Some(&json!("3"))
        );
    }

    fn chat(id: &str, parent: &str, tokens: i64) -> Span {
        span(
            id,
            Some(parent),
            "chat m",
            2,
            3,
            json!({"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": tokens, "gen_ai.request.model": "m"}),
        )
    }

    #[test]
    fn an_llm_call_exported_before_its_node_waits_for_it_and_counts_when_it_comes() {
        // The LLM span sits under a chain span, under the node: the first
        // request has the two inner spans, the next the node.
        let first = project(vec![
            chat("00000000000000c2", "00000000000000c1", 7),
            span(
                "00000000000000c1",
                Some("00000000000000b1"),
                "chain",
                1,
                4,
                json!({}),
            ),
        ]);
        assert!(first[0].batch.events.is_empty());
        assert_eq!(
            first[0].llm_calls.iter().map(|c| &c.place).collect::<Vec<_>>(),
            [&LlmPlace::Awaiting("00000000000000b1".into())]
        );
        let node = span(
            "00000000000000b1",
            Some("00000000000000a0"),
            "run node Ask",
            0,
            10,
            json!({}),
        );
        let second = group_by_trace(vec![node])
            .into_iter()
            .map(|t| {
                project_trace(
                    t,
                    Earlier {
                        llm_calls: first[0].llm_calls.clone(),
                        tasks: Vec::new(),
                    },
                )
            })
            .next()
            .unwrap();
        let end = &second.batch.events[1];
        assert_eq!((end.llm_calls(), end.tokens()), (1, Some(7)));
        assert_eq!(
            second.llm_calls[0].place,
            LlmPlace::Visit(RecordId::parse("00000000000000b1:e").unwrap())
        );
        // An LLM call with no node above it at all is placed nowhere.
        let outside = project(vec![
            chat("00000000000000d2", "00000000000000d1", 1),
            span("00000000000000d1", None, "script", 0, 5, json!({})),
        ]);
        assert_eq!(outside[0].llm_calls[0].place, LlmPlace::Nowhere);
    }

    fn langgraph_task(id: &str, node: &str, ns: &str, start_ms: i64, failed: bool) -> Span {
        let metadata = json!({"langgraph_node": node, "langgraph_checkpoint_ns": ns}).to_string();
        let mut s = span(
            id,
            Some("0000000000000001"),
            node,
            start_ms,
            start_ms + 5,
            json!({ "metadata": metadata }),
        );
        if failed {
            s.error = Some(crate::otlp::span::SpanError {
                message: "RateLimitError: slow down".into(),
                stacktrace: None,
            });
        }
        s
    }

    #[test]
    fn a_langgraph_retry_is_an_attempt_of_its_task_and_a_loop_is_a_new_visit() {
        let records = project(vec![
            langgraph_task("00000000000000e1", "search", "search:t1", 0, true),
            langgraph_task("00000000000000e2", "search", "search:t1", 10, false),
            langgraph_task("00000000000000e3", "search", "search:t2", 20, false),
        ]);
        let attempts: Vec<Option<&Value>> = records[0]
            .batch
            .events
            .iter()
            .map(|e| e.metadata.get("attempt"))
            .collect();
        assert_eq!(
            attempts,
            [None, None, Some(&json!(2)), Some(&json!(2)), None, None]
        );
        // The retry alone in a later request, after the failed attempt was stored.
        let later = group_by_trace(vec![langgraph_task(
            "00000000000000e2",
            "search",
            "search:t1",
            10,
            false,
        )])
        .into_iter()
        .map(|t| {
            project_trace(
                t,
                Earlier {
                    llm_calls: Vec::new(),
                    tasks: vec![(
                        "search:t1".into(),
                        "00000000000000e1".into(),
                        records[0].batch.events[0].timestamp,
                    )],
                },
            )
        })
        .next()
        .unwrap();
        assert_eq!(later.batch.events[1].metadata.get("attempt"), Some(&json!(2)));
        assert_eq!(
            langgraph_namespaces(&[langgraph_task(
                "00000000000000e2",
                "search",
                "search:t1",
                10,
                false
            )]),
            ["search:t1"]
        );
    }
}
