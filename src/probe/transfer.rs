//! `transfer_path`: the one answer auditors want. Can a client move a file
//! through this server (and its firewall) with nothing in clear?
//!
//! Derived only from facts the scan established by behaviour: the login
//! over TLS, the protected listing over a TLS data connection, the
//! cleartext transfer after `PROT C`, the cleartext login, CCC and the
//! cleartext command after `AUTH TLS`. Where a fact is missing the answer
//! says so (`not-assessed`) instead of guessing.

use super::posture::{
    Ccc, CleartextAfterAuth, CleartextLogin, DataTls, Login, PassivePort, Posture, ProtC, ProtP,
    TransferPath,
};
use crate::model::{EndpointReport, Mode, Status};

/// Judges the report's transfer path; `data` is whether the data checks
/// ran (`--no-data` turns them off).
pub fn judge(r: &EndpointReport, data: bool) -> (TransferPath, String) {
    use TransferPath::{Broken, NotAssessed};
    let why = |e: &Option<String>| e.clone().unwrap_or_default();
    match r.status {
        Status::Ok => {}
        Status::NoTls => return (Broken, format!("no TLS: {}", why(&r.error))),
        Status::TlsFailed => return (Broken, format!("TLS handshake failed: {}", why(&r.error))),
        Status::ClientCertRequired => {
            return (
                Broken,
                "a client certificate is required (the scanner has none)".into(),
            )
        }
        other => return (NotAssessed, format!("endpoint {other}: {}", why(&r.error))),
    }
    let Some(p) = &r.posture else {
        return (NotAssessed, "posture checks off (--no-posture)".into());
    };
    match p.login {
        Some(Login::Ok) => {}
        Some(Login::Refused) => return (NotAssessed, "login over TLS refused".into()),
        Some(Login::Skipped) => {
            return (
                NotAssessed,
                format!("login skipped: {}", why(&p.login_skipped_reason)),
            )
        }
        None => {
            return (
                NotAssessed,
                match &p.error {
                    Some(e) => format!("posture checks stopped: {e}"),
                    None => "no login attempted".into(),
                },
            )
        }
    }
    if p.prot_p == Some(ProtP::Refused) {
        return (Broken, "PROT P refused: no protected data channel".into());
    }
    if !data {
        return (NotAssessed, "data checks off (--no-data)".into());
    }
    match p.data_tls {
        Some(DataTls::Ok) => {}
        Some(DataTls::Failed) => return (Broken, broken_data_reason(p)),
        None => {
            return (
                NotAssessed,
                match &p.error {
                    Some(e) => format!("posture checks stopped: {e}"),
                    None => "no protected transfer attempted".into(),
                },
            )
        }
    }
    judge_cleartext(p, r.mode)
}

/// Why the protected listing failed, most telling cause first.
fn broken_data_reason(p: &Posture) -> String {
    let reply = p.data_tls_reply.clone().unwrap_or_default();
    match p.passive_port {
        Some(reach @ (PassivePort::Refused | PassivePort::Timeout | PassivePort::Unreachable)) => {
            format!(
                "passive port {} {reach}: {reply}",
                p.pasv_port
                    .or(p.epsv_port)
                    .map(|x| x.to_string())
                    .unwrap_or_default()
            )
        }
        _ => format!("protected transfer failed: {reply}"),
    }
}

