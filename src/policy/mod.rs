//! Findings and verdicts.
//!
//! Each finding has a stable id (scripts and exception lists key on it), a
//! severity the policy may change, and a one-line detail. The verdict of an
//! endpoint follows from its status and the severities of its findings.

use crate::model::posture::Posture;
use crate::model::tls::{
    CertificateReport, TlsVersion, VersionAnomaly, VersionReport, VersionVerdict,
};
use crate::model::{EndpointReport, Mode, Status};
use std::collections::BTreeMap;

pub mod file;

/// Versions a `min_tls_version` may name, lowest first (the TLS ones of
/// [`TlsVersion::ALL`]: SSL is below any floor).
pub const TLS_VERSIONS: [TlsVersion; 4] = [
    TlsVersion::Tls10,
    TlsVersion::Tls11,
    TlsVersion::Tls12,
    TlsVersion::Tls13,
];

pub use crate::model::judgement::{Finding, Severity, Verdict};

/// A finding the scanner knows: id, default severity, what it means, and
/// the standard behind it. The README's finding table is this list.
pub struct FindingKind {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub standard: &'static str,
}

pub const CATALOG: &[FindingKind] = &[
    FindingKind { id: "ftp-no-tls", severity: Severity::High, summary: "FTP service without TLS: AUTH TLS and AUTH SSL refused, or a plain greeting on the implicit port", standard: "PCI DSS 4.0 req. 4.2.1; NIST SP 800-52r2 3.1" },
    FindingKind { id: "tls-handshake-failed", severity: Severity::High, summary: "TLS was agreed but no handshake could be completed with a TLS 1.2/1.3 client", standard: "NIST SP 800-52r2 3.1" },
    FindingKind { id: "implicit-not-ftp", severity: Severity::Medium, summary: "the implicit FTPS port answers TLS (or something else) but no FTP greeting", standard: "" },
    FindingKind { id: "sslv2-accepted", severity: Severity::Critical, summary: "SSL 2.0 accepted", standard: "RFC 6176; PCI DSS 4.0 req. 4.2.1; NIST SP 800-52r2 3.1" },
    FindingKind { id: "sslv3-accepted", severity: Severity::Critical, summary: "SSL 3.0 accepted", standard: "RFC 7568; PCI DSS 4.0 req. 4.2.1; NIST SP 800-52r2 3.1" },
    FindingKind { id: "tls1.0-accepted", severity: Severity::High, summary: "TLS 1.0 accepted", standard: "RFC 8996; PCI DSS 4.0 req. 4.2.1; NIST SP 800-52r2 3.1; BSI TR-02102-2" },
    FindingKind { id: "tls1.1-accepted", severity: Severity::High, summary: "TLS 1.1 accepted", standard: "RFC 8996; PCI DSS 4.0 req. 4.2.1; NIST SP 800-52r2 3.1; BSI TR-02102-2" },
    FindingKind { id: "tls1.2-accepted", severity: Severity::Medium, summary: "TLS 1.2 accepted while the policy's min_tls_version is TLSv1.3", standard: "policy" },
    FindingKind { id: "tls1.2-not-offered", severity: Severity::Medium, summary: "TLS 1.2 not accepted (clients without TLS 1.3 cannot connect)", standard: "NIST SP 800-52r2 3.1 (servers shall support TLS 1.2)" },
    FindingKind { id: "weak-cipher-accepted", severity: Severity::High, summary: "a weak cipher suite is accepted (NULL, anonymous, EXPORT, DES, 3DES, RC4, RC2, IDEA or MD5)", standard: "NIST SP 800-52r2 3.3; BSI TR-02102-2 3.3" },
    FindingKind { id: "no-forward-secrecy", severity: Severity::Medium, summary: "a cipher suite without forward secrecy is accepted (static RSA, DH or ECDH key exchange): recorded traffic can be decrypted with the server's key later", standard: "NIST SP 800-52r2 3.3.1" },
    FindingKind { id: "tls-version-intolerance", severity: Severity::Medium, summary: "a higher TLS version is answered by a silent close while a lower one works", standard: "RFC 8446 appendix D" },
    FindingKind { id: "tls-anomaly", severity: Severity::Low, summary: "the server answered a version probe with a version or suite that was not offered", standard: "" },
    FindingKind { id: "cert-expired", severity: Severity::High, summary: "the certificate's notAfter has passed", standard: "RFC 5280 4.1.2.5" },
    FindingKind { id: "cert-not-yet-valid", severity: Severity::High, summary: "the certificate's notBefore is in the future", standard: "RFC 5280 4.1.2.5" },
    FindingKind { id: "cert-expiring-soon", severity: Severity::Medium, summary: "the certificate expires within the policy's warning window (30 days by default)", standard: "" },
    FindingKind { id: "cert-untrusted", severity: Severity::High, summary: "the chain does not lead to a trusted root (Mozilla's by default)", standard: "NIST SP 800-52r2 3.5" },
    FindingKind { id: "cert-self-signed", severity: Severity::Medium, summary: "the certificate is self-signed", standard: "NIST SP 800-52r2 3.5" },
    FindingKind { id: "cert-name-mismatch", severity: Severity::High, summary: "the certificate is not valid for the hostname (or IP) scanned", standard: "RFC 6125; RFC 9525" },
    FindingKind { id: "cert-weak-key", severity: Severity::High, summary: "RSA key under 2048 bits or EC key under 256 bits", standard: "NIST SP 800-52r2 3.5.1; BSI TR-02102-2" },
    FindingKind { id: "cert-weak-signature", severity: Severity::High, summary: "certificate signed with SHA-1 or MD5", standard: "NIST SP 800-52r2 3.5.1; CA/B Forum BR 7.1.3" },
    FindingKind { id: "cleartext-login-allowed", severity: Severity::High, summary: "the server takes USER (and so a password) on a plain, unencrypted control channel", standard: "PCI DSS 4.0 req. 4.2.1 and 8.3.2; RFC 4217 section 15" },
    FindingKind { id: "cleartext-data-allowed", severity: Severity::Medium, summary: "PROT C accepted after login: files may cross the network unencrypted", standard: "PCI DSS 4.0 req. 4.2.1; RFC 4217 section 9" },
    FindingKind { id: "pasv-address-mismatch", severity: Severity::Low, summary: "the PASV reply names an address other than the server's", standard: "RFC 2577 (FTP bounce); RFC 4217 section 10" },
    FindingKind { id: "pasv-private-address", severity: Severity::Medium, summary: "a public server advertises a private PASV address (NAT misconfiguration)", standard: "" },
    FindingKind { id: "pasv-unspecified-address", severity: Severity::Low, summary: "the PASV reply names 0.0.0.0", standard: "" },
    FindingKind { id: "passive-port-unreachable", severity: Severity::Medium, summary: "the advertised passive port cannot be reached (firewall passive range)", standard: "" },
    FindingKind { id: "client-cert-required", severity: Severity::Info, summary: "the server requires a TLS client certificate (mTLS); the scanner has none, so the FTP posture behind the handshake was not assessed", standard: "" },
    FindingKind { id: "data-tls-reuse-required", severity: Severity::Info, summary: "a data connection on a fresh TLS session is refused: clients without TLS session reuse (Python's ftplib, many scripts) cannot transfer", standard: "RFC 4217 section 10.2" },
    FindingKind { id: "cleartext-after-auth", severity: Severity::High, summary: "after agreeing to TLS (234 to AUTH TLS) the server answers a command sent in clear: a man in the middle can strip TLS and the client goes on in clear", standard: "RFC 4217 section 4; Nessus plugin 57272" },
    FindingKind { id: "ftp-bounce", severity: Severity::Medium, summary: "PORT or EPRT naming a third-party address is accepted: the server would open data connections to other hosts (FTP bounce)", standard: "RFC 2577 section 3; CVE-1999-0017" },
    FindingKind { id: "ccc-accepted", severity: Severity::Medium, summary: "CCC accepted after login: the control channel drops TLS, and commands (with some clients credentials) then travel in clear", standard: "RFC 4217 section 6; PCI DSS 4.0 req. 4.2.1" },
    FindingKind { id: "auth-not-advertised", severity: Severity::Info, summary: "FEAT does not list AUTH TLS, yet AUTH TLS is accepted: clients and scanners that trust FEAT (testssl.sh) report no FTPS here", standard: "RFC 4217 section 4; RFC 2389" },
    FindingKind { id: "data-tls-failed", severity: Severity::Medium, summary: "no TLS session could be set up on the data channel after PROT P", standard: "RFC 4217 section 10" },
];

