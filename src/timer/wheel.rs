//! The wheel: entries in a slab, and per slot of each level (plus an overflow and an overdue
//! list) a vector of slab indices. Each entry knows its list and position, so removal is a
//! `swap_remove`. Vectors rather than intrusive linked lists: a cascade then reads a run of
//! independent indices and the CPU fetches many cold entries at once, where a linked list
//! would wait for each entry's miss to learn the next (measured: 606 ns per fired timer with
//! linked lists at 1,000,000 live timers).

use super::hot::{Hot, Tag};
use super::slots::{self, ListId, LEVELS, LISTS};
use slab::Slab;

/// A handle to one armed timer. It names a slab slot and the generation of the entry that was
/// put there, so a key whose timer has fired or been cancelled is rejected even after the slot
/// is reused. Generations are the low 32 bits of a per-wheel insertion counter: a stale key is
/// mistaken for a live one only if its slot is refilled exactly a multiple of `2^32` insertions
/// later.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

/// The rest of a timer, which a reset to a later deadline does not touch.
struct Entry<T> {
    /// Insertion order: breaks ties between equal deadlines, and gives the key's generation.
    seq: u64,
    /// Where the entry sits in `lists[list]`.
    pos: u32,
    /// The list the entry is filed in.
    list: ListId,
    value: T,
}

/// A hierarchical timing wheel over integer ticks; see the module documentation.
pub struct Wheel<T> {
    entries: Slab<Entry<T>>,
    /// Indexed like `entries`; apart from the rest so a later reset touches 8 bytes (measured
    /// at 1,000,000 live timers: 31 ns per reset with whole 32-byte entries, 16-21 with a
    /// 16-byte part holding the `u64` deadline and the list, 4.5-9 with these 8 bytes).
    hot: Vec<Hot>,
    /// The deadline of each timer whose tag is [`Tag::FAR`], by slab index; other slots hold
    /// leftovers. Grown only to the highest index that needed it, so a wheel whose deadlines
    /// stay near (all of a worker's) never allocates it.
    far: Vec<u64>,
    /// Slab indices per list; vectors keep their capacity, so steady state does not allocate.
    lists: Box<[Vec<u32>]>,
    /// Bit `s` of `occupied[l]` is set when slot `s` of level `l` holds entries.
    occupied: [u64; LEVELS],
    /// The tick of the last advance: every slot that starts at or before it has been processed.
    now: u64,
    /// The `seq` of the next insertion.
    next_seq: u64,
    /// At most the earliest deadline in the overflow list; `u64::MAX` when the list is empty.
    overflow_min: u64,
    /// At most the tick the earliest slot (or the overflow list) comes due, so an advance
    /// with nothing due costs a comparison.
    next_due: u64,
    /// Scratch for ordering one batch of expirations: `(deadline, seq, index)`.
    due: Vec<(u64, u64, u32)>,
    /// Scratch for one list being processed: `(deadline, index)`.
    gathered: Vec<(u64, u32)>,
}

impl<T> Wheel<T> {
    /// An empty wheel standing at tick `now`.
    pub fn new(now: u64) -> Self {
        Self::with_capacity(now, 0)
    }

    /// An empty wheel standing at tick `now`, with room for `capacity` timers before the slab
    /// grows.
    pub fn with_capacity(now: u64, capacity: usize) -> Self {
        Wheel {
            entries: Slab::with_capacity(capacity),
            hot: Vec::with_capacity(capacity),
            far: Vec::new(),
            lists: (0..LISTS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            now,
            next_seq: 0,
            overflow_min: u64::MAX,
            next_due: u64::MAX,
            due: Vec::new(),
            gathered: Vec::new(),
        }
    }

    /// The tick of the last advance (or of construction).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Armed timers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Arms a timer that fires at `deadline`; one at or before [`now`](Self::now) fires at the
    /// next advance.
    ///
    /// # Panics
    /// With `u32::MAX` timers armed at once.
    pub fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let index = self.entries.insert(Entry {
            seq,
            pos: 0,
            list: ListId::OVERDUE,
            value,
        });
        let hot = Hot {
            generation: seq as u32,
            tag: Tag::VACANT,
        };
        if index == self.hot.len() {
            self.hot.push(hot);
        } else {
            self.hot[index] = hot;
        }
        let index = u32::try_from(index).expect("a wheel holds at most u32::MAX timers");
        self.link(index, deadline);
        TimerKey {
            index,
            generation: seq as u32,
        }
    }

