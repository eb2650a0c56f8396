//! Where the LLM calls of a request of spans go (`HistoryStore::append_spans`),
//! decided once for both backends: which calls are counted now and by which
//! node visit, which wait for a span, and which were counted before. Backends
//! read the ledger rows and stored events this needs, then write the plan.

use app::model::JsonObject;
use app::store::{LlmCall, LlmPlace};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// A ledger row to write: the call, and the span it awaits (`None` once it
/// is settled: counted, or in no visit).
#[derive(Debug, PartialEq)]
pub struct LedgerRow<'a> {
    /// The LLM span's id.
    pub span_id: &'a str,
    /// The span it waits for, if it still waits.
    pub awaiting: Option<&'a str>,
    /// Its tokens.
    pub tokens: Option<i64>,
    /// Its model.
    pub model: Option<&'a str>,
}

/// What a backend writes for a request's LLM calls.
#[derive(Debug, Default, PartialEq)]
pub struct LlmPlan<'a> {
    /// Ledger rows to insert or update.
    pub rows: Vec<LedgerRow<'a>>,
    /// Stored ending events whose metadata gains calls: (event id, new metadata).
    pub events: Vec<(String, JsonObject)>,
    /// Calls added to stored events (the run's total grows by as many).
    pub calls: i64,
    /// Their tokens, when any reported some.
    pub tokens: Option<i64>,
}

/// The stored ending event a call could be added to, if it is not being
/// stored by this batch: what the backend looks up.
pub fn event_to_look_up(call: &LlmCall, new_events: &HashSet<&str>) -> Option<String> {
    match &call.place {
        LlmPlace::Visit(event) if !new_events.contains(event.as_str()) => Some(event.as_str().to_owned()),
        LlmPlace::Awaiting(span) => Some(format!("{span}:e")),
        _ => None,
    }
}

/// Plans the calls. `new_events`: ending events this batch stores (they
/// already count the calls placed in them); `settled`: calls the ledger
/// holds as settled (counted or placed nowhere) — they are not counted
/// again; `stored`: the metadata of stored ending events `event_to_look_up`
/// named.
pub fn plan_llm_calls<'a>(
    calls: &'a [LlmCall],
    new_events: &HashSet<&str>,
    settled: &HashSet<String>,
    mut stored: HashMap<String, JsonObject>,
) -> LlmPlan<'a> {
    let mut plan = LlmPlan::default();
    let mut changed: Vec<String> = Vec::new();
    for call in calls {
        if settled.contains(&call.span_id) {
            continue;
        }
        let row = |awaiting| LedgerRow {
            span_id: &call.span_id,
            awaiting,
            tokens: call.tokens,
            model: call.model.as_deref(),
        };
        match &call.place {
            LlmPlace::Visit(event) if new_events.contains(event.as_str()) => plan.rows.push(row(None)),
            LlmPlace::Nowhere => plan.rows.push(row(None)),
            place => {
                let event = event_to_look_up(call, new_events).unwrap_or_default();
                match stored.get_mut(&event) {
                    Some(metadata) => {
                        add_call(metadata, call.tokens, call.model.as_deref());
                        plan.calls = plan.calls.saturating_add(1);
                        if let Some(t) = call.tokens {
                            plan.tokens = Some(plan.tokens.unwrap_or(0).saturating_add(t));
                        }
                        if !changed.contains(&event) {
                            changed.push(event);
                        }
                        plan.rows.push(row(None));
                    }
                    // The visit it was placed in is neither new nor stored
                    // (not possible for a validated batch), or the span it
                    // awaits has not come: it waits.
                    None => plan.rows.push(row(match place {
                        LlmPlace::Awaiting(span) => Some(span.as_str()),
                        _ => None,
                    })),
                }
            }
        }
    }
    plan.events = changed
        .into_iter()
        .filter_map(|e| stored.remove(&e).map(|m| (e, m)))
        .collect();
    plan
}

/// Adds one call to an ending event's metadata, as the projection writes
/// it: `llm_calls`, `tokens`, and `model` (one name, or a list of several).
fn add_call(metadata: &mut JsonObject, tokens: Option<i64>, model: Option<&str>) {
    let calls = metadata.get("llm_calls").and_then(Value::as_i64).unwrap_or(0);
    metadata.insert("llm_calls".into(), json!(calls.saturating_add(1)));
    if let Some(t) = tokens {
        let before = metadata.get("tokens").and_then(Value::as_i64).unwrap_or(0);
        metadata.insert("tokens".into(), json!(before.saturating_add(t)));
    }
    if let Some(model) = model {
        let mut models: Vec<Value> = match metadata.remove("model") {
            Some(Value::Array(list)) => list,
            Some(one @ Value::String(_)) => vec![one],
            _ => Vec::new(),
        };
        if !models.iter().any(|m| m.as_str() == Some(model)) {
            models.push(json!(model));
        }
        let value = match <[Value; 1]>::try_from(models) {
            Ok([one]) => one,
            Err(list) => Value::Array(list),
        };
        metadata.insert("model".into(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::RecordId;

    fn call(span: &str, place: LlmPlace) -> LlmCall {
        LlmCall {
            span_id: span.into(),
            tokens: Some(10),
            model: Some("m".into()),
            place,
        }
    }

    fn visit(event: &str) -> LlmPlace {
        LlmPlace::Visit(RecordId::parse(event).unwrap())
    }

    #[test]
    fn a_call_in_a_visit_stored_now_is_only_settled() {
        let calls = [call("l1", visit("n1:e"))];
        let plan = plan_llm_calls(&calls, &HashSet::from(["n1:e"]), &HashSet::new(), HashMap::new());
        assert_eq!(plan.rows.len(), 1);
        assert_eq!(plan.rows[0].awaiting, None);
        assert_eq!((plan.calls, plan.tokens, plan.events.len()), (0, None, 0));
    }

    #[test]
    fn a_call_whose_visit_was_stored_earlier_is_added_to_it_once() {
        let calls = [
            call("l1", LlmPlace::Awaiting("n1".into())),
            call("l2", visit("n1:e")),
        ];
        let stored = HashMap::from([(
            "n1:e".to_owned(),
            json!({"llm_calls": 1, "tokens": 5, "model": "k"})
                .as_object()
                .unwrap()
                .clone(),
        )]);
        let plan = plan_llm_calls(&calls, &HashSet::new(), &HashSet::new(), stored.clone());
        assert_eq!((plan.calls, plan.tokens), (2, Some(20)));
        assert_eq!(
            plan.events,
            [(
                "n1:e".to_owned(),
                json!({"llm_calls": 3, "tokens": 25, "model": ["k", "m"]})
                    .as_object()
                    .unwrap()
                    .clone()
            )]
        );
        // Sent again after being counted: nothing changes.
        let settled = HashSet::from(["l1".to_owned(), "l2".to_owned()]);
        let again = plan_llm_calls(&calls, &HashSet::new(), &settled, stored);
        assert_eq!(again, LlmPlan::default());
    }

    #[test]
    fn a_call_whose_span_has_not_come_waits_for_it() {
        let calls = [
            call("l1", LlmPlace::Awaiting("n9".into())),
            call("l2", LlmPlace::Nowhere),
        ];
        let plan = plan_llm_calls(&calls, &HashSet::new(), &HashSet::new(), HashMap::new());
        assert_eq!(
            plan.rows.iter().map(|r| r.awaiting).collect::<Vec<_>>(),
            [Some("n9"), None]
        );
        assert_eq!(plan.calls, 0);
    }
}
