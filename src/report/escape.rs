//! Server-controlled text made harmless for terminals and spreadsheets.
//!
//! A greeting can carry escape sequences that set the terminal title, write
//! to the clipboard (OSC 52), clear the screen or draw fake rows. Every
//! piece of text a server controls goes through [`visible`] on its way to
//! the table, the CSV and error messages: C0 controls, DEL and C1 controls
//! are written as visible escapes (`\x1b`, `\x7f`, `\u009b`), so what the
//! server sent stays readable and nothing is executed.

/// `text` with every C0 control (tab included), DEL and C1 control written
/// as a visible escape.
pub fn visible(text: &str) -> String {
    if !text.chars().any(is_escaped) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match u32::from(c) {
            n @ (0..=0x1f | 0x7f) => out.push_str(&format!("\\x{n:02x}")),
            n @ 0x80..=0x9f => out.push_str(&format!("\\u{n:04x}")),
            _ => out.push(c),
        }
    }
    out
}

fn is_escaped(c: char) -> bool {
    matches!(u32::from(c), 0..=0x1f | 0x7f..=0x9f)
}

/// A serialized JSON line with DEL and C1 controls as `\u` escapes, which
/// serde_json leaves raw (it escapes only C0). Such characters can only
/// stand inside JSON strings, where the escape means the same character.
pub fn json_line(json: &str) -> String {
    if !json.chars().any(|c| matches!(u32::from(c), 0x7f..=0x9f)) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        match u32::from(c) {
            n @ 0x7f..=0x9f => out.push_str(&format!("\\u{n:04x}")),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(visible("220 ok"), "220 ok");
        assert_eq!(
            visible("\u{1b}]0;pwned\u{7}\u{1b}[2J"),
            "\\x1b]0;pwned\\x07\\x1b[2J"
        );
        assert_eq!(visible("a\u{9b}31mb\u{7f}"), "a\\u009b31mb\\x7f");
        assert_eq!(visible("tab\there\r\n"), "tab\\x09here\\x0d\\x0a");
        assert_eq!(visible("ünïcødé ✓"), "ünïcødé ✓");
    }

    #[test]
    fn json_lines_escape_c1_and_del_and_stay_json() {
        let value = serde_json::json!({"banner": "x\u{9b}y\u{7f}z\u{1b}"});
        let line = json_line(&serde_json::to_string(&value).unwrap());
        assert!(!line.chars().any(|c| c.is_control()), "{line}");
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back, value);
    }
}
