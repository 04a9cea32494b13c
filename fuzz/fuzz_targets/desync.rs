//! The desync classifier on any bytes: `tokenize`, then `classify`.
//!
//! Input: `[flags, cut_lo, cut_hi, message...]`, as `request_head`: bit 0 of `flags` picks
//! small limits, the next two bytes a cut for the prefix check.
//!
//! Checks, beyond "no panic":
//! - a complete head: `len <= message.len()`, every span (method, target, version, header
//!   names and values) inside `0..=len`;
//! - prefix stability: a prefix shorter than the head needs more bytes; a prefix that holds
//!   it gives the same head, the same headers and the same verdict and marks; when the whole
//!   message is incomplete so is every prefix; when it fails, a prefix needs more bytes or
//!   fails with the same error;
//! - determinism: tokenizing and classifying again give equal results;
//! - the verdict is coherent: an HTTP/1.1 request ringway cannot frame is at least Ambiguous, one whose
//!   request line it cannot forward is not Compliant, and only a Compliant request has the
//!   Compliant reason.
#![no_main]

#[path = "common/mod.rs"]
#[allow(dead_code)] // check_parser serves the head targets
mod common;

use common::{check_span, limits};
use libfuzzer_sys::fuzz_target;
use ringway::desync::{classify, tokenize, HeaderMark, Reason, Tier, Verdict};
use ringway::http::{Header, Limits};

fn run(
    msg: &[u8],
    limits: &Limits,
    headers: &mut Vec<Header>,
) -> Option<(usize, Verdict, Vec<HeaderMark>)> {
    let r = tokenize(msg, limits, headers).ok()??;
    let mut marks = vec![HeaderMark::default(); headers.len()];
    let v = classify(&r.view(msg, headers), &mut marks);
    Some((r.len, v, marks))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let limits = limits(data[0]);
    let msg = &data[3..];
    let cut = usize::from(u16::from_le_bytes([data[1], data[2]])) % (msg.len() + 1);

    let mut headers = Vec::new();
    let whole = tokenize(msg, &limits, &mut headers);
    let whole_headers = headers.clone();
    let mut again = Vec::new();
    assert_eq!(
        tokenize(msg, &limits, &mut again),
        whole,
        "tokenize is not deterministic"
    );
    assert_eq!(again, whole_headers);

    let part = tokenize(&msg[..cut], &limits, &mut again);
    match (&whole, &part) {
        (_, Ok(None)) => {}
        (Ok(Some(w)), Ok(Some(p))) => {
            assert_eq!(w, p, "a prefix holding the head gives another head");
            assert_eq!(again, whole_headers);
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "a prefix fails differently"),
        _ => panic!("prefix {cut}: {part:?}, whole: {whole:?}"),
    }

    let Ok(Some(r)) = whole else {
        return;
    };
    assert!(r.len > 0 && r.len <= msg.len());
    for (s, what) in [
        (r.method, "method"),
        (r.target, "target"),
        (r.version, "version"),
    ] {
        check_span(s, r.len, what);
    }
    for h in &whole_headers {
        check_span(h.name, r.len, "header name");
        check_span(h.value, r.len, "header value");
    }
    let Some((len, v, marks)) = run(msg, &limits, &mut again) else {
        panic!("tokenize stopped agreeing with itself");
    };
    assert_eq!(len, r.len);
    let mut marks2 = vec![HeaderMark::default(); whole_headers.len()];
    let v2 = classify(&r.view(msg, &whole_headers), &mut marks2);
    assert_eq!(v, v2, "classify is not deterministic");
    assert_eq!(marks, marks2);
    // The same verdict for every prefix that completes, here the one ending at the head.
    let Some((_, vp, mp)) = run(&msg[..r.len], &limits, &mut again) else {
        panic!("the head alone is not a complete head");
    };
    assert_eq!((vp, mp), (v, marks));

    assert_eq!(v.reason == Reason::Compliant, v.tier == Tier::Compliant);
    assert_eq!(v.reason.tier(), v.tier);
    // Transfer-Encoding on a request line that is not plain HTTP/1.1 (a padded `HTTP/1.0 `,
    // a target with SP) cannot be framed, though the guardian's checks may only say
    // Acceptable there; the worker refuses any unframeable request in every mode.
    if v.framing.is_err() && v.forward_version == Some(ringway::http::Version::Http11) {
        assert!(v.tier >= Tier::Ambiguous, "unframeable but {:?}", v.reason);
    }
    if v.forward_version.is_none() {
        assert!(
            v.tier > Tier::Compliant,
            "unforwardable request line but Compliant"
        );
    }
});
