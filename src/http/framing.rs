//! Body framing: how long the body after a head is (RFC 9112 §6.3). Requests are held to the
//! strict reading, because a request the balancer and the target frame differently is request
//! smuggling; responses get the RFC's fallbacks.

use super::fields::{known_values, list_elements};
use super::types::{
    BodyFraming, FramingError, Header, Known, Method, RequestHead, ResponseHead, Version,
};

/// The framing of a request body. Transfer-Encoding wins over Content-Length, which the
/// worker then drops before forwarding (RFC 9112 §6.3 rule 3).
pub fn request_framing(buf: &[u8], head: &RequestHead) -> Result<BodyFraming, FramingError> {
    if let Some(te) = transfer_codings(buf, head.headers.as_slice()) {
        // RFC 9112 §6.1: TE in an HTTP/1.0 message means the framing is faulty.
        if head.version == Version::Http10 {
            return Err(FramingError("Transfer-Encoding in an HTTP/1.0 request"));
        }
        // RFC 9112 §6.3 rule 4: chunked must be the final coding, and §6.1: applied once.
        return match (te.final_chunked, te.chunked_count) {
            (true, 1) => Ok(BodyFraming::Chunked),
            (true, _) => Err(FramingError("chunked applied more than once")),
            (false, _) => Err(FramingError("chunked is not the final transfer coding")),
        };
    }
    // RFC 9112 §6.3 rules 5-6; a request without either field has no body (rule 7).
    Ok(match content_length(buf, head.headers.as_slice())? {
        None | Some(0) => BodyFraming::None,
        Some(n) => BodyFraming::ContentLength(n),
    })
}

/// The framing of a response body, given the method of the request it answers. A
/// `Content-Length: 0` gives `BodyFraming::None`, like every other empty body.
pub fn response_framing(
    buf: &[u8],
    head: &ResponseHead,
    request_method: Method,
) -> Result<BodyFraming, FramingError> {
    let status = head.status;
    // RFC 9112 §6.3 rule 1: these never have a body, whatever the fields say.
    if request_method == Method::Head
        || (100..200).contains(&status)
        || status == 204
        || status == 304
    {
        return Ok(BodyFraming::None);
    }
    // Rule 2: a 2xx to CONNECT turns the connection into a tunnel; the worker takes over.
    if request_method == Method::Connect && (200..300).contains(&status) {
        return Ok(BodyFraming::None);
    }
    if let Some(te) = transfer_codings(buf, head.headers.as_slice()) {
        // Rule 4: a response whose final coding is not chunked runs until the close. An
        // HTTP/1.0 response with TE is faulty (§6.1); reading to the close is the safe reading.
        return Ok(if te.final_chunked && head.version == Version::Http11 {
            BodyFraming::Chunked
        } else {
            BodyFraming::CloseDelimited
        });
    }
    // Rule 5: an invalid Content-Length in a response is an error (the worker answers 502).
    Ok(match content_length(buf, head.headers.as_slice())? {
        Some(0) => BodyFraming::None,
        Some(n) => BodyFraming::ContentLength(n),
        // Rule 8.
        None => BodyFraming::CloseDelimited,
    })
}

/// What the Transfer-Encoding fields of a message say, all fields' lists read as one.
struct Codings {
    final_chunked: bool,
    chunked_count: usize,
}

/// `None` when no Transfer-Encoding field is present.
fn transfer_codings(buf: &[u8], headers: &[Header]) -> Option<Codings> {
    // Most messages have none: a scan of the ids is all they cost.
    if !headers.iter().any(|h| h.known == Known::TransferEncoding) {
        return None;
    }
    read_codings(buf, headers)
}

/// `transfer_codings` for a head with a Transfer-Encoding field, out of line so the scan
/// above stays small where it is inlined.
#[inline(never)]
fn read_codings(buf: &[u8], headers: &[Header]) -> Option<Codings> {
    let mut present = false;
    let mut last: &[u8] = b"";
    let mut chunked_count = 0;
    for value in known_values(buf, headers, Known::TransferEncoding) {
        present = true;
        // RFC 9110 §5.6.1: empty list elements are ignored.
        for coding in list_elements(value).filter(|c| !c.is_empty()) {
            if coding.eq_ignore_ascii_case(b"chunked") {
                chunked_count += 1;
            }
            last = coding;
        }
    }
    present.then(|| Codings {
        final_chunked: last.eq_ignore_ascii_case(b"chunked"),
        chunked_count,
    })
}

