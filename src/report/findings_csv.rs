//! `--findings-csv`: one row per finding, for pivot tables.

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

pub struct FindingsCsvSink<W: Write> {
    out: W,
    header_written: bool,
}

impl<W: Write> FindingsCsvSink<W> {
    /// A sink that appends to a file already holding the header and rows
    /// of an earlier run (`--append`): no second header.
    pub fn continuing(out: W) -> Self {
        Self {
            out,
            header_written: true,
        }
    }

    pub fn new(out: W) -> Self {
        Self {
            out,
            header_written: false,
        }
    }

    fn write_rows(&mut self, rows: &[Vec<String>]) -> io::Result<()> {
        let mut writer = ::csv::WriterBuilder::new().from_writer(Vec::new());
        if !self.header_written {
            self.header_written = true;
            writer.write_record(COLUMNS).map_err(io::Error::other)?;
        }
        for row in rows {
            writer.write_record(row).map_err(io::Error::other)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.out.write_all(&bytes)?;
        self.out.flush()
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
                    super::csv::text(&r.target),
                    r.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                    r.port.to_string(),
                    r.mode.to_string(),
                    f.id.clone(),
                    f.severity.to_string(),
                    super::csv::text(&f.detail),
                    r.verdict.map(|v| v.to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        if rows.is_empty() && self.header_written {
            return Ok(());
        }
        self.write_rows(&rows)
    }

    fn finish(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.write_rows(&[])?;
        }
        self.out.flush()
    }
}
