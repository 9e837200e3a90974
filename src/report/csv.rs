//! CSV: one row per endpoint, the columns of report-columns.md.
//!
//! The header is the public contract with spreadsheet users: it is the same
//! on every run whatever features are on (cells of features that did not
//! run are empty), columns are only ever added at the end, never renamed.

use super::{EndpointReport, Sink};
use crate::ftp::Reply;
use std::io::{self, Write};

/// Longest banner kept in a CSV cell (the JSON report has the full text).
pub const BANNER_CELL_MAX: usize = 512;

/// The CSV header, in order.
pub const COLUMNS: &[&str] = &[
    // identity and outcome
    "input_index",
    "target",
    "host",
    "ip",
    "port",
    "mode",
    "status",
    "failed_phase",
    "error",
    "scanned_at",
    "duration_ms",
    // FTP control channel
    "banner",
    "feat",
    "auth_tls_reply",
    "auth_ssl_reply",
    // TLS
    "tls_version",
    "tls_cipher",
    "sslv2",
    "sslv3",
    "tls1_0",
    "tls1_1",
    "tls1_2",
    "tls1_3",
    "weak_ciphers",
    // certificate
    "cert_subject",
    "cert_issuer",
    "cert_sans",
    "cert_not_before",
    "cert_not_after",
    "cert_days_left",
    "cert_expired",
    "cert_self_signed",
    "cert_trusted",
    "cert_trust_error",
    "cert_name_match",
    "cert_key",
    "cert_signature",
    "cert_sha256",
    // FTP posture
    "cleartext_login",
    "cleartext_login_reply",
    "login",
    "prot_p",
    "prot_c",
    "pasv_address",
    "pasv_port",
    "pasv_address_mismatch",
    "pasv_private_address",
    "passive_port",
    "epsv_port",
    "data_tls",
    "data_tls_reply",
    "data_tls_resumed",
    // verdict
    "verdict",
    "findings",
    // added later (at the end, so existing column positions never move)
    "client_cert",
    "prot_c_reply",
    "prot_c_transfer_reply",
    "data_tls_reuse_required",
    "auth_tls_race",
    "transfer_path",
    "transfer_path_reason",
    "auth_tls_in_feat",
    "cleartext_after_auth",
    "cleartext_after_auth_reply",
    "ftp_bounce",
    "ftp_bounce_reply",
    "ccc",
    "ccc_reply",
    "mode_detection",
];

