//! The hostile-server corpus: each misbehaviour yields that endpoint's row
//! with a precise status, within its deadline, and leaves the other
//! endpoints of the same run unaffected.

use crate::support::{scan, scan_one, Pki};
use ftps_scan::testbed::{server_config, CertKind, RawServer, ServerSpec, Step, TestServer};
use ftps_scan::{EndpointReport, Phase, ScanConfig, Status};
use std::time::{Duration, Instant};

fn config() -> ScanConfig {
    let pki = Pki::new("hostile CA");
    pki.config()
}

fn tls_config() -> std::sync::Arc<rustls::ServerConfig> {
    let pki = Pki::new("hostile CA");
    pki.tls(CertKind::Valid)
}

/// The FTP preamble up to a 234, as a script.
fn to_234() -> Vec<Step> {
    vec![
        Step::Send(b"220 hostile\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"211 no features\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"234 go\r\n".to_vec()),
    ]
}

/// Scans one raw server; asserts the row and that the deadline held.
async fn expect(
    script: Vec<Step>,
    status: Status,
    phase: Phase,
    error_has: &str,
) -> EndpointReport {
    let server = RawServer::start(script).await.unwrap();
    let started = Instant::now();
    let r = scan_one(&server.addr.to_string(), config()).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(r.status, status, "{r:#?}");
    assert_eq!(r.failed_phase, Some(phase), "{r:#?}");
    let error = r.error.clone().unwrap_or_default();
    assert!(
        error.contains(error_has),
        "error {error:?} lacks {error_has:?}"
    );
    r
}

#[tokio::test]
async fn silent_after_connect() {
    // A port of its own: the mode is detected, so silence is met with a
    // ClientHello too (the mode_detection module has the rest).
    expect(
        vec![],
        Status::Timeout,
        Phase::ModeDetection,
        "no FTP greeting within 1s, and no TLS answer to a ClientHello within 2s",
    )
    .await;
}

#[tokio::test]
async fn drip_feed_is_bounded_by_the_total_deadline() {
    let started = Instant::now();
    expect(
        vec![Step::Drip(
            b"220 a greeting sent one byte a second\r\n".to_vec(),
            Duration::from_secs(1),
        )],
        Status::Timeout,
        Phase::Greeting,
        "within 2s",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the deadline is total, not per read"
    );
}

#[tokio::test]
async fn endless_multi_line_greeting() {
    expect(
        vec![
            Step::Send(b"220-".to_vec()),
            Step::Flood(b"220-and more\r\n".to_vec(), 8 << 20),
        ],
        Status::Error,
        Phase::Greeting,
        "reply longer than 4 MiB",
    )
    .await;
}

#[tokio::test]
async fn a_single_line_of_megabytes() {
    expect(
        vec![
            Step::Send(b"220 ".to_vec()),
            Step::Flood(vec![b'x'; 64 * 1024], 8 << 20),
        ],
        Status::Error,
        Phase::Greeting,
        "reply longer than 4 MiB",
    )
    .await;
}

#[tokio::test]
async fn binary_garbage() {
    expect(
        vec![Step::Send(vec![
            0x00, 0xff, 0x13, 0x37, 0x80, 0x01, 0x02, 0xfe,
        ])],
        Status::NotFtp,
        Phase::Greeting,
        "not an FTP reply",
    )
    .await;
}

#[tokio::test]
async fn reset_in_mid_reply() {
    expect(
        vec![
            Step::Send(b"220-first line\r\n".to_vec()),
            Step::Sleep(Duration::from_millis(100)),
            Step::Reset,
        ],
        Status::Error,
        Phase::Greeting,
        "FTP greeting",
    )
    .await;
}

#[tokio::test]
async fn stall_in_mid_reply() {
    expect(
        vec![Step::Send(b"220-first line\r\n".to_vec())],
        Status::Timeout,
        Phase::Greeting,
        "within 2s",
    )
    .await;
}

#[tokio::test]
async fn close_right_after_234() {
    let mut script = to_234();
    script.push(Step::ReadAny);
    script.push(Step::Reset);
    expect(script, Status::TlsFailed, Phase::TlsHandshake, "").await;
}

#[tokio::test]
async fn garbage_after_234() {
    let mut script = to_234();
    script.push(Step::ReadAny);
    script.push(Step::Send(vec![0x47; 4096]));
    expect(
        script,
        Status::TlsFailed,
        Phase::TlsHandshake,
        "TLS handshake failed",
    )
    .await;
}

#[tokio::test]
async fn tls_alert_in_mid_handshake() {
    let mut script = to_234();
    script.push(Step::ReadAny);
    // A fatal handshake_failure alert record in place of a ServerHello.
    script.push(Step::Send(vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]));
    expect(
        script,
        Status::TlsFailed,
        Phase::TlsHandshake,
        "HandshakeFailure",
    )
    .await;
}

