//! Connections to targets: a per-worker keep-alive pool per target, and connecting with a
//! deadline and a precise cause when it fails.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use monoio::net::TcpStream;

use crate::error::Cause;

/// DESIGN.md §4: connecting to a target gives up after 10 s (504, 522).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

struct Idle {
    stream: TcpStream,
    since: Instant,
}

/// Idle keep-alive connections of one target group, per target, newest last. A connection idle
/// longer than `idle_timeout` is closed instead of reused: the target's own keep-alive timer is
/// then likely to fire first, and reusing it would race the target's close.
pub struct Pool {
    idle: Vec<Vec<Idle>>,
    max_idle: usize,
    idle_timeout: Duration,
}

impl Pool {
    pub fn new(targets: usize, max_idle: usize, idle_timeout: Duration) -> Self {
        Pool {
            idle: (0..targets).map(|_| Vec::new()).collect(),
            max_idle,
            idle_timeout,
        }
    }

    /// The newest idle connection to `target` that has not idled out.
    pub fn take(&mut self, target: usize, now: Instant) -> Option<TcpStream> {
        let list = self.idle.get_mut(target)?;
        let newest = list.pop()?;
        if now.saturating_duration_since(newest.since) < self.idle_timeout {
            return Some(newest.stream);
        }
        // The newest idled out, so every older one has too.
        list.clear();
        None
    }

    pub fn put(&mut self, target: usize, stream: TcpStream, now: Instant) {
        let Some(list) = self.idle.get_mut(target) else {
            return;
        };
        if list.len() >= self.max_idle {
            // Keep the newest: drop the oldest, which is the likeliest to be closed by the target.
            if self.max_idle == 0 {
                return;
            }
            list.remove(0);
        }
        list.push(Idle { stream, since: now });
    }
}

/// Connects to `addr`, giving up after `CONNECT_TIMEOUT`.
pub async fn connect(addr: SocketAddr) -> Result<TcpStream, Cause> {
    match monoio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect_addr(addr)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(e)) => Err(connect_cause(&e)),
        Err(_elapsed) => Err(Cause::ConnectTimeout),
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
