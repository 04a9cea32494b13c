//! Which targets an algorithm may pick (DESIGN.md §5), from what the caller knows of each:
//! active health, this worker's passive suspicion, draining, weight and the slow-start ramp.
//!
//! The rules, in order:
//! 1. A draining target and a target of weight 0 never get a new request.
//! 2. If any remaining target is healthy and not suspect, only those are picked.
//! 3. Otherwise fail open: every remaining target may be picked, as ALB routes to all targets
//!    when none is healthy. Suspect targets count as unhealthy here; an unhealthy target the
//!    active checks still probe is as good a guess as one this worker saw refuse.
//!
//! The eligible set and its weights change only when a state changes, so they are worked out
//! then, not on every pick: a pick reads a slice.

use std::net::SocketAddr;
use std::time::Duration;

use crate::config::Target;

/// A slow-start ramp of `RAMP_FULL` is the whole weight; effective weights are in these
/// thousandths of a weight unit, so a weight of 3 at full ramp is 3000.
pub const RAMP_FULL: u32 = 1000;

/// What the caller knows of one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetState {
    /// Passed its active checks (`Health::Healthy`), or checks are off.
    pub healthy: bool,
    /// This worker saw it refuse a connection and has not seen a passing check since.
    pub suspect: bool,
    /// Deregistered: in-flight requests finish, new ones go elsewhere.
    pub draining: bool,
    /// Slow-start ramp, `1..=RAMP_FULL` (`slow_start_ramp`); `RAMP_FULL` when not ramping.
    pub ramp: u32,
}

impl TargetState {
    /// Healthy, not suspect, not draining, full weight: a target when checks are off.
    pub const HEALTHY: TargetState = TargetState {
        healthy: true,
        suspect: false,
        draining: false,
        ramp: RAMP_FULL,
    };
    /// Not yet passed a check: ALB's "initial". Picked only when the group fails open.
    pub const INITIAL: TargetState = TargetState {
        healthy: false,
        ..TargetState::HEALTHY
    };

    fn good(&self) -> bool {
        self.healthy && !self.suspect
    }
}

/// A target's slow-start ramp `elapsed` into a ramp of `duration`: a straight line from 0 to
/// `RAMP_FULL`, as ALB's slow start increases a new target's share linearly. A zero `duration`
/// is slow start off. The ramp never drops below 1, so a target that is the only one eligible
/// still takes requests at the start of its ramp (its share of a group is what the ramp
/// scales; alone it has all of it).
pub fn slow_start_ramp(elapsed: Duration, duration: Duration) -> u32 {
    if duration.is_zero() || elapsed >= duration {
        return RAMP_FULL;
    }
    let ramp = elapsed.as_micros() * u128::from(RAMP_FULL) / duration.as_micros();
    u32::try_from(ramp).unwrap_or(RAMP_FULL).max(1)
}

/// A target's effective weight `elapsed` into a slow start of `duration`, in thousandths of a
/// weight unit (`weight * slow_start_ramp(..)`).
pub fn slow_start_weight(weight: u32, elapsed: Duration, duration: Duration) -> u64 {
    u64::from(weight) * u64::from(slow_start_ramp(elapsed, duration))
}

/// The state of every target of one group, indexed like its target list, and the set an
/// algorithm may pick from. One per group per worker, beside its `Selector`.
#[derive(Debug, Clone)]
pub struct Availability {
    addrs: Vec<SocketAddr>,
    weights: Vec<u32>,
    states: Vec<TargetState>,
    /// Targets the rules above allow, ascending.
    eligible: Vec<u32>,
    /// `weight * ramp` of each target when eligible, else 0.
    effective: Vec<u64>,
    /// Running sums of `effective` over `eligible`, for weighted draws.
    cumulative: Vec<u64>,
    fail_open: bool,
}

impl Availability {
    /// Every target starts in `initial`: `TargetState::INITIAL` when health checks are on,
    /// `TargetState::HEALTHY` when they are off.
    pub fn new(targets: &[Target], initial: TargetState) -> Availability {
        let mut a = Availability {
            addrs: targets.iter().map(|t| t.address).collect(),
            weights: targets.iter().map(|t| t.weight).collect(),
            states: vec![initial; targets.len()],
            eligible: Vec::with_capacity(targets.len()),
            effective: vec![0; targets.len()],
            cumulative: Vec::with_capacity(targets.len()),
            fail_open: false,
        };
        a.recompute();
        a
    }

