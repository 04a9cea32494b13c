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
    /// span is found on the request line after the target, the line facts by one scan of the
    /// head for bare LFs.
    pub fn from_parsed(buf: &'a [u8], head: &'a RequestHead) -> Self {
        let len = head.len.min(buf.len());
        let mut start = (head.target.end as usize).min(len);
        while buf.get(start) == Some(&b' ') {
            start += 1;
        }
        let mut end = start;
        while end < len && !matches!(buf[end], b'\r' | b'\n') {
            end += 1;
        }
        RequestView {
            buf,
            method: head.method_span,
            target: head.target,
            version: Span {
                start: start as u32,
                end: end as u32,
            },
            headers: &head.headers,
            lines: LineFacts {
                bare_lf: has_bare_lf(&buf[..len]),
                ..LineFacts::default()
            },
        }
    }
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
mod tests {
    use super::*;
    use crate::http::{parse_request, Limits};

    #[test]
    fn a_parsed_head_gives_its_version_span_and_no_line_facts() {
        let buf = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        let head = parse_request(buf, &Limits::default()).unwrap().unwrap();
        let v = RequestView::from_parsed(buf, &head);
        assert_eq!(v.version.of(buf), b"HTTP/1.1");
        assert_eq!(v.target.of(buf), b"/a");
        assert_eq!(v.lines, LineFacts::default());
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
}
