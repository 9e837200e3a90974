//! Cipher suite lists we offer, and naming/weakness classification of suites.
//!
//! Names and algorithm properties come from `tls_parser::TlsCipherSuite::from_id`
//! (a generated IANA table with kx/au/enc/mac), so we do not maintain our own
//! copy of the registry; only the *selection and order* of the version
//! probes' lists is hand-written here, because that is a scanning policy
//! decision. Cipher enumeration offers every suite of that table a version
//! can negotiate ([`known_suites`]), in as many hellos as the size rules
//! need ([`suite_groups`]).

use crate::tls::raw::version::TlsVersionProbe;
use serde::Serialize;
use tls_parser::{
    TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite, TlsPRF,
    CIPHERS,
};

/// TLS_EMPTY_RENEGOTIATION_INFO_SCSV. Ends legacy lists so servers that insist
/// on secure-renegotiation signalling still answer an extension-less SSLv3 hello.
pub const RENEGOTIATION_SCSV: u16 = 0x00ff;

/// TLS_FALLBACK_SCSV. Must never be in a version probe: it would make a
/// correctly behaving server refuse an older version it actually supports.
pub const FALLBACK_SCSV: u16 = 0x5600;

/// Broad list for SSLv3, TLS 1.0 and TLS 1.1: every suite that can be
/// negotiated before TLS 1.2 and that a real server might still enable,
/// strongest first, including the weak families we want to detect (3DES, RC4,
/// DES, EXPORT, anonymous, NULL). Kept to <= 102 entries so an SSLv3 hello,
/// which cannot carry a padding extension, stays below 256 bytes.
#[rustfmt::skip]
pub const LEGACY_FULL: &[u16] = &[
    // ECDHE / DHE with AES, Camellia, SEED
    0xc00a, 0xc014, 0xc009, 0xc013, 0x0039, 0x0038, 0x0033, 0x0032, 0x0088, 0x0087, 0x0045, 0x0044,
    0x009a, 0x0099,
    // static ECDH / DH
    0xc005, 0xc00f, 0xc004, 0xc00e, 0x0037, 0x0036, 0x0031, 0x0030,
    // RSA key transport
    0x0035, 0x002f, 0x0084, 0x0041, 0x0096, 0x0007,
    // 3DES
    0xc008, 0xc012, 0x0016, 0x0013, 0xc003, 0xc00d, 0x0010, 0x000d, 0x000a,
    // RC4
    0xc007, 0xc011, 0xc002, 0xc00c, 0x0066, 0x0005, 0x0004,
    // single DES
    0x0015, 0x0012, 0x000f, 0x000c, 0x0009,
    // EXPORT and EXPORT1024
    0x0063, 0x0065, 0x0062, 0x0064, 0x0014, 0x0011, 0x000e, 0x000b, 0x0008, 0x0006, 0x0003,
    // anonymous (no authentication)
    0xc019, 0xc018, 0xc017, 0xc016, 0x003a, 0x0034, 0x0089, 0x0046, 0x009b, 0x001b, 0x0018, 0x001a,
    0x0019, 0x0017,
    // NULL encryption
    0xc015, 0xc006, 0xc010, 0xc001, 0xc00b, 0x0002, 0x0001,
    // secure renegotiation signal
    RENEGOTIATION_SCSV,
];

/// Short legacy list: the suites real legacy servers overwhelmingly pick.
/// Used for the retry after a timeout, because some appliances hang on long
/// cipher lists. Small enough that the whole hello stays under 256 bytes
/// without a padding extension.
#[rustfmt::skip]
pub const LEGACY_SHORT: &[u16] = &[
    0xc014, 0xc013, 0x0039, 0x0033, 0x0035, 0x002f, 0xc012, 0x0016, 0x000a, 0x0005, 0x0004, 0x0009,
    0x0008, 0x0003, RENEGOTIATION_SCSV,
];

