//! A real `openssl s_server` on 127.0.0.1 for tests: its own port and a
//! throw-away certificate in a temp dir; a Drop guard kills it and removes
//! the dir even when an assertion fails.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub const OPENSSL: &str = "/usr/bin/openssl";

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "ftps-scan-openssl-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running s_server; killed and reaped on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub leaf_der: Vec<u8>,
    // Declared last so the process is gone before its files are removed.
    pub dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn make_cert(dir: &Path) -> Vec<u8> {
    run(Command::new(OPENSSL).current_dir(dir).args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-subj",
        "/CN=tlsprobe.test",
    ]));
    run(Command::new(OPENSSL).current_dir(dir).args([
        "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
    ]));
    std::fs::read(dir.join("cert.der")).unwrap()
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub async fn start_server(extra: &[&str]) -> Server {
    let dir = TempDir::new();
    let leaf_der = make_cert(&dir.0);
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let log = std::fs::File::create(dir.0.join("server.log")).unwrap();
    let child = Command::new(OPENSSL)
        .current_dir(&dir.0)
        .args(["s_server", "-accept", &addr.to_string()])
        .args(["-cert", "cert.pem", "-key", "key.pem", "-www", "-quiet"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        addr,
        leaf_der,
        dir,
    };
    // Readiness: poll connect (s_server keeps accepting after our probe
    // connection closes).
    let start = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            let log = std::fs::read_to_string(server.dir.0.join("server.log")).unwrap_or_default();
            panic!("s_server {extra:?} exited early ({status}): {log}");
        }
        if TcpStream::connect(addr).await.is_ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "s_server not ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}
