//! Starting the balancer: bind one SO_REUSEPORT socket per listener per worker, then one thread
//! per worker, pinned to its own CPU, each running its own monoio runtime, accept loops and
//! connection tasks. Nothing on the request path is shared between threads.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::admin::{HealthTable, Published};
use crate::config::Config;

use super::conn::serve_client;
use super::control::{Control, ControlPlane};
use super::health::HealthCommand;
use super::inbox::control_loop;
use super::listen::bind_group;
use super::runtime::{allowed_cpus, block_on, pin_to_cpu, Driver, DriverChoice};
use super::state::Worker;

#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    /// Overrides `load_balancer.workers` when set.
    pub workers: Option<usize>,
    pub driver: DriverChoice,
    /// The file the config came from: what `reload` reads again.
    pub config_path: Option<std::path::PathBuf>,
}

/// A running balancer.
pub struct Server {
    /// The bound address of each listener at start, in config order (ephemeral ports
    /// resolved); `ControlPlane::listeners` has them as reloads leave them.
    pub listeners: Vec<SocketAddr>,
    /// The driver each worker runs on.
    pub drivers: Vec<Driver>,
    /// Where each worker publishes its counters, once a second, for the admin API.
    pub published: Vec<Published>,
    /// The way to change the workers' settings live.
    pub control: Arc<ControlPlane>,
    /// Each target's health as the checker sees it.
    pub health: HealthTable,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// Waits for every worker thread (they run until the process ends).
    pub fn join(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Binds every listener and starts the workers; returns once each worker has its runtime.
pub fn start(config: Config, opts: ServeOptions) -> io::Result<Server> {
    raise_open_files_limit();
    let cpus = allowed_cpus();
    let workers = match opts.workers.unwrap_or(config.load_balancer.workers) {
        0 => cpus.len().max(1),
        n => n,
    };
    let mut listeners = Vec::new();
    let mut sockets: Vec<Vec<std::net::TcpListener>> = (0..workers).map(|_| Vec::new()).collect();
    for l in &config.listeners {
        let addr = SocketAddr::new(l.address, l.port);
        let (bound, group) = bind_group(addr, workers)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        listeners.push(bound);
        for (i, s) in group.into_iter().enumerate() {
            sockets[i].push(s);
        }
    }
    let config = Arc::new(config);
    let (ready_tx, ready_rx) = crossbeam_channel::bounded::<io::Result<Driver>>(workers);
    let mut threads = Vec::new();
    let published: Vec<Published> = (0..workers).map(|_| Published::default()).collect();
    let (control_tx, control_rx): (Vec<_>, Vec<_>) =
        (0..workers).map(|_| crossbeam_channel::unbounded()).unzip();
    let health: HealthTable =
        Arc::new(std::sync::Mutex::new(super::health::initial_table(&config)));
    let control = Arc::new(ControlPlane::new(
        &config,
        &listeners,
        opts.config_path.clone(),
        control_tx,
        Arc::clone(&health),
        published.clone(),
    ));
    let probe_now = super::health::start(
        &config,
        Arc::clone(&control),
        Arc::clone(&health),
        opts.driver,
    )?;
    control.set_health(probe_now.clone());
    let drains = Arc::clone(&control);
    std::thread::Builder::new()
        .name("ringway-control".into())
        .spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
            drains.finish_drains();
        })?;
    for ((id, socks), control) in sockets.into_iter().enumerate().zip(control_rx) {
        let cpu = cpus.get(id % cpus.len().max(1)).copied();
        let config = Arc::clone(&config);
        let ready = ready_tx.clone();
        let links = Links {
            publish: Arc::clone(&published[id]),
            control,
            probe_now: probe_now.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("ringway-w{id}"))
            .spawn(move || run_worker(id, cpu, config, socks, opts.driver, ready, links))?;
        threads.push(thread);
    }
    let mut drivers = Vec::new();
    for _ in 0..workers {
        match ready_rx.recv() {
            Ok(Ok(driver)) => drivers.push(driver),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(io::Error::other("a worker exited while starting")),
        }
    }
    Ok(Server {
        listeners,
        drivers,
        published,
        control,
        health,
        threads,
    })
}

/// How long a stopping worker waits for its connections to finish.
pub const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A worker's ends of the control plane.
struct Links {
    publish: Published,
    control: crossbeam_channel::Receiver<Control>,
    /// Where to ask the health checker for an early probe.
    probe_now: crossbeam_channel::Sender<HealthCommand>,
}

