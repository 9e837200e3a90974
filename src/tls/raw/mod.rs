//! Raw-ClientHello TLS/SSL version prober.
//!
//! Why hand-built hellos: mainstream TLS stacks (rustls, modern OpenSSL
//! builds) refuse to *speak* SSLv2, SSLv3, TLS 1.0 or TLS 1.1, yet finding
//! servers that still accept those is the point of the scan. We never finish
//! a handshake; we only send one ClientHello per fresh connection and read the
//! server's first flight, which needs no cryptography at all.
//!
//! Layout:
//! - [`client_hello`]: builds the bytes of a ClientHello for one probe.
//! - [`server_flight`]: I/O-free incremental parser of the server's answer.
//! - [`classify`]: turns what was seen into an accepted/rejected/unknown verdict.
//! - [`probe`]: async glue over any `AsyncRead + AsyncWrite` stream, plus the
//!   retry-with-short-hello and cipher enumeration loops driven by a caller
//!   supplied "connect and do the FTP preamble" closure.
//! - [`ciphers`]: the offered suite lists, IANA names and weakness flags.
//!
//! The FTP part (220 greeting, `AUTH TLS`, 234) is deliberately the caller's
//! job so this crate stays protocol-agnostic and testable against a bare
//! `openssl s_server`.

pub mod ciphers;
pub mod classify;
pub mod client_hello;
pub mod probe;
pub mod server_flight;
pub mod version;

pub use classify::{classify, Evidence, ProbeOutcome, Verdict, VersionVerdict};
pub use client_hello::{BuildError, CipherList, ClientHello};
pub use probe::{
    enumerate_ciphers, exchange, probe_on_stream, probe_version, CipherEnumeration, ProbeSettings,
    StreamProbe, VersionProbeReport,
};
pub use server_flight::{Answer, Flight, FlightReader, FlightState};
pub use version::{version_name, TlsVersionProbe};
