//! Byte classes as one 256-entry table built at compile time (SPEC §4.1), one bit per class,
//! so each check is a load and a mask.

/// RFC 9110 tchar: `A-Z a-z 0-9 ! # $ % & ' * + - . ^ _ ` | ~`.
pub(super) const TCHAR: u8 = 1;
/// Allowed in a field value: HT, SP, VCHAR, obs-text.
pub(super) const VALUE: u8 = 2;
/// Allowed in a request-target by the guardian: 0x21-0x7E and 0x80-0xFF.
pub(super) const URI: u8 = 4;
/// NUL, CR, LF: never allowed anywhere in a head.
pub(super) const BAD: u8 = 8;
/// OWS: SP and HT, the only whitespace trimmed.
pub(super) const OWS: u8 = 16;
/// RFC 3986 reg-name bytes: unreserved, sub-delims and `%` (pct-encoded is checked apart).
pub(super) const REG_NAME: u8 = 32;
/// `REG_NAME` without `%`: a host of these bytes needs no pct-encoding check.
pub(super) const REG_PLAIN: u8 = 64;

pub(super) static CLASS: [u8; 256] = build();

const fn build() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let alnum = b.is_ascii_alphanumeric();
        let mut c = 0;
        if alnum
            || matches!(b, b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+')
            || matches!(b, b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
        {
            c |= TCHAR;
        }
        if b == b'\t' || (b >= 0x20 && b != 0x7f) {
            c |= VALUE;
        }
        if b > 0x20 && b != 0x7f {
            c |= URI;
        }
        if matches!(b, 0 | b'\r' | b'\n') {
            c |= BAD;
        }
        if matches!(b, b' ' | b'\t') {
            c |= OWS;
        }
        if alnum
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%')
            || matches!(
                b,
                b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b','
            )
            || matches!(b, b';' | b'=')
        {
            c |= REG_NAME;
            if b != b'%' {
                c |= REG_PLAIN;
            }
        }
        t[i] = c;
        i += 1;
    }
    t
}

#[inline(always)]
pub(super) fn is(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

/// Whether every byte of `s` is in `class`: branch-free, one load and one AND per byte, the
/// fast path before a check that must find the first offending byte.
#[inline]
pub(super) fn all(s: &[u8], class: u8) -> bool {
    let mut acc = 0xff;
    for &b in s {
        acc &= CLASS[b as usize];
    }
    acc & class != 0
}

#[inline]
pub(super) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && all_tchar(s)
}

/// `all(s, TCHAR)`, sixteen bytes at a time where the target has SSE2.
#[inline]
pub(super) fn all_tchar(s: &[u8]) -> bool {
    // Most names are letters, digits and `-`, a shorter check than the delimiters.
    #[cfg(target_arch = "x86_64")]
    return wide::none(s, wide::not_alnum_dash) || wide::none(s, wide::not_tchar);
    #[cfg(not(target_arch = "x86_64"))]
    return all(s, TCHAR);
}

/// Every byte of `s` is an ASCII letter, digit, `-` or `.`: the bytes of nearly every host
/// name, all of them reg-name bytes (RFC 3986 §3.2.2). Sixteen at a time where the target has
/// SSE2.
#[inline]
pub(super) fn all_host_name(s: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    return wide::none(s, wide::not_host_name);
    #[cfg(not(target_arch = "x86_64"))]
    return s
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
}

/// `all(s, URI)`, sixteen bytes at a time where the target has SSE2.
#[inline]
pub(super) fn all_uri(s: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    return wide::none(s, wide::not_uri);
    #[cfg(not(target_arch = "x86_64"))]
    return all(s, URI);
}

/// `all(s, VALUE)`, sixteen bytes at a time where the target has SSE2.
#[inline]
pub(crate) fn all_value(s: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    return wide::none(s, wide::not_value);
    #[cfg(not(target_arch = "x86_64"))]
    return all(s, VALUE);
}

/// Where a list value (up to 64 bytes) has its delimiters: bit `i` of each mask is byte `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ListMarks {
    pub(super) comma: u64,
    pub(super) semicolon: u64,
    /// SP or HT.
    pub(super) ows: u64,
}

