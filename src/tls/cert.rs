//! Certificate facts and judgement.
//!
//! The scanner accepts any certificate during the handshake (see
//! [`super::audit`]) and judges the chain here, separately, so that a bad
//! certificate becomes a reported fact rather than a failed scan.
//!
//! Facts (names, dates, key, signature) come from x509-parser and stand on
//! their own; trust and name matching come from rustls-webpki. webpki refuses
//! SHA-1 signatures and small RSA keys as "unsupported", so the key and
//! signature columns are filled independently and a weak certificate is not
//! mislabelled as merely untrusted.

use super::trust::TrustStore;
use ::time::format_description::well_known::Rfc3339;
use ::time::OffsetDateTime;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use x509_parser::oid_registry::{self, Oid};
use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate, X509Name};
use x509_parser::public_key::PublicKey;

pub use crate::model::tls::CertificateReport;
use crate::model::tls::{TrustProblem, TrustReason};

/// Judges `chain` (leaf first) as presented for `name`.
pub fn judge(
    chain: &[CertificateDer<'_>],
    name: Option<&ServerName<'_>>,
    trust: &TrustStore,
    now: OffsetDateTime,
    source: &str,
) -> Option<CertificateReport> {
    let leaf_der = chain.first()?;
    let mut report = CertificateReport {
        chain_length: chain.len(),
        source: source.to_string(),
        sha256: hex::encode(Sha256::digest(leaf_der.as_ref())),
        ..Default::default()
    };
    match X509Certificate::from_der(leaf_der.as_ref()) {
        Ok((_, cert)) => fill_facts(&mut report, &cert, now),
        Err(e) => report.parse_error = Some(format!("unparsable certificate: {e}")),
    }
    judge_trust_and_name(&mut report, chain, name, trust, now);
    Some(report)
}

fn fill_facts(report: &mut CertificateReport, cert: &X509Certificate<'_>, now: OffsetDateTime) {
    report.subject = rfc4514(cert.subject());
    report.issuer = rfc4514(cert.issuer());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => report.sans.push((*dns).to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Some(ip) = ip_from_bytes(bytes) {
                        report.sans.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    let validity = cert.validity();
    let not_before = validity.not_before.to_datetime();
    let not_after = validity.not_after.to_datetime();
    report.not_before = not_before.format(&Rfc3339).ok();
    report.not_after = not_after.format(&Rfc3339).ok();
    report.days_left = Some((not_after - now).whole_seconds().div_euclid(86_400));
    report.expired = now > not_after;
    report.not_yet_valid = now < not_before;
    report.self_signed = is_self_signed(cert);
    let (key, bits) = describe_key(cert);
    report.key = key;
    report.key_bits = bits;
    report.signature = oid_name(&cert.signature_algorithm.algorithm);
}

/// Self-signed: issued by its own subject, and (when both key identifiers
/// are present) the authority key id is its own subject key id. A
/// certificate merely issued by a same-named CA is not counted.
fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    if cert.subject().as_raw() != cert.issuer().as_raw() {
        return false;
    }
    let mut ski = None;
    let mut aki = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => ski = Some(id.0),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0)
            }
            _ => {}
        }
    }
    match (ski, aki) {
        (Some(s), Some(a)) => s == a,
        _ => true,
    }
}

pub(crate) fn describe_key(cert: &X509Certificate<'_>) -> (String, Option<u32>) {
    let spki = cert.public_key();
    let alg = &spki.algorithm.algorithm;
    if *alg == oid_registry::OID_SIG_ED25519 {
        return ("Ed25519".into(), Some(256));
    }
    if *alg == oid_registry::OID_SIG_ED448 {
        return ("Ed448".into(), Some(456));
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = rsa.key_size() as u32;
            (format!("RSA-{bits}"), Some(bits))
        }
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| curve_name(&oid))
                .unwrap_or_else(|| "unknown-curve".into());
            let bits = point.key_size() as u32;
            (format!("EC-{curve}"), Some(bits))
        }
        Ok(PublicKey::DSA(_)) => ("DSA".into(), None),
        _ => (oid_name(alg), None),
    }
}

fn curve_name(oid: &Oid<'_>) -> String {
    if *oid == oid_registry::OID_EC_P256 {
        "P256".into()
    } else if *oid == oid_registry::OID_NIST_EC_P384 {
        "P384".into()
    } else if *oid == oid_registry::OID_NIST_EC_P521 {
        "P521".into()
    } else {
        oid_name(oid)
    }
}

