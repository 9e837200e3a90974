//! Byte-literal tests for the flight reader.

use super::*;

/// Hex to bytes; whitespace ignored so literals can be grouped by field.
fn h(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

const RANDOM: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// TLS 1.2 ServerHello record: version 0303, no session id, suite c030,
/// null compression, extensions: renegotiation_info (ff01, empty).
fn sh12_record() -> Vec<u8> {
    h(&format!(
        "16 0303 0031  02 00002d  0303 {RANDOM} 00 c030 00  0005 ff01 0001 00"
    ))
}
/// Certificate with two fake DER blobs (aabbcc, ddee).
const CERT_MSG: &str = "0b 00000e 00000b 000003 aabbcc 000002 ddee";
const SHD_MSG: &str = "0e 000000";

fn full_tls12_flight() -> Vec<u8> {
    let mut v = sh12_record();
    v.extend(h(&format!("16 0303 0012 {CERT_MSG}")));
    v.extend(h(&format!("16 0303 0004 {SHD_MSG}")));
    v
}

fn done(r: &FlightReader) -> Flight {
    match r.state() {
        FlightState::Done(f) => f,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn sh(f: &Flight) -> &ServerHelloInfo {
    match &f.answer {
        Answer::ServerHello(s) => s,
        other => panic!("expected ServerHello, got {other:?}"),
    }
}

#[test]
fn tls12_flight_in_one_push() {
    let mut r = FlightReader::new(256 * 1024);
    r.push(&full_tls12_flight());
    let f = done(&r);
    let s = sh(&f);
    assert_eq!(s.version, 0x0303);
    assert_eq!(s.legacy_version, 0x0303);
    assert_eq!(s.cipher, 0xc030);
    assert_eq!(s.compression, 0);
    assert!(!s.hrr);
    assert_eq!(s.downgrade_sentinel, None);
    assert_eq!(s.extensions, vec![0xff01]);
    assert_eq!(f.certificates, vec![h("aabbcc"), h("ddee")]);
    assert!(f.server_hello_done);
    assert!(f.complete);
    assert_eq!(f.handshake_types, vec![2, 11, 14]);
}

#[test]
fn tls12_flight_in_one_byte_pushes() {
    let bytes = full_tls12_flight();
    let mut r = FlightReader::new(256 * 1024);
    for (i, b) in bytes.iter().enumerate() {
        assert_eq!(r.state(), FlightState::NeedMore, "done too early at {i}");
        r.push(std::slice::from_ref(b));
    }
    let mut whole = FlightReader::new(256 * 1024);
    whole.push(&bytes);
    assert_eq!(done(&r), done(&whole));
}

#[test]
fn several_messages_in_one_record() {
    let body = h(&format!(
        "02 00002d 0303 {RANDOM} 00 c030 00 0005 ff01 0001 00 {CERT_MSG} {SHD_MSG}"
    ));
    let mut rec = h("16 0303");
    rec.extend((body.len() as u16).to_be_bytes());
    rec.extend(&body);
    let mut r = FlightReader::new(4096);
    r.push(&rec);
    let f = done(&r);
    assert_eq!(sh(&f).cipher, 0xc030);
    assert_eq!(f.certificates.len(), 2);
    assert!(f.server_hello_done);
}

#[test]
fn one_message_over_several_records() {
    // The Certificate message split into 3 records of 5, 5 and 8 bytes.
    let cert = h(CERT_MSG);
    let mut v = sh12_record();
    for part in [&cert[..5], &cert[5..10], &cert[10..]] {
        v.extend(h("16 0303"));
        v.extend((part.len() as u16).to_be_bytes());
        v.extend(part);
    }
    v.extend(h(&format!("16 0303 0004 {SHD_MSG}")));
    let mut r = FlightReader::new(4096);
    r.push(&v);
    let f = done(&r);
    assert_eq!(f.certificates, vec![h("aabbcc"), h("ddee")]);
    // Same again one byte at a time.
    let mut r = FlightReader::new(4096);
    for b in &v {
        r.push(std::slice::from_ref(b));
    }
    assert_eq!(done(&r), f);
}

#[test]
fn hello_retry_request_is_tls13_accepted_evidence() {
    let sid = "22".repeat(32);
    let hrr = hex_of(&HRR_RANDOM);
    let bytes = h(&format!(
        "16 0303 0058  02 000054  0303 {hrr} 20 {sid} 1301 00  000c 002b 0002 0304 0033 0002 0017"
    ));
    let mut r = FlightReader::new(4096);
    r.push(&bytes);
    let f = done(&r);
    let s = sh(&f);
    assert!(s.hrr);
    assert_eq!(s.version, 0x0304);
    assert_eq!(s.legacy_version, 0x0303);
    assert_eq!(s.selected_version_ext, Some(0x0304));
    assert_eq!(s.key_share_group, Some(0x0017));
    assert_eq!(s.session_id_len, 32);
    assert_eq!(s.cipher, 0x1301);
}

#[test]
fn tls13_server_hello_ends_flight() {
    let sid = "22".repeat(32);
    let key = "33".repeat(32);
    // ServerHello with supported_versions 0304 and an x25519 share, followed by
    // a CCS and an (encrypted) application data record we must not wait for.
    let bytes = h(&format!(
        "16 0303 007a  02 000076  0303 {RANDOM} 20 {sid} 1302 00  002e 002b 0002 0304 0033 0024 001d 0020 {key}
         14 0303 0001 01  17 0303 0003 aabbcc"
    ));
    let mut r = FlightReader::new(4096);
    r.push(&bytes);
    let f = done(&r);
    let s = sh(&f);
    assert!(!s.hrr);
    assert_eq!(s.version, 0x0304);
    assert_eq!(s.key_share_group, Some(0x001d));
    assert!(f.certificates.is_empty());
}

#[test]
fn downgrade_sentinels() {
    for (tail, expected) in [
        ("444f574e47524401", DowngradeSentinel::Tls12),
        ("444f574e47524400", DowngradeSentinel::Tls11OrBelow),
    ] {
        let random = format!("{}{tail}", "55".repeat(24));
        let bytes = h(&format!("16 0302 002a 02 000026 0302 {random} 00 002f 00"));
        let mut r = FlightReader::new(4096);
        r.push(&bytes);
        // No extensions block at all is legal; still waiting for ServerHelloDone.
        assert_eq!(r.state(), FlightState::NeedMore);
        let f = r.partial().unwrap();
        assert!(!f.complete);
        assert_eq!(sh(&f).downgrade_sentinel, Some(expected));
        assert_eq!(sh(&f).version, 0x0302);
    }
}

#[test]
fn alerts() {
    for (bytes, level, desc, name) in [
        ("15 0303 0002 02 28", 2, 40, "handshake_failure"),
        ("15 0300 0002 02 46", 2, 70, "protocol_version"),
        ("15 0301 0002 01 00", 1, 0, "close_notify"),
    ] {
        let mut r = FlightReader::new(4096);
        r.push(&h(bytes));
        let f = done(&r);
        assert_eq!(
            f.answer,
            Answer::Alert(AlertInfo {
                level,
                description: desc,
                name
            })
        );
    }
    // An alert split over two records (one byte each) still parses.
    let mut r = FlightReader::new(4096);
    r.push(&h("15 0303 0001 02  15 0303 0001 28"));
    assert_eq!(done(&r).answer, Answer::Alert(AlertInfo::new(2, 40)));
}

#[test]
fn warning_alert_before_server_hello_is_not_the_answer() {
    let mut v = h("15 0303 0002 01 70"); // warning unrecognized_name
    let mut r = FlightReader::new(4096);
    r.push(&v);
    assert_eq!(r.state(), FlightState::NeedMore);
    // If the connection closed now, the warning is the best evidence.
    assert_eq!(
        r.partial().unwrap().answer,
        Answer::Alert(AlertInfo::new(1, 112))
    );
    v = full_tls12_flight();
    r.push(&v);
    let f = done(&r);
    assert_eq!(sh(&f).cipher, 0xc030);
    assert_eq!(f.alerts, vec![AlertInfo::new(1, 112)]);
}

#[test]
fn fatal_alert_after_server_hello_keeps_server_hello() {
    let mut v = sh12_record();
    v.extend(h("15 0303 0002 02 50"));
    let mut r = FlightReader::new(4096);
    r.push(&v);
    let f = done(&r);
    assert_eq!(sh(&f).cipher, 0xc030);
    assert_eq!(f.alerts, vec![AlertInfo::new(2, 80)]);
    assert!(!f.server_hello_done);
}

#[test]
fn ccs_after_server_hello_ends_cleartext() {
    let mut v = sh12_record();
    v.extend(h("14 0303 0001 01"));
    let mut r = FlightReader::new(4096);
    r.push(&v);
    assert!(!done(&r).server_hello_done);
}

#[test]
fn ftp_reply_line() {
    let mut r = FlightReader::new(4096);
    r.push(b"500 AUTH");
    assert_eq!(r.state(), FlightState::NeedMore);
    assert_eq!(
        r.partial().unwrap().answer,
        Answer::FtpText("500 AUTH".into())
    );
    r.push(b" not understood\r\nmore junk");
    assert_eq!(
        done(&r).answer,
        Answer::FtpText("500 AUTH not understood".into())
    );
    let mut r = FlightReader::new(4096);
    r.push(b"421-Service not available\r\n");
    assert_eq!(
        done(&r).answer,
        Answer::FtpText("421-Service not available".into())
    );
    // A long line without newline is cut at 512 bytes.
    let mut r = FlightReader::new(4096);
    let mut long = b"550 ".to_vec();
    long.extend(vec![b'x'; 1000]);
    r.push(&long);
    let Answer::FtpText(t) = done(&r).answer else {
        panic!()
    };
    assert_eq!(t.len(), 512);
}

#[test]
fn garbage_is_malformed() {
    for g in [
        &b"\x00\x01\x02\x03"[..],
        b"HTTP/1.1 400 Bad Request\r\n",
        b"5ab nope\r\n",
        b"2000",
        &h("16 0203 0002 0000"), // record major version 2
        &h("16 0303 5000"),      // record longer than 2^14+2048
        &h("19 0303 0001 00"),   // unknown content type (first byte check)
        &h("16 0303 0001 00  1f 0303 0000"),
        &h("16 0303 0008 0b000004 00000000"), // Certificate before ServerHello
        &h("14 0303 0001 01"),                // CCS before ServerHello
        &h("80 02 07 00"),                    // SSLv2 record, unknown type
    ] {
        let mut r = FlightReader::new(4096);
        r.push(g);
        assert!(
            matches!(r.state(), FlightState::Malformed(_)),
            "{g:02x?} -> {:?}",
            r.state()
        );
    }
}

#[test]
fn malformed_server_hellos() {
    for body in [
        format!("0303 {RANDOM} 21 {} c030 00", "00".repeat(33)), // sid > 32
        format!("0303 {RANDOM} 00 c0"),                          // truncated
        format!("0303 {RANDOM} 00 c030 00 0009 ff01"),           // ext len beyond body
        format!("0303 {RANDOM} 00 c030 00 0006 002b 0002 0304 ee"), // trailing ext bytes
        format!("0303 {RANDOM} 00 c030 00 0005 002b 0001 03"),   // bad supported_versions
        format!("0303 {RANDOM} 00 c030 00 00"),                  // 1-byte ext length
    ] {
        let body = h(&body);
        let mut v = vec![0x16, 0x03, 0x03];
        v.extend(((body.len() + 4) as u16).to_be_bytes());
        v.push(2);
        v.extend(&(body.len() as u32).to_be_bytes()[1..]);
        v.extend(&body);
        let mut r = FlightReader::new(4096);
        r.push(&v);
        assert!(
            matches!(r.state(), FlightState::Malformed(_)),
            "{body:02x?} -> {:?}",
            r.state()
        );
    }
}

#[test]
fn oversized_flight() {
    // A Certificate message announcing 5000 bytes can never fit in 1000.
    let mut v = sh12_record();
    v.extend(h("16 0303 0004 0b 001388"));
    let mut r = FlightReader::new(1000);
    r.push(&v);
    assert_eq!(r.state(), FlightState::TooLarge { limit: 1000 });
    assert_eq!(sh(&r.partial().unwrap()).cipher, 0xc030);

    // Endless small ServerKeyExchange-type messages: stops at the byte cap.
    let mut r = FlightReader::new(1000);
    r.push(&sh12_record());
    for _ in 0..200 {
        r.push(&h("16 0303 0008 0c000004 01020304"));
    }
    assert_eq!(r.state(), FlightState::TooLarge { limit: 1000 });
    assert_eq!(r.bytes_received(), 1000);

    // Bytes after a complete flight do not count against the cap.
    let mut v = full_tls12_flight();
    v.extend(vec![0u8; 5000]);
    let mut r = FlightReader::new(v.len() - 4000);
    r.push(&v);
    assert!(matches!(r.state(), FlightState::Done(_)));
}

#[test]
fn sslv2_server_hello() {
    // SERVER-HELLO: hit 0, cert type 1 (X.509), version 0002, cert 3 bytes,
    // two cipher kinds (6 bytes), connection id 16 bytes.
    let conn = "44".repeat(16);
    let bytes = h(&format!(
        "80 24  04 00 01 0002 0003 0006 0010  aabbcc  010080 0700c0  {conn}"
    ));
    let mut r = FlightReader::new(4096);
    for b in &bytes {
        r.push(std::slice::from_ref(b));
    }
    let f = done(&r);
    let Answer::Sslv2ServerHello(s) = &f.answer else {
        panic!("{f:?}")
    };
    assert_eq!(s.version, 2);
    assert_eq!(s.certificate_type, 1);
    assert_eq!(s.cipher_specs, vec![0x010080, 0x0700c0]);
    assert_eq!(s.connection_id_len, 16);
    assert_eq!(f.certificates, vec![h("aabbcc")]);

    // Zero cipher kinds (CVE-2015-3197 behaviour) still parses.
    let bytes = h("80 0d  04 00 01 0002 0001 0000 0001  aa  bb");
    let mut r = FlightReader::new(4096);
    r.push(&bytes);
    let Answer::Sslv2ServerHello(s) = done(&r).answer else {
        panic!()
    };
    assert!(s.cipher_specs.is_empty());

    // Cipher specs length not a multiple of 3.
    let mut r = FlightReader::new(4096);
    r.push(&h("80 0e  04 00 01 0002 0000 0002 0001  0100  bb"));
    assert!(matches!(r.state(), FlightState::Malformed(_)));

    // SSLv2 ERROR: NO-CIPHER-ERROR.
    let mut r = FlightReader::new(4096);
    r.push(&h("80 03 00 0001"));
    assert_eq!(done(&r).answer, Answer::Sslv2Error { code: 1 });
}

#[test]
fn serialises_to_json_shapes() {
    // Serialize impls must not fail on any variant (e.g. FtpText newtype).
    let mut r = FlightReader::new(4096);
    r.push(b"500 no\r\n");
    let f = done(&r);
    let json = serde_json::to_value(&f).unwrap();
    assert_eq!(json["answer"]["kind"], "ftp_text");
    assert_eq!(json["answer"]["detail"], "500 no");
    let mut r = FlightReader::new(4096);
    r.push(&full_tls12_flight());
    let json = serde_json::to_value(done(&r)).unwrap();
    assert_eq!(json["answer"]["kind"], "server_hello");
    assert_eq!(json["answer"]["detail"]["cipher"], 0xc030);
    assert_eq!(json["certificates"][0], "aabbcc");
}

/// Lossy hex for literals built from constants.
fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Deterministic pseudo-random mutations of valid flights never panic.
#[test]
fn mutations_never_panic() {
    let mut seed: u64 = 0x1234_5678_9abc_def0;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let bases = [
        full_tls12_flight(),
        h(
            "80 24  04 00 01 0002 0003 0006 0010  aabbcc  010080 0700c0 44444444444444444444444444444444",
        ),
        h("15 0303 0002 02 28"),
    ];
    for _ in 0..20_000 {
        let base = &bases[(next() % bases.len() as u64) as usize];
        let mut v = base.clone();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() % v.len() as u64) as usize;
            v[i] = next() as u8;
        }
        let cut = (next() % (v.len() as u64 + 1)) as usize;
        v.truncate(cut);
        let mut r = FlightReader::new(512);
        let step = (next() % 7 + 1) as usize;
        for chunk in v.chunks(step) {
            r.push(chunk);
        }
        let _ = r.state();
        let _ = r.partial();
    }
    for _ in 0..5_000 {
        let len = (next() % 300) as usize;
        let v: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let mut r = FlightReader::new(256);
        r.push(&v);
        let _ = r.state();
    }
}
