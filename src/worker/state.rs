//! What one worker owns: its copy of the config, a router per listener, a selector and a
//! connection pool per target group, free buffers and counters. Single-threaded: plain fields,
//! `Cell` and `RefCell`, never a lock or an atomic (STYLE.md §7).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

use crate::admin::{tally, RequestKey, Snapshot, TargetCounts};
use crate::balance::Router;
use crate::config::{Attributes, Config, ErrorStyle, Listener};
use crate::desync::{Action, HeaderMark, Reason, Verdict};
use crate::error::Cause;
use crate::http::Limits;

pub use super::group::GroupState;
use super::health::HealthCommand;
use super::logwriter::LogWriter;
use super::timers::Timers;

/// Bytes of a streaming buffer: one read or write of a body moves at most this much.
pub const STREAM_BUF: usize = 64 * 1024;
/// How many free streaming buffers a worker keeps; more are freed.
const MAX_FREE_BUFS: usize = 256;
/// Desync log lines a worker writes per second at most (the guardian's own limit); the rest
/// are counted, and the count is written with the next line that gets through.
const DESYNC_LOG_PER_SECOND: u32 = 100;

pub struct Worker {
    pub id: usize,
    /// The attributes now in force; the control plane replaces them live (`control`).
    attrs: Cell<Attributes>,
    pub limits: Limits,
    /// Every listener this worker has had, by slot (config order at start, then one new slot
    /// per listener a reload adds; a removed one keeps its slot, closed).
    listeners: RefCell<Vec<ListenerState>>,
    /// Every target group by slot (config order at start, then one new slot per group a
    /// reload adds or replaces); `None` once a reload removed it. A request holds its group's
    /// `Rc`, so a removed group lives on until its requests in flight are done.
    groups: RefCell<Vec<Option<Rc<GroupState>>>>,
    pub stats: Stats,
    /// Every deadline of the worker's connections.
    pub timers: Timers,
    /// The classifier's verdict on each header of the request being vetted; reused.
    pub marks: RefCell<Vec<HeaderMark>>,
    free_bufs: RefCell<Vec<Vec<u8>>>,
    desync_log: Cell<LogWindow>,
    /// The access log, when `load_balancer.access_log` is on.
    pub log: Option<LogWriter>,
    /// The tier and reason of the request vet() classified last (read right after it).
    pub last_verdict: Cell<(&'static str, &'static str)>,
    /// Raised once the control plane says stop; wakes the accept loops.
    stopping: Signal,
    /// The tasks of parked keep-alive connections ([`Worker::closing_wait`]), woken when the
    /// worker stops or a listener closes: an idle connection then closes at once instead of
    /// holding the drain until its idle timeout.
    parked: RefCell<Slab<Waker>>,
    /// Asks the health checker to probe a (group, target) now; `None` without checks.
    probe_now: RefCell<Option<crossbeam_channel::Sender<HealthCommand>>>,
}

/// One listener in this worker: its rules, its bound address (the access log's `listener`;
/// its port feeds the Host and X-Forwarded-Port rules), and whether a reload removed it.
struct ListenerState {
    router: Router,
    addr: SocketAddr,
    /// Raised when a reload removes the listener: its accept loop ends (the socket closes),
    /// its busy connections close after their response and its idle ones once parked.
    closed: Signal,
}

/// A flag raised once, and the tasks waiting for it.
#[derive(Default)]
struct Signal {
    raised: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl Signal {
    fn raise(&self) {
        self.raised.set(true);
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }

    fn is_raised(&self) -> bool {
        self.raised.get()
    }

    fn poll(&self, cx: &Context<'_>) -> Poll<()> {
        if self.raised.get() {
            return Poll::Ready(());
        }
        // An accept loop asks again after every connection: keep one waker per task.
        let mut wakers = self.wakers.borrow_mut();
        if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A parked connection's wait for its listener to close ([`Worker::closing_wait`]). Its waker
/// stays in the worker's slab from the first poll until it is dropped, so the slot is never
/// reused while this holds its key. Fields in u32s: it lives in every parked connection's task
/// (16 bytes instead of 32).
pub struct ClosingWait<'w> {
    w: &'w Worker,
    listener: u32,
    /// The waker's slot in `Worker::parked`; `NOT_PARKED` before the first poll.
    key: u32,
}

const NOT_PARKED: u32 = u32::MAX;

impl Future for ClosingWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.w.closing(self.listener as usize) {
            return Poll::Ready(());
        }
        let mut parked = self.w.parked.borrow_mut();
        if self.key == NOT_PARKED {
            let key = parked.insert(cx.waker().clone());
            drop(parked);
            // More than four billion parked connections cannot be: the key fits.
            self.key = key as u32;
        } else {
            let slot = &mut parked[self.key as usize];
            if !slot.will_wake(cx.waker()) {
                *slot = cx.waker().clone();
            }
        }
        Poll::Pending
    }
}

