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
//!
//! The parser is incremental ([`ReplyAssembler`]): bytes are fed as they
//! arrive and each is looked at once. It keeps the first `keep` bytes of a
//! reply and discards the rest as it streams, still following the framing
//! to the reply's end, so an enormous reply (one 128 KiB line, a FEAT of
//! 100,000 lines) costs bounded memory and is returned marked
//! [`Reply::truncated`]; only past `limit` consumed bytes does it give up.

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
    /// The reply was longer than the bytes kept of it: `lines` holds its
    /// beginning (the line that crossed the cap cut short) and, when the
    /// reply was multi-line, its closing line; the rest was read and
    /// discarded. Absent from JSON when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Reply {
    /// A complete, untruncated reply.
    pub fn new(code: u16, lines: Vec<String>) -> Self {
        Self {
            code,
            lines,
            truncated: false,
        }
    }

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
    /// No end of the reply within `limit` bytes (an endless multi-line
    /// reply, or one enormous line): read no further.
    #[error("reply longer than {} (read no further)", size(*.limit))]
    TooLong { limit: usize },
}

/// `4 MiB`, `64 KiB`, `1000 bytes`.
fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes % KIB == 0 {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
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

/// Try to parse one reply from the start of `buf`, all of it kept.
///
/// `max_len` caps the bytes a single reply may take; once the buffer holds
/// that many bytes without a complete reply, the answer is
/// [`ReplyError::TooLong`], so a flooding server costs bounded memory.
/// (For a reply kept in part and read to its end, see [`ReplyAssembler`].)
pub fn parse_reply(buf: &[u8], max_len: usize) -> Result<Parsed, ReplyError> {
    ReplyAssembler::new(max_len, max_len).feed(buf)
}

/// Bytes of a truncated multi-line reply's closing line that are kept.
const LAST_LINE_KEEP: usize = 1024;
/// Bytes of the reply's start kept for error messages.
const START_KEEP: usize = 40;

/// Incremental reply parser: feed it bytes as they arrive until it returns
/// [`Parsed::Complete`] (with how many bytes of the *last* feed it used).
///
/// At most `keep` bytes of the reply are kept as text (plus the closing
/// line of a multi-line reply, up to 1 KiB): the rest is discarded as it is
/// parsed, and the reply comes back with `truncated` set. At most `limit`
/// bytes are consumed for one reply; reaching that without the reply's end
/// is [`ReplyError::TooLong`]. An error is final: feeding more returns it
/// again. After a complete reply the assembler starts afresh.
#[derive(Debug, Clone)]
pub struct ReplyAssembler {
    keep: usize,
    limit: usize,
    /// Bytes of the reply consumed so far.
    consumed: usize,
    /// Code and its three digits, once the first line is complete.
    code: Option<(u16, [u8; 3])>,
    lines: Vec<String>,
    truncated: bool,
    /// Kept bytes of the current line (without the LF).
    line: Vec<u8>,
    /// How many bytes of the current line may be kept.
    line_cap: usize,
    /// `consumed` when the current line started.
    line_start: usize,
    /// Raw length of the current line so far (without the LF).
    line_len: usize,
    /// Its first four bytes, and its last byte (a CR before the LF).
    head: [u8; 4],
    head_len: usize,
    last_byte: u8,
    /// The reply's first bytes, for error messages.
    start: Vec<u8>,
    failed: Option<ReplyError>,
}

impl ReplyAssembler {
    /// Keeps the first `keep` bytes, consumes at most `limit` (at least `keep`).
    pub fn new(keep: usize, limit: usize) -> Self {
        Self {
            keep,
            limit: limit.max(keep),
            consumed: 0,
            code: None,
            lines: Vec::new(),
            truncated: false,
            line: Vec::new(),
            line_cap: keep.max(LAST_LINE_KEEP),
            line_start: 0,
            line_len: 0,
            head: [0; 4],
            head_len: 0,
            last_byte: 0,
            start: Vec::new(),
            failed: None,
        }
    }

    /// Bytes of the reply consumed so far (0: the reply has not started).
    pub fn consumed(&self) -> usize {
        self.consumed
    }

    /// The first bytes consumed, for messages about a reply left unfinished.
    pub fn start(&self) -> &[u8] {
        &self.start
    }

    /// Feeds the next bytes. `Complete(reply, used)`: the reply ended after
    /// `used` bytes of `input`; the rest of `input` is not part of it.
    pub fn feed(&mut self, input: &[u8]) -> Result<Parsed, ReplyError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.feed_inner(input) {
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
            ok => ok,
        }
    }

    fn feed_inner(&mut self, input: &[u8]) -> Result<Parsed, ReplyError> {
        let mut pos = 0;
        while let Some(rest) = input.get(pos..).filter(|r| !r.is_empty()) {
            let room = self.limit.saturating_sub(self.consumed);
            if room == 0 {
                return Err(ReplyError::TooLong { limit: self.limit });
            }
            let window = rest.get(..rest.len().min(room)).unwrap_or_default();
            let newline = window.iter().position(|&b| b == b'\n');
            let segment = window
                .get(..newline.unwrap_or(window.len()))
                .unwrap_or_default();
            self.take_segment(segment, input.get(pos..).unwrap_or_default())?;
            pos += segment.len();
            if newline.is_none() {
                continue;
            }
            pos += 1;
            self.consumed += 1;
            self.remember_start(b"\n");
            if let Some(reply) = self.end_line()? {
                return Ok(Parsed::Complete(reply, pos));
            }
        }
        if self.consumed >= self.limit {
            return Err(ReplyError::TooLong { limit: self.limit });
        }
        Ok(Parsed::NeedMore)
    }

    /// Bytes of the current line, no LF among them.
    fn take_segment(&mut self, segment: &[u8], rest_of_input: &[u8]) -> Result<(), ReplyError> {
        for (i, &b) in segment.iter().enumerate() {
            if self.head_len >= 4 {
                break;
            }
            if self.code.is_none() && !code_byte_ok(self.head_len, b) {
                // What came before this segment, then the segment onward.
                let mut seen = self.start.clone();
                seen.extend(rest_of_input.iter().take(START_KEEP));
                let cut = seen
                    .iter()
                    .position(|&c| c == b'\r' || c == b'\n')
                    .unwrap_or(seen.len());
                self.consumed += i + 1;
                let message = preview(seen.get(..cut).unwrap_or_default());
                seen.truncate(START_KEEP);
                self.start = seen;
                return Err(ReplyError::Malformed(message));
            }
            if let Some(slot) = self.head.get_mut(self.head_len) {
                *slot = b;
            }
            self.head_len += 1;
        }
        let room = self.line_cap.saturating_sub(self.line.len());
        self.line
            .extend_from_slice(segment.get(..segment.len().min(room)).unwrap_or_default());
        self.line_len += segment.len();
        self.consumed += segment.len();
        if let Some(&b) = segment.last() {
            self.last_byte = b;
        }
        self.remember_start(segment);
        Ok(())
    }

    fn remember_start(&mut self, bytes: &[u8]) {
        let room = START_KEEP.saturating_sub(self.start.len());
        self.start
            .extend_from_slice(bytes.get(..bytes.len().min(room)).unwrap_or_default());
    }

    /// A line ended (its LF consumed): the complete reply, if it was the last.
    fn end_line(&mut self) -> Result<Option<Reply>, ReplyError> {
        let whole = self.line.len() == self.line_len;
        let text_len = if self.line_len > 0 && self.last_byte == b'\r' {
            self.line_len - 1
        } else {
            self.line_len
        };
        let mut kept = std::mem::take(&mut self.line);
        if whole && kept.last() == Some(&b'\r') {
            kept.pop();
        }
        let head = self.head.get(..self.head_len.min(4)).unwrap_or_default();
        let budget = self.keep.saturating_sub(self.line_start);
        let done = match self.code {
            None => {
                if text_len < 3 {
                    return Err(ReplyError::Malformed(preview(&kept)));
                }
                let digits = [
                    head.first().copied().unwrap_or(b'0'),
                    head.get(1).copied().unwrap_or(b'0'),
                    head.get(2).copied().unwrap_or(b'0'),
                ];
                let code = digits
                    .iter()
                    .fold(0u16, |acc, d| acc * 10 + u16::from(d.saturating_sub(b'0')));
                let separator = if text_len > 3 {
                    head.get(3).copied().unwrap_or(b' ')
                } else {
                    b' '
                };
                self.code = Some((code, digits));
                self.push_text(&kept, 4, budget, whole);
                (separator != b'-').then_some(code)
            }
            Some((code, digits)) => {
                let ours = head.get(..3) == Some(&digits[..]);
                let is_last =
                    text_len >= 3 && ours && (text_len == 3 || head.get(3) == Some(&b' '));
                if is_last {
                    // The closing line is kept even past the budget.
                    self.push_text(&kept, 4, usize::MAX, whole);
                    Some(code)
                } else {
                    // Many servers prefix inner lines with `xyz-` too; that
                    // prefix is framing, not text. Other inner lines are
                    // kept verbatim.
                    let framed = ours && text_len >= 4 && head.get(3) == Some(&b'-');
                    self.push_text(&kept, if framed { 4 } else { 0 }, budget, whole);
                    None
                }
            }
        };
        self.line_start = self.consumed;
        self.line_len = 0;
        self.head_len = 0;
        self.last_byte = 0;
        self.line_cap = self.keep.saturating_sub(self.consumed).max(LAST_LINE_KEEP);
        let Some(code) = done else {
            return Ok(None);
        };
        let reply = Reply {
            code,
            lines: std::mem::take(&mut self.lines),
            truncated: self.truncated,
        };
        // Ready for the next reply.
        *self = Self::new(self.keep, self.limit);
        Ok(Some(reply))
    }

    /// Keeps a line's text (from byte `skip`) within `budget` bytes of the
    /// line; a line not kept whole marks the reply truncated.
    fn push_text(&mut self, kept: &[u8], skip: usize, budget: usize, whole: bool) {
        if budget == 0 {
            self.truncated = true;
            return;
        }
        let cut = kept.len().min(budget);
        if cut < kept.len() || !whole {
            self.truncated = true;
        }
        let text = kept.get(skip.min(cut)..cut).unwrap_or_default();
        self.lines.push(decode(text));
    }
}

