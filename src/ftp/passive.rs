//! Parsers for the PASV (227, RFC 959) and EPSV (229, RFC 2428) replies.
//!
//! Both are fed by the network and so must reject, never panic on, numbers
//! over 255, port 0, missing parts and garbage.

use std::net::Ipv4Addr;

/// Address and port a server advertises in its 227 reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasvAddress {
    pub ip: Ipv4Addr,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassiveParseError {
    #[error("no h1,h2,h3,h4,p1,p2 group in the reply")]
    MissingNumbers,
    #[error("number {0} is over 255")]
    OutOfRange(u32),
    #[error("port 0 advertised")]
    PortZero,
    #[error("no (|||port|) group in the reply")]
    MissingEpsvGroup,
    #[error("EPSV port is not a number from 1 to 65535: {0:?}")]
    BadEpsvPort(String),
}

/// Parses the text of a 227 reply. Servers differ on the parentheses
/// (`227 =h1,h2,...` exists), so the first run of six comma-separated numbers
/// anywhere in the text is taken, as curl does.
pub fn parse_pasv(text: &str) -> Result<PasvAddress, PassiveParseError> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if bytes.get(start).is_some_and(u8::is_ascii_digit) {
            if let Some(numbers) = six_numbers(text.get(start..).unwrap_or_default()) {
                let mut octets = [0u8; 6];
                for (slot, n) in octets.iter_mut().zip(numbers) {
                    *slot = u8::try_from(n).map_err(|_| PassiveParseError::OutOfRange(n))?;
                }
                let [a, b, c, d, p1, p2] = octets;
                let port = u16::from(p1) << 8 | u16::from(p2);
                if port == 0 {
                    return Err(PassiveParseError::PortZero);
                }
                return Ok(PasvAddress {
                    ip: Ipv4Addr::new(a, b, c, d),
                    port,
                });
            }
            // Skip the rest of this run of digits.
            while bytes.get(start).is_some_and(u8::is_ascii_digit) {
                start += 1;
            }
        } else {
            start += 1;
        }
    }
    Err(PassiveParseError::MissingNumbers)
}

/// Reads `n1,n2,n3,n4,n5,n6` from the start of `s` (numbers of up to ten
/// digits so that an overflow is reported as out of range, not skipped).
fn six_numbers(s: &str) -> Option<[u32; 6]> {
    let mut out = [0u32; 6];
    let mut rest = s;
    for (i, slot) in out.iter_mut().enumerate() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 10 {
            return None;
        }
        *slot = rest
            .get(..digits)?
            .parse::<u64>()
            .ok()?
            .min(u64::from(u32::MAX)) as u32;
        rest = rest.get(digits..)?;
        if i < 5 {
            rest = rest.strip_prefix(',')?;
        }
    }
    Some(out)
}

/// Parses the text of a 229 reply: `Entering Extended Passive Mode (|||6446|)`.
/// The delimiter is whatever character follows the parenthesis (RFC 2428
/// allows any printable one).
pub fn parse_epsv(text: &str) -> Result<u16, PassiveParseError> {
    let open = text.find('(').ok_or(PassiveParseError::MissingEpsvGroup)?;
    let inner = text
        .get(open + 1..)
        .ok_or(PassiveParseError::MissingEpsvGroup)?;
    let close = inner.find(')').ok_or(PassiveParseError::MissingEpsvGroup)?;
    let group = inner
        .get(..close)
        .ok_or(PassiveParseError::MissingEpsvGroup)?;
    let delim = group
        .chars()
        .next()
        .ok_or(PassiveParseError::MissingEpsvGroup)?;
    let parts: Vec<&str> = group.split(delim).collect();
    // "|||6446|" splits into ["", "", "", "6446", ""].
    if parts.len() != 5 || parts.iter().take(3).any(|p| !p.is_empty()) || parts.get(4) != Some(&"")
    {
        return Err(PassiveParseError::MissingEpsvGroup);
    }
    let port_text = parts.get(3).copied().unwrap_or_default();
    match port_text.parse::<u16>() {
        Ok(p) if p > 0 && port_text.bytes().all(|b| b.is_ascii_digit()) => Ok(p),
        _ => Err(PassiveParseError::BadEpsvPort(port_text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasv_standard() {
        let a = parse_pasv("Entering Passive Mode (127,0,0,1,195,80).").unwrap();
        assert_eq!(a.ip, Ipv4Addr::new(127, 0, 0, 1));
        assert_eq!(a.port, 195 * 256 + 80);
    }

    #[test]
    fn pasv_without_parentheses_and_with_leading_numbers() {
        let a = parse_pasv("Entering Passive Mode 10,0,0,5,4,1").unwrap();
        assert_eq!(a.ip, Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(a.port, 1025);
        let b = parse_pasv("227 mode 1 = 192,168,1,2,0,21").unwrap();
        assert_eq!(b.ip, Ipv4Addr::new(192, 168, 1, 2));
    }

    #[test]
    fn pasv_errors() {
        assert_eq!(
            parse_pasv("Entering Passive Mode (300,0,0,1,1,1)"),
            Err(PassiveParseError::OutOfRange(300))
        );
        assert_eq!(
            parse_pasv("(127,0,0,1,0,0)"),
            Err(PassiveParseError::PortZero)
        );
        assert_eq!(
            parse_pasv("(127,0,0,1,4)"),
            Err(PassiveParseError::MissingNumbers)
        );
        assert_eq!(
            parse_pasv("nothing here"),
            Err(PassiveParseError::MissingNumbers)
        );
        assert_eq!(parse_pasv(""), Err(PassiveParseError::MissingNumbers));
        assert_eq!(
            parse_pasv("(1,2,3,4,5,99999999999999999999)"),
            Err(PassiveParseError::MissingNumbers)
        );
        assert_eq!(
            parse_pasv("(1,2,3,4,5,4294967295)"),
            Err(PassiveParseError::OutOfRange(u32::MAX))
        );
    }

    #[test]
    fn epsv_standard_and_other_delimiter() {
        assert_eq!(
            parse_epsv("Entering Extended Passive Mode (|||6446|)"),
            Ok(6446)
        );
        assert_eq!(parse_epsv("ok (!!!21!)"), Ok(21));
    }

    #[test]
    fn epsv_errors() {
        assert!(parse_epsv("Entering Extended Passive Mode").is_err());
        assert!(parse_epsv("(|||0|)").is_err());
        assert!(parse_epsv("(|||70000|)").is_err());
        assert!(parse_epsv("(|||+5|)").is_err());
        assert!(parse_epsv("(||1|2|)").is_err());
        assert!(parse_epsv("(|||12|").is_err());
        assert!(parse_epsv("()").is_err());
    }
}
