//! The run record: how a report was made, beside the report.
//!
//! Two reports differ for two reasons: the servers changed, or the scan
//! did (another policy, `--no-data`, other ports, a newer ftps-scan). A
//! diff that cannot tell them apart reports a policy change as a server
//! change. So every report file a scan writes (`-o`, `--csv`, `--jsonl`)
//! gets a record next to it, `REPORT.run.json`: JSON Lines, one record per
//! run (an `--append`ed report gathers one per run), with the tool
//! version, the settings that change facts, the policy's digest, start and
//! end time and counts. It is written when the run starts (`completed:
//! false`) and replaced when it ends, each time whole (temporary file and
//! rename), so a killed run leaves a record that says it did not finish.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `record` holds, so a reader knows the line is a run record.
pub const RECORD_KIND: &str = "ftps-scan-run";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub record: String,
    pub tool_version: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// False while the run goes on, and for a run killed outright.
    pub completed: bool,
    /// SIGINT or SIGTERM when the run was interrupted.
    pub interrupted_by: Option<String>,
    /// The settings that change what a scan finds (ports, checks, trust,
    /// timeouts, login, shard...), as flag-like names and values.
    pub settings: BTreeMap<String, String>,
    /// `default`, or the policy file's path as given.
    pub policy: String,
    /// SHA-256 of the policy file's bytes; empty for the built-in policy.
    pub policy_sha256: String,
    pub counts: Option<RunCounts>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub endpoints: u64,
    pub input_errors: u64,
    pub statuses: BTreeMap<String, u64>,
    pub verdicts: BTreeMap<String, u64>,
}

impl RunRecord {
    pub fn new(
        started_at: String,
        settings: BTreeMap<String, String>,
        policy: String,
        policy_sha256: String,
    ) -> Self {
        Self {
            record: RECORD_KIND.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            started_at,
            ended_at: None,
            completed: false,
            interrupted_by: None,
            settings,
            policy,
            policy_sha256,
            counts: None,
        }
    }
}

/// `REPORT.run.json`.
pub fn path_for(report: &Path) -> PathBuf {
    let mut name = report.as_os_str().to_owned();
    name.push(".run.json");
    PathBuf::from(name)
}

/// The run records beside `report`, oldest first; `Ok(empty)` when there
/// is no record file (a report from an older version, or one merged from
/// parts).
pub fn read_for(report: &Path) -> Result<Vec<RunRecord>, String> {
    read(&path_for(report))
}

/// The run records in the record file `path`, oldest first; `Ok(empty)`
/// when it does not exist.
pub fn read(path: &Path) -> Result<Vec<RunRecord>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str::<RunRecord>(l)
                .ok()
                .filter(|r| r.record == RECORD_KIND)
                .ok_or_else(|| format!("{}, line {}: not a run record", path.display(), i + 1))
        })
        .collect()
}

/// Writes `records` as the whole record file, atomically.
pub fn write(path: &Path, records: &[RunRecord]) -> std::io::Result<()> {
    let mut text = String::new();
    for r in records {
        text.push_str(&serde_json::to_string(r).map_err(std::io::Error::other)?);
        text.push('\n');
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// How two runs were made differently, one line per difference (empty when
/// they were made the same way).
pub fn differences(old: &RunRecord, new: &RunRecord) -> Vec<String> {
    let mut out = Vec::new();
    if old.tool_version != new.tool_version {
        out.push(format!(
            "ftps-scan version {} -> {}",
            old.tool_version, new.tool_version
        ));
    }
    if old.policy_sha256 != new.policy_sha256 || old.policy != new.policy {
        let show = |r: &RunRecord| match r.policy_sha256.get(..12) {
            Some(digest) => format!("{} (sha256 {digest}…)", r.policy),
            None => r.policy.clone(),
        };
        out.push(format!("policy {} -> {}", show(old), show(new)));
    }
    let keys: std::collections::BTreeSet<&String> =
        old.settings.keys().chain(new.settings.keys()).collect();
    for key in keys {
        let (a, b) = (old.settings.get(key), new.settings.get(key));
        if a != b {
            let show = |v: Option<&String>| v.cloned().unwrap_or_else(|| "(not recorded)".into());
            out.push(format!("{key} {} -> {}", show(a), show(b)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(settings: &[(&str, &str)], policy_sha256: &str) -> RunRecord {
        RunRecord::new(
            "2026-12-01T00:00:00Z".into(),
            settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            if policy_sha256.is_empty() {
                "default".into()
            } else {
                "policy.toml".into()
            },
            policy_sha256.into(),
        )
    }

    #[test]
    fn differences_name_each_setting_and_the_policy() {
        let a = record(&[("data", "on"), ("ports", "21,990")], "");
        let b = record(
            &[("data", "off"), ("ports", "21,990"), ("ciphers", "on")],
            "abcdef0123456789",
        );
        assert!(differences(&a, &a).is_empty());
        assert_eq!(
            differences(&a, &b),
            vec![
                "policy default -> policy.toml (sha256 abcdef012345…)".to_string(),
                "ciphers (not recorded) -> on".to_string(),
                "data on -> off".to_string(),
            ]
        );
    }

    #[test]
    fn records_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.csv");
        assert!(read_for(&report).unwrap().is_empty());
        let mut r = record(&[("data", "on")], "");
        write(&path_for(&report), std::slice::from_ref(&r)).unwrap();
        r.completed = true;
        write(&path_for(&report), &[r.clone(), r.clone()]).unwrap();
        assert_eq!(read_for(&report).unwrap(), vec![r.clone(), r]);
        std::fs::write(path_for(&report), "{\"x\":1}\n").unwrap();
        assert!(read_for(&report).unwrap_err().contains("line 1"));
    }
}
