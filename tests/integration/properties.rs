//! Property tests: every parser fed by the network or by users takes any
//! input without panicking, and the incremental ones give the same answer
//! however the input is split.

use ftps_scan::ftp::passive::{parse_epsv, parse_pasv};
use ftps_scan::ftp::{parse_reply, Parsed};
use ftps_scan::targets::{parse_line, ParseOptions};
use ftps_scan::tls::raw::FlightReader;
use proptest::prelude::*;

/// Bytes that look like FTP more often than uniform noise would.
fn ftpish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b"220".to_vec()),
            Just(b"220-".to_vec()),
            Just(b"220 ".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"text".to_vec()),
            prop::collection::vec(any::<u8>(), 0..8),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn reply_parser_never_panics_and_respects_the_cap(bytes in ftpish(), cap in 1usize..512) {
        match parse_reply(&bytes, cap) {
            Ok(Parsed::Complete(reply, used)) => {
                prop_assert!(used <= bytes.len() && used <= cap);
                prop_assert!((100..600).contains(&reply.code));
            }
            Ok(Parsed::NeedMore) => prop_assert!(bytes.len() < cap),
            Err(_) => {}
        }
    }

    #[test]
    fn reply_parser_answer_does_not_depend_on_the_split(bytes in ftpish(), cut in 0usize..200) {
        let cut = cut.min(bytes.len());
        let whole = parse_reply(&bytes, 4096);
        // Parsing a prefix never claims a different complete reply.
        if let Ok(Parsed::Complete(prefix_reply, used)) = parse_reply(&bytes[..cut], 4096) {
            prop_assert_eq!(whole, Ok(Parsed::Complete(prefix_reply, used)));
        }
    }

    #[test]
    fn pasv_and_epsv_parsers_never_panic(text in ".{0,200}") {
        if let Ok(a) = parse_pasv(&text) {
            prop_assert!(a.port > 0);
        }
        if let Ok(port) = parse_epsv(&text) {
            prop_assert!(port > 0);
        }
    }

    #[test]
    fn pasv_numbers_round_trip(a in any::<u8>(), b in any::<u8>(), c in any::<u8>(), d in any::<u8>(), port in 1u16..) {
        let text = format!("Entering Passive Mode ({a},{b},{c},{d},{},{})", port >> 8, port & 0xff);
        let parsed = parse_pasv(&text).unwrap();
        prop_assert_eq!(parsed.ip.octets(), [a, b, c, d]);
        prop_assert_eq!(parsed.port, port);
    }

    #[test]
    fn target_grammar_never_panics(line in ".{0,300}") {
        let _ = parse_line(&line, &ParseOptions::default());
    }

    #[test]
    fn target_grammar_on_target_like_text(line in "[a-z0-9:/\\[\\].#-]{0,60}") {
        if let Ok(Some(spec)) = parse_line(&line, &ParseOptions::default()) {
            prop_assert!(spec.port.is_none_or(|p| p > 0));
        }
    }

    #[test]
    fn tls_flight_reader_never_panics(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20)) {
        let mut reader = FlightReader::new(4096);
        for chunk in &chunks {
            reader.push(chunk);
            let _ = reader.state();
        }
    }

    #[test]
    fn tls_flight_reader_on_record_shaped_input(
        records in prop::collection::vec((prop_oneof![Just(21u8), Just(22u8), any::<u8>()], prop::collection::vec(any::<u8>(), 0..200)), 0..10)
    ) {
        let mut bytes = Vec::new();
        for (kind, body) in &records {
            bytes.extend([*kind, 3, 3]);
            bytes.extend((body.len() as u16).to_be_bytes());
            bytes.extend(body);
        }
        let mut whole = FlightReader::new(1 << 16);
        whole.push(&bytes);
        let _ = whole.state();
        let mut dripped = FlightReader::new(1 << 16);
        for b in &bytes {
            dripped.push(std::slice::from_ref(b));
            let _ = dripped.state();
        }
    }
}
