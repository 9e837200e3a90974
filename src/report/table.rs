//! The human-readable table: one line per endpoint as it finishes.

use super::{EndpointReport, Sink, Status};
use std::io::{self, Write};

pub struct TableSink<W: Write> {
    out: W,
    header_written: bool,
    rows: u64,
    layout: Layout,
}

impl<W: Write> TableSink<W> {
    /// A table whose last column (notes) runs to the end of each line.
    pub fn new(out: W) -> Self {
        Self::with_width(out, None)
    }

    /// A table that fits `width` columns (a terminal's): narrower columns,
    /// then fewer, and the notes wrapped onto continuation lines.
    pub fn with_width(out: W, width: Option<usize>) -> Self {
        Self {
            out,
            header_written: false,
            rows: 0,
            layout: Layout::for_width(width),
        }
    }
}

/// The cells of a row, by column.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Col {
    Endpoint,
    Mode,
    Status,
    Tls,
    Accepts,
    Certificate,
    Transfer,
    Verdict,
}

impl Col {
    fn heading(self) -> &'static str {
        match self {
            Col::Endpoint => "ENDPOINT",
            Col::Mode => "MODE",
            Col::Status => "STATUS",
            Col::Tls => "TLS",
            Col::Accepts => "ACCEPTS",
            Col::Certificate => "CERTIFICATE",
            Col::Transfer => "TRANSFER",
            Col::Verdict => "VERDICT",
        }
    }
}

/// Column sets from widest to narrowest; the first that leaves the notes
/// [`NOTES_MIN`] columns is used.
const LAYOUTS: [&[(Col, usize)]; 3] = [WIDEST, MIDDLE, NARROWEST];

const WIDEST: &[(Col, usize)] = &[
    (Col::Endpoint, 30),
    (Col::Mode, 8),
    (Col::Status, 10),
    (Col::Tls, 8),
    (Col::Accepts, 16),
    (Col::Certificate, 24),
    (Col::Transfer, 18),
    (Col::Verdict, 7),
];

const MIDDLE: &[(Col, usize)] = &[
    (Col::Endpoint, 26),
    (Col::Mode, 8),
    (Col::Status, 10),
    (Col::Accepts, 14),
    (Col::Certificate, 18),
    (Col::Transfer, 18),
    (Col::Verdict, 7),
];

// 80 columns: no ACCEPTS (a legacy version accepted is a finding, and
// the findings are in the notes) and no TRANSFER (the summary counts it); a longer label (`host:port (ip)`)
// gets a line of its own above its row.
const NARROWEST: &[(Col, usize)] = &[
    (Col::Endpoint, 23),
    (Col::Status, 10),
    (Col::Certificate, 12),
    (Col::Verdict, 7),
];

/// The notes get at least this much of a line; below it they wrap.
const NOTES_MIN: usize = 16;

#[derive(Debug, Clone)]
struct Layout {
    columns: &'static [(Col, usize)],
    /// Width of the notes column (`None`: the rest of the line, unwrapped).
    notes: Option<usize>,
}

impl Layout {
    fn for_width(width: Option<usize>) -> Self {
        let Some(width) = width else {
            return Self {
                columns: WIDEST,
                notes: None,
            };
        };
        let fixed = |cols: &[(Col, usize)]| cols.iter().map(|(_, w)| w + 1).sum::<usize>();
        let columns = LAYOUTS
            .iter()
            .copied()
            .find(|cols| fixed(cols) + NOTES_MIN <= width)
            .unwrap_or(NARROWEST);
        Self {
            columns,
            notes: Some(width.saturating_sub(fixed(columns)).max(NOTES_MIN)),
        }
    }

    /// The lines of one row: the cells, then the notes, wrapped.
    fn lines(&self, cells: &dyn Fn(Col) -> String, notes: &str) -> Vec<String> {
        let mut lines = Vec::new();
        let mut own_line = None;
        let mut first: String = self
            .columns
            .iter()
            .map(|(col, w)| {
                let cell = cells(*col);
                if self.notes.is_some() && *col == Col::Endpoint && cell.chars().count() > *w {
                    own_line = Some(cell);
                    return " ".repeat(*w + 1);
                }
                fit(&cell, *w) + " "
            })
            .collect();
        let Some(notes_width) = self.notes else {
            first.push_str(notes);
            return vec![first.trim_end().to_string()];
        };
        let indent = " ".repeat(first.chars().count());
        if let Some(label) = own_line {
            lines.push(
                fit(&label, indent.len() + notes_width)
                    .trim_end()
                    .to_string(),
            );
        }
        let mut wrapped = wrap(notes, notes_width).into_iter();
        first.push_str(&wrapped.next().unwrap_or_default());
        lines.push(first.trim_end().to_string());
        lines.extend(wrapped.map(|l| format!("{indent}{l}")));
        lines
    }
}

