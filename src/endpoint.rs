//! One address + port to scan: what the scheduler hands a probe, and the
//! identity columns every report starts from.

use crate::model::{EndpointReport, Mode};
use std::net::IpAddr;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One address + port to scan, with what the user wrote.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub input_index: u64,
    pub target: Arc<str>,
    pub host: Option<Arc<str>>,
    pub ip: Option<IpAddr>,
    pub port: u16,
    /// The mode to start with: the one the scheme, `--mode` or the port
    /// gave, or explicit when it is to be detected.
    pub mode: Mode,
    /// Whether the mode is to be detected on the first connection
    /// (ports other than 21 and 990, or `--mode auto`).
    pub detect_mode: bool,
    /// Set when the hostname did not resolve: the endpoint becomes a
    /// `dns-error` row instead of disappearing.
    pub dns_error: Option<String>,
}

impl Endpoint {
    /// A report with the identity columns filled in.
    pub fn blank_report(&self, started: OffsetDateTime) -> EndpointReport {
        EndpointReport {
            input_index: self.input_index,
            target: self.target.to_string(),
            host: self.host.as_ref().map(|h| h.to_string()),
            ip: self.ip,
            port: self.port,
            mode: self.mode,
            scanned_at: format_utc(started),
            ..Default::default()
        }
    }
}

/// `2026-11-20T22:10:39Z`: UTC, whole seconds.
pub fn format_utc(t: OffsetDateTime) -> String {
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_default()
}
