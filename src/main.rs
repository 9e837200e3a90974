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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Code::Usage as u8 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ftps-scan: cannot start the async runtime: {e}");
            return ExitCode::from(Code::Usage as u8);
        }
    };
    // The event loop runs on a runtime worker, not on this thread: waking
    // the block_on thread for every event cost a context switch each.
    match runtime.block_on(async { tokio::spawn(run(cli)).await }) {
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
        }) => diff_cmd::run(&old, &new, format, output.as_deref()),
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
            scan_and_report(sources, options, config, &args.output, total).await
        }
    }
}

/// Outputs that would clobber an input or each other end the run (exit 2)
/// before anything is touched.
fn check_output_paths(args: &cli::ScanArgs) -> anyhow::Result<()> {
    let out = &args.output;
    let outputs = output_paths(out);
    let mut inputs: Vec<(&str, &std::path::Path)> = args
        .files
        .iter()
        .filter(|f| f.as_os_str() != "-")
        .map(|f| ("targets file", f.as_path()))
        .collect();
    inputs.extend(out.policy.as_deref().map(|p| ("policy file", p)));
    inputs.extend(args.ca_file.as_deref().map(|p| ("CA file", p)));
    inputs.extend(args.password_file.as_deref().map(|p| ("password file", p)));
    output::check_paths(&outputs, &inputs)
}

/// The output files named on the command line, with their flags.
fn output_paths(out: &OutputArgs) -> Vec<(&'static str, &std::path::Path)> {
    [
        ("-o", out.output.as_deref()),
        ("--csv", out.csv.as_deref()),
        ("--jsonl", out.jsonl.as_deref()),
        ("--findings-csv", out.findings_csv.as_deref()),
        ("--html", out.html.as_deref()),
        ("--prom", out.prom.as_deref()),
    ]
    .into_iter()
    .filter_map(|(flag, path)| path.map(|p| (flag, p)))
    .collect()
}

async fn run_demo(mut output: OutputArgs) -> anyhow::Result<Code> {
    output::check_paths(&output_paths(&output), &[])?;
    // The demo reads best in the order its endpoints are listed.
    output.sort = cli::SortArg::Input;
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
    config.timeouts.connect = Duration::from_secs(2);
    config.timeouts.read = Duration::from_secs(5);
    config.timeouts.tls = Duration::from_secs(5);
    let total = fleet.targets.len() as u64;
    let total = Some(tokio::spawn(async move {
        ftps_scan::targets::EndpointCount {
            endpoints: total,
            exact: true,
        }
    }));
    let code = scan_and_report(sources, ParseOptions::default(), config, &output, total).await?;
    drop(fleet);
    Ok(code)
}

/// Runs a scan and feeds every sink; handles interrupts.
async fn scan_and_report(
    sources: Vec<InputSource>,
    options: ParseOptions,
    config: ScanConfig,
    output: &OutputArgs,
    total: Option<tokio::task::JoinHandle<EndpointCount>>,
) -> anyhow::Result<Code> {
    let policy = match &output.policy {
        Some(path) => ftps_scan::policy_file::load(path)?,
        None => Policy::default(),
    };
    let mut outputs = Outputs::open(output)?;
    let started = time::OffsetDateTime::now_utc();
    let started_clock = std::time::Instant::now();
    let today = started.date();
    let reader = TargetReader::new(sources, options);
    let (events_tx, mut events) = tokio::sync::mpsc::channel(1024);
    let (stop_handle, stop) = stop_signal();
    let scan = tokio::spawn(run_scan(reader, Arc::new(config), events_tx, stop));
    let mut tally = Tally::default();
    let mut progress = output::Progress::new(output.progress, output.quiet);
    let mut total = total;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(output.progress_interval));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut signals = output::Signals::new()?;
    let mut grace_deadline: Option<tokio::time::Instant> = None;
    loop {
        let grace = async {
            match grace_deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = events.recv() => match event {
                None => break,
                Some(ScanEvent::InputError(e)) => {
                    tally.input_errors += 1;
                    progress.suspend(|| eprintln!("ftps-scan: input error: {e}"));
                }
                Some(ScanEvent::Report(mut report)) => {
                    policy.apply(&mut report, today);
                    tally.count(&report);
                    progress.finished(&tally);
                    progress.suspend(|| outputs.write(*report))?;
                }
            },
            signal = signals.next() => {
                if tally.interrupted.is_some() {
                    if !output.quiet {
                        eprintln!("ftps-scan: second {signal}, stopping now");
                    }
                    break;
                }
                tally.interrupted = Some(signal);
                stop_handle.stop();
                grace_deadline = Some(tokio::time::Instant::now() + GRACE);
                if !output.quiet {
                    eprintln!("ftps-scan: {signal}: no new endpoints; waiting up to {}s for those in flight", GRACE.as_secs());
                }
            }
            () = grace => break,
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
    if !output.quiet {
        eprintln!("{}", tally.summary());
    }
    Ok(tally.exit_code(output))
}
