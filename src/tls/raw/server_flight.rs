//! I/O-free incremental parser for a server's answer to one probe hello.
//!
//! Feed whatever the socket returned with [`FlightReader::push`], then look at
//! [`FlightReader::state`]. The reader copes with records split across reads,
//! handshake messages spanning records and several messages per record: it
//! joins the payloads of all handshake records and splits messages by their
//! 4-byte headers (tls-parser does not reassemble, so this layer is ours).
//!
//! Every read from network bytes is bounds-checked through [`Cursor`]; a
//! hostile server can make the reader report `Malformed` or `TooLarge`, never
//! panic, and never make it buffer more than `max_bytes`.

use serde::Serialize;

/// The fixed ServerHello.random that marks a TLS 1.3 HelloRetryRequest
/// (RFC 8446 4.1.3: SHA-256 of "HelloRetryRequest").
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Last 8 bytes of ServerHello.random when a 1.3-capable server negotiates
/// TLS 1.2 (RFC 8446 4.1.3).
pub const DOWNGRADE_TLS12: [u8; 8] = *b"DOWNGRD\x01";
/// ... and when a server capable of 1.2 or higher negotiates 1.1 or lower.
pub const DOWNGRADE_TLS11: [u8; 8] = *b"DOWNGRD\x00";

/// Largest TLSCiphertext fragment allowed (2^14 + 2048); anything bigger in a
/// record header is a broken or hostile peer.
const MAX_RECORD_LEN: usize = 16384 + 2048;
/// We keep at most this much of an FTP text reply: it is only evidence.
const MAX_FTP_TEXT: usize = 512;
/// Bounds on bookkeeping vectors, so even a flood of tiny messages stays small.
const MAX_RECORDED_ITEMS: usize = 64;

/// Downgrade sentinel found in a ServerHello random.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DowngradeSentinel {
    /// `DOWNGRD\x01`: server supports TLS 1.3 but negotiated 1.2.
    Tls12,
    /// `DOWNGRD\x00`: server supports a higher version but negotiated <= 1.1.
    Tls11OrBelow,
}

/// What a TLS ServerHello (or HelloRetryRequest) told us.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerHelloInfo {
    /// Negotiated version: supported_versions when present, else `legacy_version`.
    pub version: u16,
    /// The ServerHello.version field.
    pub legacy_version: u16,
    /// The supported_versions extension value, if the server sent one.
    pub selected_version_ext: Option<u16>,
    pub cipher: u16,
    pub compression: u8,
    /// This is a TLS 1.3 HelloRetryRequest (recognised by its fixed random).
    pub hrr: bool,
    pub downgrade_sentinel: Option<DowngradeSentinel>,
    pub session_id_len: u8,
    /// Group from key_share (the HRR's requested group, or the server share's).
    pub key_share_group: Option<u16>,
    /// Extension types in the order sent.
    pub extensions: Vec<u16>,
}

/// What an SSLv2 SERVER-HELLO told us.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sslv2ServerHelloInfo {
    pub version: u16,
    pub session_id_hit: bool,
    pub certificate_type: u8,
    /// Cipher kinds the server has in common with our offer (or claims to).
    pub cipher_specs: Vec<u32>,
    pub connection_id_len: u16,
}

/// A TLS alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AlertInfo {
    /// 1 = warning, 2 = fatal.
    pub level: u8,
    pub description: u8,
    pub name: &'static str,
}

impl AlertInfo {
    pub fn new(level: u8, description: u8) -> Self {
        AlertInfo {
            level,
            description,
            name: alert_name(description),
        }
    }
}

/// The first significant thing the server answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Answer {
    ServerHello(ServerHelloInfo),
    Sslv2ServerHello(Sslv2ServerHelloInfo),
    /// SSLv2 ERROR message (e.g. 0x0001 NO-CIPHER-ERROR).
    Sslv2Error {
        code: u16,
    },
    Alert(AlertInfo),
    /// The server answered with FTP text (e.g. `500 ...`): it refused at the
    /// FTP level or never switched to TLS; this is not a TLS answer.
    FtpText(String),
}

