//! FTP-level posture: what no TLS scanner reports.

use crate::ftp::Reply;
use serde::{Deserialize, Serialize};

/// Posture facts of one endpoint; `None` where not established.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Posture {
    /// `allowed`, `refused`, `unknown` (explicit endpoints only).
    pub cleartext_login: Option<String>,
    pub cleartext_login_reply: Option<Reply>,
    /// `ok`, `refused`, `skipped`.
    pub login: Option<String>,
    pub login_user: Option<String>,
    pub login_reply: Option<Reply>,
    pub pbsz_reply: Option<Reply>,
    /// `ok`, `refused`.
    pub prot_p: Option<String>,
    pub prot_p_reply: Option<Reply>,
    /// `accepted`, `refused`.
    pub prot_c: Option<String>,
    pub prot_c_reply: Option<Reply>,
    pub pasv_reply: Option<Reply>,
    pub pasv_address: Option<String>,
    pub pasv_port: Option<u16>,
    pub pasv_address_mismatch: Option<bool>,
    pub pasv_private_address: Option<bool>,
    pub pasv_unspecified_address: Option<bool>,
    /// `reachable`, `refused`, `timeout`.
    pub passive_port: Option<String>,
    pub passive_port_error: Option<String>,
    pub epsv_reply: Option<Reply>,
    pub epsv_port: Option<u16>,
    /// `ok`, `failed`.
    pub data_tls: Option<String>,
    pub data_tls_reply: Option<String>,
    pub data_tls_resumed: Option<bool>,
    pub list_entries: Option<u64>,
    /// Why the posture checks stopped early (`passive: no reply ...`).
    #[serde(default)]
    pub error: Option<String>,
}

use super::connector::HostConnection;
use super::{Failure, ProbeContext};
use crate::ftp::passive::{parse_epsv, parse_pasv};
use crate::ftp::ControlConnection;
use crate::report::Phase;
use crate::tls::session::EndpointTls;
use rustls_pki_types::ServerName;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// A password that never shows itself: `Debug` and `Display` print `***`,
/// so it cannot leak through a log line, an error or a panic message.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it (PASS, under TLS).
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How the posture step logs in (over TLS only).
#[derive(Debug, Clone)]
pub struct LoginConfig {
    pub user: String,
    pub password: Secret,
}

impl Default for LoginConfig {
    /// Anonymous, with the customary e-mail-like anonymous password.
    fn default() -> Self {
        Self {
            user: "anonymous".into(),
            password: Secret::new("ftps-scan@"),
        }
    }
}

/// What the posture step does; part of the run's config.
#[derive(Debug, Clone)]
pub struct PostureConfig {
    pub enabled: bool,
    pub login: LoginConfig,
    /// Connect to the address the PASV reply names (opt-in: a hostile
    /// server must not be able to point the scanner at a third party).
    pub follow_pasv_address: bool,
    /// LIST the login directory over the protected data channel, which is
    /// what makes the server start data-channel TLS (read-only; only the
    /// entry count is kept).
    pub list: bool,
}

impl Default for PostureConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            login: LoginConfig::default(),
            follow_pasv_address: false,
            list: false,
        }
    }
}

/// Largest directory listing read over the data channel.
const MAX_LISTING: usize = 1 << 20;

