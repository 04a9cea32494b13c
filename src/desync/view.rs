//! What the classifier looks at: offsets into one buffer, from either parser.

use crate::http::{Header, RequestHead, Span};

/// Facts only a raw look at the bytes can give (SPEC §5); all false for a clean httparse
/// parse. `tokenize` sets them; `from_parsed` can only find bare LFs, since httparse refuses
/// the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineFacts {
    /// Some line of the head ends in LF without CR (NonCrLfLineTermination).
    pub bare_lf: bool,
    /// Some header line starts with SP/HT (obs-fold). `tokenize` gives the fold its own
    /// header entry whose name span is the span of the header it continues (an empty span
    /// at the line for a fold right after the request line).
    pub obs_fold: bool,
    /// Some header line has no `:`. `tokenize` gives it an entry whose value is the empty
    /// span at the end of its name.
    pub missing_colon: bool,
    /// The request line has no request-target (`GET HTTP/1.1`, `GET`).
    pub missing_uri: bool,
    /// Some field name ends in SP/HT. A summary only: `classify` reads this from the name
    /// bytes, so it holds for structured input too.
    pub whitespace_before_colon: bool,
    /// The head passed httparse's request grammar (`from_parsed` sets it, and a test below
    /// holds httparse to it): the method and every field name are tokens, the target is
    /// non-empty URI bytes, the version is `HTTP/1.0` or `HTTP/1.1` without padding, every
    /// value is VALUE bytes without leading or trailing OWS, and none of the other facts but
    /// `bare_lf` holds. `classify` then skips the byte-class scans that cannot fail. Never
    /// set it for bytes no such parser checked: the verdict would miss what they hold.
    pub strict: bool,
}

/// One request head to classify: spans into `buf`.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    pub buf: &'a [u8],
    pub method: Span,
    pub target: Span,
    /// The version token as written (padding included); empty for HTTP/0.9.
    pub version: Span,
    pub headers: &'a [Header],
    pub lines: LineFacts,
}

impl<'a> RequestView<'a> {
    /// The view of a head that `crate::http::parse_request` (httparse) accepted: the version
    /// span is found on the request line after the target, the bare LF from the line ends
    /// (see `bare_lf_at_line_ends`).
    pub fn from_parsed(buf: &'a [u8], head: &'a RequestHead) -> Self {
        let len = head.len.min(buf.len());
        let version = version_after(buf, len, head.target.end as usize);
        RequestView {
            buf,
            method: head.method_span,
            target: head.target,
            version,
            headers: &head.headers,
            lines: LineFacts {
                bare_lf: bare_lf_at_line_ends(&buf[..len], head)
                    .unwrap_or_else(|| has_bare_lf(&buf[..len])),
                strict: true,
                ..LineFacts::default()
            },
        }
    }
}

/// The version token after the request-target ending at `target_end`: `version_scan`, with
/// the request line httparse accepts (`SP HTTP/1.x` and a line end) checked in one step first.
#[inline]
fn version_after(buf: &[u8], len: usize, target_end: usize) -> Span {
    let start = target_end + 1;
    if buf[..len].get(target_end) == Some(&b' ') {
        if let Some(v) = buf[..len].get(start..start + 9) {
            if v[..7] == *b"HTTP/1." && v[7].is_ascii_digit() && matches!(v[8], b'\r' | b'\n') {
                // No SP at `start`, no CR or LF before `start + 8`, one at it: the scan's answer.
                return span(start, start + 8);
            }
        }
    }
    version_scan(buf, len, target_end)
}

/// From the first byte after `target_end` that is not SP to the first CR or LF of the head.
fn version_scan(buf: &[u8], len: usize, target_end: usize) -> Span {
    let mut start = target_end.min(len);
    while buf.get(start) == Some(&b' ') {
        start += 1;
    }
    let mut end = start;
    while end < len && !matches!(buf[end], b'\r' | b'\n') {
        end += 1;
    }
    span(start, end)
}

fn span(start: usize, end: usize) -> Span {
    // Offsets inside a head, which is never longer than u32::MAX (`crate::http::parse`).
    Span {
        start: start as u32,
        end: end as u32,
    }
}

