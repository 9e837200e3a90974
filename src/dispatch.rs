//! Starting endpoints so that none waits for its host inside a
//! concurrency slot.
//!
//! Each IP address takes at most `per_host` connections at a time (the
//! connector enforces it). Started in input order, endpoints of a host
//! beyond that cap would sit in a concurrency slot doing nothing but wait
//! for the host's slot: with host-sorted input (the usual shape of an
//! export, all ports of a host together) most of `-c` was idle, and a sweep
//! took 4.6 times as long as the same endpoints shuffled. Here an endpoint
//! whose host already has `per_host` endpoints in flight is parked, and
//! the dispatcher reads on (up to [`MAX_PARKED`] endpoints ahead) for
//! endpoints of other hosts; a parked endpoint starts as soon as its host
//! has room, before any endpoint read after it.

use futures::stream::{FuturesUnordered, Stream, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;

/// How many endpoints may be parked (read ahead, waiting for their host)
/// at once; beyond it the input is not read until one starts. Bounds
/// memory on input where a few hosts have very many endpoints.
pub const MAX_PARKED: usize = 65_536;

/// Runs `start(item)` for every item of `items`, at most `concurrency` at
/// once and at most `per_host` at once for items with the same
/// `host(item)` (items without a host are not limited per host). Items of
/// one host start in input order. Returns when every started item is done
/// and the input has ended; items still parked when the input ends because
/// of a stop are dropped unstarted when `stopped()` says so.
pub async fn dispatch<T, S, F, Fut>(
    items: S,
    concurrency: usize,
    per_host: usize,
    host: impl Fn(&T) -> Option<IpAddr>,
    stopped: impl Fn() -> bool,
    mut start: F,
) where
    S: Stream<Item = T> + Unpin,
    F: FnMut(T) -> Fut,
    Fut: Future<Output = ()>,
{
    let concurrency = concurrency.max(1);
    let per_host = per_host.max(1);
    let mut items = items.fuse();
    let mut running = FuturesUnordered::new();
    // Endpoints in flight (or reserved for a ready one) per host.
    let mut busy: HashMap<IpAddr, usize> = HashMap::new();
    let mut parked: HashMap<IpAddr, VecDeque<T>> = HashMap::new();
    let mut parked_count = 0usize;
    // Parked items whose host has room, in the order they got it.
    let mut ready: VecDeque<(Option<IpAddr>, T)> = VecDeque::new();
    let mut input_done = false;
    loop {
        while running.len() < concurrency && !stopped() {
            let Some((key, item)) = ready.pop_front() else {
                break;
            };
            let work = start(item);
            running.push(async move {
                work.await;
                key
            });
        }
        if stopped() {
            // No new endpoint starts after a stop.
            ready.clear();
            parked.clear();
            parked_count = 0;
        }
        let can_read = !input_done && running.len() < concurrency && parked_count < MAX_PARKED;
        if running.is_empty() && !can_read && ready.is_empty() {
            break;
        }
        tokio::select! {
            Some(key) = running.next(), if !running.is_empty() => {
                let Some(ip) = key else { continue };
                // The host's slot passes to its next parked endpoint, if any.
                match parked.get_mut(&ip).and_then(VecDeque::pop_front) {
                    Some(next) => {
                        parked_count -= 1;
                        ready.push_back((Some(ip), next));
                    }
                    None => {
                        if let Some(n) = busy.get_mut(&ip) {
                            *n -= 1;
                            if *n == 0 {
                                busy.remove(&ip);
                            }
                        }
                    }
                }
                if parked.get(&ip).is_some_and(VecDeque::is_empty) {
                    parked.remove(&ip);
                }
            }
            item = items.next(), if can_read => match item {
                None => input_done = true,
                Some(item) => match host(&item) {
                    None => ready.push_back((None, item)),
                    Some(ip) => {
                        let n = busy.entry(ip).or_default();
                        if *n < per_host {
                            *n += 1;
                            ready.push_back((Some(ip), item));
                        } else {
                            parked.entry(ip).or_default().push_back(item);
                            parked_count += 1;
                        }
                    }
                },
            },
            else => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// Items (host, id), each taking 100 ms; records the most in flight
    /// overall and per host, and the start order.
    async fn run(
        items: Vec<(u8, u32)>,
        concurrency: usize,
        per_host: usize,
    ) -> (usize, usize, Vec<u32>, Duration) {
        #[derive(Default)]
        struct Seen {
            now: usize,
            max: usize,
            per_host: HashMap<u8, usize>,
            max_host: usize,
            order: Vec<u32>,
        }
        let seen = Arc::new(Mutex::new(Seen::default()));
        let started = tokio::time::Instant::now();
        dispatch(
            futures::stream::iter(items),
            concurrency,
            per_host,
            |(h, _)| Some(IpAddr::from([127, 0, 0, *h])),
            || false,
            |(h, id)| {
                let seen = seen.clone();
                async move {
                    {
                        let mut s = seen.lock().unwrap();
                        s.now += 1;
                        s.max = s.max.max(s.now);
                        let n = s.per_host.entry(h).or_default();
                        *n += 1;
                        let n = *n;
                        s.max_host = s.max_host.max(n);
                        s.order.push(id);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let mut s = seen.lock().unwrap();
                    s.now -= 1;
                    *s.per_host.entry(h).or_default() -= 1;
                }
            },
        )
        .await;
        let s = seen.lock().unwrap();
        (s.max, s.max_host, s.order.clone(), started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn host_sorted_input_fills_every_slot() {
        // 10 hosts x 10 endpoints, sorted by host; -c 20, 2 per host: 20
        // in flight at once, so 100 endpoints take 5 rounds of 100 ms.
        let items: Vec<(u8, u32)> = (0..10u8)
            .flat_map(|h| (0..10u32).map(move |i| (h, u32::from(h) * 10 + i)))
            .collect();
        let (max, max_host, order, took) = run(items, 20, 2).await;
        assert_eq!(max, 20);
        assert_eq!(max_host, 2);
        assert_eq!(took, Duration::from_millis(500));
        // Each host's endpoints start in input order.
        for h in 0..10u32 {
            let mine: Vec<u32> = order.iter().copied().filter(|id| id / 10 == h).collect();
            assert_eq!(mine, (h * 10..h * 10 + 10).collect::<Vec<_>>());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_host_is_limited_to_its_cap_and_all_items_run() {
        let items: Vec<(u8, u32)> = (0..7u32).map(|i| (1, i)).collect();
        let (max, max_host, order, took) = run(items, 50, 3).await;
        assert_eq!((max, max_host), (3, 3));
        assert_eq!(order, (0..7).collect::<Vec<_>>());
        assert_eq!(took, Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_starts_after_a_stop() {
        let count = Arc::new(Mutex::new(0));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let items: Vec<u32> = (0..10).collect();
        dispatch(
            futures::stream::iter(items),
            2,
            2,
            |_| Some(IpAddr::from([127, 0, 0, 1])),
            || stop.load(std::sync::atomic::Ordering::SeqCst),
            |_| {
                let count = count.clone();
                let stop = stop.clone();
                async move {
                    *count.lock().unwrap() += 1;
                    stop.store(true, std::sync::atomic::Ordering::SeqCst);
                }
            },
        )
        .await;
        // Whatever had started before the first one set the stop (one or
        // two, as the two slots filled), nothing after.
        let started = *count.lock().unwrap();
        assert!((1..=2).contains(&started), "{started} started");
    }
}
