//! Maglev consistent hashing (Eisenbud et al., NSDI 2016, §3.4): a lookup table of a prime
//! size `M` in which each target owns entries in proportion to its weight, filled by every
//! target walking its own permutation of the table. A key's hash names an entry, the entry a
//! target. Removing one of N targets moves its own keys and, with `M` ≥ 100·N, few others.
//!
//! Weights follow Envoy's weighted Maglev: in round k a target of weight w takes an entry if
//! k·w has reached its running quota, which grows by the largest weight per entry taken, so a
//! target of the largest weight takes one entry per round and one of a third of it one per
//! three. Every target with a weight takes at least one entry.
//!
//! The table depends only on the targets' addresses and weights, not on their order in the
//! config, and uses a fixed hash: every worker, and a restarted balancer, maps a key to the
//! same target.
//!
//! Availability is not built in: an entry whose target may not be picked is skipped for the
//! next entry, so keys whose target can be picked never move while others fail.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

use super::mix::hash;
use crate::config::Target;

/// The table size for groups of up to 655 targets; prime.
pub const SMALL_TABLE: usize = 65_537;

/// Seeds of the two address hashes that give a target its permutation.
const OFFSET_SEED: u64 = 0x6d61_676c_6576_3031;
const SKIP_SEED: u64 = 0x6d61_676c_6576_3032;
const EMPTY: u32 = u32::MAX;

/// A filled Maglev table for one target list.
#[derive(Debug, Clone)]
pub struct Maglev {
    /// Target index per entry; empty when no target has a weight.
    table: Vec<u32>,
}

impl Maglev {
    pub fn new(targets: &[Target]) -> Maglev {
        let mut order: Vec<usize> = (0..targets.len())
            .filter(|&i| targets[i].weight > 0)
            .collect();
        if order.is_empty() {
            return Maglev { table: Vec::new() };
        }
        // Fill in address order so that the config's order does not change the table.
        order.sort_unstable_by_key(|&i| targets[i].address);
        let m = table_size(order.len());
        let max_weight = order
            .iter()
            .map(|&i| u64::from(targets[i].weight))
            .max()
            .unwrap_or(1);
        let mut walks: Vec<Walk> = order
            .iter()
            .map(|&i| Walk::new(targets[i].address, m))
            .collect();
        let mut taken = vec![0u64; order.len()];
        // (round, position in `order`): who fills the next entry. The rounds of Envoy's nested
        // loop, without visiting every target in every round when weights are far apart.
        let mut due: BinaryHeap<Reverse<(u64, usize)>> =
            (0..order.len()).map(|k| Reverse((1, k))).collect();
        let mut table = vec![EMPTY; m];
        let mut filled = 0;
        while filled < m {
            let Some(Reverse((round, k))) = due.pop() else {
                break;
            };
            let mut entry = walks[k].next(m);
            while table[entry] != EMPTY {
                entry = walks[k].next(m);
            }
            table[entry] = order[k] as u32;
            filled += 1;
            taken[k] += 1;
            // The first round r > round in which r·w reaches taken·max_weight.
            let w = u64::from(targets[order[k]].weight);
            let next = (taken[k] * max_weight).div_ceil(w).max(round + 1);
            due.push(Reverse((next, k)));
        }
        Maglev { table }
    }

    /// Entries in the table (0 when no target has a weight).
    pub fn size(&self) -> usize {
        self.table.len()
    }

    /// The target that owns the entry `hash` names.
    #[inline]
    pub fn owner(&self, hash: u64) -> Option<usize> {
        self.table.get(self.entry(hash)).map(|&t| t as usize)
    }

    /// The first target at or after the entry `hash` names that `pickable` accepts; `None`
    /// when none is in the table.
    #[inline]
    pub fn lookup(&self, hash: u64, pickable: impl Fn(usize) -> bool) -> Option<usize> {
        let m = self.table.len();
        let start = self.entry(hash);
        let (before, from) = self.table.split_at(start.min(m));
        from.iter()
            .chain(before)
            .map(|&t| t as usize)
            .find(|&t| pickable(t))
    }

    /// Entries owned by each of `n` targets.
    pub fn shares(&self, n: usize) -> Vec<usize> {
        let mut shares = vec![0; n];
        for &t in &self.table {
            if let Some(s) = shares.get_mut(t as usize) {
                *s += 1;
            }
        }
        shares
    }

    #[inline]
    fn entry(&self, hash: u64) -> usize {
        // Multiply-shift maps a 64-bit hash onto 0..m without a division.
        ((u128::from(hash) * self.table.len() as u128) >> 64) as usize
    }
}

