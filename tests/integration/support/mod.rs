//! What the integration tests share: [`Pki`] (a test PKI and the FTPS
//! servers it certifies), [`Scan`] (the binary run on targets, its reports
//! read back), the in-process [`scan`], the schema check every JSON Lines
//! record passes, and the real servers ([`real`]) and `openssl s_server`
//! ([`openssl`]) harnesses.

pub mod browser;
pub mod openssl;
mod pki;
pub mod real;
mod run;

pub use pki::{Pki, BOTH};
pub use run::{binary_command, read_csv, read_jsonl, run_binary, run_binary_env, run_demo, Scan};

use ftps_scan::scan::{run_scan, ScanEvent, StopSignal};
use ftps_scan::targets::{InputSource, ParseOptions, TargetError, TargetReader};
use ftps_scan::tls::trust::TrustStore;
use ftps_scan::{EndpointReport, ScanConfig};
use std::sync::Arc;
use std::time::Duration;

/// The FTP bounce address every test scans with: loopback, on a port
/// nothing listens on (never the TEST-NET-1 default: tests send traffic to
/// 127.0.0.0/8 only). Tests that watch for a connection use a
/// [`ftps_scan::testbed::Witness`] instead.
pub const SAFE_BOUNCE_ADDRESS: &str = "127.0.0.2:40021";

/// A config with short deadlines for loopback tests.
pub fn quick_config(trust: TrustStore) -> ScanConfig {
    let mut config = ScanConfig::new(trust);
    config.posture.bounce_address = SAFE_BOUNCE_ADDRESS.parse().unwrap();
    config.timeouts.connect = Duration::from_secs(2);
    config.timeouts.read = Duration::from_secs(2);
    config.timeouts.tls = Duration::from_secs(2);
    config
}

/// Scans the given target lines and returns the reports sorted by input
/// position and port, plus any input errors.
pub async fn scan(targets: &[&str], config: ScanConfig) -> (Vec<EndpointReport>, Vec<TargetError>) {
    let sources = targets
        .iter()
        .map(|t| InputSource::Literal(t.to_string()))
        .collect();
    let reader = TargetReader::new(sources, ParseOptions::default());
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let task = tokio::spawn(run_scan(reader, Arc::new(config), tx, StopSignal::never()));
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    while let Some(event) = rx.recv().await {
        match event {
            ScanEvent::Report(r) => reports.push(*r),
            ScanEvent::InputError(e) => errors.push(e),
        }
    }
    task.await.expect("scan task");
    reports.sort_by_key(|r| (r.input_index, r.port));
    (reports, errors)
}

/// Scans one target and returns its only report.
pub async fn scan_one(target: &str, config: ScanConfig) -> EndpointReport {
    let (mut reports, errors) = scan(&[target], config).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(reports.len(), 1, "{reports:#?}");
    reports.remove(0)
}

/// The committed schema of a JSON Lines record, compiled once.
pub fn schema_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: serde_json::Value =
            serde_json::from_str(ftps_scan::report::jsonl::SCHEMA).expect("schema is JSON");
        jsonschema::draft202012::new(&schema).expect("schema compiles")
    })
}

/// Every way `line` breaks the schema, one message each (empty: valid).
pub fn schema_errors(line: &str) -> Vec<String> {
    let value: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    schema_validator()
        .iter_errors(&value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// One JSON Lines record: validated against the schema (a failure names
/// every violation), then read into a report.
pub fn parse_jsonl_line(line: &str) -> EndpointReport {
    let errors = schema_errors(line);
    assert!(
        errors.is_empty(),
        "JSON line breaks schema/endpoint-report.schema.json (a new field must be added there):\n  {}\n{line}",
        errors.join("\n  ")
    );
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line {line}: {e}"))
}

/// Whether the report has a verdict for every version and none is
/// `unknown` (an empty list is not "all decided").
pub fn every_version_decided(v: &ftps_scan::model::tls::VersionReport) -> bool {
    use ftps_scan::model::tls::{TlsVersion, VersionVerdict};
    v.results.len() == TlsVersion::ALL.len()
        && v.results
            .iter()
            .all(|x| x.verdict != VersionVerdict::Unknown)
}

/// The accepted versions by their report names, lowest first (none when
/// the versions were not probed).
pub fn accepted_versions(r: &EndpointReport) -> Vec<&'static str> {
    r.versions
        .iter()
        .flat_map(|v| v.accepted())
        .map(|v| v.as_str())
        .collect()
}

/// The finding ids the default policy raises on `r` (today's date).
pub fn finding_ids(r: &EndpointReport) -> Vec<String> {
    let mut r = r.clone();
    ftps_scan::policy::Policy::default().apply(&mut r, time::OffsetDateTime::now_utc().date());
    r.findings.into_iter().map(|f| f.id).collect()
}

/// `true` when the command `name` is on PATH. Otherwise prints a loud
/// SKIPPED line and returns `false`, or panics when
/// `FTPS_SCAN_REQUIRE_REAL_SERVERS=1` (CI: `.ci/run` installs `hint`).
pub fn tool_available(name: &str, hint: &str) -> bool {
    if real::on_path(name) {
        return true;
    }
    let message = format!("{name} is not installed ({hint})");
    if real::servers_required() {
        panic!("FTPS_SCAN_REQUIRE_REAL_SERVERS=1 but {message}");
    }
    eprintln!("SKIPPED: {message}");
    false
}

/// A raw server that greets with `greeting` (a whole reply, CRLF included),
/// lists no features, refuses AUTH TLS with `auth_reply`, AUTH SSL with
/// `502 no` and the cleartext USER with `530 no`: hostile text in every
/// reply an explicit scan reads.
pub async fn hostile_no_tls_server(
    greeting: Vec<u8>,
    auth_reply: &[u8],
) -> ftps_scan::testbed::RawServer {
    use ftps_scan::testbed::{RawServer, Step};
    RawServer::start(vec![
        Step::Send(greeting),
        Step::ReadLine,
        Step::Send(b"211 no features\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(auth_reply.to_vec()),
        Step::ReadLine,
        Step::Send(b"502 no\r\n".to_vec()),
        Step::ReadLine,
        Step::Send(b"530 no\r\n".to_vec()),
    ])
    .await
    .unwrap()
}
