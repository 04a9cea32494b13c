//! Thin wrappers over the syscalls and /proc reads the checks need. Each returns the raw value
//! or the OS error text; judging the value is `parse`'s job.

use crate::worker::{UringSetup, RING_ENTRIES};
use io_uring06::{IoUring, Probe};
use std::io;

/// The ring a worker falls back to when the kernel refuses DEFER_TASKRUN (DESIGN §7), with
/// the worker's own builder and size: COOP_TASKRUN | TASKRUN_FLAG.
pub fn build_worker_ring() -> io::Result<IoUring> {
    UringSetup::Coop.builder().build(RING_ENTRIES)
}

/// The ring a worker tries first: SINGLE_ISSUER | DEFER_TASKRUN (Linux 6.1).
pub fn build_defer_ring() -> io::Result<IoUring> {
    UringSetup::Defer.builder().build(RING_ENTRIES)
}

/// Asks the kernel which opcodes it knows (IORING_REGISTER_PROBE, Linux 5.6), on a plain ring
/// so that the answer does not depend on the setup flags.
pub fn probe_opcodes() -> io::Result<Probe> {
    let ring = IoUring::new(8)?;
    let mut probe = Probe::new();
    ring.submitter().register_probe(&mut probe)?;
    Ok(probe)
}

/// Registers a real provided-buffer ring (IORING_REGISTER_PBUF_RING, Linux 5.19) on a small
/// ring, then unregisters it.
pub fn try_buf_ring() -> io::Result<()> {
    const ENTRIES: u16 = 8;
    // Declared before the ring so that the ring, which may still pin the page, drops first.
    let page = AnonPage::new()?;
    let ring = IoUring::new(8)?;
    // SAFETY: `page` is a private, zeroed, page-aligned mapping of one page, larger than the
    // 8 × 16-byte `io_uring_buf` entries registered, and it outlives the registration: we
    // unregister below, and `ring` is dropped before `page` in any case.
    unsafe {
        ring.submitter()
            .register_buf_ring(page.addr() as u64, ENTRIES, 0)?;
    }
    ring.submitter().unregister_buf_ring(0)
}

/// One anonymous page, unmapped on drop.
struct AnonPage {
    addr: *mut libc::c_void,
    len: usize,
}

impl AnonPage {
    fn new() -> io::Result<Self> {
        // SAFETY: sysconf has no memory-safety preconditions.
        let len = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            n if n > 0 => n as usize,
            _ => 4096,
        };
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches
        // no existing memory; the result is checked against MAP_FAILED before use.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if addr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(AnonPage { addr, len })
    }

    fn addr(&self) -> *mut libc::c_void {
        self.addr
    }
}

impl Drop for AnonPage {
    fn drop(&mut self) {
        // SAFETY: `addr` and `len` are exactly what mmap returned and nothing else refers to
        // the page any more (the ring that used it is dropped first).
        unsafe {
            libc::munmap(self.addr, self.len);
        }
    }
}

/// `uname -r`.
pub fn kernel_release() -> io::Result<String> {
    // SAFETY: utsname is plain bytes; all-zero is a valid value.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `uts` is a valid, writable utsname for the call's duration.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // Read up to the NUL without trusting it to be there.
    let bytes: Vec<u8> = uts
        .release
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads a sysctl through /proc/sys, `net.core.somaxconn` → `/proc/sys/net/core/somaxconn`.
pub fn read_sysctl(name: &str) -> io::Result<String> {
    std::fs::read_to_string(sysctl_path(name))
}

pub fn sysctl_path(name: &str) -> String {
    format!("/proc/sys/{}", name.replace('.', "/"))
}

/// A resource limit's (soft, hard); `None` is RLIM_INFINITY.
pub type Limits = (Option<u64>, Option<u64>);

#[derive(Debug, Clone, Copy)]
pub enum Rlimit {
    Nofile,
    Memlock,
}

pub fn rlimit(which: Rlimit) -> io::Result<Limits> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a valid, writable rlimit for the call's duration.
    let rc = unsafe {
        match which {
            Rlimit::Nofile => libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl),
            Rlimit::Memlock => libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut rl),
        }
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // rlim_t is u64 on 64-bit Linux but 32 bits wide on 32-bit glibc targets.
    #[allow(clippy::unnecessary_cast)]
    let finite = |v: libc::rlim_t| (v != libc::RLIM_INFINITY).then_some(v as u64);
    Ok((finite(rl.rlim_cur), finite(rl.rlim_max)))
}

/// CPUs this process may run on (sched_getaffinity). Fails with EINVAL on hosts with more
/// CPUs than a `cpu_set_t` holds (1024).
pub fn affinity_cpus() -> io::Result<usize> {
    // SAFETY: cpu_set_t is a plain bit array; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is valid and writable, and the size passed is its size.
    let rc =
        unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `set` was filled in by the kernel above.
    let count = unsafe { libc::CPU_COUNT(&set) };
    Ok(usize::try_from(count).unwrap_or(0))
}

/// CPUs online on the host.
pub fn online_cpus() -> Option<usize> {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).ok().filter(|&n| n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_names_map_to_proc_sys_paths() {
        assert_eq!(
            sysctl_path("net.ipv4.ip_local_port_range"),
            "/proc/sys/net/ipv4/ip_local_port_range"
        );
        assert_eq!(
            sysctl_path("kernel.io_uring_disabled"),
            "/proc/sys/kernel/io_uring_disabled"
        );
    }

    #[test]
    fn reading_a_missing_sysctl_is_an_error_not_a_panic() {
        assert!(read_sysctl("ringway.no_such_sysctl").is_err());
    }

    #[test]
    fn this_process_has_a_file_limit_and_at_least_one_cpu() {
        let (soft, hard) = rlimit(Rlimit::Nofile).expect("getrlimit");
        assert!(soft <= hard || hard.is_none());
        assert!(affinity_cpus().expect("sched_getaffinity") >= 1);
        assert!(kernel_release().expect("uname").contains('.'));
    }
}
