//! FTP-level posture: what no TLS scanner reports.
//!
//! A reply is not a fact. vsftpd answers `200 PROT now Clear.` and then
//! refuses the cleartext transfer; unftp answers 200 and refuses the next
//! PASV. So every protection fact here is established by behaviour: a data
//! transfer that completed (or did not), a handshake that resumed (or a
//! fresh one that was refused). Read-only throughout: only `LIST` of the
//! login directory (protected) and of a path that does not exist (the
//! cleartext attempt) ever move data.

use super::session::{Opener, PlainControl};
use super::{Failure, ProbeContext};
use crate::ftp::passive::{parse_epsv, parse_pasv};
use crate::ftp::{ControlConnection, FtpError, Reply};
use crate::model::{Phase, Status};
use crate::tls::session::{EndpointTls, HandshakeError};
use rustls_pki_types::ServerName;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

pub use crate::config::{
    LoginConfig, LoginConfigError, PostureConfig, Secret, DEFAULT_BOUNCE_ADDRESS,
};
pub use crate::model::posture::*;

/// Largest directory listing read over the data channel.
const MAX_LISTING: usize = 1 << 20;

/// The path the cleartext transfer lists: it does not exist, so nothing of
/// value crosses the wire in clear.
pub const NONEXISTENT_PATH: &str = "/.ftps-scan-no-such-path";

/// The cleartext-login check, on its own plain connection: greeting, then
/// `USER <name>` only, never PASS, then QUIT. 331 or 230 mean the server
/// would take credentials in clear.
pub async fn check_cleartext_login(addr: SocketAddr, ctx: &ProbeContext, posture: &mut Posture) {
    let timeouts = &ctx.config.timeouts;
    let opener = Opener::new(&ctx.connector, timeouts);
    let mut control = match opener.connect_and_greet(addr, Phase::CleartextLogin).await {
        Ok((control, greeting)) if greeting.code == 220 => control,
        _ => {
            posture.cleartext_login = Some(CleartextLogin::Unknown);
            return;
        }
    };
    let user = format!("USER {}", ctx.config.posture.login.user);
    match control.command(&user, timeouts.read).await {
        Ok(reply) => {
            posture.cleartext_login = Some(match reply.code {
                331 | 332 | 230 => CleartextLogin::Allowed,
                _ if reply.class() == 4 || reply.class() == 5 => CleartextLogin::Refused,
                _ => CleartextLogin::Unknown,
            });
            posture.cleartext_login_reply = Some(reply);
        }
        Err(_) => posture.cleartext_login = Some(CleartextLogin::Unknown),
    }
    quit_quietly(&mut control, ctx).await;
}

/// The cleartext-fallback check (Nessus plugin 57272), on its own plain
/// connection: greeting, `AUTH TLS` (or `AUTH SSL`) agreed, then a harmless
/// `FEAT` in clear where the ClientHello is due. A `2xx` answer in clear
/// means the server takes commands outside TLS after agreeing to TLS; an
/// error in clear, TLS bytes (an alert), a close or silence is a refusal.
/// Nothing is established when the greeting or the AUTH step fails.
pub async fn check_cleartext_after_auth(
    addr: SocketAddr,
    ctx: &ProbeContext,
    posture: &mut Posture,
) {
    let timeouts = &ctx.config.timeouts;
    let opener = Opener::new(&ctx.connector, timeouts);
    let mut control = match opener
        .connect_and_greet(addr, Phase::CleartextAfterAuth)
        .await
    {
        Ok((control, greeting)) if greeting.code == 220 => control,
        Ok((_, greeting)) => {
            posture.cleartext_after_auth_reason = Some(format!("not checked: greeting {greeting}"));
            return;
        }
        Err(f) => {
            posture.cleartext_after_auth_reason = Some(format!("not checked: {}", f.message));
            return;
        }
    };
    if let Err(f) = opener
        .negotiate_auth(&mut control, &mut super::session::AuthReplies::default())
        .await
    {
        posture.cleartext_after_auth_reason = Some(format!("not checked: {}", f.message));
        return;
    }
    let answer = control.command("FEAT", timeouts.read).await;
    let (outcome, reason) = judge_cleartext_after_auth(&answer);
    posture.cleartext_after_auth = Some(outcome);
    posture.cleartext_after_auth_reason = Some(reason);
    if let Ok(reply) = answer {
        posture.cleartext_after_auth_reply = Some(reply);
        if outcome == CleartextAfterAuth::Accepted {
            quit_quietly(&mut control, ctx).await;
        }
    }
}

