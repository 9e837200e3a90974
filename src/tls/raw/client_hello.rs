//! Hand-built ClientHello messages, one shape per probed version.
//!
//! Why not `tls_parser`'s `serialize` feature: its encoder always writes an
//! extensions-length field (an SSLv3 probe must carry *no* extensions block,
//! because genuine SSLv3 servers may choke on one), it only knows a few
//! extension types, and it cannot produce SSLv2. The format is simple enough
//! that a small checked writer is clearer than working around it.
//!
//! Shapes (see the design notes):
//!
//! | probe   | record | client_version | extensions |
//! |---------|--------|----------------|------------|
//! | SSLv2   | v2 hdr | 0x0002         | n/a, 16-byte challenge |
//! | SSLv3   | 0x0300 | 0x0300         | no extensions block at all |
//! | TLS 1.0 | 0x0301 | 0x0301         | SNI, supported_groups, ec_point_formats |
//! | TLS 1.1 | 0x0301 | 0x0302         | as TLS 1.0 |
//! | TLS 1.2 | 0x0301 | 0x0303         | as TLS 1.0 + signature_algorithms |
//! | TLS 1.3 | 0x0301 | 0x0303         | SNI, groups, sigalgs, supported_versions={1.3}, key_share(x25519), psk modes |
//!
//! No ALPN and no GREASE: both have been seen to upset old FTPS stacks and
//! neither tells us anything about version support.

use crate::tls::raw::ciphers::{
    LEGACY_FULL, LEGACY_SHORT, SSLV2_CIPHER_SPECS, TLS12_FULL, TLS12_SHORT, TLS13,
};
use crate::tls::raw::version::TlsVersionProbe;
use serde::Serialize;
use std::net::IpAddr;

/// Which cipher suites to offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum CipherList {
    /// The broad list for the version (detects weak suites in one go).
    Full,
    /// A short list of common suites: the retry for servers that hang on long
    /// hellos.
    Short,
    /// Exactly these suites, in this order (cipher enumeration). Nothing is
    /// appended: the caller decides about the renegotiation SCSV. Ignored for
    /// SSLv2, whose cipher kinds are a different (24-bit) namespace and whose
    /// SERVER-HELLO lists all common kinds anyway.
    Explicit(Vec<u16>),
}

/// Why a hello could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("explicit cipher list is empty")]
    EmptyCipherList,
    #[error("{count} cipher suites offered, at most {max} allowed for {version}")]
    TooManyCiphers {
        version: TlsVersionProbe,
        count: usize,
        max: usize,
    },
    #[error("hello too large to encode")]
    TooLarge,
}

/// A ready-to-send hello plus what it offered (needed to spot a server that
/// picks a suite we never offered).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClientHello {
    pub version: TlsVersionProbe,
    /// Complete bytes to write: TLS record(s), or the SSLv2 record.
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// Offered TLS cipher suites (empty for SSLv2).
    pub ciphers: Vec<u16>,
    /// Offered SSLv2 cipher kinds (empty for TLS probes).
    pub sslv2_specs: Vec<u32>,
    /// Whether a padding extension was added to leave the 256..511 window.
    pub padded: bool,
    /// The SNI name actually sent, if any.
    pub sni: Option<String>,
}

/// Most suites we put in an SSLv3 hello. SSLv3 has no extensions, so it cannot
/// be padded; 103 suites is the most that keeps the record under 256 bytes.
pub const SSL3_MAX_CIPHERS: usize = 103;
/// Most suites in any TLS hello; some stacks reject longer lists.
pub const TLS_MAX_CIPHERS: usize = 128;

/// Hellos (handshake message *or* whole record) in 256..=511 bytes trigger a
/// known bug in some load balancers (RFC 7685 rationale), so we stay clear of
/// that window on both measures.
const AVOID_MIN: usize = 256;
const PAD_TARGET: usize = 512;
const RECORD_HEADER: usize = 5;
const HANDSHAKE_HEADER: usize = 4;

const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_PADDING: u16 = 21;
const EXT_SUPPORTED_VERSIONS: u16 = 43;
const EXT_PSK_KEY_EXCHANGE_MODES: u16 = 45;
const EXT_KEY_SHARE: u16 = 51;

