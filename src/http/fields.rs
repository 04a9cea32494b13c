//! Reading header fields of a parsed head: lookup by name, comma-separated lists (RFC 9110
//! §5.6.1), the Connection and Expect options, and which fields are hop-by-hop.

use super::types::{ConnectionOptions, Header, Known, Span, Version};

/// The value of the first field named `name` (ASCII case-insensitive). For a name `Known`
/// has, `known_value` finds the same field without reading names.
pub fn header_value<'a>(buf: &'a [u8], headers: &[Header], name: &[u8]) -> Option<&'a [u8]> {
    named_values(buf, headers, name).next()
}

/// Values of every field named `name`, in order. For a name `Known` has, `known_values` gives
/// the same values without reading names.
pub fn named_values<'a, 'h>(
    buf: &'a [u8],
    headers: &'h [Header],
    name: &'h [u8],
) -> impl Iterator<Item = &'a [u8]> + 'h
where
    'a: 'h,
{
    headers
        .iter()
        .filter(move |h| bytes(buf, h.name).is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .filter_map(move |h| bytes(buf, h.value))
}

/// The value of the first field that is `known`.
pub fn known_value<'a>(buf: &'a [u8], headers: &[Header], known: Known) -> Option<&'a [u8]> {
    known_values(buf, headers, known).next()
}

/// Values of every field that is `known`, in order: `named_values` for that field's name, by
/// the id the parser gave each header.
pub fn known_values<'a, 'h>(
    buf: &'a [u8],
    headers: &'h [Header],
    known: Known,
) -> impl Iterator<Item = &'a [u8]> + 'h
where
    'a: 'h,
{
    headers
        .iter()
        .filter(move |h| h.known == known)
        .filter_map(move |h| bytes(buf, h.value))
}

/// `span.of(buf)` without the panic when a head is paired with the wrong buffer: such a field
/// is skipped.
fn bytes(buf: &[u8], span: Span) -> Option<&[u8]> {
    buf.get(span.start as usize..span.end as usize)
}

/// The elements of a comma-separated list, OWS trimmed. Empty elements are kept: RFC 9110
/// §5.6.1 lets recipients ignore them, but some fields (Content-Length) must refuse them.
pub(crate) fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim_ows)
}

/// RFC 9110 §5.6.3: OWS is SP and HTAB.
pub fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Whether a field named `name` is hop-by-hop: see `Known::is_hop_by_hop`, which a parsed
/// header answers without reading its name.
pub fn is_hop_by_hop(name: &[u8]) -> bool {
    Known::of(name).is_hop_by_hop()
}

/// What the Connection and Expect fields ask for. The flags report what was sent; the
/// version's default (HTTP/1.1 persistent, HTTP/1.0 not, RFC 9112 §9.3) is the caller's.
pub fn connection_options(buf: &[u8], version: Version, headers: &[Header]) -> ConnectionOptions {
    let _ = version;
    // Most heads have none of the three fields: this scan is all they cost.
    let options =
        |h: &Header| matches!(h.known, Known::Connection | Known::Upgrade | Known::Expect);
    match headers.iter().position(options) {
        None => ConnectionOptions::default(),
        Some(first) => read_options(buf, &headers[first..]),
    }
}