/// Broad TLS 1.2 list: AEAD and SHA-2 suites first, then the legacy families
/// (still negotiable in TLS 1.2 and exactly what we want to find). At most 128
/// entries because some stacks reject longer lists outright.
#[rustfmt::skip]
pub const TLS12_FULL: &[u16] = &[
    // ECDHE / DHE AEAD
    0xc02c, 0xc030, 0xcca9, 0xcca8, 0xccaa, 0xc02b, 0xc02f, 0x009f, 0x00a3, 0x009e, 0x00a2, 0xc0ad,
    0xc0ac, 0xc09f, 0xc09e, 0xc05d, 0xc05c, 0xc061, 0xc060,
    // ECDHE / DHE CBC with SHA-2
    0xc024, 0xc028, 0xc023, 0xc027, 0x006b, 0x006a, 0x0067, 0x0040, 0xc073, 0xc077, 0xc072, 0xc076,
    0x00c4, 0x00be,
    // RSA key transport, AEAD and SHA-2
    0x009d, 0x009c, 0xc09d, 0xc09c, 0x003d, 0x003c, 0x00c0, 0x00ba, 0xc051, 0xc050,
    // anonymous TLS 1.2 only
    0x00a7, 0x00a6, 0x006d, 0x006c,
    // NULL with SHA-256
    0x003b,
    // ECDHE / DHE CBC with SHA-1
    0xc00a, 0xc014, 0xc009, 0xc013, 0x0039, 0x0038, 0x0033, 0x0032, 0x0088, 0x0087, 0x0045, 0x0044,
    0x009a, 0x0099,
    // static ECDH / DH
    0xc005, 0xc00f, 0xc004, 0xc00e, 0x0037, 0x0036, 0x0031, 0x0030,
    // RSA key transport
    0x0035, 0x002f, 0x0084, 0x0041, 0x0096, 0x0007,
    // 3DES
    0xc008, 0xc012, 0x0016, 0x0013, 0xc003, 0xc00d, 0x0010, 0x000d, 0x000a,
    // RC4
    0xc007, 0xc011, 0xc002, 0xc00c, 0x0066, 0x0005, 0x0004,
    // single DES
    0x0015, 0x0012, 0x000f, 0x000c, 0x0009,
    // EXPORT
    0x0014, 0x0011, 0x000e, 0x000b, 0x0008, 0x0006, 0x0003,
    // anonymous
    0xc019, 0xc018, 0xc017, 0xc016, 0x003a, 0x0034, 0x0089, 0x0046, 0x009b, 0x001b, 0x0018, 0x001a,
    0x0019, 0x0017,
    // NULL encryption
    0xc015, 0xc006, 0xc010, 0xc001, 0xc00b, 0x0002, 0x0001,
    // secure renegotiation signal
    RENEGOTIATION_SCSV,
];

/// Short TLS 1.2 list for the timeout retry (see [`LEGACY_SHORT`]).
#[rustfmt::skip]
pub const TLS12_SHORT: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0x009e, 0x009f, 0xc009, 0xc013, 0xc00a, 0xc014,
    0x0033, 0x0039, 0x009c, 0x009d, 0x002f, 0x0035, 0x000a, RENEGOTIATION_SCSV,
];

/// All five TLS 1.3 suites. TLS 1.3 has no legacy families to hunt, and the
/// list is already short, so it doubles as its own "short" list.
pub const TLS13: &[u16] = &[0x1301, 0x1302, 0x1303, 0x1304, 0x1305];

/// SSLv2 cipher kinds (3 bytes each on the wire), as offered by old clients.
/// A server answering with any of them speaks SSLv2 (DROWN territory).
pub const SSLV2_CIPHER_SPECS: &[u32] = &[
    0x0700c0, 0x050080, 0x030080, 0x010080, 0x060040, 0x040080, 0x020080,
];

/// Name of an SSLv2 cipher kind.
pub fn sslv2_cipher_name(spec: u32) -> String {
    let known = match spec {
        0x010080 => "SSL_CK_RC4_128_WITH_MD5",
        0x020080 => "SSL_CK_RC4_128_EXPORT40_WITH_MD5",
        0x030080 => "SSL_CK_RC2_128_CBC_WITH_MD5",
        0x040080 => "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5",
        0x050080 => "SSL_CK_IDEA_128_CBC_WITH_MD5",
        0x060040 => "SSL_CK_DES_64_CBC_WITH_MD5",
        0x0700c0 => "SSL_CK_DES_192_EDE3_CBC_WITH_MD5",
        _ => return format!("unknown SSLv2 cipher 0x{spec:06x}"),
    };
    known.to_string()
}

