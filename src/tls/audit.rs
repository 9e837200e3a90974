//! An audit-only certificate verifier: it records the chain and accepts it.
//!
//! An audit tool must finish the handshake with servers whose certificates
//! are expired, self-signed or for another name, or it could report nothing
//! about them. The chain is judged afterwards by [`super::cert::judge`].
//!
//! Handshake signatures are verified, so normally the peer must hold the key
//! of the certificate it shows. When a signature cannot be verified (ring
//! refuses RSA keys under 2048 bits, so every RSA-1024 server fails here,
//! and those are exactly the servers a compliance sweep exists to find) the
//! failure is recorded instead of ending the handshake: the audit goes on,
//! the report says the handshake signature was not verified and why, and no
//! user password is ever sent on such a session (see the posture checks).
//!
//! The verifier also serves as the client-certificate resolver: it has no
//! certificate to offer, but notes that the server asked for one (a TLS
//! CertificateRequest), which tells `client_cert=requested` from `none`.
//!
//! One verifier is made per endpoint so that what it records belongs to that
//! endpoint alone; it records even when the handshake fails later.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct RecordingAcceptVerifier {
    algorithms: WebPkiSupportedAlgorithms,
    recorded: Mutex<Option<Vec<CertificateDer<'static>>>>,
    /// Why a handshake signature did not verify (first failure only).
    signature_error: Mutex<Option<String>>,
    client_cert_requested: AtomicBool,
}

impl RecordingAcceptVerifier {
    pub fn new(algorithms: WebPkiSupportedAlgorithms) -> Arc<Self> {
        Arc::new(Self {
            algorithms,
            recorded: Mutex::new(None),
            signature_error: Mutex::new(None),
            client_cert_requested: AtomicBool::new(false),
        })
    }

    /// The chain the server presented (leaf first), if it got that far.
    pub fn recorded_chain(&self) -> Option<Vec<CertificateDer<'static>>> {
        self.recorded.lock().ok().and_then(|guard| guard.clone())
    }

    /// Why a handshake signature could not be verified, if one could not.
    pub fn signature_error(&self) -> Option<String> {
        self.signature_error.lock().ok().and_then(|g| g.clone())
    }

    /// Whether the server sent a CertificateRequest in any handshake so far.
    pub fn client_cert_requested(&self) -> bool {
        self.client_cert_requested.load(Ordering::Relaxed)
    }

    /// Turns a failed signature check into a recorded fact and lets the
    /// handshake go on (see the module docs for why this is safe here).
    fn tolerate(
        &self,
        result: Result<HandshakeSignatureValid, rustls::Error>,
        cert: &CertificateDer<'_>,
        scheme: SignatureScheme,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        match result {
            Ok(valid) => Ok(valid),
            Err(e) => {
                let why = explain_signature_failure(&e, cert, scheme);
                if let Ok(mut guard) = self.signature_error.lock() {
                    guard.get_or_insert(why);
                }
                Ok(HandshakeSignatureValid::assertion())
            }
        }
    }
}

/// `RSA-1024 key: the crypto provider verifies RSA signatures of 2048 bits
/// and more only (RSA_PSS_SHA256: invalid peer certificate: BadSignature)`.
fn explain_signature_failure(
    e: &rustls::Error,
    cert: &CertificateDer<'_>,
    scheme: SignatureScheme,
) -> String {
    let key = x509_parser::parse_x509_certificate(cert.as_ref())
        .ok()
        .map(|(_, c)| super::cert::describe_key(&c));
    match key {
        Some((name, Some(bits))) if name.starts_with("RSA") && bits < 2048 => format!(
            "{name} key: the crypto provider verifies RSA signatures of 2048 bits and more only ({scheme:?}: {e})"
        ),
        Some((name, _)) => format!("{name} key: {scheme:?} signature did not verify: {e}"),
        None => format!("{scheme:?} signature did not verify: {e}"),
    }
}

impl ServerCertVerifier for RecordingAcceptVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone().into_owned());
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut guard) = self.recorded.lock() {
            *guard = Some(chain);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = verify_tls12_signature(message, cert, dss, &self.algorithms);
        self.tolerate(result, cert, dss.scheme)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let result = verify_tls13_signature(message, cert, dss, &self.algorithms);
        self.tolerate(result, cert, dss.scheme)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// No client certificate to offer; only the request is noted.
impl ResolvesClientCert for RecordingAcceptVerifier {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.client_cert_requested.store(true, Ordering::Relaxed);
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}
