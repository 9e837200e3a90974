//! The per-endpoint plan: connect, greet, upgrade to TLS (explicit or
//! implicit), judge the certificate, then the posture checks.
//!
//! Each step has its own deadline and fills the report as it goes, so a
//! failure at any step keeps everything learnt before it (a failed handshake
//! still reports the banner and the AUTH answer).

mod auto;
pub mod connector;
mod explicit;
mod implicit;
pub mod posture;
pub mod session;
mod tap;
pub mod transfer;
pub mod versions;

use crate::config::ScanConfig;
use crate::endpoint::Endpoint;
use crate::ftp::{ControlConnection, FtpError, Reply};
use crate::model::{ClientCert, EndpointReport, Mode, Phase, Status};
use crate::tls::session::{EndpointTls, MainSession, Negotiated};
use connector::Connector;
use rustls_pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite};

/// What every probe of a run shares.
pub struct ProbeContext {
    pub config: Arc<ScanConfig>,
    pub connector: Connector,
}

/// Why the plan stopped early: the report's status, phase and message.
#[derive(Debug)]
pub struct Failure {
    pub status: Status,
    pub phase: Phase,
    pub message: String,
}

impl Failure {
    pub fn new(status: Status, phase: Phase, message: impl Into<String>) -> Self {
        Self {
            status,
            phase,
            message: message.into(),
        }
    }

    /// A control-channel error in `phase` (the ftp layer knows no phases:
    /// the step that awaited `what` does): timeouts keep their status;
    /// bytes that are not FTP make the endpoint `not-ftp` when they come in
    /// place of a greeting, else an `error`.
    pub fn from_ftp(e: FtpError, phase: Phase, what: &str) -> Self {
        let status = match &e {
            FtpError::Timeout(_) => Status::Timeout,
            FtpError::Reply(crate::ftp::ReplyError::Malformed(_))
                if matches!(phase, Phase::Greeting | Phase::GreetingAfterTls) =>
            {
                Status::NotFtp
            }
            _ => Status::Error,
        };
        let message = match &e {
            FtpError::Timeout(d) => {
                format!("no {what} within {}", crate::ftp::control::humantime(*d))
            }
            other => format!("{what}: {other}"),
        };
        Self::new(status, phase, message)
    }
}

/// Scans one endpoint. Never fails: every outcome is a report.
pub async fn probe_endpoint(endpoint: &Endpoint, ctx: &ProbeContext) -> EndpointReport {
    let started = std::time::Instant::now();
    let mut report = endpoint.blank_report(now_utc());
    if let Some(reason) = &endpoint.dns_error {
        report.status = Status::DnsError;
        report.failed_phase = Some(Phase::Resolve);
        report.error = Some(reason.clone());
        return report;
    }
    let outcome = match endpoint.ip {
        None => Err(Failure::new(
            Status::Error,
            Phase::Resolve,
            "no address to scan",
        )),
        Some(ip) => {
            EndpointSession::new(endpoint, ip, ctx)
                .run(&mut report)
                .await
        }
    };
    record_outcome(&mut report, outcome);
    let (path, reason) = transfer::judge(&report, ctx.config.posture.data);
    report.transfer_path = Some(path);
    report.transfer_path_reason = Some(reason);
    let login = &ctx.config.posture.login;
    if !login.is_anonymous() {
        redact_secret(&mut report, login.password.expose());
    }
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    report
}

/// The status, phase and message of how the plan ended.
fn record_outcome(report: &mut EndpointReport, outcome: Result<(), Failure>) {
    match outcome {
        Err(failure) => {
            if failure.status == Status::ClientCertRequired {
                report.client_cert = Some(ClientCert::Required);
            }
            report.status = failure.status;
            report.failed_phase = Some(failure.phase);
            report.error = Some(failure.message);
        }
        Ok(()) => report.status = Status::Ok,
    }
}

/// The accepted versions and, from a legacy-only server, the chain its
/// version probe saw in the clear.
type Versions = (
    crate::model::tls::VersionReport,
    Option<(String, Vec<Vec<u8>>)>,
);

