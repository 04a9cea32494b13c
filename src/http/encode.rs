//! Head encoding: each function appends one piece of a head to a buffer the caller reuses.
//! No `format!` and no allocation beyond the buffer growing; numbers are written by hand.
//! The caller passes valid tokens and values: nothing here validates or escapes.

use super::types::{Known, ResponseHead, Version};

/// `method SP target SP version CRLF` (RFC 9112 §3), the target written as `path` then `query`
/// (with its `?`, or empty): an absolute-form target is sent on as origin-form, whose path may
/// not be a slice of what the client sent.
pub fn request_line(out: &mut Vec<u8>, method: &[u8], path: &[u8], query: &[u8], version: Version) {
    let version = version.as_bytes();
    out.reserve(method.len() + path.len() + query.len() + version.len() + 4);
    out.extend_from_slice(method);
    out.push(b' ');
    out.extend_from_slice(path);
    out.extend_from_slice(query);
    out.push(b' ');
    out.extend_from_slice(version);
    out.extend_from_slice(b"\r\n");
}

/// `version SP status SP reason CRLF` (RFC 9112 §4). `status` is written as its decimal
/// digits, three for every valid code.
pub fn status_line(out: &mut Vec<u8>, version: Version, status: u16, reason: &[u8]) {
    let version = version.as_bytes();
    out.reserve(version.len() + reason.len() + 9);
    out.extend_from_slice(version);
    out.push(b' ');
    decimal(out, u64::from(status));
    out.push(b' ');
    out.extend_from_slice(reason);
    out.extend_from_slice(b"\r\n");
}

/// `name: value CRLF`.
pub fn header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// `Content-Length: n CRLF`.
pub fn content_length(out: &mut Vec<u8>, n: u64) {
    out.reserve(16 + 20 + 2);
    out.extend_from_slice(b"Content-Length: ");
    decimal(out, n);
    out.extend_from_slice(b"\r\n");
}

/// The empty line that ends a head.
pub fn end_head(out: &mut Vec<u8>) {
    out.extend_from_slice(b"\r\n");
}

/// The canonical reason phrase of a status code (the IANA HTTP Status Code Registry, RFC 9110
/// §15), `b""` for a code it does not list. Non-standard codes such as ALB's 463 or
/// Cloudflare's 52x are the caller's to name.
pub fn reason_phrase(status: u16) -> &'static [u8] {
    match status {
        100 => b"Continue",
        101 => b"Switching Protocols",
        102 => b"Processing",
        103 => b"Early Hints",
        200 => b"OK",
        201 => b"Created",
        202 => b"Accepted",
        203 => b"Non-Authoritative Information",
        204 => b"No Content",
        205 => b"Reset Content",
        206 => b"Partial Content",
        207 => b"Multi-Status",
        208 => b"Already Reported",
        226 => b"IM Used",
        300 => b"Multiple Choices",
        301 => b"Moved Permanently",
        302 => b"Found",
        303 => b"See Other",
        304 => b"Not Modified",
        305 => b"Use Proxy",
        307 => b"Temporary Redirect",
        308 => b"Permanent Redirect",
        400 => b"Bad Request",
        401 => b"Unauthorized",
        402 => b"Payment Required",
        403 => b"Forbidden",
        404 => b"Not Found",
        405 => b"Method Not Allowed",
        406 => b"Not Acceptable",
        407 => b"Proxy Authentication Required",
        408 => b"Request Timeout",
        409 => b"Conflict",
        410 => b"Gone",
        411 => b"Length Required",
        412 => b"Precondition Failed",
        413 => b"Content Too Large",
        414 => b"URI Too Long",
        415 => b"Unsupported Media Type",
        416 => b"Range Not Satisfiable",
        417 => b"Expectation Failed",
        421 => b"Misdirected Request",
        422 => b"Unprocessable Content",
        423 => b"Locked",
        424 => b"Failed Dependency",
        425 => b"Too Early",
        426 => b"Upgrade Required",
        428 => b"Precondition Required",
        429 => b"Too Many Requests",
        431 => b"Request Header Fields Too Large",
        451 => b"Unavailable For Legal Reasons",
        500 => b"Internal Server Error",
        501 => b"Not Implemented",
        502 => b"Bad Gateway",
        503 => b"Service Unavailable",
        504 => b"Gateway Timeout",
        505 => b"HTTP Version Not Supported",
        506 => b"Variant Also Negotiates",
        507 => b"Insufficient Storage",
        508 => b"Loop Detected",
        510 => b"Not Extended",
        511 => b"Network Authentication Required",
        _ => b"",
    }
}

/// The response head as received in `buf`, when writing it anew for a client (status line as
/// HTTP/1.1, hop-by-hop fields dropped, `Content-Length: length`) would change nothing but
/// field order and spacing: an HTTP/1.1 status line with its space before the reason, CRLF
/// line ends, no hop-by-hop or Transfer-Encoding field, and one Content-Length equal to
/// `length` written in plain digits. The caller decides that it has nothing to add itself.
pub fn unchanged_response_head<'b>(
    buf: &'b [u8],
    head: &ResponseHead,
    length: u64,
) -> Option<&'b [u8]> {
    let raw = buf.get(..head.len)?;
    // The status line as written anew: HTTP/1.1, the code, a space before the reason.
    if !raw.starts_with(b"HTTP/1.1 ") || raw.get(12) != Some(&b' ') {
        return None;
    }
    let mut lengths = 0;
    for h in &head.headers {
        if h.known.is_hop_by_hop() || h.known == Known::TransferEncoding {
            return None;
        }
        if h.known == Known::ContentLength {
            lengths += 1;
            if !plain_decimal_is(h.value.of(buf), length) {
                return None;
            }
        }
    }
    // Each field is one line (no obs-fold): the lines end where the next one starts and at
    // the empty line, so checking the two bytes before each start finds every line end.
    let crlf_before = |at: u32| at >= 2 && raw.get(at as usize - 2..at as usize) == Some(b"\r\n");
    let crlf = head.headers.iter().all(|h| crlf_before(h.name.start)) && raw.ends_with(b"\r\n\r\n");
    (lengths == 1 && crlf).then_some(raw)
}

