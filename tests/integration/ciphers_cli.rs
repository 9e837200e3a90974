//! `--ciphers` is complete or says it is not: the real binary against
//! `openssl s_server` pinned to suites the version probe's list lacks
//! (CCM_8, DHE-RSA-ARIA), and against one with every OpenSSL suite on,
//! whose accepted set must equal what `openssl s_client` gets, suite by
//! suite. Static-RSA suites are `no-forward-secrecy`, not weak.

use crate::support::Scan;

use crate::support::openssl::{start_server, OPENSSL};
use ftps_scan::tls::raw::{enumerate_ciphers, ProbeSettings, TlsVersionProbe};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Scans `ftps://addr` with `--ciphers`; the CSV row and the JSON report.
async fn scan(addr: SocketAddr) -> (HashMap<String, String>, ftps_scan::EndpointReport) {
    let args = ["--ciphers", "--read-timeout", "1", "--tls-timeout", "3"];
    let scan = Scan::new().target(format!("ftps://{addr}")).args(args);
    let (code, row, report) = scan.run().await.one();
    assert!(code.is_some(), "the scan ended by itself");
    (row, report)
}

fn result<'a>(
    report: &'a ftps_scan::EndpointReport,
    version: &str,
) -> &'a ftps_scan::probe::versions::VersionResult {
    let v = report.versions.as_ref().unwrap();
    v.results
        .iter()
        .find(|r| r.version.as_str() == version)
        .unwrap()
}