pub fn catalog_entry(id: &str) -> Option<&'static FindingKind> {
    CATALOG.iter().find(|k| k.id == id)
}

/// Thresholds and overrides; the defaults are the built-in policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Days before notAfter from which `cert-expiring-soon` is raised.
    pub expiry_warn_days: i64,
    /// Severity overrides by finding id.
    pub severities: BTreeMap<String, Severity>,
    /// Findings switched off entirely.
    pub disabled: Vec<String>,
    /// Findings ignored for listed targets (with a reason, until a date).
    pub exceptions: Vec<Exception>,
    /// Accepted TLS versions below this raise findings (`TLSv1.2` by
    /// default: TLS 1.0 and 1.1 do, SSL always does).
    pub min_tls_version: TlsVersion,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub finding: String,
    /// Targets (as written in the input) or IP addresses it applies to.
    pub targets: Vec<String>,
    pub reason: String,
    /// `YYYY-MM-DD`; the exception ends at the start of that day (UTC).
    pub expires: Option<time::Date>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            expiry_warn_days: 30,
            severities: BTreeMap::new(),
            disabled: Vec::new(),
            exceptions: Vec::new(),
            min_tls_version: TlsVersion::Tls12,
        }
    }
}

impl Policy {
    fn severity_of(&self, id: &str) -> Severity {
        self.severities
            .get(id)
            .copied()
            .or_else(|| catalog_entry(id).map(|k| k.severity))
            .unwrap_or(Severity::Medium)
    }

