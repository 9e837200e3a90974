//! Mode detection on ports that imply no mode (`--mode auto`, the default
//! for every port but 21 and 990): in-process servers on 127.0.0.1:0, so
//! every port here is one without a registered mode. The real servers of
//! `real_servers.rs` (the conformance matrix) are scanned the same way.

use crate::support::{scan_one, Pki, Scan};
use ftps_scan::testbed::{RawServer, ServerSpec, Step};
use ftps_scan::{Mode, ModeDetection, ModeRule, Phase, Status};
use std::time::Duration;

fn implicit() -> ServerSpec {
    ServerSpec {
        implicit: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn an_implicit_server_on_another_port_is_detected_by_its_tls() {
    let pki = Pki::new("unit CA");
    let server = pki.ftps(implicit()).await;
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    assert_eq!(r.mode, Mode::Implicit);
    assert_eq!(r.mode_detection, Some(ModeDetection::Tls));
    assert_eq!(r.tls.as_ref().unwrap().version, "TLSv1.3");
    assert!(r.certificate.as_ref().unwrap().trusted);
    // The greeting came inside TLS; no AUTH was sent, no cleartext check.
    assert_eq!(r.ftp.banner.as_ref().unwrap().code, 220);
    assert!(r.ftp.auth_tls_reply.is_none());
    let posture = r.posture.as_ref().unwrap();
    assert_eq!(posture.cleartext_login, None);
    // The version probes ran in the detected mode: raw hellos from the
    // first byte, which an explicit-mode probe would have got wrong.
    let accepted = crate::support::accepted_versions(&r);
    assert_eq!(accepted, ["TLSv1.2", "TLSv1.3"], "{r:#?}");
}

#[tokio::test]
async fn an_explicit_server_on_another_port_is_detected_by_its_greeting() {
    let pki = Pki::new("unit CA");
    let server = pki.ftps(ServerSpec::default()).await;
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    assert_eq!(r.mode, Mode::Explicit);
    assert_eq!(r.mode_detection, Some(ModeDetection::Greeting));
    assert_eq!(r.ftp.auth_tls_reply.as_ref().unwrap().code, 234);
    let accepted = crate::support::accepted_versions(&r);
    assert_eq!(accepted, ["TLSv1.2", "TLSv1.3"], "{r:#?}");
}

#[tokio::test]
async fn a_scheme_or_a_forced_mode_skips_detection() {
    let pki = Pki::new("unit CA");
    let explicit = pki.ftps(ServerSpec::default()).await;
    let r = scan_one(&format!("ftp://{}", explicit.addr), pki.config()).await;
    assert_eq!((r.status, r.mode), (Status::Ok, Mode::Explicit));
    assert_eq!(r.mode_detection, None);

    let implicit = pki.ftps(implicit()).await;
    let mut config = pki.config();
    config.mode = ModeRule::Forced(Mode::Explicit);
    // Forced explicit on an implicit server: the classic silent timeout.
    let r = scan_one(&implicit.addr.to_string(), config).await;
    assert_eq!(r.status, Status::Timeout, "{r:#?}");
    assert_eq!(r.failed_phase, Some(Phase::Greeting));
    assert_eq!(r.mode_detection, None);
}

#[tokio::test]
async fn a_slow_greeter_answers_the_hello_in_clear_and_is_scanned_as_explicit() {
    let pki = Pki::new("unit CA");
    // quick_config: read timeout 2 s, so the greeting wait is 1 s; the
    // server greets after 1.4 s, on every connection.
    let server = pki
        .ftps(ServerSpec {
            greeting_delay: Some(Duration::from_millis(1400)),
            ..Default::default()
        })
        .await;
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.mode, Mode::Explicit, "{r:#?}");
    assert_eq!(r.mode_detection, Some(ModeDetection::LateGreeting));
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    assert_eq!(r.ftp.banner.as_ref().unwrap().code, 220);
    assert!(r.tls.is_some());
}

#[tokio::test]
async fn a_120_then_a_late_greeting_is_explicit_not_silence() {
    let pki = Pki::new("unit CA");
    // The `120` comes at once, the real greeting after the greeting wait.
    let server = pki
        .ftps(ServerSpec {
            greeting_120: Some(Duration::from_millis(1400)),
            ..Default::default()
        })
        .await;
    let r = scan_one(&server.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::Ok, "{r:#?}");
    assert_eq!(r.mode_detection, Some(ModeDetection::Greeting));
    assert_eq!(r.ftp.banner.as_ref().unwrap().code, 220);
}

#[tokio::test]
async fn silence_to_both_names_the_detection_phase() {
    let silent = RawServer::start(vec![]).await.unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&silent.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::Timeout, "{r:#?}");
    assert_eq!(r.failed_phase, Some(Phase::ModeDetection));
    assert_eq!(r.mode_detection, Some(ModeDetection::Undetermined));
    assert_eq!(
        r.error.as_deref(),
        Some("no FTP greeting within 1s, and no TLS answer to a ClientHello within 2s")
    );
    assert!(r.versions.is_none());
}

