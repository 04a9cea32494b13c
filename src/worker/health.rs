//! Active health checks: one thread for the whole balancer, not one per worker, probing each
//! target of each group with checks on at its group's interval (ALB's fields: path, timeout,
//! thresholds, matcher; `balance::health` keeps the state). Every probe's result goes to every
//! worker through the control plane; a worker that sees a connect refused asks for a probe at
//! once (`Worker::target_refused`), and the control plane adds and removes targets as they are
//! registered and deregistered. The table of states is published for the admin API.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use crate::admin::{HealthRow, HealthTable};
use crate::balance::{probe_request, Health, ProbeOutcome, TargetHealth};
use crate::config::{Config, HealthCheck, TargetGroup};

use super::control::{Control, ControlPlane};
use super::runtime::{block_on, DriverChoice};

/// How often the checker looks for commands.
const POLL: Duration = Duration::from_millis(100);
/// A probe's answer larger than this without a complete head is a bad response.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// The row of a target in the admin table: checked groups start `initial`, the others
/// `healthy`.
pub fn row(group_index: usize, group: &TargetGroup, target: SocketAddr) -> HealthRow {
    HealthRow {
        group_index,
        group: group.name.clone(),
        target,
        health: TargetHealth::new(group.health_check.enabled).health(),
    }
}

/// The table every target starts in.
pub fn initial_table(config: &Config) -> Vec<HealthRow> {
    config
        .target_groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| g.targets.iter().map(move |t| row(i, g, t.address)))
        .collect()
}

/// What the checker is told.
pub enum HealthCommand {
    /// A worker saw the target refuse: probe it now.
    ProbeNow(usize, SocketAddr),
    /// A target was registered in a group with checks on.
    Add(Probed),
    /// A target left its group.
    Remove(usize, SocketAddr),
    /// A reload replaced the target's group (at this slot) with `Probed`'s: the checks go on
    /// with the state they reached, under the new group's settings. A target not checked in
    /// the old group starts as `Probed` says.
    Move(usize, Probed),
}

