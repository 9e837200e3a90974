//! The `ftps-scan` binary: flags in, reports out, an exit code a scheduler
//! can act on. All scanning is in the library.

mod cli;
mod diff_cmd;
mod output;

use clap::Parser;
use cli::{Cli, Command, OutputArgs};
use ftps_scan::policy::Policy;
use ftps_scan::scan::{run_scan, stop_signal, ScanEvent};
use ftps_scan::targets::{count_endpoints, EndpointCount, InputSource, ParseOptions, TargetReader};
use ftps_scan::ScanConfig;
use output::{ExitCode as Code, Outputs, Tally};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// How long in-flight endpoints may take to finish after an interrupt.
const GRACE: Duration = Duration::from_secs(5);
/// How long abandoned endpoints may take to hand in their `interrupted`
/// rows before the run ends regardless.
const ABANDON_GRACE: Duration = Duration::from_secs(2);

/// What the interrupt timer does when it fires.
#[derive(Clone, Copy)]
enum Stage {
    /// End the endpoints still in flight (each gets an `interrupted` row).
    Abandon,
    /// Stop waiting for rows.
    GiveUp,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Code::Usage as u8 } else { 0 });
        }
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = cli.scan.threads {
        builder.worker_threads(usize::from(threads));
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ftps-scan: cannot start the async runtime: {e}");
            return ExitCode::from(Code::Usage as u8);
        }
    };
    // The event loop runs on a runtime worker, not on this thread: waking
    // the block_on thread for every event cost a context switch each.
    let outcome = runtime.block_on(async { tokio::spawn(run(cli)).await });
    // A target reader blocked on a terminal or a slow producer would keep
    // a plain drop of the runtime waiting for ever.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match outcome {
        Ok(Ok(code)) => ExitCode::from(code as u8),
        Ok(Err(e)) => {
            eprintln!("ftps-scan: error: {e:#}");
            ExitCode::from(Code::Usage as u8)
        }
        Err(e) => {
            eprintln!("ftps-scan: internal error: {e}");
            ExitCode::from(Code::Usage as u8)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<Code> {
    match cli.command {
        Some(Command::Demo { output }) => run_demo(output).await,
        Some(Command::Recover { spool, output }) => run_recover(&spool, output),
        Some(Command::Completions { shell }) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "ftps-scan", &mut std::io::stdout());
            Ok(Code::Clean)
        }
        Some(Command::Man) => {
            let command = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(command).render(&mut std::io::stdout())?;
            Ok(Code::Clean)
        }
        Some(Command::Diff {
            old,
            new,
            format,
            output,
            allow_disappeared,
            allow_empty,
        }) => diff_cmd::run(
            &old,
            &new,
            format,
            output.as_deref(),
            ftps_scan::compare::CompareOptions {
                allow_disappeared,
                allow_empty,
                ..Default::default()
            },
        ),
        None => {
            let args = cli.scan;
            let sources = args.sources()?;
            check_output_paths(&args)?;
            // Every input is readable before any output is created, so a
            // missing targets file cannot truncate yesterday's report.
            for file in args.files.iter().filter(|f| f.as_os_str() != "-") {
                std::fs::File::open(file).map_err(|e| {
                    anyhow::anyhow!("cannot read targets file {}: {e}", file.display())
                })?;
            }
            let trust = args.trust_store()?;
            let mut config = args.config(trust)?;
            output::fit_open_file_limit(&mut config, args.output.quiet);
            let options = args.parse_options();
            // A total for the progress bar, counted on the side, when the
            // targets can be read twice (not standard input).
            let stdin = sources.iter().any(|s| matches!(s, InputSource::Stdin));
            let total = (!stdin).then(|| {
                let (sources, options) = (sources.clone(), options.clone());
                let (ports, shards) = (config.ports.len(), config.shard.map(|s| s.count));
                tokio::task::spawn_blocking(move || {
                    let mut count = count_endpoints(sources, options, ports);
                    if let Some(n) = shards {
                        // A shard's share, approximately.
                        count.endpoints = count.endpoints.div_ceil(u64::from(n));
                        count.exact = false;
                    }
                    count
                })
            });
            let settings = config.fact_settings();
            scan_and_report(sources, options, config, settings, &args.output, total).await
        }
    }
}

