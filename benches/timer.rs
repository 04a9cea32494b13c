//! The timing wheel beside a `BTreeMap<(deadline, seq), T>` doing the same work, each holding
//! 1,000,000 live timers with deadlines spread over 1 ms..4000 s of 1 ms ticks:
//! - `insert_cancel`: arm a timer and disarm it (a request that finishes before its timeout);
//! - `reset_later`: move a live timer's deadline later (the idle timer on every read), every
//!   timer once in a random order; also with 10,000 live timers, whose entries fit in cache;
//! - `advance`: step the clock 1 ms at a time and collect what fires, re-arming each fired
//!   timer outside the timing so the wheel stays at 1,000,000; the figure is per fired timer.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ringway::timer::{TimerKey, Wheel};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

const LIVE: usize = 1_000_000;
/// 4000 s in 1 ms ticks.
const SPREAD: u64 = 4_000_000;
/// Advance steps timed as one batch, so the cost of reading the clock stays out of the figure.
const STEPS_PER_BATCH: u64 = 1000;

/// splitmix64: a fixed, fast sequence, the same for the wheel and its baseline.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`, without a division.
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    /// A deadline 1 ms..4000 s after `now`.
    fn deadline(&mut self, now: u64) -> u64 {
        now + 1 + self.below(SPREAD)
    }
}

fn wheel_with_live_timers(rng: &mut Rng, live: usize) -> (Wheel<u64>, Vec<TimerKey>) {
    let mut wheel = Wheel::with_capacity(0, live + 1);
    let keys = (0..live as u64)
        .map(|id| wheel.insert(rng.deadline(0), id))
        .collect();
    (wheel, keys)
}

/// The baseline holding the same timers; `deadlines[id]` is what it needs to find one again.
fn btree_with_live_timers(rng: &mut Rng, live: usize) -> (BTreeMap<(u64, u64), u64>, Vec<u64>) {
    let deadlines: Vec<u64> = (0..live).map(|_| rng.deadline(0)).collect();
    let map = deadlines
        .iter()
        .enumerate()
        .map(|(id, &d)| ((d, id as u64), id as u64))
        .collect();
    (map, deadlines)
}

/// Every timer id once, in a random order: which timer the next read re-arms.
fn shuffled_ids(live: usize) -> Vec<usize> {
    let mut rng = Rng(3);
    let mut ids: Vec<usize> = (0..live).collect();
    for i in (1..live).rev() {
        ids.swap(i, rng.below(i as u64 + 1) as usize);
    }
    ids
}

fn insert_cancel(c: &mut Criterion) {
    let mut group = c.benchmark_group("insert_cancel");
    group.throughput(Throughput::Elements(2));
    {
        let (mut wheel, _keys) = wheel_with_live_timers(&mut Rng(1), LIVE);
        let mut rng = Rng(2);
        group.bench_function("wheel", |b| {
            b.iter(|| {
                let key = wheel.insert(rng.deadline(0), 7);
                black_box(wheel.cancel(key))
            })
        });
    }
    {
        let (mut map, _deadlines) = btree_with_live_timers(&mut Rng(1), LIVE);
        let mut rng = Rng(2);
        let mut seq = LIVE as u64;
        group.bench_function("btreemap_baseline", |b| {
            b.iter(|| {
                seq += 1;
                let key = (rng.deadline(0), seq);
                map.insert(key, 7);
                black_box(map.remove(&key))
            })
        });
    }
    group.finish();
}

fn reset_later(c: &mut Criterion) {
    reset_later_with(c, "reset_later", LIVE);
    // A worker with 10,000 connections: the entries fit in cache.
    reset_later_with(c, "reset_later_10k_live", 10_000);
}

