//! A target group as one worker sees it: its targets (which can change while it runs), the
//! algorithm's state, which targets may be picked, this worker's suspect marks, and the pool
//! of idle connections. Indices into the target list are only good for the list's
//! `generation`: a request that started before a change finds its target by address.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::time::Duration;

use crate::balance::{
    slow_start_ramp, Availability, Selector, TargetState, RAMP_FULL, SUSPECT_HOLD_MS,
};
use crate::config::{Target, TargetGroup};

use super::timers::Timers;
use super::upstream::Pool;

/// One target of a group, in this worker.
pub struct TargetSlot {
    pub addr: SocketAddr,
    /// Connections opened to it (attempts, refused ones included).
    pub connects: Cell<u64>,
    /// When this worker marked it suspect (a refused connect), in timer ticks.
    pub suspect_since: Cell<Option<u64>>,
    /// Registered while the balancer runs, with slow start on: it ramps up from the moment
    /// it is first healthy (`Ramp::Waiting`) to full weight.
    pub ramp: Cell<Ramp>,
}

/// Where a target is in its slow start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ramp {
    Off,
    /// Registered, not healthy yet: the ramp starts when it is.
    Waiting,
    /// Ramping since this tick.
    Since(u64),
}

impl TargetSlot {
    fn new(addr: SocketAddr) -> Self {
        TargetSlot {
            addr,
            connects: Cell::new(0),
            suspect_since: Cell::new(None),
            ramp: Cell::new(Ramp::Off),
        }
    }
}

/// A target as a request holds it across awaits: `index` is only good while the group's
/// list is at `generation`; after a change the target is found again by address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef {
    pub index: usize,
    pub addr: SocketAddr,
    pub generation: u64,
}

pub struct GroupState {
    /// Where the group is in the worker's list: its index in the config at start, a new slot
    /// for a group a reload added or replaced (slots are never reused).
    pub slot: usize,
    pub targets: RefCell<Vec<TargetSlot>>,
    /// Bumped by every change of the target list.
    pub generation: Cell<u64>,
    pub selector: RefCell<Selector>,
    /// Which targets may be picked: health from the checker, suspect marks, draining.
    pub avail: RefCell<Availability>,
    /// Whether active health checks run for the group (else suspect marks lapse by time).
    pub checks: bool,
    /// `slow_start.duration_seconds`; zero is off.
    pub slow_start: Duration,
    pub pool: RefCell<Pool>,
}

impl GroupState {
    /// Group `g` at `slot`, in worker `worker` (which seeds the random algorithms: the
    /// workers' draws differ).
    pub fn new(slot: usize, g: &TargetGroup, worker: usize) -> Self {
        GroupState {
            slot,
            targets: RefCell::new(
                g.targets
                    .iter()
                    .map(|t| TargetSlot::new(t.address))
                    .collect(),
            ),
            generation: Cell::new(0),
            selector: RefCell::new(Selector::for_group(g, worker as u64 + 1)),
            avail: RefCell::new(Availability::new(
                &g.targets,
                Self::fresh(g.health_check.enabled),
            )),
            checks: g.health_check.enabled,
            slow_start: g.slow_start,
            pool: RefCell::new(Pool::new(
                slot,
                g.targets.len(),
                g.pool_max_idle_per_target,
                g.pool_idle_timeout,
            )),
        }
    }

    /// Group `g` at `slot` replacing `old` (a reload changed its settings): targets it shares
    /// with `old` keep what this worker knows of them (health, suspect marks, slow start,
    /// counters), so the new group sends no request to a target known unhealthy and keeps
    /// sending to healthy ones while the checks carry on. With checks off, all are healthy.
    pub fn replacing(
        slot: usize,
        g: &TargetGroup,
        worker: usize,
        old: &GroupState,
        now: u64,
    ) -> Self {
        let next = GroupState::new(slot, g, worker);
        {
            let old_targets = old.targets.borrow();
            let old_avail = old.avail.borrow();
            let targets = next.targets.borrow();
            let mut states = Vec::with_capacity(targets.len());
            for target in targets.iter() {
                let Some(j) = old_targets.iter().position(|t| t.addr == target.addr) else {
                    states.push(None);
                    continue;
                };
                let was = &old_targets[j];
                target.connects.set(was.connects.get());
                target.suspect_since.set(was.suspect_since.get());
                target.ramp.set(match was.ramp.get() {
                    _ if next.slow_start.is_zero() => Ramp::Off,
                    Ramp::Waiting if !next.checks => Ramp::Since(now),
                    ramp => ramp,
                });
                let mut state = old_avail.state(j);
                state.healthy = state.healthy || !next.checks;
                state.ramp = next.ramp_of(target, now);
                states.push(Some(state));
            }
            next.avail.borrow_mut().modify(|all| {
                for (s, inherited) in all.iter_mut().zip(states) {
                    if let Some(state) = inherited {
                        *s = state;
                    }
                }
            });
        }
        next
    }

    /// A new target's state: `initial` until its first passing probe when checks run.
    fn fresh(checks: bool) -> TargetState {
        if checks {
            TargetState::INITIAL
        } else {
            TargetState::HEALTHY
        }
    }

    /// A reference to target `index` of the list as it is now.
    pub fn target_ref(&self, index: usize) -> TargetRef {
        TargetRef {
            index,
            addr: self.targets.borrow()[index].addr,
            generation: self.generation.get(),
        }
    }

