//! The human-readable table: one line per endpoint as it finishes.

use super::{EndpointReport, Sink, Status};
use std::io::{self, Write};

pub struct TableSink<W: Write> {
    out: W,
    header_written: bool,
    rows: u64,
}

impl<W: Write> TableSink<W> {
    pub fn new(out: W) -> Self {
        Self {
            out,
            header_written: false,
            rows: 0,
        }
    }
}

/// Column widths (0: the rest of the line) and headings, one per cell of
/// [`cells`].
const COLUMNS: [(&str, usize); 8] = [
    ("ENDPOINT", 26),
    ("MODE", 8),
    ("STATUS", 10),
    ("TLS", 8),
    ("ACCEPTS", 16),
    ("CERTIFICATE", 24),
    ("VERDICT", 7),
    ("NOTES", 0),
];

fn fit(s: &str, width: usize) -> String {
    if width == 0 {
        return s.to_string();
    }
    let count = s.chars().count();
    if count <= width {
        format!("{s:<width$}")
    } else {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn line(cells: &[String; 8]) -> String {
    let parts: Vec<String> = cells
        .iter()
        .zip(COLUMNS)
        .map(|(c, (_, w))| fit(c, w))
        .collect();
    parts.join(" ").trim_end().to_string()
}

/// A one-word summary of the certificate for the table.
pub fn certificate_summary(r: &EndpointReport) -> String {
    let Some(c) = &r.certificate else {
        return String::new();
    };
    if c.parse_error.is_some() {
        return "unparsable".into();
    }
    let mut problems = Vec::new();
    if c.expired {
        problems.push("expired".to_string());
    }
    if c.not_yet_valid {
        problems.push("not-yet-valid".to_string());
    }
    // As in the findings: a chain untrusted only because of its dates is
    // shown as expired / not-yet-valid, not also as untrusted.
    let dated_only = matches!(c.trust_error.as_deref(), Some("expired" | "not yet valid"));
    if c.self_signed {
        problems.push("self-signed".to_string());
    } else if !c.trusted && !dated_only {
        problems.push("untrusted".to_string());
    }
    if c.name_match == Some(false) {
        problems.push("wrong-name".to_string());
    }
    if problems.is_empty() {
        format!("valid ({}d)", c.days_left.unwrap_or_default())
    } else {
        problems.join(",")
    }
}

/// Accepted versions, short: `1.2 1.3`, `SSLv3 1.0 1.2`.
pub fn accepted_versions(r: &EndpointReport) -> String {
    let Some(v) = &r.versions else {
        return String::new();
    };
    v.accepted()
        .map(|name| name.strip_prefix("TLSv").unwrap_or(name))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The endpoint as `ip:port` (`[v6]:port`), or the target when unresolved.
pub fn endpoint_label(r: &EndpointReport) -> String {
    match r.ip {
        Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]:{}", r.port),
        Some(ip) => format!("{ip}:{}", r.port),
        None => format!("{}:{}", r.target, r.port),
    }
}

/// The endpoint as people name it: `host:port (ip)` when a hostname was
/// given (a name can resolve to several addresses, each its own row),
/// else [`endpoint_label`]. Hostile-safe only after
/// [`crate::report::escape::visible`].
pub fn display_label(r: &EndpointReport) -> String {
    match (&r.host, r.ip) {
        (Some(host), Some(ip)) => format!("{host}:{} ({ip})", r.port),
        _ => endpoint_label(r),
    }
}

impl<W: Write + Send> Sink for TableSink<W> {
    fn write(&mut self, r: &EndpointReport) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            let headings = COLUMNS.map(|(h, _)| h.to_string());
            writeln!(self.out, "{}", line(&headings))?;
        }
        let notes = if r.status != Status::Ok {
            r.error.clone().unwrap_or_default()
        } else if r.findings.is_empty() {
            r.ftp.banner.as_ref().map(|b| b.text()).unwrap_or_default()
        } else {
            r.findings
                .iter()
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let cells = [
            endpoint_label(r),
            r.mode.to_string(),
            r.status.to_string(),
            r.tls
                .as_ref()
                .map(|t| t.version.clone())
                .unwrap_or_else(|| "-".into()),
            accepted_versions(r),
            certificate_summary(r),
            r.verdict.map(|v| v.to_string()).unwrap_or_default(),
            // Server text: escapes and controls made visible.
            crate::report::escape::visible(&notes.replace(['\r', '\n'], " ")),
        ];
        writeln!(self.out, "{}", line(&cells))?;
        self.rows += 1;
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.rows == 0 {
            writeln!(self.out, "(no endpoints scanned)")?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Mode;

    #[test]
    fn rows_line_up_under_their_headings() {
        let mut out = Vec::new();
        let mut sink = TableSink::new(&mut out);
        let report = EndpointReport {
            ip: "127.0.0.1".parse().ok(),
            port: 2121,
            mode: Mode::Implicit,
            status: Status::Refused,
            error: Some("connection refused".into()),
            ..Default::default()
        };
        sink.write(&report).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let row = lines.next().unwrap();
        for (heading, cell) in [
            ("MODE", "implicit"),
            ("STATUS", "refused"),
            ("NOTES", "connection refused"),
        ] {
            assert_eq!(
                header.find(heading),
                row.find(cell),
                "{heading}:\n{header}\n{row}"
            );
        }
    }
}