/// Outputs that would clobber an input or each other end the run (exit 2)
/// before anything is touched.
fn check_output_paths(args: &cli::ScanArgs) -> anyhow::Result<()> {
    let out = &args.output;
    let mut inputs: Vec<(&str, &std::path::Path)> = args
        .files
        .iter()
        .filter(|f| f.as_os_str() != "-")
        .map(|f| ("targets file", f.as_path()))
        .collect();
    inputs.extend(out.policy.as_deref().map(|p| ("policy file", p)));
    inputs.extend(args.ca_file.as_deref().map(|p| ("CA file", p)));
    inputs.extend(args.password_file.as_deref().map(|p| ("password file", p)));
    check_paths_against(out, &inputs)
}

/// The files a run writes (outputs named on the command line and the
/// spool), with the flags that name them.
fn output_paths(out: &OutputArgs) -> Vec<(&'static str, std::path::PathBuf)> {
    [
        ("-o", out.output.clone()),
        ("--csv", out.csv.clone()),
        ("--jsonl", out.jsonl.clone()),
        ("--findings-csv", out.findings_csv.clone()),
        ("the spool (--spool)", output::spool_path(out)),
        ("--html", out.html.clone()),
        ("--prom", out.prom.clone()),
    ]
    .into_iter()
    .filter_map(|(flag, path)| path.map(|p| (flag, p)))
    .chain(
        output::RunRecords::paths(out)
            .into_iter()
            .map(|p| ("a run record", p)),
    )
    .collect()
}

/// [`output_paths`] checked against each other and `inputs`.
fn check_paths_against(
    out: &OutputArgs,
    inputs: &[(&str, &std::path::Path)],
) -> anyhow::Result<()> {
    let outputs = output_paths(out);
    let outputs: Vec<(&str, &std::path::Path)> =
        outputs.iter().map(|(f, p)| (*f, p.as_path())).collect();
    output::check_paths(&outputs, inputs)
}

/// `ftps-scan recover SPOOL`: the rows of a spool (or any JSON Lines
/// report) in input order, to any output.
fn run_recover(spool: &std::path::Path, mut output: OutputArgs) -> anyhow::Result<Code> {
    // The rows are sorted here; spooling them again would serve nothing.
    output.sort = cli::SortArg::None;
    check_paths_against(&output, &[("file to recover", spool)])?;
    std::fs::File::open(spool)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", spool.display()))?;
    let mut outputs = Outputs::open(&output)?;
    let mut tally = Tally::default();
    let policy = match &output.policy {
        Some(path) => Some(ftps_scan::policy::file::load(path)?),
        None => None,
    };
    let today = time::OffsetDateTime::now_utc().date();
    ftps_scan::report::spool::sorted_rows(
        spool,
        ftps_scan::report::spool::CHUNK_ROWS,
        |mut report| {
            // Rows keep the verdicts they were written with, unless a
            // policy is named.
            if let Some(policy) = &policy {
                policy.apply(&mut report, today);
            }
            tally.count(&report);
            outputs.write(report).map_err(|e| format!("{e:#}"))
        },
    )?;
    let now = time::OffsetDateTime::now_utc();
    outputs.finish(&ftps_scan::report::RunInfo {
        started_at: ftps_scan::scan::format_utc(now),
        started_unix: now.unix_timestamp(),
        duration: Duration::ZERO,
        version: env!("CARGO_PKG_VERSION"),
        interrupted: false,
        input_errors: tally.input_errors,
    })?;
    if !output.quiet {
        eprintln!("{}", tally.summary());
    }
    Ok(tally.exit_code(&output))
}

async fn run_demo(mut output: OutputArgs) -> anyhow::Result<Code> {
    // The demo reads best in the order its endpoints are listed.
    output.sort = cli::SortArg::Input;
    check_paths_against(&output, &[])?;
    let fleet = ftps_scan::demo::start().await?;
    if !output.quiet {
        eprintln!("ftps-scan demo: {} local endpoints on 127.0.0.1, certificates from a throw-away demo CA:", fleet.targets.len());
        for (target, what) in &fleet.targets {
            eprintln!("  {target:<28} {what}");
        }
        eprintln!();
    }
    let sources = fleet
        .targets
        .iter()
        .map(|(t, _)| InputSource::Literal(t.clone()))
        .collect();
    let mut config = ScanConfig::new(fleet.trust.clone());
    config.posture.bounce_address = fleet.bounce.addr;
    config.timeouts.connect = Duration::from_secs(2);
    config.timeouts.read = Duration::from_secs(5);
    config.timeouts.tls = Duration::from_secs(5);
    let mut settings = config.fact_settings();
    settings.insert("demo".into(), "on".into());
    let total = fleet.targets.len() as u64;
    let total = Some(tokio::spawn(async move {
        ftps_scan::targets::EndpointCount {
            endpoints: total,
            exact: true,
        }
    }));
    let code = scan_and_report(
        sources,
        ParseOptions::default(),
        config,
        settings,
        &output,
        total,
    )
    .await?;
    drop(fleet);
    Ok(code)
}

