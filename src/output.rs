//! The binary's side of reporting: opening sinks, the summary line, exit
//! codes and signal handling.

use crate::cli::{FailOn, Format, OutputArgs, SortArg};
use anyhow::{Context, Result};
use ftps_scan::policy::Verdict;
use ftps_scan::report::csv::CsvSink;
use ftps_scan::report::jsonl::JsonLinesSink;
use ftps_scan::report::run_record::{self, RunCounts, RunRecord};
use ftps_scan::report::spool::Spool;
use ftps_scan::report::table::TableSink;
use ftps_scan::report::{html, prom, EndpointReport, RunInfo, Sink, Status};
use ftps_scan::targets::EndpointCount;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Documented exit codes (README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Clean = 0,
    Findings = 1,
    Usage = 2,
    Unassessed = 3,
    Interrupted = 130,
}

/// The sinks of a run: the main format plus extra CSV / JSON Lines files,
/// and the whole-run reports (HTML, Prometheus) written at the end.
pub struct Outputs {
    sinks: Vec<Box<dyn Sink>>,
    /// With `--sort input`, rows wait in this spool file until the end.
    spool: Option<Spool>,
    whole: Vec<WholeFile>,
    /// Every report, kept for the whole-run files (only when there are any).
    all: Vec<EndpointReport>,
}

/// A report made from the whole run (`--html`, `--prom`): rendered at the
/// end into a temporary file beside its path, then renamed over it, so a
/// reader (node_exporter, a browser) never sees half a file.
struct WholeFile {
    path: PathBuf,
    temp: PathBuf,
    file: File,
    render: fn(&[EndpointReport], &RunInfo) -> String,
}

impl Drop for WholeFile {
    /// A run that ends in an error leaves no temporary file behind (after
    /// the rename there is none to remove).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

impl WholeFile {
    /// Creates the temporary file now, so an unwritable directory fails
    /// the run before anything is scanned.
    fn open(
        path: &Path,
        mode: WriteMode,
        created: &mut Vec<PathBuf>,
        render: fn(&[EndpointReport], &RunInfo) -> String,
    ) -> Result<Self> {
        if mode == WriteMode::NoClobber && path.exists() {
            anyhow::bail!(
                "output file {} already exists (--no-clobber); nothing was scanned",
                path.display()
            );
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| anyhow::anyhow!("cannot write output file {}: {e}", path.display()))?;
        created.push(temp.clone());
        Ok(Self {
            path: path.to_path_buf(),
            temp,
            file,
            render,
        })
    }

    fn finish(mut self, reports: &[EndpointReport], run: &RunInfo) -> Result<()> {
        let text = (self.render)(reports, run);
        let written = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_all())
            .and_then(|()| std::fs::rename(&self.temp, &self.path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&self.temp);
            anyhow::bail!("cannot write output file {}: {e}", self.path.display());
        }
        Ok(())
    }
}

impl Outputs {
    /// Opens every output before anything is scanned, so an unwritable path
    /// fails the run at once and leaves no half-made files behind.
    pub fn open(args: &OutputArgs) -> Result<Self> {
        // The spool first: it is never overwritten, so a spool left by a
        // killed run stops this one before any report file is truncated.
        let spool = spool_path(args)
            .map(|path| Spool::create(&path))
            .transpose()?;
        let mut created: Vec<PathBuf> = Vec::new();
        let result = Self::open_all(args, spool, &mut created);
        if result.is_err() {
            for path in created {
                let _ = std::fs::remove_file(path);
            }
        }
        result
    }

