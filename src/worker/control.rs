//! The control plane's way into the workers. The admin thread holds a [`ControlPlane`]: the
//! attributes in force, the listeners and each group's target list (registrations,
//! draining), and one channel per worker; `inbox` is the workers' end of it.
//!
//! Listeners and groups are known to the workers by slot: their index in the config at start,
//! then a new slot for each one a reload adds (or, for a group whose settings changed,
//! replaces). Slots are never reused, so a request, a pooled connection's timer or a probe
//! result that still names an old slot finds the group it meant, or nothing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::admin::{GroupListing, HealthTable, Labels, Published, RefusedChange};
use crate::balance::Health;
use crate::config::{Attributes, Config, ConfigError, Listener, LoadBalancer, Target, TargetGroup};

use super::health::{self, HealthCommand, Probed};
pub use super::inbox::Control;
use super::listen::bind_group;

/// A draining target with no request in flight is removed once this has passed since the
/// drain began: every worker has seen the drain (`inbox::POLL`) and published its counts since
/// (once a second).
const DRAIN_SETTLE: Duration = Duration::from_millis(2100);

/// A group as the control plane keeps it.
struct GroupView {
    slot: usize,
    config: TargetGroup,
    /// Deregistered targets still in `config.targets`, and when their drain began.
    draining: Vec<(SocketAddr, Instant)>,
    /// Slots the group had before reloads replaced it: its metrics keep their labels.
    past_slots: Vec<usize>,
}

/// A listener as the control plane keeps it.
struct ListenerView {
    slot: usize,
    /// As the file has it (group indices into the file's groups); a reload finds the
    /// listener again by its address and port.
    config: Listener,
    /// The rules the workers route by: group indices are slots.
    routes: Listener,
    bound: SocketAddr,
}

impl ListenerView {
    fn same_socket(&self, l: &Listener) -> bool {
        (self.config.address, self.config.port) == (l.address, l.port)
    }
}

/// `l` with its group indices (into the file's groups) turned into slots.
fn slotted(l: &Listener, slots: &[usize]) -> Listener {
    let slot = |i: usize| slots.get(i).copied().unwrap_or(i);
    let mut routes = l.clone();
    routes.default_target_group = slot(l.default_target_group);
    for r in &mut routes.rules {
        r.target_group = slot(r.target_group);
    }
    routes
}

/// A group's settings other than its targets: when they change, a reload replaces the group.
fn settings(g: &TargetGroup) -> TargetGroup {
    TargetGroup {
        targets: Vec::new(),
        ..g.clone()
    }
}

/// The attributes in force, the target lists, and the way to every worker.
pub struct ControlPlane {
    attrs: Mutex<Attributes>,
    /// `[load_balancer]` as the process started with it, but for `admin_token`, which a
    /// reload changes live; the rest takes a restart (`reload` says so).
    load_balancer: Mutex<LoadBalancer>,
    groups: Mutex<Vec<GroupView>>,
    workers: Vec<Sender<Control>>,
    health: OnceLock<Sender<HealthCommand>>,
    table: HealthTable,
    published: Vec<Published>,
    stopping: AtomicBool,
    /// Where `reload` reads the config from (`None` for `ringway demo`), and the listeners
    /// as last loaded. A reload locks `listeners`, then `groups`.
    config_path: Option<std::path::PathBuf>,
    listeners: Mutex<Vec<ListenerView>>,
    /// The slots the next added listener and group get.
    next_listener: AtomicUsize,
    next_group: AtomicUsize,
}

