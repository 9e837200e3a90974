//! Async glue: send a hello over any stream and read the server's flight,
//! plus the retry and cipher-enumeration loops.
//!
//! The FTP part stays with the caller: the loops take a `connect` closure that
//! opens a fresh TCP connection and, for explicit FTPS, reads the 220, sends
//! `AUTH TLS` and requires 234 before handing the stream back. For implicit
//! FTPS it just connects. One fresh connection per probe, always: a server
//! that has seen one hello is in an undefined state for the next.

use crate::tls::raw::ciphers::{
    known_suites, sslv2_cipher_name, suite_groups, suite_info, SuiteInfo, RENEGOTIATION_SCSV,
};
use crate::tls::raw::classify::{classify, ProbeOutcome, Verdict, VersionVerdict};
use crate::tls::raw::client_hello::{self, CipherList, ClientHello};
use crate::tls::raw::server_flight::{Answer, FlightReader, FlightState};
use crate::tls::raw::version::TlsVersionProbe;
use serde::Serialize;
use std::future::Future;
use std::io;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{timeout, timeout_at, Instant};

/// Default cap on the bytes read for one flight. Real first flights are a
/// few KiB (certificate chains rarely exceed 20 KiB); 256 KiB leaves ample
/// room while keeping a hostile server from growing our memory.
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024;
/// Read buffer size: one maximal TLS record.
const READ_CHUNK: usize = 16 * 1024 + 2048 + 5;

/// Knobs shared by the connection-driving helpers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProbeSettings {
    /// Host name for SNI (ignored if it is an IP literal).
    pub sni: Option<String>,
    /// Time allowed for the caller's connect + FTP preamble.
    pub connect_timeout: Duration,
    /// Total time allowed for writing the hello and reading the flight.
    pub probe_timeout: Duration,
    /// Byte cap for one flight.
    pub max_bytes: usize,
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings {
            sni: None,
            connect_timeout: Duration::from_secs(10),
            probe_timeout: Duration::from_secs(10),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Writes `hello` and reads until the flight is complete, an alert, EOF,
/// reset, the byte cap or the deadline. `deadline` bounds the *whole*
/// exchange, not each read, so a server trickling one byte at a time cannot
/// stretch a probe.
pub async fn exchange<S>(
    stream: &mut S,
    hello: &ClientHello,
    deadline: Instant,
    max_bytes: usize,
) -> ProbeOutcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let write = async {
        stream.write_all(&hello.bytes).await?;
        stream.flush().await
    };
    match timeout_at(deadline, write).await {
        Err(_) => {
            return ProbeOutcome::Timeout {
                partial: None,
                bytes_received: 0,
            };
        }
        Ok(Err(e)) => return io_error_outcome(&e, None, 0),
        Ok(Ok(())) => {}
    }

    let mut reader = FlightReader::new(max_bytes);
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = match timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => {
                return ProbeOutcome::Timeout {
                    partial: reader.partial(),
                    bytes_received: reader.bytes_received(),
                };
            }
            Ok(Err(e)) => return io_error_outcome(&e, reader.partial(), reader.bytes_received()),
            Ok(Ok(0)) => {
                return ProbeOutcome::Closed {
                    partial: reader.partial(),
                    bytes_received: reader.bytes_received(),
                };
            }
            Ok(Ok(n)) => n,
        };
        reader.push(buf.get(..n).unwrap_or_default());
        match reader.state() {
            FlightState::NeedMore => {}
            FlightState::Done(flight) => return ProbeOutcome::Flight { flight },
            FlightState::Malformed(reason) => {
                return ProbeOutcome::Malformed {
                    partial: reader.partial(),
                    reason,
                    bytes_received: reader.bytes_received(),
                };
            }
            FlightState::TooLarge { limit } => {
                return ProbeOutcome::TooLarge {
                    partial: reader.partial(),
                    limit,
                };
            }
        }
    }
}

/// A reset/abort/broken pipe is the server slamming the door: that is an
/// answer ("rejected"), unlike other I/O errors.
fn io_error_outcome(
    e: &io::Error,
    partial: Option<crate::tls::raw::server_flight::Flight>,
    bytes_received: usize,
) -> ProbeOutcome {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => ProbeOutcome::Reset {
            partial,
            bytes_received,
        },
        io::ErrorKind::UnexpectedEof => ProbeOutcome::Closed {
            partial,
            bytes_received,
        },
        _ => ProbeOutcome::Io {
            partial,
            error: e.to_string(),
        },
    }
}

