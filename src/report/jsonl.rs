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
        let mut line = serde_json::to_vec(report).map_err(io::Error::other)?;
        line.push(b'\n');
        self.out.write_all(&line)?;
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
