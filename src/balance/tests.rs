//! The selector against its contract, for every algorithm: what may be picked (health,
//! suspect, draining, weight 0, fail open), how often (weights), P2C's distinct pair,
//! consistent hashing's stability, requests in flight across updates, and the retry order.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;
use crate::config::{Algorithm, HashKey, Target};

const ALL: [Algorithm; 5] = [
    Algorithm::RoundRobin,
    Algorithm::LeastOutstandingRequests,
    Algorithm::WeightedRandom,
    Algorithm::P2cLeastOutstanding,
    Algorithm::ConsistentHash,
];

use super::{test_target as target, test_targets as targets};

fn selector(algorithm: Algorithm, t: &[Target]) -> Selector {
    Selector::new(algorithm, t, &HashKey::ClientIp, 42)
}

/// The `k`-th of a fixed spread of client addresses.
fn client(k: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(k.wrapping_mul(2_654_435_761)))
}

/// `n` picks with a different client each time; every pick is ended before the next begins
/// unless `hold` keeps it in flight.
fn picks(s: &mut Selector, a: &Availability, n: u32) -> Vec<usize> {
    (0..n)
        .map(|k| {
            let t = s.pick(&PickContext::new(client(k)), a).unwrap();
            let o = s.begin(t);
            s.end(o);
            t
        })
        .collect()
}

fn counts(picks: &[usize], n: usize) -> Vec<u32> {
    let mut c = vec![0; n];
    for &p in picks {
        c[p] += 1;
    }
    c
}

#[test]
fn selector_round_robin_picks_what_round_robin_picks_when_all_are_healthy() {
    for w in [&[1, 1, 1][..], &[5, 1, 1], &[0, 3, 2, 7], &[999, 1]] {
        let t = targets(w);
        let mut old = RoundRobin::new(&t);
        let mut new = selector(Algorithm::RoundRobin, &t);
        let a = Availability::new(&t, TargetState::HEALTHY);
        for k in 0..200 {
            assert_eq!(
                new.pick(&PickContext::new(client(k)), &a),
                old.pick(),
                "{w:?}"
            );
        }
    }
}

#[test]
fn weighted_round_robin_and_weighted_random_respect_weights_within_two_percent() {
    let w = [5, 3, 2, 1, 9];
    let t = targets(&w);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let total: u32 = w.iter().sum();
    for algorithm in [Algorithm::RoundRobin, Algorithm::WeightedRandom] {
        let mut s = selector(algorithm, &t);
        let c = counts(&picks(&mut s, &a, 100_000), w.len());
        for (i, &wi) in w.iter().enumerate() {
            let want = 100_000.0 * f64::from(wi) / f64::from(total);
            let got = f64::from(c[i]);
            assert!(
                (got - want).abs() <= want * 0.02,
                "{algorithm:?} target {i}: {got} picks, want {want:.0} ± 2%"
            );
        }
    }
}

#[test]
fn slow_start_scales_a_targets_share() {
    let t = targets(&[1, 1]);
    let mut a = Availability::new(&t, TargetState::HEALTHY);
    a.set_ramp(1, RAMP_FULL / 4);
    for algorithm in [Algorithm::RoundRobin, Algorithm::WeightedRandom] {
        let mut s = selector(algorithm, &t);
        let c = counts(&picks(&mut s, &a, 10_000), 2);
        // Shares 4:1, so 2000 of 10,000 for the ramping target.
        assert!((1900..=2100).contains(&c[1]), "{algorithm:?}: {c:?}");
    }
}

