//! Vetting a request head before any byte of it goes to a target (DESIGN.md §3 steps 2–5).
//!
//! httparse reads the head first; a head it refuses as malformed is read again by the desync
//! tokenizer, which splits lines the way ALB's classifier does, so every head gets a tier and
//! a reason. The mitigation mode decides whether it goes on. What goes on is rebuilt from its
//! parts, never copied: the request line in origin-form, the end-to-end headers minus the
//! classifier's Bad ones and every framing header or lookalike, then Host, X-Forwarded-* and one
//! framing header written by ringway. So the target and ringway always agree on where the body
//! ends, whatever the client sent.

use std::net::SocketAddr;

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

/// Writes the head the target receives (see the module comment). `Err` for more than 30
/// addresses in X-Forwarded-For (463), and for a control byte in Host or X-Forwarded-For (400),
/// which the classifier has already refused unless the mode is monitor.
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
    encode::request_line(
        out,
        head.method_span.of(buf),
        target.path,
        target.query,
        head.version,
    );
    let marks = w.marks.borrow();
    let mut host = None;
    let mut had_content_length = false;
    let end_to_end = EndToEnd::new(buf, &head.headers, fwd.upgrade);
    for (h, mark) in head.headers.iter().zip(marks.iter()) {
        if mark.framing {
            had_content_length |= h.known == Known::ContentLength;
            continue;
        }
        if h.known == Known::Host {
            host.get_or_insert(h.value.of(buf));
            continue;
        }
        let drop = mark.tier == HeaderTier::Bad
            || (attrs.drop_invalid_header_fields && mark.invalid_name)
            || h.known == Known::Expect
            || forward::is_forwarding_header(h.known);
        if !drop && end_to_end.keeps(h) {
            encode::header(out, h.name.of(buf), h.value.of(buf));
        }
    }
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
    let incoming_xff = http::known_values(buf, &head.headers, Known::XForwardedFor);
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

/// Tier names for the log, with the action taken.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::Forward => "forward",
        Action::ForwardThenClose => "forward-then-close",
        Action::Block => "block",
    }
}
