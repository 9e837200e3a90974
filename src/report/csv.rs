//! CSV: one row per endpoint, the columns of report-columns.md.
//!
//! The header is the public contract with spreadsheet users: it is the same
//! on every run whatever features are on (cells of features that did not
//! run are empty), columns are only ever added at the end, never renamed.

use super::{EndpointReport, Sink};
use crate::ftp::Reply;
use crate::model::tls::TlsVersion;
use std::io::{self, Write};

/// Longest banner kept in a CSV cell (the JSON report has the full text).
pub const BANNER_CELL_MAX: usize = 512;

/// One CSV column: its header name and how its cell is made.
pub struct Column {
    pub name: &'static str,
    pub cell: fn(&EndpointReport) -> String,
}

/// The columns, in order: each name once, beside its cell, and a constant
/// per name in [`col`] for readers of reports (`diff`), so a name is never
/// spelled twice.
macro_rules! columns {
    ($($konst:ident $name:literal => $cell:expr,)*) => {
        /// The column names, as constants.
        pub mod col {
            $(pub const $konst: &str = $name;)*
        }
        /// Every column, in header order.
        pub const TABLE: &[Column] = &[$(Column { name: $name, cell: $cell },)*];
        /// The CSV header, in order.
        pub const COLUMNS: &[&str] = &[$($name,)*];
    };
}