#[test]
fn least_outstanding_takes_the_target_with_fewest_in_flight_and_rotates_ties() {
    let t = targets(&[1, 1, 1]);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let mut s = selector(Algorithm::LeastOutstandingRequests, &t);
    // Ties at zero load: one each in turn.
    let first = picks(&mut s, &a, 6);
    assert_eq!(counts(&first, 3), [2, 2, 2]);
    let _busy = [s.begin(0), s.begin(0), s.begin(2)];
    for k in 0..10 {
        assert_eq!(s.pick(&PickContext::new(client(k)), &a), Some(1));
    }
    let _more = s.begin(1);
    let _more2 = s.begin(1);
    // 0 has 2, 1 has 2, 2 has 1.
    assert_eq!(s.pick(&PickContext::new(client(0)), &a), Some(2));
}

#[test]
fn least_outstanding_weighs_requests_in_flight_by_weight() {
    let t = targets(&[3, 1]);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let mut s = selector(Algorithm::LeastOutstandingRequests, &t);
    // Hold every request: in-flight counts settle at 3:1.
    let mut held = Vec::new();
    for k in 0..400 {
        let p = s.pick(&PickContext::new(client(k)), &a).unwrap();
        held.push(s.begin(p));
    }
    assert_eq!((s.outstanding(0), s.outstanding(1)), (300, 100));
    for o in held {
        s.end(o);
    }
    assert_eq!((s.outstanding(0), s.outstanding(1)), (0, 0));
}

#[test]
fn p2c_never_picks_the_busiest_target_because_its_two_choices_differ() {
    // Loads 0, 1, 9 (weights equal): any two distinct targets include a lighter one than 2,
    // so 2 is never picked; one draw of the same target twice would pick it.
    let t = targets(&[1, 1, 1]);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let mut s = selector(Algorithm::P2cLeastOutstanding, &t);
    let _held: Vec<Outstanding> = [1]
        .into_iter()
        .chain([2; 9])
        .map(|target| s.begin(target))
        .collect();
    let c = counts(&picks(&mut s, &a, 30_000), 3);
    assert_eq!(c[2], 0, "{c:?}");
    // 0 wins every pair it is in (2 of 3 pairs), 1 the pair {1, 2}.
    assert!((9_500..=10_500).contains(&c[1]), "{c:?}");
}

#[test]
fn p2c_with_two_targets_always_takes_the_lighter() {
    let t = targets(&[1, 1]);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let mut s = selector(Algorithm::P2cLeastOutstanding, &t);
    let _held = s.begin(0);
    assert!(picks(&mut s, &a, 1000).iter().all(|&p| p == 1));
}

#[test]
fn consistent_hash_maps_a_client_to_one_target_on_every_worker() {
    let t = targets(&[1; 10]);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let mut w1 = Selector::new(Algorithm::ConsistentHash, &t, &HashKey::ClientIp, 1);
    let mut w2 = Selector::new(Algorithm::ConsistentHash, &t, &HashKey::ClientIp, 2);
    let mut seen = BTreeSet::new();
    for k in 0..1000 {
        let ctx = PickContext::new(client(k));
        let p = w1.pick(&ctx, &a);
        assert_eq!(p, w1.pick(&ctx, &a));
        assert_eq!(p, w2.pick(&ctx, &a));
        seen.insert(p.unwrap());
    }
    assert_eq!(seen.len(), 10);
}

#[test]
fn consistent_hash_by_header_follows_the_value_and_falls_back_to_the_client_ip() {
    let t = targets(&[1; 20]);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let key = HashKey::Header("x-user".into());
    let mut s = Selector::new(Algorithm::ConsistentHash, &t, &key, 0);
    assert_eq!(s.hash_header(), Some("x-user"));
    assert_eq!(selector(Algorithm::RoundRobin, &t).hash_header(), None);
    // One user from many addresses lands on one target; many users spread.
    let alice = |k| PickContext::new(client(k)).with_header(Some(b"alice"));
    let at = s.pick(&alice(0), &a);
    assert!((1..100).all(|k| s.pick(&alice(k), &a) == at));
    let users: BTreeSet<_> = (0..200u32)
        .map(|u| {
            let name = u.to_string();
            s.pick(&alice(0).with_header(Some(name.as_bytes())), &a)
        })
        .collect();
    assert!(users.len() > 15, "{users:?}");
    // Without the header the client IP decides, as with the client_ip key.
    let mut by_ip = selector(Algorithm::ConsistentHash, &t);
    for k in 0..100 {
        let ctx = PickContext::new(client(k));
        assert_eq!(s.pick(&ctx, &a), by_ip.pick(&ctx, &a));
    }
}