/// True when `value` is `n` as `decimal` writes it: a Content-Length without a leading zero.
fn plain_decimal_is(value: &[u8], n: u64) -> bool {
    !matches!(value, [b'0', _, ..]) && super::framing::decimal(value).ok() == Some(n)
}

/// Appends `n` in decimal.
pub fn decimal(out: &mut Vec<u8>, mut n: u64) {
    // Most numbers here are small (status codes, IPv4 octets, short lengths): pushed digit by
    // digit, which skips the copy call a slice of unknown length costs.
    if n < 1000 {
        let n = n as u32;
        if n >= 100 {
            out.push(b'0' + (n / 100) as u8);
        }
        if n >= 10 {
            out.push(b'0' + (n / 10 % 10) as u8);
        }
        out.push(b'0' + (n % 10) as u8);
        return;
    }
    // u64::MAX has 20 digits; fill from the right.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decimal_text(n: u64) -> String {
        let mut out = b"x".to_vec();
        decimal(&mut out, n);
        String::from_utf8(out[1..].to_vec()).unwrap()
    }

    #[test]
    fn decimal_writes_what_display_writes_on_both_sides_of_each_path() {
        for n in (0..=1100).chain([9_999, 10_000, 65_535, u64::from(u32::MAX), u64::MAX]) {
            assert_eq!(decimal_text(n), n.to_string());
        }
    }

    proptest! {
        #[test]
        fn decimal_writes_what_display_writes(n in any::<u64>()) {
            prop_assert_eq!(decimal_text(n), n.to_string());
        }
    }

    fn response(raw: &[u8]) -> ResponseHead {
        crate::http::parse_response(raw, &crate::http::Limits::default())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn a_plain_response_head_is_forwarded_as_it_came() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length:  64\r\nX-A: b\r\n\r\nbody";
        let head = response(raw);
        assert_eq!(
            unchanged_response_head(raw, &head, 64),
            Some(&raw[..raw.len() - 4])
        );
    }

    #[test]
    fn a_response_head_that_needs_rewriting_is_not_forwarded_as_it_came() {
        for raw in [
            &b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 4\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 4\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 04\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 4, 4\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nX-A: b\r\n\r\n",
            b"HTTP/1.1 200 OK\nContent-Length: 4\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 4\n\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nContent-Length: 4\r\n\r\n",
        ] {
            let head = crate::http::parse_response(raw, &crate::http::Limits::default())
                .unwrap_or_else(|e| panic!("{e:?}: {}", String::from_utf8_lossy(raw)))
                .unwrap();
            assert_eq!(
                unchanged_response_head(raw, &head, 4),
                None,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    proptest! {
        #[test]
        fn plain_decimal_is_what_decimal_writes(n in any::<u64>(), m in any::<u64>()) {
            let mut text = Vec::new();
            decimal(&mut text, n);
            prop_assert!(plain_decimal_is(&text, n));
            prop_assert_eq!(plain_decimal_is(&text, m), n == m);
            text.insert(0, b'0');
            prop_assert!(!plain_decimal_is(&text, n));
        }
    }

    #[test]
    fn a_request_head_is_written_piece_by_piece() {
        let mut out = b"left over".to_vec();
        out.clear();
        request_line(&mut out, b"POST", b"/upload", b"?x=1", Version::Http11);
        header(&mut out, b"Host", b"example.com");
        content_length(&mut out, 1234);
        end_head(&mut out);
        assert_eq!(
            out,
            b"POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 1234\r\n\r\n"
        );
    }

    #[test]
    fn a_status_line_carries_the_code_and_reason() {
        let mut out = Vec::new();
        status_line(&mut out, Version::Http10, 404, reason_phrase(404));
        status_line(&mut out, Version::Http11, 599, reason_phrase(599));
        assert_eq!(out, b"HTTP/1.0 404 Not Found\r\nHTTP/1.1 599 \r\n");
    }

    #[test]
    fn content_length_writes_every_digit_of_any_u64() {
        for n in [0, 1, 9, 10, 99, 100, 65535, 1 << 40, u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            content_length(&mut out, n);
            assert_eq!(out, format!("Content-Length: {n}\r\n").into_bytes());
        }
    }

    #[test]
    fn encoded_heads_parse_back_to_what_was_written() {
        let mut out = Vec::new();
        request_line(&mut out, b"GET", b"/a", b"", Version::Http10);
        header(&mut out, b"X-A", b"1");
        content_length(&mut out, 0);
        end_head(&mut out);
        let head = crate::http::parse_request(&out, &Default::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            (head.len, head.target.of(&out), head.headers.len()),
            (out.len(), &b"/a"[..], 2)
        );
    }

    #[test]
    fn every_listed_reason_phrase_is_non_empty_and_unknown_codes_get_none() {
        let listed = (100..600).filter(|&s| !reason_phrase(s).is_empty()).count();
        assert_eq!(listed, 61);
        assert_eq!(reason_phrase(200), b"OK");
        assert_eq!(reason_phrase(418), b"");
        assert_eq!(reason_phrase(463), b"");
        assert_eq!(reason_phrase(0), b"");
    }
}
