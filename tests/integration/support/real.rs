//! Real FTP servers for the integration tests: vsftpd 3.0.3, ProFTPD 1.3.8
//! (mod_tls) and Pure-FTPd 1.0.50 from Debian 12, unpacked by
//! `.ci/install-real-servers.sh`, and independent implementations installed
//! by the same script: ftp-srv 4.6.3 (Node.js `tls`), unftp 0.16.0 (rustls),
//! pyftpdlib 2.2.0 (pyOpenSSL) and a small FTPS server on tlslite-ng 0.8.2
//! (pure Python, SSLv3 to TLS 1.3), the last three started through the
//! launchers in `tests/servers/`. Everything is found through the env var
//! `FTPS_SCAN_REAL_SERVERS`, default `<repo>/target/real-servers`.
//!
//! [`RealServer::start`] writes a configuration and certificates (from a
//! [`TestPki`]; RSA keys and SHA-1 signatures through the `openssl` CLI,
//! signed by the same CA) into a fresh temp dir, starts the server in the
//! foreground in its own process group on a free port of 127.0.0.1 (or
//! [::1] with [`RealSpec::ipv6`]), and waits until it answers with a 220
//! greeting (inside TLS for implicit FTPS). Dropping the
//! [`RealServer`] kills the whole process group, also when the test panics.
//! A server that dies at start makes the test panic with what it said
//! (stderr, stdout, and for vsftpd its fd 0, where vsftpd writes fatal
//! errors) and its configuration.
//!
//! Recipes and server quirks: see the README section "Real-server tests".

use ftps_scan::testbed::{CertKind, TestPki};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first 220.
const READY_DEADLINE: Duration = Duration::from_secs(15);

/// Which server software.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    Vsftpd,
    Proftpd,
    PureFtpd,
    /// ftp-srv 4.6.3 on Node.js (`tests/servers/ftp-srv.js`).
    FtpSrv,
    /// unftp 0.16.0 (libunftp 0.24, rustls): explicit FTPS only, TLS 1.2
    /// only (libunftp's default, no option).
    Unftp,
    /// pyftpdlib 2.2.0's `TLS_FTPHandler` (`tests/servers/pyftpdlib_server.py`).
    Pyftpdlib,
    /// A minimal FTPS server on tlslite-ng 0.8.2 (`tests/servers/tlslite_ftps.py`):
    /// SSLv3 to TLS 1.3, RSA keys only.
    Tlslite,
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Vsftpd => "vsftpd",
            ServerKind::Proftpd => "proftpd",
            ServerKind::PureFtpd => "pure-ftpd",
            ServerKind::FtpSrv => "ftp-srv",
            ServerKind::Unftp => "unftp",
            ServerKind::Pyftpdlib => "pyftpdlib",
            ServerKind::Tlslite => "tlslite-ng",
        }
    }

    /// The program run: the server binary under the install dir, or the
    /// interpreter of a launcher (`node` from PATH, the venv's python).
    pub fn binary(self) -> PathBuf {
        let rel = match self {
            ServerKind::Vsftpd => "vsftpd/usr/sbin/vsftpd",
            ServerKind::Proftpd => "proftpd/usr/sbin/proftpd",
            ServerKind::PureFtpd => "pure-ftpd/usr/sbin/pure-ftpd",
            ServerKind::FtpSrv => return PathBuf::from("node"),
            ServerKind::Unftp => "unftp/bin/unftp",
            ServerKind::Pyftpdlib | ServerKind::Tlslite => "py/bin/python",
        };
        install_dir().join(rel)
    }

    /// The launcher script in `tests/servers/`, for servers started through one.
    pub fn launcher(self) -> Option<PathBuf> {
        let name = match self {
            ServerKind::FtpSrv => "ftp-srv.js",
            ServerKind::Pyftpdlib => "pyftpdlib_server.py",
            ServerKind::Tlslite => "tlslite_ftps.py",
            _ => return None,
        };
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/servers")
                .join(name),
        )
    }

    /// Every file the server needs from the install dir (and its launcher).
    fn required_files(self) -> Vec<PathBuf> {
        let mut files = match self {
            ServerKind::FtpSrv => {
                vec![install_dir().join("ftp-srv/node_modules/ftp-srv/package.json")]
            }
            // Written by the install script once pip has installed them all.
            ServerKind::Pyftpdlib | ServerKind::Tlslite => {
                vec![self.binary(), install_dir().join("py/.installed")]
            }
            _ => vec![self.binary()],
        };
        if self == ServerKind::Proftpd {
            files.push(proftpd_module_dir().join("mod_tls.so"));
        }
        files.extend(self.launcher());
        files
    }

    /// Programs it needs from PATH.
    fn required_commands(self) -> &'static [&'static str] {
        match self {
            ServerKind::FtpSrv => &["node", "openssl"],
            _ => &["openssl"],
        }
    }
}

/// Whether `name` is an executable file in a PATH directory.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            fs::metadata(dir.join(name))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Where `.ci/install-real-servers.sh` put the servers.
pub fn install_dir() -> PathBuf {
    match std::env::var_os("FTPS_SCAN_REAL_SERVERS") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/real-servers"),
    }
}

fn proftpd_module_dir() -> PathBuf {
    install_dir().join("proftpd/usr/lib/proftpd")
}

/// Whether missing servers are an error (CI) rather than a skip.
pub fn servers_required() -> bool {
    std::env::var("FTPS_SCAN_REQUIRE_REAL_SERVERS").as_deref() == Ok("1")
}

/// `true` when `kind` is installed. Otherwise prints a loud SKIPPED line and
/// returns `false`, or panics when `FTPS_SCAN_REQUIRE_REAL_SERVERS=1`.
pub fn available(kind: ServerKind) -> bool {
    let missing: Vec<PathBuf> = kind
        .required_files()
        .into_iter()
        .filter(|f| !f.is_file())
        .collect();
    let missing_command = kind.required_commands().iter().find(|c| !on_path(c));
    let message = match (missing.first(), missing_command) {
        (None, None) => return true,
        (Some(file), _) => format!(
            "{} not installed at {} (run .ci/install-real-servers.sh)",
            kind.name(),
            file.display()
        ),
        (None, Some(command)) => format!(
            "{} needs `{command}`, not on PATH (run .ci/install-real-servers.sh)",
            kind.name()
        ),
    };
    if servers_required() {
        panic!("FTPS_SCAN_REQUIRE_REAL_SERVERS=1 but {message}");
    }
    eprintln!("SKIPPED: {message}");
    false
}