#[tokio::test]
async fn absurdly_large_certificate_chain() {
    let pki = Pki::new("hostile CA");
    let mut identity = pki.issue(CertKind::Valid).unwrap();
    // ~300 KiB of certificates: past any sane chain and the 64 KiB a
    // handshake message may carry.
    let ca = identity.chain[1].clone();
    identity.chain.extend(std::iter::repeat_n(ca, 700));
    let config = server_config(&identity, &[&rustls::version::TLS12]).unwrap();
    let server = TestServer::start(ServerSpec {
        tls: Some(config),
        ..Default::default()
    })
    .await
    .unwrap();
    let started = Instant::now();
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(r.status, Status::TlsFailed, "{:?}", r.error);
    assert_eq!(r.failed_phase, Some(Phase::TlsHandshake));
    // The version probes cap what they read; the verdict is not "accepted"
    // on a flight they could not finish reading.
    let v = r.versions.unwrap();
    let tls12 = v
        .results
        .iter()
        .find(|x| x.version.as_str() == "TLSv1.2")
        .unwrap();
    assert_ne!(
        tls12.verdict,
        ftps_scan::probe::versions::VersionVerdict::Rejected,
        "{tls12:?}"
    );
}

/// A server that logs in over TLS and then answers PASV and EPSV badly.
async fn bad_passive(pasv: &str, epsv: &str) -> EndpointReport {
    let mut script = to_234();
    script.extend([
        Step::StartTls(tls_config()),
        Step::ReadLine,
        Step::Send(b"230 logged in\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"200 PBSZ=0\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"200 PROT P\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(format!("{pasv}\r\n").into_bytes()),
        Step::ReadLine,
        Step::Send(format!("{epsv}\r\n").into_bytes()),
        // The data check asks for a passive port again.
        Step::ReadLine,
        Step::Send(format!("{pasv}\r\n").into_bytes()),
        Step::ReadLine,
        Step::Send(b"536 no PROT C\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"200 PROT P\r\n".to_vec()),
        // The bounce check (PORT, EPRT) and CCC, refused.
        Step::ReadLine,
        Step::Send(b"500 Illegal PORT command.\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"500 Illegal EPRT command.\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"502 CCC not implemented.\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"221 bye\r\n".to_vec()),
    ]);
    let server = RawServer::start(script).await.unwrap();
    let mut c = config();
    c.versions = false;
    scan_one(&server.addr.to_string(), c).await
}

#[tokio::test]
async fn malformed_pasv_and_epsv_replies() {
    for (pasv, epsv, why) in [
        (
            "227 Entering Passive Mode (300,0,0,1,4,1)",
            "229 (|||0|)",
            "number 300 is over 255",
        ),
        (
            "227 Entering Passive Mode (127,0,0,1,0,0)",
            "229 (|||70000|)",
            "port 0 advertised",
        ),
        (
            "227 Entering Passive Mode (127,0,0,1)",
            "229 Entering Extended Passive Mode",
            "no h1,h2,h3,h4,p1,p2 group",
        ),
    ] {
        let r = bad_passive(pasv, epsv).await;
        assert_eq!(r.status, Status::Ok, "{r:#?}");
        let p = r.posture.unwrap();
        assert_eq!(p.pasv_address, None);
        assert_eq!(p.epsv_port, None);
        assert_eq!(p.passive_port, None, "nothing to connect to");
        let error = p.passive_port_error.unwrap_or_default();
        assert!(error.contains(why), "{error:?} lacks {why:?}");
        assert_eq!(p.pasv_reply.unwrap().to_string(), pasv);
        assert_eq!(p.data_tls.map(|v| v.as_str()), Some("failed"));
        assert_eq!(p.error, None, "{:?}", p.error);
    }
}

#[tokio::test]
async fn hostile_endpoints_leave_the_others_unaffected() {
    let pki = Pki::new("hostile CA");
    let good = TestServer::start(ServerSpec {
        tls: Some(pki.tls_versions(CertKind::Valid, &[&rustls::version::TLS13])),
        require_tls_for_login: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let hostile = [
        RawServer::start(vec![]).await.unwrap(),
        RawServer::start(vec![
            Step::Send(b"220-".to_vec()),
            Step::Flood(b"220-x\r\n".to_vec(), 8 << 20),
        ])
        .await
        .unwrap(),
        RawServer::start(vec![Step::Send(vec![0xff; 64])])
            .await
            .unwrap(),
        RawServer::start(vec![Step::Drip(
            b"220 slow\r\n".to_vec(),
            Duration::from_secs(1),
        )])
        .await
        .unwrap(),
    ];
    let mut targets: Vec<String> = hostile.iter().map(|h| h.addr.to_string()).collect();
    targets.insert(2, good.addr.to_string());
    let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let started = Instant::now();
    let (reports, errors) = scan(&refs, pki.config()).await;
    assert!(errors.is_empty());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(reports.len(), 5, "one row per endpoint");
    let good_row = reports.iter().find(|r| r.port == good.addr.port()).unwrap();
    assert_eq!(good_row.status, Status::Ok);
    assert_eq!(
        good_row
            .posture
            .as_ref()
            .unwrap()
            .cleartext_login
            .map(|v| v.as_str()),
        Some("refused")
    );
    let statuses: Vec<Status> = reports.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        vec![
            Status::Timeout,
            Status::Error,
            Status::Ok,
            Status::NotFtp,
            Status::Timeout
        ]
    );
}
