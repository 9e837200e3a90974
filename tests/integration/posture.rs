//! FTP-level posture against in-process test servers: cleartext login,
//! protection levels, PASV/EPSV sanity, passive-port reachability, data
//! channel TLS, and the safety rules (no PASS before TLS, no connection to a
//! PASV address by default).

use crate::support::{finding_ids, scan_one, Pki};
use ftps_scan::probe::posture::{LoginConfig, Secret};
use ftps_scan::testbed::{CertKind, ServerSpec, TestServer};
use ftps_scan::Status;
use std::net::Ipv4Addr;

/// No PASS ever arrived on a plain control channel.
fn assert_no_cleartext_pass(server: &TestServer) {
    let log = server.log();
    assert!(
        log.commands.iter().any(|c| c.line.starts_with("PASS")),
        "PASS was sent at all: {:?}",
        log.commands
    );
    for c in &log.commands {
        assert!(
            !c.line.starts_with("PASS") || c.secure,
            "PASS before TLS: {:?}",
            log.commands
        );
    }
}

#[tokio::test]
async fn strict_server_refuses_cleartext_user_and_prot_c() {
    let pki = Pki::new("posture CA");
    let server = pki
        .ftps(ServerSpec {
            require_tls_for_login: true,
            allow_prot_c: false,
            ..Default::default()
        })
        .await;
    let r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
    assert_eq!(r.status, Status::Ok);
    let p = r.posture.unwrap();
    assert_eq!(p.cleartext_login.map(|v| v.as_str()), Some("refused"));
    assert_eq!(
        p.cleartext_login_reply.unwrap().to_string(),
        "530 Non-anonymous sessions must use encryption."
    );
    assert_eq!(p.login.map(|v| v.as_str()), Some("ok"));
    assert_eq!(p.login_user.as_deref(), Some("anonymous"));
    assert_eq!(p.pbsz_reply.unwrap().code, 200);
    assert_eq!(p.prot_p.map(|v| v.as_str()), Some("ok"));
    assert_eq!(p.prot_c.map(|v| v.as_str()), Some("refused"));
    assert_eq!(p.prot_c_reply.unwrap().code, 536);
    assert_eq!(p.pasv_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(p.pasv_address_mismatch, Some(false));
    assert_eq!(p.pasv_private_address, Some(false));
    assert_eq!(p.passive_port.map(|v| v.as_str()), Some("reachable"));
    assert!(p.epsv_port.is_some());
    assert_eq!(
        p.data_tls.map(|v| v.as_str()),
        Some("ok"),
        "data checked by default"
    );
    assert_eq!(p.data_tls_reuse_required, Some(false));
    assert_no_cleartext_pass(&server);
    // The cleartext check sent USER and QUIT only, in clear.
    let log = server.log();
    let clear: Vec<&str> = log
        .commands
        .iter()
        .filter(|c| !c.secure)
        .map(|c| c.line.as_str())
        .collect();
    assert!(clear.contains(&"USER anonymous"), "{clear:?}");
    assert!(
        clear
            .iter()
            .all(|c| ["FEAT", "AUTH TLS", "USER anonymous", "QUIT"].contains(c)),
        "{clear:?}"
    );
}

#[tokio::test]
async fn lax_server_allows_cleartext_user_and_prot_c() {
    let pki = Pki::new("posture CA");
    let server = pki.ftps(ServerSpec::default()).await;
    let mut r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
    let p = r.posture.clone().unwrap();
    assert_eq!(p.cleartext_login.map(|v| v.as_str()), Some("allowed"));
    assert_eq!(p.cleartext_login_reply.as_ref().unwrap().code, 331);
    assert_eq!(p.prot_c.map(|v| v.as_str()), Some("accepted"));
    assert_no_cleartext_pass(&server);
    ftps_scan::policy::Policy::default().apply(&mut r, time::OffsetDateTime::now_utc().date());
    let ids: Vec<&str> = r.findings.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["cleartext-login-allowed", "cleartext-data-allowed"]
    );
}