/// One endpoint's scan: what every step needs (the address, the TLS client
/// and the name it checks, the run's context, the mode once known), so the
/// steps take the session and the report instead of lists of parameters.
pub struct EndpointSession<'a> {
    pub endpoint: &'a Endpoint,
    pub addr: SocketAddr,
    pub tls: EndpointTls,
    pub server_name: ServerName<'static>,
    pub ctx: &'a ProbeContext,
    /// The mode, once known: at once unless it is to be detected (then
    /// [`auto::run`] sets it, before the session is established).
    pub mode: std::sync::OnceLock<Mode>,
}

impl<'a> EndpointSession<'a> {
    fn new(endpoint: &'a Endpoint, ip: std::net::IpAddr, ctx: &'a ProbeContext) -> Self {
        let mode = std::sync::OnceLock::new();
        if !endpoint.detect_mode {
            let _ = mode.set(endpoint.mode);
        }
        Self {
            endpoint,
            addr: SocketAddr::new(ip, endpoint.port),
            tls: EndpointTls::new(),
            server_name: server_name_for(endpoint),
            ctx,
            mode,
        }
    }

    /// The plan: the main session with the version probes beside it, the
    /// client-certificate fact, the cleartext checks beside any version
    /// probes still to run, then the certificate judged.
    async fn run(&self, report: &mut EndpointReport) -> Result<(), Failure> {
        let (result, early_versions) = self.main_session_and_versions(report).await;
        self.record_client_cert(report);
        let did_tls = match &result {
            Ok(()) => true,
            Err(f) => {
                matches!(f.status, Status::TlsFailed | Status::ClientCertRequired)
                    || (f.status == Status::NotFtp && f.phase == Phase::GreetingAfterTls)
            }
        };
        let posture = report.posture.take();
        let (posture, versions) = tokio::join!(
            self.cleartext_checks(&report.ftp, report.mode, posture),
            self.late_versions(early_versions, did_tls, report.mode),
        );
        report.posture = posture;
        let mut legacy_chain = None;
        if let Some((versions, chain)) = versions {
            report.versions = Some(versions);
            legacy_chain = chain;
        }
        self.judge_certificate(report, legacy_chain);
        result
    }

    /// The main session (explicit, implicit, or detected), with the version
    /// probes started as soon as it is established (TLS is on offer:
    /// nothing of theirs depends on the rest of the session), beside it
    /// within the per-host cap; about nine round trips fewer per endpoint
    /// than after it.
    async fn main_session_and_versions(
        &self,
        report: &mut EndpointReport,
    ) -> (Result<(), Failure>, Option<Versions>) {
        let mut established = self.tls.established();
        let (session_over, mut over) = tokio::sync::watch::channel(false);
        let main = async {
            let result = match (self.endpoint.detect_mode, self.endpoint.mode) {
                (true, _) => auto::run(self, report).await,
                (false, Mode::Explicit) => explicit::run(self, report, None).await,
                (false, Mode::Implicit) => implicit::run(self, report).await,
            };
            session_over.send_replace(true);
            result
        };
        let early_versions = async {
            if !self.ctx.config.versions {
                return None;
            }
            tokio::select! {
                biased;
                Ok(_) = established.wait_for(|s| matches!(s, MainSession::Up(_))) => {}
                _ = over.wait_for(|o| *o) => {}
            };
            // Ended before it was established: the probes run afterwards
            // if TLS was on offer at all.
            let MainSession::Up(negotiated) = *established.borrow() else {
                return None;
            };
            let mode = *self.mode.get().unwrap_or(&self.endpoint.mode);
            Some(versions::probe_versions(&self.version_plan(mode, negotiated)).await)
        };
        tokio::join!(main, early_versions)
    }

