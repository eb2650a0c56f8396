//! Server functions the pages call; each is a thin door onto the
//! `TraceVisualization` service provided as context.

use crate::model::{ExecutionFilter, ExecutionList, ExecutionTrace};
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
