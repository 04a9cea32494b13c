//! Target selection. A selector returns its first choice; callers walk the rest of the group
//! from there for retries (`RoundRobin::retry_order`).

use crate::config::Target;

/// Smooth weighted round robin (as nginx does it): over any window of `sum(weights)` picks each
/// target is chosen exactly `weight` times, and heavy targets are spread out, not bunched.
/// Targets with weight 0 are never chosen. One per target group per worker.
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

    fn targets(weights: &[u32]) -> Vec<Target> {
        weights
            .iter()
            .enumerate()
            .map(|(i, &weight)| Target {
                address: format!("127.0.0.1:{}", 9000 + i).parse().unwrap(),
                weight,
            })
            .collect()
    }

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
