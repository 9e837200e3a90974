//! Load: 5,000 endpoints at concurrency 1,000 against loopback test servers,
//! a fifth of them hostile, finish with exactly one row per endpoint and
//! bounded memory. (Throughput is measured in bench/, not asserted here.)

use crate::support;
use crate::support::Pki;

use ftps_scan::testbed::{CertKind, RawServer, ServerSpec, Step, TestServer};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

fn ip(a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, a, b, c))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_endpoints_one_row_each() {
    let pki = Pki::new("load CA");
    let tls = pki.tls(CertKind::Valid);
    let mut targets = Vec::new();
    let mut keep = Vec::new();
    let mut keep_raw = Vec::new();
    // 2,000 FTPS endpoints: 50 servers on their own loopback addresses, 40 each.
    for i in 0..50u8 {
        let server = TestServer::start_on(
            ServerSpec {
                tls: Some(tls.clone()),
                require_tls_for_login: true,
                ..Default::default()
            },
            SocketAddr::new(ip(41, 0, i + 1), 0),
        )
        .await
        .unwrap();
        for _ in 0..40 {
            targets.push(server.addr.to_string());
        }
        keep.push(server);
    }
    // 500 silent and 500 garbage endpoints: 25 servers of each, 20 each.
    for i in 0..25u8 {
        let silent = RawServer::start_on(vec![], SocketAddr::new(ip(42, 0, i + 1), 0))
            .await
            .unwrap();
        let garbage = RawServer::start_on(
            vec![Step::Send(vec![0xff; 32])],
            SocketAddr::new(ip(43, 0, i + 1), 0),
        )
        .await
        .unwrap();
        for _ in 0..20 {
            targets.push(silent.addr.to_string());
            targets.push(garbage.addr.to_string());
        }
        keep_raw.push(silent);
        keep_raw.push(garbage);
    }
    // 2,000 endpoints where nothing listens, each on its own address.
    for i in 0..2000u32 {
        targets.push(format!("127.44.{}.{}:21", i / 250, i % 250 + 1));
    }
    assert_eq!(targets.len(), 5000);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("targets.txt");
    std::fs::write(&file, targets.join("\n")).unwrap();
    let jsonl = dir.path().join("out.jsonl");
    let child = support::binary_command()
        .arg(&file)
        .args([
            "-c",
            "1000",
            "-q",
            "--no-versions",
            "--connect-timeout",
            "2",
            "--read-timeout",
            "1",
            "--tls-timeout",
            "3",
        ])
        .args(["-f", "jsonl", "-o"])
        .arg(&jsonl)
        .spawn()
        .unwrap();
    let pid = child.id();
    let started = Instant::now();
    let waiter = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    // Sample the scanner's resident memory while it runs.
    let mut peak_kib = 0u64;
    while !waiter.is_finished() {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(kib) = status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "load run did not finish"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let output = waiter.await.unwrap();
    assert!(output.status.code().is_some());

    let reports = support::read_jsonl(&jsonl);
    assert_eq!(reports.len(), 5000, "exactly one row per endpoint");
    let mut indexes: Vec<u64> = reports.iter().map(|r| r.input_index).collect();
    indexes.sort_unstable();
    indexes.dedup();
    assert_eq!(indexes.len(), 5000, "no endpoint twice, none missing");
    let mut by_status: HashMap<String, usize> = HashMap::new();
    for r in &reports {
        *by_status.entry(r.status.to_string()).or_default() += 1;
    }
    assert_eq!(by_status.get("ok"), Some(&2000), "{by_status:?}");
    assert_eq!(by_status.get("timeout"), Some(&500), "{by_status:?}");
    assert_eq!(by_status.get("not-ftp"), Some(&500), "{by_status:?}");
    assert_eq!(by_status.get("refused"), Some(&2000), "{by_status:?}");
    // A loose ceiling that catches memory growing with the endpoint count.
    assert!(
        peak_kib > 0 && peak_kib < 512 * 1024,
        "peak RSS {peak_kib} KiB"
    );
    eprintln!(
        "load: 5000 endpoints in {:?}, peak RSS {} MiB",
        started.elapsed(),
        peak_kib / 1024
    );
    drop(keep);
    drop(keep_raw);
}
