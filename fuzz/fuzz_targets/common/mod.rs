//! What the head targets share: the input layout, the limits it selects, span checks, and the
//! prefix-stability and determinism checks that hold for any head parser.

use std::fmt::Debug;

use ringway::http::{Limits, ParseError, Span};

/// Bit 0 of the flags byte picks small limits, so the 414/431 paths are reached with short
/// inputs; otherwise `Limits::default()`.
pub fn limits(flags: u8) -> Limits {
    if flags & 1 == 1 {
        Limits {
            max_line: 48,
            max_head: 256,
            max_headers: 4,
        }
    } else {
        Limits::default()
    }
}

pub fn check_span(s: Span, len: usize, what: &str) {
    assert!(
        s.start <= s.end && s.end as usize <= len,
        "{what} span {s:?} outside the head of {len} bytes"
    );
}

/// Runs `parse` over the input `[flags, split_lo, split_hi, message...]` and checks: `check`
/// on every complete head; determinism; and that the prefix cut at the split point needs more
/// bytes, gives the same head, or fails as the whole message does: never a different head.
pub fn check_parser<H: PartialEq + Debug>(
    data: &[u8],
    parse: impl Fn(&[u8], &Limits) -> Result<Option<H>, ParseError>,
    head_len: impl Fn(&H) -> usize,
    check: impl Fn(&[u8], &H),
) {
    if data.len() < 3 {
        return;
    }
    let limits = limits(data[0]);
    let split = u16::from_le_bytes([data[1], data[2]]) as usize;
    let msg = &data[3..];

    let whole = parse(msg, &limits);
    if let Ok(Some(head)) = &whole {
        check(msg, head);
    }
    assert_eq!(parse(msg, &limits), whole, "not deterministic");

    let k = split % (msg.len() + 1);
    let part = parse(&msg[..k], &limits);
    if let Ok(Some(head)) = &part {
        check(&msg[..k], head);
    }
    match (&whole, &part) {
        (Ok(Some(head)), Ok(Some(p))) => assert!(
            k >= head_len(head) && p == head,
            "prefix of {k} bytes gave a different head: {p:?} vs {head:?}"
        ),
        (Ok(Some(head)), p) => assert!(
            k < head_len(head) && *p == Ok(None),
            "prefix of {k} bytes of a {}-byte head gave {p:?}",
            head_len(head)
        ),
        (Ok(None), p) => assert_eq!(*p, Ok(None), "prefix of {k} bytes of an incomplete head"),
        (Err(e), p) => assert!(
            *p == Ok(None) || *p == Err(*e),
            "prefix of {k} bytes gave {p:?}, the whole message {e:?}"
        ),
    }
}
