//! The scanner against in-process test servers on 127.0.0.1:0: each
//! outcome of the foundation plan, field by field.

use crate::support::{quick_config, scan, scan_one, Pki};
use ftps_scan::model::tls::TlsVersion;
use ftps_scan::probe::versions::VersionVerdict;
use ftps_scan::testbed::{closed_port, CertKind, RawServer, ServerSpec, Step, TestServer};
use ftps_scan::{Mode, Phase, Status};
use std::time::Duration;

async fn ftps_server(pki: &Pki, kind: CertKind, implicit: bool) -> TestServer {
    let spec = ServerSpec {
        implicit,
        ..Default::default()
    };
    pki.server(kind, spec).await
}

#[tokio::test]
async fn explicit_valid_certificate_every_field() {
    let pki = Pki::new("unit CA");
    let server = pki
        .ftps(ServerSpec {
            greeting: vec![
                "first line".into(),
                "230 inner line that looks like a code".into(),
                "last line".into(),
            ],
            ..Default::default()
        })
        .await;
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    assert_eq!(r.mode, Mode::Explicit);
    assert_eq!(r.port, server.addr.port());
    assert_eq!(r.ip, Some(server.addr.ip()));
    assert_eq!(r.failed_phase, None);
    let banner = r.ftp.banner.as_ref().unwrap();
    assert_eq!(banner.code, 220);
    assert_eq!(
        banner.lines,
        vec![
            "first line",
            "230 inner line that looks like a code",
            "last line"
        ]
    );
    assert_eq!(
        r.ftp.feat.as_deref().unwrap(),
        ["AUTH TLS", "PBSZ", "PROT", "EPSV", "UTF8"]
    );
    assert_eq!(r.ftp.auth_tls_reply.as_ref().unwrap().code, 234);
    assert_eq!(
        r.ftp.auth_ssl_reply, None,
        "AUTH SSL is only tried when AUTH TLS fails"
    );
    let tls = r.tls.as_ref().unwrap();
    assert_eq!(tls.version, "TLSv1.3");
    assert!(tls.cipher.starts_with("TLS_"), "{}", tls.cipher);
    assert_eq!(tls.sni, None, "no SNI for an IP target");
    let c = r.certificate.as_ref().unwrap();
    assert!(c.trusted, "{c:#?}");
    assert_eq!(c.trust_error, None);
    assert_eq!(c.name_match, Some(true));
    assert_eq!(c.name_checked.as_deref(), Some("127.0.0.1"));
    assert!(!c.expired);
    assert!(!c.self_signed);
    assert_eq!(c.subject, "O=ftps-scan test server,CN=localhost");
    assert_eq!(c.issuer, "O=ftps-scan test PKI,CN=unit CA");
    assert_eq!(c.sans, vec!["localhost", "127.0.0.1"]);
    assert!(
        (88..=90).contains(&c.days_left.unwrap()),
        "{:?}",
        c.days_left
    );
    assert_eq!(c.key, "EC-P256");
    assert_eq!(c.signature, "ecdsa-with-SHA256");
    assert_eq!(c.sha256.len(), 64);
    assert_eq!(c.chain_length, 2);
    assert!(c.not_after.as_deref().unwrap().ends_with('Z'));
    assert_eq!(r.ftp.quit_reply.as_ref().map(|q| q.code), Some(221));
    // The server saw QUIT under TLS.
    let log = server.log();
    assert!(log.commands.iter().any(|c| c.line == "QUIT" && c.secure));
}

#[tokio::test]
async fn implicit_valid_certificate() {
    let pki = Pki::new("unit CA");
    let server = ftps_server(&pki, CertKind::Valid, true).await;
    let r = scan_one(&format!("ftps://{}", server.addr), pki.config()).await;
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    assert_eq!(r.mode, Mode::Implicit);
    assert_eq!(r.ftp.banner.as_ref().unwrap().code, 220);
    assert_eq!(r.ftp.auth_tls_reply, None);
    assert_eq!(r.tls.as_ref().unwrap().version, "TLSv1.3");
    assert!(r.certificate.as_ref().unwrap().trusted);
}

