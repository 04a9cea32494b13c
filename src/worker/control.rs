//! The control plane's way into the workers. The admin thread holds a [`ControlPlane`]: the
//! attributes in force, each group's target list (registrations, draining), and one channel
//! per worker. Each worker drains its channel every `POLL` in a task of its own, so a change
//! reaches every worker within that, and the request path never takes a lock: it reads the
//! worker's own copies.

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::admin::{GroupListing, HealthTable, Published, RefusedChange};
use crate::balance::Router;
use crate::config::{Attributes, Config, ConfigError, Listener, Target, TargetGroup};

use super::health::{self, HealthCommand, Probed};
use super::state::Worker;

/// How often a worker looks for control messages.
const POLL: Duration = Duration::from_millis(100);
/// A draining target with no request in flight is removed once this has passed since the
/// drain began: every worker has seen the drain (`POLL`) and published its counts since
/// (once a second).
const DRAIN_SETTLE: Duration = Duration::from_millis(2100);

/// What the control plane tells a worker.
pub enum Control {
    /// New attributes: for the next request, the next timer armed, the next connection
    /// (`client_keep_alive.seconds`, which a connection keeps from its start, as on ALB).
    Attributes(Attributes),
    /// A health check of the target at `target` in `group` ended: whether the target may be
    /// routed to, and whether this probe passed (which clears a worker's suspect mark).
    Health {
        group: usize,
        target: SocketAddr,
        healthy: bool,
        passed: bool,
    },
    /// Stop accepting, finish what is in flight, then exit.
    Stop,
    /// A listener's rules after a reload.
    Routes { listener: usize, config: Listener },
    /// The group's target list now; `draining` targets are in it but take no new requests.
    Targets {
        group: usize,
        targets: Vec<Target>,
        draining: Vec<SocketAddr>,
    },
}

/// A group as the control plane keeps it.
struct GroupView {
    config: TargetGroup,
    /// Deregistered targets still in `config.targets`, and when their drain began.
    draining: Vec<(SocketAddr, Instant)>,
}

/// The attributes in force, the target lists, and the way to every worker.
pub struct ControlPlane {
    attrs: Mutex<Attributes>,
    groups: Mutex<Vec<GroupView>>,
    workers: Vec<Sender<Control>>,
    health: OnceLock<Sender<HealthCommand>>,
    table: HealthTable,
    published: Vec<Published>,
    stopping: std::sync::atomic::AtomicBool,
    /// Where `reload` reads the config from (`None` for `ringway demo`), and the listeners
    /// as last loaded.
    config_path: Option<std::path::PathBuf>,
    listeners: Mutex<Vec<Listener>>,
}

