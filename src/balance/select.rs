//! Target selection: `Selector` runs a group's algorithm over the targets `Availability`
//! allows, and counts the requests in flight on each target for the least-outstanding ones.
//! A selector returns its first choice; for connect retries the caller walks the other eligible
//! targets (`Selector::retry_order`). Per worker and single-threaded: plain fields, a seeded
//! PRNG, no atomics; nothing here reads the clock.
//!
//! - round_robin: smooth weighted round robin (as nginx): over `sum(weights)` picks each target
//!   is picked `weight` times, heavy targets spread out.
//! - least_outstanding_requests: the eligible target with the fewest requests in flight per
//!   unit of weight; ties go to smooth weighted round robin among the tied targets (as nginx's
//!   least_conn), so at zero load it spreads requests as round_robin does.
//! - weighted_random: a draw over the eligible targets' weights (ALB's weighted_random without
//!   its anomaly mitigation).
//! - p2c_least_outstanding: two distinct eligible targets drawn by weight, the one with fewer
//!   requests in flight per unit of weight taken, the first drawn on a tie (power of two
//!   choices; with equal weights the draws are uniform).
//! - consistent_hash: Maglev over the client IP or a header (`maglev`).
//!
//! Weights are effective weights (`Availability`), so slow start applies to every algorithm
//! but consistent_hash, whose table is built from the configured weights (rebuilding 65,537
//! entries on every ramp step would cost more than the ramp is worth).

use std::cmp::Ordering;
use std::net::{IpAddr, SocketAddr};

use super::avail::Availability;
use super::maglev::Maglev;
use super::mix::{hash, Rng};
use crate::config::{Algorithm, HashKey, Target, TargetGroup};

/// `Selector::slot_target` of a slot whose target left the group.
const RETIRED: u32 = u32::MAX;

/// The seed of the key hash. Fixed: every worker must map a key to the same target.
const KEY_SEED: u64 = 0x7269_6e67_7761_7921;

/// What consistent hashing needs to know of a request; borrowed, built per request for free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PickContext<'a> {
    pub client_ip: IpAddr,
    /// The value of the header `Selector::hash_header` names, if the request has it.
    pub header: Option<&'a [u8]>,
}

impl<'a> PickContext<'a> {
    pub fn new(client_ip: IpAddr) -> PickContext<'a> {
        PickContext {
            client_ip,
            header: None,
        }
    }

    pub fn with_header(self, header: Option<&'a [u8]>) -> PickContext<'a> {
        PickContext { header, ..self }
    }
}

/// A request in flight on a target, from `Selector::begin` to `Selector::end`. It holds the
/// target's slot, which keeps its address across `Selector::update`: a request that began
/// before the target list changed ends against the same target, wherever its index went.
#[must_use = "pass it to Selector::end when the request finishes"]
#[derive(Debug, PartialEq, Eq)]
pub struct Outstanding {
    slot: u32,
}

/// One group's algorithm and its per-worker state.
#[derive(Debug, Clone)]
pub struct Selector {
    algorithm: Algorithm,
    hash_key: HashKey,
    addrs: Vec<SocketAddr>,
    /// Smooth round robin's running score per target.
    current: Vec<i64>,
    /// Requests in flight per target: what the least-outstanding loops read.
    in_flight: Vec<u32>,
    /// Each target's slot: the name an `Outstanding` carries, stable across updates.
    slot_of: Vec<u32>,
    /// Per slot: its target's index, or `RETIRED` once the target left the group.
    slot_target: Vec<u32>,
    /// Per slot: requests still in flight on a retired slot's target. The slot is reused once
    /// this is 0.
    retired: Vec<u32>,
    free: Vec<u32>,
    rng: Rng,
    /// Built for consistent_hash only.
    maglev: Option<Maglev>,
}

impl Selector {
    /// `seed` feeds the random algorithms; give each worker its own (its id will do), or every
    /// worker draws the same sequence.
    pub fn new(algorithm: Algorithm, targets: &[Target], hash_key: &HashKey, seed: u64) -> Self {
        let n = targets.len();
        Selector {
            algorithm,
            hash_key: hash_key.clone(),
            addrs: targets.iter().map(|t| t.address).collect(),
            current: vec![0; n],
            in_flight: vec![0; n],
            slot_of: (0..n as u32).collect(),
            slot_target: (0..n as u32).collect(),
            retired: vec![0; n],
            free: Vec::new(),
            rng: Rng::new(seed),
            maglev: (algorithm == Algorithm::ConsistentHash).then(|| Maglev::new(targets)),
        }
    }