/// Whether the control channel may stay in cleartext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// No TLS at all: AUTH TLS is refused.
    Off,
    /// TLS offered, cleartext login still allowed.
    Optional,
    /// TLS required before login (vsftpd `force_anon_logins_ssl=YES` and
    /// data, ProFTPD `TLSRequired on`, Pure-FTPd `-Y 2`). Implicit FTPS is
    /// always this.
    Required,
}

/// The TLS versions the server is configured to accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocols {
    /// TLS 1.2 and 1.3: the default of all three servers with OpenSSL 3
    /// (ProFTPD: `TLSProtocol TLSv1.2 TLSv1.3`).
    Tls12And13,
    /// TLS 1.2 only: ProFTPD `TLSProtocol TLSv1.2`; vsftpd and Pure-FTPd have
    /// no option, so OpenSSL is capped through `OPENSSL_CONF`.
    Tls12Only,
    /// TLS 1.0 to 1.3 with `@SECLEVEL=0` (vsftpd `ssl_tlsv1=YES` +
    /// `ssl_ciphers=DEFAULT:@SECLEVEL=0`; ProFTPD `TLSProtocol TLSv1 TLSv1.1
    /// TLSv1.2 TLSv1.3` + `TLSCipherSuite DEFAULT:@SECLEVEL=0`; ftp-srv and
    /// pyftpdlib: minimum TLS 1.0, `DEFAULT:@SECLEVEL=0`; tlslite-ng:
    /// TLS 1.0..1.3). Pure-FTPd 1.0.50 and unftp cannot do it.
    Legacy,
    /// SSLv3 and TLS 1.0 to 1.3: tlslite-ng only.
    Ssl3ToTls13,
}

/// The server's key and the certificate's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// EC P-256, `ecdsa-with-SHA256` from the test CA (rcgen, [`TestPki`]).
    Ec,
    /// RSA-2048, signed `ecdsa-with-SHA256` by the test CA (the CA's key is
    /// P-256), made with the `openssl` CLI. tlslite-ng's default: it cannot
    /// use EC keys with SSLv3..TLS 1.1.
    Rsa2048,
    /// RSA-1024, signed `ecdsa-with-SHA1` by the test CA (`openssl`): a weak
    /// key and a weak signature, trusted otherwise. OpenSSL servers load it
    /// only at `@SECLEVEL=0`, i.e. with [`Protocols::Legacy`]; unftp
    /// (rustls/ring) cannot load an RSA key under 2048 bits at all.
    Rsa1024Sha1,
    /// RSA-1024, signed `sha1WithRSAEncryption` by an RSA-2048 intermediate
    /// CA that the test CA signed (`ecdsa-with-SHA256`): the common form of
    /// a SHA-1 certificate. The chain sent is leaf, intermediate, test CA
    /// (3 certificates; self-signed: the leaf alone, `sha1WithRSAEncryption`
    /// too). Same server requirements as [`KeyKind::Rsa1024Sha1`].
    Rsa1024Sha1ViaRsaCa,
}

impl KeyKind {
    /// An RSA-1024 key with a SHA-1 signature (OpenSSL servers need
    /// security level 0 to load it).
    pub fn is_weak(self) -> bool {
        matches!(self, KeyKind::Rsa1024Sha1 | KeyKind::Rsa1024Sha1ViaRsaCa)
    }
}

/// One server configuration.
#[derive(Debug, Clone, Copy)]
pub struct RealSpec {
    pub server: ServerKind,
    /// Implicit FTPS (TLS from the first byte); vsftpd and ProFTPD only.
    pub implicit: bool,
    pub tls: Tls,
    pub protocols: Protocols,
    /// The server certificate, issued by the test CA (or self-signed).
    pub cert: CertKind,
    /// A custom greeting text, one entry per line (vsftpd `banner_file`,
    /// ProFTPD `DisplayConnect`, Pure-FTPd `-F` fortune file).
    pub banner: Option<&'static [&'static str]>,
    /// Extra lines for the config file (vsftpd, ProFTPD) or extra arguments
    /// (Pure-FTPd, unftp and the launchers), appended as they are, after
    /// substituting `{dir}` (the temp dir), `{ca}` (the test CA's PEM file,
    /// e.g. for ProFTPD's `TLSCACertificateFile {ca}`), `{cert}` (the chain
    /// file), `{key}` and `{root}` (the anonymous root). ProFTPD: an extra
    /// line starting with one of the directives the harness writes in its
    /// mod_tls block (`TLSOptions`, `TLSVerifyClient`, `TLSProtocol`,
    /// `TLSCipherSuite`, `TLSRequired`) replaces the harness's line, so e.g.
    /// `TLSOptions UseImplicitSSL` (without `NoSessionReuseRequired`) or
    /// `TLSVerifyClient on` take effect. vsftpd: a later line wins anyway.
    pub extra: &'static [&'static str],
    /// Listen on [::1] instead of 127.0.0.1 (vsftpd `listen_ipv6=YES` +
    /// `listen_address6=::1`; ProFTPD `UseIPv6 on`; the others bind [::1]).
    /// Certificates made for it also carry the SAN `IP:::1` (so they come
    /// from the `openssl` CLI, also for [`KeyKind::Ec`]).
    pub ipv6: bool,
    /// The key type and signature of the server certificate.
    pub key: KeyKind,
}