/// Runs a scan and feeds every sink; handles interrupts.
async fn scan_and_report(
    sources: Vec<InputSource>,
    options: ParseOptions,
    config: ScanConfig,
    settings: std::collections::BTreeMap<String, String>,
    output: &OutputArgs,
    total: Option<tokio::task::JoinHandle<EndpointCount>>,
) -> anyhow::Result<Code> {
    let policy = match &output.policy {
        Some(path) => ftps_scan::policy::file::load(path)?,
        None => Policy::default(),
    };
    let (policy_name, policy_sha256) = output::policy_identity(output.policy.as_deref())?;
    let started = time::OffsetDateTime::now_utc();
    let started_clock = std::time::Instant::now();
    let today = started.date();
    let mut outputs = Outputs::open(output)?;
    let mut run_records = output::RunRecords::start(
        output,
        ftps_scan::report::run_record::RunRecord::new(
            ftps_scan::scan::format_utc(started),
            settings,
            policy_name,
            policy_sha256,
        ),
    )?;
    let reader = TargetReader::new(sources, options);
    let (events_tx, mut events) = tokio::sync::mpsc::channel(1024);
    let (stop_handle, stop) = stop_signal();
    let mut scan = tokio::spawn(run_scan(reader, Arc::new(config), events_tx, stop));
    let mut tally = Tally::default();
    let mut progress = output::Progress::new(output.progress, output.quiet);
    let mut total = total;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(output.progress_interval));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut signals = output::Signals::new()?;
    let mut deadline: Option<(tokio::time::Instant, Stage)> = None;
    let mut handle =
        |event: ScanEvent, tally: &mut Tally, progress: &output::Progress| -> anyhow::Result<()> {
            match event {
                ScanEvent::InputError(e) => {
                    tally.input_errors += 1;
                    progress.suspend(|| eprintln!("ftps-scan: input error: {e}"));
                }
                ScanEvent::Report(mut report) => {
                    policy.apply(&mut report, today);
                    tally.count(&report);
                    progress.finished(tally);
                    progress.suspend(|| outputs.write(*report))?;
                }
            }
            Ok(())
        };
    loop {
        let timer = async {
            match deadline {
                Some((at, _)) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            event = events.recv() => match event {
                None => break,
                Some(event) => handle(event, &mut tally, &progress)?,
            },
            _ = &mut scan => {
                // Every row was sent before the scan ended; a reader left
                // blocked on its source may still hold the channel open.
                while let Ok(event) = events.try_recv() {
                    handle(event, &mut tally, &progress)?;
                }
                break;
            }
            signal = signals.next() => {
                if tally.interrupted.is_some() {
                    if !output.quiet {
                        eprintln!("ftps-scan: second {signal}: ending the endpoints in flight now");
                    }
                    stop_handle.abandon();
                    deadline = Some((tokio::time::Instant::now() + ABANDON_GRACE, Stage::GiveUp));
                    continue;
                }
                tally.interrupted = Some(signal);
                stop_handle.stop();
                deadline = Some((tokio::time::Instant::now() + GRACE, Stage::Abandon));
                if !output.quiet {
                    eprintln!("ftps-scan: {signal}: no new endpoints; waiting up to {}s for those in flight", GRACE.as_secs());
                }
            }
            () = timer => match deadline.map(|(_, stage)| stage) {
                Some(Stage::Abandon) => {
                    stop_handle.abandon();
                    deadline = Some((tokio::time::Instant::now() + ABANDON_GRACE, Stage::GiveUp));
                }
                _ => break,
            },
            count = async { total.as_mut().expect("guarded").await }, if total.is_some() => {
                total = None;
                if let Ok(count) = count {
                    progress.set_total(count, &tally);
                }
            }
            _ = ticker.tick(), if progress.is_plain() => progress.plain_line(&tally),
        }
    }
    scan.abort();
    if progress.is_plain() {
        progress.plain_line(&tally);
    }
    progress.clear();
    outputs.finish(&ftps_scan::report::RunInfo {
        started_at: ftps_scan::scan::format_utc(started),
        started_unix: started.unix_timestamp(),
        duration: started_clock.elapsed(),
        version: env!("CARGO_PKG_VERSION"),
        interrupted: tally.interrupted.is_some(),
        input_errors: tally.input_errors,
    })?;
    run_records.finish(&tally)?;
    if !output.quiet {
        eprintln!("{}", tally.summary());
    }
    Ok(tally.exit_code(output))
}
