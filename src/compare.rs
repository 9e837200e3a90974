//! Scan-to-scan comparison (`ftps-scan diff OLD NEW`): what changed
//! between two earlier reports, CSV or JSON Lines, and whether anything got
//! worse (so a cron job can mail only on change).

use crate::model::EndpointReport;
use crate::report::csv::col;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

/// An endpoint's identity across runs: the target as written, the address
/// and the port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Key {
    pub target: String,
    pub ip: String,
    pub port: String,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ip.is_empty() || self.ip == self.target {
            write!(f, "{} port {}", self.target, self.port)
        } else {
            write!(f, "{} ({}) port {}", self.target, self.ip, self.port)
        }
    }
}

/// The facts a comparison looks at, from either report format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub status: String,
    pub verdict: String,
    pub findings: BTreeSet<String>,
    pub cert_sha256: String,
    pub cert_not_after: String,
    /// The cells of the facts findings rest on (see [`EVIDENCE`]), by CSV
    /// column name, to tell a resolved finding from one that could not be
    /// observed.
    pub evidence: BTreeMap<String, String>,
}

/// Which column holds the fact each finding rests on. A finding absent
/// from the later report is `finding-resolved` only when that fact was
/// established there; otherwise (TLS failed, `--no-data`, no versions
/// probed) it is `finding-unknown`. Findings not listed rest on the
/// endpoint answering at all (`status` other than dead or error).
pub const EVIDENCE: &[(&str, &[&str])] = &[
    ("sslv2-accepted", &[col::SSLV2]),
    ("sslv3-accepted", &[col::SSLV3]),
    ("tls1.0-accepted", &[col::TLS1_0]),
    ("tls1.1-accepted", &[col::TLS1_1]),
    ("tls1.2-accepted", &[col::TLS1_2]),
    ("tls1.2-not-offered", &[col::TLS1_2]),
    (
        "tls-version-intolerance",
        &[
            col::SSLV3,
            col::TLS1_0,
            col::TLS1_1,
            col::TLS1_2,
            col::TLS1_3,
        ],
    ),
    (
        "tls-anomaly",
        &[
            col::SSLV3,
            col::TLS1_0,
            col::TLS1_1,
            col::TLS1_2,
            col::TLS1_3,
        ],
    ),
    // Observed only where ciphers were enumerated: the run record says
    // (see [`CompareOptions::unobservable`]).
    ("weak-cipher-accepted", &[col::TLS_CIPHER]),
    ("no-forward-secrecy", &[col::TLS_CIPHER]),
    ("cert-expired", &[col::CERT_SHA256]),
    ("cert-not-yet-valid", &[col::CERT_SHA256]),
    ("cert-expiring-soon", &[col::CERT_SHA256]),
    ("cert-untrusted", &[col::CERT_SHA256]),
    ("cert-self-signed", &[col::CERT_SHA256]),
    ("cert-name-mismatch", &[col::CERT_SHA256]),
    ("cert-weak-key", &[col::CERT_SHA256]),
    ("cert-weak-signature", &[col::CERT_SHA256]),
    ("cleartext-login-allowed", &[col::CLEARTEXT_LOGIN]),
    ("cleartext-data-allowed", &[col::PROT_C]),
    ("pasv-address-mismatch", &[col::PASV_ADDRESS]),
    ("pasv-private-address", &[col::PASV_ADDRESS]),
    ("pasv-unspecified-address", &[col::PASV_ADDRESS]),
    ("passive-port-unreachable", &[col::PASSIVE_PORT]),
    ("data-tls-failed", &[col::DATA_TLS]),
    ("data-tls-reuse-required", &[col::DATA_TLS_REUSE_REQUIRED]),
    ("client-cert-required", &[col::CLIENT_CERT]),
    ("cleartext-after-auth", &[col::CLEARTEXT_AFTER_AUTH]),
    ("ftp-bounce", &[col::FTP_BOUNCE]),
    ("ccc-accepted", &[col::CCC]),
    ("auth-not-advertised", &[col::AUTH_TLS_IN_FEAT]),
];

