//! Target grammar and the streaming target reader.
//!
//! One target per line (or per `--target`):
//!
//! ```text
//! ftp.example.com            hostname: ports 21 (explicit) and 990 (implicit)
//! ftp.example.com:2121       hostname and port
//! 192.0.2.10  192.0.2.10:21  IPv4, with or without port
//! 2001:db8::10               bare IPv6 (no port)
//! [2001:db8::10]:990         bracketed IPv6 with port
//! 192.0.2.0/28  [2001:db8::/126]:21   CIDR blocks, with an optional port
//! ftp://host[:port]  ftps://host[:port]   scheme forces explicit / implicit
//! # comment                  blank lines and comments are skipped
//! ```
//!
//! Files are read line by line, never whole, so a target list of millions of
//! lines costs constant memory; a CIDR block is expanded lazily later.

mod scanner;

pub use scanner::InputFormat;

use crate::model::Mode;
use ipnet::IpNet;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::net::IpAddr;
use std::path::PathBuf;

/// Longest line accepted in a target file; anything longer is an error for
/// that line (and is not held in memory).
pub const MAX_LINE_BYTES: usize = 4096;

/// After this many bad lines in one source, the rest of it is skipped: it is
/// probably not a target list at all (a binary file, the wrong file).
pub const MAX_ERRORS_PER_SOURCE: usize = 50;

/// Default cap on the addresses of one CIDR block (a /16).
pub const DEFAULT_MAX_CIDR_HOSTS: u64 = 65_536;

/// The address part of a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostSpec {
    Name(String),
    Ip(IpAddr),
    Cidr(IpNet),
}

/// One parsed target line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    /// 0-based position among all valid targets of the run.
    pub input_index: u64,
    /// The target as written (trimmed, comment removed).
    pub text: String,
    pub host: HostSpec,
    pub port: Option<u16>,
    /// Set by an `ftp://` or `ftps://` scheme.
    pub mode: Option<Mode>,
}

/// Where a target came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
    /// A `--target` flag (its position among the flags).
    Flag,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Stdin => f.write_str("<stdin>"),
            Source::Flag => f.write_str("--target"),
        }
    }
}

/// A bad target line or an unreadable source, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{origin}:{line}: {message}: {text:?}")]
    BadLine {
        origin: Source,
        line: u64,
        text: String,
        message: String,
    },
    #[error("{origin}: {message}")]
    Unreadable { origin: Source, message: String },
}

/// Options of the grammar.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    pub max_cidr_hosts: u64,
    /// What target files (and standard input) hold.
    pub input_format: InputFormat,
    /// Ports taken from a port scanner's output besides those it named
    /// FTP (the `--ports` list).
    pub ftp_ports: Vec<u16>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            input_format: InputFormat::Auto,
            ftp_ports: vec![21, 990],
            max_cidr_hosts: DEFAULT_MAX_CIDR_HOSTS,
        }
    }
}

/// Parses one line. `Ok(None)` for blank lines and comments. The
/// `input_index` of the result is 0; the reader assigns the real one.
pub fn parse_line(line: &str, options: &ParseOptions) -> Result<Option<TargetSpec>, String> {
    // A UTF-8 byte-order mark (spreadsheet exports start with one) is not
    // part of the target.
    let text = strip_comment(line.trim_start_matches('\u{feff}')).trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().any(|c| c.is_whitespace()) {
        return Err("more than one word on the line (one target per line)".into());
    }
    if text.chars().any(|c| c.is_control()) {
        return Err("control characters in the target".into());
    }
    let (mode, rest) = match text.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "ftp" => (Some(Mode::Explicit), rest.trim_end_matches('/')),
            "ftps" => (Some(Mode::Implicit), rest.trim_end_matches('/')),
            other => return Err(format!("unknown scheme {other:?} (use ftp:// or ftps://)")),
        },
        None => (None, text),
    };
    if mode.is_some() && !rest.starts_with('[') && rest.matches(':').count() > 1 {
        // `ftp://::1:2221` would otherwise be the address ::1:2221, port 21.
        return Err(format!(
            "an IPv6 address in a URL needs brackets: write {}://[{rest}] for the address, \
             or {}://[ADDRESS]:PORT with a port",
            text.split_once("://").map(|(s, _)| s).unwrap_or("ftp"),
            text.split_once("://").map(|(s, _)| s).unwrap_or("ftp"),
        ));
    }
    if mode.is_none() {
        refuse_ambiguous_ipv6(rest)?;
    }
    let (host_text, port) = split_port(rest)?;
    let host = parse_host(host_text, options)?;
    let port = match (port, mode) {
        (Some(p), _) => Some(p),
        (None, Some(Mode::Explicit)) => Some(21),
        (None, Some(Mode::Implicit)) => Some(990),
        (None, None) => None,
    };
    Ok(Some(TargetSpec {
        input_index: 0,
        text: text.to_string(),
        host,
        port,
        mode,
    }))
}

