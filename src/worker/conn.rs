//! One client connection: read a head, route it, forward it to a target over a pooled
//! connection, relay the response, repeat. Requests are answered in order, pipelined ones from
//! the bytes already buffered. Memory is bounded: a head is at most 64 KiB and bodies move
//! through one `STREAM_BUF` at a time.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use monoio::io::AsyncWriteRent;
use monoio::net::TcpStream;

use crate::balance::PickContext;
use crate::error::{synthetic_response, Cause};
use crate::forward;
use crate::http::{
    self, connection_options, encode, BodyFraming, Header, Known, Method, ParseError, RequestHead,
    Version,
};

use super::request::{encode_request_head, parse_head, vet, Forwarding, ReadHead, Vetted};

use super::body::BodyTracker;
use super::group::{GroupState, TargetRef};
use super::io::{has_unread_bytes, read_append, read_append_keep, write_all, ReadError};
use super::logwriter::RequestLog;
use super::relay::{relay_response, Relayed};
use super::state::{bump, Worker};
use super::timers::{ticks, Timer, Timers};
use super::tunnel::tunnel;
use super::upstream::{connect, Upstream};

/// A new connection's read buffer; it grows on demand up to the head limit.
const INITIAL_READ_BUF: usize = 4 * 1024;
/// A read buffer larger than this is given back once the connection goes idle.
const IDLE_READ_BUF_MAX: usize = 16 * 1024;
/// A connection with no request for this long gives its read buffer back and waits for
/// readiness without one (as nginx does at once): 10,000 idle keep-alive clients then cost no
/// read buffers. Shorter would add a poll to every keep-alive request under load.
const PARK_AFTER: Duration = Duration::from_secs(1);

/// Longest a closing connection keeps reading what the client still sends (see `linger`).
const LINGER: Duration = Duration::from_secs(2);
/// Most bytes a closing connection reads and discards.
const LINGER_MAX_BYTES: usize = 1024 * 1024;

/// What happens to the client connection after a request.
pub enum Next {
    KeepAlive,
    /// A final response went out: close without losing it (`linger`).
    Close,
    /// The client left or idled out: nothing to protect, close at once.
    Gone,
    /// No request for `PARK_AFTER`: wait without a read buffer until this idle deadline.
    Park(u64),
    /// The target switched protocols: bytes now flow both ways through this connection.
    Tunnel(TcpStream),
}

/// The client side's clocks: the timer its I/O runs under (idle timeout, header timeout,
/// linger), and when its keep-alive duration ends.
pub struct ClientClock {
    pub timer: Timer,
    /// The listener the connection came in on, and the target group of its current request
    /// once routed (the labels of `ringway_requests_total`).
    pub listener: usize,
    pub group: Cell<Option<usize>>,
    /// The current request's access-log record, when the log is on.
    pub log: RefCell<Option<Box<RequestLog>>>,
    /// `client_keep_alive` as the connection got it when it opened, in ticks.
    keep_alive: u64,
    /// The tick the keep-alive duration ends; `u64::MAX` until the first byte arrives.
    keep_alive_until: Cell<u64>,
}

impl ClientClock {
    fn new(w: &Worker, listener: usize) -> Self {
        let attrs = w.attrs();
        // A new connection's first head is due within the header timeout of its opening (as
        // nginx's client_header_timeout): one that never sends a byte is closed then, without
        // an answer, rather than held for the idle timeout. Its first bytes move the deadline
        // on (`read_head`); between requests the idle timeout rules.
        let first_head = attrs.idle_timeout.min(attrs.client_header_timeout);
        ClientClock {
            timer: w.timers.timer(first_head, attrs.idle_timeout),
            listener,
            group: Cell::new(None),
            log: RefCell::new(None),
            keep_alive: ticks(attrs.client_keep_alive),
            keep_alive_until: Cell::new(u64::MAX),
        }
    }

    /// Notes something in the current request's log record, if there is one.
    #[inline]
    pub fn note(&self, f: impl FnOnce(&mut RequestLog)) {
        if let Some(record) = self.log.borrow_mut().as_mut() {
            f(record);
        }
    }

    /// Writes the finished request's line.
    fn emit(&self, w: &Worker, peer: SocketAddr) {
        if let (Some(log), Some(mut record)) = (&w.log, self.log.borrow_mut().take()) {
            record.finished.get_or_insert_with(Instant::now);
            let listener = w.listener_addr(self.listener);
            log.push(&record.entry(peer, listener));
        }
    }

