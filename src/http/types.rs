//! Values produced by the head parser. A head records offsets into the buffer it was parsed
//! from instead of copying; `Span::of` gets the bytes back.

pub use super::known::Known;

/// A byte range `start..end` of the buffer a head was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    #[inline]
    pub fn of<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start as usize..self.end as usize]
    }

    #[inline]
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// One header field. `known` is `Known::of(name.of(buf))` for the buffer the head was parsed
/// from; `Header::new` keeps that so, and lookups by a known name rely on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Header {
    pub name: Span,
    pub value: Span,
    pub known: Known,
}

impl Header {
    /// The field whose name and value are these spans of `buf`, its name classified.
    #[inline]
    pub fn new(buf: &[u8], name: Span, value: Span) -> Header {
        Header {
            name,
            value,
            known: Known::of(name.of(buf)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

impl Version {
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Version::Http10 => b"HTTP/1.0",
            Version::Http11 => b"HTTP/1.1",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
    /// Any other token; the bytes are at `RequestHead::method`.
    Other,
}

impl Method {
    /// Methods are case-sensitive tokens (RFC 9110 §9.1): `get` is `Other`. The length picks
    /// the candidates and each is one word compare, not a compare per byte.
    pub fn from_token(token: &[u8]) -> Method {
        let word = |bytes: &[u8]| {
            let mut w = [0u8; 8];
            for (slot, &b) in w.iter_mut().zip(bytes) {
                *slot = b;
            }
            u64::from_le_bytes(w)
        };
        let is = |name: &[u8; 8]| word(token) == u64::from_le_bytes(*name);
        match token.len() {
            3 if is(b"GET\0\0\0\0\0") => Method::Get,
            3 if is(b"PUT\0\0\0\0\0") => Method::Put,
            4 if is(b"HEAD\0\0\0\0") => Method::Head,
            4 if is(b"POST\0\0\0\0") => Method::Post,
            5 if is(b"TRACE\0\0\0") => Method::Trace,
            5 if is(b"PATCH\0\0\0") => Method::Patch,
            6 if is(b"DELETE\0\0") => Method::Delete,
            7 if is(b"CONNECT\0") => Method::Connect,
            7 if is(b"OPTIONS\0") => Method::Options,
            _ => Method::Other,
        }
    }

    /// RFC 9110 §9.2.2: a request with an idempotent method may be retried automatically.
    pub fn is_idempotent(self) -> bool {
        matches!(
            self,
            Method::Get
                | Method::Head
                | Method::Put
                | Method::Delete
                | Method::Options
                | Method::Trace
        )
    }
}

/// Limits on a head; DESIGN.md §3 gives the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line, status line or header line, CRLF excluded.
    pub max_line: usize,
    /// Longest whole head, final CRLF CRLF included.
    pub max_head: usize,
    /// Most header fields.
    pub max_headers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 16 * 1024,
            max_head: 64 * 1024,
            max_headers: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// Bytes of the head, final CRLF CRLF included; the body starts at `buf[len..]`.
    pub len: usize,
    pub method: Method,
    pub method_span: Span,
    pub target: Span,
    pub version: Version,
    pub headers: Vec<Header>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub len: usize,
    pub version: Version,
    pub status: u16,
    pub reason: Span,
    pub headers: Vec<Header>,
}

/// How a message body is delimited (RFC 9112 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body at all.
    None,
    ContentLength(u64),
    Chunked,
    /// Responses only: the body runs until the target closes the connection.
    CloseDelimited,
}

/// Why a head could not be accepted, and the status the client gets for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// The request-target is longer than `max_line` allows: 414.
    UriTooLong,
    /// A header line, the header count or the whole head is over its limit: 431.
    HeadersTooLarge,
    /// An HTTP version other than 1.0 or 1.1: 505.
    VersionNotSupported,
    /// Anything else that is not a valid head: 400. The text says what, for logs.
    Malformed(&'static str),
}

impl ParseError {
    pub fn status(self) -> u16 {
        match self {
            ParseError::UriTooLong => 414,
            ParseError::HeadersTooLarge => 431,
            ParseError::VersionNotSupported => 505,
            ParseError::Malformed(_) => 400,
        }
    }
}

/// The body framing of a message cannot be determined safely (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramingError(pub &'static str);

/// What the Connection header (and the version) say about the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConnectionOptions {
    /// `Connection: close` was given.
    pub close: bool,
    /// `Connection: keep-alive` was given.
    pub keep_alive: bool,
    /// `Connection: upgrade` was given and an Upgrade header is present.
    pub upgrade: bool,
    /// `Expect: 100-continue` was given (requests only).
    pub expect_continue: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The byte-string match `from_token` replaced.
    fn model(token: &[u8]) -> Method {
        match token {
            b"GET" => Method::Get,
            b"HEAD" => Method::Head,
            b"POST" => Method::Post,
            b"PUT" => Method::Put,
            b"DELETE" => Method::Delete,
            b"CONNECT" => Method::Connect,
            b"OPTIONS" => Method::Options,
            b"TRACE" => Method::Trace,
            b"PATCH" => Method::Patch,
            _ => Method::Other,
        }
    }

    /// A method name, possibly with one byte replaced (a NUL among them) or one cut or added.
    fn near_method() -> impl Strategy<Value = Vec<u8>> {
        let names = [
            "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
        ];
        (
            proptest::sample::select(names.to_vec()),
            any::<Option<(usize, u8)>>(),
            0u8..3,
        )
            .prop_map(|(name, replace, shape)| {
                let mut t = name.as_bytes().to_vec();
                if let Some((at, b)) = replace {
                    let at = at % t.len();
                    t[at] = b;
                }
                match shape {
                    0 => {}
                    1 => t.push(0),
                    _ => {
                        t.pop();
                    }
                }
                t
            })
    }

    proptest! {
        #[test]
        fn from_token_agrees_with_the_byte_string_match(
            token in prop_oneof![near_method(), proptest::collection::vec(any::<u8>(), 0..10)],
        ) {
            prop_assert_eq!(Method::from_token(&token), model(&token));
        }
    }
}
