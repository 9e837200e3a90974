//! The one rule for what counts as a hostname, for target lines, the SNI
//! of the raw ClientHellos and the name the TLS session checks alike (they
//! once had rules of their own that disagreed on labels such as `-a`).

use rustls_pki_types::{DnsName, ServerName};
use std::net::IpAddr;

/// A DNS name as targets may give it: labels of 1 to 63 letters, digits,
/// `-` (not first or last) or `_` (seen in real internal names), 253
/// characters in all, an optional trailing dot; not all digits and dots
/// (that is a malformed IPv4 address, not a name) and no `:` (IPv6).
pub fn is_valid(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && !name.chars().all(|c| c.is_ascii_digit() || c == '.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The name a TLS session sends as SNI and checks the certificate against:
/// `host` when it is a hostname by [`is_valid`], else `ip` (rustls sends no
/// SNI for an IP, as RFC 6066 requires). A valid hostname that rustls will
/// not take as a DNS name (webpki refuses an all-numeric last label, such
/// as `host.123`) falls back to the IP too, rather than failing the scan.
pub fn server_name(host: Option<&str>, ip: IpAddr) -> ServerName<'static> {
    host.filter(|h| is_valid(h))
        .and_then(|h| DnsName::try_from(h.to_string()).ok())
        .map_or(ServerName::IpAddress(ip.into()), ServerName::DnsName)
}

#[cfg(test)]
mod tests {
    use super::{is_valid, server_name};
    use rustls_pki_types::ServerName;
    use std::net::IpAddr;

    #[test]
    fn a_session_checks_the_hostname_else_the_ip() {
        let ip = IpAddr::from([192, 0, 2, 7]);
        let dns = |name: &str| match server_name(Some(name), ip) {
            ServerName::DnsName(d) => Some(d.as_ref().to_string()),
            _ => None,
        };
        assert_eq!(dns("ftp.example.com").as_deref(), Some("ftp.example.com"));
        assert_eq!(dns("a_b.corp").as_deref(), Some("a_b.corp"));
        for not_a_name in ["-a.example", "1.2.3", "::1", "bad name"] {
            assert_eq!(dns(not_a_name), None, "{not_a_name}");
        }
        assert_eq!(server_name(None, ip), ServerName::IpAddress(ip.into()));
    }

    #[test]
    fn names_and_non_names() {
        for good in [
            "ftp.example.com",
            "ftp.example.com.",
            "a_b.corp",
            "x",
            "1a.example",
        ] {
            assert!(is_valid(good), "{good}");
        }
        let long_label = "a".repeat(64);
        let long_name = ["abcdefghi"; 26].join(".");
        for bad in [
            "",
            ".",
            "a..b",
            "-a.example",
            "a-.example",
            "bad name",
            "ünïcode.example",
            "1.2.3",
            "::1",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