    pub fn for_group(group: &TargetGroup, seed: u64) -> Self {
        Selector::new(group.algorithm, &group.targets, &group.hash_key, seed)
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    /// The header whose value `PickContext::header` should carry (lower-cased), if the
    /// algorithm hashes one.
    pub fn hash_header(&self) -> Option<&str> {
        match (&self.hash_key, self.algorithm) {
            (HashKey::Header(name), Algorithm::ConsistentHash) => Some(name),
            _ => None,
        }
    }

    /// The target for a new request, or `None` when no target is eligible (503). `avail` is
    /// the group's, indexed like this selector's targets.
    pub fn pick(&mut self, ctx: &PickContext<'_>, avail: &Availability) -> Option<usize> {
        debug_assert_eq!(
            avail.len(),
            self.len(),
            "selector and availability disagree"
        );
        if avail.eligible().is_empty() || avail.len() != self.len() {
            return None;
        }
        match self.algorithm {
            Algorithm::RoundRobin => Some(self.smooth_round_robin(avail)),
            Algorithm::LeastOutstandingRequests => Some(self.least_outstanding(avail)),
            Algorithm::WeightedRandom => avail.weighted(self.rng.below(avail.total_weight())),
            Algorithm::P2cLeastOutstanding => Some(self.two_choices(avail)),
            Algorithm::ConsistentHash => {
                let key = self.key_hash(ctx);
                self.maglev.as_ref()?.lookup(key, |t| avail.is_eligible(t))
            }
        }
    }

    /// The other eligible targets, once each, in index order after `first` and round to the
    /// start: where to go when `first` refused the connection (nothing was sent, so any order
    /// is safe; this one spreads retries).
    pub fn retry_order<'a>(
        &'a self,
        first: usize,
        avail: &'a Availability,
    ) -> impl Iterator<Item = usize> + 'a {
        let eligible = avail.eligible();
        let split = eligible.partition_point(|&t| t as usize <= first);
        eligible[split..]
            .iter()
            .chain(&eligible[..split])
            .map(|&t| t as usize)
            .filter(move |&t| t != first)
    }

    /// Counts a request in flight on `target` until the returned value goes to `end`.
    pub fn begin(&mut self, target: usize) -> Outstanding {
        self.in_flight[target] += 1;
        Outstanding {
            slot: self.slot_of[target],
        }
    }

    pub fn end(&mut self, request: Outstanding) {
        let slot = request.slot as usize;
        match self.slot_target.get(slot) {
            Some(&RETIRED) => {
                debug_assert!(self.retired[slot] > 0, "a retired slot ended twice");
                self.retired[slot] = self.retired[slot].saturating_sub(1);
                if self.retired[slot] == 0 {
                    self.free.push(request.slot);
                }
            }
            Some(&target) => {
                let count = &mut self.in_flight[target as usize];
                *count = count.saturating_sub(1);
            }
            None => debug_assert!(false, "an Outstanding from another selector"),
        }
    }

    /// Requests in flight on `target` from this worker.
    pub fn outstanding(&self, target: usize) -> u32 {
        self.in_flight[target]
    }

    /// A new target list for the group. Targets that stay (by address) keep their requests in
    /// flight and their round-robin score; new ones start from zero; the Maglev table is
    /// rebuilt. `Outstanding` values from before stay valid. Update the group's
    /// `Availability` with the same list.
    pub fn update(&mut self, targets: &[Target]) {
        let mut old: Vec<(SocketAddr, usize)> = self
            .addrs
            .iter()
            .copied()
            .zip(0..self.addrs.len())
            .collect();
        old.sort_unstable_by_key(|&(a, _)| a);
        let matches: Vec<Option<usize>> = targets
            .iter()
            .map(|t| {
                old.binary_search_by_key(&t.address, |&(a, _)| a)
                    .ok()
                    .map(|k| old[k].1)
            })
            .collect();
        let mut kept = vec![false; self.addrs.len()];
        for &j in matches.iter().flatten() {
            kept[j] = true;
        }
        for (j, _) in kept.iter().enumerate().filter(|(_, &k)| !k) {
            let slot = self.slot_of[j] as usize;
            self.slot_target[slot] = RETIRED;
            self.retired[slot] = self.in_flight[j];
            if self.in_flight[j] == 0 {
                self.free.push(slot as u32);
            }
        }
        let mut current = Vec::with_capacity(targets.len());
        let mut in_flight = Vec::with_capacity(targets.len());
        let mut slot_of = Vec::with_capacity(targets.len());
        for (i, m) in matches.into_iter().enumerate() {
            let slot = match m {
                Some(j) => {
                    current.push(self.current[j]);
                    in_flight.push(self.in_flight[j]);
                    self.slot_of[j]
                }
                None => {
                    current.push(0);
                    in_flight.push(0);
                    self.new_slot()
                }
            };
            self.slot_target[slot as usize] = i as u32;
            slot_of.push(slot);
        }
        self.current = current;
        self.in_flight = in_flight;
        self.slot_of = slot_of;
        self.addrs = targets.iter().map(|t| t.address).collect();
        if self.algorithm == Algorithm::ConsistentHash {
            self.maglev = Some(Maglev::new(targets));
        }
    }

    /// A slot for a new target (its index is set by the caller).
    fn new_slot(&mut self) -> u32 {
        if let Some(slot) = self.free.pop() {
            return slot;
        }
        self.slot_target.push(RETIRED);
        self.retired.push(0);
        (self.slot_target.len() - 1) as u32
    }

    /// nginx's smooth weighted round robin over the eligible targets: each gains its weight,
    /// the highest score wins (the first on a tie) and pays the total back.
    fn smooth_round_robin(&mut self, avail: &Availability) -> usize {
        let mut best = 0;
        let mut best_score = i64::MIN;
        for &t in avail.eligible() {
            let t = t as usize;
            self.current[t] += avail.effective_weight(t) as i64;
            if self.current[t] > best_score {
                best = t;
                best_score = self.current[t];
            }
        }
        self.current[best] -= avail.total_weight() as i64;
        best
    }

    /// Target `t`'s load against a reference `(load, weight)`: `n_t / w_t` against
    /// `load / weight`, cross-multiplied (effective weights are below 2^20 and counts below
    /// 2^32, so nothing overflows).
    #[inline]
    fn compare(&self, t: usize, (load, weight): (u64, u64), avail: &Availability) -> Ordering {
        let (n, w) = (u64::from(self.in_flight[t]), avail.effective_weight(t));
        (n * weight).cmp(&(load * w))
    }

    #[inline]
    fn load(&self, t: usize, avail: &Availability) -> (u64, u64) {
        (u64::from(self.in_flight[t]), avail.effective_weight(t))
    }

    /// nginx's least_conn: the lowest in-flight count per unit of weight; among targets tied
    /// at it, smooth weighted round robin (scores in `current`, the total paid back being the
    /// tied targets' weights).
    fn least_outstanding(&mut self, avail: &Availability) -> usize {
        let eligible = avail.eligible();
        let mut best = eligible[0] as usize;
        let mut least = self.load(best, avail);
        let mut tied = 1;
        for &t in &eligible[1..] {
            match self.compare(t as usize, least, avail) {
                Ordering::Less => {
                    best = t as usize;
                    least = self.load(best, avail);
                    tied = 1;
                }
                Ordering::Equal => tied += 1,
                Ordering::Greater => {}
            }
        }
        if tied == 1 {
            return best;
        }
        let mut total = 0;
        let mut best_score = i64::MIN;
        for &t in eligible {
            let t = t as usize;
            if self.compare(t, least, avail) != Ordering::Equal {
                continue;
            }
            let w = avail.effective_weight(t) as i64;
            self.current[t] += w;
            total += w;
            if self.current[t] > best_score {
                best = t;
                best_score = self.current[t];
            }
        }
        self.current[best] -= total;
        best
    }

    /// Two distinct eligible targets, each drawn by weight: the second draw skips the first
    /// target's run of draws, so it never needs a retry however heavy the first is.
    fn two_choices(&mut self, avail: &Availability) -> usize {
        let eligible = avail.eligible();
        if eligible.len() == 1 {
            return eligible[0] as usize;
        }
        let total = avail.total_weight();
        let k = avail.weighted_position(self.rng.below(total));
        let a = eligible[k] as usize;
        let (skip_from, skip) = (avail.weight_before(k), avail.effective_weight(a));
        let mut r = self.rng.below(total - skip);
        if r >= skip_from {
            r += skip;
        }
        let b = eligible[avail.weighted_position(r)] as usize;
        debug_assert_ne!(a, b);
        if self.compare(b, self.load(a, avail), avail) == Ordering::Less {
            b
        } else {
            a
        }
    }

    fn key_hash(&self, ctx: &PickContext<'_>) -> u64 {
        match (&self.hash_key, ctx.header) {
            (HashKey::Header(_), Some(value)) => hash(KEY_SEED, value),
            _ => ip_hash(ctx.client_ip),
        }
    }
}