    /// Bytes arrived: the keep-alive duration counts from the first of them.
    fn arrived(&self) {
        if self.keep_alive_until.get() == u64::MAX {
            let start = self.timer.now();
            self.keep_alive_until
                .set(start.saturating_add(self.keep_alive));
        }
    }

    /// True once the keep-alive duration has passed: the next response closes the connection.
    fn keep_alive_over(&self) -> bool {
        self.timer.now() >= self.keep_alive_until.get()
    }
}

/// Serves one accepted client connection until it closes: the task to spawn for it.
pub fn serve_client(
    w: Rc<Worker>,
    listener: usize,
    mut client: TcpStream,
    peer: SocketAddr,
) -> impl Future<Output = ()> {
    let _ = client.set_nodelay(true);
    // Past the first request, a client connection is read after a response was written to
    // it, when the next request cannot be there yet: the kernel waits for it before trying
    // (vendor/monoio patch 3). The first read after accept pays one poll arm for that.
    client.set_recv_poll_first(true);
    bump(&w.stats.new_connections);
    w.stats
        .active_connections
        .set(w.stats.active_connections.get() + 1);
    let clock = ClientClock::new(&w, listener);
    serve(w, client, clock, peer)
}

/// Serves requests on a connection until it closes or parks. A parked connection continues in
/// a task of its own ([`park`]), and from there in a new one of these when the client sends.
/// An `async` block, as `park`.
#[allow(clippy::manual_async_fn)]
fn serve(
    w: Rc<Worker>,
    mut client: TcpStream,
    clock: ClientClock,
    peer: SocketAddr,
) -> impl Future<Output = ()> {
    async move {
        let listener = clock.listener;
        let mut rbuf = Vec::with_capacity(INITIAL_READ_BUF);
        loop {
            let next = serve_request(&w, listener, &mut client, &clock, &mut rbuf, peer).await;
            clock.emit(&w, peer);
            match next {
                Next::KeepAlive => {}
                Next::Park(idle_at) => {
                    monoio::spawn(park(w, client, clock, peer, idle_at));
                    return;
                }
                Next::Close => {
                    Box::pin(linger(&mut client, &clock.timer, std::mem::take(&mut rbuf))).await;
                    break;
                }
                Next::Gone => break,
                Next::Tunnel(upstream) => {
                    Box::pin(tunnel(client, upstream, rbuf, &clock.timer)).await;
                    break;
                }
            }
            if rbuf.is_empty() && rbuf.capacity() > IDLE_READ_BUF_MAX {
                rbuf = Vec::with_capacity(INITIAL_READ_BUF);
            }
        }
        w.stats
            .active_connections
            .set(w.stats.active_connections.get() - 1);
    }
}

/// A connection with no request for `PARK_AFTER`: its serving task has ended, read buffer and
/// all, and this small task waits for the client's next bytes or the idle deadline `idle_at`
/// (then the connection closes). Idle keep-alive connections then cost this task's few hundred
/// bytes, not the serving task's state (see the test below); the readiness wait holds no
/// buffer, so nothing waits for the kernel when it is dropped at the deadline. An `async`
/// block rather than an `async fn`, which would hold its arguments twice (as arguments and as
/// locals: 576 bytes instead of 368).
#[allow(clippy::manual_async_fn)]
fn park(
    w: Rc<Worker>,
    client: TcpStream,
    clock: ClientClock,
    peer: SocketAddr,
    idle_at: u64,
) -> impl Future<Output = ()> {
    async move {
        // The serving task's reads are over; the wait below is no cancellable operation.
        clock.timer.forget_canceller();
        clock.timer.set(idle_at);
        let ready = monoio::select! {
            r = client.readable(false) => r.is_ok(),
            _ = clock.timer.fired() => false,
            // The worker stops or a reload removed the listener: an idle connection closes
            // now (as nginx's do), unless the client's next request is already here; that
            // one is answered, with `Connection: close`.
            _ = w.closing_wait(clock.listener) => has_unread_bytes(&client),
        };
        if ready {
            monoio::spawn(serve(w, client, clock, peer));
        } else {
            w.stats
                .active_connections
                .set(w.stats.active_connections.get() - 1);
        }
    }
}