/// `#` starts a comment at the beginning of a line or after white space.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes.get(i - 1).is_some_and(|p| p.is_ascii_whitespace())) {
            return line.get(..i).unwrap_or_default();
        }
    }
    line
}

/// Splits `host[:port]`, `[v6][:port]` or a bare IPv6 address.
fn split_port(text: &str) -> Result<(&str, Option<u16>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let close = rest.find(']').ok_or("missing ']' after an IPv6 address")?;
        let inner = rest.get(..close).unwrap_or_default();
        let after = rest.get(close + 1..).unwrap_or_default();
        if after.is_empty() {
            return Ok((inner, None));
        }
        let port = after.strip_prefix(':').ok_or("unexpected text after ']'")?;
        return Ok((inner, Some(parse_port(port)?)));
    }
    match text.matches(':').count() {
        0 => Ok((text, None)),
        1 => {
            let (host, port) = text.split_once(':').unwrap_or((text, ""));
            Ok((host, Some(parse_port(port)?)))
        }
        // Several colons: a bare IPv6 address (or block), never with a port.
        _ => Ok((text, None)),
    }
}

/// A bare IPv6 address whose last group reads as a port as well
/// (`::1:2221`, `fe80::1:21`): is it the address, or ::1 on port 2221? The
/// line must say, with brackets. A one-digit last group (`2001:db8::1`)
/// and addresses whose prefix is no address are not ambiguous.
fn refuse_ambiguous_ipv6(text: &str) -> Result<(), String> {
    if text.starts_with('[') || text.contains('/') || text.matches(':').count() < 2 {
        return Ok(());
    }
    let Some((prefix, last)) = text.rsplit_once(':') else {
        return Ok(());
    };
    let port_like = (2..=5).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_digit())
        && last.parse::<u32>().is_ok_and(|p| p <= 65_535);
    if port_like && prefix.parse::<std::net::Ipv6Addr>().is_ok() && text.parse::<IpAddr>().is_ok() {
        return Err(format!(
            "ambiguous IPv6 target: write [{text}] for the address, or [{prefix}]:{last} for port {last} of {prefix}"
        ));
    }
    Ok(())
}

fn parse_port(text: &str) -> Result<u16, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port {text:?} is not a number"));
    }
    match text.parse::<u32>() {
        Ok(p) if (1..=65_535).contains(&p) => Ok(p as u16),
        _ => Err(format!("port {text} is out of range (1-65535)")),
    }
}

fn parse_host(text: &str, options: &ParseOptions) -> Result<HostSpec, String> {
    if text.is_empty() {
        return Err("empty host".into());
    }
    if text.contains('/') {
        let net: IpNet = text
            .parse()
            .map_err(|_| format!("invalid CIDR block {text:?}"))?;
        if net.addr() != net.network() {
            return Err(format!(
                "CIDR block {text} has host bits set (did you mean {}?)",
                net.trunc()
            ));
        }
        let size = cidr_size(&net);
        if size > u128::from(options.max_cidr_hosts) {
            return Err(format!(
                "CIDR block {text} has {size} addresses, over the limit of {} (raise it with --max-cidr-hosts)",
                options.max_cidr_hosts
            ));
        }
        return Ok(HostSpec::Cidr(net));
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(HostSpec::Ip(ip));
    }
    validate_hostname(text)?;
    Ok(HostSpec::Name(
        text.trim_end_matches('.').to_ascii_lowercase(),
    ))
}

/// Addresses the scanner will visit in a block (what `IpNet::hosts` yields).
pub fn cidr_size(net: &IpNet) -> u128 {
    let bits = u32::from(net.max_prefix_len() - net.prefix_len());
    let all = 1u128.checked_shl(bits).unwrap_or(u128::MAX);
    match net {
        // IPv4 blocks larger than a /31 skip the network and broadcast addresses.
        IpNet::V4(_) if bits >= 2 => all - 2,
        _ => all,
    }
}