/// The `ListMarks` of `s`, or None when `s` is longer than 64 bytes. Sixteen bytes at a time
/// where the target has SSE2.
#[inline]
pub(super) fn list_marks(s: &[u8]) -> Option<ListMarks> {
    if s.len() > 64 {
        return None;
    }
    #[cfg(target_arch = "x86_64")]
    return Some(wide::list_marks(s));
    #[cfg(not(target_arch = "x86_64"))]
    return Some(list_marks_bytewise(s));
}

/// `list_marks` a byte at a time: the portable version, and the reference for the wide one.
fn list_marks_bytewise(s: &[u8]) -> ListMarks {
    let mut m = ListMarks::default();
    for (i, &b) in s.iter().enumerate().take(64) {
        m.comma |= u64::from(b == b',') << i;
        m.semicolon |= u64::from(b == b';') << i;
        m.ows |= u64::from(b == b' ' || b == b'\t') << i;
    }
    m
}

/// SSE2 (baseline on x86_64, so no runtime detection) class checks: each predicate sets the
/// lanes of bytes outside its class. `none` covers a slice with 16-byte loads, the tail by one
/// more load overlapping the previous one, and a slice under 16 bytes by overlapping 8-, 4- or
/// 1-byte reads packed into one vector; bytes read twice change nothing in an all-bytes check,
/// and nothing outside the slice is ever read.
#[cfg(target_arch = "x86_64")]
mod wide {
    use core::arch::x86_64::*;