/// The cleartext-login check, on its own plain connection: greeting, then
/// `USER <name>` only, never PASS, then QUIT. 331 or 230 mean the server
/// would take credentials in clear.
pub async fn check_cleartext_login(addr: SocketAddr, ctx: &ProbeContext, posture: &mut Posture) {
    let timeouts = &ctx.config.timeouts;
    let Ok(HostConnection {
        stream,
        permit: _slot,
    }) = ctx.connector.connect(addr, timeouts.connect).await
    else {
        posture.cleartext_login = Some("unknown".into());
        return;
    };
    let mut control = ControlConnection::new(stream);
    let greeting = super::read_greeting(&mut control, ctx, Phase::CleartextLogin).await;
    if !matches!(&greeting, Ok(g) if g.code == 220) {
        posture.cleartext_login = Some("unknown".into());
        return;
    }
    let user = format!("USER {}", ctx.config.posture.login.user);
    match control
        .command(&user, timeouts.read, Phase::CleartextLogin)
        .await
    {
        Ok(reply) => {
            posture.cleartext_login = Some(
                match reply.code {
                    331 | 332 | 230 => "allowed",
                    _ if reply.class() == 4 || reply.class() == 5 => "refused",
                    _ => "unknown",
                }
                .into(),
            );
            posture.cleartext_login_reply = Some(reply);
        }
        Err(_) => posture.cleartext_login = Some("unknown".into()),
    }
    let _ = control
        .command(
            "QUIT",
            timeouts.read.min(Duration::from_secs(2)),
            Phase::Quit,
        )
        .await;
}

/// Sends one command of the posture checks and reads its reply; a failure
/// names the command (`no reply to PASV within 10s`), except PASS, whose
/// argument is a secret.
async fn ask<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    command: &str,
    phase: Phase,
    ctx: &ProbeContext,
) -> Result<crate::ftp::Reply, Failure> {
    let shown = if command.starts_with("PASS ") {
        "PASS"
    } else {
        command
    };
    control
        .command(command, ctx.config.timeouts.read, phase)
        .await
        .map_err(|e| Failure::from_ftp(e, &format!("reply to {shown}")))
}

/// The checks on an established TLS control channel: login, protection
/// levels, PASV/EPSV, passive-port reachability and data-channel TLS.
/// Read-only throughout.
pub async fn check_over_tls<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<tokio_rustls::client::TlsStream<S>>,
    addr: SocketAddr,
    tls: &EndpointTls,
    server_name: &ServerName<'static>,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<(), Failure> {
    let login = &ctx.config.posture.login;
    posture.login_user = Some(login.user.clone());
    let user = ask(control, &format!("USER {}", login.user), Phase::Login, ctx).await?;
    let (login_reply, logged_in) = match user.code {
        230 => (user, true),
        331 | 332 => {
            // The channel is TLS by construction: this function only accepts
            // a TLS control connection, so PASS can never travel in clear.
            let pass = ask(
                control,
                &format!("PASS {}", login.password.expose()),
                Phase::Login,
                ctx,
            )
            .await?;
            let ok = matches!(pass.code, 230 | 202);
            (pass, ok)
        }
        _ => (user, false),
    };
    posture.login_reply = Some(login_reply);
    posture.login = Some(if logged_in { "ok" } else { "refused" }.into());
    if !logged_in {
        return Ok(());
    }

    let pbsz = ask(control, "PBSZ 0", Phase::Protection, ctx).await?;
    posture.pbsz_reply = Some(pbsz);
    let prot_p = ask(control, "PROT P", Phase::Protection, ctx).await?;
    let private_ok = prot_p.code == 200;
    posture.prot_p = Some(if private_ok { "ok" } else { "refused" }.into());
    posture.prot_p_reply = Some(prot_p);
    let prot_c = ask(control, "PROT C", Phase::Protection, ctx).await?;
    posture.prot_c = Some(
        if prot_c.code == 200 {
            "accepted"
        } else {
            "refused"
        }
        .into(),
    );
    posture.prot_c_reply = Some(prot_c);
    if private_ok {
        // Back to private before any data connection.
        ask(control, "PROT P", Phase::Protection, ctx).await?;
    }

    check_passive(control, addr, ctx, posture).await?;

    if ctx.config.posture.list && private_ok {
        check_data_channel(control, addr, tls, server_name, ctx, posture).await?;
    }
    Ok(())
}

