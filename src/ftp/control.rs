//! A buffered FTP control connection over any byte stream (plain TCP or TLS).
//!
//! Every read has a deadline that covers the whole reply, not each read: a
//! server that drips one byte a second still costs at most the timeout. Every
//! reply has a size cap. Errors name the phase they arose in, so a report can
//! say "no reply to AUTH TLS within 5s" rather than "timed out".

use super::reply::{parse_reply, preview, Parsed, Reply, ReplyError};
use crate::report::Phase;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Default cap on the bytes of one reply. Real greetings and FEAT lists are
/// a few KiB at most; 64 KiB leaves room for verbose servers.
pub const DEFAULT_MAX_REPLY: usize = 64 * 1024;

/// What went wrong on the control channel, and in which phase.
#[derive(Debug, thiserror::Error)]
#[error("{kind} ({phase})")]
pub struct FtpError {
    pub phase: Phase,
    pub kind: FtpErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum FtpErrorKind {
    #[error("no complete reply within {}", humantime(*.0))]
    Timeout(Duration),
    #[error("connection closed before a reply")]
    ClosedBeforeReply,
    #[error("connection closed in the middle of a reply after {0} bytes")]
    ClosedMidReply(usize),
    #[error("{0}")]
    Reply(#[from] ReplyError),
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl FtpError {
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, FtpErrorKind::Timeout(_))
    }

    pub fn is_malformed(&self) -> bool {
        matches!(self.kind, FtpErrorKind::Reply(ReplyError::Malformed(_)))
    }
}

/// Formats a duration the way our messages do: `5s`, `1.5s`, `250ms`.
pub fn humantime(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// The control connection: a stream plus the bytes read but not yet parsed.
pub struct ControlConnection<S> {
    stream: S,
    buf: Vec<u8>,
    max_reply: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ControlConnection<S> {
    pub fn new(stream: S) -> Self {
        Self::with_max_reply(stream, DEFAULT_MAX_REPLY)
    }

    pub fn with_max_reply(stream: S, max_reply: usize) -> Self {
        Self {
            stream,
            buf: Vec::with_capacity(512),
            max_reply,
        }
    }

    /// Reads one complete reply within `timeout`.
    pub async fn read_reply(&mut self, timeout: Duration, phase: Phase) -> Result<Reply, FtpError> {
        let deadline = Instant::now() + timeout;
        let err = |kind| FtpError { phase, kind };
        let mut chunk = [0u8; 4096];
        loop {
            match parse_reply(&self.buf, self.max_reply) {
                Ok(Parsed::Complete(reply, used)) => {
                    self.buf.drain(..used);
                    return Ok(reply);
                }
                Ok(Parsed::NeedMore) => {}
                Err(e) => return Err(err(e.into())),
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await;
            match read {
                Err(_) => return Err(err(FtpErrorKind::Timeout(timeout))),
                Ok(Err(e)) => return Err(err(e.into())),
                Ok(Ok(0)) if self.buf.is_empty() => {
                    return Err(err(FtpErrorKind::ClosedBeforeReply))
                }
                Ok(Ok(0)) => return Err(err(FtpErrorKind::ClosedMidReply(self.buf.len()))),
                Ok(Ok(n)) => self
                    .buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
        }
    }

    /// Sends one command line (CR LF added) within `timeout`.
    pub async fn send(
        &mut self,
        command: &str,
        timeout: Duration,
        phase: Phase,
    ) -> Result<(), FtpError> {
        // Nothing the user gave may smuggle a second command onto the wire.
        if command.contains(['\r', '\n']) {
            return Err(FtpError {
                phase,
                kind: FtpErrorKind::Io(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "refusing to send a command containing CR or LF",
                )),
            });
        }
        let line = format!("{command}\r\n");
        let write = async {
            self.stream.write_all(line.as_bytes()).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(timeout, write).await {
            Err(_) => Err(FtpError {
                phase,
                kind: FtpErrorKind::Timeout(timeout),
            }),
            Ok(r) => r.map_err(|e| FtpError {
                phase,
                kind: e.into(),
            }),
        }
    }

    /// Sends a command and reads its reply, both within `timeout` each.
    pub async fn command(
        &mut self,
        command: &str,
        timeout: Duration,
        phase: Phase,
    ) -> Result<Reply, FtpError> {
        self.send(command, timeout, phase).await?;
        self.read_reply(timeout, phase).await
    }

    /// Gives the stream back for a TLS upgrade. Fails if the server sent
    /// bytes after its reply that we have not consumed: they would be lost,
    /// and a server that talks before our ClientHello is misbehaving.
    pub fn into_stream(self, phase: Phase) -> Result<S, FtpError> {
        if self.buf.is_empty() {
            Ok(self.stream)
        } else {
            Err(FtpError {
                phase,
                kind: FtpErrorKind::Io(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "server sent unexpected bytes before the TLS handshake: {}",
                        preview(&self.buf)
                    ),
                )),
            })
        }
    }

    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    #[tokio::test]
    async fn reads_reply_split_into_single_bytes() {
        let (client, mut server) = duplex(64);
        let mut conn = ControlConnection::new(client);
        let writer = tokio::spawn(async move {
            for b in b"220-hi\r\n220 there\r\n" {
                server.write_all(&[*b]).await.unwrap();
            }
            server
        });
        let reply = conn
            .read_reply(Duration::from_secs(5), Phase::Greeting)
            .await
            .unwrap();
        assert_eq!(reply.lines, vec!["hi", "there"]);
        drop(writer.await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_covers_the_whole_reply_not_each_read() {
        let (client, mut server) = duplex(64);
        let mut conn = ControlConnection::new(client);
        tokio::spawn(async move {
            for b in b"220 dripping slowly\r\n" {
                if server.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        let err = conn
            .read_reply(Duration::from_secs(5), Phase::Greeting)
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert_eq!(err.phase, Phase::Greeting);
        assert_eq!(err.to_string(), "no complete reply within 5s (greeting)");
    }

    #[tokio::test]
    async fn eof_mid_reply_is_reported_as_such() {
        let (client, mut server) = duplex(64);
        let mut conn = ControlConnection::new(client);
        server.write_all(b"220-partial\r\n").await.unwrap();
        drop(server);
        let err = conn
            .read_reply(Duration::from_secs(5), Phase::Greeting)
            .await
            .unwrap_err();
        assert!(
            matches!(err.kind, FtpErrorKind::ClosedMidReply(13)),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn eof_before_reply() {
        let (client, server) = duplex(64);
        drop(server);
        let mut conn = ControlConnection::new(client);
        let err = conn
            .read_reply(Duration::from_secs(5), Phase::Greeting)
            .await
            .unwrap_err();
        assert!(matches!(err.kind, FtpErrorKind::ClosedBeforeReply));
    }

    #[tokio::test]
    async fn flood_is_capped() {
        let (client, mut server) = duplex(1 << 16);
        let mut conn = ControlConnection::with_max_reply(client, 1000);
        tokio::spawn(async move {
            let junk = vec![b'2'; 100];
            let _ = server.write_all(b"220-").await;
            loop {
                if server.write_all(&junk).await.is_err() {
                    break;
                }
            }
        });
        let err = conn
            .read_reply(Duration::from_secs(5), Phase::Greeting)
            .await
            .unwrap_err();
        assert!(matches!(
            err.kind,
            FtpErrorKind::Reply(ReplyError::TooLong { limit: 1000 })
        ));
    }

    #[tokio::test]
    async fn leftover_bytes_block_the_tls_upgrade() {
        let (client, mut server) = duplex(64);
        server.write_all(b"234 go\r\nEXTRA").await.unwrap();
        let mut conn = ControlConnection::new(client);
        let reply = conn
            .read_reply(Duration::from_secs(5), Phase::Auth)
            .await
            .unwrap();
        assert_eq!(reply.code, 234);
        // Give the extra bytes a chance to be buffered by a later read.
        let mut conn2 = conn;
        let _ = tokio::time::timeout(
            Duration::from_millis(50),
            conn2.read_reply(Duration::from_millis(20), Phase::Auth),
        )
        .await;
        assert!(conn2.into_stream(Phase::TlsHandshake).is_err());
    }
}
