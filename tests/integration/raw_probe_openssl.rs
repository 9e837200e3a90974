//! Integration tests against a real `openssl s_server` on 127.0.0.1.
//!
//! Each test starts its own server (own port, own throw-away certificate in a
//! temp dir); a Drop guard kills it and removes the dir even when an
//! assertion fails.

use crate::support::openssl::{start_server, Server};
use std::net::SocketAddr;
use std::time::Duration;

use ftps_scan::tls::raw::server_flight::DowngradeSentinel;
use ftps_scan::tls::raw::{
    enumerate_ciphers, probe_version, ProbeSettings, TlsVersionProbe, Verdict, VersionProbeReport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn settings() -> ProbeSettings {
    ProbeSettings {
        sni: Some("tlsprobe.test".into()),
        connect_timeout: Duration::from_secs(5),
        probe_timeout: Duration::from_secs(5),
        ..ProbeSettings::default()
    }
}

async fn probe_all(server: &Server) -> Vec<(TlsVersionProbe, VersionProbeReport)> {
    let addr = server.addr;
    let mut connect = || TcpStream::connect(addr);
    let mut out = Vec::new();
    for v in TlsVersionProbe::ALL {
        let r = probe_version(&mut connect, v, &settings()).await;
        // Visible with --nocapture: what each server actually answered.
        eprintln!(
            "{}: {v}: {:?} - {} (alert {:?}, answered {:?})",
            server.addr,
            r.verdict.verdict,
            r.verdict.reason,
            r.verdict.evidence.alert.map(|a| a.description),
            r.verdict.evidence.version_answered_name
        );
        out.push((v, r));
    }
    out
}

fn assert_verdicts(
    results: &[(TlsVersionProbe, VersionProbeReport)],
    expected: &[(TlsVersionProbe, Verdict)],
) {
    for ((v, r), (ev, expected)) in results.iter().zip(expected) {
        assert_eq!(v, ev);
        assert_eq!(
            r.verdict.verdict, *expected,
            "{v}: {} / {:?}",
            r.verdict.reason, r.verdict.evidence
        );
        // Nothing in a plain s_server setup is an anomaly.
        assert!(
            r.verdict.evidence.anomalies.is_empty(),
            "{v}: {:?}",
            r.verdict.evidence.anomalies
        );
    }
}

fn report(
    results: &[(TlsVersionProbe, VersionProbeReport)],
    v: TlsVersionProbe,
) -> &VersionProbeReport {
    &results.iter().find(|(p, _)| *p == v).unwrap().1
}

use TlsVersionProbe::*;
use Verdict::{Accepted, Rejected};

#[tokio::test]
async fn tls12_only_server() {
    let server = start_server(&["-tls1_2"]).await;
    let results = probe_all(&server).await;
    assert_verdicts(
        &results,
        &[
            (Ssl2, Rejected),
            (Ssl3, Rejected),
            (Tls10, Rejected),
            (Tls11, Rejected),
            (Tls12, Accepted),
            (Tls13, Rejected),
        ],
    );
    let r12 = report(&results, Tls12);
    assert_eq!(
        r12.certificates.first(),
        Some(&server.leaf_der),
        "leaf cert"
    );
    assert_eq!(r12.verdict.evidence.downgrade_sentinel, None);
    // TLS 1.3 probe: our supported_versions lists only 1.3, so a 1.2-only
    // server must refuse with protocol_version (RFC 8446 4.2.1).
    let r13 = report(&results, Tls13);
    assert_eq!(
        r13.verdict.evidence.alert.map(|a| a.description),
        Some(70),
        "{:?}",
        r13.verdict
    );
    // SSLv3 is refused with an alert.
    let r3 = report(&results, Ssl3);
    assert!(r3.verdict.evidence.alert.is_some(), "{:?}", r3.verdict);
}

#[tokio::test]
async fn tls13_only_server() {
    let server = start_server(&["-tls1_3"]).await;
    let results = probe_all(&server).await;
    assert_verdicts(
        &results,
        &[
            (Ssl2, Rejected),
            (Ssl3, Rejected),
            (Tls10, Rejected),
            (Tls11, Rejected),
            (Tls12, Rejected),
            (Tls13, Accepted),
        ],
    );
    let r13 = report(&results, Tls13);
    assert!(!r13.verdict.evidence.hello_retry_request);
    // The certificate is encrypted in 1.3; we must not invent one.
    assert!(r13.certificates.is_empty());
}

#[tokio::test]
async fn tls13_p256_only_answers_with_hello_retry_request() {
    let server = start_server(&["-tls1_3", "-groups", "P-256"]).await;
    let addr = server.addr;
    let mut connect = || TcpStream::connect(addr);
    let r = probe_version(&mut connect, Tls13, &settings()).await;
    assert_eq!(r.verdict.verdict, Accepted, "{:?}", r.verdict);
    assert!(r.verdict.evidence.hello_retry_request);
    assert!(r.verdict.reason.contains("HelloRetryRequest"));
}

#[tokio::test]
async fn tls10_only_server() {
    let server = start_server(&["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]).await;
    let results = probe_all(&server).await;
    assert_verdicts(
        &results,
        &[
            (Ssl2, Rejected),
            (Ssl3, Rejected),
            (Tls10, Accepted),
            (Tls11, Rejected),
            (Tls12, Rejected),
            (Tls13, Rejected),
        ],
    );
    assert_eq!(
        report(&results, Tls10).certificates.first(),
        Some(&server.leaf_der)
    );
    for v in [Tls11, Tls12] {
        let ev = &report(&results, v).verdict.evidence;
        // Either "lower version" evidence or an alert; OpenSSL answers 1.0.
        assert!(
            ev.version_answered == Some(0x0301) || ev.alert.is_some(),
            "{v}: {ev:?}"
        );
    }
}

#[tokio::test]
async fn tls10_to_13_server_and_downgrade_sentinels() {
    let server = start_server(&[
        "-min_protocol",
        "TLSv1",
        "-max_protocol",
        "TLSv1.3",
        "-cipher",
        "DEFAULT@SECLEVEL=0",
    ])
    .await;
    let results = probe_all(&server).await;
    assert_verdicts(
        &results,
        &[
            (Ssl2, Rejected),
            (Ssl3, Rejected),
            (Tls10, Accepted),
            (Tls11, Accepted),
            (Tls12, Accepted),
            (Tls13, Accepted),
        ],
    );
    let sentinel = |v| report(&results, v).verdict.evidence.downgrade_sentinel;
    assert_eq!(sentinel(Tls12), Some(DowngradeSentinel::Tls12));
    assert_eq!(sentinel(Tls11), Some(DowngradeSentinel::Tls11OrBelow));
    assert_eq!(sentinel(Tls10), Some(DowngradeSentinel::Tls11OrBelow));
    assert_eq!(sentinel(Tls13), None);
}

#[tokio::test]
async fn cipher_enumeration_finds_exactly_the_configured_suites() {
    let server = start_server(&[
        "-tls1_2",
        "-cipher",
        "AES128-SHA:ECDHE-RSA-AES256-GCM-SHA384",
    ])
    .await;
    let addr = server.addr;
    let mut connect = || TcpStream::connect(addr);
    let e = enumerate_ciphers(&mut connect, Tls12, &settings(), 50).await;
    let mut ids: Vec<u16> = e.accepted.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![0x002f, 0xc030], "{e:?}");
    assert!(e.complete, "{e:?}");
    // Two accepted and refused in the first group, then the two groups of
    // the other known suites refused.
    assert_eq!(e.rounds, 5);
    assert!(e.anomalies.is_empty(), "{:?}", e.anomalies);
    let aes128 = e.accepted.iter().find(|s| s.id == 0x002f).unwrap();
    assert_eq!(aes128.name, "TLS_RSA_WITH_AES_128_CBC_SHA");
    // Static RSA: not weak, but without forward secrecy.
    assert!(aes128.weaknesses.is_empty());
    assert!(aes128.no_forward_secrecy);
}

#[tokio::test]
async fn tls13_cipher_enumeration() {
    let server = start_server(&[
        "-tls1_3",
        "-ciphersuites",
        "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256",
    ])
    .await;
    let addr = server.addr;
    let mut connect = || TcpStream::connect(addr);
    let e = enumerate_ciphers(&mut connect, Tls13, &settings(), 10).await;
    let mut ids: Vec<u16> = e.accepted.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![0x1301, 0x1303], "{e:?}");
    assert!(e.complete);
}

/// Explicit FTPS shape: a tiny in-process FTP front that greets with 220,
/// wants AUTH TLS, answers 234 and then relays bytes to s_server. The connect
/// closure does the FTP preamble, as the real caller will.
#[tokio::test]
async fn explicit_ftps_preamble_through_connect_closure() {
    let server = start_server(&["-tls1_2"]).await;
    let backend = server.addr;
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let front_addr = front.local_addr().unwrap();
    let front_task = tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = front.accept().await else {
                return;
            };
            tokio::spawn(async move {
                client.write_all(b"220 test FTP\r\n").await.ok()?;
                let mut line = [0u8; 64];
                let n = client.read(&mut line).await.ok()?;
                if !line[..n].starts_with(b"AUTH TLS") {
                    client.write_all(b"500 what\r\n").await.ok()?;
                    return None;
                }
                client.write_all(b"234 go ahead\r\n").await.ok()?;
                let mut up = TcpStream::connect(backend).await.ok()?;
                tokio::io::copy_bidirectional(&mut client, &mut up)
                    .await
                    .ok()?;
                Some(())
            });
        }
    });

    async fn ftp_connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
        let mut s = TcpStream::connect(addr).await?;
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await?;
        if !buf[..n].starts_with(b"220") {
            return Err(std::io::Error::other("no 220"));
        }
        s.write_all(b"AUTH TLS\r\n").await?;
        let n = s.read(&mut buf).await?;
        if !buf[..n].starts_with(b"234") {
            return Err(std::io::Error::other("AUTH TLS refused"));
        }
        Ok(s)
    }
    let mut connect = || ftp_connect(front_addr);
    let r12 = probe_version(&mut connect, Tls12, &settings()).await;
    assert_eq!(r12.verdict.verdict, Accepted, "{:?}", r12.verdict);
    let r10 = probe_version(&mut connect, Tls10, &settings()).await;
    assert_eq!(r10.verdict.verdict, Rejected, "{:?}", r10.verdict);
    front_task.abort();
}

