//! Which roots a certificate is judged against.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use std::path::Path;

/// Where trust anchors come from (`--trust`, `--ca-file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    /// Mozilla's root program, compiled in (webpki-roots): the same answer
    /// on every machine, so reports from different hosts agree.
    Mozilla,
    /// The operating system's store (rustls-native-certs).
    System,
    /// Only the CA certificates in this PEM file (a private PKI).
    CaFile(std::path::PathBuf),
}

/// Trust anchors, loaded once per run.
#[derive(Debug, Clone)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    /// Human description for reports and the README (`mozilla`, `system`,
    /// `ca-file:/path`).
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read CA file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("CA file {path} holds no usable certificate")]
    EmptyCaFile { path: String },
    #[error("the system trust store yielded no certificates ({0})")]
    EmptySystem(String),
}

impl TrustStore {
    pub fn load(source: &TrustSource) -> Result<Self, TrustError> {
        match source {
            TrustSource::Mozilla => Ok(Self {
                anchors: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                description: "mozilla".into(),
            }),
            TrustSource::System => {
                let loaded = rustls_native_certs::load_native_certs();
                let anchors = anchors_from(loaded.certs.iter());
                if anchors.is_empty() {
                    let why = loaded
                        .errors
                        .first()
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "no certificates found".into());
                    return Err(TrustError::EmptySystem(why));
                }
                Ok(Self {
                    anchors,
                    description: "system".into(),
                })
            }
            TrustSource::CaFile(path) => Self::from_pem_file(path),
        }
    }

    pub fn from_pem_file(path: &Path) -> Result<Self, TrustError> {
        let shown = path.display().to_string();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| TrustError::CaFile {
                path: shown.clone(),
                message: e.to_string(),
            })?
            .collect::<Result<_, _>>()
            .map_err(|e| TrustError::CaFile {
                path: shown.clone(),
                message: e.to_string(),
            })?;
        let store = Self::from_ca_certs(&certs, format!("ca-file:{shown}"));
        if store.anchors.is_empty() {
            return Err(TrustError::EmptyCaFile { path: shown });
        }
        Ok(store)
    }

    /// Trust exactly these CA certificates (DER); unusable ones are skipped.
    pub fn from_ca_certs(certs: &[CertificateDer<'_>], description: String) -> Self {
        Self {
            anchors: anchors_from(certs.iter()),
            description,
        }
    }

    pub fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }
}

fn anchors_from<'a>(
    certs: impl Iterator<Item = &'a CertificateDer<'a>>,
) -> Vec<TrustAnchor<'static>> {
    certs
        .filter_map(|c| {
            webpki::anchor_from_trusted_cert(c)
                .ok()
                .map(|a| a.to_owned())
        })
        .collect()
}
