//! One way to open an FTP session, for every step that needs one: the main
//! session, the version probes, the cipher enumeration and the
//! cleartext-login check.
//!
//! Each step used to carry its own copy of "connect, read the greeting, AUTH
//! TLS", and the copies drifted (one skipped `AUTH SSL`, another failed on a
//! `120` greeting). Here the pieces are written once:
//!
//! - [`Opener::connect_and_greet`]: a host slot, TCP connect, the greeting
//!   (a `120` "ready in n minutes" followed to the real one; a `421` "too
//!   many connections" retried after a pause, then reported as busy);
//! - [`Opener::negotiate_auth`]: `AUTH TLS`, then `AUTH SSL` when refused,
//!   every reply kept for the report;
//! - [`Opener::raw_for_hello`]: both, and the plain stream ready for a raw
//!   ClientHello (implicit FTPS: just the connection).
//!
//! Deadlines cover the work, not the queue: the wait for a per-host slot is
//! not counted against any deadline, every network wait after it has its own.

use super::connector::{Connector, HostConnection};
use super::Failure;
use crate::config::Timeouts;
use crate::ftp::{parse_reply, ControlConnection, Parsed, Reply};
use crate::model::{Mode, Phase, Status};
use std::net::SocketAddr;
use std::time::Duration;

/// A `421` greeting is retried this many times, after a growing pause.
const BUSY_RETRIES: u32 = 2;
const BUSY_PAUSE: Duration = Duration::from_secs(1);

/// The pause between a `234` and the ClientHello on the retry after an
/// AUTH TLS race (servers that read a hello sent at once as an FTP command).
pub const AUTH_RACE_PAUSE: Duration = Duration::from_millis(300);

/// A plain control connection that holds its host slot.
pub type PlainControl = ControlConnection<HostConnection>;

/// What opening a session needs from the run.
#[derive(Clone, Copy)]
pub struct Opener<'a> {
    pub connector: &'a Connector,
    pub timeouts: &'a Timeouts,
}

/// The replies of the AUTH step, kept even when a later one fails.
#[derive(Debug, Clone, Default)]
pub struct AuthReplies {
    pub auth_tls: Option<Reply>,
    /// Only sent when `AUTH TLS` was refused.
    pub auth_ssl: Option<Reply>,
}

/// Whether the server agreed to the TLS upgrade: `234` to `AUTH TLS`, or
/// `234`/`334` (some pre-RFC 4217 servers) to `AUTH SSL`.
pub fn auth_agreed(auth_tls: Option<&Reply>, auth_ssl: Option<&Reply>) -> bool {
    auth_tls.is_some_and(|r| r.code == 234) || auth_ssl.is_some_and(|r| matches!(r.code, 234 | 334))
}

impl AuthReplies {
    /// Whether the TLS upgrade was agreed through `AUTH SSL`.
    pub fn via_auth_ssl(&self) -> bool {
        self.auth_ssl.is_some()
    }
}

impl<'a> Opener<'a> {
    pub fn new(connector: &'a Connector, timeouts: &'a Timeouts) -> Self {
        Self {
            connector,
            timeouts,
        }
    }

    /// A TCP connection holding a host slot (the slot wait has no deadline;
    /// the connect has the connect timeout).
    pub async fn connect(&self, addr: SocketAddr) -> Result<HostConnection, Failure> {
        self.connector
            .connect(addr, self.timeouts.connect)
            .await
            .map_err(|f| Failure::new(f.status, Phase::Connect, f.message))
    }

    /// Connects and reads the greeting, whatever its code: the caller
    /// records it and judges it ([`super::check_greeting`]). A `421` is
    /// retried on a fresh connection after a pause; one that persists is
    /// returned as it is.
    pub async fn connect_and_greet(
        &self,
        addr: SocketAddr,
        phase: Phase,
    ) -> Result<(PlainControl, Reply), Failure> {
        let mut attempt = 0;
        loop {
            let mut control = ControlConnection::new(self.connect(addr).await?);
            let greeting = read_greeting(&mut control, self.timeouts.read)
                .await
                .map_err(|e| Failure::from_ftp(e, phase, "FTP greeting"))?;
            if greeting.code != 421 || attempt >= BUSY_RETRIES {
                return Ok((control, greeting));
            }
            drop(control);
            attempt += 1;
            tokio::time::sleep(BUSY_PAUSE * attempt).await;
        }
    }