impl RealSpec {
    /// Explicit FTPS, TLS optional, TLS 1.2 + 1.3 (unftp: TLS 1.2, all it
    /// can), a valid certificate with an EC key (tlslite-ng: RSA-2048), on
    /// 127.0.0.1.
    pub const fn new(server: ServerKind) -> Self {
        Self {
            server,
            implicit: false,
            tls: Tls::Optional,
            protocols: match server {
                ServerKind::Unftp => Protocols::Tls12Only,
                _ => Protocols::Tls12And13,
            },
            cert: CertKind::Valid,
            banner: None,
            extra: &[],
            ipv6: false,
            key: match server {
                ServerKind::Tlslite => KeyKind::Rsa2048,
                _ => KeyKind::Ec,
            },
        }
    }
}

/// A running real server. Dropping it kills its process group.
pub struct RealServer {
    /// Dropped first (fields drop in order): the server is stopped, and its
    /// logs are shown on a panic, before its temp dir goes.
    process: Process,
    pub addr: SocketAddr,
    pub spec: RealSpec,
    /// The temp dir with the config, certificates and logs (removed on drop).
    pub dir: tempfile::TempDir,
}

/// The spawned server; dropping it kills the process group.
struct Process {
    child: Child,
    /// The process group (== the child's pid).
    pgid: u32,
    /// Printed on drop when the thread is panicking, to explain a failure.
    describe: String,
    logs: Vec<PathBuf>,
}

