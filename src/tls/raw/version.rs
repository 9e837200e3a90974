//! The protocol versions we probe for.

use serde::Serialize;
use std::fmt;

/// One protocol version probe. Each probe uses its own fresh connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum TlsVersionProbe {
    #[serde(rename = "SSLv2")]
    Ssl2,
    #[serde(rename = "SSLv3")]
    Ssl3,
    #[serde(rename = "TLSv1.0")]
    Tls10,
    #[serde(rename = "TLSv1.1")]
    Tls11,
    #[serde(rename = "TLSv1.2")]
    Tls12,
    #[serde(rename = "TLSv1.3")]
    Tls13,
}

impl TlsVersionProbe {
    /// All probes, oldest first (the order a report usually lists them in).
    pub const ALL: [TlsVersionProbe; 6] = [
        TlsVersionProbe::Ssl2,
        TlsVersionProbe::Ssl3,
        TlsVersionProbe::Tls10,
        TlsVersionProbe::Tls11,
        TlsVersionProbe::Tls12,
        TlsVersionProbe::Tls13,
    ];

    /// The protocol version number as it appears on the wire when a server
    /// negotiates this version (SSLv2 uses 0x0002 in its own format).
    pub const fn wire_version(self) -> u16 {
        match self {
            TlsVersionProbe::Ssl2 => 0x0002,
            TlsVersionProbe::Ssl3 => 0x0300,
            TlsVersionProbe::Tls10 => 0x0301,
            TlsVersionProbe::Tls11 => 0x0302,
            TlsVersionProbe::Tls12 => 0x0303,
            TlsVersionProbe::Tls13 => 0x0304,
        }
    }

    /// Reverse of [`wire_version`](Self::wire_version).
    pub const fn from_wire(v: u16) -> Option<TlsVersionProbe> {
        match v {
            0x0002 => Some(TlsVersionProbe::Ssl2),
            0x0300 => Some(TlsVersionProbe::Ssl3),
            0x0301 => Some(TlsVersionProbe::Tls10),
            0x0302 => Some(TlsVersionProbe::Tls11),
            0x0303 => Some(TlsVersionProbe::Tls12),
            0x0304 => Some(TlsVersionProbe::Tls13),
            _ => None,
        }
    }

    /// Display name used in reports.
    pub const fn name(self) -> &'static str {
        match self {
            TlsVersionProbe::Ssl2 => "SSLv2",
            TlsVersionProbe::Ssl3 => "SSLv3",
            TlsVersionProbe::Tls10 => "TLSv1.0",
            TlsVersionProbe::Tls11 => "TLSv1.1",
            TlsVersionProbe::Tls12 => "TLSv1.2",
            TlsVersionProbe::Tls13 => "TLSv1.3",
        }
    }
}

impl fmt::Display for TlsVersionProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Human-readable name for any wire version a server may answer with,
/// including ones we do not probe (so odd answers still read well in reports).
pub fn version_name(v: u16) -> String {
    match TlsVersionProbe::from_wire(v) {
        Some(p) => p.name().to_string(),
        None => format!("unknown(0x{v:04x})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_wire_values_round_trip() {
        let names: Vec<String> = TlsVersionProbe::ALL.iter().map(|v| v.to_string()).collect();
        assert_eq!(
            names,
            ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
        );
        for v in TlsVersionProbe::ALL {
            assert_eq!(TlsVersionProbe::from_wire(v.wire_version()), Some(v));
        }
        assert_eq!(version_name(0x7f12), "unknown(0x7f12)");
    }
}