/// A protected transfer works: what could still travel in clear.
fn judge_cleartext(p: &Posture, mode: Mode) -> (TransferPath, String) {
    let mut clear = Vec::new();
    let mut unknown = Vec::new();
    if mode == Mode::Explicit {
        match p.cleartext_login {
            Some(CleartextLogin::Allowed) => clear.push("credentials (cleartext login allowed)"),
            Some(CleartextLogin::Refused) => {}
            _ => unknown.push("cleartext login"),
        }
        if p.cleartext_after_auth == Some(CleartextAfterAuth::Accepted) {
            clear.push("commands (answered in clear after AUTH TLS)");
        }
    }
    match p.prot_c {
        Some(ProtC::Accepted) => clear.push("data (PROT C transfer completed)"),
        Some(ProtC::Refused) => {}
        _ => unknown.push("cleartext data"),
    }
    if p.ccc == Some(Ccc::Accepted) {
        clear.push("commands after CCC");
    }
    let reuse = if p.data_tls_reuse_required == Some(true) {
        " (clients must reuse the TLS session on the data channel)"
    } else {
        ""
    };
    if !clear.is_empty() {
        return (
            TransferPath::CleartextPossible,
            format!(
                "a protected transfer works, but in clear: {}",
                clear.join(", ")
            ),
        );
    }
    if !unknown.is_empty() {
        return (
            TransferPath::NotAssessed,
            format!(
                "a protected transfer works{reuse}; not established whether refused: {}",
                unknown.join(", ")
            ),
        );
    }
    (
        TransferPath::Protected,
        format!(
            "protected transfer works{reuse}; cleartext {}data refused",
            if mode == Mode::Explicit {
                "login and "
            } else {
                ""
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protected() -> EndpointReport {
        EndpointReport {
            status: Status::Ok,
            posture: Some(Posture {
                cleartext_login: Some(CleartextLogin::Refused),
                login: Some(Login::Ok),
                prot_p: Some(ProtP::Ok),
                prot_c: Some(ProtC::Refused),
                passive_port: Some(PassivePort::Reachable),
                data_tls: Some(DataTls::Ok),
                cleartext_after_auth: Some(CleartextAfterAuth::Refused),
                ccc: Some(Ccc::Refused),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn with(f: impl FnOnce(&mut Posture)) -> EndpointReport {
        let mut r = protected();
        if let Some(p) = r.posture.as_mut() {
            f(p);
        }
        r
    }

    #[test]
    fn every_value_from_its_facts() {
        use TransferPath::*;
        let (path, reason) = judge(&protected(), true);
        assert_eq!(path, Protected, "{reason}");
        let cases: Vec<(EndpointReport, bool, TransferPath, &str)> = vec![
            (
                with(|p| p.cleartext_login = Some(CleartextLogin::Allowed)),
                true,
                CleartextPossible,
                "credentials",
            ),
            (
                with(|p| p.prot_c = Some(ProtC::Accepted)),
                true,
                CleartextPossible,
                "data",
            ),
            (
                with(|p| p.ccc = Some(Ccc::Accepted)),
                true,
                CleartextPossible,
                "CCC",
            ),
            (
                with(|p| p.cleartext_after_auth = Some(CleartextAfterAuth::Accepted)),
                true,
                CleartextPossible,
                "after AUTH TLS",
            ),
            (
                with(|p| {
                    p.data_tls = Some(DataTls::Failed);
                    p.passive_port = Some(PassivePort::Timeout);
                    p.pasv_port = Some(50000);
                }),
                true,
                Broken,
                "passive port 50000 timeout",
            ),
            (
                with(|p| {
                    p.data_tls = Some(DataTls::Failed);
                    p.data_tls_reply = Some("522 SSL connection failed".into());
                }),
                true,
                Broken,
                "522 SSL connection failed",
            ),
            (
                with(|p| p.prot_p = Some(ProtP::Refused)),
                true,
                Broken,
                "PROT P",
            ),
            (
                with(|p| p.login = Some(Login::Refused)),
                true,
                NotAssessed,
                "login",
            ),
            (protected(), false, NotAssessed, "--no-data"),
            (
                with(|p| p.prot_c = Some(ProtC::Unknown)),
                true,
                NotAssessed,
                "cleartext data",
            ),
            (
                EndpointReport {
                    status: Status::NoTls,
                    ..Default::default()
                },
                true,
                Broken,
                "no TLS",
            ),
            (
                EndpointReport {
                    status: Status::ClientCertRequired,
                    ..Default::default()
                },
                true,
                Broken,
                "client certificate",
            ),
            (
                EndpointReport {
                    status: Status::Timeout,
                    ..Default::default()
                },
                true,
                NotAssessed,
                "timeout",
            ),
            (
                EndpointReport {
                    posture: None,
                    ..protected()
                },
                true,
                NotAssessed,
                "--no-posture",
            ),
        ];
        for (report, data, want, said) in cases {
            let (path, reason) = judge(&report, data);
            assert_eq!(path, want, "{reason}");
            assert!(reason.contains(said), "{said:?} not in {reason:?}");
        }
        // Implicit FTPS has no plain channel: no cleartext login to refuse.
        let mut implicit = with(|p| {
            p.cleartext_login = None;
            p.cleartext_after_auth = None;
        });
        implicit.mode = Mode::Implicit;
        assert_eq!(judge(&implicit, true).0, Protected);
        // Reuse required still transfers (for clients that reuse), and says so.
        let (path, reason) = judge(&with(|p| p.data_tls_reuse_required = Some(true)), true);
        assert_eq!(path, Protected);
        assert!(reason.contains("reuse"), "{reason}");
    }
}
