//! In-process FTP/FTPS servers on 127.0.0.1:0, for the demo and the tests.
//!
//! A [`ServerSpec`] describes the behaviour (greeting, TLS, login policy,
//! protection, PASV address); the server logs every command with whether it
//! arrived under TLS, so tests can prove, for example, that no `PASS` ever
//! came in clear or that nothing connected to an advertised address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// How a test server behaves.
#[derive(Clone)]
pub struct ServerSpec {
    /// Greeting lines; more than one makes a multi-line `220-` reply.
    pub greeting: Vec<String>,
    /// TLS identity and versions; `None` for a plain FTP server.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// TLS from the first byte (port-990 style).
    pub implicit: bool,
    /// Lines of the FEAT reply (without the leading space).
    pub features: Vec<String>,
    /// Reply to AUTH when TLS is off (or refused on purpose).
    pub auth_refusal: String,
    /// Refuse `USER` before TLS (`530`), as `force_local_logins_ssl` does.
    pub require_tls_for_login: bool,
    /// Accept `PROT C`; otherwise answer `536` (whatever [`Self::prot_c`]
    /// says). When true, [`Self::prot_c`] decides what a cleartext data
    /// connection does.
    pub allow_prot_c: bool,
    /// What happens with cleartext data (after `PROT C`, or with no `PROT`
    /// at all) when [`Self::allow_prot_c`] is true. Default
    /// [`ProtC::Works`], today's behaviour.
    pub prot_c: ProtC,
    /// Address advertised in the PASV reply instead of the real one.
    pub pasv_advertise: Option<Ipv4Addr>,
    /// Listen on the advertised address too, with the same port, and count
    /// connections there: proof that the scanner did (not) follow PASV.
    pub decoy_on_advertised: bool,
    /// Close the passive listener before answering PASV (unreachable port).
    pub pasv_port_closed: bool,
    /// Refuse a data-channel TLS session that does not resume the control
    /// session (vsftpd's `require_ssl_reuse=YES`).
    pub require_session_reuse: bool,
    /// Fail every data-channel TLS session the way vsftpd does when it
    /// cannot match the session (`522 ...`), resumed or not.
    pub refuse_data_tls: bool,
    /// The reply to a refused data-channel TLS session
    /// ([`Self::require_session_reuse`], [`Self::refuse_data_tls`]), sent
    /// after the `150` and the handshake. Default [`VSFTPD_REUSE_REFUSAL`]
    /// (vsftpd 3.0.3); [`PROFTPD_REUSE_REFUSAL`] imitates ProFTPD's
    /// mod_tls.
    pub reuse_refusal: String,
    /// Close the control connection right after [`Self::reuse_refusal`]:
    /// vsftpd 3.0.3 does (`vsf_cmdio_write_exit` under
    /// `require_ssl_reuse=YES`); ProFTPD keeps the session. Default false.
    pub close_after_reuse_refusal: bool,
    /// On `LIST`/`NLST` under `PROT P`, wait for the client's TLS handshake
    /// on the data connection *before* sending `150` (the Node `ftp-srv`
    /// behaviour: its data socket counts as connected only once TLS is up).
    /// Unless, within this time from the `LIST`, the data connection is
    /// made and the first byte of its ClientHello has arrived (and then the
    /// handshake succeeds), the answer is `425 No connection established`
    /// (ftp-srv's text; ftp-srv waits 5 s) and no `150` is sent. The
    /// session goes on. A client that waits for `150` before starting
    /// TLS gets the 425. `None` (default): `150` first, then TLS.
    pub data_tls_before_150: Option<Duration>,
    /// After `234` to `AUTH`, the server upgrades the socket only after a
    /// delay (Node `ftp-srv`, sometimes unftp). `None` (default): at once.
    pub auth_race: Option<AuthRace>,
    /// `AUTH TLS` (and `AUTH TLS-C`) answered `504 Unknown AUTH type`;
    /// only `AUTH SSL` gets `234` (servers that implement only the old
    /// draft's `AUTH SSL`). Default false.
    pub auth_ssl_only: bool,
    /// Send `120 Service ready in 1 minute.` first, then after this delay
    /// the real 220 greeting (RFC 959's "service ready in nnn minutes",
    /// seen on servers that are starting up or overloaded). Default `None`.
    pub greeting_120: Option<Duration>,
    /// Wait this long before the greeting (and before the `120`, if any),
    /// on every connection: a slow but compliant server, e.g. one that
    /// looks up the client's name with a dead resolver before greeting
    /// (ProFTPD's `UseReverseDNS on`, vsftpd's `reverse_lookup_enable`),
    /// or an overloaded host. Default `None`.
    pub greeting_delay: Option<Duration>,
    /// Echo the user and password in the reply to `PASS`
    /// (`230 Login successful: user alice password hunter2`, or
    /// `530 Login incorrect: user alice password hunter2`). No well-known
    /// server does this; it stands for any server whose replies carry back
    /// what the client sent, so tests can prove the scanner redacts the
    /// password from its reports. Default false.
    pub echo_password: bool,
    /// Accepted credentials besides `anonymous`/`ftp`.
    pub users: Vec<(String, String)>,
    /// After `234` to `AUTH`, a client that sends an FTP command instead of
    /// a ClientHello (first byte not `0x16`) is served on in clear: the
    /// cleartext fallback behind Nessus plugin 57272. Default false: the
    /// TLS accept fails and the connection closes.
    pub cleartext_after_auth: bool,
    /// Accept `CCC` under TLS after login (RFC 4217 section 6): `200`, a
    /// proper TLS shutdown (close_notify sent, the client's awaited), then
    /// the same TCP connection in clear. Default false: `502`.
    pub allow_ccc: bool,
    /// Accept `PORT`/`EPRT` naming an address other than the client's
    /// (vsftpd `port_promiscuous=YES`, ProFTPD `AllowForeignAddress on`,
    /// pyftpdlib `permit_foreign_addresses=True`). Default false:
    /// `500 Illegal PORT command.` for a foreign address.
    pub allow_foreign_port: bool,
    /// Connect to an accepted `PORT`/`EPRT` address at once, before any
    /// data command (pyftpdlib does); the connection is made and dropped.
    pub connect_on_port: bool,
    /// Once `PROT C` has been accepted, refuse `PROT P` again
    /// (`534 Request denied for policy reasons.`, RFC 2228's reply for a
    /// protection level the server will not give). No well-known server
    /// does this; it stands for any server whose protection cannot be put
    /// back, so tests can prove no later check mistakes a cleartext data
    /// connection for a TLS one. Default false.
    pub refuse_prot_p_after_prot_c: bool,
    /// Read one command per read of the socket: what a client sent after
    /// it in the same write (a pipeline) is dropped unanswered, as by a
    /// server or middlebox that expects one command per segment. Default
    /// false.
    pub drop_pipelined: bool,
}

