//! Simulates one graph run: node visits with realistic durations, retries
//! after failures, cache hits, LLM calls and tokens, and a nested state that
//! changes a little after each node. The result is a plan of timed API
//! payloads; `demo` decides whether to post it at once or in real time.

use super::graphs;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// One node visit's records, due `offset` after the run's start.
pub struct Step {
    /// When the records are due, relative to the run's start.
    pub offset: Duration,
    /// Node events (API.md shape).
    pub events: Vec<Value>,
    /// State snapshots (API.md shape).
    pub snapshots: Vec<Value>,
}

impl Step {
    /// The step as an append-batch body.
    pub fn batch(&self) -> Value {
        json!({"events": self.events, "snapshots": self.snapshots})
    }
}

/// A whole simulated run as API payloads.
pub struct RunPlan {
    /// The run's id.
    pub execution_id: String,
    /// Start body.
    pub start: Value,
    /// The node visits in order.
    pub steps: Vec<Step>,
    /// Completion body.
    pub completion: Value,
    /// Start to completion.
    pub duration: Duration,
}

impl RunPlan {
    /// `POST` path that starts the run.
    pub fn start_path(&self) -> String {
        "/api/v1/executions".into()
    }

    /// `POST` path for its batches.
    pub fn events_path(&self) -> String {
        format!("/api/v1/executions/{}/events", self.execution_id)
    }

    /// `POST` path that completes it.
    pub fn complete_path(&self) -> String {
        format!("/api/v1/executions/{}/complete", self.execution_id)
    }

    /// Every step in one batch body.
    pub fn batch_of_all_steps(&self) -> Value {
        let events: Vec<&Value> = self.steps.iter().flat_map(|s| &s.events).collect();
        let snapshots: Vec<&Value> = self.steps.iter().flat_map(|s| &s.snapshots).collect();
        json!({"events": events, "snapshots": snapshots})
    }
}

/// How a node behaves when visited.
#[derive(Clone, Copy)]
pub struct NodeSpec {
    /// Duration range in milliseconds.
    pub ms: (u64, u64),
    /// LLM calls per successful visit.
    pub llm_calls: u32,
    /// Token range per LLM call.
    pub tokens: (u64, u64),
    /// Probability that the result comes from the cache.
    pub cache_hit: f64,
    /// Probability that one attempt fails.
    pub failure: f64,
    /// Attempts before giving up.
    pub max_attempts: u32,
}

impl NodeSpec {
    /// A plain, quick node.
    pub const fn quick(min_ms: u64, max_ms: u64) -> Self {
        Self {
            ms: (min_ms, max_ms),
            llm_calls: 0,
            tokens: (0, 0),
            cache_hit: 0.0,
            failure: 0.0,
            max_attempts: 1,
        }
    }

    /// A node that calls an LLM `calls` times.
    pub const fn llm(min_ms: u64, max_ms: u64, calls: u32) -> Self {
        Self {
            ms: (min_ms, max_ms),
            llm_calls: calls,
            tokens: (300, 1_800),
            cache_hit: 0.0,
            failure: 0.0,
            max_attempts: 3,
        }
    }

    /// The same node with a cache-hit probability.
    pub const fn cached(mut self, p: f64) -> Self {
        self.cache_hit = p;
        self
    }

    /// The same node with a per-attempt failure probability.
    pub const fn flaky(mut self, p: f64) -> Self {
        self.failure = p;
        self
    }
}

/// Builds a run's records while a graph function walks its nodes.
pub struct Sim<'r> {
    /// Randomness for durations and outcomes.
    pub rng: &'r mut StdRng,
    /// The run's state, changed by nodes.
    pub state: Map<String, Value>,
    execution_id: String,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    steps: Vec<Step>,
    event_no: u32,
    failed_node: Option<(String, String)>,
    /// The started events of the visits the next visit follows (API field
    /// `parents`): the previous visit, or every branch after a fork.
    follows: Vec<String>,
}

impl<'r> Sim<'r> {
    /// A run `execution_id` that starts at `start` in `state`, before any node.
    fn new(
        rng: &'r mut StdRng,
        execution_id: String,
        start: DateTime<Utc>,
        state: Map<String, Value>,
    ) -> Self {
        Self {
            rng,
            state,
            execution_id,
            start,
            now: start,
            steps: Vec::new(),
            event_no: 0,
            failed_node: None,
            follows: Vec::new(),
        }
    }