    #[inline(always)]
    fn u64_at(s: &[u8], i: usize) -> i64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        i64::from_le_bytes(w)
    }

    #[inline(always)]
    fn u32_at(s: &[u8], i: usize) -> u32 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[i..i + 4]);
        u32::from_le_bytes(w)
    }

    #[inline(always)]
    fn load16(s: &[u8], i: usize) -> __m128i {
        let v = &s[i..i + 16];
        // SAFETY: `v` is 16 readable bytes; `_mm_loadu_si128` has no alignment requirement.
        unsafe { _mm_loadu_si128(v.as_ptr().cast()) }
    }

    /// Whether no byte of `s` is flagged by `bad`.
    #[inline(always)]
    pub(super) fn none(s: &[u8], bad: fn(__m128i) -> __m128i) -> bool {
        let n = s.len();
        // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
        let flagged = unsafe {
            if n >= 16 {
                let mut acc = _mm_setzero_si128();
                let mut i = 0;
                while i + 16 <= n {
                    acc = _mm_or_si128(acc, bad(load16(s, i)));
                    i += 16;
                }
                if i < n {
                    acc = _mm_or_si128(acc, bad(load16(s, n - 16)));
                }
                acc
            } else if n >= 8 {
                bad(_mm_set_epi64x(u64_at(s, n - 8), u64_at(s, 0)))
            } else if n >= 4 {
                let w = u32_at(s, 0) as i32;
                let z = u32_at(s, n - 4) as i32;
                bad(_mm_set_epi32(w, z, w, z))
            } else if n > 0 {
                let w = u32::from_le_bytes([s[0], s[n / 2], s[n - 1], s[0]]);
                bad(_mm_set1_epi32(w as i32))
            } else {
                return true;
            }
        };
        // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
        unsafe { _mm_movemask_epi8(flagged) == 0 }
    }

    /// `super::list_marks` for `s` of at most 64 bytes. Each load's lane masks are shifted to
    /// the offset the load starts at; overlapping loads (the tail, and the packed reads of a
    /// slice under 16 bytes) set the same bit for the same byte twice, which changes nothing.
    #[inline(always)]
    pub(super) fn list_marks(s: &[u8]) -> super::ListMarks {
        let n = s.len();
        debug_assert!(n <= 64);
        // Lane masks of one vector: (comma, semicolon, SP or HT).
        let lanes = |x: __m128i| -> (u64, u64, u64) {
            // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
            unsafe {
                let ows = _mm_or_si128(eq(x, b' '), eq(x, b'\t'));
                (
                    _mm_movemask_epi8(eq(x, b',')) as u64,
                    _mm_movemask_epi8(eq(x, b';')) as u64,
                    _mm_movemask_epi8(ows) as u64,
                )
            }
        };
        let mut m = super::ListMarks::default();
        let mut put = |(c, sc, w): (u64, u64, u64), at: usize| {
            m.comma |= c << at;
            m.semicolon |= sc << at;
            m.ows |= w << at;
        };
        if n >= 16 {
            let mut i = 0;
            while i + 16 <= n {
                put(lanes(load16(s, i)), i);
                i += 16;
            }
            if i < n {
                put(lanes(load16(s, n - 16)), n - 16);
            }
        } else if n >= 8 {
            // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
            let (c, sc, w) = lanes(unsafe { _mm_set_epi64x(u64_at(s, n - 8), u64_at(s, 0)) });
            put((c & 0xff, sc & 0xff, w & 0xff), 0);
            put((c >> 8, sc >> 8, w >> 8), n - 8);
        } else if n >= 4 {
            let (a, z) = (u32_at(s, 0) as i32, u32_at(s, n - 4) as i32);
            // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
            let (c, sc, w) = lanes(unsafe { _mm_set_epi32(0, 0, z, a) });
            put((c & 0xf, sc & 0xf, w & 0xf), 0);
            put(((c >> 4) & 0xf, (sc >> 4) & 0xf, (w >> 4) & 0xf), n - 4);
        } else {
            return super::list_marks_bytewise(s);
        }
        m
    }

    /// Lanes of `x` in `lo..=hi`.
    #[inline(always)]
    fn within(x: __m128i, lo: u8, hi: u8) -> __m128i {
        // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
        unsafe {
            let d = _mm_sub_epi8(x, _mm_set1_epi8(lo as i8));
            let w = _mm_set1_epi8((hi - lo) as i8);
            _mm_cmpeq_epi8(_mm_min_epu8(d, w), d)
        }
    }

    #[inline(always)]
    fn eq(x: __m128i, b: u8) -> __m128i {
        // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
        unsafe { _mm_cmpeq_epi8(x, _mm_set1_epi8(b as i8)) }
    }

    /// Not 0x21..=0x7E, or one of the seventeen delimiters `"(),/:;<=>?@[\]{}`.
    #[inline(always)]
    pub(super) fn not_tchar(x: __m128i) -> __m128i {
        // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
        unsafe {
            // Signed: 0x80..=0xFF are negative, so this is "not 0x21..=0x7F".
            let outside = _mm_cmplt_epi8(x, _mm_set1_epi8(0x21));
            let a = _mm_or_si128(outside, eq(x, 0x7f));
            let b = _mm_or_si128(eq(x, b'"'), within(x, b'(', b')'));
            let c = _mm_or_si128(eq(x, b','), eq(x, b'/'));
            let d = _mm_or_si128(within(x, b':', b'@'), within(x, b'[', b']'));
            let e = _mm_or_si128(eq(x, b'{'), eq(x, b'}'));
            _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(_mm_or_si128(c, d), e))
        }
    }

    /// Not an ASCII letter, digit or `-`.
    #[inline(always)]
    pub(super) fn not_alnum_dash(x: __m128i) -> __m128i {
        // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
        unsafe {
            // x | 0x20 is a lower-case letter exactly when x is a letter.
            let letter = within(_mm_or_si128(x, _mm_set1_epi8(0x20)), b'a', b'z');
            let good = _mm_or_si128(letter, _mm_or_si128(within(x, b'0', b'9'), eq(x, b'-')));
            _mm_xor_si128(good, _mm_set1_epi8(-1))
        }
    }

    /// Not an ASCII letter, digit, `-` or `.`.
    #[inline(always)]
    pub(super) fn not_host_name(x: __m128i) -> __m128i {
        // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
        unsafe { _mm_andnot_si128(eq(x, b'.'), not_alnum_dash(x)) }
    }

    /// 0x00..=0x20 or DEL.
    #[inline(always)]
    pub(super) fn not_uri(x: __m128i) -> __m128i {
        // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
        unsafe { _mm_or_si128(within(x, 0, 0x20), eq(x, 0x7f)) }
    }

    /// A control other than HT, or DEL.
    #[inline(always)]
    pub(super) fn not_value(x: __m128i) -> __m128i {
        // SAFETY: SSE2 is in the x86_64 baseline, so its intrinsics are always available.
        unsafe {
            let control = _mm_andnot_si128(eq(x, b'\t'), within(x, 0, 0x1f));
            _mm_or_si128(control, eq(x, 0x7f))
        }
    }
}

