//! The testbed imitates real server behaviours: each test drives a
//! `TestServer` with a small hand-rolled FTP/FTPS client and asserts the
//! exact replies, closes and log entries the behaviour claims.

use crate::support::{Pki, BOTH};
use ftps_scan::testbed::{
    AuthRace, CertKind, ClientCertPolicy, ListedPath, ProtC, Protection, ServerSpec, TestPki,
    TestServer, PROFTPD_REUSE_REFUSAL, VSFTPD_REUSE_REFUSAL,
};
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore, SignatureScheme, SupportedProtocolVersion};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Generous: only a broken server makes a test wait this long.
const WAIT: Duration = Duration::from_secs(20);

const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

// ---------------------------------------------------------------------------
// The test client
// ---------------------------------------------------------------------------

/// An FTP control connection: lines in, commands out.
struct Ctl<S> {
    s: S,
    buf: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Ctl<S> {
    fn new(s: S) -> Self {
        Self { s, buf: Vec::new() }
    }

    /// The next line (lossy UTF-8, without CRLF); `Ok(None)` at EOF.
    async fn line(&mut self) -> std::io::Result<Option<String>> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()));
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.s.read(&mut chunk))
                .await
                .expect("server silent")?;
            if n == 0 {
                return Ok(None);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// One whole reply (multi-line joined by `\n`), or the error/EOF.
    async fn try_reply(&mut self) -> std::io::Result<Option<String>> {
        let Some(first) = self.line().await? else {
            return Ok(None);
        };
        let mut text = first.clone();
        if first.len() >= 4 && first.as_bytes()[3] == b'-' {
            let end = format!("{} ", &first[..3]);
            loop {
                let Some(next) = self.line().await? else {
                    return Ok(None);
                };
                text.push('\n');
                text.push_str(&next);
                if next.starts_with(&end) {
                    break;
                }
            }
        }
        Ok(Some(text))
    }

    async fn reply(&mut self) -> String {
        self.try_reply()
            .await
            .expect("read reply")
            .expect("connection closed before a reply")
    }

    async fn send(&mut self, cmd: &str) {
        self.s
            .write_all(format!("{cmd}\r\n").as_bytes())
            .await
            .expect("send");
        self.s.flush().await.expect("flush");
    }

    async fn cmd(&mut self, cmd: &str) -> String {
        self.send(cmd).await;
        self.reply().await
    }

    /// Sends EPSV and returns the data port.
    async fn epsv(&mut self) -> u16 {
        let r = self.cmd("EPSV").await;
        assert!(r.starts_with("229 "), "{r}");
        let inner = r.split("(|||").nth(1).expect("EPSV port");
        inner.split('|').next().unwrap().parse().expect("port")
    }

    fn into_inner(self) -> S {
        assert!(self.buf.is_empty(), "bytes left over: {:?}", self.buf);
        self.s
    }
}

fn name() -> ServerName<'static> {
    ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into())
}

/// A client trusting the test CA, with its own session cache (`resume`)
/// or none.
fn client_config(
    pki: &TestPki,
    versions: &[&'static SupportedProtocolVersion],
    resume: bool,
) -> Arc<ClientConfig> {
    let mut config = client_builder(pki, versions).with_no_client_auth();
    config.resumption = if resume {
        Resumption::in_memory_sessions(8)
    } else {
        Resumption::disabled()
    };
    Arc::new(config)
}

fn client_builder(
    pki: &TestPki,
    versions: &[&'static SupportedProtocolVersion],
) -> rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert> {
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca_der().clone()).unwrap();
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
}

async fn tls_connect(
    config: &Arc<ClientConfig>,
    tcp: TcpStream,
) -> std::io::Result<TlsStream<TcpStream>> {
    tokio::time::timeout(
        WAIT,
        TlsConnector::from(config.clone()).connect(name(), tcp),
    )
    .await
    .expect("handshake stalled")
}

async fn connect(addr: SocketAddr) -> Ctl<TcpStream> {
    Ctl::new(TcpStream::connect(addr).await.expect("connect"))
}

/// Greeting, `AUTH TLS`, handshake.
async fn secure(addr: SocketAddr, config: &Arc<ClientConfig>) -> Ctl<TlsStream<TcpStream>> {
    let mut c = connect(addr).await;
    assert!(c.reply().await.starts_with("220 "));
    assert_eq!(c.cmd("AUTH TLS").await, "234 Proceed with negotiation.");
    Ctl::new(
        tls_connect(config, c.into_inner())
            .await
            .expect("control TLS"),
    )
}

/// As [`secure`], then anonymous login and `PBSZ 0`.
async fn login(addr: SocketAddr, config: &Arc<ClientConfig>) -> Ctl<TlsStream<TcpStream>> {
    let mut c = secure(addr, config).await;
    assert_eq!(
        c.cmd("USER anonymous").await,
        "331 Please specify the password."
    );
    assert_eq!(
        c.cmd("PASS scan@example.invalid").await,
        "230 Login successful."
    );
    assert_eq!(c.cmd("PBSZ 0").await, "200 PBSZ=0");
    c
}

async fn data_conn<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Ctl<S>,
    addr: SocketAddr,
) -> TcpStream {
    let port = c.epsv().await;
    TcpStream::connect(SocketAddr::new(addr.ip(), port))
        .await
        .expect("data connect")
}