impl ControlPlane {
    /// `bound`: where each of `config`'s listeners is bound.
    pub(super) fn new(
        config: &Config,
        bound: &[SocketAddr],
        config_path: Option<std::path::PathBuf>,
        workers: Vec<Sender<Control>>,
        table: HealthTable,
        published: Vec<Published>,
    ) -> Self {
        let (attrs, groups) = (config.attributes, &config.target_groups);
        let listeners = config
            .listeners
            .iter()
            .zip(bound)
            .enumerate()
            .map(|(slot, (l, &bound))| ListenerView {
                slot,
                config: l.clone(),
                routes: l.clone(),
                bound,
            })
            .collect();
        ControlPlane {
            config_path,
            listeners: Mutex::new(listeners),
            next_listener: AtomicUsize::new(config.listeners.len()),
            next_group: AtomicUsize::new(groups.len()),
            attrs: Mutex::new(attrs),
            load_balancer: Mutex::new(config.load_balancer.clone()),
            groups: Mutex::new(
                groups
                    .iter()
                    .enumerate()
                    .map(|(slot, g)| GroupView {
                        slot,
                        config: g.clone(),
                        draining: Vec::new(),
                        past_slots: Vec::new(),
                    })
                    .collect(),
            ),
            workers,
            health: OnceLock::new(),
            table,
            published,
            stopping: AtomicBool::new(false),
        }
    }

    /// Where registrations and removals reach the health checker.
    pub(super) fn set_health(&self, tx: Sender<HealthCommand>) {
        let _ = self.health.set(tx);
    }

    fn tell_checker(&self, command: HealthCommand) {
        if let Some(tx) = self.health.get() {
            let _ = tx.send(command);
        }
    }