impl Process {
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Signals the process group (Pure-FTPd sessions, which outlive their
    /// master, are in it) and `others` (vsftpd sessions are not in it).
    fn signal(&self, signal: &str, others: &[u32]) {
        let mut command = Command::new("kill");
        command.args([signal, "--", &format!("-{}", self.pgid)]);
        command.args(others.iter().filter(|p| alive(**p)).map(u32::to_string));
        let _ = command.stdout(Stdio::null()).stderr(Stdio::null()).status();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- real server at the time of the failure: {}",
                self.describe
            );
            for log in &self.logs {
                if let Ok(text) = fs::read_to_string(log) {
                    if !text.trim().is_empty() {
                        eprintln!("--- {}:\n{}", log.display(), tail(&text, 4000));
                    }
                }
            }
        }
        // Sessions, found while the master (their parent) still lives.
        let sessions = descendants(self.pgid);
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal("-TERM", &sessions);
            let deadline = Instant::now() + Duration::from_secs(3);
            // Until the leader has exited: a zombie, not yet reaped, so its
            // pid (the group id) cannot be reused while we still signal it.
            while alive(self.pgid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Whatever is left (sessions, a hung master) goes too, before the
        // leader is reaped so that the group id is still ours.
        self.signal("-KILL", &sessions);
        let _ = self.child.kill();
        let _ = self.child.wait();
        // SIGKILL is delivered asynchronously: return once they are gone.
        let deadline = Instant::now() + Duration::from_secs(3);
        while sessions.iter().any(|p| alive(*p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The fields of `/proc/PID/stat` after the command name: state, ppid,
/// pgrp, ...
fn proc_stat(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Whether `pid` is a live process (a zombie is not).
pub fn alive(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|f| f.first().is_some_and(|s| s != "Z" && s != "X"))
}

/// Every live process below `pid` (children, grandchildren, ...).
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(p) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Some(ppid) = proc_stat(p).and_then(|f| f.get(1)?.parse().ok()) {
                parents.push((p, ppid));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found.retain(|p| alive(*p));
    found
}

fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// A port on `ip` that was free a moment ago.
fn free_port(ip: IpAddr) -> u16 {
    let listener = TcpListener::bind((ip, 0)).unwrap_or_else(|e| panic!("bind {ip} port 0: {e}"));
    listener.local_addr().expect("local_addr").port()
}

/// A passive range of 100 ports (Pure-FTPd caps its clients to half the
/// range), another one for each of the last 50 servers of this process.
fn passive_range() -> (u16, u16) {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let slot = NEXT.fetch_add(1, Ordering::Relaxed) % 50;
    let min = 20000 + slot * 100;
    (min, min + 99)
}

impl RealServer {
    /// Starts the server of `spec`, or panics with the reason it did not
    /// start (its own words included).
    pub fn start(spec: RealSpec, pki: &TestPki) -> RealServer {
        match Self::try_start(spec, pki) {
            Ok(server) => server,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`RealServer::start`], with the failure as a message. A port
    /// taken between choosing and binding it is retried.
    pub fn try_start(spec: RealSpec, pki: &TestPki) -> Result<RealServer, String> {
        let mut failures = String::new();
        for _attempt in 0..3 {
            match Self::start_once(spec, pki)? {
                Ok(server) => return Ok(server),
                Err(port_taken) => failures.push_str(&port_taken),
            }
        }
        Err(format!(
            "{} did not start (port taken 3 times):\n{failures}",
            spec.server.name()
        ))
    }

    /// Outer `Err`: the server failed to start. Inner `Err`: the port was
    /// taken by someone else; try another.
    fn start_once(spec: RealSpec, pki: &TestPki) -> Result<Result<RealServer, String>, String> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("ftps-scan-{}-", spec.server.name()))
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let ip: IpAddr = if spec.ipv6 {
            Ipv6Addr::LOCALHOST.into()
        } else {
            Ipv4Addr::LOCALHOST.into()
        };
        let addr = SocketAddr::new(ip, free_port(ip));
        let files = prepare_dir(dir.path(), &spec, pki).map_err(|e| format!("setup: {e}"))?;
        let (mut command, config_text) = build_command(&spec, dir.path(), &files, addr)?;
        let stdout = File::create(dir.path().join("stdout.log")).map_err(|e| e.to_string())?;
        let stderr = File::create(dir.path().join("stderr.log")).map_err(|e| e.to_string())?;
        // vsftpd writes fatal errors to fd 0: give it a writable file.
        let stdin = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.path().join("fd0.log"))
            .map_err(|e| e.to_string())?;
        command
            .stdin(Stdio::from(stdin))
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            .process_group(0);
        let describe = format!(
            "{} {:?} on {addr}, command {:?}",
            spec.server.name(),
            spec,
            command
        );
        let child = command
            .spawn()
            .map_err(|e| format!("cannot run {describe}: {e}"))?;
        let pgid = child.id();
        let mut logs = vec![
            dir.path().join("fd0.log"),
            dir.path().join("stdout.log"),
            dir.path().join("stderr.log"),
        ];
        if spec.server == ServerKind::Proftpd {
            logs.push(dir.path().join("proftpd.log"));
            logs.push(dir.path().join("proftpd-tls.log"));
        }
        let mut process = Process {
            child,
            pgid,
            describe: describe.clone(),
            logs,
        };

        let deadline = Instant::now() + READY_DEADLINE;
        loop {
            if let Some(status) = process.exited() {
                let output = collect_output(&process.logs);
                let failure = format!(
                    "{describe}\nexited before answering with 220: {status}\n{output}\n--- config:\n{config_text}"
                );
                let lower = output.to_ascii_lowercase();
                if lower.contains("address already in use")
                    || lower.contains("could not bind")
                    || lower.contains("eaddrinuse")
                {
                    return Ok(Err(failure));
                }
                return Err(failure);
            }
            let last_error = match greeting(addr, spec.implicit) {
                Ok(()) => break,
                Err(e) => e,
            };
            if Instant::now() > deadline {
                let output = collect_output(&process.logs);
                return Err(format!(
                    "{describe}\nno 220 within {READY_DEADLINE:?} (last attempt: {last_error})\n{output}\n--- config:\n{config_text}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(Ok(RealServer {
            process,
            addr,
            spec,
            dir,
        }))
    }

    /// The server's log files and captured output, for a failure message.
    pub fn output(&self) -> String {
        collect_output(&self.process.logs)
    }

    /// The pid of the server's main process (its process group).
    pub fn pid(&self) -> u32 {
        self.process.pgid
    }
}

fn collect_output(logs: &[PathBuf]) -> String {
    let mut out = String::new();
    for log in logs {
        let text = fs::read_to_string(log).unwrap_or_default();
        let _ = writeln!(
            out,
            "--- {}:\n{}",
            log.display(),
            tail(text.trim_end(), 4000)
        );
    }
    out
}

/// Connects and reads up to a `220 ` line (inside TLS for implicit).
fn greeting(addr: SocketAddr, implicit: bool) -> Result<(), String> {
    let mut sock = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map_err(|e| format!("connect: {e}"))?;
    sock.set_read_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    sock.set_write_timeout(Some(Duration::from_secs(3)))
        .map_err(|e| e.to_string())?;
    let result = if implicit {
        let tls = ftps_scan::tls::session::EndpointTls::new();
        let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
        let mut conn = rustls::ClientConnection::new(tls.config.clone(), name)
            .map_err(|e| format!("tls: {e}"))?;
        let mut stream = rustls::Stream::new(&mut conn, &mut sock);
        let r = read_until_220(&mut stream);
        if r.is_ok() {
            let _ = stream.write_all(b"QUIT\r\n");
        }
        r
    } else {
        let r = read_until_220(&mut sock);
        if r.is_ok() {
            let _ = sock.write_all(b"QUIT\r\n");
        }
        r
    };
    let _ = sock.shutdown(Shutdown::Both);
    result
}

fn read_until_220(stream: &mut impl Read) -> Result<(), String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let text = String::from_utf8_lossy(&got);
        if text.split("\r\n").any(|l| l.starts_with("220 ")) {
            return Ok(());
        }
        if got.len() > 16 * 1024 {
            return Err(format!("no 220 line in {text:?}"));
        }
        match stream.read(&mut buf) {
            Ok(0) => return Err(format!("closed after {text:?}")),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return Err(format!("read: {e} after {text:?}")),
        }
    }
}

/// Paths made by [`prepare_dir`].
struct Files {
    /// The server certificate followed by its chain up to the test CA (the
    /// leaf alone when self-signed).
    cert: PathBuf,
    /// The test CA alone (for `{ca}` in extra lines).
    ca: PathBuf,
    /// The certificates after the leaf (intermediate, test CA), for servers
    /// that take the chain separately (ProFTPD).
    chain: PathBuf,
    key: PathBuf,
    root: PathBuf,
    empty: PathBuf,
    banner: Option<PathBuf>,
}

fn prepare_dir(dir: &Path, spec: &RealSpec, pki: &TestPki) -> std::io::Result<Files> {
    // The servers drop privileges to nobody/daemon/ftp: every component of
    // the anonymous root must be traversable by them.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    let root = dir.join("root");
    let empty = dir.join("empty");
    for d in [&root, &empty] {
        fs::create_dir(d)?;
        fs::set_permissions(d, fs::Permissions::from_mode(0o755))?;
    }
    fs::write(root.join("hello.txt"), "hello from a real server\n")?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if spec.key == KeyKind::Ec && !spec.ipv6 {
        let identity = pki
            .issue(spec.cert)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        TestPki::write_pem(&identity, &cert, &key)?;
    } else {
        openssl_issue(dir, spec, pki, &cert, &key).map_err(std::io::Error::other)?;
    }
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600))?;
    let ca = dir.join("ca.pem");
    fs::write(&ca, pki.ca_pem())?;
    let chain = dir.join("chain.pem");
    let pem = fs::read_to_string(&cert)?;
    let marker = "-----BEGIN CERTIFICATE-----";
    let rest = pem
        .match_indices(marker)
        .nth(1)
        .map_or("", |(at, _)| &pem[at..]);
    fs::write(&chain, rest)?;
    let banner = match spec.banner {
        None => None,
        Some(lines) => {
            let path = dir.join("banner.txt");
            let mut text = lines.join("\n");
            text.push('\n');
            if spec.server == ServerKind::PureFtpd {
                // A fortune file: the text, then a line `%`.
                text.push_str("%\n");
            }
            fs::write(&path, text)?;
            Some(path)
        }
    };
    Ok(Files {
        cert,
        ca,
        chain,
        key,
        root,
        empty,
        banner,
    })
}

