//! The guardian's Transfer-Encoding / Content-Length lookalike matcher (SPEC §4.4), byte for
//! byte, so the same names are SuspiciousHeader. A name whose first letter cannot start the
//! target is rejected before the walk; that is what keeps ordinary names cheap.

pub(super) const TE: &[u8] = b"transfer-encoding";
pub(super) const CL: &[u8] = b"content-length";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Similarity {
    /// Equal ignoring ASCII case.
    Identical,
    /// The target's letters, in order, under the normalisation of SPEC §4.4.
    SameLetters,
    Distant,
}

/// Compares `name` with `target` (lower-case letters and `-`).
pub(super) fn similarity(target: &[u8], name: &[u8]) -> Similarity {
    if name.len() < target.len() {
        return Similarity::Distant;
    }
    // The walk below gives Identical exactly for this, and this is the common case.
    if name.len() == target.len() && name.eq_ignore_ascii_case(target) {
        return Similarity::Identical;
    }
    let mut at = next_alphanumeric(name, 0);
    // The first letter of TE and CL (t, c) has no homoglyph, so a different first
    // alphanumeric decides at once; this is the prefilter, not a change of result.
    match name.get(at) {
        Some(&b) if b.to_ascii_lowercase() == target[0] => {}
        _ => return Similarity::Distant,
    }
    let mut identical = at == 0 && name.len() == target.len();
    for &c in target {
        if at == name.len() {
            return Similarity::Distant;
        }
        let delimiter = c == b'-';
        let (same, next) = same_char(c, name, at);
        if !same {
            if !delimiter {
                break;
            }
            identical = false;
        }
        at = if delimiter {
            next_alphanumeric(name, next)
        } else {
            next_non_space(name, next)
        };
    }
    let exhausted = at == name.len();
    if exhausted && identical {
        Similarity::Identical
    } else if exhausted || next_alphanumeric(name, at) == name.len() {
        Similarity::SameLetters
    } else {
        Similarity::Distant
    }
}

/// Whether `name[at]` reads as `c`: case-folded ASCII, or one of the two homoglyphs whose
/// upper case is an ASCII letter of TE or CL (`ſ` U+017F for s, `ı` U+0131 for i). Returns
/// where the next character starts.
#[inline]
fn same_char(c: u8, name: &[u8], at: usize) -> (bool, usize) {
    let b = name[at];
    if c == b.to_ascii_lowercase() {
        return (true, at + 1);
    }
    if let Some(&b2) = name.get(at + 1) {
        if (c, b, b2) == (b's', 0xc5, 0xbf) || (c, b, b2) == (b'i', 0xc4, 0xb1) {
            return (true, at + 2);
        }
    }
    (false, at + 1)
}

#[inline]
fn next_alphanumeric(name: &[u8], mut at: usize) -> usize {
    while at < name.len() && !name[at].is_ascii_alphanumeric() {
        at += 1;
    }
    at
}

/// Skips bytes up to and including SP (controls and space) after a letter.
#[inline]
fn next_non_space(name: &[u8], mut at: usize) -> usize {
    while at < name.len() && name[at] <= b' ' {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::Similarity::*;
    use super::*;

    fn te(n: &[u8]) -> Similarity {
        similarity(TE, n)
    }
    fn cl(n: &[u8]) -> Similarity {
        similarity(CL, n)
    }

    #[test]
    fn exact_names_in_any_case_are_identical() {
        assert_eq!(te(b"Transfer-Encoding"), Identical);
        assert_eq!(te(b"TRANSFER-ENCODING"), Identical);
        assert_eq!(cl(b"content-length"), Identical);
    }

    #[test]
    fn the_spec_lookalikes_are_same_letters() {
        for n in [
            &b"Transfer-Encoding "[..],
            b"Transfer-Encoding\t",
            b"\x01Transfer-Encoding",
            b" Transfer-Encoding",
            b"Transfer_Encoding",
            b"Transfer---Encoding",
            b"Transfer- Encoding",
            "Tranſfer-Encoding".as_bytes(),
            "Transfer-Encodıng".as_bytes(),
            b"Transfer-Encoding\x88",
            "Transfer\u{2015}Encoding".as_bytes(),
        ] {
            assert_eq!(te(n), SameLetters, "{}", String::from_utf8_lossy(n));
        }
        for n in [
            &b"\xa0Content-Length"[..],
            b"Content-Length-",
            b"Content-Length\x0b",
        ] {
            assert_eq!(cl(n), SameLetters, "{}", String::from_utf8_lossy(n));
        }
    }

    #[test]
    fn whitespace_replacing_the_hyphen_is_distant_as_in_the_guardian() {
        assert_eq!(te(b"Transfer Encoding"), Distant);
        assert_eq!(cl(b"Content\tLength"), Distant);
    }

    #[test]
    fn near_names_that_are_other_words_are_distant() {
        assert_eq!(cl(b"ContentLength"), Distant);
        assert_eq!(cl(b"Content-Lengthx"), Distant);
        assert_eq!(cl(b"X-Content-Length"), Distant);
        assert_eq!(cl(b"Content-Type"), Distant);
        assert_eq!(te(b"Te"), Distant);
        assert_eq!(te(b""), Distant);
    }
}