fn validate_hostname(text: &str) -> Result<(), String> {
    let name = text.trim_end_matches('.');
    if name.len() > 253 {
        return Err("hostname longer than 253 characters".into());
    }
    if name.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("invalid IPv4 address {text:?}"));
    }
    if name.contains(':') {
        return Err(format!("invalid IPv6 address {text:?}"));
    }
    if !crate::hostname::is_valid(name) {
        return Err(format!("invalid hostname {text:?}"));
    }
    Ok(())
}

/// Reads targets from sources in order, one line at a time, numbering the
/// valid ones. Errors are yielded in place and reading goes on.
pub struct TargetReader {
    sources: std::vec::IntoIter<InputSource>,
    current: Option<OpenSource>,
    options: ParseOptions,
    next_index: u64,
    /// A notice to yield before reading on (a source abandoned after too
    /// many bad lines).
    pending: Option<TargetError>,
}

/// How many endpoints targets make, counted without resolving a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointCount {
    pub endpoints: u64,
    /// False when a hostname is among the targets: it is counted as one
    /// address, and may resolve to several.
    pub exact: bool,
}

/// Counts the endpoints of `sources` (each host or block address times
/// its ports) by reading them once, for a progress total and an ETA. Bad
/// lines are skipped silently (the scan itself reports them).
pub fn count_endpoints(
    sources: Vec<InputSource>,
    options: ParseOptions,
    default_ports: usize,
) -> EndpointCount {
    let mut count = EndpointCount {
        endpoints: 0,
        exact: true,
    };
    for spec in TargetReader::new(sources, options).flatten() {
        let ports = if spec.port.is_some() {
            1
        } else {
            default_ports as u64
        };
        let hosts = match &spec.host {
            HostSpec::Name(_) => {
                count.exact = false;
                1
            }
            HostSpec::Ip(_) => 1,
            HostSpec::Cidr(net) => u64::try_from(cidr_size(net)).unwrap_or(u64::MAX),
        };
        count.endpoints = count.endpoints.saturating_add(hosts.saturating_mul(ports));
    }
    count
}

/// A source of target lines given by the user.
#[derive(Debug, Clone)]
pub enum InputSource {
    File(PathBuf),
    Stdin,
    Literal(String),
}

struct OpenSource {
    source: Source,
    reader: Box<dyn BufRead + Send>,
    line_no: u64,
    errors: usize,
    targets: u64,
}

impl TargetReader {
    pub fn new(sources: Vec<InputSource>, options: ParseOptions) -> Self {
        Self {
            sources: sources.into_iter(),
            current: None,
            options,
            next_index: 0,
            pending: None,
        }
    }

    fn open_next(&mut self) -> Option<Result<(), TargetError>> {
        let input = self.sources.next()?;
        let (source, reader): (Source, Box<dyn BufRead + Send>) = match input {
            InputSource::Literal(text) => {
                (Source::Flag, Box::new(io::Cursor::new(text.into_bytes())))
            }
            InputSource::Stdin => (Source::Stdin, Box::new(io::BufReader::new(io::stdin()))),
            InputSource::File(path) => {
                let source = Source::File(path.clone());
                match std::fs::File::open(&path) {
                    Ok(f) if f.metadata().is_ok_and(|m| m.is_dir()) => {
                        return Some(Err(TargetError::Unreadable {
                            origin: source,
                            message: "is a directory".into(),
                        }))
                    }
                    Ok(f) => (source, Box::new(io::BufReader::with_capacity(64 * 1024, f))),
                    Err(e) => {
                        return Some(Err(TargetError::Unreadable {
                            origin: source,
                            message: e.to_string(),
                        }))
                    }
                }
            }
        };
        let reader = match self.scanner_output(&source, reader) {
            Ok(reader) => reader,
            Err(e) => return Some(Err(e)),
        };
        self.current = Some(OpenSource {
            source,
            reader,
            line_no: 0,
            errors: 0,
            targets: 0,
        });
        Some(Ok(()))
    }
}