/// The cells of one report, in [`COLUMNS`] order.
pub fn row(r: &EndpointReport) -> Vec<String> {
    let cert = r.certificate.as_ref();
    let posture = r.posture.as_ref();
    let version = |name: &str| -> String {
        r.versions
            .as_ref()
            .and_then(|v| v.verdict_of(name))
            .unwrap_or_default()
            .to_string()
    };
    let p_str = |f: fn(&crate::probe::posture::Posture) -> &Option<String>| -> String {
        posture.and_then(|p| f(p).clone()).unwrap_or_default()
    };
    let p_fact = |f: fn(&crate::probe::posture::Posture) -> Option<&'static str>| -> String {
        posture.and_then(f).unwrap_or_default().to_string()
    };
    let p_bool = |f: fn(&crate::probe::posture::Posture) -> Option<bool>| -> String {
        yes_no(posture.and_then(f))
    };
    let cells = vec![
        r.input_index.to_string(),
        text(&r.target),
        text(r.host.as_deref().unwrap_or_default()),
        r.ip.map(|ip| ip.to_string()).unwrap_or_default(),
        r.port.to_string(),
        r.mode.to_string(),
        r.status.to_string(),
        r.failed_phase.map(|p| p.to_string()).unwrap_or_default(),
        text(r.error.as_deref().unwrap_or_default()),
        r.scanned_at.clone(),
        r.duration_ms.to_string(),
        text(&truncate(
            &r.ftp.banner.as_ref().map(Reply::text).unwrap_or_default(),
            BANNER_CELL_MAX,
        )),
        text(&r.ftp.feat.as_ref().map(|f| f.join(";")).unwrap_or_default()),
        reply_cell(r.ftp.auth_tls_reply.as_ref()),
        reply_cell(r.ftp.auth_ssl_reply.as_ref()),
        r.tls
            .as_ref()
            .map(|t| t.version.clone())
            .unwrap_or_default(),
        r.tls.as_ref().map(|t| t.cipher.clone()).unwrap_or_default(),
        version("SSLv2"),
        version("SSLv3"),
        version("TLSv1.0"),
        version("TLSv1.1"),
        version("TLSv1.2"),
        version("TLSv1.3"),
        r.versions
            .as_ref()
            .map(|v| v.weak_ciphers().join(";"))
            .unwrap_or_default(),
        text(cert.map(|c| c.subject.as_str()).unwrap_or_default()),
        text(cert.map(|c| c.issuer.as_str()).unwrap_or_default()),
        text(&cert.map(|c| c.sans.join(";")).unwrap_or_default()),
        cert.and_then(|c| c.not_before.clone()).unwrap_or_default(),
        cert.and_then(|c| c.not_after.clone()).unwrap_or_default(),
        cert.and_then(|c| c.days_left)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        yes_no(cert.and_then(|c| c.parse_error.is_none().then_some(c.expired))),
        yes_no(cert.and_then(|c| c.parse_error.is_none().then_some(c.self_signed))),
        yes_no(cert.map(|c| c.trusted)),
        text(
            cert.and_then(|c| c.trust_error.as_deref())
                .unwrap_or_default(),
        ),
        yes_no(cert.and_then(|c| c.name_match)),
        cert.map(|c| c.key.clone()).unwrap_or_default(),
        cert.map(|c| c.signature.clone()).unwrap_or_default(),
        cert.map(|c| c.sha256.clone()).unwrap_or_default(),
        p_fact(|p| p.cleartext_login.map(|x| x.as_str())),
        reply_cell(posture.and_then(|p| p.cleartext_login_reply.as_ref())),
        p_fact(|p| p.login.map(|x| x.as_str())),
        p_fact(|p| p.prot_p.map(|x| x.as_str())),
        p_fact(|p| p.prot_c.map(|x| x.as_str())),
        p_str(|p| &p.pasv_address),
        posture
            .and_then(|p| p.pasv_port)
            .map(|p| p.to_string())
            .unwrap_or_default(),
        p_bool(|p| p.pasv_address_mismatch),
        p_bool(|p| p.pasv_private_address),
        p_fact(|p| p.passive_port.map(|x| x.as_str())),
        posture
            .and_then(|p| p.epsv_port)
            .map(|p| p.to_string())
            .unwrap_or_default(),
        p_fact(|p| p.data_tls.map(|x| x.as_str())),
        text(&p_str(|p| &p.data_tls_reply)),
        p_bool(|p| p.data_tls_resumed),
        r.verdict.map(|v| v.to_string()).unwrap_or_default(),
        r.findings
            .iter()
            .map(|f| f.id.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        r.client_cert
            .map(|c| c.as_str().to_string())
            .unwrap_or_default(),
        reply_cell(posture.and_then(|p| p.prot_c_reply.as_ref())),
        reply_cell(posture.and_then(|p| p.prot_c_transfer_reply.as_ref())),
        p_bool(|p| p.data_tls_reuse_required),
        match (&r.ftp.auth_tls_race, &r.versions) {
            (Some(_), _) => "yes".into(),
            (None, Some(v)) if !v.auth_tls_race.is_empty() => "yes".into(),
            (None, _) if r.ftp.auth_tls_reply.as_ref().is_some_and(|a| a.code == 234) => {
                "no".into()
            }
            _ => String::new(),
        },
        r.transfer_path
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        text(r.transfer_path_reason.as_deref().unwrap_or_default()),
        yes_no(r.ftp.auth_tls_in_feat),
        p_fact(|p| p.cleartext_after_auth.map(|x| x.as_str())),
        match posture.and_then(|p| p.cleartext_after_auth_reply.as_ref()) {
            Some(reply) => reply_cell(Some(reply)),
            None => text(&p_str(|p| &p.cleartext_after_auth_reason)),
        },
        p_fact(|p| p.ftp_bounce.map(|x| x.as_str())),
        // The reply that decided it: an acceptance if any, else the last refusal.
        reply_cell(posture.and_then(|p| {
            let replies = [&p.ftp_bounce_port_reply, &p.ftp_bounce_eprt_reply];
            replies
                .iter()
                .filter_map(|x| x.as_ref())
                .find(|x| x.class() == 2)
                .or(p.ftp_bounce_eprt_reply.as_ref())
                .or(p.ftp_bounce_port_reply.as_ref())
        })),
        p_fact(|p| p.ccc.map(|x| x.as_str())),
        reply_cell(posture.and_then(|p| p.ccc_reply.as_ref())),
        r.mode_detection
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
    ];
    debug_assert_eq!(cells.len(), COLUMNS.len());
    cells
}

