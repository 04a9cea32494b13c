//! Vetting a request head before any byte of it goes to a target (DESIGN.md §3 steps 2–5).
//!
//! httparse reads the head first; a head it refuses as malformed is read again by the desync
//! tokenizer, which splits lines the way ALB's classifier does, so every head gets a tier and
//! a reason. The mitigation mode decides whether it goes on. What goes on is rebuilt from its
//! parts, never passed on whole: the request line in origin-form, the end-to-end headers minus
//! the classifier's Bad ones and every framing header or lookalike, then Host, X-Forwarded-* and
//! one framing header written by ringway. So the target and ringway always agree on where the
//! body ends, whatever the client sent. (Lines that rebuilding would write byte for byte as
//! they came are copied, a run at a time: the same bytes for less work.)

use std::net::SocketAddr;
use std::ops::Range;

use crate::desync::{self, Action, HeaderMark, HeaderTier, RawRequest, RequestView, Tier, Verdict};
use crate::error::Cause;
use crate::forward::{self, ForwardedError};
use crate::http::{
    self, encode, BodyFraming, Header, Known, Method, ParseError, RequestHead, Target, TargetForm,
    Version,
};

use super::conn::EndToEnd;
use super::state::Worker;

/// A complete head as read from the client.
pub enum ReadHead {
    /// httparse accepted it.
    Strict(RequestHead),
    /// httparse refused it; the desync tokenizer split it into these parts.
    Lenient(RawRequest, Vec<Header>),
}

impl ReadHead {
    /// Bytes of the head, final CRLF CRLF included.
    pub fn len(&self) -> usize {
        match self {
            ReadHead::Strict(head) => head.len,
            ReadHead::Lenient(raw, _) => raw.len,
        }
    }
}

/// Looks for a whole head at the start of `buf`. `Ok(None)`: not complete yet.
pub fn parse_head(w: &Worker, buf: &[u8]) -> Result<Option<ReadHead>, ParseError> {
    match http::parse_request(buf, &w.limits) {
        Ok(Some(head)) => Ok(Some(ReadHead::Strict(head))),
        Ok(None) => Ok(None),
        Err(ParseError::Malformed(_)) => {
            let mut headers = Vec::new();
            Ok(desync::tokenize(buf, &w.limits, &mut headers)?
                .map(|raw| ReadHead::Lenient(raw, headers)))
        }
        Err(e) => Err(e),
    }
}

/// A head that may go to a target, and how.
pub struct Vetted {
    pub head: RequestHead,
    pub framing: BodyFraming,
    /// Ambiguous in defensive mode: the client and the target connection close after it.
    pub close_after: bool,
}

/// Classifies the head, counts and logs a non-compliant one, and applies the mode's action.
/// `Err` is the answer the client gets instead; the target never sees the request. The marks
/// of each header stay in `w.marks` for [`encode_request_head`].
pub fn vet(w: &Worker, buf: &[u8], read: ReadHead, peer: SocketAddr) -> Result<Vetted, Cause> {
    let mut marks = w.marks.borrow_mut();
    let (verdict, raw_head) = match read {
        ReadHead::Strict(head) => {
            let verdict = classify(
                &RequestView::from_parsed(buf, &head),
                head.headers.len(),
                &mut marks,
            );
            (verdict, Ok(head))
        }
        ReadHead::Lenient(raw, headers) => {
            let verdict = classify(&raw.view(buf, &headers), headers.len(), &mut marks);
            (verdict, Err((raw, headers)))
        }
    };
    let action = desync::action(w.attrs().desync_mitigation_mode, verdict.tier);
    w.last_verdict.set((
        verdict.tier.name(),
        if verdict.tier == Tier::Compliant {
            "-"
        } else {
            verdict.reason.name()
        },
    ));
    if verdict.tier != Tier::Compliant {
        w.stats.count_desync(verdict.reason);
        w.log_desync(&verdict, action, peer, buf);
    }
    if action == Action::Block {
        return Err(Cause::DesyncBlocked);
    }
    // Monitor mode forwards everything it can; a body length that cannot be known (RFC 9112
    // §6.3 rules 4–5) or a request line that cannot be written again leaves nothing to forward.
    let framing = verdict.framing.map_err(|_| Cause::BadRequest)?;
    let version = verdict.forward_version.ok_or(Cause::BadRequest)?;
    let head = match raw_head {
        Ok(head) => head,
        Err((raw, headers)) => RequestHead {
            len: raw.len,
            method: Method::from_token(raw.method.of(buf)),
            method_span: raw.method,
            target: raw.target,
            version,
            headers,
        },
    };
    Ok(Vetted {
        head,
        framing,
        close_after: action == Action::ForwardThenClose,
    })
}