impl Row {
    /// Whether the fact behind `finding` was established in this row.
    pub fn observed(&self, finding: &str) -> bool {
        match EVIDENCE.iter().find(|(id, _)| *id == finding) {
            Some((_, columns)) => columns.iter().any(|c| {
                self.evidence
                    .get(*c)
                    .is_some_and(|v| !v.is_empty() && v != "unknown" && v != "error")
            }),
            // An endpoint that answered: its status-level findings, such
            // as `ftp-no-tls`, were observed.
            None => crate::model::Status::from_label(&self.status)
                .is_some_and(crate::model::Status::answered),
        }
    }
}

/// The columns [`Row::evidence`] keeps.
fn evidence_columns() -> BTreeSet<&'static str> {
    EVIDENCE
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .collect()
}

pub type Snapshot = BTreeMap<Key, Row>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    Appeared,
    Disappeared,
    FindingNew,
    FindingResolved,
    /// A finding of the earlier report whose fact the later one could not
    /// establish (TLS failed, a check switched off): neither gone nor there.
    FindingUnknown,
    CertChanged,
    StatusChanged,
    VerdictChanged,
    /// The later report holds no endpoint at all.
    ReportEmpty,
    /// The two runs were made differently (policy, settings, version), or
    /// one of them did not finish: a change may be the scan's, not the
    /// server's.
    RunDiffers,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Appeared => "appeared",
            ChangeKind::Disappeared => "disappeared",
            ChangeKind::FindingNew => "finding-new",
            ChangeKind::FindingResolved => "finding-resolved",
            ChangeKind::FindingUnknown => "finding-unknown",
            ChangeKind::CertChanged => "cert-changed",
            ChangeKind::StatusChanged => "status-changed",
            ChangeKind::VerdictChanged => "verdict-changed",
            ChangeKind::ReportEmpty => "report-empty",
            ChangeKind::RunDiffers => "run-differs",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub key: Key,
    pub detail: String,
    /// Whether this change makes the estate worse (a new finding, a worse
    /// verdict, an FTPS endpoint that stopped working).
    pub worse: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReadError {
    pub path: String,
    pub message: String,
}

/// Reads a CSV or JSON Lines report (told apart by its first byte).
pub fn read_report(path: &Path) -> Result<Snapshot, ReadError> {
    let shown = path.display().to_string();
    let err = |message: String| ReadError {
        path: shown.clone(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    if text.trim_start().starts_with('{') {
        parse_jsonl(&text).map_err(err)
    } else {
        parse_csv(&text).map_err(err)
    }
}

pub fn parse_jsonl(text: &str) -> Result<Snapshot, String> {
    let wanted = evidence_columns();
    let mut out = Snapshot::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: EndpointReport =
            serde_json::from_str(line).map_err(|e| format!("line {}: not a report: {e}", i + 1))?;
        out.insert(
            Key {
                target: r.target.clone(),
                ip: r.ip.map(|ip| ip.to_string()).unwrap_or_default(),
                port: r.port.to_string(),
            },
            Row {
                status: r.status.to_string(),
                verdict: r.verdict.map(|v| v.to_string()).unwrap_or_default(),
                findings: r.findings.iter().map(|f| f.id.clone()).collect(),
                cert_sha256: r
                    .certificate
                    .as_ref()
                    .map(|c| c.sha256.clone())
                    .unwrap_or_default(),
                cert_not_after: r
                    .certificate
                    .as_ref()
                    .and_then(|c| c.not_after.clone())
                    .unwrap_or_default(),
                evidence: wanted
                    .iter()
                    .filter_map(|c| crate::report::csv::cell(c, &r).map(|v| (c.to_string(), v)))
                    .collect(),
            },
        );
    }
    Ok(out)
}

pub fn parse_csv(text: &str) -> Result<Snapshot, String> {
    let mut reader = ::csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| format!("no CSV header: {e}"))?
        .clone();
    let column = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            format!("CSV header lacks the column {name:?} (is this an ftps-scan report?)")
        })
    };
    let idx = [
        column(col::TARGET)?,
        column(col::IP)?,
        column(col::PORT)?,
        column(col::STATUS)?,
        column(col::VERDICT)?,
        column(col::FINDINGS)?,
        column(col::CERT_SHA256)?,
        column(col::CERT_NOT_AFTER)?,
    ];
    // Older reports may lack some evidence columns: those facts then count
    // as not observed.
    let evidence: Vec<(&str, usize)> = evidence_columns()
        .into_iter()
        .filter_map(|c| header.iter().position(|h| h == c).map(|i| (c, i)))
        .collect();
    let mut out = Snapshot::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("row {}: {e}", i + 2))?;
        let cell = |k: usize| {
            idx.get(k)
                .and_then(|&i| record.get(i))
                .unwrap_or_default()
                .to_string()
        };
        let target = cell(0);
        let target = target
            .strip_prefix('\'')
            .map(str::to_string)
            .unwrap_or(target);
        out.insert(
            Key {
                target,
                ip: cell(1),
                port: cell(2),
            },
            Row {
                status: cell(3),
                verdict: cell(4),
                findings: cell(5)
                    .split(';')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                cert_sha256: cell(6),
                cert_not_after: cell(7),
                evidence: evidence
                    .iter()
                    .map(|(c, i)| {
                        (
                            c.to_string(),
                            record.get(*i).unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
            },
        );
    }
    Ok(out)
}

fn verdict_rank(v: &str) -> Option<u8> {
    match v {
        "pass" => Some(0),
        "warn" => Some(1),
        "fail" => Some(2),
        _ => None,
    }
}

/// What the user accepts as not worse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompareOptions {
    /// Findings the later run could not observe by its settings (from its
    /// run record: cipher findings when it enumerated no ciphers).
    pub unobservable: BTreeSet<String>,
    /// Endpoints missing from the later report are expected (a shrunk
    /// target list), not a regression.
    pub allow_disappeared: bool,
    /// A later report with no endpoints is expected.
    pub allow_empty: bool,
}