#[tokio::test]
async fn mode_forced_by_config_for_a_port() {
    let pki = Pki::new("unit CA");
    let server = ftps_server(&pki, CertKind::Valid, true).await;
    let mut config = pki.config();
    config.mode = ftps_scan::ModeRule::Forced(Mode::Implicit);
    let r = scan_one(&server.addr.to_string(), config).await;
    assert_eq!(r.mode, Mode::Implicit);
    assert_eq!(r.status, Status::Ok);
}

#[tokio::test]
async fn tls12_only_server_negotiates_tls12() {
    let pki = Pki::new("unit CA");
    let server = TestServer::start(ServerSpec {
        tls: Some(pki.tls_versions(CertKind::Valid, &[&rustls::version::TLS12])),
        ..Default::default()
    })
    .await
    .unwrap();
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    let tls = r.tls.unwrap();
    assert_eq!(tls.version, "TLSv1.2");
    assert!(tls.cipher.starts_with("TLS_ECDHE_"), "{}", tls.cipher);
}

#[tokio::test]
async fn expired_certificate() {
    let pki = Pki::new("unit CA");
    let server = ftps_server(&pki, CertKind::Expired, false).await;
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(
        r.status,
        Status::Ok,
        "a bad certificate never stops the scan"
    );
    let c = r.certificate.unwrap();
    assert!(c.expired);
    assert!(!c.trusted);
    assert_eq!(c.trust_error.as_ref().map(|t| t.as_str()), Some("expired"));
    assert!(
        (-11..=-10).contains(&c.days_left.unwrap()),
        "{:?}",
        c.days_left
    );
    assert_eq!(c.name_match, Some(true));
    let ids: Vec<_> = r.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(
        ids.is_empty(),
        "policy is applied by the caller, not the probe: {ids:?}"
    );
}

#[tokio::test]
async fn self_signed_certificate() {
    let pki = Pki::new("unit CA");
    let server = ftps_server(&pki, CertKind::SelfSigned, false).await;
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    let c = r.certificate.unwrap();
    assert!(c.self_signed);
    assert!(!c.trusted);
    assert_eq!(
        c.trust_error.as_ref().map(|t| t.as_str()),
        Some("unknown issuer")
    );
    assert_eq!(c.subject, c.issuer);
    assert_eq!(c.chain_length, 1);
}

#[tokio::test]
async fn wrong_name_certificate_for_hostname_and_ip() {
    let pki = Pki::new("unit CA");
    let server = ftps_server(&pki, CertKind::WrongName, false).await;
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    let c = r.certificate.unwrap();
    assert!(c.trusted, "the chain itself is fine");
    assert_eq!(c.name_match, Some(false));
    assert_eq!(c.sans, vec!["ftp.invalid"]);

    // With a hostname target, SNI carries the name and the name is checked.
    let target = format!("localhost:{}", server.addr.port());
    let (reports, _) = scan(&[&target], pki.config()).await;
    let v4 = reports
        .iter()
        .find(|r| r.ip == Some(server.addr.ip()))
        .unwrap();
    assert_eq!(v4.host.as_deref(), Some("localhost"));
    assert_eq!(v4.tls.as_ref().unwrap().sni.as_deref(), Some("localhost"));
    let c = v4.certificate.as_ref().unwrap();
    assert_eq!(c.name_checked.as_deref(), Some("localhost"));
    assert_eq!(c.name_match, Some(false));
}

#[tokio::test]
async fn untrusted_against_mozilla_roots() {
    let pki = Pki::new("unit CA");
    let server = ftps_server(&pki, CertKind::Valid, false).await;
    let trust =
        ftps_scan::tls::trust::TrustStore::load(&ftps_scan::tls::trust::TrustSource::Mozilla)
            .unwrap();
    let r = scan_one(&server.addr.to_string(), quick_config(trust)).await;
    let c = r.certificate.unwrap();
    assert!(!c.trusted);
    assert_eq!(
        c.trust_error.as_ref().map(|t| t.as_str()),
        Some("unknown issuer")
    );
}

