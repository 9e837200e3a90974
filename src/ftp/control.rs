//! A buffered FTP control connection over any byte stream (plain TCP or TLS).
//!
//! Every read has a deadline that covers the whole reply, not each read: a
//! server that drips one byte a second still costs at most the timeout. Of
//! every reply the first 64 KiB are kept and the rest is read to the reply's
//! end and discarded (the reply is marked truncated), up to an absolute
//! 4 MiB per reply. Errors say what went wrong on the wire (a timeout, a
//! close, a reply too long or malformed); which step of a scan it was is
//! the caller's to say, so this layer knows nothing of report phases.

use super::reply::{preview, Parsed, Reply, ReplyAssembler, ReplyError};
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Default cap on the bytes kept of one reply. Real greetings and FEAT lists
/// are a few KiB at most; 64 KiB leaves room for verbose servers. A longer
/// reply is read to its end and returned truncated to this.
pub const DEFAULT_MAX_REPLY: usize = 64 * 1024;

/// Most bytes consumed for one reply, kept or not: past this the reply is an
/// error ("reply longer than 4 MiB"), whatever the deadline says.
pub const ABSOLUTE_MAX_REPLY: usize = 4 * 1024 * 1024;

/// Bytes asked of the stream per read.
const READ_CHUNK: usize = 8 * 1024;