#[test]
fn an_ipv4_client_on_a_dual_stack_listener_hashes_as_its_ipv4_address() {
    let t = targets(&[1; 50]);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let mut s = selector(Algorithm::ConsistentHash, &t);
    for k in 0..200 {
        let IpAddr::V4(v4) = client(k) else {
            unreachable!()
        };
        let mapped = IpAddr::V6(v4.to_ipv6_mapped());
        assert_eq!(
            s.pick(&PickContext::new(client(k)), &a),
            s.pick(&PickContext::new(mapped), &a)
        );
    }
    let v6 = PickContext::new(IpAddr::V6(Ipv6Addr::LOCALHOST));
    assert!(s.pick(&v6, &a).is_some());
}

/// The share of `keys` clients whose target differs between two selector/availability pairs.
fn moved(
    keys: u32,
    (s1, a1, t1): (&mut Selector, &Availability, &[Target]),
    (s2, a2, t2): (&mut Selector, &Availability, &[Target]),
) -> f64 {
    let mut moved = 0;
    for k in 0..keys {
        let ctx = PickContext::new(client(k));
        let before = t1[s1.pick(&ctx, a1).unwrap()].address;
        let after = t2[s2.pick(&ctx, a2).unwrap()].address;
        if before != after {
            moved += 1;
        }
    }
    f64::from(moved) / f64::from(keys)
}

#[test]
fn removing_one_of_n_targets_remaps_at_most_one_nth_plus_two_percent_of_keys() {
    const KEYS: u32 = 20_000;
    for n in 2..=20 {
        for gone in [0, n / 2, n - 1] {
            let t = targets(&vec![1; n]);
            let a = Availability::new(&t, TargetState::HEALTHY);
            let mut before = selector(Algorithm::ConsistentHash, &t);
            let mut rest = t.clone();
            rest.remove(gone);
            let mut after = before.clone();
            after.update(&rest);
            let mut a2 = a.clone();
            a2.update(&rest, TargetState::HEALTHY);
            let share = moved(KEYS, (&mut before, &a, &t), (&mut after, &a2, &rest));
            let bound = 1.0 / n as f64 + 0.02;
            assert!(
                share <= bound,
                "n={n} removed {gone}: {share:.4} > {bound:.4}"
            );
        }
    }
}

#[test]
fn an_unhealthy_target_moves_only_its_own_keys() {
    const KEYS: u32 = 20_000;
    for n in [2, 5, 13] {
        let t = targets(&vec![1; n]);
        let a = Availability::new(&t, TargetState::HEALTHY);
        let mut s = selector(Algorithm::ConsistentHash, &t);
        for down in 0..n {
            let mut a2 = a.clone();
            a2.set_healthy(down, false);
            let mut own = 0;
            for k in 0..KEYS {
                let ctx = PickContext::new(client(k));
                let before = s.pick(&ctx, &a).unwrap();
                let after = s.pick(&ctx, &a2).unwrap();
                if before == down {
                    own += 1;
                    assert_ne!(after, down);
                } else {
                    assert_eq!(
                        after, before,
                        "n={n}, {down} down: a healthy target's key moved"
                    );
                }
            }
            // About 1/n of the keys were its own.
            let share = f64::from(own) / f64::from(KEYS);
            assert!((share - 1.0 / n as f64).abs() < 0.02, "n={n}: {share}");
        }
    }
}