/// The one length all Content-Length values agree on, `None` when there is no such field.
/// RFC 9110 §8.6 allows a list of identical values; anything else is an error.
fn content_length(buf: &[u8], headers: &[Header]) -> Result<Option<u64>, FramingError> {
    // The usual field is one plain number: read it without splitting a list or trimming.
    // Anything else (a list, OWS, a sign, a value too long to be sure it fits, values that
    // differ) goes to the full reading, which gives the verdict.
    let mut length = None;
    for h in headers.iter().filter(|h| h.known == Known::ContentLength) {
        // A span outside `buf` is skipped, as `known_values` does.
        let Some(value) = buf.get(h.value.start as usize..h.value.end as usize) else {
            continue;
        };
        match plain_decimal(value) {
            Some(n) if length.is_none_or(|l| l == n) => length = Some(n),
            _ => return content_length_lists(buf, headers),
        }
    }
    Ok(length)
}

/// 1 to 19 digits, which always fit a u64 (`u64::MAX` has 20), read by `decimal`; `None` for
/// anything else.
#[inline]
fn plain_decimal(value: &[u8]) -> Option<u64> {
    if value.len() > 19 {
        return None;
    }
    decimal(value).ok()
}

/// `content_length` read in full: every field a comma-separated list, each element checked.
#[inline(never)]
fn content_length_lists(buf: &[u8], headers: &[Header]) -> Result<Option<u64>, FramingError> {
    let mut length = None;
    for value in known_values(buf, headers, Known::ContentLength) {
        for element in list_elements(value) {
            let n = decimal(element)?;
            if length.is_some_and(|l| l != n) {
                return Err(FramingError("differing Content-Length values"));
            }
            length = Some(n);
        }
    }
    Ok(length)
}

