//! The TLS facts: the certificate judgement and the protocol versions
//! (and cipher suites) an endpoint accepts.

use serde::{Deserialize, Serialize};

/// The leaf certificate as judged for one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CertificateReport {
    pub subject: String,
    pub issuer: String,
    /// DNS and IP subject alternative names, in certificate order.
    pub sans: Vec<String>,
    pub not_before: Option<String>,
    pub not_after: Option<String>,
    /// Whole days until not_after (negative when expired).
    pub days_left: Option<i64>,
    pub expired: bool,
    pub not_yet_valid: bool,
    pub self_signed: bool,
    pub trusted: bool,
    /// Why not trusted (`unknown issuer`, `expired`, ...), else `None`.
    pub trust_error: Option<TrustProblem>,
    /// Name checked against the certificate: the hostname, else the IP.
    pub name_checked: Option<String>,
    pub name_match: Option<bool>,
    /// `RSA-2048`, `EC-P256`, `Ed25519`, ...
    pub key: String,
    /// Key size in bits where meaningful.
    pub key_bits: Option<u32>,
    /// `sha256WithRSAEncryption`, `ecdsa-with-SHA256`, ...
    pub signature: String,
    /// Lowercase hex SHA-256 of the leaf's DER.
    pub sha256: String,
    /// How many certificates the server sent (leaf included).
    pub chain_length: usize,
    /// Which handshake the chain came from (`TLSv1.3 session`, `TLSv1.0 probe`).
    pub source: String,
    /// Set when the leaf could not be parsed at all.
    pub parse_error: Option<String>,
}

label_enum!(
    /// A protocol version, as reports name it. The one list of versions:
    /// the raw prober probes these (`tls::raw::TlsVersionProbe` is this
    /// type, with its wire numbers), the policy's floor is one of them, and
    /// each has its CSV column.
    #[derive(Hash, PartialOrd, Ord)]
    TlsVersion {
        Ssl2 => "SSLv2",
        Ssl3 => "SSLv3",
        Tls10 => "TLSv1.0",
        Tls11 => "TLSv1.1",
        Tls12 => "TLSv1.2",
        Tls13 => "TLSv1.3",
    }
);

label_enum!(
    /// The named reasons webpki gives for not trusting a chain, with the
    /// short, stable phrases of the `cert_trust_error` column.
    #[derive(Hash)]
    TrustReason {
        UnknownIssuer => "unknown issuer",
        Expired => "expired",
        NotYetValid => "not yet valid",
        InvalidSignature => "invalid signature",
        UnsupportedSignatureAlgorithm => "unsupported signature algorithm",
        CaUsedAsEndEntity => "CA certificate used as end entity",
        EndEntityUsedAsCa => "end-entity certificate used as CA",
        NotForServerAuth => "not valid for server authentication",
        Malformed => "malformed certificate",
    }
);

/// Why a chain is not trusted: a named reason, or the text of a webpki
/// error we have no name for (a newer webpki may add kinds; the report
/// still says which). Serialized as the phrase alone, so reading a report
/// back gives the same value and old reports read as they were written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrustProblem {
    Named(TrustReason),
    /// A webpki error outside [`TrustReason`], by its lowercased debug
    /// text.
    Other(String),
}

impl TrustProblem {
    /// The report's phrase.
    pub fn as_str(&self) -> &str {
        match self {
            TrustProblem::Named(reason) => reason.as_str(),
            TrustProblem::Other(text) => text,
        }
    }

    /// The problem a report phrase stands for.
    pub fn from_label(label: &str) -> TrustProblem {
        TrustReason::from_label(label)
            .map(TrustProblem::Named)
            .unwrap_or_else(|| TrustProblem::Other(label.to_string()))
    }

    /// Whether the chain is only out of its dates (expired or not yet
    /// valid), which reports name as that rather than as untrusted.
    pub fn is_dates(&self) -> bool {
        matches!(
            self,
            TrustProblem::Named(TrustReason::Expired | TrustReason::NotYetValid)
        )
    }
}

impl From<TrustReason> for TrustProblem {
    fn from(reason: TrustReason) -> Self {
        TrustProblem::Named(reason)
    }
}

