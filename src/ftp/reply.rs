//! I/O-free FTP reply parser (RFC 959 section 4.2).
//!
//! Bytes in; "a complete reply", "need more" or "malformed" out. Keeping the
//! parser free of I/O lets it be tested on byte literals and fuzzed, and lets
//! the connection layer stay a thin buffer around it.
//!
//! A reply is either one line `xyz text` or a multi-line block that starts
//! with `xyz-text` and ends at the first line that starts with the *same*
//! code followed by a space. Lines in between are free text: they may start
//! with digits or with another code (the glFTPd trap). They are kept
//! verbatim, except that a leading `xyz-` of the reply's own code is framing
//! and is removed.
//! Lines end in CR LF; bare LF is accepted because real servers send it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One complete FTP reply: the raw three-digit code and its text lines.
///
/// The code is kept as a number rather than folded into an enum so that
/// unusual codes are reported exactly as the server sent them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub code: u16,
    /// Text of each line with the code prefix of the first and last line
    /// removed and the line terminator stripped. Non-UTF-8 bytes are
    /// replaced, so a hostile server cannot make the report invalid UTF-8.
    pub lines: Vec<String>,
}

impl Reply {
    /// The first digit of the code: 1 preliminary, 2 completion,
    /// 3 intermediate, 4 transient failure, 5 permanent failure.
    pub fn class(&self) -> u16 {
        self.code / 100
    }

    pub fn is_positive_completion(&self) -> bool {
        self.class() == 2
    }

    /// All lines joined with `;`, trimmed: the form used in one-line reports.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(";")
    }
}

impl fmt::Display for Reply {
    /// `234 AUTH TLS OK.`: code and joined text, as reports show a reply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text();
        if text.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{} {}", self.code, text)
        }
    }
}

/// Why bytes could not be read as an FTP reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The first line does not start with a three-digit code and a
    /// separator: whatever answered is not speaking FTP.
    #[error("not an FTP reply: {0}")]
    Malformed(String),
    /// No complete reply within the size cap (an endless multi-line reply,
    /// or one enormous line).
    #[error("reply longer than {limit} bytes")]
    TooLong { limit: usize },
}

/// Result of offering the buffered bytes to the parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A complete reply and how many bytes of the buffer it used; bytes after
    /// it belong to whatever comes next (the next reply, or TLS).
    Complete(Reply, usize),
    /// The bytes so far are a valid beginning; read more.
    NeedMore,
}

/// Try to parse one reply from the start of `buf`.
///
/// `max_len` caps the bytes a single reply may take; once the buffer holds
/// that many bytes without a complete reply, the answer is
/// [`ReplyError::TooLong`], so a flooding server costs bounded memory.
pub fn parse_reply(buf: &[u8], max_len: usize) -> Result<Parsed, ReplyError> {
    let mut lines = LineIter { buf, pos: 0 };
    let first = match lines.next_line() {
        Some(line) => line,
        None => return incomplete(buf, max_len),
    };
    let (code, separator) = parse_code(first.text)?;
    let mut texts = vec![decode(first.text.get(4..).unwrap_or_default())];
    if separator != b'-' {
        return finish(code, texts, first.end, max_len);
    }
    let code_digits = first.text.get(..3).unwrap_or_default();
    loop {
        let line = match lines.next_line() {
            Some(line) => line,
            None => return incomplete(buf, max_len),
        };
        let is_last = line.text.len() >= 3
            && line.text.get(..3) == Some(code_digits)
            && matches!(line.text.get(3), None | Some(b' '));
        if is_last {
            texts.push(decode(line.text.get(4..).unwrap_or_default()));
            return finish(code, texts, line.end, max_len);
        }
        // Many servers prefix inner lines with `xyz-` too; that prefix is
        // framing, not text. Other inner lines are kept verbatim.
        let inner = match line.text.strip_prefix(code_digits) {
            Some(rest) if rest.first() == Some(&b'-') => rest.get(1..).unwrap_or_default(),
            _ => line.text,
        };
        texts.push(decode(inner));
    }
}