/// Every change from `old` to `new`, in endpoint order. Whatever hides
/// what a server now does counts as worse unless `options` accept it: an
/// endpoint that disappeared could be a server now failing that the run
/// missed, and an empty report is a failed run more often than an empty
/// estate.
pub fn compare(old: &Snapshot, new: &Snapshot, options: &CompareOptions) -> Vec<Change> {
    let mut changes = Vec::new();
    if new.is_empty() {
        changes.push(Change {
            kind: ChangeKind::ReportEmpty,
            key: Key {
                target: String::new(),
                ip: String::new(),
                port: String::new(),
            },
            detail: format!(
                "the later report holds no endpoint (the earlier one {})",
                old.len()
            ),
            worse: !options.allow_empty,
        });
    }
    let keys: BTreeSet<&Key> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let change = |kind, detail: String, worse| Change {
            kind,
            key: key.clone(),
            detail,
            worse,
        };
        match (old.get(key), new.get(key)) {
            (None, Some(n)) => {
                changes.push(change(
                    ChangeKind::Appeared,
                    format!("status {}, verdict {}", n.status, n.verdict),
                    false,
                ));
                for f in &n.findings {
                    changes.push(change(ChangeKind::FindingNew, f.clone(), true));
                }
            }
            (Some(o), None) => changes.push(change(
                ChangeKind::Disappeared,
                format!("was status {}, verdict {}", o.status, o.verdict),
                !options.allow_disappeared,
            )),
            (Some(o), Some(n)) => {
                if o.status != n.status {
                    let worse = o.status == "ok";
                    changes.push(change(
                        ChangeKind::StatusChanged,
                        format!("{} -> {}", o.status, n.status),
                        worse,
                    ));
                }
                if o.verdict != n.verdict {
                    let worse = matches!((verdict_rank(&o.verdict), verdict_rank(&n.verdict)), (Some(a), Some(b)) if b > a);
                    changes.push(change(
                        ChangeKind::VerdictChanged,
                        format!("{} -> {}", o.verdict, n.verdict),
                        worse,
                    ));
                }
                for f in n.findings.difference(&o.findings) {
                    changes.push(change(ChangeKind::FindingNew, f.clone(), true));
                }
                for f in o.findings.difference(&n.findings) {
                    if n.observed(f) && !options.unobservable.contains(f) {
                        changes.push(change(ChangeKind::FindingResolved, f.clone(), false));
                    } else {
                        changes.push(change(
                            ChangeKind::FindingUnknown,
                            format!(
                                "{f}: not observed in the later report (status {})",
                                n.status
                            ),
                            false,
                        ));
                    }
                }
                if o.cert_sha256 != n.cert_sha256
                    && !o.cert_sha256.is_empty()
                    && !n.cert_sha256.is_empty()
                {
                    changes.push(change(
                        ChangeKind::CertChanged,
                        format!(
                            "sha256 {}… -> {}… (not after {} -> {})",
                            o.cert_sha256.get(..12).unwrap_or_default(),
                            n.cert_sha256.get(..12).unwrap_or_default(),
                            o.cert_not_after,
                            n.cert_not_after
                        ),
                        false,
                    ));
                }
            }
            (None, None) => {}
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(rows: &[(&str, &str, &str, &[&str], &str)]) -> Snapshot {
        rows.iter()
            .map(|(target, status, verdict, findings, sha)| {
                (
                    Key {
                        target: target.to_string(),
                        ip: "192.0.2.1".into(),
                        port: "21".into(),
                    },
                    Row {
                        status: status.to_string(),
                        verdict: verdict.to_string(),
                        findings: findings.iter().map(|s| s.to_string()).collect(),
                        cert_sha256: sha.to_string(),
                        cert_not_after: String::new(),
                        evidence: [("cert_sha256".to_string(), sha.to_string())].into(),
                    },
                )
            })
            .collect()
    }

    fn kinds(changes: &[Change]) -> Vec<(ChangeKind, &str, bool)> {
        changes
            .iter()
            .map(|c| (c.kind, c.detail.as_str(), c.worse))
            .collect()
    }

    #[test]
    fn every_kind_of_change() {
        let old = snap(&[
            ("a", "ok", "pass", &[], "aaaa"),
            ("b", "ok", "warn", &["cert-self-signed"], "bbbb"),
            ("gone", "ok", "pass", &[], "cccc"),
            ("c", "ok", "pass", &[], "dddd"),
        ]);
        let new = snap(&[
            ("a", "ok", "fail", &["cert-expired"], "aaaa"),
            ("b", "ok", "pass", &[], "eeee"),
            ("new", "ok", "fail", &["tls1.0-accepted"], "ffff"),
            ("c", "timeout", "error", &[], ""),
        ]);
        let changes = compare(&old, &new, &CompareOptions::default());
        let by = |t: &str| {
            kinds(
                &changes
                    .iter()
                    .filter(|c| c.key.target == t)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
            .iter()
            .map(|(k, d, w)| (*k, d.to_string(), *w))
            .collect::<Vec<_>>()
        };
        assert_eq!(
            by("a"),
            vec![
                (ChangeKind::VerdictChanged, "pass -> fail".into(), true),
                (ChangeKind::FindingNew, "cert-expired".into(), true)
            ]
        );
        let b = by("b");
        assert!(b.contains(&(ChangeKind::VerdictChanged, "warn -> pass".into(), false)));
        assert!(b.contains(&(
            ChangeKind::FindingResolved,
            "cert-self-signed".into(),
            false
        )));
        assert!(b
            .iter()
            .any(|(k, _, w)| *k == ChangeKind::CertChanged && !w));
        assert_eq!(by("gone")[0].0, ChangeKind::Disappeared);
        let n = by("new");
        assert_eq!(n[0].0, ChangeKind::Appeared);
        assert_eq!(
            n[1],
            (ChangeKind::FindingNew, "tls1.0-accepted".into(), true)
        );
        let c = by("c");
        assert!(c.contains(&(ChangeKind::StatusChanged, "ok -> timeout".into(), true)));
        assert!(c.contains(&(ChangeKind::VerdictChanged, "pass -> error".into(), false)));
    }

    #[test]
    fn no_change_no_rows() {
        let s = snap(&[("a", "ok", "pass", &["x"], "aaaa")]);
        assert!(compare(&s, &s, &CompareOptions::default()).is_empty());
    }

    #[test]
    fn csv_needs_its_columns() {
        let e = parse_csv("target,ip\nx,1.2.3.4\n").unwrap_err();
        assert!(e.contains("\"port\""), "{e}");
    }

    #[test]
    fn jsonl_errors_name_the_line() {
        let e = parse_jsonl("\n{not json}\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
    }
}