impl TargetReader {
    /// A port scanner's output (by content, or as `--input-format` says)
    /// read whole and turned into one target line per open FTP port;
    /// anything else is returned as it is, unread.
    fn scanner_output(
        &self,
        source: &Source,
        mut reader: Box<dyn BufRead + Send>,
    ) -> Result<Box<dyn BufRead + Send>, TargetError> {
        let unreadable = |message: String| TargetError::Unreadable {
            origin: source.clone(),
            message,
        };
        let format = match (source, self.options.input_format) {
            (Source::Flag, _) => return Ok(reader),
            (_, InputFormat::Auto) => {
                let head = reader.fill_buf().map_err(|e| unreadable(e.to_string()))?;
                InputFormat::detect(head)
            }
            (_, format) => format,
        };
        if format == InputFormat::Targets {
            return Ok(reader);
        }
        let mut bytes = Vec::new();
        reader
            .take(MAX_SCANNER_OUTPUT)
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(e.to_string()))?;
        if bytes.len() as u64 >= MAX_SCANNER_OUTPUT {
            return Err(unreadable(format!(
                "{} output larger than {} MiB",
                format.name(),
                MAX_SCANNER_OUTPUT >> 20
            )));
        }
        let found = scanner::parse(format, &bytes, &self.options.ftp_ports).map_err(unreadable)?;
        if found.is_empty() {
            return Err(unreadable(format!(
                "{} output with no open FTP port (ports named ftp, or {})",
                format.name(),
                self.options
                    .ftp_ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let lines: String = found.iter().map(|f| f.target_line() + "\n").collect();
        Ok(Box::new(io::Cursor::new(lines.into_bytes())))
    }
}

/// The largest port-scanner output read (it is parsed whole).
const MAX_SCANNER_OUTPUT: u64 = 512 << 20;

impl Iterator for TargetReader {
    type Item = Result<TargetSpec, TargetError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(notice) = self.pending.take() {
            return Some(Err(notice));
        }
        let mut line = Vec::with_capacity(128);
        loop {
            let Some(open) = self.current.as_mut() else {
                match self.open_next()? {
                    Ok(()) => continue,
                    Err(e) => return Some(Err(e)),
                }
            };
            line.clear();
            let read = read_line_capped(&mut open.reader, &mut line, MAX_LINE_BYTES);
            let too_long = match read {
                Ok(None) => {
                    // A file that yields nothing is almost always a mistake
                    // (the wrong file, an empty export): say so.
                    let empty =
                        open.targets == 0 && open.errors == 0 && open.source != Source::Flag;
                    let source = open.source.clone();
                    self.current = None;
                    if empty {
                        return Some(Err(TargetError::Unreadable {
                            origin: source,
                            message: "holds no targets (empty, or only comments)".into(),
                        }));
                    }
                    continue;
                }
                Ok(Some(too_long)) => too_long,
                Err(e) => {
                    let err = TargetError::Unreadable {
                        origin: open.source.clone(),
                        message: format!("read error after line {}: {e}", open.line_no),
                    };
                    self.current = None;
                    return Some(Err(err));
                }
            };
            open.line_no += 1;
            let bad = |open: &mut OpenSource, text: String, message: String| {
                open.errors += 1;
                TargetError::BadLine {
                    origin: open.source.clone(),
                    line: open.line_no,
                    text,
                    message,
                }
            };
            let result = if too_long {
                let shown =
                    String::from_utf8_lossy(line.get(..60).unwrap_or(&line)).into_owned() + "...";
                Err(bad(
                    open,
                    shown,
                    format!("line longer than {MAX_LINE_BYTES} bytes"),
                ))
            } else if line.contains(&0) {
                Err(bad(
                    open,
                    String::new(),
                    "binary data (NUL byte) in a target file".into(),
                ))
            } else {
                match std::str::from_utf8(&line) {
                    Err(_) => Err(bad(
                        open,
                        String::from_utf8_lossy(&line).trim().to_string(),
                        "not valid UTF-8".into(),
                    )),
                    Ok(text) => match parse_line(text, &self.options) {
                        Ok(None) => continue,
                        Ok(Some(mut spec)) => {
                            open.targets += 1;
                            spec.input_index = self.next_index;
                            self.next_index += 1;
                            Ok(spec)
                        }
                        Err(message) => Err(bad(open, text.trim().to_string(), message)),
                    },
                }
            };
            if result.is_err() && open.errors >= MAX_ERRORS_PER_SOURCE {
                self.pending = Some(TargetError::Unreadable {
                    origin: open.source.clone(),
                    message: format!(
                        "{MAX_ERRORS_PER_SOURCE} bad lines, the rest of this input is skipped (not a target list?)"
                    ),
                });
                self.current = None;
            }
            return Some(result);
        }
    }
}

/// How far past the line cap a line is skipped in search of its end before
/// the input is given up: a source without line breaks (`/dev/zero`, a
/// binary file) would otherwise be read forever.
pub const MAX_SKIPPED_LINE_BYTES: usize = 1 << 20;

/// Reads one line (up to and without `\n`, CR stripped) into `buf`, keeping
/// at most `cap` bytes. `Ok(None)` at end of input; `Ok(Some(true))` when the
/// line was longer than `cap` (the rest is skipped, never stored). A line
/// with no end within [`MAX_SKIPPED_LINE_BYTES`] is an `InvalidData` error.
pub fn read_line_capped(
    reader: &mut dyn BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<bool>> {
    let mut seen_any = false;
    let mut too_long = false;
    let mut line_bytes = 0usize;
    loop {
        if line_bytes > MAX_SKIPPED_LINE_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "no line break in the first {} MiB of a line: not a target list",
                    MAX_SKIPPED_LINE_BYTES >> 20
                ),
            ));
        }
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            break;
        }
        seen_any = true;
        let (chunk, found_newline) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (available.get(..i).unwrap_or_default(), true),
            None => (available, false),
        };
        let room = cap.saturating_sub(buf.len());
        if chunk.len() > room {
            too_long = true;
        }
        buf.extend_from_slice(chunk.get(..chunk.len().min(room)).unwrap_or_default());
        let used = chunk.len() + usize::from(found_newline);
        line_bytes += chunk.len();
        reader.consume(used);
        if found_newline {
            break;
        }
    }
    if !seen_any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(too_long))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Option<TargetSpec>, String> {
        parse_line(line, &ParseOptions::default())
    }

    #[test]
    fn unbracketed_ipv6_in_a_url_is_refused_with_the_bracketed_spelling() {
        let err = parse("ftp://::1:2221").unwrap_err();
        assert!(err.contains("ftp://[::1:2221]"), "{err}");
        let err = parse("ftps://2001:db8::1").unwrap_err();
        assert!(err.contains("needs brackets"), "{err}");
        let ok = parse("ftp://[::1]:2221").unwrap().unwrap();
        assert_eq!(ok.port, Some(2221));
        assert!(matches!(ok.host, HostSpec::Ip(ip) if ip.to_string() == "::1"));
    }

    #[test]
    fn a_bare_ipv6_whose_last_group_reads_as_a_port_is_ambiguous() {
        let err = parse("::1:2221").unwrap_err();
        assert!(
            err.contains("[::1:2221]") && err.contains("[::1]:2221"),
            "{err}"
        );
        assert!(parse("fe80::1:21").is_err());
        // Not ambiguous: a one-digit group, or a prefix that is no address.
        assert!(parse("2001:db8::1").unwrap().is_some());
        assert!(parse("2001:db8::21").unwrap().is_some());
        assert!(parse("[::1:2221]").unwrap().is_some());
        assert!(parse("2001:db8::/126").unwrap().is_some());
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_target() {
        let t = parse("\u{feff}127.0.0.1:2121").unwrap().unwrap();
        assert_eq!(t.port, Some(2121));
        assert_eq!(t.text, "127.0.0.1:2121");
        assert!(parse("\u{feff}# a comment").unwrap().is_none());
    }

    #[test]
    fn a_source_without_line_breaks_is_given_up_after_the_skip_cap() {
        // An endless stream of zeros, as `/dev/zero` gives.
        let mut zeros = io::BufReader::new(io::repeat(0));
        let mut line = Vec::new();
        let err = read_line_capped(&mut zeros, &mut line, MAX_LINE_BYTES).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(line.len() <= MAX_LINE_BYTES);
        // A long line that does end is skipped and reading goes on.
        let mut text = vec![b'x'; MAX_LINE_BYTES * 3];
        text.extend_from_slice(b"\n127.0.0.1\n");
        let mut reader = io::Cursor::new(text);
        line.clear();
        assert_eq!(
            read_line_capped(&mut reader, &mut line, MAX_LINE_BYTES).unwrap(),
            Some(true)
        );
        line.clear();
        assert_eq!(
            read_line_capped(&mut reader, &mut line, MAX_LINE_BYTES).unwrap(),
            Some(false)
        );
        assert_eq!(line, b"127.0.0.1");
    }

    #[test]
    fn endpoint_counts_agree_with_the_expansion() {
        let lines = [
            "192.0.2.0/29",
            "192.0.2.1:21",
            "ftp.example.com",
            "bad:70000",
        ];
        let sources = lines
            .iter()
            .map(|l| InputSource::Literal(l.to_string()))
            .collect();
        let count = count_endpoints(sources, ParseOptions::default(), 2);
        assert_eq!(count.endpoints, 6 * 2 + 1 + 2);
        assert!(!count.exact);
    }
}