#[tokio::test]
async fn plain_ftp_refusing_auth() {
    let server = TestServer::start(ServerSpec::default()).await.unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::NoTls);
    assert_eq!(r.failed_phase, Some(Phase::Auth));
    assert_eq!(
        r.ftp.auth_tls_reply.as_ref().unwrap().to_string(),
        "502 AUTH not supported"
    );
    assert_eq!(r.ftp.auth_ssl_reply.as_ref().unwrap().code, 502);
    assert_eq!(
        r.ftp.banner.as_ref().unwrap().code,
        220,
        "partial results kept"
    );
    assert!(r.tls.is_none());
    assert!(r.certificate.is_none());
}

#[tokio::test]
async fn plain_ftp_on_the_implicit_port() {
    let server = TestServer::start(ServerSpec::default()).await.unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&format!("ftps://{}", server.addr), pki.config()).await;
    assert_eq!(r.status, Status::NoTls, "{r:#?}");
    assert_eq!(r.failed_phase, Some(Phase::TlsHandshake));
    assert_eq!(r.ftp.banner.as_ref().unwrap().code, 220);
    assert!(r.error.unwrap().contains("plain FTP"));
}

#[tokio::test]
async fn tls_service_on_implicit_port_that_is_not_ftp() {
    let pki = Pki::new("unit CA");
    let config = pki.tls(CertKind::Valid);
    // An HTTPS-like service: TLS, then it waits for a request.
    let silent_tls = RawServer::start(vec![Step::StartTls(config.clone())])
        .await
        .unwrap();
    let r = scan_one(&format!("ftps://{}", silent_tls.addr), pki.config()).await;
    assert_eq!(r.status, Status::NotFtp, "{r:#?}");
    assert_eq!(r.failed_phase, Some(Phase::GreetingAfterTls));
    assert_eq!(
        r.error.as_deref(),
        Some("TLS service sent no FTP greeting within 2s")
    );
    assert!(r.certificate.is_some(), "the certificate is still judged");
    assert_eq!(r.tls.as_ref().unwrap().version, "TLSv1.3");

    // A TLS service that talks, but not FTP.
    let http = RawServer::start(vec![
        Step::StartTls(config),
        Step::Send(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
    ])
    .await
    .unwrap();
    let r = scan_one(&format!("ftps://{}", http.addr), pki.config()).await;
    assert_eq!(r.status, Status::NotFtp);
    assert_eq!(r.failed_phase, Some(Phase::GreetingAfterTls));
}

#[tokio::test]
async fn non_tls_non_ftp_on_the_implicit_port() {
    let ssh = RawServer::start(vec![Step::Send(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec())])
        .await
        .unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&format!("ftps://{}", ssh.addr), pki.config()).await;
    assert_eq!(r.status, Status::NotFtp, "{r:#?}");
    assert!(r.error.unwrap().contains("SSH-2.0"));
}

#[tokio::test]
async fn something_else_on_the_explicit_port() {
    let ssh = RawServer::start(vec![Step::Send(b"SSH-2.0-OpenSSH_9.2\r\n".to_vec())])
        .await
        .unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&ssh.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::NotFtp);
    assert_eq!(r.failed_phase, Some(Phase::Greeting));
}

