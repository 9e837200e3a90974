//! The default scan against test servers that imitate what real servers do
//! (src/testbed): each fact is established by behaviour, not by reply.
//! One test per point of the issue "Every fact right on real servers, with
//! the default flags" that no real server in the matrix shows on loopback.

use crate::support;

use crate::support::{finding_ids, scan_one, Pki, BOTH};
use ftps_scan::probe::posture::{LoginConfig, Secret, NONEXISTENT_PATH};
use ftps_scan::testbed::{
    AuthRace, CertKind, ClientCertPolicy, ListedPath, ProtC, Protection, ServerSpec, TestServer,
    PROFTPD_REUSE_REFUSAL, VSFTPD_REUSE_REFUSAL,
};
use ftps_scan::{ClientCert, ScanConfig, Status};
use std::time::Duration;

/// The cleartext transfers the server saw: only a path that does not exist.
fn assert_nothing_of_value_in_clear(server: &TestServer) {
    for t in server.log().transfers {
        if t.protection == Protection::Clear {
            assert_eq!(t.path, ListedPath::Missing, "{t:?}");
            assert_eq!(t.argument, NONEXISTENT_PATH, "{t:?}");
            assert_eq!(t.bytes, 0, "{t:?}");
        }
    }
}

#[tokio::test]
async fn prot_c_is_judged_by_a_transfer() {
    let pki = Pki::new("facts CA");
    // (server behaviour, prot_c, deciding reply)
    for (behaviour, want, decided) in [
        (ProtC::Works, "accepted", "226"),
        (
            ProtC::RefuseTransfer,
            "refused",
            "522 Data connections must be encrypted.",
        ),
        (
            ProtC::RefusePassive,
            "refused",
            "534 A TLS connection is required on the data channel",
        ),
        // PASV policed, EPSV forgotten: a client using EPSV moves data in
        // clear, so cleartext data is possible.
        (ProtC::RefusePasvOnly, "accepted", "226"),
    ] {
        let server = pki
            .ftps(ServerSpec {
                prot_c: behaviour,
                ..Default::default()
            })
            .await;
        let r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
        assert_eq!(r.status, Status::Ok, "{behaviour:?}");
        let p = r.posture.clone().unwrap();
        assert_eq!(p.prot_c_reply.as_ref().unwrap().code, 200, "{behaviour:?}");
        assert_eq!(
            p.prot_c.map(|v| v.as_str()),
            Some(want),
            "{behaviour:?}: {p:#?}"
        );
        let got = p.prot_c_transfer_reply.unwrap().to_string();
        assert!(got.starts_with(decided), "{behaviour:?}: {got}");
        assert_eq!(
            finding_ids(&r).contains(&"cleartext-data-allowed".to_string()),
            want == "accepted",
            "{behaviour:?}"
        );
        // The protected listing still works, and went first.
        assert_eq!(p.data_tls.map(|v| v.as_str()), Some("ok"), "{behaviour:?}");
        assert_nothing_of_value_in_clear(&server);
    }
}

#[tokio::test]
async fn no_data_flag_leaves_prot_c_unjudged() {
    let pki = Pki::new("facts CA");
    let server = pki.ftps(ServerSpec::default()).await;
    let mut c = pki.posture_config();
    c.posture.data = false;
    let r = scan_one(&server.addr.to_string(), c).await;
    let p = r.posture.unwrap();
    assert_eq!(p.prot_c, None, "a 200 to PROT C proves nothing");
    assert_eq!(p.prot_c_reply.unwrap().code, 200);
    assert_eq!(p.data_tls, None);
    assert!(
        server.log().transfers.is_empty(),
        "no data connection at all"
    );
}

#[tokio::test]
async fn data_handshake_starts_before_the_150() {
    let pki = Pki::new("facts CA");
    let server = pki
        .ftps(ServerSpec {
            data_tls_before_150: Some(Duration::from_secs(1)),
            ..Default::default()
        })
        .await;
    let r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
    let p = r.posture.unwrap();
    assert_eq!(p.data_tls.map(|v| v.as_str()), Some("ok"), "{p:#?}");
    assert_eq!(p.list_entries, Some(3));
    assert_eq!(p.data_tls_reuse_required, Some(false));
}