/// Everything until EOF (or the error that ended it).
async fn read_all<R: AsyncRead + Unpin>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, r.read_to_end(&mut out))
        .await
        .expect("data connection stalled")?;
    Ok(out)
}

fn entries(listing: &[u8]) -> usize {
    listing
        .split(|&b| b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .count()
}

async fn tls_server(
    pki: &Pki,
    versions: &[&'static SupportedProtocolVersion],
    spec: ServerSpec,
) -> TestServer {
    let tls = Some(pki.tls_versions(CertKind::Valid, versions));
    TestServer::start(ServerSpec { tls, ..spec }).await.unwrap()
}

/// A cleartext LIST with `arg` on a logged-in, `PROT C` session.
async fn clear_list<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Ctl<S>,
    addr: SocketAddr,
    arg: &str,
) -> (String, Vec<u8>, String) {
    let mut data = data_conn(c, addr).await;
    let mark = c.cmd(format!("LIST {arg}").trim_end()).await;
    let listing = read_all(&mut data).await.expect("clear listing");
    let done = c.reply().await;
    (mark, listing, done)
}

// ---------------------------------------------------------------------------
// 1. Cleartext data after PROT C
// ---------------------------------------------------------------------------

#[tokio::test]
async fn prot_c_works_lists_the_login_dir_and_a_missing_path_in_clear() {
    let pki = Pki::new("behaviour CA");
    let server = tls_server(&pki, BOTH, ServerSpec::default()).await;
    let config = client_config(&pki, BOTH, true);
    let mut c = login(server.addr, &config).await;
    assert_eq!(c.cmd("PROT C").await, "200 PROT now Clear.");

    let (mark, listing, done) = clear_list(&mut c, server.addr, "").await;
    assert_eq!(mark, "150 Here comes the directory listing.");
    assert_eq!(
        entries(&listing),
        3,
        "{}",
        String::from_utf8_lossy(&listing)
    );
    assert_eq!(done, "226 Directory send OK.");

    // vsftpd: a nonexistent path gets 150, an empty listing, 226.
    let (mark, listing, done) = clear_list(&mut c, server.addr, "/no-such-dir-7f3a").await;
    assert_eq!(mark, "150 Here comes the directory listing.");
    assert!(listing.is_empty(), "{listing:?}");
    assert_eq!(done, "226 Directory send OK.");

    // Options are skipped; the empty directory and a file.
    let (_, listing, _) = clear_list(&mut c, server.addr, "-la pub").await;
    assert!(listing.is_empty());
    let (_, listing, _) = clear_list(&mut c, server.addr, "/a.txt").await;
    assert_eq!(listing, b"-rw-r--r-- 1 ftp ftp 10 Jan 01 00:00 a.txt\r\n");

    let log = server.log();
    let t = &log.transfers;
    assert_eq!(t.len(), 4, "{t:#?}");
    assert_eq!(t[0].command, "LIST");
    assert_eq!(t[0].argument, "");
    assert_eq!(t[0].path, ListedPath::LoginDir);
    assert_eq!(t[0].protection, Protection::Clear);
    assert_eq!(t[0].resumed, None);
    assert!(t[0].connected);
    assert_eq!(t[0].bytes, listing_len());
    assert_eq!(t[1].argument, "/no-such-dir-7f3a");
    assert_eq!(t[1].path, ListedPath::Missing);
    assert_eq!(t[1].bytes, 0);
    assert_eq!(t[1].reply, "226 Directory send OK.");
    assert_eq!(t[2].argument, "-la pub");
    assert_eq!(t[2].path, ListedPath::EmptyDir);
    assert_eq!(t[3].path, ListedPath::File);
    assert!(t.iter().all(|t| t.protection == Protection::Clear));
}

fn listing_len() -> usize {
    "-rw-r--r-- 1 ftp ftp 10 Jan 01 00:00 a.txt\r\n-rw-r--r-- 1 ftp ftp 20 Jan 01 00:00 b.txt\r\ndrwxr-xr-x 2 ftp ftp 4096 Jan 01 00:00 pub\r\n".len()
}

#[tokio::test]
async fn prot_c_refuse_transfer_answers_522_and_delivers_nothing() {
    let pki = Pki::new("behaviour CA");
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            prot_c: ProtC::RefuseTransfer,
            ..Default::default()
        },
    )
    .await;
    let config = client_config(&pki, BOTH, true);
    let mut c = login(server.addr, &config).await;
    assert_eq!(c.cmd("PROT C").await, "200 PROT now Clear.");
    for arg in ["", "/no-such-dir-7f3a"] {
        let mut data = data_conn(&mut c, server.addr).await;
        let r = c.cmd(format!("LIST {arg}").trim_end()).await;
        assert_eq!(r, "522 Data connections must be encrypted.", "no 150 first");
        // The listener was closed without accepting: reset or EOF, no data.
        match read_all(&mut data).await {
            Ok(bytes) => assert!(bytes.is_empty(), "{bytes:?}"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    // The session goes on, and PROT P transfers work.
    assert_eq!(c.cmd("PROT P").await, "200 PROT now Private.");
    let data = data_conn(&mut c, server.addr).await;
    assert_eq!(c.cmd("LIST").await, "150 Here comes the directory listing.");
    let mut data = tls_connect(&config, data).await.unwrap();
    assert_eq!(entries(&read_all(&mut data).await.unwrap()), 3);
    assert_eq!(c.reply().await, "226 Directory send OK.");

    let log = server.log();
    let t = &log.transfers;
    assert_eq!(t.len(), 3, "{t:#?}");
    for (t, arg) in t.iter().zip(["", "/no-such-dir-7f3a"]) {
        assert_eq!(t.argument, arg);
        assert_eq!(t.protection, Protection::Clear);
        assert!(!t.connected);
        assert_eq!(t.bytes, 0);
        assert_eq!(t.reply, "522 Data connections must be encrypted.");
    }
    assert_eq!(t[2].protection, Protection::Tls);
    assert_eq!(t[2].resumed, Some(true));
    assert_eq!(
        log.data_connections, 1,
        "only the protected one was accepted"
    );
}

#[tokio::test]
async fn prot_c_refuse_passive_answers_534_to_pasv_and_epsv() {
    let pki = Pki::new("behaviour CA");
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            prot_c: ProtC::RefusePassive,
            ..Default::default()
        },
    )
    .await;
    let config = client_config(&pki, BOTH, true);
    let mut c = login(server.addr, &config).await;
    const REFUSED: &str = "534 A TLS connection is required on the data channel";
    // No PROT yet: the protection is clear.
    assert_eq!(c.cmd("PASV").await, REFUSED);
    assert_eq!(
        c.cmd("PROT C").await,
        "200 PROT OK. Switching data channel to plaintext"
    );
    assert_eq!(c.cmd("PASV").await, REFUSED);
    assert_eq!(c.cmd("EPSV").await, REFUSED);
    assert_eq!(c.cmd("LIST").await, "425 Use PORT or PASV first.");
    assert_eq!(c.cmd("PROT P").await, "200 PROT OK. Securing data channel");
    assert!(c.cmd("PASV").await.starts_with("227 "));
    let data = data_conn(&mut c, server.addr).await;
    assert_eq!(c.cmd("LIST").await, "150 Here comes the directory listing.");
    let mut data = tls_connect(&config, data).await.unwrap();
    assert_eq!(entries(&read_all(&mut data).await.unwrap()), 3);
    assert_eq!(c.reply().await, "226 Directory send OK.");
    let log = server.log();
    assert_eq!(log.transfers.len(), 1);
    assert_eq!(log.transfers[0].protection, Protection::Tls);
}

