//! What one worker owns: its copy of the config, a router per listener, a selector and a
//! connection pool per target group, free buffers and counters. Single-threaded: plain fields,
//! `Cell` and `RefCell`, never a lock or an atomic (STYLE.md §7).

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::sync::Arc;

use crate::balance::{RoundRobin, Router};
use crate::config::Config;
use crate::error::Cause;
use crate::http::Limits;

use super::upstream::Pool;

/// Bytes of a streaming buffer: one read or write of a body moves at most this much.
pub const STREAM_BUF: usize = 64 * 1024;
/// How many free streaming buffers a worker keeps; more are freed.
const MAX_FREE_BUFS: usize = 256;

pub struct Worker {
    pub id: usize,
    pub config: Arc<Config>,
    pub limits: Limits,
    pub routers: Vec<Router>,
    pub groups: Vec<GroupState>,
    pub stats: Stats,
    free_bufs: RefCell<Vec<Vec<u8>>>,
}

/// A target group as one worker sees it.
pub struct GroupState {
    pub addrs: Vec<SocketAddr>,
    pub selector: RefCell<RoundRobin>,
    pub pool: RefCell<Pool>,
}

/// Counters of one worker; the control plane sums them across workers on demand.
#[derive(Default)]
pub struct Stats {
    pub new_connections: Cell<u64>,
    pub active_connections: Cell<u64>,
    pub requests: Cell<u64>,
    /// Responses by status class: index 1 = 1xx ... 5 = 5xx.
    pub responses_by_class: [Cell<u64>; 6],
    /// Upstream connections opened (pool misses).
    pub upstream_connects: Cell<u64>,
    /// Responses the balancer generated itself, by cause (indexed like `Cause::ALL`).
    pub errors_by_cause: [Cell<u64>; Cause::ALL.len()],
}

impl Stats {
    pub fn count_response(&self, status: u16) {
        let class = usize::from(status / 100).min(5);
        bump(&self.responses_by_class[class]);
    }

    pub fn count_error(&self, cause: Cause) {
        if let Some(i) = Cause::ALL.iter().position(|&c| c == cause) {
            bump(&self.errors_by_cause[i]);
        }
    }
}

#[inline]
pub fn bump(counter: &Cell<u64>) {
    counter.set(counter.get() + 1);
}

impl Worker {
    pub fn new(id: usize, config: Arc<Config>) -> Self {
        let routers = config.listeners.iter().map(Router::new).collect();
        let groups = config
            .target_groups
            .iter()
            .map(|g| GroupState {
                addrs: g.targets.iter().map(|t| t.address).collect(),
                selector: RefCell::new(RoundRobin::new(&g.targets)),
                pool: RefCell::new(Pool::new(
                    g.targets.len(),
                    g.pool_max_idle_per_target,
                    g.pool_idle_timeout,
                )),
            })
            .collect();
        Worker {
            id,
            config,
            limits: Limits::default(),
            routers,
            groups,
            stats: Stats::default(),
            free_bufs: RefCell::new(Vec::new()),
        }
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