#[test]
fn requests_in_flight_survive_a_target_list_update() {
    let t = targets(&[1, 1, 1, 1]);
    let mut s = selector(Algorithm::LeastOutstandingRequests, &t);
    let on_0: Vec<Outstanding> = (0..3).map(|_| s.begin(0)).collect();
    let on_2 = s.begin(2);
    let mut on_3: Vec<Outstanding> = (0..5).map(|_| s.begin(3)).collect();
    // Remove 1 and 0 (with 3 in flight), reorder, add a new target.
    let new = vec![t[3], target(9, 1), t[2]];
    s.update(&new);
    assert_eq!(
        (0..3).map(|i| s.outstanding(i)).collect::<Vec<_>>(),
        [5, 0, 1]
    );
    // The removed target's requests end against its old slot, not against a reused one.
    for o in on_0 {
        s.end(o);
    }
    assert_eq!(
        (0..3).map(|i| s.outstanding(i)).collect::<Vec<_>>(),
        [5, 0, 1]
    );
    s.end(on_2);
    s.end(on_3.pop().unwrap());
    assert_eq!(
        (0..3).map(|i| s.outstanding(i)).collect::<Vec<_>>(),
        [4, 0, 0]
    );
    // Freed slots are reused by later additions, starting from zero.
    let newer = vec![t[3], target(9, 1), t[2], target(10, 1), target(11, 1)];
    s.update(&newer);
    assert_eq!(
        (0..5).map(|i| s.outstanding(i)).collect::<Vec<_>>(),
        [4, 0, 0, 0, 0]
    );
    // A reused slot names one target only: ending a request on one new target leaves the
    // other's count alone.
    let on_3 = s.begin(3);
    let on_4 = s.begin(4);
    s.end(on_3);
    assert_eq!((s.outstanding(3), s.outstanding(4)), (0, 1));
    s.end(on_4);
    assert_eq!((s.outstanding(3), s.outstanding(4)), (0, 0));
    let a = Availability::new(&newer, TargetState::HEALTHY);
    assert_ne!(s.pick(&PickContext::new(client(0)), &a), Some(0));
}

#[test]
fn round_robin_keeps_its_place_across_an_update_that_keeps_its_targets() {
    let t = targets(&[1, 1, 1]);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let mut s = selector(Algorithm::RoundRobin, &t);
    assert_eq!(picks(&mut s, &a, 2), [0, 1]);
    s.update(&t);
    assert_eq!(picks(&mut s, &a, 4), [2, 0, 1, 2]);
}

#[test]
fn an_empty_group_or_one_with_nothing_eligible_picks_nothing() {
    for algorithm in ALL {
        let mut s = selector(algorithm, &[]);
        let a = Availability::new(&[], TargetState::HEALTHY);
        assert_eq!(s.pick(&PickContext::new(client(0)), &a), None);
        let t = targets(&[1, 0]);
        let mut s = selector(algorithm, &t);
        let mut a = Availability::new(&t, TargetState::HEALTHY);
        a.set_draining(0, true);
        assert_eq!(s.pick(&PickContext::new(client(0)), &a), None);
        assert_eq!(s.retry_order(0, &a).count(), 0);
    }
}

#[test]
fn p2c_draws_its_pair_by_weight_so_at_zero_load_shares_follow_weights() {
    let w = [6, 3, 1];
    let t = targets(&w);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let mut s = selector(Algorithm::P2cLeastOutstanding, &t);
    let c = counts(&picks(&mut s, &a, 100_000), 3);
    for (i, &wi) in w.iter().enumerate() {
        let want = 10_000.0 * f64::from(wi);
        assert!((f64::from(c[i]) - want).abs() < want * 0.03, "{c:?}");
    }
}

#[test]
fn least_outstanding_at_zero_load_spreads_requests_by_weight() {
    let t = targets(&[2, 1]);
    let a = Availability::new(&t, TargetState::HEALTHY);
    let mut s = selector(Algorithm::LeastOutstandingRequests, &t);
    assert_eq!(picks(&mut s, &a, 6), [0, 1, 0, 0, 1, 0]);
}

