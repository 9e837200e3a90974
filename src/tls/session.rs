//! The scanner's real TLS sessions (TLS 1.2 and 1.3, through rustls).

use super::audit::RecordingAcceptVerifier;
use rustls::client::{ClientSessionMemoryCache, ClientSessionStore, Resumption, Tls12Resumption};
use rustls::crypto::CryptoProvider;
use rustls::ClientConfig;
use rustls_pki_types::{CertificateDer, ServerName};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// The crypto provider every session uses. ring is chosen over aws-lc-rs for
/// a build with no C toolchain beyond cc.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A TLS client for one endpoint: its own verifier (so the recorded chain is
/// this endpoint's) and its own session cache (so the data channel can
/// resume the control channel's session, and nothing leaks between
/// endpoints).
pub struct EndpointTls {
    pub config: Arc<ClientConfig>,
    /// The same client without session resumption: a data connection on a
    /// fresh session tells whether the server demands session reuse.
    fresh: Arc<ClientConfig>,
    verifier: Arc<RecordingAcceptVerifier>,
    /// Set once the endpoint's main session is established, with what it
    /// negotiated: steps that need only "TLS works here" (the version
    /// probes) start then, beside the rest of the session, instead of after
    /// it, and need not ask again for the version it settled.
    established: tokio::sync::watch::Sender<MainSession>,
}

/// How far the endpoint's main session has come, as the steps beside it
/// see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MainSession {
    #[default]
    NotYet,
    /// Established, with what it negotiated (`None` only if rustls could
    /// not say, which for an established connection it always can).
    Up(Option<Negotiated>),
}

/// What the main session's handshake settled, as wire values: the version
/// is accepted by behaviour (a completed handshake), which is the fact a
/// version probe would establish for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Negotiated {
    pub version: u16,
    pub cipher: u16,
}

impl Negotiated {
    /// The version and suite of an established connection, if any.
    pub fn of(conn: &rustls::ClientConnection) -> Option<Negotiated> {
        Some(Negotiated {
            version: u16::from(conn.protocol_version()?),
            cipher: u16::from(conn.negotiated_cipher_suite()?.suite()),
        })
    }
}

/// The parts of a client configuration every endpoint shares, built once:
/// building a provider and config per endpoint showed up in dead sweeps.
fn base_config() -> &'static (Arc<CryptoProvider>, ClientConfig) {
    static BASE: std::sync::OnceLock<(Arc<CryptoProvider>, ClientConfig)> =
        std::sync::OnceLock::new();
    BASE.get_or_init(|| {
        let provider = provider();
        let placeholder = RecordingAcceptVerifier::new(provider.signature_verification_algorithms);
        let config = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map(|b| {
                b.dangerous()
                    .with_custom_certificate_verifier(placeholder.clone())
                    .with_no_client_auth()
            })
            // The ring provider supports both versions; this cannot fail, but
            // fall back to the safe default rather than panic if it did.
            .unwrap_or_else(|_| {
                ClientConfig::builder()
                    .dangerous()
                    .with_custom_certificate_verifier(placeholder)
                    .with_no_client_auth()
            });
        (provider, config)
    })
}

impl EndpointTls {
    pub fn new() -> Self {
        let (provider, base) = base_config();
        let verifier = RecordingAcceptVerifier::new(provider.signature_verification_algorithms);
        let mut config = base.clone();
        config
            .dangerous()
            .set_certificate_verifier(verifier.clone());
        config.client_auth_cert_resolver = verifier.clone();
        let mut fresh = config.clone();
        // `Resumption::in_memory_sessions(4)`, with the store at hand.
        let store: Arc<dyn ClientSessionStore> = Arc::new(ClientSessionMemoryCache::new(4));
        config.resumption = Resumption::store(store.clone());
        // Never resumes, but offers its key share in the group this
        // endpoint's server chose before (rustls remembers it per server
        // name): without that, a server that wants another group than our
        // first (vsftpd takes P-256 only) costs a HelloRetryRequest, an
        // extra key pair and a round trip on every fresh data connection.
        // The hello is otherwise that of `Resumption::disabled()`.
        fresh.resumption = Resumption::store(Arc::new(KxHintOnly(store)))
            .tls12_resumption(Tls12Resumption::Disabled);
        Self {
            config: Arc::new(config),
            fresh: Arc::new(fresh),
            verifier,
            established: tokio::sync::watch::channel(MainSession::NotYet).0,
        }
    }

    /// Marks the main session as established, with what it negotiated.
    pub fn mark_established(&self, negotiated: Option<Negotiated>) {
        self.established.send_replace(MainSession::Up(negotiated));
    }

