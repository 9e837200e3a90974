//! ftps-floor: per endpoint, the connections, TLS handshakes and FTP
//! commands of ftps-scan's default scan against an explicit-FTPS vsftpd,
//! with nothing recorded, parsed or reported: the yardstick for the
//! scanner's CPU per endpoint (bench/run.sh: `FLEET_SCANS` entry `floor`,
//! run on the same fleet in turn with the scans).
//!
//! Per endpoint, two connections at once (the scanner's `--per-host 2`):
//! - six raw version probes (SSLv2, SSLv3 twice, TLS 1.0, 1.1, 1.2): greeting,
//!   `AUTH TLS`, the scanner's own ClientHello bytes (built once at start-up
//!   by the ftps-scan library), one read of the answer, close;
//! - the cleartext-login check: greeting, `USER anonymous`, its reply, close;
//! - the cleartext-after-auth check: greeting, `AUTH TLS`, `FEAT` in clear,
//!   one read, close;
//! - the main session: greeting, `FEAT`, `AUTH TLS`, a rustls handshake
//!   (ring, the signature checked as the scanner does, the chain accepted),
//!   `USER`/`PASS`, `PBSZ 0`, `PROT P`, then three listings: `PASV` + `LIST`
//!   on a data connection resuming the session, `PROT C` + `PASV` + `LIST`
//!   in clear, `PROT P` + `PASV` + `LIST` on a fresh TLS session.
//!
//! It leaves out what the scanner adds on the wire (`EPSV`, `PORT`/`EPRT`,
//! `QUIT`s, the certificate chain's verification) and everything it does
//! with the answers; it sends each command in a write of its own where the
//! scanner pipelines `PBSZ 0` + `PROT P`. So it is about the wire work
//! of a scanner that establishes those facts with tokio and rustls on the
//! same machine, not a strict lower bound. One addition: a greeting that
//! does not come within 5 s is tried again on a new connection (see
//! `greeted`), so that every endpoint's work is done (every scanner run in
//! the log had all 1,000 endpoints `ok`).
//!
//! usage: ftps-floor FILE CONCURRENCY

use ftps_scan::tls::raw::{client_hello, CipherList, TlsVersionProbe};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::Resumption;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

type Error = Box<dyn std::error::Error + Send + Sync>;

const DEADLINE: Duration = Duration::from_secs(90);
const GREETING_DEADLINE: Duration = Duration::from_secs(5);
const GREETING_ATTEMPTS: usize = 3;
/// The deadline of one check: long, so that a greeting delayed by a full
/// accept queue (SYN-ACK retransmits) still comes and the work is done.
const STEP_DEADLINE: Duration = Duration::from_secs(40);

async fn within(step: impl std::future::Future<Output = Result<(), Error>>) -> Result<(), Error> {
    tokio::time::timeout(STEP_DEADLINE, step)
        .await
        .map_err(|_| "timed out")?
}

/// Accepts any chain (as the scanner's recording verifier does before it
/// judges the chain elsewhere) but checks the handshake signature.
#[derive(Debug)]
struct SignatureOnly(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for SignatureOnly {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

struct Shared {
    hellos: Vec<Vec<u8>>,
    resuming: TlsConnector,
    fresh: TlsConnector,
    failures: AtomicU64,
    /// Bytes listed: resumed TLS, clear, fresh TLS (proof the transfers ran).
    listed: [AtomicU64; 3],
    /// Failed steps by what failed, printed at the end.
    errors: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

/// Reads one FTP reply (multi-line aware); its code.
async fn reply<S: AsyncRead + Unpin>(r: &mut BufReader<S>) -> Result<u16, Error> {
    let mut line = String::new();
    let mut code = None;
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Err("closed".into());
        }
        let head: Option<u16> = line.get(..3).and_then(|c| c.parse().ok());
        let first = match code {
            Some(first) => first,
            None => *code.get_or_insert(head.ok_or("not a reply")?),
        };
        if head == Some(first) && line.as_bytes().get(3) == Some(&b' ') {
            return Ok(first);
        }
    }
}

async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut BufReader<S>,
    line: &str,
) -> Result<u16, Error> {
    c.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await?;
    reply(c).await
}

/// A connection with its greeting read. Again on a new connection (up to
/// three attempts) when no greeting came within 5 s: under a burst of connections vsftpd's full
/// accept queue drops the last ACK of some handshakes, and such a
/// connection is open on this side only and never greets.
async fn greeted(addr: SocketAddr) -> Result<BufReader<TcpStream>, Error> {
    let attempt = || async {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut c = BufReader::new(stream);
        reply(&mut c).await?;
        Ok::<_, Error>(c)
    };
    for _ in 1..GREETING_ATTEMPTS {
        if let Ok(result) = tokio::time::timeout(GREETING_DEADLINE, attempt()).await {
            return result;
        }
    }
    attempt().await
}