/// Closes in stages (RFC 9112 §9.6): send FIN, then read and discard what the client still
/// sends until it closes, `LINGER` passes or `LINGER_MAX_BYTES` were read. Closing at once with
/// unread bytes makes the kernel answer with a reset, and a reset can destroy the response
/// (a 400 for a blocked request, say) before the client has read it.
async fn linger(client: &mut TcpStream, timer: &Timer, mut buf: Vec<u8>) {
    if client.shutdown().await.is_err() {
        return;
    }
    let deadline = timer.now() + ticks(LINGER);
    let mut drained = 0;
    while drained < LINGER_MAX_BYTES {
        // Each read touches the timer; the deadline stays where it was.
        timer.set(deadline);
        buf.clear();
        let (res, b) = read_append(client, buf, 16 * 1024, timer).await;
        buf = b;
        match res {
            Ok(n @ 1..) => drained += n,
            _ => return,
        }
    }
}

/// Why no head came.
enum NoHead {
    /// The client left, or idled out between requests: close silently.
    Gone,
    /// Nothing for `PARK_AFTER` between requests: park until this idle deadline.
    Park(u64),
    /// The client gets this error response, and the connection closes.
    Answer(Cause),
}

/// Reads until `rbuf` holds a whole request head.
async fn read_head(
    w: &Worker,
    client: &mut TcpStream,
    clock: &ClientClock,
    rbuf: &mut Vec<u8>,
) -> Result<ReadHead, NoHead> {
    let timer = &clock.timer;
    // Set when a head is first seen incomplete: the whole head must arrive within
    // client_header_timeout of that, however slowly its bytes trickle (slowloris). Between
    // requests the timer stands at the idle timeout from the last transfer.
    let mut header_deadline: Option<u64> = None;
    // Between requests: the idle deadline, and whether the connection may park before it.
    let mut idle_at: Option<u64> = None;
    loop {
        if rbuf.is_empty() {
            let Some(at) = timer.deadline() else {
                return Err(NoHead::Gone);
            };
            let park_at = timer.now() + ticks(PARK_AFTER);
            if park_at < at {
                idle_at = Some(at);
                timer.set(park_at);
            }
        } else {
            match parse_head(w, rbuf) {
                Ok(Some(head)) => return Ok(head),
                Ok(None) => {}
                Err(e) => return Err(NoHead::Answer(parse_cause(e))),
            }
            let at = *header_deadline
                .get_or_insert_with(|| timer.now() + ticks(w.attrs().client_header_timeout));
            if timer.deadline().is_some_and(|d| d > at) {
                timer.set(at);
            }
        }
        // Between requests a timeout may only mean parking: no byte may be lost to it.
        let (res, buf) = read_append_keep(client, std::mem::take(rbuf), 2048, timer).await;
        *rbuf = buf;
        match res {
            Ok(0) | Err(ReadError::Io) => return Err(NoHead::Gone),
            Ok(_) => clock.arrived(),
            Err(ReadError::TimedOut) if rbuf.is_empty() => match idle_at {
                Some(at) if timer.now() < at => return Err(NoHead::Park(at)),
                _ => return Err(NoHead::Gone),
            },
            Err(ReadError::TimedOut) => return Err(NoHead::Answer(Cause::HeaderTimeout)),
        }
    }
}

fn parse_cause(e: ParseError) -> Cause {
    match e {
        ParseError::UriTooLong => Cause::UriTooLong,
        ParseError::HeadersTooLarge => Cause::HeadersTooLarge,
        ParseError::VersionNotSupported => Cause::VersionNotSupported,
        ParseError::Malformed(_) => Cause::BadRequest,
    }
}

/// Answers the client with the synthetic response for `cause`.
pub async fn reply_error(
    w: &Worker,
    client: &mut TcpStream,
    clock: &ClientClock,
    cause: Cause,
    close: bool,
) -> Next {
    let timer = &clock.timer;
    let style = w.attrs().upstream_error_style;
    w.stats.count_error(cause, style);
    w.stats
        .count_response(clock.listener, clock.group.get(), cause.status(style));
    clock.note(|l| {
        l.elb_status = Some(cause.status(style));
        l.error_cause = Some(cause.name());
    });
    let mut out = Vec::with_capacity(256);
    synthetic_response(&mut out, cause, style, close);
    // The client may have waited longer than the idle timeout for this answer (a target
    // that never answered): its own deadline starts again now.
    timer.touch();
    let sent = out.len() as u64;
    let (res, _) = write_all(client, out, timer).await;
    clock.note(|l| l.sent += sent);
    if close || res.is_err() {
        Next::Close
    } else {
        Next::KeepAlive
    }
}