/// Result of one probe on one stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StreamProbe {
    pub hello: ClientHello,
    pub outcome: ProbeOutcome,
    pub verdict: VersionVerdict,
}

/// Builds the hello for `version`, runs [`exchange`] on an already prepared
/// stream (FTP preamble done by the caller) and classifies the result.
pub async fn probe_on_stream<S>(
    stream: &mut S,
    version: TlsVersionProbe,
    sni: Option<&str>,
    ciphers: &CipherList,
    deadline: Instant,
    max_bytes: usize,
) -> Result<StreamProbe, client_hello::BuildError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let hello = client_hello::build(version, sni, ciphers)?;
    let outcome = exchange(stream, &hello, deadline, max_bytes).await;
    let verdict = classify(version, &hello.ciphers, &outcome);
    Ok(StreamProbe {
        hello,
        outcome,
        verdict,
    })
}

/// One attempt on a fresh connection from `connect`.
async fn attempt<F, Fut, S>(
    connect: &mut F,
    version: TlsVersionProbe,
    ciphers: &CipherList,
    settings: &ProbeSettings,
) -> (Vec<u16>, ProbeOutcome)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let hello = match client_hello::build(version, settings.sni.as_deref(), ciphers) {
        Ok(h) => h,
        Err(e) => {
            let error = e.to_string();
            return (Vec::new(), ProbeOutcome::BuildFailed { error });
        }
    };
    let mut stream = match timeout(settings.connect_timeout, connect()).await {
        Err(_) => {
            let error = "connect/preamble timed out".to_string();
            return (hello.ciphers, ProbeOutcome::ConnectFailed { error });
        }
        Ok(Err(e)) => {
            let error = e.to_string();
            return (hello.ciphers, ProbeOutcome::ConnectFailed { error });
        }
        Ok(Ok(s)) => s,
    };
    let deadline = deadline_after(settings.probe_timeout);
    let outcome = exchange(&mut stream, &hello, deadline, settings.max_bytes).await;
    // Best effort: tell the server we are done; errors are irrelevant here.
    let _ = timeout(Duration::from_millis(200), stream.shutdown()).await;
    (hello.ciphers, outcome)
}

/// `now + d` without the overflow panic a huge configured timeout would cause.
fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(86_400 * 365)))
        .unwrap_or(now)
}

/// One attempt as recorded in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttemptSummary {
    pub ciphers: String,
    pub outcome: String,
    pub verdict: Verdict,
    pub reason: String,
}

/// Everything a report needs about one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VersionProbeReport {
    /// Verdict of the last attempt (the deciding one).
    pub verdict: VersionVerdict,
    pub attempts: Vec<AttemptSummary>,
    /// DER chain from the deciding flight (TLS <= 1.2 and SSLv2 only).
    #[serde(serialize_with = "crate::tls::raw::server_flight::serialize_der_list")]
    pub certificates: Vec<Vec<u8>>,
}

/// Alerts that mean "none of the offered suites" rather than "not this
/// version": handshake_failure(40), insufficient_security(71).
fn no_shared_suite(verdict: &VersionVerdict) -> bool {
    verdict.verdict == Verdict::Rejected
        && verdict
            .evidence
            .alert
            .is_some_and(|a| matches!(a.description, 40 | 71))
}