#[tokio::test]
async fn prot_c_refuse_pasv_only_lets_a_clear_transfer_through_epsv() {
    let pki = Pki::new("behaviour CA");
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            prot_c: ProtC::RefusePasvOnly,
            ..Default::default()
        },
    )
    .await;
    let config = client_config(&pki, BOTH, true);
    let mut c = login(server.addr, &config).await;
    assert_eq!(
        c.cmd("PROT C").await,
        "200 PROT OK. Switching data channel to plaintext"
    );
    assert_eq!(
        c.cmd("PASV").await,
        "534 A TLS connection is required on the data channel"
    );
    let (mark, listing, done) = clear_list(&mut c, server.addr, "/no-such-dir-7f3a").await;
    assert_eq!(mark, "150 Here comes the directory listing.");
    assert!(listing.is_empty());
    assert_eq!(done, "226 Directory send OK.");
    let log = server.log();
    assert_eq!(log.transfers.len(), 1);
    assert_eq!(log.transfers[0].protection, Protection::Clear);
    assert_eq!(log.transfers[0].path, ListedPath::Missing);
}

#[tokio::test]
async fn prot_c_refuse_is_the_old_allow_prot_c_false() {
    let pki = Pki::new("behaviour CA");
    for spec in [
        ServerSpec {
            allow_prot_c: false,
            ..Default::default()
        },
        ServerSpec {
            prot_c: ProtC::Refuse,
            ..Default::default()
        },
        // allow_prot_c: false wins over any prot_c.
        ServerSpec {
            allow_prot_c: false,
            prot_c: ProtC::Works,
            ..Default::default()
        },
    ] {
        let server = tls_server(&pki, BOTH, spec).await;
        let config = client_config(&pki, BOTH, true);
        let mut c = login(server.addr, &config).await;
        assert_eq!(
            c.cmd("PROT C").await,
            "536 Data connections must be encrypted."
        );
        // Without PROT P the protection is clear: LIST refused before 150.
        let _data = data_conn(&mut c, server.addr).await;
        assert_eq!(
            c.cmd("LIST").await,
            "522 Data connections must be encrypted."
        );
        assert_eq!(server.log().data_connections, 0);
    }
}

