//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod real;

use ftps_scan::scan::{run_scan, ScanEvent, StopSignal};
use ftps_scan::targets::{InputSource, ParseOptions, TargetError, TargetReader};
use ftps_scan::tls::trust::TrustStore;
use ftps_scan::{EndpointReport, ScanConfig};
use std::sync::Arc;
use std::time::Duration;

/// A config with short deadlines for loopback tests.
pub fn quick_config(trust: TrustStore) -> ScanConfig {
    let mut config = ScanConfig::new(trust);
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
            ScanEvent::Started => {}
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
