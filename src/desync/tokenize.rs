//! A lenient head tokenizer (the guardian's raw mode, SPEC §5) for heads httparse refused, so
//! they can still be classified and, where the mode forwards them, forwarded with the bad
//! parts dropped. It splits where the guardian splits, with two differences: it waits for the
//! empty line that ends a head (`Ok(None)` until then, as `parse_request` does), and it skips
//! empty lines before the request line (RFC 9112 §2.2 SHOULD) instead of calling them
//! MissingUri. Limits are those of `parse_request` and are prefix-stable the same way: a
//! prefix of a buffer gives `Ok(None)` or the buffer's own error.

use super::chars::{is, OWS, TCHAR};
use super::view::{LineFacts, RequestView};
use crate::http::{Header, Limits, ParseError, Span};

/// A head `tokenize` found: offsets into the buffer it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRequest {
    /// Head bytes, the empty line included; the body starts at `buf[len..]`.
    pub len: usize,
    pub method: Span,
    pub target: Span,
    pub version: Span,
    pub lines: LineFacts,
}

impl RawRequest {
    pub fn view<'a>(&self, buf: &'a [u8], headers: &'a [Header]) -> RequestView<'a> {
        RequestView {
            buf,
            method: self.method,
            target: self.target,
            version: self.version,
            headers,
            lines: self.lines,
        }
    }
}

/// Tokenizes the head at the start of `buf`. `Ok(None)`: no complete head yet (no empty
/// line), under the limits. A head longer than `limits.max_head` or with more than
/// `max_headers` header lines is `HeadersTooLarge`; a request line over `max_line` is
/// `UriTooLong`, a header line over it `HeadersTooLarge`. `headers` is cleared and refilled.
pub fn tokenize(
    buf: &[u8],
    limits: &Limits,
    headers: &mut Vec<Header>,
) -> Result<Option<RawRequest>, ParseError> {
    headers.clear();
    let max_head = limits.max_head.min(u32::MAX as usize);
    let window = &buf[..buf.len().min(max_head)];
    let incomplete = || {
        if buf.len() >= max_head {
            Err(ParseError::HeadersTooLarge)
        } else {
            Ok(None)
        }
    };
    let mut lines = LineFacts::default();
    let mut at = 0;
    loop {
        match window.get(at..at + 2) {
            Some(b"\r\n") => at += 2,
            _ if window.get(at) == Some(&b'\n') => {
                lines.bare_lf = true;
                at += 1;
            }
            _ => break,
        }
    }
    let Some(first) = next_line(window, at, limits.max_line, ParseError::UriTooLong)? else {
        return incomplete();
    };
    lines.bare_lf |= first.bare_lf;
    let (method, target, version, missing_uri) = request_line(window, at, first.end);
    lines.missing_uri = missing_uri;
    at = first.next;
    loop {
        let Some(line) = next_line(window, at, limits.max_line, ParseError::HeadersTooLarge)?
        else {
            return incomplete();
        };
        lines.bare_lf |= line.bare_lf;
        let (s, e) = (at, line.end);
        at = line.next;
        if s == e {
            return Ok(Some(RawRequest {
                len: at,
                method,
                target,
                version,
                lines,
            }));
        }
        if headers.len() >= limits.max_headers {
            return Err(ParseError::HeadersTooLarge);
        }
        let header = if is(window[s], OWS) {
            // obs-fold: an entry under the name of the line it continues.
            lines.obs_fold = true;
            let name = headers.last().map_or(span(s, s), |h| h.name);
            Header::new(window, name, trimmed(window, s, e))
        } else if let Some(c) = window[s..e].iter().position(|&b| b == b':') {
            let colon = s + c;
            lines.whitespace_before_colon |= c > 0 && is(window[colon - 1], OWS);
            Header::new(window, span(s, colon), trimmed(window, colon + 1, e))
        } else {
            lines.missing_colon = true;
            Header::new(window, span(s, e), span(e, e))
        };
        headers.push(header);
    }
}

struct Line {
    /// End of the line's content: before its CR LF or bare LF.
    end: usize,
    /// Start of the next line.
    next: usize,
    bare_lf: bool,
}