/// An IPv4 client seen on a dual-stack listener as `::ffff:a.b.c.d` hashes as `a.b.c.d`.
fn ip_hash(ip: IpAddr) -> u64 {
    match ip.to_canonical() {
        IpAddr::V4(a) => hash(KEY_SEED, &a.octets()),
        IpAddr::V6(a) => hash(KEY_SEED, &a.octets()),
    }
}

/// Smooth weighted round robin (as nginx does it): over any window of `sum(weights)` picks each
/// target is chosen exactly `weight` times, and heavy targets are spread out, not bunched.
/// Targets with weight 0 are never chosen. One per target group per worker.
///
/// This is the selector the worker uses today, blind to health; `Selector` with
/// `Algorithm::RoundRobin` picks the same sequence among the targets `Availability` allows,
/// and replaces this once the worker moves to it.
#[derive(Debug, Clone)]
pub struct RoundRobin {
    weights: Vec<i64>,
    current: Vec<i64>,
    total: i64,
}

impl RoundRobin {
    pub fn new(targets: &[Target]) -> Self {
        let weights: Vec<i64> = targets.iter().map(|t| i64::from(t.weight)).collect();
        let total = weights.iter().sum();
        RoundRobin {
            current: vec![0; weights.len()],
            weights,
            total,
        }
    }