/// What the answer to a cleartext `FEAT` after the `234` means.
fn judge_cleartext_after_auth(answer: &Result<Reply, FtpError>) -> (CleartextAfterAuth, String) {
    match answer {
        Ok(reply) if reply.class() == 2 => (
            CleartextAfterAuth::Accepted,
            format!(
                "after the 234, FEAT in clear was answered in clear: {}",
                reply.code
            ),
        ),
        Ok(reply) => (
            CleartextAfterAuth::Refused,
            format!(
                "after the 234, FEAT in clear got an error in clear: {}",
                reply.code
            ),
        ),
        Err(e) => (
            CleartextAfterAuth::Refused,
            match e {
                FtpError::Timeout(d) => format!(
                    "after the 234, FEAT in clear got no answer within {}",
                    crate::ftp::control::humantime(*d)
                ),
                FtpError::ClosedBeforeReply => {
                    "after the 234, FEAT in clear: the server closed the connection".into()
                }
                FtpError::Reply(_) => {
                    "after the 234, FEAT in clear was answered with non-FTP bytes (a TLS alert)"
                        .into()
                }
                other => format!("after the 234, FEAT in clear: {other}"),
            },
        ),
    }
}

async fn quit_quietly(control: &mut PlainControl, ctx: &ProbeContext) {
    let _ = control
        .command("QUIT", ctx.config.timeouts.read.min(Duration::from_secs(2)))
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
) -> Result<Reply, Failure> {
    let shown = if command.starts_with("PASS ") {
        "PASS"
    } else {
        command
    };
    control
        .command(command, ctx.config.timeouts.read)
        .await
        .map_err(|e| Failure::from_ftp(e, phase, &format!("reply to {shown}")))
}

/// Sends commands in one write (a pipeline, for commands each sent
/// whatever the one before answered); the caller then reads their replies
/// in order with [`await_reply`]. A failed write names the first command,
/// as [`ask`] would. Never for PASS: its failure would name the secret.
async fn send_pipeline<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    commands: &[&str],
    phase: Phase,
    ctx: &ProbeContext,
) -> Result<(), Failure> {
    let Some(first) = commands.first() else {
        return Ok(());
    };
    control
        .send_lines(commands, ctx.config.timeouts.read)
        .await
        .map_err(|e| Failure::from_ftp(e, phase, &format!("reply to {first}")))
}

/// Reads one reply; a failure says what was awaited.
async fn await_reply<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    what: &str,
    phase: Phase,
    ctx: &ProbeContext,
) -> Result<Reply, Failure> {
    control
        .read_reply(ctx.config.timeouts.read)
        .await
        .map_err(|e| Failure::from_ftp(e, phase, what))
}

/// The established main session, as the posture checks need it.
pub struct SessionContext<'a> {
    /// The control connection's peer.
    pub addr: SocketAddr,
    pub tls: &'a EndpointTls,
    pub server_name: &'a ServerName<'static>,
    /// Whether the server's identity is verified (trusted chain, matching
    /// name, verified handshake signature); `Err` says why not.
    pub verified: Result<(), String>,
}

/// What the `PROT P` sent in one write after `PBSZ 0` awaits.
const PROT_P_PIPELINED: &str = "reply to PROT P (sent in the same write as PBSZ 0)";

/// The checks on an established TLS control channel: login, protection
/// levels, PASV/EPSV, passive-port reachability, and the data checks.
pub async fn check_over_tls<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<tokio_rustls::client::TlsStream<S>>,
    session: SessionContext<'_>,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<(), Failure> {
    if !log_in(control, &session, ctx, posture).await? {
        return Ok(());
    }

    // PROT P is sent whatever PBSZ's answer: one write, one round trip.
    let phase = Phase::Protection;
    send_pipeline(control, &["PBSZ 0", "PROT P"], phase, ctx).await?;
    posture.pbsz_reply = Some(await_reply(control, "reply to PBSZ 0", phase, ctx).await?);
    // Named as pipelined: a server that drops a second command sent in the
    // same write times out here, and the message should say why to look.
    let prot_p = await_reply(control, PROT_P_PIPELINED, phase, ctx).await?;
    let private_ok = prot_p.code == 200;
    posture.prot_p = Some(if private_ok {
        ProtP::Ok
    } else {
        ProtP::Refused
    });
    posture.prot_p_reply = Some(prot_p);

    let data = ctx.config.posture.data;
    // The connection that showed the PASV port reachable carries the
    // protected listing (what a client does after PASV): one connection
    // and one PASV fewer than a fresh data connection after EPSV, which
    // would close that port on some servers (vsftpd), hence the order.
    let kept = check_pasv(control, session.addr, data && private_ok, ctx, posture).await?;
    if let Some(stream) = kept {
        check_protected_data(control, &session, Some(stream), ctx, posture).await?;
    }
    check_epsv(control, session.addr, ctx, posture).await?;
    if data && private_ok && posture.data_tls.is_none() {
        check_protected_data(control, &session, None, ctx, posture).await?;
    }
    check_cleartext_data(control, &session, ctx, posture).await?;
    // After PROT P again (pyftpdlib with tls_data_required refuses PORT
    // under PROT C, which says nothing about bounce), in the same write;
    // after the data checks (a PORT the server took cannot touch them),
    // and before the session-reuse check, which can end the session.
    let restore_refused = check_bounce(control, session.addr, private_ok, ctx, posture).await?;
    // Last, because vsftpd ends the whole session when it refuses a fresh
    // data-channel session (after its `522`).
    if data && private_ok && posture.data_tls_reuse_required.is_none() {
        check_session_reuse(control, &session, restore_refused, ctx, posture).await?;
    }
    Ok(())
}