/// Runs `openssl` with `args` in `dir`; its output on failure.
fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "openssl {} failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// The server certificate of `spec` made with the `openssl` CLI, for what
/// rcgen cannot make (RSA keys, SHA-1 signatures) and for the SAN `::1`:
/// the same subject, names and validity as [`TestPki::issue`] gives for
/// `spec.cert`, signed by the test CA (`openssl ca`, with the CA key from
/// [`TestPki::ca_key_pem`]) or self-signed. Writes the chain (leaf, then
/// the CA unless self-signed) to `cert` and the PKCS#8 key to `key`.
fn openssl_issue(
    dir: &Path,
    spec: &RealSpec,
    pki: &TestPki,
    cert: &Path,
    key: &Path,
) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let work = dir.join("openssl-ca");
    fs::create_dir(&work).map_err(io)?;
    let ca_key = work.join("ca-key.pem");
    fs::write(&ca_key, pki.ca_key_pem()).map_err(io)?;
    fs::set_permissions(&ca_key, fs::Permissions::from_mode(0o600)).map_err(io)?;
    fs::write(work.join("ca.pem"), pki.ca_pem()).map_err(io)?;
    fs::write(work.join("index.txt"), "").map_err(io)?;
    fs::write(
        work.join("ca.cnf"),
        "[ca]\ndefault_ca = ca_sect\n[ca_sect]\ndatabase = index.txt\nnew_certs_dir = .\n\
         rand_serial = yes\npolicy = policy_any\nunique_subject = no\nemail_in_dn = no\n\
         [policy_any]\ncommonName = supplied\norganizationName = optional\n",
    )
    .map_err(io)?;

    let (algorithm, key_option, md) = match spec.key {
        KeyKind::Ec => ("EC", "ec_paramgen_curve:P-256", "sha256"),
        KeyKind::Rsa2048 => ("RSA", "rsa_keygen_bits:2048", "sha256"),
        KeyKind::Rsa1024Sha1 | KeyKind::Rsa1024Sha1ViaRsaCa => {
            ("RSA", "rsa_keygen_bits:1024", "sha1")
        }
    };
    let key_path = key.display().to_string();
    openssl(
        &work,
        &[
            "genpkey",
            "-algorithm",
            algorithm,
            "-pkeyopt",
            key_option,
            "-out",
            &key_path,
        ],
    )?;
    let name = if spec.cert == CertKind::WrongName {
        "ftp.invalid"
    } else {
        "localhost"
    };
    let subject = format!("/CN={name}/O=ftps-scan test server");
    openssl(
        &work,
        &[
            "req", "-new", "-key", &key_path, "-subj", &subject, "-out", "leaf.csr",
        ],
    )?;

    let mut sans = format!("DNS:{name}");
    if spec.cert != CertKind::WrongName {
        sans.push_str(",IP:127.0.0.1");
        if spec.ipv6 {
            sans.push_str(",IP:::1");
        }
    }
    let self_signed = spec.cert == CertKind::SelfSigned;
    let mut ext = format!(
        "basicConstraints = CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = {sans}\nsubjectKeyIdentifier = hash\n"
    );
    if !self_signed {
        ext.push_str("authorityKeyIdentifier = keyid\n");
    }
    fs::write(work.join("leaf.ext"), ext).map_err(io)?;

    let now = time::OffsetDateTime::now_utc();
    let (from, until) = match spec.cert {
        CertKind::Expired => (
            now - time::Duration::days(100),
            now - time::Duration::days(10),
        ),
        _ => (
            now - time::Duration::days(1),
            now + time::Duration::days(90),
        ),
    };
    let stamp = |t: time::OffsetDateTime| {
        t.format(time::macros::format_description!(
            "[year][month][day][hour][minute][second]Z"
        ))
        .expect("format a date")
    };
    let (from, until) = (stamp(from), stamp(until));
    let intermediate = spec.key == KeyKind::Rsa1024Sha1ViaRsaCa && !self_signed;
    if intermediate {
        // An RSA-2048 CA under the test CA, valid as long as the test CA.
        openssl(
            &work,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "int-key.pem",
            ],
        )?;
        openssl(
            &work,
            &[
                "req",
                "-new",
                "-key",
                "int-key.pem",
                "-subj",
                "/CN=ftps-scan test RSA intermediate/O=ftps-scan test PKI",
                "-out",
                "int.csr",
            ],
        )?;
        fs::write(
            work.join("int.ext"),
            "basicConstraints = critical, CA:TRUE, pathlen:0\n\
             keyUsage = critical, keyCertSign, cRLSign\n\
             subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
        )
        .map_err(io)?;
        let (int_from, int_until) = (
            stamp(now - time::Duration::days(200)),
            stamp(now + time::Duration::days(3000)),
        );
        openssl(
            &work,
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-in",
                "int.csr",
                "-out",
                "int.pem",
                "-md",
                "sha256",
                "-startdate",
                &int_from,
                "-enddate",
                &int_until,
                "-extfile",
                "int.ext",
                "-notext",
                "-preserveDN",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca-key.pem",
            ],
        )?;
    }
    let mut args = vec![
        "ca", "-batch", "-config", "ca.cnf", "-in", "leaf.csr", "-out", "leaf.pem",
    ];
    args.extend(["-md", md, "-startdate", &from, "-enddate", &until]);
    args.extend(["-extfile", "leaf.ext", "-notext", "-preserveDN"]);
    if self_signed {
        args.extend(["-selfsign", "-keyfile", &key_path]);
    } else if intermediate {
        args.extend(["-cert", "int.pem", "-keyfile", "int-key.pem"]);
    } else {
        args.extend(["-cert", "ca.pem", "-keyfile", "ca-key.pem"]);
    }
    openssl(&work, &args)?;

    let mut chain = fs::read_to_string(work.join("leaf.pem")).map_err(io)?;
    if intermediate {
        chain.push_str(&fs::read_to_string(work.join("int.pem")).map_err(io)?);
    }
    if !self_signed {
        chain.push_str(pki.ca_pem());
    }
    fs::write(cert, chain).map_err(io)
}

