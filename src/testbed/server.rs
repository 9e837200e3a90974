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
    /// Accept `PROT C`; otherwise answer `536`.
    pub allow_prot_c: bool,
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
    /// Accepted credentials besides `anonymous`/`ftp`.
    pub users: Vec<(String, String)>,
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
            pasv_advertise: None,
            decoy_on_advertised: false,
            pasv_port_closed: false,
            require_session_reuse: false,
            refuse_data_tls: false,
            users: Vec::new(),
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
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(ServerLog::default()));
        let spec = Arc::new(spec);
        let task_log = log.clone();
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                if let Ok(mut l) = task_log.lock() {
                    l.connections += 1;
                }
                let spec = spec.clone();
                let log = task_log.clone();
                sessions.spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(60), serve(stream, spec, log))
                        .await;
                });
                while sessions.try_join_next().is_some() {}
            }
        });
        Ok(Self { addr, log, task })
    }
}

async fn serve(
    stream: TcpStream,
    spec: Arc<ServerSpec>,
    log: Arc<Mutex<ServerLog>>,
) -> std::io::Result<()> {
    let local_ip = stream.local_addr()?.ip();
    let mut session = Session {
        spec: spec.clone(),
        log,
        local_ip,
        logged_in: false,
        user: None,
        prot_private: false,
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
        session.command_loop(&mut conn).await?;
        return Ok(());
    }
    let mut conn = LineConn::new(stream);
    session.greet(&mut conn).await?;
    match session.command_loop(&mut conn).await? {
        Next::Done => Ok(()),
        Next::Upgrade => {
            let Some(tls) = spec.tls.clone() else {
                return Ok(());
            };
            let tls_stream = TlsAcceptor::from(tls).accept(conn.into_inner()).await?;
            session.secure = true;
            let mut conn = LineConn::new(tls_stream);
            let _ = session.command_loop(&mut conn).await?;
            Ok(())
        }
    }
}

enum Next {
    Done,
    Upgrade,
}

/// A line-oriented connection with its read buffer; the buffer is empty
/// when the stream is handed over for a TLS upgrade, since a client sends
/// nothing after AUTH before the 234.
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

    fn into_inner(self) -> S {
        self.stream
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
    logged_in: bool,
    user: Option<String>,
    prot_private: bool,
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

impl Session {
    async fn greet<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        conn: &mut LineConn<S>,
    ) -> std::io::Result<()> {
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
                    if self.secure {
                        conn.reply("503 Already using TLS.").await?;
                    } else if self.spec.tls.is_some()
                        && (wanted == "TLS" || wanted == "SSL" || wanted == "TLS-C")
                    {
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
                        conn.reply("230 Login successful.").await?;
                    } else {
                        conn.reply("530 Login incorrect.").await?;
                    }
                }
                "PBSZ" => conn.reply("200 PBSZ=0").await?,
                "PROT" => match arg.to_ascii_uppercase().as_str() {
                    "P" if self.secure => {
                        self.prot_private = true;
                        conn.reply("200 PROT now Private.").await?;
                    }
                    "C" if self.spec.allow_prot_c => {
                        self.prot_private = false;
                        conn.reply("200 PROT now Clear.").await?;
                    }
                    "C" => {
                        conn.reply("536 Data connections must be encrypted.")
                            .await?
                    }
                    _ => conn.reply("504 Unsupported protection level.").await?,
                },
                "PASV" | "EPSV" if !self.logged_in => {
                    conn.reply("530 Please login with USER and PASS.").await?
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
                "LIST" | "NLST" => self.list(conn).await?,
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
    ) -> std::io::Result<()> {
        if !self.logged_in {
            return conn.reply("530 Please login with USER and PASS.").await;
        }
        let Some(listener) = self.passive.take().and_then(|p| p.listener) else {
            return conn.reply("425 Use PORT or PASV first.").await;
        };
        if self.spec.tls.is_some() && !self.spec.allow_prot_c && !self.prot_private {
            return conn.reply("522 Data connections must be encrypted.").await;
        }
        conn.reply("150 Here comes the directory listing.").await?;
        let accepted = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
        let Ok(Ok((data, _))) = accepted else {
            return conn.reply("425 Failed to establish connection.").await;
        };
        if let Ok(mut l) = self.log.lock() {
            l.data_connections += 1;
        }
        let listing = "-rw-r--r-- 1 ftp ftp 10 Jan 01 00:00 a.txt\r\n-rw-r--r-- 1 ftp ftp 20 Jan 01 00:00 b.txt\r\ndrwxr-xr-x 2 ftp ftp 4096 Jan 01 00:00 pub\r\n";
        match (&self.spec.tls, self.prot_private) {
            (Some(tls), true) => {
                let handshake = tokio::time::timeout(
                    Duration::from_secs(10),
                    TlsAcceptor::from(tls.clone()).accept(data),
                )
                .await;
                let Ok(Ok(mut tls_data)) = handshake else {
                    return conn
                        .reply("425 TLS handshake on the data connection failed.")
                        .await;
                };
                let resumed =
                    tls_data.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
                if let Ok(mut l) = self.log.lock() {
                    l.data_tls_resumed.push(resumed);
                }
                if self.spec.refuse_data_tls || (self.spec.require_session_reuse && !resumed) {
                    drop(tls_data);
                    return conn
                        .reply("522 SSL connection failed: session reuse required")
                        .await;
                }
                tls_data.write_all(listing.as_bytes()).await?;
                let _ = tls_data.shutdown().await;
            }
            _ => {
                let mut data = data;
                data.write_all(listing.as_bytes()).await?;
                let _ = data.shutdown().await;
            }
        }
        conn.reply("226 Directory send OK.").await
    }
}