#[tokio::test]
async fn session_reuse_required_is_established_with_a_fresh_session() {
    let pki = Pki::new("facts CA");
    for (refusal, closes) in [(VSFTPD_REUSE_REFUSAL, true), (PROFTPD_REUSE_REFUSAL, false)] {
        let server = pki
            .ftps(ServerSpec {
                require_session_reuse: true,
                reuse_refusal: refusal.into(),
                close_after_reuse_refusal: closes,
                ..Default::default()
            })
            .await;
        let r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
        let p = r.posture.clone().unwrap();
        assert_eq!(p.data_tls.map(|v| v.as_str()), Some("ok"), "{refusal}");
        assert_eq!(p.data_tls_resumed, Some(true));
        assert_eq!(p.data_tls_reuse_required, Some(true), "{refusal}");
        assert_eq!(p.data_tls_fresh_reply.as_deref(), Some(refusal));
        // Every other fact came before the check that may end the session.
        assert!(p.prot_c.is_some(), "{refusal}: {p:#?}");
        assert_eq!(p.error, None, "{refusal}");
        assert!(finding_ids(&r).contains(&"data-tls-reuse-required".to_string()));
        let resumed: Vec<Option<bool>> = server
            .log()
            .transfers
            .iter()
            .filter(|t| t.protection == Protection::Tls)
            .map(|t| t.resumed)
            .collect();
        assert_eq!(resumed, vec![Some(true), Some(false)], "{refusal}");
    }
    // Without the requirement, the fresh session transfers.
    let server = pki.ftps(ServerSpec::default()).await;
    let r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
    assert_eq!(r.posture.unwrap().data_tls_reuse_required, Some(false));
}

#[tokio::test]
async fn auth_tls_race_is_retried_with_a_pause_and_recorded() {
    let pki = Pki::new("facts CA");
    let server = pki
        .ftps(ServerSpec {
            // A shorter switch-over than ftp-srv's, so the scanner's pause
            // after the 234 outlasts it even on a loaded machine.
            auth_race: Some(AuthRace {
                delay: Duration::from_millis(100),
                ..AuthRace::ftp_srv()
            }),
            ..Default::default()
        })
        .await;
    let mut c = pki.posture_config();
    c.versions = true;
    let r = scan_one(&server.addr.to_string(), c).await;
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    let race = r.ftp.auth_tls_race.clone().expect("race recorded");
    assert_eq!(race.code, 502);
    assert!(race.text().starts_with("Command not allowed"), "{race}");
    let v = r.versions.unwrap();
    assert_eq!(
        v.accepted().map(|v| v.as_str()).collect::<Vec<_>>(),
        vec!["TLSv1.2", "TLSv1.3"],
        "{v:#?}"
    );
    assert!(crate::support::every_version_decided(&v), "{v:#?}");
    assert!(!v.auth_tls_race.is_empty());
    assert_eq!(
        r.posture.unwrap().data_tls.map(|v| v.as_str()),
        Some("ok"),
        "the retried session is a full session"
    );
}

#[tokio::test]
async fn auth_ssl_only_server_behind_a_120_greeting_gets_every_verdict() {
    let pki = Pki::new("facts CA");
    let server = pki
        .ftps(ServerSpec {
            auth_ssl_only: true,
            greeting_120: Some(Duration::from_millis(200)),
            ..Default::default()
        })
        .await;
    let mut c = pki.posture_config();
    c.versions = true;
    let r = scan_one(&server.addr.to_string(), c).await;
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    assert_eq!(r.ftp.auth_tls_reply.as_ref().unwrap().code, 504);
    assert_eq!(r.ftp.auth_ssl_reply.as_ref().unwrap().code, 234);
    assert!(r.tls.as_ref().unwrap().via_auth_ssl);
    let v = r.versions.unwrap();
    assert_eq!(
        v.accepted().map(|v| v.as_str()).collect::<Vec<_>>(),
        vec!["TLSv1.2", "TLSv1.3"]
    );
    assert!(crate::support::every_version_decided(&v), "{v:#?}");
}

