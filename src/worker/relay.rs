//! One exchange on one target connection: send the request (streaming the rest of its body from
//! the client), read the response head, relay the response body, and put the connection back
//! in the pool when both sides framed their messages so that it can carry another.

use std::time::Instant;

use monoio::net::TcpStream;

use crate::error::Cause;
use crate::http::{self, encode, BodyFraming, Known, ResponseHead, Version};

use super::body::BodyTracker;
use super::conn::{copy_end_to_end_headers, Exchange, Next, RequestPlan};
use super::group::TargetRef;
use super::io::{read_append, write_all, write_range, ReadError};
use super::state::{Worker, STREAM_BUF};
use super::upstream::Upstream;

/// How an exchange ended.
pub enum Relayed {
    /// The response went to the client (or the client went away).
    Done(Next),
    /// A reused connection failed before any response byte; the request may go again on a
    /// fresh connection.
    RetryFresh,
    /// Nothing reached the client yet; it gets the synthetic response for the error.
    Failed(Cause),
}

const INTERIM_CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// How long a target that stopped taking a request body gets to show its answer, in ticks (ms).
const EARLY_ANSWER_WAIT_MS: u64 = 1000;

pub async fn relay_response(
    ctx: &Exchange<'_>,
    client: &mut TcpStream,
    mut upstream: Upstream,
    req: &mut RequestPlan,
    rbuf: &mut Vec<u8>,
    target: TargetRef,
    may_retry: bool,
) -> Relayed {
    let w = ctx.w;
    let ct = ctx.ct;
    let failed = Relayed::Failed;

    let (res, out) = write_all(
        &mut upstream.stream,
        std::mem::take(&mut req.out),
        &upstream.timer,
    )
    .await;
    req.out = out;
    ctx.clock.note(|l| l.sent_to_target = Some(Instant::now()));
    match res {
        Ok(()) => {}
        // A target that took nothing for the idle timeout is no stale pooled connection: no
        // retry (and the head did not come back).
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            return failed(Cause::ResponseTimeout);
        }
        // A failed write completed: the head came back for the retry.
        Err(_) if may_retry => return Relayed::RetryFresh,
        Err(_) => return failed(Cause::InvalidResponse),
    }
    // The target stopped taking the body: it may have answered early (a 413, a 401) and
    // closed. Its answer, if there is one, goes to the client, and both connections close.
    let mut answered_early = false;
    if req.body_pending() {
        if req.expect_continue && ctx.client_version == Version::Http11 {
            let (res, _) = write_all(client, INTERIM_CONTINUE.to_vec(), ct).await;
            if res.is_err() {
                return Relayed::Done(Next::Gone);
            }
        }
        match stream_request_body(ctx, client, &mut upstream, req, rbuf).await {
            BodyEnd::Complete => {}
            BodyEnd::ClientGone => return Relayed::Done(Next::Gone),
            BodyEnd::ClientError(cause) => {
                let next = super::conn::reply_error(w, client, ctx.clock, cause, true).await;
                return Relayed::Done(next);
            }
            BodyEnd::TargetError => {
                // Its answer, if any, is already on the way: a short wait for it, even when
                // the write failed because the idle timer fired.
                answered_early = true;
                upstream
                    .timer
                    .set(upstream.timer.now() + EARLY_ANSWER_WAIT_MS);
            }
        }
    }

    let mut ubuf = w.take_buf();
    let head = match read_response_head(w, ctx, client, &mut upstream, &mut ubuf).await {
        Ok(head) => head,
        Err(e) => {
            w.give_buf(ubuf);
            return match e {
                HeadError::NothingReceived if may_retry => Relayed::RetryFresh,
                HeadError::NothingReceived | HeadError::Invalid => failed(Cause::InvalidResponse),
                HeadError::TimedOut => failed(Cause::ResponseTimeout),
                HeadError::ClientGone => Relayed::Done(Next::Gone),
            };
        }
    };
    w.stats
        .count_response(ctx.clock.listener, Some(ctx.group), head.status);
    ctx.clock.note(|l| {
        l.response_head = Some(Instant::now());
        l.target_status = Some(head.status);
        l.elb_status = Some(head.status);
    });
    // The client waited for this without a byte either way: its idle time starts now.
    ct.touch();

    if head.status == 101 {
        if !ctx.upgrade {
            w.give_buf(ubuf);
            return failed(Cause::InvalidResponse);
        }
        let mut out = std::mem::take(&mut req.out);
        out.clear();
        encode_response_head(
            &mut out,
            &ubuf,
            &head,
            BodyFraming::None,
            ResponseConn::Upgrade,
        );
        out.extend_from_slice(&ubuf[head.len..]);
        w.give_buf(ubuf);
        let (res, out) = write_all(client, out, ct).await;
        w.give_buf(out);
        if res.is_err() {
            return Relayed::Done(Next::Gone);
        }
        return Relayed::Done(Next::Tunnel(upstream.stream));
    }

    let framing = match http::response_framing(&ubuf, &head, ctx.method) {
        Ok(f) => f,
        Err(_) => {
            w.give_buf(ubuf);
            return failed(Cause::InvalidResponse);
        }
    };
    let target_keep_alive = {
        let opts = http::connection_options(&ubuf, head.version, &head.headers);
        match head.version {
            Version::Http11 => !opts.close,
            Version::Http10 => opts.keep_alive && !opts.close,
        }
    };
    // RFC 9112 §6.1: an HTTP/1.0 client cannot read chunked coding. It gets the chunk data,
    // delimited by the close, as nginx and HAProxy do; the trailers are dropped.
    let client_framing = match (framing, ctx.client_version) {
        (BodyFraming::Chunked, Version::Http10) => BodyFraming::CloseDelimited,
        _ => framing,
    };
    // A worker that began stopping, or a listener a reload removed, while this request was in
    // flight closes after it.
    let client_close = !ctx.client_keep_alive
        || client_framing == BodyFraming::CloseDelimited
        || w.closing(ctx.clock.listener)
        || answered_early;
    let conn = match (client_close, ctx.client_version) {
        (true, _) => ResponseConn::Close,
        (false, Version::Http10) => ResponseConn::KeepAlive10,
        (false, Version::Http11) => ResponseConn::Default,
    };

    let mut body = if client_framing == framing {
        BodyTracker::new(framing)
    } else {
        BodyTracker::dechunking()
    };
    let avail = &mut ubuf[head.len..];
    let fed = match body.relay(avail) {
        Ok(fed) => fed,
        Err(()) => {
            w.give_buf(ubuf);
            return failed(Cause::InvalidResponse);
        }
    };
    // Bytes after the end of the response mean the target does not frame as we think it does.
    let mut clean = fed.consumed == avail.len();
    // A head that goes out as it came is written straight from the read buffer with the body
    // bytes behind it; any other is written anew, with those bytes copied after it.
    let (res, sent, buf) = if passes_unchanged(&ubuf, &head, client_framing, conn) {
        let end = head.len + fed.forward;
        let (res, buf) = write_range(client, ubuf, 0, end, ct).await;
        ubuf = buf;
        (res, end, None)
    } else {
        let mut out = std::mem::take(&mut req.out);
        out.clear();
        encode_response_head(&mut out, &ubuf, &head, client_framing, conn);
        out.extend_from_slice(&ubuf[head.len..head.len + fed.forward]);
        let sent = out.len();
        let (res, out) = write_all(client, out, ct).await;
        (res, sent, Some(out))
    };
    ctx.clock.note(|l| l.sent += sent as u64);
    if let Some(out) = buf {
        w.give_buf(out);
    }
    if res.is_err() {
        w.give_buf(ubuf);
        return Relayed::Done(Next::Gone);
    }
    if !body.done {
        match stream_response_body(ctx, client, &mut upstream, &mut body, ubuf).await {
            Ok(extra) => clean &= !extra,
            Err(()) => return Relayed::Done(Next::Gone),
        }
    } else {
        w.give_buf(ubuf);
    }
    let group = ctx.group_state;
    // A target that is draining, or has left the group meanwhile, keeps no idle connection.
    let index = group
        .current(target)
        .filter(|&i| !group.avail.borrow().state(i).draining);
    if let (true, Some(i)) = (
        clean
            && ctx.reuse_target
            && target_keep_alive
            && !answered_early
            && framing != BodyFraming::CloseDelimited,
        index,
    ) {
        group.pool.borrow_mut().put(i, upstream);
    }
    let next = if client_close {
        Next::Close
    } else {
        Next::KeepAlive
    };
    Relayed::Done(next)
}

