//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod browser;
pub mod openssl;
pub mod real;

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

/// The `ftps-scan` binary with [`SAFE_BOUNCE_ADDRESS`] in its environment.
pub fn binary_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ftps-scan"));
    command.env("FTPS_SCAN_BOUNCE_ADDRESS", SAFE_BOUNCE_ADDRESS);
    command
}

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

/// Runs the real `ftps-scan` binary with `args` (off the async runtime's
/// worker so in-process test servers keep serving).
pub async fn run_binary(args: Vec<String>) -> std::process::Output {
    run_binary_env(args, Vec::new()).await
}

/// As [`run_binary`], with extra environment variables.
pub async fn run_binary_env(args: Vec<String>, env: Vec<(String, String)>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        binary_command()
            .args(&args)
            .envs(env)
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run ftps-scan")
    })
    .await
    .expect("join")
}

/// A CSV report read back: one map of column -> cell per row, plus the header.
pub fn read_csv(
    path: &std::path::Path,
) -> (Vec<String>, Vec<std::collections::HashMap<String, String>>) {
    let mut reader = csv::Reader::from_path(path).expect("open csv");
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("csv record");
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

/// A JSON Lines report read back into report structs, every line checked
/// against the committed JSON Schema first.
pub fn read_jsonl(path: &std::path::Path) -> Vec<EndpointReport> {
    std::fs::read_to_string(path)
        .expect("read jsonl")
        .lines()
        .map(parse_jsonl_line)
        .collect()
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

/// TLS 1.3 and 1.2, the versions a default test server speaks.
pub fn both_versions() -> Vec<&'static rustls::SupportedProtocolVersion> {
    vec![&rustls::version::TLS13, &rustls::version::TLS12]
}

/// A testbed FTPS server with a valid certificate from `pki`.
pub async fn start_tls_server(
    pki: &ftps_scan::testbed::TestPki,
    spec: ftps_scan::testbed::ServerSpec,
) -> ftps_scan::testbed::TestServer {
    let identity = pki.issue(ftps_scan::testbed::CertKind::Valid).unwrap();
    let tls = Some(ftps_scan::testbed::server_config(&identity, &both_versions()).unwrap());
    ftps_scan::testbed::TestServer::start(ftps_scan::testbed::ServerSpec { tls, ..spec })
        .await
        .unwrap()
}

/// The finding ids the default policy raises on `r` (today's date).
pub fn finding_ids(r: &EndpointReport) -> Vec<String> {
    let mut r = r.clone();
    ftps_scan::policy::Policy::default().apply(&mut r, time::OffsetDateTime::now_utc().date());
    r.findings.into_iter().map(|f| f.id).collect()
}

/// [`quick_config`] trusting `pki`, without the version probes.
pub fn posture_config(pki: &ftps_scan::testbed::TestPki) -> ScanConfig {
    let mut c = quick_config(pki.trust_store());
    c.versions = false;
    c
}

/// Runs the binary on one target with `--csv` and `--jsonl` files; the exit
/// code, the CSV row and the JSON report, read back.
pub async fn scan_to_files(
    target: &str,
    extra: &[&str],
) -> (
    Option<i32>,
    std::collections::HashMap<String, String>,
    EndpointReport,
) {
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("out.csv");
    let jsonl_path = dir.path().join("out.jsonl");
    let mut args = vec![
        "-q".to_string(),
        "-t".to_string(),
        target.to_string(),
        "--csv".to_string(),
        csv_path.display().to_string(),
        "--jsonl".to_string(),
        jsonl_path.display().to_string(),
    ];
    args.extend(extra.iter().map(|x| x.to_string()));
    let out = run_binary(args).await;
    let (_, mut rows) = read_csv(&csv_path);
    let mut reports = read_jsonl(&jsonl_path);
    assert_eq!(rows.len(), 1, "{out:?}");
    assert_eq!(reports.len(), 1, "{out:?}");
    (out.status.code(), rows.remove(0), reports.remove(0))
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

/// Runs `ftps-scan demo -q --fail-on never` with `flags` (output files)
/// and returns its output.
pub async fn run_demo(flags: &[String]) -> std::process::Output {
    let mut args: Vec<String> = ["demo", "-q", "--fail-on", "never"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend_from_slice(flags);
    run_binary(args).await
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