#[tokio::test]
async fn pasv_to_another_address_is_reported_and_not_followed() {
    let pki = Pki::new("posture CA");
    let server = pki
        .ftps(ServerSpec {
            pasv_advertise: Some(Ipv4Addr::new(127, 0, 0, 2)),
            decoy_on_advertised: true,
            ..Default::default()
        })
        .await;
    let r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
    let p = r.posture.unwrap();
    assert_eq!(p.pasv_address.as_deref(), Some("127.0.0.2"));
    assert_eq!(p.pasv_address_mismatch, Some(true));
    assert_eq!(
        p.pasv_private_address,
        Some(false),
        "loopback peer is not public"
    );
    assert_eq!(
        p.passive_port.map(|v| v.as_str()),
        Some("reachable"),
        "tested at the control peer"
    );
    assert_eq!(
        server.log().decoy_connections,
        0,
        "nothing connected to the advertised address"
    );

    // With the explicit opt-in, the advertised address is used.
    let mut follow = pki.posture_config();
    follow.posture.follow_pasv_address = true;
    let r = scan_one(&server.addr.to_string(), follow).await;
    assert_eq!(
        r.posture.unwrap().passive_port.map(|v| v.as_str()),
        Some("reachable")
    );
    // The reachability probe, and the data connections that follow PASV.
    assert!(server.log().decoy_connections >= 1);
}

#[tokio::test]
async fn pasv_to_a_closed_port() {
    let pki = Pki::new("posture CA");
    let server = pki
        .ftps(ServerSpec {
            pasv_port_closed: true,
            ..Default::default()
        })
        .await;
    let mut r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
    let p = r.posture.clone().unwrap();
    assert_eq!(p.passive_port.map(|v| v.as_str()), Some("refused"));
    ftps_scan::policy::Policy::default().apply(&mut r, time::OffsetDateTime::now_utc().date());
    assert!(r
        .findings
        .iter()
        .any(|f| f.id == "passive-port-unreachable"));
}

#[tokio::test]
async fn data_channel_tls_resumes_the_control_session() {
    let pki = Pki::new("posture CA");
    for versions in [vec![&rustls::version::TLS13], vec![&rustls::version::TLS12]] {
        let tls = Some(pki.tls_versions(CertKind::Valid, &versions));
        let server = TestServer::start(ServerSpec {
            tls,
            require_session_reuse: true,
            allow_prot_c: false,
            ..Default::default()
        })
        .await
        .unwrap();
        let r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
        let p = r.posture.unwrap();
        assert_eq!(
            p.data_tls.map(|v| v.as_str()),
            Some("ok"),
            "{versions:?}: {p:#?}"
        );
        assert_eq!(p.data_tls_resumed, Some(true));
        assert_eq!(p.list_entries, Some(3));
        assert_eq!(
            p.data_tls_reuse_required,
            Some(true),
            "{versions:?}: {p:#?}"
        );
        assert_eq!(
            p.data_tls_fresh_reply.as_deref(),
            Some("522 SSL connection failed: session reuse required")
        );
        assert_eq!(server.log().data_tls_resumed.first(), Some(&true));
    }
}

/// A server that will not put `PROT P` back after `PROT C`: the
/// fresh-session check would list under `PROT C`, and its failed TLS
/// handshake would read as "session reuse required". It is not tried, and
/// the report says why, whether or not the server requires reuse.
#[tokio::test]
async fn a_refused_prot_p_restore_is_not_read_as_session_reuse() {
    let pki = Pki::new("posture CA");
    for require_session_reuse in [false, true] {
        let server = pki
            .ftps(ServerSpec {
                refuse_prot_p_after_prot_c: true,
                require_session_reuse,
                ..Default::default()
            })
            .await;
        let r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
        let p = r.posture.clone().unwrap();
        let case = format!("require_session_reuse={require_session_reuse}: {p:#?}");
        assert_eq!(p.prot_p.map(|v| v.as_str()), Some("ok"), "{case}");
        assert_eq!(p.prot_c.map(|v| v.as_str()), Some("accepted"), "{case}");
        assert_eq!(p.data_tls.map(|v| v.as_str()), Some("ok"), "{case}");
        assert_eq!(p.data_tls_resumed, Some(true), "{case}");
        assert_eq!(p.data_tls_reuse_required, None, "{case}");
        assert_eq!(
            p.data_tls_fresh_reply.as_deref(),
            Some(
                "not checked: PROT P was refused when sent again after the \
                 cleartext-data check (534 Request denied for policy reasons.)"
            ),
            "{case}"
        );
        // The bounce check still ran, after the refused PROT P.
        assert_eq!(p.ftp_bounce.map(|v| v.as_str()), Some("refused"), "{case}");
        // No listing after the refused PROT P: one protected, one clear.
        let transfers = server.log().transfers;
        assert_eq!(transfers.len(), 2, "{case}: {transfers:#?}");
        let findings = finding_ids(&r);
        assert!(
            !findings.iter().any(|id| id == "data-tls-reuse-required"),
            "{case}: {findings:?}"
        );
    }
}