fn classify(view: &RequestView<'_>, headers: usize, marks: &mut Vec<HeaderMark>) -> Verdict {
    if marks.len() < headers {
        marks.resize(headers, HeaderMark::default());
    }
    desync::classify(view, &mut marks[..headers])
}

/// What the head the target receives depends on besides the request.
pub struct Forwarding<'a> {
    /// The request-target, read once for routing and for the request line.
    pub target: Target<'a>,
    pub peer: SocketAddr,
    pub listener_port: u16,
    /// The client sent `Connection: upgrade` with an Upgrade header.
    pub upgrade: bool,
    /// The target connection closes after this exchange.
    pub close: bool,
}

/// `Transfer-Encoding` for a chunked body: the codings the client applied, in order, tidied
/// to one header (`gzip, chunked` stays `gzip, chunked`: the target must undo both). The
/// classifier has made sure `chunked` is the last; if the headers say otherwise (monitor
/// mode forwarding a lookalike) or hold a control byte, only `chunked` is written, which is
/// how ringway frames the body.
fn write_transfer_codings(out: &mut Vec<u8>, buf: &[u8], headers: &[http::Header]) {
    let mut value: Vec<u8> = Vec::with_capacity(32);
    let mut last: &[u8] = b"";
    for h in headers {
        if h.known != Known::TransferEncoding {
            continue;
        }
        for coding in h.value.of(buf).split(|&b| b == b',') {
            let coding = coding.trim_ascii();
            if coding.is_empty() {
                continue;
            }
            if !value.is_empty() {
                value.extend_from_slice(b", ");
            }
            value.extend_from_slice(coding);
            last = coding;
        }
    }
    let printable = value
        .iter()
        .all(|&b| b == b' ' || b == b'\t' || b.is_ascii_graphic());
    if !printable || !last.eq_ignore_ascii_case(b"chunked") || value.len() == last.len() {
        value.clear();
        value.extend_from_slice(b"chunked");
    }
    encode::header(out, b"Transfer-Encoding", &value);
}

/// Writes the head the target receives (see the module comment). `Err` for more than 30
/// addresses in X-Forwarded-For (463), and for a control byte in Host or X-Forwarded-For (400),
/// which the classifier has already refused unless the mode is monitor.
///
/// Runs of the client's lines that are already what rebuilding them would write (a request
/// line in origin-form, `Name: value` CRLF lines) are copied as they are, a run at a time:
/// the bytes are the same, and one copy of many lines costs less than rebuilding each.
pub fn encode_request_head(
    w: &Worker,
    out: &mut Vec<u8>,
    buf: &[u8],
    head: &RequestHead,
    framing: BodyFraming,
    fwd: &Forwarding<'_>,
) -> Result<(), Cause> {
    let attrs = w.attrs();
    let target = &fwd.target;
    let mut runs = Runs::new(buf);
    match unchanged_request_line(buf, head, target) {
        Some(line) => runs.copy(out, line),
        None => encode::request_line(
            out,
            head.method_span.of(buf),
            target.path,
            target.query,
            head.version,
        ),
    }
    let marks = w.marks.borrow();
    let mut host = None;
    let mut first_xff = None;
    let mut had_content_length = false;
    let end_to_end = EndToEnd::new(buf, &head.headers, fwd.upgrade);
    debug_assert!(marks.len() >= head.headers.len());
    for (i, (h, mark)) in head.headers.iter().zip(marks.iter()).enumerate() {
        if h.known == Known::XForwardedFor {
            // Written by `write_forwarding`, from every X-Forwarded-For field.
            first_xff.get_or_insert(i);
            continue;
        }
        if mark.framing {
            had_content_length |= h.known == Known::ContentLength;
            continue;
        }
        match h.known {
            Known::Host => {
                host.get_or_insert(h.value.of(buf));
                continue;
            }
            Known::Expect | Known::XForwardedPort | Known::XForwardedProto => continue,
            _ => {}
        }
        debug_assert!(!forward::is_forwarding_header(h.known));
        let drop =
            mark.tier == HeaderTier::Bad || (attrs.drop_invalid_header_fields && mark.invalid_name);
        if drop || !end_to_end.keeps(h) {
            continue;
        }
        runs.header(out, h);
    }
    runs.finish(out);
    let absolute = (target.form == TargetForm::Absolute)
        .then_some(target.authority)
        .flatten();
    forward::write_host(
        out,
        host,
        absolute,
        fwd.listener_port,
        attrs.preserve_host_header,
    )
    .map_err(|_| Cause::BadRequest)?;
    // Only the headers from the first X-Forwarded-For on are looked at again.
    let from_xff = first_xff.map_or(&[][..], |i| &head.headers[i..]);
    let incoming_xff = http::known_values(buf, from_xff, Known::XForwardedFor);
    forward::write_forwarding(
        out,
        incoming_xff,
        fwd.peer,
        fwd.listener_port,
        attrs.xff_header_processing,
        attrs.xff_client_port,
    )
    .map_err(|e| match e {
        ForwardedError::TooMany => Cause::TooManyForwardedFor,
        ForwardedError::Invalid => Cause::BadRequest,
    })?;
    match framing {
        BodyFraming::ContentLength(n) => encode::content_length(out, n),
        BodyFraming::Chunked => write_transfer_codings(out, buf, &head.headers),
        BodyFraming::None if had_content_length => encode::content_length(out, 0),
        _ => {}
    }
    if fwd.upgrade {
        encode::header(out, b"Connection", b"upgrade");
    } else if fwd.close {
        encode::header(out, b"Connection", b"close");
    } else if head.version == Version::Http10 {
        encode::header(out, b"Connection", b"keep-alive");
    }
    encode::end_head(out);
    Ok(())
}