/// PASV (address sanity, reachability of the port) and EPSV (its port).
async fn check_passive<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    addr: SocketAddr,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<(), Failure> {
    let pasv = ask(control, "PASV", Phase::Passive, ctx).await?;
    if pasv.code == 227 {
        match parse_pasv(&pasv.text()) {
            Ok(advertised) => {
                let sanity = PasvSanity::judge(addr.ip(), advertised.ip);
                posture.pasv_address = Some(advertised.ip.to_string());
                posture.pasv_port = Some(advertised.port);
                posture.pasv_address_mismatch = Some(sanity.mismatch);
                posture.pasv_private_address = Some(sanity.private_behind_public);
                posture.pasv_unspecified_address = Some(sanity.unspecified);
                let host = if ctx.config.posture.follow_pasv_address && !sanity.unspecified {
                    IpAddr::V4(advertised.ip)
                } else {
                    addr.ip()
                };
                // Test the port now: a later EPSV makes servers close it.
                probe_passive_port(SocketAddr::new(host, advertised.port), ctx, posture).await;
            }
            Err(e) => posture.passive_port_error = Some(format!("unusable PASV reply: {e}")),
        }
    }
    posture.pasv_reply = Some(pasv);
    let epsv = ask(control, "EPSV", Phase::Passive, ctx).await?;
    if epsv.code == 229 {
        match parse_epsv(&epsv.text()) {
            Ok(port) => {
                posture.epsv_port = Some(port);
                // EPSV names no address: always the control peer. Used for
                // reachability when PASV gave nothing (IPv6, PASV refused).
                if posture.passive_port.is_none() {
                    probe_passive_port(SocketAddr::new(addr.ip(), port), ctx, posture).await;
                }
            }
            Err(e) => {
                posture
                    .passive_port_error
                    .get_or_insert(format!("unusable EPSV reply: {e}"));
            }
        }
    }
    posture.epsv_reply = Some(epsv);
    Ok(())
}

/// TCP connect to a passive port: `reachable`, `refused`, `timeout`.
async fn probe_passive_port(target: SocketAddr, ctx: &ProbeContext, posture: &mut Posture) {
    let result = ctx
        .connector
        .connect_within_session(target, ctx.config.timeouts.connect)
        .await;
    posture.passive_port = Some(
        match result {
            Ok(_) => "reachable",
            Err(f) if f.status == crate::report::Status::Refused => "refused",
            Err(f) if f.status == crate::report::Status::Timeout => "timeout",
            Err(f) => {
                posture.passive_port_error = Some(f.message);
                "unreachable"
            }
        }
        .into(),
    );
}