    /// `negotiated`: what the main session settled, if it was established
    /// (its version is then not probed again).
    fn version_plan(
        &self,
        mode: Mode,
        negotiated: Option<Negotiated>,
    ) -> versions::VersionPlan<'_> {
        versions::VersionPlan {
            opener: session::Opener::new(&self.ctx.connector, &self.ctx.config.timeouts),
            addr: self.addr,
            mode,
            sni: self.endpoint.host.as_ref().map(|h| h.to_string()),
            probe_timeout: self.ctx.config.timeouts.tls,
            ciphers: self.ctx.config.ciphers,
            negotiated,
        }
    }

    /// `client_cert`, once a handshake got far enough to tell.
    fn record_client_cert(&self, report: &mut EndpointReport) {
        let requested = self.tls.client_cert_requested();
        if report.client_cert.is_none() && (report.tls.is_some() || requested) {
            report.client_cert = Some(if requested {
                ClientCert::Requested
            } else {
                ClientCert::None
            });
        }
    }

    /// After the main session has closed, each on its own plain connection
    /// (the posture given comes back untouched when none runs):
    /// the cleartext login, then a command in clear after AUTH (explicit
    /// servers that greeted only).
    async fn cleartext_checks(
        &self,
        ftp: &crate::model::FtpFacts,
        mode: Mode,
        posture: Option<posture::Posture>,
    ) -> Option<posture::Posture> {
        let ctx = self.ctx;
        let greeted = ftp.banner.as_ref().is_some_and(|b| b.code == 220);
        if !(ctx.config.posture.enabled && mode == Mode::Explicit && greeted) {
            return posture;
        }
        let agreed = session::auth_agreed(ftp.auth_tls_reply.as_ref(), ftp.auth_ssl_reply.as_ref());
        let mut posture = posture.unwrap_or_default();
        posture::check_cleartext_login(self.addr, ctx, &mut posture).await;
        if agreed {
            posture::check_cleartext_after_auth(self.addr, ctx, &mut posture).await;
        }
        Some(posture)
    }

    /// The version probes that did not start early: after the session,
    /// when TLS was on offer.
    async fn late_versions(
        &self,
        early: Option<Versions>,
        did_tls: bool,
        mode: Mode,
    ) -> Option<Versions> {
        match early {
            Some(done) => Some(done),
            None if self.ctx.config.versions && did_tls => {
                Some(versions::probe_versions(&self.version_plan(mode, None)).await)
            }
            None => None,
        }
    }

    /// Judges whatever chain the server showed, even if a later step
    /// failed: a bad certificate must never hide behind a failure. The main
    /// session's chain comes first; a server that only speaks legacy TLS
    /// still shows its chain in the clear in the first flight of a version
    /// probe.
    fn judge_certificate(
        &self,
        report: &mut EndpointReport,
        legacy_chain: Option<(String, Vec<Vec<u8>>)>,
    ) {
        if report.certificate.is_some() {
            return;
        }
        let session_chain = self.tls.recorded_chain().map(|chain| {
            let source = report
                .tls
                .as_ref()
                .map(|t| format!("{} session", t.version))
                .unwrap_or_else(|| "failed handshake".into());
            (source, chain)
        });
        let legacy = legacy_chain
            .map(|(source, chain)| (source, chain.into_iter().map(Into::into).collect()));
        if let Some((source, chain)) = session_chain.or(legacy) {
            report.certificate = crate::tls::cert::judge(
                &chain,
                Some(&self.server_name),
                &self.ctx.config.trust,
                now_utc(),
                &source,
            );
        }
    }
}

/// SNI and name check: the hostname when the user gave one, else the IP,
/// by the one hostname rule ([`crate::hostname::server_name`]).
pub fn server_name_for(endpoint: &Endpoint) -> ServerName<'static> {
    let ip = endpoint.ip.unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    crate::hostname::server_name(endpoint.host.as_deref(), ip)
}

pub fn now_utc() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Replaces every occurrence of `secret` in the report's text (a server
/// that echoes the password back must not get it into a report). Done on
/// the serialized form, so no field is forgotten.
fn redact_secret(report: &mut EndpointReport, secret: &str) {
    /// Replaces in every string (no short-circuit: all of them); sets `hit`.
    fn walk(value: &mut serde_json::Value, secret: &str, hit: &mut bool) {
        match value {
            serde_json::Value::String(s) if s.contains(secret) => {
                *s = s.replace(secret, "***");
                *hit = true;
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, secret, hit)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|v| walk(v, secret, hit)),
            _ => {}
        }
    }
    if secret.is_empty() {
        return;
    }
    let Ok(mut value) = serde_json::to_value(&*report) else {
        return;
    };
    let mut hit = false;
    walk(&mut value, secret, &mut hit);
    if !hit {
        return;
    }
    match serde_json::from_value::<EndpointReport>(value) {
        Ok(clean) => *report = clean,
        Err(_) => {
            // Cannot happen for our own serialization; never keep the secret.
            report.ftp = Default::default();
            report.posture = None;
            report.error = Some("report withheld: it contained the password".into());
            report.status = Status::Error;
        }
    }
}