    /// A new target list for the group: targets whose address was already there keep their
    /// state (with the new weight); new ones start in `added`.
    pub fn update(&mut self, targets: &[Target], added: TargetState) {
        let mut by_addr: Vec<(SocketAddr, TargetState)> = self
            .addrs
            .iter()
            .copied()
            .zip(self.states.iter().copied())
            .collect();
        by_addr.sort_unstable_by_key(|&(a, _)| a);
        self.states = targets
            .iter()
            .map(
                |t| match by_addr.binary_search_by_key(&t.address, |&(a, _)| a) {
                    Ok(k) => by_addr[k].1,
                    Err(_) => added,
                },
            )
            .collect();
        self.addrs = targets.iter().map(|t| t.address).collect();
        self.weights = targets.iter().map(|t| t.weight).collect();
        self.effective = vec![0; targets.len()];
        self.recompute();
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    pub fn state(&self, target: usize) -> TargetState {
        self.states[target]
    }

    pub fn set(&mut self, target: usize, state: TargetState) {
        if self.states[target] != state {
            self.states[target] = state;
            self.recompute();
        }
    }

    pub fn set_healthy(&mut self, target: usize, healthy: bool) {
        self.set(
            target,
            TargetState {
                healthy,
                ..self.states[target]
            },
        );
    }

    pub fn set_suspect(&mut self, target: usize, suspect: bool) {
        self.set(
            target,
            TargetState {
                suspect,
                ..self.states[target]
            },
        );
    }

    pub fn set_draining(&mut self, target: usize, draining: bool) {
        self.set(
            target,
            TargetState {
                draining,
                ..self.states[target]
            },
        );
    }

    /// `ramp` is clamped to `1..=RAMP_FULL`.
    pub fn set_ramp(&mut self, target: usize, ramp: u32) {
        let ramp = ramp.clamp(1, RAMP_FULL);
        self.set(
            target,
            TargetState {
                ramp,
                ..self.states[target]
            },
        );
    }

    /// Changes many states at once and works out the eligible set once (a slow-start tick
    /// over every ramping target, a health snapshot from the checker).
    pub fn modify(&mut self, change: impl FnOnce(&mut [TargetState])) {
        change(&mut self.states);
        for s in &mut self.states {
            s.ramp = s.ramp.clamp(1, RAMP_FULL);
        }
        self.recompute();
    }

    /// The targets an algorithm may pick, ascending. Empty: answer 503.
    #[inline]
    pub fn eligible(&self) -> &[u32] {
        &self.eligible
    }

    #[inline]
    pub fn is_eligible(&self, target: usize) -> bool {
        self.effective.get(target).is_some_and(|&w| w > 0)
    }

    /// No target is healthy and not suspect, so every non-draining one is eligible.
    pub fn fail_open(&self) -> bool {
        self.fail_open
    }

    /// `weight * ramp` of an eligible target; 0 for any other.
    #[inline]
    pub fn effective_weight(&self, target: usize) -> u64 {
        self.effective[target]
    }

    /// The sum of the eligible targets' effective weights.
    #[inline]
    pub fn total_weight(&self) -> u64 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// The eligible target that a draw `r` in `0..total_weight()` lands on: each target owns
    /// a run of draws as long as its effective weight.
    #[inline]
    pub fn weighted(&self, r: u64) -> Option<usize> {
        self.eligible
            .get(self.weighted_position(r))
            .map(|&t| t as usize)
    }

    /// Where in `eligible()` a draw `r` lands (`eligible().len()` when `r` is past the total).
    #[inline]
    pub fn weighted_position(&self, r: u64) -> usize {
        self.cumulative.partition_point(|&c| c <= r)
    }

    /// The first draw that lands on `eligible()[k]`: the weights of the targets before it.
    #[inline]
    pub fn weight_before(&self, k: usize) -> u64 {
        k.checked_sub(1).map_or(0, |j| self.cumulative[j])
    }

    fn recompute(&mut self) {
        let open = |s: &TargetState, w: u32| !s.draining && w > 0;
        let any_good = self
            .states
            .iter()
            .zip(&self.weights)
            .any(|(s, &w)| open(s, w) && s.good());
        self.fail_open = !any_good;
        self.eligible.clear();
        self.cumulative.clear();
        let mut sum = 0u64;
        for (i, (s, &w)) in self.states.iter().zip(&self.weights).enumerate() {
            let ok = open(s, w) && (s.good() || self.fail_open);
            self.effective[i] = if ok {
                u64::from(w) * u64::from(s.ramp)
            } else {
                0
            };
            if ok {
                sum += self.effective[i];
                self.eligible.push(i as u32);
                self.cumulative.push(sum);
            }
        }
        if self.eligible.is_empty() {
            // Nothing can take a request; "fail open" would say nothing useful.
            self.fail_open = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::balance::test_targets as targets;

    fn eligible(a: &Availability) -> Vec<u32> {
        a.eligible().to_vec()
    }

    #[test]
    fn only_healthy_unsuspected_targets_are_eligible_while_one_exists() {
        let mut a = Availability::new(&targets(&[1, 1, 1, 1]), TargetState::HEALTHY);
        a.set_healthy(0, false);
        a.set_suspect(1, true);
        a.set_draining(2, true);
        assert_eq!(eligible(&a), [3]);
        assert!(!a.fail_open());
    }

    #[test]
    fn with_no_healthy_target_every_non_draining_target_is_eligible() {
        let mut a = Availability::new(&targets(&[1, 1, 1]), TargetState::INITIAL);
        assert!(a.fail_open());
        assert_eq!(eligible(&a), [0, 1, 2]);
        a.set_draining(1, true);
        assert_eq!(eligible(&a), [0, 2]);
        a.set_healthy(2, true);
        assert!(!a.fail_open());
        assert_eq!(eligible(&a), [2]);
        a.set_suspect(2, true);
        assert!(a.fail_open());
        assert_eq!(eligible(&a), [0, 2]);
    }

    #[test]
    fn draining_and_zero_weight_targets_are_never_eligible_even_failing_open() {
        let mut a = Availability::new(&targets(&[0, 1, 1]), TargetState::INITIAL);
        a.set_draining(1, true);
        assert_eq!(eligible(&a), [2]);
        a.set_draining(2, true);
        assert!(eligible(&a).is_empty());
        assert!(!a.fail_open());
        assert_eq!(a.weighted(0), None);
    }

    #[test]
    fn a_healthy_target_of_weight_zero_does_not_stop_the_group_failing_open() {
        let mut a = Availability::new(&targets(&[0, 1]), TargetState::INITIAL);
        a.set_healthy(0, true);
        assert!(a.fail_open());
        assert_eq!(eligible(&a), [1]);
    }

    #[test]
    fn weighted_draws_land_on_runs_as_long_as_each_effective_weight() {
        let mut a = Availability::new(&targets(&[2, 1, 3]), TargetState::HEALTHY);
        a.set_ramp(2, 500);
        assert_eq!(a.total_weight(), 2000 + 1000 + 1500);
        assert_eq!(a.weighted(0), Some(0));
        assert_eq!(a.weighted(1999), Some(0));
        assert_eq!(a.weighted(2000), Some(1));
        assert_eq!(a.weighted(2999), Some(1));
        assert_eq!(a.weighted(3000), Some(2));
        assert_eq!(a.weighted(4499), Some(2));
        a.set_healthy(1, false);
        assert_eq!(a.weighted(2000), Some(2));
    }

    #[test]
    fn an_update_keeps_the_state_of_targets_that_stay_by_address() {
        let old = targets(&[1, 1, 1]);
        let mut a = Availability::new(&old, TargetState::HEALTHY);
        a.set_draining(1, true);
        a.set_ramp(2, 10);
        let new = vec![
            Target {
                weight: 5,
                ..old[2]
            },
            targets(&[1, 1, 1, 1])[3],
            old[1],
        ];
        a.update(&new, TargetState::INITIAL);
        assert_eq!(a.state(0).ramp, 10);
        assert_eq!(a.effective_weight(0), 50);
        assert_eq!(a.state(1), TargetState::INITIAL);
        assert!(a.state(2).draining);
        assert_eq!(eligible(&a), [0]);
    }

    #[test]
    fn the_slow_start_ramp_is_linear_from_a_floor_of_one_to_full() {
        let d = Duration::from_secs(100);
        assert_eq!(slow_start_ramp(Duration::ZERO, d), 1);
        assert_eq!(slow_start_ramp(Duration::from_secs(25), d), 250);
        assert_eq!(slow_start_ramp(Duration::from_millis(50_500), d), 505);
        assert_eq!(slow_start_ramp(Duration::from_secs(100), d), RAMP_FULL);
        assert_eq!(slow_start_ramp(Duration::from_secs(9999), d), RAMP_FULL);
        assert_eq!(slow_start_ramp(Duration::ZERO, Duration::ZERO), RAMP_FULL);
        assert_eq!(
            slow_start_weight(3, Duration::from_secs(30), Duration::from_secs(60)),
            1500
        );
        assert_eq!(slow_start_weight(0, Duration::ZERO, Duration::ZERO), 0);
    }

    #[test]
    fn modify_clamps_ramps_into_range() {
        let mut a = Availability::new(&targets(&[1, 1]), TargetState::HEALTHY);
        a.modify(|s| {
            s[0].ramp = 0;
            s[1].ramp = 5000;
        });
        assert_eq!(a.effective_weight(0), 1);
        assert_eq!(a.effective_weight(1), 1000);
    }
}