/// Probes one version on fresh connections: the full hello first; on a
/// timeout (appliances that choke on long hellos just hang) once more with
/// the short list; still nothing means `Unknown`. A refusal that says "no
/// shared suite" (alert 40 or 71) is not yet a rejection of the version:
/// the other suites known for it are offered, in further hellos, and the
/// first accepted one decides (a server pinned to CCM_8 or ARIA suites
/// accepts TLS 1.2).
pub async fn probe_version<F, Fut, S>(
    connect: &mut F,
    version: TlsVersionProbe,
    settings: &ProbeSettings,
) -> VersionProbeReport
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut attempts = Vec::new();
    let mut last: Option<(VersionVerdict, Vec<Vec<u8>>)> = None;
    for list in [CipherList::Full, CipherList::Short] {
        let (offered, outcome) = attempt(connect, version, &list, settings).await;
        let verdict = classify(version, &offered, &outcome);
        attempts.push(AttemptSummary {
            ciphers: format!("{list:?}"),
            outcome: outcome.kind().to_string(),
            verdict: verdict.verdict,
            reason: verdict.reason.clone(),
        });
        let retry =
            verdict.verdict == Verdict::Unknown && matches!(outcome, ProbeOutcome::Timeout { .. });
        let certificates = outcome
            .flight()
            .map(|f| f.certificates.clone())
            .unwrap_or_default();
        last = Some((verdict, certificates));
        if !retry {
            break;
        }
    }
    if last.as_ref().is_some_and(|(v, _)| no_shared_suite(v)) {
        let groups = suite_groups(version);
        let count = groups.len();
        for (i, group) in groups.into_iter().enumerate().skip(1) {
            let mut list = group;
            if version != TlsVersionProbe::Tls13 {
                list.push(RENEGOTIATION_SCSV);
            }
            let (offered, outcome) =
                attempt(connect, version, &CipherList::Explicit(list), settings).await;
            let verdict = classify(version, &offered, &outcome);
            attempts.push(AttemptSummary {
                ciphers: format!("Other suites ({} of {count})", i + 1),
                outcome: outcome.kind().to_string(),
                verdict: verdict.verdict,
                reason: verdict.reason.clone(),
            });
            if verdict.verdict == Verdict::Accepted {
                let certificates = outcome
                    .flight()
                    .map(|f| f.certificates.clone())
                    .unwrap_or_default();
                last = Some((verdict, certificates));
                break;
            }
            if !no_shared_suite(&verdict) {
                // Not the same refusal: the first hello's answer stands.
                break;
            }
        }
    }
    let (verdict, certificates) = last.unwrap_or_else(|| {
        let outcome = ProbeOutcome::Io {
            partial: None,
            error: "no attempt made".into(),
        };
        (classify(version, &[], &outcome), Vec::new())
    });
    VersionProbeReport {
        verdict,
        attempts,
        certificates,
    }
}

/// An SSLv2 cipher kind with its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sslv2Spec {
    pub id: u32,
    pub name: String,
}

/// Result of enumerating the suites a server accepts for one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CipherEnumeration {
    pub version: TlsVersionProbe,
    /// Accepted suites in the order the server chose them (with server
    /// preference on, this is the server's preference order).
    pub accepted: Vec<SuiteInfo>,
    /// For SSLv2: the cipher kinds listed in the SERVER-HELLO.
    pub sslv2_specs: Vec<Sslv2Spec>,
    /// Connections used.
    pub rounds: usize,
    /// True when the loop ended because the server refused the rest (or
    /// nothing was left to offer); false when it stopped on an error, an
    /// anomaly or the round limit.
    pub complete: bool,
    pub stop_reason: String,
    pub anomalies: Vec<String>,
}

