//! Version verdicts and cipher enumeration from the real binary against
//! `openssl s_server` pinned to versions (the implicit path: TLS from the
//! first byte). The CSV and JSON Lines must carry the verdicts.

use crate::support::Scan;

use crate::support::openssl::start_server;
use std::collections::HashMap;

fn s(v: &str) -> String {
    v.to_string()
}

/// Scans `ftps://addr` and returns the CSV row and the JSON report.
async fn scan(
    addr: std::net::SocketAddr,
    extra: &[&str],
) -> (HashMap<String, String>, ftps_scan::EndpointReport) {
    let args = [&["--read-timeout", "1", "--tls-timeout", "3"], extra].concat();
    let scan = Scan::new().target(format!("ftps://{addr}")).args(args);
    let (code, row, report) = scan.run().await.one();
    assert!(code.is_some(), "the scan ended by itself");
    (row, report)
}

fn versions(row: &HashMap<String, String>) -> Vec<(&'static str, String)> {
    ["sslv2", "sslv3", "tls1_0", "tls1_1", "tls1_2", "tls1_3"]
        .into_iter()
        .map(|c| (c, row[c].clone()))
        .collect()
}

fn expect(accepted: &[&str]) -> Vec<(&'static str, String)> {
    ["sslv2", "sslv3", "tls1_0", "tls1_1", "tls1_2", "tls1_3"]
        .into_iter()
        .map(|c| {
            (
                c,
                if accepted.contains(&c) {
                    s("accepted")
                } else {
                    s("rejected")
                },
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_only() {
    let server = start_server(&["-tls1_2"]).await;
    let (row, report) = scan(server.addr, &[]).await;
    assert_eq!(versions(&row), expect(&["tls1_2"]));
    // s_server speaks TLS but sends no FTP greeting.
    assert_eq!(row["status"], "not-ftp");
    assert_eq!(row["failed_phase"], "greeting-after-tls");
    assert_eq!(row["tls_version"], "TLSv1.2");
    let v = report.versions.unwrap();
    let tls13 = v
        .results
        .iter()
        .find(|r| r.version.as_str() == "TLSv1.3")
        .unwrap();
    assert_eq!(
        tls13.evidence["alert"]["description"], 70,
        "{:?}",
        tls13.evidence
    );
    assert!(row["findings"].contains("implicit-not-ftp"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls10_only_gets_its_certificate_from_the_legacy_probe() {
    let server = start_server(&["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]).await;
    let (row, report) = scan(server.addr, &[]).await;
    assert_eq!(versions(&row), expect(&["tls1_0"]));
    // rustls speaks only 1.2 and 1.3, so the main session fails ...
    assert_eq!(row["status"], "tls-failed");
    assert_eq!(row["failed_phase"], "tls-handshake");
    // ... yet the certificate is judged, from the TLS 1.0 probe's flight.
    assert_eq!(row["cert_subject"], "CN=tlsprobe.test");
    assert_eq!(row["cert_self_signed"], "yes");
    assert_eq!(row["cert_key"], "RSA-2048");
    assert_eq!(row["cert_signature"], "sha256WithRSAEncryption");
    let cert = report.certificate.as_ref().unwrap();
    assert_eq!(cert.source, "TLSv1.0 probe");
    assert_eq!(hex_der(&server.leaf_der), cert.sha256);
    let findings = row["findings"].split(';').collect::<Vec<_>>();
    assert!(findings.contains(&"tls1.0-accepted"), "{findings:?}");
    assert!(findings.contains(&"tls1.2-not-offered"), "{findings:?}");
    assert!(findings.contains(&"tls-handshake-failed"), "{findings:?}");
    // TLS 1.1 and 1.2 probes were answered with a TLS 1.0 ServerHello.
    let v = report.versions.unwrap();
    let tls12 = v
        .results
        .iter()
        .find(|r| r.version.as_str() == "TLSv1.2")
        .unwrap();
    assert_eq!(
        tls12.evidence["version_answered_name"], "TLSv1.0",
        "{:?}",
        tls12.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tls_version_at_seclevel_0() {
    let server = start_server(&[
        "-cipher",
        "DEFAULT@SECLEVEL=0",
        "-min_protocol",
        "TLSv1",
        "-max_protocol",
        "TLSv1.3",
    ])
    .await;
    let (row, report) = scan(server.addr, &[]).await;
    assert_eq!(
        versions(&row),
        expect(&["tls1_0", "tls1_1", "tls1_2", "tls1_3"])
    );
    assert_eq!(row["tls_version"], "TLSv1.3");
    let v = report.versions.unwrap();
    let tls12 = v
        .results
        .iter()
        .find(|r| r.version.as_str() == "TLSv1.2")
        .unwrap();
    assert_eq!(
        tls12.evidence["downgrade_sentinel"], "tls12",
        "{:?}",
        tls12.evidence
    );
    let findings = row["findings"].split(';').collect::<Vec<_>>();
    assert!(findings.contains(&"tls1.0-accepted") && findings.contains(&"tls1.1-accepted"));
    assert!(!findings.contains(&"tls1.2-not-offered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cipher_enumeration_returns_exactly_the_configured_list() {
    let server = start_server(&[
        "-tls1_2",
        "-cipher",
        "AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384",
    ])
    .await;
    let (row, report) = scan(server.addr, &["--ciphers"]).await;
    assert_eq!(versions(&row), expect(&["tls1_2"]));
    let v = report.versions.unwrap();
    let tls12 = v
        .results
        .iter()
        .find(|r| r.version.as_str() == "TLSv1.2")
        .unwrap();
    let mut accepted = tls12.accepted_ciphers.clone();
    accepted.sort();
    assert_eq!(
        accepted,
        vec![
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_RSA_WITH_AES_128_CBC_SHA"
        ]
    );
    assert_eq!(tls12.cipher_enumeration_complete, Some(true));
    // Static RSA key exchange: no forward secrecy, its own finding, not weak.
    assert_eq!(row["weak_ciphers"], "");
    assert_eq!(tls12.no_fs_ciphers, vec!["TLS_RSA_WITH_AES_128_CBC_SHA"]);
    assert!(row["findings"].contains("no-forward-secrecy"));
    assert!(!row["findings"].contains("weak-cipher-accepted"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_versions_skips_the_probes() {
    let server = start_server(&["-tls1_2"]).await;
    let (row, report) = scan(server.addr, &["--no-versions"]).await;
    assert!(report.versions.is_none());
    assert_eq!(row["tls1_2"], "");
    assert_eq!(row["tls_version"], "TLSv1.2");
}

fn hex_der(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}
