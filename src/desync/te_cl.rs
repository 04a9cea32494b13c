//! Transfer-Encoding and Content-Length: the guardian's semantics checks (SPEC §4.5), exactly
//! as it runs them, and the lists ringway frames the forwarded body from (RFC 9112 §6.3).

use core::cmp::Ordering;

use super::chars::{list_marks, trim_ows};
use super::classify::{HeaderMark, HeaderTier, State};
use super::reason::Reason;
use crate::http::{FramingError, Header};

/// SPEC §4.5, as the guardian does it. Returns what the TE and CL lists say for ringway's
/// framing.
/// `headers` and `marks` may start at the first listed header; `(n_te, n_cl)` are the lists'
/// lengths. Out of line, as only requests with a body reach it, so that `classify`'s loop
/// over the headers keeps its registers.
#[inline(never)]
pub(super) fn te_cl_semantics(
    buf: &[u8],
    headers: &[Header],
    marks: &mut [HeaderMark],
    method: &[u8],
    version: &[u8],
    (n_te, n_cl): (usize, usize),
    st: &mut State,
) -> Lists {
    let raise = |marks: &mut [HeaderMark], te: bool, tier: HeaderTier| {
        for m in marks.iter_mut().filter(|m| if te { m.te } else { m.cl }) {
            m.tier = m.tier.max(tier);
        }
    };
    // a. Older versions, compared as raw bytes.
    let older = cmp_http_1_0(version);
    if older != Ordering::Greater && n_te > 0 {
        st.upgrade(Reason::UndefinedTransferEncodingSemantics);
        raise(marks, true, HeaderTier::NonCompliant);
        raise(marks, false, HeaderTier::Bad);
        return Lists {
            codings: transfer_codings(buf, headers, marks),
            content_length: content_length(buf, headers, marks),
        };
    }
    if older == Ordering::Less && n_cl > 0 {
        st.upgrade(Reason::UndefinedContentLengthSemantics);
        raise(marks, false, HeaderTier::NonCompliant);
        return Lists {
            codings: Codings::default(),
            content_length: content_length(buf, headers, marks),
        };
    }
    // b. TE values.
    let mut prev_chunked = false;
    let mut all_bad = false;
    let mut codings = Codings::default();
    for (h, m) in headers.iter().zip(marks.iter_mut()).filter(|(_, m)| m.te) {
        for_each_coding(h.value.of(buf), |name, coding| {
            let chunked = coding == Coding::Chunked;
            if !name.is_empty() {
                // ringway's framing reads the same list, empty elements ignored.
                codings.chunked += usize::from(chunked);
                codings.final_chunked = chunked;
            }
            if coding == Coding::Unknown {
                m.tier = HeaderTier::Bad;
                st.upgrade(Reason::BadTransferEncoding);
            } else {
                if prev_chunked && chunked {
                    all_bad = true;
                    m.tier = HeaderTier::Bad;
                    st.upgrade(Reason::MultipleTransferEncodingChunked);
                }
                prev_chunked = chunked;
            }
        });
    }
    if all_bad {
        raise(marks, true, HeaderTier::Bad);
    }
    // c. CL values: the guardian reads an empty one as 0. ringway's reading of the same
    // values (`ClList`) is gathered in the same pass.
    let mut cl_value: Option<u64> = None;
    let mut all_bad = false;
    let mut cl_list = ClList::default();
    for (h, m) in headers.iter().zip(marks.iter_mut()).filter(|(_, m)| m.cl) {
        let value = trim_ows(h.value.of(buf));
        let n = digits(value);
        cl_list.push(value, n);
        match n {
            Some(v) => match cl_value {
                Some(first) if first != v => {
                    all_bad = true;
                    st.upgrade(Reason::MultipleContentLength);
                }
                Some(_) => {
                    m.tier = HeaderTier::Bad;
                    st.upgrade(Reason::DuplicateContentLength);
                }
                None => cl_value = Some(v),
            },
            None => {
                all_bad = true;
                st.upgrade(Reason::BadContentLength);
            }
        }
    }
    if all_bad {
        raise(marks, false, HeaderTier::Bad);
    }
    // d. GET and HEAD, case-sensitive.
    let has_te = n_te > 0;
    if method == b"GET" || method == b"HEAD" {
        if has_te {
            st.upgrade(Reason::UndefinedTransferEncodingSemantics);
            raise(marks, true, HeaderTier::NonCompliant);
        }
        if let Some(cl) = cl_value {
            st.upgrade(if cl == 0 {
                Reason::GetHeadZeroContentLength
            } else {
                Reason::UndefinedContentLengthSemantics
            });
            raise(marks, false, HeaderTier::NonCompliant);
        }
    }
    // e. Both.
    if cl_value.is_some() && has_te {
        raise(marks, false, HeaderTier::Bad);
        st.upgrade(Reason::BothTeClPresent);
    }
    Lists {
        codings,
        content_length: cl_list.finish(),
    }
}