/// Lines of the client's head that go on as they came, copied a run at a time: while they
/// are contiguous in `buf`, a run grows; anything written otherwise ends it first, so the
/// order of lines is kept.
struct Runs<'b> {
    buf: &'b [u8],
    run: Range<usize>,
}

impl<'b> Runs<'b> {
    fn new(buf: &'b [u8]) -> Self {
        Runs { buf, run: 0..0 }
    }

    /// Appends `buf[line]`: joined to the run when it follows it, else the run is written
    /// out and `line` starts the next.
    fn copy(&mut self, out: &mut Vec<u8>, line: Range<usize>) {
        if line.start == self.run.end {
            self.run.end = line.end;
        } else {
            out.extend_from_slice(&self.buf[std::mem::replace(&mut self.run, line)]);
        }
    }

    /// Appends `h` as `encode::header` writes it, by copy where its line already is that.
    fn header(&mut self, out: &mut Vec<u8>, h: &Header) {
        match unchanged_line(self.buf, h) {
            Some(line) => self.copy(out, line),
            None => {
                self.finish(out);
                encode::header(out, h.name.of(self.buf), h.value.of(self.buf));
            }
        }
    }

    /// Appends what the run holds.
    fn finish(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.buf[std::mem::replace(&mut self.run, 0..0)]);
    }
}

/// Where in `buf` the request line is exactly what `encode::request_line` would write for it:
/// an origin-form target (sent on whole, path then query) between single spaces, then the
/// forwarded version and CRLF.
fn unchanged_request_line(
    buf: &[u8],
    head: &RequestHead,
    target: &Target<'_>,
) -> Option<Range<usize>> {
    if target.form != TargetForm::Origin {
        return None;
    }
    let (method, raw_target) = (head.method_span, head.target);
    let (start, target_end) = (method.start as usize, raw_target.end as usize);
    if !is_whole_target(target, buf.get(raw_target.start as usize..target_end)?) {
        return None;
    }
    let version = head.version.as_bytes();
    let end = target_end + 1 + version.len() + 2;
    let ok = raw_target.start == method.end + 1
        && buf.get(method.end as usize) == Some(&b' ')
        && buf.get(target_end) == Some(&b' ')
        && buf.get(target_end + 1..end - 2) == Some(version)
        && buf.get(end - 2..end) == Some(b"\r\n");
    ok.then_some(start..end)
}

/// True when `path` then `query` are `raw`'s own bytes, in place: what `split_target` gives
/// for an origin-form target.
fn is_whole_target(target: &Target<'_>, raw: &[u8]) -> bool {
    let raw = raw.as_ptr_range();
    let path = target.path.as_ptr_range();
    let query = target.query.as_ptr_range();
    path.start == raw.start
        && if target.query.is_empty() {
            path.end == raw.end
        } else {
            query.start == path.end && query.end == raw.end
        }
}

/// Where in `buf` the line of `h` is exactly what `encode::header` would write for it:
/// `name`, colon, one space, `value`, CRLF.
fn unchanged_line(buf: &[u8], h: &Header) -> Option<Range<usize>> {
    let (name_end, value_end) = (h.name.end as usize, h.value.end as usize);
    let ok = h.value.start as usize == name_end + 2
        && buf.get(name_end..name_end + 2) == Some(b": ")
        && buf.get(value_end..value_end + 2) == Some(b"\r\n");
    ok.then_some(h.name.start as usize..value_end + 2)
}

