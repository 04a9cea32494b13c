//! The control plane's way into the workers. The admin thread holds a [`ControlPlane`]: the
//! attributes in force and one channel per worker. Each worker drains its channel every
//! `POLL` in a task of its own, so a change reaches every worker within that, and the request
//! path never takes a lock: it reads the worker's own copy.

use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::config::{Attributes, ConfigError};

use super::state::Worker;

/// How often a worker looks for control messages.
const POLL: Duration = Duration::from_millis(100);

/// What the control plane tells a worker.
pub enum Control {
    /// New attributes: for the next request, the next timer armed, the next connection
    /// (`client_keep_alive.seconds`, which a connection keeps from its start, as on ALB).
    Attributes(Attributes),
    /// A health check of `target` in `group` ended: whether the target may be routed to,
    /// and whether this probe passed (which clears a worker's suspect mark).
    Health {
        group: usize,
        target: usize,
        healthy: bool,
        passed: bool,
    },
}

/// The attributes in force and the way to every worker.
pub struct ControlPlane {
    attrs: Mutex<Attributes>,
    workers: Vec<Sender<Control>>,
}

impl ControlPlane {
    pub(super) fn new(attrs: Attributes, workers: Vec<Sender<Control>>) -> Self {
        ControlPlane {
            attrs: Mutex::new(attrs),
            workers,
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

    /// Sends one message to every worker.
    pub(super) fn broadcast(&self, message: impl Fn() -> Control) {
        for w in &self.workers {
            let _ = w.send(message());
        }
    }
}

/// Applies the control plane's messages to worker `w` until the plane is gone.
pub(super) async fn control_loop(w: Rc<Worker>, rx: Receiver<Control>) {
    loop {
        monoio::time::sleep(POLL).await;
        let now = w.timers.now();
        for g in &w.groups {
            g.expire_suspects(now);
        }
        loop {
            match rx.try_recv() {
                Ok(Control::Attributes(attrs)) => w.set_attrs(attrs),
                Ok(Control::Health {
                    group,
                    target,
                    healthy,
                    passed,
                }) => {
                    if let Some(g) = w.groups.get(group) {
                        g.apply_health(target, healthy, passed);
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
}
