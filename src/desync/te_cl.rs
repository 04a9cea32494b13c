//! Transfer-Encoding and Content-Length: the guardian's semantics checks (SPEC §4.5), exactly
//! as it runs them, and the lists ringway frames the forwarded body from (RFC 9112 §6.3).

use super::chars::trim_ows;
use super::classify::{HeaderMark, HeaderTier, State};
use super::reason::Reason;
use crate::http::{FramingError, Header};

/// SPEC §4.5, as the guardian does it. Returns the TE list's codings for ringway's framing.
/// `headers` and `marks` may start at the first listed header; `(n_te, n_cl)` are the lists'
/// lengths.
pub(super) fn te_cl_semantics(
    buf: &[u8],
    headers: &[Header],
    marks: &mut [HeaderMark],
    method: &[u8],
    version: &[u8],
    (n_te, n_cl): (usize, usize),
    st: &mut State,
) -> Codings {
    let raise = |marks: &mut [HeaderMark], te: bool, tier: HeaderTier| {
        for m in marks.iter_mut().filter(|m| if te { m.te } else { m.cl }) {
            m.tier = m.tier.max(tier);
        }
    };
    // a. Older versions, compared as raw bytes.
    if version <= &b"HTTP/1.0"[..] && n_te > 0 {
        st.upgrade(Reason::UndefinedTransferEncodingSemantics);
        raise(marks, true, HeaderTier::NonCompliant);
        raise(marks, false, HeaderTier::Bad);
        return transfer_codings(buf, headers, marks);
    }
    if version < &b"HTTP/1.0"[..] && n_cl > 0 {
        st.upgrade(Reason::UndefinedContentLengthSemantics);
        raise(marks, false, HeaderTier::NonCompliant);
        return Codings::default();
    }
    // b. TE values.
    let mut prev_chunked = false;
    let mut all_bad = false;
    let mut codings = Codings::default();
    for (h, m) in headers.iter().zip(marks.iter_mut()).filter(|(_, m)| m.te) {
        for item in h.value.of(buf).split(|&b| b == b',') {
            let name = coding_name(item);
            let chunked = name.eq_ignore_ascii_case(b"chunked");
            if !name.is_empty() {
                // ringway's framing reads the same list, empty elements ignored.
                codings.chunked += usize::from(chunked);
                codings.final_chunked = chunked;
            }
            match name {
                c if known_coding(c) => {
                    if prev_chunked && chunked {
                        all_bad = true;
                        m.tier = HeaderTier::Bad;
                        st.upgrade(Reason::MultipleTransferEncodingChunked);
                    }
                    prev_chunked = chunked;
                }
                _ => {
                    m.tier = HeaderTier::Bad;
                    st.upgrade(Reason::BadTransferEncoding);
                }
            }
        }
    }
    if all_bad {
        raise(marks, true, HeaderTier::Bad);
    }
    // c. CL values: the guardian reads an empty one as 0.
    let mut cl_value: Option<u64> = None;
    let mut all_bad = false;
    for (h, m) in headers.iter().zip(marks.iter_mut()).filter(|(_, m)| m.cl) {
        match digits(trim_ows(h.value.of(buf)), true) {
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
    codings
}

/// A list element's coding name: trimmed, cut at `;`, trimmed again.
#[inline]
fn coding_name(item: &[u8]) -> &[u8] {
    let item = trim_ows(item);
    let end = item.iter().position(|&b| b == b';').unwrap_or(item.len());
    trim_ows(&item[..end])
}

#[inline]
fn known_coding(c: &[u8]) -> bool {
    let is = |k: &[u8]| c.eq_ignore_ascii_case(k);
    match c.len() {
        4 => is(b"gzip"),
        7 => is(b"chunked") || is(b"deflate"),
        8 => is(b"compress") || is(b"identity"),
        _ => false,
    }
}

/// Decimal digits into a u64; `None` on any other byte or on overflow. `empty_is_zero` is the
/// guardian's reading of an empty value.
#[inline]
fn digits(s: &[u8], empty_is_zero: bool) -> Option<u64> {
    if s.is_empty() && !empty_is_zero {
        return None;
    }
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
        for item in h.value.of(buf).split(|&b| b == b',') {
            let name = coding_name(item);
            if name.is_empty() {
                continue;
            }
            let chunked = name.eq_ignore_ascii_case(b"chunked");
            c.chunked += usize::from(chunked);
            c.final_chunked = chunked;
        }
    }
    c
}

pub(super) const EMPTY_CL: FramingError = FramingError("empty Content-Length");

/// RFC 9112 §6.3 rules 5-6 over the CL list: every value `1*DIGIT` and all equal.
pub(super) fn content_length(
    buf: &[u8],
    headers: &[Header],
    marks: &[HeaderMark],
) -> Result<Option<u64>, FramingError> {
    let mut length = None;
    let mut err = None;
    for (h, _) in headers.iter().zip(marks).filter(|(_, m)| m.cl) {
        let v = trim_ows(h.value.of(buf));
        if v.is_empty() {
            // The empty value is reported over any other CL fault: ringway has a reason for it.
            return Err(EMPTY_CL);
        }
        match digits(v, false) {
            None => err = err.or(Some(FramingError("invalid Content-Length"))),
            Some(n) if length.is_some_and(|l| l != n) => {
                err = err.or(Some(FramingError("differing Content-Length values")))
            }
            Some(n) => length = Some(n),
        }
    }
    match err {
        Some(e) => Err(e),
        None => Ok(length),
    }
}