/// Tier names for the log, with the action taken.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Forward => "forward",
        Action::ForwardThenClose => "forward-then-close",
        Action::Block => "block",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every header of `raw` through `Runs`, beside every header through `encode::header`.
    fn both_ways(raw: &[u8], keep: impl Fn(usize) -> bool) -> (Vec<u8>, Vec<u8>) {
        let Ok(Some(head)) = http::parse_request(raw, &Default::default()) else {
            return (Vec::new(), Vec::new());
        };
        let (mut copied, mut rebuilt) = (b"x".to_vec(), b"x".to_vec());
        let mut runs = Runs::new(raw);
        for (i, h) in head.headers.iter().enumerate().filter(|(i, _)| keep(*i)) {
            runs.header(&mut copied, h);
            encode::header(&mut rebuilt, h.name.of(raw), h.value.of(raw));
            if i % 3 == 2 {
                // Something the caller writes between lines ends the run.
                runs.finish(&mut copied);
                copied.push(b'|');
                rebuilt.push(b'|');
            }
        }
        runs.finish(&mut copied);
        (copied, rebuilt)
    }

    #[test]
    fn copied_runs_are_what_rebuilding_writes() {
        let raw = b"GET / HTTP/1.1\r\nA: 1\r\nB:2\r\nC:  3 \r\nD: 4\r\nE: \r\nF: 6\r\nG: 7\r\n\r\n";
        for keep in [|_| true, |i| i % 2 == 0, |i| i != 3] {
            let (copied, rebuilt) = both_ways(raw, keep);
            assert_eq!(String::from_utf8(copied), String::from_utf8(rebuilt));
        }
    }

    #[test]
    fn an_origin_form_request_line_is_copied_only_when_it_is_what_would_be_written() {
        for (raw, copied) in [
            (&b"GET /a?b HTTP/1.1\r\n\r\n"[..], true),
            (b"GET / HTTP/1.0\r\nHost: h\r\n\r\n", true),
            (b"GET http://h/a HTTP/1.1\r\n\r\n", false),
            (b"GET /a#f HTTP/1.1\r\n\r\n", true),
            (b"GET /a HTTP/1.1\n\n", false),
        ] {
            let head = http::parse_request(raw, &Default::default())
                .unwrap()
                .unwrap();
            let target = http::split_target(head.target.of(raw));
            let line = unchanged_request_line(raw, &head, &target);
            assert_eq!(line.is_some(), copied, "{}", String::from_utf8_lossy(raw));
            let mut rebuilt = Vec::new();
            let m = head.method_span.of(raw);
            encode::request_line(&mut rebuilt, m, target.path, target.query, head.version);
            if let Some(line) = line {
                assert_eq!(&raw[line], &rebuilt[..]);
            }
        }
    }

    #[test]
    fn a_target_split_elsewhere_is_never_taken_for_the_raw_one() {
        let raw = b"GET /ab HTTP/1.1\r\n\r\n";
        let head = http::parse_request(raw, &Default::default())
            .unwrap()
            .unwrap();
        let copy = b"/ab".to_vec();
        let elsewhere = http::split_target(&copy);
        assert_eq!(unchanged_request_line(raw, &head, &elsewhere), None);
    }

    fn line() -> impl Strategy<Value = String> {
        // Names, separators and line ends of every shape the parser takes.
        (
            "[A-Za-z-]{1,6}",
            prop::sample::select(vec![":", ": ", ":  ", ":\t"]),
            "[ -~]{0,8}",
            prop::sample::select(vec!["\r\n", "\n"]),
        )
            .prop_map(|(n, sep, v, end)| format!("{n}{sep}{v}{end}"))
    }

    proptest! {
        #[test]
        fn runs_write_what_encode_header_writes(
            lines in prop::collection::vec(line(), 0..12),
            kept in any::<u16>(),
            target in "/[!-~]{0,12}",
            version in prop::sample::select(vec!["HTTP/1.1", "HTTP/1.0"]),
            end in prop::sample::select(vec!["\r\n", "\n"]),
        ) {
            let raw = format!("GET {target} {version}{end}{}\r\n", lines.concat());
            let (copied, rebuilt) = both_ways(raw.as_bytes(), |i| kept & (1 << (i % 16)) != 0);
            prop_assert_eq!(String::from_utf8(copied), String::from_utf8(rebuilt));
            if let Ok(Some(head)) = http::parse_request(raw.as_bytes(), &Default::default()) {
                let t = http::split_target(head.target.of(raw.as_bytes()));
                let mut rebuilt = Vec::new();
                encode::request_line(&mut rebuilt, head.method_span.of(raw.as_bytes()), t.path, t.query, head.version);
                if let Some(line) = unchanged_request_line(raw.as_bytes(), &head, &t) {
                    prop_assert_eq!(&raw.as_bytes()[line], &rebuilt[..]);
                }
            }
        }
    }
}