    pub fn attributes(&self) -> Attributes {
        *self.attrs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies every `(key, value)` or, if one is refused, none; returns the attributes now in
    /// force. The error names the key, the value and what is allowed.
    pub fn set_attributes(&self, changes: &[(String, String)]) -> Result<Attributes, ConfigError> {
        let mut current = self.attrs.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = *current;
        for (key, value) in changes {
            next.set(key, value)?;
        }
        *current = next;
        self.broadcast(|| Control::Attributes(next));
        Ok(next)
    }

    /// The bound address of each listener, in the order of the file last loaded.
    pub fn listeners(&self) -> Vec<SocketAddr> {
        let listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        listeners.iter().map(|l| l.bound).collect()
    }

    /// Re-reads the config file and applies it without dropping a connection or failing a
    /// request in flight, all or nothing:
    /// - attributes;
    /// - listeners, found again by address and port: a new one is bound in every worker
    ///   (a bind error refuses the file), a missing one stops accepting and its connections
    ///   close (busy ones after their response), and one whose rules changed routes by the
    ///   new ones;
    /// - target groups, found again by name: a new one is added, a missing one removed
    ///   (requests in flight on it finish), and one whose settings other than its targets
    ///   changed is replaced by a group with the new settings whose targets start with the
    ///   health they have now;
    /// - each group's targets: new ones registered, missing ones drained, weights changed
    ///   (the file wins over live registrations);
    /// - `load_balancer.admin_token`; the section's other keys are set up at start, and the
    ///   answer names those the file changes as waiting for the next start.
    ///
    /// While `deletion_protection.enabled` is true (as it was before this reload), a file
    /// that removes a listener or a group is refused with 409.
    pub fn reload(&self) -> Result<String, RefusedChange> {
        let Some(path) = &self.config_path else {
            return Err(RefusedChange::conflict(
                "this balancer was not started from a config file (ringway demo)".into(),
            ));
        };
        let next = Config::load(path).map_err(|e| RefusedChange::bad(e.to_string()))?;
        // The file's own check holds a token to its admin address; the API stays on the
        // address it started on until a restart, and off loopback it keeps needing one.
        let running_admin = self
            .load_balancer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admin;
        if next.load_balancer.admin_token.is_none() && !running_admin.ip().is_loopback() {
            return Err(RefusedChange::bad(format!(
                "config: load_balancer.admin_token = \"\": allowed a non-empty token while the admin API runs on {running_admin} (not loopback) until a restart; nothing was applied"
            )));
        }
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());

        // What the file keeps, adds and removes; nothing is applied until it all can be.
        let mut kept_listener: Vec<Option<usize>> = Vec::new();
        for l in &next.listeners {
            let found = (0..listeners.len())
                .find(|&k| listeners[k].same_socket(l) && !kept_listener.contains(&Some(k)));
            kept_listener.push(found);
        }
        let removed_listeners: Vec<usize> = (0..listeners.len())
            .filter(|k| !kept_listener.contains(&Some(*k)))
            .collect();
        let removed_groups: Vec<usize> = (0..groups.len())
            .filter(|&k| {
                !next
                    .target_groups
                    .iter()
                    .any(|g| g.name == groups[k].config.name)
            })
            .collect();
        if self.attributes().deletion_protection
            && (!removed_listeners.is_empty() || !removed_groups.is_empty())
        {
            let what: Vec<String> = removed_listeners
                .iter()
                .map(|&k| format!("listener {}", listeners[k].bound))
                .chain(
                    removed_groups
                        .iter()
                        .map(|&k| format!("target group {}", groups[k].config.name)),
                )
                .collect();
            return Err(RefusedChange::conflict(format!(
                "deletion protection is on and this file removes {}: run `ringway attrs set deletion_protection.enabled=false` first; nothing was applied",
                what.join(", ")
            )));
        }
        let mut sockets = Vec::new();
        for (l, kept) in next.listeners.iter().zip(&kept_listener) {
            if kept.is_none() {
                let addr = SocketAddr::new(l.address, l.port);
                let bound = bind_group(addr, self.workers.len()).map_err(|e| {
                    RefusedChange::conflict(format!(
                        "cannot listen on {addr}: {e}; nothing was applied"
                    ))
                })?;
                sockets.push(bound);
            }
        }

        let mut changes = Vec::new();
        {
            let mut attrs = self.attrs.lock().unwrap_or_else(|e| e.into_inner());
            if *attrs != next.attributes {
                *attrs = next.attributes;
                changes.push("attributes".to_string());
                self.broadcast(|| Control::Attributes(next.attributes));
            }
        }
        // The admin token changes at once (a rotated token must not wait for a restart); the
        // workers, the admin address and the access log are set up at start.
        let mut at_next_start = Vec::new();
        {
            let mut lb = self.load_balancer.lock().unwrap_or_else(|e| e.into_inner());
            let new = &next.load_balancer;
            if lb.admin_token != new.admin_token {
                lb.admin_token.clone_from(&new.admin_token);
                changes.push("load_balancer.admin_token".to_string());
            }
            for (key, differs) in [
                ("load_balancer.workers", lb.workers != new.workers),
                ("load_balancer.admin", lb.admin != new.admin),
                ("load_balancer.access_log", lb.access_log != new.access_log),
            ] {
                if differs {
                    at_next_start.push(key);
                }
            }
        }
        // Groups first, so that no router names a slot a worker does not have yet.
        let mut old_groups: Vec<Option<GroupView>> =
            std::mem::take(&mut *groups).into_iter().map(Some).collect();
        let mut retired = Vec::new();
        for new in &next.target_groups {
            let found = old_groups
                .iter()
                .position(|g| g.as_ref().is_some_and(|g| g.config.name == new.name));
            let view = match found.and_then(|k| old_groups[k].take()) {
                Some(mut old) if settings(&old.config) == settings(new) => {
                    if self.retarget(&mut old, new) {
                        changes.push(format!("target group {} targets", new.name));
                    }
                    old
                }
                Some(old) => {
                    changes.push(format!("target group {} settings changed", new.name));
                    let view = self.replace_group(&old, new);
                    retired.push(old);
                    view
                }
                None => {
                    changes.push(format!("target group {} added", new.name));
                    self.add_group(new)
                }
            };
            groups.push(view);
        }
        let slots: Vec<usize> = groups.iter().map(|g| g.slot).collect();
        // Listeners: the file's order is the listing's.
        let mut old_listeners: Vec<Option<ListenerView>> = std::mem::take(&mut *listeners)
            .into_iter()
            .map(Some)
            .collect();
        let mut sockets = sockets.into_iter();
        for (new, kept) in next.listeners.iter().zip(kept_listener) {
            let routes = slotted(new, &slots);
            let view = match kept.and_then(|k| old_listeners[k].take()) {
                Some(mut view) => {
                    if view.config != *new {
                        changes.push(format!("listener {} rules", view.bound));
                    }
                    // Also when only the slot of a group it names changed (replaced).
                    if view.routes != routes {
                        self.broadcast(|| Control::Routes {
                            listener: view.slot,
                            config: routes.clone(),
                        });
                    }
                    view.config = new.clone();
                    view.routes = routes;
                    view
                }
                None => {
                    let Some((bound, group)) = sockets.next() else {
                        continue;
                    };
                    let slot = self.next_listener.fetch_add(1, Ordering::SeqCst);
                    for (worker, socket) in self.workers.iter().zip(group) {
                        let _ = worker.send(Control::Listen {
                            listener: slot,
                            addr: bound,
                            config: routes.clone(),
                            socket,
                        });
                    }
                    changes.push(format!("listener {bound} added"));
                    ListenerView {
                        slot,
                        config: new.clone(),
                        routes,
                        bound,
                    }
                }
            };
            listeners.push(view);
        }
        for old in old_listeners.into_iter().flatten() {
            changes.push(format!("listener {} removed", old.bound));
            self.broadcast(|| Control::Unlisten { listener: old.slot });
        }
        drop(listeners);
        // Then the groups no router names any more.
        for old in old_groups.into_iter().flatten() {
            changes.push(format!("target group {} removed", old.config.name));
            self.remove_group(&old, true);
        }
        for old in retired {
            self.remove_group(&old, false);
        }
        let mut summary = match (changes.is_empty(), at_next_start.is_empty()) {
            (true, true) => "nothing changed".to_string(),
            (true, false) => "nothing applied now".to_string(),
            (false, _) => format!("applied: {}", changes.join(", ")),
        };
        if !at_next_start.is_empty() {
            summary.push_str(&format!("; {} at the next start", at_next_start.join(", ")));
        }
        eprintln!("ringway: reload of {}: {summary}", path.display());
        Ok(summary)
    }