enum BodyEnd {
    Complete,
    ClientGone,
    ClientError(Cause),
    TargetError,
}

/// Streams the rest of a request body from the client to the target. Bytes after its end (the
/// next pipelined request) are left in `rbuf`.
async fn stream_request_body(
    ctx: &Exchange<'_>,
    client: &mut TcpStream,
    upstream: &mut Upstream,
    req: &mut RequestPlan,
    rbuf: &mut Vec<u8>,
) -> BodyEnd {
    let (w, ct) = (ctx.w, ctx.ct);
    let mut sbuf = w.take_buf();
    let end = loop {
        sbuf.clear();
        let (res, buf) = read_append(client, sbuf, STREAM_BUF, ct).await;
        sbuf = buf;
        match res {
            Ok(0) | Err(_) => break BodyEnd::ClientGone,
            Ok(_) => {}
        }
        let Ok(take) = req.body.feed(&sbuf) else {
            break BodyEnd::ClientError(Cause::BadRequest);
        };
        ctx.clock.note(|l| l.received += take as u64);
        let (res, buf) = write_range(&mut upstream.stream, sbuf, 0, take, &upstream.timer).await;
        sbuf = buf;
        if res.is_err() {
            break BodyEnd::TargetError;
        }
        if req.body.done {
            rbuf.extend_from_slice(&sbuf[take..]);
            break BodyEnd::Complete;
        }
    };
    w.give_buf(sbuf);
    end
}