/// One request, from its head to the end of its response.
async fn serve_request(
    w: &Worker,
    listener: usize,
    client: &mut TcpStream,
    clock: &ClientClock,
    rbuf: &mut Vec<u8>,
    peer: SocketAddr,
) -> Next {
    let read = match read_head(w, client, clock, rbuf).await {
        Ok(read) => read,
        Err(NoHead::Gone) => return Next::Gone,
        Err(NoHead::Park(idle_at)) => return Next::Park(idle_at),
        Err(NoHead::Answer(cause)) => {
            if w.log.is_some() {
                *clock.log.borrow_mut() = Some(Box::new(RequestLog::begin(rbuf, rbuf.len())));
            }
            return Box::pin(reply_error(w, client, clock, cause, true)).await;
        }
    };
    handle_request(w, listener, client, clock, rbuf, peer, read).await
}

/// A request whose head has arrived, from vetting it to the end of its response.
async fn handle_request(
    w: &Worker,
    listener: usize,
    client: &mut TcpStream,
    clock: &ClientClock,
    rbuf: &mut Vec<u8>,
    peer: SocketAddr,
    read: ReadHead,
) -> Next {
    let (mut req, route) = match prepare(w, listener, clock, rbuf, peer, read) {
        Ok(prepared) => prepared,
        // Refused before any byte went to a target: the connection closes, since the bytes
        // after the head cannot be trusted or the body was not read.
        Err(cause) => return reply_error(w, client, clock, cause, true).await,
    };
    let ctx = Exchange {
        w,
        ct: &clock.timer,
        clock,
        group: route.group,
        group_state: &route.state,
        first: route.first,
        method: route.method,
        client_version: route.client_version,
        client_keep_alive: route.client_keep_alive,
        upgrade: route.upgrade,
        reuse_target: route.reuse_target,
    };
    // Every failure that reaches the client leaves through one reply.
    let outcome = try_targets(&ctx, client, &mut req, rbuf).await;
    w.give_buf(std::mem::take(&mut req.out));
    match outcome {
        Ok(next) => next,
        Err(cause) => {
            // The connection closes when the request body was not consumed.
            let close = req.body_pending() || !ctx.client_keep_alive;
            reply_error(w, client, ctx.clock, cause, close).await
        }
    }
}

/// Where a vetted request goes and how its connections behave after it.
struct Route {
    group: usize,
    /// The group at slot `group`, held for the whole exchange.
    state: Rc<GroupState>,
    first: Option<TargetRef>,
    method: Method,
    client_version: Version,
    client_keep_alive: bool,
    upgrade: bool,
    reuse_target: bool,
}

