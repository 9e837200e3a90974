//! "Run the binary on these targets and read its reports back": the real
//! `ftps-scan` binary with its report files in a fresh temp dir, and the
//! readers of those files.

use super::{parse_jsonl_line, SAFE_BOUNCE_ADDRESS};
use ftps_scan::EndpointReport;
use std::collections::HashMap;
use std::path::Path;
use std::process::Output;

/// A CSV row read back: column -> cell.
pub type Row = HashMap<String, String>;

/// The `ftps-scan` binary with [`SAFE_BOUNCE_ADDRESS`] in its environment.
pub fn binary_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ftps-scan"));
    command.env("FTPS_SCAN_BOUNCE_ADDRESS", SAFE_BOUNCE_ADDRESS);
    command
}

/// Runs the real `ftps-scan` binary with `args` (off the async runtime's
/// worker so in-process test servers keep serving).
pub async fn run_binary(args: Vec<String>) -> Output {
    run_binary_env(args, Vec::new()).await
}

/// As [`run_binary`], with extra environment variables.
pub async fn run_binary_env(args: Vec<String>, env: Vec<(String, String)>) -> Output {
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
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Row>) {
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
pub fn read_jsonl(path: &Path) -> Vec<EndpointReport> {
    std::fs::read_to_string(path)
        .expect("read jsonl")
        .lines()
        .map(parse_jsonl_line)
        .collect()
}

/// Runs `ftps-scan demo -q --fail-on never` with `flags` (output files)
/// and returns its output.
pub async fn run_demo(flags: &[String]) -> Output {
    let mut args: Vec<String> = ["demo", "-q", "--fail-on", "never"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend_from_slice(flags);
    run_binary(args).await
}

/// `ftps-scan -q` on some targets, writing `--csv` and `--jsonl` into a
/// fresh temp dir; [`Scan::run`] reads both back.
pub struct Scan {
    args: Vec<String>,
    dir: tempfile::TempDir,
}

impl Scan {
    /// `ftps-scan -q`, no targets yet.
    pub fn new() -> Scan {
        Scan {
            args: vec!["-q".to_string()],
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// `-t target`.
    pub fn target(self, target: impl ToString) -> Scan {
        self.args(["-t".to_string(), target.to_string()])
    }

    /// More arguments, in order.
    pub fn args<S: ToString>(mut self, args: impl IntoIterator<Item = S>) -> Scan {
        self.args.extend(args.into_iter().map(|a| a.to_string()));
        self
    }

    /// Runs the binary and reads the reports back (no rows for a report
    /// file the binary did not write).
    pub async fn run(self) -> Scanned {
        let csv = self.dir.path().join("out.csv");
        let jsonl = self.dir.path().join("out.jsonl");
        let mut args = self.args;
        args.extend([
            "--csv".to_string(),
            csv.display().to_string(),
            "--jsonl".to_string(),
            jsonl.display().to_string(),
        ]);
        let output = run_binary(args).await;
        let rows = if csv.is_file() {
            read_csv(&csv).1
        } else {
            Vec::new()
        };
        let reports = if jsonl.is_file() {
            read_jsonl(&jsonl)
        } else {
            Vec::new()
        };
        Scanned {
            output,
            rows,
            reports,
        }
    }
}

/// What a [`Scan`] left: the process output and both reports read back.
pub struct Scanned {
    pub output: Output,
    pub rows: Vec<Row>,
    pub reports: Vec<EndpointReport>,
}

impl Scanned {
    /// The exit code (`None`: killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// The exit code, the only CSV row and the only JSON report.
    pub fn one(mut self) -> (Option<i32>, Row, EndpointReport) {
        assert_eq!(self.rows.len(), 1, "{:?}", self.output);
        assert_eq!(self.reports.len(), 1, "{:?}", self.output);
        (self.code(), self.rows.remove(0), self.reports.remove(0))
    }
}