impl ControlPlane {
    pub(super) fn new(
        config: &Config,
        config_path: Option<std::path::PathBuf>,
        workers: Vec<Sender<Control>>,
        table: HealthTable,
        published: Vec<Published>,
    ) -> Self {
        let (attrs, groups) = (config.attributes, &config.target_groups);
        ControlPlane {
            config_path,
            listeners: Mutex::new(config.listeners.clone()),
            attrs: Mutex::new(attrs),
            groups: Mutex::new(
                groups
                    .iter()
                    .map(|g| GroupView {
                        config: g.clone(),
                        draining: Vec::new(),
                    })
                    .collect(),
            ),
            workers,
            health: OnceLock::new(),
            table,
            published,
            stopping: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Where registrations and removals reach the health checker.
    pub(super) fn set_health(&self, tx: Sender<HealthCommand>) {
        let _ = self.health.set(tx);
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

    /// Re-reads the config file and applies it without dropping a connection: attributes,
    /// listener rules, and each group's targets (new ones registered, missing ones drained,
    /// weights changed). Listeners and target groups themselves, and a group's other
    /// settings, cannot change on a reload yet: such a file is refused whole.
    pub fn reload(&self) -> Result<String, RefusedChange> {
        let Some(path) = &self.config_path else {
            return Err(RefusedChange::conflict(
                "this balancer was not started from a config file (ringway demo)".into(),
            ));
        };
        let next = Config::load(path).map_err(|e| RefusedChange::bad(e.to_string()))?;
        let mut listeners = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let restart = |what: String| {
            RefusedChange::conflict(format!(
                "{what} cannot change on a reload yet; nothing was applied (restart to change it)"
            ))
        };
        if next.listeners.len() != listeners.len()
            || next
                .listeners
                .iter()
                .zip(listeners.iter())
                .any(|(a, b)| (a.address, a.port) != (b.address, b.port))
        {
            return Err(restart("the set of listeners".into()));
        }
        if next.target_groups.len() != groups.len()
            || next
                .target_groups
                .iter()
                .zip(groups.iter())
                .any(|(a, b)| a.name != b.config.name)
        {
            return Err(restart("the set of target groups".into()));
        }
        for (new, old) in next.target_groups.iter().zip(groups.iter()) {
            let settings = |g: &TargetGroup| TargetGroup {
                targets: Vec::new(),
                ..g.clone()
            };
            if settings(new) != settings(&old.config) {
                return Err(restart(format!(
                    "target group {}'s settings other than its targets",
                    new.name
                )));
            }
        }
        let mut changes = Vec::new();
        // Attributes.
        {
            let mut attrs = self.attrs.lock().unwrap_or_else(|e| e.into_inner());
            if *attrs != next.attributes {
                *attrs = next.attributes;
                changes.push("attributes".to_string());
                self.broadcast(|| Control::Attributes(next.attributes));
            }
        }
        // Listener rules.
        for (i, (new, old)) in next.listeners.iter().zip(listeners.iter()).enumerate() {
            if new != old {
                changes.push(format!("listener {i} rules"));
                self.broadcast(|| Control::Routes {
                    listener: i,
                    config: new.clone(),
                });
            }
        }
        *listeners = next.listeners.clone();
        drop(listeners);
        // Targets: the file is the truth.
        for (index, new) in next.target_groups.iter().enumerate() {
            let g = &mut groups[index];
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
                        self.add_target(index, g, *t);
                        changed = true;
                    }
                }
            }
            for current in &g.config.targets {
                let kept = new.targets.iter().any(|t| t.address == current.address);
                if !kept && !g.draining.iter().any(|d| d.0 == current.address) {
                    g.draining.push((current.address, Instant::now()));
                    changed = true;
                }
            }
            if changed {
                changes.push(format!("target group {} targets", new.name));
                self.send_targets(index, g);
            }
        }
        let summary = if changes.is_empty() {
            "nothing changed".to_string()
        } else {
            format!("applied: {}", changes.join(", "))
        };
        eprintln!("ringway: reload of {}: {summary}", path.display());
        Ok(summary)
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
        if !self
            .stopping
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            eprintln!("ringway: stopping: listeners closed, draining connections");
        }
        self.broadcast(|| Control::Stop);
        Ok(())
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sends one message to every worker.
    pub(super) fn broadcast(&self, message: impl Fn() -> Control) {
        for w in &self.workers {
            let _ = w.send(message());
        }
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
        let (index, g) = find_group(&mut groups, group)?;
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
            self.add_target(index, g, target);
        }
        self.send_targets(index, g);
        Ok(())
    }

    /// Puts a new target in group `index`: its list, the admin table, and the checker's
    /// probes when the group has checks on. The caller sends the list to the workers.
    fn add_target(&self, index: usize, g: &mut GroupView, target: Target) {
        g.config.targets.push(target);
        if let Ok(mut table) = self.table.lock() {
            table.push(health::row(index, &g.config, target.address));
        }
        if g.config.health_check.enabled {
            if let Some(tx) = self.health.get() {
                let _ = tx.send(HealthCommand::Add(Probed::new(
                    index,
                    &g.config,
                    target.address,
                )));
            }
        }
    }

    /// Starts draining a target: no new requests, its idle connections closed; it leaves the
    /// group when its requests in flight are done, or `deregistration_delay` at most.
    pub fn deregister(&self, group: &str, addr: SocketAddr) -> Result<(), RefusedChange> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let (index, g) = find_group(&mut groups, group)?;
        if !g.config.targets.iter().any(|t| t.address == addr) {
            return Err(RefusedChange::not_found(format!(
                "target {addr} is not registered in target group {group}"
            )));
        }
        if !g.draining.iter().any(|d| d.0 == addr) {
            g.draining.push((addr, Instant::now()));
            eprintln!("ringway: target group {group}: target {addr} is draining");
        }
        self.send_targets(index, g);
        Ok(())
    }

    /// Removes draining targets that are done: nothing in flight in any worker's last count,
    /// or the deregistration delay has passed. Called once a second.
    pub(super) fn finish_drains(&self) {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        for (index, g) in groups.iter_mut().enumerate() {
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
                if let Some(tx) = self.health.get() {
                    let _ = tx.send(HealthCommand::Remove(index, *addr));
                }
            }
            self.send_targets(index, g);
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

    fn send_targets(&self, group: usize, g: &GroupView) {
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
) -> Result<(usize, &'a mut GroupView), RefusedChange> {
    groups
        .iter_mut()
        .enumerate()
        .find(|(_, g)| g.config.name == name)
        .ok_or_else(|| RefusedChange::not_found(format!("no target group named {name:?}")))
}

/// Applies the control plane's messages to worker `w` until the plane is gone.
pub(super) async fn control_loop(w: Rc<Worker>, rx: Receiver<Control>) {
    loop {
        monoio::time::sleep(POLL).await;
        let now = w.timers.now();
        for g in &w.groups {
            g.expire_suspects(now);
            g.advance_ramps(now);
        }
        loop {
            match rx.try_recv() {
                Ok(Control::Attributes(attrs)) => w.set_attrs(attrs),
                Ok(Control::Stop) => w.stop(),
                Ok(Control::Routes { listener, config }) => {
                    if let Some(router) = w.routers.borrow_mut().get_mut(listener) {
                        *router = Router::new(&config);
                    }
                }
                Ok(Control::Health {
                    group,
                    target,
                    healthy,
                    passed,
                }) => {
                    if let Some(g) = w.groups.get(group) {
                        g.apply_health(target, healthy, passed, now);
                    }
                }
                Ok(Control::Targets {
                    group,
                    targets,
                    draining,
                }) => {
                    if let Some(g) = w.groups.get(group) {
                        g.update(&targets, &draining, &w.timers);
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
    }
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

    fn is_stopping(&self) -> bool {
        ControlPlane::is_stopping(self)
    }
}