    /// Makes `g`'s targets the file's `new`: new ones registered, missing ones drained,
    /// weights changed, draining ones named again kept. True when something changed.
    fn retarget(&self, g: &mut GroupView, new: &TargetGroup) -> bool {
        let mut changed = false;
        for t in &new.targets {
            let draining = g.draining.iter().position(|d| d.0 == t.address);
            match g.config.targets.iter_mut().find(|c| c.address == t.address) {
                Some(current) => {
                    if let Some(pos) = draining {
                        g.draining.remove(pos);
                        changed = true;
                    }
                    if current.weight != t.weight {
                        current.weight = t.weight;
                        changed = true;
                    }
                }
                None => {
                    self.add_target(g, *t);
                    changed = true;
                }
            }
        }
        changed |= drain_missing(g, new);
        if changed {
            self.send_targets(g);
        }
        changed
    }

    /// A group the file adds: a new slot in every worker, its rows, its probes.
    fn add_group(&self, new: &TargetGroup) -> GroupView {
        let slot = self.next_group.fetch_add(1, Ordering::SeqCst);
        self.broadcast(|| Control::AddGroup {
            group: slot,
            config: new.clone(),
            replaces: None,
        });
        for t in &new.targets {
            self.track_target(slot, new, t.address);
        }
        GroupView {
            slot,
            config: new.clone(),
            draining: Vec::new(),
            past_slots: Vec::new(),
        }
    }

    /// A group whose settings the file changes: a new slot with the new settings, whose
    /// targets start with the health they have in `old` (the caller removes `old` once the
    /// routers name the new slot). Targets the file leaves out drain in the new group.
    fn replace_group(&self, old: &GroupView, new: &TargetGroup) -> GroupView {
        let slot = self.next_group.fetch_add(1, Ordering::SeqCst);
        let mut view = GroupView {
            slot,
            config: new.clone(),
            draining: Vec::new(),
            past_slots: old.past_slots.iter().copied().chain([old.slot]).collect(),
        };
        // Draining targets stay until their drain ends; those the file names again do not.
        for t in &old.config.targets {
            if !new.targets.iter().any(|n| n.address == t.address) {
                view.config.targets.push(*t);
                if let Some(d) = old.draining.iter().find(|d| d.0 == t.address) {
                    view.draining.push(*d);
                }
            }
        }
        drain_missing(&mut view, new);
        self.broadcast(|| Control::AddGroup {
            group: slot,
            config: view.config.clone(),
            replaces: Some(old.slot),
        });
        if !view.draining.is_empty() {
            self.send_targets(&view);
        }
        let (was_checked, checked) = (
            old.config.health_check.enabled,
            view.config.health_check.enabled,
        );
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        for t in &view.config.targets {
            let known = old.config.targets.iter().any(|o| o.address == t.address);
            let now = table
                .iter()
                .find(|r| r.group_index == old.slot && r.target == t.address)
                .map(|r| r.health);
            // What the target is now: as checked, healthy when unchecked, else new.
            let health = match (checked, known, now) {
                (false, _, _) => Health::Healthy,
                (true, true, Some(h)) => h,
                (true, true, None) => Health::Healthy,
                (true, false, _) => Health::Initial,
            };
            let mut row = health::row(slot, &view.config, t.address);
            row.health = health;
            table.push(row);
            if checked {
                let probed = Probed::new(slot, &view.config, t.address).starting(health);
                self.tell_checker(if known && was_checked {
                    HealthCommand::Move(old.slot, probed)
                } else {
                    HealthCommand::Add(probed)
                });
            }
        }
        drop(table);
        view
    }