/// Everything between a head's arrival and its first byte to a target, none of which waits:
/// vetting, routing, the first pick and the head the target receives. Out of line, so the
/// request's state machine, resumed at every completion, stays small. `Err` is the answer the
/// client gets instead, after which its connection closes.
#[inline(never)]
fn prepare(
    w: &Worker,
    listener: usize,
    clock: &ClientClock,
    rbuf: &mut Vec<u8>,
    peer: SocketAddr,
    read: ReadHead,
) -> Result<(RequestPlan, Route), Cause> {
    clock.group.set(None);
    if w.log.is_some() {
        *clock.log.borrow_mut() = Some(Box::new(RequestLog::begin(rbuf, read.len())));
    }
    // The idle timeout in force now counts from this request's next transfer on.
    clock.timer.set_idle(w.attrs().idle_timeout);
    bump(&w.stats.requests);
    // Blocked, unframeable and unwritable requests get 400 and the connection closes
    // (RFC 9112 §6.3 rules 4-5, DESIGN.md §3): the bytes after them cannot be trusted.
    let Vetted {
        head,
        framing,
        close_after,
    } = match vet(w, rbuf, read, peer) {
        Ok(v) => {
            clock.note(|l| {
                (l.classification, l.classification_reason) = w.last_verdict.get();
                l.user_agent =
                    http::header_value(rbuf, &v.head.headers, b"user-agent").map(<[u8]>::to_vec);
            });
            v
        }
        Err(cause) => {
            clock.note(|l| (l.classification, l.classification_reason) = w.last_verdict.get());
            return Err(cause);
        }
    };
    if head.method == Method::Connect {
        // A reverse proxy has no authority to tunnel to; RFC 9110 §9.3.6 leaves it to us.
        return Err(Cause::BadRequest);
    }
    let opts = connection_options(rbuf, head.version, &head.headers);
    // Past the keep-alive duration this response is the connection's last (DESIGN.md §4).
    let client_keep_alive = !close_after
        && !clock.keep_alive_over()
        && !w.closing(listener)
        && match head.version {
            Version::Http11 => !opts.close,
            Version::Http10 => opts.keep_alive && !opts.close,
        };

    // One reading of the request-target serves routing and the forwarded head alike.
    let target = http::split_target(head.target.of(rbuf));
    let host = forward::routing_host(http::known_value(rbuf, &head.headers, Known::Host), &target);
    let group = w.route(listener, host, target.path);
    clock.group.set(Some(group));
    // The request holds its group to its end, whatever a reload does meanwhile. A group is
    // only removed after the routers stop naming it, so this is not expected to miss.
    let Some(g) = w.group(group) else {
        return Err(Cause::NoTarget);
    };
    // The first choice is made here, while the head's bytes are at hand for a hashed header.
    let first = {
        let selector = &mut *g.selector.borrow_mut();
        let header = selector
            .hash_header()
            .and_then(|name| http::header_value(rbuf, &head.headers, name.as_bytes()));
        let pick = PickContext::new(peer.ip()).with_header(header);
        let first = selector.pick(&pick, &g.avail.borrow());
        first.map(|i| g.target_ref(i))
    };

    let fwd = Forwarding {
        target,
        peer,
        listener_port: w.listener_port(listener),
        upgrade: opts.upgrade,
        close: close_after,
    };
    let mut req = match RequestPlan::new(w, rbuf, &head, framing, &fwd, opts.expect_continue) {
        Ok(req) => req,
        Err(cause) => {
            // The body was not read: the connection cannot carry another request.
            return Err(cause);
        }
    };
    // Everything of the request that is already here moves into the upstream buffer; what is
    // left in rbuf is the next pipelined request.
    let Ok(body_done) = req.take_buffered_body(&rbuf[head.len..]) else {
        // A malformed chunked body, seen before any byte went to a target: 400, and the
        // connection closes since where the body ends is unknown (RFC 9112 §6.3).
        w.give_buf(std::mem::take(&mut req.out));
        return Err(Cause::BadRequest);
    };
    let consumed = head.len + req.body_taken;
    if body_done {
        rbuf.drain(..consumed);
    } else {
        rbuf.clear();
    }
    let route = Route {
        group,
        state: g,
        first,
        method: head.method,
        client_version: head.version,
        client_keep_alive,
        upgrade: opts.upgrade,
        reuse_target: !close_after,
    };
    Ok((req, route))
}

/// The upstream side of one request: its head and first body bytes, encoded, and how much
/// body is still to come from the client.
pub struct RequestPlan {
    /// The head as the target will see it, followed by the body bytes already received.
    pub out: Vec<u8>,
    /// Where the body ends, as it streams from the client.
    pub body: BodyTracker,
    /// Bytes of the client's buffer that belonged to the body.
    pub body_taken: usize,
    pub expect_continue: bool,
}

impl RequestPlan {
    fn new(
        w: &Worker,
        buf: &[u8],
        head: &RequestHead,
        framing: BodyFraming,
        fwd: &Forwarding<'_>,
        expect_continue: bool,
    ) -> Result<Self, Cause> {
        let mut out = w.take_buf();
        if let Err(cause) = encode_request_head(w, &mut out, buf, head, framing, fwd) {
            w.give_buf(out);
            return Err(cause);
        }
        Ok(RequestPlan {
            out,
            body: BodyTracker::new(framing),
            body_taken: 0,
            expect_continue,
        })
    }

    /// Copies the body bytes found in `avail` to `out`; true when the whole body is there.
    /// `Err` when the bytes already here break the chunked framing.
    fn take_buffered_body(&mut self, avail: &[u8]) -> Result<bool, ()> {
        let n = self.body.feed(avail)?;
        self.out.extend_from_slice(&avail[..n]);
        self.body_taken = n;
        Ok(self.body.done)
    }

    /// True while body bytes are still expected from the client.
    pub fn body_pending(&self) -> bool {
        !self.body.done
    }
}

