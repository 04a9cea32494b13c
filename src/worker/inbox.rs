//! The workers' end of the control plane (`control`): each worker drains its channel every
//! `POLL` in a task of its own, so a change reaches every worker within that, and the request
//! path never takes a lock: it reads the worker's own copies.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use crossbeam_channel::{Receiver, TryRecvError};

use crate::config::{Attributes, Listener, Target, TargetGroup};

use super::group::GroupState;
use super::server::accept_loop;
use super::state::Worker;

/// How often a worker looks for control messages.
const POLL: Duration = Duration::from_millis(100);

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
    /// A listener's rules after a reload (group indices are slots).
    Routes { listener: usize, config: Listener },
    /// The group's target list now; `draining` targets are in it but take no new requests.
    Targets {
        group: usize,
        targets: Vec<Target>,
        draining: Vec<SocketAddr>,
    },
    /// A group a reload added at slot `group`; `replaces`: the slot of the group it takes
    /// over from (its settings changed), whose targets' state it starts from.
    AddGroup {
        group: usize,
        config: TargetGroup,
        replaces: Option<usize>,
    },
    /// A reload removed (or replaced) the group at this slot.
    RemoveGroup { group: usize },
    /// A listener a reload added at slot `listener`: this worker's socket of it, bound on
    /// `addr`, and its rules (group indices are slots).
    Listen {
        listener: usize,
        addr: SocketAddr,
        config: Listener,
        socket: std::net::TcpListener,
    },
    /// A reload removed the listener at this slot: stop accepting on it, and close its
    /// connections (busy ones after their response).
    Unlisten { listener: usize },
}

/// Applies the control plane's messages to worker `w` until the plane is gone.
pub(super) async fn control_loop(w: Rc<Worker>, rx: Receiver<Control>) {
    loop {
        monoio::time::sleep(POLL).await;
        let now = w.timers.now();
        for g in w.live_groups() {
            g.expire_suspects(now);
            g.advance_ramps(now);
        }
        loop {
            match rx.try_recv() {
                Ok(Control::Attributes(attrs)) => w.set_attrs(attrs),
                Ok(Control::Stop) => w.stop(),
                Ok(Control::Routes { listener, config }) => w.set_routes(listener, &config),
                Ok(Control::AddGroup {
                    group,
                    config,
                    replaces,
                }) => {
                    let state = match replaces.and_then(|old| w.group(old)) {
                        Some(old) => GroupState::replacing(group, &config, w.id, &old, now),
                        None => GroupState::new(group, &config, w.id),
                    };
                    w.add_group(state);
                }
                Ok(Control::RemoveGroup { group }) => w.remove_group(group),
                Ok(Control::Listen {
                    listener,
                    addr,
                    config,
                    socket,
                }) => {
                    w.add_listener(listener, addr, &config);
                    match monoio::net::TcpListener::from_std(socket) {
                        Ok(socket) if !w.stopping() => {
                            monoio::spawn(accept_loop(Rc::clone(&w), listener, socket));
                        }
                        Ok(_) => {}
                        Err(e) => {
                            eprintln!("ringway: worker {}: cannot accept on {addr}: {e}", w.id);
                            w.close_listener(listener);
                        }
                    }
                }
                Ok(Control::Unlisten { listener }) => w.close_listener(listener),
                Ok(Control::Health {
                    group,
                    target,
                    healthy,
                    passed,
                }) => {
                    if let Some(g) = w.group(group) {
                        g.apply_health(target, healthy, passed, now);
                    }
                }
                Ok(Control::Targets {
                    group,
                    targets,
                    draining,
                }) => {
                    if let Some(g) = w.group(group) {
                        g.update(&targets, &draining, &w.timers);
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
    }
}
