//! The one report struct per endpoint, and its parts.
//!
//! Every probe fills an [`EndpointReport`]; every sink (table, CSV, JSON
//! Lines) reads it. Fields that were not established stay `None` so that a
//! report never guesses: the CSV shows an empty cell, the JSON a null.

use crate::ftp::Reply;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// Explicit FTPS (AUTH TLS on a plain control channel) or implicit (TLS from
/// the first byte).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    #[default]
    Explicit,
    Implicit,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Explicit => "explicit",
            Mode::Implicit => "implicit",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the mode of an endpoint is chosen when its target's scheme
/// (`ftp://`, `ftps://`) does not force one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModeRule {
    /// The registered ports decide (21 explicit, 990 implicit); any other
    /// port is detected: an implicit server on 2121 says nothing until it
    /// gets a ClientHello, so guessing explicit there reads as a timeout.
    #[default]
    ByPort,
    /// Detected on every port (`--mode auto`).
    Detect,
    /// The same mode everywhere (`--mode explicit|implicit`).
    Forced(Mode),
}

impl ModeRule {
    /// The mode to start with on `port`, and whether it is to be detected
    /// (then the start is explicit, which a greeting confirms).
    pub fn for_port(self, port: u16) -> (Mode, bool) {
        match self {
            ModeRule::Forced(mode) => (mode, false),
            ModeRule::Detect => (Mode::Explicit, true),
            ModeRule::ByPort => match port {
                21 => (Mode::Explicit, false),
                990 => (Mode::Implicit, false),
                _ => (Mode::Explicit, true),
            },
        }
    }
}

impl fmt::Display for ModeRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModeRule::ByPort => f.write_str("by port (21 explicit, 990 implicit, others detected)"),
            ModeRule::Detect => f.write_str("auto"),
            ModeRule::Forced(mode) => mode.fmt(f),
        }
    }
}

/// How a detected mode was told (`mode_detection`; empty when the port,
/// the scheme or `--mode` decided it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModeDetection {
    /// The server greeted in clear: explicit.
    Greeting,
    /// Silent until it got a ClientHello, then answered in TLS: implicit.
    Tls,
    /// Silent for the detection wait, then it greeted in clear in answer
    /// to the ClientHello (a slow greeter): explicit, on a new connection.
    LateGreeting,
    /// Not told: nothing answered, or neither FTP nor TLS did.
    Undetermined,
}

impl ModeDetection {
    pub fn as_str(self) -> &'static str {
        match self {
            ModeDetection::Greeting => "greeting",
            ModeDetection::Tls => "tls",
            ModeDetection::LateGreeting => "late-greeting",
            ModeDetection::Undetermined => "undetermined",
        }
    }
}

impl fmt::Display for ModeDetection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one typed outcome of an endpoint (report-columns.md, `status`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// An FTPS session was established.
    Ok,
    /// FTP answered but TLS was refused (AUTH TLS and AUTH SSL not accepted,
    /// or a plain FTP greeting on the implicit port).
    NoTls,
    /// TLS was agreed but the handshake failed.
    TlsFailed,
    /// TLS works, but the server demands a client certificate, which the
    /// scanner does not have (mTLS): nothing behind the handshake can be
    /// assessed.
    ClientCertRequired,
    /// Something answered, but not FTP.
    NotFtp,
    Timeout,
    Refused,
    Unreachable,
    DnsError,
    /// The run was interrupted (SIGINT/SIGTERM) while this endpoint was in
    /// flight and it did not finish within the grace period: its row says
    /// so instead of the endpoint vanishing from the report.
    Interrupted,
    #[default]
    Error,
}

