//! `ftps-scan diff OLD NEW`: the binary side (formats, exit code).

use crate::cli::DiffFormat;
use crate::output::ExitCode;
use anyhow::{Context, Result};
use ftps_scan::compare::{compare, read_report};
use std::io::Write;
use std::path::Path;

pub fn run(old: &Path, new: &Path, format: DiffFormat, output: Option<&Path>) -> Result<ExitCode> {
    let old_rows = read_report(old)?;
    let new_rows = read_report(new)?;
    let changes = compare(&old_rows, &new_rows);
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write output file {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    match format {
        DiffFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["change", "target", "ip", "port", "detail", "worse"])?;
            for c in &changes {
                w.write_record([
                    c.kind.as_str(),
                    &ftps_scan::report::csv::text(&c.key.target),
                    &c.key.ip,
                    &c.key.port,
                    &ftps_scan::report::csv::text(&c.detail),
                    if c.worse { "yes" } else { "no" },
                ])?;
            }
            w.flush()?;
        }
        DiffFormat::Table => {
            if changes.is_empty() {
                writeln!(out, "no changes ({} endpoints)", new_rows.len())?;
            }
            for c in &changes {
                let mark = if c.worse { "!" } else { " " };
                writeln!(
                    out,
                    "{mark} {:<17} {:<40} {}",
                    c.kind.as_str(),
                    // Report files carry server text: no raw controls on
                    // the terminal.
                    ftps_scan::report::escape::visible(&c.key.to_string()),
                    ftps_scan::report::escape::visible(&c.detail)
                )?;
            }
        }
    }
    out.flush()?;
    Ok(if changes.iter().any(|c| c.worse) {
        ExitCode::Findings
    } else {
        ExitCode::Clean
    })
}