#[tokio::test]
async fn silent_server_times_out_naming_the_phase() {
    let silent = RawServer::start(vec![]).await.unwrap();
    let pki = Pki::new("unit CA");
    let started = std::time::Instant::now();
    // Explicit by scheme: on a port of its own the mode would be detected
    // (mode_detection.rs), here the greeting is what is waited for.
    let r = scan_one(&format!("ftp://{}", silent.addr), pki.config()).await;
    assert_eq!(r.status, Status::Timeout);
    assert_eq!(r.failed_phase, Some(Phase::Greeting));
    assert_eq!(r.error.as_deref(), Some("no FTP greeting within 2s"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn silence_after_auth_names_the_auth_phase() {
    let server = RawServer::start(vec![
        Step::Send(b"220 hi\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"211 no features\r\n".to_vec()),
        Step::ReadLine,
    ])
    .await
    .unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::Timeout);
    assert_eq!(r.failed_phase, Some(Phase::Auth));
    assert_eq!(r.error.as_deref(), Some("no reply to AUTH TLS within 2s"));
    assert_eq!(r.ftp.banner.as_ref().unwrap().code, 220);
}

#[tokio::test]
async fn garbage_after_234_is_a_failed_handshake_with_partial_results() {
    let server = RawServer::start(vec![
        Step::Send(b"220 hi\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"500 no FEAT\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"234 go ahead\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"this is not TLS at all\r\n".to_vec()),
    ])
    .await
    .unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::TlsFailed, "{r:#?}");
    assert_eq!(r.failed_phase, Some(Phase::TlsHandshake));
    assert_eq!(r.ftp.auth_tls_reply.as_ref().unwrap().code, 234);
    assert_eq!(r.ftp.feat_reply.as_ref().unwrap().code, 500);
    assert_eq!(r.ftp.feat, None);
}

#[tokio::test]
async fn auth_ssl_fallback() {
    let pki = Pki::new("unit CA");
    let config = pki.tls(CertKind::Valid);
    let server = RawServer::start(vec![
        Step::Send(b"220 old server\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"502 FEAT unknown\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"504 AUTH TLS unknown\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"234 AUTH SSL OK\r\n".to_vec()),
        Step::StartTls(config),
    ])
    .await
    .unwrap();
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.ftp.auth_tls_reply.as_ref().unwrap().code, 504);
    assert_eq!(r.ftp.auth_ssl_reply.as_ref().unwrap().code, 234);
    let tls = r.tls.unwrap();
    assert!(tls.via_auth_ssl);
}

#[tokio::test]
async fn closed_port_is_refused() {
    let addr = closed_port().await.unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::Refused);
    assert_eq!(r.failed_phase, Some(Phase::Connect));
    assert_eq!(r.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn busy_server_421_is_reported() {
    let server = RawServer::start(vec![Step::Send(
        b"421 Too many connections from your IP\r\n".to_vec(),
    )])
    .await
    .unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.failed_phase, Some(Phase::Greeting));
    assert!(r.error.unwrap().contains("421 Too many connections"));
}

#[tokio::test]
async fn default_ports_give_two_endpoints_per_host() {
    let pki = Pki::new("unit CA");
    let mut config = pki.config();
    let a = closed_port().await.unwrap();
    let b = closed_port().await.unwrap();
    config.ports = vec![a.port(), b.port(), 990];
    let (reports, errors) = scan(&["127.0.0.1"], config).await;
    assert!(errors.is_empty());
    let ports: Vec<(u16, Mode)> = reports.iter().map(|r| (r.port, r.mode)).collect();
    assert!(ports.contains(&(a.port(), Mode::Explicit)));
    assert!(ports.contains(&(990, Mode::Implicit)));
    assert_eq!(reports.len(), 3);
}

#[tokio::test]
async fn cidr_block_expands_to_each_address() {
    let pki = Pki::new("unit CA");
    let mut config = pki.config();
    let port = closed_port().await.unwrap().port();
    config.ports = vec![port];
    let (reports, _) = scan(&["127.0.0.8/30"], config).await;
    let ips: Vec<String> = reports.iter().map(|r| r.ip.unwrap().to_string()).collect();
    assert_eq!(ips.len(), 2, "a /30 has two hosts: {ips:?}");
    assert!(ips.contains(&"127.0.0.9".to_string()) && ips.contains(&"127.0.0.10".to_string()));
    assert!(reports
        .iter()
        .all(|r| r.target == "127.0.0.8/30" && r.input_index == 0));
}

#[tokio::test]
async fn unresolvable_name_is_a_dns_error_row() {
    let pki = Pki::new("unit CA");
    // A resolver that fails like a real NXDOMAIN, so no query leaves the machine.
    let mut config = pki.config();
    config.resolver = ftps_scan::scan::Resolver::from_fn(|name| {
        Box::pin(async move {
            Err(std::io::Error::other(format!(
                "failed to lookup address information: {name}: Name or service not known"
            )))
        })
    });
    let (reports, _) = scan(&["no-such-host.invalid:21"], config).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].status, Status::DnsError);
    assert_eq!(reports[0].host.as_deref(), Some("no-such-host.invalid"));
    assert_eq!(reports[0].ip, None);
    assert_eq!(reports[0].failed_phase, Some(Phase::Resolve));
    assert!(reports[0]
        .error
        .as_deref()
        .unwrap()
        .starts_with("DNS lookup of no-such-host.invalid failed"));
}

/// The version the main session negotiated is accepted by behaviour, so
/// no raw probe asks again: its result names the session, costs no
/// connection, and every connection of the scan is the main session's
/// (plus its data connections, none here) or a probe attempt counted in
/// the report. With cipher enumeration on, the probe runs (the
/// enumeration starts from it).
#[tokio::test]
async fn the_main_sessions_version_is_not_probed_again() {
    let pki = Pki::new("unit CA");
    for (versions, settled, other) in [
        (
            &[&rustls::version::TLS13, &rustls::version::TLS12][..],
            TlsVersion::Tls13,
            TlsVersion::Tls12,
        ),
        (
            &[&rustls::version::TLS12][..],
            TlsVersion::Tls12,
            TlsVersion::Tls13,
        ),
    ] {
        let server = TestServer::start(ServerSpec {
            tls: Some(pki.tls_versions(CertKind::Valid, versions)),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut config = pki.config();
        config.posture.enabled = false;
        let r = scan_one(&format!("ftp://{}", server.addr), config).await;
        assert_eq!(r.status, Status::Ok, "{r:#?}");
        assert_eq!(r.tls.as_ref().unwrap().version, settled.as_str());
        let v = r.versions.as_ref().unwrap();
        let result = |version| v.results.iter().find(|x| x.version == version).unwrap();
        let main = result(settled);
        assert_eq!(main.verdict, VersionVerdict::Accepted);
        assert_eq!(main.attempts, 0);
        assert_eq!(main.evidence["outcome"], "main-session", "{main:#?}");
        // The number comes from the session's negotiated version (the name
        // from the version the result is for).
        assert_eq!(
            main.evidence["version_answered"],
            settled.wire_version(),
            "{main:#?}"
        );
        assert_eq!(main.evidence["version_answered_name"], settled.as_str());
        assert_eq!(
            main.evidence["chosen_cipher_name"],
            r.tls.as_ref().unwrap().cipher.as_str()
        );
        assert!(
            main.reason.starts_with("negotiated by the main session"),
            "{}",
            main.reason
        );
        let probed = result(other);
        assert!(probed.attempts >= 1, "{probed:#?}");
        assert!(probed.evidence["outcome"].is_string(), "{probed:#?}");
        assert_ne!(probed.evidence["outcome"], "main-session");
        assert_eq!(v.results.len(), 6);
        let probe_connections: usize = v.results.iter().map(|x| x.attempts).sum();
        assert_eq!(
            server.log().connections,
            1 + probe_connections,
            "one main session plus the probes the report counts"
        );
    }

    // With cipher enumeration, the negotiated version is probed too.
    let server = pki.ftps(ServerSpec::default()).await;
    let mut config = pki.config();
    config.posture.enabled = false;
    config.ciphers = true;
    let r = scan_one(&format!("ftp://{}", server.addr), config).await;
    let v = r.versions.unwrap();
    let tls13 = v
        .results
        .iter()
        .find(|x| x.version == TlsVersion::Tls13)
        .unwrap();
    assert!(tls13.attempts >= 1, "{tls13:#?}");
    assert!(tls13.evidence["outcome"].is_string(), "{tls13:#?}");
    assert_ne!(tls13.evidence["outcome"], "main-session");
    assert!(!tls13.accepted_ciphers.is_empty(), "{tls13:#?}");
}
