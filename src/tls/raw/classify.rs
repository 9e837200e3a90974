//! Turning what one probe saw into a verdict about one protocol version.
//!
//! | seen                                        | verdict |
//! |---------------------------------------------|---------|
//! | ServerHello with the probed version (or HRR for 1.3) | accepted |
//! | alert                                       | rejected |
//! | connection closed or reset, no ServerHello  | rejected |
//! | ServerHello with a lower version            | rejected (lower version kept as evidence) |
//! | ServerHello with a higher version           | rejected + anomaly |
//! | chosen suite not offered                    | anomaly (verdict unchanged) |
//! | timeout / malformed / FTP text / local error | unknown |
//! | SSLv2 SERVER-HELLO                          | accepted (zero ciphers is a finding) |

use crate::tls::raw::ciphers::{suite_name, FALLBACK_SCSV, RENEGOTIATION_SCSV, SSLV2_CIPHER_SPECS};
use crate::tls::raw::server_flight::{
    AlertInfo, Answer, DowngradeSentinel, Flight, ServerHelloInfo, Sslv2ServerHelloInfo,
};
use crate::tls::raw::version::{version_name, TlsVersionProbe};
use serde::Serialize;

/// How one probe exchange ended. Variants other than `Flight` may still carry
/// a `partial` flight: e.g. a ServerHello followed by EOF still proves the
/// version was accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// The flight reached its natural end.
    Flight { flight: Flight },
    /// EOF before the flight completed (`bytes_received == 0`: before any byte).
    Closed {
        partial: Option<Flight>,
        bytes_received: usize,
    },
    /// Connection reset/aborted by the peer.
    Reset {
        partial: Option<Flight>,
        bytes_received: usize,
    },
    /// The total deadline passed.
    Timeout {
        partial: Option<Flight>,
        bytes_received: usize,
    },
    /// The flight exceeded the byte cap.
    TooLarge {
        partial: Option<Flight>,
        limit: usize,
    },
    /// The answer could not be parsed.
    Malformed {
        partial: Option<Flight>,
        reason: String,
        bytes_received: usize,
    },
    /// Other local or stream I/O error.
    Io {
        partial: Option<Flight>,
        error: String,
    },
    /// The caller's connect/FTP-preamble step failed; no hello was sent.
    ConnectFailed { error: String },
    /// The hello could not be built (bad explicit cipher list).
    BuildFailed { error: String },
}

impl ProbeOutcome {
    /// The complete or partial flight, if anything was understood.
    pub fn flight(&self) -> Option<&Flight> {
        match self {
            ProbeOutcome::Flight { flight } => Some(flight),
            ProbeOutcome::Closed { partial, .. }
            | ProbeOutcome::Reset { partial, .. }
            | ProbeOutcome::Timeout { partial, .. }
            | ProbeOutcome::TooLarge { partial, .. }
            | ProbeOutcome::Malformed { partial, .. }
            | ProbeOutcome::Io { partial, .. } => partial.as_ref(),
            ProbeOutcome::ConnectFailed { .. } | ProbeOutcome::BuildFailed { .. } => None,
        }
    }

    /// Short machine-friendly name of the variant.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeOutcome::Flight { .. } => "flight",
            ProbeOutcome::Closed { .. } => "closed",
            ProbeOutcome::Reset { .. } => "reset",
            ProbeOutcome::Timeout { .. } => "timeout",
            ProbeOutcome::TooLarge { .. } => "too_large",
            ProbeOutcome::Malformed { .. } => "malformed",
            ProbeOutcome::Io { .. } => "io",
            ProbeOutcome::ConnectFailed { .. } => "connect_failed",
            ProbeOutcome::BuildFailed { .. } => "build_failed",
        }
    }

    fn bytes_received(&self) -> usize {
        match self {
            ProbeOutcome::Closed { bytes_received, .. }
            | ProbeOutcome::Reset { bytes_received, .. }
            | ProbeOutcome::Timeout { bytes_received, .. }
            | ProbeOutcome::Malformed { bytes_received, .. } => *bytes_received,
            other => other.flight().map_or(0, |f| f.bytes_received),
        }
    }
}