impl Default for ServerSpec {
    fn default() -> Self {
        Self {
            greeting: vec!["ftps-scan test server ready".into()],
            tls: None,
            implicit: false,
            features: vec![
                "AUTH TLS".into(),
                "PBSZ".into(),
                "PROT".into(),
                "EPSV".into(),
                "UTF8".into(),
            ],
            auth_refusal: "502 AUTH not supported".into(),
            require_tls_for_login: false,
            allow_prot_c: true,
            prot_c: ProtC::Works,
            pasv_advertise: None,
            decoy_on_advertised: false,
            pasv_port_closed: false,
            require_session_reuse: false,
            refuse_data_tls: false,
            reuse_refusal: VSFTPD_REUSE_REFUSAL.into(),
            close_after_reuse_refusal: false,
            data_tls_before_150: None,
            auth_race: None,
            auth_ssl_only: false,
            greeting_120: None,
            greeting_delay: None,
            echo_password: false,
            users: Vec::new(),
            cleartext_after_auth: false,
            allow_ccc: false,
            allow_foreign_port: false,
            connect_on_port: false,
            refuse_prot_p_after_prot_c: false,
            drop_pipelined: false,
        }
    }
}

/// vsftpd 3.0.3's reply when a data-channel TLS session is refused under
/// `require_ssl_reuse=YES` (it then closes the control connection).
pub const VSFTPD_REUSE_REFUSAL: &str = "522 SSL connection failed: session reuse required";

/// ProFTPD mod_tls's reply when the data-channel TLS session does not
/// resume the control session (without `TLSOptions NoSessionReuseRequired`):
/// its TLS log says "client did not reuse SSL session, rejecting data
/// connection" and the client gets this; the session goes on.
pub const PROFTPD_REUSE_REFUSAL: &str =
    "425 Unable to build data connection: Operation not permitted";

/// What a server does with cleartext data when it answered `200` to
/// `PROT C` (see [`ServerSpec::prot_c`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtC {
    /// `200 PROT now Clear.`, and `LIST` over a plain data connection
    /// works (vsftpd without `force_*_data_ssl`, ProFTPD without
    /// `TLSRequired`). A nonexistent path gets what vsftpd sends: `150`, an
    /// empty listing, `226`.
    #[default]
    Works,
    /// vsftpd with `force_local_data_ssl=YES` / `force_anon_data_ssl=YES`:
    /// `PROT C` → `200 PROT now Clear.`, then `LIST` (or anything that
    /// needs a data connection) without `PROT P` →
    /// `522 Data connections must be encrypted.` before any `150`; the
    /// passive listener is closed without accepting, so no data flows.
    RefuseTransfer,
    /// unftp with `--ftps-required-on-data-channel=all`, as its policy
    /// reads: `PROT C` → `200 PROT OK. Switching data channel to
    /// plaintext` (and `PROT P` → `200 PROT OK. Securing data channel`),
    /// then, while the protection is clear (also before any `PROT`), `PASV`
    /// *and* `EPSV` → `534 A TLS connection is required on the data
    /// channel`.
    RefusePassive,
    /// unftp as libunftp's code does it: as [`ProtC::RefusePassive`], but
    /// only `PASV` is checked (its data-channel FTPS middleware matches
    /// `Command::Pasv` only), so after `EPSV` a cleartext `LIST` works.
    RefusePasvOnly,
    /// `PROT C` → `536 Data connections must be encrypted.`, and a `LIST`
    /// without `PROT P` → `522 Data connections must be encrypted.`: what
    /// `allow_prot_c: false` does.
    Refuse,
}

