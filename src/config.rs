//! What a scan is asked to do: the configuration the binary builds from
//! its flags (or a test builds by hand) and every layer reads.
//!
//! A module of its own, not the crate root: it holds the settings of the
//! layers that read it (the posture checks, the scheduler's shard and
//! resolver), and the root, which re-exports it, must use no module that
//! uses it back, so the architecture check covers the root too.

use crate::endpoint::Endpoint;
use crate::model::ModeRule;
use crate::tls::trust::TrustStore;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Deadlines per phase. Each network wait has one.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// TCP connect.
    pub connect: Duration,
    /// One FTP reply (the whole reply, however it is dripped).
    pub read: Duration,
    /// One TLS handshake.
    pub tls: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            read: Duration::from_secs(10),
            tls: Duration::from_secs(10),
        }
    }
}

impl Timeouts {
    /// An overall cap on one endpoint, generous enough for every step of the
    /// plan, as a last guard against a step without its own deadline.
    pub fn endpoint_cap(&self) -> Duration {
        (self.connect + self.read + self.tls) * 12
    }
}

/// Everything a scan needs; built by the binary from flags, or by tests.
#[derive(Debug, Clone)]
pub struct ScanConfig {
    /// Ports for targets that name none.
    pub ports: Vec<u16>,
    /// How each endpoint's mode is chosen when its scheme does not say.
    pub mode: ModeRule,
    /// Endpoints in flight at once.
    pub concurrency: usize,
    /// Connections in flight to one IP address.
    pub per_host_limit: usize,
    /// Hostname lookups in flight at once.
    pub dns_concurrency: usize,
    /// New connections per second across the run.
    pub rate: Option<u32>,
    pub timeouts: Timeouts,
    pub trust: Arc<TrustStore>,
    /// Probe every protocol version with raw hellos (SSLv2 to TLS 1.3).
    pub versions: bool,
    /// Enumerate the cipher suites of each accepted version (many
    /// connections per endpoint; off by default).
    pub ciphers: bool,
    /// FTP-level posture checks (cleartext login, login over TLS,
    /// protection levels, passive mode, data channel).
    pub posture: PostureConfig,
    /// Scan only this shard of the endpoints (`--shard K/N`).
    pub shard: Option<Shard>,
    /// How hostnames become addresses (the system resolver unless a test
    /// or an embedding program supplies another).
    pub resolver: Resolver,
}

impl ScanConfig {
    /// Defaults with the given trust store.
    pub fn new(trust: TrustStore) -> Self {
        Self {
            ports: vec![21, 990],
            mode: ModeRule::ByPort,
            concurrency: 64,
            per_host_limit: 2,
            dns_concurrency: 32,
            rate: None,
            timeouts: Timeouts::default(),
            trust: Arc::new(trust),
            versions: true,
            ciphers: false,
            posture: PostureConfig::default(),
            shard: None,
            resolver: Resolver::system(),
        }
    }