/// A greeting that is not 220 ends the plan: 421 is "too many connections"
/// or "service not available", anything else is not a usable FTP service.
pub fn check_greeting(reply: &Reply, phase: Phase) -> Result<(), Failure> {
    match reply.code {
        220 => Ok(()),
        421 => Err(Failure::new(
            Status::Error,
            phase,
            format!("server refused the session (busy or limiting connections): {reply}"),
        )),
        _ => Err(Failure::new(
            Status::Error,
            phase,
            format!("greeting is not 220: {reply}"),
        )),
    }
}

/// FEAT: the features advertised. A refusal or timeout is recorded and the
/// plan goes on: FEAT is informative, not required (RFC 2389).
pub async fn read_features<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut ControlConnection<S>,
    ctx: &ProbeContext,
    report: &mut EndpointReport,
) -> Result<(), Failure> {
    match conn.command("FEAT", ctx.config.timeouts.read).await {
        Ok(reply) => {
            if reply.code == 211 {
                let inner = reply.lines.len().saturating_sub(1);
                report.ftp.feat = Some(
                    reply
                        .lines
                        .iter()
                        .take(inner)
                        .skip(1)
                        .map(|l| l.trim().to_string())
                        .filter(|l| !l.is_empty())
                        .collect(),
                );
            }
            report.ftp.feat_reply = Some(reply);
            Ok(())
        }
        Err(e) if e.is_timeout() => Ok(()),
        Err(e) => Err(Failure::from_ftp(e, Phase::Feat, "reply to FEAT")),
    }
}

/// QUIT politely; its answer is informative only.
pub async fn quit<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut ControlConnection<S>,
    ctx: &ProbeContext,
    report: &mut EndpointReport,
) {
    let timeout = ctx
        .config
        .timeouts
        .read
        .min(std::time::Duration::from_secs(2));
    if let Ok(reply) = conn.command("QUIT", timeout).await {
        report.ftp.quit_reply = Some(reply);
    }
}

/// A handshake that did not complete: a timeout keeps its status; an
/// alert after a CertificateRequest means a client certificate is required.
pub fn handshake_failure(e: crate::tls::session::HandshakeError, tls: &EndpointTls) -> Failure {
    use crate::tls::session::{is_client_cert_alert, HandshakeError};
    match &e {
        HandshakeError::Timeout(_) => Failure::new(Status::Timeout, Phase::TlsHandshake, e.to_string()),
        HandshakeError::Failed {
            alert: Some(alert), ..
        } if tls.client_cert_requested() && is_client_cert_alert(*alert) => Failure::new(
            Status::ClientCertRequired,
            Phase::TlsHandshake,
            format!("server requires a client certificate: the handshake without one ended with alert {alert:?}"),
        ),
        _ => Failure::new(Status::TlsFailed, Phase::TlsHandshake, e.to_string()),
    }
}

/// A control-channel error right after the handshake (in `phase`) that is
/// really the TLS 1.3 way of refusing a client without a certificate: the
/// handshake completes on the client's side and the first read gets alert
/// 116.
pub fn client_cert_refusal(e: &FtpError, phase: Phase, tls: &EndpointTls) -> Option<Failure> {
    let FtpError::Io(io) = e else {
        return None;
    };
    let alert = crate::tls::session::alert_of(io)?;
    (tls.client_cert_requested() && crate::tls::session::is_client_cert_alert(alert)).then(|| {
        Failure::new(
            Status::ClientCertRequired,
            phase,
            format!("server requires a client certificate: alert {alert:?} at the first read after the handshake"),
        )
    })
}