fn fit(s: &str, width: usize) -> String {
    let count = s.chars().count();
    if count <= width {
        format!("{s:<width$}")
    } else {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// `text` in lines of at most `width` characters, broken at spaces (a
/// word longer than a line is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let room = if used == 0 {
                width
            } else {
                width.saturating_sub(used + 1)
            };
            if word.len() <= room {
                if used > 0 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            let rest = word.split_off(width);
            lines.push(word.iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The notes of a row: the error of an endpoint that was not fully
/// assessed, then every finding id once; the greeting when there is
/// nothing else to say.
fn notes(r: &EndpointReport) -> String {
    let mut parts: Vec<String> = Vec::new();
    if r.status != Status::Ok {
        parts.extend(r.error.clone());
    }
    let mut ids: Vec<&str> = Vec::new();
    for f in &r.findings {
        if !ids.contains(&f.id.as_str()) {
            ids.push(&f.id);
        }
    }
    if !ids.is_empty() {
        parts.push(ids.join(" "));
    }
    if parts.is_empty() {
        parts.extend(r.ftp.banner.as_ref().map(|b| b.text()));
    }
    // Server text: escapes and controls made visible.
    crate::report::escape::visible(&parts.join("; ").replace(['\r', '\n'], " "))
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
    // The findings' judgement: a chain untrusted only because of its
    // dates shows as expired / not-yet-valid, not also as untrusted.
    if c.self_signed {
        problems.push("self-signed".to_string());
    } else if c.untrusted_beyond_dates() {
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
        .map(|v| v.as_str())
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
            let heading = |c: Col| c.heading().to_string();
            for line in self.layout.lines(&heading, "NOTES") {
                writeln!(self.out, "{line}")?;
            }
        }
        let cell = |c: Col| match c {
            Col::Endpoint => crate::report::escape::visible(&display_label(r)),
            Col::Mode => r.mode.to_string(),
            Col::Status => r.status.to_string(),
            Col::Tls => r
                .tls
                .as_ref()
                .map(|t| t.version.clone())
                .unwrap_or_else(|| "-".into()),
            Col::Accepts => accepted_versions(r),
            Col::Certificate => certificate_summary(r),
            Col::Transfer => r
                .transfer_path
                .map(|t| t.as_str().to_string())
                .unwrap_or_default(),
            Col::Verdict => r.verdict.map(|v| v.to_string()).unwrap_or_default(),
        };
        // One write per row, so rows never interleave with other output.
        let mut text = String::new();
        for line in self.layout.lines(&cell, &notes(r)) {
            text.push_str(&line);
            text.push('\n');
        }
        self.out.write_all(text.as_bytes())?;
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
            transfer_path: Some(crate::probe::posture::TransferPath::NotAssessed),
            ..Default::default()
        };
        sink.write(&report).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let row = lines.next().unwrap();
        for (heading, cell) in [
            ("MODE", "implicit"),
            ("TRANSFER", "not-assessed"),
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

    fn hostname_report() -> EndpointReport {
        use crate::policy::{Finding, Severity};
        let finding = |id: &str| Finding {
            id: id.into(),
            severity: Severity::High,
            detail: String::new(),
        };
        EndpointReport {
            target: "ftp.example.com".into(),
            host: Some("ftp.example.com".into()),
            ip: "192.0.2.7".parse().ok(),
            port: 21,
            status: Status::NoTls,
            error: Some("AUTH TLS and AUTH SSL refused".into()),
            findings: vec![
                finding("ftp-no-tls"),
                finding("cleartext-login-allowed"),
                finding("ftp-no-tls"),
            ],
            verdict: Some(crate::policy::Verdict::Fail),
            ..Default::default()
        }
    }

    #[test]
    fn eighty_columns_fit_and_every_finding_shows_once() {
        let mut out = Vec::new();
        let mut sink = TableSink::with_width(&mut out, Some(80));
        sink.write(&hostname_report()).unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
        assert!(text.contains("ftp.example.com:21 (192.0.2.7)"), "{text}");
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(joined.matches("ftp-no-tls").count(), 1, "{text}");
        assert!(joined.contains("cleartext-login-allowed"), "{text}");
        assert!(joined.contains("AUTH TLS and AUTH SSL refused;"), "{text}");
        // Wide: every column, the full label, one line.
        let mut out = Vec::new();
        TableSink::with_width(&mut out, Some(200))
            .write(&hostname_report())
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("ftp.example.com:21 (192.0.2.7)"), "{text}");
        assert!(text.lines().next().unwrap().contains("TLS"), "{text}");
    }

    #[test]
    fn wrapping_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), ["abc", "def", "gh"]);
        assert_eq!(wrap("", 4), [""]);
    }
}
