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
    // One reservation and one length update for the line, not one of each per piece.
    let (n, v) = (name.len(), value.len());
    let len = n + v + 4;
    out.reserve(len);
    let line = &mut out.spare_capacity_mut()[..len];
    line[..n].write_copy_of_slice(name);
    line[n..n + 2].write_copy_of_slice(b": ");
    line[n + 2..n + 2 + v].write_copy_of_slice(value);
    line[n + 2 + v..].write_copy_of_slice(b"\r\n");
    // SAFETY: the `len` bytes past the length are within the capacity just reserved, and
    // the four copies above wrote every one of them.
    unsafe { out.set_len(out.len() + len) };
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
    // Each field is one line (no obs-fold): the lines end where the next one starts and at
    // the empty line, so checking the two bytes before each start finds every line end.
    let crlf_before = |at: u32| at >= 2 && raw.get(at as usize - 2..at as usize) == Some(b"\r\n");
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
        if !crlf_before(h.name.start) {
            return None;
        }
    }
    (lengths == 1 && raw.ends_with(b"\r\n\r\n")).then_some(raw)
}

/// True when `value` is `n` as `decimal` writes it: a Content-Length without a leading zero.
fn plain_decimal_is(value: &[u8], n: u64) -> bool {
    !matches!(value, [b'0', _, ..]) && super::framing::decimal(value).ok() == Some(n)
}

/// Appends `n` in decimal.
pub fn decimal(out: &mut Vec<u8>, n: u64) {
    // A number of up to three digits (a status code) is pushed digit by digit, which skips
    // the copy call a slice of unknown length costs.
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
    let mut text = Scratch::<20>::new();
    text.decimal(n);
    out.extend_from_slice(text.as_bytes());
}

/// `DIGIT_PAIRS[2 * n..2 * n + 2]` is `n` in two decimal digits, for `n < 100`: numbers are
/// written two digits per division.
const DIGIT_PAIRS: &[u8; 200] = b"\
0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Each IPv4 octet as text: up to three digits, then how many of them there are. An address
/// is four lookups and no division.
const OCTETS: [[u8; 4]; 256] = {
    let mut table = [[0u8; 4]; 256];
    let mut n = 0;
    while n < 256 {
        let (h, t, u) = (
            b'0' + (n / 100) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        );
        table[n] = match n {
            0..=9 => [u, 0, 0, 1],
            10..=99 => [t, u, 0, 2],
            _ => [h, t, u, 3],
        };
        n += 1;
    }
    table
};

/// `POW10[k]` is 10 to the `k`.
const POW10: [u64; 20] = {
    let mut table = [1u64; 20];
    let mut k = 1;
    while k < 20 {
        table[k] = table[k - 1] * 10;
        k += 1;
    }
    table
};

/// How many digits `n` has in decimal. `1233 / 4096` is just under log10(2), so the guess from
/// the bit length is the digit count of the smallest number of that bit length, or one short:
/// one comparison settles it. (`ilog10` cost more than the digits themselves in a profile.)
fn decimal_len(n: u64) -> usize {
    let guess = (((n | 1).ilog2() * 1233) >> 12) as usize;
    guess + 1 + usize::from(n >= POW10[guess + 1])
}