    /// Takes a removed (`removed`) or replaced group out of the workers, the admin table and
    /// the checker; requests in flight on it finish.
    fn remove_group(&self, old: &GroupView, removed: bool) {
        self.broadcast(|| Control::RemoveGroup { group: old.slot });
        if let Ok(mut table) = self.table.lock() {
            table.retain(|r| r.group_index != old.slot);
        }
        // A probe moved to the replacement group is no longer under the old slot.
        for t in &old.config.targets {
            self.tell_checker(HealthCommand::Remove(old.slot, t.address));
        }
        if removed {
            eprintln!(
                "ringway: target group {} removed; requests in flight on it finish",
                old.config.name
            );
        }
    }
    /// Starts a graceful stop; refused while `deletion_protection.enabled` is true (`force`,
    /// for SIGTERM from the service manager, stops anyway).
    pub fn stop(&self, force: bool) -> Result<(), RefusedChange> {
        if !force && self.attributes().deletion_protection {
            return Err(RefusedChange::conflict(
                "deletion protection is on: run `ringway attrs set deletion_protection.enabled=false` first"
                    .into(),
            ));
        }
        if !self.stopping.swap(true, Ordering::SeqCst) {
            eprintln!("ringway: stopping: listeners closed, draining connections");
        }
        self.broadcast(|| Control::Stop);
        Ok(())
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Sends one message to every worker.
    pub(super) fn broadcast(&self, message: impl Fn() -> Control) {
        for w in &self.workers {
            let _ = w.send(message());
        }
    }

    /// The metrics' labels by slot: live listeners' addresses, live groups' names (on the
    /// slots they had before reloads replaced them too); removed ones are `None`.
    pub fn labels(&self) -> Labels {
        let mut labels = Labels {
            listeners: vec![None; self.next_listener.load(Ordering::SeqCst)],
            groups: vec![None; self.next_group.load(Ordering::SeqCst)],
        };
        for l in self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            if let Some(label) = labels.listeners.get_mut(l.slot) {
                *label = Some(l.bound.to_string());
            }
        }
        for g in self.groups.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            for &slot in g.past_slots.iter().chain([&g.slot]) {
                if let Some(label) = labels.groups.get_mut(slot) {
                    *label = Some(g.config.name.clone());
                }
            }
        }
        labels
    }

    /// Every group with its targets and whether each is draining.
    pub fn target_groups(&self) -> Vec<GroupListing> {
        let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups
            .iter()
            .map(|g| {
                let targets = g
                    .config
                    .targets
                    .iter()
                    .map(|t| (*t, g.draining.iter().any(|d| d.0 == t.address)))
                    .collect();
                GroupListing {
                    slot: g.slot,
                    name: g.config.name.clone(),
                    algorithm: g.config.algorithm.name(),
                    targets,
                }
            })
            .collect()
    }

    /// Adds a target to a group; it takes requests once it passes a probe (checks on) or at
    /// once. A draining target registered again stops draining.
    pub fn register(&self, group: &str, target: Target) -> Result<(), RefusedChange> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let g = find_group(&mut groups, group)?;
        if target.weight > 999 {
            return Err(RefusedChange::bad(format!(
                "weight {}: allowed 0..=999",
                target.weight
            )));
        }
        if let Some(pos) = g.draining.iter().position(|d| d.0 == target.address) {
            g.draining.remove(pos);
            if let Some(t) = g
                .config
                .targets
                .iter_mut()
                .find(|t| t.address == target.address)
            {
                t.weight = target.weight;
            }
        } else if g.config.targets.iter().any(|t| t.address == target.address) {
            return Err(RefusedChange::conflict(format!(
                "target {} is already registered in target group {group}",
                target.address
            )));
        } else {
            self.add_target(g, target);
        }
        self.send_targets(g);
        Ok(())
    }

    /// Puts a new target in group `g`: its list, the admin table, and the checker's
    /// probes when the group has checks on. The caller sends the list to the workers.
    fn add_target(&self, g: &mut GroupView, target: Target) {
        g.config.targets.push(target);
        self.track_target(g.slot, &g.config, target.address);
    }

    /// A new target at `addr` of group `g` (at `slot`): its row in the admin table and, when
    /// the group has checks on, its probes.
    fn track_target(&self, slot: usize, g: &TargetGroup, addr: SocketAddr) {
        if let Ok(mut table) = self.table.lock() {
            table.push(health::row(slot, g, addr));
        }
        if g.health_check.enabled {
            self.tell_checker(HealthCommand::Add(Probed::new(slot, g, addr)));
        }
    }

    /// Starts draining a target: no new requests, its idle connections closed; it leaves the
    /// group when its requests in flight are done, or `deregistration_delay` at most.
    pub fn deregister(&self, group: &str, addr: SocketAddr) -> Result<(), RefusedChange> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let g = find_group(&mut groups, group)?;
        if !g.config.targets.iter().any(|t| t.address == addr) {
            return Err(RefusedChange::not_found(format!(
                "target {addr} is not registered in target group {group}"
            )));
        }
        if !g.draining.iter().any(|d| d.0 == addr) {
            g.draining.push((addr, Instant::now()));
            eprintln!("ringway: target group {group}: target {addr} is draining");
        }
        self.send_targets(g);
        Ok(())
    }

    /// Removes draining targets that are done: nothing in flight in any worker's last count,
    /// or the deregistration delay has passed. Called once a second.
    pub(super) fn finish_drains(&self) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        for g in groups.iter_mut() {
            let index = g.slot;
            let delay = g.config.deregistration_delay;
            let mut done = Vec::new();
            for &(addr, since) in &g.draining {
                let waited = since.elapsed();
                if waited >= delay || (waited >= DRAIN_SETTLE && self.in_flight(index, addr) == 0) {
                    done.push(addr);
                }
            }
            if done.is_empty() {
                continue;
            }
            g.draining.retain(|d| !done.contains(&d.0));
            g.config.targets.retain(|t| !done.contains(&t.address));
            if let Ok(mut table) = self.table.lock() {
                table.retain(|r| !(r.group_index == index && done.contains(&r.target)));
            }
            for addr in &done {
                eprintln!(
                    "ringway: target group {}: target {addr} deregistered",
                    g.config.name
                );
                self.tell_checker(HealthCommand::Remove(index, *addr));
            }
            self.send_targets(g);
        }
    }

    /// Requests in flight on a target, summed over the workers' last published counts.
    fn in_flight(&self, group: usize, addr: SocketAddr) -> u64 {
        self.published
            .iter()
            .filter_map(|p| p.lock().ok())
            .flat_map(|s| {
                s.targets
                    .iter()
                    .filter(|t| t.group == group && t.target == addr)
                    .map(|t| t.outstanding)
                    .collect::<Vec<_>>()
            })
            .sum()
    }

    fn send_targets(&self, g: &GroupView) {
        let group = g.slot;
        let targets = g.config.targets.clone();
        let draining: Vec<SocketAddr> = g.draining.iter().map(|d| d.0).collect();
        self.broadcast(|| Control::Targets {
            group,
            targets: targets.clone(),
            draining: draining.clone(),
        });
    }
}