    /// `AUTH TLS`, then `AUTH SSL` when refused (some old servers know only
    /// the draft's). Ok when one was agreed (`234`, or `334` from some
    /// pre-RFC 4217 servers to AUTH SSL); a `no-tls` failure when both were
    /// refused. Every reply lands in `replies` before the next step.
    pub async fn negotiate_auth<S>(
        &self,
        control: &mut ControlConnection<S>,
        replies: &mut AuthReplies,
    ) -> Result<(), Failure>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let read = self.timeouts.read;
        let auth = control
            .command("AUTH TLS", read)
            .await
            .map_err(|e| Failure::from_ftp(e, Phase::Auth, "reply to AUTH TLS"))?;
        replies.auth_tls = Some(auth.clone());
        if auth_agreed(Some(&auth), None) {
            return Ok(());
        }
        let ssl = control
            .command("AUTH SSL", read)
            .await
            .map_err(|e| Failure::from_ftp(e, Phase::Auth, "reply to AUTH SSL"))?;
        replies.auth_ssl = Some(ssl.clone());
        if auth_agreed(None, Some(&ssl)) {
            return Ok(());
        }
        Err(Failure::new(
            Status::NoTls,
            Phase::Auth,
            format!("server refused AUTH TLS ({auth}) and AUTH SSL ({ssl})"),
        ))
    }

    /// A connection ready for a raw ClientHello: for explicit FTPS the
    /// greeting, AUTH (TLS or SSL) agreed, and `pause` waited after it; for
    /// implicit FTPS the bare connection.
    pub async fn raw_for_hello(
        &self,
        addr: SocketAddr,
        mode: Mode,
        pause: Option<Duration>,
    ) -> Result<HostConnection, Failure> {
        if mode == Mode::Implicit {
            return self.connect(addr).await;
        }
        let (mut control, greeting) = self.connect_and_greet(addr, Phase::VersionProbe).await?;
        super::check_greeting(&greeting, Phase::VersionProbe)?;
        self.negotiate_auth(&mut control, &mut AuthReplies::default())
            .await?;
        // The message names the phase as well (as it long has: a report's
        // error text stays what it was when the ftp layer still knew it).
        let stream = control.into_stream().map_err(|e| {
            let phase = Phase::VersionProbe;
            Failure::new(Status::TlsFailed, phase, format!("{e} ({phase})"))
        })?;
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
        Ok(stream)
    }
}

/// Reads the greeting, following a `120` ("ready in n minutes") to the
/// real one. Returns the final greeting.
pub async fn read_greeting<S>(
    conn: &mut ControlConnection<S>,
    timeout: Duration,
) -> Result<Reply, crate::ftp::FtpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let first = conn.read_reply(timeout).await?;
    follow_120(conn, first, timeout).await
}

/// The greeting that follows `first`: the next reply when `first` is a
/// `120` ("ready in n minutes"), else `first` itself. One rule for every
/// reader of a greeting (the opener, mode detection).
pub async fn follow_120<S>(
    conn: &mut ControlConnection<S>,
    first: Reply,
    timeout: Duration,
) -> Result<Reply, crate::ftp::FtpError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if first.code == 120 {
        conn.read_reply(timeout).await
    } else {
        Ok(first)
    }
}

/// The FTP reply a server sent where a TLS answer to our ClientHello was
/// due: the sign of the AUTH TLS race (ftp-srv reads a hello that arrives
/// right after its `234` as a command and answers `502 ...` in clear).
pub fn ftp_text_instead_of_tls(first_bytes: &[u8]) -> Option<Reply> {
    match parse_reply(first_bytes, first_bytes.len().max(1)) {
        Ok(Parsed::Complete(reply, _)) => Some(reply),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_ftp_text_where_tls_was_due() {
        let reply = ftp_text_instead_of_tls(b"502 Command not allowed: \x16\x03\x01\r\n");
        assert_eq!(reply.map(|r| r.code), Some(502));
        assert!(ftp_text_instead_of_tls(b"\x16\x03\x03\x00\x31\x02").is_none());
        assert!(ftp_text_instead_of_tls(b"").is_none());
    }
}
