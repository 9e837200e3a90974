//! The scheduler: targets in, one report per endpoint out.
//!
//! Targets are read on a blocking thread into a small bounded channel, so a
//! file of millions of lines (or a large CIDR block, expanded lazily) is
//! never held in memory. Hostnames are resolved concurrently. Endpoints are
//! probed with bounded concurrency; each probe runs in its own task so that
//! even a panic becomes that endpoint's row rather than the end of the run.

use crate::config::ScanConfig;
pub use crate::config::{Resolver, Shard};
use crate::model::{EndpointReport, ModeRule, Phase, Status};
use crate::probe::connector::{Connector, RateLimiter};
use crate::probe::{probe_endpoint, ProbeContext};
use crate::targets::{HostSpec, TargetError, TargetSpec};
use futures::stream::{self, Stream, StreamExt};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

pub use crate::endpoint::{format_utc, Endpoint};

/// What the scheduler tells its caller while it runs.
#[derive(Debug)]
pub enum ScanEvent {
    /// A target line could not be used (bad syntax, unreadable file).
    InputError(TargetError),
    /// An endpoint is finished.
    Report(Box<EndpointReport>),
}

/// Stops a scan in two stages: [`StopHandle::stop`] starts no new
/// endpoint and lets those in flight finish; [`StopHandle::abandon`] then
/// ends those still in flight, each with an `interrupted` row.
#[derive(Debug, Clone)]
pub struct StopSignal {
    rx: watch::Receiver<StopStage>,
    /// For [`StopSignal::never`]: keeps the channel open, since a closed
    /// channel would read as "stopped".
    _never: Option<Arc<watch::Sender<StopStage>>>,
}

/// How far a stop has gone; ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum StopStage {
    Running,
    NoNewEndpoints,
    AbandonInFlight,
}

/// The handle that sets a [`StopSignal`].
#[derive(Debug)]
pub struct StopHandle {
    tx: watch::Sender<StopStage>,
}

pub fn stop_signal() -> (StopHandle, StopSignal) {
    let (tx, rx) = watch::channel(StopStage::Running);
    (StopHandle { tx }, StopSignal { rx, _never: None })
}

impl StopHandle {
    /// No new endpoint is started; those in flight go on.
    pub fn stop(&self) {
        self.raise(StopStage::NoNewEndpoints);
    }

    /// Endpoints still in flight are ended now, each reported as
    /// `interrupted`.
    pub fn abandon(&self) {
        self.raise(StopStage::AbandonInFlight);
    }

    fn raise(&self, stage: StopStage) {
        self.tx.send_if_modified(|current| {
            let raised = stage > *current;
            if raised {
                *current = stage;
            }
            raised
        });
    }
}

impl StopSignal {
    /// A signal that never fires.
    pub fn never() -> Self {
        let (tx, rx) = watch::channel(StopStage::Running);
        Self {
            rx,
            _never: Some(Arc::new(tx)),
        }
    }

    pub fn is_stopped(&self) -> bool {
        *self.rx.borrow() >= StopStage::NoNewEndpoints
    }

    pub async fn stopped(self) {
        self.reached(StopStage::NoNewEndpoints).await;
    }

    pub async fn abandoned(self) {
        self.reached(StopStage::AbandonInFlight).await;
    }

    async fn reached(mut self, stage: StopStage) {
        if self.rx.wait_for(|s| *s >= stage).await.is_err() {
            // The handle is gone: nobody can stop this scan any more.
            std::future::pending::<()>().await;
        }
    }
}