#[tokio::test]
async fn a_deadline_covers_the_work_not_the_queue() {
    // One connection at a time to the host and a greeting that takes most
    // of the read deadline: the probes queue for the slot far longer than
    // any deadline, and must still all be decided.
    let pki = Pki::new("facts CA");
    let server = pki
        .ftps(ServerSpec {
            greeting_delay: Some(Duration::from_millis(1200)),
            ..Default::default()
        })
        .await;
    let mut c = pki.posture_config();
    c.versions = true;
    c.per_host_limit = 1;
    c.posture.enabled = false;
    c.timeouts.connect = Duration::from_secs(1);
    let r = scan_one(&server.addr.to_string(), c).await;
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    let v = r.versions.unwrap();
    assert!(
        crate::support::every_version_decided(&v),
        "queued probes timed out: {v:#?}"
    );
}

#[tokio::test]
async fn client_certificates_requested_and_required() {
    let pki = Pki::new("facts CA");
    let identity = pki.issue(CertKind::Valid).unwrap();
    // requested: works without one (vsftpd's default)
    let tls = pki
        .server_config_with_client_auth(&identity, BOTH, ClientCertPolicy::Request)
        .unwrap();
    let server = TestServer::start(ServerSpec {
        tls: Some(tls),
        ..Default::default()
    })
    .await
    .unwrap();
    let r = scan_one(&server.addr.to_string(), pki.posture_config()).await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.client_cert, Some(ClientCert::Requested));
    assert_eq!(
        r.posture.unwrap().login.map(|v| v.as_str()),
        Some("ok"),
        "a requested certificate does not stop the posture checks"
    );

    // required: TLS 1.3 refuses at the first read, TLS 1.2 in the handshake
    for versions in [vec![&rustls::version::TLS13], vec![&rustls::version::TLS12]] {
        for implicit in [false, true] {
            let tls = pki
                .server_config_with_client_auth(&identity, &versions, ClientCertPolicy::Require)
                .unwrap();
            let server = TestServer::start(ServerSpec {
                tls: Some(tls),
                implicit,
                ..Default::default()
            })
            .await
            .unwrap();
            let target = if implicit {
                format!("ftps://{}", server.addr)
            } else {
                server.addr.to_string()
            };
            let mut c = pki.posture_config();
            c.versions = true;
            let r = scan_one(&target, c).await;
            let ctx = format!("{versions:?} implicit={implicit}: {r:#?}");
            assert_eq!(r.status, Status::ClientCertRequired, "{ctx}");
            assert_eq!(r.client_cert, Some(ClientCert::Required), "{ctx}");
            assert!(
                r.error
                    .as_deref()
                    .unwrap_or_default()
                    .contains("client certificate"),
                "{ctx}"
            );
            assert!(
                r.certificate.is_some(),
                "the certificate is still judged {ctx}"
            );
            let ids = finding_ids(&r);
            assert!(ids.contains(&"client-cert-required".to_string()), "{ctx}");
            assert!(
                !ids.contains(&"tls-handshake-failed".to_string()),
                "{ids:?}"
            );
        }
    }
}

fn alice(pki: &Pki) -> ScanConfig {
    let mut c = pki.posture_config();
    c.posture.login = LoginConfig::new("alice", Secret::new("hunter2")).unwrap();
    c
}