fn run_worker(
    id: usize,
    cpu: Option<usize>,
    config: Arc<Config>,
    sockets: Vec<std::net::TcpListener>,
    choice: DriverChoice,
    ready: crossbeam_channel::Sender<io::Result<Driver>>,
    links: Links,
) {
    if let Some(cpu) = cpu {
        if let Err(e) = pin_to_cpu(cpu) {
            eprintln!("ringway: worker {id}: cannot pin to cpu {cpu}: {e}");
        }
    }
    let on_fallback = |e: &io::Error, next: &str| {
        eprintln!("ringway: worker {id}: io_uring setup failed ({e}); falling back to {next}")
    };
    let ready_inner = ready.clone();
    let result = block_on(choice, on_fallback, move |driver| async move {
        let cpu_text = cpu.map_or_else(|| "unpinned".to_string(), |c| format!("cpu {c}"));
        let mut listeners = Vec::new();
        let ports = sockets
            .iter()
            .map(|s| s.local_addr().map_or(0, |a| a.port()))
            .collect();
        for s in sockets {
            match monoio::net::TcpListener::from_std(s) {
                Ok(l) => listeners.push(l),
                Err(e) => {
                    let _ = ready_inner.send(Err(e));
                    return;
                }
            }
        }
        let setup = match driver {
            Driver::Uring(setup) => format!(" ({setup})"),
            Driver::Epoll => String::new(),
        };
        eprintln!("ringway: worker {id}: {driver} on {cpu_text}{setup}");
        let _ = ready_inner.send(Ok(driver));
        let worker = Rc::new(Worker::new(id, config, ports));
        worker.set_probe_channel(links.probe_now);
        monoio::spawn(publish_loop(Rc::clone(&worker), links.publish));
        monoio::spawn(control_loop(Rc::clone(&worker), links.control));
        let expiring = Rc::clone(&worker);
        monoio::spawn(worker.timers.clone().drive(move |group, target, key| {
            // A removed group closed its pool, cancelling its entries; one that fires anyway
            // finds no group and is dropped.
            if let Some(g) = expiring.group(group) {
                g.pool.borrow_mut().expire(target, key);
            }
        }));
        for (index, listener) in listeners.into_iter().enumerate() {
            monoio::spawn(accept_loop(Rc::clone(&worker), index, listener));
        }
        // Listeners a reload adds get their accept loops from the control loop.
        worker.stopped().await;
        // Stopping: the accept loops return and close the listeners; requests in flight
        // finish and their connections close after them; idle keep-alive connections close
        // once parked (`conn::park`); all for up to DRAIN_TIMEOUT.
        let deadline = std::time::Instant::now() + DRAIN_TIMEOUT;
        while worker.stats.active_connections.get() > 0 && std::time::Instant::now() < deadline {
            monoio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        eprintln!(
            "ringway: worker {id}: stopped ({} connections left)",
            worker.stats.active_connections.get()
        );
    });
    if let Err(e) = result {
        let _ = ready.send(Err(io::Error::new(
            e.kind(),
            format!("worker {id}: cannot start the runtime: {e}"),
        )));
    }
}

/// Copies the worker's counters to where the admin API reads them, once a second: one lock a
/// second, never one on the request path.
async fn publish_loop(worker: Rc<Worker>, publish: Published) {
    let mut last: Option<(std::time::Instant, u64)> = None;
    loop {
        let mut snapshot = worker.snapshot();
        let now = std::time::Instant::now();
        if let Some((at, requests)) = last {
            let seconds = now.duration_since(at).as_secs_f64().max(0.001);
            snapshot.requests_per_second =
                (snapshot.requests.saturating_sub(requests) as f64 / seconds).round() as u64;
        }
        last = Some((now, snapshot.requests));
        if let Some(log) = &worker.log {
            log.flush();
        }
        // mimalloc returns a thread's emptied pages lazily, when the thread next allocates; an
        // idle worker kept the read buffers its parked connections gave back (10,000 idle
        // connections: 3.3-4.5 KiB each without this, 2.4 with it; under load the once-a-second
        // collect measured 1.00 of the build without it, perf/reports/20261127T072454Z).
        // SAFETY: mi_collect takes no pointer and may be called from any thread at any time;
        // it only returns memory the calling thread has freed.
        unsafe { libmimalloc_sys::mi_collect(true) };
        if let Ok(mut slot) = publish.lock() {
            *slot = snapshot;
        }
        monoio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Accepts until the worker stops or a reload removes the listener; the listener closes when
/// this returns.
pub(super) async fn accept_loop(
    worker: Rc<Worker>,
    index: usize,
    listener: monoio::net::TcpListener,
) {
    loop {
        let accepted = monoio::select! {
            accepted = listener.accept() => accepted,
            _ = worker.listener_closed(index) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                monoio::spawn(serve_client(Rc::clone(&worker), index, stream, peer));
            }
            Err(e) => {
                // Out of fds or memory: back off briefly instead of spinning, keep serving.
                eprintln!("ringway: worker {}: accept: {e}", worker.id);
                monoio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Every connection holds a descriptor, two when proxied: the soft limit (often 1024) goes up
/// to the hard one, as HAProxy does, and the log says so. Failure leaves the limit as it was.
/// Public for the tests that hold thousands of client connections.
pub fn raise_open_files_limit() {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a valid, writable rlimit for the call's duration.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } != 0 || rl.rlim_cur >= rl.rlim_max {
        return;
    }
    let before = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    // SAFETY: `rl` is a valid rlimit; raising the soft limit up to the hard one is permitted.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rl) } == 0 {
        eprintln!(
            "ringway: open files limit raised from {before} to {}",
            rl.rlim_max
        );
    }
}