/// Up to `N` bytes assembled on the stack, then appended to a head with one copy: cheaper than
/// growing the head a few bytes at a time, each push checking its capacity. A caller sizes
/// `N` for the most it writes; writing more panics.
pub struct Scratch<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Scratch<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Scratch<N> {
    pub fn new() -> Self {
        Scratch {
            bytes: [0; N],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    pub fn push(&mut self, s: &[u8]) {
        let end = self.len + s.len();
        self.bytes[self.len..end].copy_from_slice(s);
        self.len = end;
    }

    pub fn push_byte(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    /// `n` in decimal, two digits at a time from the right, straight into place.
    pub fn decimal(&mut self, mut n: u64) {
        let count = decimal_len(n);
        let end = self.len + count;
        let digits = &mut self.bytes[self.len..end];
        // Pairs from the right; an odd count leaves one digit at the front.
        for pair in digits[count % 2..].rchunks_exact_mut(2) {
            let at = (n % 100) as usize * 2;
            n /= 100;
            pair.copy_from_slice(&DIGIT_PAIRS[at..at + 2]);
        }
        if count % 2 == 1 {
            digits[0] = b'0' + n as u8;
        }
        self.len = end;
    }

    /// `a.b.c.d`, as `Display` writes an `Ipv4Addr`.
    pub fn ipv4(&mut self, ip: std::net::Ipv4Addr) {
        // Each octet copies three bytes and keeps as many as it has digits; the fourth
        // byte of the room checked here is the dot. Sixteen bytes hold every address.
        let room = &mut self.bytes[self.len..self.len + 16];
        let mut at = 0;
        for (i, octet) in ip.octets().into_iter().enumerate() {
            if i > 0 {
                room[at] = b'.';
                at += 1;
            }
            let text = &OCTETS[usize::from(octet)];
            room[at..at + 3].copy_from_slice(&text[..3]);
            at += usize::from(text[3]);
        }
        self.len += at;
    }
}

/// Writing past `N` is an error here, not a panic: `Display` of an address is the only user.
impl<const N: usize> std::fmt::Write for Scratch<N> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if s.len() > N - self.len {
            return Err(std::fmt::Error);
        }
        self.push(s.as_bytes());
        Ok(())
    }
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

    #[test]
    fn decimal_counts_digits_right_at_every_power_of_ten() {
        for k in 0..20 {
            let p = 10u64.pow(k);
            for n in [
                p - 1,
                p,
                p + 1,
                p.saturating_mul(2),
                p.saturating_mul(5) - 1,
            ] {
                assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
                assert_eq!(decimal_text(n), n.to_string());
            }
        }
        for bits in 0..64 {
            for n in [1u64 << bits, (1u64 << bits) - 1, (1u64 << bits) + 1] {
                assert_eq!(decimal_text(n), n.to_string());
            }
        }
    }

    fn ipv4_text(ip: std::net::Ipv4Addr) -> String {
        let mut out = Scratch::<16>::new();
        out.ipv4(ip);
        String::from_utf8(out.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn ipv4_writes_what_display_writes_for_every_octet() {
        for o in 0..=255u8 {
            for ip in [
                [o, 0, 0, 0],
                [0, o, 0, 0],
                [0, 0, o, 0],
                [0, 0, 0, o],
                [o; 4],
            ] {
                let ip = std::net::Ipv4Addr::from(ip);
                assert_eq!(ipv4_text(ip), ip.to_string());
            }
        }
    }

    #[test]
    fn scratch_pieces_add_up() {
        let mut s = Scratch::<32>::new();
        s.push(b"a=");
        s.decimal(0);
        s.push_byte(b',');
        s.decimal(65535);
        s.push_byte(b' ');
        s.ipv4(std::net::Ipv4Addr::new(10, 200, 3, 45));
        assert_eq!(s.as_bytes(), b"a=0,65535 10.200.3.45");
        assert!(std::fmt::Write::write_str(&mut s, "0123456789ab").is_err());
        assert_eq!(s.as_bytes().len(), 21);
    }

    proptest! {
        #[test]
        fn decimal_writes_what_display_writes(n in any::<u64>(), shift in 0..64u32) {
            prop_assert_eq!(decimal_text(n), n.to_string());
            prop_assert_eq!(decimal_text(n >> shift), (n >> shift).to_string());
        }

        #[test]
        fn ipv4_writes_what_display_writes(ip in any::<u32>()) {
            let ip = std::net::Ipv4Addr::from(ip);
            prop_assert_eq!(ipv4_text(ip), ip.to_string());
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