/// Greeting and `AUTH TLS`; the plain stream, ready for TLS bytes.
async fn after_auth(addr: SocketAddr) -> Result<TcpStream, Error> {
    let mut c = greeted(addr).await?;
    if command(&mut c, "AUTH TLS").await? != 234 {
        return Err("AUTH TLS refused".into());
    }
    Ok(c.into_inner())
}

async fn raw_probe(addr: SocketAddr, hello: &[u8]) -> Result<(), Error> {
    let mut s = after_auth(addr).await?;
    s.write_all(hello).await?;
    let mut buf = [0u8; 4096];
    // One read of the answer (an alert, or the first flight), as the prober
    // reads at least that much.
    let _answer = s.read(&mut buf).await?;
    Ok(())
}

async fn cleartext_login(addr: SocketAddr) -> Result<(), Error> {
    let mut c = greeted(addr).await?;
    command(&mut c, "USER anonymous").await?;
    Ok(())
}

async fn cleartext_after_auth(addr: SocketAddr) -> Result<(), Error> {
    let mut s = after_auth(addr).await?;
    s.write_all(b"FEAT\r\n").await?;
    let mut buf = [0u8; 512];
    let _ = s.read(&mut buf).await;
    Ok(())
}

/// `PASV` and a connection to its port (at the control peer).
async fn passive<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut BufReader<S>,
    peer: SocketAddr,
) -> Result<TcpStream, Error> {
    c.get_mut().write_all(b"PASV\r\n").await?;
    let mut line = String::new();
    c.read_line(&mut line).await?;
    let inner = line.split(['(', ')']).nth(1).ok_or("no PASV address")?;
    let n: Vec<u16> = inner
        .split(',')
        .map(|v| v.trim().parse())
        .collect::<Result<_, _>>()?;
    let port = n
        .get(4)
        .zip(n.get(5))
        .map(|(h, l)| h * 256 + l)
        .ok_or("short PASV")?;
    let data = TcpStream::connect(SocketAddr::new(peer.ip(), port)).await?;
    data.set_nodelay(true)?;
    Ok(data)
}

/// `LIST` over a data connection (TLS when a connector is given, started
/// at once as the scanner does), read to its end while the control replies
/// come in; an error reply without a `150` ends it.
async fn listing<S: AsyncRead + AsyncWrite + Unpin>(
    c: &mut BufReader<S>,
    data: TcpStream,
    tls: Option<&TlsConnector>,
    listed: &AtomicU64,
) -> Result<(), Error> {
    c.get_mut().write_all(b"LIST\r\n").await?;
    let data_part = async {
        let mut sink = Vec::new();
        match tls {
            Some(connector) => {
                // By address, as the scanner names an IP target (no SNI);
                // the key the resumable session is stored under.
                let Ok(peer) = data.peer_addr() else { return };
                let name = ServerName::IpAddress(peer.ip().into());
                if let Ok(mut s) = connector.connect(name, data).await {
                    let _ = s.read_to_end(&mut sink).await;
                }
                listed.fetch_add(sink.len() as u64, Ordering::Relaxed);
            }
            None => {
                let mut data = data;
                let _ = data.read_to_end(&mut sink).await;
                listed.fetch_add(sink.len() as u64, Ordering::Relaxed);
            }
        }
    };
    let replies = async {
        let first = reply(c).await?;
        if first == 150 {
            reply(c).await?;
        }
        Ok::<u16, Error>(first)
    };
    tokio::pin!(data_part, replies);
    let mut data_done = false;
    let first = loop {
        tokio::select! {
            r = &mut replies => break r?,
            () = &mut data_part, if !data_done => data_done = true,
        }
    };
    if first == 150 && !data_done {
        data_part.await;
    }
    Ok(())
}