/// The prober's verdict is the report's: one enum, the same words.
pub use crate::model::tls::VersionVerdict as Verdict;

/// Facts behind a verdict, for the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// `ProbeOutcome::kind` of the exchange.
    pub outcome: String,
    /// The alert that refused us, or one seen after the ServerHello.
    pub alert: Option<AlertInfo>,
    /// Negotiated version from the ServerHello.
    pub version_answered: Option<u16>,
    pub version_answered_name: Option<String>,
    pub legacy_version: Option<u16>,
    pub hello_retry_request: bool,
    pub downgrade_sentinel: Option<DowngradeSentinel>,
    pub chosen_cipher: Option<u16>,
    pub chosen_cipher_name: Option<String>,
    /// SSLv2 cipher kinds from a SERVER-HELLO.
    pub sslv2_cipher_specs: Vec<u32>,
    pub ftp_reply: Option<String>,
    pub bytes_received: usize,
    /// Protocol violations and notable findings worth a line in the report.
    pub anomalies: Vec<String>,
}

/// Verdict about one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionVerdict {
    pub version: TlsVersionProbe,
    pub verdict: Verdict,
    pub reason: String,
    pub evidence: Evidence,
}

/// Classifies one probe. `offered` is the list of TLS suites the hello
/// carried (`ClientHello::ciphers`); SSLv2 probes are checked against the
/// fixed SSLv2 cipher-kind list.
pub fn classify(
    version: TlsVersionProbe,
    offered: &[u16],
    outcome: &ProbeOutcome,
) -> VersionVerdict {
    let mut ev = Evidence {
        outcome: outcome.kind().to_string(),
        bytes_received: outcome.bytes_received(),
        ..Evidence::default()
    };
    match outcome {
        ProbeOutcome::TooLarge { limit, .. } => ev
            .anomalies
            .push(format!("server flight exceeded {limit} bytes")),
        ProbeOutcome::Malformed { reason, .. } => ev
            .anomalies
            .push(format!("malformed server answer: {reason}")),
        _ => {}
    }
    let (verdict, reason) = match outcome.flight() {
        Some(flight) => {
            ev.alert = first_relevant_alert(flight);
            from_flight(version, offered, flight, outcome, &mut ev)
        }
        None => from_bare_outcome(outcome),
    };
    VersionVerdict {
        version,
        verdict,
        reason,
        evidence: ev,
    }
}

fn first_relevant_alert(flight: &Flight) -> Option<AlertInfo> {
    flight
        .alerts
        .iter()
        .find(|a| a.level == 2)
        .or_else(|| flight.alerts.first())
        .copied()
}

fn from_bare_outcome(outcome: &ProbeOutcome) -> (Verdict, String) {
    match outcome {
        ProbeOutcome::Closed {
            bytes_received: 0, ..
        } => (
            Verdict::Rejected,
            "connection closed without any answer".into(),
        ),
        ProbeOutcome::Closed { bytes_received, .. } => (
            Verdict::Rejected,
            format!("connection closed after {bytes_received} bytes without a ServerHello"),
        ),
        ProbeOutcome::Reset { .. } => (
            Verdict::Rejected,
            "connection reset without a ServerHello".into(),
        ),
        ProbeOutcome::Timeout { .. } => (Verdict::Unknown, "no answer before the deadline".into()),
        ProbeOutcome::TooLarge { limit, .. } => (
            Verdict::Unknown,
            format!("answer exceeded {limit} bytes without a ServerHello"),
        ),
        ProbeOutcome::Malformed { reason, .. } => {
            (Verdict::Unknown, format!("unparseable answer: {reason}"))
        }
        ProbeOutcome::Io { error, .. } => (Verdict::Unknown, format!("I/O error: {error}")),
        ProbeOutcome::ConnectFailed { error } => (
            Verdict::Unknown,
            format!("connect/preamble failed: {error}"),
        ),
        ProbeOutcome::BuildFailed { error } => {
            (Verdict::Unknown, format!("could not build hello: {error}"))
        }
        // Handled by the caller (it has a flight).
        ProbeOutcome::Flight { .. } => (Verdict::Unknown, "internal: flight".into()),
    }
}