/// `version.cmp(b"HTTP/1.0")`, the guardian's byte-wise comparison, with the first eight
/// bytes compared as one big-endian word instead of a `memcmp` call.
#[inline]
fn cmp_http_1_0(version: &[u8]) -> Ordering {
    match version.first_chunk::<8>() {
        Some(w) => u64::from_be_bytes(*w)
            .cmp(&u64::from_be_bytes(*b"HTTP/1.0"))
            .then(version.len().cmp(&8)),
        None => version.cmp(b"HTTP/1.0"),
    }
}

/// What the TE and CL lists say, for ringway's framing (RFC 9112 §6.3).
pub(super) struct Lists {
    pub(super) codings: Codings,
    /// The CL list's length: see `content_length`.
    pub(super) content_length: Result<Option<u64>, FramingError>,
}

impl Default for Lists {
    fn default() -> Self {
        Lists {
            codings: Codings::default(),
            content_length: Ok(None),
        }
    }
}

/// Calls `f` with the coding name of each element of the list `value`, in order, empty ones
/// included: what `value.split(|&b| b == b',').map(coding_name)` gives. For a value of up to
/// 64 bytes the delimiters are found in one pass (`list_marks`) and each element is cut and
/// trimmed by bit operations, instead of a byte loop per split, trim and `;` search.
#[inline]
fn for_each_coding<'a>(value: &'a [u8], mut f: impl FnMut(&'a [u8], Coding)) {
    // Nearly every value is one coding, perhaps with OWS around it. A known coding name has
    // no comma, semicolon or OWS, so then the value is one element and this is its name.
    let whole = trim_ows(value);
    let coding = Coding::of(whole);
    if coding != Coding::Unknown {
        return f(whole, coding);
    }
    let mut f = |name| f(name, Coding::of(name));
    let Some(d) = list_marks(value) else {
        value
            .split(|&b| b == b',')
            .for_each(|item| f(coding_name(item)));
        return;
    };
    // Bits `at..64`.
    let from = |at: usize| u64::MAX.checked_shl(at as u32).unwrap_or(0);
    let n = value.len();
    let mut start = 0;
    loop {
        let end = (d.comma & from(start)).trailing_zeros().min(n as u32) as usize;
        let cut = (d.semicolon & from(start)).trailing_zeros().min(end as u32) as usize;
        let solid = from(start) & !from(cut) & !d.ows;
        if solid == 0 {
            f(&value[start..start]);
        } else {
            let last = 63 - solid.leading_zeros() as usize;
            f(&value[solid.trailing_zeros() as usize..=last]);
        }
        if end >= n {
            return;
        }
        start = end + 1;
    }
}

/// A list element's coding name: trimmed, cut at `;`, trimmed again.
#[inline]
fn coding_name(item: &[u8]) -> &[u8] {
    let item = trim_ows(item);
    let end = item.iter().position(|&b| b == b';').unwrap_or(item.len());
    trim_ows(&item[..end])
}