/// Short name from the OID registry (`sha256WithRSAEncryption`), else the
/// dotted OID.
fn oid_name(oid: &Oid<'_>) -> String {
    // Signature algorithms the registry has no short name for, under their
    // RFC names (so `cert-weak-signature` sees "sha1" in ecdsa-with-SHA1).
    const EXTRA: &[(&str, &str)] = &[
        ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
        ("1.2.840.10040.4.3", "dsa-with-sha1"),
        ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
        ("1.2.840.113549.1.1.2", "md2WithRSAEncryption"),
    ];
    let id = oid.to_id_string();
    if let Some((_, name)) = EXTRA.iter().find(|(dotted, _)| *dotted == id) {
        return (*name).to_string();
    }
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map(str::to_string)
        .unwrap_or(id)
}

/// RFC 4514 string: RDNs in reverse order, `,`-separated, special
/// characters escaped; values that are not strings as `#hex`.
pub fn rfc4514(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter_rdn()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let key = x509_parser::objects::oid2abbrev(
                        atv.attr_type(),
                        x509_parser::objects::oid_registry(),
                    )
                    .map(str::to_string)
                    .unwrap_or_else(|_| atv.attr_type().to_id_string());
                    let value = match atv.as_str() {
                        Ok(s) => escape_rfc4514(s),
                        Err(_) => format!("#{}", hex::encode(atv.attr_value().data)),
                    };
                    format!("{key}={value}")
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

fn escape_rfc4514(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let special = matches!(c, '"' | '+' | ',' | ';' | '<' | '>' | '\\')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        if c == '\0' {
            out.push_str("\\00");
        } else {
            out.push(c);
        }
    }
    out
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn judge_trust_and_name(
    report: &mut CertificateReport,
    chain: &[CertificateDer<'_>],
    name: Option<&ServerName<'_>>,
    trust: &TrustStore,
    now: OffsetDateTime,
) {
    let Some(leaf_der) = chain.first() else {
        return;
    };
    let end_entity = match webpki::EndEntityCert::try_from(leaf_der) {
        Ok(ee) => ee,
        Err(e) => {
            report.trust_error = Some(describe_webpki_error(&e));
            return;
        }
    };
    let intermediates = chain.get(1..).unwrap_or_default();
    let unix_now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(now.unix_timestamp()).unwrap_or(0),
    ));
    match end_entity.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        trust.anchors(),
        intermediates,
        unix_now,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    ) {
        Ok(_) => report.trusted = true,
        Err(e) => report.trust_error = Some(describe_webpki_error(&e)),
    }
    if let Some(name) = name {
        report.name_checked = Some(server_name_text(name));
        report.name_match = Some(end_entity.verify_is_valid_for_subject_name(name).is_ok());
    }
}

pub fn server_name_text(name: &ServerName<'_>) -> String {
    match name {
        ServerName::DnsName(d) => d.as_ref().to_string(),
        ServerName::IpAddress(ip) => IpAddr::from(*ip).to_string(),
        _ => String::new(),
    }
}

/// The report's reason for a webpki error: a named one where we have a
/// name (the short, stable phrases of the `cert_trust_error` column), else
/// the error's own text.
fn describe_webpki_error(e: &webpki::Error) -> TrustProblem {
    use webpki::Error as E;
    let reason = match e {
        E::UnknownIssuer => TrustReason::UnknownIssuer,
        E::CertExpired { .. } => TrustReason::Expired,
        E::CertNotValidYet { .. } => TrustReason::NotYetValid,
        E::InvalidSignatureForPublicKey => TrustReason::InvalidSignature,
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            TrustReason::UnsupportedSignatureAlgorithm
        }
        E::CaUsedAsEndEntity => TrustReason::CaUsedAsEndEntity,
        E::EndEntityUsedAsCa => TrustReason::EndEntityUsedAsCa,
        E::RequiredEkuNotFoundContext(_) => TrustReason::NotForServerAuth,
        E::BadDer | E::BadDerTime | E::TrailingData(_) => TrustReason::Malformed,
        other => return TrustProblem::Other(format!("{other:?}").to_lowercase()),
    };
    TrustProblem::Named(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_signature_oids_have_names_the_policy_recognises() {
        let oid = Oid::from(&[1, 2, 840, 10045, 4, 1]).unwrap();
        assert_eq!(oid_name(&oid), "ecdsa-with-SHA1");
        let oid = Oid::from(&[1, 2, 840, 113549, 1, 1, 5]).unwrap();
        assert_eq!(oid_name(&oid), "sha1WithRSAEncryption");
    }
}
