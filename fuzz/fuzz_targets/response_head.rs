//! Response heads: `parse_response` and `response_framing` for each method of a small list.
//!
//! Input: `[flags, split_lo, split_hi, message...]`, as in `request_head`: bit 0 of `flags`
//! picks small limits, the next two bytes the cut for the prefix check.
//!
//! Checks, beyond "no panic":
//! - on a complete head: `len <= message.len()`, the reason and every header span lie within
//!   `0..=len`, the status is three digits (100..=999);
//! - `response_framing` for GET, HEAD, POST, CONNECT, OPTIONS and an unknown method: HEAD,
//!   1xx, 204 and 304 never have a body, nor does a 2xx to CONNECT; an HTTP/1.0 response is
//!   never chunked; GET and POST get the same framing (the method matters only for HEAD and
//!   CONNECT);
//! - prefix stability and determinism, as in `request_head`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common/mod.rs"]
mod common;
use common::{check_parser, check_span};
use ringway::http::{
    connection_options, header_value, parse_response, response_framing, BodyFraming, Method,
    ResponseHead, Version,
};

const METHODS: [Method; 6] = [
    Method::Get,
    Method::Head,
    Method::Post,
    Method::Connect,
    Method::Options,
    Method::Other,
];

fn check_head(msg: &[u8], head: &ResponseHead) {
    assert!(
        head.len <= msg.len(),
        "head.len {} > input {}",
        head.len,
        msg.len()
    );
    assert!((100..=999).contains(&head.status), "status {}", head.status);
    check_span(head.reason, head.len, "reason");
    for h in &head.headers {
        check_span(h.name, head.len, "header name");
        check_span(h.value, head.len, "header value");
        assert!(!h.name.is_empty(), "empty header name");
    }
    let _ = connection_options(msg, head.version, &head.headers);
    let _ = header_value(msg, &head.headers, b"content-length");

    let framing: Vec<_> = METHODS
        .iter()
        .map(|&m| (m, response_framing(msg, head, m)))
        .collect();
    let status = head.status;
    for (m, f) in &framing {
        let no_body = *m == Method::Head
            || (100..200).contains(&status)
            || status == 204
            || status == 304
            || (*m == Method::Connect && (200..300).contains(&status));
        if no_body {
            assert_eq!(
                *f,
                Ok(BodyFraming::None),
                "{m:?} {status} must have no body"
            );
        }
        if head.version == Version::Http10 {
            assert_ne!(
                *f,
                Ok(BodyFraming::Chunked),
                "HTTP/1.0 response framed as chunked"
            );
        }
        if *f == Ok(BodyFraming::ContentLength(0)) {
            panic!("Content-Length: 0 must be BodyFraming::None");
        }
    }
    assert_eq!(
        framing[0].1, framing[2].1,
        "GET and POST framed differently"
    );
    assert_eq!(
        framing[0].1, framing[5].1,
        "GET and another method framed differently"
    );
}

fuzz_target!(|data: &[u8]| {
    check_parser(data, parse_response, |h: &ResponseHead| h.len, check_head);
});
