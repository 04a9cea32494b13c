//! The wheel against a model: a `BTreeMap` keyed by `(deadline, insertion seq)` that fires
//! everything up to `now` in key order. Random insert, cancel, reset (earlier and later) and
//! advance (small steps, huge jumps, beyond the six levels, to the end of time) must give the
//! same expirations in the same order, each once, and the same answers to cancel and reset.
//! Deadlines also land around the edges of what the hot array's 32-bit tags hold on their own
//! (from `2^24` ticks behind now to `2^32` after that, low bits equal to a reserved tag), so
//! the far side table is exercised too.

use super::{TimerKey, Wheel};
use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::{BTreeMap, HashMap};

/// A deadline relative to the current tick, in shapes that reach every level and edge.
#[derive(Clone, Debug)]
enum When {
    Past(u64),
    Soon(u64),
    Within(u32, u64),
    /// Just around the start of the next slot of `level` (7: the next overflow span).
    Boundary(u32, i8),
    /// Just around the end (`true`) or the start of the window of deadlines the hot array
    /// holds on its own: `2^24` ticks behind now (or tick 0) and `2^32` ticks after that.
    WindowEdge(bool, i8),
    /// The first tick from now whose low 32 bits are `u32::MAX - k`, `cycles * 2^32` later:
    /// for `k` 0 and 1 the deadlines whose low bits are the hot array's reserved tags.
    LowBits(u32, u64),
    Absolute(u64),
}

impl When {
    fn at(&self, now: u64) -> u64 {
        match *self {
            When::Past(d) => now.saturating_sub(d),
            When::Soon(d) => now.saturating_add(d),
            When::Within(bits, d) => now.saturating_add(d & ((1u64 << bits) - 1)),
            When::Boundary(level, offset) => {
                let shift = 6 * level;
                let next = (now >> shift)
                    .checked_add(1)
                    .and_then(|n| n.checked_mul(1 << shift))
                    .unwrap_or(u64::MAX);
                next.saturating_add_signed(offset.into())
            }
            When::WindowEdge(ahead, offset) => {
                let start = now.saturating_sub(1 << 24);
                let edge = if ahead {
                    start.saturating_add(1 << 32)
                } else {
                    start
                };
                edge.saturating_add_signed(offset.into())
            }
            When::LowBits(k, cycles) => {
                let low = (u32::MAX - k) as u64;
                let this_cycle = (now & !(u32::MAX as u64)) | low;
                let first = if this_cycle >= now {
                    Some(this_cycle)
                } else {
                    this_cycle.checked_add(1 << 32)
                };
                first
                    .and_then(|t| t.checked_add(cycles << 32))
                    .unwrap_or(u64::MAX)
            }
            When::Absolute(t) => t,
        }
    }
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        1 => (0..100u64).prop_map(When::Past),
        4 => (0..130u64).prop_map(When::Soon),
        4 => (1..44u32, any::<u64>()).prop_map(|(b, d)| When::Within(b, d)),
        2 => (0..7u32, -2..3i8).prop_map(|(l, o)| When::Boundary(l, o)),
        1 => (any::<bool>(), -2..3i8).prop_map(|(a, o)| When::WindowEdge(a, o)),
        1 => (0..3u32, 0..3u64).prop_map(|(k, c)| When::LowBits(k, c)),
        1 => any::<u64>().prop_map(When::Absolute),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    Insert(When),
    Cancel(Index),
    Reset(Index, When),
    Advance(When),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => when().prop_map(Op::Insert),
        2 => any::<Index>().prop_map(Op::Cancel),
        3 => (any::<Index>(), when()).prop_map(|(i, w)| Op::Reset(i, w)),
        3 => when().prop_map(Op::Advance),
    ]
}

fn start() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        any::<u64>(),
        (0..200u64).prop_map(|d| (1u64 << 36) - 100 + d),
        (0..200u64).prop_map(|d| (1u64 << 32) - 100 + d),
        (0..1000u64).prop_map(|d| u64::MAX - d),
    ]
}

/// The reference: what fires, when, in which order.
struct Model {
    now: u64,
    queue: BTreeMap<(u64, u64), usize>,
    /// Timer id to its queue key, while armed.
    armed: HashMap<usize, (u64, u64)>,
}

impl Model {
    fn advance(&mut self, now: u64) -> Vec<usize> {
        self.now = self.now.max(now);
        let later = self.queue.split_off(&(self.now, u64::MAX));
        let due = std::mem::replace(&mut self.queue, later);
        due.into_values()
            .inspect(|id| {
                self.armed.remove(id);
            })
            .collect()
    }
}

fn run(now: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut wheel = Wheel::new(now);
    let mut model = Model {
        now,
        queue: BTreeMap::new(),
        armed: HashMap::new(),
    };
    // Every key ever handed out, id = position; stale ones stay to be tried again.
    let mut keys: Vec<TimerKey> = Vec::new();
    let mut fired = Vec::new();
    for op in ops {
        match op {
            Op::Insert(when) => {
                let (id, seq) = (keys.len(), keys.len() as u64);
                let deadline = when.at(model.now);
                keys.push(wheel.insert(deadline, id));
                model.queue.insert((deadline, seq), id);
                model.armed.insert(id, (deadline, seq));
            }
            Op::Cancel(i) if !keys.is_empty() => {
                let id = i.index(keys.len());
                let expected = model
                    .armed
                    .remove(&id)
                    .map(|k| model.queue.remove(&k).unwrap());
                prop_assert_eq!(wheel.cancel(keys[id]), expected, "cancel {}", id);
            }
            Op::Reset(i, when) if !keys.is_empty() => {
                let id = i.index(keys.len());
                let deadline = when.at(model.now);
                let armed = match model.armed.get_mut(&id) {
                    Some(key) => {
                        model.queue.remove(key);
                        key.0 = deadline;
                        model.queue.insert(*key, id);
                        true
                    }
                    None => false,
                };
                prop_assert_eq!(wheel.reset(keys[id], deadline), armed, "reset {}", id);
            }
            Op::Advance(when) => {
                let to = when.at(model.now);
                let expected = model.advance(to);
                fired.clear();
                wheel.advance(to, &mut fired);
                let got: Vec<usize> = fired.iter().map(|&(_, id)| id).collect();
                prop_assert_eq!(&got, &expected, "advance to {}", to);
                for &(key, id) in &fired {
                    prop_assert_eq!(key, keys[id]);
                }
                prop_assert_eq!(wheel.now(), model.now);
            }
            Op::Cancel(_) | Op::Reset(..) => {}
        }
        prop_assert_eq!(wheel.len(), model.armed.len());
        let earliest = model.queue.keys().next().map(|&(d, _)| d);
        match (wheel.next_deadline(), earliest) {
            (None, None) => {}
            // Overdue timers are due now, whatever their deadline.
            (Some(next), Some(earliest)) => {
                let due = earliest.max(model.now);
                prop_assert!(next <= due, "next_deadline {next} after {due}");
            }
            other => prop_assert!(false, "next_deadline and model disagree: {other:?}"),
        }
    }
    for (id, &key) in keys.iter().enumerate() {
        prop_assert_eq!(wheel.deadline(key), model.armed.get(&id).map(|k| k.0));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_wheel_fires_what_a_btreemap_fires_in_the_same_order(
        now in start(),
        ops in proptest::collection::vec(op(), 0..300),
    ) {
        run(now, ops)?;
    }
}