impl std::fmt::Display for TrustProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TrustProblem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TrustProblem {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|label| TrustProblem::from_label(&label))
    }
}

label_enum!(
    /// What a version's probes established.
    #[derive(Default)]
    VersionVerdict {
        /// The server negotiated the version.
        Accepted => "accepted",
        /// The server refused it (an alert, a lower version, a close).
        Rejected => "rejected",
        /// Neither could be shown (no answer before the deadline, ...).
        #[default]
        Unknown => "unknown",
    }
);

/// One verdict per protocol version, with evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionReport {
    pub results: Vec<VersionResult>,
    /// Endpoint-level anomalies (version intolerance, unoffered answers).
    #[serde(default)]
    pub anomalies: Vec<VersionAnomaly>,
    /// Versions whose first probe was answered with FTP text in clear (the
    /// AUTH TLS race) and that were probed again with a pause after the 234.
    #[serde(default)]
    pub auth_tls_race: Vec<TlsVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionResult {
    pub version: TlsVersion,
    pub verdict: VersionVerdict,
    pub reason: String,
    /// What was seen: alert, version answered, downgrade sentinel, chosen
    /// suite, HelloRetryRequest, anomalies (the prober's evidence, as JSON).
    #[serde(default)]
    pub evidence: serde_json::Value,
    /// How many connections the verdict took (a timeout is retried once
    /// with a short hello).
    #[serde(default)]
    pub attempts: usize,
    /// Accepted suites by IANA name (only with cipher enumeration).
    #[serde(default)]
    pub accepted_ciphers: Vec<String>,
    /// Accepted suites flagged weak (only with cipher enumeration).
    #[serde(default)]
    pub weak_ciphers: Vec<String>,
    /// Why the weak ones are weak: `NAME: rc4, md5`.
    #[serde(default)]
    pub weak_reasons: Vec<String>,
    /// Accepted suites without forward secrecy (static RSA, DH, ECDH key
    /// exchange; only with cipher enumeration).
    #[serde(default)]
    pub no_fs_ciphers: Vec<String>,
    /// Whether enumeration ran to the end: every suite known for the
    /// version offered, each group to the server's refusal (false: stopped
    /// early, see `cipher_enumeration_reason`).
    #[serde(default)]
    pub cipher_enumeration_complete: Option<bool>,
    /// How the enumeration ended, with what it left unoffered when it
    /// stopped early (only with cipher enumeration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cipher_enumeration_reason: Option<String>,
}

impl VersionResult {
    /// A result for `version` with nothing established yet (no derived
    /// `Default`: a result always names its version).
    pub fn new(version: TlsVersion) -> Self {
        Self {
            version,
            verdict: VersionVerdict::default(),
            reason: String::new(),
            evidence: serde_json::Value::default(),
            attempts: 0,
            accepted_ciphers: Vec::new(),
            weak_ciphers: Vec::new(),
            weak_reasons: Vec::new(),
            no_fs_ciphers: Vec::new(),
            cipher_enumeration_complete: None,
            cipher_enumeration_reason: None,
        }
    }
}

impl VersionReport {
    /// Accepted suites flagged weak, across versions, deduplicated.
    pub fn weak_ciphers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self.results.iter().flat_map(|r| r.weak_ciphers.iter()) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }

    /// Accepted suites without forward secrecy, across versions, deduplicated.
    pub fn no_fs_ciphers(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self.results.iter().flat_map(|r| r.no_fs_ciphers.iter()) {
            if !out.contains(name) {
                out.push(name.clone());
            }
        }
        out
    }

    /// The accepted versions, lowest first.
    pub fn accepted(&self) -> impl Iterator<Item = TlsVersion> + '_ {
        self.results
            .iter()
            .filter(|r| r.verdict == VersionVerdict::Accepted)
            .map(|r| r.version)
    }

    /// Whether `version` was probed and accepted.
    pub fn accepts(&self, version: TlsVersion) -> bool {
        self.verdict_of(version) == Some(VersionVerdict::Accepted)
    }

    /// The verdict on `version`, when it was probed.
    pub fn verdict_of(&self, version: TlsVersion) -> Option<VersionVerdict> {
        self.results
            .iter()
            .find(|r| r.version == version)
            .map(|r| r.verdict)
    }
}