    fn open_all(
        args: &OutputArgs,
        spool: Option<Spool>,
        created: &mut Vec<PathBuf>,
    ) -> Result<Self> {
        if let Some(spool) = &spool {
            created.push(spool.path().to_path_buf());
        }
        let mode = WriteMode::of(args);
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        let (main, main_continues): (Box<dyn Write + Send>, bool) = match &args.output {
            Some(path) => {
                let (file, continues) = create(path, mode, created)?;
                (Box::new(file), continues)
            }
            None => (Box::new(std::io::stdout()), false),
        };
        sinks.push(match (args.format, main_continues) {
            (Format::Table, _) => Box::new(TableSink::with_width(
                main,
                if args.output.is_none() {
                    table_width()
                } else {
                    None
                },
            )),
            (Format::Csv, false) => Box::new(CsvSink::new(main)),
            (Format::Csv, true) => Box::new(CsvSink::continuing(main)),
            (Format::Jsonl, _) => Box::new(JsonLinesSink::new(main)),
        });
        if let Some(path) = &args.csv {
            sinks.push(match create(path, mode, created)? {
                (file, false) => Box::new(CsvSink::new(file)),
                (file, true) => Box::new(CsvSink::continuing(file)),
            });
        }
        if let Some(path) = &args.jsonl {
            sinks.push(Box::new(JsonLinesSink::new(create(path, mode, created)?.0)));
        }
        if let Some(path) = &args.findings_csv {
            use ftps_scan::report::findings_csv::FindingsCsvSink;
            sinks.push(match create(path, mode, created)? {
                (file, false) => Box::new(FindingsCsvSink::new(file)),
                (file, true) => Box::new(FindingsCsvSink::continuing(file)),
            });
        }
        let mut whole = Vec::new();
        if let Some(path) = &args.html {
            whole.push(WholeFile::open(path, mode, created, html::render)?);
        }
        if let Some(path) = &args.prom {
            whole.push(WholeFile::open(path, mode, created, prom::render)?);
        }
        Ok(Self {
            sinks,
            spool,
            whole,
            all: Vec::new(),
        })
    }

    pub fn write(&mut self, report: EndpointReport) -> Result<()> {
        if !self.whole.is_empty() {
            self.all.push(report.clone());
        }
        match &mut self.spool {
            Some(spool) => spool.push(&report)?,
            None => self.write_now(&report)?,
        }
        Ok(())
    }

    fn write_now(&mut self, report: &EndpointReport) -> Result<()> {
        for sink in &mut self.sinks {
            sink.write(report).context("writing a report row")?;
        }
        Ok(())
    }

    pub fn finish(&mut self, run: &RunInfo) -> Result<()> {
        if let Some(spool) = self.spool.take() {
            spool.drain_sorted(|report| self.write_now(&report).map_err(|e| format!("{e:#}")))?;
        }
        for sink in &mut self.sinks {
            sink.finish().context("finishing the report")?;
        }
        for file in std::mem::take(&mut self.whole) {
            file.finish(&self.all, run)?;
        }
        Ok(())
    }
}

/// The run records of a run: one beside each report file (`-o`, `--csv`,
/// `--jsonl`), written when the run starts and replaced when it ends.
pub struct RunRecords {
    /// Each record file with the records of earlier runs it keeps
    /// (`--append`).
    files: Vec<(PathBuf, Vec<RunRecord>)>,
    record: RunRecord,
}

impl RunRecords {
    /// The record files of `args`' report files.
    pub fn paths(args: &OutputArgs) -> Vec<PathBuf> {
        [&args.output, &args.csv, &args.jsonl]
            .into_iter()
            .flatten()
            .map(|p| run_record::path_for(p))
            .collect()
    }

    pub fn start(args: &OutputArgs, record: RunRecord) -> Result<Self> {
        let mode = WriteMode::of(args);
        let mut files = Vec::new();
        for path in Self::paths(args) {
            let earlier = match mode {
                WriteMode::Append => run_record::read(&path).map_err(anyhow::Error::msg)?,
                WriteMode::NoClobber if path.exists() => anyhow::bail!(
                    "run record {} already exists (--no-clobber); nothing was scanned",
                    path.display()
                ),
                _ => Vec::new(),
            };
            files.push((path, earlier));
        }
        let records = Self { files, record };
        records.write()?;
        Ok(records)
    }

    fn write(&self) -> Result<()> {
        for (path, earlier) in &self.files {
            let mut all = earlier.clone();
            all.push(self.record.clone());
            run_record::write(path, &all)
                .with_context(|| format!("cannot write run record {}", path.display()))?;
        }
        Ok(())
    }

