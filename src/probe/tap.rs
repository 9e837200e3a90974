//! A stream wrapper that keeps a copy of the first bytes read through it.
//!
//! On the implicit port the TLS library consumes the server's first bytes;
//! when the handshake fails, those bytes tell whether a plain FTP server
//! (a `220` greeting) or something else answered.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct Tap<S> {
    inner: S,
    captured: Arc<Mutex<Vec<u8>>>,
    cap: usize,
}

impl<S> Tap<S> {
    pub fn new(inner: S, cap: usize) -> (Self, Arc<Mutex<Vec<u8>>>) {
        let captured = Arc::new(Mutex::new(Vec::new()));
        (
            Self {
                inner,
                captured: captured.clone(),
                cap,
            },
            captured,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            let fresh = buf.filled().get(before..).unwrap_or_default();
            if let Ok(mut captured) = self.captured.lock() {
                let room = self.cap.saturating_sub(captured.len());
                captured.extend_from_slice(fresh.get(..fresh.len().min(room)).unwrap_or_default());
            }
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
