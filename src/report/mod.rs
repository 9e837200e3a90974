//! Reports: one module per output format (the per-endpoint struct they
//! read is [`crate::model`]'s, re-exported here).
//!
//! Each sink reads finished [`EndpointReport`]s and writes them at once,
//! flushed, so an interrupted run keeps every finished row.

pub mod csv;
pub mod escape;
pub mod findings_csv;
pub mod html;
pub mod jsonl;
pub mod prom;
pub mod run_record;
pub mod spool;
pub mod table;

pub use crate::model::*;

use std::io;

/// An output format fed one finished report at a time.
pub trait Sink: Send {
    fn write(&mut self, report: &EndpointReport) -> io::Result<()>;
    /// Called once at the end (a table prints its footer; files flush).
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What whole-run reports (HTML, Prometheus) say about the run itself.
#[derive(Debug, Clone)]
pub struct RunInfo {
    /// When the run started, UTC (`2026-12-01T12:50:46Z`).
    pub started_at: String,
    /// The same as seconds since the Unix epoch.
    pub started_unix: i64,
    /// How long the run took until the report was written.
    pub duration: std::time::Duration,
    /// The scanner's version.
    pub version: &'static str,
    /// Whether a signal cut the run short (the report is then partial).
    pub interrupted: bool,
    /// Target lines that could not be used.
    pub input_errors: u64,
}

/// `reports` in input order (a whole-run report reads best that way).
pub fn in_input_order(reports: &[EndpointReport]) -> Vec<&EndpointReport> {
    let mut sorted: Vec<&EndpointReport> = reports.iter().collect();
    sorted.sort_by(|a, b| {
        (a.input_index, a.ip, a.port, a.mode).cmp(&(b.input_index, b.ip, b.port, b.mode))
    });
    sorted
}
