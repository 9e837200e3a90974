//! The FTP facts of issue 13 against in-process test servers: the
//! cleartext command after AUTH TLS, CCC, FTP bounce, AUTH TLS in FEAT, and
//! the `transfer_path` answer built from them. Every bounce address is on
//! loopback (a [`Witness`] on 127.0.0.2 that records who connects).

use crate::support;

use crate::support::{finding_ids, scan_one, Pki, Scan};
use ftps_scan::testbed::{ServerSpec, TestServer, Witness};
use ftps_scan::{EndpointReport, Status};

fn strict() -> ServerSpec {
    ServerSpec {
        require_tls_for_login: true,
        allow_prot_c: false,
        ..Default::default()
    }
}

async fn witness() -> Witness {
    Witness::start("127.0.0.2".parse().unwrap()).await.unwrap()
}

fn path(r: &EndpointReport) -> &'static str {
    r.transfer_path.map(|t| t.as_str()).unwrap_or("")
}

#[tokio::test]
async fn a_strict_server_is_protected_and_refuses_every_cleartext_way() {
    let pki = Pki::new("facts CA");
    let server = pki.ftps(strict()).await;
    let third = witness().await;
    let mut c = pki.posture_config();
    c.posture.bounce_address = third.addr;
    let r = scan_one(&format!("ftp://{}", server.addr), c).await;
    assert_eq!(r.status, Status::Ok);
    let p = r.posture.clone().unwrap();
    assert_eq!(path(&r), "protected", "{:?}", r.transfer_path_reason);
    assert_eq!(
        p.cleartext_after_auth.map(|v| v.as_str()),
        Some("refused"),
        "{:?}",
        p.cleartext_after_auth_reason
    );
    // The testbed's TLS accept fails on `FEAT`: no FTP reply in clear.
    assert!(p.cleartext_after_auth_reply.is_none());
    assert_eq!(p.ccc.map(|v| v.as_str()), Some("refused"));
    assert_eq!(p.ccc_reply.as_ref().map(|x| x.code), Some(502));
    assert_eq!(p.ftp_bounce.map(|v| v.as_str()), Some("refused"));
    assert_eq!(p.ftp_bounce_port_reply.as_ref().map(|x| x.code), Some(500));
    assert_eq!(p.ftp_bounce_eprt_reply.as_ref().map(|x| x.code), Some(500));
    assert_eq!(r.ftp.auth_tls_in_feat, Some(true));
    // CCC refused: QUIT still inside TLS.
    assert_eq!(r.ftp.quit_reply.as_ref().map(|q| q.code), Some(221));
    let log = server.log();
    let ccc = log.commands.iter().position(|c| c.line == "CCC").unwrap();
    assert_eq!(log.commands[ccc + 1].line, "QUIT", "{:?}", log.commands);
    assert!(log.commands[ccc + 1].secure, "{:?}", log.commands);
    assert!(log.port_targets.is_empty());
    assert_eq!(third.connections(), 0);
    assert!(finding_ids(&r).is_empty(), "{:?}", finding_ids(&r));
}

#[tokio::test]
async fn a_server_that_answers_in_clear_after_the_234_is_caught() {
    let pki = Pki::new("facts CA");
    let server = pki
        .ftps(ServerSpec {
            cleartext_after_auth: true,
            ..strict()
        })
        .await;
    let r = scan_one(&format!("ftp://{}", server.addr), pki.posture_config()).await;
    let p = r.posture.clone().unwrap();
    assert_eq!(p.cleartext_after_auth.map(|v| v.as_str()), Some("accepted"));
    assert_eq!(
        p.cleartext_after_auth_reply.as_ref().map(|x| x.code),
        Some(211)
    );
    assert_eq!(
        server.log().cleartext_after_auth,
        1,
        "one connection for it"
    );
    // Only FEAT went in clear after the 234: no USER, no PASS.
    let log = server.log();
    let clear: Vec<&str> = log
        .commands
        .iter()
        .filter(|c| !c.secure)
        .map(|c| c.line.as_str())
        .collect();
    assert!(
        clear
            .iter()
            .all(|c| ["FEAT", "AUTH TLS", "USER anonymous", "QUIT"].contains(c)),
        "{clear:?}"
    );
    assert!(finding_ids(&r).contains(&"cleartext-after-auth".to_string()));
    assert_eq!(path(&r), "cleartext-possible");
    assert!(
        r.transfer_path_reason
            .as_deref()
            .unwrap()
            .contains("after AUTH TLS"),
        "{:?}",
        r.transfer_path_reason
    );
}

