//! bare-connect: connect to every `ip:port` line of a file with N tasks in
//! flight, count the outcomes, print the rate. Nothing else: no FTP, no
//! TLS, no report. It is the floor a scanner's dead sweep is measured
//! against (bench/run.sh, case 1).
//!
//! usage: bare-connect FILE CONCURRENCY [CONNECT_TIMEOUT_SECS]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Default)]
struct Counts {
    refused: AtomicU64,
    connected: AtomicU64,
    timeout: AtomicU64,
    other: AtomicU64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: bare-connect FILE CONCURRENCY [CONNECT_TIMEOUT_SECS]");
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&args[1]).expect("read targets file");
    let addrs: Vec<SocketAddr> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.parse().unwrap_or_else(|_| panic!("not ip:port: {l}")))
        .collect();
    for a in &addrs {
        // Same rule as the benchmark: loopback only.
        assert!(a.ip().is_loopback(), "refusing non-loopback target {a}");
    }
    let concurrency: usize = args[2].parse().expect("CONCURRENCY");
    let timeout = Duration::from_secs_f64(args.get(3).map_or(5.0, |s| s.parse().expect("TIMEOUT")));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let addrs = Arc::new(addrs);
    let counts = Arc::new(Counts::default());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    runtime.block_on(async {
        let mut workers = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            let (addrs, counts, next) = (addrs.clone(), counts.clone(), next.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(addr) = addrs.get(i) else { break };
                    let slot = match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
                        Err(_) => &counts.timeout,
                        Ok(Ok(_stream)) => &counts.connected,
                        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => &counts.refused,
                        Ok(Err(_)) => &counts.other,
                    };
                    slot.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for w in workers {
            w.await.expect("worker");
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let n = addrs.len();
    println!(
        "bare-connect: {n} addresses, concurrency {concurrency}: refused {} connected {} timeout {} other {} in {secs:.3} s = {:.0} connects/s",
        counts.refused.load(Ordering::Relaxed),
        counts.connected.load(Ordering::Relaxed),
        counts.timeout.load(Ordering::Relaxed),
        counts.other.load(Ordering::Relaxed),
        n as f64 / secs
    );
}