impl Drop for ClosingWait<'_> {
    fn drop(&mut self) {
        if self.key != NOT_PARKED {
            self.w.parked.borrow_mut().remove(self.key as usize);
        }
    }
}

#[derive(Clone, Copy)]
struct LogWindow {
    start: Option<Instant>,
    written: u32,
    suppressed: u64,
}

/// Counters of one worker; the control plane sums them across workers on demand.
#[derive(Default)]
pub struct Stats {
    pub new_connections: Cell<u64>,
    pub active_connections: Cell<u64>,
    pub requests: Cell<u64>,
    /// Responses by status class: index 1 = 1xx ... 5 = 5xx.
    pub responses_by_class: [Cell<u64>; 6],
    /// Responses by listener, group and status (`ringway_requests_total`); a few dozen keys.
    pub requests_by: RefCell<Vec<(RequestKey, u64)>>,
    /// Upstream connections opened (pool misses).
    pub upstream_connects: Cell<u64>,
    /// Responses the balancer generated itself, by cause (indexed like `Cause::ALL`).
    pub errors_by_cause: [Cell<u64>; Cause::ALL.len()],
    /// Of those, the ones sent in Cloudflare's style (the rest went out in the standard one).
    pub cloudflare_errors_by_cause: [Cell<u64>; Cause::ALL.len()],
    /// Non-compliant requests by classification reason (indexed like `Reason::ALL`); the tier
    /// label of ALB's metric follows from the reason.
    pub desync_by_reason: ReasonCounts,
}

pub struct ReasonCounts(pub [Cell<u64>; Reason::ALL.len()]);

impl Default for ReasonCounts {
    fn default() -> Self {
        ReasonCounts(std::array::from_fn(|_| Cell::new(0)))
    }
}

impl Stats {
    /// A response to a client, by listener, target group (`None`: answered before routing)
    /// and status.
    pub fn count_response(&self, listener: usize, group: Option<usize>, status: u16) {
        let class = usize::from(status / 100).min(5);
        bump(&self.responses_by_class[class]);
        let key = RequestKey {
            listener,
            group,
            status,
        };
        tally(&mut self.requests_by.borrow_mut(), key, 1);
    }

    /// The counters as the control plane sees them (`admin::Snapshot`).
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            new_connections: self.new_connections.get(),
            active_connections: self.active_connections.get(),
            timers: 0,
            requests: self.requests.get(),
            errors_by_cause: std::array::from_fn(|i| self.errors_by_cause[i].get()),
            cloudflare_errors_by_cause: std::array::from_fn(|i| {
                self.cloudflare_errors_by_cause[i].get()
            }),
            desync_by_reason: std::array::from_fn(|i| self.desync_by_reason.0[i].get()),
            responses_by_class: std::array::from_fn(|i| self.responses_by_class[i].get()),
            requests_by: self.requests_by.borrow().clone(),
            ..Snapshot::default()
        }
    }

    pub fn count_desync(&self, reason: Reason) {
        if let Some(i) = Reason::ALL.iter().position(|&r| r == reason) {
            bump(&self.desync_by_reason.0[i]);
        }
    }

    /// A response ringway generated for `cause`, sent in `style`.
    pub fn count_error(&self, cause: Cause, style: ErrorStyle) {
        if let Some(i) = Cause::ALL.iter().position(|&c| c == cause) {
            bump(&self.errors_by_cause[i]);
            if style == ErrorStyle::Cloudflare {
                bump(&self.cloudflare_errors_by_cause[i]);
            }
        }
    }
}

#[inline]
pub fn bump(counter: &Cell<u64>) {
    counter.set(counter.get() + 1);
}

impl Worker {
    /// Worker `id` of `config`, whose listeners are bound on `ports` (config order).
    pub fn new(id: usize, config: Arc<Config>, ports: Vec<u16>) -> Self {
        let listeners = config
            .listeners
            .iter()
            .zip(&ports)
            .map(|(l, &port)| ListenerState {
                router: Router::new(l),
                addr: SocketAddr::new(l.address, port),
                closed: Signal::default(),
            })
            .collect();
        let groups = config
            .target_groups
            .iter()
            .enumerate()
            .map(|(i, g)| Some(Rc::new(GroupState::new(i, g, id))))
            .collect();
        Worker {
            id,
            attrs: Cell::new(config.attributes),
            limits: Limits::default(),
            listeners: RefCell::new(listeners),
            groups: RefCell::new(groups),
            stats: Stats::default(),
            timers: Timers::new(),
            marks: RefCell::new(Vec::new()),
            free_bufs: RefCell::new(Vec::new()),
            probe_now: RefCell::new(None),
            log: LogWriter::open(&config.load_balancer.access_log, id),
            last_verdict: Cell::new(("-", "-")),
            stopping: Signal::default(),
            parked: RefCell::new(Slab::new()),
            desync_log: Cell::new(LogWindow {
                start: None,
                written: 0,
                suppressed: 0,
            }),
        }
    }