    /// The record of the finished (or interrupted) run.
    pub fn finish(&mut self, tally: &Tally) -> Result<()> {
        let record = &mut self.record;
        record.ended_at = Some(ftps_scan::scan::format_utc(time::OffsetDateTime::now_utc()));
        record.completed = tally.interrupted.is_none();
        record.interrupted_by = tally.interrupted.map(str::to_string);
        record.counts = Some(RunCounts {
            endpoints: tally.endpoints,
            input_errors: tally.input_errors,
            statuses: tally
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            verdicts: tally
                .verdicts
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
        });
        self.write()
    }
}

/// `default`, or the policy file and the SHA-256 of its bytes.
pub fn policy_identity(path: Option<&Path>) -> Result<(String, String)> {
    use sha2::Digest;
    match path {
        None => Ok(("default".into(), String::new())),
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read policy file {}", path.display()))?;
            Ok((
                path.display().to_string(),
                hex::encode(sha2::Sha256::digest(&bytes)),
            ))
        }
    }
}

/// With `--sort input`, the spool file: `--spool`, else the first output
/// file's name + `.spool.jsonl`, else one in the temporary directory.
pub fn spool_path(args: &OutputArgs) -> Option<PathBuf> {
    if args.sort != SortArg::Input {
        return None;
    }
    if let Some(path) = &args.spool {
        return Some(path.clone());
    }
    let first = [&args.output, &args.csv, &args.jsonl, &args.findings_csv]
        .into_iter()
        .flatten()
        .next();
    Some(match first {
        Some(path) => {
            let mut name = path.as_os_str().to_owned();
            name.push(".spool.jsonl");
            PathBuf::from(name)
        }
        None => std::env::temp_dir().join(format!("ftps-scan-{}.spool.jsonl", std::process::id())),
    })
}

/// The width the table on standard output should fit: the terminal's, or
/// `COLUMNS` when standard output is not a terminal (`COLUMNS=80 ftps-scan
/// ... | less`); none (one unwrapped line per row) otherwise.
fn table_width() -> Option<usize> {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size_of(std::io::stdout()) {
        return Some(usize::from(w));
    }
    std::env::var("COLUMNS")
        .ok()?
        .trim()
        .parse()
        .ok()
        .filter(|w| *w >= 40)
}

/// How output files are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteMode {
    Overwrite,
    /// `--no-clobber`: an existing file is an error.
    NoClobber,
    /// `--append`: rows are added to an existing file.
    Append,
}

impl WriteMode {
    fn of(args: &OutputArgs) -> Self {
        match (args.no_clobber, args.append) {
            (true, _) => WriteMode::NoClobber,
            (false, true) => WriteMode::Append,
            (false, false) => WriteMode::Overwrite,
        }
    }
}

/// Opens an output file; also says whether it already held data (an
/// appended CSV then gets no second header). Only files this run created
/// are removed again when a later output cannot be opened.
fn create(path: &Path, mode: WriteMode, created: &mut Vec<PathBuf>) -> Result<(File, bool)> {
    let existed = path.exists();
    let mut options = std::fs::OpenOptions::new();
    match mode {
        WriteMode::Overwrite => options.write(true).create(true).truncate(true),
        WriteMode::NoClobber => options.write(true).create_new(true),
        WriteMode::Append => options.append(true).create(true),
    };
    let file = options.open(path).map_err(|e| {
        if mode == WriteMode::NoClobber && e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "output file {} already exists (--no-clobber); nothing was scanned",
                path.display()
            )
        } else {
            anyhow::anyhow!("cannot write output file {}: {e}", path.display())
        }
    })?;
    if !existed {
        created.push(path.to_path_buf());
    }
    let continues =
        mode == WriteMode::Append && file.metadata().map(|m| m.len() > 0).unwrap_or(false);
    Ok((file, continues))
}