/// Most suites in one enumeration hello, before the renegotiation SCSV is
/// appended: an SSLv3 hello cannot be padded, and 102 suites + SCSV keep it
/// under 256 bytes; other hellos stay within the 128 suites some stacks
/// accept.
pub fn max_suites_per_hello(version: TlsVersionProbe) -> usize {
    match version {
        TlsVersionProbe::Ssl3 => 102,
        TlsVersionProbe::Tls13 => 128,
        _ => 127,
    }
}

/// The version probe's broad list, the first of the enumeration's groups.
fn probe_list(version: TlsVersionProbe) -> &'static [u16] {
    match version {
        TlsVersionProbe::Ssl2 => &[],
        TlsVersionProbe::Ssl3 | TlsVersionProbe::Tls10 | TlsVersionProbe::Tls11 => LEGACY_FULL,
        TlsVersionProbe::Tls12 => TLS12_FULL,
        TlsVersionProbe::Tls13 => TLS13,
    }
}

/// Whether a suite of the registry copy can be negotiated in `version`:
/// TLS 1.3 suites only in 1.3; AEAD, SHA-2 MAC or SHA-2 PRF suites from
/// TLS 1.2 on; the rest in SSLv3 to TLS 1.2 (EXPORT suites too: finding
/// them is the point). The signalling values and NULL_WITH_NULL_NULL never.
fn negotiable(version: TlsVersionProbe, s: &TlsCipherSuite) -> bool {
    let id = s.id.0;
    if id == 0x0000 || id == RENEGOTIATION_SCSV || id == FALLBACK_SCSV {
        return false;
    }
    let tls13 = s.kx == TlsCipherKx::Tls13;
    let tls12_on = matches!(s.enc_mode, TlsCipherEncMode::Gcm | TlsCipherEncMode::Ccm)
        || s.enc == TlsCipherEnc::Chacha20_Poly1305
        || matches!(
            s.mac,
            TlsCipherMac::HmacSha256
                | TlsCipherMac::HmacSha384
                | TlsCipherMac::HmacSha512
                | TlsCipherMac::Aead
        )
        || matches!(s.prf, TlsPRF::Sha256 | TlsPRF::Sha384 | TlsPRF::Sha512);
    match version {
        TlsVersionProbe::Ssl2 => false,
        TlsVersionProbe::Tls13 => tls13,
        TlsVersionProbe::Tls12 => !tls13,
        TlsVersionProbe::Ssl3 | TlsVersionProbe::Tls10 | TlsVersionProbe::Tls11 => {
            !tls13 && !tls12_on
        }
    }
}

/// Every suite the registry copy (tls-parser's IANA table) knows that
/// `version` can negotiate: the version probe's list first, in its order,
/// then the rest by id. This is what "enumeration complete" is relative to.
pub fn known_suites(version: TlsVersionProbe) -> Vec<u16> {
    let first: Vec<u16> = probe_list(version)
        .iter()
        .copied()
        .filter(|&id| id != RENEGOTIATION_SCSV)
        .collect();
    let mut rest: Vec<u16> = CIPHERS
        .values()
        .filter(|s| negotiable(version, s) && !first.contains(&s.id.0))
        .map(|s| s.id.0)
        .collect();
    rest.sort_unstable();
    let mut all = first;
    all.extend(rest);
    all
}

/// [`known_suites`] split into the cipher lists of separate hellos: the
/// version probe's list, then the rest in groups of at most
/// [`max_suites_per_hello`]. Enumeration runs group by group, so a server
/// that picks its favourite from each offer is still enumerated completely.
pub fn suite_groups(version: TlsVersionProbe) -> Vec<Vec<u16>> {
    let all = known_suites(version);
    let first_len = probe_list(version)
        .iter()
        .filter(|&&id| id != RENEGOTIATION_SCSV)
        .count()
        .min(all.len());
    let (first, rest) = all.split_at(first_len);
    let mut groups = Vec::new();
    if !first.is_empty() {
        groups.push(first.to_vec());
    }
    groups.extend(
        rest.chunks(max_suites_per_hello(version).max(1))
            .map(<[u16]>::to_vec),
    );
    groups
}

