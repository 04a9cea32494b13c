//! Two small, deterministic sources of well-mixed bits: `Rng` (wyrand) for the random
//! algorithms, and `hash` (a wyhash-style fold) for consistent hashing. Neither is for secrets:
//! a client that can choose its keys can only choose which target it lands on, which it could
//! do anyway by choosing its IP address or header. Both are seeded, never from the clock, so a
//! test or a worker gets the same sequence from the same seed.

/// The constants of wyhash/wyrand (Wang Yi, public domain): odd, with well-spread bits.
const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// The 128-bit product of `a` and `b`, its halves folded together by xor.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let t = u128::from(a) * u128::from(b);
    (t as u64) ^ ((t >> 64) as u64)
}

/// wyrand: one add and one 64x64->128 multiply per number; passes BigCrush and PractRand
/// (per its author), which is far more than picking targets needs. One per selector.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(P0);
        fold_mul(self.0, self.0 ^ P1)
    }

    /// Uniform in `0..n` for `n > 0` (Lemire's multiply-shift without the rejection step: the
    /// bias is below `n / 2^64`, far under anything a balancer could measure).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// A 64-bit hash of `bytes` under `seed`: 16 bytes per multiply, then a final multiply that
/// mixes in the length. Deterministic across runs, workers and machines, which consistent
/// hashing needs (std's `RandomState` is randomised per process).
pub fn hash(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed ^ P0;
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        let a = u64::from_le_bytes(c[..8].try_into().unwrap_or_default());
        let b = u64::from_le_bytes(c[8..].try_into().unwrap_or_default());
        h = fold_mul(a ^ P1, b ^ h);
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 16];
    tail[..rest.len()].copy_from_slice(rest);
    let a = u64::from_le_bytes(tail[..8].try_into().unwrap_or_default());
    let b = u64::from_le_bytes(tail[8..].try_into().unwrap_or_default());
    h = fold_mul(a ^ P1, b ^ h);
    fold_mul(h ^ P2, (bytes.len() as u64) ^ P0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_sequence_and_another_seed_another() {
        let a: Vec<u64> = (0..8)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..8)
            .scan(Rng::new(7), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..8)
            .scan(Rng::new(8), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn below_stays_in_range_and_reaches_every_value() {
        let mut r = Rng::new(1);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[r.below(7) as usize] += 1;
        }
        // Each of 7 values expects 1000 hits; 800 is over six standard deviations below.
        assert!(seen.iter().all(|&n| n > 800), "{seen:?}");
    }

    #[test]
    fn the_hash_depends_on_every_byte_the_length_and_the_seed() {
        let base = hash(0, b"10.0.0.1");
        assert_eq!(base, hash(0, b"10.0.0.1"));
        assert_ne!(base, hash(0, b"10.0.0.2"));
        assert_ne!(base, hash(1, b"10.0.0.1"));
        assert_ne!(hash(0, b""), hash(0, b"\0"));
        let long = [7u8; 40];
        for i in 0..long.len() {
            let mut flipped = long;
            flipped[i] ^= 1;
            assert_ne!(hash(0, &long), hash(0, &flipped), "byte {i}");
        }
    }

    #[test]
    fn hashes_of_consecutive_addresses_spread_evenly_over_buckets() {
        let mut buckets = [0u32; 16];
        for i in 0..16_000u32 {
            let h = hash(0, &i.to_be_bytes());
            buckets[(h >> 60) as usize] += 1;
        }
        // 1000 expected per bucket; a poor mix of the top bits would pile them up.
        assert!(
            buckets.iter().all(|&n| (850..1150).contains(&n)),
            "{buckets:?}"
        );
    }
}
