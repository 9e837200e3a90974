//! Oversized replies cost only their bytes: the real binary against a tiny
//! plain FTP server (a std listener on 127.0.0.1:0, in this file) that
//! sends a 128 KiB one-line greeting or a FEAT of 100,000 lines, then
//! refuses `AUTH TLS` like any plain FTP server. The endpoint must be
//! `no-tls` with every later fact recorded, not `error`.
//!
//! Also: an endpoint whose assessment stopped early (verdict `error`) still
//! fails the run (exit 1) with a high finding it recorded.

use crate::support::Scan;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

/// How the little server answers.
#[derive(Clone)]
struct Script {
    greeting: Vec<u8>,
    feat: Vec<u8>,
    /// Answer to `AUTH TLS` / `AUTH SSL`; `None`: never answer.
    auth: Option<&'static [u8]>,
    user: &'static [u8],
}

/// Serves `script` on every connection, each on its own thread. The
/// listener thread lives until the test process ends.
fn serve(script: Script) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let script = script.clone();
            std::thread::spawn(move || {
                let _ = session(stream, &script);
            });
        }
    });
    addr
}

fn session(mut stream: TcpStream, script: &Script) -> std::io::Result<()> {
    stream.write_all(&script.greeting)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let answer: &[u8] = if command == "FEAT" {
            &script.feat
        } else if command.starts_with("AUTH ") {
            match script.auth {
                Some(a) => a,
                None => continue,
            }
        } else if command.starts_with("USER ") {
            script.user
        } else if command == "QUIT" {
            stream.write_all(b"221 Goodbye.\r\n")?;
            return Ok(());
        } else {
            b"502 Command not implemented.\r\n"
        };
        stream.write_all(answer)?;
    }
}

fn plain(greeting: Vec<u8>, feat: Vec<u8>) -> Script {
    Script {
        greeting,
        feat,
        auth: Some(b"502 Command not implemented.\r\n"),
        user: b"331 Password required.\r\n",
    }
}

const SHORT_FEAT: &[u8] = b"211-Features:\r\n UTF8\r\n211 End\r\n";

/// Runs the binary on one target; the exit code, CSV row and JSON report.
async fn scan(
    addr: SocketAddr,
    extra: &[&str],
) -> (
    Option<i32>,
    HashMap<String, String>,
    ftps_scan::EndpointReport,
) {
    Scan::new().target(addr).args(extra).run().await.one()
}

fn findings(row: &HashMap<String, String>) -> Vec<&str> {
    row["findings"].split(';').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_128_kib_one_line_greeting_is_kept_in_part_and_the_plan_goes_on() {
    let mut greeting = b"220 ".to_vec();
    greeting.extend((0..128 * 1024).map(|i| b'a' + (i % 26) as u8));
    greeting.extend(b"\r\n");
    let addr = serve(plain(greeting, SHORT_FEAT.to_vec()));
    let started = std::time::Instant::now();
    let (code, row, report) = scan(addr, &["--read-timeout", "5"]).await;
    eprintln!("128 KiB greeting: scanned in {:?}", started.elapsed());

    assert_eq!(row["status"], "no-tls", "{row:?}");
    assert_eq!(row["failed_phase"], "auth");
    assert!(row["banner"].starts_with("abcdefghijklmnopqrstuvwxyz"));
    assert_eq!(row["feat"], "UTF8");
    assert_eq!(row["auth_tls_reply"], "502 Command not implemented.");
    assert_eq!(row["auth_ssl_reply"], "502 Command not implemented.");
    assert_eq!(row["cleartext_login"], "allowed");
    assert!(findings(&row).contains(&"ftp-no-tls"), "{row:?}");
    assert!(findings(&row).contains(&"cleartext-login-allowed"));
    assert_eq!(row["verdict"], "fail");
    assert_eq!(code, Some(1));

    let banner = report.ftp.banner.as_ref().unwrap();
    assert_eq!(banner.code, 220);
    assert!(banner.truncated, "{:?}", banner.lines.len());
    assert_eq!(banner.lines.len(), 1);
    assert_eq!(banner.lines[0].len(), 64 * 1024 - 4);
    assert!(!report.ftp.feat_reply.as_ref().unwrap().truncated);
    assert_eq!(report.ftp.auth_tls_reply.as_ref().unwrap().code, 502);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feat_of_100000_lines_is_kept_in_part_and_the_plan_goes_on() {
    let mut feat = b"211-Features:\r\n UTF8\r\n".to_vec();
    for i in 0..100_000 {
        feat.extend(format!(" X-FEATURE-{i:06}\r\n").as_bytes());
    }
    feat.extend(b"211 End\r\n");
    let wire = feat.len();
    let addr = serve(plain(b"220 tiny plain FTP\r\n".to_vec(), feat));
    let started = std::time::Instant::now();
    let (code, row, report) = scan(addr, &["--read-timeout", "5"]).await;
    eprintln!(
        "FEAT of 100,000 lines ({wire} bytes): scanned in {:?}",
        started.elapsed()
    );

    assert_eq!(row["status"], "no-tls", "{row:?}");
    assert_eq!(row["banner"], "tiny plain FTP");
    assert!(row["feat"].starts_with("UTF8;X-FEATURE-000000;X-FEATURE-000001;"));
    assert_eq!(row["auth_tls_reply"], "502 Command not implemented.");
    assert!(findings(&row).contains(&"ftp-no-tls"));
    assert_eq!(code, Some(1));

    let reply = report.ftp.feat_reply.as_ref().unwrap();
    assert_eq!(reply.code, 211);
    assert!(reply.truncated);
    assert_eq!(reply.lines.last().map(String::as_str), Some("End"));
    let feat = report.ftp.feat.as_ref().unwrap();
    // What fits in 64 KiB: thousands of features, not 100,000.
    assert!((3_000..10_000).contains(&feat.len()), "{}", feat.len());
    assert_eq!(feat[1], "X-FEATURE-000000");
    assert!(!report.ftp.banner.as_ref().unwrap().truncated);
    assert_eq!(
        report.ftp.auth_tls_reply.as_ref().unwrap().to_string(),
        "502 Command not implemented."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_that_stopped_early_still_fails_the_run_with_a_high_finding() {
    // AUTH TLS is never answered (timeout: verdict error), but the
    // cleartext-login check on its own connection sees USER take a 331.
    let addr = serve(Script {
        auth: None,
        ..plain(b"220 ready\r\n".to_vec(), SHORT_FEAT.to_vec())
    });
    let base = ["--read-timeout", "1"];
    let (code, row, _) = scan(addr, &base).await;
    assert_eq!(row["status"], "timeout", "{row:?}");
    assert_eq!(row["failed_phase"], "auth");
    assert_eq!(row["verdict"], "error");
    assert!(
        findings(&row).contains(&"cleartext-login-allowed"),
        "{row:?}"
    );
    assert_eq!(
        code,
        Some(1),
        "a high finding fails the run, verdict error or not"
    );

    // 1 outranks 3: the finding is the worse news.
    let (code, _, _) = scan(addr, &[base[0], base[1], "--fail-on-error"]).await;
    assert_eq!(code, Some(1));
    let (code, _, _) = scan(
        addr,
        &[base[0], base[1], "--fail-on", "never", "--fail-on-error"],
    )
    .await;
    assert_eq!(code, Some(3));
    let (code, _, _) = scan(addr, &[base[0], base[1], "--fail-on", "never"]).await;
    assert_eq!(code, Some(0));
}