// ---------------------------------------------------------------------------
// 2. Data TLS before 150 (ftp-srv)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn data_tls_before_150_needs_the_handshake_first() {
    let pki = Pki::new("behaviour CA");
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            data_tls_before_150: Some(Duration::from_secs(2)),
            ..Default::default()
        },
    )
    .await;
    let config = client_config(&pki, BOTH, true);
    let mut c = login(server.addr, &config).await;
    assert_eq!(c.cmd("PROT P").await, "200 PROT now Private.");

    // A client that starts TLS right after LIST, without waiting for 150.
    let data = data_conn(&mut c, server.addr).await;
    c.send("LIST").await;
    let mut data = tls_connect(&config, data).await.expect("data TLS");
    assert_eq!(c.reply().await, "150 Here comes the directory listing.");
    assert_eq!(entries(&read_all(&mut data).await.unwrap()), 3);
    assert_eq!(c.reply().await, "226 Directory send OK.");

    // A client that waits for 150 before its ClientHello gets 425, no 150.
    let _data = data_conn(&mut c, server.addr).await;
    assert_eq!(c.cmd("LIST").await, "425 No connection established");
    // The session goes on.
    assert_eq!(c.cmd("NOOP").await, "200 NOOP ok.");

    // A client that connects only after 150 never gets one either.
    let _port = c.epsv().await;
    assert_eq!(c.cmd("LIST").await, "425 No connection established");

    let log = server.log();
    let t = &log.transfers;
    assert_eq!(t.len(), 3, "{t:#?}");
    assert_eq!(t[0].reply, "226 Directory send OK.");
    assert_eq!(t[0].resumed, Some(true));
    assert!(t[1].connected);
    assert_eq!(t[1].resumed, None);
    assert_eq!(t[1].bytes, 0);
    assert_eq!(t[1].reply, "425 No connection established");
    assert!(!t[2].connected);
    assert_eq!(t[2].reply, "425 No connection established");
}

#[tokio::test]
async fn data_tls_before_150_leaves_clear_transfers_alone() {
    let pki = Pki::new("behaviour CA");
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            data_tls_before_150: Some(Duration::from_secs(2)),
            ..Default::default()
        },
    )
    .await;
    let config = client_config(&pki, BOTH, true);
    let mut c = login(server.addr, &config).await;
    assert_eq!(c.cmd("PROT C").await, "200 PROT now Clear.");
    let (mark, listing, done) = clear_list(&mut c, server.addr, "").await;
    assert_eq!(mark, "150 Here comes the directory listing.");
    assert_eq!(entries(&listing), 3);
    assert_eq!(done, "226 Directory send OK.");
}