/// A transfer coding the guardian knows (SPEC §4.5: chunked, compress, deflate, gzip,
/// identity, ignoring ASCII case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Chunked,
    Other,
    Unknown,
}

impl Coding {
    /// The names are all letters, and `b | 0x20` is a lower-case letter exactly when `b` is
    /// that letter in either case, so each name is one OR and one compare of a word (the
    /// `http::is_named` trick), not a byte loop per candidate.
    #[inline]
    fn of(c: &[u8]) -> Coding {
        const fn word(s: &[u8]) -> u64 {
            let mut w = 0;
            let mut i = s.len();
            while i > 0 {
                i -= 1;
                w = (w << 8) | s[i] as u64;
            }
            w
        }
        const LOWER: u64 = 0x2020_2020_2020_2020;
        let known = match c.len() {
            4 => {
                let w = u32::from_le_bytes(*c.first_chunk().expect("len 4"));
                u64::from(w | 0x2020_2020) == word(b"gzip")
            }
            7 => {
                // Bytes 0-3 and 3-6: the shared byte 3 lands on itself.
                let lo = u32::from_le_bytes(*c.first_chunk().expect("len 7"));
                let hi = u32::from_le_bytes(*c.last_chunk().expect("len 7"));
                let w = (u64::from(lo) | u64::from(hi) << 24) | (LOWER >> 8);
                if w == word(b"chunked") {
                    return Coding::Chunked;
                }
                w == word(b"deflate")
            }
            8 => {
                let w = u64::from_le_bytes(*c.first_chunk().expect("len 8")) | LOWER;
                w == word(b"compress") || w == word(b"identity")
            }
            _ => false,
        };
        if known {
            Coding::Other
        } else {
            Coding::Unknown
        }
    }
}

