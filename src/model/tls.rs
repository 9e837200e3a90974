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
    pub trust_error: Option<String>,
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
    pub auth_tls_race: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionResult {
    /// `SSLv2` ... `TLSv1.3`.
    pub version: String,
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

    /// Names of the accepted versions, lowest first.
    pub fn accepted(&self) -> impl Iterator<Item = &str> {
        self.results
            .iter()
            .filter(|r| r.verdict == VersionVerdict::Accepted)
            .map(|r| r.version.as_str())
    }

    /// The verdict on `version` (`TLSv1.2`), when it was probed.
    pub fn verdict_of(&self, version: &str) -> Option<VersionVerdict> {
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
            && !matches!(
                self.trust_error.as_deref(),
                Some("expired" | "not yet valid")
            )
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
    Intolerance { probe: String, accepted: String },
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
            .map(|(probe, accepted)| VersionAnomaly::Intolerance {
                probe: probe.to_string(),
                accepted: accepted.to_string(),
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
    use super::VersionAnomaly;

    #[test]
    fn anomalies_read_back_as_they_were_written() {
        for anomaly in [
            VersionAnomaly::Intolerance {
                probe: "TLSv1.3".into(),
                accepted: "TLSv1.0".into(),
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
                probe: "TLSv1.3".into(),
                accepted: "TLSv1.2".into()
            }
            .to_string(),
            "version intolerance: TLSv1.3 probe answered by a silent close while TLSv1.2 is accepted"
        );
    }
}