/// An OpenSSL config that caps every SSL_CTX of the process to TLS 1.2
/// (for servers without a version option).
fn openssl_tls12_only(dir: &Path, seclevel: u8) -> Result<PathBuf, String> {
    openssl_conf(
        dir,
        "openssl-tls12.cnf",
        &format!(
            "MinProtocol = TLSv1.2\nMaxProtocol = TLSv1.2\nCipherString = DEFAULT:@SECLEVEL={seclevel}\n"
        ),
    )
}

/// An OpenSSL config at security level 0 for every SSL_CTX of the process:
/// servers load an RSA-1024 / SHA-1 certificate before they apply their own
/// cipher string (vsftpd: `SSL: cannot load RSA certificate` otherwise).
fn openssl_seclevel0(dir: &Path) -> Result<PathBuf, String> {
    openssl_conf(
        dir,
        "openssl-seclevel0.cnf",
        "CipherString = DEFAULT:@SECLEVEL=0\n",
    )
}

fn openssl_conf(dir: &Path, name: &str, system_default: &str) -> Result<PathBuf, String> {
    let path = dir.join(name);
    let text = format!(
        "openssl_conf = default_conf\n\n[default_conf]\nssl_conf = ssl_sect\n\n\
         [ssl_sect]\nsystem_default = system_default_sect\n\n\
         [system_default_sect]\n{system_default}"
    );
    fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

/// For OpenSSL servers: the `OPENSSL_CONF` of `spec`, if it needs one: a
/// TLS 1.2 cap (when `cap_tls12`, for servers without a version option),
/// security level 0 for an RSA-1024 / SHA-1 certificate.
fn openssl_env(spec: &RealSpec, dir: &Path, cap_tls12: bool) -> Result<Option<PathBuf>, String> {
    if spec.tls == Tls::Off {
        return Ok(None);
    }
    let weak = spec.key.is_weak();
    if cap_tls12 && spec.protocols == Protocols::Tls12Only {
        return openssl_tls12_only(dir, if weak { 0 } else { 2 }).map(Some);
    }
    if weak {
        return openssl_seclevel0(dir).map(Some);
    }
    Ok(None)
}

/// `line` with `{dir}`, `{ca}`, `{cert}`, `{key}` and `{root}` replaced by
/// the paths of this server's temp dir, test CA file, certificate chain,
/// key and anonymous root.
fn expand(line: &str, dir: &Path, files: &Files) -> String {
    line.replace("{dir}", &dir.display().to_string())
        .replace("{ca}", &files.ca.display().to_string())
        .replace("{cert}", &files.cert.display().to_string())
        .replace("{key}", &files.key.display().to_string())
        .replace("{root}", &files.root.display().to_string())
}

/// A port of 127.0.0.1 (or [::1]) for a server's side service (unftp's
/// HTTP endpoint).
fn side_port(addr: SocketAddr) -> u16 {
    free_port(addr.ip())
}

fn unsupported(spec: &RealSpec, what: &str) -> String {
    format!(
        "{} cannot be configured for {what} ({spec:?})",
        spec.server.name()
    )
}

/// The command line, and the configuration text (for failure messages).
fn build_command(
    spec: &RealSpec,
    dir: &Path,
    files: &Files,
    addr: SocketAddr,
) -> Result<(Command, String), String> {
    if spec.implicit && spec.tls != Tls::Required {
        return Err(format!("implicit FTPS is always Tls::Required ({spec:?})"));
    }
    let default_protocols = RealSpec::new(spec.server).protocols;
    if spec.tls == Tls::Off && spec.protocols != default_protocols {
        return Err(format!("TLS off with a TLS protocol setting ({spec:?})"));
    }
    if spec.protocols == Protocols::Ssl3ToTls13 && spec.server != ServerKind::Tlslite {
        return Err(unsupported(spec, "SSLv3 (tlslite-ng only)"));
    }
    let extra: Vec<String> = spec.extra.iter().map(|l| expand(l, dir, files)).collect();
    let ip = addr.ip();
    let (pasv_min, pasv_max) = passive_range();
    match spec.server {
        ServerKind::Vsftpd => {
            let mut c = String::new();
            let listen = if spec.ipv6 {
                format!("listen=NO\nlisten_ipv6=YES\nlisten_address6={ip}")
            } else {
                format!("listen=YES\nlisten_ipv6=NO\nlisten_address={ip}")
            };
            for line in [
                listen,
                format!("listen_port={}", addr.port()),
                "background=NO".into(),
                "seccomp_sandbox=NO".into(),
                "anonymous_enable=YES".into(),
                "local_enable=NO".into(),
                "write_enable=NO".into(),
                format!("anon_root={}", files.root.display()),
                // Its home must exist: vsftpd chdir()s there first.
                "ftp_username=daemon".into(),
                format!("secure_chroot_dir={}", files.empty.display()),
                "xferlog_enable=NO".into(),
                "pasv_enable=YES".into(),
                format!("pasv_min_port={pasv_min}"),
                format!("pasv_max_port={pasv_max}"),
            ] {
                let _ = writeln!(c, "{line}");
            }
            let mut env = None;
            if spec.tls == Tls::Off {
                c.push_str("ssl_enable=NO\n");
            } else {
                let force = if spec.tls == Tls::Required {
                    "YES"
                } else {
                    "NO"
                };
                let ciphers = match spec.protocols {
                    Protocols::Legacy => "DEFAULT:@SECLEVEL=0",
                    _ => "HIGH",
                };
                let _ = write!(
                    c,
                    "ssl_enable=YES\nallow_anon_ssl=YES\nforce_anon_logins_ssl={force}\n\
                     force_anon_data_ssl={force}\nforce_local_logins_ssl=NO\n\
                     force_local_data_ssl=NO\nrsa_cert_file={}\nrsa_private_key_file={}\n\
                     ssl_ciphers={ciphers}\n",
                    files.cert.display(),
                    files.key.display()
                );
                if spec.implicit {
                    c.push_str("implicit_ssl=YES\n");
                }
                env = openssl_env(spec, dir, true)?;
                if spec.protocols == Protocols::Legacy {
                    c.push_str("ssl_tlsv1=YES\n");
                }
            }
            if let Some(banner) = &files.banner {
                let _ = writeln!(c, "banner_file={}", banner.display());
            }
            for line in &extra {
                let _ = writeln!(c, "{line}");
            }
            let conf = dir.join("vsftpd.conf");
            fs::write(&conf, &c).map_err(|e| e.to_string())?;
            let mut command = Command::new(ServerKind::Vsftpd.binary());
            command.arg(&conf);
            if let Some(cnf) = env {
                command.env("OPENSSL_CONF", cnf);
            }
            Ok((command, c))
        }
        ServerKind::Proftpd => {
            let mut c = String::new();
            let _ = write!(
                c,
                "ServerType standalone\nServerName \"ftps-scan test\"\n\
                 ServerIdent on \"FTP Server ready.\"\nUseIPv6 {ipv6}\nDefaultAddress {ip}\n\
                 SocketBindTight on\nPort {port}\nPassivePorts {pasv_min} {pasv_max}\n\
                 User nobody\nGroup nogroup\nUmask 022\nPidFile {run}/proftpd.pid\n\
                 ScoreboardFile {run}/proftpd.scoreboard\nDelayEngine off\n\
                 SystemLog {run}/proftpd.log\nTransferLog none\nWtmpLog off\nUseLastlog off\n\
                 UseReverseDNS off\nUseFtpUsers off\nRequireValidShell off\nAuthPAM off\n\
                 AuthOrder mod_auth_unix.c\nControlsEngine off\nModulePath {moddir}\n\
                 LoadModule mod_tls.c\n\n",
                ipv6 = if spec.ipv6 { "on" } else { "off" },
                port = addr.port(),
                run = dir.display(),
                moddir = proftpd_module_dir().display(),
            );
            if spec.tls == Tls::Off {
                c.push_str("<IfModule mod_tls.c>\n  TLSEngine off\n</IfModule>\n");
            } else {
                let (protocol, ciphers) = match spec.protocols {
                    Protocols::Tls12And13 => ("TLSv1.2 TLSv1.3", "DEFAULT"),
                    Protocols::Tls12Only => ("TLSv1.2", "DEFAULT"),
                    // SSLv3: refused above.
                    Protocols::Legacy | Protocols::Ssl3ToTls13 => {
                        ("TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "DEFAULT:@SECLEVEL=0")
                    }
                };
                let required = if spec.tls == Tls::Required {
                    "on"
                } else {
                    "off"
                };
                let options = if spec.implicit {
                    "UseImplicitSSL NoSessionReuseRequired"
                } else {
                    "NoSessionReuseRequired"
                };
                let kind = if spec.key == KeyKind::Ec { "EC" } else { "RSA" };
                let _ = write!(
                    c,
                    "<IfModule mod_tls.c>\n  TLSEngine on\n  TLSLog {run}/proftpd-tls.log\n\
                     \x20 TLS{kind}CertificateFile {cert}\n  TLS{kind}CertificateKeyFile {key}\n",
                    run = dir.display(),
                    cert = files.cert.display(),
                    key = files.key.display(),
                );
                // Directives an `extra` line may replace.
                for (directive, value) in [
                    ("TLSProtocol", protocol),
                    ("TLSCipherSuite", ciphers),
                    ("TLSVerifyClient", "off"),
                    ("TLSRequired", required),
                    ("TLSOptions", options),
                ] {
                    let replaced = extra
                        .iter()
                        .any(|l| l.split_whitespace().next() == Some(directive));
                    if !replaced {
                        let _ = writeln!(c, "  {directive} {value}");
                    }
                }
                // mod_tls sends only the first certificate of
                // TLSECCertificateFile; the chain comes from its own file.
                if spec.cert != CertKind::SelfSigned {
                    let _ = writeln!(c, "  TLSCertificateChainFile {}", files.chain.display());
                }
                c.push_str("</IfModule>\n");
            }
            if let Some(banner) = &files.banner {
                let _ = writeln!(c, "DisplayConnect {}", banner.display());
            }
            for line in &extra {
                let _ = writeln!(c, "{line}");
            }
            let _ = write!(
                c,
                "\n<Anonymous {}>\n  User nobody\n  Group nogroup\n  UserAlias anonymous nobody\n\
                 \x20 RequireValidShell off\n  AnonRequirePassword off\n  <Limit WRITE>\n\
                 \x20   DenyAll\n  </Limit>\n</Anonymous>\n",
                files.root.display()
            );
            let conf = dir.join("proftpd.conf");
            fs::write(&conf, &c).map_err(|e| e.to_string())?;
            let mut command = Command::new(ServerKind::Proftpd.binary());
            command.arg("--nodaemon").arg("--config").arg(&conf);
            if let Some(cnf) = openssl_env(spec, dir, false)? {
                command.env("OPENSSL_CONF", cnf);
            }
            Ok((command, c))
        }
        ServerKind::PureFtpd => {
            if spec.implicit {
                return Err(unsupported(spec, "implicit FTPS"));
            }
            if spec.protocols == Protocols::Legacy {
                return Err(unsupported(spec, "TLS 1.0/1.1"));
            }
            // Anonymous FTP is hard-wired to the system user `ftp` and its
            // home: give it one in a private mount namespace, where a copy
            // of /etc/passwd with that user is bind-mounted over the real one.
            let system = fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
            let mut passwd: String = system
                .lines()
                .filter(|l| !l.starts_with("ftp:") && !l.starts_with("_ftp:"))
                .map(|l| format!("{l}\n"))
                .collect();
            let _ = writeln!(
                passwd,
                "ftp:x:65534:65534:anonymous FTP:{}:/usr/sbin/nologin",
                files.root.display()
            );
            let passwd_path = dir.join("passwd");
            fs::write(&passwd_path, &passwd).map_err(|e| e.to_string())?;
            fs::set_permissions(&passwd_path, fs::Permissions::from_mode(0o644))
                .map_err(|e| e.to_string())?;

            let mode = match spec.tls {
                Tls::Off => "0",
                Tls::Optional => "1",
                Tls::Required => "2",
            };
            let mut args: Vec<String> = vec![
                "-S".into(),
                format!("{ip},{}", addr.port()),
                "-Y".into(),
                mode.into(),
                "-2".into(),
                format!("{},{}", files.cert.display(), files.key.display()),
                "-p".into(),
                format!("{pasv_min}:{pasv_max}"),
                "-H".into(),
                "-g".into(),
                dir.join("pure-ftpd.pid").display().to_string(),
            ];
            if let Some(banner) = &files.banner {
                args.push("-F".into());
                args.push(banner.display().to_string());
            }
            args.extend(extra);
            let mut command = Command::new("unshare");
            command
                .args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg(r#"mount --bind "$0" /etc/passwd && exec "$@""#)
                .arg(&passwd_path)
                .arg(ServerKind::PureFtpd.binary())
                .args(&args);
            if let Some(cnf) = openssl_env(spec, dir, true)? {
                command.env("OPENSSL_CONF", cnf);
            }
            Ok((command, format!("pure-ftpd {}", args.join(" "))))
        }
        ServerKind::FtpSrv | ServerKind::Pyftpdlib | ServerKind::Tlslite => {
            launcher_command(spec, files, addr, (pasv_min, pasv_max), extra)
        }
        ServerKind::Unftp => {
            if spec.implicit {
                return Err(unsupported(spec, "implicit FTPS"));
            }
            if spec.protocols != Protocols::Tls12Only {
                return Err(unsupported(
                    spec,
                    "TLS versions other than 1.2 (libunftp's default TlsFlags, no option)",
                ));
            }
            if spec.banner.is_some() {
                return Err(unsupported(spec, "a custom greeting"));
            }
            let mut args: Vec<String> = vec![
                format!("--bind-address={addr}"),
                format!(
                    "--bind-address-http={}",
                    SocketAddr::new(ip, side_port(addr))
                ),
                format!("--root-dir={}", files.root.display()),
                "--auth-type=anonymous".into(),
                format!("--passive-ports={pasv_min}-{pasv_max}"),
                "--log-level=debug".into(),
            ];
            if !spec.ipv6 {
                args.push(format!("--passive-host={ip}"));
            }
            if spec.tls != Tls::Off {
                args.push(format!("--ftps-certs-file={}", files.cert.display()));
                args.push(format!("--ftps-key-file={}", files.key.display()));
            }
            if spec.tls == Tls::Required {
                args.push("--ftps-required-on-control-channel=all".into());
            }
            args.extend(extra);
            let mut command = Command::new(ServerKind::Unftp.binary());
            command.args(&args);
            Ok((command, format!("unftp {}", args.join(" "))))
        }
    }
}

/// ftp-srv, pyftpdlib and tlslite-ng, run through their launchers in
/// `tests/servers/` (options: see each launcher's header).
fn launcher_command(
    spec: &RealSpec,
    files: &Files,
    addr: SocketAddr,
    (pasv_min, pasv_max): (u16, u16),
    extra: Vec<String>,
) -> Result<(Command, String), String> {
    let server = spec.server;
    let mode = match (spec.implicit, spec.tls) {
        (true, _) => "implicit",
        (false, Tls::Off) if server == ServerKind::Tlslite => {
            return Err(unsupported(spec, "FTP without TLS"))
        }
        (false, Tls::Off) => "plain",
        (false, _) => "explicit",
    };
    let tls = if spec.tls == Tls::Required {
        "required"
    } else {
        "optional"
    };
    let mut args: Vec<String> = vec![
        "--host".into(),
        addr.ip().to_string(),
        "--port".into(),
        addr.port().to_string(),
        "--cert".into(),
        files.cert.display().to_string(),
        "--key".into(),
        files.key.display().to_string(),
        "--root".into(),
        files.root.display().to_string(),
        "--mode".into(),
        mode.into(),
        "--tls".into(),
        tls.into(),
        "--pasv-min".into(),
        pasv_min.to_string(),
        "--pasv-max".into(),
        pasv_max.to_string(),
    ];
    match server {
        ServerKind::Tlslite => {
            if spec.key == KeyKind::Ec {
                return Err(unsupported(spec, "an EC key (use KeyKind::Rsa2048)"));
            }
            let (min, max) = match spec.protocols {
                Protocols::Tls12And13 => ("tls1.2", "tls1.3"),
                Protocols::Tls12Only => ("tls1.2", "tls1.2"),
                Protocols::Legacy => ("tls1.0", "tls1.3"),
                Protocols::Ssl3ToTls13 => ("ssl3", "tls1.3"),
            };
            args.extend([
                "--min-version".into(),
                min.into(),
                "--max-version".into(),
                max.into(),
            ]);
            if spec.banner.is_some() {
                return Err(unsupported(spec, "a custom greeting"));
            }
        }
        _ => {
            let protocols = match spec.protocols {
                Protocols::Tls12And13 => "default",
                Protocols::Tls12Only => "tls12",
                Protocols::Legacy => "legacy",
                Protocols::Ssl3ToTls13 => unreachable!("refused above"),
            };
            args.extend(["--protocols".into(), protocols.into()]);
            match (server, &files.banner) {
                (_, None) => {}
                (ServerKind::FtpSrv, Some(banner)) => {
                    args.extend(["--greeting-file".into(), banner.display().to_string()]);
                }
                // pyftpdlib: one line (`220 text`; over 75 characters it
                // sends `220-text` and an empty `220 `).
                (_, Some(_)) => match spec.banner {
                    Some([line]) => args.extend(["--banner".into(), line.to_string()]),
                    _ => return Err(unsupported(spec, "a multi-line greeting")),
                },
            }
        }
    }
    args.extend(extra);
    let launcher = server.launcher().expect("a launcher");
    let mut command = Command::new(server.binary());
    command.arg(&launcher).args(&args);
    if server == ServerKind::FtpSrv {
        command.env("NODE_PATH", install_dir().join("ftp-srv/node_modules"));
    }
    Ok((
        command,
        format!(
            "{} {} {}",
            server.binary().display(),
            launcher.display(),
            args.join(" ")
        ),
    ))
}