/// The smallest prime that is at least `SMALL_TABLE` and at least 100 entries per target.
pub fn table_size(targets: usize) -> usize {
    let mut m = SMALL_TABLE.max(targets.saturating_mul(100));
    while !is_prime(m) {
        m += 1;
    }
    m
}

fn is_prime(n: usize) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

/// One target's permutation of the table: `offset`, `offset + skip`, ... modulo `m`. With `m`
/// prime and `skip` in `1..m` it visits every entry once.
struct Walk {
    at: usize,
    skip: usize,
    started: bool,
}

impl Walk {
    fn new(address: SocketAddr, m: usize) -> Walk {
        let key = address_bytes(address);
        let m64 = m as u64;
        Walk {
            at: (hash(OFFSET_SEED, &key) % m64) as usize,
            skip: (hash(SKIP_SEED, &key) % (m64 - 1) + 1) as usize,
            started: false,
        }
    }

    fn next(&mut self, m: usize) -> usize {
        if self.started {
            self.at += self.skip;
            if self.at >= m {
                self.at -= m;
            }
        }
        self.started = true;
        self.at
    }
}

/// IP octets then the port, big-endian: one spelling per address.
fn address_bytes(address: SocketAddr) -> Vec<u8> {
    let mut out = match address {
        SocketAddr::V4(a) => a.ip().octets().to_vec(),
        SocketAddr::V6(a) => a.ip().octets().to_vec(),
    };
    out.extend_from_slice(&address.port().to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::balance::test_targets as targets;

    #[test]
    fn the_table_is_a_prime_of_at_least_a_hundred_entries_per_target() {
        assert_eq!(table_size(1), 65_537);
        assert_eq!(table_size(655), 65_537);
        assert_eq!(table_size(656), 65_609);
        assert_eq!(table_size(1000), 100_003);
        assert!(is_prime(65_537) && is_prime(100_003));
        assert!(!is_prime(65_541) && !is_prime(100_001) && !is_prime(1));
    }

    #[test]
    fn equal_weights_get_equal_shares_within_one_percent() {
        for n in [2, 3, 7, 20] {
            let shares = Maglev::new(&targets(&vec![1; n])).shares(n);
            let fair = SMALL_TABLE as f64 / n as f64;
            for s in shares {
                assert!((s as f64 - fair).abs() < fair * 0.01, "{n}: {s} vs {fair}");
            }
        }
    }

    #[test]
    fn shares_follow_weights() {
        let w = [1, 3, 5, 0, 999];
        let shares = Maglev::new(&targets(&w)).shares(w.len());
        let total: u32 = w.iter().sum();
        for (i, &wi) in w.iter().enumerate() {
            let want = SMALL_TABLE as f64 * f64::from(wi) / f64::from(total);
            assert!(
                (shares[i] as f64 - want).abs() <= want * 0.02 + 1.0,
                "target {i}: {} entries, want {want:.0}",
                shares[i]
            );
        }
        assert_eq!(shares[3], 0);
    }

    #[test]
    fn every_weighted_target_owns_an_entry_however_light() {
        let mut w = vec![999; 700];
        w[350] = 1;
        let shares = Maglev::new(&targets(&w)).shares(w.len());
        assert!(shares.iter().all(|&s| s > 0));
    }

    #[test]
    fn the_table_does_not_depend_on_the_config_order() {
        let t = targets(&[1, 2, 3, 4]);
        let reversed: Vec<Target> = t.iter().rev().copied().collect();
        let a = Maglev::new(&t);
        let b = Maglev::new(&reversed);
        for h in (0..1000u64).map(|k| k.wrapping_mul(0x9e37_79b9_7f4a_7c15)) {
            let (ta, tb) = (a.owner(h).unwrap(), b.owner(h).unwrap());
            assert_eq!(t[ta].address, reversed[tb].address);
        }
    }

    #[test]
    fn lookup_walks_past_unpickable_targets_and_gives_up_when_none_is_pickable() {
        let m = Maglev::new(&targets(&[1, 1, 1]));
        for h in (0..300u64).map(|k| k.wrapping_mul(0x9e37_79b9_7f4a_7c15)) {
            let owner = m.owner(h).unwrap();
            assert_eq!(m.lookup(h, |_| true), Some(owner));
            let other = m.lookup(h, |t| t != owner).unwrap();
            assert_ne!(other, owner);
        }
        assert_eq!(m.lookup(5, |_| false), None);
        assert_eq!(Maglev::new(&targets(&[0, 0])).lookup(5, |_| true), None);
        assert_eq!(Maglev::new(&[]).size(), 0);
    }
}