/// Everything learnt from the server's first flight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flight {
    pub answer: Answer,
    /// The reader reached a natural end (ServerHelloDone, 1.3 ServerHello,
    /// HRR, alert, full FTP line...). False for a partial flight taken after
    /// EOF, timeout or an error.
    pub complete: bool,
    /// DER certificates from the Certificate message (leaf first), or the
    /// SSLv2 SERVER-HELLO certificate.
    #[serde(serialize_with = "serialize_der_list")]
    pub certificates: Vec<Vec<u8>>,
    pub server_hello_done: bool,
    /// Handshake message types in arrival order (bounded).
    pub handshake_types: Vec<u8>,
    /// All alerts seen, including warnings before and fatals after a ServerHello.
    pub alerts: Vec<AlertInfo>,
    pub bytes_received: usize,
}

/// Reader status after the bytes pushed so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlightState {
    NeedMore,
    Done(Flight),
    Malformed(String),
    /// More than `limit` bytes arrived without the flight completing.
    TooLarge {
        limit: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Undecided,
    Tls,
    Sslv2,
    Ftp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Status {
    NeedMore,
    Done,
    Malformed(String),
    TooLarge,
}

/// Incremental server-flight parser. See the module docs.
#[derive(Debug)]
pub struct FlightReader {
    max_bytes: usize,
    received: usize,
    mode: Mode,
    status: Status,
    /// Unconsumed raw bytes (at most one partial record).
    inbuf: Vec<u8>,
    /// Joined handshake payloads not yet split into messages.
    hs: Vec<u8>,
    /// Alert bytes not yet paired (alerts may be fragmented too).
    alert_buf: Vec<u8>,
    answer: Option<Answer>,
    certificates: Vec<Vec<u8>>,
    server_hello_done: bool,
    handshake_types: Vec<u8>,
    alerts: Vec<AlertInfo>,
}

impl FlightReader {
    /// `max_bytes` caps the total accepted input: a flight beyond it is an
    /// anomaly, and the cap keeps memory bounded against hostile servers.
    pub fn new(max_bytes: usize) -> Self {
        FlightReader {
            max_bytes,
            received: 0,
            mode: Mode::Undecided,
            status: Status::NeedMore,
            inbuf: Vec::new(),
            hs: Vec::new(),
            alert_buf: Vec::new(),
            answer: None,
            certificates: Vec::new(),
            server_hello_done: false,
            handshake_types: Vec::new(),
            alerts: Vec::new(),
        }
    }

    /// Bytes accepted so far (never more than `max_bytes`).
    pub fn bytes_received(&self) -> usize {
        self.received
    }

    /// Feeds bytes as they arrive. Bytes after the flight completed (or after
    /// an error) are ignored.
    pub fn push(&mut self, data: &[u8]) {
        if self.status != Status::NeedMore {
            return;
        }
        let room = self.max_bytes.saturating_sub(self.received);
        let take = data.len().min(room);
        let chunk = data.get(..take).unwrap_or_default();
        self.received += take;
        self.inbuf.extend_from_slice(chunk);
        self.process();
        if self.status == Status::NeedMore && data.len() > take {
            self.status = Status::TooLarge;
        }
    }

    /// Current status; `Done` carries the parsed flight.
    pub fn state(&self) -> FlightState {
        match &self.status {
            Status::NeedMore => FlightState::NeedMore,
            Status::Malformed(r) => FlightState::Malformed(r.clone()),
            Status::TooLarge => FlightState::TooLarge {
                limit: self.max_bytes,
            },
            Status::Done => match self.snapshot(true) {
                Some(f) => FlightState::Done(f),
                None => FlightState::Malformed("flight ended without an answer".into()),
            },
        }
    }

    /// Whatever was understood so far, for when the connection ends early
    /// (EOF, reset, timeout) or the flight turned malformed: a ServerHello
    /// without its ServerHelloDone still proves the version was accepted.
    pub fn partial(&self) -> Option<Flight> {
        self.snapshot(self.status == Status::Done)
    }

    fn snapshot(&self, complete: bool) -> Option<Flight> {
        let answer = match (&self.answer, self.mode) {
            (Some(a), _) => a.clone(),
            (None, Mode::Ftp) if !self.inbuf.is_empty() => Answer::FtpText(ftp_text(&self.inbuf)),
            // Only warning alerts so far: still the best evidence we have.
            (None, _) => Answer::Alert(*self.alerts.first()?),
        };
        Some(Flight {
            answer,
            complete,
            certificates: self.certificates.clone(),
            server_hello_done: self.server_hello_done,
            handshake_types: self.handshake_types.clone(),
            alerts: self.alerts.clone(),
            bytes_received: self.received,
        })
    }

    fn malformed(&mut self, reason: impl Into<String>) {
        self.status = Status::Malformed(reason.into());
    }

    fn process(&mut self) {
        if self.mode == Mode::Undecided {
            let Some(&b0) = self.inbuf.first() else {
                return;
            };
            self.mode = if (0x14..=0x18).contains(&b0) {
                Mode::Tls
            } else if b0 & 0x80 != 0 {
                Mode::Sslv2
            } else if (b'1'..=b'5').contains(&b0) {
                Mode::Ftp
            } else {
                self.malformed(format!(
                    "first byte 0x{b0:02x} is neither TLS, SSLv2 nor an FTP reply"
                ));
                return;
            };
        }
        match self.mode {
            Mode::Tls => self.process_tls(),
            Mode::Sslv2 => self.process_sslv2(),
            Mode::Ftp => self.process_ftp(),
            Mode::Undecided => {}
        }
    }

    fn process_tls(&mut self) {
        while self.status == Status::NeedMore {
            let mut c = Cursor::new(&self.inbuf);
            let (Some(content_type), Some(version), Some(len)) = (c.u8(), c.u16(), c.u16()) else {
                return;
            };
            let len = usize::from(len);
            if version >> 8 != 3 {
                self.malformed(format!("record version 0x{version:04x} is not SSLv3/TLS"));
                return;
            }
            if len > MAX_RECORD_LEN {
                self.malformed(format!("record length {len} exceeds 2^14+2048"));
                return;
            }
            let Some(payload) = c.take(len) else {
                return;
            };
            let payload = payload.to_vec();
            self.inbuf.drain(..(5 + len).min(self.inbuf.len()));
            match content_type {
                0x15 => self.handle_alert_bytes(&payload),
                0x16 => {
                    self.hs.extend_from_slice(&payload);
                    self.process_handshake();
                }
                // ChangeCipherSpec, application data, heartbeat: after a
                // ServerHello this means the cleartext part is over.
                0x14 | 0x17 | 0x18 => {
                    if self.has_server_hello() {
                        self.status = Status::Done;
                    } else {
                        self.malformed(format!(
                            "record type {content_type} before any ServerHello"
                        ));
                    }
                }
                other => self.malformed(format!("unknown record content type {other}")),
            }
        }
    }

    fn has_server_hello(&self) -> bool {
        matches!(self.answer, Some(Answer::ServerHello(_)))
    }

    fn handle_alert_bytes(&mut self, payload: &[u8]) {
        self.alert_buf.extend_from_slice(payload);
        while self.status == Status::NeedMore {
            let mut c = Cursor::new(&self.alert_buf);
            let (Some(level), Some(description)) = (c.u8(), c.u8()) else {
                return;
            };
            self.alert_buf.drain(..2);
            let info = AlertInfo::new(level, description);
            if self.alerts.len() < MAX_RECORDED_ITEMS {
                self.alerts.push(info);
            }
            if self.answer.is_none() {
                // A warning (other than close_notify) before the ServerHello
                // does not end the handshake, e.g. unrecognized_name(112).
                if level == 1 && description != 0 {
                    continue;
                }
                self.answer = Some(Answer::Alert(info));
            }
            self.status = Status::Done;
        }
    }

    fn process_handshake(&mut self) {
        while self.status == Status::NeedMore {
            let mut c = Cursor::new(&self.hs);
            let (Some(msg_type), Some(len)) = (c.u8(), c.u24()) else {
                return;
            };
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > self.max_bytes {
                // Could never complete within the cap.
                self.status = Status::TooLarge;
                return;
            }
            let Some(body) = c.take(len) else {
                return;
            };
            let body = body.to_vec();
            self.hs.drain(..(4 + len).min(self.hs.len()));
            self.handle_message(msg_type, &body);
        }
    }

    fn handle_message(&mut self, msg_type: u8, body: &[u8]) {
        if self.handshake_types.len() < MAX_RECORDED_ITEMS {
            self.handshake_types.push(msg_type);
        }
        let have_sh = self.has_server_hello();
        match (have_sh, msg_type) {
            // HelloRequest: meaningless here, ignore.
            (_, 0) => {}
            (false, 2) => match parse_server_hello(body) {
                Ok(sh) => {
                    // Past a 1.3 ServerHello/HRR everything is encrypted or a
                    // new handshake; odd versions are not worth waiting on.
                    let stop = sh.hrr || !(0x0300..=0x0303).contains(&sh.version);
                    self.answer = Some(Answer::ServerHello(sh));
                    if stop {
                        self.status = Status::Done;
                    }
                }
                Err(e) => self.malformed(format!("bad ServerHello: {e}")),
            },
            (false, t) => self.malformed(format!("expected ServerHello, got handshake type {t}")),
            (true, 2) => self.malformed("second ServerHello"),
            (true, 11) => match parse_certificate_list(body) {
                Ok(certs) => {
                    if self.certificates.is_empty() {
                        self.certificates = certs;
                    }
                }
                Err(e) => self.malformed(format!("bad Certificate: {e}")),
            },
            (true, 14) => {
                self.server_hello_done = true;
                self.status = Status::Done;
            }
            // Finished: an abbreviated handshake; nothing more in cleartext.
            (true, 20) => self.status = Status::Done,
            // ServerKeyExchange, CertificateRequest, CertificateStatus, ...
            (true, _) => {}
        }
    }

    fn process_sslv2(&mut self) {
        let mut c = Cursor::new(&self.inbuf);
        let (Some(b0), Some(b1)) = (c.u8(), c.u8()) else {
            return;
        };
        let len = (usize::from(b0 & 0x7f) << 8) | usize::from(b1);
        let Some(body) = c.take(len) else {
            return;
        };
        let mut m = Cursor::new(body);
        match m.u8() {
            Some(4) => match parse_sslv2_server_hello(&mut m) {
                Ok((info, cert)) => {
                    if !cert.is_empty() {
                        self.certificates = vec![cert];
                    }
                    self.answer = Some(Answer::Sslv2ServerHello(info));
                    self.status = Status::Done;
                }
                Err(e) => self.malformed(format!("bad SSLv2 SERVER-HELLO: {e}")),
            },
            Some(0) => {
                let code = m.u16().unwrap_or(0);
                self.answer = Some(Answer::Sslv2Error { code });
                self.status = Status::Done;
            }
            Some(t) => self.malformed(format!("unexpected SSLv2 message type {t}")),
            None => self.malformed("empty SSLv2 record"),
        }
    }

    fn process_ftp(&mut self) {
        let mut c = Cursor::new(&self.inbuf);
        let Some(head) = c.take(4) else {
            return;
        };
        let looks_like_reply = head
            .get(..3)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            && matches!(head.get(3), Some(b' ' | b'-'));
        if !looks_like_reply {
            self.malformed("garbage: neither TLS, SSLv2 nor an FTP reply line");
            return;
        }
        let end = self.inbuf.iter().position(|&b| b == b'\n');
        if end.is_some() || self.inbuf.len() >= MAX_FTP_TEXT {
            let line_end = end.unwrap_or(MAX_FTP_TEXT).min(MAX_FTP_TEXT);
            let line = self.inbuf.get(..line_end).unwrap_or_default();
            self.answer = Some(Answer::FtpText(ftp_text(line)));
            self.status = Status::Done;
        }
    }
}

fn ftp_text(bytes: &[u8]) -> String {
    let cut = bytes.get(..MAX_FTP_TEXT).unwrap_or(bytes);
    String::from_utf8_lossy(cut).trim_end().to_string()
}

fn parse_server_hello(body: &[u8]) -> Result<ServerHelloInfo, &'static str> {
    let mut c = Cursor::new(body);
    let legacy_version = c.u16().ok_or("truncated version")?;
    let random = c.take(32).ok_or("truncated random")?;
    let session_id_len = c.u8().ok_or("truncated session id")?;
    if session_id_len > 32 {
        return Err("session id longer than 32");
    }
    c.take(usize::from(session_id_len))
        .ok_or("truncated session id")?;
    let cipher = c.u16().ok_or("truncated cipher suite")?;
    let compression = c.u8().ok_or("truncated compression")?;
    let mut extensions = Vec::new();
    let mut selected_version_ext = None;
    let mut key_share_group = None;
    if !c.is_empty() {
        let ext_len = c.u16().ok_or("truncated extensions length")?;
        let block = c.take(usize::from(ext_len)).ok_or("truncated extensions")?;
        if !c.is_empty() {
            return Err("trailing bytes after extensions");
        }
        let mut e = Cursor::new(block);
        while !e.is_empty() {
            let ext_type = e.u16().ok_or("truncated extension header")?;
            let len = e.u16().ok_or("truncated extension header")?;
            let data = e.take(usize::from(len)).ok_or("truncated extension")?;
            if extensions.len() < MAX_RECORDED_ITEMS {
                extensions.push(ext_type);
            }
            let mut d = Cursor::new(data);
            match ext_type {
                43 => {
                    let v = d.u16().ok_or("bad supported_versions")?;
                    if !d.is_empty() {
                        return Err("bad supported_versions");
                    }
                    selected_version_ext = Some(v);
                }
                51 => key_share_group = Some(d.u16().ok_or("bad key_share")?),
                _ => {}
            }
        }
    }
    let hrr = random == HRR_RANDOM;
    let downgrade_sentinel = match random.get(24..) {
        Some(tail) if !hrr && tail == DOWNGRADE_TLS12 => Some(DowngradeSentinel::Tls12),
        Some(tail) if !hrr && tail == DOWNGRADE_TLS11 => Some(DowngradeSentinel::Tls11OrBelow),
        _ => None,
    };
    Ok(ServerHelloInfo {
        version: selected_version_ext.unwrap_or(legacy_version),
        legacy_version,
        selected_version_ext,
        cipher,
        compression,
        hrr,
        downgrade_sentinel,
        session_id_len,
        key_share_group,
        extensions,
    })
}