/// Records version, suite and SNI of the established main session.
pub fn record_session<S>(
    report: &mut EndpointReport,
    stream: &tokio_rustls::client::TlsStream<S>,
    server_name: &ServerName<'static>,
    via_auth_ssl: bool,

    tls: &EndpointTls,
) {
    let (version, cipher) = crate::tls::session::session_facts(stream.get_ref().1);
    tls.mark_established(crate::tls::session::Negotiated::of(stream.get_ref().1));
    let signature_error = tls.signature_error();
    report.tls = Some(crate::model::TlsSession {
        version,
        cipher,
        sni: match server_name {
            ServerName::DnsName(d) => Some(d.as_ref().to_string()),
            _ => None,
        },
        via_auth_ssl,
        handshake_signature_verified: signature_error.is_none(),
        handshake_signature_error: signature_error,
    });
}

/// The steps on an established FTPS control channel, common to both modes:
/// the certificate judged (the login depends on it), the posture checks,
/// then QUIT.
pub async fn after_tls<S: AsyncRead + AsyncWrite + Unpin>(
    mut control: ControlConnection<tokio_rustls::client::TlsStream<S>>,
    session: &EndpointSession<'_>,
    report: &mut EndpointReport,
) -> Result<(), Failure> {
    let (addr, tls, server_name, ctx) = (
        session.addr,
        &session.tls,
        &session.server_name,
        session.ctx,
    );
    if let Some(chain) = tls.recorded_chain() {
        let source = report
            .tls
            .as_ref()
            .map(|t| format!("{} session", t.version))
            .unwrap_or_default();
        report.certificate = crate::tls::cert::judge(
            &chain,
            Some(server_name),
            &ctx.config.trust,
            now_utc(),
            &source,
        );
    }
    if tls.client_cert_requested() {
        // TLS 1.3 servers that require a certificate refuse it only after
        // the handshake, at the first read: find out before anything else.
        if let Err(e) = control.command("NOOP", ctx.config.timeouts.read).await {
            if let Some(failure) = client_cert_refusal(&e, Phase::TlsHandshake, tls) {
                return Err(failure);
            }
        }
    }
    if ctx.config.posture.enabled {
        let mut posture = report.posture.take().unwrap_or_default();
        let verified = verified_for_credentials(report);
        let checked = posture::check_over_tls(
            &mut control,
            posture::SessionContext {
                addr,
                tls,
                server_name,
                verified,
            },
            ctx,
            &mut posture,
        )
        .await;
        // The FTPS session itself was established, so the status stays ok;
        // a posture step that fails (a timeout, a dropped connection) is
        // recorded with its phase, and what was learnt before it stays.
        if let Err(failure) = checked {
            posture.error = Some(format!("{}: {}", failure.phase, failure.message));
            report.posture = Some(posture);
            return Ok(());
        }
        // Last: afterwards the session may be in clear.
        if posture.login == Some(posture::Login::Ok) {
            let after = posture::check_ccc(control, ctx, &mut posture).await;
            report.posture = Some(posture);
            match after {
                posture::AfterCcc::Tls(mut tls) => quit(tls.as_mut(), ctx, report).await,
                posture::AfterCcc::Clear(mut clear) => quit(&mut clear, ctx, report).await,
                posture::AfterCcc::Gone => {}
            }
            return Ok(());
        }
        report.posture = Some(posture);
    }
    quit(&mut control, ctx, report).await;
    Ok(())
}

/// Whether this session proves who the server is (a trusted chain, the
/// name or IP scanned, a verified handshake signature): the condition for
/// sending a user's real password. `Err` says why not.
fn verified_for_credentials(report: &EndpointReport) -> Result<(), String> {
    let Some(cert) = &report.certificate else {
        return Err("no certificate was judged".into());
    };
    if !cert.trusted {
        return Err(format!(
            "certificate not trusted ({})",
            cert.trust_error
                .as_ref()
                .map_or("unknown reason", |t| t.as_str())
        ));
    }
    if cert.name_match != Some(true) {
        return Err(format!(
            "certificate not valid for {}",
            cert.name_checked.as_deref().unwrap_or("the name scanned")
        ));
    }
    match report
        .tls
        .as_ref()
        .and_then(|t| t.handshake_signature_error.as_ref())
    {
        Some(why) => Err(format!("handshake signature not verified ({why})")),
        None => Ok(()),
    }
}