async fn main_session(addr: SocketAddr, shared: &Shared, stage: &AtomicUsize) -> Result<(), Error> {
    stage.store(1, Ordering::Relaxed);
    let mut plain = greeted(addr).await?;
    stage.store(2, Ordering::Relaxed);
    command(&mut plain, "FEAT").await?;
    stage.store(3, Ordering::Relaxed);
    if command(&mut plain, "AUTH TLS").await? != 234 {
        return Err("AUTH TLS refused".into());
    }
    let name = ServerName::IpAddress(addr.ip().into());
    stage.store(4, Ordering::Relaxed);
    let tls = shared.resuming.connect(name, plain.into_inner()).await?;
    let mut c = BufReader::new(tls);
    stage.store(5, Ordering::Relaxed);
    command(&mut c, "USER anonymous").await?;
    stage.store(6, Ordering::Relaxed);
    command(&mut c, "PASS anonymous@").await?;
    stage.store(7, Ordering::Relaxed);
    command(&mut c, "PBSZ 0").await?;
    stage.store(8, Ordering::Relaxed);
    command(&mut c, "PROT P").await?;
    stage.store(9, Ordering::Relaxed);
    let data = passive(&mut c, addr).await?;
    stage.store(10, Ordering::Relaxed);
    listing(&mut c, data, Some(&shared.resuming), &shared.listed[0]).await?;
    stage.store(11, Ordering::Relaxed);
    command(&mut c, "PROT C").await?;
    stage.store(12, Ordering::Relaxed);
    let data = passive(&mut c, addr).await?;
    stage.store(13, Ordering::Relaxed);
    listing(&mut c, data, None, &shared.listed[1]).await?;
    stage.store(14, Ordering::Relaxed);
    command(&mut c, "PROT P").await?;
    stage.store(15, Ordering::Relaxed);
    let data = passive(&mut c, addr).await?;
    // vsftpd refuses the fresh session and ends the control session.
    stage.store(16, Ordering::Relaxed);
    let _ = listing(&mut c, data, Some(&shared.fresh), &shared.listed[2]).await;
    Ok(())
}

/// Two connections at once per address, as the scanner's `--per-host 2`
/// default: the main session (its data connections count as its own) and
/// the other checks one after the other.
async fn endpoint(addr: SocketAddr, shared: &Shared) {
    let others = async {
        let mut results = vec![
            ("cleartext login", within(cleartext_login(addr)).await),
            (
                "cleartext after auth",
                within(cleartext_after_auth(addr)).await,
            ),
        ];
        for hello in &shared.hellos {
            results.push(("raw probe", within(raw_probe(addr, hello)).await));
        }
        results
    };
    let stage = AtomicUsize::new(0);
    let (main, others) = tokio::join!(within(main_session(addr, shared, &stage)), others);
    let main = main.map_err(|e| format!("{e} at step {}", stage.load(Ordering::Relaxed)).into());
    for (what, result) in std::iter::once(("main session", main)).chain(others) {
        if let Err(e) = result {
            shared.failures.fetch_add(1, Ordering::Relaxed);
            let mut errors = shared.errors.lock().expect("lock");
            *errors.entry(format!("{what}: {e}")).or_default() += 1;
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: ftps-floor FILE CONCURRENCY");
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

    let versions = [
        TlsVersionProbe::Ssl2,
        TlsVersionProbe::Ssl3,
        TlsVersionProbe::Ssl3,
        TlsVersionProbe::Tls10,
        TlsVersionProbe::Tls11,
        TlsVersionProbe::Tls12,
    ];
    let hellos = versions
        .iter()
        .map(|v| {
            client_hello::build(*v, None, &CipherList::Full)
                .expect("hello")
                .bytes
        })
        .collect();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = |resumption: Resumption| {
        let mut c = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SignatureOnly(provider.clone())))
            .with_no_client_auth();
        c.resumption = resumption;
        TlsConnector::from(Arc::new(c))
    };
    let shared = Arc::new(Shared {
        hellos,
        resuming: config(Resumption::in_memory_sessions(concurrency * 4)),
        fresh: config(Resumption::disabled()),
        failures: AtomicU64::new(0),
        listed: Default::default(),
        errors: Default::default(),
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let addrs = Arc::new(addrs);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    runtime.block_on(async {
        let mut workers = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            let (addrs, next, shared) = (addrs.clone(), next.clone(), shared.clone());
            workers.push(tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(addr) = addrs.get(i) else { break };
                    if tokio::time::timeout(DEADLINE, endpoint(*addr, &shared))
                        .await
                        .is_err()
                    {
                        shared.failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        for w in workers {
            w.await.expect("worker");
        }
    });
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ftps-floor: {} endpoints, concurrency {concurrency}: {} failed steps in {secs:.3} s",
        addrs.len(),
        shared.failures.load(Ordering::Relaxed),
    );
    let listed: Vec<u64> = shared
        .listed
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    println!(
        "listed bytes: resumed TLS {}, clear {}, fresh TLS {}",
        listed[0], listed[1], listed[2]
    );
    let errors = shared.errors.lock().expect("lock").clone();
    for (what, count) in errors {
        println!("failed: {count} x {what}");
    }
}
