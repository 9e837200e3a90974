//! `ftps-scan diff OLD NEW`: the binary side (formats, exit code).

use crate::cli::DiffFormat;
use crate::output::ExitCode;
use anyhow::{Context, Result};
use ftps_scan::compare::{compare, read_report, Change, ChangeKind, CompareOptions, Key};
use ftps_scan::report::run_record::{self, RunRecord};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Findings that only cipher enumeration observes.
const CIPHER_FINDINGS: [&str; 2] = ["weak-cipher-accepted", "no-forward-secrecy"];

pub fn run(
    old: &Path,
    new: &Path,
    format: DiffFormat,
    output: Option<&Path>,
    mut options: CompareOptions,
) -> Result<ExitCode> {
    let old_rows = read_report(old)?;
    let new_rows = read_report(new)?;
    let old_runs = run_record::read_for(old).map_err(anyhow::Error::msg)?;
    let new_runs = run_record::read_for(new).map_err(anyhow::Error::msg)?;
    if new_runs
        .last()
        .and_then(|r| r.settings.get("ciphers"))
        .is_some_and(|c| c == "off")
    {
        options
            .unobservable
            .extend(CIPHER_FINDINGS.iter().map(|s| s.to_string()));
    }
    let mut changes = run_notes(old, &old_runs, new, &new_runs);
    changes.extend(compare(&old_rows, &new_rows, &options));
    let mut out: Box<dyn Write> = match output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write output file {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    let totals = totals(&changes, old_rows.len(), new_rows.len());
    match format {
        DiffFormat::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["change", "target", "ip", "port", "detail", "worse"])?;
            for c in &changes {
                w.write_record([
                    c.kind.as_str(),
                    &ftps_scan::report::csv::text(&c.key.target),
                    &c.key.ip,
                    &c.key.port,
                    &ftps_scan::report::csv::text(&c.detail),
                    if c.worse { "yes" } else { "no" },
                ])?;
            }
            w.flush()?;
            // The CSV holds changes only; the totals go to stderr.
            eprintln!("{totals}");
        }
        DiffFormat::Table => {
            for c in &changes {
                let mark = if c.worse { "!" } else { " " };
                let key = if c.key.target.is_empty() {
                    String::new()
                } else {
                    c.key.to_string()
                };
                writeln!(
                    out,
                    "{mark} {:<17} {:<40} {}",
                    c.kind.as_str(),
                    // Report files carry server text: no raw controls on
                    // the terminal.
                    ftps_scan::report::escape::visible(&key),
                    ftps_scan::report::escape::visible(&c.detail)
                )?;
            }
            writeln!(out, "{totals}")?;
        }
    }
    out.flush()?;
    Ok(if changes.iter().any(|c| c.worse) {
        ExitCode::Findings
    } else {
        ExitCode::Clean
    })
}

/// What the run records say about how the two reports were made.
fn run_notes(
    old: &Path,
    old_runs: &[RunRecord],
    new: &Path,
    new_runs: &[RunRecord],
) -> Vec<Change> {
    let note = |detail: String| Change {
        kind: ChangeKind::RunDiffers,
        key: Key {
            target: String::new(),
            ip: String::new(),
            port: String::new(),
        },
        detail,
        worse: false,
    };
    let mut notes = Vec::new();
    for (path, runs, which) in [(old, old_runs, "earlier"), (new, new_runs, "later")] {
        match runs.last() {
            None => notes.push(note(format!(
                "no run record beside the {which} report ({}): how it was made is unknown",
                run_record::path_for(path).display()
            ))),
            Some(last) => {
                if !last.completed {
                    notes.push(note(match &last.interrupted_by {
                        Some(signal) => format!("the {which} run was interrupted by {signal}"),
                        None => {
                            format!("the {which} run did not finish (killed, or still running)")
                        }
                    }));
                }
                let mixed = runs
                    .iter()
                    .any(|r| !run_record::differences(r, last).is_empty());
                if mixed {
                    notes.push(note(format!(
                        "the {which} report gathers {} runs made differently (--append)",
                        runs.len()
                    )));
                }
            }
        }
    }
    if let (Some(a), Some(b)) = (old_runs.last(), new_runs.last()) {
        for difference in run_record::differences(a, b) {
            notes.push(note(format!(
                "the runs were made differently: {difference}"
            )));
        }
    }
    notes
}

/// The last line: endpoints before and after, changes by kind, worse.
fn totals(changes: &[Change], before: usize, after: usize) -> String {
    let mut by_kind: BTreeMap<ChangeKind, usize> = BTreeMap::new();
    for c in changes {
        *by_kind.entry(c.kind).or_default() += 1;
    }
    let kinds: Vec<String> = by_kind
        .iter()
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    format!(
        "totals: {before} endpoints before, {after} now; {}; {} worse",
        if kinds.is_empty() {
            "no changes".to_string()
        } else {
            kinds.join(", ")
        },
        changes.iter().filter(|c| c.worse).count()
    )
}