/// `s` without leading and trailing SP/HT.
#[inline]
pub(super) fn trim_ows(s: &[u8]) -> &[u8] {
    let mut a = 0;
    let mut z = s.len();
    while a < z && matches!(s[a], b' ' | b'\t') {
        a += 1;
    }
    while z > a && matches!(s[z - 1], b' ' | b'\t') {
        z -= 1;
    }
    &s[a..z]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_is_alphanumerics_and_fifteen_symbols() {
        let n = (0..=255u8).filter(|&b| is(b, TCHAR)).count();
        assert_eq!(n, 62 + 15);
        assert!(!is(b':', TCHAR) && !is(b' ', TCHAR) && !is(0xff, TCHAR));
    }

    #[test]
    fn values_allow_ht_sp_vchar_and_obs_text_only() {
        assert!(is(b'\t', VALUE) && is(b' ', VALUE) && is(0x80, VALUE) && is(b'~', VALUE));
        assert!(!is(0x7f, VALUE) && !is(0x0b, VALUE) && !is(0, VALUE));
    }

    #[test]
    fn only_nul_cr_and_lf_are_bad() {
        let bad: Vec<u8> = (0..=255u8).filter(|&b| is(b, BAD)).collect();
        assert_eq!(bad, vec![0, b'\n', b'\r']);
    }

    #[test]
    fn all_is_true_for_empty_input_and_false_on_one_outsider() {
        assert!(all(b"", TCHAR));
        assert!(all(b"Content-Type", TCHAR));
        assert!(!all(b"Content Type", TCHAR));
        assert!(is_token(b"GET") && !is_token(b"") && !is_token(b"G T"));
    }

    #[test]
    fn the_wide_checks_agree_with_the_table_at_every_length_and_position() {
        let ok = [b'a', b'a', b'!', 0x80];
        for len in 0..40 {
            for at in 0..len.max(1) {
                for b in 0..=255u8 {
                    let mut s: Vec<u8> = (0..len).map(|i| ok[i % ok.len()]).collect();
                    if len > 0 {
                        s[at] = b;
                    }
                    assert_eq!(all_tchar(&s), all(&s, TCHAR), "{s:?}");
                    assert_eq!(all_value(&s), all(&s, VALUE), "{s:?}");
                    let u: Vec<u8> = s
                        .iter()
                        .map(|&c| if c == b'!' { b'/' } else { c })
                        .collect();
                    assert_eq!(all_uri(&u), all(&u, URI), "{u:?}");
                    let h: Vec<u8> = s
                        .iter()
                        .map(|&c| if c == b'!' || c == 0x80 { b'.' } else { c })
                        .collect();
                    let host_name = h
                        .iter()
                        .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.');
                    assert_eq!(all_host_name(&h), host_name, "{h:?}");
                }
            }
        }
    }

    #[test]
    fn the_wide_list_marks_agree_with_the_bytewise_ones() {
        let alphabet = [b',', b';', b' ', b'\t', b'a', b'Z', 0, 0x80, 0xff, b'-'];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..=66 {
            for _ in 0..400 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        alphabet[(x % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let expected = (len <= 64).then(|| list_marks_bytewise(&s));
                assert_eq!(list_marks(&s), expected, "{s:?}");
            }
        }
    }

    #[test]
    fn trimming_removes_only_sp_and_ht() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"\x0ba\x0b"), b"\x0ba\x0b");
        assert_eq!(trim_ows(b"  "), b"");
    }
}