#[tokio::test]
async fn ccc_accepted_is_established_in_clear_after_a_clean_tls_shutdown() {
    let pki = Pki::new("facts CA");
    let server = pki
        .ftps(ServerSpec {
            allow_ccc: true,
            ..strict()
        })
        .await;
    let r = scan_one(&format!("ftp://{}", server.addr), pki.posture_config()).await;
    let p = r.posture.clone().unwrap();
    assert_eq!(
        p.ccc.map(|v| v.as_str()),
        Some("accepted"),
        "{:?}",
        p.ccc_reason
    );
    assert_eq!(p.ccc_reply.as_ref().map(|x| x.code), Some(200));
    assert!(
        p.ccc_reason
            .as_deref()
            .unwrap()
            .contains("close_notify both ways"),
        "{:?}",
        p.ccc_reason
    );
    let log = server.log();
    assert_eq!(log.ccc_clean_shutdowns, 1, "close_notify from the scanner");
    // After CCC: PWD and QUIT in clear, nothing else.
    let ccc = log.commands.iter().position(|c| c.line == "CCC").unwrap();
    let after: Vec<(&str, bool)> = log.commands[ccc + 1..]
        .iter()
        .take_while(|c| !c.line.starts_with("USER"))
        .map(|c| (c.line.as_str(), c.secure))
        .collect();
    assert_eq!(after, vec![("PWD", false), ("QUIT", false)]);
    assert_eq!(r.ftp.quit_reply.as_ref().map(|q| q.code), Some(221));
    assert!(finding_ids(&r).contains(&"ccc-accepted".to_string()));
    assert_eq!(path(&r), "cleartext-possible");
}