/// The AUTH TLS race of Node `ftp-srv` (sometimes unftp): the server writes
/// `234` and wraps the socket in TLS only after [`AuthRace::delay`]. Bytes
/// that arrive before that (a ClientHello sent right after the `234`) are
/// read as an FTP command and answered in clear with
/// `502 Command not allowed: <first word>`, the first space-separated word
/// of the bytes (UTF-8, invalid bytes as U+FFFD, `"` removed, upper-cased,
/// CR/LF dropped, at most 64 characters), as ftp-srv echoes its unknown
/// "directive"; e.g. `502 Command not allowed: \u{16}\u{3}\u{1}...`. A
/// client that waits longer than the delay after the `234` before its
/// ClientHello succeeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthRace {
    /// How long after the `234` the socket is switched to TLS (ftp-srv's
    /// write callback plus promise; 200 ms is a fair imitation).
    pub delay: Duration,
    /// Only the first N connections (counted from server start) misbehave;
    /// `None`: every connection. Lets a test prove a retry works.
    pub connections: Option<usize>,
    /// After the `502`, wrap the socket in TLS anyway (true, what ftp-srv
    /// does: the client's ClientHello is lost, so the connection is dead
    /// unless the client starts a new handshake on it), or stay in plain
    /// FTP and go on answering commands in clear (false).
    pub then_tls: bool,
}

impl AuthRace {
    /// ftp-srv: 200 ms, every connection, TLS after the 502.
    pub fn ftp_srv() -> Self {
        Self {
            delay: Duration::from_millis(200),
            connections: None,
            then_tls: true,
        }
    }
}

/// Protection of one data transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    Clear,
    Tls,
}

/// What a `LIST`/`NLST` argument names in the testbed's tree: the login
/// directory `/` holds `a.txt`, `b.txt` and the empty directory `pub`.
/// Options (words starting with `-`, such as `-la`) are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListedPath {
    /// No path, `.`, `/` (or `./`): three entries.
    LoginDir,
    /// `pub` or `/pub`: no entries.
    EmptyDir,
    /// `a.txt` or `b.txt` (with or without `/`): its one line.
    File,
    /// Anything else: no entries, `150` and `226` as vsftpd answers.
    Missing,
}

/// One `LIST`/`NLST` that got as far as a passive listener (logged in,
/// after `PASV`/`EPSV`), refused or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTransfer {
    /// `LIST` or `NLST`.
    pub command: String,
    /// The argument as received (trimmed), empty if none.
    pub argument: String,
    pub path: ListedPath,
    /// Clear unless `PROT P` was in force on a TLS server.
    pub protection: Protection,
    /// Whether a data connection was accepted.
    pub connected: bool,
    /// For a TLS transfer whose handshake finished: whether it resumed the
    /// control session. `None` for clear or a failed handshake.
    pub resumed: Option<bool>,
    /// Bytes of listing written to the data connection.
    pub bytes: usize,
    /// The final reply on the control connection (`226 ...`, `522 ...`).
    pub reply: String,
}

/// Binds `addr`, waiting a little while it is still in use: a server that
/// was just dropped on that address (a test restarting an endpoint) lets go
/// of its listener only when its aborted task is next polled.
async fn bind_when_free(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let mut tries = 0;
    loop {
        match TcpListener::bind(addr).await {
            Err(e)
                if e.kind() == std::io::ErrorKind::AddrInUse && addr.port() != 0 && tries < 40 =>
            {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// One command as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedCommand {
    pub line: String,
    /// Whether the control channel was under TLS when it arrived.
    pub secure: bool,
}

/// What a test server saw.
#[derive(Debug, Default, Clone)]
pub struct ServerLog {
    pub connections: usize,
    pub commands: Vec<LoggedCommand>,
    pub data_connections: usize,
    pub decoy_connections: usize,
    pub data_tls_resumed: Vec<bool>,
    /// Every `LIST`/`NLST` past the passive listener, in order.
    pub transfers: Vec<DataTransfer>,
    /// How many times bytes arrived during [`AuthRace::delay`] and were
    /// answered with `502 Command not allowed: ...` (once per `AUTH`).
    pub auth_race_lost: usize,
    /// Addresses named by accepted `PORT`/`EPRT` commands.
    pub port_targets: Vec<SocketAddr>,
    /// Connections made at once to those ([`ServerSpec::connect_on_port`]).
    pub port_connections: usize,
    /// Sessions that went on in clear after the `234`
    /// ([`ServerSpec::cleartext_after_auth`]).
    pub cleartext_after_auth: usize,
    /// CCCs that ended with a clean TLS shutdown both ways.
    pub ccc_clean_shutdowns: usize,
}

/// A running test server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<ServerLog>>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    pub fn log(&self) -> ServerLog {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Starts a server for `spec` on 127.0.0.1 with a free port.
    pub async fn start(spec: ServerSpec) -> std::io::Result<Self> {
        Self::start_on(spec, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(spec: ServerSpec, bind: SocketAddr) -> std::io::Result<Self> {
        let listener = bind_when_free(bind).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(ServerLog::default()));
        let spec = Arc::new(spec);
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            let mut index = 0usize;
            while let Ok((stream, _)) = listener.accept().await {
                index += 1;
                if let Ok(mut l) = task_log.lock() {
                    l.connections += 1;
                }
                let spec = spec.clone();
                let log = task_log.clone();
                sessions.spawn(async move {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(60),
                        serve(stream, spec, log, index),
                    )
                    .await;
                });
                while sessions.try_join_next().is_some() {}
            }
        });
        Ok(Self { addr, log, task })
    }
}

/// How long the server waits for a data connection, and for a data-channel
/// TLS handshake, in the ordinary (150-first) flow.
const DATA_WAIT: Duration = Duration::from_secs(10);

/// Most characters of a raced ClientHello echoed in the `502`.
const RACE_ECHO_MAX: usize = 64;

