//! Line limits of a head (DESIGN.md §3), read from the raw bytes: on a complete head from the
//! spans the parser found, on an incomplete one by scanning, so an over-long line is refused
//! before its end arrives.

use super::types::{Header, ParseError};

/// Offset of the first line: RFC 9112 §2.2 lets a server skip empty lines before a request
/// line, and httparse does so for both kinds of head.
pub(super) fn skip_empty_lines(buf: &[u8]) -> usize {
    let mut at = 0;
    loop {
        match buf.get(at..at + 2) {
            Some(b"\r\n") => at += 2,
            _ if buf.get(at) == Some(&b'\n') => at += 1,
            _ => return at,
        }
    }
}

/// Length of the line `start..next` without its CRLF or bare LF.
fn line_len(buf: &[u8], start: usize, next: usize) -> usize {
    let mut len = next.saturating_sub(start).saturating_sub(1);
    if len > 0 && buf.get(next - 2) == Some(&b'\r') {
        len -= 1;
    }
    len
}

/// Line limits of a complete head, from the spans httparse found: each header is one line
/// (obs-fold is refused), so lines start at the first line and at each header name.
pub(super) fn check_lines(
    buf: &[u8],
    len: usize,
    headers: &[Header],
    first_line_error: ParseError,
    max_line: usize,
) -> Result<(), ParseError> {
    // The head ends with an empty line, CRLF or a bare LF.
    let empty_line = if len >= 2 && buf.get(len - 2) == Some(&b'\r') {
        len - 2
    } else {
        len.saturating_sub(1)
    };
    let mut start = skip_empty_lines(buf);
    let mut err = first_line_error;
    let starts = headers.iter().map(|h| h.name.start as usize);
    for next in starts.chain(std::iter::once(empty_line)) {
        if line_len(buf, start, next) > max_line {
            return Err(err);
        }
        err = ParseError::HeadersTooLarge;
        start = next;
    }
    Ok(())
}

/// The first line of an incomplete head longer than `max_line`, as the prefix length at which
/// that became known and the error it is. A trailing CR is not counted: it may be half a CRLF.
pub(super) fn first_long_line(
    buf: &[u8],
    first_line_error: ParseError,
    max_line: usize,
) -> Option<(usize, ParseError)> {
    let mut start = skip_empty_lines(buf);
    let mut err = first_line_error;
    loop {
        let line = &buf[start..];
        let (len, next) = match line.iter().position(|&b| b == b'\n') {
            Some(i) => (line_len(buf, start, start + i + 1), Some(start + i + 1)),
            None => (line.len() - usize::from(line.last() == Some(&b'\r')), None),
        };
        if len > max_line {
            return Some((start + max_line + 1, err));
        }
        match next {
            // An empty line ends the head: nothing after it is ours to judge.
            Some(n) if len > 0 => start = n,
            _ => return None,
        }
        err = ParseError::HeadersTooLarge;
    }
}