fn find_group<'a>(
    groups: &'a mut [GroupView],
    name: &str,
) -> Result<&'a mut GroupView, RefusedChange> {
    groups
        .iter_mut()
        .find(|g| g.config.name == name)
        .ok_or_else(|| RefusedChange::not_found(format!("no target group named {name:?}")))
}

/// Starts draining the targets of `g` the file's `new` leaves out. True when one started.
fn drain_missing(g: &mut GroupView, new: &TargetGroup) -> bool {
    let mut changed = false;
    for current in &g.config.targets {
        let kept = new.targets.iter().any(|t| t.address == current.address);
        if !kept && !g.draining.iter().any(|d| d.0 == current.address) {
            g.draining.push((current.address, Instant::now()));
            eprintln!(
                "ringway: target group {}: target {} is draining",
                g.config.name, current.address
            );
            changed = true;
        }
    }
    changed
}

impl crate::admin::Plane for ControlPlane {
    fn attributes(&self) -> Attributes {
        ControlPlane::attributes(self)
    }

    fn set_attributes(&self, changes: &[(String, String)]) -> Result<Attributes, ConfigError> {
        ControlPlane::set_attributes(self, changes)
    }

    fn target_groups(&self) -> Vec<GroupListing> {
        ControlPlane::target_groups(self)
    }