/// A random group: weights, and per target healthy / suspect / draining / ramp.
fn group() -> impl Strategy<Value = (Vec<u32>, Vec<TargetState>)> {
    prop::collection::vec(
        (
            prop_oneof![Just(0u32), 1u32..=5, Just(999)],
            any::<(bool, bool, bool)>(),
            prop_oneof![Just(RAMP_FULL), 1..=RAMP_FULL],
        ),
        0..12,
    )
    .prop_map(|v| {
        v.into_iter()
            .map(|(w, (healthy, suspect, draining), ramp)| {
                (
                    w,
                    TargetState {
                        healthy,
                        suspect,
                        draining,
                        ramp,
                    },
                )
            })
            .unzip()
    })
}

fn availability(weights: &[u32], states: &[TargetState]) -> Availability {
    let t = targets(weights);
    let mut a = Availability::new(&t, TargetState::HEALTHY);
    a.modify(|s| s.copy_from_slice(states));
    a
}

proptest! {
    #[test]
    fn picks_only_good_targets_while_one_exists_and_fails_open_otherwise(
        (weights, states) in group(),
        algorithm in prop::sample::select(ALL.to_vec()),
        seed in any::<u64>(),
        held in prop::collection::vec(0usize..12, 0..20),
    ) {
        let t = targets(&weights);
        let a = availability(&weights, &states);
        let mut s = Selector::new(algorithm, &t, &HashKey::ClientIp, seed);
        for h in held.into_iter().filter(|&h| h < t.len()) {
            let _ = s.begin(h);
        }
        let open = |i: usize| !states[i].draining && weights[i] > 0;
        let good = |i: usize| open(i) && states[i].healthy && !states[i].suspect;
        let any_good = (0..t.len()).any(good);
        let any_open = (0..t.len()).any(open);
        prop_assert_eq!(a.fail_open(), !any_good && any_open);
        for k in 0..50 {
            let p = s.pick(&PickContext::new(client(k)), &a);
            match p {
                None => prop_assert!(!any_open),
                Some(p) if any_good => prop_assert!(good(p), "picked {} of {:?}", p, states),
                Some(p) => prop_assert!(open(p), "picked {} of {:?}", p, states),
            }
        }
    }

    #[test]
    fn failing_open_reaches_every_non_draining_weighted_target(
        weights in prop::collection::vec(1u32..=5, 1..8),
        algorithm in prop::sample::select(vec![
            Algorithm::RoundRobin,
            Algorithm::LeastOutstandingRequests,
            Algorithm::WeightedRandom,
            Algorithm::P2cLeastOutstanding,
        ]),
        seed in any::<u64>(),
    ) {
        let t = targets(&weights);
        let a = Availability::new(&t, TargetState::INITIAL);
        prop_assert!(a.fail_open());
        let mut s = Selector::new(algorithm, &t, &HashKey::ClientIp, seed);
        let c = counts(&picks(&mut s, &a, 2000), t.len());
        prop_assert!(c.iter().all(|&n| n > 0), "{:?}", c);
        // With requests held in flight, the load-aware algorithms move on too.
        let mut c = vec![0; t.len()];
        let mut held = Vec::new();
        for k in 0..200 {
            let p = s.pick(&PickContext::new(client(k)), &a).unwrap();
            c[p] += 1;
            held.push(s.begin(p));
        }
        prop_assert!(c.iter().all(|&n| n > 0), "{:?}", c);
    }

    #[test]
    fn weighted_random_shares_stay_within_two_points_of_the_weights(
        weights in prop::collection::vec(1u32..=20, 2..6),
        seed in any::<u64>(),
    ) {
        let t = targets(&weights);
        let a = Availability::new(&t, TargetState::HEALTHY);
        let mut s = Selector::new(Algorithm::WeightedRandom, &t, &HashKey::ClientIp, seed);
        let c = counts(&picks(&mut s, &a, 100_000), t.len());
        let total: u32 = weights.iter().sum();
        for (i, &w) in weights.iter().enumerate() {
            let share = f64::from(c[i]) / 100_000.0;
            let want = f64::from(w) / f64::from(total);
            prop_assert!((share - want).abs() < 0.02, "{} vs {}", share, want);
        }
    }

    #[test]
    fn p2c_never_picks_the_one_target_busiest_for_its_weight(
        weights in prop::collection::vec(1u32..=5, 2..8),
        loads in prop::collection::vec(0u32..6, 8),
        seed in any::<u64>(),
    ) {
        // Any two distinct targets include one lighter than the busiest, so if it is busiest
        // alone it never wins; a pair of the same target twice would let it.
        let t = targets(&weights);
        let a = Availability::new(&t, TargetState::HEALTHY);
        let mut s = Selector::new(Algorithm::P2cLeastOutstanding, &t, &HashKey::ClientIp, seed);
        let _held: Vec<Outstanding> = (0..t.len())
            .flat_map(|i| std::iter::repeat_n(i, loads[i] as usize))
            .map(|i| s.begin(i))
            .collect();
        let per_weight = |i: usize| f64::from(loads[i]) / f64::from(weights[i]);
        let busiest = (0..t.len()).max_by(|&x, &y| per_weight(x).total_cmp(&per_weight(y))).unwrap();
        let alone = (0..t.len()).all(|i| i == busiest || per_weight(i) < per_weight(busiest));
        prop_assume!(alone);
        for k in 0..200 {
            prop_assert_ne!(s.pick(&PickContext::new(client(k)), &a), Some(busiest));
        }
    }

    #[test]
    fn retry_order_visits_every_other_eligible_target_once(
        (weights, states) in group(),
        first in 0usize..12,
    ) {
        let t = targets(&weights);
        let a = availability(&weights, &states);
        let s = selector(Algorithm::RoundRobin, &t);
        let order: Vec<usize> = s.retry_order(first, &a).collect();
        let unique: BTreeSet<usize> = order.iter().copied().collect();
        prop_assert_eq!(unique.len(), order.len());
        let want: BTreeSet<usize> = a
            .eligible()
            .iter()
            .map(|&e| e as usize)
            .filter(|&e| e != first)
            .collect();
        prop_assert_eq!(unique, want);
        // It starts after `first` and wraps round.
        if let Some(&head) = order.first() {
            let after = order.iter().any(|&o| o > first);
            prop_assert!(!after || head > first);
        }
    }

    #[test]
    fn in_flight_counts_follow_addresses_through_any_update(
        before in prop::collection::btree_set(0usize..16, 0..8),
        after in prop::collection::btree_set(0usize..16, 0..8),
        loads in prop::collection::vec(0u32..4, 16),
        shuffle in any::<u64>(),
    ) {
        let old: Vec<Target> = before.iter().map(|&i| target(i, 1)).collect();
        let mut new: Vec<Target> = after.iter().map(|&i| target(i, 1)).collect();
        new.sort_by_key(|t| super::mix::hash(shuffle, t.address.to_string().as_bytes()));
        let mut s = selector(Algorithm::P2cLeastOutstanding, &old);
        let mut held = Vec::new();
        for (k, &i) in before.iter().enumerate() {
            for _ in 0..loads[i] {
                held.push((i, s.begin(k)));
            }
        }
        s.update(&new);
        for (k, t) in new.iter().enumerate() {
            let id = (0..16).find(|&i| target(i, 1).address == t.address).unwrap();
            let want = if before.contains(&id) { loads[id] } else { 0 };
            prop_assert_eq!(s.outstanding(k), want);
        }
        for (_, o) in held {
            s.end(o);
        }
        prop_assert!((0..new.len()).all(|k| s.outstanding(k) == 0));
    }
}
