//! Explicit FTPS: a plain control channel, `AUTH TLS` (or the legacy
//! `AUTH SSL`), then TLS on the same TCP stream.
//!
//! Some servers (Node's ftp-srv, more rarely unftp) switch their socket to
//! TLS a moment after sending `234`, and read a ClientHello that arrives
//! before then as an FTP command (`502 Command not allowed: \x16\x03...`,
//! in clear). When FTP text comes back to the hello, the session is opened
//! again with a pause after the `234`, and the race is recorded.

use super::session::{ftp_text_instead_of_tls, AuthReplies, Opener, PlainControl, AUTH_RACE_PAUSE};
use super::tap::Tap;
use super::{check_greeting, read_features, EndpointSession, Failure};
use crate::ftp::{ControlConnection, Reply};
use crate::model::{EndpointReport, Phase, Status};

/// Bytes kept from the server's answer to the ClientHello, to recognise FTP
/// text in place of TLS.
const FIRST_BYTES: usize = 512;

/// The explicit session. `greeted` is a connection whose greeting has
/// already been read (by mode detection), used for the first attempt.
pub async fn run(
    session: &EndpointSession<'_>,
    report: &mut EndpointReport,
    mut greeted: Option<(PlainControl, Reply)>,
) -> Result<(), Failure> {
    let (addr, server_name, tls, ctx) = (
        session.addr,
        &session.server_name,
        &session.tls,
        session.ctx,
    );
    let opener = Opener::new(&ctx.connector, &ctx.config.timeouts);
    let mut pause = None;
    loop {
        let (mut control, greeting) = match greeted.take() {
            Some(open) => open,
            None => opener.connect_and_greet(addr, Phase::Greeting).await?,
        };
        report.ftp.banner = Some(greeting.clone());
        check_greeting(&greeting, Phase::Greeting)?;
        read_features(&mut control, ctx, report).await?;
        report.ftp.auth_tls_in_feat = report
            .ftp
            .feat_reply
            .as_ref()
            .map(|_| advertises_auth_tls(report.ftp.feat.as_deref().unwrap_or_default()));

        let mut replies = AuthReplies::default();
        let agreed = opener.negotiate_auth(&mut control, &mut replies).await;
        report.ftp.auth_tls_reply = replies.auth_tls.clone();
        report.ftp.auth_ssl_reply = replies.auth_ssl.clone();
        agreed?;

        let stream = control
            .into_stream()
            .map_err(|e| Failure::new(Status::TlsFailed, Phase::TlsHandshake, e.to_string()))?;
        if let Some(pause) = pause {
            tokio::time::sleep(pause).await;
        }
        let (tapped, first_bytes) = Tap::new(stream, FIRST_BYTES);
        match tls
            .handshake(tapped, server_name.clone(), ctx.config.timeouts.tls)
            .await
        {
            Ok(tls_stream) => {
                super::record_session(
                    report,
                    &tls_stream,
                    server_name,
                    replies.via_auth_ssl(),
                    tls,
                );
                let control = ControlConnection::new(tls_stream);
                return super::after_tls(control, session, report).await;
            }
            Err(e) => {
                let seen = first_bytes.lock().map(|b| b.clone()).unwrap_or_default();
                match ftp_text_instead_of_tls(&seen) {
                    Some(reply) if pause.is_none() => {
                        report.ftp.auth_tls_race = Some(reply);
                        pause = Some(AUTH_RACE_PAUSE);
                    }
                    Some(reply) => {
                        return Err(Failure::new(
                            Status::TlsFailed,
                            Phase::TlsHandshake,
                            format!(
                                "server answered the ClientHello with FTP text, even after a pause after the 234: {reply}"
                            ),
                        ))
                    }
                    None => return Err(super::handshake_failure(e, tls)),
                }
            }
        }
    }
}

/// Whether FEAT lines advertise `AUTH TLS`: a line `AUTH <mechanisms>`
/// (RFC 4217 section 4: `AUTH TLS`, also `AUTH TLS;TLS-C;SSL` or with
/// spaces or commas) naming `TLS` or `TLS-C`.
pub fn advertises_auth_tls(features: &[String]) -> bool {
    features.iter().any(|line| {
        let mut words = line.trim().splitn(2, [' ', '\t']);
        let verb = words.next().unwrap_or_default();
        let mechanisms = words.next().unwrap_or_default();
        verb.eq_ignore_ascii_case("AUTH")
            && mechanisms
                .split([';', ',', ' '])
                .any(|m| m.eq_ignore_ascii_case("TLS") || m.eq_ignore_ascii_case("TLS-C"))
    })
}

#[cfg(test)]
mod tests {
    use super::advertises_auth_tls;

    fn lines(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn auth_tls_is_found_in_the_feature_spellings_servers_use() {
        assert!(advertises_auth_tls(&lines(&["PBSZ", "AUTH TLS", "PROT"])));
        assert!(advertises_auth_tls(&lines(&["AUTH TLS;TLS-C;SSL;TLS-P"])));
        assert!(advertises_auth_tls(&lines(&["auth ssl tls"])));
        assert!(advertises_auth_tls(&lines(&["AUTH TLS-C"])));
        // vsftpd with ssl_tlsv1=NO lists AUTH SSL only (with SSLv3 on) or nothing.
        assert!(!advertises_auth_tls(&lines(&["AUTH SSL", "PBSZ", "PROT"])));
        assert!(!advertises_auth_tls(&lines(&["PBSZ", "PROT", "EPSV"])));
        assert!(!advertises_auth_tls(&lines(&["AUTHTLS", "XAUTH TLS"])));
        assert!(!advertises_auth_tls(&[]));
    }
}