fn sorted(names: &[String]) -> Vec<String> {
    let mut v = names.to_vec();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccm8_and_aria_suites_are_found_and_the_enumeration_is_complete() {
    let server = start_server(&[
        "-tls1_2",
        "-cipher",
        "DHE-RSA-AES128-CCM8:AES256-CCM8:DHE-RSA-ARIA128-GCM-SHA256:@SECLEVEL=0",
    ])
    .await;
    let (row, report) = scan(server.addr).await;
    // None of the three is in the version probe's first hello: TLS 1.2 is
    // accepted through the hellos with the other known suites.
    assert_eq!(row["tls1_2"], "accepted", "{row:?}");
    for column in ["sslv2", "sslv3", "tls1_0", "tls1_1", "tls1_3"] {
        assert_eq!(row[column], "rejected", "{column}");
    }
    let tls12 = result(&report, "TLSv1.2");
    assert_eq!(tls12.attempts, 2, "{tls12:?}");
    assert_eq!(
        sorted(&tls12.accepted_ciphers),
        vec![
            "TLS_DHE_RSA_WITH_AES_128_CCM_8",
            "TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_256_CCM_8",
        ]
    );
    assert_eq!(tls12.cipher_enumeration_complete, Some(true));
    let reason = tls12
        .cipher_enumeration_reason
        .as_deref()
        .unwrap_or_default();
    assert!(
        reason.starts_with("all 338 suites known for TLSv1.2 offered in 3 groups"),
        "{reason}"
    );
    assert_eq!(tls12.no_fs_ciphers, vec!["TLS_RSA_WITH_AES_256_CCM_8"]);
    assert!(tls12.weak_ciphers.is_empty(), "{:?}", tls12.weak_ciphers);
    assert_eq!(row["weak_ciphers"], "");
    let findings: Vec<&str> = row["findings"].split(';').collect();
    assert!(findings.contains(&"no-forward-secrecy"), "{findings:?}");
    assert!(!findings.contains(&"weak-cipher-accepted"), "{findings:?}");
    let no_fs = report
        .findings
        .iter()
        .find(|f| f.id == "no-forward-secrecy")
        .unwrap();
    assert_eq!(no_fs.detail, "TLS_RSA_WITH_AES_256_CCM_8");
    assert_eq!(no_fs.severity, ftps_scan::policy::Severity::Medium);
}

/// OpenSSL's suites for `ALL:COMPLEMENTOFALL:@SECLEVEL=0`: (IANA name,
/// OpenSSL name, lowest protocol).
fn openssl_suites() -> Vec<(String, String, String)> {
    let out = Command::new(OPENSSL)
        .args([
            "ciphers",
            "-V",
            "-stdname",
            "ALL:COMPLEMENTOFALL:@SECLEVEL=0",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(" - ");
            let _id = parts.next()?;
            let iana = parts.next()?.trim().to_string();
            let mut rest = parts.next()?.split_whitespace();
            Some((iana, rest.next()?.to_string(), rest.next()?.to_string()))
        })
        .collect()
}

/// The suites `openssl s_client` completes a handshake with, one suite per
/// connection, with `flag` (`-tls1`, `-tls1_2`) forcing the version.
fn s_client_accepts(
    addr: SocketAddr,
    flag: &str,
    candidates: &[(String, String)],
) -> BTreeSet<String> {
    let accepted = std::sync::Mutex::new(BTreeSet::new());
    std::thread::scope(|scope| {
        for half in candidates.chunks(candidates.len().div_ceil(2).max(1)) {
            let accepted = &accepted;
            scope.spawn(move || {
                for (iana, name) in half {
                    let ok = Command::new(OPENSSL)
                        .args(["s_client", "-connect", &addr.to_string(), flag])
                        .args(["-cipher", &format!("{name}:@SECLEVEL=0")])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .unwrap()
                        .success();
                    if ok {
                        accepted.lock().unwrap().insert(iana.clone());
                    }
                }
            });
        }
    });
    accepted.into_inner().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_openssl_suite_on_the_sets_equal_what_s_client_gets() {
    let server = start_server(&[
        "-min_protocol",
        "TLSv1",
        "-max_protocol",
        "TLSv1.3",
        "-cipher",
        "ALL:COMPLEMENTOFALL:@SECLEVEL=0",
        "-ciphersuites",
        "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256",
    ])
    .await;
    let started = std::time::Instant::now();
    let (row, report) = scan(server.addr).await;
    eprintln!(
        "--ciphers against every OpenSSL suite: {:?}",
        started.elapsed()
    );

    let suites = openssl_suites();
    let pre13: Vec<(String, String)> = suites
        .iter()
        .filter(|(_, _, proto)| proto != "TLSv1.3")
        .map(|(iana, name, _)| (iana.clone(), name.clone()))
        .collect();
    let legacy: Vec<(String, String)> = suites
        .iter()
        .filter(|(_, _, proto)| proto == "SSLv3" || proto == "TLSv1")
        .map(|(iana, name, _)| (iana.clone(), name.clone()))
        .collect();
    for (version, flag, candidates) in [
        ("TLSv1.2", "-tls1_2", &pre13),
        ("TLSv1.0", "-tls1", &legacy),
    ] {
        let expected = s_client_accepts(server.addr, flag, candidates);
        assert!(expected.len() > 15, "{version}: {expected:?}");
        let r = result(&report, version);
        let found: BTreeSet<String> = r.accepted_ciphers.iter().cloned().collect();
        assert_eq!(found, expected, "{version}");
        assert_eq!(
            r.accepted_ciphers.len(),
            found.len(),
            "{version}: no duplicates"
        );
        assert_eq!(r.cipher_enumeration_complete, Some(true), "{version}");
        eprintln!("{version}: {} suites, as s_client", found.len());
    }
    let tls13 = result(&report, "TLSv1.3");
    assert_eq!(
        sorted(&tls13.accepted_ciphers),
        vec![
            "TLS_AES_128_CCM_8_SHA256",
            "TLS_AES_128_CCM_SHA256",
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
        ]
    );
    assert_eq!(tls13.cipher_enumeration_complete, Some(true));

    // Weak means NULL, anonymous, EXPORT, DES, 3DES, RC4, RC2, IDEA or MD5;
    // static RSA alone is not weak but no forward secrecy.
    let tls12 = result(&report, "TLSv1.2");
    let weak_families = ["NULL", "anon", "EXPORT", "DES", "RC4", "RC2", "IDEA", "MD5"];
    for name in &tls12.accepted_ciphers {
        let looks_weak = weak_families.iter().any(|w| name.contains(w));
        assert_eq!(tls12.weak_ciphers.contains(name), looks_weak, "{name}");
        let static_kx = name.starts_with("TLS_RSA_")
            || name.starts_with("TLS_DH_")
            || name.starts_with("TLS_ECDH_");
        let anonymous = name.contains("_anon_");
        assert_eq!(
            tls12.no_fs_ciphers.contains(name),
            static_kx && !anonymous,
            "{name}"
        );
    }
    assert!(tls12
        .no_fs_ciphers
        .contains(&"TLS_RSA_WITH_AES_128_GCM_SHA256".to_string()));
    assert!(!tls12
        .weak_ciphers
        .contains(&"TLS_RSA_WITH_AES_128_GCM_SHA256".to_string()));
    let findings: Vec<&str> = row["findings"].split(';').collect();
    assert!(findings.contains(&"weak-cipher-accepted"));
    assert!(findings.contains(&"no-forward-secrecy"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enumeration_cut_short_says_so_and_what_it_left() {
    let server = start_server(&["-tls1_2", "-cipher", "AES256-CCM8:AES128-SHA:@SECLEVEL=0"]).await;
    let addr = server.addr;
    let mut connect = || tokio::net::TcpStream::connect(addr);
    let settings = ProbeSettings {
        connect_timeout: Duration::from_secs(5),
        probe_timeout: Duration::from_secs(5),
        ..ProbeSettings::default()
    };
    // The first group holds AES128-SHA: accepted, then refused (2 rounds);
    // the limit stops before the groups that hold AES256-CCM8.
    let cut = enumerate_ciphers(&mut connect, TlsVersionProbe::Tls12, &settings, 2).await;
    assert!(!cut.complete, "{cut:?}");
    assert_eq!(cut.rounds, 2);
    assert!(
        cut.stop_reason.contains("round limit 2 reached")
            && cut.stop_reason.contains("known suites never offered"),
        "{}",
        cut.stop_reason
    );
    assert_eq!(cut.accepted.len(), 1);
    let whole = enumerate_ciphers(&mut connect, TlsVersionProbe::Tls12, &settings, 50).await;
    assert!(whole.complete, "{whole:?}");
    let mut ids: Vec<u16> = whole.accepted.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![0x002f, 0xc0a1]);
    assert!(
        whole.stop_reason.starts_with("all "),
        "{}",
        whole.stop_reason
    );
}
