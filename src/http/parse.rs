//! Head parsing. httparse checks the syntax; this file adds what httparse leaves to us: the
//! limits of DESIGN.md §3 (enforced on incomplete input too, so a client cannot keep us waiting
//! for a head that is already too big), 505 for a well-formed version other than 1.0 and 1.1,
//! and offsets into the buffer instead of borrowed slices.
//!
//! httparse is not incremental: the caller hands the whole buffer again after every read. The
//! results are prefix-stable: a prefix of a buffer either needs more bytes or fails with the
//! error the whole buffer fails with, so how TCP splits a head never changes the verdict. When
//! a head has both a syntax error and an over-long line, the one a byte-by-byte reader meets
//! first is reported.

use std::mem::MaybeUninit;

use super::lines::{check_lines, first_long_line, skip_empty_lines};
use super::types::{
    Header, Known, Limits, Method, ParseError, RequestHead, ResponseHead, Span, Version,
};

/// Header slots kept on the stack. `Limits::max_headers` above this gets a heap array.
const STACK_HEADERS: usize = 128;

/// Parses a request head from the start of `buf`. `Ok(None)`: the head is not complete yet and
/// no limit is broken so far; call again with more bytes.
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, ParseError> {
    parse_head(buf, limits, Kind::Request, attempt_request)
}

/// Parses a response head from the start of `buf`; as `parse_request`. A status line over
/// `max_line` is `HeadersTooLarge` (the worker answers any response parse error with 502).
pub fn parse_response(buf: &[u8], limits: &Limits) -> Result<Option<ResponseHead>, ParseError> {
    parse_head(buf, limits, Kind::Response, attempt_response)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Request,
    Response,
}

impl Kind {
    /// What an over-long first line is: for a request its length is the target's fault.
    fn first_line_error(self) -> ParseError {
        match self {
            Kind::Request => ParseError::UriTooLong,
            Kind::Response => ParseError::HeadersTooLarge,
        }
    }
}

/// What one httparse run over a prefix found.
enum Attempt<T> {
    Complete(T),
    Partial,
    Failed(ParseError),
}

/// The parts of a parsed head the line-limit check needs.
trait Head {
    fn head_len(&self) -> usize;
    fn header_spans(&self) -> &[Header];
}

impl Head for RequestHead {
    fn head_len(&self) -> usize {
        self.len
    }
    fn header_spans(&self) -> &[Header] {
        &self.headers
    }
}

impl Head for ResponseHead {
    fn head_len(&self) -> usize {
        self.len
    }
    fn header_spans(&self) -> &[Header] {
        &self.headers
    }
}

fn parse_head<T: Head>(
    buf: &[u8],
    limits: &Limits,
    kind: Kind,
    attempt: fn(&[u8], usize) -> Attempt<T>,
) -> Result<Option<T>, ParseError> {
    // Spans are u32; a head can never be longer than that.
    let max_head = limits.max_head.min(u32::MAX as usize);
    // A head must end within max_head bytes, so httparse never needs to see more.
    let window = &buf[..buf.len().min(max_head)];
    // No line is longer than the bytes that hold it: a head or window of at most `max_line`
    // bytes cannot break the line limit, and checking it would cost a pass over the head.
    let long_lines_possible = |len: usize| len > limits.max_line;
    match attempt(window, limits.max_headers) {
        Attempt::Complete(head) => {
            if long_lines_possible(head.head_len()) {
                check_lines(
                    window,
                    head.head_len(),
                    head.header_spans(),
                    kind.first_line_error(),
                    limits.max_line,
                )?;
            }
            Ok(Some(head))
        }
        Attempt::Partial => {
            if long_lines_possible(window.len()) {
                if let Some((_, err)) =
                    first_long_line(window, kind.first_line_error(), limits.max_line)
                {
                    return Err(err);
                }
            }
            if buf.len() >= max_head {
                return Err(ParseError::HeadersTooLarge);
            }
            Ok(None)
        }
        Attempt::Failed(err) => {
            // Report whichever problem a reader going byte by byte meets first, so the verdict
            // does not depend on how the bytes arrived.
            if !long_lines_possible(window.len()) {
                return Err(err);
            }
            if let Some((at, long)) =
                first_long_line(window, kind.first_line_error(), limits.max_line)
            {
                let before = window.get(..at).unwrap_or(window);
                if matches!(attempt(before, limits.max_headers), Attempt::Partial) {
                    return Err(long);
                }
            }
            Err(err)
        }
    }
}