    /// A receiver that sees [`EndpointTls::mark_established`].
    pub fn established(&self) -> tokio::sync::watch::Receiver<MainSession> {
        self.established.subscribe()
    }

    pub fn recorded_chain(&self) -> Option<Vec<CertificateDer<'static>>> {
        self.verifier.recorded_chain()
    }

    /// Why a handshake signature was not verified (the audit went on).
    pub fn signature_error(&self) -> Option<String> {
        self.verifier.signature_error()
    }

    /// Whether the server asked for a client certificate.
    pub fn client_cert_requested(&self) -> bool {
        self.verifier.client_cert_requested()
    }

    /// A handshake that never resumes an earlier session.
    pub async fn handshake_fresh<S>(
        &self,
        stream: S,
        server_name: ServerName<'static>,
        timeout: Duration,
    ) -> Result<TlsStream<S>, HandshakeError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        run_handshake(self.fresh.clone(), stream, server_name, timeout).await
    }

    /// Runs a client handshake on `stream` within `timeout`.
    pub async fn handshake<S>(
        &self,
        stream: S,
        server_name: ServerName<'static>,
        timeout: Duration,
    ) -> Result<TlsStream<S>, HandshakeError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        run_handshake(self.config.clone(), stream, server_name, timeout).await
    }
}

/// A session store that shares the key-exchange hints of another store
/// and keeps no sessions: nothing it serves can be resumed.
#[derive(Debug)]
struct KxHintOnly(Arc<dyn ClientSessionStore>);

impl ClientSessionStore for KxHintOnly {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: rustls::NamedGroup) {
        self.0.set_kx_hint(server_name, group);
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<rustls::NamedGroup> {
        self.0.kx_hint(server_name)
    }

    fn set_tls12_session(
        &self,
        _: ServerName<'static>,
        _: rustls::client::Tls12ClientSessionValue,
    ) {
    }

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<rustls::client::Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(
        &self,
        _: ServerName<'static>,
        _: rustls::client::Tls13ClientSessionValue,
    ) {
    }

    fn take_tls13_ticket(
        &self,
        _: &ServerName<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        None
    }
}

async fn run_handshake<S>(
    config: Arc<ClientConfig>,
    stream: S,
    server_name: ServerName<'static>,
    timeout: Duration,
) -> Result<TlsStream<S>, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let connector = TlsConnector::from(config);
    match tokio::time::timeout(timeout, connector.connect(server_name, stream)).await {
        Err(_) => Err(HandshakeError::Timeout(timeout)),
        Ok(Err(e)) => Err(HandshakeError::Failed {
            message: describe_io_error(&e),
            alert: alert_of(&e),
        }),
        Ok(Ok(s)) => Ok(s),
    }
}

/// The TLS alert the server sent, when an I/O error is one.
pub fn alert_of(e: &std::io::Error) -> Option<rustls::AlertDescription> {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => Some(*alert),
        _ => None,
    }
}

/// Whether an alert says "you need a client certificate": TLS 1.3's
/// certificate_required (116), or the alerts servers send in TLS 1.2 when
/// the client's Certificate message was empty.
pub fn is_client_cert_alert(alert: rustls::AlertDescription) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        alert,
        A::CertificateRequired
            | A::HandshakeFailure
            | A::BadCertificate
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
    )
}

impl Default for EndpointTls {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("TLS handshake not finished within {}", crate::ftp::control::humantime(*.0))]
    Timeout(Duration),
    #[error("TLS handshake failed: {message}")]
    Failed {
        message: String,
        /// The alert the server sent, if it sent one.
        alert: Option<rustls::AlertDescription>,
    },
}

fn describe_io_error(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => tls.to_string(),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "connection closed during the handshake".into()
        }
        None => e.to_string(),
    }
}

/// Facts of an established session: version and IANA suite name.
pub fn session_facts(conn: &rustls::ClientConnection) -> (String, String) {
    let version = conn
        .protocol_version()
        .map(version_name)
        .unwrap_or_default();
    let cipher = conn
        .negotiated_cipher_suite()
        .map(|s| iana_suite_name(s.suite()))
        .unwrap_or_default();
    (version, cipher)
}

/// The report's name of a negotiated version: the same names as the raw
/// probes' ([`crate::tls::raw::version_name`]).
pub fn version_name(v: rustls::ProtocolVersion) -> String {
    crate::tls::raw::version_name(u16::from(v))
}

/// rustls names TLS 1.3 suites `TLS13_...`; IANA says `TLS_...`.
pub fn iana_suite_name(suite: rustls::CipherSuite) -> String {
    let name = suite
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("0x{:04X}", u16::from(suite)));
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}