    /// One line on stderr for a non-compliant request, with ALB's access-log field names, at
    /// most `DESYNC_LOG_PER_SECOND` a second. The request line is escaped and cut short: it is
    /// the client's bytes.
    pub fn log_desync(&self, verdict: &Verdict, action: Action, peer: SocketAddr, head: &[u8]) {
        let now = Instant::now();
        let mut window = self.desync_log.get();
        if window
            .start
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
        {
            window.start = Some(now);
            window.written = 0;
        }
        if window.written >= DESYNC_LOG_PER_SECOND {
            window.suppressed += 1;
            self.desync_log.set(window);
            return;
        }
        window.written += 1;
        let suppressed = std::mem::take(&mut window.suppressed);
        self.desync_log.set(window);
        let line_end = head
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(head.len())
            .min(120);
        let request = head[..line_end].trim_ascii_end().escape_ascii();
        let more = if suppressed > 0 {
            format!(" (and {suppressed} more not logged)")
        } else {
            String::new()
        };
        eprintln!(
            "ringway: worker {}: desync classification={} classification_reason={} action={} client={peer} request=\"{request}\"{more}",
            self.id,
            verdict.tier.name(),
            verdict.reason.name(),
            super::request::action_name(action),
        );
    }

    /// Where `target_refused` asks for an early probe.
    pub fn set_probe_channel(&self, tx: crossbeam_channel::Sender<HealthCommand>) {
        *self.probe_now.borrow_mut() = Some(tx);
    }

    /// A connect to `target` of `group` was refused or found no route: this worker avoids it
    /// at once, and the checker probes it now instead of at its next interval.
    pub fn target_refused(&self, group: &GroupState, target: usize) {
        if let Some(addr) = group.mark_suspect(target, self.timers.now()) {
            if let Some(tx) = self.probe_now.borrow().as_ref() {
                let _ = tx.send(HealthCommand::ProbeNow(group.slot, addr));
            }
        }
    }

    /// Stops accepting; busy connections close after their response, idle ones once parked
    /// (`conn::park`).
    pub fn stop(&self) {
        self.stopping.raise();
        self.wake_parked();
    }

    /// Wakes every parked connection's task; those whose listener is closing then close.
    fn wake_parked(&self) {
        for (_, waker) in self.parked.borrow().iter() {
            waker.wake_by_ref();
        }
    }