/// Starts the checker thread; returns where to send it commands. It runs even when no group
/// has checks on: a reload may add one.
pub fn start(
    config: &Config,
    plane: Arc<ControlPlane>,
    table: HealthTable,
    choice: DriverChoice,
) -> io::Result<Sender<HealthCommand>> {
    let mut targets = Vec::new();
    for (g, group) in config.target_groups.iter().enumerate() {
        if group.health_check.enabled {
            for target in &group.targets {
                targets.push(Probed::new(g, group, target.address));
            }
        }
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("ringway-health".into())
        .spawn(move || {
            let run = block_on(
                choice,
                |_, _| {},
                move |_| check_all(targets, plane, table, rx),
            );
            if let Err(e) = run {
                eprintln!("ringway: health checks cannot start: {e}");
            }
        })?;
    Ok(tx)
}

/// One target under active checks.
pub struct Probed {
    group: usize,
    name: String,
    addr: SocketAddr,
    check: HealthCheck,
    /// The state its checks start from.
    start: Health,
}

impl Probed {
    /// A target of group `g` at slot `group`, starting `initial`.
    pub fn new(group: usize, g: &TargetGroup, addr: SocketAddr) -> Probed {
        Probed {
            group,
            name: g.name.clone(),
            addr,
            check: g.health_check.clone(),
            start: Health::Initial,
        }
    }

    /// The same, starting from `health` (a reload moved it from a group that had checked it
    /// already, or had checks off).
    pub fn starting(self, health: Health) -> Probed {
        Probed {
            start: health,
            ..self
        }
    }
}

/// A probe task's switches: probe now, stop, and go on under a replacement group.
#[derive(Default)]
struct Flags {
    early: Cell<bool>,
    removed: Cell<bool>,
    moved: Cell<Option<Probed>>,
}

type Running = Vec<(usize, SocketAddr, Rc<Flags>)>;

async fn check_all(
    targets: Vec<Probed>,
    plane: Arc<ControlPlane>,
    table: HealthTable,
    commands: Receiver<HealthCommand>,
) {
    let mut running: Running = Vec::new();
    let spawn = |p: Probed, running: &mut Running| {
        let flags = Rc::new(Flags::default());
        running.push((p.group, p.addr, Rc::clone(&flags)));
        monoio::spawn(check_one(p, Arc::clone(&plane), Arc::clone(&table), flags));
    };
    for p in targets {
        spawn(p, &mut running);
    }
    loop {
        monoio::time::sleep(POLL).await;
        while let Ok(command) = commands.try_recv() {
            match command {
                HealthCommand::ProbeNow(g, addr) => {
                    if let Some((_, _, f)) = running.iter().find(|r| r.0 == g && r.1 == addr) {
                        f.early.set(true);
                    }
                }
                HealthCommand::Add(p) => spawn(p, &mut running),
                HealthCommand::Move(from, p) => {
                    match running.iter_mut().find(|r| r.0 == from && r.1 == p.addr) {
                        Some(r) => {
                            r.0 = p.group;
                            r.2.moved.set(Some(p));
                        }
                        None => spawn(p, &mut running),
                    }
                }
                HealthCommand::Remove(g, addr) => running.retain(|(rg, ra, f)| {
                    let gone = *rg == g && *ra == addr;
                    if gone {
                        f.removed.set(true);
                    }
                    !gone
                }),
            }
        }
    }
}

async fn check_one(mut p: Probed, plane: Arc<ControlPlane>, table: HealthTable, flags: Rc<Flags>) {
    let mut state = TargetHealth::with_health(p.start);
    loop {
        let started = Instant::now();
        let outcome = probe(p.addr, &p.check).await;
        if flags.removed.get() {
            return;
        }
        if let Some(next) = flags.moved.take() {
            p = next;
        }
        let before = state.health();
        if let Some(now) = state.record(outcome, &p.check) {
            eprintln!(
                "ringway: target group {}: target {} is {} (was {}; last probe: {})",
                p.name,
                p.addr,
                now.name(),
                before.name(),
                outcome_text(outcome)
            );
            set_row(&table, p.group, p.addr, now);
        }
        let (group, target) = (p.group, p.addr);
        let (healthy, passed) = (state.routable(), outcome.passed(&p.check.matcher));
        plane.broadcast(|| Control::Health {
            group,
            target,
            healthy,
            passed,
        });
        // The next probe at the interval, or sooner when a worker saw the target refuse.
        while started.elapsed() < p.check.interval && !flags.early.replace(false) {
            if flags.removed.get() {
                return;
            }
            if let Some(next) = flags.moved.take() {
                // The replacement group learns at once what the checks know, not at the next
                // probe (a result sent to the old group in the meantime is lost with it).
                p = next;
                let (group, target, healthy) = (p.group, p.addr, state.routable());
                set_row(&table, group, target, state.health());
                plane.broadcast(|| Control::Health {
                    group,
                    target,
                    healthy,
                    passed: false,
                });
            }
            monoio::time::sleep(POLL).await;
        }
    }
}

/// The admin table's row of `target` in the group at slot `group` says `health`.
fn set_row(table: &HealthTable, group: usize, target: SocketAddr, health: Health) {
    if let Ok(mut rows) = table.lock() {
        if let Some(row) = rows
            .iter_mut()
            .find(|r| r.group_index == group && r.target == target)
        {
            row.health = health;
        }
    }
}

/// One probe: connect, send the request, read a response head, all within the timeout.
async fn probe(addr: SocketAddr, check: &HealthCheck) -> ProbeOutcome {
    let exchange = async {
        let Ok(mut stream) = TcpStream::connect_addr(addr).await else {
            return ProbeOutcome::ConnectFailed;
        };
        let mut request = Vec::with_capacity(256);
        probe_request(&mut request, &check.path, addr);
        if stream.write_all(request).await.0.is_err() {
            return ProbeOutcome::ConnectFailed;
        }
        let mut head = Vec::new();
        loop {
            let (res, chunk) = stream.read(Vec::with_capacity(4096)).await;
            match res {
                Ok(0) => {
                    return ProbeOutcome::from_response(&head, true)
                        .unwrap_or(ProbeOutcome::BadResponse)
                }
                Ok(n) => head.extend_from_slice(&chunk[..n]),
                Err(_) => return ProbeOutcome::ConnectFailed,
            }
            if let Some(outcome) = ProbeOutcome::from_response(&head, false) {
                return outcome;
            }
            if head.len() > MAX_RESPONSE_HEAD {
                return ProbeOutcome::BadResponse;
            }
        }
    };
    monoio::time::timeout(check.timeout, exchange)
        .await
        .unwrap_or(ProbeOutcome::Timeout)
}

fn outcome_text(o: ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Status(code) => format!("status {code}"),
        ProbeOutcome::Timeout => "timed out".into(),
        ProbeOutcome::ConnectFailed => "connect failed".into(),
        ProbeOutcome::BadResponse => "not an HTTP response".into(),
    }
}
