//! Server functions the pages call; each is a thin door onto the
//! `TraceVisualization` service provided as context.

use crate::compare::Comparison;
use crate::model::{ExecutionFilter, ExecutionList, ExecutionTrace, Statistics, StatisticsFilter};
use leptos::prelude::*;

/// The service handle server functions find in their context.
#[cfg(feature = "ssr")]
pub type SharedTraceService = std::sync::Arc<dyn crate::protocol::TraceVisualization>;

#[cfg(feature = "ssr")]
fn service() -> Result<SharedTraceService, ServerFnError> {
    use_context::<SharedTraceService>()
        .ok_or_else(|| ServerFnError::new("trace service missing from context"))
}

/// One page of runs for the run list.
#[server]
pub async fn list_executions(filter: ExecutionFilter) -> Result<ExecutionList, ServerFnError> {
    service()?
        .list_executions(&filter)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// A whole run for its page.
#[server]
pub async fn get_trace(execution_id: String) -> Result<ExecutionTrace, ServerFnError> {
    service()?
        .get_trace(&execution_id)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// Two runs compared step by step.
#[server]
pub async fn compare_runs(a: String, b: String) -> Result<Comparison, ServerFnError> {
    let service = service()?;
    let (trace_a, trace_b) = futures_join(service.get_trace(&a), service.get_trace(&b)).await;
    let (trace_a, trace_b) = (
        trace_a.map_err(|e| ServerFnError::new(format!("run a: {e}")))?,
        trace_b.map_err(|e| ServerFnError::new(format!("run b: {e}")))?,
    );
    Ok(crate::compare::compare(&trace_a, &trace_b))
}

#[cfg(feature = "ssr")]
async fn futures_join<A: std::future::Future, B: std::future::Future>(a: A, b: B) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}

/// Statistics across the runs `filter` selects.
#[server]
pub async fn run_statistics(filter: StatisticsFilter) -> Result<Statistics, ServerFnError> {
    use_context::<StatisticsSource>()
        .ok_or_else(|| ServerFnError::new("statistics source missing from context"))?
        .statistics(filter)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// Where server functions read statistics (the service's history operation).
#[cfg(feature = "ssr")]
pub type StatisticsSource = std::sync::Arc<dyn crate::protocol::HistoryQueries>;
