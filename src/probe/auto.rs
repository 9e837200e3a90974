//! Mode detection on a port that implies no mode (any port but 21 and 990,
//! or every port with `--mode auto`).
//!
//! An explicit FTPS server greets in clear as soon as it accepts; an
//! implicit one says nothing until it gets a ClientHello. So: connect, wait
//! a short while for a greeting, and if none comes, start a TLS handshake on
//! the same connection. Both outcomes keep the connection, so detection
//! costs no extra connection in the usual cases:
//!
//! - a greeting in clear: explicit, and the session goes on from it;
//! - silence, then a TLS answer to the ClientHello: implicit, and the
//!   session goes on inside that TLS;
//! - silence, then an FTP greeting in answer to the ClientHello: a slow
//!   explicit greeter (reverse DNS, ident lookups); our hello reached it
//!   as a bogus command line, so the explicit session starts afresh;
//! - silence to both, a close, or bytes that are neither: the endpoint's
//!   failure, with the mode left undetermined.

use super::connector::HostConnection;
use super::session::{Opener, PlainControl};
use super::{explicit, implicit, EndpointSession, Failure};
use crate::ftp::control::humantime;
use crate::ftp::reply::starts_like_reply;
use crate::ftp::FtpError;
use crate::ftp::{ControlConnection, Reply};
use crate::model::{EndpointReport, Mode, ModeDetection, Phase, Status};
use crate::tls::session::HandshakeError;
use crate::tls::starts_like_tls_record as starts_like_tls;
use std::net::SocketAddr;
use std::time::Duration;

/// The longest wait for a greeting before a ClientHello is tried: servers
/// greet within a round trip of accepting, and a slow greeter still
/// answers the hello in clear (which is then read as its greeting).
pub const GREETING_WAIT: Duration = Duration::from_secs(3);

/// The wait for a greeting before trying TLS: [`GREETING_WAIT`], or half
/// the read timeout when that is shorter (so a slow greeter still has time
/// to greet a second connection within the read timeout).
pub fn greeting_wait(read_timeout: Duration) -> Duration {
    GREETING_WAIT.min(read_timeout / 2)
}

/// What the first connection showed.
enum FirstContact {
    /// A greeting in clear, on its connection (boxed: the connection's
    /// buffers are large beside a bare stream).
    Greeted(Box<(PlainControl, Reply)>),
    /// Nothing within the greeting wait: the connection, to try TLS on.
    Silent(HostConnection),
}

/// Detects the mode, records it in `report` (and in the session's `mode`,
/// for the version probes that start once the session is established),
/// then runs the session in that mode.
pub async fn run(
    session: &EndpointSession<'_>,
    report: &mut EndpointReport,
) -> Result<(), Failure> {
    let (addr, ctx) = (session.addr, session.ctx);
    let timeouts = &ctx.config.timeouts;
    let wait = greeting_wait(timeouts.read);
    let decide = |report: &mut EndpointReport, found: Mode, how: ModeDetection| {
        report.mode = found;
        report.mode_detection = Some(how);
        let _ = session.mode.set(found);
    };
    report.mode_detection = Some(ModeDetection::Undetermined);
    let opener = Opener::new(&ctx.connector, timeouts);
    match first_contact(&opener, addr, wait, timeouts.read).await? {
        FirstContact::Greeted(greeted) => {
            let (control, greeting) = *greeted;
            decide(report, Mode::Explicit, ModeDetection::Greeting);
            // A busy server's `421` is retried by the explicit session.
            let greeted = (greeting.code != 421).then_some((control, greeting));
            explicit::run(session, report, greeted).await
        }
        FirstContact::Silent(stream) => match implicit::handshake(stream, session).await {
            Ok(tls_stream) => {
                decide(report, Mode::Implicit, ModeDetection::Tls);
                implicit::run_over_tls(tls_stream, session, report).await
            }
            Err(failed) if starts_like_reply(&failed.seen) => {
                decide(report, Mode::Explicit, ModeDetection::LateGreeting);
                explicit::run(session, report, None).await
            }
            Err(failed) if starts_like_tls(&failed.seen) => {
                decide(report, Mode::Implicit, ModeDetection::Tls);
                Err(implicit::explain_failed_handshake(
                    failed.error,
                    &failed.seen,
                    &session.tls,
                    report,
                ))
            }
            Err(failed) => Err(undetermined(failed.error, &failed.seen, wait)),
        },
    }
}