async fn serve(
    stream: TcpStream,
    spec: Arc<ServerSpec>,
    log: Arc<Mutex<ServerLog>>,
    index: usize,
) -> std::io::Result<()> {
    let local_ip = stream.local_addr()?.ip();
    let peer_ip = stream.peer_addr()?.ip();
    let mut session = Session {
        spec: spec.clone(),
        log,
        local_ip,
        peer_ip,
        logged_in: false,
        user: None,
        prot_private: false,
        prot_c_accepted: false,
        passive: None,
        secure: false,
    };
    if spec.implicit {
        let Some(tls) = spec.tls.clone() else {
            return Ok(());
        };
        let tls_stream = TlsAcceptor::from(tls).accept(stream).await?;
        session.secure = true;
        let mut conn = LineConn::new(tls_stream);
        session.greet(&mut conn).await?;
        if let Next::Clear = session.command_loop(&mut conn).await? {
            let mut clear = clear_command_channel(conn, &mut session).await?;
            session.command_loop(&mut clear).await?;
        }
        return Ok(());
    }
    let race = spec
        .auth_race
        .filter(|r| r.connections.is_none_or(|n| index <= n));
    let mut conn = LineConn::new(stream);
    session.greet(&mut conn).await?;
    loop {
        match session.command_loop(&mut conn).await? {
            Next::Done | Next::Clear => return Ok(()),
            Next::Upgrade => {
                let Some(tls) = spec.tls.clone() else {
                    return Ok(());
                };
                let (mut stream, leftover) = conn.into_parts();
                if spec.cleartext_after_auth {
                    let mut first = [0u8; 1];
                    let peeked = match leftover.first() {
                        Some(b) => Some(*b),
                        None => {
                            match tokio::time::timeout(DATA_WAIT, stream.peek(&mut first)).await {
                                Ok(Ok(1)) => first.first().copied(),
                                _ => None,
                            }
                        }
                    };
                    if peeked.is_some_and(|b| b != 0x16) {
                        if let Ok(mut l) = session.log.lock() {
                            l.cleartext_after_auth += 1;
                        }
                        conn = LineConn {
                            stream,
                            buf: leftover,
                        };
                        continue;
                    }
                }
                if let Some(race) = race {
                    let early = if leftover.is_empty() {
                        let mut chunk = [0u8; 4096];
                        match tokio::time::timeout(race.delay, stream.read(&mut chunk)).await {
                            Err(_) => None,
                            Ok(Ok(0)) => return Ok(()),
                            Ok(Ok(n)) => Some(chunk.get(..n).unwrap_or_default().to_vec()),
                            Ok(Err(e)) => return Err(e),
                        }
                    } else {
                        Some(leftover)
                    };
                    if let Some(bytes) = early {
                        if let Ok(mut l) = session.log.lock() {
                            l.auth_race_lost += 1;
                        }
                        let reply = format!("502 Command not allowed: {}\r\n", race_echo(&bytes));
                        stream.write_all(reply.as_bytes()).await?;
                        stream.flush().await?;
                        if !race.then_tls {
                            conn = LineConn::new(stream);
                            continue;
                        }
                    }
                }
                let tls_stream = TlsAcceptor::from(tls).accept(stream).await?;
                session.secure = true;
                let mut conn = LineConn::new(tls_stream);
                if let Next::Clear = session.command_loop(&mut conn).await? {
                    let mut clear = clear_command_channel(conn, &mut session).await?;
                    session.command_loop(&mut clear).await?;
                }
                return Ok(());
            }
        }
    }
}

/// What ftp-srv echoes of bytes it took for a command: the first word of
/// the first CRLF-separated message, `"` removed, trimmed, upper-cased;
/// here also bounded and without CR/LF, so the reply stays one line.
fn race_echo(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let message = text.split("\r\n").find(|m| !m.is_empty()).unwrap_or("");
    let stripped = message.replace('"', "");
    let directive = stripped.split(' ').next().unwrap_or("").trim();
    directive
        .to_uppercase()
        .chars()
        .filter(|c| *c != '\r' && *c != '\n')
        .take(RACE_ECHO_MAX)
        .collect()
}

enum Next {
    Done,
    Upgrade,
    /// `200` to `CCC` was sent: drop TLS, go on in clear.
    Clear,
}

