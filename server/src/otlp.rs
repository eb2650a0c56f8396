//! OpenTelemetry in: validated spans (`span`), the rules that say which span
//! is a run, a node visit or an LLM call (`rules`), and their projection
//! onto the records the JSON API takes (`projection`). The HTTP edge is
//! `api::otlp`; storing is `TraceService::ingest_spans`.

pub mod declared_graph;
pub mod projection;
pub mod rules;
pub mod span;