    fn excepted(&self, id: &str, report: &EndpointReport, today: time::Date) -> bool {
        if self.exceptions.is_empty() {
            return false;
        }
        let ip = report.ip.map(|ip| ip.to_string());
        self.exceptions.iter().any(|e| {
            e.finding == id
                && e.expires.is_none_or(|d| today < d)
                && e.targets.iter().any(|t| {
                    *t == report.target
                        || Some(t) == ip.as_ref()
                        || Some(t.as_str()) == report.host.as_deref()
                })
        })
    }

    /// Computes the findings and verdict of a report and stores them in it.
    pub fn apply(&self, report: &mut EndpointReport, today: time::Date) {
        let mut findings = Vec::new();
        for (id, detail) in raw_findings(report, self) {
            if self.disabled.iter().any(|d| d == id) || self.excepted(id, report, today) {
                continue;
            }
            findings.push(Finding {
                id: id.to_string(),
                severity: self.severity_of(id),
                detail,
            });
        }
        // Endpoints that answered are judged by their findings; dead ones
        // could not be assessed.
        let verdict = if report.status.answered() {
            findings_verdict(&findings)
        } else {
            Verdict::Error
        };
        report.findings = findings;
        report.verdict = Some(verdict);
    }
}

/// The verdict findings alone call for: `fail` from a high or critical one,
/// `warn` from a medium one, else `pass`. An endpoint whose assessment
/// stopped early has the verdict `error` whatever its findings; the exit
/// code still weighs the findings it recorded with this.
pub fn findings_verdict(findings: &[Finding]) -> Verdict {
    match findings.iter().map(|f| f.severity).max() {
        Some(s) if s >= Severity::High => Verdict::Fail,
        Some(Severity::Medium) => Verdict::Warn,
        _ => Verdict::Pass,
    }
}

