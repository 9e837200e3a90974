//! Interrupting a run (SIGINT, SIGTERM) leaves valid CSV and JSON Lines
//! files with every finished endpoint, and exits 130.

mod support;

use ftps_scan::testbed::{closed_port, RawServer};
use std::time::{Duration, Instant};
use support::read_jsonl;

async fn interrupt_with(signal: &str) {
    // Slow endpoints (silent servers, 3 s each) behind fast ones (refused).
    let silent = RawServer::start(vec![]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    let mut lines = String::new();
    for _ in 0..4 {
        lines.push_str(&format!("{}\n", closed_port().await.unwrap()));
    }
    for _ in 0..200 {
        lines.push_str(&format!("{}\n", silent.addr));
    }
    std::fs::write(&targets, lines).unwrap();
    let csv_path = dir.path().join("out.csv");
    let jsonl_path = dir.path().join("out.jsonl");
    let child = support::binary_command()
        .arg(&targets)
        .args([
            "-c",
            "4",
            "--per-host",
            "4",
            "--read-timeout",
            "3",
            "-f",
            "csv",
            "--progress",
            "never",
        ])
        .arg("-o")
        .arg(&csv_path)
        .arg("--jsonl")
        .arg(&jsonl_path)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the fast rows, then interrupt while the slow ones are in flight.
    let started = Instant::now();
    while std::fs::read_to_string(&jsonl_path)
        .unwrap_or_default()
        .lines()
        .count()
        < 4
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no rows appeared"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let at = Instant::now();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        at.elapsed() < Duration::from_secs(8),
        "stopped within the grace period"
    );
    assert!(
        stderr.contains(&format!("interrupted by SIG{signal}")),
        "{stderr}"
    );

    // Every line of both files is whole and parses; they hold the same rows.
    let csv_text = std::fs::read_to_string(&csv_path).unwrap();
    assert!(csv_text.ends_with('\n'), "no half-written CSV row");
    let (_, rows) = support::read_csv(&csv_path);
    let reports = read_jsonl(&jsonl_path);
    assert_eq!(rows.len(), reports.len());
    assert!(reports.len() >= 4, "the finished rows are kept");
    assert!(reports.len() < 204, "the run did stop early");
    assert!(rows.iter().all(|r| !r["status"].is_empty()));
    // The in-flight silent endpoints were allowed to finish (3 s < 5 s grace).
    assert!(
        reports
            .iter()
            .any(|r| r.status == ftps_scan::Status::Timeout),
        "in-flight rows were flushed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_keeps_every_finished_row() {
    interrupt_with("INT").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_keeps_every_finished_row() {
    interrupt_with("TERM").await;
}