    /// The next target, or `None` when no target can take requests.
    pub fn pick(&mut self) -> Option<usize> {
        if self.total == 0 {
            return None;
        }
        let mut best = 0;
        for i in 0..self.weights.len() {
            self.current[i] += self.weights[i];
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= self.total;
        Some(best)
    }

    /// The order in which to try targets for one request after `first` failed to connect:
    /// every other target with a non-zero weight, once each.
    pub fn retry_order(&self, first: usize) -> impl Iterator<Item = usize> + '_ {
        let n = self.weights.len();
        (1..n)
            .map(move |k| (first + k) % n)
            .filter(move |&i| self.weights[i] > 0)
    }

    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::balance::test_targets as targets;

    #[test]
    fn equal_weights_alternate() {
        let mut rr = RoundRobin::new(&targets(&[1, 1, 1]));
        let picks: Vec<_> = (0..6).map(|_| rr.pick().unwrap()).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn weights_are_respected_exactly_over_a_window() {
        let mut rr = RoundRobin::new(&targets(&[5, 1, 2]));
        let mut counts = [0; 3];
        for _ in 0..8 * 100 {
            counts[rr.pick().unwrap()] += 1;
        }
        assert_eq!(counts, [500, 100, 200]);
    }

    #[test]
    fn heavy_target_is_spread_not_bunched() {
        let mut rr = RoundRobin::new(&targets(&[5, 1, 1]));
        let picks: Vec<_> = (0..7).map(|_| rr.pick().unwrap()).collect();
        assert_eq!(picks, [0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn zero_weight_targets_are_never_picked_nor_retried() {
        let mut rr = RoundRobin::new(&targets(&[0, 1, 0, 1]));
        for _ in 0..10 {
            assert!(matches!(rr.pick(), Some(1 | 3)));
        }
        assert_eq!(rr.retry_order(1).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn empty_or_all_zero_groups_have_no_pick() {
        assert_eq!(RoundRobin::new(&[]).pick(), None);
        assert_eq!(RoundRobin::new(&targets(&[0, 0])).pick(), None);
    }

    #[test]
    fn retry_order_visits_every_other_target_once() {
        let rr = RoundRobin::new(&targets(&[1, 1, 1, 1]));
        assert_eq!(rr.retry_order(2).collect::<Vec<_>>(), [3, 0, 1]);
    }
}