/// What went wrong on the control channel. Not which step of the scan it
/// was: the probe layer attaches its report phase when it turns this into
/// a report error, so the connection serves any caller.
#[derive(Debug, thiserror::Error)]
pub enum FtpError {
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
        matches!(self, FtpError::Timeout(_))
    }

    pub fn is_malformed(&self) -> bool {
        matches!(self, FtpError::Reply(ReplyError::Malformed(_)))
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

/// The control connection: a stream, the reply being parsed, and the bytes
/// read after the last reply but not yet parsed.
pub struct ControlConnection<S> {
    stream: S,
    /// Bytes that came after the last complete reply (the next reply, or
    /// bytes a server should not have sent before TLS).
    buf: Vec<u8>,
    /// The reply in progress; a read that timed out resumes it.
    reply: ReplyAssembler,
    /// The read buffer, allocated at the first read and reused for every
    /// reply of the connection (one zeroed 8 KiB buffer per reply showed
    /// up in the fleet profile).
    chunk: Vec<u8>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ControlConnection<S> {
    pub fn new(stream: S) -> Self {
        Self::with_limits(stream, DEFAULT_MAX_REPLY, ABSOLUTE_MAX_REPLY)
    }

    /// Keeps `max_reply` bytes of each reply, consumes at most 4 MiB.
    pub fn with_max_reply(stream: S, max_reply: usize) -> Self {
        Self::with_limits(stream, max_reply, ABSOLUTE_MAX_REPLY)
    }

    /// Keeps `keep` bytes of each reply; a reply without an end within
    /// `limit` bytes is an error.
    pub fn with_limits(stream: S, keep: usize, limit: usize) -> Self {
        Self {
            stream,
            buf: Vec::new(),
            reply: ReplyAssembler::new(keep, limit),
            chunk: Vec::new(),
        }
    }

    /// Reads one complete reply within `timeout`. A reply longer than the
    /// kept part is read to its end and returned with `truncated` set.
    pub async fn read_reply(&mut self, timeout: Duration) -> Result<Reply, FtpError> {
        let deadline = Instant::now() + timeout;
        if !self.buf.is_empty() {
            let mut pending = std::mem::take(&mut self.buf);
            match self.reply.feed(&pending) {
                Ok(Parsed::Complete(reply, used)) => {
                    // The rest stays in the same buffer (a pipeline's next
                    // replies), without a new allocation.
                    pending.drain(..used.min(pending.len()));
                    self.buf = pending;
                    return Ok(reply);
                }
                Ok(Parsed::NeedMore) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if self.chunk.len() < READ_CHUNK {
            self.chunk.resize(READ_CHUNK, 0);
        }
        let chunk = &mut self.chunk;
        loop {
            let read = tokio::time::timeout_at(deadline, self.stream.read(chunk)).await;
            let n = match read {
                Err(_) => return Err(FtpError::Timeout(timeout)),
                Ok(Err(e)) => return Err(e.into()),
                Ok(Ok(0)) if self.reply.consumed() == 0 => return Err(FtpError::ClosedBeforeReply),
                Ok(Ok(0)) => return Err(FtpError::ClosedMidReply(self.reply.consumed())),
                Ok(Ok(n)) => n,
            };
            let got = chunk.get(..n).unwrap_or_default();
            match self.reply.feed(got) {
                Ok(Parsed::Complete(reply, used)) => {
                    self.buf
                        .extend_from_slice(got.get(used..).unwrap_or_default());
                    return Ok(reply);
                }
                Ok(Parsed::NeedMore) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Sends one command line (CR LF added) within `timeout`.
    pub async fn send(&mut self, command: &str, timeout: Duration) -> Result<(), FtpError> {
        self.send_lines(&[command], timeout).await
    }

    /// Sends command lines (CR LF added to each) in one write within
    /// `timeout`: a pipeline whose replies the caller then reads in order.
    /// One write is one TLS record and one segment, where a write per
    /// command would cost a round trip each.
    pub async fn send_lines(
        &mut self,
        commands: &[&str],
        timeout: Duration,
    ) -> Result<(), FtpError> {
        // Nothing the user gave may smuggle a second command onto the wire.
        if commands.iter().any(|c| c.contains(['\r', '\n'])) {
            return Err(FtpError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "refusing to send a command containing CR or LF",
            )));
        }
        let mut lines = String::with_capacity(commands.iter().map(|c| c.len() + 2).sum());
        for command in commands {
            lines.push_str(command);
            lines.push_str("\r\n");
        }
        let write = async {
            self.stream.write_all(lines.as_bytes()).await?;
            self.stream.flush().await
        };
        match tokio::time::timeout(timeout, write).await {
            Err(_) => Err(FtpError::Timeout(timeout)),
            Ok(r) => r.map_err(FtpError::from),
        }
    }

    /// Sends a command and reads its reply, both within `timeout` each.
    pub async fn command(&mut self, command: &str, timeout: Duration) -> Result<Reply, FtpError> {
        self.send(command, timeout).await?;
        self.read_reply(timeout).await
    }

    /// Whether no byte has come from the server yet (a silent server; an
    /// implicit FTPS one waits for the ClientHello).
    pub fn received_nothing(&self) -> bool {
        self.reply.consumed() == 0 && self.buf.is_empty()
    }

    /// Gives the stream back for a TLS upgrade. Fails if the server sent
    /// bytes after its reply that we have not consumed: they would be lost,
    /// and a server that talks before our ClientHello is misbehaving.
    pub fn into_stream(self) -> Result<S, FtpError> {
        let unexpected = if self.reply.consumed() > 0 {
            self.reply.start()
        } else {
            &self.buf
        };
        if unexpected.is_empty() {
            Ok(self.stream)
        } else {
            Err(FtpError::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "server sent unexpected bytes before the TLS handshake: {}",
                    preview(unexpected)
                ),
            )))
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
        let reply = conn.read_reply(Duration::from_secs(5)).await.unwrap();
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
        let err = conn.read_reply(Duration::from_secs(5)).await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        assert_eq!(err.to_string(), "no complete reply within 5s");
    }

    /// A stream that keeps each write apart and replies with fixed bytes.
    struct Recorder {
        writes: Vec<Vec<u8>>,
        replies: std::io::Cursor<Vec<u8>>,
    }

    impl AsyncRead for Recorder {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::pin::Pin::new(&mut self.replies).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Recorder {
        fn poll_write(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            self.writes.push(buf.to_vec());
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_pipeline_is_one_write_and_its_replies_are_read_in_order() {
        let recorder = Recorder {
            writes: Vec::new(),
            replies: std::io::Cursor::new(
                b"200 PBSZ=0\r\n200 Protection set to Private\r\n".to_vec(),
            ),
        };
        let mut conn = ControlConnection::new(recorder);
        let t = Duration::from_secs(5);
        conn.send_lines(&["PBSZ 0", "PROT P"], t).await.unwrap();
        assert_eq!(
            conn.get_mut().writes,
            vec![b"PBSZ 0\r\nPROT P\r\n".to_vec()]
        );
        // Both replies arrive in one read; the second is kept for the next.
        assert_eq!(conn.read_reply(t).await.unwrap().lines, vec!["PBSZ=0"]);
        let second = conn.read_reply(t).await.unwrap();
        assert_eq!(second.lines, vec!["Protection set to Private"]);
    }

    #[tokio::test]
    async fn a_line_break_anywhere_in_a_pipeline_sends_nothing() {
        let recorder = Recorder {
            writes: Vec::new(),
            replies: std::io::Cursor::new(Vec::new()),
        };
        let mut conn = ControlConnection::new(recorder);
        let t = Duration::from_secs(5);
        for bad in ["PROT P\r\nDELE x", "PORT 1\n"] {
            let err = conn.send_lines(&["PBSZ 0", bad], t).await.unwrap_err();
            assert!(err.to_string().contains("CR or LF"), "{err}");
        }
        assert!(conn.get_mut().writes.is_empty());
    }

    #[tokio::test]
    async fn eof_mid_reply_is_reported_as_such() {
        let (client, mut server) = duplex(64);
        let mut conn = ControlConnection::new(client);
        server.write_all(b"220-partial\r\n").await.unwrap();
        drop(server);
        let err = conn.read_reply(Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(err, FtpError::ClosedMidReply(13)), "{err:?}");
    }

    #[tokio::test]
    async fn eof_before_reply() {
        let (client, server) = duplex(64);
        drop(server);
        let mut conn = ControlConnection::new(client);
        let err = conn.read_reply(Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(err, FtpError::ClosedBeforeReply));
    }

    #[tokio::test]
    async fn flood_is_capped() {
        let (client, mut server) = duplex(1 << 16);
        let mut conn = ControlConnection::with_limits(client, 100, 1000);
        tokio::spawn(async move {
            let junk = vec![b'2'; 100];
            let _ = server.write_all(b"220-").await;
            loop {
                if server.write_all(&junk).await.is_err() {
                    break;
                }
            }
        });
        let err = conn.read_reply(Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(
            err,
            FtpError::Reply(ReplyError::TooLong { limit: 1000 })
        ));
    }

    #[tokio::test]
    async fn leftover_bytes_block_the_tls_upgrade() {
        let (client, mut server) = duplex(64);
        server.write_all(b"234 go\r\nEXTRA").await.unwrap();
        let mut conn = ControlConnection::new(client);
        let reply = conn.read_reply(Duration::from_secs(5)).await.unwrap();
        assert_eq!(reply.code, 234);
        // Give the extra bytes a chance to be buffered by a later read.
        let mut conn2 = conn;
        let _ = tokio::time::timeout(
            Duration::from_millis(50),
            conn2.read_reply(Duration::from_millis(20)),
        )
        .await;
        assert!(conn2.into_stream().is_err());
    }

    /// Writes `bytes` in 1000-byte writes (a small pipe: the reader must
    /// keep up), then `after`, then keeps the stream open.
    fn serve(mut server: tokio::io::DuplexStream, bytes: Vec<u8>, after: &'static [u8]) {
        tokio::spawn(async move {
            for piece in bytes.chunks(1000) {
                server.write_all(piece).await.unwrap();
            }
            server.write_all(after).await.unwrap();
            let mut sink = [0u8; 64];
            while server.read(&mut sink).await.is_ok_and(|n| n > 0) {}
        });
    }

    #[tokio::test]
    async fn a_128_kib_greeting_is_kept_in_part_and_the_session_goes_on() {
        let (client, server) = duplex(4096);
        let mut greeting = b"220 ".to_vec();
        greeting.extend(vec![b'g'; 128 * 1024]);
        greeting.extend(b"\r\n");
        serve(server, greeting, b"502 AUTH TLS not available\r\n");
        let mut conn = ControlConnection::new(client);
        let reply = conn.read_reply(Duration::from_secs(30)).await.unwrap();
        assert_eq!(reply.code, 220);
        assert!(reply.truncated);
        assert_eq!(reply.lines[0].len(), DEFAULT_MAX_REPLY - 4);
        let next = conn.read_reply(Duration::from_secs(30)).await.unwrap();
        assert_eq!(next.to_string(), "502 AUTH TLS not available");
        assert!(!next.truncated);
    }

    #[tokio::test]
    async fn a_feat_of_100000_lines_is_read_to_its_end() {
        let (client, server) = duplex(4096);
        let mut feat = b"211-Features:\r\n".to_vec();
        for i in 0..100_000 {
            feat.extend(format!(" X-FEATURE-{i}\r\n").as_bytes());
        }
        feat.extend(b" AUTH TLS\r\n211 End\r\n");
        serve(server, feat, b"234 go\r\n");
        let mut conn = ControlConnection::new(client);
        let reply = conn.read_reply(Duration::from_secs(30)).await.unwrap();
        assert_eq!(reply.code, 211);
        assert!(reply.truncated);
        assert_eq!(reply.lines[0], "Features:");
        assert_eq!(reply.lines[1], " X-FEATURE-0");
        assert_eq!(reply.lines.last().map(String::as_str), Some("End"));
        assert!(reply.lines.len() < 10_000, "{}", reply.lines.len());
        let next = conn.read_reply(Duration::from_secs(30)).await.unwrap();
        assert_eq!(next.code, 234);
        assert!(conn.into_stream().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn an_oversized_reply_still_ends_at_its_deadline() {
        let (client, mut server) = duplex(1 << 16);
        let mut conn = ControlConnection::new(client);
        tokio::spawn(async move {
            let _ = server.write_all(b"220-").await;
            let _ = server.write_all(&vec![b'x'; 200 * 1024]).await;
            loop {
                if server.write_all(b"220-more\r\n").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let err = conn.read_reply(Duration::from_secs(5)).await.unwrap_err();
        assert!(err.is_timeout(), "{err}");
        // The bytes of the unfinished reply block a TLS upgrade.
        let err = conn.into_stream().unwrap_err();
        assert!(err.to_string().contains("220-xxx"), "{err}");
    }

    #[tokio::test]
    async fn the_absolute_limit_is_named_in_the_error() {
        let (client, mut server) = duplex(1 << 16);
        let mut conn = ControlConnection::new(client);
        tokio::spawn(async move {
            let _ = server.write_all(b"220 ").await;
            let junk = vec![b'y'; 64 * 1024];
            while server.write_all(&junk).await.is_ok() {}
        });
        let err = conn.read_reply(Duration::from_secs(30)).await.unwrap_err();
        assert_eq!(err.to_string(), "reply longer than 4 MiB (read no further)");
    }
}
