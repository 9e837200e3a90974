//! ftps-scan: an active FTPS endpoint scanner.
//!
//! The library does the scanning and never prints; the `ftps-scan` binary
//! parses flags, draws progress and writes reports. Data flow:
//! targets → [`scan::run_scan`] → [`probe`] per endpoint →
//! [`report::EndpointReport`] → [`policy`] → sinks in [`report`].

#![forbid(unsafe_code)]
// Network data must never panic the scanner: no unwrap, expect, panic or
// unchecked indexing in library code (tests may).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod compare;
pub mod demo;
pub mod dispatch;
pub mod endpoint;
pub mod ftp;
pub mod hostname;
pub mod model;
pub mod policy;
pub mod probe;
pub mod report;
pub mod scan;
pub mod targets;
pub mod testbed;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

pub use report::{ClientCert, EndpointReport, Mode, ModeDetection, ModeRule, Phase, Status};

/// Deadlines per phase. Each network wait has one.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Duration,
    /// One FTP reply (the whole reply, however it is dripped).
    pub read: Duration,
    /// One TLS handshake.
    pub tls: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(10),
            tls: Duration::from_secs(10),
        }
    }
}

impl Timeouts {
    /// An overall cap on one endpoint, generous enough for every step of the
    /// plan, as a last guard against a step without its own deadline.
    pub fn endpoint_cap(&self) -> Duration {
        (self.connect + self.read + self.tls) * 12
    }
}

/// Everything a scan needs; built by the binary from flags, or by tests.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Ports for targets that name none.
    pub ports: Vec<u16>,
    /// How each endpoint's mode is chosen when its scheme does not say.
    pub mode: ModeRule,
    /// Endpoints in flight at once.
    pub concurrency: usize,
    /// Connections in flight to one IP address.
    pub per_host_limit: usize,
    /// Hostname lookups in flight at once.
    pub dns_concurrency: usize,
    /// New connections per second across the run.
    pub rate: Option<u32>,
    pub timeouts: Timeouts,
    pub trust: Arc<tls::trust::TrustStore>,
    /// Probe every protocol version with raw hellos (SSLv2 to TLS 1.3).
    pub versions: bool,
    /// Enumerate the cipher suites of each accepted version (many
    /// connections per endpoint; off by default).
    pub ciphers: bool,
    /// FTP-level posture checks (cleartext login, login over TLS,
    /// protection levels, passive mode, data channel).
    pub posture: probe::posture::PostureConfig,
    /// Scan only this shard of the endpoints (`--shard K/N`).
    pub shard: Option<scan::Shard>,
    /// How hostnames become addresses (the system resolver unless a test
    /// or an embedding program supplies another).
    pub resolver: scan::Resolver,
}

impl ScanConfig {
    /// Defaults with the given trust store.
    pub fn new(trust: tls::trust::TrustStore) -> Self {
        Self {
            ports: vec![21, 990],
            mode: ModeRule::ByPort,
            concurrency: 64,
            per_host_limit: 2,
            dns_concurrency: 32,
            rate: None,
            timeouts: Timeouts::default(),
            trust: Arc::new(trust),
            versions: true,
            ciphers: false,
            posture: probe::posture::PostureConfig::default(),
            shard: None,
            resolver: scan::Resolver::system(),
        }
    }

    /// The settings that change what a scan finds, as flag-like names and
    /// values: the run record's `settings`, which `diff` compares so that a
    /// change of scan is not taken for a change of server. Concurrency and
    /// rate are left out: they change how fast, not what.
    pub fn fact_settings(&self) -> std::collections::BTreeMap<String, String> {
        let on = |b: bool| if b { "on" } else { "off" }.to_string();
        let secs = |d: Duration| format!("{}s", d.as_secs_f64());
        let posture = &self.posture;
        let login = if posture.login.is_anonymous() {
            "anonymous".to_string()
        } else {
            format!("user {}", posture.login.user)
        };
        [
            (
                "ports",
                self.ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("mode", self.mode.to_string()),
            ("per_host", self.per_host_limit.to_string()),
            ("connect_timeout", secs(self.timeouts.connect)),
            ("read_timeout", secs(self.timeouts.read)),
            ("tls_timeout", secs(self.timeouts.tls)),
            (
                "trust",
                format!(
                    "{} ({} roots)",
                    self.trust.description,
                    self.trust.anchors().len()
                ),
            ),
            ("versions", on(self.versions)),
            ("ciphers", on(self.ciphers)),
            ("posture", on(posture.enabled)),
            ("data", on(posture.enabled && posture.data)),
            ("login", login),
            ("follow_pasv", on(posture.follow_pasv_address)),
            (
                "send_password_unverified",
                on(posture.send_password_unverified),
            ),
            (
                "shard",
                self.shard
                    .map_or("all".into(), |s| format!("{}/{}", s.index, s.count)),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}
