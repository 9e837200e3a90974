//! `--prom`: a Prometheus textfile for node_exporter's textfile collector.
//!
//! Names follow the Prometheus conventions: the `ftps_scan_` prefix, base
//! units (`_seconds`, timestamps as Unix seconds), `_info` for a constant 1
//! carrying descriptive labels, and one series per value for states
//! (`verdict="fail"` 1, the others 0) so that alerts need no regex. Every
//! endpoint series carries the same identity labels (`target`, `host`,
//! `ip`, `port`, `mode`); descriptive facts that change (status, TLS
//! version, fingerprint) live on `ftps_scan_endpoint_info` only.
//!
//! Label values are server-influenced (a target a user wrote, a status)
//! and are escaped per the exposition format (`\\`, `\"`, `\n`) after
//! control characters are made visible ([`visible`]).

use super::escape::visible;
use super::{in_input_order, EndpointReport, RunInfo};
use crate::model::tls::{TlsVersion, VersionVerdict};
use crate::policy::{Severity, Verdict};
use std::collections::HashSet;
use std::fmt::Write;
use time::format_description::well_known::Rfc3339;

const VERDICTS: [Verdict; 4] = [Verdict::Pass, Verdict::Warn, Verdict::Fail, Verdict::Error];

/// A label value in the exposition format: controls made visible, then
/// backslash, double quote and line feed escaped.
pub fn label_value(text: &str) -> String {
    visible(text)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One metric family: its HELP and TYPE, then its samples.
struct Family {
    name: &'static str,
    help: &'static str,
    kind: &'static str,
    samples: Vec<(String, String)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Self {
            name,
            help,
            kind,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: &str, value: impl ToString) {
        self.samples.push((labels.to_string(), value.to_string()));
    }

    fn write(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (labels, value) in &self.samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{} {value}", self.name);
            } else {
                let _ = writeln!(out, "{}{{{labels}}} {value}", self.name);
            }
        }
    }
}

/// `name="value",...` from pairs, values escaped.
fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", label_value(v)))
        .collect::<Vec<_>>()
        .join(",")
}

fn bit(b: bool) -> u8 {
    u8::from(b)
}

