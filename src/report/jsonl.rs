//! JSON Lines: one object per endpoint, the full nested report.

use super::{EndpointReport, Sink};
use std::io::{self, Write};

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
        let json = serde_json::to_string(report).map_err(io::Error::other)?;
        // serde_json leaves DEL and C1 controls raw; a `cat` of the file
        // must not hand them to the terminal.
        let mut line = super::escape::json_line(&json);
        line.push('\n');
        self.out.write_all(line.as_bytes())?;
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
