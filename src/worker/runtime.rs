//! Building a worker's monoio runtime: io_uring with the setup flags DESIGN.md §7 measured, or
//! the epoll ("legacy") driver when asked for or when io_uring cannot be set up.

use std::future::Future;
use std::io;

use monoio::{IoUringDriver, LegacyDriver, RuntimeBuilder};

/// What the operator asked for with `--driver`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DriverChoice {
    #[default]
    Auto,
    Uring,
    Epoll,
}

/// What a worker actually runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// io_uring, with the setup the kernel accepted.
    Uring(UringSetup),
    Epoll,
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Driver::Uring(_) => "io_uring",
            Driver::Epoll => "epoll",
        })
    }
}

/// Ring entries per worker: enough for thousands of in-flight operations per submission batch.
pub const RING_ENTRIES: u32 = 4096;

/// An io_uring setup of DESIGN.md §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UringSetup {
    /// SINGLE_ISSUER | DEFER_TASKRUN (Linux 6.1): completions are run when the worker asks for
    /// them, on its own thread. Measured the cheaper of the two (perf/README.md, 2026-11-27).
    Defer,
    /// COOP_TASKRUN | TASKRUN_FLAG (Linux 5.19).
    Coop,
    /// monoio's default: no setup flags.
    Plain,
}

impl UringSetup {
    /// The setups a worker tries, in order: the cheapest first, then the one older kernels
    /// have. `RINGWAY_URING_SETUP` (`defer`, `coop`, `plain`) pins one, so that perf/ can
    /// compare them with the same binary; any other value is ignored.
    pub fn candidates(pinned: Option<&str>) -> &'static [UringSetup] {
        match pinned {
            Some("defer") => &[UringSetup::Defer],
            Some("coop") => &[UringSetup::Coop],
            Some("plain") => &[UringSetup::Plain],
            _ => &[UringSetup::Defer, UringSetup::Coop],
        }
    }

    /// io-uring's builder with this setup's flags.
    pub fn builder(self) -> io_uring06::Builder {
        let mut builder = io_uring06::IoUring::builder();
        match self {
            UringSetup::Defer => {
                builder.setup_single_issuer().setup_defer_taskrun();
            }
            UringSetup::Coop => {
                builder.setup_coop_taskrun().setup_taskrun_flag();
            }
            UringSetup::Plain => {}
        }
        builder
    }
}

impl std::fmt::Display for UringSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UringSetup::Defer => "SINGLE_ISSUER|DEFER_TASKRUN",
            UringSetup::Coop => "COOP_TASKRUN|TASKRUN_FLAG",
            UringSetup::Plain => "no setup flags",
        })
    }
}

/// Runs `make(driver)` to completion on a new runtime of this thread: io_uring with the first
/// of `UringSetup::candidates` the kernel accepts, else (with `Auto`) epoll. Each setup given
/// up is reported through `on_fallback` with the error and what is tried next.
pub fn block_on<F, Fut>(
    choice: DriverChoice,
    mut on_fallback: impl FnMut(&io::Error, &str),
    make: F,
) -> io::Result<Fut::Output>
where
    F: FnOnce(Driver) -> Fut,
    Fut: Future,
{
    if choice != DriverChoice::Epoll {
        let pinned = std::env::var("RINGWAY_URING_SETUP").ok();
        let setups = UringSetup::candidates(pinned.as_deref());
        let mut failure = None;
        for (i, setup) in setups.iter().enumerate() {
            let built = RuntimeBuilder::<IoUringDriver>::new()
                .uring_builder(setup.builder())
                .with_entries(RING_ENTRIES)
                .enable_timer()
                .build();
            match built {
                Ok(mut rt) => return Ok(rt.block_on(make(Driver::Uring(*setup)))),
                Err(e) => {
                    if let Some(next) = setups.get(i + 1) {
                        on_fallback(&e, &format!("io_uring with {next}"));
                    }
                    failure = Some(e);
                }
            }
        }
        let e = failure.expect("at least one io_uring setup is tried");
        if choice == DriverChoice::Uring {
            return Err(e);
        }
        on_fallback(&e, "epoll");
    }
    let mut rt = RuntimeBuilder::<LegacyDriver>::new()
        .enable_timer()
        .build()?;
    Ok(rt.block_on(make(Driver::Epoll)))
}

