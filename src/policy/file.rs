//! The `--policy FILE` format (TOML), parsed into a [`Policy`].
//!
//! ```toml
//! disabled = ["tls-anomaly"]           # findings switched off
//!
//! [thresholds]
//! expiry_warn_days = 45                # cert-expiring-soon from 45 days out
//! min_tls_version = "TLSv1.2"          # accepted versions below this are findings
//!
//! [severity]                           # change a finding's severity
//! "cert-self-signed" = "high"
//!
//! [[exception]]                        # ignore a finding for some targets
//! finding = "cert-self-signed"
//! targets = ["10.0.0.5", "ftp.lab.example"]
//! reason = "lab server, ticket SEC-123"
//! expires = 2027-03-31                 # the exception ends that day
//! ```
//!
//! Every error names the file, the line and the key.

use super::{catalog_entry, Exception, Policy, Severity, TLS_VERSIONS};
use crate::model::tls::TlsVersion;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct PolicyError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    disabled: Vec<Spanned<String>>,
    #[serde(default)]
    thresholds: Option<RawThresholds>,
    #[serde(default)]
    severity: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    exception: Vec<Spanned<RawException>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    expiry_warn_days: Option<Spanned<i64>>,
    min_tls_version: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawException {
    finding: Spanned<String>,
    targets: Vec<String>,
    reason: Spanned<String>,
    expires: Option<Spanned<toml::value::Datetime>>,
}

/// Parses policy text; `path` is only used in messages.
pub fn parse(text: &str, path: &str) -> Result<Policy, PolicyError> {
    let line_of = |offset: usize| {
        text.get(..offset)
            .map_or(1, |t| t.matches('\n').count() + 1)
    };
    let err = |offset: usize, message: String| PolicyError {
        path: path.to_string(),
        line: line_of(offset),
        message,
    };
    let raw: RawPolicy = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        err(offset, e.message().trim().to_string())
    })?;
    let known = |id: &Spanned<String>, key: &str| -> Result<String, PolicyError> {
        match catalog_entry(id.get_ref()) {
            Some(_) => Ok(id.get_ref().clone()),
            None => Err(err(
                id.span().start,
                format!(
                    "{key}: unknown finding id {:?} (see the README's finding table)",
                    id.get_ref()
                ),
            )),
        }
    };
    let mut policy = Policy::default();
    for id in &raw.disabled {
        policy.disabled.push(known(id, "disabled")?);
    }
    if let Some(t) = &raw.thresholds {
        if let Some(days) = &t.expiry_warn_days {
            if !(0..=3650).contains(days.get_ref()) {
                return Err(err(
                    days.span().start,
                    "thresholds.expiry_warn_days: must be 0 to 3650".into(),
                ));
            }
            policy.expiry_warn_days = *days.get_ref();
        }
        if let Some(v) = &t.min_tls_version {
            let floor = TlsVersion::from_label(v.get_ref()).filter(|f| TLS_VERSIONS.contains(f));
            let Some(floor) = floor else {
                return Err(err(
                    v.span().start,
                    format!(
                        "thresholds.min_tls_version: {:?} is not one of {}",
                        v.get_ref(),
                        TLS_VERSIONS.map(TlsVersion::as_str).join(", ")
                    ),
                ));
            };
            policy.min_tls_version = floor;
        }
    }
    for (id, severity) in &raw.severity {
        let id_text = known(id, "severity")?;
        let parsed: Severity = severity
            .get_ref()
            .parse()
            .map_err(|m: String| err(severity.span().start, format!("severity.{id_text}: {m}")))?;
        policy.severities.insert(id_text, parsed);
    }
    for e in &raw.exception {
        let at = e.span().start;
        let e = e.get_ref();
        let finding = known(&e.finding, "exception.finding")?;
        if e.reason.get_ref().trim().is_empty() {
            return Err(err(
                e.reason.span().start,
                "exception.reason: an exception needs a written reason".into(),
            ));
        }
        if e.targets.is_empty() {
            return Err(err(
                at,
                "exception.targets: list at least one target".into(),
            ));
        }
        let expires = match &e.expires {
            None => None,
            Some(d) => Some(
                d.get_ref()
                    .date
                    .and_then(|d| {
                        time::Month::try_from(d.month).ok().and_then(|m| {
                            time::Date::from_calendar_date(i32::from(d.year), m, d.day).ok()
                        })
                    })
                    .ok_or_else(|| {
                        err(
                            d.span().start,
                            "exception.expires: use a date like 2027-03-31".into(),
                        )
                    })?,
            ),
        };
        policy.exceptions.push(Exception {
            finding,
            targets: e.targets.clone(),
            reason: e.reason.get_ref().clone(),
            expires,
        });
    }
    Ok(policy)
}