/// Refuses output paths that name the same file as another output or as
/// an input (compared as files: the same device and inode when the file
/// exists, the same canonical directory and name when it does not), before
/// anything is opened, read or truncated.
pub fn check_paths(outputs: &[(&str, &Path)], inputs: &[(&str, &Path)]) -> Result<()> {
    let identities: Vec<(&str, &Path, FileIdentity)> = outputs
        .iter()
        .map(|(flag, path)| (*flag, *path, FileIdentity::of(path)))
        .collect();
    for (i, (flag, path, id)) in identities.iter().enumerate() {
        if let Some((other, _, _)) = identities.iter().take(i).find(|(_, _, o)| o == id) {
            anyhow::bail!(
                "{other} and {flag} name the same file ({}): two outputs would interleave in it",
                path.display()
            );
        }
        for (what, input) in inputs {
            if FileIdentity::of(input) == *id {
                anyhow::bail!(
                    "{flag} {} is also the {what}: refusing to overwrite an input",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// What makes two paths the same file.
#[derive(Debug, PartialEq, Eq)]
enum FileIdentity {
    Inode(u64, u64),
    /// A file that does not exist yet: its canonical directory and name.
    Planned(PathBuf),
}

impl FileIdentity {
    fn of(path: &Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(path) {
            return FileIdentity::Inode(meta.dev(), meta.ino());
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = std::fs::canonicalize(&parent).unwrap_or(parent);
        FileIdentity::Planned(dir.join(path.file_name().unwrap_or_default()))
    }
}

/// Counts for the summary line and the exit code.
#[derive(Default)]
pub struct Tally {
    pub endpoints: u64,
    pub input_errors: u64,
    pub statuses: BTreeMap<Status, u64>,
    pub verdicts: BTreeMap<Verdict, u64>,
    /// Endpoints by the verdict their findings alone call for, also those
    /// whose verdict is `error` (a high finding recorded before the
    /// assessment stopped still fails the run).
    pub findings_verdicts: BTreeMap<Verdict, u64>,
    pub findings: BTreeMap<String, u64>,
    /// Endpoints by `transfer_path`.
    pub transfer_paths: BTreeMap<&'static str, u64>,
    pub interrupted: Option<&'static str>,
}

impl Tally {
    pub fn count(&mut self, report: &EndpointReport) {
        self.endpoints += 1;
        *self.statuses.entry(report.status).or_default() += 1;
        if let Some(v) = report.verdict {
            *self.verdicts.entry(v).or_default() += 1;
        }
        *self
            .findings_verdicts
            .entry(ftps_scan::policy::findings_verdict(&report.findings))
            .or_default() += 1;
        for f in &report.findings {
            *self.findings.entry(f.id.clone()).or_default() += 1;
        }
        if let Some(path) = report.transfer_path {
            *self.transfer_paths.entry(path.as_str()).or_default() += 1;
        }
    }

    pub fn summary(&self) -> String {
        let statuses: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        let verdicts: Vec<String> = self
            .verdicts
            .iter()
            .map(|(v, n)| format!("{v} {n}"))
            .collect();
        let mut top: Vec<(&String, &u64)> = self.findings.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let top: Vec<String> = top
            .iter()
            .take(5)
            .map(|(id, n)| format!("{id} {n}"))
            .collect();
        let mut line = format!(
            "ftps-scan: {} endpoints ({}); verdicts: {}",
            self.endpoints,
            if statuses.is_empty() {
                "none".into()
            } else {
                statuses.join(", ")
            },
            if verdicts.is_empty() {
                "none".into()
            } else {
                verdicts.join(", ")
            },
        );
        if !self.transfer_paths.is_empty() {
            let paths: Vec<String> = self
                .transfer_paths
                .iter()
                .map(|(p, n)| format!("{p} {n}"))
                .collect();
            line.push_str(&format!("; transfer paths: {}", paths.join(", ")));
        }
        if !top.is_empty() {
            line.push_str(&format!("; top findings: {}", top.join(", ")));
        }
        if self.input_errors > 0 {
            line.push_str(&format!("; {} input errors", self.input_errors));
        }
        if let Some(signal) = self.interrupted {
            let abandoned = self
                .statuses
                .get(&Status::Interrupted)
                .copied()
                .unwrap_or(0);
            line.push_str(&format!(
                "; interrupted by {signal} ({abandoned} endpoints in flight abandoned)"
            ));
        }
        line
    }

    pub fn exit_code(&self, args: &OutputArgs) -> ExitCode {
        // By findings, not by verdict: an endpoint that could not be fully
        // assessed (`error`) still fails the run with the findings it has.
        let at_least = |floor: Verdict| {
            self.findings_verdicts
                .iter()
                .any(|(v, n)| *n > 0 && *v != Verdict::Error && *v >= floor)
        };
        if self.interrupted.is_some() {
            ExitCode::Interrupted
        } else if self.input_errors > 0 {
            ExitCode::Usage
        } else if match args.fail_on {
            FailOn::Warn => at_least(Verdict::Warn),
            FailOn::Fail => at_least(Verdict::Fail),
            FailOn::Never => false,
        } {
            ExitCode::Findings
        } else if args.fail_on_error && self.verdicts.get(&Verdict::Error).is_some_and(|n| *n > 0) {
            ExitCode::Unassessed
        } else {
            ExitCode::Clean
        }
    }
}

/// SIGINT and SIGTERM as a stream of names.
pub struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    pub async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

/// Progress on standard error: a bar on a terminal (or when asked), plain
/// periodic lines with `--progress always` when standard error is not a
/// terminal (a log file, CI), nothing under cron.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    /// Plain lines instead of a bar.
    plain: bool,
    total: Option<EndpointCount>,
    started: std::time::Instant,
}

impl Progress {
    pub fn new(mode: crate::cli::ProgressArg, quiet: bool) -> Self {
        use std::io::IsTerminal;
        let terminal = std::io::stderr().is_terminal();
        let show = match mode {
            crate::cli::ProgressArg::Always => true,
            crate::cli::ProgressArg::Never => false,
            crate::cli::ProgressArg::Auto => !quiet && terminal,
        };
        let plain = show && !terminal;
        let bar = (show && !plain).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
            Self::style(
                &bar,
                "{spinner} {elapsed_precise} {pos} done, {per_sec} · {msg}",
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(250));
            bar
        });
        Self {
            bar,
            plain,
            total: None,
            started: std::time::Instant::now(),
        }
    }

    fn style(bar: &indicatif::ProgressBar, template: &str) {
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
    }

    pub fn is_plain(&self) -> bool {
        self.plain
    }

    /// The number of endpoints the run will have (`exact: false`: about,
    /// names may resolve to several addresses), once counted.
    pub fn set_total(&mut self, count: EndpointCount, tally: &Tally) {
        self.total = Some(count);
        if let Some(bar) = &self.bar {
            bar.set_length(count.endpoints.max(tally.endpoints));
            let about = if count.exact { "" } else { "~" };
            Self::style(
                bar,
                &format!("{{spinner}} {{elapsed_precise}} [{{bar:24}}] {{pos}}/{about}{{len}} done, {{per_sec}}, ETA {{eta}} · {{msg}}"),
            );
        }
    }

    pub fn finished(&self, tally: &Tally) {
        if let Some(bar) = &self.bar {
            if let Some(total) = self.total {
                bar.set_length(total.endpoints.max(tally.endpoints));
            }
            bar.set_position(tally.endpoints);
            bar.set_message(Self::statuses(tally));
        }
    }

    fn statuses(tally: &Tally) -> String {
        tally
            .statuses
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One plain line: `ftps-scan: 12/40 endpoints done, 3.1/s, ETA 10s; ok 10, refused 2`.
    pub fn plain_line(&self, tally: &Tally) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            tally.endpoints as f64 / elapsed
        } else {
            0.0
        };
        let mut line = format!("ftps-scan: {}", tally.endpoints);
        if let Some(total) = self.total {
            let total_n = total.endpoints.max(tally.endpoints);
            let about = if total.exact { "" } else { "~" };
            line.push_str(&format!("/{about}{total_n}"));
            line.push_str(" endpoints done");
            line.push_str(&format!(", {rate:.1}/s"));
            if rate > 0.0 {
                let eta = (total_n - tally.endpoints) as f64 / rate;
                line.push_str(&format!(", ETA {}s", eta.round() as u64));
            }
        } else {
            line.push_str(&format!(" endpoints done, {rate:.1}/s"));
        }
        let statuses = Self::statuses(tally);
        if !statuses.is_empty() {
            line.push_str("; ");
            line.push_str(&statuses);
        }
        eprintln!("{line}");
    }

    /// Runs `f` (which writes to the terminal) with the bar hidden.
    pub fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Raises the open-file limit as far as allowed and, when the concurrency
/// would still need more descriptors than that, lowers it with a message
/// instead of failing later with "too many open files".
pub fn fit_open_file_limit(config: &mut ftps_scan::ScanConfig, quiet: bool) {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    // Per endpoint: the control connection, a data connection, and version
    // probes up to the per-host cap; plus room for files and the runtime.
    let per_endpoint = config.per_host_limit as u64 + 2;
    let reserve = 64;
    let needed = config.concurrency as u64 * per_endpoint + reserve;
    if needed > limit {
        let fitted = (limit.saturating_sub(reserve) / per_endpoint).max(1) as usize;
        if !quiet {
            eprintln!(
                "ftps-scan: the open-file limit is {limit}; lowering --concurrency from {} to {fitted}",
                config.concurrency
            );
        }
        config.concurrency = fitted;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use ftps_scan::policy::{Finding, Severity};

    fn args(flags: &[&str]) -> OutputArgs {
        let argv = ["ftps-scan", "-t", "192.0.2.1"].iter().chain(flags);
        crate::cli::Cli::try_parse_from(argv).unwrap().scan.output
    }

    fn endpoint(verdict: Verdict, worst: Option<Severity>) -> EndpointReport {
        let mut r = EndpointReport {
            status: if verdict == Verdict::Error {
                Status::Timeout
            } else {
                Status::Ok
            },
            ..Default::default()
        };
        r.verdict = Some(verdict);
        r.findings = worst
            .map(|severity| Finding {
                id: "x".into(),
                severity,
                detail: String::new(),
            })
            .into_iter()
            .collect();
        r
    }

    fn code(reports: &[EndpointReport], flags: &[&str]) -> ExitCode {
        let mut tally = Tally::default();
        for r in reports {
            tally.count(r);
        }
        tally.exit_code(&args(flags))
    }

    #[test]
    fn findings_of_an_endpoint_that_stopped_early_set_the_exit_code() {
        let high_error = [endpoint(Verdict::Error, Some(Severity::High))];
        assert_eq!(code(&high_error, &[]), ExitCode::Findings);
        // 1 before 3: a finding outranks "could not be assessed".
        assert_eq!(code(&high_error, &["--fail-on-error"]), ExitCode::Findings);
        assert_eq!(
            code(&high_error, &["--fail-on", "never", "--fail-on-error"]),
            ExitCode::Unassessed
        );
        assert_eq!(code(&high_error, &["--fail-on", "never"]), ExitCode::Clean);
        let medium_error = [endpoint(Verdict::Error, Some(Severity::Medium))];
        assert_eq!(code(&medium_error, &[]), ExitCode::Clean);
        assert_eq!(
            code(&medium_error, &["--fail-on", "warn"]),
            ExitCode::Findings
        );
        let bare_error = [endpoint(Verdict::Error, None)];
        assert_eq!(code(&bare_error, &["--fail-on", "warn"]), ExitCode::Clean);
        assert_eq!(
            code(&bare_error, &["--fail-on-error"]),
            ExitCode::Unassessed
        );
        let pass = [endpoint(Verdict::Pass, Some(Severity::Low))];
        assert_eq!(code(&pass, &["--fail-on", "warn"]), ExitCode::Clean);
    }
}
