//! Turns a validated batch into the exact records a backend writes: ids
//! assigned, duplicates dropped, `seq` numbers given, snapshot diffs computed
//! and the run's aggregate deltas summed. Backends only do the I/O around it,
//! so SQLite and PostgreSQL cannot disagree on any of this.

use super::rows::CountedEventRow;
use app::diff::diff_objects;
use app::error::TraceError;
use app::histogram::bucket_of;
use app::model::{EventBatch, JsonObject, NodeEvent, NodeEventType, RecordId, StateSnapshot};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What a batch adds to one node type's counters.
#[derive(Debug, Default, PartialEq)]
pub struct NodeCounts {
    /// Visits that ended.
    pub visits: i64,
    /// Failed visits.
    pub failed: i64,
    /// Cache hits.
    pub cached: i64,
}

/// The records to store for one batch and what they add to the run.
#[derive(Debug, Default)]
pub struct BatchPlan {
    /// New events, in `seq` order.
    pub events: Vec<NodeEvent>,
    /// New snapshots, in `seq` order.
    pub snapshots: Vec<StateSnapshot>,
    /// Records skipped because their id was stored before or repeated.
    pub duplicates: u64,
    /// Node visits that ended.
    pub nodes: i64,
    /// Failed events.
    pub failed: i64,
    /// Cache hits.
    pub cached: i64,
    /// LLM calls from event metadata.
    pub llm_calls: i64,
    /// Tokens from event metadata, when any event reported them.
    pub tokens: Option<i64>,
    /// The run's highest `seq` after this batch.
    pub last_seq: i64,
    /// Per node type counters to add, ordered by node id (a fixed order keeps
    /// concurrent upserts of the same rows from deadlocking).
    pub node_counts: BTreeMap<String, NodeCounts>,
    /// Per `(node id, histogram bucket)` visit counts to add, ordered.
    pub duration_buckets: BTreeMap<(String, i32), i64>,
}

impl BatchPlan {
    /// Adds LLM calls counted into stored events (`llm_calls::LlmPlan`) to
    /// the run's totals.
    pub fn add_llm_calls(&mut self, calls: i64, tokens: Option<i64>) {
        self.llm_calls = self.llm_calls.saturating_add(calls);
        if let Some(t) = tokens {
            self.tokens = Some(self.tokens.unwrap_or(0).saturating_add(t));
        }
    }

    /// Counts an event into the run's and its node type's figures (`sign`
    /// -1 takes a stored event back out, when a run changes graph type).
    pub fn count_visit(
        &mut self,
        node_id: &str,
        event_type: NodeEventType,
        duration_ms: Option<f64>,
        sign: i64,
    ) {
        if !event_type.ends_visit() {
            return;
        }
        self.nodes += sign;
        let counts = self.node_counts.entry(node_id.to_owned()).or_default();
        counts.visits += sign;
        match event_type {
            NodeEventType::Failed => {
                self.failed += sign;
                counts.failed += sign;
            }
            NodeEventType::Cached => {
                self.cached += sign;
                counts.cached += sign;
            }
            _ => {}
        }
        if let Some(d) = duration_ms {
            *self
                .duration_buckets
                .entry((node_id.to_owned(), bucket_of(d)))
                .or_default() += sign;
        }
    }
}

/// A run's stored events taken out of its old per node type figures and
/// put into its new ones: `(taken, added)`.
pub fn moved_node_stats(events: &[CountedEventRow]) -> (BatchPlan, BatchPlan) {
    let (mut taken, mut added) = (BatchPlan::default(), BatchPlan::default());
    for event in events {
        if let Some(kind) = NodeEventType::parse(&event.event_type) {
            taken.count_visit(&event.node_id, kind, event.duration_ms, -1);
            added.count_visit(&event.node_id, kind, event.duration_ms, 1);
        }
    }
    (taken, added)
}

/// What the store already holds that a plan depends on.
pub struct StoredContext<'a> {
    /// The run's highest stored `seq`.
    pub last_seq: i64,
    /// Which of the batch's event ids are already stored.
    pub stored_event_ids: &'a HashSet<String>,
    /// Which of the batch's snapshot ids are already stored.
    pub stored_snapshot_ids: &'a HashSet<String>,
    /// The state of the run's latest stored snapshot, the base of the first diff.
    pub previous_state: Option<JsonObject>,
    /// The `seq` of each stored event the batch's `parents` name (see
    /// [`parent_ids`]); names not found here must come earlier in the batch.
    pub stored_parents: &'a HashMap<String, i64>,
    /// What a parent that names no earlier event gets.
    pub unknown_parents: UnknownParents,
}

