//! The OpenAPI 3.1 description of the JSON API, served at
//! `/api/v1/openapi.json`. It is generated from the code: the paths from the
//! handlers' `#[utoipa::path]` annotations, the bodies from the schemas
//! derived on the same structs serde reads and writes. The answers every
//! route can give (a bad parameter, no credential, a timeout …) are added
//! here, once, rather than on each handler.

use crate::export::document::ExportDocument;
use axum::http::header;
use axum::response::IntoResponse;
use std::sync::OnceLock;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tracevis",
        description = "Executions of graph and agent workflows: runs, node events, state snapshots, \
                       comparison and statistics. The contract is API.md; OTLP/HTTP ingest \
                       (`POST /v1/traces`) follows the OpenTelemetry specification and is not \
                       described here.",
    ),
    paths(
        super::executions::start,
        super::executions::list,
        super::executions::trace,
        super::executions::append,
        super::executions::complete,
        super::executions::timeline,
        super::executions::states,
        super::executions::replays,
        super::export::export,
        super::export::import,
        super::live::execution_live,
        super::live::runs_live,
        super::compare::compare,
        super::statistics::overview,
        super::statistics::slow,
        super::health::healthz,
        super::alerts::list,
        super::alerts::create,
        super::alerts::get_one,
        super::alerts::update,
        super::alerts::delete,
        super::alerts::deliveries,
        super::alerts::redeliver,
    ),
    components(schemas(ListSortParam, FieldsParam, ExportFormatParam)),
    modifiers(&EveryRouteAnswers),
    tags(
        (name = "write", description = "Producers: start a run, append records, complete it; import"),
        (name = "read", description = "Runs, their records, comparison, statistics and export"),
        (name = "live", description = "WebSockets: a run's records as they are stored, and the live run list"),
        (name = "health", description = "Liveness"),
        (name = "alerts", description = "Alert rules and their signed webhook deliveries (admin)"),
    )
)]
struct ApiDoc;

/// `GET /api/v1/openapi.json`: the description, made once per process.
pub async fn serve() -> impl IntoResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let body = DOCUMENT.get_or_init(|| {
        let mut document = serde_json::to_value(ApiDoc::openapi())
            .expect("the OpenAPI description serialises (a fixed, derived value)");
        camel_case_links(&mut document);
        serde_json::to_string_pretty(&document).expect("a JSON value serialises")
    });
    ([(header::CONTENT_TYPE, "application/json")], body.as_str())
}

/// utoipa 5.5 writes a Link object's fields in snake_case (`operation_id`),
/// which no OpenAPI tool reads; the specification names them in camelCase.
fn camel_case_links(document: &mut serde_json::Value) {
    let Some(paths) = document.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else {
            continue;
        };
        for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
            for (snake, camel) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(value) = link.remove(snake) {
                    link.insert(camel.to_owned(), value);
                }
            }
        }
    }
}

/// The body of every error answer (API.md, Conventions).
#[derive(ToSchema)]
#[allow(dead_code)] // described, never built: `AppError` writes this shape
pub struct ApiError {
    /// What is wrong, for a person; names the field or parameter.
    error: String,
    /// A stable machine code, e.g. `invalid_field`, `not_found`.
    code: String,
}

/// The run named in the path.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // described, never built: `ExecutionIdPath` parses it
pub struct ExecutionIdParam {
    /// The run's id.
    #[param(value_type = app::model::RecordId)]
    execution_id: String,
}

/// The run list's order (`sort`).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // described, never built: `ListSort::from_param` parses it
pub enum ListSortParam {
    /// Newest first.
    StartTime,
    /// Slowest first.
    Duration,
}

/// What a run list row carries (`fields`).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // described, never built
pub enum FieldsParam {
    /// Every summary field.
    Summary,
    /// Without the payload columns.
    List,
}

/// The export's format (`format`).
#[derive(ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // described, never built
pub enum ExportFormatParam {
    /// The tracevis document.
    Tracevis,
    /// Chrome's Trace Event Format.
    Chrome,
}

/// What an export answers, by `format`.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // described, never built
pub enum ExportBody {
    /// `format=tracevis`.
    Tracevis(ExportDocumentSchema),
    /// `format=chrome`.
    Chrome(ChromeTrace),
}

/// The tracevis export document, which `POST /api/v1/import` takes back.
pub type ExportDocumentSchema = ExportDocument<'static>;

