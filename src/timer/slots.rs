//! Where a deadline is filed: the level and slot arithmetic of the wheel, without the entries.
//!
//! Level `l` has 64 slots of `64^l` ticks each, so level 0 holds single ticks and the six
//! levels together span `2^36` ticks (about 795 days of 1 ms ticks). A deadline is filed at the
//! level of the highest 6-bit digit in which it differs from the wheel's current tick, in the
//! slot named by its own digit there. Two consequences the wheel relies on:
//! - every entry at level `l` is due before every entry at level `l + 1`, so the earliest
//!   occupied slot is found by scanning levels upwards, and
//! - a slot's first tick follows from the current tick and the slot's number alone, and stays
//!   the same while the current tick moves towards it.

use std::num::NonZeroU16;

/// log2 of the slots per level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(super) const SLOTS: usize = 1 << SLOT_BITS;
/// Levels in the wheel proper; later deadlines wait in the overflow list.
pub(super) const LEVELS: usize = 6;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// log2 of the ticks the six levels span: deadlines in a later span of this size overflow.
const SPAN_BITS: u32 = SLOT_BITS * LEVELS as u32;

/// One of the lists: a slot of a level, the overflow list, or the overdue list. Stored plus
/// one, so the zero niche lets the slab keep an entry in 32 bytes instead of 40 (with a `u64`
/// payload), which keeps more of 1,000,000 entries in cache.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct ListId(NonZeroU16);

/// How many lists there are, for the array of list heads.
pub(super) const LISTS: usize = LEVELS * SLOTS + 2;

impl ListId {
    /// Deadlines beyond the span of the six levels; re-filed when the wheel reaches their span.
    pub(super) const OVERFLOW: ListId = ListId::new(LEVELS * SLOTS);
    /// Deadlines at or before the current tick: they fire at the next advance.
    pub(super) const OVERDUE: ListId = ListId::new(LEVELS * SLOTS + 1);

    const fn new(index: usize) -> ListId {
        match NonZeroU16::new(index as u16 + 1) {
            Some(id) => ListId(id),
            None => panic!("list index out of range"),
        }
    }

    fn slot(level: usize, slot: usize) -> ListId {
        ListId::new(level * SLOTS + slot)
    }

    /// The index into the array of lists.
    pub(super) fn index(self) -> usize {
        self.0.get() as usize - 1
    }

    /// `(level, slot)` for a slot list; `None` for the overflow and overdue lists.
    pub(super) fn level_slot(self) -> Option<(usize, usize)> {
        let i = self.index();
        (i < LEVELS * SLOTS).then_some((i / SLOTS, i % SLOTS))
    }
}

/// The list for `deadline` when the wheel stands at `now`.
pub(super) fn list_for(now: u64, deadline: u64) -> ListId {
    if deadline <= now {
        return ListId::OVERDUE;
    }
    let masked = (now ^ deadline) | SLOT_MASK;
    let level = ((u64::BITS - 1 - masked.leading_zeros()) / SLOT_BITS) as usize;
    if level >= LEVELS {
        return ListId::OVERFLOW;
    }
    let slot = (deadline >> (SLOT_BITS * level as u32)) & SLOT_MASK;
    ListId::slot(level, slot as usize)
}

/// The first tick of `slot` at `level`, for a slot after the one `now` is in.
pub(super) fn slot_start(now: u64, level: usize, slot: usize) -> u64 {
    let level_bits = SLOT_BITS * level as u32;
    let ring_mask = (1u64 << (level_bits + SLOT_BITS)) - 1;
    (now & !ring_mask) + ((slot as u64) << level_bits)
}

/// The earliest occupied slot list after `now` and its first tick, scanning levels upwards.
/// `occupied[l]` has bit `s` set when slot `s` of level `l` holds entries.
pub(super) fn next_occupied(now: u64, occupied: &[u64; LEVELS]) -> Option<(ListId, u64)> {
    for (level, &bits) in occupied.iter().enumerate() {
        let current = ((now >> (SLOT_BITS * level as u32)) & SLOT_MASK) as u32;
        // Slots up to the current one were processed when the wheel passed their first tick.
        let later = (u64::MAX << current) << 1;
        debug_assert_eq!(
            bits & !later,
            0,
            "level {level} holds a slot already passed"
        );
        let pending = bits & later;
        if pending != 0 {
            let slot = pending.trailing_zeros() as usize;
            return Some((ListId::slot(level, slot), slot_start(now, level, slot)));
        }
    }
    None
}

/// The first tick of the next span of the six levels after `now`, if there is one.
pub(super) fn next_span_start(now: u64) -> Option<u64> {
    ((now >> SPAN_BITS) + 1).checked_mul(1 << SPAN_BITS)
}

/// The first tick of the span `deadline` is in.
pub(super) fn span_start(deadline: u64) -> u64 {
    deadline & !((1u64 << SPAN_BITS) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_current_tick_or_before_is_overdue() {
        assert_eq!(list_for(100, 100), ListId::OVERDUE);
        assert_eq!(list_for(100, 3), ListId::OVERDUE);
    }

    #[test]
    fn the_level_is_the_highest_digit_that_differs_from_now() {
        assert_eq!(list_for(0, 63).level_slot(), Some((0, 63)));
        assert_eq!(list_for(0, 64).level_slot(), Some((1, 1)));
        assert_eq!(list_for(63, 64).level_slot(), Some((1, 1)));
        assert_eq!(list_for(64, 127).level_slot(), Some((0, 63)));
        assert_eq!(list_for(0, (1 << 36) - 1).level_slot(), Some((5, 63)));
        assert_eq!(list_for(0, 1 << 36), ListId::OVERFLOW);
        assert_eq!(list_for(0, u64::MAX), ListId::OVERFLOW);
    }

    #[test]
    fn a_slot_starts_at_its_digit_within_the_current_ring() {
        assert_eq!(slot_start(0, 0, 5), 5);
        assert_eq!(slot_start(130, 0, 5), 133);
        assert_eq!(slot_start(130, 1, 3), 192);
        assert_eq!(slot_start(5 << 36, 5, 1), (5 << 36) + (1 << 30));
    }

    #[test]
    fn the_lowest_level_with_a_later_slot_comes_first() {
        let mut occupied = [0u64; LEVELS];
        occupied[2] = 1 << 9;
        occupied[1] = 1 << 63;
        let (list, start) = next_occupied(70, &occupied).unwrap();
        assert_eq!(list.level_slot(), Some((1, 63)));
        assert_eq!(start, 63 * 64);
        assert_eq!(next_occupied(70, &[0; LEVELS]), None);
    }

    #[test]
    fn the_last_span_has_no_successor() {
        assert_eq!(next_span_start(0), Some(1 << 36));
        assert_eq!(next_span_start(u64::MAX), None);
        assert_eq!(span_start((3 << 36) + 17), 3 << 36);
    }
}
