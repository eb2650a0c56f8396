//! The store story: every `HistoryStore` method, in the order a run lives,
//! against each backend.

use crate::helpers::TestDatabase;
use app::error::TraceError;
use app::model::{
    Completion, EventBatch, ExecutionFilter, ExecutionStatus, NewExecution, RecordId, StatisticsFilter,
};
use app::store::{CreateOutcome, FinishedRuns, HistoryStore, RunHeader, WholeRun};
use serde_json::json;
use std::sync::Arc;

fn id(s: &str) -> RecordId {
    RecordId::parse(s).unwrap()
}

fn new_run(run: &str, graph: &str, start: &str) -> NewExecution {
    serde_json::from_value(
        json!({"execution_id": run, "graph_type": graph, "start_time": start,
                                  "original_inputs": {"q": run}, "initial_state": {"n": 0}}),
    )
    .unwrap()
}

fn batch(value: serde_json::Value) -> EventBatch {
    serde_json::from_value(value).unwrap()
}

async fn story(store: Arc<dyn HistoryStore>) {
    store.ping().await.expect("ping");

    // create: new, identical retry, conflicting retry
    let new = new_run("s1", "alpha", "2025-01-01T00:00:00Z");
    let request = serde_json::to_string(&new).unwrap();
    assert!(matches!(
        store.create_execution(&id("s1"), &new, &request).await.unwrap(),
        CreateOutcome::Created(_)
    ));
    assert!(matches!(
        store.create_execution(&id("s1"), &new, &request).await.unwrap(),
        CreateOutcome::AlreadyExists(_)
    ));
    assert!(matches!(
        store.create_execution(&id("s1"), &new, "{\"other\":1}").await,
        Err(TraceError::Conflict(_))
    ));

    // append: seq continues after the initial snapshot, diffs against it
    let stored = store
        .append_batch(
            &id("s1"),
            &batch(json!({
                "events": [
                    {"event_id": "e1", "node_id": "A", "event_type": "started", "timestamp": "2025-01-01T00:00:01Z"},
                    {"event_id": "e2", "node_id": "A", "event_type": "completed", "timestamp": "2025-01-01T00:00:02Z",
                     "duration_ms": 1000, "metadata": {"llm_calls": 1, "tokens": 10}},
                    {"event_id": "e3", "node_id": "B", "event_type": "failed", "timestamp": "2025-01-01T00:00:03Z", "error": "x"}
                ],
                "snapshots": [{"snapshot_id": "p1", "node_id": "A", "timestamp": "2025-01-01T00:00:02Z", "state": {"n": 1}}]
            })),
            FinishedRuns::Refuse,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            stored.outcome.accepted,
            stored.outcome.duplicates,
            stored.outcome.last_seq
        ),
        (4, 0, 5)
    );
    assert_eq!(
        stored.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2, 3, 5]
    );
    assert_eq!(stored.snapshots[0].diff.as_ref().unwrap()[0].path, "/n");
    let dup = store
        .append_batch(&id("s1"), &batch(json!({"events": [{"event_id": "e1", "node_id": "A", "event_type": "started", "timestamp": "2025-01-01T00:00:01Z"}]})), FinishedRuns::Refuse)
        .await
        .unwrap();
    assert_eq!(
        (dup.outcome.accepted, dup.outcome.duplicates, dup.outcome.last_seq),
        (0, 1, 5)
    );
    assert!(matches!(
        store
            .append_batch(&id("ghost"), &EventBatch::default(), FinishedRuns::Refuse)
            .await,
        Err(TraceError::NotFound(_))
    ));

    // reads
    let trace = store.load_trace("s1", 0).await.unwrap();
    assert_eq!(trace.node_events.len(), 3);
    assert_eq!(trace.state_snapshots.len(), 2);
    assert_eq!((trace.summary.total_nodes, trace.summary.failed_nodes), (2, 1));
    assert_eq!(
        (trace.summary.total_llm_calls, trace.summary.total_tokens),
        (1, Some(10))
    );
    assert_eq!(store.load_events("s1", Some("B")).await.unwrap().len(), 1);
    assert_eq!(store.load_snapshots("s1").await.unwrap().len(), 2);
    assert!(matches!(
        store.load_trace("ghost", 0).await,
        Err(TraceError::NotFound(_))
    ));
    assert!(matches!(
        store.load_events("ghost", None).await,
        Err(TraceError::NotFound(_))
    ));

    // complete, then nothing more is appended
    let completion: Completion = serde_json::from_value(
        json!({"status": "failed", "end_time": "2025-01-01T00:00:04Z", "final_state": {"n": 1}}),
    )
    .unwrap();
    let summary = store.complete_execution(&id("s1"), &completion).await.unwrap();
    assert_eq!(summary.status, ExecutionStatus::Failed);
    assert_eq!(summary.total_duration_ms, Some(4000.0));
    assert!(matches!(
        store.complete_execution(&id("s1"), &completion).await,
        Err(TraceError::Conflict(_))
    ));
    assert!(matches!(
        store
            .append_batch(&id("s1"), &EventBatch::default(), FinishedRuns::Refuse)
            .await,
        Err(TraceError::Conflict(_))
    ));

    // list with filters
    let second = new_run("s2", "beta", "2025-01-02T00:00:00Z");
    store
        .create_execution(&id("s2"), &second, &serde_json::to_string(&second).unwrap())
        .await
        .unwrap();
    let all = store.list_executions(&ExecutionFilter::default()).await.unwrap();
    assert_eq!(all.total, 2);
    assert_eq!(all.executions[0].execution_id, "s2", "newest first");
    let beta = store
        .list_executions(&ExecutionFilter {
            graph_type: Some("beta".into()),
            ..ExecutionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(beta.executions.len(), 1);
    let failed = store
        .list_executions(&ExecutionFilter {
            status: Some(ExecutionStatus::Failed),
            ..ExecutionFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(failed.executions[0].execution_id, "s1");

    // history: statistics, slow runs, replays, retention
    let inputs = store
        .load_statistics(&StatisticsFilter::default(), false)
        .await
        .unwrap();
    assert_eq!(inputs.runs.iter().map(|a| a.runs).sum::<i64>(), 2);
    assert_eq!(
        inputs.run_duration_buckets,
        vec![(0, app::histogram::RUN_SCALE.bucket_of(4000.0), 1)]
    );
    assert_eq!(store.check_run_aggregates().await.unwrap(), Vec::<String>::new());
    assert_eq!(
        inputs.node_counts,
        vec![("A".to_string(), 1, 0, 0), ("B".to_string(), 1, 1, 0)]
    );
    assert_eq!(inputs.node_duration_buckets.len(), 1, "only e2 had a duration");
    let slow = store.slow_executions(1000.0, None, 10).await.unwrap();
    assert_eq!(
        slow.iter().map(|s| s.execution_id.as_str()).collect::<Vec<_>>(),
        ["s1"]
    );
    assert!(store
        .slow_executions(1000.0, Some("beta"), 10)
        .await
        .unwrap()
        .is_empty());
    let replay: NewExecution = serde_json::from_value(json!({"execution_id": "s3", "graph_type": "alpha",
        "is_replay": true, "original_execution_id": "s1", "start_time": "2025-01-03T00:00:00Z"}))
    .unwrap();
    store
        .create_execution(&id("s3"), &replay, &serde_json::to_string(&replay).unwrap())
        .await
        .unwrap();
    let replays = store.list_replays("s1").await.unwrap();
    assert_eq!(
        replays
            .iter()
            .map(|s| s.execution_id.as_str())
            .collect::<Vec<_>>(),
        ["s3"]
    );
    let cutoff = "2025-01-02T12:00:00Z".parse().unwrap();
    assert_eq!(
        store.delete_started_before(cutoff, 1).await.unwrap(),
        1,
        "one run per chunk"
    );
    assert_eq!(
        store.check_run_aggregates().await.unwrap(),
        Vec::<String>::new(),
        "a chunk keeps the aggregates of the runs it left"
    );
    assert_eq!(store.delete_started_before(cutoff, 1).await.unwrap(), 1);
    assert_eq!(store.delete_started_before(cutoff, 1).await.unwrap(), 0);
    let left = store.list_executions(&ExecutionFilter::default()).await.unwrap();
    assert_eq!(
        left.executions
            .iter()
            .map(|s| s.execution_id.as_str())
            .collect::<Vec<_>>(),
        ["s3"]
    );
    assert!(matches!(
        store.load_events("s1", None).await,
        Err(TraceError::NotFound(_))
    ));
    span_born_run(store).await;
}

/// A run made from OpenTelemetry spans: created under a provisional graph
/// type, renamed by its run span (its per node type figures move along),
/// abandoned when quiet, and still taking records that arrive late.
async fn span_born_run(store: Arc<dyn HistoryStore>) {
    let provisional = new_run("o1", "my-service", "2025-02-01T10:30:00Z");
    store
        .create_execution(&id("o1"), &provisional, "{\"otlp_trace_id\":\"o1\"}")
        .await
        .unwrap();
    let visit = batch(json!({"events": [
        {"event_id": "c1", "node_id": "C", "event_type": "started", "timestamp": "2025-02-01T10:30:01Z"},
        {"event_id": "c2", "node_id": "C", "event_type": "failed", "timestamp": "2025-02-01T10:30:02Z", "duration_ms": 1000}]}));
    store
        .append_batch(&id("o1"), &visit, FinishedRuns::Refuse)
        .await
        .unwrap();
    let deadline = "2025-02-01T11:00:00Z".parse().unwrap();
    store.revise_run(&id("o1"), None, Some(deadline)).await.unwrap();
    let quiet = store
        .quiet_runs("2025-02-01T11:00:01Z".parse().unwrap(), 10)
        .await
        .unwrap();
    assert_eq!(quiet, [("o1".to_string(), deadline)]);
    assert!(store
        .quiet_runs("2025-02-01T10:59:00Z".parse().unwrap(), 10)
        .await
        .unwrap()
        .is_empty());

    // The run span: another graph type, and an earlier hour.
    let header = RunHeader {
        graph_type: app::model::Label::parse("gamma").unwrap(),
        start_time: "2025-02-01T09:59:00Z".parse().unwrap(),
        original_inputs: json!({"q": "from the run span"}).as_object().unwrap().clone(),
        graph: None,
        metadata: json!({"otel.trace_id": "o1"}).as_object().unwrap().clone(),
        authoritative: true,
    };
    store.revise_run(&id("o1"), Some(&header), None).await.unwrap();
    let by_type = |graph_type: &str| StatisticsFilter {
        graph_type: Some(graph_type.into()),
        ..StatisticsFilter::default()
    };
    let gamma = store.load_statistics(&by_type("gamma"), false).await.unwrap();
    assert_eq!(
        gamma.node_counts,
        vec![("C".to_string(), 1, 1, 0)],
        "the node figures moved"
    );
    assert_eq!(gamma.node_duration_buckets.len(), 1);
    let old = store
        .load_statistics(&by_type("my-service"), false)
        .await
        .unwrap();
    assert!(
        old.node_counts.is_empty() && old.node_duration_buckets.is_empty(),
        "{old:?}"
    );
    let summary = store.load_outline("o1").await.unwrap().summary;
    assert_eq!(
        (summary.graph_type.as_str(), summary.start_time),
        ("gamma", header.start_time)
    );

    let completion: Completion =
        serde_json::from_value(json!({"status": "completed", "end_time": "2025-02-01T10:31:00Z"})).unwrap();
    store.complete_execution(&id("o1"), &completion).await.unwrap();
    assert!(
        store
            .quiet_runs("2030-01-01T00:00:00Z".parse().unwrap(), 10)
            .await
            .unwrap()
            .is_empty(),
        "a finished run is never quiet"
    );
    let late = batch(
        json!({"events": [{"event_id": "c3", "node_id": "C", "event_type": "completed", "timestamp": "2025-02-01T10:30:59Z"}]}),
    );
    assert!(matches!(
        store.append_batch(&id("o1"), &late, FinishedRuns::Refuse).await,
        Err(TraceError::Conflict(_))
    ));
    let stored = store
        .append_batch(&id("o1"), &late, FinishedRuns::Accept)
        .await
        .unwrap();
    assert_eq!(stored.outcome.accepted, 1);
    let summary = store.load_outline("o1").await.unwrap().summary;
    assert_eq!(
        (summary.status, summary.total_nodes),
        (ExecutionStatus::Completed, 2)
    );
    assert_eq!(
        summary.total_duration_ms,
        Some(32.0 * 60_000.0),
        "from the run span's start"
    );
    // Revisions, completions and records reaching a finished run all kept
    // the run aggregates equal to a recount.
    assert_eq!(store.check_run_aggregates().await.unwrap(), Vec::<String>::new());
    let gamma = store.load_statistics(&by_type("gamma"), false).await.unwrap();
    assert_eq!(
        gamma
            .runs
            .iter()
            .map(|a| (a.status, a.runs, a.nodes))
            .collect::<Vec<_>>(),
        vec![(ExecutionStatus::Completed, 1, 2)]
    );
}

#[tokio::test]
async fn the_sqlite_store_tells_the_whole_story() {
    let db = TestDatabase::sqlite();
    story(tracevis::store::open(&db.url).await.unwrap()).await;
}

#[tokio::test]
async fn the_postgres_store_tells_the_whole_story() {
    let db = TestDatabase::postgres();
    story(tracevis::store::open(&db.url).await.unwrap()).await;
}

/// A finished run, owned, for a `WholeRun` to borrow.
struct BulkRun {
    id: RecordId,
    new: NewExecution,
    request: String,
    batch: EventBatch,
    done: Completion,
}

impl BulkRun {
    fn new(run: &str, end: &str) -> Self {
        let new = new_run(run, "bulk", "2025-03-01T10:00:00Z");
        Self {
            id: id(run),
            request: serde_json::to_string(&new).unwrap(),
            new,
            batch: batch(json!({"events": [
                {"node_id": "A", "event_type": "started", "timestamp": "2025-03-01T10:00:01Z"},
                {"node_id": "A", "event_type": "completed", "timestamp": "2025-03-01T10:00:02Z", "duration_ms": 1000,
                 "outputs": {"answer": "zanzibar"}, "metadata": {"llm_calls": 2, "tokens": 30}},
                {"node_id": "B", "event_type": "failed", "timestamp": "2025-03-01T10:00:02.5Z", "error": "boom"}
            ], "snapshots": [{"node_id": "A", "timestamp": "2025-03-01T10:00:02Z", "state": {"n": 1}}]})),
            done: serde_json::from_value(json!({"status": "failed", "end_time": end})).unwrap(),
        }
    }

    fn whole(&self) -> WholeRun<'_> {
        WholeRun {
            id: &self.id,
            new: &self.new,
            request: &self.request,
            batch: &self.batch,
            completion: &self.done,
        }
    }
}

/// Finished runs stored whole, several per call (the bulk path): together,
/// or — when one of them is refused — not at all, with the error naming
/// the field; stored, they read back and count as the producers' path
/// leaves them.
async fn whole_runs_in_one_transaction(store: Arc<dyn HistoryStore>) {
    let fine = "2025-03-01T10:00:03Z";
    // The second run ends before it started: refused.
    let runs = [
        BulkRun::new("bulk0", fine),
        BulkRun::new("bulk1", "2025-03-01T09:00:00Z"),
        BulkRun::new("bulk2", fine),
    ];
    let whole: Vec<WholeRun<'_>> = runs.iter().map(BulkRun::whole).collect();
    match store.store_whole_runs(&whole).await {
        Err(TraceError::Invalid { field, .. }) => assert_eq!(field, "end_time"),
        other => panic!("expected the bad end time refused, got {other:?}"),
    }
    let by_type = ExecutionFilter {
        graph_type: Some("bulk".into()),
        ..ExecutionFilter::default()
    };
    assert_eq!(store.list_executions(&by_type).await.unwrap().total, 0);

    store
        .store_whole_runs(&[runs[0].whole(), runs[2].whole()])
        .await
        .unwrap();
    // A third run through the producers' path, for comparison.
    let third = new_run("bulk3", "bulk", "2025-03-01T10:00:00Z");
    let request = serde_json::to_string(&third).unwrap();
    store
        .create_execution(&id("bulk3"), &third, &request)
        .await
        .unwrap();
    store
        .append_batch(&id("bulk3"), &runs[0].batch, FinishedRuns::Refuse)
        .await
        .unwrap();
    store
        .complete_execution(&id("bulk3"), &runs[0].done)
        .await
        .unwrap();

    let bulk = store.load_trace("bulk0", 0).await.unwrap();
    let produced = store.load_trace("bulk3", 0).await.unwrap();
    let seqs = |t: &app::model::ExecutionTrace| {
        (
            t.node_events
                .iter()
                .map(|e| (e.seq, e.node_id.clone(), e.event_type))
                .collect::<Vec<_>>(),
            t.state_snapshots
                .iter()
                .map(|s| (s.seq, s.diff.is_some()))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(seqs(&bulk), seqs(&produced));
    let totals = |s: &app::model::ExecutionSummary| {
        (
            s.status,
            s.total_nodes,
            s.failed_nodes,
            s.total_llm_calls,
            s.total_tokens,
            s.total_duration_ms,
            s.last_seq,
        )
    };
    assert_eq!(totals(&bulk.summary), totals(&produced.summary));
    assert_eq!(totals(&bulk.summary).0, ExecutionStatus::Failed);

    let listed = store.list_executions(&by_type).await.unwrap();
    let mut ids: Vec<&str> = listed
        .executions
        .iter()
        .map(|e| e.execution_id.as_str())
        .collect();
    ids.sort();
    assert_eq!(ids, ["bulk0", "bulk2", "bulk3"]);
    // The aggregates count the three alike, and equal a recount.
    assert_eq!(store.check_run_aggregates().await.unwrap(), Vec::<String>::new());
    let stats_filter = StatisticsFilter {
        graph_type: Some("bulk".into()),
        ..StatisticsFilter::default()
    };
    let stats = store.load_statistics(&stats_filter, false).await.unwrap();
    assert_eq!(
        stats
            .runs
            .iter()
            .map(|a| (a.status, a.runs, a.nodes, a.llm_calls, a.tokens))
            .collect::<Vec<_>>(),
        vec![(ExecutionStatus::Failed, 3, 6, 6, 90)]
    );
    let mut node_counts = stats.node_counts.clone();
    node_counts.sort();
    assert_eq!(
        node_counts,
        vec![("A".to_owned(), 3, 0, 0), ("B".to_owned(), 3, 3, 0)]
    );
    // Their words are found, as those of the run sent through the API.
    let search = ExecutionFilter {
        q: Some(app::search::SearchQuery::parse("zanzibar").unwrap()),
        ..by_type.clone()
    };
    let mut found: Vec<String> = store
        .list_executions(&search)
        .await
        .unwrap()
        .executions
        .into_iter()
        .map(|e| e.execution_id)
        .collect();
    found.sort();
    assert_eq!(found, ["bulk0", "bulk2", "bulk3"]);

    // Stored already: the call is refused and changes nothing.
    assert!(matches!(
        store.store_whole_runs(&[runs[0].whole()]).await,
        Err(TraceError::Conflict(_))
    ));
    assert_eq!(store.check_run_aggregates().await.unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn the_sqlite_store_takes_whole_runs_in_one_transaction() {
    let db = TestDatabase::sqlite();
    whole_runs_in_one_transaction(tracevis::store::open(&db.url).await.unwrap()).await;
}

#[tokio::test]
async fn the_postgres_store_takes_whole_runs_in_one_transaction() {
    let db = TestDatabase::postgres();
    whole_runs_in_one_transaction(tracevis::store::open(&db.url).await.unwrap()).await;
}