/// Chrome's Trace Event Format, for chrome://tracing and Perfetto.
#[derive(ToSchema)]
#[allow(dead_code, non_snake_case)] // described, never built; the format's own names
pub struct ChromeTrace {
    /// Metadata and complete (`X`) events, one per node visit.
    #[schema(value_type = Vec<Object>)]
    traceEvents: Vec<serde_json::Value>,
    /// Always `ms`.
    displayTimeUnit: String,
}

/// Statuses any route may answer besides its own (API.md: Validation,
/// Access), and those of a route that takes a JSON body.
const ANY_ROUTE: &[(&str, &str)] = &[
    (
        "400",
        "A parameter or the path does not parse; the message names it",
    ),
    ("401", "No valid credential (when access control is on)"),
    ("403", "The credential lacks the scope, or a cross-site request"),
    (
        "422",
        "A parameter or field is invalid; the message names it (in a batch, with the record's index)",
    ),
    ("429", "Too many refused credentials from this address"),
    ("500", "An internal error (logged, never shown)"),
    ("503", "The database is unavailable, or the request took too long"),
];
const JSON_BODY: &[(&str, &str)] = &[
    ("413", "The body is over the configured limit"),
    ("415", "The body is not declared application/json"),
];

/// Adds the shared error answers to every operation, and bearer tokens as
/// the (optional) security scheme.
struct EveryRouteAnswers;

impl Modify for EveryRouteAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ApiError")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (item.get.as_mut(), false),
                (item.post.as_mut(), true),
                (item.put.as_mut(), true),
                (item.delete.as_mut(), false),
            ];
            for (operation, takes_body) in operations {
                let Some(operation) = operation else { continue };
                for parameter in operation.parameters.iter_mut().flatten() {
                    allow_empty_when_optional(parameter);
                }
                let extra: &[(&str, &str)] = if takes_body { JSON_BODY } else { &[] };
                for (status, description) in ANY_ROUTE.iter().chain(extra) {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| error(description).into());
                }
            }
        }
        link_a_started_run_to_what_can_be_done_with_it(openapi);
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // Either no credential (a loopback server, `--auth off`) or a token.
        openapi.security = Some(vec![
            SecurityRequirement::default(),
            SecurityRequirement::new("bearer", Vec::<String>::new()),
        ]);
    }
}

/// An optional query parameter may be sent empty (`?start_time=&status=`, as
/// API.md writes them, and as HTML forms send them): empty is the same as
/// absent. Its schema says so: the value's own schema, or the empty string.
fn allow_empty_when_optional(parameter: &mut utoipa::openapi::path::Parameter) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, Type};
    use utoipa::openapi::Required;
    if parameter.parameter_in != ParameterIn::Query || parameter.required == Required::True {
        return;
    }
    let Some(schema) = parameter.schema.take() else {
        return;
    };
    let empty = ObjectBuilder::new().schema_type(Type::String).max_length(Some(0));
    parameter.schema = Some(Schema::AnyOf(AnyOfBuilder::new().item(schema).item(empty).build()).into());
}

/// OpenAPI links from `POST /api/v1/executions` to the operations on the
/// run it started, so clients (and schemathesis's stateful phase) can follow
/// a run from its start through its records to its end.
fn link_a_started_run_to_what_can_be_done_with_it(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    let Some(start) = openapi
        .paths
        .paths
        .get_mut("/api/v1/executions")
        .and_then(|item| item.post.as_mut())
    else {
        return;
    };
    let targets = [
        (
            "AppendRecords",
            "append",
            "Append node events and snapshots to the run",
        ),
        ("CompleteRun", "complete", "Finish the run"),
        ("GetTrace", "trace", "The run with its records"),
        ("GetTimeline", "timeline", "The run's node events"),
        ("GetStates", "states", "The run's state snapshots"),
        ("ExportRun", "export", "The run as a file"),
        (
            "CompareWithPrevious",
            "compare",
            "The run beside the one before it",
        ),
    ];
    for status in ["200", "201"] {
        let Some(utoipa::openapi::RefOr::T(response)) = start.responses.responses.get_mut(status) else {
            continue;
        };
        for (name, operation_id, description) in targets {
            let parameter = if operation_id == "compare" {
                "a"
            } else {
                "execution_id"
            };
            let link = LinkBuilder::new()
                .operation_id(operation_id)
                .parameter(parameter, "$response.body#/execution_id")
                .description(description)
                .build();
            response.links.insert(name.to_owned(), link.into());
        }
    }
}