    /// Visits `node`: retries failed attempts up to the spec's limit, then
    /// applies `update` to the state and records a snapshot. Returns `false`
    /// when every attempt failed (the run should stop).
    pub fn visit(
        &mut self,
        node: &str,
        spec: NodeSpec,
        inputs: Value,
        update: impl FnOnce(&mut Map<String, Value>, &mut StdRng) -> Value,
    ) -> bool {
        let mut events = Vec::new();
        for attempt in 1..=spec.max_attempts {
            let mut started = self.event(
                node,
                "started",
                None,
                &inputs,
                json!({}),
                None,
                json!({"attempt": attempt}),
            );
            if attempt == 1 {
                let follows = std::mem::replace(
                    &mut self.follows,
                    started["event_id"]
                        .as_str()
                        .map(str::to_owned)
                        .into_iter()
                        .collect(),
                );
                if !follows.is_empty() {
                    started["parents"] = json!(follows);
                }
            }
            events.push(started);
            if attempt == 1 && self.rng.random_bool(spec.cache_hit) {
                let saved = self.rng.random_range(spec.ms.0..=spec.ms.1);
                let took = self.rng.random_range(1..6);
                self.advance(took);
                let outputs = update(&mut self.state, self.rng);
                events.push(self.event(
                    node,
                    "cached",
                    Some(took),
                    &inputs,
                    outputs,
                    None,
                    json!({"attempt": 1, "cache_hit": true, "saved_ms": saved}),
                ));
                return self.finish_step(node, events);
            }
            let took = self.rng.random_range(spec.ms.0..=spec.ms.1);
            self.advance(took);
            if self.rng.random_bool(spec.failure) {
                let error = graphs::error_message(self.rng, node);
                events.push(self.event(
                    node,
                    "failed",
                    Some(took),
                    &inputs,
                    json!({}),
                    Some(error.clone()),
                    json!({"attempt": attempt, "llm_calls": spec.llm_calls.min(1)}),
                ));
                if attempt == spec.max_attempts {
                    self.failed_node = Some((node.to_owned(), error));
                    self.push_step(events, Vec::new());
                    return false;
                }
                let backoff = 100 * u64::from(attempt);
                self.advance(backoff);
                continue;
            }
            let tokens: u64 = (0..spec.llm_calls)
                .map(|_| self.rng.random_range(spec.tokens.0..=spec.tokens.1))
                .sum();
            let outputs = update(&mut self.state, self.rng);
            let mut metadata = json!({"attempt": attempt});
            if spec.llm_calls > 0 {
                metadata["llm_calls"] = json!(spec.llm_calls);
                metadata["tokens"] = json!(tokens);
                metadata["model"] = json!("gpt-4o-mini");
            }
            events.push(self.event(node, "completed", Some(took), &inputs, outputs, None, metadata));
            return self.finish_step(node, events);
        }
        unreachable!("the loop returns on the last attempt")
    }