/// The FTP bounce check (RFC 2577): `PORT` (IPv4) and `EPRT` naming the
/// third-party `--bounce-address`. A `2xx` to either means the server would
/// open data connections to a third party. No data command follows: after
/// an accepted one a fresh `PASV`/`EPSV` replaces the foreign address
/// (some servers connect to a `PORT` address at once, which is why the
/// default address is in TEST-NET-1 and reaches nobody). `restore_prot_p`:
/// first send `PROT P` again (after the cleartext-data check), in the same
/// write as the first bounce command. `Ok(Some(reply))`: that `PROT P` was
/// refused, and data connections are not protected from here on.
async fn check_bounce<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    addr: SocketAddr,
    restore_prot_p: bool,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<Option<Reply>, Failure> {
    let target = ctx.config.posture.bounce_address;
    posture.ftp_bounce_address = Some(target.to_string());
    let restore: &[&str] = if restore_prot_p { &["PROT P"] } else { &[] };
    if target.ip() == addr.ip() {
        posture.ftp_bounce_reason =
            Some("not checked: the bounce address is the server's own".into());
        send_pipeline(control, restore, Phase::Protection, ctx).await?;
        return read_restore_reply(control, restore_prot_p, ctx).await;
    }
    let port = match (target.ip(), ipv6_peer(addr)) {
        (IpAddr::V4(v4), false) => Some(port_command(v4, target.port())),
        _ => None,
    };
    let eprt = eprt_command(target);
    // The PROT P that restores protection goes in one write with the first
    // bounce command; the second waits for the first's reply: a server that
    // takes a PORT may connect to it at once and read no command until
    // that ends (pyftpdlib never answered an EPRT pipelined after an
    // accepted PORT).
    let first = port.as_deref().unwrap_or(&eprt);
    let commands: Vec<&str> = restore.iter().copied().chain([first]).collect();
    // A failed write is the first command's, as one write per command was.
    let first_phase = if restore_prot_p {
        Phase::Protection
    } else {
        Phase::Bounce
    };
    send_pipeline(control, &commands, first_phase, ctx).await?;
    let restore_refused = read_restore_reply(control, restore_prot_p, ctx).await?;
    // The first bounce command's reply is named as pipelined after PROT P.
    let awaited = |command: &str, first: bool| {
        if restore_prot_p && first {
            format!("reply to {command} (sent in the same write as PROT P)")
        } else {
            format!("reply to {command}")
        }
    };
    let mut accepted = false;
    if let Some(port) = &port {
        let reply = await_reply(control, &awaited(port, true), Phase::Bounce, ctx).await?;
        accepted |= reply.class() == 2;
        posture.ftp_bounce_port_reply = Some(reply);
        send_pipeline(control, &[&eprt], Phase::Bounce, ctx).await?;
    }
    let eprt_first = port.is_none();
    let reply = await_reply(control, &awaited(&eprt, eprt_first), Phase::Bounce, ctx).await?;
    accepted |= reply.class() == 2;
    posture.ftp_bounce_eprt_reply = Some(reply);
    posture.ftp_bounce = Some(if accepted {
        FtpBounce::Accepted
    } else {
        FtpBounce::Refused
    });
    if accepted {
        // Replace the foreign address before anything else is sent.
        let reset = if ipv6_peer(addr) { "EPSV" } else { "PASV" };
        ask(control, reset, Phase::Bounce, ctx).await?;
    }
    Ok(restore_refused)
}

/// The reply to the `PROT P` that restores protection ahead of the bounce
/// check, when it was sent: `Some` when it is not `200` (the test the
/// first `PROT P` is judged by).
async fn read_restore_reply<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    restore_prot_p: bool,
    ctx: &ProbeContext,
) -> Result<Option<Reply>, Failure> {
    if !restore_prot_p {
        return Ok(None);
    }
    let reply = await_reply(control, "reply to PROT P", Phase::Protection, ctx).await?;
    Ok((reply.code != 200).then_some(reply))
}

/// `PORT h1,h2,h3,h4,p1,p2` (RFC 959).
pub fn port_command(ip: Ipv4Addr, port: u16) -> String {
    let [a, b, c, d] = ip.octets();
    format!("PORT {a},{b},{c},{d},{},{}", port >> 8, port & 0xff)
}

/// `EPRT |1|a.b.c.d|port|` or `EPRT |2|v6|port|` (RFC 2428).
pub fn eprt_command(target: SocketAddr) -> String {
    let family = if target.is_ipv4() { 1 } else { 2 };
    format!("EPRT |{family}|{}|{}|", target.ip(), target.port())
}