/// Copies the end-to-end headers of a head to `out` (see [`EndToEnd`]), except those for
/// which `skip` says true (framing, which the caller writes itself).
pub fn copy_end_to_end_headers(
    out: &mut Vec<u8>,
    buf: &[u8],
    headers: &[Header],
    upgrade: bool,
    mut skip: impl FnMut(&Header) -> bool,
) {
    let end_to_end = EndToEnd::new(buf, headers, upgrade);
    for h in headers {
        if !skip(h) && end_to_end.keeps(h) {
            encode::header(out, h.name.of(buf), h.value.of(buf));
        }
    }
}

/// Which headers of a head are end-to-end: not hop-by-hop and not named by the Connection
/// header (RFC 9110 §7.6.1), except Upgrade when the connection is being upgraded.
pub struct EndToEnd<'a> {
    buf: &'a [u8],
    /// The head's headers from its first Connection header on. Most heads have none, and then
    /// this is empty and no header's name is looked for among Connection's options.
    from_connection: &'a [Header],
    upgrade: bool,
}

impl<'a> EndToEnd<'a> {
    pub fn new(buf: &'a [u8], headers: &'a [Header], upgrade: bool) -> Self {
        let first = headers
            .iter()
            .position(|h| h.known == Known::Connection)
            .unwrap_or(headers.len());
        EndToEnd {
            buf,
            from_connection: &headers[first..],
            upgrade,
        }
    }

    /// Whether `h`, one of the head's headers, goes on to the next hop.
    pub fn keeps(&self, h: &Header) -> bool {
        if h.known.is_hop_by_hop() {
            self.upgrade && h.known == Known::Upgrade
        } else {
            !self.named_by_connection(h.name.of(self.buf))
        }
    }

    /// True when a Connection header lists `name` as a connection option (RFC 9110 §7.6.1).
    /// Options are tokens, any name at all, so they are compared by their bytes.
    fn named_by_connection(&self, name: &[u8]) -> bool {
        self.from_connection.iter().any(|h| {
            h.known == Known::Connection
                && h.value
                    .of(self.buf)
                    .split(|&b| b == b',')
                    .any(|t| t.trim_ascii().eq_ignore_ascii_case(name))
        })
    }
}

/// What the exchange (`try_targets`, `relay_response`) needs to know about the request besides
/// its bytes.
pub struct Exchange<'a> {
    pub w: &'a Worker,
    /// The client's timer.
    pub ct: &'a Timer,
    pub clock: &'a ClientClock,
    pub group: usize,
    /// The group at slot `group`, held for the whole exchange.
    pub group_state: &'a GroupState,
    /// The selector's first choice; `None` when the group has no target to pick.
    pub first: Option<TargetRef>,
    pub method: Method,
    pub client_version: Version,
    pub client_keep_alive: bool,
    pub upgrade: bool,
    /// False when the target connection must close after this exchange (Ambiguous requests in
    /// defensive mode).
    pub reuse_target: bool,
}

/// Connects to `target` of `group`, counting the attempt for the target's metrics.
async fn connect_counted(
    clock: &ClientClock,
    group: &GroupState,
    target: TargetRef,
    timers: &Timers,
    idle: Duration,
) -> Result<Upstream, Cause> {
    if let Some(i) = group.current(target) {
        bump(&group.targets.borrow()[i].connects);
    }
    clock.note(|l| l.target = Some(target.addr));
    connect(target.addr, timers, idle).await
}

