//! Active health checks: one thread for the whole balancer, not one per worker, probing each
//! target of each group with checks on at its group's interval (ALB's fields: path, timeout,
//! thresholds, matcher; `balance::health` keeps the state). Every probe's result goes to every
//! worker through the control plane; a worker that sees a connect refused asks for a probe at
//! once (`Worker::target_refused`). The table of states is published for the admin API.

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
use crate::config::{Config, HealthCheck};

use super::control::{Control, ControlPlane};
use super::runtime::{block_on, DriverChoice};

/// How often the checker looks for early probe requests.
const POLL: Duration = Duration::from_millis(100);
/// A probe's answer larger than this without a complete head is a bad response.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// The table every target starts in: checked groups `initial`, the others `healthy`.
pub fn initial_table(config: &Config) -> Vec<HealthRow> {
    config
        .target_groups
        .iter()
        .flat_map(|g| {
            g.targets.iter().map(|t| HealthRow {
                group: g.name.clone(),
                target: t.address,
                health: TargetHealth::new(g.health_check.enabled).health(),
            })
        })
        .collect()
}

/// Starts the checker thread when a group has checks on; returns where workers ask for early
/// probes.
pub fn start(
    config: &Config,
    plane: Arc<ControlPlane>,
    table: HealthTable,
    choice: DriverChoice,
) -> io::Result<Option<Sender<(usize, usize)>>> {
    let mut targets = Vec::new();
    let mut row = 0;
    for (g, group) in config.target_groups.iter().enumerate() {
        for (t, target) in group.targets.iter().enumerate() {
            if group.health_check.enabled {
                targets.push(Probed {
                    group: g,
                    target: t,
                    row,
                    name: group.name.clone(),
                    addr: target.address,
                    check: group.health_check.clone(),
                });
            }
            row += 1;
        }
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("ringway-health".into())
        .spawn(move || {
            let run = block_on(
                choice,
                |_| {},
                move |_| check_all(targets, plane, table, rx),
            );
            if let Err(e) = run {
                eprintln!("ringway: health checks cannot start: {e}");
            }
        })?;
    Ok(Some(tx))
}

/// One target under active checks.
struct Probed {
    group: usize,
    target: usize,
    /// Its row in the published table.
    row: usize,
    name: String,
    addr: SocketAddr,
    check: HealthCheck,
}

async fn check_all(
    targets: Vec<Probed>,
    plane: Arc<ControlPlane>,
    table: HealthTable,
    early: Receiver<(usize, usize)>,
) {
    let flags: Rc<Vec<Cell<bool>>> = Rc::new(targets.iter().map(|_| Cell::new(false)).collect());
    let index: Vec<(usize, usize)> = targets.iter().map(|p| (p.group, p.target)).collect();
    for (i, probed) in targets.into_iter().enumerate() {
        monoio::spawn(check_one(
            probed,
            Arc::clone(&plane),
            Arc::clone(&table),
            Rc::clone(&flags),
            i,
        ));
    }
    loop {
        monoio::time::sleep(POLL).await;
        while let Ok(asked) = early.try_recv() {
            if let Some(i) = index.iter().position(|&x| x == asked) {
                flags[i].set(true);
            }
        }
    }
}

async fn check_one(
    p: Probed,
    plane: Arc<ControlPlane>,
    table: HealthTable,
    flags: Rc<Vec<Cell<bool>>>,
    me: usize,
) {
    let mut state = TargetHealth::new(true);
    loop {
        let started = Instant::now();
        let outcome = probe(p.addr, &p.check).await;
        let before = state.health();
        if let Some(now) = state.record(outcome, &p.check) {
            eprintln!(
                "ringway: target group {}: target {} is {} (was {}; last probe: {})",
                p.name,
                p.addr,
                health_name(now),
                health_name(before),
                outcome_text(outcome)
            );
            if let Ok(mut rows) = table.lock() {
                if let Some(row) = rows.get_mut(p.row) {
                    row.health = now;
                }
            }
        }
        let (group, target) = (p.group, p.target);
        let (healthy, passed) = (state.routable(), outcome.passed(&p.check.matcher));
        plane.broadcast(|| Control::Health {
            group,
            target,
            healthy,
            passed,
        });
        // The next probe at the interval, or sooner when a worker saw the target refuse.
        while started.elapsed() < p.check.interval && !flags[me].replace(false) {
            monoio::time::sleep(POLL).await;
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

pub fn health_name(h: Health) -> &'static str {
    match h {
        Health::Initial => "initial",
        Health::Healthy => "healthy",
        Health::Unhealthy => "unhealthy",
    }
}

fn outcome_text(o: ProbeOutcome) -> String {
    match o {
        ProbeOutcome::Status(code) => format!("status {code}"),
        ProbeOutcome::Timeout => "timed out".into(),
        ProbeOutcome::ConnectFailed => "connect failed".into(),
        ProbeOutcome::BadResponse => "not an HTTP response".into(),
    }
}