/// `connection_options` for a head with at least one of the fields, kept out of line so the
/// scan above stays a leaf that saves no registers.
#[inline(never)]
fn read_options(buf: &[u8], headers: &[Header]) -> ConnectionOptions {
    let mut opts = ConnectionOptions::default();
    let mut upgrade_token = false;
    let mut upgrade_field = false;
    for h in headers {
        let Some(value) = bytes(buf, h.value) else {
            continue;
        };
        match h.known {
            Known::Connection => {
                for token in list_elements(value) {
                    if token.eq_ignore_ascii_case(b"close") {
                        opts.close = true;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        opts.keep_alive = true;
                    } else if token.eq_ignore_ascii_case(b"upgrade") {
                        upgrade_token = true;
                    }
                }
            }
            Known::Upgrade => upgrade_field = true,
            // RFC 9110 §10.1.1: 100-continue is the only expectation defined.
            Known::Expect => {
                opts.expect_continue |= trim_ows(value).eq_ignore_ascii_case(b"100-continue");
            }
            _ => {}
        }
    }
    // RFC 9110 §7.8: an Upgrade field without the token in Connection is not an upgrade.
    opts.upgrade = upgrade_token && upgrade_field;
    opts
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a buffer and header spans from name/value pairs, as a parser would.
    pub(crate) fn fields(pairs: &[(&str, &str)]) -> (Vec<u8>, Vec<Header>) {
        let mut buf = Vec::new();
        let mut headers = Vec::new();
        for (name, value) in pairs {
            let name_start = buf.len() as u32;
            buf.extend_from_slice(name.as_bytes());
            let name = Span {
                start: name_start,
                end: buf.len() as u32,
            };
            buf.extend_from_slice(b": ");
            let value_start = buf.len() as u32;
            buf.extend_from_slice(value.as_bytes());
            let value = Span {
                start: value_start,
                end: buf.len() as u32,
            };
            headers.push(Header::new(&buf, name, value));
            buf.extend_from_slice(b"\r\n");
        }
        (buf, headers)
    }

    #[test]
    fn spans_outside_the_buffer_are_skipped_not_a_panic() {
        let (buf, headers) = fields(&[("Host", "a")]);
        assert_eq!(header_value(&buf[..3], &headers, b"host"), None);
        assert_eq!(
            connection_options(b"", Version::Http11, &headers),
            ConnectionOptions::default()
        );
    }

    #[test]
    fn header_value_finds_the_first_field_ignoring_case() {
        let (buf, headers) = fields(&[("Host", "a"), ("HOST", "b"), ("X", "")]);
        assert_eq!(header_value(&buf, &headers, b"host"), Some(&b"a"[..]));
        assert_eq!(header_value(&buf, &headers, b"x"), Some(&b""[..]));
        assert_eq!(header_value(&buf, &headers, b"missing"), None);
        assert_eq!(known_value(&buf, &headers, Known::Host), Some(&b"a"[..]));
        assert_eq!(known_value(&buf, &headers, Known::Expect), None);
    }

    #[test]
    fn known_values_are_the_named_values_of_that_name() {
        let (buf, headers) = fields(&[
            ("X-Forwarded-For", "a"),
            ("Host", "h"),
            ("x-forwarded-for", "b"),
            ("X-Forwarded-Fo", "c"),
            ("X-FORWARDED-FOR", ""),
        ]);
        assert_eq!(
            known_values(&buf, &headers, Known::XForwardedFor).collect::<Vec<_>>(),
            named_values(&buf, &headers, b"x-forwarded-for").collect::<Vec<_>>()
        );
        assert_eq!(
            known_values(&buf, &headers, Known::XForwardedFor).count(),
            3
        );
        assert_eq!(known_values(&buf[..3], &headers, Known::Host).count(), 0);
    }

    #[test]
    fn hop_by_hop_names_are_exactly_the_six_in_any_case() {
        for name in [
            "Connection",
            "KEEP-ALIVE",
            "proxy-connection",
            "TE",
            "Trailer",
            "upgrade",
        ] {
            assert!(is_hop_by_hop(name.as_bytes()), "{name}");
        }
        for name in [
            "Transfer-Encoding",
            "Content-Length",
            "Trailers",
            "T",
            "Host",
            "",
        ] {
            assert!(!is_hop_by_hop(name.as_bytes()), "{name}");
        }
    }

    #[test]
    fn connection_tokens_are_read_from_every_connection_field() {
        let (buf, headers) = fields(&[
            ("Connection", " Keep-Alive ,foo"),
            ("connection", "CLOSE"),
            ("Expect", " 100-Continue "),
        ]);
        let opts = connection_options(&buf, Version::Http11, &headers);
        assert_eq!(
            opts,
            ConnectionOptions {
                close: true,
                keep_alive: true,
                upgrade: false,
                expect_continue: true
            }
        );
    }

    #[test]
    fn upgrade_needs_both_the_token_and_the_upgrade_field() {
        let (buf, headers) = fields(&[("Connection", "Upgrade"), ("Upgrade", "websocket")]);
        assert!(connection_options(&buf, Version::Http11, &headers).upgrade);
        let (buf, headers) = fields(&[("Connection", "upgrade")]);
        assert!(!connection_options(&buf, Version::Http11, &headers).upgrade);
        let (buf, headers) = fields(&[("Upgrade", "websocket")]);
        assert!(!connection_options(&buf, Version::Http11, &headers).upgrade);
    }

    #[test]
    fn no_fields_means_no_options_whatever_the_version() {
        let (buf, headers) = fields(&[("Expect", "100-continue-not")]);
        assert_eq!(
            connection_options(&buf, Version::Http10, &headers),
            ConnectionOptions::default()
        );
    }

    #[test]
    fn ows_is_trimmed_on_both_sides_only() {
        assert_eq!(trim_ows(b" \t a b\t "), b"a b");
        assert_eq!(trim_ows(b"   "), b"");
        assert_eq!(
            list_elements(b"a, b ,,c").collect::<Vec<_>>(),
            [&b"a"[..], b"b", b"", b"c"]
        );
    }
}
