//! The FTP posture facts: each outcome an enum of report values, and
//! [`Posture`], what the posture checks established.

use crate::ftp::reply::Reply;
use serde::{Deserialize, Serialize};

label_enum!(
    /// `cleartext_login`: what `USER` on a plain control channel got.
    CleartextLogin {
        /// 331, 332 or 230: the server would take a password in clear.
        Allowed => "allowed",
        Refused => "refused",
        Unknown => "unknown",
    }
);

label_enum!(
    /// `login`: the login over TLS.
    Login {
        Ok => "ok",
        Refused => "refused",
        /// Not attempted; `login_skipped_reason` says why.
        Skipped => "skipped",
    }
);

label_enum!(
    /// `prot_p`: the answer to `PROT P`.
    ProtP {
        Ok => "ok",
        Refused => "refused",
    }
);

label_enum!(
    /// `prot_c`: whether data can cross in clear, judged by a transfer.
    ProtC {
        /// A cleartext data transfer completed.
        Accepted => "accepted",
        /// `PROT C`, the PASV/EPSV after it, or the transfer was refused.
        Refused => "refused",
        /// Neither could be shown (the transfer broke for another reason).
        Unknown => "unknown",
    }
);

label_enum!(
    /// `passive_port`: a TCP connect to the advertised passive port.
    PassivePort {
        Reachable => "reachable",
        Refused => "refused",
        Timeout => "timeout",
        /// Another connect error (host or network unreachable, ...).
        Unreachable => "unreachable",
    }
);

label_enum!(
    /// `data_tls`: a protected listing over a TLS data connection.
    DataTls {
        Ok => "ok",
        Failed => "failed",
    }
);

label_enum!(
    /// `cleartext_after_auth`: whether a cleartext command sent after the
    /// `234` to `AUTH TLS`, in place of the ClientHello, is answered.
    CleartextAfterAuth {
        /// The server ran the command in clear (a `2xx` answer).
        Accepted => "accepted",
        /// An error in clear, TLS bytes, a close, or silence.
        Refused => "refused",
    }
);

label_enum!(
    /// `ftp_bounce`: `PORT`/`EPRT` naming a third-party address.
    FtpBounce {
        /// `200` to `PORT` or `EPRT`: the server would open data
        /// connections to third parties.
        Accepted => "accepted",
        Refused => "refused",
    }
);

label_enum!(
    /// `ccc`: Clear Command Channel after login (RFC 4217 section 6).
    Ccc {
        /// `200`, the TLS layer closed, and the control channel then
        /// answered in clear.
        Accepted => "accepted",
        /// Refused, or a `200` after which the channel did not work in clear.
        Refused => "refused",
    }
);

label_enum!(
    /// `transfer_path`: can a client move a file here with nothing in clear?
    TransferPath {
        /// Login and a transfer work with TLS on control and data, and the
        /// server refuses cleartext login and cleartext data.
        Protected => "protected",
        /// A protected transfer works, but credentials, commands or data
        /// could travel in clear (the reason says which).
        CleartextPossible => "cleartext-possible",
        /// The protected path fails (no TLS, data TLS refused, passive port
        /// unreachable, client certificate required, ...).
        Broken => "broken",
        /// No login possible, the data checks off, or the scan stopped
        /// before the question could be answered.
        NotAssessed => "not-assessed",
    }
);

/// Posture facts of one endpoint; `None` where not established.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Posture {
    /// Explicit endpoints only.
    pub cleartext_login: Option<CleartextLogin>,
    pub cleartext_login_reply: Option<Reply>,
    pub login: Option<Login>,
    pub login_user: Option<String>,
    pub login_reply: Option<Reply>,
    /// Why the login was not attempted (`login=skipped`).
    #[serde(default)]
    pub login_skipped_reason: Option<String>,
    pub pbsz_reply: Option<Reply>,
    pub prot_p: Option<ProtP>,
    pub prot_p_reply: Option<Reply>,
    pub prot_c: Option<ProtC>,
    /// The reply to `PROT C` itself (a 200 proves nothing).
    pub prot_c_reply: Option<Reply>,
    /// The reply that decided `prot_c`: the PASV/EPSV refusal, the refusal
    /// of the cleartext `LIST`, or its completion (`226`).
    #[serde(default)]
    pub prot_c_transfer_reply: Option<Reply>,
    /// What the cleartext transfer listed: a path that does not exist, or
    /// (anonymous logins only) the login directory.
    #[serde(default)]
    pub prot_c_transfer_path: Option<String>,
    /// One line on how `prot_c` was decided.
    #[serde(default)]
    pub prot_c_reason: Option<String>,
    pub pasv_reply: Option<Reply>,
    pub pasv_address: Option<String>,
    pub pasv_port: Option<u16>,
    pub pasv_address_mismatch: Option<bool>,
    pub pasv_private_address: Option<bool>,
    pub pasv_unspecified_address: Option<bool>,
    pub passive_port: Option<PassivePort>,
    pub passive_port_error: Option<String>,
    pub epsv_reply: Option<Reply>,
    pub epsv_port: Option<u16>,
    pub data_tls: Option<DataTls>,
    pub data_tls_reply: Option<String>,
    pub data_tls_resumed: Option<bool>,
    /// Whether a data connection on a fresh (not resumed) TLS session is
    /// refused: clients without session reuse (Python's ftplib, many
    /// scripts) cannot transfer there.
    #[serde(default)]
    pub data_tls_reuse_required: Option<bool>,
    /// What the server said to the fresh-session data connection, or why
    /// it was not tried (`not checked: ...`).
    #[serde(default)]
    pub data_tls_fresh_reply: Option<String>,
    pub list_entries: Option<u64>,
    /// A cleartext `FEAT` after the `234`, on its own connection.
    #[serde(default)]
    pub cleartext_after_auth: Option<CleartextAfterAuth>,
    /// The reply to that `FEAT`, when one came in clear.
    #[serde(default)]
    pub cleartext_after_auth_reply: Option<Reply>,
    /// One line on how `cleartext_after_auth` was decided.
    #[serde(default)]
    pub cleartext_after_auth_reason: Option<String>,
    #[serde(default)]
    pub ftp_bounce: Option<FtpBounce>,
    /// The address `PORT`/`EPRT` named (`--bounce-address`).
    #[serde(default)]
    pub ftp_bounce_address: Option<String>,
    #[serde(default)]
    pub ftp_bounce_port_reply: Option<Reply>,
    #[serde(default)]
    pub ftp_bounce_eprt_reply: Option<Reply>,
    /// Why the bounce check was not made, when it was not.
    #[serde(default)]
    pub ftp_bounce_reason: Option<String>,
    #[serde(default)]
    pub ccc: Option<Ccc>,
    #[serde(default)]
    pub ccc_reply: Option<Reply>,
    /// One line on how `ccc` was decided (or why it was not).
    #[serde(default)]
    pub ccc_reason: Option<String>,
    /// Why the posture checks stopped early (`passive: no reply ...`).
    #[serde(default)]
    pub error: Option<String>,
}