enum HeadError {
    /// The connection closed or reset before any response byte.
    NothingReceived,
    Invalid,
    TimedOut,
    ClientGone,
}

/// Reads the final response head into `ubuf`, passing interim 1xx responses (other than 100,
/// which ringway already answered itself, and 101) on to HTTP/1.1 clients.
async fn read_response_head(
    w: &Worker,
    ctx: &Exchange<'_>,
    client: &mut TcpStream,
    upstream: &mut Upstream,
    ubuf: &mut Vec<u8>,
) -> Result<ResponseHead, HeadError> {
    let mut received_any = false;
    loop {
        if !ubuf.is_empty() {
            match http::parse_response(ubuf, &w.limits) {
                Ok(Some(head)) if (100..200).contains(&head.status) && head.status != 101 => {
                    if head.status != 100 && ctx.client_version == Version::Http11 {
                        let interim = ubuf[..head.len].to_vec();
                        ctx.ct.touch();
                        if write_all(client, interim, ctx.ct).await.0.is_err() {
                            return Err(HeadError::ClientGone);
                        }
                    }
                    ubuf.drain(..head.len);
                    continue;
                }
                Ok(Some(head)) => return Ok(head),
                Ok(None) => {}
                Err(_) => return Err(HeadError::Invalid),
            }
        }
        let (res, buf) = read_append(
            &mut upstream.stream,
            std::mem::take(ubuf),
            4096,
            &upstream.timer,
        )
        .await;
        *ubuf = buf;
        match res {
            Ok(0) | Err(ReadError::Io) if !received_any => return Err(HeadError::NothingReceived),
            Ok(0) | Err(ReadError::Io) => return Err(HeadError::Invalid),
            Err(ReadError::TimedOut) => return Err(HeadError::TimedOut),
            Ok(_) => received_any = true,
        }
    }
}