impl CertificateReport {
    /// Whether the chain is untrusted for a reason beyond its dates: one
    /// untrusted only because it expired (or is not yet valid) is reported
    /// as that, by the findings and the table alike, not also as untrusted.
    pub fn untrusted_beyond_dates(&self) -> bool {
        !self.trusted
            && !self
                .trust_error
                .as_ref()
                .is_some_and(TrustProblem::is_dates)
    }
}

/// An anomaly of the version probes. Typed, so the policy tells them apart
/// by kind; in the report each is the one line it reads as (the JSON keeps
/// strings, and reading a report back parses them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionAnomaly {
    /// A probe of a version above the lowest accepted one was answered by
    /// a silent close: a server that cannot negotiate down, which breaks
    /// clients offering a newer version than it knows.
    Intolerance {
        probe: TlsVersion,
        accepted: TlsVersion,
    },
    /// What one version's probe, or its cipher enumeration, showed (a
    /// version or suite that was not offered, ...), with the version first.
    Probe(String),
}

const INTOLERANCE: (&str, &str, &str) = (
    "version intolerance: ",
    " probe answered by a silent close while ",
    " is accepted",
);

impl std::fmt::Display for VersionAnomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VersionAnomaly::Intolerance { probe, accepted } => {
                let (start, middle, end) = INTOLERANCE;
                write!(f, "{start}{probe}{middle}{accepted}{end}")
            }
            VersionAnomaly::Probe(text) => f.write_str(text),
        }
    }
}

impl VersionAnomaly {
    /// The anomaly a report line stands for.
    pub fn parse(line: &str) -> VersionAnomaly {
        let (start, middle, end) = INTOLERANCE;
        line.strip_prefix(start)
            .and_then(|rest| rest.strip_suffix(end))
            .and_then(|rest| rest.split_once(middle))
            .and_then(|(probe, accepted)| {
                Some(VersionAnomaly::Intolerance {
                    probe: TlsVersion::from_label(probe)?,
                    accepted: TlsVersion::from_label(accepted)?,
                })
            })
            .unwrap_or_else(|| VersionAnomaly::Probe(line.to_string()))
    }
}

impl Serialize for VersionAnomaly {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VersionAnomaly {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|line| VersionAnomaly::parse(&line))
    }
}

#[cfg(test)]
mod tests {
    use super::{TlsVersion, TrustProblem, TrustReason, VersionAnomaly};

    #[test]
    fn trust_problems_read_back_as_they_were_written() {
        for problem in [
            TrustProblem::Named(TrustReason::UnknownIssuer),
            TrustProblem::Named(TrustReason::NotYetValid),
            TrustProblem::Other("unsupportedcriticalextension".into()),
        ] {
            let json = serde_json::to_string(&problem).unwrap();
            assert_eq!(json, format!("\"{problem}\""));
            assert_eq!(
                serde_json::from_str::<TrustProblem>(&json).unwrap(),
                problem
            );
        }
        assert_eq!(
            serde_json::from_str::<TrustProblem>("\"expired\"").unwrap(),
            TrustProblem::Named(TrustReason::Expired)
        );
    }

    #[test]
    fn anomalies_read_back_as_they_were_written() {
        for anomaly in [
            VersionAnomaly::Intolerance {
                probe: TlsVersion::Tls13,
                accepted: TlsVersion::Tls10,
            },
            VersionAnomaly::Probe("TLSv1.2: chosen suite was not offered".into()),
        ] {
            let json = serde_json::to_string(&anomaly).unwrap();
            assert_eq!(json, format!("\"{anomaly}\""));
            assert_eq!(
                serde_json::from_str::<VersionAnomaly>(&json).unwrap(),
                anomaly
            );
        }
        assert_eq!(
            VersionAnomaly::Intolerance {
                probe: TlsVersion::Tls13,
                accepted: TlsVersion::Tls12
            }
            .to_string(),
            "version intolerance: TLSv1.3 probe answered by a silent close while TLSv1.2 is accepted"
        );
    }
}
