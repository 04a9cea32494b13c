//! The worker's timers: one [`Wheel`] per worker counting milliseconds since the worker
//! started, one task that drives it, and [`Timer`], the deadline a connection's I/O runs under.
//!
//! Reads and writes run under a timer (`io`) in one of two ways. Most race it
//! ([`Timer::race`]): when it fires, the driver wakes the task and the operation is dropped
//! (monoio cancels it and keeps its buffer until the kernel is done); the connection then
//! closes. The head read between requests, which a timeout may only park, runs under the
//! timer's monoio `Canceller`: the driver cancels it and it completes with its result, so
//! bytes that arrived in the race are kept (STYLE.md §8). No per-operation sleep future: an
//! operation costs one `touch`, a coarse clock read and a store into the wheel (lazy re-arm).
//!
//! The driver sleeps until the wheel's next deadline, or until a timer is armed earlier than
//! that. A pooled target connection's own timer stands at its pool expiry ([`Timer::pool`]), so
//! an idle pooled connection is closed on time rather than found stale at its next use, and
//! putting a connection in the pool and taking it out moves a deadline instead of adding and
//! removing a wheel entry for every request.

use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use monoio::io::{CancelHandle, Canceller};

use crate::timer::{TimerKey, Wheel};

/// A timer's wheel entry: what happens when it comes due.
pub struct Fire {
    /// Cancels the operations in flight under the timer; made by the first that asks for it
    /// (most timers never do: target connections race their timer instead).
    canceller: Option<Canceller>,
    /// Whoever waits for the timer ([`Timer::race`], [`Timer::fired`]).
    waker: Option<Waker>,
    /// Set while the timer's connection idles in the pool of `target` of `group`: firing
    /// then closes it.
    pooled: Option<(usize, usize)>,
}

struct Inner {
    wheel: RefCell<Wheel<Fire>>,
    /// `coarse_ms()` when the worker started: tick 0.
    epoch: u64,
    /// The tick the driver sleeps until; `u64::MAX` while the wheel is empty.
    wake_at: Cell<u64>,
    /// Set when a timer was armed before `wake_at`; the driver looks again.
    poked: Cell<bool>,
    driver: RefCell<Option<Waker>>,
}

/// A worker's wheel and clock. Cloning shares them.
#[derive(Clone)]
pub struct Timers(Rc<Inner>);

/// Whole ticks (milliseconds) in `d`, rounded up: a deadline is never early.
pub fn ticks(d: Duration) -> u64 {
    // In u64 parts: a u128 division (`as_nanos`) is a call into compiler-builtins, and this
    // runs for every pool put and every request's idle timeout.
    let ms = u64::from(d.subsec_nanos().div_ceil(1_000_000));
    d.as_secs()
        .checked_mul(1000)
        .and_then(|s| s.checked_add(ms))
        .unwrap_or(u64::MAX / 2)
}

impl Default for Timers {
    fn default() -> Self {
        Self::new()
    }
}

impl Timers {
    pub fn new() -> Self {
        Timers(Rc::new(Inner {
            wheel: RefCell::new(Wheel::new(0)),
            epoch: coarse_ms(),
            wake_at: Cell::new(u64::MAX),
            poked: Cell::new(false),
            driver: RefCell::new(None),
        }))
    }

    /// Milliseconds since the worker started: the wheel's tick. Read from the coarse clock
    /// (see [`coarse_ms`]): a connection reads it several times per request.
    #[inline]
    pub fn now(&self) -> u64 {
        coarse_ms().saturating_sub(self.0.epoch)
    }

    /// Armed timers (of connections in use and in the pools).
    pub fn len(&self) -> usize {
        self.0.wheel.borrow().len()
    }

    /// A timer that fires `after` from now; `touch` moves it `idle` past the moment of the
    /// touch.
    pub fn timer(&self, after: Duration, idle: Duration) -> Timer {
        let deadline = self.now().saturating_add(ticks(after));
        Timer {
            timers: self.clone(),
            key: Cell::new(self.insert(deadline, io_fire())),
            idle: Cell::new(ticks(idle)),
            last_set: Cell::new(deadline),
        }
    }