    /// Runs `branches` side by side, each one visit starting now, and goes
    /// on once the last has ended (a join). Each branch writes its own
    /// state keys; a branch's snapshot shows what the branches that had
    /// ended by then wrote, and live mode posts them in the order they end.
    /// Returns `false` when a branch failed (the others still ran).
    pub fn fork(&mut self, branches: &mut [&mut dyn FnMut(&mut Self) -> bool]) -> bool {
        let (forked, before, first) = (self.now, self.state.clone(), self.steps.len());
        let mut joined = forked;
        let mut ok = true;
        let mut wrote = Vec::with_capacity(branches.len());
        let (follows, mut ends) = (self.follows.clone(), Vec::new());
        for branch in branches.iter_mut() {
            self.now = forked;
            self.follows = follows.clone();
            let state = self.state.clone();
            ok &= branch(self);
            ends.append(&mut self.follows);
            joined = joined.max(self.now);
            let keys: Map<String, Value> = self
                .state
                .iter()
                .filter(|(k, v)| state.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            wrote.push(keys);
        }
        self.now = joined;
        // What comes next is a join: it follows every branch.
        self.follows = ends;
        // One step per branch (a visit and its retries): in the order they ended.
        let mut ended: Vec<(Step, Map<String, Value>)> = self.steps.drain(first..).zip(wrote).collect();
        ended.sort_by_key(|(step, _)| step.offset);
        let mut seen = before;
        for (mut step, keys) in ended {
            seen.extend(keys);
            for snapshot in &mut step.snapshots {
                snapshot["state"] = Value::Object(seen.clone());
            }
            self.steps.push(step);
        }
        ok
    }

    fn finish_step(&mut self, node: &str, events: Vec<Value>) -> bool {
        let snapshot = json!({
            "snapshot_id": format!("{}-s{}", self.execution_id, self.event_no),
            "timestamp": self.now,
            "node_id": node,
            "state": self.state,
        });
        self.push_step(events, vec![snapshot]);
        true
    }

    /// Live mode posts a visit's records when the visit ends.
    fn push_step(&mut self, events: Vec<Value>, snapshots: Vec<Value>) {
        let offset = (self.now - self.start).to_std().unwrap_or_default();
        self.steps.push(Step {
            offset,
            events,
            snapshots,
        });
    }

    fn advance(&mut self, ms: u64) {
        self.now += ChronoDuration::milliseconds(ms as i64);
    }

    #[expect(clippy::too_many_arguments, reason = "mirrors the fields of a NodeEvent")]
    fn event(
        &mut self,
        node: &str,
        event_type: &str,
        duration_ms: Option<u64>,
        inputs: &Value,
        outputs: Value,
        error: Option<String>,
        metadata: Value,
    ) -> Value {
        self.event_no += 1;
        json!({
            "event_id": format!("{}-e{}", self.execution_id, self.event_no),
            "node_id": node,
            "event_type": event_type,
            "timestamp": self.now,
            "duration_ms": duration_ms,
            "inputs": inputs,
            "outputs": outputs,
            "error": error,
            "metadata": metadata,
        })
    }
}

/// Simulates one run of a randomly chosen graph type starting at `start`.
pub fn plan_run(rng: &mut StdRng, start: DateTime<Utc>) -> RunPlan {
    let graph = graphs::pick(rng);
    let execution_id = format!("{}-{}", graph.short_name, uuid::Uuid::now_v7().simple());
    let inputs = (graph.inputs)(rng);
    let initial_state = (graph.initial_state)(&inputs);
    let mut sim = Sim::new(rng, execution_id.clone(), start, initial_state.clone());
    let succeeded = (graph.walk)(&mut sim, &inputs);
    let end = sim.now + ChronoDuration::milliseconds(5);
    let (status, error) = match (succeeded, &sim.failed_node) {
        (false, Some((node, message))) => ("failed", Some(format!("{node} failed after retries: {message}"))),
        _ => ("completed", None),
    };
    RunPlan {
        start: json!({
            "execution_id": execution_id,
            "graph_type": graph.graph_type,
            "original_inputs": inputs,
            "start_time": start,
            "metadata": {"producer": "tracevis demo", "version": env!("CARGO_PKG_VERSION")},
            "graph": graph.definition(),
            "initial_state": initial_state,
        }),
        completion: json!({
            "status": status,
            "end_time": end,
            "final_state": sim.state,
            "error": error,
        }),
        duration: (end - start).to_std().unwrap_or_default(),
        steps: sim.steps,
        execution_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_fork_runs_its_branches_side_by_side_and_snapshots_follow_the_order_they_end() {
        let mut rng = StdRng::seed_from_u64(7);
        let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut sim = Sim::new(&mut rng, "r".into(), start, Map::new());
        let branch = |node: &'static str, ms: u64| {
            move |sim: &mut Sim<'_>| {
                sim.visit(node, NodeSpec::quick(ms, ms), json!({}), |s, _| {
                    s.insert(node.into(), json!(true));
                    json!({})
                })
            }
        };
        let (mut slow, mut quick) = (branch("Slow", 900), branch("Quick", 100));
        assert!(sim.fork(&mut [&mut slow, &mut quick]));
        assert_eq!(
            sim.now,
            start + ChronoDuration::milliseconds(900),
            "joined when the last ended"
        );
        let started: Vec<&Value> = sim.steps.iter().map(|s| &s.events[0]["timestamp"]).collect();
        assert_eq!(started[0], started[1], "both started at the fork");
        let nodes: Vec<&str> = sim
            .steps
            .iter()
            .map(|s| s.events[0]["node_id"].as_str().unwrap())
            .collect();
        assert_eq!(nodes, ["Quick", "Slow"], "in the order they ended");
        let quick_state = &sim.steps[0].snapshots[0]["state"];
        assert_eq!(
            quick_state,
            &json!({"Quick": true}),
            "the slow branch had not ended yet"
        );
        assert_eq!(
            &sim.steps[1].snapshots[0]["state"],
            &json!({"Quick": true, "Slow": true})
        );
        // The visit after the fork follows both branches (their started events).
        assert!(sim.visit("Join", NodeSpec::quick(10, 10), json!({}), |_, _| json!({})));
        let ids = |i: usize| sim.steps[i].events[0]["event_id"].clone();
        assert_eq!(
            sim.steps[2].events[0]["parents"],
            json!([ids(1), ids(0)]),
            "Slow was forked first, Quick second"
        );
        assert_eq!(
            sim.steps[0].events[0].get("parents"),
            None,
            "nothing came before the fork"
        );
    }
}