fn attempt_request(window: &[u8], max_headers: usize) -> Attempt<RequestHead> {
    let mut stack = [const { MaybeUninit::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let slots = header_slots(&mut stack, &mut heap, max_headers);
    let mut req = httparse::Request::new(&mut []);
    match req.parse_with_uninit_headers(window, slots) {
        Ok(httparse::Status::Complete(len)) => build_request(window, &req, len),
        Ok(httparse::Status::Partial) => Attempt::Partial,
        Err(httparse::Error::Version) => version_verdict(window, Kind::Request),
        Err(e) => Attempt::Failed(map_error(e)),
    }
}

fn attempt_response(window: &[u8], max_headers: usize) -> Attempt<ResponseHead> {
    let mut stack = [const { MaybeUninit::uninit() }; STACK_HEADERS];
    let mut heap = Vec::new();
    let slots = header_slots(&mut stack, &mut heap, max_headers);
    let mut resp = httparse::Response::new(&mut []);
    match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, window, slots)
    {
        Ok(httparse::Status::Complete(len)) => build_response(window, &resp, len),
        Ok(httparse::Status::Partial) => Attempt::Partial,
        Err(httparse::Error::Version) => version_verdict(window, Kind::Response),
        Err(e) => Attempt::Failed(map_error(e)),
    }
}

/// Header slots for httparse, uninitialized: httparse writes each before it hands it back,
/// and initializing 128 slots would cost about as much as parsing a small head.
fn header_slots<'s, 'b>(
    stack: &'s mut [Slot<'b>; STACK_HEADERS],
    heap: &'s mut Vec<Slot<'b>>,
    n: usize,
) -> &'s mut [Slot<'b>] {
    if n <= STACK_HEADERS {
        &mut stack[..n]
    } else {
        heap.resize(n, MaybeUninit::uninit());
        heap
    }
}

type Slot<'b> = MaybeUninit<httparse::Header<'b>>;

fn build_request(buf: &[u8], req: &httparse::Request, len: usize) -> Attempt<RequestHead> {
    let (Some(method), Some(path), Some(minor)) = (req.method, req.path, req.version) else {
        return Attempt::Failed(ParseError::Malformed("incomplete request line"));
    };
    let version = match minor {
        0 => Version::Http10,
        1 => Version::Http11,
        _ => return Attempt::Failed(ParseError::VersionNotSupported),
    };
    let (Some(method_span), Some(target)) = (
        span_in(buf, method.as_bytes()),
        span_in(buf, path.as_bytes()),
    ) else {
        return Attempt::Failed(ParseError::Malformed("request line outside buffer"));
    };
    let Some(headers) = header_spans(buf, req.headers) else {
        return Attempt::Failed(ParseError::Malformed("header outside buffer"));
    };
    Attempt::Complete(RequestHead {
        len,
        method: Method::from_token(method.as_bytes()),
        method_span,
        target,
        version,
        headers,
    })
}

fn build_response(buf: &[u8], resp: &httparse::Response, len: usize) -> Attempt<ResponseHead> {
    let (Some(minor), Some(status)) = (resp.version, resp.code) else {
        return Attempt::Failed(ParseError::Malformed("incomplete status line"));
    };
    let version = match minor {
        0 => Version::Http10,
        1 => Version::Http11,
        _ => return Attempt::Failed(ParseError::VersionNotSupported),
    };
    // RFC 9110 §15: status codes are 100..=599 in use; three digits is the syntax (9112 §4).
    if !(100..=999).contains(&status) {
        return Attempt::Failed(ParseError::Malformed("status code below 100"));
    }
    let Some(headers) = header_spans(buf, resp.headers) else {
        return Attempt::Failed(ParseError::Malformed("header outside buffer"));
    };
    Attempt::Complete(ResponseHead {
        len,
        version,
        status,
        reason: reason_of(buf, resp.reason),
        headers,
    })
}

