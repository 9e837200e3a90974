//! JSON Lines: one object per endpoint, the full nested report, in the
//! shape `schema/endpoint-report.schema.json` documents.

use super::{EndpointReport, Sink};
use serde::Serialize;
use std::io::{self, Write};

/// The `schema_version` of every record; raised when a field changes
/// meaning or goes away (an added field does not raise it).
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema of one record (draft 2020-12), as committed.
pub const SCHEMA: &str = include_str!("../../schema/endpoint-report.schema.json");

/// One line of the report: the version of its shape first, then the
/// report's own fields.
#[derive(Serialize)]
struct Record<'a> {
    schema_version: u32,
    #[serde(flatten)]
    report: &'a EndpointReport,
}

/// A report as one JSON line (without the newline), controls escaped.
pub fn to_line(report: &EndpointReport) -> io::Result<String> {
    let record = Record {
        schema_version: SCHEMA_VERSION,
        report,
    };
    let json = serde_json::to_string(&record).map_err(io::Error::other)?;
    // serde_json leaves DEL and C1 controls raw; a `cat` of the file
    // must not hand them to the terminal.
    Ok(super::escape::json_line(&json))
}

pub struct JsonLinesSink<W: Write> {
    out: W,
}

impl<W: Write> JsonLinesSink<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
}

impl<W: Write + Send> Sink for JsonLinesSink<W> {
    fn write(&mut self, report: &EndpointReport) -> io::Result<()> {
        // Serialise first, then write the line in one call, so an
        // interruption never leaves half an object in the file.
        let mut line = to_line(report)?;
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