/// `has_bare_lf(head)` for a head httparse accepted, from the line ends alone. httparse
/// puts an LF only at a line end: methods and names are tokens, targets URI bytes, the
/// version is `HTTP/1.x`, values and the OWS around them end at the first LF, and one line
/// holds one field (no obs-fold). So the LFs are those of the leading empty lines, the one
/// before each field name, and the last two (before and of the empty line that ends the
/// head): two bytes a line instead of every byte of the head. None when some line start does
/// not follow an LF, which httparse never gives: the caller then scans the whole head.
#[inline]
fn bare_lf_at_line_ends(head: &[u8], parsed: &RequestHead) -> Option<bool> {
    let len = head.len();
    match head.get(len.wrapping_sub(2)..) {
        Some(&[b'\r', b'\n']) => {}
        Some(&[_, b'\n']) => return Some(true),
        _ => return None,
    }
    let first = (parsed.method_span.start as usize).min(len);
    let mut bare = has_bare_lf(&head[..first]);
    let starts = parsed.headers.iter().map(|h| h.name.start as usize);
    // The empty line that ends the head starts at len - 2.
    for s in starts.chain(std::iter::once(len - 2)) {
        match head.get(s.wrapping_sub(2)..s) {
            Some(&[before, b'\n']) => bare |= before != b'\r',
            _ => return None,
        }
    }
    Some(bare)
}

