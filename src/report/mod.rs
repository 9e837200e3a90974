//! Reports: the per-endpoint struct and one module per output format.
//!
//! Each sink reads finished [`EndpointReport`]s and writes them at once,
//! flushed, so an interrupted run keeps every finished row.

pub mod csv;
pub mod escape;
pub mod findings_csv;
pub mod jsonl;
mod model;
pub mod run_record;
pub mod spool;
pub mod table;

pub use model::*;

use std::io;

/// An output format fed one finished report at a time.
pub trait Sink: Send {
    fn write(&mut self, report: &EndpointReport) -> io::Result<()>;
    /// Called once at the end (a table prints its footer; files flush).
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
}
