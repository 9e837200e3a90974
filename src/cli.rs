//! Command-line flags (clap) and their translation into a library config.
//! Nothing here scans; nothing in the library sees clap.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use ftps_scan::probe::posture::{LoginConfig, LoginConfigError, PostureConfig, Secret};
use ftps_scan::scan::Shard;
use ftps_scan::targets::{InputFormat, InputSource, ParseOptions, DEFAULT_MAX_CIDR_HOSTS};
use ftps_scan::tls::trust::{TrustSource, TrustStore};
use ftps_scan::{Mode, ModeRule, ScanConfig, Timeouts};
use std::path::PathBuf;
use std::time::Duration;

/// Active FTPS endpoint scanner: TLS versions, certificates and FTP-level
/// posture, one report row per endpoint.
#[derive(Parser, Debug)]
#[command(name = "ftps-scan", version, args_conflicts_with_subcommands = true)]
#[command(
    after_help = "Examples:\n  ftps-scan demo\n  ftps-scan targets.txt -f csv -o report.csv\n  ftps-scan -t ftp.example.com -t 192.0.2.0/28 --jsonl report.jsonl\n  cat hosts | ftps-scan - -q -f csv > report.csv"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub scan: ScanArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compare two earlier reports (CSV or JSON Lines): endpoints that
    /// appeared or disappeared, findings new, resolved or no longer
    /// observable, certificates changed, and runs made differently (from
    /// each report's run record). Exit 1 when anything got worse
    /// (disappeared endpoints and an empty NEW report count as worse).
    Diff {
        /// The earlier report.
        old: PathBuf,
        /// The later report.
        new: PathBuf,
        /// Output format.
        #[arg(short = 'f', long, value_enum, default_value_t = DiffFormat::Table)]
        format: DiffFormat,
        /// Write to FILE instead of standard output.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Endpoints missing from NEW (a shrunk target list) are expected:
        /// not counted as worse.
        #[arg(long)]
        allow_disappeared: bool,
        /// A NEW report with no endpoints is expected: not counted as worse.
        #[arg(long)]
        allow_empty: bool,
    },
    /// Start local demo FTPS endpoints (127.0.0.1) and scan them.
    Demo {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Write the rows of a spool left by a killed `--sort input` run (or of
    /// any JSON Lines report) in input order, in any output format.
    Recover {
        /// The spool (FILE.spool.jsonl) or a JSON Lines report.
        spool: PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Print a shell completion script (bash: `source <(ftps-scan
    /// completions bash)`; zsh: into a directory of $fpath as `_ftps-scan`;
    /// fish: into ~/.config/fish/completions/ftps-scan.fish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `ftps-scan man > ftps-scan.1; man -l
    /// ftps-scan.1`.
    Man,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Target files, one target per line ('-' reads standard input).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// A target (host, IP, [v6]:port, CIDR, ftp://, ftps://); repeatable.
    #[arg(short = 't', long = "target", value_name = "SPEC")]
    pub targets: Vec<String>,

    /// Ports for targets that name none (comma-separated); 990 is implicit.
    #[arg(short = 'p', long, value_delimiter = ',', default_value = "21,990", value_parser = clap::value_parser!(u16).range(1..))]
    pub ports: Vec<u16>,

    /// How endpoints' modes are chosen: by default port 21 is explicit,
    /// 990 implicit, any other port detected (a greeting in clear is
    /// explicit; silence answered in TLS after a ClientHello is implicit).
    /// `auto` detects on every port; `explicit`/`implicit` force one mode.
    #[arg(long, value_enum)]
    pub mode: Option<ModeArg>,

    /// Endpoints scanned at once.
    #[arg(short = 'c', long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,

    /// Connections at once to one IP address (servers limit this per client).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub per_host: u32,

    /// New connections per second across the whole run.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,

    /// Worker threads of the scanner (default: one per core). Fewer cost
    /// less CPU per endpoint on a machine shared with other work (fewer
    /// wake-ups between threads), at the price of throughput where the TLS
    /// work would fill more cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Seconds to wait for a TCP connection.
    #[arg(long, default_value_t = 5.0, value_name = "SECS", value_parser = parse_seconds)]
    pub connect_timeout: f64,

    /// Seconds to wait for one FTP reply (however slowly it arrives).
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = parse_seconds)]
    pub read_timeout: f64,

    /// Seconds to wait for one TLS handshake.
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = parse_seconds)]
    pub tls_timeout: f64,

    /// Trust store for judging certificates.
    #[arg(long, value_enum, default_value_t = TrustArg::Mozilla)]
    pub trust: TrustArg,

    /// Judge certificates against the CA certificates in this PEM file only.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,

    /// Skip the per-version probes (one TLS handshake per endpoint: a quick sweep).
    #[arg(long)]
    pub no_versions: bool,

    /// Enumerate the cipher suites of each accepted version (many connections).
    #[arg(long, conflicts_with = "no_versions")]
    pub ciphers: bool,

    /// Skip the FTP posture checks (cleartext login, login, PROT, PASV/EPSV,
    /// the data channel): no login at all.
    #[arg(long)]
    pub no_posture: bool,

    /// Log in over TLS as this user instead of anonymous; the password comes
    /// from the FTPS_SCAN_PASSWORD environment variable or --password-file,
    /// never from the command line (where `ps` would show it).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Read the login password from the first line of this file.
    #[arg(long, value_name = "FILE", requires = "user")]
    pub password_file: Option<PathBuf>,

    /// Test passive-port reachability at the address the PASV reply names,
    /// instead of the control connection's peer (off: a hostile server must
    /// not point the scanner at a third party).
    #[arg(long)]
    pub follow_pasv: bool,

    /// Skip the data checks (on by default: a protected LIST over TLS
    /// resuming the control session, the same on a fresh session, and a
    /// cleartext LIST of a path that does not exist after PROT C). Read-only.
    #[arg(long)]
    pub no_data: bool,

    /// Removed: the data channel is checked by default now (see --no-data).
    #[arg(long, hide = true)]
    pub list: bool,

    /// Send a named --user's password even when the server's certificate
    /// is not trusted, not valid for the name, or its handshake signature
    /// was not verified (labs only: on a sweep, every rogue host or man in
    /// the middle would get the password).
    #[arg(long, requires = "user")]
    pub send_password_unverified: bool,

    /// The third-party address (IP:PORT) that PORT and EPRT name in the FTP
    /// bounce check. Default 192.0.2.1:40021 (TEST-NET-1, RFC 5737: routed
    /// nowhere), because some servers connect to a PORT address at once;
    /// also read from FTPS_SCAN_BOUNCE_ADDRESS. Use an address you own and
    /// watch, never someone else's.
    #[arg(long, value_name = "IP:PORT")]
    pub bounce_address: Option<std::net::SocketAddr>,

    /// Scan only shard K of N (0-based): N runs with K = 0..N-1 cover every
    /// endpoint exactly once.
    #[arg(long, value_name = "K/N", value_parser = parse_shard, conflicts_with = "shards")]
    pub shard: Option<Shard>,

    /// Split into N shards and take this run's index from the environment:
    /// FTPS_SCAN_SHARD_INDEX, JOB_COMPLETION_INDEX (Kubernetes Indexed Job)
    /// or SLURM_ARRAY_TASK_ID, the first that is set.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub shards: Option<u32>,

    /// What the target files hold: `auto` tells port-scanner output (nmap
    /// -oX / -oG, masscan -oJ / -oL) from target lists by its content; of
    /// scanner output, the open ports named FTP or in --ports are scanned.
    #[arg(long, value_enum, default_value_t = InputFormatArg::Auto)]
    pub input_format: InputFormatArg,

    /// Largest CIDR block accepted (addresses).
    #[arg(long, default_value_t = DEFAULT_MAX_CIDR_HOSTS, value_name = "N")]
    pub max_cidr_hosts: u64,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Format of the main output.
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Write the main output to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write a CSV report to FILE.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,

    /// Also write a JSON Lines report to FILE.
    #[arg(long, value_name = "FILE")]
    pub jsonl: Option<PathBuf>,

    /// Write rows in input order at the end (for diffable output) instead
    /// of as endpoints finish. Finished rows wait in a spool file on disk
    /// (see --spool), so memory stays flat and a killed run loses none.
    #[arg(long, value_enum, default_value_t = SortArg::None)]
    pub sort: SortArg,

    /// With --sort input: the spool file for finished rows [default: the
    /// first output file's name + .spool.jsonl, or ftps-scan-PID.spool.jsonl
    /// in the temporary directory when every report goes to stdout].
    /// Removed at the end of the run; after a kill, `ftps-scan recover
    /// SPOOL` writes its rows.
    #[arg(long, value_name = "FILE")]
    pub spool: Option<PathBuf>,

    /// Refuse to overwrite an output file that already exists (exit 2
    /// before anything is scanned).
    #[arg(long, conflicts_with = "append")]
    pub no_clobber: bool,

    /// Append to existing output files instead of overwriting them (CSV
    /// files that already hold rows get no second header).
    #[arg(long)]
    pub append: bool,

    /// Also write one row per finding (target, id, severity, detail) to FILE.
    #[arg(long, value_name = "FILE")]
    pub findings_csv: Option<PathBuf>,

    /// Also write a self-contained HTML report (summary, charts, sortable
    /// table, evidence per endpoint) to FILE at the end of the run.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Also write a Prometheus textfile (node_exporter textfile collector)
    /// to FILE at the end of the run, atomically (temporary file + rename).
    #[arg(long, value_name = "FILE")]
    pub prom: Option<PathBuf>,

    /// Compliance policy (TOML): severities, thresholds, exceptions.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Exit 1 when an endpoint's verdict is at least this (for an endpoint
    /// that could not be fully assessed: the findings it recorded).
    #[arg(long, value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,

    /// Exit 3 when some endpoint could not be assessed (verdict error) and
    /// nothing else set the exit code.
    #[arg(long)]
    pub fail_on_error: bool,

    /// Print nothing on standard error but errors.
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Progress bar on standard error: `auto` shows it only on a terminal
    /// (never under cron or in a pipe).
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub progress: ProgressArg,

    /// Seconds between the plain progress lines that `--progress always`
    /// prints when standard error is not a terminal (a log file, CI).
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = parse_seconds)]
    pub progress_interval: f64,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Jsonl,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormatArg {
    Auto,
    Targets,
    NmapXml,
    NmapGrep,
    MasscanJson,
    MasscanList,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressArg {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffFormat {
    Table,
    Csv,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortArg {
    None,
    Input,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Warn,
    Fail,
    Never,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeArg {
    Explicit,
    Implicit,
    Auto,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustArg {
    Mozilla,
    System,
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    Shard::parse(s)
}

/// The environment variable read when `--bounce-address` is not given.
pub const BOUNCE_ADDRESS_VAR: &str = "FTPS_SCAN_BOUNCE_ADDRESS";

/// Environment variables a shard index is read from, in order.
pub const SHARD_INDEX_VARS: [&str; 3] = [
    "FTPS_SCAN_SHARD_INDEX",
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
];

fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "{s:?} is not a number of seconds between 0 and 3600"
        )),
    }
}

impl ScanArgs {
    /// The sources in the order given: files first, then `--target`s.
    pub fn sources(&self) -> Result<Vec<InputSource>> {
        let mut sources = Vec::new();
        for file in &self.files {
            if file.as_os_str() == "-" {
                sources.push(InputSource::Stdin);
            } else {
                sources.push(InputSource::File(file.clone()));
            }
        }
        for t in &self.targets {
            sources.push(InputSource::Literal(t.clone()));
        }
        if sources.is_empty() {
            bail!("no targets: give a targets file, '-' for standard input, or --target SPEC (try `ftps-scan demo`)");
        }
        Ok(sources)
    }

    pub fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            max_cidr_hosts: self.max_cidr_hosts,
            input_format: match self.input_format {
                InputFormatArg::Auto => InputFormat::Auto,
                InputFormatArg::Targets => InputFormat::Targets,
                InputFormatArg::NmapXml => InputFormat::NmapXml,
                InputFormatArg::NmapGrep => InputFormat::NmapGrep,
                InputFormatArg::MasscanJson => InputFormat::MasscanJson,
                InputFormatArg::MasscanList => InputFormat::MasscanList,
            },
            ftp_ports: self.ports.clone(),
        }
    }

    pub fn trust_store(&self) -> Result<TrustStore> {
        let source = match (&self.ca_file, self.trust) {
            (Some(path), _) => TrustSource::CaFile(path.clone()),
            (None, TrustArg::Mozilla) => TrustSource::Mozilla,
            (None, TrustArg::System) => TrustSource::System,
        };
        TrustStore::load(&source).context("loading the trust store")
    }

    /// Login settings: anonymous unless --user; the password from the
    /// environment or a file.
    pub fn login(&self) -> Result<LoginConfig> {
        let Some(user) = &self.user else {
            return Ok(LoginConfig::default());
        };
        let (password, source) = match (&self.password_file, std::env::var("FTPS_SCAN_PASSWORD")) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read password file {}", path.display()))?;
                let first = text.lines().next().unwrap_or_default().to_string();
                if first.is_empty() {
                    bail!(
                        "password file {} is empty (its first line is the password)",
                        path.display()
                    );
                }
                (first, format!("password file {}", path.display()))
            }
            (None, Ok(p)) => (p, "FTPS_SCAN_PASSWORD".to_string()),
            (None, Err(_)) => bail!(
                "--user needs a password: set FTPS_SCAN_PASSWORD or pass --password-file FILE"
            ),
        };
        LoginConfig::new(user.clone(), Secret::new(password)).map_err(|e| match e {
            LoginConfigError::EmptyPassword | LoginConfigError::PasswordHasLineBreak => {
                anyhow::anyhow!("{source}: {e}")
            }
            _ => anyhow::anyhow!("--user: {e}"),
        })
    }

    /// `--bounce-address`, else `FTPS_SCAN_BOUNCE_ADDRESS`, else the
    /// TEST-NET-1 default.
    pub fn bounce_address(&self) -> Result<std::net::SocketAddr> {
        if let Some(addr) = self.bounce_address {
            return Ok(addr);
        }
        match std::env::var(BOUNCE_ADDRESS_VAR) {
            Ok(value) => value.trim().parse().map_err(|_| {
                anyhow::anyhow!("{BOUNCE_ADDRESS_VAR}={value:?} is not an IP:PORT address")
            }),
            Err(_) => Ok(ftps_scan::probe::posture::DEFAULT_BOUNCE_ADDRESS),
        }
    }

    pub fn config(&self, trust: TrustStore) -> Result<ScanConfig> {
        if self.list {
            bail!("--list was removed: the data channel is now checked by default (--no-data skips it)");
        }
        let mut config = ScanConfig::new(trust);
        config.posture = PostureConfig {
            enabled: !self.no_posture,
            login: self.login()?,
            follow_pasv_address: self.follow_pasv,
            data: !self.no_data,
            send_password_unverified: self.send_password_unverified,
            bounce_address: self.bounce_address()?,
        };
        // `--ports 21,990,21` scans 21 once; the first mention keeps its place.
        let mut ports: Vec<u16> = Vec::with_capacity(self.ports.len());
        for p in &self.ports {
            if !ports.contains(p) {
                ports.push(*p);
            }
        }
        config.ports = ports;
        config.mode = match self.mode {
            None => ModeRule::ByPort,
            Some(ModeArg::Auto) => ModeRule::Detect,
            Some(ModeArg::Explicit) => ModeRule::Forced(Mode::Explicit),
            Some(ModeArg::Implicit) => ModeRule::Forced(Mode::Implicit),
        };
        config.concurrency = self.concurrency as usize;
        config.per_host_limit = self.per_host as usize;
        config.rate = self.rate;
        config.versions = !self.no_versions;
        config.shard = match (self.shard, self.shards) {
            (Some(shard), _) => Some(shard),
            (None, Some(count)) => {
                let (var, value) = SHARD_INDEX_VARS
                    .iter()
                    .find_map(|v| std::env::var(v).ok().map(|x| (*v, x)))
                    .with_context(|| {
                        format!(
                            "--shards needs the shard index in one of {}",
                            SHARD_INDEX_VARS.join(", ")
                        )
                    })?;
                let index: u32 = value
                    .trim()
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{var}={value:?} is not a shard index"))?;
                Some(Shard::new(index, count).map_err(|e| anyhow::anyhow!("{var}: {e}"))?)
            }
            (None, None) => None,
        };
        config.ciphers = self.ciphers;
        config.timeouts = Timeouts {
            connect: Duration::from_secs_f64(self.connect_timeout),
            read: Duration::from_secs_f64(self.read_timeout),
            tls: Duration::from_secs_f64(self.tls_timeout),
        };
        Ok(config)
    }
}