/// What is left of the control connection after the CCC check.
pub enum AfterCcc<S> {
    /// CCC refused: still TLS.
    Tls(Box<ControlConnection<tokio_rustls::client::TlsStream<S>>>),
    /// CCC accepted: the same TCP connection, now in clear.
    Clear(Box<ControlConnection<S>>),
    /// Nothing usable (the server closed, or the channel is in an unknown
    /// state).
    Gone,
}

/// CCC (RFC 4217 section 6), the last command of a logged-in session: a
/// `200` is not taken at its word. The TLS layer is shut down properly
/// (our close_notify, then the server's awaited), and the channel must
/// then answer `PWD` in clear; only then is `ccc` `accepted`.
pub async fn check_ccc<S: AsyncRead + AsyncWrite + Unpin>(
    mut control: ControlConnection<tokio_rustls::client::TlsStream<S>>,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> AfterCcc<S> {
    use tokio::io::AsyncWriteExt;
    let read = ctx.config.timeouts.read;
    let reply = match control.command("CCC", read).await {
        Ok(reply) => reply,
        Err(e) => {
            posture.ccc_reason = Some(format!("not established: no reply to CCC ({e})"));
            return AfterCcc::Gone;
        }
    };
    posture.ccc_reply = Some(reply.clone());
    if reply.code != 200 {
        posture.ccc = Some(Ccc::Refused);
        posture.ccc_reason = Some(format!("CCC answered {}", reply.code));
        return AfterCcc::Tls(Box::new(control));
    }
    let mut stream = match control.into_stream() {
        Ok(stream) => stream,
        Err(e) => {
            posture.ccc_reason = Some(format!("not established: 200 to CCC, then {e}"));
            return AfterCcc::Gone;
        }
    };
    stream.get_mut().1.send_close_notify();
    let shutdown = tokio::time::timeout(read, async {
        // Flushing writes the close_notify without closing the TCP stream.
        stream.flush().await?;
        let mut sink = [0u8; 1024];
        let mut extra = 0usize;
        loop {
            match stream.read(&mut sink).await? {
                // The server's close_notify.
                0 => return Ok::<usize, std::io::Error>(extra),
                n => {
                    extra += n;
                    if extra > MAX_CCC_TAIL {
                        return Err(std::io::Error::other("data kept coming after CCC"));
                    }
                }
            }
        }
    })
    .await;
    let shut = match shutdown {
        Ok(Ok(_)) => "TLS closed with close_notify both ways".to_string(),
        Ok(Err(e)) => {
            posture.ccc = Some(Ccc::Refused);
            posture.ccc_reason = Some(format!(
                "CCC answered 200, but the TLS shutdown failed: {e}"
            ));
            return AfterCcc::Gone;
        }
        Err(_) => "no close_notify from the server".to_string(),
    };
    let (io, _) = stream.into_inner();
    let mut clear = ControlConnection::new(io);
    match clear.command("PWD", read).await {
        Ok(pwd) => {
            posture.ccc = Some(Ccc::Accepted);
            posture.ccc_reason = Some(format!(
                "CCC answered 200, {shut}, then PWD was answered in clear ({})",
                pwd.code
            ));
            AfterCcc::Clear(Box::new(clear))
        }
        Err(e) => {
            posture.ccc = Some(Ccc::Refused);
            posture.ccc_reason = Some(format!(
                "CCC answered 200, {shut}, but PWD got no answer in clear ({e})"
            ));
            AfterCcc::Gone
        }
    }
}

/// Most bytes read between CCC's `200` and the server's close_notify.
const MAX_CCC_TAIL: usize = 64 * 1024;

/// USER / PASS over TLS. A named user's password goes only to a server
/// whose identity is verified, unless the user opted in. Returns whether
/// the login succeeded.
async fn log_in<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<tokio_rustls::client::TlsStream<S>>,
    session: &SessionContext<'_>,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<bool, Failure> {
    let config = &ctx.config.posture;
    let login = &config.login;
    posture.login_user = Some(login.user.clone());
    if !login.is_anonymous() && !config.send_password_unverified {
        if let Err(why) = &session.verified {
            posture.login = Some(Login::Skipped);
            posture.login_skipped_reason = Some(format!(
                "password not sent: {why} (--send-password-unverified overrides)"
            ));
            return Ok(false);
        }
    }
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
    posture.login = Some(if logged_in { Login::Ok } else { Login::Refused });
    Ok(logged_in)
}

/// Whether the passive checks use EPSV alone: PASV means nothing on IPv6
/// (it can only name an IPv4 address; vsftpd answers `0.0.0.0`).
fn ipv6_peer(addr: SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(_) => false,
        IpAddr::V6(v6) => v6.to_ipv4_mapped().is_none(),
    }
}

