//! Spans in: each trace of a request becomes (or adds to) one run through
//! the same store operations as the JSON API, every step idempotent, so an
//! exporter's retry of a request that half failed completes it and a
//! repeated request changes nothing. Also the sweep that fails span-born
//! runs whose producer went quiet without sending the run span.

use super::TraceService;
use crate::otlp::projection::{
    group_by_trace, langgraph_namespaces, project_trace, trace_run_id, Earlier, TraceRecords,
};
use crate::otlp::span::Span;
use app::error::TraceError;
use app::model::{Completion, ExecutionStatus, NewExecution};
use app::store::{RunHeader, SpanTrace};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::time::Duration;
use tracing::{info, warn};

/// Quiet time after which a span-born run without its run span is failed.
pub const DEFAULT_QUIET_AFTER: Duration = Duration::from_secs(30 * 60);

/// Runs failed per sweep step.
const SWEEP_CHUNK: u32 = 200;

/// What a request of spans did.
#[derive(Debug, Default, PartialEq)]
pub struct IngestedSpans {
    /// Traces (runs) touched.
    pub traces: usize,
    /// Spans read (repeats within the request counted once).
    pub spans: usize,
}

impl TraceService {
    /// Stores what `spans` say, trace by trace. An error leaves earlier
    /// traces of the request stored; the exporter's retry is harmless.
    pub async fn ingest_spans(&self, spans: Vec<Span>) -> Result<IngestedSpans, TraceError> {
        let mut done = IngestedSpans::default();
        for spans in group_by_trace(spans) {
            let earlier = self.earlier(&spans).await?;
            let trace = project_trace(spans, earlier);
            done.spans += trace.spans;
            // Only spans no rule places (a log line, an HTTP call outside
            // any run): no run to show. Were they part of one, its run or
            // node spans create it when they come.
            if trace.run.is_none()
                && trace.batch.events.is_empty()
                && trace.batch.snapshots.is_empty()
                && trace.llm_calls.is_empty()
            {
                continue;
            }
            done.traces += 1;
            self.ingest_trace(trace).await?;
        }
        Ok(done)
    }

    /// What earlier requests stored that a trace's spans need.
    async fn earlier(&self, spans: &[Span]) -> Result<Earlier, TraceError> {
        let id = trace_run_id(spans);
        let namespaces = langgraph_namespaces(spans);
        Ok(Earlier {
            llm_calls: self.store.awaiting_llm_calls(&id).await?,
            tasks: if namespaces.is_empty() {
                Vec::new()
            } else {
                self.store.langgraph_tasks(&id, &namespaces).await?
            },
        })
    }

    async fn ingest_trace(&self, trace: TraceRecords) -> Result<(), TraceError> {
        let id = trace.execution_id;
        let mut metadata = app::model::JsonObject::new();
        metadata.insert("otel.trace_id".into(), json!(id.as_str()));
        metadata.extend(trace.resource.iter().map(|(k, v)| (k.clone(), v.clone())));
        let run = trace.run.as_ref();
        let new = NewExecution {
            execution_id: Some(id.clone()),
            graph_type: trace.provisional_graph_type,
            original_inputs: run.map(|r| r.inputs.clone()).unwrap_or_default(),
            start_time: Some(run.map_or(trace.earliest_start, |r| r.start)),
            metadata: run.map_or(metadata, |r| r.metadata.clone()),
            graph: run.and_then(|r| r.graph.clone()),
            is_replay: false,
            original_execution_id: None,
            initial_state: None,
        };
        let header = run.map(|run| RunHeader {
            graph_type: run.graph_type.clone(),
            start_time: run.start,
            original_inputs: run.inputs.clone(),
            graph: run.graph.clone(),
            metadata: run.metadata.clone(),
            authoritative: run.explicit,
        });
        let completion = trace.run.map(|run| Completion {
            status: if run.error.is_some() {
                ExecutionStatus::Failed
            } else {
                ExecutionStatus::Completed
            },
            end_time: Some(run.end),
            final_state: run.final_state,
            error: run.error,
            performance: None,
        });
        // One request text per trace, so whichever request comes first
        // creates the run and every later one finds it.
        let request = json!({"otlp_trace_id": id.as_str()}).to_string();
        let outcome = self
            .store
            .ingest_span_trace(
                &id,
                &SpanTrace {
                    new: &new,
                    request: &request,
                    header: header.as_ref(),
                    quiet_deadline: quiet_deadline(Utc::now(), self.quiet_after),
                    batch: &trace.batch,
                    llm_calls: &trace.llm_calls,
                    completion: completion.as_ref(),
                },
            )
            .await?;
        if let Some(summary) = &outcome.created {
            info!(execution.id = %id, "started execution {id} from OpenTelemetry spans");
            self.hub.publish_status(summary);
        }
        if let Some(stored) = &outcome.stored {
            self.hub
                .publish_records(id.as_str(), &stored.events, &stored.snapshots);
        }
        if let Some(summary) = &outcome.completed {
            info!(execution.id = %id, status = summary.status.as_str(), "execution {id} {}", summary.status.as_str());
            self.hub.publish_status(summary);
        }
        Ok(())
    }