/// Reads and parses a policy file.
pub fn load(path: &std::path::Path) -> Result<Policy, PolicyError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PolicyError {
        path: shown.clone(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, &shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
disabled = ["tls-anomaly"]

[thresholds]
expiry_warn_days = 45
min_tls_version = "TLSv1.3"

[severity]
"cert-self-signed" = "high"
"pasv-address-mismatch" = "info"

[[exception]]
finding = "cert-self-signed"
targets = ["10.0.0.5", "ftp.lab.example"]
reason = "lab server, ticket SEC-123"
expires = 2027-03-31
"#;

    #[test]
    fn full_policy() {
        let p = parse(FULL, "p.toml").unwrap();
        assert_eq!(p.disabled, vec!["tls-anomaly"]);
        assert_eq!(p.expiry_warn_days, 45);
        assert_eq!(p.min_tls_version, TlsVersion::Tls13);
        assert_eq!(p.severities.get("cert-self-signed"), Some(&Severity::High));
        assert_eq!(
            p.severities.get("pasv-address-mismatch"),
            Some(&Severity::Info)
        );
        assert_eq!(p.exceptions.len(), 1);
        assert_eq!(p.exceptions[0].targets, vec!["10.0.0.5", "ftp.lab.example"]);
        assert_eq!(
            p.exceptions[0].expires,
            Some(time::Date::from_calendar_date(2027, time::Month::March, 31).unwrap())
        );
    }

    #[test]
    fn empty_policy_is_the_default() {
        let p = parse("", "p.toml").unwrap();
        assert_eq!(p.expiry_warn_days, Policy::default().expiry_warn_days);
    }

    fn error(text: &str) -> PolicyError {
        parse(text, "p.toml").unwrap_err()
    }

    #[test]
    fn errors_name_line_and_key() {
        let e = error("[severity]\n\"cert-selfsigned\" = \"high\"\n");
        assert_eq!(e.line, 2);
        assert!(
            e.to_string()
                .starts_with("p.toml:2: severity: unknown finding id \"cert-selfsigned\""),
            "{e}"
        );

        let e = error("[severity]\n\"cert-self-signed\" = \"urgent\"\n");
        assert_eq!(e.line, 2);
        assert!(
            e.message
                .contains("severity.cert-self-signed: unknown severity \"urgent\""),
            "{e}"
        );

        let e = error("\n\n[thresholds]\nexpiry_warn_dayz = 3\n");
        assert_eq!(e.line, 4);
        assert!(
            e.message.contains("unknown field `expiry_warn_dayz`"),
            "{e}"
        );

        let e = error("[thresholds]\nmin_tls_version = \"TLSv1.4\"\n");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("min_tls_version"), "{e}");

        let e = error("[thresholds]\nexpiry_warn_days = -1\n");
        assert!(e.message.contains("expiry_warn_days"), "{e}");

        let e = error("disabled = [\"nope\"]\n");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("disabled: unknown finding id"), "{e}");

        let e = error(
            "[[exception]]\nfinding = \"cert-expired\"\ntargets = [\"a\"]\nreason = \"  \"\n",
        );
        assert_eq!(e.line, 4);
        assert!(e.message.contains("written reason"), "{e}");

        let e = error("[[exception]]\nfinding = \"cert-expired\"\ntargets = [\"a\"]\nreason = \"x\"\nexpires = 12:00:00\n");
        assert_eq!(e.line, 5);
        assert!(e.message.contains("exception.expires"), "{e}");

        let e = error("this is = = not toml");
        assert_eq!(e.line, 1);
    }
}
