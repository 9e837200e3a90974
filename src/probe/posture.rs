//! FTP-level posture: what no TLS scanner reports.

use crate::ftp::Reply;
use serde::{Deserialize, Serialize};

/// Posture facts of one endpoint; `None` where not established.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Posture {
    /// `allowed`, `refused`, `unknown` (explicit endpoints only).
    pub cleartext_login: Option<String>,
    pub cleartext_login_reply: Option<Reply>,
    /// `ok`, `refused`, `skipped`.
    pub login: Option<String>,
    pub login_user: Option<String>,
    pub login_reply: Option<Reply>,
    pub pbsz_reply: Option<Reply>,
    /// `ok`, `refused`.
    pub prot_p: Option<String>,
    pub prot_p_reply: Option<Reply>,
    /// `accepted`, `refused`.
    pub prot_c: Option<String>,
    pub prot_c_reply: Option<Reply>,
    pub pasv_reply: Option<Reply>,
    pub pasv_address: Option<String>,
    pub pasv_port: Option<u16>,
    pub pasv_address_mismatch: Option<bool>,
    pub pasv_private_address: Option<bool>,
    pub pasv_unspecified_address: Option<bool>,
    /// `reachable`, `refused`, `timeout`.
    pub passive_port: Option<String>,
    pub passive_port_error: Option<String>,
    pub epsv_reply: Option<Reply>,
    pub epsv_port: Option<u16>,
    /// `ok`, `failed`.
    pub data_tls: Option<String>,
    pub data_tls_reply: Option<String>,
    pub data_tls_resumed: Option<bool>,
    pub list_entries: Option<u64>,
}
