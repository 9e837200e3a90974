//! Per-version verdicts from raw ClientHello probes (filled by the version
//! enumeration step).

use serde::{Deserialize, Serialize};

/// One verdict per protocol version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionReport {
    pub results: Vec<VersionResult>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionResult {
    /// `SSLv2` ... `TLSv1.3`.
    pub version: String,
    /// `accepted`, `rejected`, `unknown`.
    pub verdict: String,
    pub reason: String,
    /// Accepted suites flagged weak (only with cipher enumeration).
    #[serde(default)]
    pub weak_ciphers: Vec<String>,
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
}
