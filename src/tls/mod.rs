//! TLS: real sessions through rustls, the audit verifier, certificate
//! judgement, trust stores, and raw version probes.

pub mod audit;
pub mod cert;
pub mod raw;
pub mod session;
pub mod trust;

/// Whether a server's first bytes start a TLS record: a handshake (`0x16`)
/// or an alert (`0x15`), with major version 3 when a second byte came.
/// The test of "is this TLS" for the first answer of a connection, shared
/// by the implicit handshake and mode detection. (The raw flight parser's
/// own first-byte test answers another question: TLS records or an SSLv2
/// record, once TLS is known.)
pub fn starts_like_tls_record(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16] | [0x15 | 0x16, 0x03, ..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn tls_record_starts() {
        use super::starts_like_tls_record as tls;
        assert!(tls(&[0x16, 0x03, 0x03, 0x00, 0x2a]));
        assert!(tls(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x28]));
        assert!(tls(&[0x16]));
        assert!(!tls(&[0x16, 0x02]));
        assert!(!tls(b"220 ready"));
        assert!(!tls(&[0x80, 0x2e, 0x04]));
        assert!(!tls(&[]));
    }
}
