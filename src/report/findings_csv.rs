//! `--findings-csv`: one row per finding, for pivot tables.

use super::csv::{text, CsvWriter};
use super::{EndpointReport, Sink};
use std::io::{self, Write};

pub const COLUMNS: &[&str] = &[
    "input_index",
    "target",
    "ip",
    "port",
    "mode",
    "finding",
    "severity",
    "detail",
    "verdict",
];

/// One row per finding, through the same record writer as the report CSV.
pub struct FindingsCsvSink<W: Write>(CsvWriter<W>);

impl<W: Write> FindingsCsvSink<W> {
    pub fn new(out: W) -> Self {
        Self(CsvWriter::new(out, COLUMNS))
    }

    /// Appends to the findings CSV of an earlier run (`--append`).
    pub fn continuing(out: W) -> Self {
        Self(CsvWriter::continuing(out, COLUMNS))
    }
}

impl<W: Write + Send> Sink for FindingsCsvSink<W> {
    fn write(&mut self, r: &EndpointReport) -> io::Result<()> {
        let rows: Vec<Vec<String>> = r
            .findings
            .iter()
            .map(|f| {
                vec![
                    r.input_index.to_string(),
                    text(&r.target),
                    r.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    r.port.to_string(),
                    r.mode.to_string(),
                    f.id.clone(),
                    f.severity.to_string(),
                    text(&f.detail),
                    r.verdict.map(|v| v.to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        if rows.is_empty() && self.0.header_written() {
            return Ok(());
        }
        self.0.write_rows(&rows)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()
    }
}