/// Whether byte `b` at position `i` of a first line can still begin
/// `xyz ` or `xyz-`.
fn code_byte_ok(i: usize, b: u8) -> bool {
    match i {
        0 => (b'1'..=b'5').contains(&b),
        1 | 2 => b.is_ascii_digit(),
        _ => b == b' ' || b == b'-' || b == b'\r',
    }
}

/// Text of a reply line; bytes that are not UTF-8 are kept visibly as
/// `\xNN` (not replaced by U+FFFD, which would hide what the server sent).
fn decode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Whether bytes start like an FTP reply: a code the parser takes (first
/// digit 1 to 5, two more digits), then a space or a dash (for a greeting
/// too long to parse whole, or one that arrived in place of a TLS answer).
pub fn starts_like_reply(bytes: &[u8]) -> bool {
    matches!(bytes, [_, _, _, b' ' | b'-', ..])
        && bytes
            .iter()
            .take(3)
            .enumerate()
            .all(|(i, &b)| code_byte_ok(i, b))
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
    fn non_utf8_text_is_kept_visibly_not_rejected() {
        let (r, _) = complete(b"220 caf\xe9 \xff\xfe \xc3\xa9\r\n");
        assert_eq!(r.code, 220);
        assert_eq!(r.lines[0], "caf\\xe9 \\xff\\xfe \u{e9}");
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

    const KEEP: usize = 64 * 1024;
    const LIMIT: usize = 4 * 1024 * 1024;

    /// Feeds `bytes` in pieces of `step`; the reply and the bytes of the
    /// whole input it used.
    fn assemble(
        bytes: &[u8],
        keep: usize,
        limit: usize,
        step: usize,
    ) -> Result<(Reply, usize), ReplyError> {
        let mut a = ReplyAssembler::new(keep, limit);
        let mut offset = 0;
        for (n, piece) in bytes.chunks(step).enumerate() {
            if let Parsed::Complete(r, used) = a.feed(piece)? {
                assert!(used <= piece.len());
                return Ok((r, offset + used));
            }
            offset += piece.len();
            // Memory stays bounded however long the reply.
            assert!(a.line.len() <= keep.max(LAST_LINE_KEEP), "{}", a.line.len());
            if n % 1000 == 0 {
                let held: usize = a.lines.iter().map(String::len).sum();
                assert!(held <= keep, "{held} bytes of lines held");
            }
        }
        panic!("no complete reply in {} bytes", bytes.len());
    }

    fn one_line_greeting(text_len: usize) -> Vec<u8> {
        let mut bytes = b"220 ".to_vec();
        bytes.extend((0..text_len).map(|i| b'a' + (i % 26) as u8));
        bytes.extend(b"\r\n");
        bytes
    }

    fn big_feat(lines: usize) -> Vec<u8> {
        let mut bytes = b"211-Features:\r\n".to_vec();
        for i in 0..lines {
            bytes.extend(format!(" FEAT{i:06}\r\n").as_bytes());
        }
        bytes.extend(b"211 End\r\n");
        bytes
    }

    #[test]
    fn a_128_kib_line_is_kept_in_part_and_read_to_its_end() {
        let mut bytes = one_line_greeting(128 * 1024);
        let end = bytes.len();
        bytes.extend(b"\x16\x03\x01");
        for step in [1, 7, 4096, bytes.len()] {
            let (r, used) = assemble(&bytes, KEEP, LIMIT, step).unwrap();
            assert_eq!(
                used, end,
                "step {step}: the TLS bytes after it are left alone"
            );
            assert_eq!(r.code, 220);
            assert!(r.truncated);
            assert_eq!(r.lines.len(), 1);
            // The first 64 KiB of the reply, less its `220 ` framing.
            assert_eq!(r.lines[0].len(), KEEP - 4, "step {step}");
            assert!(r.lines[0].starts_with("abcdefghijklmnopqrstuvwxyzabc"));
        }
    }

    #[test]
    fn a_feat_of_100000_lines_keeps_its_start_and_its_closing_line() {
        let bytes = big_feat(100_000);
        assert!(bytes.len() > 1_000_000);
        let (r, used) = assemble(&bytes, KEEP, LIMIT, 4096).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(r.code, 211);
        assert!(r.truncated);
        assert_eq!(r.lines.first().map(String::as_str), Some("Features:"));
        assert_eq!(r.lines.last().map(String::as_str), Some("End"));
        // Lines of 13 bytes on the wire: what fits in 64 KiB, the one that
        // crosses the cap cut short, and the closing line.
        let inner = &r.lines[1..r.lines.len() - 1];
        assert_eq!(inner.len(), (KEEP - 15).div_ceil(13));
        for (i, line) in inner.iter().enumerate().take(inner.len() - 1) {
            assert_eq!(*line, format!(" FEAT{i:06}"));
        }
        let kept: usize = r.lines.iter().map(|l| l.len() + 2).sum();
        assert!(kept <= KEEP + 64, "{kept}");
        // The same answer however the bytes arrive.
        assert_eq!(
            assemble(&bytes, KEEP, LIMIT, 13).unwrap(),
            (r.clone(), used)
        );
        assert_eq!(
            assemble(&bytes, KEEP, LIMIT, bytes.len()).unwrap(),
            (r, used)
        );
    }

    #[test]
    fn a_reply_within_the_kept_part_is_not_truncated() {
        let bytes = big_feat(100);
        let (r, used) = assemble(&bytes, KEEP, LIMIT, 5).unwrap();
        assert_eq!(used, bytes.len());
        assert!(!r.truncated);
        assert_eq!(r.lines.len(), 102);
        // Exactly the cap is still whole.
        let exact = one_line_greeting(100 - 6);
        assert_eq!(exact.len(), 100);
        let (r, _) = assemble(&exact, 100, 100, 3).unwrap();
        assert!(!r.truncated);
        // The cap counts text: 100 bytes of it plus CR LF is still whole ...
        let (r, _) = assemble(&one_line_greeting(100 - 4), 100, 1000, 3).unwrap();
        assert!(!r.truncated);
        // ... one more byte is not.
        let (r, _) = assemble(&one_line_greeting(100 - 3), 100, 1000, 3).unwrap();
        assert!(r.truncated);
        assert_eq!(r.lines[0].len(), 100 - 4);
    }

    #[test]
    fn the_closing_line_is_kept_past_the_cap_up_to_1_kib() {
        let bytes = b"220-0123456789\r\n220-inner\r\n220 the end\r\n";
        let (r, _) = assemble(bytes, 10, 1000, 1).unwrap();
        assert_eq!(r.lines, vec!["012345", "the end"]);
        assert!(r.truncated);
        let mut long = b"220-a\r\n220 ".to_vec();
        long.extend(vec![b'z'; 5000]);
        long.extend(b"\r\n");
        let (r, used) = assemble(&long, 10, 100_000, 999).unwrap();
        assert_eq!(used, long.len());
        assert_eq!(r.lines[0], "a");
        assert_eq!(r.lines[1].len(), LAST_LINE_KEEP - 4);
        assert!(r.truncated);
    }

    #[test]
    fn inner_lines_that_look_like_the_end_are_recognised_while_discarding() {
        // Past the cap, a `211-` or another code's line is still inner; only
        // `211 ` ends the reply.
        let mut bytes = b"211-start\r\n".to_vec();
        for _ in 0..1000 {
            bytes.extend(b"211-more\r\n230 other code\r\n211x\r\n 211 space\r\n");
        }
        bytes.extend(b"211\r\n");
        bytes.extend(b"221 next reply\r\n");
        let (r, used) = assemble(&bytes, 64, 1 << 20, 17).unwrap();
        assert_eq!(used, bytes.len() - b"221 next reply\r\n".len());
        assert_eq!(r.lines.last().map(String::as_str), Some(""));
        assert!(r.truncated);
    }

    #[test]
    fn the_absolute_limit_ends_an_endless_reply() {
        let mut a = ReplyAssembler::new(100, 10_000);
        assert_eq!(a.feed(b"220-"), Ok(Parsed::NeedMore));
        let mut fed = 4;
        let err = loop {
            match a.feed(b"220-and more\r\n") {
                Ok(Parsed::NeedMore) => fed += 14,
                Ok(other) => panic!("{other:?}"),
                Err(e) => break e,
            }
            assert!(fed < 20_000);
        };
        assert_eq!(err, ReplyError::TooLong { limit: 10_000 });
        assert_eq!(a.consumed(), 10_000);
        assert_eq!(
            err.to_string(),
            "reply longer than 10000 bytes (read no further)"
        );
        // Errors are final.
        assert_eq!(a.feed(b"220 end\r\n"), Err(err));
        assert_eq!(
            ReplyError::TooLong { limit: LIMIT }.to_string(),
            "reply longer than 4 MiB (read no further)"
        );
        // One endless line, likewise.
        let mut a = ReplyAssembler::new(100, 10_000);
        let line = vec![b'x'; 3000];
        assert_eq!(a.feed(b"220 "), Ok(Parsed::NeedMore));
        for _ in 0..3 {
            assert_eq!(a.feed(&line), Ok(Parsed::NeedMore));
        }
        assert!(a.line.len() <= LAST_LINE_KEEP);
        assert_eq!(a.feed(&line), Err(ReplyError::TooLong { limit: 10_000 }));
    }

    #[test]
    fn the_assembler_starts_afresh_after_a_reply() {
        let bytes = b"220-a\r\n220 b\r\n331 next\r\n";
        let mut a = ReplyAssembler::new(KEEP, LIMIT);
        let Ok(Parsed::Complete(first, used)) = a.feed(bytes) else {
            panic!()
        };
        assert_eq!(first.lines, vec!["a", "b"]);
        assert_eq!(a.consumed(), 0);
        let Ok(Parsed::Complete(second, n)) = a.feed(&bytes[used..]) else {
            panic!()
        };
        assert_eq!(
            (second.code, second.lines, n),
            (331, vec!["next".to_string()], 10)
        );
    }

    #[test]
    fn malformed_input_is_named_with_its_first_bytes() {
        let mut a = ReplyAssembler::new(KEEP, LIMIT);
        assert_eq!(a.feed(b"2"), Ok(Parsed::NeedMore));
        assert_eq!(
            a.feed(b"2x garbage\r\nmore"),
            Err(ReplyError::Malformed("\"22x garbage\"".into()))
        );
        assert!(!a.start().is_empty());
    }

    #[test]
    fn truncated_flag_is_absent_from_json_unless_set() {
        let (r, _) = complete(b"220 hi\r\n");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"code":220,"lines":["hi"]}"#
        );
        let back: Reply = serde_json::from_str(r#"{"code":220,"lines":["hi"]}"#).unwrap();
        assert_eq!(back, Reply::new(220, vec!["hi".into()]));
        let (r, _) = assemble(&one_line_greeting(200), 50, 1000, 64).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.ends_with(r#","truncated":true}"#), "{json}");
        assert_eq!(serde_json::from_str::<Reply>(&json).unwrap(), r);
    }
}
