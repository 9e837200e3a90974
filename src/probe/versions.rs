//! Which protocol versions an endpoint accepts, SSLv2 to TLS 1.3, from raw
//! ClientHello probes (see [`crate::tls::raw`]), and optionally which cipher
//! suites per accepted version.
//!
//! Every probe is a fresh connection opened by the one session opener
//! ([`crate::probe::session::Opener`]): for explicit FTPS the greeting, `AUTH
//! TLS` (or `AUTH SSL`) agreed, then the hello; for implicit FTPS the hello
//! right after connect. Connections go through the run's connector, so the
//! per-host cap holds across all probes, and the wait for a slot is not
//! counted against a probe's deadlines.

use crate::model::Mode;
use crate::probe::connector::HostConnection;
use crate::probe::session::{Opener, AUTH_RACE_PAUSE};
use crate::tls::raw::{self, Evidence, ProbeSettings, TlsVersionProbe};
use crate::tls::session::{iana_suite_name, Negotiated};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

pub use crate::model::tls::{VersionAnomaly, VersionReport, VersionResult, VersionVerdict};

/// What the version step needs from the run.
pub struct VersionPlan<'a> {
    pub opener: Opener<'a>,
    pub addr: SocketAddr,
    pub mode: Mode,
    pub sni: Option<String>,
    pub probe_timeout: Duration,
    /// Enumerate cipher suites of each accepted version.
    pub ciphers: bool,
    /// What the endpoint's main session negotiated, when it was established
    /// before the probes started. Its version is accepted by behaviour (a
    /// completed handshake), so no raw probe asks again (one connection and
    /// three round trips fewer per endpoint), unless cipher enumeration,
    /// which starts from that probe, is on.
    pub negotiated: Option<Negotiated>,
}

/// Bounded rounds of cipher enumeration per version (each is a connection):
/// one per accepted suite plus one per group of offered suites (3 for
/// TLS 1.2), enough for a server with every OpenSSL suite switched on.
const MAX_CIPHER_ROUNDS: usize = 160;
/// The raw prober's own cap on "connect and FTP preamble". The opener gives
/// every network wait of the preamble its own deadline, and the wait for a
/// per-host slot must not count (a compliant server with a 9 s greeting
/// behind a busy host slot is not a timeout), so this is only a backstop.
const PREAMBLE_BACKSTOP: Duration = Duration::from_secs(24 * 3600);

/// Probes every version; returns the report and the certificate chain of
/// the first accepted legacy (TLS <= 1.2 or SSLv2) flight, if any.
pub async fn probe_versions(
    plan: &VersionPlan<'_>,
) -> (VersionReport, Option<(String, Vec<Vec<u8>>)>) {
    let settings = ProbeSettings {
        sni: plan.sni.clone(),
        connect_timeout: PREAMBLE_BACKSTOP,
        probe_timeout: plan.probe_timeout,
        max_bytes: raw::probe::DEFAULT_MAX_BYTES,
    };
    let settled = plan.negotiated.filter(|_| !plan.ciphers);
    let probes = TlsVersionProbe::ALL.map(|version| {
        let settings = settings.clone();
        async move {
            if let Some(negotiated) =
                settled.filter(|n| TlsVersionProbe::from_wire(n.version) == Some(version))
            {
                return (
                    version,
                    settled_by_main_session(version, negotiated),
                    None,
                    false,
                );
            }
            let mut connect = || open_for_hello(plan, None);
            let mut report = raw::probe_version(&mut connect, version, &settings).await;
            // FTP text in clear where the TLS answer was due: the server
            // read the hello as a command (the AUTH TLS race). Once more,
            // with a pause after the 234, and the later probes alike.
            let raced = plan.mode == Mode::Explicit
                && report.verdict.verdict == VersionVerdict::Unknown
                && report.verdict.evidence.ftp_reply.is_some();
            let mut paused = || open_for_hello(plan, Some(AUTH_RACE_PAUSE));
            if raced {
                report = raw::probe_version(&mut paused, version, &settings).await;
            }
            let enumeration = if plan.ciphers && report.verdict.verdict == VersionVerdict::Accepted
            {
                Some(if raced {
                    raw::enumerate_ciphers(&mut paused, version, &settings, MAX_CIPHER_ROUNDS).await
                } else {
                    raw::enumerate_ciphers(&mut connect, version, &settings, MAX_CIPHER_ROUNDS)
                        .await
                })
            } else {
                None
            };
            (version, report, enumeration, raced)
        }
    });
    let raced_outcomes = futures::future::join_all(probes).await;
    let mut report = VersionReport::default();
    let mut outcomes = Vec::with_capacity(raced_outcomes.len());
    for (version, probe, enumeration, raced) in raced_outcomes {
        if raced {
            report.auth_tls_race.push(version);
        }
        outcomes.push((version, probe, enumeration));
    }

    let mut legacy_chain = None;
    for (version, probe, enumeration) in &outcomes {
        let verdict = &probe.verdict;
        let mut result = VersionResult {
            verdict: verdict.verdict,
            reason: verdict.reason.clone(),
            evidence: serde_json::to_value(&verdict.evidence).unwrap_or_default(),
            attempts: probe.attempts.len(),
            ..VersionResult::new(*version)
        };
        for anomaly in &verdict.evidence.anomalies {
            report
                .anomalies
                .push(VersionAnomaly::Probe(format!("{version}: {anomaly}")));
        }
        if let Some(e) = enumeration {
            for suite in &e.accepted {
                result.accepted_ciphers.push(suite.name.clone());
                if suite.no_forward_secrecy {
                    result.no_fs_ciphers.push(suite.name.clone());
                }
                if !suite.weaknesses.is_empty() {
                    result.weak_ciphers.push(suite.name.clone());
                    let why: Vec<String> = suite
                        .weaknesses
                        .iter()
                        .map(|w| {
                            serde_json::to_value(w)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default()
                        })
                        .collect();
                    result
                        .weak_reasons
                        .push(format!("{}: {}", suite.name, why.join(", ")));
                }
            }
            for spec in &e.sslv2_specs {
                result.accepted_ciphers.push(spec.name.clone());
                result.weak_ciphers.push(spec.name.clone());
            }
            result.cipher_enumeration_complete = Some(e.complete);
            result.cipher_enumeration_reason = Some(e.stop_reason.clone());
            for anomaly in &e.anomalies {
                report.anomalies.push(VersionAnomaly::Probe(format!(
                    "{version} cipher enumeration: {anomaly}"
                )));
            }
        }
        if verdict.verdict == VersionVerdict::Accepted
            && legacy_chain.is_none()
            && !probe.certificates.is_empty()
        {
            legacy_chain = Some((format!("{version} probe"), probe.certificates.clone()));
        }
        report.results.push(result);
    }
    report.anomalies.extend(intolerance(&outcomes));
    (report, legacy_chain)
}