// ---------------------------------------------------------------------------
// 3. Session reuse on the data channel
// ---------------------------------------------------------------------------

/// PROT P, EPSV, LIST with a data TLS session from `data_config`; returns
/// the replies after LIST and the listing (empty if the TLS read failed).
async fn protected_list<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut Ctl<S>,
    addr: SocketAddr,
    data_config: &Arc<ClientConfig>,
) -> (String, Vec<u8>, Option<String>) {
    let data = data_conn(c, addr).await;
    let mark = c.cmd("LIST").await;
    assert_eq!(mark, "150 Here comes the directory listing.");
    let listing = match tls_connect(data_config, data).await {
        Ok(mut tls) => read_all(&mut tls).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let done = c.try_reply().await.ok().flatten();
    (mark, listing, done)
}

#[tokio::test]
async fn reuse_required_vsftpd_refuses_a_fresh_data_session_and_closes() {
    let pki = Pki::new("behaviour CA");
    for versions in [TLS12, TLS13] {
        let server = tls_server(
            &pki,
            versions,
            ServerSpec {
                require_session_reuse: true,
                close_after_reuse_refusal: true,
                ..Default::default()
            },
        )
        .await;
        let config = client_config(&pki, versions, true);
        let fresh = client_config(&pki, versions, false);
        let mut c = login(server.addr, &config).await;
        assert_eq!(c.cmd("PROT P").await, "200 PROT now Private.");
        let (_, listing, done) = protected_list(&mut c, server.addr, &config).await;
        assert_eq!(entries(&listing), 3, "{versions:?}");
        assert_eq!(done.as_deref(), Some("226 Directory send OK."));

        let (_, listing, done) = protected_list(&mut c, server.addr, &fresh).await;
        assert!(listing.is_empty(), "{versions:?}");
        assert_eq!(done.as_deref(), Some(VSFTPD_REUSE_REFUSAL));
        assert_eq!(
            VSFTPD_REUSE_REFUSAL,
            "522 SSL connection failed: session reuse required"
        );
        // vsftpd 3.0.3 exits the session after the 522.
        assert_eq!(c.try_reply().await.ok().flatten(), None, "control closed");

        let log = server.log();
        assert_eq!(log.data_tls_resumed, vec![true, false], "{versions:?}");
        assert_eq!(log.transfers[1].resumed, Some(false));
        assert_eq!(log.transfers[1].bytes, 0);
        assert_eq!(log.transfers[1].reply, VSFTPD_REUSE_REFUSAL);
    }
}

#[tokio::test]
async fn reuse_required_proftpd_wording_keeps_the_session() {
    let pki = Pki::new("behaviour CA");
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            require_session_reuse: true,
            reuse_refusal: PROFTPD_REUSE_REFUSAL.into(),
            ..Default::default()
        },
    )
    .await;
    let config = client_config(&pki, BOTH, true);
    let fresh = client_config(&pki, BOTH, false);
    let mut c = login(server.addr, &config).await;
    assert_eq!(c.cmd("PROT P").await, "200 PROT now Private.");
    let (_, listing, done) = protected_list(&mut c, server.addr, &fresh).await;
    assert!(listing.is_empty());
    assert_eq!(
        done.as_deref(),
        Some("425 Unable to build data connection: Operation not permitted")
    );
    assert_eq!(c.cmd("NOOP").await, "200 NOOP ok.", "session goes on");
    let (_, listing, done) = protected_list(&mut c, server.addr, &config).await;
    assert_eq!(entries(&listing), 3);
    assert_eq!(done.as_deref(), Some("226 Directory send OK."));
    assert_eq!(server.log().data_tls_resumed, vec![false, true]);
}

#[tokio::test]
async fn fresh_data_session_accepted_when_reuse_not_required() {
    let pki = Pki::new("behaviour CA");
    for versions in [TLS12, TLS13] {
        let server = tls_server(&pki, versions, ServerSpec::default()).await;
        let config = client_config(&pki, versions, true);
        let fresh = client_config(&pki, versions, false);
        let mut c = login(server.addr, &config).await;
        assert_eq!(c.cmd("PROT P").await, "200 PROT now Private.");
        let (_, listing, done) = protected_list(&mut c, server.addr, &fresh).await;
        assert_eq!(entries(&listing), 3);
        assert_eq!(done.as_deref(), Some("226 Directory send OK."));
        let log = server.log();
        assert_eq!(log.data_tls_resumed, vec![false], "{versions:?}");
        assert_eq!(log.transfers[0].protection, Protection::Tls);
        assert_eq!(log.transfers[0].resumed, Some(false));
    }
}