/// A server that drops what follows a command in the same write: the
/// pipelined `PROT P` gets no reply, and the failure says it was sent in
/// one write with `PBSZ 0`, where to look. What came before is kept.
#[tokio::test]
async fn a_dropped_pipeline_is_named_in_the_failure() {
    let pki = Pki::new("posture CA");
    let server = pki
        .ftps(ServerSpec {
            drop_pipelined: true,
            ..Default::default()
        })
        .await;
    let mut c = pki.posture_config();
    c.timeouts.read = std::time::Duration::from_millis(800);
    let r = scan_one(&server.addr.to_string(), c).await;
    let p = r.posture.clone().unwrap();
    assert_eq!(
        p.error.as_deref(),
        Some("protection: no reply to PROT P (sent in the same write as PBSZ 0) within 800ms"),
        "{p:#?}"
    );
    assert_eq!(p.login.map(|v| v.as_str()), Some("ok"), "{p:#?}");
    assert_eq!(p.pbsz_reply.as_ref().map(|r| r.code), Some(200), "{p:#?}");
    assert_eq!(p.prot_p, None, "{p:#?}");
    assert!(server.log().commands.iter().any(|c| c.line == "PBSZ 0"));
    assert!(!server.log().commands.iter().any(|c| c.line == "PROT P"));
}

#[tokio::test]
async fn data_channel_tls_failure_reports_the_servers_reply() {
    let pki = Pki::new("posture CA");
    let server = pki
        .ftps(ServerSpec {
            refuse_data_tls: true,
            ..Default::default()
        })
        .await;
    let mut r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
    let p = r.posture.clone().unwrap();
    assert_eq!(p.data_tls.map(|v| v.as_str()), Some("failed"));
    assert_eq!(
        p.data_tls_reply.as_deref(),
        Some("522 SSL connection failed: session reuse required")
    );
    ftps_scan::policy::Policy::default().apply(&mut r, time::OffsetDateTime::now_utc().date());
    assert!(r.findings.iter().any(|f| f.id == "data-tls-failed"));
}

#[tokio::test]
async fn credentials_login_and_refusal() {
    let pki = Pki::new("posture CA");
    let server = pki
        .ftps(ServerSpec {
            users: vec![("alice".into(), "correct horse".into())],
            ..Default::default()
        })
        .await;
    let mut c = pki.posture_config();
    c.posture.login = LoginConfig {
        user: "alice".into(),
        password: Secret::new("correct horse"),
    };
    let r = scan_one(&server.addr.to_string(), c.clone()).await;
    assert_eq!(r.posture.unwrap().login.map(|v| v.as_str()), Some("ok"));
    assert_no_cleartext_pass(&server);

    c.posture.login.password = Secret::new("wrong");
    let r = scan_one(&server.addr.to_string(), c).await;
    let p = r.posture.unwrap();
    assert_eq!(p.login.map(|v| v.as_str()), Some("refused"));
    assert_eq!(p.login_reply.unwrap().to_string(), "530 Login incorrect.");
    assert_eq!(p.prot_p, None, "no protection checks without a login");
}

#[tokio::test]
async fn implicit_has_no_cleartext_check() {
    let pki = Pki::new("posture CA");
    let server = pki
        .ftps(ServerSpec {
            implicit: true,
            ..Default::default()
        })
        .await;
    let r = scan_one(&format!("ftps://{}", server.addr), pki.posture_config()).await;
    let p = r.posture.unwrap();
    assert_eq!(p.cleartext_login, None);
    assert_eq!(p.login.map(|v| v.as_str()), Some("ok"));
    assert!(server.log().commands.iter().all(|c| c.secure));
}

#[tokio::test]
async fn no_posture_sends_no_login() {
    let pki = Pki::new("posture CA");
    let server = pki.ftps(ServerSpec::default()).await;
    let mut c = pki.posture_config();
    c.posture.enabled = false;
    let r = scan_one(&server.addr.to_string(), c).await;
    assert!(r.posture.is_none());
    assert!(!server
        .log()
        .commands
        .iter()
        .any(|c| c.line.starts_with("USER")));
}