/// PASV (address sanity, reachability of the port); on IPv6, nothing
/// (EPSV alone, see [`check_epsv`]). With `keep`, the connection that
/// reached the port is returned for a data transfer.
async fn check_pasv<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    addr: SocketAddr,
    keep: bool,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<Option<TcpStream>, Failure> {
    if ipv6_peer(addr) {
        return Ok(None);
    }
    let mut kept = None;
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
                let host = passive_host(addr, advertised.ip, ctx);
                // Test the port now: a later EPSV makes servers close it.
                let stream =
                    probe_passive_port(SocketAddr::new(host, advertised.port), ctx, posture).await;
                kept = stream.filter(|_| keep);
            }
            Err(e) => posture.passive_port_error = Some(format!("unusable PASV reply: {e}")),
        }
    }
    posture.pasv_reply = Some(pasv);
    Ok(kept)
}

/// EPSV (its port; the reachability check when PASV gave none).
async fn check_epsv<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    addr: SocketAddr,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<(), Failure> {
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

/// Where a PASV data connection goes: the control peer, unless the user
/// asked to follow the advertised address (and it is not 0.0.0.0).
fn passive_host(peer: SocketAddr, advertised: Ipv4Addr, ctx: &ProbeContext) -> IpAddr {
    if ctx.config.posture.follow_pasv_address && !advertised.is_unspecified() {
        IpAddr::V4(advertised)
    } else {
        peer.ip()
    }
}

/// TCP connect to a passive port; the connection when it was reachable.
async fn probe_passive_port(
    target: SocketAddr,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Option<TcpStream> {
    let result = ctx
        .connector
        .connect_within_session(target, ctx.config.timeouts.connect)
        .await;
    let (outcome, stream) = match result {
        Ok(stream) => (PassivePort::Reachable, Some(stream)),
        Err(f) if f.status == Status::Refused => (PassivePort::Refused, None),
        Err(f) if f.status == Status::Timeout => (PassivePort::Timeout, None),
        Err(f) => {
            posture.passive_port_error = Some(f.message);
            (PassivePort::Unreachable, None)
        }
    };
    posture.passive_port = Some(outcome);
    stream
}

/// A data connection, or why there is none.
enum DataConnection {
    Open(TcpStream),
    /// PASV/EPSV answered, but not with a usable port.
    Refused(Reply),
    /// The port could not be used (unparsable reply, connect failed).
    Unusable(String),
}

/// Asks for a passive port (EPSV on IPv6, else PASV) and connects to it
/// (at the control peer unless `--follow-pasv`). Data connections belong to
/// the session's host slot.
async fn open_data_connection<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    addr: SocketAddr,
    ctx: &ProbeContext,
) -> Result<DataConnection, Failure> {
    open_data_connection_via(control, addr, ipv6_peer(addr), ctx).await
}

/// As [`open_data_connection`], with EPSV or PASV chosen by the caller.
async fn open_data_connection_via<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    addr: SocketAddr,
    epsv: bool,
    ctx: &ProbeContext,
) -> Result<DataConnection, Failure> {
    let target = if epsv {
        let reply = ask(control, "EPSV", Phase::DataChannel, ctx).await?;
        if reply.code != 229 {
            return Ok(DataConnection::Refused(reply));
        }
        match parse_epsv(&reply.text()) {
            Ok(port) => SocketAddr::new(addr.ip(), port),
            Err(e) => return Ok(DataConnection::Unusable(format!("{reply}: {e}"))),
        }
    } else {
        let reply = ask(control, "PASV", Phase::DataChannel, ctx).await?;
        if reply.code != 227 {
            return Ok(DataConnection::Refused(reply));
        }
        match parse_pasv(&reply.text()) {
            Ok(p) => SocketAddr::new(passive_host(addr, p.ip, ctx), p.port),
            Err(e) => return Ok(DataConnection::Unusable(format!("{reply}: {e}"))),
        }
    };
    match ctx
        .connector
        .connect_within_session(target, ctx.config.timeouts.connect)
        .await
    {
        Ok(stream) => Ok(DataConnection::Open(stream)),
        Err(f) => Ok(DataConnection::Unusable(format!(
            "data port {}: {}",
            target.port(),
            f.message
        ))),
    }
}

/// How one protected listing went.
enum Protected {
    /// The listing arrived and the server confirmed it.
    Done { entries: u64, resumed: bool },
    /// It did not; the server's reply, or what failed.
    Failed(String),
}

/// The protected data check: a listing of the login directory over TLS
/// resuming the control session, what a real client does; on `opened`
/// when given (a connection to the port of the last PASV), else on a new
/// data connection.
async fn check_protected_data<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<tokio_rustls::client::TlsStream<S>>,
    session: &SessionContext<'_>,
    opened: Option<TcpStream>,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<(), Failure> {
    match protected_listing(control, session, false, opened, ctx).await? {
        Protected::Done { entries, resumed } => {
            posture.data_tls = Some(DataTls::Ok);
            posture.data_tls_resumed = Some(resumed);
            posture.list_entries = Some(entries);
            if !resumed {
                // It already took a session it had not seen before.
                posture.data_tls_reuse_required = Some(false);
            }
        }
        Protected::Failed(why) => {
            posture.data_tls = Some(DataTls::Failed);
            posture.data_tls_reply = Some(why);
        }
    }
    Ok(())
}

