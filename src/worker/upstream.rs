//! Connections to targets: a per-worker keep-alive pool per target, and connecting with a
//! deadline and a precise cause when it fails.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use monoio::net::TcpStream;

use crate::error::Cause;
use crate::timer::TimerKey;

use super::timers::{Timer, Timers};

/// DESIGN.md §4: connecting to a target gives up after 10 s (504, 522).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to a target and the deadline its I/O runs under.
pub struct Upstream {
    pub stream: TcpStream,
    pub timer: Timer,
}

/// Idle keep-alive connections of one target group, per target, newest last. A connection is
/// closed once it has idled `idle_timeout` in the pool (its timer stands at that meanwhile, see
/// `Timer::pool`): the target's own keep-alive timer is then likely to fire soon, and reusing
/// the connection would race the target's close.
pub struct Pool {
    group: usize,
    idle: Vec<Vec<Upstream>>,
    max_idle: usize,
    idle_timeout: Duration,
}

impl Pool {
    pub fn new(group: usize, targets: usize, max_idle: usize, idle_timeout: Duration) -> Self {
        Pool {
            group,
            idle: (0..targets).map(|_| Vec::new()).collect(),
            max_idle,
            idle_timeout,
        }
    }

    /// The newest idle connection to `target`. Its timer must be set before use.
    pub fn take(&mut self, target: usize) -> Option<Upstream> {
        let newest = self.idle.get_mut(target)?.pop()?;
        newest.timer.unpool();
        Some(newest)
    }

    /// Keeps `conn` for reuse; closes it when the pool keeps none.
    pub fn put(&mut self, target: usize, conn: Upstream) {
        let Some(list) = self.idle.get_mut(target) else {
            return;
        };
        if self.max_idle == 0 || self.idle_timeout.is_zero() {
            return;
        }
        if list.len() >= self.max_idle {
            // Keep the newest: drop the oldest, which is the likeliest to be closed by the target.
            list.remove(0);
        }
        conn.timer.pool(self.idle_timeout, self.group, target);
        list.push(conn);
    }

    /// Closes the pooled connection whose timer `key` fired. `target` is where it was put;
    /// after a change of the target list it may have moved, and is looked for everywhere.
    pub fn expire(&mut self, target: usize, key: TimerKey) {
        let hinted = self.idle.get_mut(target).and_then(|list| {
            let i = list.iter().position(|conn| conn.timer.key() == key)?;
            list.remove(i);
            Some(())
        });
        if hinted.is_none() {
            for list in &mut self.idle {
                if let Some(i) = list.iter().position(|conn| conn.timer.key() == key) {
                    list.remove(i);
                    return;
                }
            }
        }
    }

    /// Closes every idle connection to `target` (it is draining).
    pub fn clear(&mut self, target: usize) {
        if let Some(list) = self.idle.get_mut(target) {
            list.clear();
        }
    }

    /// The group left the worker: every idle connection closes and none is kept from now on
    /// (requests still in flight on the group drop theirs when done).
    pub fn close(&mut self) {
        self.idle.iter_mut().for_each(Vec::clear);
        self.max_idle = 0;
    }

    /// The group's targets were `old` and are now `new`: idle connections follow their
    /// target's address; those of removed targets are closed.
    pub fn retarget(&mut self, old: &[SocketAddr], new: &[SocketAddr]) {
        let mut lists: Vec<Option<Vec<Upstream>>> = std::mem::take(&mut self.idle)
            .into_iter()
            .map(Some)
            .collect();
        self.idle = new
            .iter()
            .map(|addr| {
                old.iter()
                    .position(|o| o == addr)
                    .and_then(|i| lists.get_mut(i)?.take())
                    .unwrap_or_default()
            })
            .collect();
    }
}

/// Connects to `addr`, giving up after `CONNECT_TIMEOUT`. The connection's timer then counts
/// `idle` from each transfer.
pub async fn connect(addr: SocketAddr, timers: &Timers, idle: Duration) -> Result<Upstream, Cause> {
    let timer = timers.timer(CONNECT_TIMEOUT, idle);
    let connected = monoio::select! {
        r = TcpStream::connect_addr(addr) => r,
        _ = timer.fired() => return Err(Cause::ConnectTimeout),
    };
    match connected {
        Ok(mut stream) => {
            let _ = stream.set_nodelay(true);
            // A target connection is read after a request was written to it: the answer is
            // not there yet, so the kernel waits for it before trying (vendor/monoio patch 3).
            stream.set_recv_poll_first(true);
            timer.touch();
            Ok(Upstream { stream, timer })
        }
        Err(e) => Err(connect_cause(&e)),
    }
}

/// Which row of DESIGN.md §5 a failed connect belongs to.
pub fn connect_cause(e: &io::Error) -> Cause {
    match e.raw_os_error() {
        Some(libc::EHOSTUNREACH | libc::ENETUNREACH | libc::EHOSTDOWN | libc::ENETDOWN) => {
            Cause::Unreachable
        }
        Some(libc::ETIMEDOUT) => Cause::ConnectTimeout,
        _ => Cause::ConnectRefused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_errors_map_to_the_design_rows() {
        let cause = |errno| connect_cause(&io::Error::from_raw_os_error(errno));
        assert_eq!(cause(libc::ECONNREFUSED), Cause::ConnectRefused);
        assert_eq!(cause(libc::EHOSTUNREACH), Cause::Unreachable);
        assert_eq!(cause(libc::ENETUNREACH), Cause::Unreachable);
        assert_eq!(cause(libc::ETIMEDOUT), Cause::ConnectTimeout);
    }
}
