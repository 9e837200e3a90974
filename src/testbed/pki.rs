//! A throw-away certificate authority for demos and tests.
//!
//! Certificates are made at run time (never checked in), so nothing in the
//! repository expires and no private key is shipped.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Which kind of server certificate to issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertKind {
    /// Issued by the test CA for `localhost` and 127.0.0.1, valid now.
    Valid,
    /// Issued by the test CA, expired ten days ago.
    Expired,
    /// Self-signed for `localhost` and 127.0.0.1.
    SelfSigned,
    /// Issued by the test CA for `ftp.invalid` only.
    WrongName,
}

/// Whether the server asks the client for a certificate during the TLS
/// handshake (control and data connections alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientCertPolicy {
    /// No `CertificateRequest` (most servers).
    #[default]
    None,
    /// A `CertificateRequest` naming the test CA, but a client without a
    /// certificate is let in: vsftpd's `ssl_request_cert=YES` (its default)
    /// with `require_cert=NO`.
    Request,
    /// A certificate issued by the test CA is required: ProFTPD's
    /// `TLSVerifyClient on`. A client without one fails in the handshake
    /// under TLS 1.2 (the server answers its empty `Certificate` with an
    /// alert instead of `Finished`: rustls sends 116 `certificate_required`
    /// where OpenSSL servers such as ProFTPD send 40 `handshake_failure`);
    /// under TLS 1.3 the client's handshake completes (it sends its
    /// `Finished` first) and its first read gets alert 116
    /// `certificate_required`.
    Require,
}

/// A certificate chain and its private key, ready for a TLS server.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    /// The same chain and key as PEM, for servers that read files.
    pub chain_pem: String,
    pub key_pem: String,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            chain_pem: self.chain_pem.clone(),
            key_pem: self.key_pem.clone(),
        }
    }
}

/// The demo/test CA.
pub struct TestPki {
    issuer: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    ca_pem: String,
}

#[derive(Debug, thiserror::Error)]
#[error("certificate generation failed: {0}")]
pub struct PkiError(#[from] rcgen::Error);

impl TestPki {
    pub fn new(ca_name: &str) -> Result<Self, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, ca_name);
        dn.push(DnType::OrganizationName, "ftps-scan test PKI");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(400);
        params.not_after = now + Duration::days(3650);
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            ca_der: cert.der().clone(),
            ca_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The CA's private key as PEM (PKCS#8), for tests that issue
    /// certificates rcgen cannot make (RSA keys, SHA-1 signatures) with the
    /// `openssl` CLI.
    pub fn ca_key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// A trust store holding only this CA.
    pub fn trust_store(&self) -> crate::tls::trust::TrustStore {
        crate::tls::trust::TrustStore::from_ca_certs(
            std::slice::from_ref(&self.ca_der),
            "test-ca".into(),
        )
    }

    /// Issues a server certificate of the given kind.
    pub fn issue(&self, kind: CertKind) -> Result<Identity, PkiError> {
        let names: Vec<String> = match kind {
            CertKind::WrongName => vec!["ftp.invalid".into()],
            _ => vec!["localhost".into()],
        };
        let mut params = CertificateParams::new(names)?;
        if kind != CertKind::WrongName {
            params
                .subject_alt_names
                .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
        }
        let mut dn = DistinguishedName::new();
        let cn = match kind {
            CertKind::WrongName => "ftp.invalid",
            _ => "localhost",
        };
        dn.push(DnType::CommonName, cn);
        dn.push(DnType::OrganizationName, "ftps-scan test server");
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let now = OffsetDateTime::now_utc();
        match kind {
            CertKind::Expired => {
                params.not_before = now - Duration::days(100);
                params.not_after = now - Duration::days(10);
            }
            _ => {
                params.not_before = now - Duration::days(1);
                params.not_after = now + Duration::days(90);
            }
        }
        let key = KeyPair::generate()?;
        let cert = match kind {
            CertKind::SelfSigned => {
                params.use_authority_key_identifier_extension = false;
                params.self_signed(&key)?
            }
            _ => {
                params.use_authority_key_identifier_extension = true;
                params.signed_by(&key, &self.issuer)?
            }
        };
        let mut chain = vec![cert.der().clone()];
        let mut chain_pem = cert.pem();
        if kind != CertKind::SelfSigned {
            chain.push(self.ca_der.clone());
            chain_pem.push_str(&self.ca_pem);
        }
        Ok(Identity {
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            chain_pem,
            key_pem: key.serialize_pem(),
        })
    }

    /// Issues a TLS client certificate (`clientAuth`) for `name`, for
    /// tests of servers that require one ([`ClientCertPolicy::Require`]).
    pub fn issue_client(&self, name: &str) -> Result<Identity, PkiError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationName, "ftps-scan test client");
        params.distinguished_name = dn;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(90);
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Identity {
            chain: vec![cert.der().clone(), self.ca_der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            chain_pem: format!("{}{}", cert.pem(), self.ca_pem),
            key_pem: key.serialize_pem(),
        })
    }

    /// As [`server_config`], with the client-certificate `policy`; client
    /// certificates are checked against this CA.
    pub fn server_config_with_client_auth(
        &self,
        identity: &Identity,
        versions: &[&'static rustls::SupportedProtocolVersion],
        policy: ClientCertPolicy,
    ) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let provider = crate::tls::session::provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)?;
        let builder = match policy {
            ClientCertPolicy::None => builder.with_no_client_auth(),
            ClientCertPolicy::Request | ClientCertPolicy::Require => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(self.ca_der.clone())?;
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                );
                let verifier = if policy == ClientCertPolicy::Request {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| rustls::Error::General(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let config = builder.with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
        Ok(Arc::new(config))
    }

    /// Writes the chain and key of `identity` as PEM files (for real
    /// servers such as vsftpd that read them from disk).
    pub fn write_pem(
        identity: &Identity,
        cert_path: &std::path::Path,
        key_path: &std::path::Path,
    ) -> std::io::Result<()> {
        std::fs::write(cert_path, &identity.chain_pem)?;
        std::fs::write(key_path, &identity.key_pem)
    }
}

/// A rustls server configuration for `identity`, limited to `versions`.
pub fn server_config(
    identity: &Identity,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let config = rustls::ServerConfig::builder_with_provider(crate::tls::session::provider())
        .with_protocol_versions(versions)?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    Ok(Arc::new(config))
}