#[tokio::test]
async fn ftp_bounce_accepted_is_seen_by_the_third_party_and_no_data_command_follows() {
    let pki = Pki::new("facts CA");
    let server = pki
        .ftps(ServerSpec {
            allow_foreign_port: true,
            connect_on_port: true,
            ..strict()
        })
        .await;
    let third = witness().await;
    let mut c = pki.posture_config();
    c.posture.bounce_address = third.addr;
    let r = scan_one(&format!("ftp://{}", server.addr), c).await;
    let p = r.posture.clone().unwrap();
    assert_eq!(p.ftp_bounce.map(|v| v.as_str()), Some("accepted"));
    assert_eq!(p.ftp_bounce_address, Some(third.addr.to_string()));
    assert_eq!(p.ftp_bounce_port_reply.as_ref().map(|x| x.code), Some(200));
    assert_eq!(p.ftp_bounce_eprt_reply.as_ref().map(|x| x.code), Some(200));
    let log = server.log();
    assert_eq!(log.port_targets, vec![third.addr, third.addr]);
    // The server connected at once, as pyftpdlib does: the witness saw it.
    for _ in 0..50 {
        if third.connections() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(third.connections(), 2);
    assert_eq!(log.port_connections, 2);
    // After PORT/EPRT, the next command that touches data is a PASV/EPSV.
    let lines: Vec<&str> = log.commands.iter().map(|c| c.line.as_str()).collect();
    let mut pending_foreign = false;
    for line in &lines {
        let verb = line.split(' ').next().unwrap();
        match verb {
            "PORT" | "EPRT" => pending_foreign = true,
            "PASV" | "EPSV" => pending_foreign = false,
            "LIST" | "NLST" | "RETR" | "STOR" | "MLSD" => {
                assert!(
                    !pending_foreign,
                    "data command after a foreign PORT: {lines:?}"
                )
            }
            _ => {}
        }
    }
    let ids = finding_ids(&r);
    assert!(ids.contains(&"ftp-bounce".to_string()), "{ids:?}");
    // Bounce is a finding but not a cleartext path.
    assert_eq!(path(&r), "protected");
}

#[tokio::test]
async fn feat_without_auth_tls_is_an_info_finding_when_auth_tls_works() {
    let pki = Pki::new("facts CA");
    let server = pki
        .ftps(ServerSpec {
            features: vec!["PBSZ".into(), "PROT".into(), "EPSV".into()],
            ..strict()
        })
        .await;
    let r = scan_one(&format!("ftp://{}", server.addr), pki.posture_config()).await;
    assert_eq!(r.status, Status::Ok);
    assert_eq!(r.ftp.auth_tls_in_feat, Some(false));
    assert_eq!(finding_ids(&r), vec!["auth-not-advertised"]);
    let mut scored = r.clone();
    ftps_scan::policy::Policy::default().apply(&mut scored, time::Date::MIN);
    assert_eq!(scored.verdict, Some(ftps_scan::policy::Verdict::Pass));
}

#[tokio::test]
async fn broken_and_not_assessed_paths_say_why() {
    let pki = Pki::new("facts CA");
    let closed = pki
        .ftps(ServerSpec {
            pasv_port_closed: true,
            ..strict()
        })
        .await;
    let r = scan_one(&format!("ftp://{}", closed.addr), pki.posture_config()).await;
    assert_eq!(path(&r), "broken", "{:?}", r.transfer_path_reason);
    assert!(
        r.transfer_path_reason
            .as_deref()
            .unwrap()
            .contains("passive port"),
        "{:?}",
        r.transfer_path_reason
    );

    let fine = pki.ftps(strict()).await;
    let mut no_data = pki.posture_config();
    no_data.posture.data = false;
    let r = scan_one(&format!("ftp://{}", fine.addr), no_data).await;
    assert_eq!(path(&r), "not-assessed");
    assert!(r
        .transfer_path_reason
        .as_deref()
        .unwrap()
        .contains("--no-data"));

    let plain = TestServer::start(ServerSpec::default()).await.unwrap();
    let r = scan_one(&format!("ftp://{}", plain.addr), pki.posture_config()).await;
    assert_eq!(r.status, Status::NoTls);
    assert_eq!(path(&r), "broken");
    // No TLS agreed: the cleartext-after-auth check is not made.
    assert_eq!(
        r.posture.as_ref().and_then(|p| p.cleartext_after_auth),
        None
    );

    let dead = ftps_scan::testbed::closed_port().await.unwrap();
    let r = scan_one(&format!("ftp://{dead}"), pki.posture_config()).await;
    assert_eq!(path(&r), "not-assessed");
}

#[tokio::test]
async fn the_new_columns_reach_the_csv_and_the_table() {
    let pki = Pki::new("facts CA");
    let server = pki
        .ftps(ServerSpec {
            allow_ccc: true,
            allow_foreign_port: true,
            ..strict()
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path());
    let scan = Scan::new().target(format!("ftp://{}", server.addr));
    let third = witness().await;
    let (code, row, report) = scan
        .args(["--ca-file", ca.to_str().unwrap(), "--no-versions"])
        .args(["--bounce-address", &third.addr.to_string()])
        .run()
        .await
        .one();
    assert_eq!(code, Some(0), "medium findings only: {row:?}");
    assert_eq!(row["transfer_path"], "cleartext-possible");
    assert!(
        row["transfer_path_reason"].contains("commands after CCC"),
        "{row:?}"
    );
    assert_eq!(row["auth_tls_in_feat"], "yes");
    assert_eq!(row["cleartext_after_auth"], "refused");
    assert!(!row["cleartext_after_auth_reply"].is_empty());
    assert_eq!(row["ftp_bounce"], "accepted");
    assert_eq!(row["ftp_bounce_reply"], "200 PORT command successful.");
    assert_eq!(row["ccc"], "accepted");
    assert_eq!(row["ccc_reply"], "200 Clearing control channel protection");
    let ids = row["findings"].split(';').collect::<Vec<_>>();
    assert!(
        ids.contains(&"ftp-bounce") && ids.contains(&"ccc-accepted"),
        "{ids:?}"
    );
    assert_eq!(
        report.posture.unwrap().ftp_bounce_address,
        Some(third.addr.to_string()),
        "--bounce-address wins over the environment"
    );
    // The table shows the answer; the summary counts it.
    let out = support::run_binary(vec![
        "-t".into(),
        format!("ftp://{}", server.addr),
        "--ca-file".into(),
        ca.display().to_string(),
        "--no-versions".into(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.lines().next().unwrap().contains("TRANSFER"),
        "{stdout}\n{stderr}"
    );
    assert!(stdout.contains("cleartext-possible"), "{stdout}");
    assert!(
        stderr.contains("transfer paths: cleartext-possible 1"),
        "{stderr}"
    );
}