/// The report of a version the main session negotiated: accepted, with
/// the session's version and suite as evidence, and no connection of its
/// own.
fn settled_by_main_session(
    version: TlsVersionProbe,
    negotiated: Negotiated,
) -> raw::VersionProbeReport {
    let suite = iana_suite_name(rustls::CipherSuite::from(negotiated.cipher));
    let reason = format!("negotiated by the main session ({suite})");
    let evidence = Evidence {
        outcome: MAIN_SESSION_OUTCOME.into(),
        version_answered: Some(negotiated.version),
        version_answered_name: Some(version.to_string()),
        chosen_cipher: Some(negotiated.cipher),
        chosen_cipher_name: Some(suite),
        ..Evidence::default()
    };
    raw::VersionProbeReport {
        verdict: raw::VersionVerdict {
            version,
            verdict: VersionVerdict::Accepted,
            reason,
            evidence,
        },
        attempts: Vec::new(),
        certificates: Vec::new(),
    }
}

/// The evidence `outcome` of a version the main session settled.
pub const MAIN_SESSION_OUTCOME: &str = "main-session";

type Outcome = (
    TlsVersionProbe,
    raw::VersionProbeReport,
    Option<raw::CipherEnumeration>,
);

/// Version intolerance: a higher version answered by a silent close (no
/// alert, no ServerHello) while a lower one is accepted. A correct server
/// answers a version it does not speak with an alert or a lower
/// ServerHello.
fn intolerance(outcomes: &[Outcome]) -> Vec<VersionAnomaly> {
    let lowest_accepted = outcomes
        .iter()
        .filter(|(v, p, _)| {
            *v != TlsVersionProbe::Ssl2 && p.verdict.verdict == VersionVerdict::Accepted
        })
        .map(|(v, _, _)| *v)
        .min();
    let Some(accepted) = lowest_accepted else {
        return Vec::new();
    };
    outcomes
        .iter()
        .filter(|(v, p, _)| {
            *v > accepted
                && p.verdict.verdict == VersionVerdict::Rejected
                && matches!(p.verdict.evidence.outcome.as_str(), "closed" | "reset")
                && p.verdict.evidence.bytes_received == 0
        })
        .map(|(v, _, _)| VersionAnomaly::Intolerance {
            probe: *v,
            accepted,
        })
        .collect()
}

/// Opens a connection ready for a ClientHello, through the one session
/// opener; its failures (busy, refused AUTH, timeouts) become I/O errors the
/// raw prober reports as "connect failed", never as a rejected version.
async fn open_for_hello(
    plan: &VersionPlan<'_>,
    pause: Option<Duration>,
) -> io::Result<HostConnection> {
    plan.opener
        .raw_for_hello(plan.addr, plan.mode, pause)
        .await
        .map_err(|f| io::Error::other(f.message))
}