    /// The settings that change what a scan finds, as flag-like names and
    /// values: the run record's `settings`, which `diff` compares so that a
    /// change of scan is not taken for a change of server. Concurrency and
    /// rate are left out: they change how fast, not what.
    pub fn fact_settings(&self) -> std::collections::BTreeMap<String, String> {
        let on = |b: bool| if b { "on" } else { "off" }.to_string();
        let secs = |d: Duration| format!("{}s", d.as_secs_f64());
        let posture = &self.posture;
        let login = if posture.login.is_anonymous() {
            "anonymous".to_string()
        } else {
            format!("user {}", posture.login.user)
        };
        [
            (
                "ports",
                self.ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            ("mode", self.mode.to_string()),
            ("per_host", self.per_host_limit.to_string()),
            ("connect_timeout", secs(self.timeouts.connect)),
            ("read_timeout", secs(self.timeouts.read)),
            ("tls_timeout", secs(self.timeouts.tls)),
            (
                "trust",
                format!(
                    "{} ({} roots)",
                    self.trust.description,
                    self.trust.anchors().len()
                ),
            ),
            ("versions", on(self.versions)),
            ("ciphers", on(self.ciphers)),
            ("posture", on(posture.enabled)),
            ("data", on(posture.enabled && posture.data)),
            ("login", login),
            ("follow_pasv", on(posture.follow_pasv_address)),
            (
                "send_password_unverified",
                on(posture.send_password_unverified),
            ),
            (
                "shard",
                self.shard
                    .map_or("all".into(), |s| format!("{}/{}", s.index, s.count)),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

/// A password that never shows itself: `Debug` prints `***` (and there is no `Display`),
/// so it cannot leak through a log line, an error or a panic message.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it (PASS, under TLS) and
    /// the redaction of reports.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// How the posture step logs in (over TLS only).
#[derive(Debug, Clone)]
pub struct LoginConfig {
    pub user: String,
    pub password: Secret,
}

/// Why a login configuration cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginConfigError {
    #[error("the user name contains CR or LF (it would inject FTP commands)")]
    UserHasLineBreak,
    #[error("the password contains CR or LF (it would inject FTP commands)")]
    PasswordHasLineBreak,
    #[error("the user name is empty")]
    EmptyUser,
    #[error("the password is empty")]
    EmptyPassword,
}

impl LoginConfig {
    /// A named login; refuses what would corrupt the command line.
    pub fn new(user: impl Into<String>, password: Secret) -> Result<Self, LoginConfigError> {
        let user = user.into();
        let breaks = |s: &str| s.contains(['\r', '\n']);
        if user.is_empty() {
            return Err(LoginConfigError::EmptyUser);
        }
        if breaks(&user) {
            return Err(LoginConfigError::UserHasLineBreak);
        }
        if password.expose().is_empty() {
            return Err(LoginConfigError::EmptyPassword);
        }
        if breaks(password.expose()) {
            return Err(LoginConfigError::PasswordHasLineBreak);
        }
        Ok(Self { user, password })
    }

    /// `anonymous` and `ftp` are the public logins (RFC 1635): their
    /// "password" is no secret, so they need no verified server.
    pub fn is_anonymous(&self) -> bool {
        self.user.eq_ignore_ascii_case("anonymous") || self.user.eq_ignore_ascii_case("ftp")
    }
}

impl Default for LoginConfig {
    /// Anonymous, with the customary e-mail-like anonymous password.
    fn default() -> Self {
        Self {
            user: "anonymous".into(),
            password: Secret::new("ftps-scan@"),
        }
    }
}

/// What the posture step does; part of the run's config.
#[derive(Debug, Clone)]
pub struct PostureConfig {
    pub enabled: bool,
    pub login: LoginConfig,
    /// Connect to the address the PASV reply names (opt-in: a hostile
    /// server must not be able to point the scanner at a third party).
    pub follow_pasv_address: bool,
    /// The data checks: a protected listing over TLS resuming the control
    /// session, the same on a fresh session (session reuse required?), and
    /// a cleartext transfer after `PROT C`. On by default (`--no-data`).
    pub data: bool,
    /// Send a named user's password even when the server's certificate
    /// could not be verified (labs only: `--send-password-unverified`).
    pub send_password_unverified: bool,
    /// The third-party address `PORT`/`EPRT` name in the FTP bounce check
    /// (`--bounce-address`). By default in TEST-NET-1 (192.0.2.0/24,
    /// RFC 5737: reserved for documentation, routed nowhere), because some
    /// servers connect to a `PORT` address at once.
    pub bounce_address: SocketAddr,
}

/// The default `--bounce-address`: TEST-NET-1 (RFC 5737), a port above
/// 1023 (servers refuse privileged `PORT` ports for a reason of their own).
pub const DEFAULT_BOUNCE_ADDRESS: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 40021);

impl Default for PostureConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            login: LoginConfig::default(),
            follow_pasv_address: false,
            data: true,
            send_password_unverified: false,
            bounce_address: DEFAULT_BOUNCE_ADDRESS,
        }
    }
}

/// One of N disjoint parts of a run (`--shard K/N`), for running a sweep
/// as N independent jobs (a Kubernetes Indexed Job, a Slurm array, GNU
/// parallel). An endpoint belongs to shard `hash(ip, port) mod N`: the same
/// on every machine and independent of input order or DNS answer order, so
/// N runs cover every endpoint exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Self, String> {
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is not below the shard count {count} (indexes start at 0)"
            ));
        }
        Ok(Self { index, count })
    }

    /// Parses `K/N`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (k, n) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not K/N (e.g. 0/4)"))?;
        let k = k
            .trim()
            .parse()
            .map_err(|_| format!("shard index {k:?} is not a number"))?;
        let n = n
            .trim()
            .parse()
            .map_err(|_| format!("shard count {n:?} is not a number"))?;
        Self::new(k, n)
    }

    pub fn contains(&self, endpoint: &Endpoint) -> bool {
        // FNV-1a: tiny, stable across versions and platforms.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for b in bytes {
                hash ^= u64::from(*b);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        match endpoint.ip {
            Some(IpAddr::V4(ip)) => feed(&ip.octets()),
            Some(IpAddr::V6(ip)) => feed(&ip.octets()),
            None => feed(endpoint.target.as_bytes()),
        }
        feed(&endpoint.port.to_be_bytes());
        hash % u64::from(self.count) == u64::from(self.index)
    }
}

type LookupFuture = futures::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>>;

/// Turns a hostname into addresses. The system resolver by default
/// (getaddrinfo on tokio's blocking pool, so lookups run concurrently).
#[derive(Clone)]
pub struct Resolver(Arc<dyn Fn(String) -> LookupFuture + Send + Sync>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

impl Resolver {
    pub fn system() -> Self {
        Self(Arc::new(|name: String| {
            Box::pin(async move {
                let addrs = tokio::net::lookup_host((name.as_str(), 0)).await?;
                Ok(addrs.map(|a| a.ip()).collect())
            })
        }))
    }

    /// A resolver from a function (for tests and embedding programs).
    pub fn from_fn(f: impl Fn(String) -> LookupFuture + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    pub fn lookup(&self, name: &str) -> LookupFuture {
        (self.0)(name.to_string())
    }
}