    /// Where `t` is in the list now; `None` when it has left the group.
    pub fn current(&self, t: TargetRef) -> Option<usize> {
        if self.generation.get() == t.generation {
            Some(t.index)
        } else {
            self.index_of(t.addr)
        }
    }

    /// The index of the target at `addr` now.
    pub fn index_of(&self, addr: SocketAddr) -> Option<usize> {
        self.targets.borrow().iter().position(|t| t.addr == addr)
    }

    /// A refused or unreachable connect: the target is avoided by this worker until a probe
    /// passes (or, without checks, for `SUSPECT_HOLD_MS`). Returns the target's address when
    /// the mark is new and checks run: the checker should probe it now.
    pub fn mark_suspect(&self, target: usize, now: u64) -> Option<SocketAddr> {
        let targets = self.targets.borrow();
        let slot = targets.get(target)?;
        let new = slot.suspect_since.replace(Some(now)).is_none();
        if new {
            self.avail.borrow_mut().set_suspect(target, true);
        }
        (new && self.checks).then_some(slot.addr)
    }

    /// What the checker found of the target at `addr`: `healthy` decides routing; a passing
    /// probe clears a suspect mark.
    pub fn apply_health(&self, addr: SocketAddr, healthy: bool, passed: bool, now: u64) {
        let Some(target) = self.index_of(addr) else {
            return;
        };
        let slot = &self.targets.borrow()[target];
        if passed {
            slot.suspect_since.set(None);
        }
        let suspect = slot.suspect_since.get().is_some();
        if healthy && slot.ramp.get() == Ramp::Waiting {
            slot.ramp.set(Ramp::Since(now));
        }
        let ramp = self.ramp_of(slot, now);
        self.avail.borrow_mut().modify(|states| {
            states[target].healthy = healthy;
            states[target].suspect = suspect;
            states[target].ramp = ramp;
        });
    }

    /// A slot's slow-start weight factor at `now` (`RAMP_FULL` when not ramping).
    fn ramp_of(&self, slot: &TargetSlot, now: u64) -> u32 {
        match slot.ramp.get() {
            Ramp::Off => RAMP_FULL,
            Ramp::Waiting => 1,
            Ramp::Since(start) => {
                let elapsed = Duration::from_millis(now.saturating_sub(start));
                let ramp = slow_start_ramp(elapsed, self.slow_start);
                if ramp >= RAMP_FULL {
                    slot.ramp.set(Ramp::Off);
                }
                ramp
            }
        }
    }

    /// Moves every ramping target's weight along its slow start (called every 100 ms).
    pub fn advance_ramps(&self, now: u64) {
        let targets = self.targets.borrow();
        if targets
            .iter()
            .all(|t| !matches!(t.ramp.get(), Ramp::Since(_)))
        {
            return;
        }
        let ramps: Vec<u32> = targets.iter().map(|t| self.ramp_of(t, now)).collect();
        self.avail.borrow_mut().modify(|states| {
            for (state, ramp) in states.iter_mut().zip(ramps) {
                state.ramp = ramp;
            }
        });
    }

    /// Without health checks a suspect mark lapses after `SUSPECT_HOLD_MS`.
    pub fn expire_suspects(&self, now: u64) {
        if self.checks {
            return;
        }
        for (target, slot) in self.targets.borrow().iter().enumerate() {
            if slot
                .suspect_since
                .get()
                .is_some_and(|at| now.saturating_sub(at) >= SUSPECT_HOLD_MS)
            {
                slot.suspect_since.set(None);
                self.avail.borrow_mut().set_suspect(target, false);
            }
        }
    }

    /// A new target list from the control plane; `draining` are in it but take no new
    /// requests and keep no idle connections. Targets that stay (by address) keep their
    /// counters, marks, health, requests in flight and pooled connections.
    pub fn update(&self, targets: &[Target], draining: &[SocketAddr], timers: &Timers) {
        let now = timers.now();
        let old: Vec<SocketAddr> = self.targets.borrow().iter().map(|t| t.addr).collect();
        let mut slots: Vec<TargetSlot> = std::mem::take(&mut *self.targets.borrow_mut())
            .into_iter()
            .collect();
        let next: Vec<TargetSlot> = targets
            .iter()
            .map(|t| match slots.iter().position(|s| s.addr == t.address) {
                Some(i) => slots.swap_remove(i),
                None => {
                    let slot = TargetSlot::new(t.address);
                    if !self.slow_start.is_zero() {
                        // Without checks a new target is healthy at once.
                        slot.ramp.set(if self.checks {
                            Ramp::Waiting
                        } else {
                            Ramp::Since(now)
                        });
                    }
                    slot
                }
            })
            .collect();
        *self.targets.borrow_mut() = next;
        self.generation.set(self.generation.get() + 1);
        self.selector.borrow_mut().update(targets);
        let new: Vec<SocketAddr> = targets.iter().map(|t| t.address).collect();
        let mut pool = self.pool.borrow_mut();
        pool.retarget(&old, &new);
        let mut avail = self.avail.borrow_mut();
        avail.update(targets, Self::fresh(self.checks));
        let ramps: Vec<u32> = self
            .targets
            .borrow()
            .iter()
            .map(|t| self.ramp_of(t, now))
            .collect();
        for (i, addr) in new.iter().enumerate() {
            if avail.state(i).ramp != ramps[i] {
                avail.set_ramp(i, ramps[i]);
            }
            let drain = draining.contains(addr);
            if avail.state(i).draining != drain {
                avail.set_draining(i, drain);
            }
            if drain {
                pool.clear(i);
            }
        }
    }
}