/// After `200` to `CCC`: the server's close_notify, the client's awaited
/// (a clean shutdown both ways, RFC 4217 section 6), then the same TCP
/// connection in clear.
async fn clear_command_channel(
    conn: LineConn<tokio_rustls::server::TlsStream<TcpStream>>,
    session: &mut Session,
) -> std::io::Result<LineConn<TcpStream>> {
    let (mut tls, _) = conn.into_parts();
    tls.get_mut().1.send_close_notify();
    tls.flush().await?;
    // Read the client's records one at a time, exactly: what follows its
    // close_notify on the wire is already cleartext FTP and must stay
    // unread (a buffered TLS read would swallow it).
    let clean = tokio::time::timeout(DATA_WAIT, async {
        let (tcp, server) = tls.get_mut();
        loop {
            let mut header = [0u8; 5];
            if tcp.read_exact(&mut header).await.is_err() {
                return false;
            }
            let [_, _, _, high, low] = header;
            let mut record = header.to_vec();
            record.resize(5 + usize::from(u16::from_be_bytes([high, low])), 0);
            let Some(body) = record.get_mut(5..) else {
                return false;
            };
            if tcp.read_exact(body).await.is_err() {
                return false;
            }
            if server.read_tls(&mut record.as_slice()).is_err()
                || server.process_new_packets().is_err()
            {
                return false;
            }
            let mut sink = [0u8; 1024];
            match std::io::Read::read(&mut server.reader(), &mut sink) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    if clean {
        if let Ok(mut l) = session.log.lock() {
            l.ccc_clean_shutdowns += 1;
        }
    }
    session.secure = false;
    Ok(LineConn::new(tls.into_inner().0))
}

/// A line-oriented connection with its read buffer. A client sends
/// nothing after AUTH before the 234, so the buffer is normally empty when
/// the stream is handed over for a TLS upgrade; what is in it is returned
/// with the stream (the AUTH race treats it as an early ClientHello).
struct LineConn<S> {
    stream: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> LineConn<S> {
    fn new(stream: S) -> Self {
        Self {
            stream,
            buf: Vec::new(),
        }
    }

    fn into_parts(self) -> (S, Vec<u8>) {
        (self.stream, self.buf)
    }

    async fn read_line(&mut self) -> std::io::Result<Option<String>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()));
            }
            if self.buf.len() > 8192 {
                return Ok(None);
            }
            let mut chunk = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut chunk))
                .await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "idle"))??;
            if n == 0 {
                return Ok(None);
            }
            self.buf
                .extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
    }

    async fn send(&mut self, text: &str) -> std::io::Result<()> {
        self.stream.write_all(text.as_bytes()).await?;
        self.stream.flush().await
    }

    async fn reply(&mut self, line: &str) -> std::io::Result<()> {
        self.send(&format!("{line}\r\n")).await
    }
}

struct Session {
    spec: Arc<ServerSpec>,
    log: Arc<Mutex<ServerLog>>,
    local_ip: IpAddr,
    peer_ip: IpAddr,
    logged_in: bool,
    user: Option<String>,
    prot_private: bool,
    /// A `PROT C` was accepted on this session.
    prot_c_accepted: bool,
    passive: Option<Passive>,
    secure: bool,
}

struct Passive {
    listener: Option<TcpListener>,
    _decoy: Option<DecoyGuard>,
}

struct DecoyGuard(JoinHandle<()>);

impl Drop for DecoyGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the command loop does after a transfer.
enum AfterTransfer {
    Continue,
    /// Close the control connection (vsftpd after a refused data TLS).
    Close,
}

const LISTING: &str = "-rw-r--r-- 1 ftp ftp 10 Jan 01 00:00 a.txt\r\n-rw-r--r-- 1 ftp ftp 20 Jan 01 00:00 b.txt\r\ndrwxr-xr-x 2 ftp ftp 4096 Jan 01 00:00 pub\r\n";

/// Resolves a LIST/NLST argument in the testbed's tree (see
/// [`ListedPath`]) and returns the listing to send.
fn resolve_listing(arg: &str) -> (ListedPath, String) {
    let path: Vec<&str> = arg
        .split_whitespace()
        .skip_while(|w| w.starts_with('-'))
        .collect();
    let path = path.join(" ");
    let path = path.strip_prefix("./").unwrap_or(&path);
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let name = path.strip_prefix('/').unwrap_or(path);
    match name {
        "" | "." => (ListedPath::LoginDir, LISTING.to_string()),
        "pub" => (ListedPath::EmptyDir, String::new()),
        "a.txt" | "b.txt" => {
            let line = LISTING
                .split_inclusive("\r\n")
                .find(|l| l.trim_end().ends_with(name))
                .unwrap_or_default();
            (ListedPath::File, line.to_string())
        }
        _ => (ListedPath::Missing, String::new()),
    }
}

impl Session {
    /// The effective cleartext-data behaviour.
    fn prot_c(&self) -> ProtC {
        if self.spec.allow_prot_c {
            self.spec.prot_c
        } else {
            ProtC::Refuse
        }
    }

    /// libunftp's PROT wording for the unftp imitations.
    fn unftp_wording(&self) -> bool {
        matches!(self.prot_c(), ProtC::RefusePassive | ProtC::RefusePasvOnly)
    }

