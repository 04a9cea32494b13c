//! Every deadline a worker keeps, in one hierarchical timing wheel per worker. Pure: time is a
//! `u64` tick the caller passes in (the worker counts milliseconds); no clock, no I/O, no
//! monoio.
//!
//! - `wheel`: [`Wheel`] and [`TimerKey`]. Entries live in a slab; each slot keeps a vector of
//!   slab indices and each entry its position there. Insert, cancel and reset are O(1),
//!   advance is O(1) amortised per timer and jumps over empty slots.
//! - `hot`: the 8 bytes per timer a reset touches, a key's generation and a 32-bit deadline
//!   tag read against the current tick; deadlines outside a window of `2^32` ticks are kept exactly
//!   in a side table instead.
//! - `slots`: which level and slot a deadline belongs in, and when a slot comes due.
//!
//! Re-arming is lazy: moving a deadline later only stores it, and the entry is re-filed when
//! its old slot comes due. So the idle timer a connection resets on every read costs one
//! 8-byte load and store, and an entry is touched at most once per level on its way down.

mod hot;
mod slots;
mod wheel;

#[cfg(test)]
mod model_tests;

pub use wheel::{TimerKey, Wheel};