impl Status {
    pub const ALL: [Status; 11] = [
        Status::Ok,
        Status::NoTls,
        Status::TlsFailed,
        Status::ClientCertRequired,
        Status::NotFtp,
        Status::Timeout,
        Status::Refused,
        Status::Unreachable,
        Status::DnsError,
        Status::Interrupted,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NoTls => "no-tls",
            Status::TlsFailed => "tls-failed",
            Status::ClientCertRequired => "client-cert-required",
            Status::NotFtp => "not-ftp",
            Status::Timeout => "timeout",
            Status::Refused => "refused",
            Status::Unreachable => "unreachable",
            Status::DnsError => "dns-error",
            Status::Interrupted => "interrupted",
            Status::Error => "error",
        }
    }

    /// Whether the endpoint could be scanned at all (something FTP-like or
    /// TLS-like answered). Dead endpoints are a fact of sweeps, not failures
    /// of the scanner.
    pub fn answered(self) -> bool {
        matches!(
            self,
            Status::Ok
                | Status::NoTls
                | Status::TlsFailed
                | Status::ClientCertRequired
                | Status::NotFtp
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in the per-endpoint plan something happened; errors carry it so
/// that a report says which step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Resolve,
    Connect,
    Greeting,
    Feat,
    Auth,
    TlsHandshake,
    GreetingAfterTls,
    CleartextLogin,
    Login,
    Protection,
    Passive,
    DataChannel,
    VersionProbe,
    Quit,
    Internal,
    CleartextAfterAuth,
    Bounce,
    Ccc,
    ModeDetection,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Resolve => "resolve",
            Phase::Connect => "connect",
            Phase::Greeting => "greeting",
            Phase::Feat => "feat",
            Phase::Auth => "auth",
            Phase::TlsHandshake => "tls-handshake",
            Phase::GreetingAfterTls => "greeting-after-tls",
            Phase::CleartextLogin => "cleartext-login",
            Phase::Login => "login",
            Phase::Protection => "protection",
            Phase::Passive => "passive",
            Phase::DataChannel => "data-channel",
            Phase::VersionProbe => "version-probe",
            Phase::Quit => "quit",
            Phase::Internal => "internal",
            Phase::CleartextAfterAuth => "cleartext-after-auth",
            Phase::Bounce => "bounce",
            Phase::Ccc => "ccc",
            Phase::ModeDetection => "mode-detection",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything established about one endpoint (address + port).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointReport {
    /// 0-based position of the target in the input, to restore order after
    /// a concurrent run.
    pub input_index: u64,
    /// The target as the user wrote it.
    pub target: String,
    /// The hostname when one was given.
    pub host: Option<String>,
    /// The address scanned (absent when the name did not resolve).
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub mode: Mode,
    /// How the mode was detected, when the port did not imply one.
    pub mode_detection: Option<ModeDetection>,
    pub status: Status,
    pub failed_phase: Option<Phase>,
    pub error: Option<String>,
    /// UTC ISO 8601, when the endpoint's scan started.
    pub scanned_at: String,
    pub duration_ms: u64,
    pub ftp: FtpFacts,
    pub tls: Option<TlsSession>,
    /// Whether the server asks for a client certificate, and whether it
    /// works without one (`None`: no TLS handshake got that far).
    #[serde(default)]
    pub client_cert: Option<ClientCert>,
    pub certificate: Option<crate::tls::cert::CertificateReport>,
    pub versions: Option<crate::tls::versions::VersionReport>,
    pub posture: Option<crate::probe::posture::Posture>,
    /// The one answer: can a client move a file here with nothing in
    /// clear? Derived from the facts above ([`crate::probe::transfer`]).
    #[serde(default)]
    pub transfer_path: Option<crate::probe::posture::TransferPath>,
    #[serde(default)]
    pub transfer_path_reason: Option<String>,
    pub verdict: Option<crate::policy::Verdict>,
    #[serde(default)]
    pub findings: Vec<crate::policy::Finding>,
}

/// What the control channel said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FtpFacts {
    /// The whole greeting (for implicit FTPS, the one read inside TLS).
    pub banner: Option<Reply>,
    /// Features listed by FEAT, trimmed, in the server's order.
    pub feat: Option<Vec<String>>,
    /// The reply to FEAT itself, kept for servers that refuse it.
    pub feat_reply: Option<Reply>,
    pub auth_tls_reply: Option<Reply>,
    /// Only tried when AUTH TLS was refused.
    pub auth_ssl_reply: Option<Reply>,
    /// The FTP reply that came back in clear in place of a TLS answer to
    /// the ClientHello sent right after the 234 (the AUTH TLS race: the
    /// server read the hello as a command). The session was then retried
    /// with a pause after the 234; real clients fail there intermittently.
    #[serde(default)]
    pub auth_tls_race: Option<Reply>,
    /// Whether FEAT advertises `AUTH TLS` (explicit only; `None` without a
    /// FEAT reply). vsftpd 3.0.3 leaves it out with `ssl_tlsv1=NO` yet
    /// accepts `AUTH TLS`: tools that trust FEAT report "no FTPS" there.
    #[serde(default)]
    pub auth_tls_in_feat: Option<bool>,
    pub quit_reply: Option<Reply>,
}

/// The scanner's main TLS session with the endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TlsSession {
    /// `TLSv1.2`, `TLSv1.3`.
    pub version: String,
    /// IANA name of the negotiated suite.
    pub cipher: String,
    /// The server name sent in SNI, when the target was a hostname.
    pub sni: Option<String>,
    /// Whether the AUTH command that succeeded was `AUTH SSL` (legacy).
    #[serde(default)]
    pub via_auth_ssl: bool,
    /// Whether the server's handshake signature was verified against its
    /// certificate's key. `false` when the crypto provider could not verify
    /// it (an RSA key under 2048 bits, say): the audit went on, but the
    /// session proves nothing about who holds the key, so no user password
    /// is sent on it.
    #[serde(default = "yes")]
    pub handshake_signature_verified: bool,
    /// Why the handshake signature was not verified.
    #[serde(default)]
    pub handshake_signature_error: Option<String>,
}

fn yes() -> bool {
    true
}

/// `client_cert`: whether the server wants a TLS client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientCert {
    /// No CertificateRequest.
    None,
    /// CertificateRequest sent, and the session works without a certificate
    /// (vsftpd's default `ssl_request_cert=YES`).
    Requested,
    /// Without a certificate the handshake fails (TLS 1.2) or the first read
    /// after it does (TLS 1.3, alert 116 certificate_required).
    Required,
}

impl ClientCert {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientCert::None => "none",
            ClientCert::Requested => "requested",
            ClientCert::Required => "required",
        }
    }
}
