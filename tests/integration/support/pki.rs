//! "A test PKI and an FTPS server of kind K": the throw-away CA a test
//! starts from, the server TLS configurations and testbed servers it
//! certifies, and the scan configurations that trust it.

use super::quick_config;
use ftps_scan::testbed::{server_config, CertKind, ServerSpec, TestPki, TestServer};
use ftps_scan::ScanConfig;
use rustls::SupportedProtocolVersion;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// TLS 1.3 and 1.2, the versions a default test server speaks.
pub const BOTH: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13, &rustls::version::TLS12];

/// A fresh test CA (one per test: tests share nothing). Derefs to the
/// library's [`TestPki`] for `trust_store`, `ca_pem`, `issue` and the rest.
pub struct Pki(TestPki);

impl Pki {
    /// A CA named `name`: certificates it issues have the issuer
    /// `O=ftps-scan test PKI,CN=<name>`.
    pub fn new(name: &str) -> Pki {
        Pki(TestPki::new(name).expect("test CA"))
    }

    /// A server TLS configuration with a certificate of `kind`, TLS 1.3 and 1.2.
    pub fn tls(&self, kind: CertKind) -> Arc<rustls::ServerConfig> {
        self.tls_versions(kind, BOTH)
    }

    /// As [`Pki::tls`], limited to `versions`.
    pub fn tls_versions(
        &self,
        kind: CertKind,
        versions: &[&'static SupportedProtocolVersion],
    ) -> Arc<rustls::ServerConfig> {
        let identity = self.0.issue(kind).expect("issue a test certificate");
        server_config(&identity, versions).expect("server TLS configuration")
    }

    /// A testbed FTPS server: `spec` with a valid certificate (TLS 1.3 and 1.2).
    pub async fn ftps(&self, spec: ServerSpec) -> TestServer {
        self.server(CertKind::Valid, spec).await
    }

    /// As [`Pki::ftps`], with a certificate of `kind`.
    pub async fn server(&self, kind: CertKind, spec: ServerSpec) -> TestServer {
        start(ServerSpec {
            tls: Some(self.tls(kind)),
            ..spec
        })
        .await
    }

    /// [`quick_config`] trusting this CA only.
    pub fn config(&self) -> ScanConfig {
        quick_config(self.0.trust_store())
    }

    /// [`Pki::config`] without the version probes.
    pub fn posture_config(&self) -> ScanConfig {
        let mut c = self.config();
        c.versions = false;
        c
    }

    /// Writes the CA certificate to `dir/ca.pem` (for `--ca-file`) and
    /// returns its path.
    pub fn ca_file(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, self.0.ca_pem()).expect("write ca.pem");
        path
    }
}

impl std::ops::Deref for Pki {
    type Target = TestPki;

    fn deref(&self) -> &TestPki {
        &self.0
    }
}

/// Starts a testbed server of any spec (plain FTP, FTPS, misbehaving).
pub async fn start(spec: ServerSpec) -> TestServer {
    TestServer::start(spec).await.expect("start a test server")
}
