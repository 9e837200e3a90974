//! `--prom`: the real binary's textfile checked by an independent parser
//! (`promtool check metrics`, Debian's `prometheus` package, which also
//! lints names against the Prometheus conventions), read back sample by
//! sample against the JSON report, and replaced atomically.

use crate::support;

use ftps_scan::EndpointReport;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};

fn promtool_check(path: &Path) {
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::from(std::fs::File::open(path).unwrap()))
        .output()
        .expect("run promtool");
    assert!(
        out.status.success(),
        "promtool: {}{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap()
    );
}

/// Samples by metric name: (labels, value).
type Samples = HashMap<String, Vec<(HashMap<String, String>, f64)>>;

/// The samples of a plainly written file (no escapes in the label values,
/// as the demo's are).
fn samples(text: &str) -> Samples {
    let mut out: HashMap<String, Vec<_>> = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once("=\"").unwrap();
                (k.to_string(), v.trim_end_matches('"').to_string())
            })
            .collect();
        out.entry(name.to_string())
            .or_default()
            .push((labels, value.parse().unwrap()));
    }
    out
}

fn of(all: &Samples, name: &str, r: &EndpointReport, extra: &[(&str, &str)]) -> Option<f64> {
    all.get(name)?
        .iter()
        .find(|(labels, _)| {
            labels["port"] == r.port.to_string()
                && labels["mode"] == r.mode.as_str()
                && extra
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, v)| *v)
}

#[tokio::test]
async fn the_textfile_parses_and_says_what_the_json_says() {
    if !support::tool_available("promtool", "apt-get install prometheus; .ci/run does") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("ftps.prom");
    let jsonl = dir.path().join("r.jsonl");
    // An older file is replaced by a rename, not rewritten in place: a
    // collector reading it meanwhile sees the old file whole.
    std::fs::write(&prom, "old\n").unwrap();
    use std::os::unix::fs::MetadataExt;
    let old_inode = std::fs::metadata(&prom).unwrap().ino();
    let out = support::run_demo(&[
        "--prom".into(),
        prom.display().to_string(),
        "--jsonl".into(),
        jsonl.display().to_string(),
    ])
    .await;
    assert!(out.status.success(), "{out:?}");
    assert_ne!(std::fs::metadata(&prom).unwrap().ino(), old_inode);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // The prom file, the JSON Lines report and its run record.
    assert_eq!(names.len(), 3, "no temporary file left: {names:?}");
    promtool_check(&prom);

    let text = std::fs::read_to_string(&prom).unwrap();
    let all = samples(&text);
    let reports = support::read_jsonl(&jsonl);
    assert_eq!(all["ftps_scan_run_endpoints"][0].1, reports.len() as f64);
    assert_eq!(all["ftps_scan_run_interrupted"][0].1, 0.0);
    for r in &reports {
        let verdict = r.verdict.unwrap().to_string();
        for v in ["pass", "warn", "fail", "error"] {
            let want = if v == verdict { 1.0 } else { 0.0 };
            assert_eq!(
                of(&all, "ftps_scan_endpoint_verdict", r, &[("verdict", v)]),
                Some(want)
            );
        }
        assert_eq!(
            of(
                &all,
                "ftps_scan_endpoint_info",
                r,
                &[("status", r.status.as_str())]
            ),
            Some(1.0)
        );
        assert_eq!(
            of(&all, "ftps_scan_endpoint_success", r, &[]),
            Some(if verdict == "error" { 0.0 } else { 1.0 })
        );
        let high = r
            .findings
            .iter()
            .filter(|f| f.severity == ftps_scan::policy::Severity::High)
            .count();
        assert_eq!(
            of(
                &all,
                "ftps_scan_endpoint_findings",
                r,
                &[("severity", "high")]
            ),
            Some(high as f64)
        );
        if let Some(v) = &r.versions {
            for name in ["SSLv3", "TLSv1.2", "TLSv1.3"] {
                let version = ftps_scan::model::tls::TlsVersion::from_label(name).unwrap();
                let want = match v.verdict_of(version).map(|v| v.as_str()) {
                    Some("accepted") => Some(1.0),
                    Some("rejected") => Some(0.0),
                    _ => None,
                };
                let got = of(
                    &all,
                    "ftps_scan_endpoint_tls_version_accepted",
                    r,
                    &[("version", name)],
                );
                assert_eq!(got, want, "{name}");
            }
        }
        match &r.certificate {
            Some(c) => {
                let not_after = time::OffsetDateTime::parse(
                    c.not_after.as_deref().unwrap(),
                    &time::format_description::well_known::Rfc3339,
                )
                .unwrap();
                assert_eq!(
                    of(
                        &all,
                        "ftps_scan_certificate_expiry_timestamp_seconds",
                        r,
                        &[]
                    ),
                    Some(not_after.unix_timestamp() as f64)
                );
                let left = of(
                    &all,
                    "ftps_scan_certificate_expiry_remaining_seconds",
                    r,
                    &[],
                )
                .unwrap();
                let days = c.days_left.unwrap() as f64;
                assert!((left / 86400.0 - days).abs() <= 1.0, "{left} s vs {days} d");
                assert_eq!(
                    of(&all, "ftps_scan_certificate_trusted", r, &[]),
                    Some(if c.trusted { 1.0 } else { 0.0 })
                );
            }
            None => {
                assert_eq!(
                    of(
                        &all,
                        "ftps_scan_certificate_expiry_timestamp_seconds",
                        r,
                        &[]
                    ),
                    None
                );
            }
        }
    }
}

#[test]
fn escaped_label_values_parse_as_the_text_they_were() {
    if !support::tool_available("promtool", "apt-get install prometheus; .ci/run does") {
        return;
    }
    // Quotes, backslashes, a line feed and a terminal escape in a label
    // value (a target as written, a status): one valid sample, nothing raw.
    let escaped = ftps_scan::report::prom::label_value("a\"b\\c\n\u{1b}[2J\u{9b}");
    assert!(!escaped.chars().any(char::is_control), "{escaped}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("escaped.prom");
    std::fs::write(
        &file,
        format!("# HELP ftps_scan_x x\n# TYPE ftps_scan_x gauge\nftps_scan_x{{target=\"{escaped}\"}} 1\n"),
    )
    .unwrap();
    promtool_check(&file);
}