/// After a protected listing that worked on a resumed session, the same on
/// a fresh session: refused means the server requires session reuse. Not
/// tried when the `PROT P` that restored protection was refused
/// (`restore_refused`): under `PROT C` the listing would be a cleartext
/// transfer, and its failed handshake would read as "reuse required".
async fn check_session_reuse<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<tokio_rustls::client::TlsStream<S>>,
    session: &SessionContext<'_>,
    restore_refused: Option<Reply>,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<(), Failure> {
    if posture.data_tls != Some(DataTls::Ok) {
        return Ok(());
    }
    if let Some(refusal) = restore_refused {
        posture.data_tls_fresh_reply = Some(format!(
            "not checked: PROT P was refused when sent again after the cleartext-data check ({refusal})"
        ));
        return Ok(());
    }
    match protected_listing(control, session, true, None, ctx).await? {
        Protected::Done { .. } => posture.data_tls_reuse_required = Some(false),
        Protected::Failed(why) => {
            posture.data_tls_reuse_required = Some(true);
            posture.data_tls_fresh_reply = Some(why);
        }
    }
    Ok(())
}

/// `LIST` of the login directory over a TLS data connection. The data
/// handshake starts as soon as the connection is open, without waiting for
/// the 150: some servers (ftp-srv) send 150 only after the handshake, and a
/// client that waits gets 425.
async fn protected_listing<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<tokio_rustls::client::TlsStream<S>>,
    session: &SessionContext<'_>,
    fresh: bool,
    opened: Option<TcpStream>,
    ctx: &ProbeContext,
) -> Result<Protected, Failure> {
    let timeouts = &ctx.config.timeouts;
    let opened = match opened {
        Some(stream) => DataConnection::Open(stream),
        None => open_data_connection(control, session.addr, ctx).await?,
    };
    let data = match opened {
        DataConnection::Open(stream) => stream,
        DataConnection::Refused(reply) => {
            return Ok(Protected::Failed(format!("no passive port: {reply}")))
        }
        DataConnection::Unusable(why) => return Ok(Protected::Failed(why)),
    };
    control
        .send("LIST", timeouts.read)
        .await
        .map_err(|e| Failure::from_ftp(e, Phase::DataChannel, "LIST"))?;
    let name = session.server_name.clone();
    let handshake = async {
        if fresh {
            session.tls.handshake_fresh(data, name, timeouts.tls).await
        } else {
            session.tls.handshake(data, name, timeouts.tls).await
        }
    };
    let (mark, handshake) = mark_and_handshake(control, handshake, timeouts.read).await;
    let mark = mark.map_err(|e| Failure::from_ftp(e, Phase::DataChannel, "reply to LIST"))?;
    if mark.class() != 1 {
        return Ok(Protected::Failed(mark.to_string()));
    }
    let mut stream = match handshake {
        Some(Ok(stream)) => stream,
        Some(Err(e)) => {
            // The server says why on the control channel (522 ...).
            return Ok(Protected::Failed(
                match control.read_reply(timeouts.read).await {
                    Ok(reply) => reply.to_string(),
                    Err(_) => e.to_string(),
                },
            ));
        }
        None => {
            return Ok(Protected::Failed(
                "data-channel handshake not attempted".into(),
            ))
        }
    };
    let resumed = stream.get_ref().1.handshake_kind() == Some(rustls::HandshakeKind::Resumed);
    let mut listing = Vec::new();
    let read = tokio::time::timeout(
        timeouts.read,
        (&mut stream)
            .take(MAX_LISTING as u64)
            .read_to_end(&mut listing),
    )
    .await;
    drop(stream);
    let done = await_reply(
        control,
        "reply after the data transfer",
        Phase::DataChannel,
        ctx,
    )
    .await?;
    // A server that closes without close_notify still delivered the
    // listing: its 226 is what confirms it.
    let delivered = match &read {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => e.kind() == std::io::ErrorKind::UnexpectedEof,
        Err(_) => false,
    };
    if delivered && done.class() == 2 {
        let entries = listing
            .split(|&b| b == b'\n')
            .filter(|l| !l.trim_ascii().is_empty())
            .count() as u64;
        Ok(Protected::Done { entries, resumed })
    } else if done.class() != 2 {
        Ok(Protected::Failed(done.to_string()))
    } else {
        Ok(Protected::Failed(format!(
            "listing not received: {}",
            match read {
                Ok(Err(e)) => e.to_string(),
                _ => "timed out".into(),
            }
        )))
    }
}