#[tokio::test]
async fn a_password_goes_only_to_a_verified_server_and_is_never_echoed() {
    let pki = Pki::new("facts CA");
    let users = vec![("alice".to_string(), "hunter2".to_string())];
    // Verified (trusted chain, IP SAN): the password is sent; the server
    // echoes it back, and no report shows it.
    let server = pki
        .ftps(ServerSpec {
            users: users.clone(),
            echo_password: true,
            ..Default::default()
        })
        .await;
    let r = scan_one(&server.addr.to_string(), alice(&pki)).await;
    let p = r.posture.clone().unwrap();
    assert_eq!(p.login.map(|v| v.as_str()), Some("ok"), "{p:#?}");
    let reply = p.login_reply.unwrap().to_string();
    assert!(reply.contains("password ***"), "{reply}");
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("hunter2"), "{json}");

    // Self-signed: no USER, no PASS, a reason instead.
    for kind in [CertKind::SelfSigned, CertKind::WrongName, CertKind::Expired] {
        let tls = Some(pki.tls(kind));
        let server = TestServer::start(ServerSpec {
            tls,
            users: users.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
        let r = scan_one(&server.addr.to_string(), alice(&pki)).await;
        let p = r.posture.unwrap();
        assert_eq!(p.login.map(|v| v.as_str()), Some("skipped"), "{kind:?}");
        let why = p.login_skipped_reason.unwrap();
        assert!(why.contains("password not sent"), "{kind:?}: {why}");
        let log = server.log();
        assert!(
            !log.commands.iter().any(|c| c.line.starts_with("PASS")),
            "{kind:?}: {:?}",
            log.commands
        );
        // With the lab opt-in, it is sent (over TLS).
        let mut lab = alice(&pki);
        lab.posture.send_password_unverified = true;
        let r = scan_one(&server.addr.to_string(), lab).await;
        assert_eq!(
            r.posture.unwrap().login.map(|v| v.as_str()),
            Some("ok"),
            "{kind:?}"
        );
        assert!(server
            .log()
            .commands
            .iter()
            .any(|c| c.line == "PASS hunter2" && c.secure));
    }
}

#[tokio::test]
async fn ipv6_uses_epsv_and_raises_no_pasv_findings() {
    let pki = Pki::new("facts CA");
    let tls = Some(pki.tls(CertKind::Valid));
    let Ok(server) = TestServer::start_on(
        ServerSpec {
            tls,
            ..Default::default()
        },
        "[::1]:0".parse().unwrap(),
    )
    .await
    else {
        eprintln!("SKIPPED: no [::1] on this machine");
        return;
    };
    let mut c = pki.config();
    c.versions = false;
    let r = scan_one(&server.addr.to_string(), c).await;
    let p = r.posture.clone().unwrap();
    assert_eq!(p.pasv_reply, None, "no PASV on IPv6");
    assert_eq!(p.pasv_address_mismatch, None);
    assert!(p.epsv_port.is_some());
    assert_eq!(p.passive_port.map(|v| v.as_str()), Some("reachable"));
    assert_eq!(p.data_tls.map(|v| v.as_str()), Some("ok"), "{p:#?}");
    assert!(
        !server
            .log()
            .commands
            .iter()
            .any(|c| c.line.starts_with("PASV")),
        "{:?}",
        server.log().commands
    );
    let ids = finding_ids(&r);
    assert!(!ids.iter().any(|id| id.starts_with("pasv-")), "{ids:?}");
}

#[tokio::test]
async fn line_breaks_in_credentials_and_empty_password_files_are_usage_errors() {
    let pki = Pki::new("facts CA");
    let server = pki.ftps(ServerSpec::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty-password");
    std::fs::write(&empty, "\n").unwrap();
    let target = server.addr.to_string();
    let s = |x: &str| x.to_string();
    type Case = (Vec<String>, Vec<(String, String)>, &'static str);
    let cases: Vec<Case> = vec![
        (
            vec![s("--user"), s("bob\r\nDELE x")],
            vec![(s("FTPS_SCAN_PASSWORD"), s("pw"))],
            "user name contains CR or LF",
        ),
        (
            vec![s("--user"), s("bob")],
            vec![(s("FTPS_SCAN_PASSWORD"), s("pw\nSITE CHMOD 777 /"))],
            "FTPS_SCAN_PASSWORD: the password contains CR or LF",
        ),
        (
            vec![
                s("--user"),
                s("bob"),
                s("--password-file"),
                empty.display().to_string(),
            ],
            vec![],
            "is empty",
        ),
        (vec![s("--list")], vec![], "--list was removed"),
    ];
    for (mut args, env, why) in cases {
        args.extend([s("-t"), target.clone(), s("-q")]);
        let out = support::run_binary_env(args.clone(), env).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(why), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "nothing scanned: {args:?}");
    }
    assert_eq!(server.log().connections, 0, "nothing reached the server");
}

#[tokio::test]
async fn a_long_plain_greeting_on_the_implicit_port_is_no_tls() {
    use ftps_scan::testbed::{RawServer, Step};
    let mut greeting = b"220 ".to_vec();
    greeting.extend(std::iter::repeat_n(b'x', 8 * 1024));
    greeting.extend(b"\r\n");
    let server = RawServer::start(vec![Step::Send(greeting), Step::ReadLine])
        .await
        .unwrap();
    let pki = Pki::new("facts CA");
    let r = scan_one(&format!("ftps://{}", server.addr), pki.posture_config()).await;
    assert_eq!(r.status, Status::NoTls, "{r:#?}");
    assert!(r.error.unwrap().contains("plain FTP without TLS"));
}
