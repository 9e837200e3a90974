//! An audit-only certificate verifier: it records the chain and accepts it.
//!
//! An audit tool must finish the handshake with servers whose certificates
//! are expired, self-signed or for another name, or it could report nothing
//! about them. The chain is judged afterwards by [`super::cert::judge`].
//! Handshake signatures are still verified, so the peer must hold the key of
//! the certificate it shows.
//!
//! One verifier is made per endpoint so that what it records belongs to that
//! endpoint alone; it records even when the handshake fails later.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct RecordingAcceptVerifier {
    algorithms: WebPkiSupportedAlgorithms,
    recorded: Mutex<Option<Vec<CertificateDer<'static>>>>,
}

impl RecordingAcceptVerifier {
    pub fn new(algorithms: WebPkiSupportedAlgorithms) -> Arc<Self> {
        Arc::new(Self {
            algorithms,
            recorded: Mutex::new(None),
        })
    }

    /// The chain the server presented (leaf first), if it got that far.
    pub fn recorded_chain(&self) -> Option<Vec<CertificateDer<'static>>> {
        self.recorded.lock().ok().and_then(|guard| guard.clone())
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
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
