//! Server functions the pages call; each is a thin door onto the
//! `TraceVisualization` service provided as context.

use crate::answer_encoding::JsonAnswer;
use crate::compare::Comparison;
use crate::error::PageError;
use crate::graph_view::{GraphLayout, GraphStructure};
use crate::model::{
    ExecutionFilter, ExecutionList, ExecutionSummary, NodeEvent, NodeTypeStatistics, RunOutline,
    StateSnapshot, Statistics, StatisticsFilter,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// The service handle server functions find in their context.
#[cfg(feature = "ssr")]
pub type SharedTraceService = std::sync::Arc<dyn crate::protocol::TraceVisualization>;

/// A request a server function refuses: answered 422, naming `field`.
#[cfg(feature = "ssr")]
pub(crate) fn invalid(field: &str, message: String) -> PageError {
    failed(crate::error::TraceError::Invalid {
        field: field.to_owned(),
        message,
    })
}

/// A service error as the page receives it: the HTTP status of the REST
/// API's mapping, internals logged here and never sent.
#[cfg(feature = "ssr")]
pub(crate) fn failed(error: crate::error::TraceError) -> PageError {
    use crate::error::TraceError;
    use leptos::server_fn::http_export::StatusCode;
    let status = match &error {
        TraceError::NotFound(_) => StatusCode::NOT_FOUND,
        TraceError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        TraceError::Conflict(_) => StatusCode::CONFLICT,
        TraceError::Unavailable(detail) => {
            tracing::warn!(error = %detail, "storage unavailable in a server function");
            StatusCode::SERVICE_UNAVAILABLE
        }
        TraceError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error in a server function");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(status);
    }
    PageError::from(error)
}

#[cfg(feature = "ssr")]
fn service() -> Result<SharedTraceService, PageError> {
    use_context::<SharedTraceService>().ok_or_else(|| {
        failed(crate::error::TraceError::Internal(
            "trace service missing from context".into(),
        ))
    })
}

/// One page of runs for the run list. JSON input: the filter's metadata
/// pairs do not survive form encoding.
#[server(input = Json, output = JsonAnswer)]
pub async fn list_executions(filter: ExecutionFilter) -> Result<ExecutionList, PageError> {
    // The list shows none of the payloads: they stay in the database.
    let filter = ExecutionFilter {
        without_payloads: true,
        ..filter
    };
    service()?.list_executions(&filter).await.map_err(failed)
}

/// A run for its page: summary and record outlines, without payloads.
#[server(output = JsonAnswer)]
pub async fn get_run_outline(execution_id: String) -> Result<RunOutline, PageError> {
    service()?.get_run_outline(&execution_id).await.map_err(failed)
}

/// Most events one request for node details may name (a visit has two).
pub const MAX_NODE_EVENTS_PER_REQUEST: usize = 100;

/// Node events with their payloads, by `seq`: a visit's details.
#[server(output = JsonAnswer)]
pub async fn get_node_events(execution_id: String, seqs: Vec<i64>) -> Result<Vec<NodeEvent>, PageError> {
    if seqs.len() > MAX_NODE_EVENTS_PER_REQUEST {
        return Err(invalid(
            "seqs",
            format!(
                "at most {MAX_NODE_EVENTS_PER_REQUEST} events per request, got {}",
                seqs.len()
            ),
        ));
    }
    service()?
        .get_node_events(&execution_id, &seqs)
        .await
        .map_err(failed)
}

/// A run's state snapshots with their diffs: its state history.
#[server(output = JsonAnswer)]
pub async fn get_state_history(execution_id: String) -> Result<Vec<StateSnapshot>, PageError> {
    service()?
        .get_state_history(&execution_id, true)
        .await
        .map_err(failed)
}

/// Two runs compared step by step; without `b`, `a` and the run before it.
#[server(output = JsonAnswer)]
pub async fn compare_runs(a: String, b: Option<String>) -> Result<Comparison, PageError> {
    history()?.compare(&a, b.as_deref()).await.map_err(failed)
}

/// Runs to offer for comparison with `a` (see `HistoryQueries`).
#[server(output = JsonAnswer)]
pub async fn comparison_candidates(
    a: String,
    search: Option<String>,
) -> Result<Vec<ExecutionSummary>, PageError> {
    history()?
        .comparison_candidates(&a, search.as_deref())
        .await
        .map_err(failed)
}

/// Statistics across the runs `filter` selects (JSON input, as for the list).
#[server(input = Json, output = JsonAnswer)]
pub async fn run_statistics(filter: StatisticsFilter) -> Result<Statistics, PageError> {
    history()?.statistics(filter).await.map_err(failed)
}

/// The usual durations of `graph_type`'s node types (the statistics' node
/// types alone): what a run page compares an opened visit with. Its own
/// function so the run page's code does not carry the whole statistics type.
#[server(output = JsonAnswer)]
pub async fn usual_node_durations(graph_type: String) -> Result<Vec<NodeTypeStatistics>, PageError> {
    let filter = StatisticsFilter {
        graph_type: Some(graph_type),
        ..StatisticsFilter::default()
    };
    history()?.node_type_statistics(filter).await.map_err(failed)
}

/// Places a graph's nodes and edges (see `graph_layout`). Its input is JSON:
/// a structure is nested lists, which form encoding does not carry.
#[server(endpoint = "lay_out_graph", input = Json, output = JsonAnswer)]
pub async fn lay_out_graph(structure: GraphStructure) -> Result<GraphLayout, PageError> {
    use crate::graph_layout::{lay_out, MAX_LAYOUT_EDGES, MAX_LAYOUT_NODES};
    if structure.nodes.len() > MAX_LAYOUT_NODES || structure.edges.len() > MAX_LAYOUT_EDGES {
        return Err(invalid(
            "structure",
            format!(
                "at most {MAX_LAYOUT_NODES} nodes and {MAX_LAYOUT_EDGES} edges, got {} and {}",
                structure.nodes.len(),
                structure.edges.len()
            ),
        ));
    }
    // dagre is CPU work: off the async workers.
    tokio::task::spawn_blocking(move || lay_out(&structure))
        .await
        .map_err(|e| failed(crate::error::TraceError::Internal(format!("graph layout: {e}"))))
}

/// Where server functions find the history operations (statistics, compare).
#[cfg(feature = "ssr")]
pub type SharedHistoryQueries = std::sync::Arc<dyn crate::protocol::HistoryQueries>;

#[cfg(feature = "ssr")]
fn history() -> Result<SharedHistoryQueries, PageError> {
    use_context::<SharedHistoryQueries>().ok_or_else(|| {
        failed(crate::error::TraceError::Internal(
            "history queries missing from context".into(),
        ))
    })
}

/// Who a page is shown to: the signed-in person's name (none for a token
/// or when sign-in is off), whether they may manage access, and whether
/// this server asks for sign-in at all. The server puts it in the context
/// of every page request.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Viewer {
    pub name: Option<String>,
    pub admin: bool,
    pub sign_in_required: bool,
}

/// The `Viewer` of this request.
#[server(output = JsonAnswer)]
pub async fn current_viewer() -> Result<Viewer, PageError> {
    Ok(use_context::<Viewer>().unwrap_or_default())
}

/// Who the page is shown to, asked once per page load (the app provides it;
/// the top bar and the sign-in page read it).
pub type ViewerResource = OnceResource<Result<Viewer, PageError>>;

/// The app's `ViewerResource`.
pub fn use_viewer() -> ViewerResource {
    expect_context::<ViewerResource>()
}
