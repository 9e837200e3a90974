//! The protocol versions we probe for: the report's versions, with the
//! numbers they have on the wire.

/// One protocol version probe. Each probe uses its own fresh connection.
/// The report's [`TlsVersion`](crate::model::tls::TlsVersion) itself, so a
/// version has one name and one list of all of them, from the model.
pub use crate::model::tls::TlsVersion as TlsVersionProbe;

impl TlsVersionProbe {
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
}

/// Human-readable name for any wire version a server may answer with,
/// including ones we do not probe (so odd answers still read well in reports).
pub fn version_name(v: u16) -> String {
    match TlsVersionProbe::from_wire(v) {
        Some(p) => p.as_str().to_string(),
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
