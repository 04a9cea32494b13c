//! What a reset reads and writes, in 8 bytes per timer: the key's generation and a 32-bit
//! deadline. At 1,000,000 live timers a reset is one cache miss on a random entry; 8-byte
//! entries make the array 8 MB instead of 16, so more of it stays in the last-level cache and
//! in the TLB's reach.
//!
//! A `u64` deadline in a window of `2^32` ticks around the wheel's current tick, from `2^24`
//! ticks behind it (a deadline already passed, due at the next advance) to at least
//! `2^32 - 2^24` ahead (49 days of 1 ms ticks, so every deadline a worker sets), is stored as its low 32 bits and
//! read back against the current tick. That stays exact because the current tick only moves
//! forward, and only to a tick by which every deadline before it has fired: a deadline stored
//! within the window stays within it until it fires. Any other deadline is [`Tag::FAR`] here
//! and kept exactly in the wheel's side table, as is a near deadline whose low 32 bits happen
//! to equal one of the two reserved tags.

/// A timer's deadline as the hot array holds it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Tag(u32);

/// How far behind the current tick the window of deadlines a tag holds on its own starts. Only
/// a deadline set at or before the current tick is behind it, and it fires at the next
/// advance, so the window leaves little room behind and the rest ahead.
const BEHIND: u64 = 1 << 24;
/// The ticks the window spans: as many as a tag has values.
const WINDOW: u64 = 1 << 32;

/// The first tick of the window when the wheel stands at `now`. Never below zero, so the
/// window's ticks are `start + offset` without wrapping; it only moves forward with `now`.
#[inline]
fn window_start(now: u64) -> u64 {
    now.saturating_sub(BEHIND)
}

impl Tag {
    /// The deadline is kept exactly elsewhere (the wheel's side table of far deadlines).
    pub(super) const FAR: Tag = Tag(u32::MAX - 1);
    /// The slab slot holds no timer.
    pub(super) const VACANT: Tag = Tag(u32::MAX);

    /// `deadline` on its own, if the wheel stands at `now` and it is near enough; `None` means
    /// keep it elsewhere and store [`Tag::FAR`].
    #[inline]
    pub(super) fn near(now: u64, deadline: u64) -> Option<Tag> {
        let in_window = deadline
            .checked_sub(window_start(now))
            .is_some_and(|offset| offset < WINDOW);
        let low = deadline as u32;
        (in_window && low < Tag::FAR.0).then_some(Tag(low))
    }

    /// Whether this is a deadline on its own (not [`Tag::FAR`] or [`Tag::VACANT`]).
    #[inline]
    pub(super) fn is_near(self) -> bool {
        self.0 < Tag::FAR.0
    }

    /// The deadline of a near tag stored while the wheel stood at or before `now`, for a timer
    /// that has not fired. It lies in the window at `now` too, so it is the window's start plus
    /// the distance of the low 32 bits.
    #[inline]
    pub(super) fn deadline(self, now: u64) -> u64 {
        debug_assert!(self.is_near());
        let start = window_start(now);
        start + u64::from(self.0.wrapping_sub(start as u32))
    }
}

/// One timer's entry in the hot array, indexed like the slab.
#[derive(Clone, Copy)]
pub(super) struct Hot {
    /// The low 32 bits of the entry's insertion `seq`: what a key must match.
    pub(super) generation: u32,
    /// When the timer fires. It may be later than the slot the entry is filed in (a lazy
    /// re-arm); it is never earlier than that slot's first tick.
    pub(super) tag: Tag,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_touches_8_bytes_per_timer() {
        assert_eq!(std::mem::size_of::<Hot>(), 8);
    }

    #[test]
    fn a_deadline_within_the_window_reads_back_exactly() {
        for now in [
            0,
            5,
            BEHIND,
            1 << 32,
            u64::MAX - (1 << 32),
            u64::MAX - 5,
            u64::MAX,
        ] {
            let start = window_start(now);
            for deadline in [
                start,
                now.saturating_sub(1),
                now,
                now.saturating_add(1),
                start.saturating_add(WINDOW - 1),
            ] {
                match Tag::near(now, deadline) {
                    Some(tag) => assert_eq!(tag.deadline(now), deadline, "at {now}"),
                    None => assert!(deadline as u32 >= Tag::FAR.0, "{deadline} at {now}"),
                }
            }
        }
    }

    #[test]
    fn a_near_deadline_still_reads_back_after_the_wheel_moves_towards_it() {
        let deadline = (5 << 32) + 17;
        let tag = Tag::near(deadline - (WINDOW - BEHIND - 1), deadline).unwrap();
        for now in [deadline - (WINDOW - BEHIND - 1), deadline - 1000, deadline] {
            assert_eq!(tag.deadline(now), deadline);
        }
    }

    #[test]
    fn a_deadline_beyond_the_window_or_on_a_reserved_tag_is_far() {
        assert_eq!(Tag::near(0, WINDOW), None);
        assert_eq!(Tag::near(BEHIND + 1, WINDOW + 1), None);
        assert_eq!(Tag::near(BEHIND + 1, 0), None);
        assert_eq!(Tag::near(1 << 40, (1 << 40) + WINDOW - BEHIND), None);
        assert_eq!(Tag::near(1 << 40, (1 << 40) - BEHIND - 1), None);
        assert_eq!(Tag::near(0, u64::MAX), None);
        assert_eq!(Tag::near(u64::MAX, 0), None);
        let now = 1 << 32;
        assert_eq!(Tag::near(now, now - 1), None);
        assert_eq!(Tag::near(now, now - 2), None);
        assert_eq!(Tag::near(u64::MAX, u64::MAX), None);
        assert!(Tag::near(now, now - 3).is_some_and(Tag::is_near));
    }
}
