//! Routing helpers: `glob_match`, `request_path` and `strip_port`.
//!
//! Input: `[flags, cut, bytes...]`: the bytes are cut at `cut % (len + 1)` into a pattern and
//! a text; bit 0 of `flags` is `ignore_case`.
//!
//! Checks, beyond "no panic":
//! - `glob_match(b"*", x, _)` is always true, for the pattern, the text and the whole;
//! - `glob_match(x, x, _)` is true when `x` has no `*` or `?`; so is `glob_match(*x*, x, _)`;
//! - a case-sensitive match implies a case-insensitive one; `?` repeated `len` times matches
//!   any text of that length and no other;
//! - `request_path` returns a piece of its input without `?`; `strip_port` returns a prefix of
//!   its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringway::balance::{glob_match, request_path, strip_port};

fn is_within(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    p >= w && p + part.len() <= w + whole.len()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let ignore_case = data[0] & 1 == 1;
    let bytes = &data[2..];
    let cut = data[1] as usize % (bytes.len() + 1);
    let (pattern, text) = bytes.split_at(cut);

    let m = glob_match(pattern, text, ignore_case);
    if glob_match(pattern, text, false) {
        assert!(glob_match(pattern, text, true), "matches case-sensitively only");
    }
    let _ = m;

    for x in [pattern, text, bytes] {
        for ic in [false, true] {
            assert!(glob_match(b"*", x, ic), "'*' does not match {x:?}");
        }
        if !x.contains(&b'*') && !x.contains(&b'?') {
            assert!(glob_match(x, x, false), "{x:?} does not match itself");
            assert!(glob_match(x, x, true), "{x:?} does not match itself ignoring case");
            let mut starred = Vec::with_capacity(x.len() + 2);
            starred.push(b'*');
            starred.extend_from_slice(x);
            starred.push(b'*');
            assert!(glob_match(&starred, x, false), "*x* does not match {x:?}");
        }
        let path = request_path(x);
        assert!(
            path == b"/" || is_within(path, x),
            "request_path({x:?}) = {path:?} is not from its input"
        );
        assert!(!path.contains(&b'?'), "request_path({x:?}) = {path:?} keeps the query");
        let host = strip_port(x);
        assert!(x.starts_with(host) && is_within(host, x), "strip_port({x:?}) = {host:?}");
    }

    let qs = vec![b'?'; text.len()];
    assert!(glob_match(&qs, text, false), "{} '?' do not match {text:?}", qs.len());
    if !pattern.contains(&b'*') && pattern.len() != text.len() {
        assert!(!glob_match(pattern, text, ignore_case), "length mismatch matched");
    }
});