    async fn greet<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut LineConn<S>,
    ) -> std::io::Result<()> {
        if let Some(delay) = self.spec.greeting_delay {
            tokio::time::sleep(delay).await;
        }
        if let Some(delay) = self.spec.greeting_120 {
            conn.reply("120 Service ready in 1 minute.").await?;
            tokio::time::sleep(delay).await;
        }
        let lines = &self.spec.greeting;
        let mut text = String::new();
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            text.push_str(&format!("220{sep}{line}\r\n"));
        }
        if lines.is_empty() {
            text.push_str("220 ready\r\n");
        }
        conn.send(&text).await
    }

    fn record(&self, line: &str) {
        if let Ok(mut l) = self.log.lock() {
            l.commands.push(LoggedCommand {
                line: line.to_string(),
                secure: self.secure,
            });
        }
    }

    async fn command_loop<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut LineConn<S>,
    ) -> std::io::Result<Next> {
        while let Some(line) = conn.read_line().await? {
            if self.spec.drop_pipelined {
                // What came in the same read after this line is lost.
                conn.buf.clear();
            }
            self.record(&line);
            let (verb, arg) = match line.split_once(' ') {
                Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_string()),
                None => (line.to_ascii_uppercase(), String::new()),
            };
            match verb.as_str() {
                "FEAT" => {
                    let mut text = String::from("211-Features:\r\n");
                    for f in &self.spec.features {
                        text.push_str(&format!(" {f}\r\n"));
                    }
                    text.push_str("211 End\r\n");
                    conn.send(&text).await?;
                }
                "AUTH" => {
                    let wanted = arg.to_ascii_uppercase();
                    let tls_kind = wanted == "TLS" || wanted == "TLS-C";
                    if self.secure {
                        conn.reply("503 Already using TLS.").await?;
                    } else if self.spec.tls.is_some() && self.spec.auth_ssl_only && tls_kind {
                        conn.reply("504 Unknown AUTH type").await?;
                    } else if self.spec.tls.is_some() && (tls_kind || wanted == "SSL") {
                        conn.reply("234 Proceed with negotiation.").await?;
                        return Ok(Next::Upgrade);
                    } else {
                        conn.reply(&self.spec.auth_refusal).await?;
                    }
                }
                "USER" => {
                    if !self.secure && self.spec.require_tls_for_login {
                        conn.reply("530 Non-anonymous sessions must use encryption.")
                            .await?;
                    } else {
                        self.user = Some(arg);
                        conn.reply("331 Please specify the password.").await?;
                    }
                }
                "PASS" => {
                    let ok = match self.user.as_deref() {
                        Some("anonymous" | "ftp") => true,
                        Some(u) => self.spec.users.iter().any(|(n, p)| n == u && *p == arg),
                        None => false,
                    };
                    if ok {
                        self.logged_in = true;
                    }
                    let reply = match (ok, self.spec.echo_password) {
                        (true, false) => "230 Login successful.".to_string(),
                        (false, false) => "530 Login incorrect.".to_string(),
                        (true, true) => format!(
                            "230 Login successful: user {} password {arg}",
                            self.user.as_deref().unwrap_or("")
                        ),
                        (false, true) => format!(
                            "530 Login incorrect: user {} password {arg}",
                            self.user.as_deref().unwrap_or("")
                        ),
                    };
                    conn.reply(&reply).await?;
                }
                "PBSZ" => conn.reply("200 PBSZ=0").await?,
                "PROT" => match arg.to_ascii_uppercase().as_str() {
                    "P" if self.secure
                        && self.spec.refuse_prot_p_after_prot_c
                        && self.prot_c_accepted =>
                    {
                        conn.reply("534 Request denied for policy reasons.").await?
                    }
                    "P" if self.secure => {
                        self.prot_private = true;
                        if self.unftp_wording() {
                            conn.reply("200 PROT OK. Securing data channel").await?;
                        } else {
                            conn.reply("200 PROT now Private.").await?;
                        }
                    }
                    "C" => match self.prot_c() {
                        ProtC::Refuse => {
                            conn.reply("536 Data connections must be encrypted.")
                                .await?
                        }
                        ProtC::RefusePassive | ProtC::RefusePasvOnly => {
                            self.prot_private = false;
                            self.prot_c_accepted = true;
                            conn.reply("200 PROT OK. Switching data channel to plaintext")
                                .await?;
                        }
                        ProtC::Works | ProtC::RefuseTransfer => {
                            self.prot_private = false;
                            self.prot_c_accepted = true;
                            conn.reply("200 PROT now Clear.").await?;
                        }
                    },
                    _ => conn.reply("504 Unsupported protection level.").await?,
                },
                "PASV" | "EPSV" if !self.logged_in => {
                    conn.reply("530 Please login with USER and PASS.").await?
                }
                "PASV" | "EPSV" if self.passive_refused(&verb) => {
                    self.passive = None;
                    conn.reply("534 A TLS connection is required on the data channel")
                        .await?
                }
                "PASV" | "EPSV" => {
                    let port = self.open_passive().await?;
                    if verb == "PASV" {
                        let advertised = match (self.spec.pasv_advertise, self.local_ip) {
                            (Some(a), _) => a,
                            (None, IpAddr::V4(v4)) => v4,
                            (None, IpAddr::V6(_)) => Ipv4Addr::LOCALHOST,
                        };
                        let o = advertised.octets();
                        conn.reply(&format!(
                            "227 Entering Passive Mode ({},{},{},{},{},{}).",
                            o[0],
                            o[1],
                            o[2],
                            o[3],
                            port >> 8,
                            port & 0xff
                        ))
                        .await?;
                    } else {
                        conn.reply(&format!("229 Entering Extended Passive Mode (|||{port}|)"))
                            .await?;
                    }
                }
                "LIST" | "NLST" => {
                    if let AfterTransfer::Close = self.list(conn, &verb, &arg).await? {
                        return Ok(Next::Done);
                    }
                }
                "CCC" if self.secure && self.logged_in && self.spec.allow_ccc => {
                    conn.reply("200 Clearing control channel protection")
                        .await?;
                    return Ok(Next::Clear);
                }
                "PORT" | "EPRT" if !self.logged_in => {
                    conn.reply("530 Please login with USER and PASS.").await?
                }
                "PORT" | "EPRT" => {
                    let parsed = if verb == "PORT" {
                        parse_port_argument(&arg)
                    } else {
                        parse_eprt_argument(&arg)
                    };
                    match parsed {
                        None => conn.reply("501 Syntax error in parameters.").await?,
                        Some(target)
                            if target.ip() != self.peer_ip && !self.spec.allow_foreign_port =>
                        {
                            conn.reply("500 Illegal PORT command.").await?
                        }
                        Some(target) => {
                            self.passive = None;
                            if let Ok(mut l) = self.log.lock() {
                                l.port_targets.push(target);
                            }
                            if self.spec.connect_on_port {
                                let connected = tokio::time::timeout(
                                    Duration::from_secs(2),
                                    TcpStream::connect(target),
                                )
                                .await;
                                if matches!(connected, Ok(Ok(_))) {
                                    if let Ok(mut l) = self.log.lock() {
                                        l.port_connections += 1;
                                    }
                                }
                            }
                            conn.reply(&format!("200 {verb} command successful."))
                                .await?
                        }
                    }
                }
                "TYPE" => conn.reply("200 Switching to Binary mode.").await?,
                "SYST" => conn.reply("215 UNIX Type: L8").await?,
                "PWD" => conn.reply("257 \"/\" is the current directory").await?,
                "NOOP" => conn.reply("200 NOOP ok.").await?,
                "QUIT" => {
                    conn.reply("221 Goodbye.").await?;
                    return Ok(Next::Done);
                }
                _ => conn.reply("502 Command not implemented.").await?,
            }
        }
        Ok(Next::Done)
    }

    /// unftp's data-channel FTPS requirement: passive mode refused while
    /// the protection is clear.
    fn passive_refused(&self, verb: &str) -> bool {
        if self.spec.tls.is_none() || self.prot_private {
            return false;
        }
        match self.prot_c() {
            ProtC::RefusePassive => true,
            ProtC::RefusePasvOnly => verb == "PASV",
            ProtC::Works | ProtC::RefuseTransfer | ProtC::Refuse => false,
        }
    }

    async fn open_passive(&mut self) -> std::io::Result<u16> {
        let listener = TcpListener::bind(SocketAddr::new(self.local_ip, 0)).await?;
        let port = listener.local_addr()?.port();
        let decoy = match (self.spec.decoy_on_advertised, self.spec.pasv_advertise) {
            (true, Some(addr)) => {
                let decoy = TcpListener::bind(SocketAddr::from((addr, port))).await?;
                let log = self.log.clone();
                Some(DecoyGuard(tokio::spawn(async move {
                    while let Ok((_s, _)) = decoy.accept().await {
                        if let Ok(mut l) = log.lock() {
                            l.decoy_connections += 1;
                        }
                    }
                })))
            }
            _ => None,
        };
        let listener = (!self.spec.pasv_port_closed).then_some(listener);
        self.passive = Some(Passive {
            listener,
            _decoy: decoy,
        });
        Ok(port)
    }

    async fn list<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut LineConn<S>,
        verb: &str,
        arg: &str,
    ) -> std::io::Result<AfterTransfer> {
        if !self.logged_in {
            conn.reply("530 Please login with USER and PASS.").await?;
            return Ok(AfterTransfer::Continue);
        }
        let Some(listener) = self.passive.take().and_then(|p| p.listener) else {
            conn.reply("425 Use PORT or PASV first.").await?;
            return Ok(AfterTransfer::Continue);
        };
        let (path, listing) = resolve_listing(arg);
        let tls = match (&self.spec.tls, self.prot_private) {
            (Some(tls), true) => Some(tls.clone()),
            _ => None,
        };
        let mut transfer = DataTransfer {
            command: verb.to_string(),
            argument: arg.to_string(),
            path,
            protection: if tls.is_some() {
                Protection::Tls
            } else {
                Protection::Clear
            },
            connected: false,
            resumed: None,
            bytes: 0,
            reply: String::new(),
        };
        let result = self
            .transfer(conn, listener, tls, &listing, &mut transfer)
            .await;
        if let Ok(mut l) = self.log.lock() {
            l.transfers.push(transfer);
        }
        result
    }

    /// The data connection of one LIST/NLST; every final reply goes
    /// through [`finish`] so the log records it.
    async fn transfer<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut LineConn<S>,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        listing: &str,
        t: &mut DataTransfer,
    ) -> std::io::Result<AfterTransfer> {
        if self.spec.tls.is_some()
            && tls.is_none()
            && matches!(self.prot_c(), ProtC::Refuse | ProtC::RefuseTransfer)
        {
            drop(listener);
            return finish(conn, t, "522 Data connections must be encrypted.").await;
        }
        let Some(tls) = tls else {
            conn.reply("150 Here comes the directory listing.").await?;
            let Some(mut data) = self.accept_data(&listener, DATA_WAIT, t).await else {
                return finish(conn, t, "425 Failed to establish connection.").await;
            };
            data.write_all(listing.as_bytes()).await?;
            t.bytes = listing.len();
            let _ = data.shutdown().await;
            return finish(conn, t, "226 Directory send OK.").await;
        };
        if let Some(wait) = self.spec.data_tls_before_150 {
            // ftp-srv: the data socket counts only once its TLS is up.
            const REFUSAL: &str = "425 No connection established";
            let deadline = tokio::time::Instant::now() + wait;
            let Some(data) = self.accept_data(&listener, wait, t).await else {
                return finish(conn, t, REFUSAL).await;
            };
            let mut first = [0u8; 1];
            let started = tokio::time::timeout_at(deadline, data.peek(&mut first)).await;
            if !matches!(started, Ok(Ok(n)) if n > 0) {
                return finish(conn, t, REFUSAL).await;
            }
            let Some(mut tls_data) = self.data_handshake(data, tls, t).await else {
                return finish(conn, t, REFUSAL).await;
            };
            if self.refuses(t) {
                drop(tls_data);
                return self.refuse_reuse(conn, t).await;
            }
            conn.reply("150 Here comes the directory listing.").await?;
            tls_data.write_all(listing.as_bytes()).await?;
            t.bytes = listing.len();
            let _ = tls_data.shutdown().await;
            return finish(conn, t, "226 Directory send OK.").await;
        }
        conn.reply("150 Here comes the directory listing.").await?;
        let Some(data) = self.accept_data(&listener, DATA_WAIT, t).await else {
            return finish(conn, t, "425 Failed to establish connection.").await;
        };
        let Some(mut tls_data) = self.data_handshake(data, tls, t).await else {
            return finish(conn, t, "425 TLS handshake on the data connection failed.").await;
        };
        if self.refuses(t) {
            drop(tls_data);
            return self.refuse_reuse(conn, t).await;
        }
        tls_data.write_all(listing.as_bytes()).await?;
        t.bytes = listing.len();
        let _ = tls_data.shutdown().await;
        finish(conn, t, "226 Directory send OK.").await
    }

    async fn accept_data(
        &self,
        listener: &TcpListener,
        wait: Duration,
        t: &mut DataTransfer,
    ) -> Option<TcpStream> {
        let accepted = tokio::time::timeout(wait, listener.accept()).await;
        let Ok(Ok((data, _))) = accepted else {
            return None;
        };
        t.connected = true;
        if let Ok(mut l) = self.log.lock() {
            l.data_connections += 1;
        }
        Some(data)
    }

    async fn data_handshake(
        &self,
        data: TcpStream,
        tls: Arc<rustls::ServerConfig>,
        t: &mut DataTransfer,
    ) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
        let handshake = tokio::time::timeout(DATA_WAIT, TlsAcceptor::from(tls).accept(data)).await;
        let Ok(Ok(tls_data)) = handshake else {
            return None;
        };
        let resumed = tls_data.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
        t.resumed = Some(resumed);
        if let Ok(mut l) = self.log.lock() {
            l.data_tls_resumed.push(resumed);
        }
        Some(tls_data)
    }

    fn refuses(&self, t: &DataTransfer) -> bool {
        self.spec.refuse_data_tls || (self.spec.require_session_reuse && t.resumed != Some(true))
    }

    async fn refuse_reuse<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        conn: &mut LineConn<S>,
        t: &mut DataTransfer,
    ) -> std::io::Result<AfterTransfer> {
        finish(conn, t, &self.spec.reuse_refusal).await?;
        Ok(if self.spec.close_after_reuse_refusal {
            AfterTransfer::Close
        } else {
            AfterTransfer::Continue
        })
    }
}

