//! ns per pick for each algorithm at 2, 10, 100 and 1000 targets, every target healthy, weights
//! 1..=5 in turn, and a fixed spread of 0..=3 requests in flight per target so that the
//! least-outstanding comparisons have something to compare. Each pick uses the next of 1024
//! client addresses. Baselines beside them:
//! - `baseline/round_robin_health_blind`: the worker's current `RoundRobin::pick`, which does
//!   not consult health;
//! - `baseline/modulo_hash`: the key hash and `% n`, the cheapest (and not consistent) hashing.
//!
//! Run: `cargo bench --bench select -- --warm-up-time 1 --measurement-time 2`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ringway::balance::{Availability, Outstanding, PickContext, RoundRobin, Selector, TargetState};
use ringway::config::{Algorithm, HashKey, Target};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

const SIZES: [usize; 4] = [2, 10, 100, 1000];
const CLIENTS: usize = 1024;

fn targets(n: usize) -> Vec<Target> {
    (0..n)
        .map(|i| Target {
            address: format!("10.{}.{}.{}:8080", i / 62500, i / 250 % 250, i % 250 + 1)
                .parse()
                .unwrap(),
            weight: (i % 5) as u32 + 1,
        })
        .collect()
}

fn clients() -> Vec<IpAddr> {
    (0..CLIENTS as u32)
        .map(|k| IpAddr::V4(Ipv4Addr::from(k.wrapping_mul(2_654_435_761))))
        .collect()
}

fn picks(c: &mut Criterion) {
    let ips = clients();
    for algorithm in [
        Algorithm::RoundRobin,
        Algorithm::LeastOutstandingRequests,
        Algorithm::WeightedRandom,
        Algorithm::P2cLeastOutstanding,
        Algorithm::ConsistentHash,
    ] {
        let mut group = c.benchmark_group(algorithm.name());
        group.throughput(Throughput::Elements(1));
        for n in SIZES {
            let t = targets(n);
            let avail = Availability::new(&t, TargetState::HEALTHY);
            let mut s = Selector::new(algorithm, &t, &HashKey::ClientIp, 7);
            let _held: Vec<Outstanding> = (0..n)
                .flat_map(|i| std::iter::repeat_n(i, i * 7 % 4))
                .map(|i| s.begin(i))
                .collect();
            let mut k = 0;
            group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    k = (k + 1) % CLIENTS;
                    let ctx = PickContext::new(ips[k]);
                    black_box(s.pick(black_box(&ctx), &avail))
                })
            });
        }
        group.finish();
    }

    let mut group = c.benchmark_group("baseline");
    group.throughput(Throughput::Elements(1));
    for n in SIZES {
        let t = targets(n);
        let mut rr = RoundRobin::new(&t);
        group.bench_with_input(
            BenchmarkId::new("round_robin_health_blind", n),
            &n,
            |b, _| b.iter(|| black_box(rr.pick())),
        );
        let mut k = 0;
        group.bench_with_input(BenchmarkId::new("modulo_hash", n), &n, |b, &n| {
            b.iter(|| {
                k = (k + 1) % CLIENTS;
                let IpAddr::V4(ip) = ips[k] else {
                    unreachable!()
                };
                black_box(modulo_hash(black_box(&ip.octets()), n))
            })
        });
    }
    group.finish();
}

/// FNV-1a over the address, modulo the target count.
fn modulo_hash(bytes: &[u8], n: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h % n as u64) as usize
}

criterion_group!(benches, picks);
criterion_main!(benches);