/// Every finding the facts show, before the policy's exceptions: one
/// function per fact family, in the report's order.
fn raw_findings(r: &EndpointReport, policy: &Policy) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    status_findings(r, &mut out);
    if let Some(v) = &r.versions {
        version_findings(v, policy, &mut out);
    }
    if let Some(c) = &r.certificate {
        certificate_findings(c, policy, &mut out);
    }
    if let Some(p) = &r.posture {
        posture_findings(p, &mut out);
    }
    feat_findings(r, &mut out);
    out
}

/// Findings of the endpoint's outcome itself (no TLS, failed handshake...).
fn status_findings(r: &EndpointReport, out: &mut Vec<(&'static str, String)>) {
    match r.status {
        Status::NoTls => out.push(("ftp-no-tls", r.error.clone().unwrap_or_default())),
        Status::TlsFailed => {
            out.push(("tls-handshake-failed", r.error.clone().unwrap_or_default()))
        }
        Status::ClientCertRequired => {
            out.push(("client-cert-required", r.error.clone().unwrap_or_default()))
        }
        Status::NotFtp if r.mode == Mode::Implicit => {
            out.push(("implicit-not-ftp", r.error.clone().unwrap_or_default()))
        }
        _ => {}
    }
}

/// Protocol versions, cipher suites and the probes' anomalies.
fn version_findings(v: &VersionReport, policy: &Policy, out: &mut Vec<(&'static str, String)>) {
    let accepted = |version| v.accepts(version);
    let rejected = |version| v.verdict_of(version) == Some(VersionVerdict::Rejected);
    for (version, id) in [
        (TlsVersion::Ssl2, "sslv2-accepted"),
        (TlsVersion::Ssl3, "sslv3-accepted"),
        (TlsVersion::Tls10, "tls1.0-accepted"),
        (TlsVersion::Tls11, "tls1.1-accepted"),
        (TlsVersion::Tls12, "tls1.2-accepted"),
    ] {
        // The versions are ordered oldest first, so the floor is a bound.
        if accepted(version) && version < policy.min_tls_version {
            out.push((id, format!("{version} accepted")));
        }
    }
    if rejected(TlsVersion::Tls12) {
        out.push(("tls1.2-not-offered", "TLSv1.2 rejected".into()));
    }
    let weak = v.weak_ciphers();
    if !weak.is_empty() {
        out.push(("weak-cipher-accepted", weak.join(";")));
    }
    let no_fs = v.no_fs_ciphers();
    if !no_fs.is_empty() {
        out.push(("no-forward-secrecy", no_fs.join(";")));
    }
    for anomaly in &v.anomalies {
        let id = match anomaly {
            VersionAnomaly::Intolerance { .. } => "tls-version-intolerance",
            VersionAnomaly::Probe(_) => "tls-anomaly",
        };
        out.push((id, anomaly.to_string()));
    }
}

/// The certificate: dates, self-signature, key, signature, trust, name.
fn certificate_findings(
    c: &CertificateReport,
    policy: &Policy,
    out: &mut Vec<(&'static str, String)>,
) {
    if c.parse_error.is_none() {
        let days = c.days_left.unwrap_or_default();
        if c.expired {
            out.push(("cert-expired", format!("expired {} days ago", -days)));
        } else if days < policy.expiry_warn_days {
            out.push(("cert-expiring-soon", format!("{days} days left")));
        }
        if c.not_yet_valid {
            out.push((
                "cert-not-yet-valid",
                format!("valid from {}", c.not_before.clone().unwrap_or_default()),
            ));
        }
        if c.self_signed {
            out.push(("cert-self-signed", c.subject.clone()));
        }
        let weak_key = match (c.key.split('-').next(), c.key_bits) {
            (Some("RSA"), Some(bits)) => bits < 2048,
            (Some("EC"), Some(bits)) => bits < 256,
            (Some("DSA"), _) => true,
            _ => false,
        };
        if weak_key {
            out.push(("cert-weak-key", c.key.clone()));
        }
        let sig = c.signature.to_ascii_lowercase();
        if sig.contains("sha1") || sig.contains("md5") || sig.contains("md2") {
            out.push(("cert-weak-signature", c.signature.clone()));
        }
    }
    // Expiry and not-yet-valid have findings of their own; untrusted is
    // for chains that fail for another reason.
    if c.untrusted_beyond_dates() && !c.self_signed {
        let why = c.trust_error.as_ref().map(|t| t.to_string());
        out.push(("cert-untrusted", why.unwrap_or_default()));
    }
    if c.name_match == Some(false) {
        out.push((
            "cert-name-mismatch",
            format!(
                "not valid for {}",
                c.name_checked.clone().unwrap_or_default()
            ),
        ));
    }
}

/// The FTP posture: cleartext ways, passive mode, the data channel, bounce, CCC.
fn posture_findings(p: &Posture, out: &mut Vec<(&'static str, String)>) {
    use crate::model::posture::{
        Ccc, CleartextAfterAuth, CleartextLogin, DataTls, FtpBounce, PassivePort, ProtC,
    };
    if p.cleartext_login == Some(CleartextLogin::Allowed) {
        out.push((
            "cleartext-login-allowed",
            p.cleartext_login_reply
                .as_ref()
                .map(|x| x.to_string())
                .unwrap_or_default(),
        ));
    }
    if p.prot_c == Some(ProtC::Accepted) {
        out.push((
            "cleartext-data-allowed",
            format!(
                "a cleartext transfer completed after PROT C ({})",
                p.prot_c_transfer_reply
                    .as_ref()
                    .map(|x| x.to_string())
                    .unwrap_or_default()
            ),
        ));
    }
    if p.pasv_unspecified_address == Some(true) {
        out.push(("pasv-unspecified-address", "PASV advertised 0.0.0.0".into()));
    } else if p.pasv_private_address == Some(true) {
        out.push((
            "pasv-private-address",
            p.pasv_address.clone().unwrap_or_default(),
        ));
    } else if p.pasv_address_mismatch == Some(true) {
        out.push((
            "pasv-address-mismatch",
            p.pasv_address.clone().unwrap_or_default(),
        ));
    }
    if let Some(reach @ (PassivePort::Refused | PassivePort::Timeout | PassivePort::Unreachable)) =
        p.passive_port
    {
        out.push((
            "passive-port-unreachable",
            format!(
                "port {} {}",
                p.pasv_port
                    .or(p.epsv_port)
                    .map(|x| x.to_string())
                    .unwrap_or_default(),
                reach
            ),
        ));
    }
    if p.data_tls_reuse_required == Some(true) {
        out.push((
            "data-tls-reuse-required",
            p.data_tls_fresh_reply.clone().unwrap_or_default(),
        ));
    }
    if p.data_tls == Some(DataTls::Failed) {
        out.push((
            "data-tls-failed",
            p.data_tls_reply.clone().unwrap_or_default(),
        ));
    }
    if p.cleartext_after_auth == Some(CleartextAfterAuth::Accepted) {
        out.push((
            "cleartext-after-auth",
            reply_or(
                &p.cleartext_after_auth_reply,
                &p.cleartext_after_auth_reason,
            ),
        ));
    }
    if p.ftp_bounce == Some(FtpBounce::Accepted) {
        let accepted: Vec<String> = [&p.ftp_bounce_port_reply, &p.ftp_bounce_eprt_reply]
            .into_iter()
            .flatten()
            .filter(|x| x.class() == 2)
            .map(|x| x.to_string())
            .collect();
        out.push((
            "ftp-bounce",
            format!(
                "{} accepted: {}",
                p.ftp_bounce_address.clone().unwrap_or_default(),
                accepted.join("; ")
            ),
        ));
    }
    if p.ccc == Some(Ccc::Accepted) {
        out.push(("ccc-accepted", reply_or(&p.ccc_reply, &p.ccc_reason)));
    }
}

/// What FEAT says against what the server does.
fn feat_findings(r: &EndpointReport, out: &mut Vec<(&'static str, String)>) {
    if r.mode == Mode::Explicit
        && r.ftp.auth_tls_in_feat == Some(false)
        && r.ftp.auth_tls_reply.as_ref().is_some_and(|a| a.code == 234)
    {
        out.push((
            "auth-not-advertised",
            "FEAT lacks AUTH TLS; AUTH TLS answered 234".into(),
        ));
    }
}

/// A reply's text, else the reason.
fn reply_or(reply: &Option<crate::ftp::Reply>, reason: &Option<String>) -> String {
    reply
        .as_ref()
        .map(|x| x.to_string())
        .or_else(|| reason.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tls::{TrustReason, VersionReport, VersionResult};
    use crate::model::Phase;
    use crate::probe::posture::{
        Ccc, CleartextAfterAuth, CleartextLogin, DataTls, FtpBounce, PassivePort, Posture, ProtC,
    };
    use crate::tls::cert::CertificateReport;

    /// An `ok` endpoint with a sound certificate and posture: no findings.
    fn clean() -> EndpointReport {
        let versions = TlsVersion::ALL
            .into_iter()
            .map(|v| VersionResult {
                verdict: if v >= TlsVersion::Tls12 {
                    VersionVerdict::Accepted
                } else {
                    VersionVerdict::Rejected
                },
                ..VersionResult::new(v)
            })
            .collect();
        EndpointReport {
            status: Status::Ok,
            certificate: Some(CertificateReport {
                subject: "CN=ftp.example".into(),
                days_left: Some(200),
                trusted: true,
                name_match: Some(true),
                key: "EC-P256".into(),
                key_bits: Some(256),
                signature: "ecdsa-with-SHA256".into(),
                ..Default::default()
            }),
            versions: Some(VersionReport {
                results: versions,
                ..Default::default()
            }),
            posture: Some(Posture {
                cleartext_login: Some(CleartextLogin::Refused),
                prot_c: Some(ProtC::Refused),
                pasv_address: Some("192.0.2.1".into()),
                pasv_address_mismatch: Some(false),
                pasv_private_address: Some(false),
                pasv_unspecified_address: Some(false),
                passive_port: Some(PassivePort::Reachable),
                data_tls: Some(DataTls::Ok),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn ids(mut r: EndpointReport, policy: &Policy) -> Vec<String> {
        let today = time::Date::from_calendar_date(2026, time::Month::November, 20)
            .unwrap_or(time::Date::MIN);
        policy.apply(&mut r, today);
        r.findings.into_iter().map(|f| f.id).collect()
    }

    fn version(r: &mut EndpointReport, version: TlsVersion, verdict: &str) {
        if let Some(v) = r
            .versions
            .as_mut()
            .and_then(|v| v.results.iter_mut().find(|x| x.version == version))
        {
            v.verdict = VersionVerdict::from_label(verdict).expect("a version verdict");
        }
    }

    #[test]
    fn each_finding_comes_from_its_fact_alone() {
        let p = Policy::default();
        assert_eq!(
            ids(clean(), &p),
            Vec::<String>::new(),
            "the clean report raises nothing"
        );
        type Tweak = fn(&mut EndpointReport);
        let cases: Vec<(&str, Tweak)> = vec![
            ("ftp-no-tls", |r| r.status = Status::NoTls),
            ("tls-handshake-failed", |r| r.status = Status::TlsFailed),
            ("client-cert-required", |r| {
                r.status = Status::ClientCertRequired
            }),
            ("data-tls-reuse-required", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.data_tls_reuse_required = Some(true);
                }
            }),
            ("implicit-not-ftp", |r| {
                r.status = Status::NotFtp;
                r.mode = crate::model::Mode::Implicit;
                r.failed_phase = Some(Phase::GreetingAfterTls);
            }),
            ("sslv2-accepted", |r| {
                version(r, TlsVersion::Ssl2, "accepted")
            }),
            ("sslv3-accepted", |r| {
                version(r, TlsVersion::Ssl3, "accepted")
            }),
            ("tls1.0-accepted", |r| {
                version(r, TlsVersion::Tls10, "accepted")
            }),
            ("tls1.1-accepted", |r| {
                version(r, TlsVersion::Tls11, "accepted")
            }),
            ("tls1.2-not-offered", |r| {
                version(r, TlsVersion::Tls12, "rejected")
            }),
            ("weak-cipher-accepted", |r| {
                if let Some(v) = r.versions.as_mut().and_then(|v| v.results.get_mut(4)) {
                    v.weak_ciphers = vec!["TLS_RSA_WITH_RC4_128_SHA".into()];
                }
            }),
            ("no-forward-secrecy", |r| {
                if let Some(v) = r.versions.as_mut().and_then(|v| v.results.get_mut(4)) {
                    v.no_fs_ciphers = vec!["TLS_RSA_WITH_AES_128_GCM_SHA256".into()];
                }
            }),
            ("tls-version-intolerance", |r| {
                if let Some(v) = r.versions.as_mut() {
                    v.anomalies.push(VersionAnomaly::Intolerance {
                        probe: TlsVersion::Tls13,
                        accepted: TlsVersion::Tls12,
                    });
                }
            }),
            ("tls-anomaly", |r| {
                if let Some(v) = r.versions.as_mut() {
                    v.anomalies.push(VersionAnomaly::Probe(
                        "TLSv1.2: chosen suite was not offered".into(),
                    ));
                }
            }),
            ("cert-expired", |r| {
                if let Some(c) = r.certificate.as_mut() {
                    c.expired = true;
                    c.days_left = Some(-3);
                    c.trusted = false;
                    c.trust_error = Some(TrustReason::Expired.into());
                }
            }),
            ("cert-not-yet-valid", |r| {
                if let Some(c) = r.certificate.as_mut() {
                    c.not_yet_valid = true;
                    c.trusted = false;
                    c.trust_error = Some(TrustReason::NotYetValid.into());
                }
            }),
            ("cert-expiring-soon", |r| {
                if let Some(c) = r.certificate.as_mut() {
                    c.days_left = Some(10);
                }
            }),
            ("cert-untrusted", |r| {
                if let Some(c) = r.certificate.as_mut() {
                    c.trusted = false;
                    c.trust_error = Some(TrustReason::UnknownIssuer.into());
                }
            }),
            ("cert-self-signed", |r| {
                if let Some(c) = r.certificate.as_mut() {
                    c.self_signed = true;
                    c.trusted = false;
                    c.trust_error = Some(TrustReason::UnknownIssuer.into());
                }
            }),
            ("cert-name-mismatch", |r| {
                if let Some(c) = r.certificate.as_mut() {
                    c.name_match = Some(false);
                }
            }),
            ("cert-weak-key", |r| {
                if let Some(c) = r.certificate.as_mut() {
                    c.key = "RSA-1024".into();
                    c.key_bits = Some(1024);
                }
            }),
            ("cert-weak-signature", |r| {
                if let Some(c) = r.certificate.as_mut() {
                    c.signature = "sha1WithRSAEncryption".into();
                }
            }),
            ("cleartext-login-allowed", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.cleartext_login = Some(CleartextLogin::Allowed);
                }
            }),
            ("cleartext-data-allowed", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.prot_c = Some(ProtC::Accepted);
                }
            }),
            ("pasv-address-mismatch", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.pasv_address_mismatch = Some(true);
                }
            }),
            ("pasv-private-address", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.pasv_address_mismatch = Some(true);
                    p.pasv_private_address = Some(true);
                }
            }),
            ("pasv-unspecified-address", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.pasv_address_mismatch = Some(true);
                    p.pasv_unspecified_address = Some(true);
                }
            }),
            ("passive-port-unreachable", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.passive_port = Some(PassivePort::Timeout);
                }
            }),
            ("data-tls-failed", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.data_tls = Some(DataTls::Failed);
                }
            }),
            ("cleartext-after-auth", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.cleartext_after_auth = Some(CleartextAfterAuth::Accepted);
                }
            }),
            ("ftp-bounce", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.ftp_bounce = Some(FtpBounce::Accepted);
                }
            }),
            ("ccc-accepted", |r| {
                if let Some(p) = r.posture.as_mut() {
                    p.ccc = Some(Ccc::Accepted);
                }
            }),
            ("auth-not-advertised", |r| {
                r.ftp.auth_tls_in_feat = Some(false);
                r.ftp.auth_tls_reply = Some(crate::ftp::Reply {
                    code: 234,
                    lines: vec!["Proceed with negotiation.".into()],
                    truncated: false,
                });
            }),
        ];
        for (id, tweak) in &cases {
            let mut r = clean();
            tweak(&mut r);
            assert_eq!(ids(r, &p), vec![id.to_string()], "{id}");
        }
        // Every catalogued finding has its case (tls1.2-accepted needs a policy).
        for kind in CATALOG {
            if kind.id != "tls1.2-accepted" {
                assert!(
                    cases.iter().any(|(id, _)| *id == kind.id),
                    "no test for {}",
                    kind.id
                );
            }
        }
        let strict = Policy {
            min_tls_version: TlsVersion::Tls13,
            ..Policy::default()
        };
        assert_eq!(ids(clean(), &strict), vec!["tls1.2-accepted"]);
    }

    #[test]
    fn every_unreachable_passive_outcome_is_a_finding() {
        for outcome in [
            PassivePort::Refused,
            PassivePort::Timeout,
            PassivePort::Unreachable,
        ] {
            let mut r = clean();
            if let Some(p) = r.posture.as_mut() {
                p.passive_port = Some(outcome);
            }
            assert_eq!(
                ids(r, &Policy::default()),
                vec!["passive-port-unreachable"],
                "{outcome}"
            );
        }
    }

    #[test]
    fn verdicts_follow_severities_and_status() {
        let mut r = clean();
        Policy::default().apply(&mut r, time::Date::MIN);
        assert_eq!(r.verdict, Some(Verdict::Pass));
        let mut r = clean();
        if let Some(c) = r.certificate.as_mut() {
            c.days_left = Some(5);
        }
        Policy::default().apply(&mut r, time::Date::MIN);
        assert_eq!(r.verdict, Some(Verdict::Warn));
        let mut r = clean();
        version(&mut r, TlsVersion::Tls10, "accepted");
        Policy::default().apply(&mut r, time::Date::MIN);
        assert_eq!(r.verdict, Some(Verdict::Fail));
        let mut r = clean();
        r.status = Status::Refused;
        Policy::default().apply(&mut r, time::Date::MIN);
        assert_eq!(r.verdict, Some(Verdict::Error));
    }

    #[test]
    fn exceptions_apply_to_their_targets_until_they_expire() {
        let mut policy = Policy::default();
        policy.exceptions.push(Exception {
            finding: "cleartext-login-allowed".into(),
            targets: vec!["192.0.2.9".into()],
            reason: "legacy partner".into(),
            expires: time::Date::from_calendar_date(2027, time::Month::January, 1).ok(),
        });
        let make = |ip: &str| {
            let mut r = clean();
            r.ip = ip.parse().ok();
            if let Some(p) = r.posture.as_mut() {
                p.cleartext_login = Some(CleartextLogin::Allowed);
            }
            r
        };
        assert!(ids(make("192.0.2.9"), &policy).is_empty(), "excepted");
        assert_eq!(
            ids(make("192.0.2.10"), &policy),
            vec!["cleartext-login-allowed"],
            "another target"
        );
        let mut late = make("192.0.2.9");
        policy.apply(
            &mut late,
            time::Date::from_calendar_date(2027, time::Month::January, 1)
                .unwrap_or(time::Date::MAX),
        );
        assert_eq!(late.findings.len(), 1, "expired exception");
    }
}