    /// Fails span-born runs that received nothing for the quiet time; returns
    /// how many.
    pub async fn fail_quiet_runs(&self) -> Result<usize, TraceError> {
        let quiet = chrono::Duration::from_std(self.quiet_after).unwrap_or(chrono::Duration::MAX);
        let mut failed = 0;
        loop {
            let runs = self.store.quiet_runs(Utc::now(), SWEEP_CHUNK).await?;
            let last_chunk = runs.len() < SWEEP_CHUNK as usize;
            for (id, deadline) in runs {
                let Ok(id) = app::model::RecordId::parse(id) else {
                    continue;
                };
                let minutes = self.quiet_after.as_secs_f64() / 60.0;
                let completion = Completion {
                    status: ExecutionStatus::Failed,
                    // The last span came in at deadline - quiet time; the run
                    // is not counted as having lasted through the wait.
                    end_time: deadline.checked_sub_signed(quiet),
                    final_state: None,
                    error: Some(format!(
                        "no spans for {minutes:.0} min and the run span never arrived: the producer stopped or lost its last spans"
                    )),
                    performance: None,
                };
                let outcome = match self.complete_execution(&id, completion.clone()).await {
                    // Its spans started before the run span said the run did.
                    Err(TraceError::Invalid { .. }) => {
                        self.complete_execution(
                            &id,
                            Completion {
                                end_time: None,
                                ..completion
                            },
                        )
                        .await
                    }
                    other => other,
                };
                match outcome {
                    Ok(_) => failed += 1,
                    Err(TraceError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if last_chunk {
                return Ok(failed);
            }
        }
    }
}

/// When a run that heard from its producer at `now` counts as abandoned
/// (saturating: a quiet time too long for the calendar means never).
fn quiet_deadline(now: DateTime<Utc>, quiet_after: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(quiet_after)
        .ok()
        .and_then(|quiet| now.checked_add_signed(quiet))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Starts failing quiet span-born runs every `every`, until aborted.
pub fn spawn_quiet_sweep(service: TraceService, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match service.fail_quiet_runs().await {
                Ok(0) => {}
                Ok(n) => info!("marked {n} span-born runs failed: their producers went quiet"),
                Err(e) => warn!(error = %e, "quiet-run sweep failed; retrying at the next interval"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_time_past_the_calendar_means_never_rather_than_a_panic() {
        let now = Utc::now();
        assert_eq!(
            quiet_deadline(now, std::time::Duration::from_secs(60)),
            now + chrono::Duration::seconds(60)
        );
        assert_eq!(
            quiet_deadline(now, std::time::Duration::MAX),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            quiet_deadline(now, std::time::Duration::from_secs(u64::MAX / 4)),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