/// Relays the rest of a response body. `Ok(extra)` when it ended well (`extra`: the target
/// sent bytes past the end); `Err` when the client connection must close.
async fn stream_response_body(
    ctx: &Exchange<'_>,
    client: &mut TcpStream,
    upstream: &mut Upstream,
    body: &mut BodyTracker,
    mut ubuf: Vec<u8>,
) -> Result<bool, ()> {
    let w = ctx.w;
    let result = loop {
        ubuf.clear();
        let (res, buf) = read_append(&mut upstream.stream, ubuf, STREAM_BUF, &upstream.timer).await;
        ubuf = buf;
        match res {
            Ok(0) if body.framing == BodyFraming::CloseDelimited => break Ok(false),
            // Closed, reset or silent in the middle of a body: the client cannot get a whole
            // response, so its connection closes too.
            Ok(0) | Err(_) => break Err(()),
            Ok(_) => {}
        }
        let Ok(fed) = body.relay(&mut ubuf) else {
            break Err(());
        };
        let (res, buf) = write_range(client, ubuf, 0, fed.forward, ctx.ct).await;
        ctx.clock.note(|l| l.sent += fed.forward as u64);
        ubuf = buf;
        if res.is_err() {
            break Err(());
        }
        if body.done {
            break Ok(fed.consumed < ubuf.len());
        }
    };
    w.give_buf(ubuf);
    result
}

/// The Connection header of a response to the client.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ResponseConn {
    /// HTTP/1.1 keep-alive: no header needed.
    Default,
    /// An HTTP/1.0 client that asked for keep-alive.
    KeepAlive10,
    Close,
    /// A 101 response: the Upgrade header stays and Connection says upgrade.
    Upgrade,
}

/// True when the head the client receives is the target's as it came (the common case): what
/// `encode_response_head` would write differs at most in field order and spacing.
fn passes_unchanged(
    buf: &[u8],
    head: &ResponseHead,
    framing: BodyFraming,
    conn: ResponseConn,
) -> bool {
    match (framing, conn) {
        (BodyFraming::ContentLength(n), ResponseConn::Default) => {
            encode::unchanged_response_head(buf, head, n).is_some()
        }
        _ => false,
    }
}

/// Writes the head the client receives: status line as HTTP/1.1, hop-by-hop headers removed,
/// framing normalised for bodies ringway delimits itself.
fn encode_response_head(
    out: &mut Vec<u8>,
    buf: &[u8],
    head: &ResponseHead,
    framing: BodyFraming,
    conn: ResponseConn,
) {
    encode::status_line(out, Version::Http11, head.status, head.reason.of(buf));
    // Without a body of its own (HEAD, 204, 304) a response keeps its metadata headers.
    let renormalise = !matches!(framing, BodyFraming::None);
    let upgrade = conn == ResponseConn::Upgrade;
    copy_end_to_end_headers(out, buf, &head.headers, upgrade, |h| {
        renormalise && matches!(h.known, Known::ContentLength | Known::TransferEncoding)
    });
    match framing {
        BodyFraming::ContentLength(n) => encode::content_length(out, n),
        BodyFraming::Chunked => encode::header(out, b"Transfer-Encoding", b"chunked"),
        _ => {}
    }
    match conn {
        ResponseConn::Default => {}
        ResponseConn::KeepAlive10 => encode::header(out, b"Connection", b"keep-alive"),
        ResponseConn::Close => encode::header(out, b"Connection", b"close"),
        ResponseConn::Upgrade => encode::header(out, b"Connection", b"upgrade"),
    }
    encode::end_head(out);
}
