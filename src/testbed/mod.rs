//! Local FTPS endpoints for the built-in demo and the test suite: a
//! throw-away CA, a configurable FTP/FTPS server, and misbehaving servers.
//! Everything listens on 127.0.0.1 only.

pub mod pki;
pub mod raw;
pub mod server;

pub use pki::{server_config, CertKind, ClientCertPolicy, Identity, TestPki};
pub use raw::{closed_port, RawServer, Step};
pub use server::{
    AuthRace, DataTransfer, ListedPath, LoggedCommand, ProtC, Protection, ServerLog, ServerSpec,
    TestServer, Witness, PROFTPD_REUSE_REFUSAL, VSFTPD_REUSE_REFUSAL,
};