/// Whether some LF in `head` is not preceded by CR.
pub(super) fn has_bare_lf(head: &[u8]) -> bool {
    let mut from = 0;
    while let Some(i) = head[from..].iter().position(|&b| b == b'\n') {
        let at = from + i;
        if at == 0 || head[at - 1] != b'\r' {
            return true;
        }
        from = at + 1;
    }
    false
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::desync::chars::{all, is_token, trim_ows, URI, VALUE};
    use crate::http::{parse_request, Limits};
    use proptest::prelude::*;

    /// What `LineFacts::strict` promises, checked a byte at a time against the class table.
    fn strict_holds(v: &RequestView<'_>) -> bool {
        let b = v.buf;
        let target = v.target.of(b);
        is_token(v.method.of(b))
            && !target.is_empty()
            && all(target, URI)
            && matches!(v.version.of(b), b"HTTP/1.0" | b"HTTP/1.1")
            && v.headers.iter().all(|h| {
                let value = h.value.of(b);
                is_token(h.name.of(b)) && all(value, VALUE) && trim_ows(value) == value
            })
            && !(v.lines.obs_fold
                || v.lines.missing_colon
                || v.lines.missing_uri
                || v.lines.whitespace_before_colon)
    }

    /// httparse keeps to what `strict` promises for every byte in every part of a head, in
    /// short parts and in parts long enough for its SIMD paths, at the start, middle and end.
    #[test]
    fn every_head_httparse_accepts_keeps_the_strict_promise() {
        let long = "x".repeat(40);
        let mut accepted = 0;
        for b in 0..=255u8 {
            for (pre, post) in [
                ("", ""),
                ("x", "x"),
                (long.as_str(), ""),
                ("", long.as_str()),
            ] {
                let part = [pre.as_bytes(), &[b], post.as_bytes()].concat();
                let heads = [
                    [&part[..], b" / HTTP/1.1\r\nHost: a\r\n\r\n"].concat(),
                    [&b"GET /"[..], &part, b" HTTP/1.1\r\nHost: a\r\n\r\n"].concat(),
                    [&b"GET / HTTP/1.1\r\n"[..], &part, b": a\r\n\r\n"].concat(),
                    [&b"GET / HTTP/1.1\r\nX: "[..], &part, b"\r\n\r\n"].concat(),
                    [&b"GET / HTTP/1.1\r\nX:"[..], &part, b"\n\n"].concat(),
                    [&b"GET / HTTP/1."[..], &part, b"\r\n\r\n"].concat(),
                ];
                for h in &heads {
                    if let Ok(Some(head)) = parse_request(h, &Limits::default()) {
                        accepted += 1;
                        let v = RequestView::from_parsed(h, &head);
                        assert!(strict_holds(&v), "{:?}", String::from_utf8_lossy(h));
                    }
                }
            }
        }
        assert!(accepted > 1000, "{accepted}");
    }

    #[test]
    fn a_parsed_head_gives_its_version_span_and_no_line_facts() {
        let buf = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        let head = parse_request(buf, &Limits::default()).unwrap().unwrap();
        let v = RequestView::from_parsed(buf, &head);
        assert_eq!(v.version.of(buf), b"HTTP/1.1");
        assert_eq!(v.target.of(buf), b"/a");
        let strict = LineFacts {
            strict: true,
            ..LineFacts::default()
        };
        assert_eq!(v.lines, strict);
    }

    #[test]
    fn a_bare_lf_anywhere_in_the_head_is_found() {
        let buf = b"GET /a HTTP/1.1\r\nHost: x\n\r\n";
        let head = parse_request(buf, &Limits::default()).unwrap().unwrap();
        let v = RequestView::from_parsed(buf, &head);
        assert!(v.lines.bare_lf);
        assert_eq!(v.version.of(buf), b"HTTP/1.1");
        assert!(!has_bare_lf(b"a\r\nb\r\n"));
        assert!(has_bare_lf(b"\n"));
    }

    /// Heads of a request line and header lines joined by CRLF or bare LF, with odd bytes,
    /// padding, empty values and leading empty lines: what httparse accepts and, at the edges,
    /// refuses.
    pub(in crate::desync) fn heads() -> impl Strategy<Value = Vec<u8>> {
        let name = prop::sample::select(vec![
            &b"Host"[..],
            b"X-A",
            b"Content-Length",
            b"transfer-encoding",
            b"a",
            b"Accept",
            b"X-A",
            b"a",
            b"",
            b"a b",
            b"\xc3\xa9",
        ]);
        let sep = prop::sample::select(vec![&b":"[..], b": ", b":\t ", b": ", b": ", b" :", b""]);
        let piece = prop::sample::select(vec![
            &b"x"[..],
            b" ",
            b"\t",
            b"0",
            b"chunked",
            b"\xc3\xa9",
            b"x",
            b"/a",
            b"0",
            b"x y",
            b"\x7f",
            b"\r",
            b"\0",
            b"\n",
        ]);
        let value = prop::collection::vec(piece, 0..5).prop_map(|p| p.concat());
        let end = prop::sample::select(vec![&b"\r\n"[..], b"\r\n", b"\r\n", b"\r\n", b"\n"]);
        let lines = prop::collection::vec((name, sep, value, end.clone()), 0..6);
        let lead = prop::sample::select(vec![&b""[..], b"\r\n", b"\n", b"\n\r\n"]);
        let first = prop::sample::select(vec![
            &b"GET / HTTP/1.1"[..],
            b"GET /a HTTP/1.0",
            b"POST * HTTP/1.1",
            b"GET  / HTTP/1.1",
            b"GET / HTTP/1.1 ",
            b"GET / HTTP/1.",
            b"CONNECT a:443 HTTP/1.1",
            b"OPTIONS * HTTP/1.1",
            b"GET http://x/ HTTP/1.1",
            b"GET * HTTP/1.1",
            b"POST / HTTP/1.0",
            b"HEAD / HTTP/1.1",
            b"POST /a HTTP/1.1",
            b"PUT /a?b HTTP/1.1",
        ]);
        (lead, first, end.clone(), lines, end).prop_map(|(lead, first, e0, lines, e1)| {
            let mut h = [lead, first, e0].concat();
            for (n, s, v, e) in lines {
                h.extend_from_slice(&[n, s, &v, e].concat());
            }
            h.extend_from_slice(e1);
            h
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// `from_parsed` reads the version and bare LFs from a few bytes; the scans of the
        /// whole request line and head must agree on every head httparse accepts.
        #[test]
        fn from_parsed_agrees_with_the_full_scans(buf in heads()) {
            if let Ok(Some(head)) = parse_request(&buf, &Limits::default()) {
                let v = RequestView::from_parsed(&buf, &head);
                let len = head.len.min(buf.len());
                prop_assert_eq!(v.version, version_scan(&buf, len, head.target.end as usize));
                prop_assert_eq!(v.lines.bare_lf, has_bare_lf(&buf[..len]));
                prop_assert!(bare_lf_at_line_ends(&buf[..len], &head).is_some());
            }
        }

        /// The same with one arbitrary byte put anywhere: what httparse accepts keeps the
        /// `strict` promise.
        #[test]
        fn a_stray_byte_httparse_accepts_keeps_the_strict_promise(
            buf in heads(),
            at in any::<prop::sample::Index>(),
            b in any::<u8>(),
        ) {
            let mut buf = buf;
            buf.insert(at.index(buf.len() + 1), b);
            if let Ok(Some(head)) = parse_request(&buf, &Limits::default()) {
                let v = RequestView::from_parsed(&buf, &head);
                prop_assert!(strict_holds(&v));
                let len = head.len.min(buf.len());
                prop_assert_eq!(v.lines.bare_lf, has_bare_lf(&buf[..len]));
            }
        }

        /// On any bytes at all, the version fast path gives what the scan gives.
        #[test]
        fn the_version_fast_path_is_the_scan(
            buf in prop::collection::vec(prop::sample::select(b" HTP/1.\r\n0x".to_vec()), 0..24),
            at in 0usize..24,
        ) {
            let len = buf.len();
            prop_assert_eq!(version_after(&buf, len, at), version_scan(&buf, len, at));
        }
    }
}