#[tokio::test]
async fn a_service_that_answers_the_hello_with_neither_is_not_ftp() {
    // An HTTP server on a port of its own: silent until spoken to, then
    // `400 Bad Request`.
    let http = RawServer::start(vec![
        Step::ReadAny,
        Step::Send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec()),
    ])
    .await
    .unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&http.addr.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::NotFtp, "{r:#?}");
    assert_eq!(r.failed_phase, Some(Phase::ModeDetection));
    assert_eq!(r.mode_detection, Some(ModeDetection::Undetermined));
    let error = r.error.unwrap();
    assert!(error.contains("HTTP/1.1 400 Bad Request"), "{error}");
}

#[tokio::test]
async fn a_refused_port_stays_undetermined() {
    let closed = ftps_scan::testbed::closed_port().await.unwrap();
    let pki = Pki::new("unit CA");
    let r = scan_one(&closed.to_string(), pki.config()).await;
    assert_eq!(r.status, Status::Refused);
    assert_eq!(r.failed_phase, Some(Phase::Connect));
    assert_eq!(r.mode_detection, Some(ModeDetection::Undetermined));
}

/// The binary: `--mode auto`, the CSV column and the JSON field.
#[tokio::test]
async fn the_binary_reports_the_detection_in_csv_and_json() {
    let pki = Pki::new("unit CA");
    let server = pki.ftps(implicit()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = pki.ca_file(dir.path()).display().to_string();
    let scan = |extra: &[&str]| {
        Scan::new()
            .target(server.addr)
            .args(["--ca-file", &ca, "--read-timeout", "2"])
            .args(extra)
            .run()
    };
    for extra in [&[][..], &["--mode", "auto"]] {
        let (code, row, report) = scan(extra).await.one();
        assert_eq!(code, Some(0), "{row:?}");
        assert_eq!(row["mode"], "implicit", "{extra:?}");
        assert_eq!(row["mode_detection"], "tls", "{extra:?}");
        assert_eq!(row["status"], "ok", "{extra:?}");
        assert_eq!(report.mode_detection, Some(ModeDetection::Tls));
    }
    let (_, row, _) = scan(&["--mode", "implicit"]).await.one();
    assert_eq!(row["mode"], "implicit");
    assert_eq!(row["mode_detection"], "");
}

/// Detection keeps its first connection: a bare address costs as many
/// connections as the same server written with its scheme (a slow
/// greeter, scanned afresh after its late greeting, costs one more).
#[tokio::test]
async fn detection_costs_no_extra_connection() {
    let pki = Pki::new("unit CA");
    for (spec, scheme, extra) in [
        (ServerSpec::default(), "ftp", 0),
        (implicit(), "ftps", 0),
        (
            ServerSpec {
                greeting_delay: Some(Duration::from_millis(1400)),
                ..Default::default()
            },
            "ftp",
            1,
        ),
    ] {
        let bare = pki.ftps(spec.clone()).await;
        let with_scheme = pki.ftps(spec).await;
        let detected = scan_one(&bare.addr.to_string(), pki.config()).await;
        let given = scan_one(&format!("{scheme}://{}", with_scheme.addr), pki.config()).await;
        assert_eq!(detected.status, Status::Ok, "{detected:#?}");
        assert_eq!(given.status, Status::Ok, "{given:#?}");
        assert_eq!(
            bare.log().connections,
            with_scheme.log().connections + extra,
            "{scheme} {:?}",
            detected.mode_detection
        );
    }
}