    fn register(&self, group: &str, target: Target) -> Result<(), RefusedChange> {
        ControlPlane::register(self, group, target)
    }

    fn deregister(&self, group: &str, addr: SocketAddr) -> Result<(), RefusedChange> {
        ControlPlane::deregister(self, group, addr)
    }

    fn stop(&self) -> Result<(), RefusedChange> {
        ControlPlane::stop(self, false)
    }

    fn reload(&self) -> Result<String, RefusedChange> {
        ControlPlane::reload(self)
    }

    fn labels(&self) -> Labels {
        ControlPlane::labels(self)
    }

    fn is_stopping(&self) -> bool {
        ControlPlane::is_stopping(self)
    }

    fn admin_token(&self) -> Option<String> {
        self.load_balancer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .admin_token
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plane over `text`, read back from a file a reload can rewrite; no worker.
    fn plane(text: &str, path: &std::path::Path) -> ControlPlane {
        std::fs::write(path, text).unwrap();
        let config = Config::load(path).unwrap();
        let bound: Vec<SocketAddr> = config
            .listeners
            .iter()
            .map(|l| SocketAddr::new(l.address, l.port))
            .collect();
        let table = std::sync::Arc::new(Mutex::new(health::initial_table(&config)));
        ControlPlane::new(
            &config,
            &bound,
            Some(path.to_path_buf()),
            Vec::new(),
            table,
            Vec::new(),
        )
    }

    /// The admin API stays where it started until a restart: off loopback, a reload may not
    /// take its token away, even with a file that moves the API to loopback.
    #[test]
    fn a_reload_keeps_a_token_on_an_admin_api_off_loopback() {
        let path = std::env::temp_dir().join(format!("ringway-plane-{}.toml", std::process::id()));
        let text = |admin: &str, token: &str| {
            format!(
                "[load_balancer]\nadmin = \"{admin}\"\nadmin_token = \"{token}\"\n\n\
                 [[listeners]]\naddress = \"127.0.0.1\"\nport = 0\ndefault_target_group = \"web\"\n\n\
                 [[target_groups]]\nname = \"web\"\n"
            )
        };
        let plane = plane(&text("0.0.0.0:9900", "first"), &path);
        std::fs::write(&path, text("127.0.0.1:9900", "")).unwrap();
        let refused = plane.reload().unwrap_err();
        assert!(
            refused.message.contains("load_balancer.admin_token")
                && refused.message.contains("0.0.0.0:9900"),
            "{}",
            refused.message
        );
        assert_eq!(
            crate::admin::Plane::admin_token(&plane).as_deref(),
            Some("first")
        );
        // A new token is taken; the move to loopback waits for the next start.
        std::fs::write(&path, text("127.0.0.1:9900", "second")).unwrap();
        let said = plane.reload().unwrap();
        assert_eq!(
            said,
            "applied: load_balancer.admin_token; load_balancer.admin at the next start"
        );
        assert_eq!(
            crate::admin::Plane::admin_token(&plane).as_deref(),
            Some("second")
        );
        let _ = std::fs::remove_file(&path);
    }
}
