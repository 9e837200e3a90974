//! Servers that do not behave like FTP servers: silent, flooding, dripping,
//! non-FTP TLS services. Each accepts on 127.0.0.1:0 and acts out one
//! script per connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// One step of a raw server's script.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes.
    Send(Vec<u8>),
    /// Write these bytes one at a time with a pause between them.
    Drip(Vec<u8>, Duration),
    /// Write the same chunk over and over, up to this many bytes in all.
    Flood(Vec<u8>, usize),
    /// Read until a line ending (a command) and discard it.
    ReadLine,
    /// Read whatever arrives next (a ClientHello) and discard it.
    ReadAny,
    /// Do nothing for a while (connection stays open).
    Sleep(Duration),
    /// Switch to TLS as a server with this configuration.
    StartTls(Arc<rustls::ServerConfig>),
    /// Close with a TCP reset instead of a clean close.
    Reset,
}

/// A running raw server; stops when dropped.
pub struct RawServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RawServer {
    pub async fn start(script: Vec<Step>) -> std::io::Result<Self> {
        Self::start_on(script, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(script: Vec<Step>, bind: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(bind).await?;
        let addr = listener.local_addr()?;
        let script = Arc::new(script);
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let script = script.clone();
                sessions.spawn(async move {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(120), act(stream, &script)).await;
                });
                while sessions.try_join_next().is_some() {}
            }
        });
        Ok(Self { addr, task })
    }
}

/// A free port on 127.0.0.1 with nothing listening (bound, then released).
pub async fn closed_port() -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    listener.local_addr()
}

async fn act(stream: TcpStream, script: &[Step]) -> std::io::Result<()> {
    let mut plain = Some(stream);
    let mut tls: Option<tokio_rustls::server::TlsStream<TcpStream>> = None;
    for step in script {
        match step {
            Step::StartTls(config) => {
                if let Some(s) = plain.take() {
                    tls = Some(TlsAcceptor::from(config.clone()).accept(s).await?);
                }
            }
            Step::Reset => {
                if let Some(s) = plain.take() {
                    // SO_LINGER 0 makes close send RST. The socket is closed
                    // right here, so the deprecation's blocking caveat (a
                    // lingering close) does not apply.
                    #[allow(deprecated)]
                    s.set_linger(Some(Duration::ZERO))?;
                    drop(s);
                }
                return Ok(());
            }
            Step::ReadLine => {
                if let Some(s) = plain.as_mut() {
                    read_line(s).await?;
                } else if let Some(s) = tls.as_mut() {
                    read_line(s).await?;
                }
            }
            Step::ReadAny => {
                let mut buf = [0u8; 16 * 1024];
                if let Some(s) = plain.as_mut() {
                    let _ = s.read(&mut buf).await?;
                } else if let Some(s) = tls.as_mut() {
                    let _ = s.read(&mut buf).await?;
                }
            }
            other => {
                if let Some(s) = plain.as_mut() {
                    write_step(s, other).await?;
                } else if let Some(s) = tls.as_mut() {
                    write_step(s, other).await?;
                }
            }
        }
    }
    // Hold the connection until the client goes away.
    let mut sink = [0u8; 1024];
    if let Some(s) = plain.as_mut() {
        while s.read(&mut sink).await? > 0 {}
    } else if let Some(s) = tls.as_mut() {
        while s.read(&mut sink).await? > 0 {}
    }
    Ok(())
}

async fn read_line<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> std::io::Result<()> {
    let mut byte = [0u8; 1];
    let mut seen = 0usize;
    while s.read(&mut byte).await? == 1 {
        seen += 1;
        if byte[0] == b'\n' || seen > 8192 {
            break;
        }
    }
    Ok(())
}

async fn write_step<S: AsyncWrite + Unpin>(s: &mut S, step: &Step) -> std::io::Result<()> {
    match step {
        Step::Send(bytes) => {
            s.write_all(bytes).await?;
            s.flush().await
        }
        Step::Drip(bytes, pause) => {
            for b in bytes {
                s.write_all(&[*b]).await?;
                s.flush().await?;
                tokio::time::sleep(*pause).await;
            }
            Ok(())
        }
        Step::Flood(chunk, total) => {
            let mut sent = 0;
            while sent < *total && !chunk.is_empty() {
                s.write_all(chunk).await?;
                sent += chunk.len();
            }
            s.flush().await
        }
        Step::Sleep(d) => {
            tokio::time::sleep(*d).await;
            Ok(())
        }
        Step::StartTls(_) | Step::Reset | Step::ReadLine | Step::ReadAny => Ok(()),
    }
}