// ---------------------------------------------------------------------------
// 4. The AUTH TLS race (ftp-srv)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn auth_race_answers_early_bytes_in_clear_and_echoes_them() {
    let pki = Pki::new("behaviour CA");
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            auth_race: Some(AuthRace {
                delay: Duration::from_secs(5),
                connections: None,
                then_tls: false,
            }),
            ..Default::default()
        },
    )
    .await;
    let mut c = connect(server.addr).await;
    c.reply().await;
    assert_eq!(c.cmd("AUTH TLS").await, "234 Proceed with negotiation.");
    // The start of a TLS record: handshake, TLS 1.0 record version, a length
    // byte that is not UTF-8, then a space ends ftp-srv's "directive".
    let mut hello = vec![0x16, 0x03, 0x01, 0x00, 0xf0, 0x01, b'a', b'"', b'b'];
    hello.extend_from_slice(b" rest of the hello");
    c.s.write_all(&hello).await.unwrap();
    assert_eq!(
        c.reply().await,
        "502 Command not allowed: \u{16}\u{3}\u{1}\u{0}\u{FFFD}\u{1}AB"
    );
    // then_tls: false: still plain FTP.
    assert!(c.cmd("FEAT").await.starts_with("211-Features:"));
    assert_eq!(server.log().auth_race_lost, 1);

    // The echo is bounded.
    assert_eq!(c.cmd("AUTH TLS").await, "234 Proceed with negotiation.");
    c.s.write_all(&[0x16; 500]).await.unwrap();
    c.s.write_all(b"\r\n").await.unwrap();
    let r = c.reply().await;
    assert_eq!(
        r,
        format!("502 Command not allowed: {}", "\u{16}".repeat(64))
    );
    assert_eq!(server.log().auth_race_lost, 2);
    assert!(server.log().commands.iter().all(|c| !c.secure));
}

#[tokio::test]
async fn auth_race_breaks_an_eager_tls_client_and_a_patient_one_succeeds() {
    let pki = Pki::new("behaviour CA");
    let config = client_config(&pki, BOTH, true);

    // Eager: ClientHello right after the 234 (a long delay, so the race is
    // lost however slow the machine).
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            auth_race: Some(AuthRace {
                delay: Duration::from_secs(5),
                ..AuthRace::ftp_srv()
            }),
            ..Default::default()
        },
    )
    .await;
    let mut c = connect(server.addr).await;
    c.reply().await;
    assert_eq!(c.cmd("AUTH TLS").await, "234 Proceed with negotiation.");
    let err = tls_connect(&config, c.into_inner())
        .await
        .expect_err("the 502 is no ServerHello");
    assert!(err.to_string().contains("corrupt message"), "{err}");
    assert_eq!(server.log().auth_race_lost, 1);

    // Patient: waits well past ftp-srv's 200 ms before the ClientHello.
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            auth_race: Some(AuthRace::ftp_srv()),
            ..Default::default()
        },
    )
    .await;
    let mut c = connect(server.addr).await;
    c.reply().await;
    assert_eq!(c.cmd("AUTH TLS").await, "234 Proceed with negotiation.");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut c = Ctl::new(tls_connect(&config, c.into_inner()).await.expect("TLS"));
    assert!(c.cmd("FEAT").await.starts_with("211-"));
    let log = server.log();
    assert_eq!(log.auth_race_lost, 0);
    assert!(log.commands.iter().any(|c| c.line == "FEAT" && c.secure));
}

#[tokio::test]
async fn auth_race_on_the_first_connection_only_a_retry_works() {
    let pki = Pki::new("behaviour CA");
    let config = client_config(&pki, BOTH, true);
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            auth_race: Some(AuthRace {
                delay: Duration::from_secs(5),
                connections: Some(1),
                then_tls: true,
            }),
            ..Default::default()
        },
    )
    .await;
    let mut c = connect(server.addr).await;
    c.reply().await;
    c.cmd("AUTH TLS").await;
    assert!(tls_connect(&config, c.into_inner()).await.is_err());
    // The second connection, just as eager, is upgraded at once.
    let mut c = secure(server.addr, &config).await;
    assert!(c.cmd("FEAT").await.starts_with("211-"));
    assert_eq!(server.log().auth_race_lost, 1);
    assert_eq!(server.log().connections, 2);
}