/// The reason phrase: httparse's own slice when it has one, else `reason_span`. The two agree
/// on every head httparse accepts (it ends the phrase at the CR of a CRLF or at a bare LF, and
/// refuses any other CR).
#[inline]
fn reason_of(buf: &[u8], parsed: Option<&str>) -> Span {
    match parsed {
        // Not an empty one: that may be httparse's static "", which lies outside `buf`.
        Some(reason) if !reason.is_empty() => {
            span_in(buf, reason.as_bytes()).unwrap_or_else(|| reason_span(buf))
        }
        _ => reason_span(buf),
    }
}

/// The reason phrase, read from the raw bytes: httparse hands back a static "" instead of a
/// slice of the buffer when the phrase is absent or holds obs-text.
fn reason_span(buf: &[u8]) -> Span {
    // "HTTP/1.1 200" is 12 bytes; a reason follows only after one more SP.
    let line = skip_empty_lines(buf);
    let start = line + 13;
    if buf.get(line + 12) != Some(&b' ') {
        return span(line + 12, line + 12);
    }
    let rest = buf.get(start..).unwrap_or_default();
    let newline = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let mut end = start + newline;
    if newline > 0 && buf.get(end - 1) == Some(&b'\r') {
        end -= 1;
    }
    span(start, end)
}

fn span(start: usize, end: usize) -> Span {
    // Only called with offsets inside a window of at most u32::MAX bytes.
    Span {
        start: start.min(u32::MAX as usize) as u32,
        end: end.min(u32::MAX as usize) as u32,
    }
}

fn header_spans(buf: &[u8], headers: &[httparse::Header]) -> Option<Vec<Header>> {
    let mut out = Vec::with_capacity(headers.len());
    for h in headers {
        // Not `Header::new`: httparse's slice is at hand, and slicing the buffer again per
        // header measured 90 instructions a request more (callgrind).
        out.push(Header {
            name: span_in(buf, h.name.as_bytes())?,
            value: span_in(buf, h.value)?,
            known: Known::of(h.name.as_bytes()),
        });
    }
    Some(out)
}

/// Where `part`, a slice httparse cut from `buf`, lies in `buf`. `buf` is a window of at most
/// `u32::MAX` bytes (`parse_head`), so offsets inside it fit a `Span` without a check each.
#[inline]
fn span_in(buf: &[u8], part: &[u8]) -> Option<Span> {
    debug_assert!(buf.len() <= u32::MAX as usize);
    // A part before `buf` wraps to a start beyond any buffer and fails the check too.
    let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    if start > buf.len() || part.len() > buf.len() - start {
        return None;
    }
    Some(Span {
        start: start as u32,
        end: (start + part.len()) as u32,
    })
}

/// RFC 9110 §9.1: methods are case-sensitive, so `get` is some other method.
fn map_error(e: httparse::Error) -> ParseError {
    match e {
        httparse::Error::TooManyHeaders => ParseError::HeadersTooLarge,
        httparse::Error::HeaderName => ParseError::Malformed("invalid header name"),
        httparse::Error::HeaderValue => ParseError::Malformed("invalid header value"),
        httparse::Error::NewLine => ParseError::Malformed("invalid line ending"),
        httparse::Error::Status => ParseError::Malformed("invalid status line"),
        httparse::Error::Token => ParseError::Malformed("invalid method or request-target"),
        httparse::Error::Version => ParseError::Malformed("invalid HTTP version"),
    }
}