/// Connects and waits up to `wait` for the first byte of a greeting; a
/// greeting that has started is read to its end within `read` in all (a
/// `120` "ready in n minutes" is followed, within `read`, to the real one).
async fn first_contact(
    opener: &Opener<'_>,
    addr: SocketAddr,
    wait: Duration,
    read: Duration,
) -> Result<FirstContact, Failure> {
    let greeting_failed = |e| Failure::from_ftp(e, Phase::Greeting, "FTP greeting");
    let mut control = ControlConnection::new(opener.connect(addr).await?);
    let first = match control.read_reply(wait).await {
        Ok(reply) => reply,
        Err(FtpError::Timeout(_)) => {
            if control.received_nothing() {
                let stream = control
                    .into_stream()
                    .map_err(|e| Failure::from_ftp(e, Phase::ModeDetection, "FTP greeting"))?;
                return Ok(FirstContact::Silent(stream));
            }
            // A greeting under way (dripped): the rest of the read
            // timeout for it, which a timeout then names in full.
            control
                .read_reply(read.saturating_sub(wait))
                .await
                .map_err(|mut e| {
                    if let FtpError::Timeout(d) = &mut e {
                        *d = read;
                    }
                    greeting_failed(e)
                })?
        }
        Err(e) => return Err(greeting_failed(e)),
    };
    let greeting = super::session::follow_120(&mut control, first, read)
        .await
        .map_err(greeting_failed)?;
    Ok(FirstContact::Greeted(Box::new((control, greeting))))
}

/// Neither a greeting nor TLS: silence to both, a close, or other bytes.
fn undetermined(error: HandshakeError, seen: &[u8], wait: Duration) -> Failure {
    let silent = format!("no FTP greeting within {}", humantime(wait));
    if !seen.is_empty() {
        return Failure::new(
            Status::NotFtp,
            Phase::ModeDetection,
            format!(
                "{silent}, and neither FTP nor TLS in answer to a ClientHello: {}",
                crate::ftp::reply::preview(seen)
            ),
        );
    }
    match error {
        HandshakeError::Timeout(d) => Failure::new(
            Status::Timeout,
            Phase::ModeDetection,
            format!(
                "{silent}, and no TLS answer to a ClientHello within {}",
                humantime(d)
            ),
        ),
        other => Failure::new(
            Status::Error,
            Phase::ModeDetection,
            format!("{silent}, and the ClientHello got no TLS answer: {other}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_tell_ftp_from_tls() {
        assert!(starts_like_reply(b"220 ready\r\n"));
        assert!(starts_like_reply(b"220-welcome\r\n"));
        assert!(starts_like_reply(b"500 "));
        assert!(!starts_like_reply(b"22"));
        // The codes the reply parser refuses (first digit 1 to 5 only).
        assert!(!starts_like_reply(b"600 protected\r\n"));
        assert!(!starts_like_reply(b"022 x\r\n"));
        assert!(starts_like_reply(b"120 soon\r\n"));
        assert!(!starts_like_reply(b"HTTP/1.1 400 Bad Request\r\n"));
        assert!(!starts_like_reply(&[0x16, 0x03, 0x03, 0x00, 0x2a]));
        assert!(starts_like_tls(&[0x16, 0x03, 0x03, 0x00, 0x2a]));
        assert!(!starts_like_tls(b"220 ready"));
    }

    #[test]
    fn the_greeting_wait_leaves_time_for_a_second_connection() {
        assert_eq!(greeting_wait(Duration::from_secs(10)), GREETING_WAIT);
        assert_eq!(
            greeting_wait(Duration::from_secs(2)),
            Duration::from_secs(1)
        );
    }
}