/// Enumerates accepted suites for one version: offer the remaining suites,
/// note the one chosen, remove it, repeat until the server refuses. At most
/// `max_rounds` connections are used. An inconclusive round is retried once.
///
/// Every suite the registry copy knows for the version is offered
/// ([`known_suites`]), in groups that each fit one hello
/// ([`suite_groups`]): the version probe's list first, then the rest. Each
/// group is enumerated to the server's refusal before the next, so the
/// result is complete only when every group was; `stop_reason` says what
/// was left unoffered otherwise. The renegotiation SCSV is re-appended
/// every round for pre-1.3 versions so each hello looks like the version
/// probe that succeeded.
pub async fn enumerate_ciphers<F, Fut, S>(
    connect: &mut F,
    version: TlsVersionProbe,
    settings: &ProbeSettings,
    max_rounds: usize,
) -> CipherEnumeration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut result = CipherEnumeration {
        version,
        accepted: Vec::new(),
        sslv2_specs: Vec::new(),
        rounds: 0,
        complete: false,
        stop_reason: String::new(),
        anomalies: Vec::new(),
    };
    if version == TlsVersionProbe::Ssl2 {
        // SSLv2 needs no loop: the SERVER-HELLO lists every common kind.
        if max_rounds == 0 {
            result.stop_reason = "round limit reached".into();
            return result;
        }
        let (offered, outcome) = attempt(connect, version, &CipherList::Full, settings).await;
        result.rounds = 1;
        let verdict = classify(version, &offered, &outcome);
        merge_anomalies(&mut result.anomalies, &verdict.evidence.anomalies);
        if let Some(Answer::Sslv2ServerHello(s)) = outcome.flight().map(|f| &f.answer) {
            result.sslv2_specs = s
                .cipher_specs
                .iter()
                .map(|&id| Sslv2Spec {
                    id,
                    name: sslv2_cipher_name(id),
                })
                .collect();
        }
        result.complete = verdict.verdict != Verdict::Unknown;
        result.stop_reason = verdict.reason;
        return result;
    }

    let known = known_suites(version).len();
    let groups = suite_groups(version);
    let group_count = groups.len();
    // Suites not yet offered in any hello, for an honest stop reason.
    let mut unoffered = known;
    for (g, group) in groups.into_iter().enumerate() {
        let size = group.len();
        unoffered = unoffered.saturating_sub(size);
        let rounds_before = result.rounds;
        let stop =
            enumerate_group(connect, version, settings, max_rounds, group, &mut result).await;
        if let Err(why) = stop {
            if result.rounds == rounds_before {
                unoffered += size;
            }
            result.stop_reason = if unoffered > 0 {
                format!(
                    "{why} (in group {} of {group_count}; {unoffered} of the {known} known suites never offered)",
                    g + 1
                )
            } else {
                format!("{why} (in group {} of {group_count})", g + 1)
            };
            return result;
        }
    }
    result.complete = true;
    result.stop_reason = format!(
        "all {known} suites known for {version} offered in {group_count} groups; the server refused the rest of each"
    );
    result
}

/// One group of [`enumerate_ciphers`]: `Ok` when the server refused what
/// was left of it (or accepted all of it), `Err(why)` when it stopped early.
async fn enumerate_group<F, Fut, S>(
    connect: &mut F,
    version: TlsVersionProbe,
    settings: &ProbeSettings,
    max_rounds: usize,
    mut remaining: Vec<u16>,
    result: &mut CipherEnumeration,
) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<S>>,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let append_scsv = version != TlsVersionProbe::Tls13;
    let mut retried = false;
    loop {
        if remaining.is_empty() {
            return Ok(());
        }
        if result.rounds >= max_rounds {
            return Err(format!(
                "round limit {max_rounds} reached with {} suites of this group left",
                remaining.len()
            ));
        }
        let mut list = remaining.clone();
        if append_scsv {
            list.push(RENEGOTIATION_SCSV);
        }
        result.rounds += 1;
        let (offered, outcome) =
            attempt(connect, version, &CipherList::Explicit(list), settings).await;
        let verdict = classify(version, &offered, &outcome);
        merge_anomalies(&mut result.anomalies, &verdict.evidence.anomalies);
        match verdict.verdict {
            Verdict::Accepted => {
                retried = false;
                let chosen = verdict.evidence.chosen_cipher;
                let pos = chosen.and_then(|c| remaining.iter().position(|&r| r == c));
                match (chosen, pos) {
                    (Some(c), Some(i)) => {
                        remaining.remove(i);
                        result.accepted.push(suite_info(c));
                    }
                    _ => {
                        return Err(
                            "server chose a suite outside the remaining offer; stopped to avoid looping"
                                .into(),
                        );
                    }
                }
            }
            Verdict::Rejected => return Ok(()),
            Verdict::Unknown if !retried => retried = true,
            Verdict::Unknown => return Err(format!("inconclusive round: {}", verdict.reason)),
        }
    }
}