fn from_flight(
    version: TlsVersionProbe,
    offered: &[u16],
    flight: &Flight,
    outcome: &ProbeOutcome,
    ev: &mut Evidence,
) -> (Verdict, String) {
    match &flight.answer {
        Answer::ServerHello(sh) => from_server_hello(version, offered, sh, ev),
        Answer::Sslv2ServerHello(s) => from_sslv2_hello(version, s, ev),
        Answer::Sslv2Error { code } => (
            Verdict::Rejected,
            format!("SSLv2 ERROR message 0x{code:04x}"),
        ),
        Answer::Alert(a) => {
            ev.alert = Some(*a);
            // A lone warning alert followed by silence proves nothing.
            if a.level == 1 && a.description != 0 && matches!(outcome, ProbeOutcome::Timeout { .. })
            {
                (
                    Verdict::Unknown,
                    format!(
                        "only a warning alert {}({}) before the deadline",
                        a.name, a.description
                    ),
                )
            } else {
                (
                    Verdict::Rejected,
                    format!("alert {}({})", a.name, a.description),
                )
            }
        }
        Answer::FtpText(text) => {
            ev.ftp_reply = Some(text.clone());
            (
                Verdict::Unknown,
                "server answered with FTP text instead of TLS".into(),
            )
        }
    }
}

fn from_server_hello(
    version: TlsVersionProbe,
    offered: &[u16],
    sh: &ServerHelloInfo,
    ev: &mut Evidence,
) -> (Verdict, String) {
    ev.version_answered = Some(sh.version);
    ev.version_answered_name = Some(version_name(sh.version));
    ev.legacy_version = Some(sh.legacy_version);
    ev.hello_retry_request = sh.hrr;
    ev.downgrade_sentinel = sh.downgrade_sentinel;
    ev.chosen_cipher = Some(sh.cipher);
    ev.chosen_cipher_name = Some(suite_name(sh.cipher));

    let cipher_name = suite_name(sh.cipher);
    if sh.cipher == RENEGOTIATION_SCSV || sh.cipher == FALLBACK_SCSV {
        ev.anomalies.push(format!(
            "server chose signalling value 0x{:04x} ({cipher_name}) as cipher suite",
            sh.cipher
        ));
    } else if !offered.contains(&sh.cipher) {
        ev.anomalies.push(format!(
            "server chose cipher suite 0x{:04x} ({cipher_name}) which was not offered",
            sh.cipher
        ));
    }
    if sh.compression != 0 {
        ev.anomalies.push(format!(
            "server selected compression method {} (not offered; CRIME-style risk)",
            sh.compression
        ));
    }
    if version != TlsVersionProbe::Tls13 {
        if let Some(v) = sh.selected_version_ext {
            ev.anomalies.push(format!(
                "supported_versions 0x{v:04x} in answer to a hello that did not offer it"
            ));
        }
        if sh.hrr {
            ev.anomalies
                .push("HelloRetryRequest in answer to a pre-TLS 1.3 hello".into());
        }
    }
    if sh.version == 0x0304 && sh.legacy_version != 0x0303 {
        ev.anomalies.push(format!(
            "TLS 1.3 ServerHello with legacy_version 0x{:04x} (must be 0x0303)",
            sh.legacy_version
        ));
    }
    if sh.hrr && sh.key_share_group == Some(0x001d) {
        ev.anomalies
            .push("HelloRetryRequest asks for x25519, the group we already sent".into());
    }

    let probed = version.wire_version();
    let answered = version_name(sh.version);
    if sh.version == probed {
        let reason = if sh.hrr {
            format!("HelloRetryRequest for {answered}")
        } else {
            format!("ServerHello with {answered}, cipher {cipher_name}")
        };
        (Verdict::Accepted, reason)
    } else if sh.version < probed {
        (
            Verdict::Rejected,
            format!("server answered with lower version {answered}"),
        )
    } else {
        ev.anomalies.push(format!(
            "server answered with {answered}, higher than the {version} offered"
        ));
        (
            Verdict::Rejected,
            format!("server answered with higher version {answered}"),
        )
    }
}