/// x25519, secp256r1, secp384r1, secp521r1, x448, ffdhe2048, ffdhe3072.
/// secp256r1 matters: a P-256-only TLS 1.3 server answers our x25519 key share
/// with a HelloRetryRequest, which still proves TLS 1.3 support.
const GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101];
/// Groups for pre-1.3 hellos: the ECDHE curves legacy servers know.
const LEGACY_GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018, 0x0019];
/// Broad signature algorithm list, SHA-1 and DSA included so old servers
/// with old certificates still find something to sign with.
const SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203,
    0x0201, 0x0402, 0x0202,
];
const X25519: u16 = 0x001d;

/// The suites a [`CipherList`] stands for with a given version.
pub fn ciphers_for(version: TlsVersionProbe, list: &CipherList) -> Vec<u16> {
    match (version, list) {
        (TlsVersionProbe::Ssl2, _) => Vec::new(),
        (_, CipherList::Explicit(v)) => v.clone(),
        (
            TlsVersionProbe::Ssl3 | TlsVersionProbe::Tls10 | TlsVersionProbe::Tls11,
            CipherList::Full,
        ) => LEGACY_FULL.to_vec(),
        (
            TlsVersionProbe::Ssl3 | TlsVersionProbe::Tls10 | TlsVersionProbe::Tls11,
            CipherList::Short,
        ) => LEGACY_SHORT.to_vec(),
        (TlsVersionProbe::Tls12, CipherList::Full) => TLS12_FULL.to_vec(),
        (TlsVersionProbe::Tls12, CipherList::Short) => TLS12_SHORT.to_vec(),
        (TlsVersionProbe::Tls13, _) => TLS13.to_vec(),
    }
}

/// Builds the hello for one probe.
///
/// `sni` is sent only if it is a syntactically valid DNS name: RFC 6066
/// forbids IP literals in SNI and some servers abort on them.
pub fn build(
    version: TlsVersionProbe,
    sni: Option<&str>,
    ciphers: &CipherList,
) -> Result<ClientHello, BuildError> {
    if version == TlsVersionProbe::Ssl2 {
        return build_sslv2();
    }
    let suites = ciphers_for(version, ciphers);
    if suites.is_empty() {
        return Err(BuildError::EmptyCipherList);
    }
    let max = if version == TlsVersionProbe::Ssl3 {
        SSL3_MAX_CIPHERS
    } else {
        TLS_MAX_CIPHERS
    };
    if suites.len() > max {
        return Err(BuildError::TooManyCiphers {
            version,
            count: suites.len(),
            max,
        });
    }
    let sni = sni.and_then(sni_hostname);

    let (record_version, client_version) = match version {
        TlsVersionProbe::Ssl3 => (0x0300, 0x0300),
        TlsVersionProbe::Tls10 => (0x0301, 0x0301),
        TlsVersionProbe::Tls11 => (0x0301, 0x0302),
        // TLS 1.3 hellos look like TLS 1.2 ones; the real offer is in
        // supported_versions. Record version 0x0301 is what every modern
        // client sends, for maximum middlebox compatibility.
        TlsVersionProbe::Tls12 | TlsVersionProbe::Tls13 | TlsVersionProbe::Ssl2 => (0x0301, 0x0303),
    };

    // TLS 1.3 servers echo the session id; a non-empty one is what real
    // clients send ("middlebox compatibility mode").
    let session_id: Vec<u8> = if version == TlsVersionProbe::Tls13 {
        pseudo_random_bytes(32)
    } else {
        Vec::new()
    };

    let mut body = Writer::default();
    body.u16(client_version);
    body.bytes(&pseudo_random_bytes(32));
    body.vec8(&session_id)?;
    let mut cs = Writer::default();
    for s in &suites {
        cs.u16(*s);
    }
    body.vec16(&cs.0)?;
    body.vec8(&[0])?; // compression: null only

    let mut padded = false;
    if version != TlsVersionProbe::Ssl3 {
        let mut exts = extensions(version, sni.as_deref())?;
        let msg_len = HANDSHAKE_HEADER + body.0.len() + 2 + exts.len();
        if msg_len + RECORD_HEADER >= AVOID_MIN && msg_len < PAD_TARGET {
            // Padding extension: 4 header bytes plus zero bytes up to 512.
            let pad = PAD_TARGET.saturating_sub(msg_len + 4);
            push_ext(&mut exts, EXT_PADDING, &vec![0u8; pad])?;
            padded = true;
        }
        body.vec16(&exts)?;
    }

    let mut hs = Writer::default();
    hs.u8(1); // ClientHello
    hs.vec24(&body.0)?;

    let mut rec = Writer::default();
    rec.u8(0x16);
    rec.u16(record_version);
    rec.vec16(&hs.0)?;

    Ok(ClientHello {
        version,
        bytes: rec.0,
        ciphers: suites,
        sslv2_specs: Vec::new(),
        padded,
        sni,
    })
}