fn parse_certificate_list(body: &[u8]) -> Result<Vec<Vec<u8>>, &'static str> {
    let mut c = Cursor::new(body);
    let total = c.u24().ok_or("truncated list length")?;
    let list = c
        .take(usize::try_from(total).unwrap_or(usize::MAX))
        .ok_or("list longer than message")?;
    if !c.is_empty() {
        return Err("trailing bytes after certificate list");
    }
    let mut l = Cursor::new(list);
    let mut out = Vec::new();
    while !l.is_empty() {
        let len = l.u24().ok_or("truncated certificate length")?;
        let der = l
            .take(usize::try_from(len).unwrap_or(usize::MAX))
            .ok_or("certificate longer than list")?;
        out.push(der.to_vec());
    }
    Ok(out)
}

fn parse_sslv2_server_hello(
    m: &mut Cursor<'_>,
) -> Result<(Sslv2ServerHelloInfo, Vec<u8>), &'static str> {
    let hit = m.u8().ok_or("truncated")?;
    let certificate_type = m.u8().ok_or("truncated")?;
    let version = m.u16().ok_or("truncated")?;
    let cert_len = m.u16().ok_or("truncated")?;
    let cs_len = m.u16().ok_or("truncated")?;
    let connection_id_len = m.u16().ok_or("truncated")?;
    let cert = m
        .take(usize::from(cert_len))
        .ok_or("truncated certificate")?;
    let specs = m
        .take(usize::from(cs_len))
        .ok_or("truncated cipher specs")?;
    m.take(usize::from(connection_id_len))
        .ok_or("truncated connection id")?;
    if specs.len() % 3 != 0 {
        return Err("cipher specs length not a multiple of 3");
    }
    let cipher_specs = specs
        .chunks_exact(3)
        .map(|c| c.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
        .collect();
    Ok((
        Sslv2ServerHelloInfo {
            version,
            session_id_hit: hit != 0,
            certificate_type,
            cipher_specs,
            connection_id_len,
        },
        cert.to_vec(),
    ))
}

/// RFC 8446 / 5246 alert description names.
pub fn alert_name(description: u8) -> &'static str {
    match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "unknown",
    }
}

/// Bounds-checked big-endian reader over untrusted bytes: every accessor
/// returns `None` instead of panicking when the input is short.
struct Cursor<'a> {
    buf: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { buf }
    }
    fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.buf.split_at_checked(n)?;
        self.buf = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.buf.split_first()?;
        self.buf = rest;
        Some(b)
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes(b.try_into().ok()?))
    }
    fn u24(&mut self) -> Option<u32> {
        let b = self.take(3)?;
        Some(b.iter().fold(0u32, |acc, x| (acc << 8) | u32::from(*x)))
    }
}

/// Serialises DER blobs as lowercase hex so JSON reports stay readable and
/// compact instead of becoming arrays of numbers.
pub(crate) fn serialize_der_list<S: serde::Serializer>(
    certs: &[Vec<u8>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(certs.len()))?;
    for cert in certs {
        seq.serialize_element(&hex::encode(cert))?;
    }
    seq.end()
}

#[cfg(test)]
mod tests;