/// Sends the final reply of a transfer and records it.
async fn finish<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut LineConn<S>,
    t: &mut DataTransfer,
    line: &str,
) -> std::io::Result<AfterTransfer> {
    t.reply = line.to_string();
    conn.reply(line).await?;
    Ok(AfterTransfer::Continue)
}

/// `h1,h2,h3,h4,p1,p2` (RFC 959).
fn parse_port_argument(arg: &str) -> Option<SocketAddr> {
    let parts: Vec<u8> = arg
        .split(',')
        .map(|p| p.trim().parse().ok())
        .collect::<Option<_>>()?;
    let [a, b, c, d, p1, p2] = parts.as_slice() else {
        return None;
    };
    let port = u16::from(*p1) << 8 | u16::from(*p2);
    Some(SocketAddr::from(([*a, *b, *c, *d], port)))
}

/// `|1|a.b.c.d|port|` or `|2|v6|port|` (RFC 2428).
fn parse_eprt_argument(arg: &str) -> Option<SocketAddr> {
    let delimiter = arg.chars().next()?;
    let fields: Vec<&str> = arg.split(delimiter).collect();
    let [_, family, ip, port, _] = fields.as_slice() else {
        return None;
    };
    let ip: IpAddr = ip.parse().ok()?;
    let family_ok = matches!((*family, ip), ("1", IpAddr::V4(_)) | ("2", IpAddr::V6(_)));
    family_ok.then_some(SocketAddr::new(ip, port.parse().ok()?))
}

