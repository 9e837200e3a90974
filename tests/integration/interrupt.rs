//! Interrupting a run (SIGINT, SIGTERM) leaves valid CSV and JSON Lines
//! files with every finished endpoint, and exits 130.

use crate::support;

use crate::support::read_jsonl;
use ftps_scan::testbed::{closed_port, RawServer};
use std::time::{Duration, Instant};

/// Waits (at most 20 s) until `path` holds `lines` lines.
async fn wait_for_lines(path: &std::path::Path, lines: usize) {
    let started = Instant::now();
    while std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .count()
        < lines
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{} never held {lines} lines",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn interrupt_with(signal: &str) {
    // Slow endpoints (silent servers, 3 s each) behind fast ones (refused).
    // `ftp://`: explicit, so silence costs the read timeout and no more
    // (on a port of its own the mode would be detected, with a ClientHello).
    let silent = RawServer::start(vec![]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    let mut lines = String::new();
    for _ in 0..4 {
        lines.push_str(&format!("{}\n", closed_port().await.unwrap()));
    }
    for _ in 0..200 {
        lines.push_str(&format!("ftp://{}\n", silent.addr));
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
    wait_for_lines(&jsonl_path, 4).await;
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

/// Waits for `child` at most `limit`; kills it and fails if it is still
/// running then.
async fn wait_bounded(
    child: std::process::Child,
    limit: Duration,
) -> (std::process::Output, Duration) {
    let pid = child.id();
    let at = Instant::now();
    let waiter = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    match tokio::time::timeout(limit, waiter).await {
        Ok(output) => (output.unwrap(), at.elapsed()),
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("ftps-scan did not exit within {limit:?}");
        }
    }
}

fn signal(child: &std::process::Child, name: &str) {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_still_in_flight_after_the_grace_period_get_interrupted_rows() {
    // Four silent servers with a 60 s read timeout: still in flight when
    // the 5 s grace period ends.
    let silent = RawServer::start(vec![]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jsonl_path = dir.path().join("out.jsonl");
    let mut command = crate::support::binary_command();
    for _ in 0..4 {
        command.args(["-t", &format!("ftp://{}", silent.addr)]);
    }
    let child = command
        .args(["-c", "4", "--per-host", "4", "--read-timeout", "60"])
        .args(["-f", "csv", "--progress", "never", "--jsonl"])
        .arg(&jsonl_path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    signal(&child, "TERM");
    let (output, took) = wait_bounded(child, Duration::from_secs(15)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(10),
        "grace 5 s, then abandoned: {took:?}"
    );
    let reports = read_jsonl(&jsonl_path);
    assert_eq!(reports.len(), 4, "one row per endpoint in flight");
    assert!(
        reports
            .iter()
            .all(|r| r.status == ftps_scan::Status::Interrupted),
        "{reports:?}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.matches(",interrupted,").count(), 4, "{stdout}");
    assert!(stderr.contains("interrupted 4"), "{stderr}");
    assert!(
        stderr.contains("interrupted by SIGTERM (4 endpoints in flight abandoned)"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_ends_the_run_while_standard_input_blocks() {
    let closed = closed_port().await.unwrap();
    let mut child = crate::support::binary_command()
        .args(["-", "-f", "csv", "--progress", "never"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // One target, then a producer that says nothing more and never closes.
    let mut stdin = child.stdin.take().unwrap();
    use std::io::Write;
    writeln!(stdin, "{closed}").unwrap();
    stdin.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    signal(&child, "INT");
    let (output, took) = wait_bounded(child, Duration::from_secs(10)).await;
    drop(stdin);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        took < Duration::from_secs(3),
        "nothing in flight to wait for: {took:?}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(",refused,"),
        "the finished row is kept: {stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_without_line_breaks_is_an_input_error_not_an_endless_read() {
    let closed = closed_port().await.unwrap();
    let child = crate::support::binary_command()
        .args(["/dev/zero", "-t", &closed.to_string()])
        .args(["-f", "csv", "--progress", "never"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (output, _) = wait_bounded(child, Duration::from_secs(20)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/dev/zero"), "{stderr}");
    assert!(stderr.contains("no line break"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(",refused,"),
        "the other target is scanned: {stdout}"
    );
}

/// `--sort input` spools finished rows to disk as they finish: a run killed
/// with SIGKILL leaves every finished row in the spool, `ftps-scan recover`
/// writes them in input order, and a new run refuses to overwrite the
/// spool. A run that ends normally writes sorted rows and removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sort_input_keeps_finished_rows_through_sigkill() {
    let silent = RawServer::start(vec![]).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    // Two slow endpoints first (input order 0 and 1), six fast ones after.
    let mut lines = format!("ftp://{}\nftp://{}\n", silent.addr, silent.addr);
    let mut fast = Vec::new();
    for _ in 0..6 {
        let closed = closed_port().await.unwrap();
        lines.push_str(&format!("{closed}\n"));
        fast.push(closed.to_string());
    }
    std::fs::write(&targets, &lines).unwrap();
    let csv_path = dir.path().join("out.csv");
    let spool = dir.path().join("out.csv.spool.jsonl");
    let run = |extra: &[&str]| {
        let mut command = crate::support::binary_command();
        command
            .arg(&targets)
            .args(["-c", "8", "--per-host", "8", "--sort", "input", "-f", "csv"])
            .args(["--progress", "never", "-o"])
            .arg(&csv_path)
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    };
    let child = run(&["--read-timeout", "60"]).spawn().unwrap();
    wait_for_lines(&spool, 6).await;
    signal(&child, "KILL");
    let _ = wait_bounded(child, Duration::from_secs(10)).await;
    assert_eq!(
        support::read_csv(&csv_path).1.len(),
        0,
        "sorted rows are written only at the end"
    );
    let spooled = read_jsonl(&spool);
    assert_eq!(spooled.len(), 6, "every finished row is on disk");

    // A new run does not overwrite the spool, and touches no report.
    let refused = run(&[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ftps-scan recover"), "{stderr}");
    assert_eq!(read_jsonl(&spool).len(), 6);

    // Recovery writes the rows in input order.
    let recovered = dir.path().join("recovered.csv");
    let output = crate::support::binary_command()
        .arg("recover")
        .arg(&spool)
        .args(["-f", "csv", "-o"])
        .arg(&recovered)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (_, rows) = support::read_csv(&recovered);
    let targets_seen: Vec<&str> = rows.iter().map(|r| r["target"].as_str()).collect();
    assert_eq!(
        targets_seen,
        fast.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let indexes: Vec<&str> = rows.iter().map(|r| r["input_index"].as_str()).collect();
    assert_eq!(indexes, ["2", "3", "4", "5", "6", "7"]);
    assert!(rows.iter().all(|r| r["status"] == "refused"));

    // Once the spool is gone, a run that ends normally sorts and cleans up.
    std::fs::remove_file(&spool).unwrap();
    let done = run(&["--read-timeout", "1"]).output().unwrap();
    assert_eq!(
        done.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let (_, rows) = support::read_csv(&csv_path);
    let indexes: Vec<u64> = rows
        .iter()
        .map(|r| r["input_index"].parse().unwrap())
        .collect();
    assert_eq!(indexes, (0..8).collect::<Vec<_>>());
    assert!(!spool.exists(), "the spool is removed at the end");
}