fn finish(code: u16, lines: Vec<String>, end: usize, max_len: usize) -> Result<Parsed, ReplyError> {
    if end > max_len {
        return Err(ReplyError::TooLong { limit: max_len });
    }
    Ok(Parsed::Complete(Reply { code, lines }, end))
}

fn incomplete(buf: &[u8], max_len: usize) -> Result<Parsed, ReplyError> {
    if buf.len() >= max_len {
        return Err(ReplyError::TooLong { limit: max_len });
    }
    // Reject garbage early rather than waiting for a line end that may never
    // come: if even the first bytes cannot start a reply, say so now.
    if let Some(prefix) = buf.get(..buf.len().min(4)) {
        check_code_prefix(prefix)?;
    }
    Ok(Parsed::NeedMore)
}

/// Checks that the bytes seen so far could still begin `xyz ` or `xyz-`.
fn check_code_prefix(prefix: &[u8]) -> Result<(), ReplyError> {
    for (i, &b) in prefix.iter().enumerate() {
        let ok = match i {
            0 => (b'1'..=b'5').contains(&b),
            1 | 2 => b.is_ascii_digit(),
            _ => b == b' ' || b == b'-' || b == b'\r' || b == b'\n',
        };
        if !ok {
            return Err(ReplyError::Malformed(preview(prefix)));
        }
    }
    Ok(())
}

/// Parses `xyz` plus the separator of a first line. A bare `xyz` line
/// (no text) is accepted as a single-line reply.
fn parse_code(line: &[u8]) -> Result<(u16, u8), ReplyError> {
    check_code_prefix(line.get(..line.len().min(4)).unwrap_or_default())
        .map_err(|_| ReplyError::Malformed(preview(line)))?;
    if line.len() < 3 {
        return Err(ReplyError::Malformed(preview(line)));
    }
    let code = line
        .iter()
        .take(3)
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Ok((code, line.get(3).copied().unwrap_or(b' ')))
}

fn decode(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A short, printable excerpt of unexpected bytes for error messages.
pub fn preview(bytes: &[u8]) -> String {
    let cut = bytes.get(..bytes.len().min(40)).unwrap_or_default();
    let text: String = String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    format!("{text:?}")
}

struct Line<'a> {
    text: &'a [u8],
    /// Offset just past the line terminator.
    end: usize,
}