    /// Disarms an entry; harmless when it has fired already.
    fn cancel(&self, key: TimerKey) {
        self.0.wheel.borrow_mut().cancel(key);
    }

    fn insert(&self, deadline: u64, fire: Fire) -> TimerKey {
        let key = self.0.wheel.borrow_mut().insert(deadline, fire);
        self.poke(deadline);
        key
    }

    /// Wakes the driver when `deadline` comes before the tick it sleeps until.
    fn poke(&self, deadline: u64) {
        if deadline < self.0.wake_at.get() {
            self.0.wake_at.set(deadline);
            self.0.poked.set(true);
            if let Some(w) = self.0.driver.borrow_mut().take() {
                w.wake();
            }
        }
    }

    /// Drives the wheel for as long as the worker runs. `expire_pooled` closes the pooled
    /// connection whose entry fired.
    pub async fn drive(self, mut expire_pooled: impl FnMut(usize, usize, TimerKey)) {
        let mut fired = Vec::new();
        loop {
            let now = self.now();
            self.0.wheel.borrow_mut().advance(now, &mut fired);
            for (key, fire) in fired.drain(..) {
                if let Some((group, target)) = fire.pooled {
                    expire_pooled(group, target, key);
                    continue;
                }
                if let Some(canceller) = fire.canceller {
                    drop(canceller.cancel());
                }
                if let Some(w) = fire.waker {
                    w.wake();
                }
            }
            let next = self.0.wheel.borrow().next_deadline();
            self.0.poked.set(false);
            match next {
                Some(at) => {
                    let at = at.max(now + 1);
                    self.0.wake_at.set(at);
                    let sleep = monoio::time::sleep(Duration::from_millis(at - now));
                    monoio::select! {
                        _ = sleep => {},
                        _ = self.poked() => {},
                    }
                }
                None => {
                    self.0.wake_at.set(u64::MAX);
                    self.poked().await;
                }
            }
        }
    }