/// Sends the request to a target of its group and relays the response, trying the group's
/// targets in the selector's order; `Err` names the cause to answer the client with. Connect
/// failures move on to the next target (nothing was sent). When a connection fails before any
/// response byte and the whole request is still in hand, an idempotent request goes again: on
/// a fresh connection to the same target if the failed one was reused from the pool (the
/// target closed it while idle), else to the next target (this one is failing). The group's
/// target list can change at any await: targets are held as `TargetRef`s.
async fn try_targets(
    ctx: &Exchange<'_>,
    client: &mut TcpStream,
    req: &mut RequestPlan,
    rbuf: &mut Vec<u8>,
) -> Result<Next, Cause> {
    let w = ctx.w;
    let group = ctx.group_state;
    let idle = w.attrs().idle_timeout;
    let Some(first) = ctx.first else {
        return Err(Cause::NoTarget);
    };
    let mut last = Cause::ConnectRefused;
    // The retry order is worked out once, when the first target fails: most requests need
    // only the first, and a suspect mark set meanwhile must not reorder the walk.
    let mut retries: Option<std::vec::IntoIter<TargetRef>> = None;
    let mut target = first;
    'targets: loop {
        if let Some(order) = &mut retries {
            match order.next() {
                Some(next) => target = next,
                None => break 'targets,
            }
        }
        // After a reused connection failed, the next attempt skips the pool: it may hold more
        // connections the target has already closed.
        let mut skip_pool = false;
        loop {
            let pooled = match group.current(target) {
                Some(i) if !skip_pool => group.pool.borrow_mut().take(i),
                _ => None,
            };
            let reused = pooled.is_some();
            let upstream = match pooled {
                Some(s) => {
                    ctx.clock.note(|l| l.target = Some(target.addr));
                    s.timer.set_idle(idle);
                    s.timer.touch();
                    s
                }
                None => match connect_counted(ctx.clock, group, target, &w.timers, idle).await {
                    Ok(s) => {
                        bump(&w.stats.upstream_connects);
                        s
                    }
                    Err(cause) => {
                        last = cause;
                        let now = group.current(target);
                        if retries.is_none() {
                            retries = Some(retry_order(group, first).into_iter());
                        }
                        if let (Some(i), Cause::ConnectRefused | Cause::Unreachable) = (now, cause)
                        {
                            w.target_refused(group, i);
                        }
                        if cause == Cause::ConnectTimeout {
                            break 'targets;
                        }
                        continue 'targets;
                    }
                },
            };
            // Nothing of the response arrived and the whole request is still in hand: an
            // idempotent request can go again (RFC 9110 §9.2.2).
            let may_retry = ctx.method.is_idempotent() && !req.body_pending();
            let in_flight = group
                .current(target)
                .map(|i| group.selector.borrow_mut().begin(i));
            let relayed = relay_response(ctx, client, upstream, req, rbuf, target, may_retry).await;
            if let Some(request) = in_flight {
                group.selector.borrow_mut().end(request);
            }
            match relayed {
                Relayed::Done(next) => return Ok(next),
                // A reused connection the target had closed: the same target, on a fresh one.
                Relayed::RetryFresh if reused => {
                    skip_pool = true;
                }
                // A fresh connection reset or closed under the request: the target is failing
                // (killed, restarting); the next one gets the request.
                Relayed::RetryFresh => {
                    last = Cause::InvalidResponse;
                    if retries.is_none() {
                        retries = Some(retry_order(group, first).into_iter());
                    }
                    if let Some(i) = group.current(target) {
                        w.target_refused(group, i);
                    }
                    continue 'targets;
                }
                Relayed::Failed(cause) => return Err(cause),
            }
        }
    }
    Err(last)
}

