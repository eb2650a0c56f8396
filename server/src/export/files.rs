//! `tracevis import` and `tracevis export`: the same documents as the HTTP
//! endpoints, read from and written to files, straight against the database
//! (no server needed, and no request body limit for very large runs).

use super::chrome_trace::chrome_trace;
use super::document::{ExportDocument, ImportDocument};
use crate::api::extract::parse_json;
use crate::service::{ImportOutcome, TraceService};
use anyhow::Context;
use app::protocol::TraceVisualization;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Which file format `tracevis export` writes.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ExportFormat {
    /// The tracevis export document (`tracevis import` reads it back).
    Tracevis,
    /// Chrome Trace Event JSON for chrome://tracing, Perfetto or speedscope.
    Chrome,
}

/// Imports each file in turn; stops at the first that fails, naming it.
pub async fn import_files(service: &TraceService, files: &[PathBuf]) -> anyhow::Result<()> {
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        let document: ImportDocument =
            parse_json(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let outcome = service
            .import(document)
            .await
            .with_context(|| format!("cannot import {}", file.display()))?;
        let (verb, summary) = match outcome {
            ImportOutcome::Imported(s) => ("imported", s),
            ImportOutcome::AlreadyPresent(s) => ("already present", s),
        };
        println!(
            "{}: {verb} {} ({} records, {})",
            file.display(),
            summary.execution_id,
            summary.last_seq,
            summary.status.as_str()
        );
    }
    Ok(())
}

/// Writes run `execution_id` to `output` (`-` for standard output).
pub async fn export_file(
    service: &TraceService,
    execution_id: &str,
    format: ExportFormat,
    output: &Path,
) -> anyhow::Result<()> {
    let trace = service.get_trace(execution_id).await?;
    let json = match format {
        ExportFormat::Tracevis => serde_json::to_vec(&ExportDocument::new(&trace))?,
        ExportFormat::Chrome => serde_json::to_vec(&chrome_trace(&trace))?,
    };
    if output == Path::new("-") {
        std::io::stdout().write_all(&json)?;
    } else {
        std::fs::write(output, &json).with_context(|| format!("cannot write {}", output.display()))?;
        eprintln!("wrote {} ({} bytes)", output.display(), json.len());
    }
    Ok(())
}