/// `1*DIGIT` as a u64: no sign, no inner space, not empty, no overflow.
pub(super) fn decimal(digits: &[u8]) -> Result<u64, FramingError> {
    if digits.is_empty() {
        return Err(FramingError("empty Content-Length"));
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return Err(FramingError("Content-Length is not a number"));
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(FramingError("Content-Length too large"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::fields::tests::fields;
    use crate::http::types::Span;

    fn request(version: Version, pairs: &[(&str, &str)]) -> Result<BodyFraming, FramingError> {
        let (buf, headers) = fields(pairs);
        let head = RequestHead {
            len: buf.len(),
            method: Method::Post,
            method_span: Span::default(),
            target: Span::default(),
            version,
            headers,
        };
        request_framing(&buf, &head)
    }

    fn response(
        method: Method,
        status: u16,
        pairs: &[(&str, &str)],
    ) -> Result<BodyFraming, FramingError> {
        let (buf, headers) = fields(pairs);
        let head = ResponseHead {
            len: buf.len(),
            version: Version::Http11,
            status,
            reason: Span::default(),
            headers,
        };
        response_framing(&buf, &head, method)
    }

    use BodyFraming::{Chunked, CloseDelimited, ContentLength, None as NoBody};

    #[test]
    fn request_framing_follows_rfc_9112_section_6_3() {
        let v11 = Version::Http11;
        let ok: &[(&[(&str, &str)], BodyFraming)] = &[
            (&[], NoBody),
            (&[("Content-Length", "0")], NoBody),
            (&[("Content-Length", "5")], ContentLength(5)),
            (&[("content-length", " 5 ")], ContentLength(5)),
            (&[("Content-Length", "5, 5")], ContentLength(5)),
            (
                &[("Content-Length", "5"), ("Content-Length", "5")],
                ContentLength(5),
            ),
            (&[("Content-Length", "007")], ContentLength(7)),
            (
                &[("Content-Length", "18446744073709551615")],
                ContentLength(u64::MAX),
            ),
            (&[("Transfer-Encoding", "chunked")], Chunked),
            (&[("Transfer-Encoding", "Chunked")], Chunked),
            (&[("TRANSFER-ENCODING", " CHUNKED\t")], Chunked),
            (&[("Transfer-Encoding", "gzip, chunked")], Chunked),
            (
                &[
                    ("Transfer-Encoding", "gzip"),
                    ("Transfer-Encoding", "chunked"),
                ],
                Chunked,
            ),
            (&[("Transfer-Encoding", "chunked,")], Chunked),
            // TE wins; the worker drops the Content-Length.
            (
                &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
                Chunked,
            ),
            (
                &[
                    ("Content-Length", "nonsense"),
                    ("Transfer-Encoding", "chunked"),
                ],
                Chunked,
            ),
        ];
        for (pairs, framing) in ok {
            assert_eq!(request(v11, pairs), Ok(*framing), "{pairs:?}");
        }
        let bad: &[&[(&str, &str)]] = &[
            &[("Transfer-Encoding", "chunked, gzip")],
            &[("Transfer-Encoding", "gzip")],
            &[("Transfer-Encoding", "chunked, chunked")],
            &[
                ("Transfer-Encoding", "chunked"),
                ("Transfer-Encoding", "chunked"),
            ],
            &[("Transfer-Encoding", "")],
            &[("Transfer-Encoding", "chunked;q=1")],
            &[("Transfer-Encoding", "xchunked")],
            &[("Content-Length", "+5")],
            &[("Content-Length", "-5")],
            &[("Content-Length", "5, 6")],
            &[("Content-Length", "5"), ("Content-Length", "6")],
            &[("Content-Length", "")],
            &[("Content-Length", "5,")],
            &[("Content-Length", "5 5")],
            &[("Content-Length", "0x5")],
            &[("Content-Length", "18446744073709551616")],
            &[("Content-Length", "99999999999999999999999")],
        ];
        for pairs in bad {
            assert!(request(v11, pairs).is_err(), "{pairs:?}");
        }
    }

    /// Values a Content-Length field may hold, plain or not: digits of any count, lists,
    /// OWS, signs and stray bytes.
    fn cl_value() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            "[0-9]{1,22}",
            "0*(18446744073709551615|18446744073709551616|9999999999999999999)",
            "[ \t]?[0-9]{0,3}[ \t]?(,[ \t]?[0-9]{0,3}[ \t]?){0,2}",
            "[-+0-9a, \t]{0,6}",
        ]
    }

    proptest::proptest! {
        #[test]
        fn the_plain_number_shortcut_agrees_with_the_full_reading(
            values in proptest::collection::vec(cl_value(), 0..4),
            names in proptest::collection::vec(
                proptest::sample::select(vec!["Content-Length", "content-length", "X-Other"]),
                4,
            ),
        ) {
            let pairs: Vec<(&str, &str)> = values
                .iter()
                .zip(&names)
                .map(|(v, n)| (*n, v.as_str()))
                .collect();
            let (buf, headers) = fields(&pairs);
            proptest::prop_assert_eq!(
                content_length(&buf, &headers),
                content_length_lists(&buf, &headers)
            );
            // And with the spans paired with a buffer too short for some of them.
            let short = &buf[..buf.len() / 2];
            proptest::prop_assert_eq!(
                content_length(short, &headers),
                content_length_lists(short, &headers)
            );
        }
    }

    #[test]
    fn plain_numbers_of_19_digits_take_the_shortcut_and_20_do_not() {
        assert_eq!(
            plain_decimal(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(plain_decimal(b"18446744073709551615"), None);
        assert_eq!(plain_decimal(b"0"), Some(0));
        for v in [&b""[..], b" 1", b"1,1", b"+1", b"1a", b"/", b":"] {
            assert_eq!(plain_decimal(v), None, "{v:?}");
        }
    }

    #[test]
    fn transfer_encoding_in_an_http_1_0_request_is_an_error() {
        assert!(request(Version::Http10, &[("Transfer-Encoding", "chunked")]).is_err());
        assert_eq!(
            request(Version::Http10, &[("Content-Length", "3")]),
            Ok(ContentLength(3))
        );
    }

    #[test]
    fn head_1xx_204_and_304_responses_have_no_body() {
        let cl = [("Content-Length", "10")];
        let te = [("Transfer-Encoding", "chunked")];
        for pairs in [&cl[..], &te[..], &[]] {
            assert_eq!(response(Method::Head, 200, pairs), Ok(NoBody));
            for status in [100, 101, 103, 199, 204, 304] {
                assert_eq!(response(Method::Get, status, pairs), Ok(NoBody), "{status}");
            }
            assert_eq!(response(Method::Connect, 200, pairs), Ok(NoBody));
        }
        assert_eq!(response(Method::Connect, 407, &cl), Ok(ContentLength(10)));
    }

    #[test]
    fn response_framing_falls_back_to_the_close() {
        let get = |pairs: &[(&str, &str)]| response(Method::Get, 200, pairs);
        assert_eq!(get(&[]), Ok(CloseDelimited));
        assert_eq!(get(&[("Content-Length", "0")]), Ok(NoBody));
        assert_eq!(get(&[("Content-Length", "12")]), Ok(ContentLength(12)));
        assert_eq!(get(&[("Transfer-Encoding", "gzip, chunked")]), Ok(Chunked));
        assert_eq!(
            get(&[("Transfer-Encoding", "chunked, gzip")]),
            Ok(CloseDelimited)
        );
        assert_eq!(
            get(&[("Transfer-Encoding", "gzip"), ("Content-Length", "3")]),
            Ok(CloseDelimited)
        );
        assert_eq!(
            get(&[("Transfer-Encoding", "chunked"), ("Content-Length", "x")]),
            Ok(Chunked)
        );
        assert!(get(&[("Content-Length", "5, 6")]).is_err());
        assert!(get(&[("Content-Length", "+5")]).is_err());
        assert!(get(&[("Content-Length", "")]).is_err());
    }

    #[test]
    fn an_http_1_0_response_with_transfer_encoding_runs_to_the_close() {
        let (buf, headers) = fields(&[("Transfer-Encoding", "chunked")]);
        let head = ResponseHead {
            len: 0,
            version: Version::Http10,
            status: 200,
            reason: Span::default(),
            headers,
        };
        assert_eq!(
            response_framing(&buf, &head, Method::Get),
            Ok(CloseDelimited)
        );
    }
}