    /// Resolves once connections on `listener` are to close ([`Worker::closing`]): what a
    /// parked keep-alive connection waits for besides its client and its idle deadline.
    pub fn closing_wait(&self, listener: usize) -> ClosingWait<'_> {
        ClosingWait {
            w: self,
            // Listener slots are a few; one past u32 would be no listener, which is closing.
            listener: u32::try_from(listener).unwrap_or(u32::MAX),
            key: NOT_PARKED,
        }
    }

    /// Parked connections waiting in `closing_wait`.
    #[cfg(test)]
    pub fn parked_waiters(&self) -> usize {
        self.parked.borrow().len()
    }

    pub fn stopping(&self) -> bool {
        self.stopping.is_raised()
    }

    /// Tasks waiting in `stopped`.
    #[cfg(test)]
    pub fn stop_waiters(&self) -> usize {
        self.stopping.wakers.borrow().len()
    }

    /// Resolves once the worker is stopping.
    pub async fn stopped(&self) {
        std::future::poll_fn(|cx| self.stopping.poll(cx)).await
    }

    /// True when a connection on `listener` closes after its response: the worker is
    /// stopping or a reload removed the listener.
    #[inline]
    pub fn closing(&self, listener: usize) -> bool {
        self.stopping()
            || self
                .listeners
                .borrow()
                .get(listener)
                .is_none_or(|l| l.closed.is_raised())
    }

    /// Resolves once `listener` stops accepting: the worker is stopping or a reload removed it.
    pub async fn listener_closed(&self, listener: usize) {
        std::future::poll_fn(|cx| {
            let listeners = self.listeners.borrow();
            let Some(l) = listeners.get(listener) else {
                return Poll::Ready(());
            };
            match (self.stopping.poll(cx), l.closed.poll(cx)) {
                (Poll::Pending, Poll::Pending) => Poll::Pending,
                _ => Poll::Ready(()),
            }
        })
        .await
    }

    /// The target group slot of a request on `listener` (`Router::route`).
    #[inline]
    pub fn route(&self, listener: usize, host: Option<&[u8]>, path: &[u8]) -> usize {
        self.listeners.borrow()[listener].router.route(host, path)
    }

    /// The port `listener` is bound on.
    #[inline]
    pub fn listener_port(&self, listener: usize) -> u16 {
        self.listener_addr(listener).map_or(0, |a| a.port())
    }

    /// The address `listener` is bound on.
    pub fn listener_addr(&self, listener: usize) -> Option<SocketAddr> {
        self.listeners.borrow().get(listener).map(|l| l.addr)
    }

    /// A listener a reload added, at slot `listener` bound on `addr`, with its rules.
    pub fn add_listener(&self, listener: usize, addr: SocketAddr, config: &Listener) {
        let mut listeners = self.listeners.borrow_mut();
        let state = ListenerState {
            router: Router::new(config),
            addr,
            closed: Signal::default(),
        };
        if listener < listeners.len() {
            listeners[listener] = state;
        } else {
            // Slots are handed out in order; one this worker never got stays closed.
            while listeners.len() < listener {
                let closed = Signal::default();
                closed.raise();
                listeners.push(ListenerState {
                    router: Router::new(config),
                    addr,
                    closed,
                });
            }
            listeners.push(state);
        }
    }

    /// New rules for `listener`.
    pub fn set_routes(&self, listener: usize, config: &Listener) {
        if let Some(l) = self.listeners.borrow_mut().get_mut(listener) {
            l.router = Router::new(config);
        }
    }

    /// A reload removed `listener`: its accept loop ends, its busy connections close after
    /// their response and its idle ones once parked.
    pub fn close_listener(&self, listener: usize) {
        if let Some(l) = self.listeners.borrow().get(listener) {
            l.closed.raise();
        }
        self.wake_parked();
    }

    /// The group at `slot`, `None` once a reload removed it. A request clones it once and
    /// holds it to its end.
    #[inline]
    pub fn group(&self, slot: usize) -> Option<Rc<GroupState>> {
        self.groups.borrow().get(slot)?.clone()
    }

    /// Every live group, for the control loop's periodic work.
    pub fn live_groups(&self) -> Vec<Rc<GroupState>> {
        self.groups.borrow().iter().flatten().cloned().collect()
    }

    /// A group a reload added at `slot`.
    pub fn add_group(&self, group: GroupState) {
        let slot = group.slot;
        let mut groups = self.groups.borrow_mut();
        if groups.len() <= slot {
            groups.resize(slot + 1, None);
        }
        groups[slot] = Some(Rc::new(group));
    }

    /// A reload removed the group at `slot`: it takes no new request and keeps no idle
    /// connection; requests in flight on it finish on their own `Rc`.
    pub fn remove_group(&self, slot: usize) {
        let removed = self
            .groups
            .borrow_mut()
            .get_mut(slot)
            .and_then(Option::take);
        if let Some(g) = removed {
            g.pool.borrow_mut().close();
        }
    }

    /// The attributes in force for what starts now.
    #[inline]
    pub fn attrs(&self) -> Attributes {
        self.attrs.get()
    }

    pub fn set_attrs(&self, attrs: Attributes) {
        self.attrs.set(attrs);
    }

    /// The counters as the control plane sees them (`admin::Snapshot`), with each target's.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = self.stats.snapshot();
        s.timers = self.timers.len() as u64;
        for g in self.groups.borrow().iter().flatten() {
            let selector = g.selector.borrow();
            for (t, target) in g.targets.borrow().iter().enumerate() {
                s.targets.push(TargetCounts {
                    group: g.slot,
                    target: target.addr,
                    connects: target.connects.get(),
                    outstanding: u64::from(selector.outstanding(t)),
                });
            }
        }
        s
    }

    /// An empty buffer with `STREAM_BUF` capacity, reused when one is free.
    pub fn take_buf(&self) -> Vec<u8> {
        self.free_bufs
            .borrow_mut()
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(STREAM_BUF))
    }

    /// Gives a buffer back for reuse. Buffers that grew or shrank are dropped.
    pub fn give_buf(&self, mut buf: Vec<u8>) {
        let mut free = self.free_bufs.borrow_mut();
        if buf.capacity() == STREAM_BUF && free.len() < MAX_FREE_BUFS {
            buf.clear();
            free.push(buf);
        }
    }
}