/// Reads the reply to a data command while the data-channel handshake
/// runs. Returns as soon as the reply is a refusal (the handshake is then
/// abandoned), else when both are done.
async fn mark_and_handshake<S, T, H>(
    control: &mut ControlConnection<S>,
    handshake: H,
    read_timeout: Duration,
) -> (Result<Reply, FtpError>, Option<Result<T, HandshakeError>>)
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: std::future::Future<Output = Result<T, HandshakeError>>,
{
    let read = control.read_reply(read_timeout);
    tokio::pin!(read);
    tokio::pin!(handshake);
    let mut mark: Option<Result<Reply, FtpError>> = None;
    let mut shaken: Option<Result<T, HandshakeError>> = None;
    loop {
        match &mark {
            // A preliminary reply: the transfer needs the handshake too.
            Some(Ok(reply)) if reply.class() == 1 => {}
            Some(_) => break,
            None => {}
        }
        if mark.is_some() && shaken.is_some() {
            break;
        }
        tokio::select! {
            reply = &mut read, if mark.is_none() => mark = Some(reply),
            result = &mut handshake, if shaken.is_none() => {
                let failed = result.is_err();
                shaken = Some(result);
                // A failed handshake: the control reply says why, or the
                // server may say nothing more; either way, wait for it.
                if failed && mark.is_some() {
                    break;
                }
            }
        }
    }
    match mark {
        Some(reply) => (reply, shaken),
        // Unreachable: the loop only ends once the reply is in.
        None => (Err(FtpError::ClosedBeforeReply), shaken),
    }
}

/// `PROT C`, then a cleartext transfer: `prot_c` is `accepted` only when
/// the transfer completed in clear. The transfer lists a path that does not
/// exist; only when the server will not open a data connection for that
/// (a "no such file" answer before any data connection) and the login is
/// anonymous is the (public) login directory listed instead.
async fn check_cleartext_data<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    session: &SessionContext<'_>,
    ctx: &ProbeContext,
    posture: &mut Posture,
) -> Result<(), Failure> {
    let prot_c = ask(control, "PROT C", Phase::Protection, ctx).await?;
    let agreed = prot_c.code == 200;
    posture.prot_c_reply = Some(prot_c.clone());
    if !agreed {
        posture.prot_c = Some(ProtC::Refused);
        posture.prot_c_transfer_reply = Some(prot_c);
        posture.prot_c_reason = Some("PROT C refused".into());
        return Ok(());
    }
    if !ctx.config.posture.data {
        posture.prot_c_reason =
            Some("PROT C answered 200; no transfer tried (--no-data), so not judged".into());
        return Ok(());
    }
    let mut path = NONEXISTENT_PATH;
    loop {
        let attempt = cleartext_listing(control, session.addr, path, ctx).await?;
        posture.prot_c_transfer_path = Some(if path.is_empty() {
            "(login directory)".into()
        } else {
            path.into()
        });
        match attempt {
            Cleartext::Completed(reply) => {
                posture.prot_c = Some(ProtC::Accepted);
                posture.prot_c_reason =
                    Some("a cleartext data transfer completed after PROT C".into());
                posture.prot_c_transfer_reply = Some(reply);
            }
            Cleartext::Refused(reply, step) => {
                posture.prot_c = Some(ProtC::Refused);
                posture.prot_c_reason = Some(format!("PROT C answered 200, but {step}"));
                posture.prot_c_transfer_reply = Some(reply);
            }
            Cleartext::NoSuchPath(reply)
                if !path.is_empty() && ctx.config.posture.login.is_anonymous() =>
            {
                posture.prot_c_transfer_reply = Some(reply);
                path = "";
                continue;
            }
            Cleartext::NoSuchPath(reply) => {
                posture.prot_c = Some(ProtC::Unknown);
                posture.prot_c_reason = Some(
                    "the server refused the listing before opening the data connection; \
                     the login directory of a named user is not listed in clear"
                        .into(),
                );
                posture.prot_c_transfer_reply = Some(reply);
            }
            Cleartext::Broken(why) => {
                posture.prot_c = Some(ProtC::Unknown);
                posture.prot_c_reason = Some(format!("the cleartext transfer broke: {why}"));
            }
        }
        return Ok(());
    }
}