    /// Resolves once a timer has been armed before the driver's wake-up tick.
    async fn poked(&self) {
        poll_fn(|cx| {
            if self.0.poked.get() {
                Poll::Ready(())
            } else {
                *self.0.driver.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// `CLOCK_MONOTONIC_COARSE` in milliseconds: the monotonic clock as of the kernel's last tick
/// (every 4 ms here), read from the vDSO without the TSC: 5 ns against 22 ns for
/// `Instant::now` on this VM, where ten reads a request showed as 1.5% of the proxy's CPU
/// (perf, cpu-clock). Deadlines are whole seconds or hundreds of milliseconds; a timer fires
/// within one kernel tick of its time.
#[inline]
fn coarse_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration; the clock id is a
    // constant every Linux since 2.6.32 knows, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

fn io_fire() -> Fire {
    Fire {
        canceller: None,
        waker: None,
        pooled: None,
    }
}

/// The deadline one connection's I/O runs under (see the module documentation). It stays armed
/// until dropped; once fired, every operation under it fails at once until it is set again.
pub struct Timer {
    timers: Timers,
    key: Cell<TimerKey>,
    /// Ticks a `touch` puts the deadline past now.
    idle: Cell<u64>,
    /// The deadline `set` last gave the timer.
    last_set: Cell<u64>,
}

impl Timer {
    /// True once the deadline has passed (and the driver has seen it).
    pub fn expired(&self) -> bool {
        self.timers
            .0
            .wheel
            .borrow()
            .deadline(self.key.get())
            .is_none()
    }

    /// The tick the timer fires at; `None` once it has fired.
    pub fn deadline(&self) -> Option<u64> {
        self.timers.0.wheel.borrow().deadline(self.key.get())
    }

    /// Fires at tick `deadline` instead; re-arms a timer that has fired.
    pub fn set(&self, deadline: u64) {
        let reset = self
            .timers
            .0
            .wheel
            .borrow_mut()
            .reset(self.key.get(), deadline);
        if reset {
            self.timers.poke(deadline);
        } else {
            self.key.set(self.timers.insert(deadline, io_fire()));
        }
        self.last_set.set(deadline);
    }

    /// Bytes moved: the deadline is now the idle time past now. The clock is coarse (a tick
    /// of the kernel's, 4 ms here) and a request touches a timer several times within one, so
    /// a touch that lands on the deadline last set leaves the wheel alone: that deadline is
    /// after now, so the timer has not fired and stands there still.
    #[inline]
    pub fn touch(&self) {
        let idle = self.idle.get();
        let deadline = self.timers.now().saturating_add(idle);
        if idle == 0 || deadline != self.last_set.get() {
            self.set(deadline);
        }
    }

    /// Changes what `touch` adds from the next touch on (a changed idle timeout).
    #[inline]
    pub fn set_idle(&self, idle: Duration) {
        self.idle.set(ticks(idle));
    }

    /// The worker's clock, in ticks.
    pub fn now(&self) -> u64 {
        self.timers.now()
    }

    /// The wheel entry the timer stands at now: what the driver names when a pooled
    /// connection's timer fires.
    pub fn key(&self) -> TimerKey {
        self.key.get()
    }

    /// The connection idles in the pool of `target` of `group` from now: the timer fires
    /// `after` from now and then closes it (see `Timers::drive`).
    pub fn pool(&self, after: Duration, group: usize, target: usize) {
        self.set(self.now().saturating_add(ticks(after)));
        if let Some(fire) = self.timers.0.wheel.borrow_mut().get_mut(self.key.get()) {
            fire.pooled = Some((group, target));
        }
    }

    /// The connection left the pool: the timer is an I/O deadline again (set it before use).
    pub fn unpool(&self) {
        if let Some(fire) = self.timers.0.wheel.borrow_mut().get_mut(self.key.get()) {
            fire.pooled = None;
        }
    }

    /// What an operation under this timer passes to monoio; `None` once the timer has fired.
    pub fn cancel_handle(&self) -> Option<CancelHandle> {
        let mut wheel = self.timers.0.wheel.borrow_mut();
        let fire = wheel.get_mut(self.key.get())?;
        Some(fire.canceller.get_or_insert_with(Canceller::new).handle())
    }

    /// Frees the canceller (and the set of operations it has grown) of a timer under which no
    /// cancellable operation is in flight: a parked connection's, which waits without one.
    pub fn forget_canceller(&self) {
        if let Some(fire) = self.timers.0.wheel.borrow_mut().get_mut(self.key.get()) {
            fire.canceller = None;
        }
    }

    /// Resolves when the timer fires (for work that is not a cancellable operation, such as
    /// a connect).
    pub async fn fired(&self) {
        poll_fn(|cx| {
            if self.wake_on_fire(cx.waker()) {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await
    }

    /// Runs `op` until it completes or the timer fires; `None` when the timer fired first (or
    /// had already). A fired timer drops `op`: monoio then cancels the operation in the kernel
    /// and keeps its buffer until the completion arrives, so no buffer or descriptor is
    /// reused early, but bytes that arrived in the race are gone with the buffer. For
    /// operations after whose timeout the connection closes; the others run under the
    /// timer's canceller (`io::read_append_keep`), which costs a hash-set insert and removal
    /// per operation (callgrind: a fifth of the proxy's own instructions with four of them a
    /// request, a twentieth with the one left: the head read between requests).
    pub fn race<F: Future>(&self, op: F) -> Race<'_, F> {
        Race {
            timer: self,
            op,
            started: false,
        }
    }

    /// Has the driver wake `waker` when the timer fires; `false` if it has fired already.
    fn wake_on_fire(&self, waker: &Waker) -> bool {
        let mut wheel = self.timers.0.wheel.borrow_mut();
        match wheel.get_mut(self.key.get()) {
            Some(Fire { waker: slot, .. }) => {
                if !slot.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    *slot = Some(waker.clone());
                }
                true
            }
            None => false,
        }
    }
}

pin_project_lite::pin_project! {
    /// An operation racing its timer ([`Timer::race`]). A future of its own rather than an
    /// `async fn`: that would move the operation once more, into a pinned local, on every call
    /// (callgrind: a memcpy of ~100 bytes, three times a request).
    pub struct Race<'t, F> {
        timer: &'t Timer,
        #[pin]
        op: F,
        started: bool,
    }
}

impl<F: Future> Future for Race<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // An operation whose timer fired before it started is never started. The first poll
        // registers the waker before the operation runs: one look into the wheel instead of
        // two on the common path, where the operation is pending on its first poll (io_uring).
        // If it completes at once, the registered waker at worst wakes the task once more.
        if !*this.started {
            if !this.timer.wake_on_fire(cx.waker()) {
                return Poll::Ready(None);
            }
            *this.started = true;
            return match this.op.poll(cx) {
                Poll::Ready(out) => Poll::Ready(Some(out)),
                Poll::Pending => Poll::Pending,
            };
        }
        if let Poll::Ready(out) = this.op.poll(cx) {
            Poll::Ready(Some(out))
        } else if this.timer.wake_on_fire(cx.waker()) {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.timers.cancel(self.key.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ticks` in u64 parts gives what the plain u128 computation gives.
    #[test]
    fn ticks_round_up_to_whole_milliseconds() {
        let plain =
            |d: Duration| u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX / 2);
        let secs = [
            0,
            1,
            59,
            3600,
            604_800,
            u64::MAX / 1000,
            u64::MAX / 1000 + 1,
            u64::MAX,
        ];
        let nanos = [
            0,
            1,
            999_999,
            1_000_000,
            1_000_001,
            500_000_000,
            999_999_999,
        ];
        for s in secs {
            for n in nanos {
                let d = Duration::new(s, n);
                assert_eq!(ticks(d), plain(d), "{d:?}");
            }
        }
        assert_eq!(ticks(Duration::from_micros(1)), 1);
        assert_eq!(ticks(Duration::from_millis(60_000)), 60_000);
    }
    use crate::worker::io::{read_append, read_append_keep, write_all, ReadError};
    use crate::worker::runtime::{block_on, DriverChoice};
    use monoio::net::{TcpListener, TcpStream};

    /// Open file descriptors of this process.
    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
    }

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (a, b) = monoio::join!(listener.accept(), TcpStream::connect(addr));
        (a.unwrap().0, b.unwrap())
    }

    /// 100,000 reads time out (each under a timer already due when it starts) while the peer
    /// sends a byte every tenth round: every byte arrives once and in order, nothing is left
    /// armed, and then a thousand connections whose reads time out close without a trace.
    async fn many_timeouts() {
        const ROUNDS: usize = 100_000;
        let timers = Timers::new();
        monoio::spawn(timers.clone().drive(|_, _, _| {}));
        let fds_before = open_fds();
        let (mut a, mut b) = pair().await;
        // Read as ringway reads client and target connections: polling first (vendored
        // monoio patch 3), each read registered with the timer's canceller (patch 2).
        a.set_recv_poll_first(true);
        let timer = timers.timer(Duration::ZERO, Duration::from_secs(60));
        let peer_timer = timers.timer(Duration::from_secs(60), Duration::from_secs(60));
        let (mut sent, mut got) = (Vec::new(), Vec::new());
        let mut buf = Vec::with_capacity(64);
        let mut timeouts = 0;
        for round in 0..ROUNDS {
            if round % 10 == 0 {
                let byte = (round / 10) as u8;
                sent.push(byte);
                let (res, _) = write_all(&mut b, vec![byte], &peer_timer).await;
                res.unwrap();
            }
            timer.set(timers.now());
            buf.clear();
            let (res, back) = read_append_keep(&mut a, buf, 64, &timer).await;
            buf = back;
            match res {
                Ok(n) => {
                    assert!(n > 0, "the peer never closes");
                    got.extend_from_slice(&buf);
                }
                Err(ReadError::TimedOut) => timeouts += 1,
                Err(ReadError::Io) => panic!("a cancelled read must say timed out"),
            }
        }
        // What is still in flight arrives under a generous deadline.
        timer.set(timers.now() + 10_000);
        while got.len() < sent.len() {
            buf.clear();
            let (res, back) = read_append_keep(&mut a, buf, 64, &timer).await;
            buf = back;
            assert!(matches!(res, Ok(1..)), "{res:?}");
            got.extend_from_slice(&buf);
        }
        assert_eq!(got, sent, "no byte lost, none twice");
        assert!(timeouts > ROUNDS / 2, "only {timeouts} reads timed out");
        drop((a, b, timer, peer_timer));
        // Reads that race the timer and are dropped when it fires (for connections that
        // close after a timeout): the kernel's operations are cancelled and their buffers
        // freed when they complete; nothing stays armed or open.
        let (mut a, b) = pair().await;
        a.set_recv_poll_first(true);
        let timer = timers.timer(Duration::ZERO, Duration::from_secs(60));
        for _ in 0..ROUNDS / 10 {
            timer.set(timers.now());
            let (res, back) = read_append(&mut a, Vec::new(), 64, &timer).await;
            assert!(matches!(res, Err(ReadError::TimedOut)), "{res:?}");
            assert_eq!(
                back.capacity(),
                0,
                "a dropped read's buffer stays with the driver"
            );
        }
        drop((a, b, timer));
        for _ in 0..1000 {
            let (mut a, _b) = pair().await;
            let timer = timers.timer(Duration::from_millis(1), Duration::ZERO);
            let (res, _) = read_append(&mut a, Vec::new(), 16, &timer).await;
            assert!(matches!(res, Err(ReadError::TimedOut)));
        }
        assert_eq!(
            timers.len(),
            0,
            "every timer was dropped with its connection"
        );
        // On io_uring a dropped socket is closed by a queued close operation: let the last
        // ones complete before counting.
        for _ in 0..100 {
            if open_fds() == fds_before {
                break;
            }
            monoio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(open_fds(), fds_before, "descriptors leaked");
    }

    /// Runs `name` alone in a child process, where counting this process's descriptors
    /// means something (other tests open sockets of their own meanwhile).
    fn in_child(name: &str) {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--include-ignored", "--test-threads=1"])
            .env("RINGWAY_TEST_CHILD", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn child_only() -> bool {
        std::env::var_os("RINGWAY_TEST_CHILD").is_some()
    }

    #[test]
    fn timeouts_on_io_uring_lose_no_byte_and_no_descriptor() {
        in_child("worker::timers::tests::uring_child");
    }

    /// Touches within one clock tick leave the wheel alone (the deadline is the one already
    /// set); a touch after the timer fired arms it again.
    #[test]
    fn repeated_touches_keep_the_deadline_and_a_touch_rearms_a_fired_timer() {
        block_on(
            DriverChoice::Auto,
            |_, _| {},
            |_| async {
                let timers = Timers::new();
                monoio::spawn(timers.clone().drive(|_, _, _| {}));
                let timer = timers.timer(Duration::from_secs(60), Duration::from_millis(30));
                timer.touch();
                let first = timer.deadline().unwrap();
                assert!(first <= timers.now() + 30);
                for _ in 0..1000 {
                    timer.touch();
                }
                let again = timer.deadline().unwrap();
                assert!(
                    again >= first && again <= timers.now() + 30,
                    "{first} {again}"
                );
                monoio::time::sleep(Duration::from_millis(100)).await;
                assert!(timer.expired(), "the idle time passed without a touch");
                timer.touch();
                assert!(!timer.expired(), "a touch re-arms a fired timer");
                assert!(timer.deadline().unwrap() > timers.now());
                monoio::time::sleep(Duration::from_millis(100)).await;
                assert!(timer.expired(), "and it fires again");
            },
        )
        .unwrap();
    }

    #[test]
    fn timeouts_on_epoll_lose_no_byte_and_no_descriptor() {
        in_child("worker::timers::tests::epoll_child");
    }

    #[test]
    #[ignore = "run by timeouts_on_io_uring_lose_no_byte_and_no_descriptor in a child process"]
    fn uring_child() {
        if child_only() {
            block_on(DriverChoice::Uring, |_, _| {}, |_| many_timeouts()).unwrap();
        }
    }

    #[test]
    #[ignore = "run by timeouts_on_epoll_lose_no_byte_and_no_descriptor in a child process"]
    fn epoll_child() {
        if child_only() {
            block_on(DriverChoice::Epoll, |_, _| {}, |_| many_timeouts()).unwrap();
        }
    }
}