/// The line starting at `start`; `Ok(None)` if its LF has not arrived and it is not over
/// `max_line` yet. A trailing CR of an unfinished line is not counted: it may be half a CRLF.
fn next_line(
    buf: &[u8],
    start: usize,
    max_line: usize,
    too_long: ParseError,
) -> Result<Option<Line>, ParseError> {
    let rest = &buf[start..];
    match rest.iter().position(|&b| b == b'\n') {
        Some(i) => {
            let lf = start + i;
            let cr = i > 0 && buf[lf - 1] == b'\r';
            let end = lf - usize::from(cr);
            if end - start > max_line {
                return Err(too_long);
            }
            Ok(Some(Line {
                end,
                next: lf + 1,
                bare_lf: !cr,
            }))
        }
        None => {
            let len = rest.len() - usize::from(rest.last() == Some(&b'\r'));
            if len > max_line {
                return Err(too_long);
            }
            Ok(None)
        }
    }
}

#[inline]
fn span(start: usize, end: usize) -> Span {
    Span {
        start: start as u32,
        end: end as u32,
    }
}

/// `buf[start..end]` without leading and trailing SP/HT.
fn trimmed(buf: &[u8], mut start: usize, mut end: usize) -> Span {
    while start < end && is(buf[start], OWS) {
        start += 1;
    }
    while end > start && is(buf[end - 1], OWS) {
        end -= 1;
    }
    span(start, end)
}

/// A token of the guardian's line splitter: `pos > end` is its "partial" (the delimiter was
/// not found), `pos >= end` its "done" (empty).
#[derive(Clone, Copy)]
struct Tok {
    pos: usize,
    end: usize,
}

impl Tok {
    fn done(self) -> bool {
        self.pos >= self.end
    }
    fn partial(self) -> bool {
        self.pos > self.end
    }
    fn span(self, empty_at: usize) -> Span {
        if self.pos < self.end {
            span(self.pos, self.end)
        } else {
            span(empty_at, empty_at)
        }
    }
}