/// httparse only knows HTTP/1.x and says `Version` for anything else. RFC 9112 §2.3: a
/// well-formed `HTTP/DIGIT.DIGIT` we do not speak is 505; anything else is 400. An unfinished
/// token that could still become a version needs more bytes.
fn version_verdict<T>(buf: &[u8], kind: Kind) -> Attempt<T> {
    let malformed = Attempt::Failed(ParseError::Malformed("invalid HTTP version"));
    let line_start = skip_empty_lines(buf);
    let line = &buf[line_start..];
    let rest = match kind {
        // request-line = method SP request-target SP HTTP-version
        Kind::Request => {
            let line_end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
            let mut spaces = line[..line_end]
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b' ');
            match (spaces.next(), spaces.next()) {
                (Some(_), Some((i, _))) => &line[i + 1..],
                _ => return malformed,
            }
        }
        // status-line = HTTP-version SP status-code SP [ reason-phrase ]
        Kind::Response => line,
    };
    let ends_token = |b: u8| b == b'\r' || b == b'\n' || (kind == Kind::Response && b == b' ');
    let Some(end) = rest.iter().position(|&b| ends_token(b)) else {
        return if could_be_version(rest) {
            Attempt::Partial
        } else {
            malformed
        };
    };
    if end != 8 || !could_be_version(&rest[..end]) {
        return malformed;
    }
    match (kind, rest[end], rest.get(end + 1)) {
        (Kind::Response, b' ', _) => Attempt::Failed(ParseError::VersionNotSupported),
        (Kind::Request, b'\n', _) | (Kind::Request, b'\r', Some(b'\n')) => {
            Attempt::Failed(ParseError::VersionNotSupported)
        }
        (Kind::Request, b'\r', None) => Attempt::Partial,
        _ => malformed,
    }
}