/// Weakness families a report flags for an accepted suite (the
/// `weak-cipher-accepted` finding). A suite without forward secrecy is not
/// weak in this sense: see [`lacks_forward_secrecy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Weakness {
    /// No encryption at all.
    NullEncryption,
    /// No server authentication: trivially man-in-the-middled.
    Anonymous,
    /// 40/56-bit export-grade key material (FREAK/Logjam class).
    Export,
    /// RC4 stream cipher (RFC 7465 forbids it).
    Rc4,
    /// RC2 block cipher (export-era, 64-bit block).
    Rc2,
    /// Single DES (56 bits or less).
    Des,
    /// Triple DES: 64-bit block, Sweet32.
    TripleDes,
    /// IDEA: 64-bit block, removed from TLS 1.2 (RFC 5469).
    Idea,
    /// HMAC-MD5 record MAC.
    Md5,
}

/// What a report says about one cipher suite.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SuiteInfo {
    pub id: u16,
    /// IANA name, or `unknown(0x....)` for ids missing from the table.
    pub name: String,
    pub weaknesses: Vec<Weakness>,
    /// Static key exchange: recorded traffic can be decrypted once the
    /// server's key is known (the `no-forward-secrecy` finding).
    pub no_forward_secrecy: bool,
}

/// IANA name of a suite id (`unknown(0x....)` when not in the registry copy).
pub fn suite_name(id: u16) -> String {
    match TlsCipherSuite::from_id(id) {
        Some(s) => s.name.to_string(),
        None => format!("unknown(0x{id:04x})"),
    }
}

/// Name, weakness flags and forward secrecy of a suite id.
pub fn suite_info(id: u16) -> SuiteInfo {
    SuiteInfo {
        id,
        name: suite_name(id),
        weaknesses: weaknesses(id),
        no_forward_secrecy: lacks_forward_secrecy(id),
    }
}

/// Anonymous: no authentication, but a real key exchange (PSK suites also
/// have no certificate but are authenticated by the shared key).
fn anonymous(s: &TlsCipherSuite) -> bool {
    s.au == TlsCipherAu::Null
        && matches!(
            s.kx,
            TlsCipherKx::Dh | TlsCipherKx::Ecdh | TlsCipherKx::Aecdh
        )
}

/// Weakness classification derived from the registry's algorithm fields:
/// NULL, anonymous, EXPORT, RC4, RC2, DES, 3DES, IDEA, MD5. Unknown ids get
/// no flags (we cannot claim anything about them).
pub fn weaknesses(id: u16) -> Vec<Weakness> {
    let Some(s) = TlsCipherSuite::from_id(id) else {
        return Vec::new();
    };
    if id == RENEGOTIATION_SCSV || id == FALLBACK_SCSV {
        return Vec::new();
    }
    let mut out = Vec::new();
    if s.enc == TlsCipherEnc::Null {
        out.push(Weakness::NullEncryption);
    }
    if anonymous(s) {
        out.push(Weakness::Anonymous);
    }
    if s.name.contains("EXPORT") {
        out.push(Weakness::Export);
    }
    match s.enc {
        TlsCipherEnc::Rc4 => out.push(Weakness::Rc4),
        TlsCipherEnc::Rc2 => out.push(Weakness::Rc2),
        TlsCipherEnc::Des => out.push(Weakness::Des),
        TlsCipherEnc::TripleDes => out.push(Weakness::TripleDes),
        TlsCipherEnc::Idea => out.push(Weakness::Idea),
        _ => {}
    }
    if s.mac == TlsCipherMac::HmacMd5 {
        out.push(Weakness::Md5);
    }
    out
}