/// A listener that records who connects to it: the third party of the FTP
/// bounce tests (`PORT`/`EPRT` name it; a server that connects shows up).
pub struct Witness {
    pub addr: SocketAddr,
    connections: Arc<Mutex<usize>>,
    task: JoinHandle<()>,
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Witness {
    /// Listens on `ip` (a loopback address) at a free port.
    pub async fn start(ip: IpAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::new(ip, 0)).await?;
        let addr = listener.local_addr()?;
        let connections = Arc::new(Mutex::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((_stream, _)) = listener.accept().await {
                if let Ok(mut n) = counter.lock() {
                    *n += 1;
                }
            }
        });
        Ok(Self {
            addr,
            connections,
            task,
        })
    }

    /// How many connections arrived so far.
    pub fn connections(&self) -> usize {
        self.connections.lock().map(|n| *n).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_and_eprt_arguments() {
        assert_eq!(
            parse_port_argument("127,0,0,2,156,69"),
            Some(SocketAddr::from(([127, 0, 0, 2], 40005)))
        );
        assert_eq!(parse_port_argument("127,0,0,2,156"), None);
        assert_eq!(parse_port_argument("300,0,0,2,1,1"), None);
        assert_eq!(
            parse_eprt_argument("|1|127.0.0.2|40005|"),
            Some(SocketAddr::from(([127, 0, 0, 2], 40005)))
        );
        assert_eq!(parse_eprt_argument("|2|::1|21|"), "[::1]:21".parse().ok());
        assert_eq!(parse_eprt_argument("|2|127.0.0.2|21|"), None);
        assert_eq!(parse_eprt_argument("|1|127.0.0.2|"), None);
    }
}
