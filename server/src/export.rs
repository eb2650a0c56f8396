//! A run leaves tracevis as a file and comes back from one: the tracevis
//! export document (everything the trace API returns, re-importable field for
//! field) and the Chrome Trace Event format that chrome://tracing, Perfetto
//! and speedscope open.

pub mod chrome_trace;
pub mod document;
pub mod files;
