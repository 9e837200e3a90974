//! Implicit FTPS: TLS from the first byte, then the FTP greeting inside TLS.
//!
//! Reading the greeting inside TLS is what tells an implicit FTPS server
//! from any other TLS service that happens to listen on port 990.

use super::connector::HostConnection;
use super::session::{read_greeting, Opener};
use super::tap::Tap;
use super::{check_greeting, read_features, EndpointSession, Failure};
use crate::ftp::FtpError;
use crate::ftp::{parse_reply, ControlConnection, Parsed};
use crate::model::{EndpointReport, Phase, Status};
use crate::tls::session::{EndpointTls, HandshakeError};

/// Bytes kept from the server's first answer to recognise a plain greeting.
const FIRST_BYTES: usize = 4096;

/// The TLS stream of an implicit session, over the tap that kept the
/// server's first bytes.
pub type ImplicitTls = tokio_rustls::client::TlsStream<Tap<HostConnection>>;

/// A handshake that failed, with the first bytes the server sent instead.
pub struct FailedHandshake {
    pub error: HandshakeError,
    pub seen: Vec<u8>,
}

pub async fn run(
    session: &EndpointSession<'_>,
    report: &mut EndpointReport,
) -> Result<(), Failure> {
    let ctx = session.ctx;
    let stream = Opener::new(&ctx.connector, &ctx.config.timeouts)
        .connect(session.addr)
        .await?;
    match handshake(stream, session).await {
        Ok(tls_stream) => run_over_tls(tls_stream, session, report).await,
        Err(failed) => Err(explain_failed_handshake(
            failed.error,
            &failed.seen,
            &session.tls,
            report,
        )),
    }
}

/// TLS from the first byte on `stream`, keeping what the server sent when
/// it was not TLS.
pub async fn handshake(
    stream: HostConnection,
    session: &EndpointSession<'_>,
) -> Result<ImplicitTls, FailedHandshake> {
    let (tapped, first_bytes) = Tap::new(stream, FIRST_BYTES);
    let timeout = session.ctx.config.timeouts.tls;
    session
        .tls
        .handshake(tapped, session.server_name.clone(), timeout)
        .await
        .map_err(|error| FailedHandshake {
            error,
            seen: first_bytes.lock().map(|b| b.clone()).unwrap_or_default(),
        })
}

/// The session once TLS is up: the greeting inside TLS, FEAT, the rest.
pub async fn run_over_tls(
    tls_stream: ImplicitTls,
    session: &EndpointSession<'_>,
    report: &mut EndpointReport,
) -> Result<(), Failure> {
    let (server_name, tls, ctx) = (&session.server_name, &session.tls, session.ctx);
    let timeouts = &ctx.config.timeouts;
    super::record_session(report, &tls_stream, server_name, false, tls);
    let mut control = ControlConnection::new(tls_stream);
    let greeting = match read_greeting(&mut control, timeouts.read).await {
        Ok(g) => g,
        Err(e) => {
            if let Some(failure) = super::client_cert_refusal(&e, Phase::GreetingAfterTls, tls) {
                return Err(failure);
            }
            let message = match &e {
                FtpError::Timeout(d) => format!(
                    "TLS service sent no FTP greeting within {}",
                    crate::ftp::control::humantime(*d)
                ),
                FtpError::ClosedBeforeReply => "TLS service closed without an FTP greeting".into(),
                other => format!("TLS service did not greet like FTP: {other}"),
            };
            return Err(Failure::new(
                Status::NotFtp,
                Phase::GreetingAfterTls,
                message,
            ));
        }
    };
    report.ftp.banner = Some(greeting.clone());
    check_greeting(&greeting, Phase::GreetingAfterTls)?;
    read_features(&mut control, ctx, report).await?;
    super::after_tls(control, session, report).await
}

/// A failed handshake on the implicit port: a plain FTP greeting means the
/// port does FTP without TLS; other non-TLS bytes mean it is not FTPS at all.
pub fn explain_failed_handshake(
    e: HandshakeError,
    seen: &[u8],
    tls: &EndpointTls,
    report: &mut EndpointReport,
) -> Failure {
    if let Ok(Parsed::Complete(reply, _)) = parse_reply(seen, FIRST_BYTES) {
        report.ftp.banner = Some(reply.clone());
        return Failure::new(
            Status::NoTls,
            Phase::TlsHandshake,
            format!("plain FTP without TLS on the implicit port (greeting {reply})"),
        );
    }
    // A greeting longer than what the tap keeps is still a plain FTP
    // greeting: a 2xx reply's start.
    if crate::ftp::reply::starts_like_reply(seen) && seen.first() == Some(&b'2') {
        return Failure::new(
            Status::NoTls,
            Phase::TlsHandshake,
            format!(
                "plain FTP without TLS on the implicit port (a greeting longer than {FIRST_BYTES} bytes: {})",
                crate::ftp::reply::preview(seen)
            ),
        );
    }
    let looks_like_tls = crate::tls::starts_like_tls_record(seen);
    match e {
        HandshakeError::Timeout(_) => {
            Failure::new(Status::Timeout, Phase::TlsHandshake, e.to_string())
        }
        _ if !seen.is_empty() && !looks_like_tls => Failure::new(
            Status::NotFtp,
            Phase::TlsHandshake,
            format!(
                "not a TLS service: it answered {}",
                crate::ftp::reply::preview(seen)
            ),
        ),
        _ => super::handshake_failure(e, tls),
    }
}