/// Splits the request line `buf[s..e]` as the guardian does (SPEC §5): the method ends at the
/// first SP; the version is the last SP-separated token, found scanning back over trailing
/// non-tchar bytes; the target is what lies between. Returns method, target, version and
/// whether the target is missing.
fn request_line(buf: &[u8], s: usize, e: usize) -> (Span, Span, Span, bool) {
    let Some(sp) = buf[s..e].iter().position(|&b| b == b' ') else {
        return (span(s, e), span(e, e), span(e, e), true);
    };
    let method = span(s, s + sp);
    let pos = s + sp + 1;
    let mut cur = if e > pos { e - 1 } else { pos };
    let mut skip = true;
    while pos < cur && (buf[cur] != b' ' || skip) {
        skip &= !is(buf[cur], TCHAR);
        cur -= 1;
    }
    let (mut uri, mut version) = if cur >= pos && cur < e {
        let begin = if buf[cur] == b' ' { cur + 1 } else { cur };
        (
            Tok {
                pos,
                end: begin - 1,
            },
            Tok { pos: begin, end: e },
        )
    } else {
        (Tok { pos, end: e }, Tok { pos: 1, end: 0 })
    };
    let version_bytes = version.span(e).of(buf);
    let missing =
        (uri.partial() && version_bytes.starts_with(b"HTTP/1.")) || (version.done() && uri.done());
    if !missing && uri.partial() {
        // Two tokens: HTTP/0.9, the second is the target.
        uri = version;
        version = Tok { pos: 1, end: 0 };
    }
    (method, uri.span(e), version.span(e), missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Known;

    fn tok(buf: &[u8], limits: &Limits) -> (Result<Option<RawRequest>, ParseError>, Vec<Header>) {
        let mut headers = Vec::new();
        let r = tokenize(buf, limits, &mut headers);
        (r, headers)
    }

    fn small() -> Limits {
        Limits {
            max_line: 24,
            max_head: 96,
            max_headers: 3,
        }
    }

    const HEADS: &[&[u8]] = &[
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"\r\n\nPOST /x HTTP/1.1\nHost: a\n X\nbad line\n: v\n\n",
        b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: 1111111111111111\r\nB: 2222222222222222\r\nC: 3333333333333333\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET \r\r\n\r\n",
        b" \r\n\r\n",
        b"GET / HTTP/1.1\r\n\r",
        b"\r\r\n",
    ];

    #[test]
    fn every_prefix_needs_more_or_fails_the_same_way() {
        for limits in [Limits::default(), small()] {
            for head in HEADS {
                let (whole, _) = tok(head, &limits);
                for cut in 0..head.len() {
                    let (part, _) = tok(&head[..cut], &limits);
                    match (&whole, &part) {
                        (_, Ok(None)) => {}
                        (Err(a), Err(b)) => assert_eq!(a, b),
                        (Ok(Some(w)), Ok(Some(p))) => assert!(p.len <= cut && w.len <= cut),
                        _ => panic!("{:?} at {cut}: {part:?} vs {whole:?}", head),
                    }
                }
            }
        }
    }

    #[test]
    fn a_complete_head_ends_at_its_empty_line() {
        let buf = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nbody";
        let (r, headers) = tok(buf, &Limits::default());
        let r = r.unwrap().unwrap();
        assert_eq!(r.len, buf.len() - 4);
        assert_eq!(r.method.of(buf), b"GET");
        assert_eq!(r.target.of(buf), b"/");
        assert_eq!(r.version.of(buf), b"HTTP/1.1");
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[0].value.of(buf), b"a");
        assert_eq!(r.lines, LineFacts::default());
    }

    #[test]
    fn limits_give_414_and_431() {
        let l = small();
        assert_eq!(tok(HEADS[2], &l).0, Err(ParseError::UriTooLong));
        assert_eq!(tok(HEADS[3], &l).0, Err(ParseError::HeadersTooLarge));
        assert_eq!(tok(HEADS[4], &l).0, Err(ParseError::HeadersTooLarge));
        let short = Limits { max_head: 64, ..l };
        assert_eq!(tok(HEADS[5], &short).0, Err(ParseError::HeadersTooLarge));
        assert!(tok(HEADS[5], &l).0.unwrap().is_some());
        assert_eq!(
            tok(&[b'\r', b'\n'].repeat(60), &l).0,
            Err(ParseError::HeadersTooLarge)
        );
    }

    #[test]
    fn the_request_line_splits_where_the_guardian_splits_it() {
        let split = |line: &[u8]| {
            let buf = [line, &b"\r\n\r\n"[..]].concat();
            let (r, _) = tok(&buf, &Limits::default());
            let r = r.unwrap().unwrap();
            (
                r.method.of(&buf).to_vec(),
                r.target.of(&buf).to_vec(),
                r.version.of(&buf).to_vec(),
                r.lines.missing_uri,
            )
        };
        let v = |m: &[u8], t: &[u8], ver: &[u8], missing| {
            (m.to_vec(), t.to_vec(), ver.to_vec(), missing)
        };
        assert_eq!(split(b"GET /"), v(b"GET", b"/", b"", false));
        assert_eq!(split(b"GET HTTP/1.1"), v(b"GET", b"", b"HTTP/1.1", true));
        assert_eq!(split(b"GET"), v(b"GET", b"", b"", true));
        assert_eq!(
            split(b"GET /a b HTTP/1.1"),
            v(b"GET", b"/a b", b"HTTP/1.1", false)
        );
        assert_eq!(
            split(b"GET  / HTTP/1.1"),
            v(b"GET", b" /", b"HTTP/1.1", false)
        );
        assert_eq!(
            split(b"GET / HTTP/1.1 "),
            v(b"GET", b"/", b"HTTP/1.1 ", false)
        );
        assert_eq!(
            split(b"GET\t/ HTTP/1.1"),
            v(b"GET\t/", b"", b"HTTP/1.1", true)
        );
    }

    #[test]
    fn folds_and_colonless_lines_get_entries_the_classifier_recognises() {
        let buf = b"GET / HTTP/1.1\r\n X\r\nA: 1\r\n\t2\r\nnocolon\r\n\r\n";
        let (r, h) = tok(buf, &Limits::default());
        let r = r.unwrap().unwrap();
        assert!(r.lines.obs_fold && r.lines.missing_colon);
        assert!(h[0].name.is_empty() && h[0].value.of(buf) == b"X");
        assert_eq!(h[2].name, h[1].name);
        assert_eq!(h[2].value.of(buf), b"2");
        assert_eq!(h[3].name.of(buf), b"nocolon");
        assert_eq!(h[3].value.start, h[3].name.end);
    }

    #[test]
    fn folds_and_colonless_lines_are_known_by_their_names() {
        let buf = b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\tchunked\r\nHOST\r\n\r\n";
        let (_, h) = tok(buf, &Limits::default());
        let known: Vec<_> = h.iter().map(|h| h.known).collect();
        assert_eq!(
            known,
            [
                Known::TransferEncoding,
                Known::TransferEncoding,
                Known::Host
            ]
        );
    }
}