/// What becomes of a parent that names no event stored before its event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownParents {
    /// The batch is refused naming the field (the JSON API: a producer
    /// sends a parent before its child).
    Refuse,
    /// The link is left out (spans: they arrive in any order, and a span
    /// linked to may never come).
    Drop,
}

/// Every event id the batch's events name as parents: what the store looks
/// up (an empty list, and no lookup, for producers that send none).
pub fn parent_ids(batch: &EventBatch) -> Vec<&str> {
    let mut ids: Vec<&str> = batch
        .events
        .iter()
        .flat_map(|e| e.parents.iter().map(RecordId::as_str))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Plans `batch` for execution `execution_id` on top of what is stored.
///
/// Events and snapshots share one sequence; they are interleaved by timestamp
/// (events first on ties) so a node's event precedes the state it produced.
///
/// A parent must be an event stored before, or one placed earlier in this
/// batch: so parents always point back in the sequence and can never form a
/// cycle, and a name that is not yet stored (or belongs to another run) is
/// refused naming the field, with nothing of the batch stored.
pub fn plan_batch(
    execution_id: &RecordId,
    batch: &EventBatch,
    stored: StoredContext<'_>,
) -> Result<BatchPlan, TraceError> {
    enum Item {
        Event(usize),
        Snapshot(usize),
    }
    let mut seen_events: HashSet<&str> = HashSet::new();
    let mut seen_snapshots: HashSet<&str> = HashSet::new();
    let mut plan = BatchPlan::default();
    let mut items = Vec::with_capacity(batch.events.len() + batch.snapshots.len());
    for (i, e) in batch.events.iter().enumerate() {
        if let Some(id) = &e.event_id {
            if stored.stored_event_ids.contains(id.as_str()) || !seen_events.insert(id.as_str()) {
                plan.duplicates += 1;
                continue;
            }
        }
        items.push((e.timestamp, 0u8, Item::Event(i)));
    }
    for (i, s) in batch.snapshots.iter().enumerate() {
        if let Some(id) = &s.snapshot_id {
            if stored.stored_snapshot_ids.contains(id.as_str()) || !seen_snapshots.insert(id.as_str()) {
                plan.duplicates += 1;
                continue;
            }
        }
        items.push((s.timestamp, 1u8, Item::Snapshot(i)));
    }
    // Stable sort: records with equal timestamps keep the producer's order.
    items.sort_by_key(|(t, kind, _)| (*t, *kind));

    let mut seq = stored.last_seq;
    let mut previous_state = stored.previous_state;
    // The seqs given so far to this batch's events, by id (only kept when
    // some event names parents).
    let mut placed: HashMap<&str, i64> = HashMap::new();
    let tracks_parents = batch.events.iter().any(|e| !e.parents.is_empty());
    for (_, _, item) in items {
        seq += 1;
        match item {
            Item::Event(i) => {
                let e = &batch.events[i];
                let mut parent_seqs = Vec::with_capacity(e.parents.len());
                let mut kept_parents = Vec::with_capacity(e.parents.len());
                for (j, parent) in e.parents.iter().enumerate() {
                    let found = placed
                        .get(parent.as_str())
                        .or_else(|| stored.stored_parents.get(parent.as_str()));
                    let Some(&parent_seq) = found else {
                        if stored.unknown_parents == UnknownParents::Drop {
                            continue;
                        }
                        return Err(TraceError::Invalid {
                            field: format!("events[{i}].parents[{j}]"),
                            message: format!(
                                "no event {parent} of this run comes before this one: a parent is an \
                                 event_id stored earlier, or sent earlier in the batch"
                            ),
                        });
                    };
                    parent_seqs.push(parent_seq);
                    kept_parents.push(parent.as_str().to_owned());
                }
                if tracks_parents {
                    if let Some(id) = &e.event_id {
                        placed.insert(id.as_str(), seq);
                    }
                }
                plan.count_visit(
                    e.node_id.as_str(),
                    e.event_type,
                    e.duration_ms.map(|d| d.get()),
                    1,
                );
                plan.llm_calls = plan.llm_calls.saturating_add(e.llm_calls());
                if let Some(t) = e.tokens() {
                    plan.tokens = Some(plan.tokens.unwrap_or(0).saturating_add(t));
                }
                plan.events.push(NodeEvent {
                    event_id: e.event_id.clone().unwrap_or_else(RecordId::generate).into(),
                    execution_id: execution_id.to_string(),
                    seq,
                    node_id: e.node_id.as_str().to_owned(),
                    event_type: e.event_type,
                    timestamp: e.timestamp,
                    duration_ms: e.duration_ms.map(|d| d.get()),
                    inputs: e.inputs.clone(),
                    outputs: e.outputs.clone(),
                    error: e.error.clone(),
                    metadata: e.metadata.clone(),
                    parents: kept_parents,
                    parent_seqs,
                });
            }
            Item::Snapshot(i) => {
                let s = &batch.snapshots[i];
                let diff = previous_state.as_ref().map(|prev| diff_objects(prev, &s.state));
                previous_state = Some(s.state.clone());
                plan.snapshots.push(StateSnapshot {
                    snapshot_id: s.snapshot_id.clone().unwrap_or_else(RecordId::generate).into(),
                    execution_id: execution_id.to_string(),
                    seq,
                    timestamp: s.timestamp,
                    node_id: s.node_id.as_str().to_owned(),
                    state: s.state.clone(),
                    diff,
                });
            }
        }
    }
    plan.last_seq = seq;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch(value: serde_json::Value) -> EventBatch {
        serde_json::from_value(value).unwrap()
    }

    static NO_PARENTS: std::sync::LazyLock<HashMap<String, i64>> = std::sync::LazyLock::new(HashMap::new);

    fn context<'a>(ids: &'a HashSet<String>, last_seq: i64) -> StoredContext<'a> {
        StoredContext {
            last_seq,
            stored_event_ids: ids,
            stored_snapshot_ids: ids,
            previous_state: None,
            stored_parents: &NO_PARENTS,
            unknown_parents: UnknownParents::Refuse,
        }
    }

    #[test]
    fn events_and_snapshots_share_one_sequence_ordered_by_time() {
        let b = batch(json!({
            "events": [
                {"event_id": "e1", "node_id": "A", "event_type": "started", "timestamp": "2025-01-01T00:00:00Z"},
                {"event_id": "e2", "node_id": "A", "event_type": "completed", "timestamp": "2025-01-01T00:00:02Z", "duration_ms": 2000}
            ],
            "snapshots": [{"snapshot_id": "s1", "node_id": "A", "timestamp": "2025-01-01T00:00:02Z", "state": {"x": 1}}]
        }));
        let none = HashSet::new();
        let plan = plan_batch(&RecordId::parse("r").unwrap(), &b, context(&none, 10)).unwrap();
        assert_eq!(
            plan.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
            vec![11, 12]
        );
        assert_eq!(plan.snapshots[0].seq, 13);
        assert_eq!(plan.last_seq, 13);
    }

    #[test]
    fn stored_and_repeated_ids_are_duplicates_and_take_no_seq() {
        let b = batch(json!({"events": [
            {"event_id": "old", "node_id": "A", "event_type": "started", "timestamp": "2025-01-01T00:00:00Z"},
            {"event_id": "new", "node_id": "A", "event_type": "started", "timestamp": "2025-01-01T00:00:01Z"},
            {"event_id": "new", "node_id": "A", "event_type": "started", "timestamp": "2025-01-01T00:00:01Z"}
        ]}));
        let stored: HashSet<String> = ["old".to_string()].into();
        let plan = plan_batch(&RecordId::parse("r").unwrap(), &b, context(&stored, 0)).unwrap();
        assert_eq!(plan.duplicates, 2);
        assert_eq!(plan.events.len(), 1);
        assert_eq!(plan.events[0].event_id, "new");
        assert_eq!(plan.last_seq, 1);
    }

    #[test]
    fn aggregates_count_visits_failures_cache_hits_calls_and_tokens() {
        let b = batch(json!({"events": [
            {"node_id": "A", "event_type": "started", "timestamp": "2025-01-01T00:00:00Z"},
            {"node_id": "A", "event_type": "completed", "timestamp": "2025-01-01T00:00:01Z", "metadata": {"llm_calls": 2, "tokens": 300}},
            {"node_id": "B", "event_type": "failed", "timestamp": "2025-01-01T00:00:02Z", "metadata": {"llm_calls": 1}},
            {"node_id": "C", "event_type": "cached", "timestamp": "2025-01-01T00:00:03Z"}
        ]}));
        let none = HashSet::new();
        let plan = plan_batch(&RecordId::parse("r").unwrap(), &b, context(&none, 0)).unwrap();
        assert_eq!((plan.nodes, plan.failed, plan.cached), (3, 1, 1));
        assert_eq!((plan.llm_calls, plan.tokens), (3, Some(300)));
        assert_eq!(
            plan.node_counts["A"],
            NodeCounts {
                visits: 1,
                failed: 0,
                cached: 0
            }
        );
        assert_eq!(
            plan.node_counts["B"],
            NodeCounts {
                visits: 1,
                failed: 1,
                cached: 0
            }
        );
        assert_eq!(
            plan.node_counts["C"],
            NodeCounts {
                visits: 1,
                failed: 0,
                cached: 1
            }
        );
    }

    #[test]
    fn each_snapshot_is_diffed_against_the_one_before_it() {
        let b = batch(json!({"snapshots": [
            {"node_id": "A", "timestamp": "2025-01-01T00:00:01Z", "state": {"n": 1}},
            {"node_id": "B", "timestamp": "2025-01-01T00:00:02Z", "state": {"n": 2}}
        ]}));
        let none = HashSet::new();
        let mut ctx = context(&none, 0);
        ctx.previous_state = Some(serde_json::from_value(json!({"n": 0})).unwrap());
        let plan = plan_batch(&RecordId::parse("r").unwrap(), &b, ctx).unwrap();
        let olds: Vec<_> = plan
            .snapshots
            .iter()
            .map(|s| s.diff.as_ref().unwrap()[0].old.clone().unwrap())
            .collect();
        assert_eq!(olds, vec![json!(0), json!(1)]);
    }

    #[test]
    fn parents_resolve_to_earlier_seqs_in_the_batch_or_the_store() {
        let b = batch(json!({"events": [
            {"event_id": "a", "node_id": "A", "event_type": "completed", "timestamp": "2025-01-01T00:00:01Z"},
            {"event_id": "b", "node_id": "B", "event_type": "started", "timestamp": "2025-01-01T00:00:02Z",
             "parents": ["a", "old", "a"]}
        ]}));
        let none = HashSet::new();
        let stored: HashMap<String, i64> = [("old".to_string(), 4)].into();
        let mut ctx = context(&none, 10);
        ctx.stored_parents = &stored;
        let plan = plan_batch(&RecordId::parse("r").unwrap(), &b, ctx).unwrap();
        assert_eq!(plan.events[1].parents, vec!["a", "old"]);
        assert_eq!(plan.events[1].parent_seqs, vec![11, 4]);
        assert!(plan.events[0].parents.is_empty());
    }

    #[test]
    fn a_parent_not_stored_before_the_event_is_refused_naming_it() {
        // Later in the batch (by time), itself, and never sent: each would
        // let parents point forward and so form a cycle, or dangle.
        for (parents, field) in [
            (json!(["later"]), "events[1].parents[0]"),
            (json!(["self"]), "events[1].parents[0]"),
            (json!(["ok", "nowhere"]), "events[1].parents[1]"),
        ] {
            let b = batch(json!({"events": [
                {"event_id": "ok", "node_id": "A", "event_type": "completed", "timestamp": "2025-01-01T00:00:00Z"},
                {"event_id": "self", "node_id": "B", "event_type": "started", "timestamp": "2025-01-01T00:00:01Z",
                 "parents": parents},
                {"event_id": "later", "node_id": "C", "event_type": "started", "timestamp": "2025-01-01T00:00:02Z"}
            ]}));
            let none = HashSet::new();
            let err = plan_batch(&RecordId::parse("r").unwrap(), &b, context(&none, 0)).unwrap_err();
            match err {
                TraceError::Invalid { field: named, .. } => assert_eq!(named, field),
                other => panic!("expected a field error, got {other:?}"),
            }
        }
    }

    #[test]
    fn spans_links_to_spans_not_received_are_left_out() {
        let b = batch(json!({"events": [
            {"event_id": "ok", "node_id": "A", "event_type": "completed", "timestamp": "2025-01-01T00:00:00Z"},
            {"event_id": "j", "node_id": "J", "event_type": "started", "timestamp": "2025-01-01T00:00:01Z",
             "parents": ["nowhere", "ok"]}
        ]}));
        let none = HashSet::new();
        let mut ctx = context(&none, 0);
        ctx.unknown_parents = UnknownParents::Drop;
        let plan = plan_batch(&RecordId::parse("r").unwrap(), &b, ctx).unwrap();
        assert_eq!(
            (plan.events[1].parents.clone(), plan.events[1].parent_seqs.clone()),
            (vec!["ok".to_owned()], vec![1])
        );
    }
}
