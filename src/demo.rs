//! The built-in demo: local FTPS endpoints on 127.0.0.1 with certificates
//! from a throw-away CA, to be scanned by the real scanner.
//!
//! A fresh machine has no FTPS servers of its own; the demo shows what the
//! scanner reports on each kind of endpoint without touching any network
//! beyond loopback.

use crate::testbed::{
    closed_port, server_config, CertKind, ServerSpec, TestPki, TestServer, Witness,
};
use crate::tls::trust::TrustStore;

/// The demo endpoints, alive as long as this value is.
pub struct DemoFleet {
    _servers: Vec<TestServer>,
    /// Target lines to scan (`127.0.0.1:PORT`), with a description each.
    pub targets: Vec<(String, &'static str)>,
    /// Trusts the demo CA only, so the valid certificates come out trusted.
    pub trust: TrustStore,
    pub ca_pem: String,
    /// The FTP bounce check's third party: a listener on loopback
    /// (127.0.0.2), so the demo sends nothing beyond 127.0.0.0/8.
    pub bounce: Witness,
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Pki(#[from] crate::testbed::pki::PkiError),
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error("cannot listen on 127.0.0.1: {0}")]
    Io(#[from] std::io::Error),
}

/// How a demo endpoint is written in the target list.
#[derive(Clone, Copy)]
enum Written {
    /// `ftp://` or `ftps://`: the mode is given.
    WithScheme,
    /// A bare address on a port of its own: the mode is detected.
    Bare,
}

/// Starts the demo fleet.
pub async fn start() -> Result<DemoFleet, DemoError> {
    let pki = TestPki::new("ftps-scan demo CA")?;
    let both = &[&rustls::version::TLS13, &rustls::version::TLS12];
    let only12 = &[&rustls::version::TLS12];
    let tls =
        |kind, versions: &[&'static rustls::SupportedProtocolVersion]| -> Result<_, DemoError> {
            Ok(Some(server_config(&pki.issue(kind)?, versions)?))
        };
    let plans: Vec<(&'static str, Written, ServerSpec)> = vec![
        (
            "explicit FTPS, valid certificate, TLS required for login",
            Written::WithScheme,
            ServerSpec {
                greeting: vec![
                    "Welcome to the demo FTPS server".into(),
                    "Authorised use only".into(),
                ],
                tls: tls(CertKind::Valid, both)?,
                require_tls_for_login: true,
                allow_prot_c: false,
                require_session_reuse: true,
                ..Default::default()
            },
        ),
        (
            "implicit FTPS, valid certificate, TLS 1.2 only",
            Written::WithScheme,
            ServerSpec {
                tls: tls(CertKind::Valid, only12)?,
                implicit: true,
                require_tls_for_login: true,
                allow_prot_c: false,
                ..Default::default()
            },
        ),
        (
            "explicit FTPS, expired certificate",
            Written::WithScheme,
            ServerSpec {
                tls: tls(CertKind::Expired, both)?,
                require_tls_for_login: true,
                allow_prot_c: false,
                ..Default::default()
            },
        ),
        (
            "explicit FTPS, self-signed certificate, TLS optional",
            Written::WithScheme,
            ServerSpec {
                tls: tls(CertKind::SelfSigned, both)?,
                ..Default::default()
            },
        ),
        (
            "implicit FTPS, certificate for another name, mode detected",
            Written::Bare,
            ServerSpec {
                tls: tls(CertKind::WrongName, both)?,
                implicit: true,
                require_tls_for_login: true,
                allow_prot_c: false,
                ..Default::default()
            },
        ),
        (
            "plain FTP, no TLS at all",
            Written::WithScheme,
            ServerSpec {
                features: vec!["UTF8".into(), "EPSV".into()],
                ..Default::default()
            },
        ),
    ];
    let mut servers = Vec::new();
    let mut targets = Vec::new();
    for (what, target, spec) in plans {
        let mode_hint = match (target, spec.implicit) {
            (Written::Bare, _) => "",
            (Written::WithScheme, true) => "ftps://",
            (Written::WithScheme, false) => "ftp://",
        };
        let server = TestServer::start(spec).await?;
        targets.push((format!("{mode_hint}{}", server.addr), what));
        servers.push(server);
    }
    let bounce = Witness::start(std::net::IpAddr::from([127, 0, 0, 2])).await?;
    let dead = closed_port().await?;
    targets.push((format!("ftp://{dead}"), "nothing listening"));
    Ok(DemoFleet {
        _servers: servers,
        targets,
        trust: pki.trust_store(),
        ca_pem: pki.ca_pem().to_string(),
        bounce,
    })
}
