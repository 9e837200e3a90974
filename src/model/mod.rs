//! The vocabulary every layer shares, and the facts: the one report
//! struct per endpoint and its parts, as plain data.
//!
//! This is the bottom layer: it imports nothing of the crate but the FTP
//! reply type (itself a leaf), so any module may use it and it uses none
//! of them. The probes fill an [`EndpointReport`], the policy judges it,
//! every sink (table, CSV, JSON Lines) reads it. Fields that were not
//! established stay `None` so that a report never guesses: the CSV shows
//! an empty cell, the JSON a null.

#[macro_use]
mod label;
pub mod judgement;
pub mod posture;
pub mod tls;

use crate::ftp::reply::Reply;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

label_enum!(
    /// Explicit FTPS (AUTH TLS on a plain control channel) or implicit (TLS
    /// from the first byte).
    #[derive(Hash, PartialOrd, Ord, Default)]
    Mode {
        #[default]
        Explicit => "explicit",
        Implicit => "implicit",
    }
);

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

label_enum!(
    /// How a detected mode was told (`mode_detection`; empty when the port,
    /// the scheme or `--mode` decided it).
    #[derive(Hash)]
    ModeDetection {
        /// The server greeted in clear: explicit.
        Greeting => "greeting",
        /// Silent until it got a ClientHello, then answered in TLS: implicit.
        Tls => "tls",
        /// Silent for the detection wait, then it greeted in clear in answer
        /// to the ClientHello (a slow greeter): explicit, on a new connection.
        LateGreeting => "late-greeting",
        /// Not told: nothing answered, or neither FTP nor TLS did.
        Undetermined => "undetermined",
    }
);

label_enum!(
    /// The one typed outcome of an endpoint (report-columns.md, `status`).
    #[derive(Hash, Default, PartialOrd, Ord)]
    Status {
        /// An FTPS session was established.
        Ok => "ok",
        /// FTP answered but TLS was refused (AUTH TLS and AUTH SSL not
        /// accepted, or a plain FTP greeting on the implicit port).
        NoTls => "no-tls",
        /// TLS was agreed but the handshake failed.
        TlsFailed => "tls-failed",
        /// TLS works, but the server demands a client certificate, which the
        /// scanner does not have (mTLS): nothing behind the handshake can be
        /// assessed.
        ClientCertRequired => "client-cert-required",
        /// Something answered, but not FTP.
        NotFtp => "not-ftp",
        Timeout => "timeout",
        Refused => "refused",
        Unreachable => "unreachable",
        DnsError => "dns-error",
        /// The run was interrupted (SIGINT/SIGTERM) while this endpoint was
        /// in flight and it did not finish within the grace period: its row
        /// says so instead of the endpoint vanishing from the report.
        Interrupted => "interrupted",
        #[default]
        Error => "error",
    }
);

impl Status {
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

label_enum!(
    /// Where in the per-endpoint plan something happened; errors carry it so
    /// that a report says which step failed.
    #[derive(Hash)]
    Phase {
        Resolve => "resolve",
        Connect => "connect",
        Greeting => "greeting",
        Feat => "feat",
        Auth => "auth",
        TlsHandshake => "tls-handshake",
        GreetingAfterTls => "greeting-after-tls",
        CleartextLogin => "cleartext-login",
        Login => "login",
        Protection => "protection",
        Passive => "passive",
        DataChannel => "data-channel",
        VersionProbe => "version-probe",
        Quit => "quit",
        Internal => "internal",
        CleartextAfterAuth => "cleartext-after-auth",
        Bounce => "bounce",
        Ccc => "ccc",
        ModeDetection => "mode-detection",
    }
);

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
    pub certificate: Option<tls::CertificateReport>,
    pub versions: Option<tls::VersionReport>,
    pub posture: Option<posture::Posture>,
    /// The one answer: can a client move a file here with nothing in
    /// clear? Derived from the facts above (`probe::transfer`).
    #[serde(default)]
    pub transfer_path: Option<posture::TransferPath>,
    #[serde(default)]
    pub transfer_path_reason: Option<String>,
    pub verdict: Option<judgement::Verdict>,
    #[serde(default)]
    pub findings: Vec<judgement::Finding>,
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

label_enum!(
    /// `client_cert`: whether the server wants a TLS client certificate.
    ClientCert {
        /// No CertificateRequest.
        None => "none",
        /// CertificateRequest sent, and the session works without a
        /// certificate (vsftpd's default `ssl_request_cert=YES`).
        Requested => "requested",
        /// Without a certificate the handshake fails (TLS 1.2) or the first
        /// read after it does (TLS 1.3, alert 116 certificate_required).
        Required => "required",
    }
);