/// Runs the scan. `targets` is consumed on a blocking thread; events go to
/// `events` as they happen (the caller's sinks write rows as they arrive).
pub async fn run_scan<I>(
    targets: I,
    config: Arc<ScanConfig>,
    events: mpsc::Sender<ScanEvent>,
    stop: StopSignal,
) where
    I: Iterator<Item = Result<TargetSpec, TargetError>> + Send + 'static,
{
    let (spec_tx, spec_rx) = mpsc::channel::<TargetSpec>(256);
    let error_events = events.clone();
    let reader_stop = stop.clone();
    let reader = tokio::task::spawn_blocking(move || {
        for item in targets {
            if reader_stop.is_stopped() {
                break;
            }
            let sent = match item {
                Ok(spec) => spec_tx.blocking_send(spec).is_ok(),
                Err(e) => error_events.blocking_send(ScanEvent::InputError(e)).is_ok(),
            };
            if !sent {
                break;
            }
        }
    });

    let rate = config.rate.map(RateLimiter::per_second);
    let ctx = Arc::new(ProbeContext {
        connector: Connector::new(config.per_host_limit, rate),
        config: config.clone(),
    });
    let shard = config.shard;
    let endpoints = endpoint_stream(spec_rx, config.clone())
        .filter(move |e| futures::future::ready(shard.is_none_or(|s| s.contains(e))));
    let endpoints = endpoints.take_until(stop.clone().stopped());

    let endpoints = Box::pin(endpoints);
    crate::dispatch::dispatch(
        endpoints,
        config.concurrency,
        config.per_host_limit,
        |endpoint: &Endpoint| endpoint.ip,
        || stop.is_stopped(),
        |endpoint| {
            let ctx = ctx.clone();
            let events = events.clone();
            let abandon = stop.clone().abandoned();
            async move {
                let report = tokio::select! {
                    report = run_isolated(&endpoint, ctx) => report,
                    () = abandon => interrupted_report(&endpoint),
                };
                let _ = events.send(ScanEvent::Report(Box::new(report))).await;
            }
        },
    )
    .await;
    // After a stop the reader may be blocked on a source that has nothing
    // to say (a terminal, a slow producer): it is left behind, not awaited.
    if !stop.is_stopped() {
        let _ = reader.await;
    }
}

/// The row of an endpoint that was still in flight when the run was
/// abandoned.
fn interrupted_report(endpoint: &Endpoint) -> EndpointReport {
    let mut report = endpoint.blank_report(OffsetDateTime::now_utc());
    report.status = Status::Interrupted;
    report.error = Some(
        "the run was interrupted while this endpoint was in flight, and it did not finish within the grace period"
            .into(),
    );
    report
}

/// Targets to endpoints: names resolved concurrently (in input order),
/// blocks expanded lazily. Boxed so the scheduler's future has a simple,
/// nameable type.
fn endpoint_stream(
    specs: mpsc::Receiver<TargetSpec>,
    config: Arc<ScanConfig>,
) -> std::pin::Pin<Box<dyn Stream<Item = Endpoint> + Send>> {
    let lookups = config.dns_concurrency.max(1);
    // Unordered: a slow lookup never holds up the targets behind it (the
    // input order is kept in `input_index`, not in the order of rows).
    let batches = tokio_stream_from(specs)
        .map(move |spec| expand(spec, config.clone()))
        .buffer_unordered(lookups);
    Box::pin(batches.flat_map(|batch: EndpointBatch| stream::iter(batch)))
}