/// The whole textfile.
pub fn render(reports: &[EndpointReport], run: &RunInfo) -> String {
    use Family as F;
    let mut run_ts = F::new(
        "ftps_scan_run_timestamp_seconds",
        "gauge",
        "When the scan run started (Unix time).",
    );
    let mut run_duration = F::new(
        "ftps_scan_run_duration_seconds",
        "gauge",
        "How long the scan run took.",
    );
    let mut run_endpoints = F::new(
        "ftps_scan_run_endpoints",
        "gauge",
        "Endpoints reported by the run.",
    );
    let mut run_interrupted = F::new(
        "ftps_scan_run_interrupted",
        "gauge",
        "1 when a signal cut the run short (the file is then partial).",
    );
    let mut run_input_errors = F::new(
        "ftps_scan_run_input_errors",
        "gauge",
        "Target lines that could not be used.",
    );
    let mut info = F::new(
        "ftps_scan_endpoint_info",
        "gauge",
        "Constant 1; labels describe the endpoint's outcome.",
    );
    let mut success = F::new(
        "ftps_scan_endpoint_success",
        "gauge",
        "1 when the endpoint was assessed (its verdict is not error).",
    );
    let mut duration = F::new(
        "ftps_scan_endpoint_duration_seconds",
        "gauge",
        "How long the endpoint's scan took.",
    );
    let mut verdict = F::new(
        "ftps_scan_endpoint_verdict",
        "gauge",
        "1 for the endpoint's verdict, 0 for the others.",
    );
    let mut findings = F::new(
        "ftps_scan_endpoint_findings",
        "gauge",
        "Findings of the endpoint by severity.",
    );
    let mut versions = F::new(
        "ftps_scan_endpoint_tls_version_accepted",
        "gauge",
        "1 when the protocol version was accepted, 0 when rejected (absent: unknown or not probed).",
    );
    let mut expiry = F::new(
        "ftps_scan_certificate_expiry_timestamp_seconds",
        "gauge",
        "The leaf certificate's notAfter (Unix time).",
    );
    // In seconds, not days: Prometheus wants base units (promtool's lint
    // refuses `_days`); days are `/ 86400` away in PromQL.
    let mut remaining = F::new(
        "ftps_scan_certificate_expiry_remaining_seconds",
        "gauge",
        "Seconds from the start of the run to the leaf certificate's notAfter (negative when expired).",
    );
    let mut trusted = F::new(
        "ftps_scan_certificate_trusted",
        "gauge",
        "1 when the certificate chain leads to a trusted root.",
    );
    run_ts.add("", run.started_unix);
    run_duration.add("", format!("{:.3}", run.duration.as_secs_f64()));
    run_interrupted.add("", bit(run.interrupted));
    run_input_errors.add("", run.input_errors);
    let mut seen = HashSet::new();
    for r in in_input_order(reports) {
        let ip = r.ip.map(|ip| ip.to_string()).unwrap_or_default();
        let port = r.port.to_string();
        let host = r.host.clone().unwrap_or_default();
        let id_pairs = [
            ("target", r.target.as_str()),
            ("host", host.as_str()),
            ("ip", ip.as_str()),
            ("port", port.as_str()),
            ("mode", r.mode.as_str()),
        ];
        let id = labels(&id_pairs);
        // A target listed twice gives the same series once: duplicates
        // would make the whole file unreadable to the collector.
        if !seen.insert(id.clone()) {
            continue;
        }
        let with = |extra: &[(&str, &str)]| {
            let mut all = id_pairs.to_vec();
            all.extend_from_slice(extra);
            labels(&all)
        };
        let v = r.verdict.unwrap_or(Verdict::Error);
        info.add(
            &with(&[
                ("status", r.status.as_str()),
                ("verdict", &v.to_string()),
                (
                    "tls_version",
                    r.tls.as_ref().map(|t| t.version.as_str()).unwrap_or(""),
                ),
                (
                    "cert_sha256",
                    r.certificate
                        .as_ref()
                        .map(|c| c.sha256.as_str())
                        .unwrap_or(""),
                ),
            ]),
            1,
        );
        success.add(&id, bit(v != Verdict::Error));
        duration.add(&id, format!("{:.3}", r.duration_ms as f64 / 1000.0));
        for each in VERDICTS {
            verdict.add(&with(&[("verdict", &each.to_string())]), bit(each == v));
        }
        for s in Severity::ALL {
            let n = r.findings.iter().filter(|f| f.severity == s).count();
            findings.add(&with(&[("severity", s.as_str())]), n);
        }
        if let Some(report) = &r.versions {
            for version in TlsVersion::ALL {
                let name = version.as_str();
                match report.verdict_of(version) {
                    Some(VersionVerdict::Accepted) => versions.add(&with(&[("version", name)]), 1),
                    Some(VersionVerdict::Rejected) => versions.add(&with(&[("version", name)]), 0),
                    _ => {}
                }
            }
        }
        if let Some(c) = &r.certificate {
            let not_after = c
                .not_after
                .as_deref()
                .and_then(|t| time::OffsetDateTime::parse(t, &Rfc3339).ok());
            if let Some(t) = not_after {
                expiry.add(&id, t.unix_timestamp());
                remaining.add(&id, t.unix_timestamp() - run.started_unix);
            }
            if c.parse_error.is_none() {
                trusted.add(&id, bit(c.trusted));
            }
        }
    }
    run_endpoints.add("", seen.len());
    let mut out = String::new();
    for family in [
        &run_ts,
        &run_duration,
        &run_endpoints,
        &run_interrupted,
        &run_input_errors,
        &info,
        &success,
        &duration,
        &verdict,
        &findings,
        &versions,
        &expiry,
        &remaining,
        &trusted,
    ] {
        family.write(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_per_the_exposition_format() {
        assert_eq!(label_value(r#"a"b\c"#), r#"a\"b\\c"#);
        // A raw line feed would end the sample; a control is made visible
        // first, and its backslash escaped.
        assert_eq!(label_value("x\ny\u{1b}"), "x\\\\x0ay\\\\x1b");
        assert!(!label_value("\u{9b}\u{7f}").chars().any(char::is_control));
    }
}