/// LIST over a protected data connection whose TLS session resumes the
/// control channel's (as servers such as vsftpd require).
async fn check_data_channel<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<tokio_rustls::client::TlsStream<S>>,
    addr: SocketAddr,
    tls: &EndpointTls,
    server_name: &ServerName<'static>,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<(), Failure> {
    let timeouts = &ctx.config.timeouts;
    let reply = ask(control, "EPSV", Phase::DataChannel, ctx).await?;
    let port = if reply.code == 229 {
        parse_epsv(&reply.text()).ok()
    } else {
        let pasv = ask(control, "PASV", Phase::DataChannel, ctx).await?;
        parse_pasv(&pasv.text()).ok().map(|p| p.port)
    };
    let Some(port) = port else {
        posture.data_tls = Some("failed".into());
        posture.data_tls_reply = Some(format!("no passive port: {reply}"));
        return Ok(());
    };
    let data_addr = SocketAddr::new(addr.ip(), port);
    let Ok(data) = ctx
        .connector
        .connect_within_session(data_addr, timeouts.connect)
        .await
    else {
        posture.data_tls = Some("failed".into());
        posture.data_tls_reply = Some(format!("data port {port} not reachable"));
        return Ok(());
    };
    let mark = ask(control, "LIST", Phase::DataChannel, ctx).await?;
    if mark.class() != 1 {
        posture.data_tls = Some("failed".into());
        posture.data_tls_reply = Some(mark.to_string());
        return Ok(());
    }
    match tls.handshake(data, server_name.clone(), timeouts.tls).await {
        Ok(mut stream) => {
            posture.data_tls_resumed =
                Some(stream.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed));
            let mut listing = Vec::new();
            let read = tokio::time::timeout(
                timeouts.read,
                (&mut stream)
                    .take(MAX_LISTING as u64)
                    .read_to_end(&mut listing),
            )
            .await;
            drop(stream);
            let done = control
                .read_reply(timeouts.read, Phase::DataChannel)
                .await
                .map_err(|e| Failure::from_ftp(e, "reply after the data transfer"))?;
            if matches!(read, Ok(Ok(_))) && done.class() == 2 {
                posture.data_tls = Some("ok".into());
                posture.list_entries = Some(
                    listing
                        .split(|&b| b == b'\n')
                        .filter(|l| !l.trim_ascii().is_empty())
                        .count() as u64,
                );
            } else {
                posture.data_tls = Some("failed".into());
                posture.data_tls_reply = Some(done.to_string());
            }
        }
        Err(e) => {
            posture.data_tls = Some("failed".into());
            // The server says why on the control channel (522 ...).
            posture.data_tls_reply = Some(
                match control.read_reply(timeouts.read, Phase::DataChannel).await {
                    Ok(reply) => reply.to_string(),
                    Err(_) => e.to_string(),
                },
            );
        }
    }
    Ok(())
}

/// What is wrong with an advertised PASV address, relative to the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasvSanity {
    pub mismatch: bool,
    pub private_behind_public: bool,
    pub unspecified: bool,
}

impl PasvSanity {
    pub fn judge(peer: IpAddr, advertised: Ipv4Addr) -> Self {
        let peer_v4 = match peer {
            IpAddr::V4(v4) => Some(v4),
            IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        };
        let unspecified = advertised.is_unspecified();
        Self {
            mismatch: peer_v4 != Some(advertised),
            private_behind_public: is_internal(advertised)
                && peer_v4.is_some_and(|p| !is_internal(p) && !p.is_loopback()),
            unspecified,
        }
    }
}

/// Private (RFC 1918), shared (RFC 6598), link-local or loopback: not
/// reachable from the internet.
fn is_internal(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_private()
        || ip.is_link_local()
        || ip.is_loopback()
        || (a == 100 && (64..128).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasv_sanity() {
        let public: IpAddr = "198.51.100.7".parse().unwrap();
        let s = PasvSanity::judge(public, Ipv4Addr::new(10, 0, 0, 5));
        assert!(s.mismatch && s.private_behind_public && !s.unspecified);
        let s = PasvSanity::judge(public, Ipv4Addr::new(198, 51, 100, 7));
        assert!(!s.mismatch && !s.private_behind_public);
        let s = PasvSanity::judge(public, Ipv4Addr::new(203, 0, 113, 9));
        assert!(s.mismatch && !s.private_behind_public);
        let s = PasvSanity::judge(public, Ipv4Addr::new(100, 64, 1, 1));
        assert!(s.private_behind_public, "CGNAT space is internal");
        let s = PasvSanity::judge(public, Ipv4Addr::UNSPECIFIED);
        assert!(s.unspecified && s.mismatch);
        let private: IpAddr = "192.168.1.10".parse().unwrap();
        let s = PasvSanity::judge(private, Ipv4Addr::new(192, 168, 1, 11));
        assert!(
            s.mismatch && !s.private_behind_public,
            "private behind private is not NAT trouble"
        );
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        assert!(!PasvSanity::judge(mapped, Ipv4Addr::new(198, 51, 100, 7)).mismatch);
    }

    #[test]
    fn secret_never_prints() {
        let config = LoginConfig {
            user: "alice".into(),
            password: Secret::new("hunter2"),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"));
    }
}
