//! TLS: real sessions through rustls, the audit verifier, certificate
//! judgement, trust stores, and raw version probes.

pub mod audit;
pub mod cert;
pub mod raw;
pub mod session;
pub mod trust;
pub mod versions;