/// Decimal digits into a u64; `None` on any other byte or on overflow. Empty is 0, the
/// guardian's reading of an empty value.
#[inline]
pub(super) fn digits(s: &[u8]) -> Option<u64> {
    s.iter().try_fold(0u64, |n, &d| {
        if d.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

#[derive(Default)]
pub(super) struct Codings {
    pub(super) final_chunked: bool,
    pub(super) chunked: usize,
}

/// The TE list's codings read as one list; empty elements are ignored (RFC 9110 §5.6.1).
fn transfer_codings(buf: &[u8], headers: &[Header], marks: &[HeaderMark]) -> Codings {
    let mut c = Codings::default();
    for (h, _) in headers.iter().zip(marks).filter(|(_, m)| m.te) {
        for_each_coding(h.value.of(buf), |name, coding| {
            if !name.is_empty() {
                let chunked = coding == Coding::Chunked;
                c.chunked += usize::from(chunked);
                c.final_chunked = chunked;
            }
        });
    }
    c
}

pub(super) const EMPTY_CL: FramingError = FramingError("empty Content-Length");

/// RFC 9112 §6.3 rules 5-6 over the CL list: every value `1*DIGIT` and all equal.
fn content_length(
    buf: &[u8],
    headers: &[Header],
    marks: &[HeaderMark],
) -> Result<Option<u64>, FramingError> {
    let mut list = ClList::default();
    for (h, _) in headers.iter().zip(marks).filter(|(_, m)| m.cl) {
        let v = trim_ows(h.value.of(buf));
        list.push(v, digits(v));
    }
    list.finish()
}

/// ringway's reading of the CL list, one value at a time.
#[derive(Default)]
struct ClList {
    length: Option<u64>,
    err: Option<FramingError>,
    empty: bool,
}

impl ClList {
    /// `value` trimmed of OWS, and its `digits`.
    #[inline]
    fn push(&mut self, value: &[u8], n: Option<u64>) {
        if value.is_empty() {
            self.empty = true;
            return;
        }
        match n {
            None => self.err = self.err.or(Some(FramingError("invalid Content-Length"))),
            Some(n) if self.length.is_some_and(|l| l != n) => {
                self.err = self
                    .err
                    .or(Some(FramingError("differing Content-Length values")))
            }
            Some(n) => self.length = Some(n),
        }
    }

    fn finish(self) -> Result<Option<u64>, FramingError> {
        match (self.empty, self.err) {
            // The empty value is reported over any other CL fault: ringway has a reason for it.
            (true, _) => Err(EMPTY_CL),
            (false, Some(e)) => Err(e),
            (false, None) => Ok(self.length),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&[u8]; 5] = [b"chunked", b"compress", b"deflate", b"gzip", b"identity"];

    fn expected(c: &[u8]) -> Coding {
        if c.eq_ignore_ascii_case(b"chunked") {
            Coding::Chunked
        } else if KNOWN.iter().any(|k| c.eq_ignore_ascii_case(k)) {
            Coding::Other
        } else {
            Coding::Unknown
        }
    }

    #[test]
    fn a_coding_is_known_exactly_when_it_equals_a_known_name_ignoring_ascii_case() {
        for k in KNOWN {
            for at in 0..k.len() {
                for b in 0..=255u8 {
                    let mut c = k.to_vec();
                    c[at] = b;
                    assert_eq!(Coding::of(&c), expected(&c), "{c:?}");
                    c.insert(at, b);
                    assert_eq!(Coding::of(&c), expected(&c), "{c:?}");
                }
            }
            assert_eq!(Coding::of(&k[1..]), Coding::Unknown);
            assert_eq!(Coding::of(&k.to_ascii_uppercase()), expected(k));
        }
        for c in [
            &b""[..],
            b"x",
            b"trailers",
            b"chunkedx",
            b"CHUNKED",
            b"GZip",
        ] {
            assert_eq!(Coding::of(c), expected(c), "{c:?}");
        }
    }

    #[test]
    fn coding_names_are_the_split_elements_trimmed_and_cut_at_semicolons() {
        // Single bytes, and whole coding names so that known elements occur.
        let pieces: [&[u8]; 13] = [
            b",",
            b";",
            b" ",
            b"\t",
            b"a",
            b"Z",
            b"=",
            b"\x80",
            b"\"",
            b"chunked",
            b"GZip",
            b"identity",
            b"\x0b",
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for pieces_in_value in 0..=40 {
            for _ in 0..300 {
                let v: Vec<u8> = (0..pieces_in_value)
                    .flat_map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        pieces[(x % pieces.len() as u64) as usize].iter().copied()
                    })
                    .collect();
                let expected: Vec<&[u8]> = v.split(|&b| b == b',').map(coding_name).collect();
                let mut got = Vec::new();
                for_each_coding(&v, |name, coding| {
                    assert_eq!(coding, Coding::of(name));
                    got.push(name)
                });
                assert_eq!(got, expected, "{v:?}");
            }
        }
    }

    #[test]
    fn versions_compare_with_http_1_0_byte_by_byte() {
        let mut versions: Vec<Vec<u8>> = [
            &b""[..],
            b"H",
            b"HTTP/1.",
            b"HTTP/1.0",
            b"HTTP/1.0 ",
            b"HTTP/1.00",
            b"HTTP/1.1",
            b"HTTP/0.9",
            b"HTTP/1.\xff",
            b"\xffTTP/1.0",
            b"http/1.0",
            b"HTTP/2",
            b"HTTP/10",
        ]
        .iter()
        .map(|v| v.to_vec())
        .collect();
        for at in 0..9 {
            for b in 0..=255u8 {
                let mut v = b"HTTP/1.0".to_vec();
                if at < v.len() {
                    v[at] = b;
                } else {
                    v.push(b);
                }
                versions.push(v);
            }
        }
        for v in &versions {
            assert_eq!(cmp_http_1_0(v), v.as_slice().cmp(b"HTTP/1.0"), "{v:?}");
        }
    }
}