fn reset_later_with(c: &mut Criterion, name: &str, live: usize) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    {
        let (mut wheel, keys) = wheel_with_live_timers(&mut Rng(1), live);
        // The worker finds a key in the connection it just read from; here, in a stream.
        let keys: Vec<TimerKey> = shuffled_ids(live).iter().map(|&id| keys[id]).collect();
        let mut next = 0;
        // Past every initial deadline and rising, so each reset moves a deadline later.
        let mut later = SPREAD + 1;
        group.bench_function("wheel", |b| {
            b.iter(|| {
                later += 1;
                // A compare, not `% live`: a division by a runtime value costs about 8 ns
                // here, which is the harness's, not the timer's.
                next += 1;
                if next == live {
                    next = 0;
                }
                black_box(wheel.reset(keys[next], later))
            })
        });
    }
    {
        let (mut map, mut deadlines) = btree_with_live_timers(&mut Rng(1), live);
        let ids = shuffled_ids(live);
        let mut next = 0;
        let mut later = SPREAD + 1;
        group.bench_function("btreemap_baseline", |b| {
            b.iter(|| {
                later += 1;
                // A compare, not `% live`: a division by a runtime value costs about 8 ns
                // here, which is the harness's, not the timer's.
                next += 1;
                if next == live {
                    next = 0;
                }
                let id = ids[next] as u64;
                let old = std::mem::replace(&mut deadlines[id as usize], later);
                let value = map.remove(&(old, id)).unwrap();
                black_box(map.insert((later, id), value))
            })
        });
    }
    group.finish();
}

/// Runs `batch` (which advances `STEPS_PER_BATCH` ticks from the given tick and returns how
/// many timers fired) until `iters` timers have fired; the time per fired timer times `iters`.
fn per_fired(iters: u64, now: &mut u64, mut batch: impl FnMut(u64) -> (u64, Duration)) -> Duration {
    let (mut fired, mut spent) = (0u64, Duration::ZERO);
    while fired < iters {
        let (n, t) = batch(*now);
        *now += STEPS_PER_BATCH;
        fired += n;
        spent += t;
    }
    spent.mul_f64(iters as f64 / fired as f64)
}

fn advance(c: &mut Criterion) {
    let mut group = c.benchmark_group("advance_1ms_steps");
    group.throughput(Throughput::Elements(1));
    {
        let (mut wheel, _keys) = wheel_with_live_timers(&mut Rng(1), LIVE);
        let mut rng = Rng(4);
        let mut fired = Vec::new();
        let mut now = 0;
        group.bench_function("wheel_per_fired_timer", |b| {
            b.iter_custom(|iters| {
                per_fired(iters, &mut now, |from| {
                    fired.clear();
                    let start = Instant::now();
                    for tick in from + 1..=from + STEPS_PER_BATCH {
                        wheel.advance(tick, &mut fired);
                    }
                    let spent = start.elapsed();
                    let to = from + STEPS_PER_BATCH;
                    for &(_, id) in &fired {
                        wheel.insert(rng.deadline(to), id);
                    }
                    (fired.len() as u64, spent)
                })
            })
        });
    }
    {
        let (mut map, _deadlines) = btree_with_live_timers(&mut Rng(1), LIVE);
        let mut rng = Rng(4);
        let mut fired = Vec::new();
        let mut now = 0;
        group.bench_function("btreemap_baseline_per_fired_timer", |b| {
            b.iter_custom(|iters| {
                per_fired(iters, &mut now, |from| {
                    fired.clear();
                    let start = Instant::now();
                    for tick in from + 1..=from + STEPS_PER_BATCH {
                        while let Some(entry) = map.first_entry() {
                            if entry.key().0 > tick {
                                break;
                            }
                            fired.push(entry.remove_entry());
                        }
                    }
                    let spent = start.elapsed();
                    let to = from + STEPS_PER_BATCH;
                    for &((_, id), value) in &fired {
                        map.insert((rng.deadline(to), id), value);
                    }
                    (fired.len() as u64, spent)
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, insert_cancel, reset_later, advance);
criterion_main!(benches);