/// How a cleartext listing went.
enum Cleartext {
    /// 1xx, data in clear, then 2xx.
    Completed(Reply),
    /// Refused, with the step that refused.
    Refused(Reply, &'static str),
    /// "No such file" before any data crossed: says nothing about PROT C.
    NoSuchPath(Reply),
    /// Neither (a connect failure, a timeout).
    Broken(String),
}

/// Whether a refusal of LIST is about the path (450/550 without a word on
/// protection) rather than about the cleartext data channel.
fn refusal_is_about_the_path(reply: &Reply) -> bool {
    let text = reply.text().to_ascii_lowercase();
    let about_protection = [
        "tls", "ssl", "encrypt", "secur", "protect", "prot ", "clear",
    ]
    .iter()
    .any(|w| text.contains(w));
    matches!(reply.code, 450 | 550) && !about_protection
}

async fn cleartext_listing<S: AsyncRead + AsyncWrite + Unpin>(
    control: &mut ControlConnection<S>,
    addr: SocketAddr,
    path: &str,
    ctx: &ProbeContext,
) -> Result<Cleartext, Failure> {
    let timeouts = &ctx.config.timeouts;
    let mut opened = open_data_connection(control, addr, ctx).await?;
    if matches!(opened, DataConnection::Refused(_)) && !ipv6_peer(addr) {
        // A server may police PASV and forget EPSV (libunftp checks only
        // PASV): a client using EPSV would still move data in clear.
        if let DataConnection::Open(stream) =
            open_data_connection_via(control, addr, true, ctx).await?
        {
            opened = DataConnection::Open(stream);
        }
    }
    let mut data = match opened {
        DataConnection::Open(stream) => stream,
        DataConnection::Refused(reply) => {
            return Ok(Cleartext::Refused(
                reply,
                "the passive request after it was refused",
            ))
        }
        DataConnection::Unusable(why) => return Ok(Cleartext::Broken(why)),
    };
    let command = if path.is_empty() {
        "LIST".to_string()
    } else {
        format!("LIST {path}")
    };
    let mark = ask(control, &command, Phase::DataChannel, ctx).await?;
    if mark.class() != 1 {
        if refusal_is_about_the_path(&mark) {
            return Ok(Cleartext::NoSuchPath(mark));
        }
        return Ok(Cleartext::Refused(
            mark,
            "the cleartext transfer was refused",
        ));
    }
    // Whatever arrives is discarded unread: only the completion matters.
    let mut sink = [0u8; 4096];
    let mut total = 0usize;
    let drained = tokio::time::timeout(timeouts.read, async {
        loop {
            match data.read(&mut sink).await {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    total += n;
                    if total > MAX_LISTING {
                        return Err("listing larger than 1 MiB".to_string());
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await;
    drop(data);
    let done = await_reply(
        control,
        "reply after the cleartext transfer",
        Phase::DataChannel,
        ctx,
    )
    .await?;
    match (drained, done.class()) {
        (Ok(Ok(())), 2) => Ok(Cleartext::Completed(done)),
        (_, 4 | 5) if refusal_is_about_the_path(&done) && total == 0 => {
            // 150 then "no such file": the data connection was accepted in
            // clear, but no transfer completed; list the login dir instead.
            Ok(Cleartext::NoSuchPath(done))
        }
        (_, 4 | 5) => Ok(Cleartext::Refused(
            done,
            "the cleartext transfer was refused",
        )),
        (Ok(Err(why)), _) => Ok(Cleartext::Broken(why)),
        (Err(_), _) => Ok(Cleartext::Broken(
            "cleartext data not finished in time".into(),
        )),
        (Ok(Ok(())), _) => Ok(Cleartext::Broken(format!("unexpected reply {done}"))),
    }
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
        let config = LoginConfig::new("alice", Secret::new("hunter2")).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn login_config_refuses_line_breaks_and_empty_values() {
        let bad = |u: &str, p: &str| LoginConfig::new(u, Secret::new(p)).unwrap_err();
        assert_eq!(bad("a\r\nDELE x", "p"), LoginConfigError::UserHasLineBreak);
        assert_eq!(
            bad("alice", "p\nSITE CHMOD 777 /"),
            LoginConfigError::PasswordHasLineBreak
        );
        assert_eq!(bad("alice", ""), LoginConfigError::EmptyPassword);
        assert_eq!(bad("", "p"), LoginConfigError::EmptyUser);
        assert!(LoginConfig::default().is_anonymous());
        assert!(!LoginConfig::new("alice", Secret::new("p"))
            .unwrap()
            .is_anonymous());
    }

    #[test]
    fn outcomes_serialize_as_report_values() {
        assert_eq!(
            serde_json::to_string(&PassivePort::Unreachable).unwrap(),
            "\"unreachable\""
        );
        assert_eq!(ProtC::Accepted.as_str(), "accepted");
        let back: CleartextLogin = serde_json::from_str("\"allowed\"").unwrap();
        assert_eq!(back, CleartextLogin::Allowed);
    }

    fn reply(code: u16, text: &str) -> Reply {
        let raw = format!("{code} {text}\r\n");
        match crate::ftp::parse_reply(raw.as_bytes(), 4096).unwrap() {
            crate::ftp::Parsed::Complete(r, _) => r,
            crate::ftp::Parsed::NeedMore => unreachable!(),
        }
    }

    #[test]
    fn path_refusals_are_told_from_protection_refusals() {
        assert!(refusal_is_about_the_path(&reply(
            450,
            "/.ftps-scan-no-such-path: No such file or directory"
        )));
        assert!(refusal_is_about_the_path(&reply(
            550,
            "No such file or directory."
        )));
        assert!(!refusal_is_about_the_path(&reply(
            522,
            "Data connections must be encrypted."
        )));
        assert!(!refusal_is_about_the_path(&reply(
            550,
            "SSL/TLS required on the data channel"
        )));
        assert!(!refusal_is_about_the_path(&reply(
            425,
            "Can't open data connection."
        )));
    }
}