/// A server that answers the hello with an FTP error line.
#[tokio::test]
async fn ftp_error_line_instead_of_tls() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut b = [0u8; 1024];
            let _ = s.read(&mut b).await;
            let _ = s
                .write_all(b"500 Syntax error, command unrecognized.\r\n")
                .await;
            let _ = s.shutdown().await;
        }
    });
    let mut connect = || TcpStream::connect(addr);
    let r = probe_version(&mut connect, Tls12, &settings()).await;
    assert_eq!(r.verdict.verdict, Verdict::Unknown);
    assert_eq!(
        r.verdict.evidence.ftp_reply.as_deref(),
        Some("500 Syntax error, command unrecognized.")
    );
    // Not a timeout, so no retry with the short list.
    assert_eq!(r.attempts.len(), 1);
}

/// A silent server: full hello times out, short hello retried, then unknown.
#[tokio::test]
async fn silent_server_retries_short_then_unknown() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let mut connect = || TcpStream::connect(addr);
    let s = ProbeSettings {
        probe_timeout: Duration::from_millis(300),
        ..settings()
    };
    let r = probe_version(&mut connect, Tls12, &s).await;
    assert_eq!(r.verdict.verdict, Verdict::Unknown);
    let lists: Vec<&str> = r.attempts.iter().map(|a| a.ciphers.as_str()).collect();
    assert_eq!(lists, vec!["Full", "Short"]);
}