struct LineIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> LineIter<'a> {
    /// The next complete line, without its CR LF or LF; `None` when the
    /// buffer ends before a line terminator.
    fn next_line(&mut self) -> Option<Line<'a>> {
        let rest = self.buf.get(self.pos..)?;
        let nl = rest.iter().position(|&b| b == b'\n')?;
        let mut text = rest.get(..nl)?;
        if let Some(stripped) = text.strip_suffix(b"\r") {
            text = stripped;
        }
        self.pos += nl + 1;
        Some(Line {
            text,
            end: self.pos,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: usize = 4096;

    fn complete(bytes: &[u8]) -> (Reply, usize) {
        match parse_reply(bytes, CAP) {
            Ok(Parsed::Complete(r, n)) => (r, n),
            other => panic!("expected a complete reply, got {other:?}"),
        }
    }

    #[test]
    fn single_line_crlf() {
        let (r, n) = complete(b"220 Service ready\r\n");
        assert_eq!(r.code, 220);
        assert_eq!(r.lines, vec!["Service ready"]);
        assert_eq!(n, 19);
    }

    #[test]
    fn single_line_bare_lf_and_trailing_bytes_left_alone() {
        let (r, n) = complete(b"234 AUTH TLS OK.\n\x16\x03\x01");
        assert_eq!(r.code, 234);
        assert_eq!(r.to_string(), "234 AUTH TLS OK.");
        assert_eq!(n, 17, "the TLS bytes after the reply are not consumed");
    }

    #[test]
    fn code_without_text() {
        let (r, _) = complete(b"200\r\n");
        assert_eq!(r.code, 200);
        assert_eq!(r.to_string(), "200");
    }

    #[test]
    fn multi_line_with_inner_codes_and_digits() {
        let bytes = b"220-Welcome\r\n230 inner line with another code\r\n220-still inner\r\n 12345 digits\r\n220 done\r\n";
        let (r, n) = complete(bytes);
        assert_eq!(r.code, 220);
        assert_eq!(
            r.lines,
            vec![
                "Welcome",
                "230 inner line with another code",
                "still inner",
                " 12345 digits",
                "done"
            ]
        );
        assert_eq!(n, bytes.len());
    }

    #[test]
    fn feat_reply() {
        let (r, _) = complete(b"211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n211 End\r\n");
        assert_eq!(r.code, 211);
        assert_eq!(r.lines.len(), 5);
        assert_eq!(r.lines[1], " AUTH TLS");
    }

    #[test]
    fn split_across_reads_needs_more_until_complete() {
        let bytes = b"220-a\r\n220-b\r\n220 c\r\n";
        for cut in 0..bytes.len() {
            assert_eq!(
                parse_reply(&bytes[..cut], CAP),
                Ok(Parsed::NeedMore),
                "cut at {cut}"
            );
        }
        assert_eq!(complete(bytes).0.lines, vec!["a", "b", "c"]);
    }

    #[test]
    fn oversized_reply_is_too_long() {
        let mut bytes = b"220-".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 5000));
        assert_eq!(
            parse_reply(&bytes, CAP),
            Err(ReplyError::TooLong { limit: CAP })
        );
        // A complete reply that is itself over the cap is refused too.
        let mut long = b"220 ".to_vec();
        long.extend(std::iter::repeat_n(b'y', 5000));
        long.extend(b"\r\n");
        assert_eq!(
            parse_reply(&long, CAP),
            Err(ReplyError::TooLong { limit: CAP })
        );
    }

    #[test]
    fn endless_multi_line_hits_the_cap() {
        let mut bytes = b"220-start\r\n".to_vec();
        while bytes.len() < CAP + 10 {
            bytes.extend(b"220-more\r\n");
        }
        assert!(matches!(
            parse_reply(&bytes, CAP),
            Err(ReplyError::TooLong { .. })
        ));
    }

    #[test]
    fn truncated_reply_needs_more() {
        assert_eq!(parse_reply(b"220-partial\r\n22", CAP), Ok(Parsed::NeedMore));
        assert_eq!(parse_reply(b"", CAP), Ok(Parsed::NeedMore));
    }

    #[test]
    fn non_ftp_bytes_are_malformed_early() {
        assert!(matches!(
            parse_reply(b"SSH-2.0-OpenSSH", CAP),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_reply(b"HTTP/1.1 400 Bad Request\r\n", CAP),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_reply(b"\x16\x03\x01\x00", CAP),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_reply(b"220x\r\n", CAP),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_reply(b"22\r\n", CAP),
            Err(ReplyError::Malformed(_))
        ));
        assert!(matches!(
            parse_reply(b"620 bad class\r\n", CAP),
            Err(ReplyError::Malformed(_))
        ));
    }

    #[test]
    fn non_utf8_text_is_replaced_not_rejected() {
        let (r, _) = complete(b"220 caf\xe9 \xff\xfe\r\n");
        assert_eq!(r.code, 220);
        assert!(r.lines[0].starts_with("caf"));
        assert!(r.lines[0].contains('\u{fffd}'));
    }

    #[test]
    fn last_line_may_be_code_alone() {
        let (r, _) = complete(b"211-Features\r\n UTF8\r\n211\r\n");
        assert_eq!(r.lines, vec!["Features", " UTF8", ""]);
    }

    #[test]
    fn blank_text_lines_are_dropped_from_joined_text() {
        let (r, _) = complete(b"220-Hello\r\n\r\n220 ready\r\n");
        assert_eq!(r.text(), "Hello;ready");
    }
}
