//! Opening TCP connections politely: a per-host cap on connections in
//! flight, a deadline on every connect, and typed failures.

use crate::model::Status;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Caps connections per IP address across the whole run. Servers such as
/// vsftpd and Pure-FTPd limit connections per client address and answer
/// 421 beyond it; an audit must not trip that (or look like an attack).
#[derive(Debug)]
pub struct Connector {
    per_host: usize,
    hosts: Mutex<HashMap<IpAddr, Arc<Semaphore>>>,
    rate: Option<RateLimiter>,
}

/// A connection and the per-host slot it occupies; the slot is released
/// when this is dropped.
#[derive(Debug)]
pub struct HostConnection {
    pub stream: TcpStream,
    pub permit: HostPermit,
}

/// Holds one of a host's connection slots.
#[derive(Debug)]
pub struct HostPermit {
    /// `None` only if the semaphore were closed, which this module never does.
    _permit: Option<OwnedSemaphorePermit>,
}

/// Why a connection could not be made, as a report status.
#[derive(Debug)]
pub struct ConnectFailure {
    pub status: Status,
    pub message: String,
}

impl Connector {
    pub fn new(per_host: usize, rate: Option<RateLimiter>) -> Self {
        Self {
            per_host: per_host.max(1),
            hosts: Mutex::new(HashMap::new()),
            rate,
        }
    }

    /// Waits for a slot on `addr`'s host, then connects within `timeout`
    /// (the wait for a slot is not counted against the connect deadline).
    pub async fn connect(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<HostConnection, ConnectFailure> {
        let permit = self.acquire(addr.ip()).await;
        if let Some(rate) = &self.rate {
            rate.wait().await;
        }
        let stream = self.connect_within_session(addr, timeout).await?;
        Ok(HostConnection { stream, permit })
    }

    /// Connects without taking a host slot: for connections that belong to
    /// a session already holding one (its passive data connection). Taking
    /// a second slot while holding the first could deadlock when every slot
    /// of a host is held by sessions waiting for their data connection.
    pub async fn connect_within_session(
        &self,
        addr: SocketAddr,
        timeout: Duration,
    ) -> Result<TcpStream, ConnectFailure> {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Err(_) => Err(ConnectFailure {
                status: Status::Timeout,
                message: format!(
                    "no answer to TCP connect within {}",
                    crate::ftp::control::humantime(timeout)
                ),
            }),
            Ok(Err(e)) => Err(classify_connect_error(&e)),
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                Ok(s)
            }
        }
    }

    async fn acquire(&self, ip: IpAddr) -> HostPermit {
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            // Forget hosts nobody is connected to, so the map stays as small
            // as the set of hosts in flight during a long sweep.
            if hosts.len() > 4096 {
                hosts.retain(|_, s| Arc::strong_count(s) > 1);
            }
            hosts
                .entry(ip)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_host)))
                .clone()
        };
        HostPermit {
            _permit: semaphore.acquire_owned().await.ok(),
        }
    }
}

pub fn classify_connect_error(e: &io::Error) -> ConnectFailure {
    const EHOSTUNREACH: i32 = 113;
    const ENETUNREACH: i32 = 101;
    const EHOSTDOWN: i32 = 112;
    let status = match e.kind() {
        io::ErrorKind::ConnectionRefused => Status::Refused,
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => Status::Unreachable,
        io::ErrorKind::TimedOut => Status::Timeout,
        _ => match e.raw_os_error() {
            Some(EHOSTUNREACH | ENETUNREACH | EHOSTDOWN) => Status::Unreachable,
            _ => Status::Error,
        },
    };
    let message = match status {
        Status::Refused => "connection refused".to_string(),
        _ => format!("connect failed: {e}"),
    };
    ConnectFailure { status, message }
}

/// The connection is a byte stream in its own right: the version probes
/// write raw hellos on it while it keeps its host slot.
impl tokio::io::AsyncRead for HostConnection {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for HostConnection {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
/// Caps new connections per second across the run (`--rate`).
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Instant>,
}

impl RateLimiter {
    pub fn per_second(rate: u32) -> Self {
        Self {
            interval: Duration::from_secs(1) / rate.max(1),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    /// Waits for this connection's turn.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}