/// The CPUs this process may run on, in order (respects `taskset`).
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; zeroed is a valid empty set, and sched_getaffinity
    // writes at most size_of::<cpu_set_t>() bytes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect()
    }
}

/// Pins the calling thread to one CPU.
pub fn pin_to_cpu(cpu: usize) -> io::Result<()> {
    // SAFETY: as above; CPU_SET only writes inside the set for cpu < CPU_SETSIZE, which
    // allowed_cpus guarantees for every cpu it returns.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    #[test]
    fn workers_try_defer_taskrun_first_then_coop_taskrun() {
        assert_eq!(
            UringSetup::candidates(None),
            &[UringSetup::Defer, UringSetup::Coop]
        );
        assert_eq!(
            UringSetup::candidates(Some("fast")),
            UringSetup::candidates(None)
        );
        assert_eq!(UringSetup::candidates(Some("coop")), &[UringSetup::Coop]);
        assert_eq!(UringSetup::candidates(Some("defer")), &[UringSetup::Defer]);
        assert_eq!(UringSetup::candidates(Some("plain")), &[UringSetup::Plain]);
    }

    /// Pending once, after storing its task's waker in `mine` and waking the task whose waker
    /// is in `theirs`; ready when polled again. Two tasks awaiting these in turn keep each
    /// other in the run queue forever, each always woken by the other.
    struct Handoff {
        mine: Rc<Cell<Option<Waker>>>,
        theirs: Rc<Cell<Option<Waker>>>,
        polled: bool,
    }

    impl Future for Handoff {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.polled {
                return Poll::Ready(());
            }
            self.polled = true;
            self.mine.set(Some(cx.waker().clone()));
            if let Some(w) = self.theirs.take() {
                w.wake();
            }
            Poll::Pending
        }
    }

    /// Two tasks handing the turn to each other until `done`.
    fn ping_pong(done: Rc<Cell<bool>>) {
        let (a, b) = (Rc::new(Cell::new(None)), Rc::new(Cell::new(None)));
        for (mine, theirs) in [(a.clone(), b.clone()), (b, a)] {
            let done = Rc::clone(&done);
            monoio::spawn(async move {
                while !done.get() {
                    let (mine, theirs) = (Rc::clone(&mine), Rc::clone(&theirs));
                    Handoff {
                        mine,
                        theirs,
                        polled: false,
                    }
                    .await;
                }
                // Let the other one see `done` too.
                if let Some(w) = theirs.take() {
                    w.wake();
                }
            });
        }
    }

    /// Tasks that keep each other ready must not keep I/O completions from the rest: under
    /// DEFER_TASKRUN the kernel completes a receive woken by new data only when the ring is
    /// asked for events, and monoio's loop, while tasks stay ready, only submits (vendored
    /// monoio patch 4 asks for events there too).
    #[test]
    fn busy_tasks_do_not_starve_io_completions() {
        use monoio::io::AsyncReadRent;
        use std::io::Write;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // A peer on a thread of its own sends one byte once the receive waits for it.
        let peer = std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
            s.write_all(b"x").unwrap();
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let got = block_on(
                DriverChoice::Uring,
                |_, _| {},
                |_| async move {
                    let listener = monoio::net::TcpListener::from_std(listener).unwrap();
                    let (mut a, _) = listener.accept().await.unwrap();
                    let done = Rc::new(Cell::new(false));
                    ping_pong(Rc::clone(&done));
                    let n = a.read(vec![0u8; 8]).await.0;
                    done.set(true);
                    n.unwrap()
                },
            );
            let _ = tx.send(got.unwrap());
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(
            got,
            Ok(1),
            "the receive never completed while other tasks stayed ready"
        );
        peer.join().unwrap();
    }

    #[test]
    fn a_uring_runtime_reports_the_setup_it_got() {
        // The hosts ringway is built for (Linux >= 6.1, io_uring allowed) accept the first.
        let got = block_on(
            DriverChoice::Uring,
            |_, _| {},
            |driver| async move { driver },
        );
        assert_eq!(got.unwrap(), Driver::Uring(UringSetup::Defer));
    }
}
