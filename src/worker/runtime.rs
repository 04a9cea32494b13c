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
    Uring,
    Epoll,
}

impl std::fmt::Display for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Driver::Uring => "io_uring",
            Driver::Epoll => "epoll",
        })
    }
}

/// Ring entries per worker: enough for thousands of in-flight operations per submission batch.
const RING_ENTRIES: u32 = 4096;

/// The io_uring setup of DESIGN.md §7. COOP_TASKRUN + TASKRUN_FLAG by default;
/// `RINGWAY_URING_SETUP=defer` selects SINGLE_ISSUER + DEFER_TASKRUN, `plain` monoio's default,
/// so that perf/ can compare them on the same binary.
fn uring_builder() -> io_uring06::Builder {
    let mut builder = io_uring06::IoUring::builder();
    match std::env::var("RINGWAY_URING_SETUP").as_deref() {
        Ok("plain") => {}
        Ok("defer") => {
            builder.setup_single_issuer().setup_defer_taskrun();
        }
        _ => {
            builder.setup_coop_taskrun().setup_taskrun_flag();
        }
    }
    builder
}

/// Runs `make(driver)` to completion on a new runtime of this thread. With `Auto`, a failure to
/// set up io_uring is reported through `on_fallback` and the epoll driver is used instead.
pub fn block_on<F, Fut>(
    choice: DriverChoice,
    on_fallback: impl FnOnce(&io::Error),
    make: F,
) -> io::Result<Fut::Output>
where
    F: FnOnce(Driver) -> Fut,
    Fut: Future,
{
    if choice != DriverChoice::Epoll {
        let built = RuntimeBuilder::<IoUringDriver>::new()
            .uring_builder(uring_builder())
            .with_entries(RING_ENTRIES)
            .enable_timer()
            .build();
        match built {
            Ok(mut rt) => return Ok(rt.block_on(make(Driver::Uring))),
            Err(e) if choice == DriverChoice::Auto => on_fallback(&e),
            Err(e) => return Err(e),
        }
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