/// SSLv2 CLIENT-HELLO: 2-byte record header `80 LL`, then msg-type 1,
/// version 0x0002, three lengths, cipher kinds, (empty) session id and a
/// 16-byte challenge.
fn build_sslv2() -> Result<ClientHello, BuildError> {
    let mut specs = Writer::default();
    for s in SSLV2_CIPHER_SPECS {
        specs.u24(*s);
    }
    let challenge = pseudo_random_bytes(16);
    let mut msg = Writer::default();
    msg.u8(1);
    msg.u16(0x0002);
    msg.u16(u16::try_from(specs.0.len()).map_err(|_| BuildError::TooLarge)?);
    msg.u16(0); // session id length
    msg.u16(u16::try_from(challenge.len()).map_err(|_| BuildError::TooLarge)?);
    msg.bytes(&specs.0);
    msg.bytes(&challenge);
    let len = u16::try_from(msg.0.len()).map_err(|_| BuildError::TooLarge)?;
    if len > 0x7fff {
        return Err(BuildError::TooLarge);
    }
    let mut bytes = Vec::with_capacity(msg.0.len() + 2);
    bytes.extend_from_slice(&(len | 0x8000).to_be_bytes());
    bytes.extend_from_slice(&msg.0);
    Ok(ClientHello {
        version: TlsVersionProbe::Ssl2,
        bytes,
        ciphers: Vec::new(),
        sslv2_specs: SSLV2_CIPHER_SPECS.to_vec(),
        padded: false,
        sni: None,
    })
}

/// Extensions block contents (without its own length) for TLS 1.0+.
fn extensions(version: TlsVersionProbe, sni: Option<&str>) -> Result<Vec<u8>, BuildError> {
    let mut out = Vec::new();
    if let Some(name) = sni {
        let mut entry = Writer::default();
        entry.u8(0); // host_name
        entry.vec16(name.as_bytes())?;
        let mut list = Writer::default();
        list.vec16(&entry.0)?;
        push_ext(&mut out, EXT_SERVER_NAME, &list.0)?;
    }
    let tls13 = version == TlsVersionProbe::Tls13;
    let groups = if tls13 { GROUPS } else { LEGACY_GROUPS };
    let mut g = Writer::default();
    for id in groups {
        g.u16(*id);
    }
    let mut gl = Writer::default();
    gl.vec16(&g.0)?;
    push_ext(&mut out, EXT_SUPPORTED_GROUPS, &gl.0)?;
    if !tls13 {
        // One format: uncompressed.
        push_ext(&mut out, EXT_EC_POINT_FORMATS, &[1, 0])?;
    }
    if matches!(version, TlsVersionProbe::Tls12 | TlsVersionProbe::Tls13) {
        let mut s = Writer::default();
        for id in SIGNATURE_ALGORITHMS {
            s.u16(*id);
        }
        let mut sl = Writer::default();
        sl.vec16(&s.0)?;
        push_ext(&mut out, EXT_SIGNATURE_ALGORITHMS, &sl.0)?;
    }
    if tls13 {
        // Only 1.3: a server that would pick 1.2 must say so via the legacy
        // version field, which keeps "1.3 accepted" unambiguous.
        push_ext(&mut out, EXT_SUPPORTED_VERSIONS, &[2, 0x03, 0x04])?;
        push_ext(&mut out, EXT_PSK_KEY_EXCHANGE_MODES, &[1, 1])?;
        // Any 32 bytes are a syntactically valid x25519 share; we never
        // complete the key exchange, so no crypto is needed.
        let mut share = Writer::default();
        share.u16(X25519);
        share.vec16(&pseudo_random_bytes(32))?;
        let mut shares = Writer::default();
        shares.vec16(&share.0)?;
        push_ext(&mut out, EXT_KEY_SHARE, &shares.0)?;
    }
    Ok(out)
}

