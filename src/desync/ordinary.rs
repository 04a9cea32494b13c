//! `classify`'s fast path for the request nearly every client sends: a head httparse
//! accepted (`LineFacts::strict`), in origin-form, with no Transfer-Encoding, at most one
//! Content-Length (of digits, and not on GET or HEAD), at most one Host, and only field names
//! that cannot look like either framing field. For such a head every check of
//! `classify::classify_all` but the bare LF and the Host rules is settled before it starts
//! (SPEC §4.2-4.8 by the grammar, §4.4-4.5 by the names and the one length), so this runs
//! those two, reads the length, and does nothing else. Any other head gets `None` and the
//! full pass; the proptests below hold the two to the same verdicts and marks.

use super::classify::{host_checks, surely_distant, HeaderMark, State, Verdict};
use super::reason::Reason;
use super::similar::CL;
use super::target::Form;
use super::te_cl::digits;
use super::view::RequestView;
use crate::http::{BodyFraming, Known, Version};

/// The verdict and marks `classify_all` would give, or None when the head is not ordinary.
/// `marks` is as long as `req.headers`; on None some of it may have been written.
#[inline(always)]
pub(super) fn ordinary(req: &RequestView<'_>, marks: &mut [HeaderMark]) -> Option<Verdict> {
    if !req.lines.strict {
        return None;
    }
    let buf = req.buf;
    // Under `strict` the version is one of these, unpadded (SPEC §4.7: nothing to report).
    let version: [u8; 8] = req.version.of(buf).try_into().ok()?;
    let version = match u64::from_le_bytes(version) {
        v if v == u64::from_le_bytes(*b"HTTP/1.1") => Version::Http11,
        v if v == u64::from_le_bytes(*b"HTTP/1.0") => Version::Http10,
        _ => return None,
    };
    // Origin-form, which every method but CONNECT may use (`target::form`).
    if req.target.of(buf).first() != Some(&b'/') || req.method.of(buf) == b"CONNECT" {
        return None;
    }
    let (mut hosts, mut first_host) = (0usize, 0usize);
    let mut length = None;
    for (i, (h, mark)) in req.headers.iter().zip(marks.iter_mut()).enumerate() {
        *mark = match h.known {
            Known::Host => {
                if hosts == 0 {
                    first_host = i;
                }
                hosts += 1;
                HeaderMark::default()
            }
            // One Content-Length, in the CL list (SPEC §4.4); its value is read below.
            Known::ContentLength if length.is_none() => {
                length = Some(h.value);
                HeaderMark {
                    framing: true,
                    cl: true,
                    ..HeaderMark::default()
                }
            }
            Known::TransferEncoding | Known::ContentLength => return None,
            // A token name that cannot be a lookalike, with a value of VALUE bytes: the
            // default mark and no reason (SPEC §4.2-4.4). A name shorter than Content-Length
            // cannot be one, and most are: the length settles it without the bytes.
            _ => {
                let short = (h.name.end.wrapping_sub(h.name.start) as usize) < CL.len();
                if !short && !surely_distant(h.name.of(buf)) {
                    return None;
                }
                HeaderMark::default()
            }
        };
    }
    let framing = match length {
        None => BodyFraming::None,
        Some(value) => {
            // SPEC §4.5 d: GET and HEAD with a Content-Length have reasons of their own.
            let method = req.method.of(buf);
            if method == b"GET" || method == b"HEAD" {
                return None;
            }
            // §4.5 c with one value: digits that fit are the length, 0 no body; an empty
            // value (EmptyContentLength) or any other is the full pass's to report.
            let value = value.of(buf);
            match digits(value) {
                Some(0) if !value.is_empty() => BodyFraming::None,
                Some(n) if !value.is_empty() => BodyFraming::ContentLength(n),
                _ => return None,
            }
        }
    };
    let mut st = State::default();
    // The checks that remain, in `classify_all`'s order.
    if req.lines.bare_lf {
        st.upgrade(Reason::NonCrLfLineTermination);
    }
    // More than one Host is the full pass's to report (MultipleHost).
    if hosts > 1 {
        return None;
    }
    host_checks(req, hosts, first_host, Form::Origin, Some(version), &mut st);
    Some(Verdict {
        tier: st.tier(),
        reason: st.reason(),
        framing: Ok(framing),
        forward_version: Some(version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desync::classify::{classify, classify_all, HeaderTier};
    use crate::desync::LineFacts;
    use crate::http::{parse_request, Limits};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// `LineFacts::strict` and the `ordinary` fast path only skip checks: on every head
        /// httparse accepts, `classify` (which takes `ordinary` when it can), the full pass
        /// with `strict`, and the full pass without it give the same verdict and marks.
        #[test]
        fn the_fast_paths_agree_with_the_full_checks(
            buf in super::super::view::tests::heads(),
            at in any::<prop::sample::Index>(),
            b in any::<u8>(),
        ) {
            let mut buf = buf;
            if b & 1 == 0 {
                buf.insert(at.index(buf.len() + 1), b);
            }
            agree(&buf)?;
        }

        /// The same on heads near the edge of `ordinary`: framing fields, Host values, CL
        /// values and names next to the ones it takes.
        #[test]
        fn the_fast_paths_agree_near_the_ordinary_edge(buf in near_ordinary()) {
            agree(&buf)?;
        }
    }

    fn near_ordinary() -> impl Strategy<Value = Vec<u8>> {
        let method = prop::sample::select(vec![
            &b"GET"[..],
            b"HEAD",
            b"POST",
            b"PUT",
            b"CONNECT",
            b"OPTIONS",
            b"get",
        ]);
        let target = prop::sample::select(vec![&b"/"[..], b"/a?b", b"*", b"http://a/", b"a:1"]);
        let version = prop::sample::select(vec![&b"HTTP/1.1"[..], b"HTTP/1.0"]);
        let name = prop::sample::select(vec![
            &b"Host"[..],
            b"host",
            b"Content-Length",
            b"content-length",
            b"Transfer-Encoding",
            b"Accept",
            b"Accept-Language",
            b"Content-Lengthx",
            b"Content_Length",
            b"Cookie",
            b"X-A-Long-Field-Name",
            b"tranfer-encoding",
            b"Transfer-Encodings",
            b"Content-Type",
            b"-Content-Length",
            b"TE",
        ]);
        let value = prop::sample::select(vec![
            &b""[..],
            b"0",
            b"5",
            b"007",
            b"99999999999999999999",
            b"18446744073709551615",
            b"a",
            b"a:80",
            b"[::1]:8",
            b"a b",
            b"chunked",
            b"x:99999",
            b"1, 1",
            b"a.example",
        ]);
        let end = prop::sample::select(vec![&b"\r\n"[..], b"\r\n", b"\r\n", b"\n"]);
        let fields = prop::collection::vec((name, value, end.clone()), 0..5);
        (method, target, version, end, fields).prop_map(|(m, t, v, e, fields)| {
            let mut h = [m, b" ", t, b" ", v, e].concat();
            for (n, v, e) in fields {
                h.extend_from_slice(&[n, b": ", v, e].concat());
            }
            h.extend_from_slice(b"\r\n");
            h
        })
    }

    /// See `the_fast_paths_agree_with_the_full_checks`.
    fn agree(buf: &[u8]) -> Result<(), TestCaseError> {
        let Ok(Some(head)) = parse_request(buf, &Limits::default()) else {
            return Ok(());
        };
        let fast = RequestView::from_parsed(buf, &head);
        prop_assert!(fast.lines.strict);
        let slow = RequestView {
            lines: LineFacts {
                strict: false,
                ..fast.lines
            },
            ..fast
        };
        let n = head.headers.len();
        let mut marks = [
            vec![HeaderMark::default(); n],
            vec![HeaderMark::default(); n],
        ];
        let want = classify_all(&slow, &mut marks[0]);
        prop_assert_eq!(classify_all(&fast, &mut marks[1]), want);
        prop_assert_eq!(&marks[0], &marks[1]);
        // Marks left over from another request must not leak through.
        marks[1].fill(HeaderMark {
            tier: HeaderTier::Bad,
            ..HeaderMark::default()
        });
        prop_assert_eq!(classify(&fast, &mut marks[1]), want);
        prop_assert_eq!(&marks[0], &marks[1]);
        Ok(())
    }
}
