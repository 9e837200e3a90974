//! The judgement's facts: a finding's severity, the findings of an
//! endpoint, its verdict.

use serde::{Deserialize, Serialize};

label_enum!(
    /// How much a finding weighs; a policy may change it per finding.
    #[derive(PartialOrd, Ord, Hash)]
    Severity {
        Info => "info",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        Severity::from_label(&lower).ok_or_else(|| {
            format!("unknown severity {lower:?} (info, low, medium, high, critical)")
        })
    }
}

label_enum!(
    /// An endpoint's verdict against the policy.
    #[derive(PartialOrd, Ord, Hash)]
    Verdict {
        Pass => "pass",
        Warn => "warn",
        Fail => "fail",
        /// The endpoint could not be assessed (dead, timed out, not FTP...).
        Error => "error",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub severity: Severity,
    pub detail: String,
}