/// The other eligible targets after `first` failed, as the list is now.
fn retry_order(group: &GroupState, first: TargetRef) -> Vec<TargetRef> {
    let avail = group.avail.borrow();
    let selector = group.selector.borrow();
    let order: Vec<usize> = match group.current(first) {
        Some(i) => selector.retry_order(i, &avail).collect(),
        None => avail.eligible().iter().map(|&t| t as usize).collect(),
    };
    order.into_iter().map(|i| group.target_ref(i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::runtime::{block_on, DriverChoice};

    /// A worker for the example config, outside any server.
    fn example_worker() -> Worker {
        let config =
            crate::config::Config::from_toml_str(include_str!("../config/example.toml")).unwrap();
        Worker::new(0, std::sync::Arc::new(config), vec![80])
    }

    /// Runs `test` on a runtime of the driver `auto` picks, with the example config's worker.
    fn with_worker<Fut: std::future::Future<Output = ()>>(test: impl FnOnce(Rc<Worker>) -> Fut) {
        block_on(
            DriverChoice::Auto,
            |_, _| {},
            |_| test(Rc::new(example_worker())),
        )
        .unwrap();
    }

    /// The names of the headers `EndToEnd` keeps, for a response with these fields.
    fn kept(fields: &str, upgrade: bool) -> Vec<String> {
        let buf = format!("HTTP/1.1 200 OK\r\n{fields}\r\n");
        let head = http::parse_response(buf.as_bytes(), &http::Limits::default())
            .unwrap()
            .unwrap();
        let end_to_end = EndToEnd::new(buf.as_bytes(), &head.headers, upgrade);
        head.headers
            .iter()
            .filter(|h| end_to_end.keeps(h))
            .map(|h| String::from_utf8(h.name.of(buf.as_bytes()).to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn hop_by_hop_fields_and_those_connection_names_are_not_end_to_end() {
        let fields = "X-A: 1\r\nKeep-Alive: 5\r\nUpgrade: ws\r\nX-Drop: 2\r\n\
                      connection: x-drop ,\tOther\r\nTE: trailers\r\nOTHER: 3\r\nX-B: 4\r\n";
        assert_eq!(kept(fields, false), ["X-A", "X-B"]);
        assert_eq!(kept(fields, true), ["X-A", "Upgrade", "X-B"]);
        // Without a Connection field only the hop-by-hop names go.
        assert_eq!(
            kept("X-Drop: 1\r\nProxy-Connection: a\r\nTrailer: b\r\n", false),
            ["X-Drop"]
        );
    }

    /// The accept loop asks `stopped` once per connection; waiting must not pile up wakers.
    #[test]
    fn waiting_for_stop_keeps_one_waker_per_task() {
        use std::future::Future;
        let w = example_worker();
        struct Nothing;
        impl std::task::Wake for Nothing {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        let waker = std::task::Waker::from(std::sync::Arc::new(Nothing));
        let mut cx = std::task::Context::from_waker(&waker);
        for _ in 0..1000 {
            let mut stopped = std::pin::pin!(w.stopped());
            assert!(stopped.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(w.stop_waiters(), 1);
        w.stop();
        let mut stopped = std::pin::pin!(w.stopped());
        assert!(stopped.as_mut().poll(&mut cx).is_ready());
        assert_eq!(w.stop_waiters(), 0);
    }

    /// A parked connection's wait for its listener to close holds one waker however often it
    /// is polled, gives it back when dropped, and is woken by a stop or a listener's removal.
    #[test]
    fn a_parked_wait_holds_one_waker_and_is_woken_by_stop_or_removal() {
        use std::future::Future;
        use std::sync::atomic::{AtomicUsize, Ordering};
        struct Count(AtomicUsize);
        impl std::task::Wake for Count {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
        let waker = std::task::Waker::from(count.clone());
        let mut cx = std::task::Context::from_waker(&waker);
        for close in [Worker::stop as fn(&Worker), |w| w.close_listener(0)] {
            count.0.store(0, Ordering::SeqCst);
            let w = example_worker();
            let mut first = Box::pin(w.closing_wait(0));
            let mut second = Box::pin(w.closing_wait(0));
            for _ in 0..3 {
                assert!(first.as_mut().poll(&mut cx).is_pending());
            }
            assert!(second.as_mut().poll(&mut cx).is_pending());
            assert_eq!(w.parked_waiters(), 2);
            drop(second);
            assert_eq!(w.parked_waiters(), 1);
            close(&w);
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
            assert!(first.as_mut().poll(&mut cx).is_ready());
            drop(first);
            assert_eq!(w.parked_waiters(), 0);
            // A connection that parks once its listener is closing does not wait at all.
            assert!(Box::pin(w.closing_wait(0))
                .as_mut()
                .poll(&mut cx)
                .is_ready());
        }
    }

    /// A parked connection the stop finds with its next request already in is served (the
    /// response then closes it); one with nothing in closes at once. The stop comes first, so
    /// the wait for the listener's closing is what ends the park, and the unread bytes decide.
    #[test]
    fn at_the_stop_a_parked_connection_is_served_only_if_its_request_is_in() {
        use std::io::Write;
        with_worker(|w| async move {
            let listener = monoio::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            w.stop();
            for request_in in [false, true] {
                let mut client = std::net::TcpStream::connect(addr).unwrap();
                let (server, peer) = listener.accept().await.unwrap();
                if request_in {
                    client
                        .write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                        .unwrap();
                    std::thread::sleep(Duration::from_millis(50));
                }
                w.stats.active_connections.set(1);
                let clock = ClientClock::new(&w, 0);
                park(Rc::clone(&w), server, clock, peer, u64::MAX).await;
                // A served connection stays counted until its serving task ends.
                let served = w.stats.active_connections.get() == 1;
                assert_eq!(served, request_in);
            }
        });
    }

    /// What an idle keep-alive connection costs is mostly its task's future: a parked one is
    /// the small `park` task, not the serving task with its request state.
    #[test]
    fn a_parked_connection_task_stays_small() {
        with_worker(|w| async move {
            let listener = monoio::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let stream = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let clock = ClientClock::new(&w, 0);
            let parked = park(w, stream, clock, "127.0.0.1:1".parse().unwrap(), 0);
            let size = std::mem::size_of_val(&parked);
            assert!(size <= 384, "the parked connection's task is {size} bytes");
        });
    }
}
