//! FTP control channel: the I/O-free reply parser and the thin buffered
//! connection on top of it.

pub mod control;
pub mod passive;
pub mod reply;

pub use control::{ControlConnection, FtpError};
pub use reply::{parse_reply, Parsed, Reply, ReplyAssembler, ReplyError};