fn yes_no(b: Option<bool>) -> String {
    match b {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => String::new(),
    }
}

fn reply_cell(reply: Option<&Reply>) -> String {
    reply
        .map(|r| text(&truncate(&r.to_string(), BANNER_CELL_MAX)))
        .unwrap_or_default()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// Free text that a server controls is defused for terminals and
/// spreadsheets: control characters become visible escapes
/// ([`super::escape::visible`]), and a cell that starts with `=`, `+`, `-`,
/// `@` (also behind a byte-order mark or zero-width characters, or as their
/// fullwidth look-alikes) would be run as a formula by Excel or LibreOffice
/// (CSV injection), so it gets a leading `'`.
pub fn text(s: &str) -> String {
    let s = super::escape::visible(s);
    let invisible = |c: &char| matches!(c, '\u{feff}' | '\u{200b}'..='\u{200d}' | '\u{2060}');
    match s.chars().find(|c| !invisible(c)) {
        Some('=' | '+' | '-' | '@' | '\u{ff1d}' | '\u{ff0b}' | '\u{ff0d}' | '\u{ff20}') => {
            format!("'{s}")
        }
        _ if s.starts_with(|c: char| invisible(&c)) => format!("'{s}"),
        _ => s,
    }
}

/// Writes the header once, then one flushed row per report.
pub struct CsvSink<W: Write> {
    out: W,
    header_written: bool,
}

impl<W: Write> CsvSink<W> {
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

    fn write_record(&mut self, cells: &[impl AsRef<[u8]>]) -> io::Result<()> {
        // Each record is encoded into memory first and written in one call,
        // so an interruption cannot leave half a row in the file.
        let mut writer = ::csv::WriterBuilder::new().from_writer(Vec::with_capacity(1024));
        writer.write_record(cells).map_err(io::Error::other)?;
        let bytes = writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.out.write_all(&bytes)?;
        self.out.flush()
    }

    pub fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            self.write_record(COLUMNS)?;
        }
        Ok(())
    }
}

impl<W: Write + Send> Sink for CsvSink<W> {
    fn write(&mut self, report: &EndpointReport) -> io::Result<()> {
        self.write_header()?;
        self.write_record(&row(report))
    }

    fn finish(&mut self) -> io::Result<()> {
        // A run with no endpoint still yields a valid CSV with its header.
        self.write_header()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_has_one_cell_per_column() {
        assert_eq!(row(&EndpointReport::default()).len(), COLUMNS.len());
    }

    #[test]
    fn header_is_the_documented_contract() {
        let doc = include_str!("../../README.md");
        for column in COLUMNS {
            assert!(
                doc.contains(&format!("`{column}`")),
                "column {column} is not documented in README.md"
            );
        }
    }

    #[test]
    fn formula_like_text_is_defused() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("220 ok"), "220 ok");
        assert_eq!(text("-1"), "'-1");
        assert_eq!(text("\u{feff}=1+1"), "'\u{feff}=1+1");
        assert_eq!(text("\u{200b}@SUM(A1)"), "'\u{200b}@SUM(A1)");
        assert_eq!(text("\u{ff1d}1+1"), "'\u{ff1d}1+1");
        assert_eq!(text("\u{1b}[2J220 ok"), "\\x1b[2J220 ok");
    }
}
