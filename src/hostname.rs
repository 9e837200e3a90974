//! The one rule for what counts as a hostname, for target lines and for
//! the SNI of the raw ClientHellos alike (they once had rules of their own
//! that disagreed on labels such as `-a`).

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

#[cfg(test)]
mod tests {
    use super::is_valid;

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