/// Runs one probe in its own task, so a panic in it is contained and turned
/// into an `error` row for that endpoint. The probe's own deadlines bound
/// it; a hard cap on top guards against a step that forgot one.
/// Dropping the returned future (an abandoned run) aborts the probe task.
async fn run_isolated(endpoint: &Endpoint, ctx: Arc<ProbeContext>) -> EndpointReport {
    let hard_cap = ctx.config.timeouts.endpoint_cap();
    let probe_endpoint_copy = endpoint.clone();
    let task = tokio::spawn(async move { probe_endpoint(&probe_endpoint_copy, &ctx).await });
    let _abort_on_drop = AbortOnDrop(task.abort_handle());
    let outcome = tokio::time::timeout(hard_cap, task).await;
    let mut report;
    let (status, message) = match outcome {
        Ok(Ok(done)) => return done,
        Ok(Err(join_error)) => {
            let why = if join_error.is_panic() {
                "internal error: the probe of this endpoint panicked (please report it)"
            } else {
                "internal error: the probe of this endpoint was cancelled"
            };
            (Status::Error, why.to_string())
        }
        Err(_) => {
            // The guard aborts the task when this function returns.
            (
                Status::Timeout,
                format!(
                    "endpoint not finished within the overall cap of {}",
                    crate::ftp::control::humantime(hard_cap)
                ),
            )
        }
    };
    report = endpoint.blank_report(OffsetDateTime::now_utc());
    report.status = status;
    report.failed_phase = Some(Phase::Internal);
    report.error = Some(message);
    report
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Turns one target into its endpoints: each address (a hostname's
/// resolved addresses, a CIDR block's hosts) times each port. Returned as
/// a lazy iterator so a /16 is not materialised.
/// The endpoints of one target, produced lazily.
type EndpointBatch = Box<dyn Iterator<Item = Endpoint> + Send + 'static>;

async fn expand(spec: TargetSpec, config: Arc<ScanConfig>) -> EndpointBatch {
    let ports: Vec<u16> = match spec.port {
        Some(p) => vec![p],
        None => config.ports.clone(),
    };
    let target: Arc<str> = Arc::from(spec.text.as_str());
    let mode_for = {
        let rule = spec.mode.map_or(config.mode, ModeRule::Forced);
        move |port: u16| rule.for_port(port)
    };
    let make = {
        let target = target.clone();
        move |host: Option<Arc<str>>, ip: Option<IpAddr>, port: u16, dns_error: Option<String>| {
            let (mode, detect_mode) = mode_for(port);
            Endpoint {
                input_index: spec.input_index,
                target: target.clone(),
                host,
                ip,
                port,
                mode,
                detect_mode,
                dns_error,
            }
        }
    };
    match spec.host {
        HostSpec::Ip(ip) => Box::new(
            ports
                .into_iter()
                .map(move |p| make(None, Some(ip), p, None)),
        ),
        HostSpec::Cidr(net) => {
            let iter = net.hosts().flat_map(move |ip| {
                let make = make.clone();
                ports
                    .clone()
                    .into_iter()
                    .map(move |p| make(None, Some(ip), p, None))
            });
            Box::new(iter)
        }
        HostSpec::Name(name) => {
            let host: Arc<str> = Arc::from(name.as_str());
            match resolve(&config.resolver, &name, config.timeouts.connect).await {
                Ok(addrs) => {
                    let iter = addrs.into_iter().flat_map(move |ip| {
                        let make = make.clone();
                        let host = host.clone();
                        ports
                            .clone()
                            .into_iter()
                            .map(move |p| make(Some(host.clone()), Some(ip), p, None))
                    });
                    Box::new(iter)
                }
                Err(message) => Box::new(
                    ports
                        .into_iter()
                        .map(move |p| make(Some(host.clone()), None, p, Some(message.clone()))),
                ),
            }
        }
    }
}

/// Resolves a name to its addresses (deduplicated, resolver order).
async fn resolve(
    resolver: &Resolver,
    name: &str,
    timeout: Duration,
) -> Result<Vec<IpAddr>, String> {
    match tokio::time::timeout(timeout, resolver.lookup(name)).await {
        Err(_) => Err(format!("DNS lookup of {name} timed out")),
        Ok(Err(e)) => Err(format!("DNS lookup of {name} failed: {e}")),
        Ok(Ok(addrs)) => {
            let mut out: Vec<IpAddr> = Vec::new();
            for ip in addrs {
                if !out.contains(&ip) {
                    out.push(ip);
                }
            }
            if out.is_empty() {
                Err(format!("{name} has no address"))
            } else {
                Ok(out)
            }
        }
    }
}

fn tokio_stream_from<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl Stream<Item = T> {
    stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Mode;
    use tokio::time::Instant;

    fn endpoint(ip: &str, port: u16) -> Endpoint {
        Endpoint {
            input_index: 0,
            target: Arc::from(ip),
            host: None,
            ip: ip.parse().ok(),
            port,
            mode: Mode::Explicit,
            detect_mode: false,
            dns_error: None,
        }
    }

    #[test]
    fn shards_partition_every_endpoint_exactly_once() {
        let shards: Vec<Shard> = (0..7).map(|k| Shard::new(k, 7).unwrap()).collect();
        let mut per_shard = [0u32; 7];
        for a in 0..=255u8 {
            for port in [21, 990] {
                let e = endpoint(&format!("10.0.{a}.1"), port);
                let owners: Vec<usize> = (0..7).filter(|&k| shards[k].contains(&e)).collect();
                assert_eq!(owners.len(), 1, "{e:?}");
                per_shard[owners[0]] += 1;
            }
        }
        assert!(
            per_shard.iter().all(|&n| n > 40),
            "roughly even: {per_shard:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limiter_spaces_connections() {
        let limiter = RateLimiter::per_second(5);
        let start = Instant::now();
        for _ in 0..11 {
            limiter.wait().await;
        }
        // The first goes at once, the next ten 200 ms apart.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }

    #[test]
    fn shard_parsing() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        assert!(Shard::parse("4/4").unwrap_err().contains("not below"));
        assert!(Shard::parse("1/0").is_err());
        assert!(Shard::parse("x/2").is_err());
        assert!(Shard::parse("3").is_err());
    }
}