columns! {
    // identity and outcome
    INPUT_INDEX "input_index" => |r| r.input_index.to_string(),
    TARGET "target" => |r| text(&r.target),
    HOST "host" => |r| text(r.host.as_deref().unwrap_or_default()),
    IP "ip" => |r| r.ip.map(|ip| ip.to_string()).unwrap_or_default(),
    PORT "port" => |r| r.port.to_string(),
    MODE "mode" => |r| r.mode.to_string(),
    STATUS "status" => |r| r.status.to_string(),
    FAILED_PHASE "failed_phase" => |r| r.failed_phase.map(|p| p.to_string()).unwrap_or_default(),
    ERROR "error" => |r| text(r.error.as_deref().unwrap_or_default()),
    SCANNED_AT "scanned_at" => |r| r.scanned_at.clone(),
    DURATION_MS "duration_ms" => |r| r.duration_ms.to_string(),
    // FTP control channel
    BANNER "banner" => |r| text(&truncate(
        &r.ftp.banner.as_ref().map(Reply::text).unwrap_or_default(),
        BANNER_CELL_MAX,
    )),
    FEAT "feat" => |r| text(&r.ftp.feat.as_ref().map(|f| f.join(";")).unwrap_or_default()),
    AUTH_TLS_REPLY "auth_tls_reply" => |r| reply_cell(r.ftp.auth_tls_reply.as_ref()),
    AUTH_SSL_REPLY "auth_ssl_reply" => |r| reply_cell(r.ftp.auth_ssl_reply.as_ref()),
    // TLS
    TLS_VERSION "tls_version" => |r| r.tls.as_ref().map(|t| t.version.clone()).unwrap_or_default(),
    TLS_CIPHER "tls_cipher" => |r| r.tls.as_ref().map(|t| t.cipher.clone()).unwrap_or_default(),
    SSLV2 "sslv2" => |r| version(r, TlsVersion::Ssl2),
    SSLV3 "sslv3" => |r| version(r, TlsVersion::Ssl3),
    TLS1_0 "tls1_0" => |r| version(r, TlsVersion::Tls10),
    TLS1_1 "tls1_1" => |r| version(r, TlsVersion::Tls11),
    TLS1_2 "tls1_2" => |r| version(r, TlsVersion::Tls12),
    TLS1_3 "tls1_3" => |r| version(r, TlsVersion::Tls13),
    WEAK_CIPHERS "weak_ciphers" => |r| r
        .versions
        .as_ref()
        .map(|v| v.weak_ciphers().join(";"))
        .unwrap_or_default(),
    // certificate
    CERT_SUBJECT "cert_subject" => |r| text(cert_str(r, |c| &c.subject)),
    CERT_ISSUER "cert_issuer" => |r| text(cert_str(r, |c| &c.issuer)),
    CERT_SANS "cert_sans" => |r| text(&cert(r).map(|c| c.sans.join(";")).unwrap_or_default()),
    CERT_NOT_BEFORE "cert_not_before" => |r| cert(r).and_then(|c| c.not_before.clone()).unwrap_or_default(),
    CERT_NOT_AFTER "cert_not_after" => |r| cert(r).and_then(|c| c.not_after.clone()).unwrap_or_default(),
    CERT_DAYS_LEFT "cert_days_left" => |r| cert(r)
        .and_then(|c| c.days_left)
        .map(|d| d.to_string())
        .unwrap_or_default(),
    CERT_EXPIRED "cert_expired" => |r| yes_no(cert(r).and_then(|c| c.parse_error.is_none().then_some(c.expired))),
    CERT_SELF_SIGNED "cert_self_signed" => |r| yes_no(cert(r).and_then(|c| c.parse_error.is_none().then_some(c.self_signed))),
    CERT_TRUSTED "cert_trusted" => |r| yes_no(cert(r).map(|c| c.trusted)),
    CERT_TRUST_ERROR "cert_trust_error" => |r| text(cert(r).and_then(|c| c.trust_error.as_ref()).map(|t| t.as_str()).unwrap_or_default()),
    CERT_NAME_MATCH "cert_name_match" => |r| yes_no(cert(r).and_then(|c| c.name_match)),
    CERT_KEY "cert_key" => |r| cert_str(r, |c| &c.key).to_string(),
    CERT_SIGNATURE "cert_signature" => |r| cert_str(r, |c| &c.signature).to_string(),
    CERT_SHA256 "cert_sha256" => |r| cert_str(r, |c| &c.sha256).to_string(),
    // FTP posture
    CLEARTEXT_LOGIN "cleartext_login" => |r| p_fact(r, |p| p.cleartext_login.map(|x| x.as_str())),
    CLEARTEXT_LOGIN_REPLY "cleartext_login_reply" => |r| reply_cell(posture(r).and_then(|p| p.cleartext_login_reply.as_ref())),
    LOGIN "login" => |r| p_fact(r, |p| p.login.map(|x| x.as_str())),
    PROT_P "prot_p" => |r| p_fact(r, |p| p.prot_p.map(|x| x.as_str())),
    PROT_C "prot_c" => |r| p_fact(r, |p| p.prot_c.map(|x| x.as_str())),
    PASV_ADDRESS "pasv_address" => |r| p_str(r, |p| &p.pasv_address),
    PASV_PORT "pasv_port" => |r| posture(r)
        .and_then(|p| p.pasv_port)
        .map(|p| p.to_string())
        .unwrap_or_default(),
    PASV_ADDRESS_MISMATCH "pasv_address_mismatch" => |r| p_bool(r, |p| p.pasv_address_mismatch),
    PASV_PRIVATE_ADDRESS "pasv_private_address" => |r| p_bool(r, |p| p.pasv_private_address),
    PASSIVE_PORT "passive_port" => |r| p_fact(r, |p| p.passive_port.map(|x| x.as_str())),
    EPSV_PORT "epsv_port" => |r| posture(r)
        .and_then(|p| p.epsv_port)
        .map(|p| p.to_string())
        .unwrap_or_default(),
    DATA_TLS "data_tls" => |r| p_fact(r, |p| p.data_tls.map(|x| x.as_str())),
    DATA_TLS_REPLY "data_tls_reply" => |r| text(&p_str(r, |p| &p.data_tls_reply)),
    DATA_TLS_RESUMED "data_tls_resumed" => |r| p_bool(r, |p| p.data_tls_resumed),
    // verdict
    VERDICT "verdict" => |r| r.verdict.map(|v| v.to_string()).unwrap_or_default(),
    FINDINGS "findings" => |r| r
        .findings
        .iter()
        .map(|f| f.id.as_str())
        .collect::<Vec<_>>()
        .join(";"),
    // added later (at the end, so existing column positions never move)
    CLIENT_CERT "client_cert" => |r| r.client_cert.map(|c| c.as_str().to_string()).unwrap_or_default(),
    PROT_C_REPLY "prot_c_reply" => |r| reply_cell(posture(r).and_then(|p| p.prot_c_reply.as_ref())),
    PROT_C_TRANSFER_REPLY "prot_c_transfer_reply" => |r| reply_cell(posture(r).and_then(|p| p.prot_c_transfer_reply.as_ref())),
    DATA_TLS_REUSE_REQUIRED "data_tls_reuse_required" => |r| p_bool(r, |p| p.data_tls_reuse_required),
    AUTH_TLS_RACE "auth_tls_race" => auth_tls_race_cell,
    TRANSFER_PATH "transfer_path" => |r| r.transfer_path.map(|t| t.as_str().to_string()).unwrap_or_default(),
    TRANSFER_PATH_REASON "transfer_path_reason" => |r| text(r.transfer_path_reason.as_deref().unwrap_or_default()),
    AUTH_TLS_IN_FEAT "auth_tls_in_feat" => |r| yes_no(r.ftp.auth_tls_in_feat),
    CLEARTEXT_AFTER_AUTH "cleartext_after_auth" => |r| p_fact(r, |p| p.cleartext_after_auth.map(|x| x.as_str())),
    CLEARTEXT_AFTER_AUTH_REPLY "cleartext_after_auth_reply" => |r| match posture(r).and_then(|p| p.cleartext_after_auth_reply.as_ref()) {
        Some(reply) => reply_cell(Some(reply)),
        None => text(&p_str(r, |p| &p.cleartext_after_auth_reason)),
    },
    FTP_BOUNCE "ftp_bounce" => |r| p_fact(r, |p| p.ftp_bounce.map(|x| x.as_str())),
    FTP_BOUNCE_REPLY "ftp_bounce_reply" => ftp_bounce_reply_cell,
    CCC "ccc" => |r| p_fact(r, |p| p.ccc.map(|x| x.as_str())),
    CCC_REPLY "ccc_reply" => |r| reply_cell(posture(r).and_then(|p| p.ccc_reply.as_ref())),
    MODE_DETECTION "mode_detection" => |r| r.mode_detection.map(|m| m.as_str().to_string()).unwrap_or_default(),
}