fn merge_anomalies(into: &mut Vec<String>, new: &[String]) {
    for a in new {
        if !into.contains(a) {
            into.push(a.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    /// The helpers' futures must be `Send` so callers can `tokio::spawn` them.
    #[test]
    fn futures_are_send() {
        fn assert_send<T: Send>(_: &T) {}
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], 9).into();
        let mut connect = move || tokio::net::TcpStream::connect(addr);
        let settings = ProbeSettings::default();
        let f = probe_version(&mut connect, TlsVersionProbe::Tls12, &settings);
        assert_send(&f);
        drop(f);
        let f = enumerate_ciphers(&mut connect, TlsVersionProbe::Tls12, &settings, 3);
        assert_send(&f);
        assert!(deadline_after(Duration::MAX) >= Instant::now());
    }

    #[tokio::test]
    async fn exchange_over_duplex_with_split_writes() {
        let (mut client, mut server) = duplex(64 * 1024);
        let server_task = tokio::spawn(async move {
            let mut hello = [0u8; 5];
            server.read_exact(&mut hello).await.unwrap();
            // ServerHello TLS 1.0, then a fatal-free ServerHelloDone, written
            // in awkward pieces.
            let mut flight = vec![
                0x16, 0x03, 0x01, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x01,
            ];
            flight.extend([0x42; 32]);
            flight.extend([0x00, 0x00, 0x2f, 0x00]);
            flight.extend([0x16, 0x03, 0x01, 0x00, 0x04, 0x0e, 0x00, 0x00, 0x00]);
            for chunk in flight.chunks(3) {
                server.write_all(chunk).await.unwrap();
                tokio::task::yield_now().await;
            }
            // Keep the stream open until the client is done.
            let mut sink = Vec::new();
            let _ = server.read_to_end(&mut sink).await;
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        let r = probe_on_stream(
            &mut client,
            TlsVersionProbe::Tls10,
            None,
            &CipherList::Short,
            deadline,
            DEFAULT_MAX_BYTES,
        )
        .await
        .unwrap();
        assert_eq!(r.verdict.verdict, Verdict::Accepted, "{r:?}");
        assert!(matches!(r.outcome, ProbeOutcome::Flight { .. }));
        drop(client);
        server_task.await.unwrap();
    }

    #[tokio::test]
    async fn total_deadline_not_per_read() {
        // A server trickling one byte every 50 ms would never trip a per-read
        // timeout of 200 ms; the total deadline must still end the probe.
        let (mut client, mut server) = duplex(1024);
        tokio::spawn(async move {
            let record = [0x16u8, 0x03, 0x03, 0x40, 0x00];
            for b in record.iter().cycle().take(1000) {
                if server.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let start = Instant::now();
        let hello = client_hello::build(TlsVersionProbe::Tls12, None, &CipherList::Short).unwrap();
        let o = exchange(
            &mut client,
            &hello,
            start + Duration::from_millis(300),
            4096,
        )
        .await;
        assert!(matches!(o, ProbeOutcome::Timeout { .. }), "{o:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn eof_before_any_byte_is_closed() {
        let (mut client, server) = duplex(4096);
        let hello = client_hello::build(TlsVersionProbe::Ssl3, None, &CipherList::Full).unwrap();
        // The server side reads nothing and goes away: our write may fail
        // (broken pipe) or the read sees EOF; both mean "rejected".
        drop(server);
        let o = exchange(
            &mut client,
            &hello,
            Instant::now() + Duration::from_secs(1),
            4096,
        )
        .await;
        let v = classify(TlsVersionProbe::Ssl3, &hello.ciphers, &o);
        assert_eq!(v.verdict, Verdict::Rejected, "{o:?}");
    }

    #[tokio::test]
    async fn oversized_flight_is_bounded() {
        let (mut client, mut server) = duplex(64 * 1024);
        tokio::spawn(async move {
            let mut b = [0u8; 5];
            let _ = server.read_exact(&mut b).await;
            let mut sh = vec![
                0x16, 0x03, 0x03, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x03,
            ];
            sh.extend([0x42; 32]);
            sh.extend([0x00, 0xc0, 0x30, 0x00]);
            let _ = server.write_all(&sh).await;
            // Endless ServerKeyExchange-ish messages.
            loop {
                let rec = [
                    0x16, 0x03, 0x03, 0x00, 0x08, 0x0c, 0x00, 0x00, 0x04, 1, 2, 3, 4,
                ];
                if server.write_all(&rec).await.is_err() {
                    return;
                }
            }
        });
        let hello = client_hello::build(TlsVersionProbe::Tls12, None, &CipherList::Short).unwrap();
        let o = exchange(
            &mut client,
            &hello,
            Instant::now() + Duration::from_secs(5),
            10_000,
        )
        .await;
        let ProbeOutcome::TooLarge { limit, ref partial } = o else {
            panic!("{o:?}")
        };
        assert_eq!(limit, 10_000);
        assert!(partial.is_some());
        let v = classify(TlsVersionProbe::Tls12, &hello.ciphers, &o);
        assert_eq!(v.verdict, Verdict::Accepted);
        assert!(v.evidence.anomalies.iter().any(|a| a.contains("exceeded")));
    }
}