    /// Disarms a timer and returns its value; `None` if it has fired or been cancelled.
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        if !self.is_armed(key) {
            return None;
        }
        self.unlink(key.index);
        Some(self.vacate(key.index))
    }

    /// Moves a timer's deadline; `false` if it has fired or been cancelled. A later deadline,
    /// or an earlier one the entry's slot still comes due by, is only stored: the entry is
    /// re-filed when its slot comes due. Only a deadline before that slot relinks the entry.
    pub fn reset(&mut self, key: TimerKey, deadline: u64) -> bool {
        // The common case, a later deadline near the current tick for a timer whose deadline is
        // near too, reads and writes the 8-byte hot entry and nothing else.
        let now = self.now;
        if let Some(hot) = self.hot.get_mut(key.index as usize) {
            if hot.generation == key.generation && hot.tag.is_near() {
                if let Some(tag) = Tag::near(now, deadline) {
                    if deadline >= hot.tag.deadline(now) {
                        hot.tag = tag;
                        return true;
                    }
                }
            }
        }
        self.reset_slow(key, deadline)
    }

    /// [`reset`](Self::reset) for a stale key, a far deadline or an earlier one.
    fn reset_slow(&mut self, key: TimerKey, deadline: u64) -> bool {
        if !self.is_armed(key) {
            return false;
        }
        let later = deadline >= self.deadline_at(key.index);
        self.store_deadline(key.index, deadline);
        // A later deadline is never before the slot the entry is in: only stored.
        if !later && deadline < self.list_start(self.entries[key.index as usize].list) {
            self.unlink(key.index);
            self.link(key.index, deadline);
        }
        true
    }

    /// The deadline a timer fires at; `None` if it has fired or been cancelled.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.is_armed(key).then(|| self.deadline_at(key.index))
    }

    /// The value of an armed timer; `None` if it has fired or been cancelled.
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        if !self.is_armed(key) {
            return None;
        }
        Some(&mut self.entries[key.index as usize].value)
    }

    /// A tick to sleep until: no timer fires before it. It may be early (a slot above level 0
    /// comes due at its first tick, a lazily re-armed timer at its old slot); it is never late.
    /// At or before [`now`](Self::now) when a timer is overdue; `None` when the wheel is empty.
    pub fn next_deadline(&self) -> Option<u64> {
        if !self.lists[ListId::OVERDUE.index()].is_empty() {
            return Some(self.now);
        }
        self.next_expiration().map(|(_, start)| start)
    }

    /// Moves the wheel to tick `now` and appends every timer due by then to `fired`, each once,
    /// in deadline order; equal deadlines fire in the order they were inserted (a reset keeps a
    /// timer's place). A `now` before the last advance is taken as the last advance: ticks do
    /// not go backwards. Jumps straight from one occupied slot to the next, so a long idle gap
    /// costs no more than a short one.
    pub fn advance(&mut self, now: u64, fired: &mut Vec<(TimerKey, T)>) {
        let now = now.max(self.now);
        // Overdue first: their deadlines are at or before the last advance, before every slot.
        if !self.lists[ListId::OVERDUE.index()].is_empty() {
            self.process(ListId::OVERDUE, fired);
        }
        while self.next_due <= now {
            match self.next_expiration() {
                Some((list, start)) if start <= now => {
                    self.now = start;
                    self.process(list, fired);
                }
                next => {
                    self.next_due = next.map_or(u64::MAX, |(_, start)| start);
                    break;
                }
            }
        }
        self.now = now;
    }

    /// Whether `key` names an armed timer.
    fn is_armed(&self, key: TimerKey) -> bool {
        self.hot
            .get(key.index as usize)
            .is_some_and(|h| h.generation == key.generation && h.tag != Tag::VACANT)
    }

    /// The deadline of the armed timer at `index`.
    fn deadline_at(&self, index: u32) -> u64 {
        let tag = self.hot[index as usize].tag;
        if tag.is_near() {
            tag.deadline(self.now)
        } else {
            self.far[index as usize]
        }
    }

    /// Sets the deadline of the armed timer at `index`, in its tag or, when the tag cannot
    /// hold it from the current tick, in `far`.
    fn store_deadline(&mut self, index: u32, deadline: u64) {
        let tag = Tag::near(self.now, deadline).unwrap_or(Tag::FAR);
        self.hot[index as usize].tag = tag;
        if tag == Tag::FAR {
            self.store_far(index, deadline);
        }
    }

    // Out of line and cold so that insert and cancel stay small enough to inline into their
    // callers (measured with a `HashMap` side table inlined: insert+cancel 19-20 ns, not 14).
    #[cold]
    #[inline(never)]
    fn store_far(&mut self, index: u32, deadline: u64) {
        let index = index as usize;
        if self.far.len() <= index {
            self.far.resize(index + 1, 0);
        }
        self.far[index] = deadline;
    }

    /// Frees entry `index` (already unlinked) and returns its value.
    fn vacate(&mut self, index: u32) -> T {
        self.hot[index as usize].tag = Tag::VACANT;
        self.entries.remove(index as usize).value
    }

    /// The earliest slot list or the overflow list, with the tick it comes due at.
    fn next_expiration(&self) -> Option<(ListId, u64)> {
        slots::next_occupied(self.now, &self.occupied).or_else(|| {
            (!self.lists[ListId::OVERFLOW.index()].is_empty())
                .then(|| (ListId::OVERFLOW, self.overflow_start()))
        })
    }

    /// When the overflow list is re-filed: the span of its earliest deadline, and never before
    /// the next span (every overflowed deadline lies in a later span than `now`).
    fn overflow_start(&self) -> u64 {
        let next_span = slots::next_span_start(self.now).unwrap_or(u64::MAX);
        slots::span_start(self.overflow_min).max(next_span)
    }

    /// The tick at which `list` is processed by an advance.
    fn list_start(&self, list: ListId) -> u64 {
        match list.level_slot() {
            Some((level, slot)) => slots::slot_start(self.now, level, slot),
            None if list == ListId::OVERDUE => 0,
            None => self.overflow_start(),
        }
    }

    /// Takes `list` whole, at `self.now`: entries due by now fire in `(deadline, seq)` order,
    /// the others (lazily re-armed, or cascading down from a coarser slot) are filed again.
    fn process(&mut self, list: ListId, fired: &mut Vec<(TimerKey, T)>) {
        let mut batch = std::mem::take(&mut self.lists[list.index()]);
        match list.level_slot() {
            Some((level, slot)) => self.occupied[level] &= !(1 << slot),
            None if list == ListId::OVERFLOW => self.overflow_min = u64::MAX,
            None => {}
        }
        // Two passes: a tight loop that only reads each entry's deadline lets the CPU have many
        // cold entries in flight at once (1,000,000 live timers do not fit in cache); the second
        // pass then finds them cached (measured: about 220 -> 170 ns per fired timer).
        let mut gathered = std::mem::take(&mut self.gathered);
        gathered.clear();
        gathered.extend(batch.iter().map(|&index| (self.deadline_at(index), index)));
        self.due.clear();
        for &(deadline, index) in &gathered {
            if deadline <= self.now {
                let seq = self.entries[index as usize].seq;
                self.due.push((deadline, seq, index));
            } else {
                self.link(index, deadline);
            }
        }
        self.gathered = gathered;
        // Keep the capacity. Only the overflow list can have been refilled meanwhile: a slot's
        // entries always move to a finer slot.
        debug_assert!(list == ListId::OVERFLOW || self.lists[list.index()].is_empty());
        batch.clear();
        if self.lists[list.index()].is_empty() {
            self.lists[list.index()] = batch;
        }
        // A batch mostly arrives in insertion order already.
        if !self.due.is_sorted() {
            self.due.sort_unstable();
        }
        for i in 0..self.due.len() {
            let (_, seq, index) = self.due[i];
            let key = TimerKey {
                index,
                generation: seq as u32,
            };
            let value = self.vacate(index);
            fired.push((key, value));
        }
    }

    /// Stores `deadline` as entry `index`'s and files the entry by it, at the end of its list.
    /// Storing it again at the current tick turns a far tag near once the wheel comes close.
    fn link(&mut self, index: u32, deadline: u64) {
        self.store_deadline(index, deadline);
        let list = slots::list_for(self.now, deadline);
        let members = &mut self.lists[list.index()];
        let entry = &mut self.entries[index as usize];
        entry.pos = members.len() as u32;
        entry.list = list;
        members.push(index);
        match list.level_slot() {
            Some((level, slot)) => {
                self.occupied[level] |= 1 << slot;
                self.next_due = self.next_due.min(slots::slot_start(self.now, level, slot));
            }
            None if list == ListId::OVERFLOW => {
                self.overflow_min = self.overflow_min.min(deadline);
                self.next_due = self.next_due.min(self.overflow_start());
            }
            None => {}
        }
    }

    fn unlink(&mut self, index: u32) {
        let Entry { list, pos, .. } = self.entries[index as usize];
        let members = &mut self.lists[list.index()];
        members.swap_remove(pos as usize);
        if let Some(&moved) = members.get(pos as usize) {
            self.entries[moved as usize].pos = pos;
        } else if members.is_empty() {
            match list.level_slot() {
                Some((level, slot)) => self.occupied[level] &= !(1 << slot),
                None if list == ListId::OVERFLOW => self.overflow_min = u64::MAX,
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advance(wheel: &mut Wheel<&'static str>, now: u64) -> Vec<&'static str> {
        let mut fired = Vec::new();
        wheel.advance(now, &mut fired);
        fired.into_iter().map(|(_, v)| v).collect()
    }

    #[test]
    fn a_timer_fires_at_its_deadline_and_not_before() {
        let mut wheel = Wheel::new(0);
        wheel.insert(100, "a");
        assert!(advance(&mut wheel, 99).is_empty());
        assert_eq!(advance(&mut wheel, 100), ["a"]);
        assert!(wheel.is_empty());
    }

    #[test]
    fn timers_fire_in_deadline_order_and_ties_in_insertion_order() {
        let mut wheel = Wheel::new(0);
        wheel.insert(5000, "late");
        wheel.insert(70, "tie-1");
        wheel.insert(3, "early");
        wheel.insert(70, "tie-2");
        assert_eq!(
            advance(&mut wheel, 10_000),
            ["early", "tie-1", "tie-2", "late"]
        );
    }

    #[test]
    fn a_deadline_already_passed_fires_at_the_next_advance() {
        let mut wheel = Wheel::new(50);
        wheel.insert(50, "now");
        wheel.insert(10, "past");
        assert_eq!(wheel.next_deadline(), Some(50));
        assert_eq!(advance(&mut wheel, 50), ["past", "now"]);
    }

    #[test]
    fn a_cancelled_timer_never_fires_and_its_key_goes_stale() {
        let mut wheel = Wheel::new(0);
        let key = wheel.insert(10, "a");
        assert_eq!(wheel.cancel(key), Some("a"));
        assert_eq!(wheel.cancel(key), None);
        assert!(!wheel.reset(key, 20));
        assert!(advance(&mut wheel, 100).is_empty());
    }

    #[test]
    fn a_stale_key_is_rejected_after_its_slab_slot_is_reused() {
        let mut wheel = Wheel::new(0);
        let old = wheel.insert(10, "old");
        wheel.cancel(old);
        let new = wheel.insert(10, "new");
        assert_eq!(old.index, new.index);
        assert_eq!(wheel.deadline(old), None);
        assert_eq!(wheel.cancel(old), None);
        assert_eq!(wheel.deadline(new), Some(10));
    }

    #[test]
    fn a_fired_key_is_stale() {
        let mut wheel = Wheel::new(0);
        let key = wheel.insert(1, "a");
        advance(&mut wheel, 1);
        assert_eq!(wheel.deadline(key), None);
        assert_eq!(wheel.cancel(key), None);
    }

    #[test]
    fn a_later_reset_only_stores_the_deadline_and_fires_then() {
        let mut wheel = Wheel::new(0);
        let key = wheel.insert(100, "idle");
        let list = wheel.entries[key.index as usize].list;
        assert!(wheel.reset(key, 30_000));
        assert_eq!(wheel.entries[key.index as usize].list, list, "not relinked");
        assert!(advance(&mut wheel, 29_999).is_empty());
        assert_eq!(wheel.deadline(key), Some(30_000));
        assert_eq!(advance(&mut wheel, 30_000), ["idle"]);
    }

    #[test]
    fn an_earlier_reset_fires_at_the_new_deadline() {
        let mut wheel = Wheel::new(0);
        let key = wheel.insert(1_000_000, "a");
        assert!(wheel.reset(key, 5));
        assert_eq!(wheel.next_deadline(), Some(5));
        assert!(advance(&mut wheel, 4).is_empty());
        assert_eq!(advance(&mut wheel, 5), ["a"]);
    }

    #[test]
    fn a_reset_into_the_past_fires_at_the_next_advance() {
        let mut wheel = Wheel::new(100);
        let key = wheel.insert(500, "a");
        assert!(wheel.reset(key, 7));
        assert_eq!(advance(&mut wheel, 100), ["a"]);
    }

    #[test]
    fn a_deadline_beyond_the_levels_overflows_and_still_fires_on_time() {
        let far = (1u64 << 36) * 3 + 12_345;
        let mut wheel = Wheel::new(0);
        wheel.insert(far, "far");
        wheel.insert(far + 1, "farther");
        assert!(wheel.next_deadline().unwrap() <= far);
        assert!(advance(&mut wheel, far - 1).is_empty());
        assert_eq!(advance(&mut wheel, far), ["far"]);
        assert_eq!(advance(&mut wheel, u64::MAX), ["farther"]);
    }

    #[test]
    fn a_deadline_beyond_the_tag_window_is_kept_exactly() {
        let mut wheel = Wheel::new(0);
        let key = wheel.insert(5, "a");
        let far = (1 << 33) + 7;
        assert!(wheel.reset(key, far));
        assert_eq!(wheel.deadline(key), Some(far));
        assert!(wheel.reset(key, far + 1));
        assert_eq!(wheel.deadline(key), Some(far + 1));
        assert!(advance(&mut wheel, far).is_empty());
        assert_eq!(advance(&mut wheel, far + 1), ["a"]);
    }

    #[test]
    fn a_deadline_whose_low_bits_are_a_reserved_tag_is_armed_and_exact() {
        let mut wheel = Wheel::new(0);
        let vacant_bits = wheel.insert(u32::MAX.into(), "vacant");
        let far_bits = wheel.insert((u32::MAX - 1).into(), "far");
        assert_eq!(wheel.deadline(vacant_bits), Some(u32::MAX.into()));
        assert_eq!(wheel.deadline(far_bits), Some((u32::MAX - 1).into()));
        assert_eq!(wheel.cancel(vacant_bits), Some("vacant"));
        assert_eq!(advance(&mut wheel, u32::MAX.into()), ["far"]);
    }

    #[test]
    fn deadlines_at_the_end_of_time_fire() {
        let mut wheel = Wheel::new(u64::MAX - 10);
        wheel.insert(u64::MAX, "end");
        wheel.insert(u64::MAX - 1, "almost");
        assert_eq!(advance(&mut wheel, u64::MAX), ["almost", "end"]);
        wheel.insert(u64::MAX, "after");
        assert_eq!(advance(&mut wheel, u64::MAX), ["after"]);
    }

    /// Advances to `now` one processed list at a time; returns how many lists it took.
    fn lists_visited(wheel: &mut Wheel<&'static str>, now: u64) -> usize {
        let mut fired = Vec::new();
        let mut visited = 0;
        while let Some((list, start)) = wheel.next_expiration().filter(|&(_, s)| s <= now) {
            wheel.now = start;
            wheel.process(list, &mut fired);
            visited += 1;
        }
        wheel.now = now;
        visited
    }

    #[test]
    fn a_long_idle_gap_visits_only_occupied_slots() {
        let mut wheel = Wheel::new(0);
        wheel.insert(1 << 40, "a");
        wheel.insert(1 << 60, "b");
        assert!(lists_visited(&mut wheel, 1 << 40) <= 1 + LEVELS);
        assert_eq!(wheel.len(), 1);
        assert!(lists_visited(&mut wheel, 1 << 60) <= 1 + LEVELS);
        assert!(wheel.is_empty());
    }

    #[test]
    fn a_cancelled_overflow_timer_leaves_no_stale_minimum() {
        let mut wheel = Wheel::new(0);
        let near = wheel.insert(1 << 40, "near");
        wheel.insert(1 << 62, "far");
        wheel.cancel(near);
        assert!(lists_visited(&mut wheel, 1 << 62) <= 1 + LEVELS);
        assert!(wheel.is_empty());
    }

    #[test]
    fn next_deadline_is_never_late() {
        let mut wheel = Wheel::new(0);
        assert_eq!(wheel.next_deadline(), None);
        wheel.insert(4000, "a");
        let next = wheel.next_deadline().unwrap();
        assert!(next <= 4000);
        assert!(advance(&mut wheel, next.min(3999)).is_empty());
    }

    #[test]
    fn a_backward_now_moves_nothing() {
        let mut wheel = Wheel::new(100);
        wheel.insert(150, "a");
        assert!(advance(&mut wheel, 20).is_empty());
        assert_eq!(wheel.now(), 100);
        assert_eq!(advance(&mut wheel, 150), ["a"]);
    }
}