/// A suite whose key exchange is not ephemeral: static RSA key transport
/// (also RSA_PSK), static DH and ECDH, plain PSK, Kerberos. Anonymous DH and
/// ECDH are ephemeral (their problem is [`Weakness::Anonymous`]); DHE,
/// ECDHE, SRP, ECCPWD and every TLS 1.3 suite have forward secrecy.
/// Unknown ids: false (we cannot claim anything about them).
pub fn lacks_forward_secrecy(id: u16) -> bool {
    let Some(s) = TlsCipherSuite::from_id(id) else {
        return false;
    };
    if id == 0x0000 || id == RENEGOTIATION_SCSV || id == FALLBACK_SCSV || anonymous(s) {
        return false;
    }
    matches!(
        s.kx,
        TlsCipherKx::Rsa
            | TlsCipherKx::Dh
            | TlsCipherKx::Ecdh
            | TlsCipherKx::Psk
            | TlsCipherKx::Krb5
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn check_list(name: &str, list: &[u16], legacy: bool) {
        let mut seen = HashSet::new();
        for id in list {
            assert!(seen.insert(*id), "{name}: duplicate 0x{id:04x}");
            assert!(
                TlsCipherSuite::from_id(*id).is_some(),
                "{name}: 0x{id:04x} unknown to tls-parser"
            );
            assert_ne!(
                *id, FALLBACK_SCSV,
                "{name}: fallback SCSV in a version probe"
            );
        }
        assert!(list.len() <= 128, "{name}: {} suites", list.len());
        if legacy {
            assert_eq!(list.last(), Some(&RENEGOTIATION_SCSV), "{name}");
        }
    }

    #[test]
    fn offered_lists_are_sane() {
        check_list("LEGACY_FULL", LEGACY_FULL, true);
        check_list("LEGACY_SHORT", LEGACY_SHORT, true);
        check_list("TLS12_FULL", TLS12_FULL, true);
        check_list("TLS12_SHORT", TLS12_SHORT, true);
        check_list("TLS13", TLS13, false);
        assert!(LEGACY_FULL.len() <= 102);
        // Legacy lists must not contain suites that only exist in TLS 1.2.
        for id in LEGACY_FULL {
            let name = suite_name(*id);
            assert!(
                !name.contains("GCM") && !name.contains("SHA256") && !name.contains("SHA384"),
                "{name} in legacy list"
            );
        }
    }

    #[test]
    fn weakness_classification() {
        assert_eq!(suite_name(0x002f), "TLS_RSA_WITH_AES_128_CBC_SHA");
        // Static RSA: not weak, but without forward secrecy.
        assert_eq!(weaknesses(0x002f), vec![]);
        assert!(lacks_forward_secrecy(0x002f));
        assert_eq!(weaknesses(0xc030), vec![]);
        assert!(!lacks_forward_secrecy(0xc030));
        assert_eq!(weaknesses(0x1301), vec![]);
        assert!(!lacks_forward_secrecy(0x1301));
        assert_eq!(
            weaknesses(0x0003),
            vec![Weakness::Export, Weakness::Rc4, Weakness::Md5]
        );
        assert!(lacks_forward_secrecy(0x0003));
        assert_eq!(
            weaknesses(0x0001),
            vec![Weakness::NullEncryption, Weakness::Md5]
        );
        assert_eq!(
            weaknesses(0x0018),
            vec![Weakness::Anonymous, Weakness::Rc4, Weakness::Md5]
        );
        assert!(!lacks_forward_secrecy(0x0018), "anonymous DH is ephemeral");
        assert_eq!(
            weaknesses(0xc015),
            vec![Weakness::NullEncryption, Weakness::Anonymous]
        );
        assert_eq!(weaknesses(0x0016), vec![Weakness::TripleDes]);
        assert_eq!(weaknesses(0x0009), vec![Weakness::Des]);
        assert!(lacks_forward_secrecy(0x0009));
        assert_eq!(
            weaknesses(0x0006),
            vec![Weakness::Export, Weakness::Rc2, Weakness::Md5]
        );
        assert_eq!(weaknesses(0x0007), vec![Weakness::Idea]);
        // Static DH and ECDH, plain PSK and RSA_PSK: no forward secrecy;
        // DHE_PSK, ECDHE_PSK and SRP have it.
        for id in [0x0030, 0xc004, 0x008c, 0x0094, 0xc0a0] {
            assert!(lacks_forward_secrecy(id), "{}", suite_name(id));
        }
        for id in [0x0090, 0xc035, 0xc01d, 0xc0a2, 0xc05c] {
            assert!(!lacks_forward_secrecy(id), "{}", suite_name(id));
        }
        // TLS 1.3 integrity-only suites (RFC 9150) are NULL encryption.
        assert_eq!(weaknesses(0xc0b4), vec![Weakness::NullEncryption]);
        assert_eq!(weaknesses(0xbeef), vec![]);
        assert!(!lacks_forward_secrecy(0xbeef));
        assert_eq!(suite_name(0xbeef), "unknown(0xbeef)");
        assert_eq!(
            sslv2_cipher_name(0x0700c0),
            "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"
        );
    }

    #[test]
    fn every_known_suite_is_offered_once_in_hellos_of_legal_size() {
        use crate::tls::raw::client_hello::{build, CipherList};
        let table: Vec<u16> = CIPHERS.keys().copied().collect();
        assert!(table.len() > 340, "{}", table.len());
        let mut union = HashSet::new();
        for version in [
            TlsVersionProbe::Ssl3,
            TlsVersionProbe::Tls10,
            TlsVersionProbe::Tls11,
            TlsVersionProbe::Tls12,
            TlsVersionProbe::Tls13,
        ] {
            let groups = suite_groups(version);
            let flat: Vec<u16> = groups.concat();
            assert_eq!(flat, known_suites(version), "{version}");
            let unique: HashSet<u16> = flat.iter().copied().collect();
            assert_eq!(unique.len(), flat.len(), "{version}: a suite offered twice");
            // The version probe's list is the first group, in its order.
            let probe: Vec<u16> = probe_list(version)
                .iter()
                .copied()
                .filter(|&c| c != RENEGOTIATION_SCSV)
                .collect();
            assert_eq!(groups[0], probe, "{version}");
            for group in &groups {
                assert!(group.len() <= max_suites_per_hello(version));
                let mut list = group.clone();
                if version != TlsVersionProbe::Tls13 {
                    list.push(RENEGOTIATION_SCSV);
                }
                for sni in [None, Some("a-rather-long-host-name.example.com")] {
                    let hello = build(version, sni, &CipherList::Explicit(list.clone()))
                        .unwrap_or_else(|e| panic!("{version}: {e}"));
                    let n = hello.bytes.len();
                    assert!(!(256..512).contains(&n), "{version}: hello of {n} bytes");
                    assert!(n < 256 || version != TlsVersionProbe::Ssl3);
                }
            }
            union.extend(unique);
        }
        // Every suite of the table is offered by some version, but the
        // signalling values and NULL_WITH_NULL_NULL.
        let mut missing: Vec<u16> = table.into_iter().filter(|c| !union.contains(c)).collect();
        missing.sort_unstable();
        assert_eq!(missing, vec![0x0000, RENEGOTIATION_SCSV, FALLBACK_SCSV]);
        // The suites servers accept with a full handshake that the version
        // probe's list lacks: CCM_8, DHE-RSA-ARIA.
        let tls12 = known_suites(TlsVersionProbe::Tls12);
        for id in [
            0xc0a0, 0xc0a1, 0xc0a2, 0xc0a3, 0xc0ae, 0xc0af, 0xc052, 0xc053,
        ] {
            assert!(tls12.contains(&id), "{}", suite_name(id));
        }
        assert_eq!(suite_groups(TlsVersionProbe::Tls12).len(), 3);
        assert_eq!(known_suites(TlsVersionProbe::Tls13).len(), 11);
        let legacy = known_suites(TlsVersionProbe::Tls10);
        assert!(legacy.iter().all(|&c| !suite_name(c).contains("GCM")));
        assert_eq!(known_suites(TlsVersionProbe::Ssl2), Vec::<u16>::new());
    }
}