fn push_ext(out: &mut Vec<u8>, ext_type: u16, data: &[u8]) -> Result<(), BuildError> {
    out.extend_from_slice(&ext_type.to_be_bytes());
    let len = u16::try_from(data.len()).map_err(|_| BuildError::TooLarge)?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

/// Normalises a name for SNI, or `None` when it must not be sent (an IP
/// literal, or not a hostname by [`crate::hostname::is_valid`]).
pub fn sni_hostname(name: &str) -> Option<String> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.parse::<IpAddr>().is_ok() || !crate::hostname::is_valid(name) {
        return None;
    }
    Some(name.to_ascii_lowercase())
}

/// Non-cryptographic random bytes (std's randomly keyed SipHash). Client
/// randoms only need to differ between probes so servers and IDS do not see
/// replayed hellos; nothing here is secret.
fn pseudo_random_bytes(n: usize) -> Vec<u8> {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = RandomState::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut out = Vec::with_capacity(n + 8);
    let mut i: u64 = 0;
    while out.len() < n {
        let mut h = state.build_hasher();
        h.write_u128(nanos);
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u64(i);
        out.extend_from_slice(&h.finish().to_be_bytes());
        i += 1;
    }
    out.truncate(n);
    out
}

/// Minimal big-endian writer with length-checked vectors.
#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn u24(&mut self, v: u32) {
        let b = v.to_be_bytes();
        self.0.extend_from_slice(b.get(1..).unwrap_or(&[0, 0, 0]));
    }
    fn bytes(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    fn vec8(&mut self, v: &[u8]) -> Result<(), BuildError> {
        self.u8(u8::try_from(v.len()).map_err(|_| BuildError::TooLarge)?);
        self.bytes(v);
        Ok(())
    }
    fn vec16(&mut self, v: &[u8]) -> Result<(), BuildError> {
        self.u16(u16::try_from(v.len()).map_err(|_| BuildError::TooLarge)?);
        self.bytes(v);
        Ok(())
    }
    fn vec24(&mut self, v: &[u8]) -> Result<(), BuildError> {
        let len = u32::try_from(v.len()).map_err(|_| BuildError::TooLarge)?;
        if len > 0x00ff_ffff {
            return Err(BuildError::TooLarge);
        }
        self.u24(len);
        self.bytes(v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::raw::ciphers::{FALLBACK_SCSV, RENEGOTIATION_SCSV};
    use tls_parser::{
        parse_tls_extensions, parse_tls_plaintext, TlsExtension, TlsMessage, TlsMessageHandshake,
    };

    struct Parsed {
        record_version: u16,
        record_len: usize,
        client_version: u16,
        session_id_len: usize,
        ciphers: Vec<u16>,
        ext_raw: Option<Vec<u8>>,
    }

    fn parse(bytes: &[u8]) -> Parsed {
        let (rest, plain) = parse_tls_plaintext(bytes).expect("record parses");
        assert!(rest.is_empty(), "one record, nothing after it");
        assert_eq!(plain.msg.len(), 1);
        let TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)) = &plain.msg[0] else {
            panic!("not a ClientHello: {:?}", plain.msg[0]);
        };
        Parsed {
            record_version: plain.hdr.version.0,
            record_len: usize::from(plain.hdr.len),
            client_version: ch.version.0,
            session_id_len: ch.session_id.map_or(0, |s| s.len()),
            ciphers: ch.ciphers.iter().map(|c| c.0).collect(),
            ext_raw: ch.ext.map(|e| e.to_vec()),
        }
    }

    fn ext_types(raw: &[u8]) -> Vec<u16> {
        let (rest, exts) = parse_tls_extensions(raw).expect("extensions parse");
        assert!(rest.is_empty());
        exts.iter()
            .map(|e| tls_parser::TlsExtensionType::from(e).0)
            .collect()
    }

    fn assert_outside_window(bytes: &[u8], p: &Parsed) {
        // Both the whole record and the handshake message (the record
        // payload) must be outside the window.
        for len in [bytes.len(), p.record_len] {
            assert!(!(256..512).contains(&len), "length {len} inside 256..511");
        }
    }

    #[test]
    fn sslv3_hello_has_no_extensions_block() {
        let h = build(
            TlsVersionProbe::Ssl3,
            Some("ftp.example.com"),
            &CipherList::Full,
        )
        .unwrap();
        let p = parse(&h.bytes);
        assert_eq!(p.record_version, 0x0300);
        assert_eq!(p.client_version, 0x0300);
        assert_eq!(p.ciphers, LEGACY_FULL);
        assert_eq!(p.ext_raw, None);
        assert_eq!(p.session_id_len, 0);
        // Byte-level: the message ends right after "01 00" (one null compression).
        assert_eq!(&h.bytes[h.bytes.len() - 2..], &[1, 0]);
        assert!(h.bytes.len() < 256, "{}", h.bytes.len());
        assert!(!h.ciphers.contains(&FALLBACK_SCSV));
        assert_eq!(h.ciphers.last(), Some(&RENEGOTIATION_SCSV));
        assert_outside_window(&h.bytes, &p);
    }

    #[test]
    fn tls10_and_11_hellos() {
        for (v, cv) in [
            (TlsVersionProbe::Tls10, 0x0301),
            (TlsVersionProbe::Tls11, 0x0302),
        ] {
            for list in [CipherList::Full, CipherList::Short] {
                let h = build(v, Some("ftp.example.com"), &list).unwrap();
                let p = parse(&h.bytes);
                assert_eq!(p.record_version, 0x0301);
                assert_eq!(p.client_version, cv);
                assert_eq!(p.ciphers, ciphers_for(v, &list));
                assert_eq!(p.ciphers.last(), Some(&RENEGOTIATION_SCSV));
                let types = ext_types(p.ext_raw.as_deref().unwrap());
                let mut expected = vec![0, 10, 11];
                if h.padded {
                    expected.push(21);
                }
                assert_eq!(types, expected, "{v} {list:?}");
                assert_outside_window(&h.bytes, &p);
            }
        }
        // The short list fits under 256 without padding.
        let h = build(
            TlsVersionProbe::Tls10,
            Some("ftp.example.com"),
            &CipherList::Short,
        )
        .unwrap();
        assert!(!h.padded && h.bytes.len() < 256);
        let h = build(
            TlsVersionProbe::Tls10,
            Some("ftp.example.com"),
            &CipherList::Full,
        )
        .unwrap();
        assert!(h.padded && h.bytes.len() >= 512);
    }

    #[test]
    fn tls12_hello() {
        let h = build(
            TlsVersionProbe::Tls12,
            Some("FTP.Example.com."),
            &CipherList::Full,
        )
        .unwrap();
        let p = parse(&h.bytes);
        assert_eq!(p.record_version, 0x0301);
        assert_eq!(p.client_version, 0x0303);
        assert_eq!(p.ciphers, TLS12_FULL);
        assert!(p.ciphers.len() <= 128);
        let raw = p.ext_raw.clone().unwrap();
        assert_eq!(ext_types(&raw), vec![0, 10, 11, 13, 21]);
        let (_, exts) = parse_tls_extensions(&raw).unwrap();
        assert!(exts.iter().any(|e| matches!(e,
            TlsExtension::SNI(v) if v.len() == 1 && v[0].1 == b"ftp.example.com")));
        assert_outside_window(&h.bytes, &p);
        assert_eq!(h.sni.as_deref(), Some("ftp.example.com"));
    }

    #[test]
    fn tls13_hello() {
        let h = build(
            TlsVersionProbe::Tls13,
            Some("ftp.example.com"),
            &CipherList::Full,
        )
        .unwrap();
        let p = parse(&h.bytes);
        assert_eq!(p.record_version, 0x0301);
        assert_eq!(p.client_version, 0x0303);
        assert_eq!(p.ciphers, vec![0x1301, 0x1302, 0x1303, 0x1304, 0x1305]);
        assert_eq!(p.session_id_len, 32);
        let raw = p.ext_raw.clone().unwrap();
        let types = ext_types(&raw);
        let mut expected = vec![0, 10, 13, 43, 45, 51];
        if h.padded {
            expected.push(21);
        }
        assert_eq!(types, expected);
        let (_, exts) = parse_tls_extensions(&raw).unwrap();
        for e in &exts {
            match e {
                TlsExtension::SupportedVersions(v) => {
                    assert_eq!(v.iter().map(|x| x.0).collect::<Vec<_>>(), vec![0x0304]);
                }
                TlsExtension::KeyShare(ks) => {
                    // client_shares len 36, group x25519, key len 32
                    assert_eq!(&ks[..6], &[0, 36, 0, 0x1d, 0, 32]);
                    assert_eq!(ks.len(), 38);
                }
                TlsExtension::EllipticCurves(g) => {
                    assert!(g.iter().any(|c| c.0 == 0x0017), "P-256 offered for HRR");
                }
                _ => {}
            }
        }
        assert!(!h.ciphers.contains(&0x00ff));
        assert_outside_window(&h.bytes, &p);
    }

    #[test]
    fn ip_literal_or_bad_name_is_not_sent_as_sni() {
        for bad in [
            "127.0.0.1",
            "::1",
            "bad name",
            "",
            "a..b",
            "ünïcode.example",
        ] {
            assert_eq!(sni_hostname(bad), None, "{bad}");
            let h = build(TlsVersionProbe::Tls12, Some(bad), &CipherList::Short).unwrap();
            let p = parse(&h.bytes);
            assert!(!ext_types(&p.ext_raw.unwrap()).contains(&0));
        }
    }

    #[test]
    fn sslv2_hello_by_hand() {
        let h = build(
            TlsVersionProbe::Ssl2,
            Some("ftp.example.com"),
            &CipherList::Full,
        )
        .unwrap();
        let b = &h.bytes;
        assert_eq!(b[0] & 0x80, 0x80, "2-byte header");
        let len = (usize::from(b[0] & 0x7f) << 8) | usize::from(b[1]);
        assert_eq!(len, b.len() - 2);
        assert_eq!(b[2], 1, "CLIENT-HELLO");
        assert_eq!(&b[3..5], &[0x00, 0x02], "version 2");
        let cs_len = usize::from(u16::from_be_bytes([b[5], b[6]]));
        let sid_len = u16::from_be_bytes([b[7], b[8]]);
        let chal_len = usize::from(u16::from_be_bytes([b[9], b[10]]));
        assert_eq!(cs_len, SSLV2_CIPHER_SPECS.len() * 3);
        assert_eq!(sid_len, 0);
        assert_eq!(chal_len, 16);
        assert_eq!(len, 9 + cs_len + chal_len);
        let specs: Vec<u32> = b[11..11 + cs_len]
            .chunks(3)
            .map(|c| u32::from_be_bytes([0, c[0], c[1], c[2]]))
            .collect();
        assert_eq!(specs, SSLV2_CIPHER_SPECS);
        assert!(b.len() < 256);
    }

    #[test]
    fn explicit_lists_and_limits() {
        let h = build(
            TlsVersionProbe::Tls12,
            None,
            &CipherList::Explicit(vec![0x002f, 0x00ff]),
        )
        .unwrap();
        assert_eq!(parse(&h.bytes).ciphers, vec![0x002f, 0x00ff]);
        assert_eq!(
            build(TlsVersionProbe::Tls12, None, &CipherList::Explicit(vec![])),
            Err(BuildError::EmptyCipherList)
        );
        let too_many: Vec<u16> = (0x0100..0x0100 + 129).collect();
        assert!(matches!(
            build(
                TlsVersionProbe::Tls12,
                None,
                &CipherList::Explicit(too_many)
            ),
            Err(BuildError::TooManyCiphers { .. })
        ));
        let ssl3_max: Vec<u16> = (0x0100..0x0100 + SSL3_MAX_CIPHERS as u16).collect();
        let h = build(TlsVersionProbe::Ssl3, None, &CipherList::Explicit(ssl3_max)).unwrap();
        assert!(h.bytes.len() < 256);
        // Every explicit list size lands outside the 256..511 window.
        for n in 1..=128u16 {
            for v in [
                TlsVersionProbe::Tls10,
                TlsVersionProbe::Tls12,
                TlsVersionProbe::Tls13,
            ] {
                let list: Vec<u16> = (0x0100..0x0100 + n).collect();
                let h = build(
                    v,
                    Some("a-rather-long-host-name.ftp.example.com"),
                    &CipherList::Explicit(list),
                )
                .unwrap();
                let p = parse(&h.bytes);
                assert_outside_window(&h.bytes, &p);
            }
        }
    }

    #[test]
    fn hello_sizes() {
        for v in TlsVersionProbe::ALL {
            for list in [CipherList::Full, CipherList::Short] {
                let h = build(v, Some("ftp.example.com"), &list).unwrap();
                eprintln!("{v} {list:?}: {} bytes, padded {}", h.bytes.len(), h.padded);
                assert!(h.bytes.len() < 256 || h.bytes.len() >= 512);
            }
        }
    }

    #[test]
    fn randoms_differ_between_hellos() {
        let a = build(TlsVersionProbe::Tls12, None, &CipherList::Short).unwrap();
        let b = build(TlsVersionProbe::Tls12, None, &CipherList::Short).unwrap();
        assert_ne!(a.bytes[11..43], b.bytes[11..43]);
    }
}
