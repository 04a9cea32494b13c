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
    !s.is_empty() && all(s, TCHAR)
}

/// `s` without leading and trailing SP/HT.
#[inline]
pub(super) fn trim_ows(s: &[u8]) -> &[u8] {
    let mut a = 0;
    let mut z = s.len();
    while a < z && is(s[a], OWS) {
        a += 1;
    }
    while z > a && is(s[z - 1], OWS) {
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
    fn trimming_removes_only_sp_and_ht() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"\x0ba\x0b"), b"\x0ba\x0b");
        assert_eq!(trim_ows(b"  "), b"");
    }
}