/// Whether `token` is `HTTP/DIGIT.DIGIT` or a prefix of one (RFC 9112 §2.3).
fn could_be_version(token: &[u8]) -> bool {
    token.len() <= 8
        && token.iter().enumerate().all(|(i, &b)| match i {
            0..=4 => b == b"HTTP/"[i],
            5 | 7 => b.is_ascii_digit(),
            _ => b == b'.',
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Debug;

    /// Parses `buf` whole and every proper prefix of it: each prefix must need more bytes or
    /// fail exactly as the whole does (a prefix that holds a complete head must parse to it).
    /// Inputs over 4 KiB check every prefix near a line break and every 61st elsewhere.
    fn split_parse<T: Debug + PartialEq>(
        buf: &[u8],
        parse: impl Fn(&[u8]) -> Result<Option<T>, ParseError>,
        head_len: impl Fn(&T) -> usize,
    ) -> Result<Option<T>, ParseError> {
        let whole = parse(buf);
        let near_break =
            |i: usize| buf[i.saturating_sub(2)..(i + 2).min(buf.len())].contains(&b'\n');
        for i in 0..buf.len() {
            if buf.len() > 4096 && i % 61 != 0 && !near_break(i) {
                continue;
            }
            let part = parse(&buf[..i]);
            let ok = match (&part, &whole) {
                (Ok(None), Ok(Some(h))) => i < head_len(h),
                (Ok(None), _) => true,
                (Ok(Some(_)), Ok(Some(_))) | (Err(_), Err(_)) => part == whole,
                _ => false,
            };
            assert!(ok, "prefix of {i} bytes gave {part:?}, the whole {whole:?}");
        }
        whole
    }

    fn request(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, ParseError> {
        split_parse(buf, |b| parse_request(b, limits), |h| h.len)
    }

    fn response(buf: &[u8], limits: &Limits) -> Result<Option<ResponseHead>, ParseError> {
        split_parse(buf, |b| parse_response(b, limits), |h| h.len)
    }

    fn small() -> Limits {
        Limits {
            max_line: 40,
            max_head: 200,
            max_headers: 4,
        }
    }

    fn names_and_values(buf: &[u8], headers: &[Header]) -> Vec<(Vec<u8>, Vec<u8>)> {
        headers
            .iter()
            .map(|h| (h.name.of(buf).to_vec(), h.value.of(buf).to_vec()))
            .collect()
    }

    #[test]
    fn a_get_request_is_parsed_into_offsets() {
        let buf = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */* \r\n\r\nBODY";
        let head = request(buf, &Limits::default()).unwrap().unwrap();
        assert_eq!(head.len, buf.len() - 4);
        assert_eq!(head.method, Method::Get);
        assert_eq!(head.method_span.of(buf), b"GET");
        assert_eq!(head.target.of(buf), b"/index.html?q=1");
        assert_eq!(head.version, Version::Http11);
        assert_eq!(
            names_and_values(buf, &head.headers),
            vec![
                (b"Host".to_vec(), b"example.com".to_vec()),
                (b"Accept".to_vec(), b"*/*".to_vec())
            ]
        );
    }

    #[test]
    fn each_header_carries_which_known_field_it_is() {
        let buf =
            b"HTTP/1.1 200 OK\r\ncONTENT-lENGTH: 0\r\nX-Other: 1\r\nconnection: close\r\n\r\n";
        let head = response(buf, &Limits::default()).unwrap().unwrap();
        let known: Vec<_> = head.headers.iter().map(|h| h.known).collect();
        assert_eq!(
            known,
            [Known::ContentLength, Known::Other, Known::Connection]
        );
    }

    #[test]
    fn methods_map_exactly_and_case_sensitively() {
        let cases: [(&[u8], Method); 11] = [
            (b"GET", Method::Get),
            (b"HEAD", Method::Head),
            (b"POST", Method::Post),
            (b"PUT", Method::Put),
            (b"DELETE", Method::Delete),
            (b"CONNECT", Method::Connect),
            (b"OPTIONS", Method::Options),
            (b"TRACE", Method::Trace),
            (b"PATCH", Method::Patch),
            (b"get", Method::Other),
            (b"PURGE", Method::Other),
        ];
        for (token, method) in cases {
            let mut buf = token.to_vec();
            buf.extend_from_slice(b" / HTTP/1.0\r\n\r\n");
            let head = request(&buf, &Limits::default()).unwrap().unwrap();
            assert_eq!(head.method, method);
            assert_eq!(head.method_span.of(&buf), token);
            assert_eq!(head.version, Version::Http10);
        }
    }

    #[test]
    fn leading_empty_lines_and_bare_lf_are_accepted_as_httparse_does() {
        let buf = b"\r\n\nGET / HTTP/1.1\nHost: a\n\n";
        let head = request(buf, &Limits::default()).unwrap().unwrap();
        assert_eq!(head.len, buf.len());
        assert_eq!(head.method_span.of(buf), b"GET");
        assert_eq!(
            names_and_values(buf, &head.headers),
            vec![(b"Host".to_vec(), b"a".to_vec())]
        );
    }

    #[test]
    fn an_empty_header_value_is_an_empty_span() {
        let buf = b"GET / HTTP/1.1\r\nX-Empty:\r\nX-Blank:   \r\n\r\n";
        let head = request(buf, &Limits::default()).unwrap().unwrap();
        assert!(head.headers.iter().all(|h| h.value.is_empty()));
    }

    #[test]
    fn http_2_and_1_2_request_lines_are_505() {
        for line in [
            &b"GET / HTTP/2.0\r\n\r\n"[..],
            b"GET / HTTP/1.2\r\n\r\n",
            b"GET / HTTP/3.0\n\n",
        ] {
            assert_eq!(
                request(line, &Limits::default()),
                Err(ParseError::VersionNotSupported)
            );
        }
    }

    #[test]
    fn a_request_line_that_is_not_http_is_400() {
        for line in [
            &b"GET / http/1.1\r\n\r\n"[..],
            b"GET / HTTP/2\r\n\r\n",
            b"GET / HTTP/2.0.1\r\n\r\n",
            b"GET / HTTP/1.1 \r\n\r\n",
            b"GET /\r\n\r\n",
            b"GET  / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\n folded: x\r\n\r\n",
            b"GET / HTTP/2.0\rX",
        ] {
            assert!(
                matches!(
                    request(line, &Limits::default()),
                    Err(ParseError::Malformed(_))
                ),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn a_target_one_byte_over_the_line_limit_is_414_even_before_the_line_ends() {
        let mut buf = b"GET /".to_vec();
        buf.resize(4 + 16 * 1024 + 1, b'a');
        assert_eq!(
            request(&buf, &Limits::default()),
            Err(ParseError::UriTooLong)
        );
        buf.extend_from_slice(b" HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(
            request(&buf, &Limits::default()),
            Err(ParseError::UriTooLong)
        );
    }

    #[test]
    fn a_request_line_exactly_at_the_limit_passes_and_one_more_byte_is_414() {
        let limits = small();
        let mut line = b"GET /".to_vec();
        line.resize(40 - b" HTTP/1.1".len(), b'a');
        line.extend_from_slice(b" HTTP/1.1");
        assert_eq!(line.len(), 40);
        let ok = [&line[..], b"\r\n\r\n"].concat();
        assert!(request(&ok, &limits).unwrap().is_some());
        let long = [&line[..5], b"a", &line[5..], b"\r\n\r\n"].concat();
        assert_eq!(request(&long, &limits), Err(ParseError::UriTooLong));
    }

    #[test]
    fn a_header_line_over_the_limit_is_431_and_one_at_the_limit_passes() {
        let limits = small();
        let mut field = b"X-Long: ".to_vec();
        field.resize(40, b'v');
        let ok = [&b"GET / HTTP/1.1\r\n"[..], &field, b"\r\n\r\n"].concat();
        assert!(request(&ok, &limits).unwrap().is_some());
        let long = [&b"GET / HTTP/1.1\r\n"[..], &field, b"v\r\n\r\n"].concat();
        assert_eq!(request(&long, &limits), Err(ParseError::HeadersTooLarge));
        // Also with the default limits: a 16 KiB + 1 header line.
        let mut big = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
        big.resize(16 + 16 * 1024 + 1, b'v');
        assert_eq!(
            request(&big, &Limits::default()),
            Err(ParseError::HeadersTooLarge)
        );
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            request(&big, &Limits::default()),
            Err(ParseError::HeadersTooLarge)
        );
    }

    #[test]
    fn a_trailing_cr_is_not_counted_against_the_line_limit() {
        let limits = small();
        let mut field = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
        field.resize(16 + 40, b'v');
        field.push(b'\r');
        assert_eq!(parse_request(&field, &limits), Ok(None));
    }

    #[test]
    fn one_hundred_headers_pass_and_101_are_431() {
        let head = |n: usize| {
            let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
            for i in 0..n {
                buf.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
            }
            buf.extend_from_slice(b"\r\n");
            buf
        };
        let ok = request(&head(100), &Limits::default()).unwrap().unwrap();
        assert_eq!(ok.headers.len(), 100);
        assert_eq!(
            request(&head(101), &Limits::default()),
            Err(ParseError::HeadersTooLarge)
        );
    }

    #[test]
    fn more_header_slots_than_the_stack_holds_come_from_the_heap() {
        let limits = Limits {
            max_headers: 300,
            ..Limits::default()
        };
        let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..300 {
            buf.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        assert_eq!(
            parse_request(&buf, &limits).unwrap().unwrap().headers.len(),
            300
        );
    }

    #[test]
    fn a_head_over_64_kib_is_431_and_one_of_exactly_64_kib_passes() {
        let build = |total: usize| {
            let mut buf = b"GET / HTTP/1.1\r\n".to_vec();
            let mut i = 0;
            while total - buf.len() - 2 > 1024 {
                let mut line = format!("X-H{i}: ").into_bytes();
                line.resize(1000, b'v');
                buf.extend_from_slice(&line);
                buf.extend_from_slice(b"\r\n");
                i += 1;
            }
            let mut last = b"X-Last: ".to_vec();
            last.resize(total - buf.len() - 4, b'v');
            buf.extend_from_slice(&last);
            buf.extend_from_slice(b"\r\n\r\n");
            assert_eq!(buf.len(), total);
            buf
        };
        let ok = build(64 * 1024);
        assert_eq!(
            request(&ok, &Limits::default()).unwrap().unwrap().len,
            64 * 1024
        );
        let over = build(64 * 1024 + 1);
        assert_eq!(
            request(&over, &Limits::default()),
            Err(ParseError::HeadersTooLarge)
        );
        // Waiting for a head that cannot fit any more is not an option.
        assert_eq!(
            parse_request(&over[..64 * 1024], &Limits::default()),
            Err(ParseError::HeadersTooLarge)
        );
    }

    #[test]
    fn a_syntax_error_before_a_long_line_is_400_and_after_it_the_limit() {
        let limits = small();
        let mut bad_first = b"GET / HTTP/1.1\r\nBad Name: x\r\nX-Long: ".to_vec();
        bad_first.resize(bad_first.len() + 60, b'v');
        assert!(matches!(
            parse_request(&bad_first, &limits),
            Err(ParseError::Malformed(_))
        ));
        let mut long_first = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
        long_first.resize(long_first.len() + 60, b'v');
        long_first.extend_from_slice(b"\r\nBad Name: x\r\n\r\n");
        assert_eq!(
            request(&long_first, &limits),
            Err(ParseError::HeadersTooLarge)
        );
    }

    #[test]
    fn a_response_is_parsed_with_its_reason() {
        let buf = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        let head = response(buf, &Limits::default()).unwrap().unwrap();
        assert_eq!(
            (head.version, head.status, head.len),
            (Version::Http11, 404, buf.len())
        );
        assert_eq!(head.reason.of(buf), b"Not Found");
        assert_eq!(head.headers.len(), 1);
    }

    #[test]
    fn a_response_reason_may_be_empty_absent_or_obs_text() {
        for (buf, reason) in [
            (&b"HTTP/1.0 200 \r\n\r\n"[..], &b""[..]),
            (b"HTTP/1.1 200\r\n\r\n", b""),
            (b"HTTP/1.1 200 Ok \xe9t\xe9\r\n\r\n", b"Ok \xe9t\xe9"),
        ] {
            let head = response(buf, &Limits::default()).unwrap().unwrap();
            assert_eq!(head.reason.of(buf), reason);
        }
    }

    #[test]
    fn response_status_and_version_are_checked() {
        let d = Limits::default();
        assert_eq!(
            response(b"HTTP/2.0 200 OK\r\n\r\n", &d),
            Err(ParseError::VersionNotSupported)
        );
        assert!(matches!(
            response(b"HTTP/1.1 099 Low\r\n\r\n", &d),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            response(b"HTTP/1.1 20 OK\r\n\r\n", &d),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            response(b"HTTP/1.1\r\n\r\n", &d),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            response(b"ICY 200 OK\r\n\r\n", &d),
            Err(ParseError::Malformed(_))
        ));
        assert_eq!(
            response(b"HTTP/1.1 999 Odd\r\n\r\n", &d)
                .unwrap()
                .unwrap()
                .status,
            999
        );
    }

    #[test]
    fn response_limits_are_431() {
        let limits = small();
        let mut status = b"HTTP/1.1 200 ".to_vec();
        status.resize(41, b'r');
        status.extend_from_slice(b"\r\n\r\n");
        assert_eq!(response(&status, &limits), Err(ParseError::HeadersTooLarge));
        let five = b"HTTP/1.1 200 OK\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\ne: 5\r\n\r\n";
        assert_eq!(response(five, &limits), Err(ParseError::HeadersTooLarge));
    }

    #[test]
    fn a_head_longer_than_u32_limits_is_clamped_not_overflowed() {
        let limits = Limits {
            max_line: usize::MAX,
            max_head: usize::MAX,
            max_headers: 0,
        };
        assert_eq!(parse_request(b"GET / HTTP/1.1\r\n", &limits), Ok(None));
        assert!(parse_request(b"GET / HTTP/1.1\r\n\r\n", &limits)
            .unwrap()
            .is_some());
        let zero = Limits {
            max_line: 0,
            max_head: 0,
            max_headers: 0,
        };
        assert_eq!(parse_request(b"", &zero), Err(ParseError::HeadersTooLarge));
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic_either_parser(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = parse_request(&bytes, &small());
            let _ = parse_response(&bytes, &small());
            let _ = parse_request(&bytes, &Limits::default());
            let _ = parse_response(&bytes, &Limits::default());
        }

        #[test]
        fn http_looking_random_heads_never_panic(
            line in "(GET|HTTP/1\\.[01]|HTTP/[0-9]\\.[0-9]) [ -~]{0,30}( HTTP/1\\.[01])?",
            fields in proptest::collection::vec("[!-~]{0,8}[:]?[ \\t]?[ -~\\x80-\\xff]{0,20}", 0..8),
            ends in proptest::collection::vec(proptest::sample::select(vec!["\r\n", "\n", "\r", ""]), 8),
        ) {
            let mut buf = line.into_bytes();
            for (f, e) in fields.iter().zip(ends.iter()) {
                buf.extend_from_slice(e.as_bytes());
                buf.extend_from_slice(f.as_bytes());
            }
            buf.extend_from_slice(b"\r\n\r\n");
            let _ = parse_request(&buf, &small());
            let _ = parse_response(&buf, &small());
        }
    }

    proptest::proptest! {
        /// `parse_head` skips the line checks when the bytes are no longer than `max_line`;
        /// this is why that changes no verdict.
        #[test]
        fn no_line_is_over_a_limit_the_whole_buffer_is_within(
            line in "(GET|HTTP/1\\.[01]|\r\n) ?[ -~]{0,50}( HTTP/1\\.[01])?",
            fields in proptest::collection::vec("[!-~]{0,8}[:]?[ \\t]?[ -~\\x80-\\xff]{0,50}", 0..8),
            ends in proptest::collection::vec(proptest::sample::select(vec!["\r\n", "\n", "\r", ""]), 8),
            extra in 0usize..3,
        ) {
            let mut buf = line.into_bytes();
            for (f, e) in fields.iter().zip(ends.iter()) {
                buf.extend_from_slice(e.as_bytes());
                buf.extend_from_slice(f.as_bytes());
            }
            buf.extend_from_slice(b"\r\n\r\n");
            for end in 0..=buf.len() {
                let prefix = &buf[..end];
                let max_line = end + extra;
                for kind in [Kind::Request, Kind::Response] {
                    let err = kind.first_line_error();
                    proptest::prop_assert_eq!(first_long_line(prefix, err, max_line), None);
                }
                let unlimited = Limits { max_line: usize::MAX, ..Limits::default() };
                if let Ok(Some(head)) = parse_request(prefix, &unlimited) {
                    let lines = check_lines(prefix, head.len, &head.headers, ParseError::UriTooLong, head.len + extra);
                    proptest::prop_assert_eq!(lines, Ok(()));
                }
                if let Ok(Some(head)) = parse_response(prefix, &unlimited) {
                    let lines = check_lines(prefix, head.len, &head.headers, ParseError::HeadersTooLarge, head.len + extra);
                    proptest::prop_assert_eq!(lines, Ok(()));
                }
            }
        }

        #[test]
        fn the_reason_httparse_cut_is_the_one_read_from_the_raw_bytes(
            code in "[0-9]{3}",
            reason in proptest::option::of("[\\t -~\\x80-\\xff]{0,12}"),
            end in proptest::sample::select(vec!["\r\n", "\n"]),
        ) {
            let mut buf = format!("HTTP/1.1 {code}").into_bytes();
            if let Some(reason) = &reason {
                buf.push(b' ');
                buf.extend(reason.chars().map(|c| c as u32 as u8));
            }
            buf.extend_from_slice(end.as_bytes());
            buf.extend_from_slice(b"X: y\r\n\r\n");
            if let Ok(Some(head)) = parse_response(&buf, &Limits::default()) {
                proptest::prop_assert_eq!(head.reason, reason_span(&buf));
            }
        }

        #[test]
        fn every_prefix_of_a_random_head_needs_more_or_fails_as_the_whole(
            line in "(GET|get|HTTP/1\\.[01]|HTTP/[0-9]\\.[0-9]|\r\n) ?[ -~]{0,50}( HTTP/[0-9x]\\.[01])?",
            fields in proptest::collection::vec("[!-~]{0,8}[:]?[ \\t]?[ -~\\x80-\\xff]{0,50}", 0..8),
            ends in proptest::collection::vec(proptest::sample::select(vec!["\r\n", "\n", "\r", "", "\r\n\r\n"]), 8),
        ) {
            let mut buf = line.into_bytes();
            for (f, e) in fields.iter().zip(ends.iter()) {
                buf.extend_from_slice(e.as_bytes());
                buf.extend_from_slice(f.as_bytes());
            }
            buf.extend_from_slice(b"\r\n\r\n");
            let limits = Limits { max_line: 30, max_head: 150, max_headers: 3 };
            // split_parse panics on a prefix that disagrees; proptest reports the input.
            let _ = split_parse(&buf, |b| parse_request(b, &limits), |h| h.len);
            let _ = split_parse(&buf, |b| parse_response(b, &limits), |h| h.len);
        }
    }
}