fn from_sslv2_hello(
    version: TlsVersionProbe,
    s: &Sslv2ServerHelloInfo,
    ev: &mut Evidence,
) -> (Verdict, String) {
    ev.sslv2_cipher_specs = s.cipher_specs.clone();
    ev.version_answered = Some(s.version);
    ev.version_answered_name = Some(version_name(s.version));
    if version != TlsVersionProbe::Ssl2 {
        ev.anomalies
            .push(format!("SSLv2 SERVER-HELLO in answer to a {version} hello"));
        return (Verdict::Rejected, "server answered in SSLv2".into());
    }
    if s.cipher_specs.is_empty() {
        ev.anomalies.push(
            "SSLv2 SERVER-HELLO with zero cipher kinds (CVE-2015-3197: SSLv2 ciphers \
             disabled but protocol still enabled)"
                .into(),
        );
    }
    for spec in &s.cipher_specs {
        if !SSLV2_CIPHER_SPECS.contains(spec) {
            ev.anomalies.push(format!(
                "server chose SSLv2 cipher kind 0x{spec:06x} which was not offered"
            ));
        }
    }
    if s.version != 0x0002 {
        ev.anomalies.push(format!(
            "SSLv2 SERVER-HELLO with version 0x{:04x}",
            s.version
        ));
    }
    (Verdict::Accepted, "SSLv2 SERVER-HELLO".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::raw::server_flight::{AlertInfo, Answer, ServerHelloInfo};

    fn sh(version: u16, cipher: u16) -> ServerHelloInfo {
        ServerHelloInfo {
            version,
            legacy_version: version.min(0x0303),
            selected_version_ext: (version == 0x0304).then_some(0x0304),
            cipher,
            compression: 0,
            hrr: false,
            downgrade_sentinel: None,
            session_id_len: 0,
            key_share_group: None,
            extensions: vec![],
        }
    }

    fn flight(answer: Answer) -> Flight {
        Flight {
            answer,
            complete: true,
            certificates: vec![],
            server_hello_done: true,
            handshake_types: vec![],
            alerts: vec![],
            bytes_received: 100,
        }
    }

    fn done(answer: Answer) -> ProbeOutcome {
        ProbeOutcome::Flight {
            flight: flight(answer),
        }
    }

    #[test]
    fn matching_version_is_accepted() {
        let v = classify(
            TlsVersionProbe::Tls12,
            &[0xc030, 0x00ff],
            &done(Answer::ServerHello(sh(0x0303, 0xc030))),
        );
        assert_eq!(v.verdict, Verdict::Accepted);
        assert!(v.evidence.anomalies.is_empty());
        assert_eq!(v.evidence.chosen_cipher, Some(0xc030));
        assert_eq!(
            v.evidence.chosen_cipher_name.as_deref(),
            Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384")
        );
    }

    #[test]
    fn lower_version_is_rejected_with_evidence() {
        let v = classify(
            TlsVersionProbe::Tls13,
            &[0x1301],
            &done(Answer::ServerHello(sh(0x0303, 0x1301))),
        );
        assert_eq!(v.verdict, Verdict::Rejected);
        assert_eq!(v.evidence.version_answered, Some(0x0303));
        // The TLS 1.3-only suite in a 1.2 ServerHello is "offered" but odd;
        // it is the version that decides here.
        let v = classify(
            TlsVersionProbe::Tls11,
            &[0x002f],
            &done(Answer::ServerHello(sh(0x0301, 0x002f))),
        );
        assert_eq!(v.verdict, Verdict::Rejected);
        assert_eq!(v.evidence.version_answered_name.as_deref(), Some("TLSv1.0"));
    }

    #[test]
    fn higher_version_and_unoffered_cipher_are_anomalies() {
        let v = classify(
            TlsVersionProbe::Tls10,
            &[0x002f],
            &done(Answer::ServerHello(sh(0x0303, 0x009c))),
        );
        assert_eq!(v.verdict, Verdict::Rejected);
        assert_eq!(v.evidence.anomalies.len(), 2, "{:?}", v.evidence.anomalies);
        let v = classify(
            TlsVersionProbe::Tls12,
            &[0x002f],
            &done(Answer::ServerHello(sh(0x0303, 0x00ff))),
        );
        assert_eq!(v.verdict, Verdict::Accepted);
        assert!(v.evidence.anomalies[0].contains("signalling"));
    }

    #[test]
    fn hrr_for_tls13_is_accepted() {
        let mut s = sh(0x0304, 0x1301);
        s.hrr = true;
        s.key_share_group = Some(0x0017);
        let v = classify(
            TlsVersionProbe::Tls13,
            &[0x1301],
            &done(Answer::ServerHello(s)),
        );
        assert_eq!(v.verdict, Verdict::Accepted);
        assert!(v.evidence.hello_retry_request);
        assert!(v.evidence.anomalies.is_empty());
    }

    #[test]
    fn alerts_closes_resets_timeouts() {
        let v = classify(
            TlsVersionProbe::Ssl3,
            &[],
            &done(Answer::Alert(AlertInfo::new(2, 40))),
        );
        assert_eq!(v.verdict, Verdict::Rejected);
        assert_eq!(v.evidence.alert.map(|a| a.description), Some(40));

        for (o, expected) in [
            (
                ProbeOutcome::Closed {
                    partial: None,
                    bytes_received: 0,
                },
                Verdict::Rejected,
            ),
            (
                ProbeOutcome::Reset {
                    partial: None,
                    bytes_received: 0,
                },
                Verdict::Rejected,
            ),
            (
                ProbeOutcome::Timeout {
                    partial: None,
                    bytes_received: 0,
                },
                Verdict::Unknown,
            ),
            (
                ProbeOutcome::TooLarge {
                    partial: None,
                    limit: 10,
                },
                Verdict::Unknown,
            ),
            (
                ProbeOutcome::ConnectFailed {
                    error: "530".into(),
                },
                Verdict::Unknown,
            ),
        ] {
            assert_eq!(
                classify(TlsVersionProbe::Tls10, &[], &o).verdict,
                expected,
                "{o:?}"
            );
        }
    }

    #[test]
    fn partial_server_hello_counts() {
        let mut f = flight(Answer::ServerHello(sh(0x0301, 0x002f)));
        f.complete = false;
        f.server_hello_done = false;
        let o = ProbeOutcome::Timeout {
            partial: Some(f),
            bytes_received: 100,
        };
        let v = classify(TlsVersionProbe::Tls10, &[0x002f], &o);
        assert_eq!(v.verdict, Verdict::Accepted);
        assert_eq!(v.evidence.outcome, "timeout");
    }

    #[test]
    fn ftp_text_is_not_a_tls_answer() {
        let v = classify(
            TlsVersionProbe::Tls12,
            &[],
            &done(Answer::FtpText("500 AUTH not understood".into())),
        );
        assert_eq!(v.verdict, Verdict::Unknown);
        assert_eq!(
            v.evidence.ftp_reply.as_deref(),
            Some("500 AUTH not understood")
        );
    }

    #[test]
    fn sslv2() {
        let hello = |specs: Vec<u32>| {
            done(Answer::Sslv2ServerHello(Sslv2ServerHelloInfo {
                version: 2,
                session_id_hit: false,
                certificate_type: 1,
                cipher_specs: specs,
                connection_id_len: 16,
            }))
        };
        let v = classify(TlsVersionProbe::Ssl2, &[], &hello(vec![0x0700c0]));
        assert_eq!(v.verdict, Verdict::Accepted);
        assert!(v.evidence.anomalies.is_empty());
        let v = classify(TlsVersionProbe::Ssl2, &[], &hello(vec![]));
        assert_eq!(v.verdict, Verdict::Accepted);
        assert!(v.evidence.anomalies[0].contains("CVE-2015-3197"));
        let v = classify(
            TlsVersionProbe::Ssl2,
            &[],
            &done(Answer::Sslv2Error { code: 1 }),
        );
        assert_eq!(v.verdict, Verdict::Rejected);
    }
}