// ---------------------------------------------------------------------------
// 5, 6. AUTH SSL only, 120 greeting, slow greeting
// ---------------------------------------------------------------------------

#[tokio::test]
async fn auth_ssl_only_refuses_auth_tls() {
    let pki = Pki::new("behaviour CA");
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            auth_ssl_only: true,
            ..Default::default()
        },
    )
    .await;
    let config = client_config(&pki, BOTH, true);
    let mut c = connect(server.addr).await;
    c.reply().await;
    assert_eq!(c.cmd("AUTH TLS").await, "504 Unknown AUTH type");
    assert_eq!(c.cmd("AUTH TLS-C").await, "504 Unknown AUTH type");
    assert_eq!(c.cmd("AUTH SSL").await, "234 Proceed with negotiation.");
    let mut c = Ctl::new(tls_connect(&config, c.into_inner()).await.expect("TLS"));
    assert!(c.cmd("FEAT").await.starts_with("211-"));
}

#[tokio::test]
async fn greeting_120_comes_before_the_220() {
    let server = TestServer::start(ServerSpec {
        greeting_120: Some(Duration::from_millis(300)),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut c = connect(server.addr).await;
    assert_eq!(c.reply().await, "120 Service ready in 1 minute.");
    assert_eq!(c.reply().await, "220 ftps-scan test server ready");
    assert!(c.cmd("FEAT").await.starts_with("211-"));
}

#[tokio::test]
async fn greeting_delay_holds_back_every_greeting() {
    let delay = Duration::from_millis(800);
    let pki = Pki::new("behaviour CA");
    for implicit in [false, true] {
        let server = tls_server(
            &pki,
            BOTH,
            ServerSpec {
                greeting_delay: Some(delay),
                implicit,
                ..Default::default()
            },
        )
        .await;
        let config = client_config(&pki, BOTH, true);
        // Two connections at once; each waits the delay. The bound is a
        // lower one (the server sleeps at least `delay`), never flaky.
        let greet = |_| {
            let config = config.clone();
            let addr = server.addr;
            async move {
                let started = Instant::now();
                let tcp = TcpStream::connect(addr).await.unwrap();
                let greeting = if implicit {
                    Ctl::new(tls_connect(&config, tcp).await.unwrap())
                        .reply()
                        .await
                } else {
                    Ctl::new(tcp).reply().await
                };
                (greeting, started.elapsed())
            }
        };
        let results = futures::future::join_all((0..2).map(greet)).await;
        for (greeting, elapsed) in results {
            assert_eq!(greeting, "220 ftps-scan test server ready");
            assert!(elapsed >= delay, "{elapsed:?}");
        }
        assert_eq!(server.log().connections, 2);
    }
}

// ---------------------------------------------------------------------------
// 7. Client certificates
// ---------------------------------------------------------------------------

/// A client certificate resolver that has none and records whether the
/// server asked (a `CertificateRequest`) and with which CA names.
#[derive(Debug, Default)]
struct NoCertButRecord {
    asked: Mutex<Vec<Vec<Vec<u8>>>>,
}

impl ResolvesClientCert for NoCertButRecord {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.asked
            .lock()
            .unwrap()
            .push(root_hint_subjects.iter().map(|s| s.to_vec()).collect());
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

fn recording_config(
    pki: &TestPki,
    versions: &[&'static SupportedProtocolVersion],
) -> (Arc<ClientConfig>, Arc<NoCertButRecord>) {
    let recorder = Arc::new(NoCertButRecord::default());
    let config = client_builder(pki, versions).with_client_cert_resolver(recorder.clone());
    (Arc::new(config), recorder)
}

async fn client_auth_server(
    pki: &TestPki,
    versions: &[&'static SupportedProtocolVersion],
    policy: ClientCertPolicy,
) -> TestServer {
    let tls = pki
        .server_config_with_client_auth(&pki.issue(CertKind::Valid).unwrap(), versions, policy)
        .unwrap();
    TestServer::start(ServerSpec {
        tls: Some(tls),
        ..Default::default()
    })
    .await
    .unwrap()
}

/// The DER of the test CA's subject, as a CertificateRequest names it.
fn ca_subject(pki: &TestPki) -> Vec<u8> {
    let (_, ca) = x509_parser::parse_x509_certificate(pki.ca_der()).unwrap();
    ca.subject().as_raw().to_vec()
}

#[tokio::test]
async fn client_cert_request_asks_and_lets_a_client_without_one_in() {
    let pki = Pki::new("behaviour CA");
    for versions in [TLS12, TLS13] {
        let server = client_auth_server(&pki, versions, ClientCertPolicy::Request).await;
        let (config, recorder) = recording_config(&pki, versions);
        let mut c = secure(server.addr, &config).await;
        assert!(c.cmd("FEAT").await.starts_with("211-"), "{versions:?}");
        let asked = recorder.asked.lock().unwrap().clone();
        assert_eq!(asked, vec![vec![ca_subject(&pki)]], "{versions:?}");
    }
    // Without a policy, nothing is asked.
    let server = client_auth_server(&pki, BOTH, ClientCertPolicy::None).await;
    let (config, recorder) = recording_config(&pki, BOTH);
    let mut c = secure(server.addr, &config).await;
    assert!(c.cmd("FEAT").await.starts_with("211-"));
    assert!(recorder.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn client_cert_require_fails_without_one() {
    let pki = Pki::new("behaviour CA");

    // TLS 1.2: the handshake itself fails.
    let server = client_auth_server(&pki, TLS12, ClientCertPolicy::Require).await;
    let (config, recorder) = recording_config(&pki, TLS12);
    let mut c = connect(server.addr).await;
    c.reply().await;
    c.cmd("AUTH TLS").await;
    let err = tls_connect(&config, c.into_inner())
        .await
        .expect_err("no cert");
    assert!(err.to_string().contains("CertificateRequired"), "{err}");
    assert_eq!(recorder.asked.lock().unwrap().len(), 1);

    // TLS 1.3: the client's handshake completes; its first read gets
    // alert 116 certificate_required.
    let server = client_auth_server(&pki, TLS13, ClientCertPolicy::Require).await;
    let (config, _) = recording_config(&pki, TLS13);
    let mut c = connect(server.addr).await;
    c.reply().await;
    c.cmd("AUTH TLS").await;
    let tls = tls_connect(&config, c.into_inner())
        .await
        .expect("TLS 1.3 handshake");
    let mut c = Ctl::new(tls);
    c.send("FEAT").await;
    let err = c.try_reply().await.expect_err("alert");
    let alert = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .cloned();
    assert_eq!(
        alert,
        Some(rustls::Error::AlertReceived(
            rustls::AlertDescription::CertificateRequired
        )),
        "{err}"
    );
    assert!(!server.log().commands.iter().any(|c| c.secure));
}

#[tokio::test]
async fn client_cert_require_accepts_a_certificate_from_the_ca() {
    let pki = Pki::new("behaviour CA");
    let client = pki.issue_client("scanner").unwrap();
    for versions in [TLS12, TLS13] {
        let server = client_auth_server(&pki, versions, ClientCertPolicy::Require).await;
        let config = Arc::new(
            client_builder(&pki, versions)
                .with_client_auth_cert(client.chain.clone(), client.key.clone_key())
                .unwrap(),
        );
        let mut c = secure(server.addr, &config).await;
        assert!(c.cmd("FEAT").await.starts_with("211-"), "{versions:?}");
    }
}

// ---------------------------------------------------------------------------
// 8. Password echo
// ---------------------------------------------------------------------------

#[tokio::test]
async fn echo_password_puts_the_password_in_the_pass_reply() {
    let pki = Pki::new("behaviour CA");
    let config = client_config(&pki, BOTH, true);
    let users = vec![("alice".to_string(), "hunter2".to_string())];
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            echo_password: true,
            users: users.clone(),
            ..Default::default()
        },
    )
    .await;
    let mut c = secure(server.addr, &config).await;
    c.cmd("USER alice").await;
    assert_eq!(
        c.cmd("PASS wrong horse").await,
        "530 Login incorrect: user alice password wrong horse"
    );
    c.cmd("USER alice").await;
    assert_eq!(
        c.cmd("PASS hunter2").await,
        "230 Login successful: user alice password hunter2"
    );

    // The default does not echo.
    let server = tls_server(
        &pki,
        BOTH,
        ServerSpec {
            users,
            ..Default::default()
        },
    )
    .await;
    let mut c = secure(server.addr, &config).await;
    c.cmd("USER alice").await;
    assert_eq!(c.cmd("PASS wrong").await, "530 Login incorrect.");
    c.cmd("USER alice").await;
    assert_eq!(c.cmd("PASS hunter2").await, "230 Login successful.");
}
