//! Explicit FTPS: a plain control channel, `AUTH TLS` (or the legacy
//! `AUTH SSL`), then TLS on the same TCP stream.

use super::connector::HostConnection;
use super::{check_greeting, read_features, read_greeting, Failure, ProbeContext};
use crate::ftp::ControlConnection;
use crate::report::{EndpointReport, Phase, Status};
use crate::tls::session::EndpointTls;
use rustls_pki_types::ServerName;
use std::net::SocketAddr;

pub async fn run(
    addr: SocketAddr,
    server_name: &ServerName<'static>,
    tls: &EndpointTls,
    ctx: &ProbeContext,
    report: &mut EndpointReport,
) -> Result<(), Failure> {
    let timeouts = &ctx.config.timeouts;
    let HostConnection {
        stream,
        permit: _slot,
    } = ctx
        .connector
        .connect(addr, timeouts.connect)
        .await
        .map_err(|f| Failure::new(f.status, Phase::Connect, f.message))?;
    let mut control = ControlConnection::new(stream);
    let greeting = read_greeting(&mut control, ctx, Phase::Greeting)
        .await
        .map_err(|e| Failure::from_ftp(e, "FTP greeting"))?;
    report.ftp.banner = Some(greeting.clone());
    check_greeting(&greeting, Phase::Greeting)?;
    read_features(&mut control, ctx, report).await?;

    let auth = control
        .command("AUTH TLS", timeouts.read, Phase::Auth)
        .await
        .map_err(|e| Failure::from_ftp(e, "reply to AUTH TLS"))?;
    report.ftp.auth_tls_reply = Some(auth.clone());
    let mut via_auth_ssl = false;
    if auth.code != 234 {
        // Some old servers know only the draft's `AUTH SSL`.
        let ssl = control
            .command("AUTH SSL", timeouts.read, Phase::Auth)
            .await
            .map_err(|e| Failure::from_ftp(e, "reply to AUTH SSL"))?;
        report.ftp.auth_ssl_reply = Some(ssl.clone());
        // 334 is what some pre-RFC 4217 servers answer to AUTH SSL.
        if ssl.code != 234 && ssl.code != 334 {
            return Err(Failure::new(
                Status::NoTls,
                Phase::Auth,
                format!("server refused AUTH TLS ({auth}) and AUTH SSL ({ssl})"),
            ));
        }
        via_auth_ssl = true;
    }

    let stream = control
        .into_stream(Phase::TlsHandshake)
        .map_err(|e| Failure::new(Status::TlsFailed, Phase::TlsHandshake, e.kind.to_string()))?;
    let tls_stream = tls
        .handshake(stream, server_name.clone(), timeouts.tls)
        .await
        .map_err(super::handshake_failure)?;
    super::record_session(report, &tls_stream, server_name, via_auth_ssl);
    let mut control = ControlConnection::new(tls_stream);
    super::after_tls(&mut control, addr, tls, server_name, ctx, report).await
}
