//! Real FTP servers for the integration tests: vsftpd 3.0.3, ProFTPD 1.3.8
//! (mod_tls) and Pure-FTPd 1.0.50 from Debian 12, unpacked by
//! `.ci/install-real-servers.sh` (binaries found through the env var
//! `FTPS_SCAN_REAL_SERVERS`, default `<repo>/target/real-servers`).
//!
//! [`RealServer::start`] writes a configuration and certificates (from a
//! [`TestPki`]) into a fresh temp dir, starts the server in the foreground in
//! its own process group on a free port of 127.0.0.1, and waits until it
//! answers with a 220 greeting (inside TLS for implicit FTPS). Dropping the
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
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
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
}

impl ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Vsftpd => "vsftpd",
            ServerKind::Proftpd => "proftpd",
            ServerKind::PureFtpd => "pure-ftpd",
        }
    }

    /// The server binary under the install dir.
    pub fn binary(self) -> PathBuf {
        let rel = match self {
            ServerKind::Vsftpd => "vsftpd/usr/sbin/vsftpd",
            ServerKind::Proftpd => "proftpd/usr/sbin/proftpd",
            ServerKind::PureFtpd => "pure-ftpd/usr/sbin/pure-ftpd",
        };
        install_dir().join(rel)
    }

    /// Every file the server needs from the install dir.
    fn required_files(self) -> Vec<PathBuf> {
        let mut files = vec![self.binary()];
        if self == ServerKind::Proftpd {
            files.push(proftpd_module_dir().join("mod_tls.so"));
        }
        files
    }
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
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{} not installed at {} (run .ci/install-real-servers.sh)",
        kind.name(),
        missing[0].display()
    );
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
    /// TLSv1.2 TLSv1.3` + `TLSCipherSuite DEFAULT:@SECLEVEL=0`). Pure-FTPd
    /// 1.0.50 cannot do it.
    Legacy,
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
    /// (Pure-FTPd), appended as they are.
    pub extra: &'static [&'static str],
}

impl RealSpec {
    /// Explicit FTPS, TLS optional, TLS 1.2 + 1.3, a valid certificate.
    pub const fn new(server: ServerKind) -> Self {
        Self {
            server,
            implicit: false,
            tls: Tls::Optional,
            protocols: Protocols::Tls12And13,
            cert: CertKind::Valid,
            banner: None,
            extra: &[],
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

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
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
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
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
                if lower.contains("address already in use") || lower.contains("could not bind") {
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
    /// The server certificate followed by the test CA (the leaf alone when
    /// self-signed).
    cert: PathBuf,
    /// The test CA alone, for servers that take the chain separately.
    ca: PathBuf,
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
    let identity = pki
        .issue(spec.cert)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    TestPki::write_pem(&identity, &cert, &key)?;
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600))?;
    let ca = dir.join("ca.pem");
    fs::write(&ca, pki.ca_pem())?;
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
        key,
        root,
        empty,
        banner,
    })
}

/// An OpenSSL config that caps every SSL_CTX of the process to TLS 1.2
/// (for servers without a version option).
fn openssl_tls12_only(dir: &Path) -> Result<PathBuf, String> {
    let path = dir.join("openssl-tls12.cnf");
    let text = "openssl_conf = default_conf\n\n[default_conf]\nssl_conf = ssl_sect\n\n\
                [ssl_sect]\nsystem_default = system_default_sect\n\n\
                [system_default_sect]\nMinProtocol = TLSv1.2\nMaxProtocol = TLSv1.2\n\
                CipherString = DEFAULT:@SECLEVEL=2\n";
    fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
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
    if spec.tls == Tls::Off && spec.protocols != Protocols::Tls12And13 {
        return Err(format!("TLS off with a TLS protocol setting ({spec:?})"));
    }
    let (pasv_min, pasv_max) = passive_range();
    match spec.server {
        ServerKind::Vsftpd => {
            let mut c = String::new();
            for line in [
                "listen=YES".to_string(),
                "listen_ipv6=NO".into(),
                format!("listen_address={}", addr.ip()),
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
                match spec.protocols {
                    Protocols::Legacy => c.push_str("ssl_tlsv1=YES\n"),
                    Protocols::Tls12Only => env = Some(openssl_tls12_only(dir)?),
                    Protocols::Tls12And13 => {}
                }
            }
            if let Some(banner) = &files.banner {
                let _ = writeln!(c, "banner_file={}", banner.display());
            }
            for line in spec.extra {
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
                 ServerIdent on \"FTP Server ready.\"\nUseIPv6 off\nDefaultAddress {ip}\n\
                 SocketBindTight on\nPort {port}\nPassivePorts {pasv_min} {pasv_max}\n\
                 User nobody\nGroup nogroup\nUmask 022\nPidFile {run}/proftpd.pid\n\
                 ScoreboardFile {run}/proftpd.scoreboard\nDelayEngine off\n\
                 SystemLog {run}/proftpd.log\nTransferLog none\nWtmpLog off\nUseLastlog off\n\
                 UseReverseDNS off\nUseFtpUsers off\nRequireValidShell off\nAuthPAM off\n\
                 AuthOrder mod_auth_unix.c\nControlsEngine off\nModulePath {moddir}\n\
                 LoadModule mod_tls.c\n\n",
                ip = addr.ip(),
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
                    Protocols::Legacy => ("TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "DEFAULT:@SECLEVEL=0"),
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
                let _ = write!(
                    c,
                    "<IfModule mod_tls.c>\n  TLSEngine on\n  TLSLog {run}/proftpd-tls.log\n\
                     \x20 TLSProtocol {protocol}\n  TLSCipherSuite {ciphers}\n\
                     \x20 TLSECCertificateFile {cert}\n  TLSECCertificateKeyFile {key}\n\
                     \x20 TLSVerifyClient off\n  TLSRequired {required}\n  TLSOptions {options}\n",
                    run = dir.display(),
                    cert = files.cert.display(),
                    key = files.key.display(),
                );
                // mod_tls sends only the first certificate of
                // TLSECCertificateFile; the chain comes from its own file.
                if spec.cert != CertKind::SelfSigned {
                    let _ = writeln!(c, "  TLSCertificateChainFile {}", files.ca.display());
                }
                c.push_str("</IfModule>\n");
            }
            if let Some(banner) = &files.banner {
                let _ = writeln!(c, "DisplayConnect {}", banner.display());
            }
            for line in spec.extra {
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
                format!("{},{}", addr.ip(), addr.port()),
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
            args.extend(spec.extra.iter().map(|s| s.to_string()));
            let mut command = Command::new("unshare");
            command
                .args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg(r#"mount --bind "$0" /etc/passwd && exec "$@""#)
                .arg(&passwd_path)
                .arg(ServerKind::PureFtpd.binary())
                .args(&args);
            if spec.protocols == Protocols::Tls12Only {
                command.env("OPENSSL_CONF", openssl_tls12_only(dir)?);
            }
            Ok((command, format!("pure-ftpd {}", args.join(" "))))
        }
    }
}
