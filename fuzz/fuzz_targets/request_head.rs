//! Request heads: `parse_request` and what the worker runs on a parsed head.
//!
//! Input: `[flags, split_lo, split_hi, message...]`. Bit 0 of `flags` picks small limits
//! (so the 414/431 paths are reached with short inputs) instead of `Limits::default()`;
//! the next two bytes pick where the message is cut for the prefix check.
//!
//! Checks, beyond "no panic":
//! - on a complete head: `len <= message.len()`, every span (method, target, header names and
//!   values) lies within `0..=len`, the method span's bytes name the method, and
//!   `request_framing`, `connection_options`, `header_value(b"host")` run (the host value,
//!   when present, is a header value's bytes);
//! - prefix stability (the contract in `src/http/parse.rs`): a prefix of the message shorter
//!   than a complete head needs more bytes (`Ok(None)`); a prefix that holds the whole head
//!   gives the same head; when the whole message is `Ok(None)` every prefix is too; when it
//!   fails, a prefix needs more bytes or fails with the same error. Never a different head;
//! - determinism: parsing the message again gives an equal result;
//! - the classifier's short paths: on a complete head, `classify` of the parsed view (which
//!   may take `desync::ordinary` and the `LineFacts::strict` shortcuts) gives the verdict and
//!   header marks of the full pass over the same view with `strict` off.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common/mod.rs"]
mod common;
use common::{check_parser, check_span};
use ringway::desync::{classify, HeaderMark, RequestView};
use ringway::http::{
    connection_options, header_value, parse_request, request_framing, Method, RequestHead,
};

fn method_name(m: Method) -> Option<&'static [u8]> {
    Some(match m {
        Method::Get => b"GET",
        Method::Head => b"HEAD",
        Method::Post => b"POST",
        Method::Put => b"PUT",
        Method::Delete => b"DELETE",
        Method::Connect => b"CONNECT",
        Method::Options => b"OPTIONS",
        Method::Trace => b"TRACE",
        Method::Patch => b"PATCH",
        Method::Other => return None,
    })
}

fn check_head(msg: &[u8], head: &RequestHead) {
    assert!(
        head.len <= msg.len(),
        "head.len {} > input {}",
        head.len,
        msg.len()
    );
    assert!(head.len > 0, "empty complete head");
    check_span(head.method_span, head.len, "method");
    check_span(head.target, head.len, "target");
    for h in &head.headers {
        check_span(h.name, head.len, "header name");
        check_span(h.value, head.len, "header value");
        assert!(!h.name.is_empty(), "empty header name");
    }
    let method = head.method_span.of(msg);
    assert!(!method.is_empty(), "empty method");
    if let Some(name) = method_name(head.method) {
        assert_eq!(method, name, "method span does not name {:?}", head.method);
    }
    assert!(!head.target.of(msg).is_empty(), "empty target");

    // The short paths against the full pass: same verdict, same marks.
    let view = RequestView::from_parsed(msg, head);
    let mut marks = vec![HeaderMark::default(); head.headers.len()];
    let fast = classify(&view, &mut marks);
    let mut full_view = view;
    full_view.lines.strict = false;
    let mut full_marks = vec![HeaderMark::default(); head.headers.len()];
    let full = classify(&full_view, &mut full_marks);
    assert_eq!(fast, full, "short-path verdict differs from the full pass");
    assert_eq!(
        marks, full_marks,
        "short-path marks differ from the full pass"
    );

    let _ = request_framing(msg, head);
    let _ = connection_options(msg, head.version, &head.headers);
    if let Some(host) = header_value(msg, &head.headers, b"host") {
        let base = msg.as_ptr() as usize;
        let at = host.as_ptr() as usize;
        assert!(
            at >= base && at + host.len() <= base + head.len,
            "host value outside the head"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    check_parser(data, parse_request, |h: &RequestHead| h.len, check_head);
});