/// The cells of one report, in [`COLUMNS`] order.
pub fn row(r: &EndpointReport) -> Vec<String> {
    TABLE.iter().map(|c| (c.cell)(r)).collect()
}

/// The cell of the column `name` (`None`: no such column).
pub fn cell(name: &str, r: &EndpointReport) -> Option<String> {
    TABLE.iter().find(|c| c.name == name).map(|c| (c.cell)(r))
}

type Posture = crate::probe::posture::Posture;

fn posture(r: &EndpointReport) -> Option<&Posture> {
    r.posture.as_ref()
}

fn cert(r: &EndpointReport) -> Option<&crate::tls::cert::CertificateReport> {
    r.certificate.as_ref()
}

fn cert_str(r: &EndpointReport, f: fn(&crate::tls::cert::CertificateReport) -> &String) -> &str {
    cert(r).map(|c| f(c).as_str()).unwrap_or_default()
}

fn version(r: &EndpointReport, version: TlsVersion) -> String {
    r.versions
        .as_ref()
        .and_then(|v| v.verdict_of(version))
        .map(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

fn p_str(r: &EndpointReport, f: fn(&Posture) -> &Option<String>) -> String {
    posture(r).and_then(|p| f(p).clone()).unwrap_or_default()
}

fn p_fact(r: &EndpointReport, f: fn(&Posture) -> Option<&'static str>) -> String {
    posture(r).and_then(f).unwrap_or_default().to_string()
}

fn p_bool(r: &EndpointReport, f: fn(&Posture) -> Option<bool>) -> String {
    yes_no(posture(r).and_then(f))
}

/// `yes` when the server read our ClientHello as a command, in the main
/// session or a version probe; `no` when TLS was agreed and it did not.
fn auth_tls_race_cell(r: &EndpointReport) -> String {
    match (&r.ftp.auth_tls_race, &r.versions) {
        (Some(_), _) => "yes".into(),
        (None, Some(v)) if !v.auth_tls_race.is_empty() => "yes".into(),
        (None, _) if r.ftp.auth_tls_reply.as_ref().is_some_and(|a| a.code == 234) => "no".into(),
        _ => String::new(),
    }
}

/// The reply that decided the bounce check: an acceptance if any, else the
/// last refusal (the `EPRT`'s, or the `PORT`'s when no `EPRT` was sent).
fn ftp_bounce_reply_cell(r: &EndpointReport) -> String {
    reply_cell(posture(r).and_then(|p| {
        let replies = [&p.ftp_bounce_port_reply, &p.ftp_bounce_eprt_reply];
        replies
            .iter()
            .filter_map(|x| x.as_ref())
            .find(|x| x.class() == 2)
            .or(p.ftp_bounce_eprt_reply.as_ref())
            .or(p.ftp_bounce_port_reply.as_ref())
    }))
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

/// A CSV file written a few records at a time: the header first (once),
/// each batch of records encoded in memory and written in one call, so an
/// interruption cannot leave half a row in the file, then flushed. The
/// report CSV and the findings CSV both write through it.
pub struct CsvWriter<W: Write> {
    out: W,
    header: &'static [&'static str],
    header_written: bool,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(out: W, header: &'static [&'static str]) -> Self {
        Self {
            out,
            header,
            header_written: false,
        }
    }

    /// A writer that appends to a file already holding the header and
    /// rows of an earlier run (`--append`): no second header.
    pub fn continuing(out: W, header: &'static [&'static str]) -> Self {
        Self {
            header_written: true,
            ..Self::new(out, header)
        }
    }

    /// Writes `rows`, after the header if it is not written yet.
    pub fn write_rows(&mut self, rows: &[Vec<String>]) -> io::Result<()> {
        let mut writer = ::csv::WriterBuilder::new().from_writer(Vec::with_capacity(1024));
        if !self.header_written {
            writer.write_record(self.header).map_err(io::Error::other)?;
        }
        for row in rows {
            writer.write_record(row).map_err(io::Error::other)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.out.write_all(&bytes)?;
        self.header_written = true;
        self.out.flush()
    }

    pub fn header_written(&self) -> bool {
        self.header_written
    }

    /// A file with no row still gets its header.
    pub fn finish(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.write_rows(&[])?;
        }
        self.out.flush()
    }
}

/// One flushed row per report.
pub struct CsvSink<W: Write>(CsvWriter<W>);

impl<W: Write> CsvSink<W> {
    pub fn new(out: W) -> Self {
        Self(CsvWriter::new(out, COLUMNS))
    }

    /// Appends to the CSV of an earlier run (`--append`).
    pub fn continuing(out: W) -> Self {
        Self(CsvWriter::continuing(out, COLUMNS))
    }
}

impl<W: Write + Send> Sink for CsvSink<W> {
    fn write(&mut self, report: &EndpointReport) -> io::Result<()> {
        self.0.write_rows(&[row(report)])
    }

    fn finish(&mut self) -> io::Result<()> {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
